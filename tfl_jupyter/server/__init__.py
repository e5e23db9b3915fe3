"""Jupyter server extension: the Netron viewer's web app, served by the Jupyter server.

Enabled on install by ``etc/jupyter/jupyter_server_config.d/tfl_jupyter.json``; check with
``jupyter server extension list``. The viewer lives at ``{base_url}tfl-jupyter/netron/``.
"""

from __future__ import annotations


def _jupyter_server_extension_points():
    return [{"module": "tfl_jupyter.server"}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Add the viewer's routes to a running Jupyter server."""
    from .assets import VIEWER_ROUTE, netron_version
    from .handlers import handlers

    base_url = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", handlers(base_url))
    serverapp.log.info(
        "tfl_jupyter: Netron %s viewer at %s%s", netron_version(), base_url, VIEWER_ROUTE)
