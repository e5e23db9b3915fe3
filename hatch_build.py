"""Build function for hatch-jupyter-builder: keep the viewer's front-end bundle current.

``js/`` holds the sources of the viewer's front-end; ``js/build.mjs`` bundles them into
``tfl_jupyter/static/netron_view.js`` (the widget) and ``netron_overlay.js`` (the overlay
painter inside Netron's page), which are committed and ship in every wheel and sdist. Each
bundle's first line records a sha256 of the sources it was built from, so a stale bundle is
told from a fresh one without Node.js (file times say nothing after a ``git clone``).

When pyproject.toml's ``[tool.hatch.build.hooks.jupyter-builder]`` calls
:func:`build_frontend` before a wheel or sdist is built:

* from an unpacked sdist (it has ``PKG-INFO``), or with a current bundle: nothing runs;
* with a stale bundle: ``npm ci && npm run build`` in ``js/`` if npm is on PATH, else a
  warning, and the old bundle ships;
* with no bundle and no npm: the build stops and says what to install.
"""

import hashlib
import shutil
import subprocess
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
JS = HERE / "js"
BUNDLES = tuple(HERE / "tfl_jupyter" / "static" / name for name in ("netron_view.js", "netron_overlay.js"))
# Kept in step with js/build.mjs, which writes this line with the same hash.
BANNER_PREFIX = "// tfl_jupyter front-end, built from js/ sources sha256:"


def source_hash(js: Path = JS) -> str:
    """The sha256 over ``js/``'s sources, as ``js/build.mjs`` computes it.

    Parameters
    ----------
    js : pathlib.Path
        The ``js/`` directory.

    Returns
    -------
    str
        Hex digest.
    """
    names = ["build.mjs", "package.json", "package-lock.json"]
    names += [f"src/{path.name}" for path in (js / "src").glob("*.js")]
    digest = hashlib.sha256()
    for name in sorted(names):
        text = (js / name).read_text(encoding="utf-8").replace("\r\n", "\n")
        digest.update(f"{name}\0{text}\0".encode("utf-8"))
    return digest.hexdigest()


def built_hash(bundle: Path):
    """The source hash recorded in a bundle's first line.

    Parameters
    ----------
    bundle : pathlib.Path
        A built bundle, one of :data:`BUNDLES`.

    Returns
    -------
    str or None
        None when the bundle is missing or has no banner.
    """
    try:
        with bundle.open(encoding="utf-8") as file:
            first = file.readline().strip()
    except OSError:
        return None
    return first[len(BANNER_PREFIX):] if first.startswith(BANNER_PREFIX) else None


def build_frontend(target_name: str, version: str) -> None:
    """Rebuild the bundle when ``js/`` changed since it was built (see the module doc).

    Parameters
    ----------
    target_name : str
        ``"wheel"`` or ``"sdist"`` (from hatch-jupyter-builder; unused).
    version : str
        ``"standard"`` or ``"editable"`` (unused: both need a current bundle).

    Raises
    ------
    RuntimeError
        There is no bundle and npm is not on PATH.
    """
    if (HERE / "PKG-INFO").exists() or not (JS / "package.json").exists():
        return  # an unpacked sdist or a tree without js/: the bundle ships as it is
    current = source_hash()
    if all(built_hash(bundle) == current for bundle in BUNDLES):
        return
    npm = shutil.which("npm")
    if npm is None:
        missing = [bundle.name for bundle in BUNDLES if not bundle.exists()]
        if not missing:
            warnings.warn(
                "tfl_jupyter: js/ changed since the bundles in tfl_jupyter/static/ were built, "
                "and npm is not on PATH: packaging the old bundles. Install Node.js "
                "(https://nodejs.org) and build again to include the changes.",
                stacklevel=2)
            return
        raise RuntimeError(
            f"tfl_jupyter: tfl_jupyter/static/{' and '.join(missing)} missing and npm is not "
            "on PATH. Building the viewer's front-end from js/ needs Node.js and npm "
            "(https://nodejs.org); or install a released wheel or sdist, which carry it.")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True)
    subprocess.run([npm, "run", "build"], cwd=JS, check=True)
