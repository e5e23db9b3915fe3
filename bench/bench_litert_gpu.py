"""Benchmark: LiteRT's GPU accelerator through the pool's "litert" workers.

Run:
    .venv/bin/python bench/bench_litert_gpu.py            # ~1 min
    .venv/bin/python bench/bench_litert_gpu.py --strict   # exit 1 if a target is missed

Cases, on a small model (a 16x16x3 CNN of eight ops, float) and on one the accelerator
splits (a GATHER it refuses between two runs of three ops):

- one ``litert_gpu`` check (``measure_litert_gpu``: compile with ``GPU | CPU``, the
  accelerator's verdicts, the partition) in a fresh process: the pool is stopped before
  each round, so the worker starts (Python, ``ai_edge_litert``, the WebGPU environment on
  the Vulkan adapter) inside the time; target <= 1.5 s;
- the same check with the worker warm; target <= 0.3 s;
- ``gpu_check(n=20)`` (compile twice, 20 invokes on the GPU and 20 on the CPU, the
  difference per output) warm, for information;
- for context: a fresh ``python -c "import ai_edge_litert.compiled_model"`` (its public
  wrapper imports ``ml_dtypes``, which the check avoids: 1.3 s here with NumPy 2.4).

Needs a Vulkan adapter (Mesa's lavapipe will do: ``.ci/install_vulkan.sh``); without one
it says so and exits 0 (1 with ``--strict``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from _common import Row, median, parser, report

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def models() -> dict:
    """The two models, converted here (TensorFlow is loaded in this process only, never in the workers)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
    import conftest_ops
    import litert_gpu_models

    return {"cnn": conftest_ops.float_cnn(), "split": litert_gpu_models.model("gather_2d_mid")}


def main() -> int:
    args = parser(__doc__, rounds=5).parse_args()
    from tfl_jupyter.core.worker.litert_gpu import measure_litert_gpu
    from tfl_jupyter.core.worker.pool import POOL
    import tfl_jupyter as tj

    data = models()
    first = measure_litert_gpu(data["cnn"])
    if not first.available:
        print(f"no GPU adapter: {first.unavailable}")
        POOL.stop()
        return 1 if args.strict else 0
    print(f"adapter: {first.adapter}; ai-edge-litert {first.version}")
    rows = []
    for name, model in data.items():
        cold, warm = [], []
        for _ in range(args.rounds):
            POOL.stop()
            started = time.perf_counter()
            result = measure_litert_gpu(model)
            cold.append(time.perf_counter() - started)
            for _ in range(3):
                started = time.perf_counter()
                measure_litert_gpu(model)
                warm.append(time.perf_counter() - started)
        print(f"{name}: {result.gpu_ops} ops on the GPU, {result.cpu_ops} on the CPU; cold "
              f"{', '.join(f'{c:.2f}' for c in cold)} s")
        rows.append(Row(f"litert_gpu check, {name}, fresh worker", None, median(cold), "<= 1.5 s", 1.5, by_ratio=False))
        rows.append(Row(f"litert_gpu check, {name}, warm worker", None, median(warm), "<= 0.3 s", 0.3, by_ratio=False))
        report_of = tj.inspect(model)
        report_of.gpu_check(n=20)  # warm
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            report_of.gpu_check(n=20)
            times.append(time.perf_counter() - started)
        rows.append(Row(f"gpu_check(n=20), {name}, warm worker", None, median(times), by_ratio=False))
    imports = []
    for _ in range(min(args.rounds, 3)):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import ai_edge_litert.compiled_model"], check=True)
        imports.append(time.perf_counter() - started)
    rows.append(Row("context: fresh `import ai_edge_litert.compiled_model`", None, median(imports), by_ratio=False))
    POOL.stop()
    return report(rows, args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
