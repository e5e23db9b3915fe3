"""Browser-test fixtures: one real JupyterLab per session, real Chromium through Playwright.

Nothing is mocked: JupyterLab runs from this virtualenv on 127.0.0.1 with a token and the
configuration ``pip install`` left (so the test also proves the server extension is
enabled by the install, not by a flag), kernels are real ipykernels, and the browser is
Debian's Chromium.

Fixtures for any browser test (the viewer's, the panel's); the classes are in lab_driver.py:

``jupyter_lab``
    The running server (:class:`JupyterLab`), session-scoped.
``browser``
    Chromium, session-scoped.
``lab_context``
    A fresh browser context whose requests and websockets are recorded
    (:class:`RecordedContext`); closed after the test.
``open_notebook``
    ``open_notebook(name, cells, context=None)`` writes a notebook into the server's root,
    opens it in a new page and returns a :class:`LabNotebook` to run cells and find
    outputs.
``artifacts``
    ``tests/artifacts/``, for screenshots (gitignored).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import List, Optional

import pytest

from lab_driver import (ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, JupyterLab, LabNotebook,
                        RecordedContext, write_notebook)


@pytest.fixture(scope="session")
def jupyter_lab(tmp_path_factory):
    """A real JupyterLab on 127.0.0.1 with a token, shared by the session's browser tests."""
    lab = JupyterLab(tmp_path_factory.mktemp("jupyter-lab"))
    yield lab
    lab.stop()


@pytest.fixture(scope="session")
def browser():
    """Chromium from Debian (``playwright install`` cannot download browsers here)."""
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium "
                    "(or set TFL_JUPYTER_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def lab_context(browser):
    """A fresh browser context (1400x1000) that records its requests."""
    recorded = RecordedContext(browser, viewport={"width": 1400, "height": 1000})
    yield recorded
    recorded.close()


@pytest.fixture
def open_notebook(jupyter_lab, lab_context):
    """``open_notebook(name, cells, context=None) -> LabNotebook``, opened and kernel ready."""

    def open_(name: str, cells: List[str], context: Optional[RecordedContext] = None):
        write_notebook(jupyter_lab.root / name, cells)
        page = (context or lab_context).context.new_page()
        return LabNotebook(page, jupyter_lab, name).open()

    return open_


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """``tests/artifacts/`` (gitignored), for screenshots."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, keep a screenshot of every open page in tests/artifacts/."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for i, recorded in enumerate(RecordedContext.live):
            for j, page in enumerate(recorded.context.pages):
                try:
                    page.screenshot(path=str(ARTIFACTS / f"FAILED-{item.name}-{i}-{j}.png"),
                                    full_page=True)
                except Exception:  # a crashed page must not hide the test's own error
                    pass
