"""TensorFlow Lite for Microcontrollers: run the model under TFLM's own interpreter, and
write the C++ a firmware needs (the model as a C array, the op resolver, the arena).

TFLM's interpreter comes from the ``tflite-micro`` wheel (``pip install
'tfl_jupyter[micro]'``). It runs in a worker process (:data:`POOL`): a model that makes
it crash costs the worker, not the kernel, and what it prints from native code (errors,
``print_allocations``) is captured there instead of landing in the cell.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Tuple

MICRO_EXTRA = "pip install 'tfl_jupyter[micro]'"
# The arena measured on x86-64 with the reference kernels is a floor for a device: its
# optimized kernels (CMSIS-NN, ESP-NN, ...) can ask for scratch buffers the reference
# kernels do not, while 32-bit pointers make the bookkeeping smaller.
DEFAULT_ARENA_MARGIN = 0.25
_ARENA_ALIGNMENT = 16
# The arena TFLM gets for the measurement: enough for any model that fits a
# microcontroller; RecordingMicroAllocator reports what it really used.
_MEASURING_ARENA = 64 * 1024 * 1024
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ARENA_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")
_REJECTED = (
    re.compile(r"Node (\S+) \(number (\d+)\) failed to (?:prepare|init|invoke)"),
    re.compile(r"Failed to get registration from op code (\S+)"),
    re.compile(r"Didn't find op for builtin opcode '(\S+)'"),
)


@dataclass(frozen=True)
class MicroCheck:
    """What TFLM's interpreter made of a model (see :func:`micro_check`).

    Attributes
    ----------
    ran : bool
        The model loaded, allocated its tensors and ran one inference on zeros.
    arena_bytes : int or None
        The tensor arena it used (RecordingMicroAllocator's total), when it allocated.
    rejected : tuple of (str, int or None)
        The operators TFLM refused, as ``(op, node index)`` (TFLM stops at the first).
    error : str
        TFLM's own error lines ('' when it ran).
    version : str
        The ``tflite-micro`` version that ran it.
    log : str
        Everything TFLM printed.
    """

    ran: bool
    arena_bytes: Optional[int]
    rejected: Tuple[tuple, ...] = ()
    error: str = ""
    version: str = ""
    log: str = field(default="", repr=False)

    def __repr__(self) -> str:
        if self.ran:
            return (f"MicroCheck: runs under TFLite Micro {self.version}, tensor arena "
                    f"{self.arena_bytes:,} bytes")
        refused = ", ".join(op for op, _ in self.rejected) or "the model"
        return f"MicroCheck: TFLite Micro {self.version} refused {refused}: {self.error}"


def run_tflm(model_bytes: bytes) -> dict:
    """Load ``model_bytes`` into TFLM's interpreter, run it once on zeros, report.

    Runs in a worker process (module level so ``POOL.call`` can name it). Native code
    prints to fds 1 and 2; both are captured.

    Returns
    -------
    dict
        The fields of :class:`MicroCheck`.
    """
    from importlib.metadata import version

    import numpy as np
    from tflite_micro import runtime

    from ..capture import capture_output
    from ..tflite_reader import read_model

    inputs = read_model(model_bytes).io_tensors()[0]
    ran = False
    failure = ""
    with capture_output() as captured:
        try:
            interpreter = runtime.Interpreter.from_bytes(
                model_bytes, arena_size=_MEASURING_ARENA + 4 * len(model_bytes))
            for i in range(len(inputs)):
                details = interpreter.get_input_details(i)
                interpreter.set_input(np.zeros(details["shape"], details["dtype"]), i)
            interpreter.invoke()
            ran = True
            interpreter.print_allocations()
        except (RuntimeError, ValueError) as exc:
            failure = str(exc)
    log = captured.text
    arena = _ARENA_TOTAL.search(log)
    rejected = []
    for pattern in _REJECTED:
        for match in pattern.finditer(log):
            node = int(match.group(2)) if pattern.groups > 1 else None
            rejected.append((match.group(1), node))
    errors = [line.strip() for line in log.splitlines()
              if line.strip() and "RecordingMicroAllocator" not in line]
    return {"ran": ran, "arena_bytes": int(arena.group(1)) if arena else None,
            "rejected": tuple(rejected),
            "error": "" if ran else "; ".join(errors + [failure]).strip("; "),
            "version": version("tflite-micro"), "log": log}


def micro_check(model_bytes: bytes, timeout: Optional[float] = 120) -> MicroCheck:
    """Run a model under TFLite Micro's interpreter, in a worker process.

    Parameters
    ----------
    model_bytes : bytes
    timeout : float, optional
        Seconds before the worker is stopped.

    Returns
    -------
    MicroCheck

    Raises
    ------
    ImportError
        ``tflite-micro`` is not installed (the message says how to install it).
    """
    from importlib.util import find_spec

    from ..worker.pool import POOL

    if find_spec("tflite_micro") is None:
        raise ImportError(f"TFLite Micro's interpreter is not installed: {MICRO_EXTRA}")
    return MicroCheck(**POOL.call(run_tflm, bytes(model_bytes), timeout=timeout))


def check_identifier(name: str) -> str:
    """``name`` if it is a C identifier, else a ValueError naming the fix."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"name {name!r} is not a C identifier: use letters, digits and "
                         "underscores, not starting with a digit (e.g. 'g_model')")
    return name


def c_array(model_bytes: bytes, name: str = "g_model") -> str:
    """The model as C++ definitions: ``alignas(16) const unsigned char name[]`` and
    ``const unsigned int name_len`` (TFLM reads the flatbuffer in place, aligned)."""
    check_identifier(name)
    data = bytes(model_bytes)
    hex_text = data.hex()
    items = [f"0x{hex_text[i:i + 2]}" for i in range(0, len(hex_text), 2)]
    lines = ["  " + ", ".join(items[i:i + 12]) + "," for i in range(0, len(items), 12)]
    return (f"alignas({_ARENA_ALIGNMENT}) const unsigned char {name}[] = {{\n"
            + "\n".join(lines) + f"\n}};\nconst unsigned int {name}_len = {len(data)};\n")


def resolver_calls(ops) -> list:
    """The ``MicroMutableOpResolver`` methods a model needs, in first-use order.

    Parameters
    ----------
    ops : pandas.DataFrame
        The model's ops table (every subgraph).

    Raises
    ------
    ValueError
        An op has no TFLM kernel (the message names the ops and the fix).
    """
    from ..op_support.micro_rules import resolver_method

    calls, missing = {}, {}
    for op, custom in zip(ops["op"].tolist(), ops["custom_code"].tolist()):
        method = resolver_method(op, custom if isinstance(custom, str) else None)
        if method is None:
            missing[op] = None
        else:
            calls[method] = None
    if missing:
        raise ValueError(f"TFLite Micro has no kernel for {', '.join(missing)}: see "
                         ".ops[['op', 'micro', 'notes']] for why and what to change")
    return list(calls)


def arena_size(measured: int, margin: float = DEFAULT_ARENA_MARGIN) -> int:
    """``measured`` plus ``margin``, rounded up to the arena's 16-byte alignment."""
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not margin >= 0:
        raise ValueError(f"margin must be a fraction >= 0 (0.25 adds 25%), got {margin!r}")
    size = math.ceil(measured * (1 + margin))
    return -(-size // _ARENA_ALIGNMENT) * _ARENA_ALIGNMENT


def micro_code(model_bytes: bytes, ops, *, name: str = "g_model", arena_bytes: int,
               margin: float = DEFAULT_ARENA_MARGIN, arena_source: str = "") -> str:
    """C++ for a TFLite Micro firmware: the model array, its op resolver and its arena.

    Parameters
    ----------
    model_bytes : bytes
    ops : pandas.DataFrame
        The model's ops table.
    name : str
        The array's C name (``name_len`` holds its length).
    arena_bytes : int
        The arena the model needs (see :func:`micro_check`).
    margin : float
        Fraction added to ``arena_bytes`` (0.25: 25%).
    arena_source : str
        Where ``arena_bytes`` comes from, for the comment.

    Returns
    -------
    str
    """
    check_identifier(name)
    calls = resolver_calls(ops)
    if isinstance(arena_bytes, bool) or not isinstance(arena_bytes, int) or arena_bytes <= 0:
        raise ValueError(f"arena_bytes must be a positive int, got {arena_bytes!r}")
    measured, source = arena_bytes, arena_source or "given"
    size = arena_size(measured, margin)
    registrations = "\n".join(f"  TF_LITE_ENSURE_STATUS(op_resolver.{call}());"
                              for call in calls)
    return f"""\
// TensorFlow Lite Micro: the model, exactly the operators it uses, and its tensor arena.
#include <cstddef>
#include <cstdint>

#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"

// The .tflite flatbuffer, read in place: keep it 16-byte aligned.
{c_array(model_bytes, name)}
// Tensor arena: {measured:,} bytes plus {margin:.0%} for optimized kernels' scratch buffers;
// the {measured:,} were {source}.
// Measure on the device (tflite::RecordingMicroInterpreter) and trim.
constexpr size_t kTensorArenaSize = {size};
alignas(16) static uint8_t tensor_arena[kTensorArenaSize];

using ModelOpResolver = tflite::MicroMutableOpResolver<{len(calls)}>;

TfLiteStatus RegisterOps(ModelOpResolver& op_resolver) {{
{registrations}
  return kTfLiteOk;
}}

// Usage:
//   static ModelOpResolver op_resolver;
//   RegisterOps(op_resolver);
//   static tflite::MicroInterpreter interpreter(
//       tflite::GetModel({name}), op_resolver, tensor_arena, kTensorArenaSize);
//   interpreter.AllocateTensors();
"""


def save_c_array(path, model_bytes: bytes, name: str = "g_model") -> Tuple[str, str]:
    """Write the model as ``<stem>.cc`` (the array) and ``<stem>.h`` (its declarations).

    Parameters
    ----------
    path : str or os.PathLike
        ``model``, ``model.cc`` or ``model.h``: both files are written next to each other.
    model_bytes : bytes
    name : str
        The array's C name.

    Returns
    -------
    (str, str)
        The ``.cc`` and ``.h`` paths written, each atomically.
    """
    from ..files import check_writable, write_atomically

    check_identifier(name)
    target = Path(path).expanduser()
    if target.suffix in (".cc", ".cpp", ".h"):
        target = target.with_suffix("")
    elif target.suffix:
        raise ValueError(f"{str(path)!r}: give a path ending in .cc or .h, or no suffix "
                         "(e.g. 'model.cc'); both the .cc and the .h are written")
    source, header = target.with_suffix(".cc"), target.with_suffix(".h")
    check_writable(source)
    check_writable(header)
    guard = re.sub(r"\W", "_", header.name).upper() + "_"
    header_text = (f"#ifndef {guard}\n#define {guard}\n\n"
                   f"extern const unsigned char {name}[];\n"
                   f"extern const unsigned int {name}_len;\n\n#endif  // {guard}\n")
    source_text = f'#include "{header.name}"\n\n' + c_array(model_bytes, name)
    write_atomically(header, header_text.encode())
    write_atomically(source, source_text.encode())
    return str(source), str(header)
