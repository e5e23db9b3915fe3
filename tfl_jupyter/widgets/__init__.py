"""Notebook widgets of tfl_jupyter (imported on first use: ``anywidget`` is not free).

``NetronView``
    The model's graph in Netron (see :mod:`tfl_jupyter.netron_display` for where it
    is served from).
"""

_LAZY = {
    "NetronView": ("tfl_jupyter.widgets.netron_view", "NetronView"),
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module_name, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module_name), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tfl_jupyter.widgets' has no attribute {name!r}")
