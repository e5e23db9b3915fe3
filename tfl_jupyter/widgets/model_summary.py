"""The static part of a viewer's output: what the model was, in text and HTML.

A notebook saved with a graph viewer and opened where widgets do not run (GitHub,
nbviewer, nbconvert) shows this instead, so it still says what was there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from html import escape
from typing import Tuple

from ..core.text import format_size


@dataclass(frozen=True)
class ModelSummary:
    """A few facts about a ``.tflite`` model, for the output a viewer leaves behind.

    Attributes
    ----------
    name : str
    size_bytes : int
    operators : int
        Operator count over all subgraphs.
    subgraphs : int
    op_counts : tuple of (str, int)
        Operator types and counts, most frequent first.
    inputs, outputs : tuple of str
        ``"name: dtype[shape]"`` of the main subgraph's tensors.
    """

    name: str
    size_bytes: int
    operators: int
    subgraphs: int
    op_counts: Tuple[Tuple[str, int], ...]
    inputs: Tuple[str, ...]
    outputs: Tuple[str, ...]

    def text(self) -> str:
        """Plain-text form (``text/plain``)."""
        ops = ", ".join(f"{op} x{count}" if count > 1 else op for op, count in self.op_counts)
        return "\n".join([
            f"Netron graph of {self.name}: {format_size(self.size_bytes)}, "
            f"{self.operators} operators in {self.subgraphs} subgraph(s)",
            f"  ops: {ops or 'none'}",
            f"  inputs: {', '.join(self.inputs) or 'none'}",
            f"  outputs: {', '.join(self.outputs) or 'none'}",
        ])

    def html(self) -> str:
        """HTML form (``text/html``): one short block, no scripts, no styles to leak."""
        ops = ", ".join(
            f"<code>{escape(op)}</code>" + (f"&times;{count}" if count > 1 else "")
            for op, count in self.op_counts)
        return (
            "<div class='tfl-jupyter-netron-summary'>"
            f"<b>Netron graph of {escape(self.name)}</b> &middot; "
            f"{format_size(self.size_bytes)} &middot; {self.operators} operators in "
            f"{self.subgraphs} subgraph(s)<br>"
            f"ops: {ops or 'none'}<br>"
            f"inputs: {escape(', '.join(self.inputs)) or 'none'}<br>"
            f"outputs: {escape(', '.join(self.outputs)) or 'none'}<br>"
            "<small>(the interactive graph shows where the notebook runs with its kernel)</small>"
            "</div>"
        )


def summarize(model_bytes: bytes, name: str) -> ModelSummary:
    """Read ``model_bytes`` and summarize it.

    Parameters
    ----------
    model_bytes : bytes
        A ``.tflite`` flatbuffer.
    name : str
        What to call it.

    Returns
    -------
    ModelSummary

    Raises
    ------
    tfl_jupyter.core.tflite_reader.InvalidModelError
        The bytes are not a valid TFLite model.
    """
    from ..core.tflite_reader import read_model

    model = read_model(model_bytes)
    counts = Counter(op.op for graph in model.subgraphs for op in graph.operators)
    inputs, outputs = model.io_tensors(0) if model.subgraphs else ([], [])
    return ModelSummary(
        name=name,
        size_bytes=len(model_bytes),
        operators=sum(counts.values()),
        subgraphs=len(model.subgraphs),
        op_counts=tuple(counts.most_common()),
        inputs=tuple(_describe(t) for t in inputs),
        outputs=tuple(_describe(t) for t in outputs),
    )


def _describe(tensor) -> str:
    shape = tensor.shape_signature or tensor.shape
    return f"{tensor.name}: {tensor.dtype}[{', '.join(str(d) for d in shape)}]"
