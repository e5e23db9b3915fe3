"""Every patch the viewer makes to Netron's web app applies to the installed netron.

A newer netron that moved the code a patch rewrites would only make the viewer warn at run
time (and show the consent dialog or the "update" loop); here it fails.
"""

import shutil
import warnings

import pytest

from tfl_jupyter.server import assets


@pytest.fixture
def fresh_cache():
    assets._patched.cache_clear()
    assets.asset_names.cache_clear()
    yield
    assets._patched.cache_clear()
    assets.asset_names.cache_clear()


def test_every_patch_finds_its_target():
    status = assets.patch_status()
    assert {name for name, _, _ in status} == {"index.html", "browser.js"}
    missed = [(name, purpose) for name, purpose, applied in status if not applied]
    assert not missed, f"netron {assets.netron_version()}: patches that no longer apply: {missed}"


def test_patched_files_are_served_without_warnings(fresh_cache):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        index, _ = assets.asset("index.html")
        browser, _ = assets.asset("browser.js")
    index, browser = index.decode(), browser.decode()
    assert '<meta name="date"' not in index  # no 180-day "Please update" loop
    assert '<meta name="version"' not in index and '<meta name="netron-version"' in index  # no telemetry
    assert "tfl_jupyter: no consent dialog" in browser
    assert f'<script type="text/javascript" src="{assets.OVERLAY_SCRIPT}" defer></script>' in index


def test_the_overlay_painter_is_served_beside_the_app():
    content, media_type = assets.asset(assets.OVERLAY_SCRIPT)
    assert media_type.startswith("text/javascript")
    assert content.startswith(b"// tfl_jupyter front-end, built from js/ sources")
    assert b"FramePainter" in content and b"import " not in content  # a classic script, not a module


def test_a_patch_that_no_longer_applies_is_reported(tmp_path, monkeypatch, fresh_cache):
    # The check above must be able to fail: a netron whose browser.js changed.
    for name in ("index.html", "browser.js"):
        shutil.copy(assets.netron_dir() / name, tmp_path / name)
    browser = tmp_path / "browser.js"
    browser.write_text(browser.read_text(encoding="utf-8").replace("_getCookie('consent')", "_cookie('consent')"),
                       encoding="utf-8")
    monkeypatch.setattr(assets, "netron_dir", lambda: tmp_path)
    assert [(name, purpose) for name, purpose, applied in assets.patch_status() if not applied] == [
        ("browser.js", "cookie-consent dialog")]
    with pytest.warns(RuntimeWarning, match="could not patch the cookie-consent dialog"):
        assets.asset("browser.js")
