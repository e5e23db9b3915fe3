"""The action bar: Convert, Cancel, a progress bar and one status line, all of fixed size."""

from __future__ import annotations

from html import escape
from typing import Optional

import ipywidgets as w


class ActionBar:
    """Convert and Cancel buttons, progress and status; the check result of the settings above them."""

    def __init__(self):
        self.convert = w.Button(description="Convert", icon="play", button_style="primary",
                                layout=w.Layout(width="8.5em", flex="0 0 auto"))
        self.convert.add_class("tfl-convert")
        self.cancel = w.Button(description="Cancel", icon="stop", disabled=True,
                               layout=w.Layout(width="7.5em", flex="0 0 auto"))
        self.cancel.add_class("tfl-cancel")
        self.progress = w.FloatProgress(value=0.0, min=0.0, max=1.0, layout=w.Layout(width="10em", flex="0 0 auto"))
        self.progress.add_class("tfl-progress")
        self.status = w.HTML(layout=w.Layout(flex="1 1 18em", min_width="12em", overflow="hidden", height="2em"))
        self.status.add_class("tfl-status")
        self.check = w.HTML(layout=w.Layout(width="100%", height="3.4em", overflow="auto"))
        self.check.add_class("tfl-check")
        bar = w.HBox([self.convert, self.cancel, self.progress, self.status],
                     layout=w.Layout(width="100%", align_items="center", flex_flow="row wrap"))
        bar.add_class("tfl-actions")
        self.widget = w.VBox([self.check, bar], layout=w.Layout(width="100%"))
        self.idle("")

    def busy(self, text: str, fraction: Optional[float] = None) -> None:
        """Show work in progress: a fraction fills the bar, None animates it."""
        self.convert.disabled = True
        self.cancel.disabled = False
        if fraction is None:
            self.progress.add_class("tfl-indeterminate")
            self.progress.value = 1.0
        else:
            self.progress.remove_class("tfl-indeterminate")
            self.progress.value = max(0.0, min(1.0, fraction))
        self.progress.bar_style = "info"
        self._say(text, "busy")

    def idle(self, text: str, kind: str = "info", can_convert: bool = True) -> None:
        """Back to idle with a last word: ``kind`` is ``info``, ``ok``, ``warn`` or ``error``."""
        self.convert.disabled = not can_convert
        self.cancel.disabled = True
        self.progress.remove_class("tfl-indeterminate")
        self.progress.value = 1.0 if kind == "ok" else 0.0
        self.progress.bar_style = {"ok": "success", "error": "danger", "warn": "warning"}.get(kind, "")
        self._say(text, kind)

    def say(self, text: str, kind: str = "info") -> None:
        """Change the status line only."""
        self._say(text, kind)

    def show_check(self, error: Optional[str], notes=(), ready: str = "") -> None:
        """Show the settings check: the conflict (red), notes (amber) or that all is well (green)."""
        if error:
            html = f"<div class='tfl-msg tfl-msg-error'><b>Cannot convert:</b> {escape(error)}</div>"
        elif notes:
            html = "".join(f"<div class='tfl-msg tfl-msg-warn'>{escape(n)}</div>" for n in notes)
        else:
            html = f"<div class='tfl-msg tfl-msg-ok'>{escape(ready or 'Settings are consistent.')}</div>"
        self.check.value = html

    def _say(self, text: str, kind: str) -> None:
        self.status.value = f"<span class='tfl-status-{kind}' title='{escape(text)}'>{escape(text)}</span>"
