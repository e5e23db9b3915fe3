"""Benchmark: the LiteRT Quantizer path (``quantizer="litert"``) against the converter's own int8.

Run:
    .venv/bin/python bench/bench_quantizer.py                  # MobileNetV2, 1 round (~4 min)
    .venv/bin/python bench/bench_quantizer.py --strict         # exit 1 if a ratio misses its target
    .venv/bin/python bench/bench_quantizer.py --model toy      # quick smoke run (~1 min)

Every case goes through ``tj.convert`` / ``tj.sweep`` on ``keras.applications.MobileNetV2(weights=None)``
with the same seeded calibration samples, in one process, the worker pool warm:

- "litert int8": ``tj.convert(m, quantize="int8", quantizer="litert", ...)`` (export, float
  conversion, calibration and quantization by the LiteRT Quantizer) vs ``tj.convert(m,
  quantize="int8", ...)`` (the converter's int8), a weight nudged before each so that nothing is
  cached. Target <= 1.1.
- "further recipe": every other recipe of ``LITERT_RECIPES`` on the same model right after,
  vs that converter int8 conversion: the float conversion comes from the cache, and the
  calibration too where the recipe's rules calibrate the same way. Target <= 0.05 each.
- "sweep": ``tj.sweep(m, ["float"], recipes=LITERT_RECIPES)`` (the float row, then every
  recipe, each measured on the samples and timed) vs one float ``tj.convert(m)`` of a model
  not seen before. Target <= 1.3.
"""

from __future__ import annotations

import os

import numpy as np

from _common import Row, build_model, median, nudge, parser, report, timed

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FIRST_TARGET, FURTHER_TARGET, SWEEP_TARGET = 1.1, 0.05, 1.3






def main() -> int:
    p = parser(__doc__, rounds=1)
    p.add_argument("--samples", type=int, default=16, help="calibration samples (default 16)")
    p.add_argument("--model", choices=("mobilenetv2", "toy"), default="mobilenetv2")
    args = p.parse_args()

    import tfl_jupyter as tj
    from tfl_jupyter.core.settings import LITERT_RECIPES

    import_s, _ = timed(__import__, "tensorflow")
    toy, toy_shape = build_model("toy")
    toy_calib = np.random.default_rng(1).random((4, *toy_shape), dtype=np.float32)
    for quantizer in ("converter", "litert"):  # warms the pool and imports the quantizer in it
        tj.convert(toy, quantize="int8", quantizer=quantizer, representative_dataset=toy_calib)

    model, shape = build_model(args.model)
    calib = np.random.default_rng(0).random((args.samples, *shape), dtype=np.float32)
    print(f"import tensorflow {import_s:.2f} s; model {args.model}, {model.count_params():,} params; "
          f"{args.samples} samples {calib.shape[1:]}; {args.rounds} round(s)", flush=True)

    converter_s, litert_s, ratios, further = [], [], [], {}
    step = 0
    for round_index in range(args.rounds):
        times = {}
        for side in ("litert", "converter") if round_index % 2 == 0 else ("converter", "litert"):
            step += 1
            nudge(model, step)
            times[side], result = timed(tj.convert, model, quantize="int8", representative_dataset=calib,
                                        quantizer=side)
            assert not any("served from the cache" in n for n in result.notes)
            print(f"  round {round_index + 1} {side:9} int8 {times[side]:7.2f} s  {result.size_bytes:,} bytes", flush=True)
        converter_s.append(times["converter"])
        litert_s.append(times["litert"])
        ratios.append(times["litert"] / times["converter"])
        # the converter went last (its own nudge): give the recipes below this model's float conversion
        if round_index % 2 == 0:
            step += 1
            nudge(model, step)
            tj.convert(model, quantize="int8", quantizer="litert", representative_dataset=calib)
        for recipe in LITERT_RECIPES:
            if recipe == "static_wi8_ai8":
                continue
            seconds, result = timed(tj.convert, model, quantizer="litert", recipe=recipe, representative_dataset=calib)
            further.setdefault(recipe, []).append(seconds)
            print(f"    {recipe:28} {seconds:6.3f} s  {result.size_bytes:,} bytes", flush=True)

    step += 1
    nudge(model, step)
    float_s, _ = timed(tj.convert, model)
    step += 1
    nudge(model, step)
    sweep_s, table = timed(tj.sweep, model, ["float"], recipes=LITERT_RECIPES, representative_dataset=calib,
                           samples=calib, n=args.samples, progress=False)
    print(f"  float conversion {float_s:.2f} s; sweep of {len(LITERT_RECIPES)} recipes {sweep_s:.2f} s", flush=True)
    print(table.drop(columns=["size"]).to_string(float_format=lambda v: f"{v:.4g}"))

    converter_median = median(converter_s)
    rows = [Row(f"litert int8 ({args.model}) vs converter int8", converter_median, median(litert_s),
                f"ratio <= {FIRST_TARGET}", FIRST_TARGET, paired_ratio=median(ratios))]
    rows += [Row(f"further recipe {recipe}", converter_median, median(seconds), f"ratio <= {FURTHER_TARGET}", FURTHER_TARGET)
             for recipe, seconds in further.items()]
    rows.append(Row(f"tj.sweep of {len(LITERT_RECIPES)} recipes vs one float conversion", float_s, sweep_s,
                    f"ratio <= {SWEEP_TARGET}", SWEEP_TARGET))
    checks = {"every recipe converted": all(r in table.results for r in LITERT_RECIPES)}
    return report(rows, args.strict, raw_label="base s", checks=checks)


if __name__ == "__main__":
    raise SystemExit(main())
