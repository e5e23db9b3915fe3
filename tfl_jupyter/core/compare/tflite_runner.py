"""Run a ``.tflite`` model on a SampleSet with the LiteRT interpreter, in batches where it can.

Where every input's batch dimension is dynamic (``shape_signature[0] == -1``) the inputs are
resized to the batch; a model with a fixed batch runs that many samples per invoke, the last
invoke padded. Integer inputs are quantized and integer outputs dequantized with the model's
own scale and zero point, so callers see float values on both sides.
"""

from __future__ import annotations

import os
from typing import Dict, Optional

import numpy as np

from ..capture import capture_output
from ..text import first_line
from ..tflite_reader import ModelInfo, SignatureInfo
from .progress import progress_bar
from .quantization import dequantize, quantize
from .samples import SampleSet

_INTEGER = ("int8", "uint8", "int16")
# Bytes of input per invoke when batching: big enough to amortize the call, small enough for cache.
_BATCH_BYTES = 4 * 1024 * 1024


class InterpreterError(RuntimeError):
    """The LiteRT interpreter cannot run this model (e.g. it needs Flex ops or a custom kernel)."""


class TFLiteRunner:
    """One interpreter for one model, ready to run batches.

    Parameters
    ----------
    tflite_model : bytes
    model : ModelInfo
        The parsed flatbuffer (for the signature and tensor metadata).
    signature : SignatureInfo or None
        The signature to run; None for a model without signatures (subgraph 0).
    num_threads : int, optional
        Interpreter threads; defaults to the number of CPUs.
    preserve_all_tensors : bool
        Keep every intermediate tensor readable after an invoke (see :meth:`tensor_values`).
    """

    def __init__(self, tflite_model: bytes, model: ModelInfo, signature: Optional[SignatureInfo], num_threads: Optional[int] = None,
                 preserve_all_tensors: bool = False):
        self.model = model
        self.signature = signature
        self.subgraph = signature.subgraph_index if signature is not None else 0
        self.num_threads = num_threads or os.cpu_count() or 1
        self._tflite_model = bytes(tflite_model)
        self._preserve_all_tensors = preserve_all_tensors
        #: Whether this model runs one sample per invoke although its batch is dynamic: it
        #: did not resize to a bigger batch (e.g. a RESHAPE to a fixed shape inside).
        self.one_at_a_time = False
        self._start()

    def _start(self) -> None:
        """A fresh interpreter (also after one that failed to prepare a bigger batch)."""
        from ai_edge_litert.interpreter import Interpreter

        try:
            with capture_output():  # "Created TensorFlow Lite XNNPACK delegate" goes to fd 2
                self.interpreter = Interpreter(model_content=self._tflite_model, num_threads=self.num_threads,
                                               experimental_preserve_all_tensors=self._preserve_all_tensors)
        except (RuntimeError, ValueError) as exc:
            raise _explain(exc, self.model) from None
        self._runner = None
        if self.subgraph != 0:
            self._runner = self.interpreter.get_signature_runner(self.signature.key)
            self._names = {index: name for name, index in self.signature.inputs.items()}
            self._out_names = {index: name for name, index in self.signature.outputs.items()}
        self._shapes: Dict[int, tuple] = {}
        self._allocated = False

    def _in_batches(self, work, size: int, dynamic: bool):
        """``work(size)``; where a dynamic batch fails to prepare, ``work(1)`` on a fresh interpreter.

        The LiteRT Quantizer's Hadamard recipes, for one, keep a dynamic batch on the inputs
        but reshape to batch-1 shapes inside, so a bigger batch fails to prepare.
        """
        try:
            return work(size)
        except InterpreterError:
            if not dynamic or size <= 1 or self.one_at_a_time:
                raise
        self.one_at_a_time = True
        self._start()
        return work(1)

    def tensor(self, index: int):
        """The TensorInfo of tensor ``index`` in the signature's subgraph."""
        return self.model.subgraphs[self.subgraph].tensors[index]

    def dynamic_batch(self, inputs: Dict[str, int]) -> bool:
        """Whether every input's first dimension is dynamic."""
        signatures = [self.tensor(i).shape_signature or self.tensor(i).shape for i in inputs.values()]
        return all(len(s) > 0 and s[0] == -1 for s in signatures)

    def batch_size(self, samples: SampleSet, inputs: Dict[str, int], requested: Optional[int] = None) -> int:
        """Samples per invoke: the fixed batch, or ``requested``, or about 4 MB of input."""
        if self.one_at_a_time:
            return 1
        if not self.dynamic_batch(inputs):
            shapes = [self.tensor(i).shape for i in inputs.values()]
            return max(1, int(shapes[0][0])) if shapes and len(shapes[0]) else 1
        if requested:
            return int(requested)
        return int(np.clip(_BATCH_BYTES // max(1, samples.bytes_per_sample()), 1, 256))

    def run(
        self,
        samples: SampleSet,
        inputs: Dict[str, int],
        outputs: Dict[str, int],
        *,
        batch_size: Optional[int] = None,
        progress: Optional[bool] = None,
        description: str = ".tflite",
    ) -> Dict[str, np.ndarray]:
        """Run every sample; return ``{output name: float array}`` with samples on the first axis.

        Raises
        ------
        InterpreterError
            The interpreter cannot prepare or run the model.
        """
        size = self.batch_size(samples, inputs, batch_size)
        dynamic = self.dynamic_batch(inputs)
        return self._in_batches(
            lambda size: self._run(samples, inputs, outputs, size, dynamic, progress, description), size, dynamic)

    def _run(self, samples, inputs, outputs, size, dynamic, progress, description) -> Dict[str, np.ndarray]:
        collected: Dict[str, list] = {name: [] for name in outputs}
        with progress_bar(samples.n, description, progress) as bar:
            for _, batch in samples.batches(size):
                count = len(next(iter(batch.values())))
                if not dynamic:
                    batch = _padded(batch, size)
                feeds = {inputs[name]: self._to_model(batch[name], inputs[name]) for name in inputs}
                results = self._invoke(feeds, resize=dynamic or self._has_dynamic_dims(inputs))
                for name, index in outputs.items():
                    value = self._from_model(results[index], index)
                    collected[name].append(value[:count] if value.ndim and len(value) == len(next(iter(batch.values()))) else value)
                bar.update(count)
        return {name: np.concatenate(parts) if parts[0].ndim else np.stack(parts) for name, parts in collected.items()}

    def tensor_values(self, samples: SampleSet, inputs: Dict[str, int], indices) -> Dict[int, np.ndarray]:
        """Raw values of tensors ``indices`` (any tensor of subgraph 0) over all samples, one invoke per batch.

        Needs ``preserve_all_tensors=True`` for intermediate tensors.
        """
        size = self.batch_size(samples, inputs)
        dynamic = self.dynamic_batch(inputs)
        return self._in_batches(lambda size: self._tensor_values(samples, inputs, indices, size, dynamic), size, dynamic)

    def _tensor_values(self, samples, inputs, indices, size, dynamic) -> Dict[int, np.ndarray]:
        collected: Dict[int, list] = {index: [] for index in indices}
        for _, batch in samples.batches(size):
            batch = batch if dynamic else _padded(batch, size)  # the padding repeats the last sample
            feeds = {inputs[name]: self._to_model(batch[name], inputs[name]) for name in inputs}
            values = self._invoke(feeds, resize=dynamic or self._has_dynamic_dims(inputs), read=list(indices))
            for index in indices:
                collected[index].append(np.asarray(values[index]).reshape(-1))
        return {index: np.concatenate(parts) for index, parts in collected.items()}

    def latency_ms(self, samples: SampleSet, inputs: Dict[str, int], runs: int = 5) -> float:
        """Median wall time of ``runs`` invokes on one sample (after one warm-up invoke), in ms.

        A model traced at a fixed batch runs one batch of it (the sample repeated).
        """
        import time

        one = samples.head(1)
        dynamic = self.dynamic_batch(inputs)
        arrays = one.arrays if dynamic else _padded(one.arrays, self.batch_size(one, inputs))
        feeds = {inputs[name]: self._to_model(arrays[name], inputs[name]) for name in inputs}
        self._invoke(feeds, resize=dynamic or self._has_dynamic_dims(inputs))
        times = []
        for _ in range(max(1, runs)):
            started = time.perf_counter()
            self._invoke(feeds, resize=False)
            times.append(time.perf_counter() - started)
        return float(np.median(times) * 1000)

    def _has_dynamic_dims(self, inputs: Dict[str, int]) -> bool:
        return any(-1 in (self.tensor(i).shape_signature or ())[1:] for i in inputs.values())

    def _invoke(self, feeds: Dict[int, np.ndarray], resize: bool, read=None) -> Dict[int, np.ndarray]:
        try:
            if self._runner is not None:
                results = self._runner(**{self._names[i]: v for i, v in feeds.items()})
                return {index: results[name] for index, name in self._out_names.items()}
            interpreter = self.interpreter
            changed = False
            if resize:
                for index, value in feeds.items():
                    if self._shapes.get(index) != value.shape:
                        interpreter.resize_tensor_input(index, value.shape)
                        self._shapes[index] = value.shape
                        changed = True
            if changed or not self._allocated:
                with capture_output():
                    interpreter.allocate_tensors()
                self._allocated = True
            for index, value in feeds.items():
                interpreter.set_tensor(index, value)
            interpreter.invoke()
            return {index: interpreter.get_tensor(index) for index in (read or self.model.subgraphs[0].outputs)}
        except (RuntimeError, ValueError) as exc:
            raise _explain(exc, self.model) from None

    def _to_model(self, values: np.ndarray, index: int) -> np.ndarray:
        tensor = self.tensor(index)
        if tensor.dtype in _INTEGER and tensor.scale and values.dtype.kind == "f":
            return quantize(values, tensor.scale[0], tensor.zero_point[0] if tensor.zero_point else 0, np.dtype(tensor.dtype))
        if tensor.dtype != values.dtype.name and tensor.dtype not in ("string",):
            return values.astype(tensor.dtype)
        return values

    def _from_model(self, values: np.ndarray, index: int) -> np.ndarray:
        tensor = self.tensor(index)
        if tensor.dtype in _INTEGER and tensor.scale:
            return dequantize(values, tensor.scale[0], tensor.zero_point[0] if tensor.zero_point else 0)
        return np.asarray(values)


def _padded(batch: Dict[str, np.ndarray], size: int) -> Dict[str, np.ndarray]:
    """A short last batch of a fixed-batch model, padded with its last sample."""
    count = len(next(iter(batch.values())))
    if count >= size:
        return batch
    return {k: np.concatenate([v, np.repeat(v[-1:], size - count, axis=0)]) for k, v in batch.items()}


def _explain(exc: Exception, model: ModelInfo) -> InterpreterError:
    text = first_line(exc).split(" Make sure")[0][:240]  # the interpreter's Android build advice is not for us
    codes = {op.op for graph in model.subgraphs for op in graph.operators if op.is_custom}
    flex = sorted(c for c in codes if c.startswith("Flex"))
    custom = sorted(codes - set(flex))
    message = f"the LiteRT interpreter cannot run this model ({text})"
    if flex:
        message += f"; it uses Flex ops ({', '.join(flex[:4])}), which need the Select TF ops runtime: convert without SELECT_TF_OPS to compare it here"
    elif custom:
        message += f"; it uses custom ops ({', '.join(custom[:4])}) that have no kernel here"
    return InterpreterError(message)
