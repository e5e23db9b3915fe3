"""A smoke of tfl_jupyter's public API, runnable in any environment that has it installed.

    python tests/smoke_public_api.py

Converts the built-in demo model (float, dynamic, int8) with real TensorFlow and exercises
what a user touches first: ``.ops``, ``compare``, ``tj.sweep``, ``tj.inspect``, the graph
viewer's HTML (the 127.0.0.1 server and the widget), the panel, and ``%tflite_convert`` in
a real IPython shell, each rendered to HTML as a notebook would (pandas' Styler, so jinja2).
Nothing is mocked and nothing is downloaded.

``tests/test_install_floors.py`` runs it in a virtualenv holding the declared floors of the
dependencies and in one holding TensorFlow plus a bare ``pip install .``; it works in the dev
venv too. Prints one line per check, then ``N passed, N failed``; exits 1 if any failed.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import sys
import tempfile
import time
import traceback
from contextlib import redirect_stdout
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "keras", "numpy", "pandas", "ai-edge-litert", "ipython",
                 "traitlets", "ipywidgets", "anywidget", "netron", "matplotlib", "jinja2", "tqdm", "tfl_jupyter")

CHECKS = []


def check(function):
    CHECKS.append(function)
    return function


def html_of(value) -> str:
    html = value._repr_html_()
    assert isinstance(html, str) and "<" in html, type(html)
    return html


class Smoke:
    """State shared by the checks, which run in order."""

    def __init__(self, folder: str):
        self.folder = folder


@check
def import_tensorflow(s):
    import tensorflow as tf

    assert tf.constant([1.0, 2.0]).numpy().sum() == 3.0
    import tfl_jupyter as tj

    s.tj = tj
    s.model = tj.demo_model()
    s.samples = tj.demo_samples(64)


@check
def convert_none(s):
    s.float = s.tj.convert(s.model, quantize="none")
    assert s.float.tflite_model[4:8] == b"TFL3"
    assert [i.name for i in s.float.inputs] and [o.name for o in s.float.outputs]
    assert "from_keras_model" in s.float.code
    html_of(s.float)


@check
def convert_dynamic(s):
    s.dynamic = s.tj.convert(s.model, quantize="dynamic")
    assert len(s.dynamic.tflite_model) < 0.8 * len(s.float.tflite_model)


@check
def convert_int8(s):
    s.path = os.path.join(s.folder, "demo_int8.tflite")
    s.int8 = s.tj.convert(s.model, quantize="int8", representative_dataset=s.samples, output_file=s.path)
    assert os.path.getsize(s.path) == len(s.int8.tflite_model)
    assert len(s.int8.tflite_model) < 0.5 * len(s.float.tflite_model)


@check
def ops_tables(s):
    ops = s.int8.ops
    assert len(ops) >= 5 and {"op", "kind"} <= set(ops.columns), list(ops.columns)
    assert set(ops["kind"]) == {"builtin"}, set(ops["kind"])
    assert "CONV_2D" in set(ops["op"]), set(ops["op"])
    assert len(s.int8.op_summary) >= 1
    html_of(s.int8)


@check
def compare(s):
    comparison = s.int8.compare(s.samples, n=32, progress=False)
    assert comparison.n_samples == 32
    assert len(comparison.summary) >= 1
    html = html_of(comparison)
    assert "<table" in html


@check
def sweep(s):
    table = s.tj.sweep(s.model, ["float", "dynamic", "int8"], representative_dataset=s.samples,
                       samples=s.samples, n=16, latency_runs=2, parallel=False, progress=False)
    assert list(table.index) == ["float", "dynamic", "int8"], list(table.index)
    assert table["error"].isna().all(), table["error"].tolist()
    assert table.loc["dynamic", "size_bytes"] < table.loc["float", "size_bytes"]
    html = html_of(table)
    assert "<svg" in html or "<img" in html  # the size-vs-error plot (matplotlib)


@check
def inspect(s):
    report = s.tj.inspect(s.path)
    assert len(report.ops) == len(s.int8.ops)
    assert [i.name for i in report.inputs] == [i.name for i in s.int8.inputs]
    html_of(report)


def _get(port: int, path: str):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@check
def netron_html(s):
    printed = io.StringIO()
    with redirect_stdout(printed):
        s.int8.netron()  # plain Python: the 127.0.0.1 server, its URL printed
    match = re.search(r"http://127\.0\.0\.1:(\d+)/(\S+?)/index\.html#(\S+)", printed.getvalue())
    assert match, printed.getvalue()
    port, token, name = int(match.group(1)), match.group(2), match.group(3)
    status, body = _get(port, f"/{token}/index.html")
    assert status == 200 and b"<title>Netron</title>" in body, (status, body[:200])
    status, body = _get(port, f"/{token}/{name}")
    assert status == 200 and body == s.int8.tflite_model, status


@check
def netron_widget(s):
    from tfl_jupyter.widgets import NetronView

    view = NetronView.of(s.int8, overlay="gpu")
    assert view.overlay == "gpu" and "kind" in view.overlays
    assert view.summary is not None
    view.close()


@check
def panel(s):
    panel = s.tj.panel(s.model, quantize="int8", representative_dataset=s.samples)
    assert panel.result is None
    panel.close()


@check
def magic_in_ipython(s):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()  # IPython's own shell, as terminal IPython runs it
    shell.run_line_magic("load_ext", "tfl_jupyter")
    shell.user_ns.update(model=s.model, calib=s.samples)
    printed = io.StringIO()
    with redirect_stdout(printed):
        outcome = shell.run_cell("%tflite_convert model --quantize int8 --representative_dataset calib --ops "
                                 "--compare calib -o r")
    assert outcome.error_in_exec is None and outcome.error_before_exec is None, outcome
    result = shell.user_ns["r"]
    assert result.tflite_model == s.int8.tflite_model
    assert "from_keras_model(model)" in result.code


@check
def extras_say_what_to_install(s):
    """Where an extra is missing, its feature fails in one line naming the extra."""
    from importlib.util import find_spec

    expected = {"tflite_micro": ("micro_check", "tfl_jupyter[micro]"),
                "litert_quantizer": ("quantizer", "tfl_jupyter[quantizer]")}
    for module, (feature, extra) in expected.items():
        if find_spec(module) is not None:
            continue  # installed: the main suite tests the feature
        try:
            if feature == "micro_check":
                s.int8.micro_check()
            else:
                s.tj.convert(s.model, quantize="int8", quantizer="litert", representative_dataset=s.samples)
        except ImportError as exc:
            message = str(exc)
            assert extra in message and "\n" not in message, message
        else:
            raise AssertionError(f"{feature} ran without {module}")


def main() -> int:
    started = time.monotonic()
    found = []
    for name in DISTRIBUTIONS:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    import tfl_jupyter

    print(f"python {sys.version.split()[0]}; " + ", ".join(found), flush=True)
    print(f"tfl_jupyter from {os.path.dirname(tfl_jupyter.__file__)}", flush=True)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as folder:
        smoke = Smoke(folder)
        for function in CHECKS:
            began = time.monotonic()
            try:
                function(smoke)
            except Exception:
                failed += 1
                print(f"FAIL {function.__name__} ({time.monotonic() - began:.1f}s)", flush=True)
                traceback.print_exc(file=sys.stdout)
                if function is import_tensorflow:
                    break  # nothing else can run
            else:
                passed += 1
                print(f"ok   {function.__name__} ({time.monotonic() - began:.1f}s)", flush=True)
    print(f"smoke took {time.monotonic() - started:.1f}s")
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
