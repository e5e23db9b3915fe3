"""Benchmark: ``tj.convert(model, batch_size=1)`` against the manual fixed-shape route.

Run:
    .venv/bin/python bench/bench_shapes.py              # 5 rounds (~1 min)
    .venv/bin/python bench/bench_shapes.py --strict     # exit 1 if the ratio misses its target

The model is an Embedding + Bidirectional(LSTM) text classifier with Keras' default
dynamic batch, which converts only at a fixed batch. "raw" is what a user would write:
``model.export(dir, input_signature=[tf.TensorSpec([1, STEPS], tf.int32)])``, then
``TFLiteConverter.from_saved_model(dir).convert()``. "ours" is ``tj.convert(model,
batch_size=1)`` in its default mode (export in this process, conversion in the warm
worker). Before timing, TensorFlow is imported and both paths convert once (which starts
the worker). Before each timed pair one weight is nudged, so nothing is served from a
cache. Raw and ours alternate, ours first in odd rounds; the ratio is the median of the
per-round ratios ours/raw (target <= 1.05). An in-process ``tj.convert(...,
in_process=True)`` row is shown for information.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import defaultdict

from _common import Row, median, nudge, parser, report, silenced

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TARGET = 1.05
STEPS, VOCABULARY = 32, 1000


def build_model():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((STEPS,), dtype="int32", name="tokens")
    x = keras.layers.Embedding(VOCABULARY, 32)(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(32))(x)
    return keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(x), name="bilstm")




def raw_convert(tf, model) -> bytes:
    with silenced(), tempfile.TemporaryDirectory() as folder:
        model.export(folder, input_signature=[tf.TensorSpec([1, STEPS], tf.int32, name="tokens")], verbose=False)
        return tf.lite.TFLiteConverter.from_saved_model(folder).convert()


def ours_convert(model, in_process: bool = False) -> bytes:
    import tfl_jupyter as tj

    result = tj.convert(model, batch_size=1, in_process=in_process)
    assert not any("cache" in note for note in result.notes), "served from the cache: the timing would mean nothing"
    return result.tflite_model


def main() -> int:
    args = parser(__doc__, rounds=5).parse_args()
    import tensorflow as tf

    model = build_model()
    ours_convert(model), raw_convert(tf, model)  # warm-up: the worker starts, the converters load
    print(f"Embedding + Bidirectional(LSTM), {model.count_params():,} params, {STEPS} steps; {args.rounds} rounds; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    wall = defaultdict(list)
    for round_index in range(args.rounds):
        nudge(model, round_index)
        sides = ("ours", "raw", "in_process") if round_index % 2 == 0 else ("raw", "ours", "in_process")
        for side in sides:
            if side == "in_process":
                nudge(model, 100 + round_index)
            started = time.perf_counter()
            tflite = raw_convert(tf, model) if side == "raw" else ours_convert(model, in_process=side == "in_process")
            wall[side].append(time.perf_counter() - started)
            print(f"  round {round_index + 1} {side:10} {wall[side][-1]:6.2f} s ({len(tflite):,} bytes)", flush=True)

    def paired(side):
        return median([o / r for o, r in zip(wall[side], wall["raw"])])

    raw_s = median(wall["raw"])
    rows = [
        Row("batch_size=1, Bidirectional LSTM (worker)", raw_s, median(wall["ours"]), f"ratio <= {TARGET}", TARGET,
            paired_ratio=paired("ours")),
        Row("  batch_size=1, in_process=True", raw_s, median(wall["in_process"]), paired_ratio=paired("in_process")),
    ]
    return report(rows, args.strict, raw_label="export+convert s")


if __name__ == "__main__":
    raise SystemExit(main())
