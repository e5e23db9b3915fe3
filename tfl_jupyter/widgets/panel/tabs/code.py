"""Code tab: the conversion as plain TensorFlow, with a Copy button."""

from __future__ import annotations

from html import escape

import ipywidgets as w

from ..history import OK, HistoryEntry
from ..util import message

# The HTML widget inserts its value with innerHTML: inline handlers run, <script> would not.
_COPY = ("<button class='tfl-copy jupyter-button' title='Copy to the clipboard' "
         "onclick=\"const pre=this.closest('.tfl-code-box').querySelector('pre');"
         "navigator.clipboard.writeText(pre.innerText).then(()=>{this.textContent='Copied'},"
         "()=>{const r=document.createRange();r.selectNodeContents(pre);const s=getSelection();"
         "s.removeAllRanges();s.addRange(r);this.textContent='Selected: press Ctrl+C'});\">Copy</button>")


class CodeView:
    """The equivalent plain-TensorFlow Python of one conversion (``result.code``)."""

    def __init__(self):
        self.html = w.HTML(message("No conversion yet."))
        self.html.add_class("tfl-code")
        self.widget = w.VBox([self.html])

    def show(self, entry: HistoryEntry) -> None:
        """Show ``entry``'s code."""
        if entry.status != OK:
            self.html.value = message(f"Conversion #{entry.number} produced no model, so there is no code for it.", "warn")
            return
        note = ("<div class='tfl-info'># the per-layer float choices of a requantized model are not in this code: "
                "they come from QuantizationDebugger (see the Layers tab)</div>" if entry.parent is not None else "")
        self.html.value = (f"<div class='tfl-code-box'><div class='tfl-code-bar'><span>The same conversion in plain "
                           f"TensorFlow</span>{_COPY}</div><pre>{escape(entry.result.code)}</pre></div>{note}")
