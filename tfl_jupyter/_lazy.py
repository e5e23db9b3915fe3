"""Module attributes imported on first use (PEP 562), so importing a package stays cheap."""

from __future__ import annotations

import importlib
import sys


def lazy_attributes(module_name: str, table: dict):
    """Return ``(__getattr__, __dir__)`` for ``module_name``.

    Parameters
    ----------
    module_name : str
        The module that defines them (``__name__``).
    table : dict
        ``{attribute: (module to import, name in it)}``; the value is cached in the module
        once imported.
    """

    def __getattr__(name):
        if name not in table:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        source, attribute = table[name]
        value = getattr(importlib.import_module(source), attribute)
        setattr(sys.modules[module_name], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[module_name])) | set(table))

    return __getattr__, __dir__
