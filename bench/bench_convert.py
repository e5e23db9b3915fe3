"""Benchmark: ``%tflite_convert`` against a raw ``tf.lite.TFLiteConverter.convert()``.

Run:
    .venv/bin/python bench/bench_convert.py                 # MobileNetV2, float + int8, 3 rounds (~5 min)
    .venv/bin/python bench/bench_convert.py --strict        # exit 1 if a ratio misses its target
    .venv/bin/python bench/bench_convert.py --model toy --rounds 2   # quick smoke run (~20 s)

Both sides convert the same ``keras.applications.MobileNetV2(weights=None)`` with the same
seeded calibration samples, started from the same process. "raw" is
``from_keras_model(m)``, then the settings, then ``convert()``. "ours" is one
``shell.run_cell("%tflite_convert model ... -o r")`` in a real IPython shell, with the
displayed result included. tfl_jupyter may run the converter in its worker process; the
printed CPU time counts that worker too. Before timing starts, TensorFlow is imported and
one tiny model is converted on both paths. That warm-up also starts the conversion worker,
and its times are reported as the "first conversion" row. Raw and ours alternate within
each round, and ours goes first in round 1, so any first-conversion cost falls on ours.
Alternating matters because repeated conversions leak about 30 MB each and timing drifts.
The times are medians over rounds. The ratio is the median of the per-round ratios
ours/raw: each raw run is compared with the ours run next to it in time, which copes
better with a busy machine.

tfl_jupyter caches conversions by model weights, settings and samples. Before each timed
pair, one weight is nudged, so both sides convert a model neither has seen. Those are the
target rows (ratio <= 1.05). Two "info" rows follow. One repeats the last conversion
unchanged, which is served from the cache. The other converts int8 right after float with
the same weights, which reuses the float run's SavedModel export.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict

from _common import Row, build_model, cpu_seconds, fmt, median, nudge, parser, report, silenced

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # same for both sides (and the worker); keeps output readable

TARGET = 1.05
MAGIC = {
    "float": "%tflite_convert model -o r",
    "int8": "%tflite_convert model --quantize int8 --representative_dataset calib -o r",
}






def raw_convert(tf, model, mode: str, calib) -> bytes:
    with silenced():  # ours captures the same output into result.log
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if mode == "int8":
            def gen():
                for i in range(len(calib)):
                    yield [calib[i : i + 1]]

            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = gen
        return converter.convert()


def magic_convert(shell, mode: str):
    from IPython.utils.capture import capture_output

    with capture_output():  # the displayed result is still formatted, just not printed
        outcome = shell.run_cell(MAGIC[mode])
    outcome.raise_error()
    result = shell.user_ns.pop("r")
    assert isinstance(result.tflite_model, bytes) and result.tflite_model, "the magic produced no model"
    return result


def from_cache(result) -> bool:
    return any("cache" in note for note in result.notes)


def worker_pids():
    """The worker processes' pids, to spot a restart."""
    from tfl_jupyter.core.worker.pool import POOL

    return POOL.pids


def timed(function, *args):
    """Return (wall s, CPU s of this process and its children, value)."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    value = function(*args)
    return time.perf_counter() - wall, cpu_seconds() - cpu, value


def main() -> int:
    p = parser(__doc__, rounds=3)
    p.add_argument("--samples", type=int, default=16, help="calibration samples for int8 (default 16)")
    p.add_argument("--modes", default="float,int8", help="comma-separated subset of float,int8")
    p.add_argument("--model", choices=("mobilenetv2", "toy"), default="mobilenetv2")
    args = p.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]

    import numpy as np
    from IPython.core.interactiveshell import InteractiveShell

    import_s, _, tf = timed(__import__, "tensorflow")
    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext tfl_jupyter").raise_error()

    # Warm-up: one tiny conversion per mode on each path (imports, converter start-up, worker start).
    tiny, tiny_shape = build_model("toy")
    tiny_calib = np.random.default_rng(1).random((4, *tiny_shape), dtype=np.float32)
    shell.user_ns.update(model=tiny, calib=tiny_calib)
    first = {"ours": timed(magic_convert, shell, modes[0])[0], "raw": timed(raw_convert, tf, tiny, modes[0], tiny_calib)[0]}
    for mode in modes[1:]:
        magic_convert(shell, mode), raw_convert(tf, tiny, mode, tiny_calib)

    model, shape = build_model(args.model)
    calib = np.random.default_rng(0).random((args.samples, *shape), dtype=np.float32)
    shell.user_ns.update(model=model, calib=calib)
    print(f"import tensorflow {import_s:.2f} s; model {args.model}, {model.count_params():,} params; "
          f"{args.samples} calibration samples {calib.shape[1:]}; {args.rounds} rounds; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")

    wall, cpu = defaultdict(list), defaultdict(list)

    def run(mode: str, side: str, round_index: int) -> None:
        """One timed conversion; ``side`` is raw, ours (cold), repeat (cached) or reuse (export cached)."""
        if side == "raw":
            wall_s, cpu_s, tflite = timed(raw_convert, tf, model, mode, calib)
            note = ""
        else:
            pids = worker_pids()
            wall_s, cpu_s, result = timed(magic_convert, shell, mode)
            tflite, note = result.tflite_model, " (from the cache)" if from_cache(result) else ""
            note += " (new worker process)" if worker_pids() != pids else ""
            assert from_cache(result) == (side == "repeat"), f"{side} run: cache use not as planned{note}"
        wall[mode, side].append(wall_s)
        cpu[mode, side].append(cpu_s)
        print(f"  round {round_index + 1} {mode:5} {side:6} {wall_s:6.2f} s wall {cpu_s:6.2f} s CPU "
              f"({len(tflite):,} bytes){note}", flush=True)

    for round_index in range(args.rounds):
        for position, mode in enumerate(modes):
            nudge(model, round_index * len(modes) + position)  # a model no cache has seen
            for side in ("ours", "raw") if round_index % 2 == 0 else ("raw", "ours"):
                run(mode, side, round_index)
            run(mode, "repeat", round_index)
            if position == 0 and len(modes) > 1:  # another setting for the same weights: export reused
                run(modes[1], "reuse", round_index)

    def paired(mode, side):
        return median([o / r for o, r in zip(wall[mode, side], wall[mode, "raw"])])

    rows = [Row(f"first conversion in the session ({modes[0]}, toy)", first["raw"], first["ours"])]
    for mode in modes:
        raw_s = median(wall[mode, "raw"])
        print(f"{mode}: wall raw {', '.join(fmt(t, 2) for t in wall[mode, 'raw'])}; ours "
              f"{', '.join(fmt(t, 2) for t in wall[mode, 'ours'])}; median CPU-time ratio (worker included) "
              f"{median([o / r for o, r in zip(cpu[mode, 'ours'], cpu[mode, 'raw'])]):.3f}")
        rows.append(Row(f"%tflite_convert {mode} ({args.model})", raw_s, median(wall[mode, "ours"]),
                        f"ratio <= {TARGET}", TARGET, paired_ratio=paired(mode, "ours")))
        if wall[mode, "reuse"]:
            rows.append(Row(f"  {mode} after {modes[0]}, export reused", raw_s, median(wall[mode, "reuse"]),
                            paired_ratio=paired(mode, "reuse")))
        rows.append(Row(f"  same again, from the cache ({mode})", raw_s, median(wall[mode, "repeat"]),
                        paired_ratio=paired(mode, "repeat")))
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1) + 0.5:
        print(f"warning: load average {load:.2f} on {os.cpu_count()} CPUs: other processes competed; rerun on a quiet machine")
    return report(rows, args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
