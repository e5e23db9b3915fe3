"""Conversion settings: the quantization presets, their expansion, and conflict checks.

Everything here is plain Python (no TensorFlow), so settings can be validated, shown and
compared before TensorFlow is even imported.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional, Sequence

QUANTIZE_PRESETS = ("none", "dynamic", "float16", "int8", "int8-full", "int16x8")
OPS_SETS = (
    "TFLITE_BUILTINS",
    "TFLITE_BUILTINS_INT8",
    "SELECT_TF_OPS",
    "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8",
)
OPTIMIZATIONS = ("DEFAULT", "OPTIMIZE_FOR_SIZE", "OPTIMIZE_FOR_LATENCY", "EXPERIMENTAL_SPARSITY")
SUPPORTED_TYPES = ("float16", "int8", "int16")
IO_TYPES = ("float32", "int8", "uint8", "int16")

_INT16X8 = "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"
_PRESET_DESCRIPTIONS = {
    "none": "float32, no quantization",
    "dynamic": "dynamic-range: int8 weights, float activations",
    "float16": "float16 weights",
    "int8": "full-integer int8 with float fallback, float I/O",
    "int8-full": "integer only, int8 I/O",
    "int16x8": "int16 activations, int8 weights",
}


@dataclass(frozen=True)
class ConversionSettings:
    """The complete, validated set of converter settings for one conversion.

    ``representative_dataset`` is held by reference and left out of equality and repr:
    it is the user's object, not a setting to print.
    """

    quantize: str = "none"
    optimizations: tuple = ()
    representative_dataset: Any = field(default=None, compare=False, repr=False)
    supported_ops: tuple = ()
    supported_types: tuple = ()
    inference_input_type: Optional[str] = None
    inference_output_type: Optional[str] = None
    allow_custom_ops: bool = False
    experimental_new_converter: bool = True
    signature_keys: Optional[tuple] = None
    tags: Optional[tuple] = None
    converter_attrs: tuple = ()  # (name, value) pairs, applied with setattr
    notes: tuple = field(default=(), compare=False)

    @property
    def description(self) -> str:
        """A one-line human description of the mode, e.g. ``"int8-full (integer only, int8 I/O)"``."""
        if self.quantize == "none" and self.optimizations:
            return f"custom (optimizations={', '.join(self.optimizations)})"
        return f"{self.quantize} ({_PRESET_DESCRIPTIONS[self.quantize]})"

    @property
    def uses_representative_dataset(self) -> bool:
        """Whether the converter will calibrate with the representative dataset."""
        return (
            self.representative_dataset is not None
            and bool(self.optimizations)
            and self.quantize not in ("dynamic", "float16")
        )

    def as_dict(self) -> dict:
        """The settings as plain values, for display and for a cache key."""
        return {
            "quantize": self.quantize,
            "optimizations": list(self.optimizations),
            "representative_dataset": self.representative_dataset is not None,
            "supported_ops": list(self.supported_ops),
            "supported_types": list(self.supported_types),
            "inference_input_type": self.inference_input_type,
            "inference_output_type": self.inference_output_type,
            "allow_custom_ops": self.allow_custom_ops,
            "experimental_new_converter": self.experimental_new_converter,
            "signature_keys": list(self.signature_keys) if self.signature_keys else None,
            "tags": list(self.tags) if self.tags else None,
            **dict(self.converter_attrs),
        }


def resolve_settings(
    quantize: Optional[str] = None,
    *,
    representative_dataset: Any = None,
    optimizations: Optional[Sequence] = None,
    supported_ops: Optional[Sequence] = None,
    supported_types: Optional[Sequence] = None,
    inference_input_type: Any = None,
    inference_output_type: Any = None,
    allow_custom_ops: bool = False,
    experimental_new_converter: bool = True,
    signature_keys: Optional[Sequence[str]] = None,
    tags: Optional[Sequence[str]] = None,
    converter_attrs: Optional[Mapping[str, Any]] = None,
) -> ConversionSettings:
    """Expand a quantization preset, apply explicit overrides, and check for conflicts.

    Explicit arguments win over what the preset would set. Values may be given as
    strings (``"int8"``, ``"SELECT_TF_OPS"``) or as the TensorFlow objects
    (``tf.int8``, ``tf.lite.OpsSet.SELECT_TF_OPS``, ``tf.lite.Optimize.DEFAULT``).

    Raises
    ------
    ValueError
        For an unknown name or a combination that cannot work; the message names the fix.
    """
    preset = _preset_name(quantize)
    expanded = _expand_preset(preset)
    settings = ConversionSettings(
        quantize=preset,
        optimizations=_names(optimizations, OPTIMIZATIONS, "optimizations") if optimizations is not None else expanded["optimizations"],
        representative_dataset=representative_dataset,
        supported_ops=_names(supported_ops, OPS_SETS, "supported_ops") if supported_ops is not None else expanded["supported_ops"],
        supported_types=_names(supported_types, SUPPORTED_TYPES, "supported_types") if supported_types is not None else expanded["supported_types"],
        inference_input_type=_io_type(inference_input_type, "inference_input_type") or expanded["io_type"],
        inference_output_type=_io_type(inference_output_type, "inference_output_type") or expanded["io_type"],
        allow_custom_ops=bool(allow_custom_ops),
        experimental_new_converter=bool(experimental_new_converter),
        signature_keys=tuple(signature_keys) if signature_keys else None,
        tags=tuple(tags) if tags else None,
        converter_attrs=tuple((converter_attrs or {}).items()),
    )
    return _check_conflicts(settings)


def _preset_name(quantize: Optional[str]) -> str:
    if quantize is None:
        return "none"
    if not isinstance(quantize, str):
        raise TypeError(f"quantize must be one of {', '.join(QUANTIZE_PRESETS)}, not {type(quantize).__name__}")
    name = quantize.strip().lower().replace("_", "-")
    aliases = {"float32": "none", "fp16": "float16", "full-int8": "int8-full", "int8full": "int8-full", "16x8": "int16x8"}
    name = aliases.get(name, name)
    if name not in QUANTIZE_PRESETS:
        raise ValueError(f"unknown quantize preset {quantize!r}{_did_you_mean(quantize, QUANTIZE_PRESETS)}; choose one of {', '.join(QUANTIZE_PRESETS)}")
    return name


def _expand_preset(preset: str) -> dict:
    expanded = {"optimizations": (), "supported_ops": (), "supported_types": (), "io_type": None}
    if preset != "none":
        expanded["optimizations"] = ("DEFAULT",)
    if preset == "float16":
        expanded["supported_types"] = ("float16",)
    elif preset == "int8-full":
        expanded["supported_ops"] = ("TFLITE_BUILTINS_INT8",)
        expanded["io_type"] = "int8"
    elif preset == "int16x8":
        expanded["supported_ops"] = (_INT16X8,)
    return expanded


def _check_conflicts(settings: ConversionSettings) -> ConversionSettings:
    notes = []
    preset = settings.quantize
    has_data = settings.representative_dataset is not None
    integer_io = [t for t in (settings.inference_input_type, settings.inference_output_type) if t not in (None, "float32")]
    integer_ops = [s for s in settings.supported_ops if s in ("TFLITE_BUILTINS_INT8", _INT16X8)]

    if preset in ("int8", "int8-full", "int16x8") and not has_data:
        raise ValueError(
            f"quantize={preset!r} calibrates activations and needs a representative dataset: pass "
            "representative_dataset=... (a generator function, tf.data.Dataset, array, list or dict of "
            "arrays; magic: --representative_dataset VAR), or use quantize='dynamic' which needs none"
        )
    if (integer_io or integer_ops) and not settings.optimizations:
        what = f"inference type {integer_io[0]}" if integer_io else f"supported_ops {integer_ops[0]}"
        raise ValueError(f"{what} needs quantization: add quantize='int8' (or 'int8-full'/'int16x8') with a representative dataset")
    if (integer_io or integer_ops) and not has_data:
        what = f"inference type {integer_io[0]}" if integer_io else f"supported_ops {integer_ops[0]}"
        raise ValueError(f"{what} needs a representative dataset to calibrate: pass representative_dataset=... (magic: --representative_dataset VAR)")
    if "float16" in settings.supported_types and (integer_io or integer_ops or preset in ("int8", "int8-full", "int16x8")):
        raise ValueError("supported_types float16 conflicts with integer quantization: choose quantize='float16' or an integer mode, not both")
    if _INT16X8 in settings.supported_ops:
        bad = [t for t in integer_io if t != "int16"]
        if bad:
            raise ValueError(f"int16x8 models take float32 or int16 I/O, not {bad[0]}: set inference_input_type/inference_output_type to 'int16' or leave them unset")
    elif "int16" in integer_io:
        raise ValueError("int16 I/O needs the int16x8 mode: use quantize='int16x8'")
    if "TFLITE_BUILTINS_INT8" in settings.supported_ops and "SELECT_TF_OPS" in settings.supported_ops:
        notes.append("TFLITE_BUILTINS_INT8 with SELECT_TF_OPS: Flex ops will run in float")
    if has_data and not settings.optimizations:
        notes.append("the representative dataset is not used without optimizations (quantize='none')")
    if has_data and preset in ("dynamic", "float16"):
        # With a dataset, DEFAULT turns into full-integer calibration; honour the preset instead.
        notes.append(f"quantize={preset!r} does not calibrate: the representative dataset is kept for compare() only")
    return replace(settings, notes=tuple(notes))


def _names(values: Any, allowed: Sequence[str], what: str) -> tuple:
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, set, frozenset)):
        values = [values]
    result = []
    for value in values:
        if isinstance(value, str):
            parts = [p for p in value.replace(" ", ",").split(",") if p]
        else:
            parts = [_tf_name(value)]
        for part in parts:
            name = part.strip().upper()
            lowered = {a.lower(): a for a in allowed}
            name = lowered.get(part.strip().lower(), name)
            if name not in allowed:
                raise ValueError(f"unknown {what} value {part!r}{_did_you_mean(part, allowed)}; choose from {', '.join(allowed)}")
            if name not in result:
                result.append(name)
    return tuple(result)


def _io_type(value: Any, what: str) -> Optional[str]:
    if value is None:
        return None
    name = value if isinstance(value, str) else _tf_name(value)
    name = {"float": "float32", "tf.float32": "float32", "tf.int8": "int8", "tf.uint8": "uint8", "tf.int16": "int16"}.get(name, name).lower()
    if name not in IO_TYPES:
        raise ValueError(f"unknown {what} {value!r}; choose from {', '.join(IO_TYPES)}")
    return name


def _tf_name(value: Any) -> str:
    """``tf.int8`` -> ``"int8"``, ``tf.lite.OpsSet.SELECT_TF_OPS`` -> ``"SELECT_TF_OPS"``; also numpy dtypes."""
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(value, type):  # numpy scalar types such as np.int8
        return value.__name__
    return str(value)


def _did_you_mean(word: Any, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word).upper(), [c.upper() for c in choices], n=1)
    if not close:
        close = difflib.get_close_matches(str(word).lower(), list(choices), n=1)
    if not close:
        return ""
    match = next(c for c in choices if c.upper() == close[0].upper())
    return f" (did you mean {match!r}?)"
