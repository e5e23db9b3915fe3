"""Drive a real JupyterLab server and notebooks in it from pytest (see conftest.py)."""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional

CHROMIUM = os.environ.get("TFL_JUPYTER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SERVER_START_TIMEOUT_S = 60
KERNEL_READY_TIMEOUT_MS = 60_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class JupyterLab:
    """A JupyterLab server process on 127.0.0.1 with a token.

    Attributes
    ----------
    origin : str
        ``http://127.0.0.1:PORT``.
    url : str
        The server's base URL, ``origin + base_url``.
    base_url : str
        The path prefix, ``/user/tester/`` by default (JupyterHub-like).
    token : str
    root : pathlib.Path
        The server's root directory (notebooks are written here).
    runtime_dir : pathlib.Path
        Where kernel connection files live.
    process : subprocess.Popen
    """

    def __init__(self, workdir: Path, base_url: str = "/user/tester/"):
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.origin = f"http://127.0.0.1:{self.port}"
        # Served under a prefix, as JupyterHub serves each user's server.
        self.base_url = base_url
        self.url = self.origin + base_url
        self.root = workdir / "root"
        self.runtime_dir = workdir / "runtime"
        self.root.mkdir()
        self.log_path = workdir / "jupyter-lab.log"
        # No "Would you like to get notified about official Jupyter news?" toast.
        settings = workdir / "config" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        env = dict(os.environ)
        # Our own config/runtime dirs keep the user's ~/.jupyter out; the install's
        # {sys.prefix}/etc/jupyter (where the extension is enabled) is still read.
        env.update(JUPYTER_CONFIG_DIR=str(workdir / "config"),
                   JUPYTER_RUNTIME_DIR=str(self.runtime_dir),
                   PYTHONUNBUFFERED="1")
        args = [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.base_url={base_url}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, to run commands
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, cwd=self.root, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT)
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()  # never leave a server behind
            raise

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                self.api("status")
                return
            except OSError:
                time.sleep(0.25)
        raise RuntimeError(f"JupyterLab did not start; log:\n{self.log()}")

    def api(self, path: str):
        """GET ``/api/<path>`` with the token; the decoded JSON."""
        request = urllib.request.Request(f"{self.url}api/{path}",
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace")

    def kernel_process(self, kernel_id: str):
        """The ``psutil.Process`` of a kernel this server started."""
        import psutil

        connection_file = f"kernel-{kernel_id}.json"
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if any(arg.endswith(connection_file) for arg in child.cmdline()):
                    return child
            except psutil.NoSuchProcess:
                continue
        raise LookupError(f"no process for kernel {kernel_id}")

    def kernel_channel_ports(self, kernel_id: str) -> set:
        """The five ZeroMQ ports of a kernel's Jupyter channels."""
        info = json.loads((self.runtime_dir / f"kernel-{kernel_id}.json").read_text())
        return {info[name] for name in
                ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")}

    def listening_ports(self, kernel_id: str) -> set:
        """TCP ports on which the kernel's process (and any child of it) listens."""
        import psutil

        kernel = self.kernel_process(kernel_id)
        ports = set()
        for process in [kernel] + kernel.children(recursive=True):
            for connection in process.net_connections(kind="inet"):
                if connection.status == psutil.CONN_LISTEN:
                    ports.add(connection.laddr.port)
        return ports

    def stop(self) -> None:
        """Stop the server and its kernels (idempotent)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self._log.closed:
            self._log.close()


def speaks_http(port: int) -> bool:
    """Whether whatever listens on 127.0.0.1:``port`` answers an HTTP request as HTTP."""
    with socket.create_connection(("127.0.0.1", port), timeout=3) as connection:
        connection.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        try:
            reply = connection.recv(16)  # a ZeroMQ socket sends its greeting (0xFF...)
        except (socket.timeout, ConnectionResetError):
            reply = b""
    return reply.startswith(b"HTTP/")


class RecordedContext:
    """A browser context that records every request and websocket of its pages.

    Attributes
    ----------
    context : playwright.sync_api.BrowserContext
    requests : list of str
        URLs of every request (documents, scripts, XHR, fetch, workers...).
    websockets : list of str
    """

    #: Contexts not closed yet (conftest screenshots their pages when a test fails).
    live: List["RecordedContext"] = []

    def __init__(self, browser, **options):
        self.context = browser.new_context(**options)
        RecordedContext.live.append(self)
        self.requests: List[str] = []
        self.websockets: List[str] = []
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.context.on("page", self._watch_page)

    def _watch_page(self, page) -> None:
        page.on("websocket", lambda ws: self.websockets.append(ws.url))

    def foreign(self, origin: str) -> List[str]:
        """Network URLs (http, https, ws, wss) that did not go to ``origin``."""
        ws_origin = origin.replace("http", "ws", 1)
        network = [u for u in self.requests + self.websockets
                   if u.split(":", 1)[0] in ("http", "https", "ws", "wss")]
        return [u for u in network
                if not (u.startswith(origin + "/") or u.startswith(ws_origin + "/"))]

    def close(self) -> None:
        if self in RecordedContext.live:
            RecordedContext.live.remove(self)
        self.context.close()


class LabNotebook:
    """A notebook open in JupyterLab, driven through JupyterLab's own commands.

    Parameters
    ----------
    page : playwright.sync_api.Page
    lab : JupyterLab
    path : str
        The notebook's path relative to the server root.
    """

    def __init__(self, page, lab: JupyterLab, path: str):
        self.page = page
        self.lab = lab
        self.path = path

    # Finds this notebook's panel among JupyterLab's tabs (a restored workspace may have
    # other notebooks open in the same page).
    _PANEL_JS = """(id) => Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.id === id)"""

    def open(self) -> "LabNotebook":
        """Load JupyterLab on this notebook only and wait for its kernel."""
        # ?reset: start from an empty workspace, not the tabs of an earlier page.
        self.page.goto(f"{self.lab.url}lab/tree/{self.path}?reset&token={self.lab.token}")
        self.page.wait_for_function(
            "path => window.jupyterapp && window.jupyterapp.shell.currentWidget &&"
            " window.jupyterapp.shell.currentWidget.context &&"
            " window.jupyterapp.shell.currentWidget.context.path === path",
            arg=self.path, timeout=KERNEL_READY_TIMEOUT_MS)
        self.panel_id = self.page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
        self.page.evaluate(f"""async (id) => {{
            const panel = ({self._PANEL_JS})(id);
            await panel.sessionContext.ready;
        }}""", self.panel_id)
        self.page.wait_for_function(
            f"""(id) => {{ const k = ({self._PANEL_JS})(id).sessionContext.session?.kernel;
                return k && k.status === 'idle'; }}""",
            arg=self.panel_id, timeout=KERNEL_READY_TIMEOUT_MS)
        return self

    @property
    def kernel_id(self) -> str:
        """The id of the notebook's kernel."""
        return self.page.evaluate(
            f"(id) => ({self._PANEL_JS})(id).sessionContext.session.kernel.id", self.panel_id)

    def run_cell(self, index: int, timeout_s: float = 120) -> None:
        """Run cell ``index`` the way Shift+Enter does and wait for it to finish.

        Raises
        ------
        AssertionError
            The cell raised; the message has its traceback.
        """
        error = self.page.evaluate(f"""async ([id, index, timeoutMs]) => {{
            const app = window.jupyterapp;
            app.shell.activateById(id);
            const notebook = ({self._PANEL_JS})(id).content;
            notebook.activeCellIndex = index;
            const run = app.commands.execute('notebook:run-cell');
            const timeout = new Promise((_, reject) =>
                setTimeout(() => reject(new Error(`cell ${{index}} still running`)), timeoutMs));
            await Promise.race([run, timeout]);
            const outputs = notebook.widgets[index].model.outputs.toJSON();
            const failed = outputs.find((output) => output.output_type === 'error');
            return failed ? `${{failed.ename}}: ${{failed.evalue}}\\n${{failed.traceback.join('\\n')}}` : null;
        }}""", [self.panel_id, index, int(timeout_s * 1000)])
        assert error is None, f"cell {index} raised:\n{error}"

    def run_all_from_menu(self) -> None:
        """Click Run > Run All Cells, as a person does; return once the menu item is clicked.

        JupyterLab sends every cell to the kernel at once and the kernel works through
        them (skipping the rest after a cell fails); wait for what the test expects to see.
        """
        self.page.evaluate("(id) => window.jupyterapp.shell.activateById(id)", self.panel_id)
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
        self.page.locator(".lm-Menu-itemLabel:visible", has_text=re.compile("^Run All Cells$")).click()

    def wait_until_replied(self, index: int, timeout_s: float = 120) -> None:
        """Wait until the kernel has replied to cell ``index`` (JupyterLab then sets its count)."""
        self.page.wait_for_function(
            f"([id, index]) => ({self._PANEL_JS})(id).content.widgets[index].model.executionCount !== null",
            arg=[self.panel_id, index], timeout=int(timeout_s * 1000))

    def cell_state(self, index: int) -> dict:
        """Cell ``index`` as JupyterLab's model holds it: ``execution_count`` and ``outputs``."""
        return self.page.evaluate(f"""([id, index]) => {{
            const model = ({self._PANEL_JS})(id).content.widgets[index].model;
            return {{execution_count: model.executionCount, outputs: model.outputs.toJSON()}};
        }}""", [self.panel_id, index])

    def cell(self, index: int):
        """Locator of cell ``index``."""
        return self.page.locator(f"#{self.panel_id} .jp-Cell").nth(index)

    def output(self, index: int):
        """Locator of cell ``index``'s output area."""
        return self.cell(index).locator(".jp-OutputArea")

    def save(self) -> dict:
        """Save the notebook and return it as read back from disk."""
        path = self.lab.root / self.path
        before = path.stat().st_mtime_ns
        self.page.evaluate("""(id) => {
            window.jupyterapp.shell.activateById(id);
            return window.jupyterapp.commands.execute('docmanager:save');
        }""", self.panel_id)
        deadline = time.monotonic() + 10
        while path.stat().st_mtime_ns == before and time.monotonic() < deadline:
            time.sleep(0.1)
        return json.loads(path.read_text())


def write_notebook(path: Path, cells: List[str], tags: Optional[Dict[int, List[str]]] = None) -> None:
    """Write a Python 3 notebook with these code cells; ``tags`` maps a cell index to its tags."""
    tags = tags or {}
    notebook = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                    "language": "python"}},
        "cells": [{"cell_type": "code", "id": f"cell-{i}",
                   "metadata": {"tags": tags[i]} if i in tags else {},
                   "execution_count": None, "outputs": [], "source": source}
                  for i, source in enumerate(cells)],
    }
    path.write_text(json.dumps(notebook, indent=1))
