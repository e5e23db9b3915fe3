"""What the support rules need to know about one operator and its neighbourhood."""
from __future__ import annotations

import struct
from typing import Dict, List, Optional, Tuple

from ..tflite_reader import ModelInfo, OperatorInfo, SubgraphInfo, TensorInfo
from .options import activation_name, read_options

FLEX_PREFIX = "Flex"
CUSTOM_CODE = 32  # BuiltinOperator.CUSTOM
# Custom ops that the standard TFLite/LiteRT op resolver registers itself.
RUNTIME_CUSTOM_OPS = frozenset({"TFLite_Detection_PostProcess"})

_INT_CODES = {"int32": ("i", 4), "int64": ("q", 8)}


class GraphView:
    """Per-subgraph lookups shared by all operators of the subgraph.

    Attributes
    ----------
    producer : dict
        Tensor index -> index of the operator that writes it.
    consumers : dict
        Tensor index -> list of operator indices that read it.
    static : set
        Tensors whose value is known before inference: constants, and float32 results
        of DEQUANTIZE applied to a constant float16 tensor (both delegates fold those
        into static weights).
    """

    def __init__(self, model: ModelInfo, graph: SubgraphInfo):
        self.model = model
        self.graph = graph
        self.tensors = graph.tensors
        self.tensor_or_none = list(graph.tensors) + [None]
        producer: Dict[int, int] = {}
        consumers: Dict[int, List[int]] = {}
        for op in graph.operators:
            for t in op.outputs:
                producer[t] = op.index
            for t in op.inputs:
                if t >= 0:
                    consumers.setdefault(t, []).append(op.index)
        self.producer = producer
        self.consumers = consumers
        static = {t.index for t in graph.tensors if t.is_constant}
        for op in graph.operators:
            if (op.op == "DEQUANTIZE" and len(op.inputs) == 1 and op.inputs[0] in static
                    and graph.tensors[op.inputs[0]].dtype == "float16"):
                static.update(op.outputs)
        self.static = static

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
        lookup = graph.tensor_or_none
        self.op = op
        self.graph = graph
        self.name = op.op
        self.version = op.version
        # tensor_or_none ends with None, so index -1 (an omitted input) maps to None.
        self.inputs: Tuple[Optional[TensorInfo], ...] = tuple(map(lookup.__getitem__, op.inputs))
        self.outputs: Tuple[TensorInfo, ...] = tuple(map(lookup.__getitem__, op.outputs))
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

