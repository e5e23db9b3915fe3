"""Benchmark: ``tj.sweep`` of six modes against six raw sequential ``from_keras_model(...).convert()``.

Run:
    .venv/bin/python bench/bench_sweep.py                  # MobileNetV2, 2 rounds (~5 min)
    .venv/bin/python bench/bench_sweep.py --strict         # exit 1 if a ratio misses its target
    .venv/bin/python bench/bench_sweep.py --model toy      # quick smoke run (~1 min)

Both sides convert the same ``keras.applications.MobileNetV2(weights=None)`` in the same
process with the same seeded calibration samples, in the modes float, dynamic, float16,
int8, int8-full and int16x8. "raw" is, per mode, ``tf.lite.TFLiteConverter.from_keras_model(m)``
+ that mode's settings + ``convert()`` (each call exports the model again internally).
"ours" is one ``tj.sweep(m, representative_dataset=calib)``, which also runs the float
reference and every converted model on the samples and times them: it exports once and, for
a model this size, converts two modes at a time in the worker pool's two processes, which
stay warm for the next sweep. TensorFlow is imported and a toy model converted and swept on
both paths first. The first MobileNetV2 sweep (the pool's second process starts and imports
TensorFlow) is reported on its own row; then raw and ours (pool warm) alternate for
``--rounds``. One weight is nudged before every sweep, so that nothing is served from a
cache. The machine's other load moves both sides: compare ratios within one run.
Target: ours/raw <= 0.35 (one export plus six conversions shared by two cores is about 0.3).
"""

from __future__ import annotations

import os

import numpy as np

from _common import Row, build_model, fmt, median, nudge, parser, report, silenced, timed

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TARGET = 0.35
MODES = ("float", "dynamic", "float16", "int8", "int8-full", "int16x8")




def raw_convert(tf, model, mode: str, calib) -> bytes:
    converter = tf.lite.TFLiteConverter.from_keras_model(model)

    def gen():
        for i in range(len(calib)):
            yield [calib[i : i + 1]]

    if mode != "float":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if mode in ("int8", "int8-full", "int16x8"):
        converter.representative_dataset = gen
    if mode == "int8-full":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    if mode == "int16x8":
        converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    with silenced():
        return converter.convert()


def raw_sweep(tf, model, calib) -> dict:
    return {mode: len(raw_convert(tf, model, mode, calib)) for mode in MODES}


def our_sweep(tj, model, calib):
    return tj.sweep(model, MODES, representative_dataset=calib, progress=False)




def main() -> int:
    p = parser(__doc__, rounds=2)
    p.add_argument("--samples", type=int, default=32, help="calibration (and comparison) samples (default 32)")
    p.add_argument("--model", choices=("mobilenetv2", "toy"), default="mobilenetv2")
    args = p.parse_args()

    import pandas as pd

    import tfl_jupyter as tj

    import_s, tf = timed(__import__, "tensorflow")
    toy, toy_shape = build_model("toy")
    toy_calib = np.random.default_rng(1).random((4, *toy_shape), dtype=np.float32)
    raw_sweep(tf, toy, toy_calib)
    tj.sweep(toy, MODES, representative_dataset=toy_calib, progress=False, parallel=False)

    model, shape = build_model(args.model)
    calib = np.random.default_rng(0).random((args.samples, *shape), dtype=np.float32)
    print(f"import tensorflow {import_s:.2f} s; model {args.model}, {model.count_params():,} params; "
          f"{args.samples} samples {calib.shape[1:]}; {args.rounds} round(s); modes {', '.join(MODES)}", flush=True)

    cold_s, table = timed(our_sweep, tj, model, calib)  # starts the pool's second process
    print(f"  first sweep (pool starts) {cold_s:7.2f} s", flush=True)
    raw_times, our_times = [], []
    for round_index in range(args.rounds):
        nudge(model, round_index + 1)
        for side in ("raw", "ours") if round_index % 2 == 0 else ("ours", "raw"):
            if side == "raw":
                seconds, sizes = timed(raw_sweep, tf, model, calib)
                raw_times.append(seconds)
                print(f"  round {round_index + 1} raw  {seconds:7.2f} s  sizes {sizes}", flush=True)
            else:
                seconds, table = timed(our_sweep, tj, model, calib)
                our_times.append(seconds)
                print(f"  round {round_index + 1} ours {seconds:7.2f} s", flush=True)

    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_colwidth", 60):
        print(pd.DataFrame(table).drop(columns=["size"]).to_string(float_format=lambda v: f"{v:.4g}"))
    for note in table.notes:
        print(f"note: {note}")
    ours_s, raw_s = median(our_times), median(raw_times)
    print(f"raw {', '.join(fmt(t, 2) for t in raw_times)}; ours {', '.join(fmt(t, 2) for t in our_times)}; first sweep {cold_s:.2f}")
    rows = [
        Row(f"tj.sweep 6 modes ({args.model}), pool warm", raw_s, ours_s, f"ratio <= {TARGET}", TARGET),
        Row(f"tj.sweep 6 modes ({args.model}), first sweep", raw_s, cold_s, f"ratio <= {TARGET}", TARGET),
    ]
    checks = {"every mode converted": all(m in table.results for m in MODES), "same sizes as raw (+-1%)": _same_sizes(table, sizes)}
    return report(rows, args.strict, raw_label="raw s (6 x from_keras_model)", checks=checks)


def _same_sizes(table, raw_sizes: dict) -> bool:
    return all(abs(table.loc[m, "size_bytes"] - raw_sizes[m]) <= 0.01 * raw_sizes[m] for m in MODES)


if __name__ == "__main__":
    raise SystemExit(main())
