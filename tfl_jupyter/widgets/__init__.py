"""Notebook widgets of tfl_jupyter (imported on first use: ``anywidget`` is not free).

``NetronView``
    The model's graph in Netron (see :mod:`tfl_jupyter.netron_display` for where it
    is served from).
"""

from .._lazy import lazy_attributes

_LAZY = {
    "NetronView": ("tfl_jupyter.widgets.netron_view", "NetronView"),
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
