"""Small text helpers shared by the core and the front-ends (no imports beyond the stdlib)."""

from __future__ import annotations


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first non-blank line of an exception's message (its type name when there is none)."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()[:limit]
    return type(exc).__name__


def error_text(exc: BaseException, limit: int = 400) -> str:
    """``"ValueError: first line of the message"``, for a table cell or a one-line status."""
    return f"{type(exc).__name__}: {first_line(exc, limit)}"[:limit]


def format_size(size: int) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024


def quantization_text(tensor) -> str:
    """``"scale 0.0039, zero point -128"``, ``"per-channel (32 scales, axis 0)"`` or ``""``."""
    if not tensor.num_scales:
        return ""
    if tensor.num_scales > 1:
        return f"per-channel ({tensor.num_scales} scales, axis {tensor.quantized_dimension})"
    return f"scale {tensor.scale[0]:.6g}, zero point {tensor.zero_point[0] if tensor.zero_point else 0}"
