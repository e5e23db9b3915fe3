"""Benchmark: building the data of each graph overlay for a 5,000-op model.

``overlay_table(ops, name, model)`` runs on the generated chain of ``bench_ops_table.py``
(>= 5,000 ops) with its ``.ops`` already built (the table ``.ops`` shows, timed by that
benchmark); the ``error`` overlay gets a per-layer table with one measured layer per op,
as ``comparison.layers`` has for a fully quantized model. Target: <= 50 ms per overlay
(best of ``--rounds`` runs), and <= 50 ms for all five together as the viewer gets them
the first time (median).

Usage::

    .venv/bin/python bench/bench_overlay.py [--cache DIR] [--rounds N] [--strict]
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from _common import Row, median, parser, report, timed
from bench_ops_table import _best_interleaved, _cached, _many_ops

LIMIT_S = 0.050


def main() -> int:
    p = parser(__doc__.split("\n")[0], rounds=10)
    p.add_argument("--cache", help="directory for the converted model")
    args = p.parse_args()

    from tfl_jupyter.core.op_support import ops_table
    from tfl_jupyter.core.op_support.overlay import OVERLAYS, overlay_table
    from tfl_jupyter.core.tflite_reader import read_model

    model = read_model(_cached(args.cache, "many_ops", _many_ops))
    ops = ops_table(model)
    names = overlay_table(ops, "kind", model)
    layers = pd.DataFrame({"op": names["op"], "tensor": names["tensor"],
                           "rmse_over_scale": np.random.default_rng(0).random(len(ops))})
    print(f"model: {len(ops)} ops")
    builds = [lambda name=name: overlay_table(ops, name, model, layers) for name in OVERLAYS]
    best = _best_interleaved(builds, args.rounds)
    rows = [Row(f"overlay_table({name!r})", None, seconds, f"<= {LIMIT_S * 1e3:.0f} ms",
                LIMIT_S, by_ratio=False) for name, seconds in zip(OVERLAYS, best)]

    # What showing the viewer costs the kernel: every overlay of a report seen for the first
    # time (its .ops built before, untimed), and their conversion to the widget's state.
    import tfl_jupyter as tj
    from tfl_jupyter.widgets.netron_view import overlay_payload, overlay_tables

    data = _cached(args.cache, "many_ops", _many_ops)
    times = []
    for _ in range(args.rounds):
        fresh = tj.inspect(data)
        fresh.ops
        seconds, _ = timed(lambda: overlay_payload(overlay_tables(fresh, layers)))
        times.append(seconds)
    rows.append(Row("every overlay for the viewer, first time (median)", None, median(times),
                    f"<= {LIMIT_S * 1e3:.0f} ms", LIMIT_S, by_ratio=False))
    return report(rows, args.strict)


if __name__ == "__main__":
    sys.exit(main())
