"""Benchmark: what task accuracy (``labels=``) and the calibration checks cost.

Run:
    .venv/bin/python bench/bench_accuracy.py                 # MobileNetV2 int8, 200 samples, 3 rounds (~5 min)
    .venv/bin/python bench/bench_accuracy.py --strict        # exit 1 if a ratio misses its target
    .venv/bin/python bench/bench_accuracy.py --model toy     # quick smoke run

1. ``result.compare(x, n=200, labels=y)`` against ``result.compare(x, n=200)`` on the same int8
   ``.tflite`` of ``keras.applications.MobileNetV2(weights=None)`` and the same seeded samples,
   alternating within each round (labelled first in round 1). Target: ratio <= 1.05 (median of
   the per-round ratios).
2. The calibration checks ``tj.convert`` runs on an in-memory representative dataset
   (:func:`tfl_jupyter.core.calibration_checks.check_dataset`), timed alone on the 200
   calibration samples, against the int8 conversion that runs them (one conversion, not served
   from the cache). Target: checks / conversion <= 0.02.
"""

from __future__ import annotations

import os

from _common import Row, build_model, fmt, median, parser, report, timed

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

COMPARE_TARGET = 1.05
CHECKS_TARGET = 0.02




def main() -> int:
    p = parser(__doc__, rounds=3)
    p.add_argument("--samples", type=int, default=200, help="samples compared and calibrated on (default 200)")
    p.add_argument("--model", choices=("mobilenetv2", "toy"), default="mobilenetv2")
    args = p.parse_args()

    import numpy as np

    import tfl_jupyter as tj
    from tfl_jupyter.core.calibration_checks import check_dataset

    import_s, _ = timed(__import__, "tensorflow")
    model, shape = build_model(args.model, softmax=True)
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, *shape), dtype=np.float32)
    classes = int(model.output_shape[-1])
    y = rng.integers(0, classes, size=args.samples)

    convert_s, result = timed(lambda: tj.convert(model, quantize="int8", representative_dataset=x))
    assert not any("cache" in note for note in result.notes), "the timed conversion was served from the cache"
    specs = result.source.input_specs()
    check_times = [timed(check_dataset, x, specs)[0] for _ in range(max(3, args.rounds))]
    print(f"import tensorflow {import_s:.2f} s; model {args.model}, {model.count_params():,} params; "
          f"int8 conversion with {args.samples} calibration samples {convert_s:.1f} s; {args.rounds} round(s)", flush=True)
    print(f"calibration checks: {', '.join(fmt(t, 4) for t in check_times)} s; findings: "
          f"{[f.check for f in result.calibration_report.findings] or 'none'}")

    result.compare(x[:4], n=4, labels=y[:4], progress=False)  # warm-up: tracing, interpreter, pandas
    plain_times, labelled_times, ratios = [], [], []
    comparison = None
    for round_index in range(args.rounds):
        times = {}
        for side in ("labels", "plain") if round_index % 2 == 0 else ("plain", "labels"):
            if side == "labels":
                seconds, comparison = timed(result.compare, x, n=args.samples, labels=y, progress=False)
            else:
                seconds, _ = timed(result.compare, x, n=args.samples, progress=False)
            times[side] = seconds
            print(f"  round {round_index + 1} {side:6} {seconds:7.2f} s", flush=True)
        plain_times.append(times["plain"])
        labelled_times.append(times["labels"])
        ratios.append(times["labels"] / times["plain"])

    print(comparison.task_metrics.to_string())
    accuracy = comparison.task_metrics.loc["converted", "accuracy"]
    by_hand = float(np.mean(comparison.outputs["output_0"].argmax(axis=1) == y))
    rows = [
        Row(f"compare n={args.samples} labels=y vs without ({args.model} int8)", median(plain_times), median(labelled_times),
            f"ratio <= {COMPARE_TARGET}", COMPARE_TARGET, paired_ratio=median(ratios)),
        Row(f"calibration checks vs int8 conversion ({args.samples} samples)", convert_s, median(check_times),
            f"ratio <= {CHECKS_TARGET}", CHECKS_TARGET),
    ]
    checks = {"accuracy equals a NumPy arg-max on the same outputs": accuracy == by_hand}
    return report(rows, args.strict, raw_label="raw s (plain / conversion)", checks=checks)


if __name__ == "__main__":
    raise SystemExit(main())
