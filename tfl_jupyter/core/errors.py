"""Errors raised by tfl_jupyter, and the translation of the converter's structured errors."""

from __future__ import annotations

import linecache
import os
import re
from dataclasses import dataclass, replace
from typing import Optional, Sequence

from .text import shorten

# Frames in these packages are plumbing; the user's own code is whatever is left.
_LIBRARY_PACKAGES = ("tensorflow", "keras", "tf_keras", "tfl_jupyter", "absl", "IPython", "ipykernel")


@dataclass(frozen=True)
class SourceLocation:
    """Where in the user's code a TensorFlow op was created."""

    filename: str
    line: int
    column: int
    code: str  # the source line, when it can be read (notebook cells included)

    def __str__(self) -> str:
        where = _friendly_filename(self.filename)
        text = f"{where}, line {self.line}"
        return f"{text}: {self.code}" if self.code else text


@dataclass(frozen=True)
class BlockingOp:
    """One structured error from the converter: an op it could not convert, and why."""

    tf_op: str  # e.g. "tf.StringLength"; empty when the error names no op
    error_code: str  # e.g. "ERROR_NEEDS_FLEX_OPS"; empty when the converter gave none
    reason: str  # a short human reason
    fix: str  # what to change, in tfl_jupyter terms
    location: Optional[SourceLocation]
    message: str  # the converter's own first line for this error
    component: str


_FIXES = {
    "ERROR_NEEDS_FLEX_OPS": (
        "needs the Select TF ops runtime (Flex)",
        "supported_ops=['TFLITE_BUILTINS', 'SELECT_TF_OPS']  (magic: --supported_ops TFLITE_BUILTINS,SELECT_TF_OPS)",
    ),
    "ERROR_NEEDS_CUSTOM_OPS": (
        "has no TFLite kernel: needs a custom op",
        "allow_custom_ops=True (magic: --allow_custom_ops) and register a kernel on the device",
    ),
    "ERROR_UNSUPPORTED_CONTROL_FLOW_V1": (
        "uses TF1 control flow",
        "rewrite with tf.cond / tf.while_loop in TF2 (tf.compat.v1.enable_control_flow_v2())",
    ),
    "ERROR_GPU_NOT_COMPATIBLE": ("is not GPU compatible", "drop the GPU target flag"),
    "ERROR_STATEFUL_PARTITIONED_CALL_IN_FINAL_IR": (
        "left a function call the converter could not inline",
        "try experimental_enable_resource_variables=True, or simplify the function",
    ),
}


# Converter messages that mean "a TensorList needs a static size and element shape" (Keras 3
# recurrent layers with a dynamic batch keep their state in TensorLists whose element shape
# includes the batch; a tf.TensorArray(dynamic_size=True) has no static size).
_STATIC_SHAPE_MESSAGES = ("element_shape to be static", "lowering tensor list ops is failed", "requires static shape")
_TENSOR_LIST_PASS = "LowerStaticTensorListPass"
# The pass's own summary, reported at whatever op comes first in the function (a tf.Const): it names no op.
_TENSOR_LIST_SUMMARY = "lowering tensor list ops is failed"
#: The reason of a TensorList error before the model's inputs are known, or when they are all static.
TENSOR_LIST_REASON = "a TensorList (tf.TensorArray, tf.map_fn, a recurrent layer) has a dynamic size or element shape"
#: The reason once an input is known to have a dynamic dimension (the fix then fixes it).
STATIC_SHAPES_REASON = f"needs static shapes: {TENSOR_LIST_REASON}, and an input has a dynamic dimension"
_FLEX_COST = (
    "else Select TF ops (`--supported_ops TFLITE_BUILTINS,SELECT_TF_OPS`), at a cost: the Flex runtime adds "
    "several MB, and no microcontroller, GPU delegate or Edge TPU runs it"
)


def static_shapes_fix(specs: Optional[Sequence] = None) -> str:
    """The fix for a TensorList that needs static shapes: fix the dynamic dimensions, Flex second.

    Parameters
    ----------
    specs : sequence of InputSpec, optional
        The model's inputs (``name``, ``shape`` with None for dynamic dimensions), to name
        the input and dimension; without them the fix names both possible causes.
    """
    if specs is None:
        return (f"fix dynamic input dimensions (`--batch_size 1`, batch_size=1) and give each tf.TensorArray "
                f"a fixed size; {_FLEX_COST}")
    batch = [s.name for s in specs if s.shape and s.shape[0] is None]
    if batch:
        where = ", ".join(f"input {name!r}" for name in batch)
        return f"fix the batch size: `--batch_size 1` (batch_size=1; {where}: dimension 0 is dynamic); {_FLEX_COST}"
    dynamic = [(s, [axis for axis, d in enumerate(s.shape) if d is None]) for s in specs if None in tuple(s.shape)]
    if dynamic:
        spec, axes = dynamic[0]
        dims = ",".join("N" if d is None else str(d) for d in spec.shape)
        return (f"fix the input shapes: `--input_shapes {spec.name}={dims}` with a size for each N "
                f"(input_shapes={{{spec.name!r}: [...]}}; input {spec.name!r}: dimension(s) {axes} dynamic); {_FLEX_COST}")
    return (f"every input shape is static already: give each tf.TensorArray a fixed size (size=N, not "
            f"dynamic_size=True) and a static element_shape; {_FLEX_COST}")


def is_tensor_list_error(record: "BlockingOp") -> bool:
    """Whether ``record`` is a TensorList that needs a static size and element shape."""
    return record.reason in (TENSOR_LIST_REASON, STATIC_SHAPES_REASON)


class ConversionError(RuntimeError):
    """The converter rejected the model.

    Attributes
    ----------
    errors : list of BlockingOp
        One record per structured converter error, with the TF op, the reason, the
        fix and the line of the user's code the op came from.
    log : str
        Everything the converter printed.
    ops : pandas.DataFrame
        The same records as a table (built on access).
    """

    def __init__(self, summary: str, errors: Sequence[BlockingOp] = (), log: str = ""):
        self.summary = summary
        self.errors = list(errors)
        self.log = log
        super().__init__(self._message())

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(f"Conversion failed: {self}")

    def __reduce__(self):  # keep the records when the error crosses from the worker
        return (type(self), (self.summary, self.errors, self.log))

    def _message(self) -> str:
        lines = [self.summary]
        # one line per op, reason and place: the converter repeats an error for every use
        shown = list(dict.fromkeys((e.tf_op, e.reason, e.location) for e in self.errors))
        for tf_op, reason, location in shown[:10]:
            lines.append(f"  {tf_op + ': ' if tf_op else ''}{reason}" + (f"  [{location}]" if location else ""))
        if len(shown) > 10:
            lines.append(f"  ... and {len(shown) - 10} more (see .ops)")
        fixes = sorted({e.fix for e in self.errors if e.fix})
        if fixes:
            lines.append("Fix: " + "; or ".join(fixes))
        return "\n".join(lines)

    @property
    def ops(self):
        """The blocking ops as a DataFrame: ``tf_op, error_code, reason, fix, location, message``."""
        import pandas as pd

        rows = [
            {
                "tf_op": e.tf_op,
                "error_code": e.error_code,
                "reason": e.reason,
                "fix": e.fix,
                "location": str(e.location) if e.location else "",
                "message": e.message,
            }
            for e in self.errors
        ]
        columns = ["tf_op", "error_code", "reason", "fix", "location", "message"]
        table = pd.DataFrame(rows, columns=columns)
        # One row per op and place: the converter repeats an error for every use.
        return table.drop_duplicates(subset=["tf_op", "error_code", "location"]).reset_index(drop=True)

    def _repr_html_(self) -> str:
        from html import escape

        if not self.errors:
            return f"<div class='tfl-jupyter-error'><b>Conversion failed:</b> {escape(self.summary)}</div>"
        table = self.ops[["tf_op", "reason", "fix", "location"]].to_html(index=False, escape=True)
        return (
            f"<div class='tfl-jupyter-error'><b>Conversion failed:</b> {escape(self.summary)}"
            f"{table}</div>"
        )


def translate_converter_error(exc: BaseException, log: str = "") -> ConversionError:
    """Turn TensorFlow's ``ConverterError`` (hundreds of MLIR lines) into a ConversionError."""
    records = [_blocking_op(data) for data in getattr(exc, "errors", None) or []]
    summaries = [r for r in records if is_tensor_list_error(r) and _TENSOR_LIST_SUMMARY in r.message.lower()]
    if summaries and len(summaries) < sum(map(is_tensor_list_error, records)):
        records = [r for r in records if r not in summaries]  # it adds nothing to the records it sums up
    if records and not any(r.tf_op for r in records) and all(is_tensor_list_error(r) for r in records):
        summary = "a TensorList could not be lowered to TFLite builtin ops"
    elif records:
        ops = sorted({r.tf_op for r in records if r.tf_op})
        summary = f"{len(ops) or len(records)} op(s) could not be converted" + (
            ": " + ", ".join(ops[:6]) + (" ..." if len(ops) > 6 else "") if ops else ""
        )
    else:
        summary = "the converter failed: " + _first_meaningful_line(str(exc))
    return ConversionError(summary, records, log)


def _blocking_op(data) -> BlockingOp:
    from_proto_enum = data.DESCRIPTOR.fields_by_name["error_code"].enum_type
    code = from_proto_enum.values_by_number[data.error_code].name if data.error_code else ""
    if code == "UNKNOWN":
        code = ""
    message = _first_meaningful_line(data.error_message)
    reason, fix = _FIXES.get(code, (message, ""))
    if not code and "is not supported" in data.error_message.lower():
        reason = message
    tf_op = data.operator.name
    # TensorList ops that fail to legalize are the same problem, reported once more per op
    lowered = data.error_message.lower()
    if any(text in lowered for text in _STATIC_SHAPE_MESSAGES) or data.subcomponent == _TENSOR_LIST_PASS or (
            not code and tf_op.startswith("tf.TensorList")):
        reason, fix = TENSOR_LIST_REASON, static_shapes_fix()
        if _TENSOR_LIST_SUMMARY in lowered or not ("TensorList" in tf_op or "TensorArray" in tf_op):
            # the pass's summary sits at an unrelated op (a tf.Const), and the ops that carry a
            # list through a loop (tf.Identity, tf.While) are not what blocks: name no op
            tf_op = ""
    return BlockingOp(
        tf_op=tf_op,
        error_code=code,
        reason=reason,
        fix=fix,
        location=_user_location(data.location),
        message=message,
        component=f"{data.component}/{data.subcomponent}".strip("/"),
    )


# What ``text.first_line`` makes of the interpreter's "...Node number 1 (FlexErf) failed to prepare."
_FLEX_NODE_FAILED = re.compile(r"\b(Flex\w+) \(node \d+\) failed to (?:prepare|invoke)")
CALIBRATION_FLEX_REASON = "calibration runs the model in TFLite's Python interpreter, which has no Flex delegate"


def with_calibration_fix(error: ConversionError) -> ConversionError:
    """``error`` with a record naming the op and the fix where calibration stopped at a Flex op.

    The int8 calibrator runs the model in the interpreter of the pip package, which cannot run
    Select TF ops; the converter reports it as a plain RuntimeError, with no structured errors.
    """
    found = _FLEX_NODE_FAILED.search(error.summary)
    if found is None or error.errors:
        return error
    op = found.group(1)
    record = BlockingOp(
        tf_op=f"tf.{op[len('Flex'):]}", error_code="", reason=CALIBRATION_FLEX_REASON,
        fix="quantize='dynamic', which does not calibrate; or build that op from TFLite builtin ops",
        location=None, message=error.summary, component="calibration",
    )
    # what follows is the interpreter's advice for Android builds
    return type(error)(error.summary.split(" Make sure you apply")[0], [record], error.log)


# TensorFlow's own ValueErrors (2.21 wording) where quantization has no ranges to work from.
_NO_RANGES = (
    ("inference_input_type and inference_output_type must be tf.float32",
     "integer inference_input_type/inference_output_type needs int8 ranges, and this model has no fake-quant ops "
     "to give them (it is not quantization-aware): use quantize='int8' with representative_dataset=... "
     "(magic: --quantize int8 --representative_dataset VAR)"),
    ("a `representative_dataset` must be specified",
     "full-integer quantization (TFLITE_BUILTINS_INT8) needs a representative dataset, whatever the model: "
     "pass representative_dataset=... (magic: --representative_dataset VAR)"),
)


def explain_missing_ranges(text: str) -> Optional[str]:
    """Our message, naming the fix, for TensorFlow's refusal to quantize without ranges; None for others."""
    return next((message for found, message in _NO_RANGES if found in text), None)


class WorkerDied(ConversionError):
    """A worker process died (crash, abort, out of memory) during a job; the kernel is fine."""


class ConversionCancelled(KeyboardInterrupt):
    """The work was interrupted or cancelled; the worker process doing it was stopped."""


def with_source_lines(error: ConversionError) -> ConversionError:
    """Fill in source lines this process can read and another could not (notebook cells).

    A worker process has no copy of the kernel's cells in its ``linecache``.
    """
    records = []
    for record in error.errors:
        location = record.location
        if location is not None and not location.code:
            code = linecache.getline(location.filename, location.line).strip()
            record = replace(record, location=replace(location, code=code))
        records.append(record)
    return type(error)(error.summary, records, error.log)


def _user_location(location) -> Optional[SourceLocation]:
    """The line of the user's own code that created the op.

    The converter gives call stacks outermost frame first; a frame with a name starts the
    stack of the next enclosing call. The op's own stack is the first one, and its
    innermost frame outside any library is the user's line.
    """
    first_stack = []
    for position, call in enumerate(location.call):
        if position and call.name:
            break
        first_stack.append(call)
    for call in reversed(first_stack):
        filename = call.source.filename
        if not filename or _is_library_file(filename):
            continue
        line = int(call.source.line)
        code = linecache.getline(filename, line).strip()
        return SourceLocation(filename, line, int(call.source.column), code)
    return None


def _is_library_file(filename: str) -> bool:
    normalized = filename.replace(os.sep, "/")
    if "/site-packages/" in normalized or "/dist-packages/" in normalized:
        return True
    if any(f"/{package}/" in normalized for package in _LIBRARY_PACKAGES):
        return True
    stdlib = os.path.dirname(os.__file__).replace(os.sep, "/")
    return normalized.startswith(stdlib + "/") or normalized.startswith("<frozen")


def _friendly_filename(filename: str) -> str:
    # IPython names cells /tmp/ipykernel_<pid>/<hash>.py; say "notebook cell" instead.
    if "ipykernel_" in filename or filename.startswith("<ipython-input"):
        return "notebook cell"
    return filename


def _first_meaningful_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("loc(", "<unknown>", "see current operation")):
            return shorten(line)
    return shorten(text)

