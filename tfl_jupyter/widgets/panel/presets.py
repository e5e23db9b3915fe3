"""What each quantization preset shows in the form (plain Python, no widgets).

The presets themselves live in the core's registry (``tfl_jupyter.core.settings.PRESETS``);
this module only translates them into the form's terms.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from ...core.settings import PRESETS, find_preset

DEFAULT_OPS = ("TFLITE_BUILTINS",)  # what the converter uses when supported_ops is left empty
DEFAULT_IO = "float32"


def expand(preset: str) -> Dict[str, Any]:
    """The values ``preset`` gives each form field.

    Returns
    -------
    dict
        ``optimizations``, ``supported_ops``, ``supported_types`` (tuples of names) and
        ``inference_input_type``, ``inference_output_type`` (names), as the form shows them:
        the converter's defaults filled in where the preset leaves a setting unset.
    """
    entry = PRESETS[preset]
    return {
        "optimizations": entry.optimizations,
        "supported_ops": entry.supported_ops or DEFAULT_OPS,
        "supported_types": entry.supported_types,
        "inference_input_type": entry.io_type or DEFAULT_IO,
        "inference_output_type": entry.io_type or DEFAULT_IO,
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
    """Normalize a preset name (``None``, aliases such as ``"fp16"``) to a registry name."""
    return find_preset(quantize).name
