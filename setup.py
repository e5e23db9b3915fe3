"""Build hook: bundle the viewer's front-end (js/) into tfl_jupyter/static/ when needed.

Everything else about the package is in pyproject.toml. The bundle is committed, so an
install from a checkout needs no Node.js unless js/ changed since the bundle was built;
then ``npm ci && npm run build`` runs here (as part of ``pip install``). Wheels carry the
bundle, so installing one never needs Node.js.
"""

import hashlib
import shutil
import subprocess
import warnings
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.editable_wheel import editable_wheel

HERE = Path(__file__).resolve().parent
JS = HERE / "js"
BUNDLE = HERE / "tfl_jupyter" / "static" / "netron_view.js"
# Kept in step with js/build.mjs, which writes this line with the same hash.
BANNER_PREFIX = "// tfl_jupyter netron_view, built from js/ sources sha256:"


def source_hash() -> str:
    """sha256 over js/'s sources, as js/build.mjs computes it."""
    names = ["build.mjs", "package.json", "package-lock.json"]
    names += [f"src/{path.name}" for path in (JS / "src").glob("*.js")]
    digest = hashlib.sha256()
    for name in sorted(names):
        text = (JS / name).read_text(encoding="utf-8").replace("\r\n", "\n")
        digest.update(f"{name}\0{text}\0".encode("utf-8"))
    return digest.hexdigest()


def built_hash():
    """The source hash recorded in the bundle, or None."""
    try:
        with BUNDLE.open(encoding="utf-8") as bundle:
            first = bundle.readline().strip()
    except OSError:
        return None
    return first[len(BANNER_PREFIX):] if first.startswith(BANNER_PREFIX) else None


def ensure_frontend() -> None:
    """Rebuild the bundle if js/ is here and the bundle is missing or stale."""
    if not (JS / "package.json").exists():
        return  # an sdist or tree without js/: use the bundle as shipped
    if built_hash() == source_hash():
        return
    npm = shutil.which("npm")
    if npm is None:
        if BUNDLE.exists():
            warnings.warn("tfl_jupyter: js/ changed since tfl_jupyter/static/netron_view.js "
                          "was built and npm is not installed; using the old bundle")
            return
        raise SystemExit("tfl_jupyter: building the viewer front-end needs Node.js and npm "
                         "(https://nodejs.org); or install a built wheel")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True)
    subprocess.run([npm, "run", "build"], cwd=JS, check=True)


class BuildPyWithFrontend(build_py):
    """``build_py`` that first makes sure the front-end bundle is fresh."""

    def run(self):
        ensure_frontend()
        super().run()


class EditableWheelWithData(editable_wheel):
    """``editable_wheel`` that also installs ``data_files`` (the server extension's config).

    setuptools' editable_wheel asks the distribution for ``has_data()``, which does not
    exist (it is ``has_data_files()``), so ``pip install -e .`` would silently leave the
    Jupyter server extension disabled. Harmless once setuptools fixes it.
    """

    def _run_install(self, category):
        super()._run_install(category)
        dist = self.distribution
        if category == "data" and not hasattr(dist, "has_data") and dist.has_data_files():
            self.run_command("install_data")


setup(cmdclass={"build_py": BuildPyWithFrontend, "editable_wheel": EditableWheelWithData})
