"""The conversion panel in a real JupyterLab, a real kernel and real Chromium.

One notebook builds the panel; the tests then use it the way a person does, in order:
change settings (and see a conflict before converting), convert, cancel a slow conversion
(while the notebook keeps running cells, and without the panel changing size), open every
tab, fix a failed conversion with one click, and look at it in the dark theme at 900 px.
A screenshot of each tab is kept in tests/artifacts/ (``panel_*.png``).
"""

from __future__ import annotations

import re

import pytest

from lab_driver import LabNotebook, RecordedContext, write_notebook

CONVERT_TIMEOUT_MS = 240_000  # the first conversion starts the worker; the machine may be busy
UI_TIMEOUT_MS = 20_000

SETUP_CELL = """\
import time
import tensorflow as tf
import tfl_jupyter as tj

model = tj.demo_model()
calib = tj.demo_samples(32)

def slow_calib():
    for image in calib:
        time.sleep(0.5)
        yield [image[None]]

@tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
def text_length(text):
    return tf.strings.length(text)
"""
PANEL_CELL = "p = tj.panel(model, measure_samples=32)\np"
PROBE_CELL = "print('history', len(p.history), 'busy', p.busy)"


@pytest.fixture(scope="module")
def lab_panel(browser, jupyter_lab):
    """The notebook with the panel displayed (cell 1); cell 2 prints the panel's state."""
    recorded = RecordedContext(browser, viewport={"width": 1400, "height": 1300})
    write_notebook(jupyter_lab.root / "panel.ipynb", [SETUP_CELL, PANEL_CELL, PROBE_CELL])
    notebook = LabNotebook(recorded.context.new_page(), jupyter_lab, "panel.ipynb").open()
    notebook.run_cell(0, timeout_s=180)
    notebook.run_cell(1)
    notebook.panel = notebook.output(1).locator(".tfl-panel")
    notebook.panel.wait_for(timeout=UI_TIMEOUT_MS)
    yield notebook
    recorded.close()


def part(notebook, css, **options):
    """A locator inside the panel."""
    return notebook.panel.locator(css, **options)


def status(notebook) -> str:
    return part(notebook, ".tfl-status").inner_text()


def wait_for_status(notebook, pattern, timeout_ms=CONVERT_TIMEOUT_MS):
    """Wait until the status line matches ``pattern``; return it."""
    notebook.page.wait_for_function(
        "pattern => new RegExp(pattern).test(document.querySelector('.tfl-panel .tfl-status')?.innerText || '')",
        arg=pattern, timeout=timeout_ms)
    return status(notebook)


def probe(notebook):
    """Run the probe cell; (conversions in the history, whether the panel is busy)."""
    notebook.run_cell(2, timeout_s=30)
    found = re.search(r"history (\d+) busy (True|False)", notebook.output(2).inner_text())
    return int(found.group(1)), found.group(2) == "True"


def open_tab(notebook, title):
    part(notebook, ".tfl-tabs .lm-TabBar-tab").filter(has_text=re.compile(f"^{title}$")).click()
    return part(notebook, f".tfl-page-{title.lower()}")


def shoot(notebook, artifacts, name):
    notebook.panel.screenshot(path=str(artifacts / f"panel_{name}.png"))


def test_conflicting_settings_show_before_convert_then_it_converts(lab_panel, artifacts):
    nb = lab_panel
    assert part(nb, ".tfl-source input").input_value() == "model"
    part(nb, ".tfl-quantize select").select_option(label="int8 — full-integer int8 with float fallback, float I/O")
    check = part(nb, ".tfl-check")
    check.get_by_text("needs a representative dataset").wait_for(timeout=UI_TIMEOUT_MS)
    assert part(nb, "button.tfl-convert").is_disabled()
    assert part(nb, ".tfl-row-dataset.tfl-conflict").count() == 1
    shoot(nb, artifacts, "conflict")

    part(nb, ".tfl-dataset input").fill("calib")
    check.get_by_text("Ready to convert model").wait_for(timeout=UI_TIMEOUT_MS)
    assert part(nb, ".tfl-row-dataset.tfl-conflict").count() == 0
    part(nb, "button.tfl-convert").click()
    text = wait_for_status(nb, r"Converted #1|#1 failed")
    assert text.startswith("Converted #1"), text
    summary = part(nb, ".tfl-page-summary").inner_text()
    assert "Conversion #1" in summary and "int8 (full-integer int8" in summary and "calibration" in summary


def test_cancel_keeps_the_notebook_responsive_and_nothing_resizes(lab_panel, artifacts):
    nb = lab_panel
    part(nb, ".tfl-dataset input").fill("slow_calib")
    part(nb, ".tfl-check").get_by_text("Ready to convert model").wait_for(timeout=UI_TIMEOUT_MS)
    before = nb.panel.bounding_box()
    part(nb, "button.tfl-convert").click()
    wait_for_status(nb, r"Calibrating: \d+ sample")
    sizes = []
    for _ in range(4):
        sizes.append(nb.panel.bounding_box())
        nb.page.wait_for_timeout(300)
    assert probe(nb) == (1, True)  # a cell runs while the panel converts
    shoot(nb, artifacts, "calibrating")
    assert all((s["width"], s["height"]) == (before["width"], before["height"]) for s in sizes), (before, sizes)

    part(nb, "button.tfl-cancel").click()
    text = wait_for_status(nb, r"cancelled", timeout_ms=60_000)
    assert "Cancelled after" in text and "Earlier results are kept" in text
    assert "cancelled" in part(nb, ".tfl-history-table").inner_text()
    assert probe(nb) == (2, False)


def test_every_tab_shows_its_part_of_the_result(lab_panel, artifacts):
    nb = lab_panel
    part(nb, ".tfl-history-pick select").select_option(index=0)  # #1, the int8 model
    part(nb, ".tfl-history button", has_text="Show").click()
    page = open_tab(nb, "Summary")
    page.get_by_text("Conversion #1").wait_for(timeout=UI_TIMEOUT_MS)
    assert "SQNR" in page.inner_text()
    shoot(nb, artifacts, "summary")

    page = open_tab(nb, "Ops")
    page.get_by_text("CONV_2D").first.wait_for(timeout=UI_TIMEOUT_MS)
    assert "DEPTHWISE_CONV_2D" in page.inner_text() and "xnnpack" in page.inner_text()
    shoot(nb, artifacts, "ops")

    page = open_tab(nb, "Graph")
    frame = page.frame_locator("iframe.tfl-netron-frame")
    frame.locator("#canvas .node-item-type", has_text="Conv2D").first.wait_for(timeout=60_000)
    shoot(nb, artifacts, "graph")

    page = open_tab(nb, "Compare")
    page.get_by_text("sqnr_db").wait_for(timeout=UI_TIMEOUT_MS)
    assert page.locator("img").first.is_visible()
    assert "top1_agreement" in page.inner_text()
    shoot(nb, artifacts, "compare")

    page = open_tab(nb, "Code")
    code = page.locator("pre").inner_text()
    assert "tf.lite.TFLiteConverter.from_keras_model(model)" in code and "representative_dataset" in code
    shoot(nb, artifacts, "code")

    page = open_tab(nb, "Layers")
    page.locator("button.tfl-layers-compute").click()
    page.get_by_text("quantized layers").wait_for(timeout=CONVERT_TIMEOUT_MS)
    rows = page.locator(".tfl-layer-row:not(.tfl-layer-head)")
    rows.nth(4).wait_for(timeout=UI_TIMEOUT_MS)  # the demo model has 8 quantized layers
    softmax = rows.filter(has_text="SOFTMAX")
    softmax.locator("input[type=checkbox]").check()
    shoot(nb, artifacts, "layers")
    page.locator("button.tfl-requantize").click()
    text = wait_for_status(nb, r"^#\d+: #1 with 1 layer|Could not requantize")
    assert "top-1 100%" in text, text
    assert "kept in float" in part(nb, ".tfl-page-summary").inner_text()


def test_failed_conversion_is_fixed_with_one_click(lab_panel, artifacts):
    nb = lab_panel
    part(nb, ".tfl-source input").fill("text_length")
    part(nb, ".tfl-quantize select").select_option(label="none — float32, no quantization")
    part(nb, ".tfl-dataset input").fill("")
    part(nb, ".tfl-check").get_by_text("Ready to convert text_length").wait_for(timeout=UI_TIMEOUT_MS)
    part(nb, "button.tfl-convert").click()
    failed = int(re.match(r"#(\d+) failed", wait_for_status(nb, r"^#\d+ failed")).group(1))
    failure = part(nb, ".tfl-failure")
    assert "tf.StringLength" in failure.inner_text()
    shoot(nb, artifacts, "failure")
    part(nb, "button.tfl-fix-flex").click()
    text = wait_for_status(nb, rf"Converted #{failed + 1}|#{failed + 1} failed")
    assert text.startswith("Converted"), text
    assert part(nb, ".tfl-row-ops input[type=checkbox]").nth(2).is_checked()  # SELECT_TF_OPS
    open_tab(nb, "Ops").get_by_text("flex").first.wait_for(timeout=UI_TIMEOUT_MS)


def test_dark_theme_at_900_pixels(lab_panel, artifacts):
    nb = lab_panel
    page = nb.page
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'", timeout=UI_TIMEOUT_MS)
    page.set_viewport_size({"width": 900, "height": 1900})
    page.wait_for_timeout(500)
    open_tab(nb, "Summary")
    metrics = nb.panel.evaluate("""panel => {
        const style = getComputedStyle(panel);
        const luminance = (css) => { const [r, g, b] = css.match(/\\d+/g).map(Number); return (r + g + b) / 3; };
        return {text: luminance(style.color), width: panel.getBoundingClientRect().width,
                beyond: panel.getBoundingClientRect().right
                    - panel.closest('.jp-OutputArea-output').getBoundingClientRect().right,
                convert: panel.querySelector('button.tfl-convert').getBoundingClientRect().width,
                sticking: [...panel.querySelectorAll('*')].filter(e => {
                    if (e.getBoundingClientRect().right <= panel.getBoundingClientRect().right + 1) return false;
                    for (let a = e.parentElement; a && a !== panel; a = a.parentElement) {
                        if (getComputedStyle(a).overflowX !== 'visible') return false;  // scrolls or clips
                    }
                    return true;
                }).slice(0, 5).map(e => e.className + ' ' + Math.round(e.getBoundingClientRect().right))};
    }""")
    shoot(nb, artifacts, "dark_900px")
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")
    assert metrics["text"] > 150, metrics  # light text on the dark theme
    assert metrics["sticking"] == [] and metrics["beyond"] <= 1, metrics  # nothing sticks out
    assert metrics["width"] < 900 and metrics["convert"] > 60, metrics


def test_closing_mid_conversion_leaves_a_note_and_keeps_the_history(lab_panel, artifacts):
    nb = lab_panel
    nb.page.set_viewport_size({"width": 1400, "height": 1300})
    part(nb, ".tfl-source input").fill("model")
    part(nb, ".tfl-quantize select").select_option(label="int8 — full-integer int8 with float fallback, float I/O")
    part(nb, ".tfl-dataset input").fill("slow_calib")
    part(nb, ".tfl-check").get_by_text("Ready to convert model").wait_for(timeout=UI_TIMEOUT_MS)
    part(nb, "button.tfl-convert").click()
    wait_for_status(nb, r"Calibrating: \d+ sample")
    kept, busy = probe(nb)
    assert busy
    part(nb, "button.tfl-close").click()
    note = nb.output(1).locator(".tfl-closed")
    note.wait_for(timeout=UI_TIMEOUT_MS)
    assert "closed and its running conversion was cancelled" in note.inner_text()
    assert nb.output(1).locator(".tfl-convert").count() == 0
    nb.output(1).screenshot(path=str(artifacts / "panel_closed.png"))
    for _ in range(20):  # the cancelled conversion winds down in the kernel
        if probe(nb) == (kept + 1, False):
            break
        nb.page.wait_for_timeout(250)
    assert probe(nb) == (kept + 1, False)
