"""Tornado handlers that serve the Netron viewer under the Jupyter server's base URL."""

from __future__ import annotations

import re

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web

from . import assets


class NetronAssetHandler(JupyterHandler):
    """Serve one file of the Netron web app to an authenticated user.

    Behind the server's own authentication (token, password, JupyterHub), at the origin
    the user already has open: no extra port, nothing for a proxy to forward.
    """

    def set_default_headers(self) -> None:
        super().set_default_headers()
        for name, value in assets.security_headers(self._frame_ancestors()).items():
            self.set_header(name, value)

    def _frame_ancestors(self) -> str:
        # An admin who lets Jupyter be framed elsewhere (settings headers) gets the same here.
        admin_policy = self.settings.get("headers", {}).get("Content-Security-Policy", "")
        match = re.search(r"frame-ancestors\s+([^;]+)", admin_policy)
        return match.group(1).strip() if match else "'self'"

    @web.authenticated
    def get(self, name: str) -> None:
        """Send the file."""
        self._send(name, include_body=True)

    @web.authenticated
    def head(self, name: str) -> None:
        """Send the headers only (the widget probes with HEAD)."""
        self._send(name, include_body=False)

    def _send(self, name: str, include_body: bool) -> None:
        found = assets.asset(name)
        if found is None:
            raise web.HTTPError(404)
        content, media_type = found
        self.set_header("Content-Type", media_type)
        self.set_header("Cache-Control", "no-cache")  # revalidate: netron upgrades keep names
        if name in ("", "index.html"):
            self.add_header("Set-Cookie", assets.consent_cookie(self._viewer_path()))
        if include_body:
            self.finish(content)
        else:
            self.set_header("Content-Length", str(len(content)))
            self.finish()

    def _viewer_path(self) -> str:
        return url_path_join(self.base_url, assets.VIEWER_ROUTE)


def handlers(base_url: str) -> list:
    """Routes of the viewer for a server whose base URL is ``base_url``.

    Returns
    -------
    list of tuple
        ``(pattern, handler)`` pairs for ``web_app.add_handlers``.
    """
    viewer = url_path_join(base_url, assets.VIEWER_ROUTE)
    return [
        (viewer.rstrip("/"), web.RedirectHandler, {"url": viewer}),
        (viewer + r"([A-Za-z0-9_.-]*)", NetronAssetHandler),
    ]
