"""Overlays on the Netron viewer in a real JupyterLab, a real kernel and real Chromium.

The kernel converts a model built to have delegate partitions (a CONV_2D, CPU-only
REVERSE_V2 and WHILE between delegated ops) and a quantized classifier it compares with its
float source; each viewer's node colours are read back from the rendered SVG and checked
against the overlay tables the kernel wrote next to the notebook.
"""

from __future__ import annotations

import json
import re

import pytest

from lab_driver import LabNotebook, RecordedContext, write_notebook
from test_netron import netron_frame, wait_for_ops

SETUP_CELL = """\
import json
import keras
import numpy as np
import tensorflow as tf
import tfl_jupyter as tj
from tfl_jupyter.widgets import NetronView

kernel = tf.constant(np.random.default_rng(0).normal(size=(3, 3, 3, 4)).astype("float32"))

@tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32)])
def mixed(x):
    y = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME"))
    y = tf.reverse(y, axis=[1])  # no delegate takes it: a second partition starts after it
    y = tf.tanh(y * 1.5 + 0.25)
    y = tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 0.5), (tf.constant(0), y))[1]
    return tf.tanh(y + 1.0)

mixed_result = tj.convert(mixed)

keras.utils.set_random_seed(1)
features = keras.Input((8,), name="features")
hidden = keras.layers.Dense(64, activation="relu")(features)
hidden = keras.layers.Dense(32, activation="tanh")(hidden)
scores = keras.layers.Dense(3, activation="softmax", name="scores")(hidden)
calib = np.random.default_rng(0).normal(size=(32, 8)).astype("float32")
quantized = tj.convert(keras.Model(features, scores), quantize="int8", representative_dataset=calib)
comparison = quantized.compare(calib[:8])

def write_table(table, path):
    with open(path, "w") as file:
        json.dump(table[["subgraph", "index", "op", "value", "label", "color", "tensor"]]
                  .astype({"value": object}).where(table.notna(), None).to_dict("records"), file)

for name in ("gpu", "kind", "xnnpack"):
    write_table(mixed_result.overlay_table(name), f"mixed_{name}.json")
mixed_result.save("mixed.tflite")
write_table(comparison.overlay_table(), "error_overlay.json")
"""
VIEWER_CELL = "viewer = NetronView.of(mixed_result, overlay='gpu', filename='mixed.tflite')\nviewer"
ERROR_CELL = "comparison.netron()"
MIXED_OPS = ("Conv2D", "ReverseV2", "While")
ERROR_OPS = ("FullyConnected",)

# Netron's page replaces window.eval, so Playwright cannot evaluate scripts in it: the
# embedding page reads the same-origin frame's document, and a cross-origin one is read
# through locators.
READ_NODES = """frame => {
    const win = frame.contentWindow;
    return Array.from(frame.contentDocument.querySelectorAll('#canvas g.graph-node'), (g) => {
        const header = g.querySelector('.node-item-type');
        const title = header.querySelector(':scope > title');
        return {index: Number(g.dataset.tflIndex), label: g.dataset.tflLabel,
                fill: win.getComputedStyle(header.querySelector('path')).fill,
                title: title ? title.textContent : ''};
    });
}"""


def rgb(hex_color: str) -> str:
    """``#rrggbb`` as a computed style gives it."""
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def painted_nodes(output) -> dict:
    """Op index -> what the SVG shows for it (label, computed header fill, tooltip)."""
    frame = output.locator("iframe.tfl-netron-frame")
    if not frame.evaluate("frame => Boolean(frame.contentDocument)"):
        return painted_nodes_across_origins(output)
    return {node["index"]: node for node in frame.evaluate(READ_NODES)}


def painted_nodes_across_origins(output) -> dict:
    """:func:`painted_nodes` for a frame of another origin: the header's own fill style."""
    nodes = {}
    for element in netron_frame(output).locator("#canvas g.graph-node").all():
        header = element.locator(".node-item-type").first
        style = header.locator("path").first.get_attribute("style") or ""
        fill = re.search(r"fill:\s*(rgb\([^)]*\))", style)
        index = int(element.get_attribute("data-tfl-index"))
        nodes[index] = {"index": index, "label": element.get_attribute("data-tfl-label"),
                        "fill": fill.group(1) if fill else "",
                        "title": header.locator(":scope > title").text_content()}
    return nodes


def wait_painted(output, overlay: str) -> None:
    netron_frame(output).locator(f"body[data-tfl-overlay='{overlay}']").wait_for(
        state="attached", timeout=60_000)


def click_node(output, index: int) -> None:
    """Click op ``index``'s node in the main graph; return once the widget has sent it to the kernel."""
    netron_frame(output).locator(f"#canvas g.graph-node[data-tfl-index='{index}'] .node-item-type").first.click()
    output.locator(f"iframe.tfl-netron-frame[data-tfl-selected='0:{index}']").wait_for(
        state="attached", timeout=20_000)


def main_graph(rows: list) -> list:
    return [row for row in rows if row["subgraph"] == 0]


def assert_colours_match(output, rows: list) -> dict:
    nodes = painted_nodes(output)
    assert sorted(nodes) == [row["index"] for row in rows], (sorted(nodes), rows)
    for row in rows:
        node = nodes[row["index"]]
        assert node["label"] == row["label"], (row, node)
        if row["color"]:
            assert node["fill"] == rgb(row["color"]), (row, node)
    return nodes


@pytest.fixture(scope="module")
def overlays(browser, jupyter_lab, artifacts):
    """Notebook ``overlays.ipynb``: the partitioned model under ``gpu``, the classifier under ``error``."""
    recorded = RecordedContext(browser, viewport={"width": 1400, "height": 1000})
    write_notebook(jupyter_lab.root / "overlays.ipynb", [
        SETUP_CELL, VIEWER_CELL, ERROR_CELL,
        "assert viewer.selected['op'] == 'CONV_2D', viewer.selected\n"
        "assert viewer.selected['subgraph'] == 0, viewer.selected",
    ])
    notebook = LabNotebook(recorded.context.new_page(), jupyter_lab, "overlays.ipynb").open()
    notebook.run_cell(0, timeout_s=300)
    notebook.run_cell(1)
    notebook.run_cell(2, timeout_s=300)
    wait_for_ops(notebook.output(1), MIXED_OPS)
    wait_for_ops(notebook.output(2), ERROR_OPS)

    def table(name):
        return json.loads((jupyter_lab.root / name).read_text())

    yield notebook, recorded, table
    recorded.close()


def test_gpu_overlay_colours_match_the_table(overlays, artifacts):
    notebook, _, table = overlays
    output = notebook.output(1)
    wait_painted(output, "gpu")
    rows = main_graph(table("mixed_gpu.json"))
    nodes = assert_colours_match(output, rows)
    output.screenshot(path=str(artifacts / "netron_overlay_gpu.png"))
    by_op = {row["op"]: row for row in rows}
    assert nodes[by_op["WHILE"]["index"]]["label"] == "CPU"
    assert nodes[by_op["CONV_2D"]["index"]]["label"] == "GPU"
    tooltip = nodes[by_op["WHILE"]["index"]]["title"]
    assert tooltip.startswith("WHILE (op") and "gpu: CPU" in tooltip and "GPU:" in tooltip, tooltip


def test_partition_count_shown_is_the_cpu_separated_runs(overlays):
    notebook, _, table = overlays
    output = notebook.output(1)
    wait_painted(output, "gpu")
    delegated = [row["value"] >= 0 for row in main_graph(table("mixed_gpu.json"))]
    runs = sum(1 for i, on in enumerate(delegated) if on and (i == 0 or not delegated[i - 1]))
    assert runs >= 3, delegated
    shown = output.locator(".tfl-legend-partitions")
    assert shown.get_attribute("data-count") == str(runs)
    assert shown.inner_text().startswith(f"{runs} delegated partitions")


def test_switching_overlays_restyles_without_drawing_again(overlays, artifacts):
    notebook, _, table = overlays
    output = notebook.output(1)
    wait_painted(output, "gpu")
    frame = output.locator("iframe.tfl-netron-frame")
    frame.evaluate("frame => { frame.contentDocument.getElementById('canvas').dataset.drawn = 'first'; }")
    output.locator("select.tfl-netron-overlay").select_option("kind")
    wait_painted(output, "kind")
    assert_colours_match(output, main_graph(table("mixed_kind.json")))
    assert output.locator(".tfl-netron-legend").inner_text().startswith("op kind")
    output.screenshot(path=str(artifacts / "netron_overlay_kind.png"))
    output.locator("select.tfl-netron-overlay").select_option("xnnpack")
    wait_painted(output, "xnnpack")
    assert_colours_match(output, main_graph(table("mixed_xnnpack.json")))
    # the same SVG, restyled: Netron did not draw the graph again
    assert frame.evaluate("frame => frame.contentDocument.getElementById('canvas').dataset.drawn") == "first"
    output.locator("select.tfl-netron-overlay").select_option("")
    wait_painted(output, "")
    assert {node["label"] for node in painted_nodes(output).values()} == {""}
    output.locator("select.tfl-netron-overlay").select_option("gpu")
    wait_painted(output, "gpu")


def test_error_overlay_paints_the_worst_layer_hottest(overlays, artifacts):
    notebook, _, table = overlays
    output = notebook.output(2)
    wait_painted(output, "error")
    rows = main_graph(table("error_overlay.json"))
    nodes = assert_colours_match(output, rows)
    output.screenshot(path=str(artifacts / "netron_overlay_error.png"))
    measured = [row for row in rows if row["value"] is not None]
    worst = max(measured, key=lambda row: row["value"])
    assert worst["op"] == "FULLY_CONNECTED"
    darkness = {i: -sum(int(c) for c in node["fill"][4:-1].split(","))
                for i, node in nodes.items() if nodes[i]["label"] != "not measured"}
    assert max(darkness, key=darkness.get) == worst["index"], (darkness, worst)
    legend = output.locator(".tfl-netron-legend").inner_text()
    assert "0.289 rounding floor" in legend and "0.7 suspect" in legend, legend


def test_clicking_a_node_selects_it_in_the_kernel(overlays):
    notebook, _, table = overlays
    output = notebook.output(1)
    wait_painted(output, "gpu")
    conv = next(row for row in table("mixed_gpu.json") if row["op"] == "CONV_2D")
    click_node(output, conv["index"])
    notebook.run_cell(3)  # asserts viewer.selected in the kernel


CONTRAST_JS = """frame => {
    const win = frame.contentWindow;
    const luminance = (css) => {
        const [r, g, b] = css.match(/\\d+/g).slice(0, 3).map((v) => {
            const c = Number(v) / 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    return Array.from(frame.contentDocument.querySelectorAll('#canvas g.graph-node .node-item-type'), (item) => {
        const [a, b] = [item.querySelector('path'), item.querySelector('text')]
            .map((e) => luminance(win.getComputedStyle(e).fill)).sort((x, y) => y - x);
        return (a + 0.05) / (b + 0.05);
    });
}"""


@pytest.mark.parametrize("theme", ["JupyterLab Dark", "JupyterLab Light"])
def test_legend_and_node_labels_stay_readable_in_both_themes(overlays, artifacts, theme):
    notebook, _, _ = overlays
    page = notebook.page
    page.evaluate("theme => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme)
    light = "true" if theme.endswith("Light") else "false"
    page.wait_for_function(f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=20_000)
    output = notebook.output(1)
    for overlay in ("gpu", "kind"):
        output.locator("select.tfl-netron-overlay").select_option(overlay)
        wait_painted(output, overlay)
        contrasts = output.locator("iframe.tfl-netron-frame").evaluate(CONTRAST_JS)
        assert min(contrasts) >= 4.5, (overlay, contrasts)  # WCAG AA for the op names
    output.locator("select.tfl-netron-overlay").select_option("gpu")
    wait_painted(output, "gpu")
    legend = output.locator(".tfl-netron-legend").evaluate(
        "e => getComputedStyle(e).color.match(/\\d+/g).slice(0, 3).map(Number).reduce((a, b) => a + b) / 3")
    assert (legend > 150) if light == "false" else (legend < 100), legend
    output.screenshot(path=str(artifacts / f"netron_overlay_gpu_{light == 'true' and 'light' or 'dark'}.png"))


def test_loopback_fallback_paints_overlays_across_origins(open_notebook, overlays, artifacts):
    # The fallback's frame is another origin (127.0.0.1:port): the page cannot reach its
    # SVG, so the painter served inside it gets the tables by postMessage.
    _, _, table = overlays
    notebook = open_notebook("overlay_fallback.ipynb", [
        "import tfl_jupyter as tj\nfrom tfl_jupyter.widgets import NetronView\n"
        "view = NetronView.of(tj.inspect('mixed.tflite'), overlay='gpu', filename='mixed.tflite')\n"
        "view.viewer_route = ''\nview",
        "assert view.selected['op'] == 'CONV_2D', view.selected\nview.close()",
    ])
    notebook.run_cell(0)
    output = notebook.output(0)
    wait_for_ops(output, MIXED_OPS)
    assert output.locator("iframe.tfl-netron-frame").get_attribute("src").startswith("http://127.0.0.1:")
    assert "served by the kernel on 127.0.0.1" in output.locator(".tfl-netron-status").inner_text()
    # really another origin: the page cannot read the frame's document
    assert output.locator("iframe.tfl-netron-frame").evaluate("frame => frame.contentDocument") is None
    wait_painted(output, "gpu")
    rows = main_graph(table("mixed_gpu.json"))
    assert_colours_match(output, rows)
    delegated = [row["value"] >= 0 for row in rows]
    runs = sum(1 for i, on in enumerate(delegated) if on and (i == 0 or not delegated[i - 1]))
    assert output.locator(".tfl-legend-partitions").get_attribute("data-count") == str(runs)
    output.screenshot(path=str(artifacts / "netron_overlay_loopback_gpu.png"))
    output.locator("select.tfl-netron-overlay").select_option("kind")
    wait_painted(output, "kind")
    assert_colours_match(output, main_graph(table("mixed_kind.json")))
    conv = next(row for row in rows if row["op"] == "CONV_2D")
    click_node(output, conv["index"])
    notebook.run_cell(1)  # asserts view.selected in the kernel


def test_no_foreign_request(overlays, jupyter_lab):
    _, recorded, _ = overlays
    assert recorded.foreign(jupyter_lab.origin) == []



PANEL_CELLS = [
    "import json\nimport tfl_jupyter as tj\n"
    "p = tj.panel(tj.demo_model(), quantize='int8', representative_dataset='calib', measure_samples=16)\n"
    "calib = tj.demo_samples(32)\np",
    "entry = p.history[0]\n"
    "table = entry.result.overlay_table('error', entry.layers)\n"
    "print(json.dumps(table[table['value'].notna()][['index', 'op', 'tensor']].head(2).to_dict('records')))",
    "print(json.dumps(list(p.history[-1].result.notes)))",
]


def test_nodes_ticked_in_the_panel_graph_are_kept_in_float(browser, jupyter_lab, artifacts):
    recorded = RecordedContext(browser, viewport={"width": 1400, "height": 1300})
    try:
        write_notebook(jupyter_lab.root / "graph_panel.ipynb", PANEL_CELLS)
        notebook = LabNotebook(recorded.context.new_page(), jupyter_lab, "graph_panel.ipynb").open()
        notebook.run_cell(0, timeout_s=180)
        panel = notebook.output(0).locator(".tfl-panel")
        panel.locator("button.tfl-convert").click()
        status = panel.locator(".tfl-status")
        status.filter(has_text="Converted #1").wait_for(timeout=240_000)
        panel.locator(".tfl-tabs .lm-TabBar-tab", has_text="Layers").click()
        panel.locator("button.tfl-layers-compute").click()
        panel.locator(".tfl-page-layers").get_by_text("quantized layers").wait_for(timeout=240_000)
        for box in panel.locator(".tfl-layer-row input[type=checkbox]").all():
            box.uncheck()
        notebook.run_cell(1)
        picked = json.loads(notebook.output(1).inner_text().strip().splitlines()[-1])

        panel.locator(".tfl-tabs .lm-TabBar-tab", has_text="Graph").click()
        graph = panel.locator(".tfl-page-graph")
        wait_painted(graph, "error")
        for row in picked:
            netron_frame(graph).locator(
                f"#canvas g.graph-node[data-tfl-index='{row['index']}'] .node-item-type").first.click()
            graph.locator(".tfl-graph-detail", has_text=f"(op {row['index']})").wait_for(timeout=20_000)
            graph.locator(".tfl-graph-keep input[type=checkbox]").check()
        for row in picked:  # outlined on the graph as kept in float
            netron_frame(graph).locator(
                f"#canvas g.graph-node[data-tfl-index='{row['index']}'][data-tfl-marked='1']").wait_for(
                state="attached", timeout=20_000)
        panel.screenshot(path=str(artifacts / "netron_overlay_panel_graph.png"))
        panel.locator(".tfl-tabs .lm-TabBar-tab", has_text="Layers").click()
        panel.locator("button.tfl-requantize").click()
        status.filter(has_text="#1 with 2 layer(s) in float").wait_for(timeout=240_000)
        notebook.run_cell(2)
        notes = json.loads(notebook.output(2).inner_text().strip().splitlines()[-1])
        assert "kept in float: 2 tensor(s)" in notes[-1], notes
        assert all(row["tensor"] in notes[-1] for row in picked), (picked, notes)
        assert recorded.foreign(jupyter_lab.origin) == []
    finally:
        recorded.close()
