"""The kernel's loopback viewer server (VS Code, terminal IPython, Colab): real sockets.

127.0.0.1 only, nothing without the token, nothing but the viewer and its one model, and
it stops when asked, when idle, when crowded out, or when its cell runs again.
"""

from __future__ import annotations

import http.client
import io
import re
import socket
import time
from contextlib import redirect_stdout

import psutil
import pytest

from tfl_jupyter.server import loopback
from tfl_jupyter.server.loopback import LoopbackServer

MODEL = b"\x1c\x00\x00\x00TFL3" + bytes(range(256)) * 4  # served as-is, never parsed


def get(server, path, method="GET"):
    """(status, headers, body) of one request to the server."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def refuses_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


@pytest.fixture
def server():
    with LoopbackServer(MODEL, "my model.tflite") as running:
        yield running


def test_listens_on_127_0_0_1_only(server):
    listening = [c for c in psutil.Process().net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == server.port]
    assert [c.laddr.ip for c in listening] == ["127.0.0.1"]
    assert server.url.startswith(f"http://127.0.0.1:{server.port}/{server.token}/")


def test_serves_the_viewer_and_the_model_with_the_token(server):
    status, headers, body = get(server, f"/{server.token}/index.html")
    assert status == 200
    assert "connect-src 'self' blob: data:" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert f"Path=/{server.token}/" in headers["Set-Cookie"]
    assert b'<meta name="date"' not in body and b"<title>Netron</title>" in body
    status, headers, body = get(server, f"/{server.token}/my_model.tflite")
    assert (status, body) == (200, MODEL)
    assert server.url.endswith("#my_model.tflite")
    status, _, body = get(server, f"/{server.token}/browser.js")
    assert status == 200 and b"tfl_jupyter: no consent dialog" in body


@pytest.mark.parametrize("path", [
    "/", "/index.html", "/my_model.tflite", "/{wrong}/index.html", "/{short}/index.html",
    "/{token}x/index.html",
])
def test_refuses_requests_without_the_token(server, path):
    path = path.format(token=server.token, wrong="A" * len(server.token),
                       short=server.token[:-1])
    status, _, body = get(server, path)
    assert status == 403
    assert MODEL not in body


@pytest.mark.parametrize("path", [
    "server.py", "__init__.py", "other.tflite", "sub/index.html", "../index.html",
    "%2e%2e/index.html", "model.tflite",
])
def test_refuses_every_other_path(server, path):
    status, _, body = get(server, f"/{server.token}/{path}")
    assert status == 404, path
    assert MODEL not in body


def test_refuses_other_methods(server):
    status, _, _ = get(server, f"/{server.token}/index.html", method="POST")
    assert status >= 400


def test_tokens_are_long_and_distinct(server):
    with LoopbackServer(MODEL) as other:
        assert other.token != server.token and other.port != server.port
    assert len(server.token) >= 40 and re.fullmatch(r"[A-Za-z0-9_-]+", server.token)


def test_stops_when_asked():
    server = LoopbackServer(MODEL)
    assert get(server, f"/{server.token}/index.html")[0] == 200
    server.stop()
    assert not server.running and refuses_connections(server.port)
    assert server not in loopback.running_servers()
    server.stop()  # idempotent


def test_stops_when_idle():
    server = LoopbackServer(MODEL, idle_timeout=0.5)
    deadline = time.monotonic() + 5
    while server.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not server.running and refuses_connections(server.port)


def test_oldest_server_stops_when_too_many_run(monkeypatch):
    monkeypatch.setattr(loopback, "MAX_SERVERS", 2)
    servers = [LoopbackServer(MODEL) for _ in range(3)]
    try:
        assert [s.running for s in servers] == [False, True, True]
        assert refuses_connections(servers[0].port)
    finally:
        loopback.stop_all()
    assert loopback.running_servers() == []


@pytest.fixture(scope="module")
def tiny_tflite(tiny_model):
    import tfl_jupyter as tj

    return tj.convert(tiny_model).tflite_model


def test_terminal_display_prints_a_working_url(tiny_tflite):
    from tfl_jupyter.netron_display import show_netron

    printed = io.StringIO()
    with redirect_stdout(printed):
        show_netron(tiny_tflite, name="tiny.tflite", context="ipython")
    text = printed.getvalue()
    assert "Netron graph of tiny.tflite" in text and "FULLY_CONNECTED" in text
    url = re.search(r"http://127\.0\.0\.1:(\d+)(/\S+)#tiny\.tflite", text)
    assert url, text
    server = next(s for s in loopback.running_servers() if s.port == int(url.group(1)))
    try:
        assert get(server, url.group(2))[0] == 200
        assert get(server, url.group(2).replace("index.html", "tiny.tflite"))[2] == tiny_tflite
    finally:
        server.stop()


def test_context_is_detected(ipython):
    from tfl_jupyter.netron_display import detect_context

    # The test session's IPython is a shell without a kernel: a terminal IPython.
    assert detect_context() == "ipython"


def test_rerunning_a_cell_stops_its_previous_server(tiny_tflite, monkeypatch):
    from tfl_jupyter import netron_display

    runs = iter([("cell-1", "run-1"), ("cell-1", "run-1"), ("cell-1", "run-2")])
    monkeypatch.setattr(netron_display, "_current_cell", lambda: next(runs))
    with redirect_stdout(io.StringIO()):
        first = netron_display._loopback(tiny_tflite, "a.tflite")
        second = netron_display._loopback(tiny_tflite, "b.tflite")  # same run: both stay
        assert first.running and second.running
        third = netron_display._loopback(tiny_tflite, "c.tflite")  # the cell ran again
    assert not first.running and not second.running and third.running
    third.stop()
