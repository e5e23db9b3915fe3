"""Benchmark: building ``.ops`` for a model vs ``tf.lite.experimental.Analyzer.analyze``.

Both run on the same bytes in the same process, alternating; the script prints each
time (best of ``--rounds`` runs), the read alone for context, and the ratio
ours / Analyzer. Target: ratio <= 1.0.

Models: EfficientNetB0 int8 (``keras.applications.EfficientNetB0(weights=None)``, full
integer quantization, ~305 ops) and a generated float model of >= 5,000 ops.

Usage::

    .venv/bin/python bench/bench_ops_table.py [--cache DIR] [--rounds N] [--strict]

``--cache`` keeps the converted models between runs (conversion takes ~30 s).
"""
from __future__ import annotations

import os
import sys
import time

from _common import parser


def _efficientnet_int8() -> bytes:
    import keras
    import numpy as np
    import tensorflow as tf

    model = keras.applications.EfficientNetB0(weights=None)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rng = np.random.default_rng(0)

    def representative():
        for _ in range(4):
            yield [rng.random((1, 224, 224, 3), dtype=np.float32)]

    converter.representative_dataset = representative
    return converter.convert()


def _many_ops(blocks: int = 1300) -> bytes:
    """A float chain of ``blocks`` x (MUL, ADD, TANH, MAXIMUM) on a small tensor."""
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 4], tf.float32)])
    def chain(x):
        for i in range(blocks):
            x = x * (1.0 + i * 1e-4)
            x = x + 0.5
            x = tf.tanh(x)
            x = tf.maximum(x, -0.5)
        return x

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [chain.get_concrete_function()], chain)
    return converter.convert()


def _cached(cache, name, build) -> bytes:
    if cache:
        path = os.path.join(cache, name + ".tflite")
        if os.path.exists(path):
            with open(path, "rb") as f:
                return f.read()
    data = build()
    if cache:
        os.makedirs(cache, exist_ok=True)
        with open(os.path.join(cache, name + ".tflite"), "wb") as f:
            f.write(data)
    return data


def _best_interleaved(fns, repeat: int) -> list:
    """Best wall time of each function, alternating them so load hits all alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def _analyzer(data: bytes):
    import tensorflow as tf

    def run():
        # Analyzer prints from C++ to fd 1: silence it at the fd level while timing.
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        try:
            tf.lite.experimental.Analyzer.analyze(model_content=data)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)

    return run


TARGET = 1.0


def main() -> int:
    p = parser(__doc__.split("\n")[0], rounds=15)
    p.add_argument("--cache", help="directory for converted models")
    args = p.parse_args()

    from tfl_jupyter.core.op_support import ops_table
    from tfl_jupyter.core.tflite_reader import read_model

    cases = [("EfficientNetB0 int8", _cached(args.cache, "efficientnetb0_int8", _efficientnet_int8)),
             ("generated chain", _cached(args.cache, "many_ops", _many_ops))]
    print(f"{'model':22} {'ops':>6} {'read':>9} {'.ops':>9} {'Analyzer':>9} {'ratio':>6}  target  result")
    missed = []
    for name, data in cases:
        analyzer = _analyzer(data)
        analyzer()  # warm up both sides
        ops = ops_table(read_model(data))
        read_s, ours_s, theirs_s = _best_interleaved(
            [lambda: read_model(data), lambda: ops_table(read_model(data)), analyzer],
            args.rounds)
        ratio = ours_s / theirs_s
        if ratio > TARGET:
            missed.append(name)
        print(f"{name:22} {len(ops):6d} {read_s * 1e3:7.2f}ms {ours_s * 1e3:7.2f}ms "
              f"{theirs_s * 1e3:7.2f}ms {ratio:6.2f}  <= {TARGET}  {'FAIL' if ratio > TARGET else 'PASS'}")
    print(f"\n{len(cases) - len(missed)}/{len(cases)} targets met"
          + (f"; missed: {', '.join(missed)}" if missed else ""))
    return 1 if (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
