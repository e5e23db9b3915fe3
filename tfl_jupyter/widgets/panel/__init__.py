"""``tj.panel``: an ipywidgets panel to tune a conversion by hand and keep every result.

The panel sits on the same core as ``%tflite_convert``: every setting of the magic has a
control, the settings are checked (with ``resolve_settings``) while they are edited,
conversions run through ``tj.convert`` in a background thread (the worker process does the
converting), and each result is shown in tabs and kept in a history.

Modules: ``form`` (the controls), ``presets`` and ``checks`` (form values -> a checked
``tj.convert`` call, no widgets), ``namespace`` (the notebook's models and datasets),
``task`` and ``jobs`` (the background work), ``history`` (the record) and ``historyview``,
``actions`` (Convert/Cancel/progress), ``tabs/`` (one module per tab), ``analysis``
(measure, per-layer error, requantize), ``panel`` (the wiring), ``style`` (theme-aware CSS),
``debounce`` and ``util`` (small helpers).
"""

from __future__ import annotations

from typing import Any

from .history import History, HistoryEntry
from .panel import Panel

__all__ = ["panel", "Panel", "History", "HistoryEntry"]


def panel(source: Any = None, **defaults: Any) -> Panel:
    """Open the conversion panel.

    Parameters
    ----------
    source : model, str or os.PathLike, optional
        A model object (Keras model, ``tf.function`` with an input signature, ...), the
        name of a notebook variable, or a SavedModel directory / ``.keras`` / ``.h5`` path.
        Without it, the panel offers the notebook's models to pick from.
    **defaults
        Initial settings, named as for ``tj.convert``: ``quantize``,
        ``representative_dataset`` (an object, a variable name or an expression such as
        ``"calib[:100]"``), ``supported_ops``, ``supported_types``,
        ``inference_input_type``, ``inference_output_type``, ``allow_custom_ops``,
        ``optimizations``, ``experimental_new_converter``, ``signature_keys``, ``tags``,
        ``output_file``, ``timeout``, ``in_process``, any converter attribute, and
        ``source_name`` / ``dataset_name`` (the variable names, as the magic passes them).
        Panel-only: ``measure`` (measure the error after each conversion, default True)
        and ``measure_samples`` (default 64).

    Returns
    -------
    Panel
        Display it as a cell's value. ``.result`` is the latest ``ConversionResult``,
        ``.history`` every conversion made; ``.convert()``, ``.cancel()``, ``.wait()``,
        ``.set(...)`` and ``.close()`` do from Python what the buttons do.

    Examples
    --------
    >>> p = tj.panel(model, quantize="int8", representative_dataset=calib)
    >>> p                      # shows the panel; press Convert
    >>> p.result.size_bytes    # the latest model
    """
    return Panel(source, **defaults)
