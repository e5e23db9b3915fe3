"""Match the source model's input and output names to the ``.tflite`` model's tensors.

A ``.tflite`` converted from Keras or a SavedModel carries a signature mapping names to
tensors (Keras outputs are named ``output_0``, ``output_1``, ... or by their dict keys);
one converted from concrete functions has none, and is matched by position.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from ..sources import InputSpec
from ..tflite_reader import ModelInfo, SignatureInfo

_INTEGER_IO = ("int8", "uint8", "int16")


def choose_signature(model: ModelInfo, key: Optional[str] = None) -> Optional[SignatureInfo]:
    """The signature to compare: ``key``, the only one, or None for a model without signatures.

    Raises
    ------
    ValueError
        ``key`` is unknown, or the model has several signatures and none was named.
    """
    signatures = {s.key: s for s in model.signatures}
    if key is not None:
        if key not in signatures:
            raise ValueError(f"the model has no signature {key!r}; it has {sorted(signatures) or 'none'}")
        return signatures[key]
    if len(signatures) > 1:
        raise ValueError(
            f"the model has several signatures {sorted(signatures)}: pass signature_key=... to compare one of them"
        )
    return next(iter(signatures.values()), None)


def subgraph_of(signature: Optional[SignatureInfo]) -> int:
    """The subgraph a signature runs (0 without signatures)."""
    return signature.subgraph_index if signature is not None else 0


def bind_inputs(model: ModelInfo, signature: Optional[SignatureInfo], names: Sequence[str]) -> Dict[str, int]:
    """``{input name: tensor index}`` by name where the signature has the names, else by position."""
    return _bind(model, signature, names, "inputs")


def bind_outputs(model: ModelInfo, signature: Optional[SignatureInfo], names: Sequence[str]) -> Dict[str, int]:
    """``{output name: tensor index}``, names as the reference model gives them."""
    return _bind(model, signature, names, "outputs")


def _bind(model, signature, names, role) -> Dict[str, int]:
    named = getattr(signature, role) if signature is not None else {}
    if names and all(name in named for name in names):
        return {name: named[name] for name in names}
    graph = model.subgraphs[subgraph_of(signature)]
    positions: List[int] = list(graph.inputs if role == "inputs" else graph.outputs)
    if named and len(named) == len(positions):
        positions = _signature_order(named, positions)
    if len(positions) != len(names):
        have = sorted(named) if named else [graph.tensors[i].name for i in positions]
        raise ValueError(
            f"the reference model has {len(names)} {role} ({', '.join(map(str, names))}) but the .tflite model "
            f"has {len(positions)} ({', '.join(have)}): compare needs the same {role} on both sides"
        )
    return dict(zip(names, positions))


def _signature_order(named: Dict[str, int], positions: List[int]) -> List[int]:
    """Signature tensors in signature-name order when names like ``output_0`` say the order, else graph order."""
    keys = sorted(named, key=_numbered)
    if all(_numbered(k)[1] >= 0 for k in keys):
        return [named[k] for k in keys]
    return positions


def _numbered(name: str) -> Tuple[str, int]:
    stem, _, number = name.rpartition("_")
    return (stem, int(number)) if number.isdigit() else (name, -1)


def specs_from_tflite(model: ModelInfo, signature: Optional[SignatureInfo]) -> List[InputSpec]:
    """Input specs read from the ``.tflite`` itself (float for quantized integer I/O)."""
    graph = model.subgraphs[subgraph_of(signature)]
    if signature is not None:
        pairs = sorted(signature.inputs.items(), key=lambda item: list(graph.inputs).index(item[1]) if item[1] in graph.inputs else item[1])
    else:
        pairs = [(graph.tensors[i].name.split(":")[0], i) for i in graph.inputs]
    specs = []
    for name, index in pairs:
        tensor = graph.tensors[index]
        dtype = "float32" if tensor.dtype in _INTEGER_IO and tensor.scale else tensor.dtype
        shape = tensor.shape_signature or tensor.shape
        specs.append(InputSpec(name=name, dtype=dtype, shape=tuple(None if d < 0 else d for d in shape)))
    return specs


def calibrated_ranges(model: ModelInfo, inputs: Dict[str, int], subgraph: int = 0) -> Dict[str, Tuple[float, float]]:
    """``{input name: (low, high)}`` of the float range the quantized model was calibrated for.

    Read from the input's own quantization (integer I/O) or from the QUANTIZE op that takes
    a float input; inputs of a float model have no such range and are left out.
    """
    graph = model.subgraphs[subgraph]
    ranges = {}
    for name, index in inputs.items():
        tensor = graph.tensors[index]
        if not tensor.scale:
            consumer = next((op for op in graph.operators if op.op == "QUANTIZE" and op.inputs and op.inputs[0] == index
                             and op.outputs and op.outputs[0] >= 0), None)
            tensor = graph.tensors[consumer.outputs[0]] if consumer is not None else tensor
        if tensor.scale and len(tensor.scale) == 1 and tensor.dtype in _INTEGER_IO:
            info = _integer_limits(tensor.dtype)
            zero = tensor.zero_point[0] if tensor.zero_point else 0
            low, high = (info[0] - zero) * tensor.scale[0], (info[1] - zero) * tensor.scale[0]
            if high > low:
                ranges[name] = (float(low), float(high))
    return ranges


def _integer_limits(dtype: str) -> Tuple[int, int]:
    import numpy as np

    info = np.iinfo(np.dtype(dtype))
    return int(info.min), int(info.max)
