"""An independent run of LiteRT's GPU accelerator, for tests/test_litert_gpu.py.

Run as a script in a process of its own (``python litert_gpu_oracle.py MODE DIR``): it
imports numpy and ``ai_edge_litert``'s public ``CompiledModel`` API only, never TensorFlow
(the accelerator crashes where TensorFlow is loaded) and nothing of tfl_jupyter.

``verdicts DIR``: for each ``DIR/*.tflite``, compile with ``GPU | CPU`` then with ``GPU``
alone; the accelerator's own lines go to stderr between ``@@@`` markers, which the test parses.

``runs DIR``: for each ``DIR/NAME.tflite`` with ``DIR/NAME.npz`` (one array per input name,
samples on the first axis), run every sample (batch 1) with ``GPU | CPU`` and with ``CPU``
and print one JSON line per output (after ``@@@ ``, as the runtime prints on stdout too): ``max_abs``, ``mean_abs``, ``median_abs`` of
``|gpu - cpu|``, and the accelerator's GPU/CPU op counts come on stderr.
"""
from __future__ import annotations

import glob
import json
import os
import sys

import numpy as np
from ai_edge_litert.compiled_model import CompiledModel, HardwareAccelerator

GPU_CPU = HardwareAccelerator.GPU | HardwareAccelerator.CPU


def mark(text: str) -> None:
    """A marker on fd 2, in order with what the native code prints there."""
    sys.stderr.flush()
    os.write(2, f"@@@ {text}\n".encode())


def verdicts(folder: str) -> None:
    for path in sorted(glob.glob(os.path.join(folder, "*.tflite"))):
        name = os.path.basename(path)[: -len(".tflite")]
        data = open(path, "rb").read()
        mark(f"BEGIN {name}")
        try:
            CompiledModel.from_buffer(data, hardware_accel=GPU_CPU)
            mark(f"COMPILED {name} ok")
        except Exception as exc:  # noqa: BLE001 - the runtime's own error, reported
            mark(f"COMPILED {name} failed {type(exc).__name__}")
        try:
            CompiledModel.from_buffer(data, hardware_accel=HardwareAccelerator.GPU)
            mark(f"GPUONLY {name} ok")
        except Exception as exc:  # noqa: BLE001
            mark(f"GPUONLY {name} failed {type(exc).__name__}")


def _run(model: CompiledModel, samples: dict) -> dict:
    key = list(model.get_signature_list())[0]
    names = model.get_signature_list()[key]
    details = model.get_output_tensor_details(key)
    inputs = model.create_input_buffers(0)
    outputs = model.create_output_buffers(0)
    count = len(next(iter(samples.values())))
    values = {name: [] for name in names["outputs"]}
    for i in range(count):
        for name, buffer in zip(names["inputs"], inputs):
            buffer.write(np.ascontiguousarray(samples[name][i : i + 1]))
        model.run_by_index(0, inputs, outputs)
        for name, buffer in zip(names["outputs"], outputs):
            detail = details[name]
            size = int(np.prod(detail["shape"]))
            values[name].append(buffer.read(size, np.dtype(detail["dtype"])))
    return {name: np.concatenate(v).astype(np.float64) for name, v in values.items()}


def runs(folder: str) -> None:
    for path in sorted(glob.glob(os.path.join(folder, "*.tflite"))):
        name = os.path.basename(path)[: -len(".tflite")]
        data = open(path, "rb").read()
        samples = dict(np.load(os.path.join(folder, name + ".npz")))
        mark(f"BEGIN {name}")
        gpu = _run(CompiledModel.from_buffer(data, hardware_accel=GPU_CPU), samples)
        mark(f"END {name}")
        cpu = _run(CompiledModel.from_buffer(data, hardware_accel=HardwareAccelerator.CPU), samples)
        for output in gpu:
            diff = np.abs(gpu[output] - cpu[output])
            print("@@@ " + json.dumps({"model": name, "output": output, "max_abs": float(diff.max()),
                              "mean_abs": float(diff.mean()), "median_abs": float(np.median(diff)),
                              "mismatched": float(np.mean(gpu[output] != cpu[output]))}), flush=True)


if __name__ == "__main__":
    if "tensorflow" in sys.modules:
        raise SystemExit("TensorFlow is loaded: LiteRT's GPU accelerator would crash")
    {"verdicts": verdicts, "runs": runs}[sys.argv[1]](sys.argv[2])
