"""Show a model's graph in Netron, the right way for where the code runs.

``result.netron()``, ``tj.inspect(path).netron()`` and ``%tflite_convert ... --netron`` all
end in :func:`show_netron`, which detects the context and calls one display function per
context (after TensorBoard's ``notebook.py``):

=========  =================================================================================
context    how the graph is shown
=========  =================================================================================
jupyter    a :class:`~tfl_jupyter.widgets.NetronView` widget. JupyterLab, Notebook 7 and
           JupyterHub serve the viewer from the Jupyter server extension at the page's own
           origin (no kernel port, works with a remote browser). A front-end without it
           (VS Code, an extension not enabled) asks the kernel for the loopback server.
colab      the loopback server, shown through Colab's port proxy.
ipython    (terminal IPython) the loopback server; its URL is printed.
none       (plain Python) the same as ipython.
=========  =================================================================================

The loopback server (:mod:`tfl_jupyter.server.loopback`) binds 127.0.0.1 only, puts an
unguessable token in every URL and serves only the one model. Re-running a notebook cell
closes the viewers and servers the cell made before.

This module imports IPython and the widgets lazily: ``tfl_jupyter.core`` may import it
inside a method.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Callable, Dict, List, Optional, Tuple

from .server.assets import DEFAULT_HEIGHT

__all__ = ["show_netron", "detect_context", "CONTEXTS"]

CONTEXT_JUPYTER = "jupyter"
CONTEXT_COLAB = "colab"
CONTEXT_IPYTHON = "ipython"
CONTEXT_NONE = "none"
CONTEXTS = (CONTEXT_JUPYTER, CONTEXT_COLAB, CONTEXT_IPYTHON, CONTEXT_NONE)

# cell id -> (id of the request that last ran it, things to close when it runs again)
_by_cell: Dict[str, Tuple[str, List[object]]] = {}


def show_netron(model, *, name: Optional[str] = None, height: int = DEFAULT_HEIGHT,
                context: Optional[str] = None, overlay: Optional[str] = None,
                layers=None) -> None:
    """Show the graph of a TFLite model inline, in Netron.

    Parameters
    ----------
    model : bytes, str, os.PathLike, ConversionResult or ModelReport
        The model: its bytes, a ``.tflite`` path, or anything with a ``tflite_model``
        attribute.
    name : str, optional
        The name the viewer shows; by default the file's name or ``model.tflite``.
    height : int
        Height of the viewer in pixels (it can be made taller or full screen).
    context : {"jupyter", "colab", "ipython", "none"}, optional
        Override the detected context.
    overlay : str, optional
        ``"error"``, ``"kind"``, ``"quantized"`` or a delegate target's (``"gpu"``,
        ``"xnnpack"``, ...: ``op_support.overlay.overlay_names``). Colour the nodes by
        this overlay (see ``result.overlay_table``); the viewer offers the others too.
        Only the Jupyter widget paints overlays.
    layers : pandas.DataFrame, optional
        ``comparison.layers``, for the ``"error"`` overlay.

    Raises
    ------
    tfl_jupyter.core.tflite_reader.InvalidModelError
        The bytes are not a valid TFLite model.
    ValueError
        An unknown ``context`` or overlay, or ``"error"`` without ``layers``.
    """
    from .widgets.model_summary import summarize

    model_bytes, default_name = _model_bytes(model)
    name = name or default_name
    summary = summarize(model_bytes, name)  # also validates before anything is shown
    context = context or detect_context()
    if context not in _DISPLAY:
        raise ValueError(f"context must be one of {', '.join(CONTEXTS)}, got {context!r}")
    overlay = _check_overlay(overlay, layers)
    if context == CONTEXT_JUPYTER:
        _display_jupyter(model_bytes, name, summary, height, model, overlay, layers)
    else:
        _DISPLAY[context](model_bytes, name, summary, height)


def detect_context() -> str:
    """Where this code runs: ``"colab"``, ``"jupyter"``, ``"ipython"`` or ``"none"``.

    Returns
    -------
    str
        One of :data:`CONTEXTS`.
    """
    ipython = _ipython()
    if ipython is None:
        return CONTEXT_NONE
    if "google.colab" in sys.modules or _importable("google.colab"):
        return CONTEXT_COLAB
    if ipython.has_trait("kernel"):
        return CONTEXT_JUPYTER
    return CONTEXT_IPYTHON


def _check_overlay(overlay: Optional[str], layers) -> Optional[str]:
    from .core.op_support.overlay import check_overlay

    if overlay is None:
        return None
    overlay = check_overlay(overlay)
    if overlay == "error" and layers is None:
        raise ValueError("the error overlay needs per-layer errors: use "
                         "result.compare(...).netron(), or pass layers=comparison.layers")
    return overlay


def _display_jupyter(model_bytes: bytes, name: str, summary, height: int, model=None,
                     overlay: Optional[str] = None, layers=None) -> None:
    from IPython.display import display

    from .widgets.netron_view import NetronView

    # A result or report brings its cached .ops; a path or bytes gets them computed.
    source = model if hasattr(model, "overlay_table") else model_bytes
    view = NetronView.of(source, overlay=overlay, layers=layers, filename=name, height=height)
    _replace_in_cell(view.close)
    display(view)


def _display_colab(model_bytes: bytes, name: str, summary, height: int) -> None:
    from IPython.display import HTML, Javascript, display

    server = _loopback(model_bytes, name)
    # Colab's output frame reaches the kernel's 127.0.0.1 port only through its proxy.
    script = """
    (async () => {
      const base = await google.colab.kernel.proxyPort(%(port)d, {cache: false});
      const iframe = document.createElement("iframe");
      iframe.src = new URL(%(path)s, base.endsWith("/") ? base : base + "/").href;
      iframe.title = %(title)s;
      iframe.style.cssText = "width: 100%%; height: %(height)dpx; border: 1px solid #ddd; resize: vertical";
      document.body.appendChild(iframe);
    })();
    """ % {
        "port": server.port,
        "path": json.dumps(server.url.split("/", 3)[3]),  # "TOKEN/index.html#name"
        "title": json.dumps(f"Netron graph of {name}"),
        "height": height,
    }
    display(HTML(summary.html()))
    display(Javascript(script))


def _display_terminal(model_bytes: bytes, name: str, summary, height: int) -> None:
    server = _loopback(model_bytes, name)
    print(summary.text())
    print(f"  graph: {server.url}")
    print("  (served by this process on 127.0.0.1 until it exits or is idle for an hour)")


_DISPLAY: Dict[str, Callable] = {
    CONTEXT_JUPYTER: _display_jupyter,
    CONTEXT_COLAB: _display_colab,
    CONTEXT_IPYTHON: _display_terminal,
    CONTEXT_NONE: _display_terminal,
}


def _loopback(model_bytes: bytes, name: str):
    from .server.loopback import LoopbackServer

    server = LoopbackServer(model_bytes, name)
    _replace_in_cell(server.stop)
    return server


def _replace_in_cell(close: Callable[[], None]) -> None:
    """Remember ``close`` for this cell; run the ones of its previous run first."""
    cell = _current_cell()
    if cell is None:
        return
    cell_id, run_id = cell
    previous_run, closers = _by_cell.get(cell_id, (None, []))
    if previous_run != run_id:
        for previous in closers:
            previous()
        closers = []
    closers.append(close)
    _by_cell[cell_id] = (run_id, closers)


def _current_cell() -> Optional[Tuple[str, str]]:
    """(cell id, request id) of the running notebook cell, when the front-end sends one."""
    kernel = getattr(_ipython(), "kernel", None)
    try:
        parent = kernel.get_parent()
    except Exception:  # no kernel, or an ipykernel without get_parent
        return None
    cell_id = (parent.get("metadata") or {}).get("cellId")
    run_id = (parent.get("header") or {}).get("msg_id")
    return (str(cell_id), str(run_id)) if cell_id and run_id else None


def _model_bytes(model) -> Tuple[bytes, str]:
    """The model's bytes and a default name for it."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "model.tflite"
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        with open(path, "rb") as file:
            return file.read(), os.path.basename(path)
    model_bytes = getattr(model, "tflite_model", None)
    if isinstance(model_bytes, (bytes, bytearray)):
        for attribute in ("output_file", "source"):  # ConversionResult, ModelReport
            path = getattr(model, attribute, None)
            if isinstance(path, str) and path:
                return bytes(model_bytes), os.path.basename(path)
        source_name = getattr(model, "source_name", None)
        return bytes(model_bytes), f"{source_name}.tflite" if source_name else "model.tflite"
    raise TypeError(
        f"show_netron() takes a .tflite path, the model's bytes, or a ConversionResult; "
        f"got {type(model).__name__}")


def _ipython():
    if "IPython" not in sys.modules:  # never import IPython just to learn it is not running
        return None
    from IPython import get_ipython

    return get_ipython()


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True
