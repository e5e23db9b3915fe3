"""What the support rules need to know about one operator and its neighbourhood."""
from __future__ import annotations

import struct
from functools import cached_property
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..tflite_reader import ModelInfo, OperatorInfo, SubgraphInfo, TensorInfo
from .options import activation_name, read_options

FLEX_PREFIX = "Flex"
CUSTOM_CODE = 32  # BuiltinOperator.CUSTOM
# Custom ops that the standard TFLite/LiteRT op resolver registers itself.
RUNTIME_CUSTOM_OPS = frozenset({"TFLite_Detection_PostProcess"})

_INT_CODES = {"int32": ("i", 4), "int64": ("q", 8)}
DEQUANTIZE_CODE = 6  # BuiltinOperator.DEQUANTIZE
FLOAT16_CODE = 1  # TensorType.FLOAT16


class GraphView:
    """Per-subgraph lookups shared by all operators of the subgraph.

    Attributes
    ----------
    static_mask : numpy bool array
        Per tensor: is its value known before inference? True for constants, and for
        float32 results of DEQUANTIZE applied to a constant float16 tensor (both
        delegates fold those into static weights).
    static : set
        The indices where ``static_mask`` is True.
    producer : dict
        Tensor index -> index of the operator that writes it (built on first use).
    consumers : dict
        Tensor index -> list of operator indices that read it (built on first use).
    """

    def __init__(self, model: ModelInfo, graph: SubgraphInfo):
        self.model = model
        self.graph = graph
        self.tensors = graph.tensors
        tensors, ops = graph.tensor_columns, graph.operator_columns
        static = tensors.is_constant.copy()
        builtin = np.array([c.builtin_code for c in model.operator_codes] or [0])[ops.opcode]
        inputs = ops.inputs
        dequantize = (builtin == DEQUANTIZE_CODE) & (inputs.counts == 1)
        source = inputs.values[inputs.offsets[dequantize]]
        if static.size and source.size:
            safe = np.maximum(source, 0)  # -1: an omitted input
            folded = (source >= 0) & static[safe] & (tensors.dtype[safe] == FLOAT16_CODE)
            for i in np.flatnonzero(dequantize)[folded].tolist():
                static[[t for t in ops.outputs.item(i) if t >= 0]] = True
        self.static_mask = static
        self.static = set(np.flatnonzero(static).tolist())

    @cached_property
    def producer(self) -> Dict[int, int]:
        outputs = self.graph.operator_columns.outputs
        return {t: i for i in range(len(self.graph.operators)) for t in outputs.item(i)}

    @cached_property
    def consumers(self) -> Dict[int, List[int]]:
        inputs = self.graph.operator_columns.inputs
        consumers: Dict[int, List[int]] = {}
        for i in range(len(self.graph.operators)):
            for t in inputs.item(i):
                if t >= 0:
                    consumers.setdefault(t, []).append(i)
        return consumers

    def int_values(self, tensor: TensorInfo, limit: int = 64) -> Optional[Tuple[int, ...]]:
        """Values of a small constant int32/int64 tensor, or None if not readable."""
        code = _INT_CODES.get(tensor.dtype)
        if code is None or not tensor.is_constant:
            return None
        raw = self.model.buffer_bytes(tensor.buffer)
        count = len(raw) // code[1]
        if count > limit:
            return None
        return struct.unpack_from("<%d%s" % (count, code[0]), raw, 0)


class OpContext:
    """One operator with its tensors resolved; options are decoded on first use."""

    __slots__ = ("op", "graph", "inputs", "outputs", "name", "version", "kind", "_options")

    def __init__(self, op: OperatorInfo, graph: GraphView):
        tensors = graph.tensors
        self.op = op
        self.graph = graph
        self.name = op.op
        self.version = op.version
        # Index -1 marks an omitted optional input (or, in a damaged file, output).
        self.inputs: Tuple[Optional[TensorInfo], ...] = tuple(
            tensors[i] if i >= 0 else None for i in op.inputs)
        self.outputs: Tuple[TensorInfo, ...] = tuple(
            tensors[i] if i >= 0 else None for i in op.outputs)
        if op.builtin_code != CUSTOM_CODE:
            self.kind = "builtin"
        else:
            self.kind = "flex" if (op.custom_code or "").startswith(FLEX_PREFIX) else "custom"
        self._options = None

    @property
    def options(self) -> dict:
        """Decoded builtin options (see options.read_options)."""
        if self._options is None:
            self._options = read_options(self.op)
        return self._options

    # -- helpers used by the rules --------------------------------------------------------

    def input(self, i: int) -> Optional[TensorInfo]:
        """Input ``i``, or None when absent or omitted (-1)."""
        return self.inputs[i] if i < len(self.inputs) else None

    def is_static(self, tensor: Optional[TensorInfo]) -> bool:
        """Whether ``tensor`` is known before inference (see GraphView.static)."""
        return tensor is not None and tensor.index in self.graph.static

    @property
    def runtime_inputs(self) -> List[TensorInfo]:
        """Inputs that are neither static nor omitted (gpu_compatibility.cc's count).

        Float16 weights behind a DEQUANTIZE count as constants: the GPU delegate's
        FP16GraphPartitionHelper rewires such inputs to the float16 constant itself.
        """
        static = self.graph.static
        return [t for t in self.inputs if t is not None and t.index not in static]

    @property
    def const_inputs(self) -> List[TensorInfo]:
        """Static inputs (see :attr:`runtime_inputs`)."""
        static = self.graph.static
        return [t for t in self.inputs if t is not None and t.index in static]

    @property
    def activation(self) -> str:
        """Fused activation name ('' if the op has none)."""
        return activation_name(self.options)

