"""``tj.inspect``: the op tables and a short report for any existing ``.tflite`` file."""
from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import List, Optional, Union

from .deploy import DeployTargets
from .op_support.targets import TARGETS, always_help, check_targets, targets_doc
from .tflite_reader import InvalidModelError, ModelInfo, TensorInfo, read_model

__all__ = ["ModelFileNotFoundError", "ModelReport", "inspect"]

PathOrBytes = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


class ModelFileNotFoundError(FileNotFoundError, ValueError):
    """The path given to :func:`inspect` does not exist (catchable as either type)."""


@dataclass(frozen=True)
class ModelReport(DeployTargets):
    """What :func:`inspect` found in a ``.tflite`` model.

    Attributes
    ----------
    tflite_model : bytes
        The model bytes.
    model : ModelInfo
        The validated flatbuffer contents.
    source : str or None
        The file the model was read from, if any.
    targets : tuple of str or None
        The verdict columns of ``.ops``, from ``op_support.targets.check_targets`` (None:
        the default ones).
    """

    tflite_model: bytes = field(repr=False)
    model: ModelInfo = field(repr=False)
    source: Optional[str] = None
    targets: Optional[tuple] = None

    @cached_property
    def ops(self):
        """pandas.DataFrame: one row per operator (see ``op_support.ops_table``)."""
        from .op_support import ops_table

        return ops_table(self.model, self.targets, measured=self.measured(self.targets))

    @cached_property
    def op_summary(self):
        """pandas.DataFrame: one row per op type, blockers first."""
        from .op_support import op_summary

        return op_summary(self.ops)

    @property
    def inputs(self) -> List[TensorInfo]:
        """Input tensors of the main subgraph."""
        return self.model.io_tensors(0)[0]

    @property
    def outputs(self) -> List[TensorInfo]:
        """Output tensors of the main subgraph."""
        return self.model.io_tensors(0)[1]

    def _counts(self) -> dict:
        ops = self.ops
        return {
            "ops": len(ops),
            "flex": int((ops["kind"] == "flex").sum()),
            "custom": int((ops["kind"] == "custom").sum()),
            # label -> ops taken, per delegate of the table (XNNPACK, GPU, ...)
            "delegates": {t.label: int(ops[t.name].sum()) for t in TARGETS.values()
                          if t.partitions and t.name in ops.columns},
        }

    def __repr__(self) -> str:
        c = self._counts()
        where = f" from {self.source!r}" if self.source else ""
        taken = "".join(f", {label} {n}/{c['ops']}" for label, n in c["delegates"].items())
        return (f"<ModelReport{where}: {len(self.tflite_model):,} bytes, "
                f"{len(self.model.subgraphs)} subgraph(s), {c['ops']} ops "
                f"({c['flex']} flex, {c['custom']} custom){taken}>")

    def _repr_html_(self) -> str:
        from .op_support import style_ops

        c = self._counts()

        def describe(tensors):
            return ", ".join(
                f"<code>{html.escape(t.name)}</code> {t.dtype}"
                f"[{', '.join(str(d) for d in t.shape_signature)}]" for t in tensors) or "none"

        title = html.escape(os.path.basename(self.source)) if self.source else "TFLite model"
        lines = [
            f"<b>{title}</b>: {len(self.tflite_model):,} bytes, "
            f"{len(self.model.subgraphs)} subgraph(s), {c['ops']} operators",
            f"inputs: {describe(self.inputs)}",
            f"outputs: {describe(self.outputs)}",
            _shares(c["delegates"], c["ops"]),
        ]
        if c["flex"] or c["custom"]:
            lines.append(f"<span style='color:#b42318'>needs {c['flex']} Flex op(s) "
                         f"(Select TF ops runtime) and {c['custom']} custom op(s)</span>")
        summary = style_ops(self.op_summary).to_html()
        return "<div>" + "<br>".join(lines) + summary + "</div>"


def _shares(taken: dict, ops: int) -> str:
    """``"XNNPACK takes 9 of 10 ops, GPU 10 of 10"``: how many ops each delegate takes."""
    shares = [f"{label} {n} of {ops}" for label, n in taken.items()]
    if shares:
        label, n = next(iter(taken.items()))
        shares[0] = f"{label} takes {n} of {ops} ops"
    return ", ".join(shares)


def _read_source(path_or_bytes) -> tuple:
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return bytes(path_or_bytes), None
    model_bytes = getattr(path_or_bytes, "tflite_model", None)
    if isinstance(model_bytes, (bytes, bytearray)):  # a ConversionResult
        return bytes(model_bytes), None
    if not isinstance(path_or_bytes, (str, os.PathLike)):
        raise TypeError(
            f"tj.inspect() takes a path to a .tflite file or the model's bytes, got "
            f"{type(path_or_bytes).__name__}. To inspect a Keras or TensorFlow model, "
            "convert it first with tj.convert(...).")
    path = os.fspath(path_or_bytes)
    if os.path.isdir(path):
        raise ValueError(
            f"{path!r} is a directory (a SavedModel?), not a .tflite file. Convert it "
            "first with tj.convert(path).")
    if not os.path.exists(path):
        raise ModelFileNotFoundError(
            f"no such file: {path!r} (looked in {os.getcwd()!r}). Check the path, or pass "
            "the model bytes: tj.inspect(open(path, 'rb').read()).")
    try:
        with open(path, "rb") as f:
            return f.read(), path
    except OSError as exc:
        raise ValueError(f"cannot read {path!r}: {exc.strerror or exc}. Check the file's "
                         "permissions.") from None


def inspect(path_or_bytes: PathOrBytes, targets=None) -> ModelReport:
    """Report on an existing TFLite model: its operators and where they will run.

    Parameters
    ----------
    path_or_bytes : str, os.PathLike, bytes, bytearray or memoryview
        A path to a ``.tflite`` file, or the model bytes (a ConversionResult works too).
    targets : list of str or comma-separated str, optional
        Device targets ``.ops`` judges besides ALWAYS_JUDGED: TARGETS_ASKED_FOR.

    Returns
    -------
    ModelReport
        With ``.ops`` and ``.op_summary`` DataFrames, ``.inputs``/``.outputs``, and a
        rich notebook display.

    Raises
    ------
    ModelFileNotFoundError
        The path does not exist (a FileNotFoundError and a ValueError).
    InvalidModelError
        The bytes are empty, not a TFLite model, truncated or corrupted.
    ValueError, TypeError
        A directory, an unreadable file, or an argument of the wrong type.
    """
    targets = check_targets(targets)
    data, source = _read_source(path_or_bytes)
    try:
        model = read_model(data)
    except InvalidModelError as exc:
        if source is not None:
            raise InvalidModelError(f"{source}: {exc}") from None
        raise
    return ModelReport(tflite_model=data, model=model, source=source, targets=targets)


# The targets named in the docstring are the registry's (op_support/targets.py).
inspect.__doc__ = inspect.__doc__.replace("ALWAYS_JUDGED", always_help()).replace(
    "TARGETS_ASKED_FOR", targets_doc())
