"""The Netron viewer in a real JupyterLab, a real kernel and real Chromium.

One notebook converts two different models and shows each with ``result.netron()``; the
tests then look at what a user would see (graph nodes with op names, no dialogs), at what
the page asked the network for (only the Jupyter server's origin), and at the kernel (no
listening socket beyond its Jupyter channels). A second page runs with the browser's
clock moved past Netron's 180-day "please update" limit.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys

import pytest

from tfl_jupyter.server.assets import netron_dir

from lab_driver import LabNotebook, RecordedContext, speaks_http, write_notebook

FIRST_OPS = ("Conv2D", "DepthwiseConv2D", "MaxPool2D", "Mean", "FullyConnected", "Softmax")
SECOND_OPS = ("FullyConnected", "Tanh")
DIALOG_TEXTS = ("cookies", "Please update", "newest version", "Accept")
GRAPH_TIMEOUT_MS = 60_000

SETUP_CELL = """\
import keras
import tfl_jupyter as tj

first = tj.convert(tj.demo_model(), output_file="first.tflite")
features = keras.Input((8,), name="features")
hidden = keras.layers.Dense(16, activation="tanh")(features)
second = tj.convert(keras.Model(features, keras.layers.Dense(3)(hidden)), output_file="second.tflite")
"""


def netron_frame(output):
    """The Netron app inside a cell's output."""
    return output.frame_locator("iframe.tfl-netron-frame")


def node_labels(output, timeout_ms: int = GRAPH_TIMEOUT_MS) -> list:
    """Op names on the graph's nodes once Netron has drawn them (``["Conv2D", ...]``)."""
    frame = netron_frame(output)
    frame.locator("#canvas .node-item-type").first.wait_for(state="visible", timeout=timeout_ms)
    # text_content runs in Playwright's utility world: Netron disables window.eval.
    texts = [item.text_content() for item in frame.locator("#canvas .node-item-type").all()]
    return [re.sub(r"\d+$", "", text) for text in texts]  # "Conv2D0": name + op index


def wait_for_ops(output, ops, timeout_ms: int = GRAPH_TIMEOUT_MS) -> list:
    """Wait until a node for each of ``ops`` is visible; then all op names drawn."""
    frame = netron_frame(output)
    for op in ops:
        frame.locator("#canvas .node-item-type", has_text=op).first.wait_for(
            state="visible", timeout=timeout_ms)
    return node_labels(output)


def assert_no_dialog(output) -> None:
    """Netron shows no consent, "please update" or error message."""
    frame = netron_frame(output)
    body_class = (frame.locator("body").get_attribute("class") or "").split()
    assert not {"notification", "alert", "message"} & set(body_class), body_class
    assert frame.locator("#message-text").text_content() == ""
    text = frame.locator("body").inner_text()
    for words in DIALOG_TEXTS:
        assert words not in text, f"the viewer shows {words!r}: {text[:300]!r}"


def package_date() -> dt.datetime:
    """The build date the installed netron's index.html declares."""
    html = (netron_dir() / "index.html").read_text()
    stamp = re.search(r'<meta name="date" content="([^"]+)"', html).group(1)
    return dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def converted(browser, jupyter_lab, artifacts):
    """Notebook ``viewers.ipynb``: two conversions, each shown with ``.netron()``."""
    recorded = RecordedContext(browser, viewport={"width": 1400, "height": 1000})
    write_notebook(jupyter_lab.root / "viewers.ipynb", [
        SETUP_CELL, "first.netron()", "second.netron()",
        # run by test_new_bytes_replace_the_model_in_the_same_viewer
        "from tfl_jupyter.widgets import NetronView\n"
        "swap = NetronView(first.tflite_model, filename='swap.tflite')\n"
        "swap",
        "swap.filename = 'swapped.tflite'\nswap.model_bytes = second.tflite_model",
    ])
    notebook = LabNotebook(recorded.context.new_page(), jupyter_lab, "viewers.ipynb").open()
    notebook.ports_at_start = jupyter_lab.listening_ports(notebook.kernel_id)
    for index in range(3):  # cells 3 and 4 belong to a later test
        notebook.run_cell(index)
    wait_for_ops(notebook.output(1), FIRST_OPS)
    wait_for_ops(notebook.output(2), SECOND_OPS)
    notebook.page.screenshot(path=str(artifacts / "netron_two_viewers.png"), full_page=True)
    yield notebook, recorded
    recorded.close()


def test_graph_nodes_of_the_converted_model_are_drawn(converted, artifacts):
    notebook, _ = converted
    output = notebook.output(1)
    labels = wait_for_ops(output, FIRST_OPS)
    output.screenshot(path=str(artifacts / "netron_first_viewer.png"))
    assert sorted(labels) == sorted(["Conv2D", "Relu", "DepthwiseConv2D", "Relu", "MaxPool2D",
                                     "Conv2D", "Relu", "Mean", "FullyConnected", "Relu",
                                     "FullyConnected", "Softmax"]), labels
    assert "first.tflite" in output.locator(".tfl-netron-title").inner_text()


def test_a_second_viewer_shows_the_second_model(converted, artifacts):
    notebook, _ = converted
    first = wait_for_ops(notebook.output(1), FIRST_OPS)
    second = wait_for_ops(notebook.output(2), SECOND_OPS)
    notebook.output(2).screenshot(path=str(artifacts / "netron_second_viewer.png"))
    assert sorted(second) == ["FullyConnected", "FullyConnected", "Tanh"], second
    assert "Tanh" not in first, first
    assert "second.tflite" in notebook.output(2).locator(".tfl-netron-title").inner_text()
    assert notebook.page.locator("iframe.tfl-netron-frame").count() == 2


def test_every_request_went_to_the_jupyter_origin(converted, jupyter_lab):
    _, recorded = converted
    viewer_requests = [u for u in recorded.requests
                       if u.startswith(f"{jupyter_lab.url}tfl-jupyter/netron/")]
    assert any(u.split("?")[0].endswith("/tflite.js") for u in viewer_requests), viewer_requests
    assert recorded.foreign(jupyter_lab.origin) == []


def test_no_consent_or_update_message(converted):
    notebook, _ = converted
    for index in (1, 2):
        assert_no_dialog(notebook.output(index))


def test_kernel_opens_no_listening_socket(converted, jupyter_lab):
    notebook, _ = converted
    kernel_id = notebook.kernel_id
    listening = jupyter_lab.listening_ports(kernel_id)
    channels = jupyter_lab.kernel_channel_ports(kernel_id)
    assert channels <= listening, "the kernel's own channels were not found: the check is broken"
    # Besides its 5 channels ipykernel listens on one ZeroMQ pipe (subprocess output to
    # IOPub) from the start; showing two viewers must add nothing, and nothing speaks HTTP.
    assert listening == notebook.ports_at_start, (listening, notebook.ports_at_start)
    assert len(listening - channels) <= 1, listening - channels
    assert not [port for port in listening if speaks_http(port)]


def test_rerunning_a_cell_replaces_its_viewer(converted):
    notebook, _ = converted
    notebook.run_cell(1)
    assert "Conv2D" in wait_for_ops(notebook.output(1), FIRST_OPS)
    assert notebook.output(1).locator("iframe.tfl-netron-frame").count() == 1
    assert notebook.page.locator("iframe.tfl-netron-frame").count() == 2


def test_saved_notebook_keeps_a_static_summary(converted):
    notebook, _ = converted
    saved = notebook.save()
    data = saved["cells"][1]["outputs"][0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "Netron graph of first.tflite" in "".join(data["text/plain"])
    html = "".join(data["text/html"])
    assert "CONV_2D" in html and "FULLY_CONNECTED" in html, html


@pytest.fixture
def future_context(browser):
    """A browser context whose clock is 200 days past the netron package's date."""
    recorded = RecordedContext(browser, viewport={"width": 1400, "height": 900})
    recorded.future = package_date() + dt.timedelta(days=200)
    recorded.context.clock.install(time=recorded.future)
    yield recorded
    recorded.close()


def test_clock_past_package_date_shows_no_update_message(future_context, jupyter_lab, converted,
                                                         artifacts):
    write_notebook(jupyter_lab.root / "clock.ipynb", [
        "from tfl_jupyter.netron_display import show_netron\n"
        "show_netron('first.tflite')",
    ])
    page = future_context.context.new_page()
    notebook = LabNotebook(page, jupyter_lab, "clock.ipynb").open()
    notebook.run_cell(0)
    output = notebook.output(0)
    labels = wait_for_ops(output, FIRST_OPS)
    output.screenshot(path=str(artifacts / "netron_clock_plus_200_days.png"))
    # Asked from the parent page: Netron disables eval in its own frame.
    frame_year = output.locator("iframe.tfl-netron-frame").evaluate(
        "frame => new frame.contentWindow.Date().getFullYear()")
    assert frame_year == future_context.future.year, "the clock was not moved in the viewer"
    assert "Conv2D" in labels
    assert_no_dialog(output)
    assert future_context.foreign(jupyter_lab.origin) == []


def test_front_end_without_the_extension_falls_back_to_the_kernel(open_notebook, jupyter_lab,
                                                                  converted, artifacts):
    # What VS Code (no Jupyter server extension in the page) goes through.
    notebook = open_notebook("fallback.ipynb", [
        "from tfl_jupyter.widgets import NetronView\n"
        "view = NetronView(open('second.tflite', 'rb').read(), filename='second.tflite',"
        " viewer_route='')\n"
        "view",
        "view.close()",
    ])
    notebook.run_cell(0)
    output = notebook.output(0)
    assert "Tanh" in wait_for_ops(output, SECOND_OPS)
    output.screenshot(path=str(artifacts / "netron_loopback_fallback.png"))
    assert_no_dialog(output)
    src = output.locator("iframe.tfl-netron-frame").get_attribute("src")
    assert src.startswith("http://127.0.0.1:"), src
    kernel_id = notebook.kernel_id
    port = int(src.split(":")[2].split("/")[0])
    assert port in jupyter_lab.listening_ports(kernel_id) and speaks_http(port)
    notebook.run_cell(1)  # view.close(): its server stops
    assert port not in jupyter_lab.listening_ports(kernel_id)


def test_fresh_jupyter_lab_loads_the_extension(jupyter_lab):
    # The session's server got no flag for it: the install's config enabled it.
    assert "tfl_jupyter.server | extension was successfully loaded" in jupyter_lab.log()
    listed = subprocess.run([sys.executable, "-m", "jupyter", "server", "extension", "list"],
                            capture_output=True, text=True, timeout=60)
    text = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)
    assert re.search(r"tfl_jupyter\.server\s+enabled", text), text
    assert re.search(r"tfl_jupyter\.server\s+OK", text), text


def test_viewer_leaves_the_keyboard_to_the_notebook(converted):
    notebook, _ = converted
    active = notebook.page.evaluate(
        "() => { const e = document.activeElement; return e ? e.tagName + '.' + e.className : null; }")
    assert not active.startswith("IFRAME"), active


def test_viewer_can_be_made_taller(converted):
    notebook, _ = converted
    output = notebook.output(1)
    box = output.locator(".tfl-netron-box")
    normal = box.bounding_box()["height"]
    output.get_by_role("button", name="Taller").click()
    taller = box.bounding_box()["height"]
    output.get_by_role("button", name="Shorter").click()
    assert taller > normal * 1.4 and box.bounding_box()["height"] == normal, (normal, taller)


def test_new_bytes_replace_the_model_in_the_same_viewer(converted):
    # How a panel reuses one viewer: assign model_bytes, the graph follows.
    notebook, _ = converted
    notebook.run_cell(3)
    output = notebook.output(3)
    assert "Conv2D" in wait_for_ops(output, FIRST_OPS)
    notebook.run_cell(4)
    frame = netron_frame(output)
    frame.locator("#canvas .node-item-type", has_text="Tanh").first.wait_for(state="visible")
    assert sorted(node_labels(output)) == ["FullyConnected", "FullyConnected", "Tanh"]
    assert output.locator(".tfl-netron-title").inner_text() == "swapped.tflite"
