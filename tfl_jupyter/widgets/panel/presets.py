"""What each quantization preset sets, in the form's terms (plain Python, no widgets)."""

from __future__ import annotations

from typing import Any, Dict, Iterable, Optional, Sequence, Tuple

from ...core.settings import IO_TYPES, OPS_SETS, OPTIMIZATIONS, QUANTIZE_PRESETS, SUPPORTED_TYPES, resolve_settings

DEFAULT_OPS = ("TFLITE_BUILTINS",)  # what the converter uses when supported_ops is left empty
DEFAULT_IO = "float32"
_DATASET_STAND_IN = object()  # presets that calibrate need one to expand without complaint

DESCRIPTIONS = {
    "none": "float32, no quantization",
    "dynamic": "int8 weights, float activations",
    "float16": "float16 weights",
    "int8": "int8, float fallback, float I/O",
    "int8-full": "integer only, int8 I/O",
    "int16x8": "int16 activations, int8 weights",
}


def expand(preset: str) -> Dict[str, Any]:
    """The values ``preset`` gives each form field.

    Returns
    -------
    dict
        ``optimizations``, ``supported_ops``, ``supported_types`` (tuples of names) and
        ``inference_input_type``, ``inference_output_type`` (names), as the form shows them:
        the converter's defaults filled in where the preset leaves a setting unset.
    """
    settings = resolve_settings(preset, representative_dataset=_DATASET_STAND_IN)
    return {
        "optimizations": settings.optimizations,
        "supported_ops": settings.supported_ops or DEFAULT_OPS,
        "supported_types": settings.supported_types,
        "inference_input_type": settings.inference_input_type or DEFAULT_IO,
        "inference_output_type": settings.inference_output_type or DEFAULT_IO,
    }


def overrides(preset: str, shown: Dict[str, Any]) -> Dict[str, Any]:
    """The explicit ``tj.convert`` arguments for what the form shows: only where it differs from the preset.

    A field the user left as the preset set it stays ``None``, so the conversion (and its
    ``.code``) is exactly what the magic would do with ``--quantize preset``.
    """
    expanded = expand(preset)
    explicit = {}
    for field, value in shown.items():
        same = set(value) == set(expanded[field]) if isinstance(value, tuple) else value == expanded[field]
        explicit[field] = None if same else (list(value) if isinstance(value, tuple) else value)
    return explicit


def preset_name(quantize: Optional[str]) -> str:
    """Normalize a preset name (``None``, aliases such as ``"fp16"``) to one of QUANTIZE_PRESETS."""
    return resolve_settings(quantize, representative_dataset=_DATASET_STAND_IN).quantize


def names(values: Any, allowed: Sequence[str], what: str) -> Tuple[str, ...]:
    """Normalize names given as strings, comma lists or TensorFlow objects (``tf.lite.OpsSet.X``)."""
    if values is None:
        return ()
    if isinstance(values, str) or not isinstance(values, Iterable):
        values = [values]
    result = []
    by_lower = {a.lower(): a for a in allowed}
    for value in values:
        text = value if isinstance(value, str) else str(getattr(value, "name", value))
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            name = by_lower.get(part.lower()) or by_lower.get(part.split(".")[-1].lower())
            if name is None:
                raise ValueError(f"unknown {what} value {part!r}; choose from {', '.join(allowed)}")
            if name not in result:
                result.append(name)
    return tuple(result)


def io_name(value: Any) -> Optional[str]:
    """``tf.int8`` / ``"int8"`` -> ``"int8"``; None stays None."""
    if value is None:
        return None
    text = (value if isinstance(value, str) else str(getattr(value, "name", value))).lower().replace("tf.", "")
    text = {"float": "float32"}.get(text, text)
    if text not in IO_TYPES:
        raise ValueError(f"unknown inference type {value!r}; choose from {', '.join(IO_TYPES)}")
    return text


__all__ = ["expand", "overrides", "preset_name", "names", "io_name", "DESCRIPTIONS", "DEFAULT_OPS", "DEFAULT_IO",
           "QUANTIZE_PRESETS", "OPS_SETS", "OPTIMIZATIONS", "SUPPORTED_TYPES", "IO_TYPES"]
