"""Small text helpers shared by the core and the front-ends (no imports beyond the stdlib)."""

from __future__ import annotations

import re

# A TFLite interpreter glues the op that failed to the end of its reason, without a separator:
# "...not supported by this interpreter. ...ops_selectNode number 1 (FlexErf) failed to prepare."
_NODE_FAILED = re.compile(r"\s*Node number (\d+) \(([^)]*)\) failed to (prepare|invoke)\.?")
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The cause in an exception's message, on one line (its type name when there is none).

    That is its first non-blank line, shortened at a sentence (else a word) boundary rather
    than cut blindly; where a TFLite interpreter names the op that failed ("Node number 1
    (FlexErf) failed to prepare"), that op comes first.
    """
    text = str(exc)
    node = _NODE_FAILED.search(text)
    if node:
        text = text[:node.start()] + " " + text[node.end():]
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if node:
        op = f"{node.group(2)} (node {node.group(1)}) failed to {node.group(3)}"
        return shorten(f"{op}: {line}" if line else op, limit)
    return shorten(line, limit) if line else type(exc).__name__


def shorten(text: str, limit: int = 300) -> str:
    """``text`` within ``limit`` characters: whole sentences while they fit, else cut at a word, with "…"."""
    text = text.strip()
    if len(text) <= limit:
        return text
    kept = ""
    for sentence in _SENTENCE_END.split(text):
        if len(kept) + len(sentence) + 1 > limit:
            break
        kept = f"{kept} {sentence}" if kept else sentence
    if kept:
        return kept
    cut = text[:limit - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[limit // 2:] else cut) + "…"


def error_text(exc: BaseException, limit: int = 400) -> str:
    """``"ValueError: first line of the message"``, for a table cell or a one-line status."""
    name = type(exc).__name__
    return f"{name}: {first_line(exc, max(limit - len(name) - 2, 40))}"


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
