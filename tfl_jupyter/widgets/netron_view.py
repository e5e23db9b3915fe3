"""``NetronView``: the model's graph in Netron, as an anywidget.

The model's bytes go to the browser over the widget's comm; the front-end
(``js/src/netron_view.js``) shows them in the Netron web app served by the Jupyter server
extension (:mod:`tfl_jupyter.server`) at the page's own origin. The kernel opens no port,
unless the front-end finds no such server (VS Code, an extension not enabled) and asks for
the loopback fallback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import anywidget
import traitlets

from ..server.assets import DEFAULT_HEIGHT, VIEWER_ROUTE
from .model_summary import ModelSummary, summarize

_BUNDLE = Path(__file__).resolve().parent.parent / "static" / "netron_view.js"


class NetronView(anywidget.AnyWidget):
    """An interactive Netron graph of one ``.tflite`` model.

    Parameters
    ----------
    model_bytes : bytes
        The model. Assigning new bytes later shows the new model in the same viewer.
    filename : str
        The name the viewer shows.
    height : int
        Height in pixels; the viewer also has "Taller" and "Full screen" buttons and a
        resize handle.
    viewer_route : str
        Where the Jupyter server extension serves the viewer, under the server's base URL.
        Empty: use the kernel's loopback server, as a front-end without the extension
        (VS Code) does anyway.
    overlays : dict of str to pandas.DataFrame, optional
        Overlay tables by name (from ``result.overlay_table(name)``): the viewer can colour
        the nodes by any of them, switched with a selector above the graph.
    overlay : str
        The overlay shown ("" for none); setting it later restyles the drawn graph.

    Attributes
    ----------
    selected : dict
        The op last clicked in the graph: ``subgraph``, ``index``, ``op``, ``tensor``
        (empty until a node is clicked; ``op`` and ``tensor`` need an overlay table).

    Notes
    -----
    Besides the widget, the display data carries a short text and HTML summary of the
    model, which is what a saved notebook shows where widgets do not run.
    """

    _esm = _BUNDLE
    model_bytes = traitlets.Bytes(b"").tag(sync=True)
    filename = traitlets.Unicode("model.tflite").tag(sync=True)
    height = traitlets.Int(DEFAULT_HEIGHT).tag(sync=True)
    viewer_route = traitlets.Unicode(VIEWER_ROUTE).tag(sync=True)
    fallback_url = traitlets.Unicode("").tag(sync=True)
    overlays = traitlets.Dict().tag(sync=True)
    overlay = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.Dict().tag(sync=True)
    marked = traitlets.List().tag(sync=True)  # [subgraph, index] of ops outlined as kept in float

    def __init__(self, model_bytes: bytes = b"", filename: str = "model.tflite",
                 height: int = DEFAULT_HEIGHT, overlays: Optional[dict] = None,
                 overlay: str = "", **kwargs):
        self._loopback = None  # before super().__init__, whose trait values notify observers
        super().__init__(model_bytes=bytes(model_bytes), filename=filename, height=height,
                         overlays=overlay_payload(overlays or {}), overlay=overlay or "",
                         **kwargs)
        self.on_msg(self._on_front_end_message)

    @classmethod
    def of(cls, model, *, overlay: Optional[str] = None, layers=None,
           filename: Optional[str] = None, height: int = DEFAULT_HEIGHT) -> "NetronView":
        """A viewer of ``model`` offering every overlay, to keep a handle on (``viewer.selected``).

        Parameters
        ----------
        model : ConversionResult, ModelReport or bytes
        overlay : str, optional
            One of ``op_support.overlay.overlay_names(model.ops)`` (``'gpu'``, ``'xnnpack'``,
            ..., ``'kind'``, ``'quantized'``, ``'error'``): the overlay shown first (the others are a click away).
        layers : pandas.DataFrame, optional
            ``comparison.layers``: adds the ``'error'`` overlay.
        filename : str, optional
        height : int

        Returns
        -------
        NetronView
            Show it as a cell's value or with ``display(viewer)``.
        """
        model_bytes = bytes(getattr(model, "tflite_model", model))
        return cls(model_bytes, filename=filename or "model.tflite", height=height,
                   overlays=overlay_tables(model, layers), overlay=overlay or "")

    def set_overlays(self, tables: dict, overlay: Optional[str] = None) -> None:
        """Replace the overlay tables (e.g. for new model bytes) and optionally the one shown."""
        self.overlays = overlay_payload(tables)
        if overlay is not None or self.overlay not in self.overlays:
            self.overlay = overlay or ""

    @traitlets.validate("overlay")
    def _check_overlay(self, proposal) -> str:
        name = proposal["value"]
        if name and name not in self.overlays:
            raise traitlets.TraitError(
                f"no {name!r} overlay here; the viewer has {sorted(self.overlays) or 'none'}")
        return name

    @property
    def summary(self) -> Optional[ModelSummary]:
        """What the current model is (None while there is no valid model)."""
        from ..core.tflite_reader import InvalidModelError

        try:
            return summarize(self.model_bytes, self.filename) if self.model_bytes else None
        except InvalidModelError:  # Netron will say what is wrong; the repr must not fail
            return None

    @traitlets.observe("model_bytes")
    def _model_changed(self, change) -> None:
        if self._loopback is not None:  # the old server serves the old model
            self._stop_loopback()
            self._start_loopback()

    def _on_front_end_message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("event") == "need-loopback":
            if self._loopback is None:
                self._start_loopback()

    def _start_loopback(self) -> None:
        from ..server.loopback import LoopbackServer

        self._loopback = LoopbackServer(self.model_bytes, self.filename)
        self.fallback_url = self._loopback.url

    def _stop_loopback(self) -> None:
        if self._loopback is not None:
            self._loopback.stop()
            self._loopback = None

    def close(self) -> None:
        """Close the widget and stop its fallback server, if it started one."""
        self._stop_loopback()
        super().close()

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        summary = self.summary
        if bundle is None or summary is None:
            return bundle
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data = {**data, "text/plain": summary.text(), "text/html": summary.html()}
        return data, metadata


def overlay_tables(model, layers=None) -> dict:
    """Every overlay table the viewer can offer for ``model`` (``error`` only with ``layers``).

    ``model`` is a ConversionResult or ModelReport (their cached ``.ops`` are used) or a
    model's bytes.
    """
    from ..core.op_support import ops_table
    from ..core.op_support.overlay import output_names, overlay_names, overlay_table
    from ..core.tflite_reader import read_model

    if hasattr(model, "overlay_table"):
        table, ops = model.overlay_table, model.ops
    else:  # bytes (core.inspection would wrap the same, but result.netron must not import it)
        info = read_model(bytes(model))
        ops = ops_table(info)
        names = output_names(ops, info)

        def table(name, layers):
            return overlay_table(ops, name, info, layers, names)

    # A delegate's overlay where the table has its column (opt-in targets only when asked for).
    return {name: table(name, layers) for name in overlay_names(ops.columns)
            if name != "error" or layers is not None}


def overlay_payload(tables: dict) -> dict:
    """Overlay tables as the front-end reads them: per name, ``legend`` and column lists."""
    from ..core.op_support.overlay import overlay_legend

    payload = {}
    for name, table in tables.items():
        values = table["value"].astype(object).where(table["value"].notna(), None)
        rows = {column: table[column].tolist() for column in
                ("subgraph", "index", "op", "label", "color", "tensor", "reason")}
        payload[name] = {"legend": overlay_legend(name, table),
                         "rows": {**rows, "value": values.tolist()}}
    return payload
