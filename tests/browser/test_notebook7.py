"""The panel in Notebook 7 (the classic-style UI on the same server), light and dark theme, 900 px.

JupyterLab is covered in test_panel.py; here the same JupyterLab server also serves
Notebook 7's ``/notebooks/`` pages (the ``notebook`` package), and the panel must convert
and show its result there too.
"""

from __future__ import annotations

import pytest

from lab_driver import RecordedContext, write_notebook

CELLS = [
    "import tfl_jupyter as tj\nmodel = tj.demo_model()\ncalib = tj.demo_samples(16)\n"
    "panel = tj.panel(model, quantize='int8', representative_dataset=calib)\npanel",
    "panel.convert(); panel.wait(180); print('converted', panel.result.size_bytes)",
]


@pytest.mark.parametrize("theme", ["JupyterLab Dark", "JupyterLab Light"])  # ends on the default
def test_panel_converts_in_notebook_7(jupyter_lab, browser, artifacts, theme):
    name = f"notebook7_{theme.split()[-1].lower()}.ipynb"
    write_notebook(jupyter_lab.root / name, CELLS)
    recorded = RecordedContext(browser, viewport={"width": 900, "height": 1100})
    try:
        page = recorded.context.new_page()
        page.goto(f"{jupyter_lab.url}notebooks/{name}?token={jupyter_lab.token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        page.click("text=Settings")
        page.hover("text=Theme")
        page.click(f"text={theme}")
        expected = "true" if theme.endswith("Light") else "false"
        page.wait_for_function(f"document.body.dataset.jpThemeLight === '{expected}'", timeout=30_000)
        page.click(".jp-Notebook .jp-Cell >> nth=0")
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector("text=Ready to convert", timeout=180_000)
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector("text=/converted \\d+/", timeout=240_000)
        status = page.locator("text=/Converted #1: .* KiB/")
        status.wait_for(timeout=30_000)
        assert "SQNR" in status.inner_text()
        panel_box = page.locator(".jp-OutputArea-output").first.bounding_box()
        assert panel_box["width"] <= 900  # usable at 900 px: no horizontal overflow of the page
        page.screenshot(path=str(artifacts / f"notebook7_panel_{theme.split()[-1].lower()}.png"))
        assert not recorded.foreign(jupyter_lab.origin)
    finally:
        recorded.close()
