"""The fallback viewer server for front-ends with no Jupyter server in between.

VS Code notebooks, a terminal IPython and Colab have no Jupyter server extension to serve
the viewer, so the kernel serves it itself: bound to 127.0.0.1 only, every path behind an
unguessable token, serving the Netron web app and the one model it was made for, and
stopping when asked, when idle, when evicted by newer servers, or when the kernel exits.
"""

from __future__ import annotations

import atexit
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import urlsplit

from . import assets

__all__ = ["LoopbackServer", "running_servers", "stop_all"]

#: At most this many fallback servers run at once; starting another stops the oldest.
MAX_SERVERS = 8

_live: "OrderedDict[int, LoopbackServer]" = OrderedDict()
_live_lock = threading.Lock()


class LoopbackServer:
    """Serve the Netron viewer and one model at ``http://127.0.0.1:PORT/TOKEN/``.

    Parameters
    ----------
    model_bytes : bytes
        The ``.tflite`` model to show.
    filename : str
        The name the viewer shows; reduced to ``[A-Za-z0-9_.-]`` and given a ``.tflite``
        suffix when it has none.
    idle_timeout : float or None
        Stop after this many seconds without a request (default one hour). The viewer
        needs the server only while it loads; None keeps it until :meth:`stop`.

    Attributes
    ----------
    url : str
        The viewer's address, model included.
    port : int

    Examples
    --------
    >>> server = LoopbackServer(result.tflite_model, "model.tflite")
    >>> server.url  # doctest: +SKIP
    'http://127.0.0.1:43125/Yt0...Q/index.html#model.tflite'
    >>> server.stop()
    """

    def __init__(self, model_bytes: bytes, filename: str = "model.tflite",
                 idle_timeout: Optional[float] = 3600.0):
        self.model_bytes = bytes(model_bytes)
        self.filename = _safe_filename(filename)
        self.token = secrets.token_urlsafe(32)
        self.idle_timeout = idle_timeout
        self._last_request = time.monotonic()
        self._stopped = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._serve, name=f"tfl_jupyter-netron-{self.port}", daemon=True)
        self._thread.start()
        _register(self)

    @property
    def url(self) -> str:
        """The viewer with the model, e.g. ``http://127.0.0.1:PORT/TOKEN/index.html#m.tflite``."""
        return f"http://127.0.0.1:{self.port}{self.path}#{self.filename}"

    @property
    def path(self) -> str:
        """The viewer's path on the server (what a port proxy must forward)."""
        return f"/{self.token}/index.html"

    @property
    def running(self) -> bool:
        """Whether the server still answers."""
        return not self._stopped.is_set()

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent; waits at most a second)."""
        self._stopped.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=1.0)
        _unregister(self)

    def __enter__(self) -> "LoopbackServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LoopbackServer {self.filename} on 127.0.0.1:{self.port}, {state}>"

    def _serve(self) -> None:
        self._httpd.timeout = 0.2  # how often the loop looks at the stop flag
        try:
            while not self._stopped.is_set():
                self._httpd.handle_request()
                idle = time.monotonic() - self._last_request
                if self.idle_timeout is not None and idle > self.idle_timeout:
                    self._stopped.set()
        finally:
            self._httpd.server_close()
            _unregister(self)

    def _touch(self) -> None:
        self._last_request = time.monotonic()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LoopbackServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "tfl_jupyter"
    sys_version = ""

    def do_GET(self) -> None:
        self._respond(include_body=True)

    def do_HEAD(self) -> None:
        self._respond(include_body=False)

    def _respond(self, include_body: bool) -> None:
        owner = self.server.owner
        owner._touch()
        token, _, name = urlsplit(self.path).path.lstrip("/").partition("/")
        if not hmac.compare_digest(token.encode(), owner.token.encode()):
            return self._refuse(403)
        if name == owner.filename:
            content, media_type = owner.model_bytes, "application/octet-stream"
        else:
            found = assets.asset(name)
            if found is None:
                return self._refuse(404)
            content, media_type = found
        self.send_response(200)
        # No frame-ancestors: VS Code's webview (a vscode-webview: origin, which "*" would
        # not match) and Colab's output frame must be able to embed it; the token keeps
        # everyone else out.
        for header, value in assets.security_headers(None).items():
            self.send_header(header, value)
        if name in ("", "index.html"):
            self.send_header("Set-Cookie", assets.consent_cookie(f"/{owner.token}/"))
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if include_body:
            self.wfile.write(content)

    def _refuse(self, status: int) -> None:
        self.send_error(status)

    def log_message(self, format, *args) -> None:  # noqa: A002 - stdlib signature
        pass  # a request log would land in the user's notebook output


def _safe_filename(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", str(name).rsplit("/", 1)[-1]).lstrip(".") or "model"
    return name if name.endswith(".tflite") else name + ".tflite"


def _register(server: LoopbackServer) -> None:
    with _live_lock:
        _live[id(server)] = server
        oldest = list(_live.values())[:-MAX_SERVERS]
    for old in oldest:
        old.stop()


def _unregister(server: LoopbackServer) -> None:
    with _live_lock:
        _live.pop(id(server), None)


def stop_all() -> None:
    """Stop every fallback server this process started (also runs at exit)."""
    with _live_lock:
        servers = list(_live.values())
    for server in servers:
        server.stop()


def running_servers() -> list:
    """The fallback servers still running, oldest first."""
    with _live_lock:
        return list(_live.values())


atexit.register(stop_all)
