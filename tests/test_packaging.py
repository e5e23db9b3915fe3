"""How tfl_jupyter is packaged: metadata, TensorFlow per platform, the front-end bundle.

The build tests build real sdists and wheels from a copy of the checkout, without build
isolation (hatchling and hatch-jupyter-builder come with the ``test`` extra) and with no
npm on PATH, so they need no network.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from importlib.metadata import requires, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
BUNDLES = ("tfl_jupyter/static/netron_view.js", "tfl_jupyter/static/netron_overlay.js")
SERVER_CONFIG = "etc/jupyter/jupyter_server_config.d/tfl_jupyter.json"


def _environment(sys_platform, machine):
    system, os_name = {"linux": ("Linux", "posix"), "darwin": ("Darwin", "posix"),
                       "win32": ("Windows", "nt")}[sys_platform]
    return {"sys_platform": sys_platform, "platform_machine": machine,
            "platform_system": system, "os_name": os_name}


# Which TensorFlow distributions have CPython wheels on each platform, and the newest such
# version (checked on PyPI with `pip install --dry-run --only-binary=:all: --platform ...`
# when TensorFlow 2.21.0 was current): tensorflow-cpu has no wheels for Apple silicon or
# Linux ARM. Intel macOS is not listed: TensorFlow stops at 2.16.2 there, below the floor,
# and ai-edge-litert has no wheels for it.
PLATFORMS = {
    "linux/x86_64": (_environment("linux", "x86_64"), {"tensorflow-cpu": "2.21.0", "tensorflow": "2.21.0"}),
    "linux/aarch64": (_environment("linux", "aarch64"), {"tensorflow": "2.21.0"}),
    "darwin/arm64": (_environment("darwin", "arm64"), {"tensorflow": "2.21.0"}),
    "win32/AMD64": (_environment("win32", "AMD64"), {"tensorflow-cpu": "2.21.0", "tensorflow": "2.21.0"}),
}
# The oldest TensorFlow claimed, the one tests/test_install_floors.py installs; 2.17 needs
# numpy < 2, which pandas 3 does not allow.
TENSORFLOW_FLOOR, BELOW_FLOOR = "2.18.0", "2.17.1"


def _selected(requirements, environment, extra):
    """The requirements that ``pip install 'tfl_jupyter[extra]'`` installs on ``environment``."""
    return [r for r in requirements
            if r.marker is not None and r.marker.evaluate({**environment, "extra": extra})]


def _check_tensorflow_extras(requirement_texts):
    requirements = [Requirement(text) for text in requirement_texts]
    for platform, (environment, wheels) in PLATFORMS.items():
        cpu = [r for r in _selected(requirements, environment, "cpu") if r.name.startswith("tensorflow")]
        assert len(cpu) == 1, (platform, [str(r) for r in cpu])
        assert cpu[0].name in wheels, f"{platform}: {cpu[0].name} has no wheels there"
        newest = wheels[cpu[0].name]
        assert cpu[0].specifier.contains(newest) and cpu[0].specifier.contains(TENSORFLOW_FLOOR), (platform, str(cpu[0]))
        assert not cpu[0].specifier.contains(BELOW_FLOOR), (platform, str(cpu[0]))
        gpu = [r for r in _selected(requirements, environment, "gpu") if r.name.startswith("tensorflow")]
        assert [r.name for r in gpu] == ["tensorflow"], (platform, [str(r) for r in gpu])
        assert "and-cuda" in gpu[0].extras and gpu[0].specifier.contains(TENSORFLOW_FLOOR), str(gpu[0])
        assert not gpu[0].specifier.contains(BELOW_FLOOR), str(gpu[0])


def _project_version():
    """The version, as written once in pyproject.toml."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(r'^version = "([^"]+)"$', text, re.MULTILINE).group(1)


def _hatch_build():
    spec = importlib.util.spec_from_file_location("hatch_build", REPO / "hatch_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the installed distribution ---------------------------------------------------------


def test_no_tensorflow_distribution_is_required_unconditionally():
    # `tensorflow` and `tensorflow-cpu` are different distributions: requiring either
    # would install a second TensorFlow next to the other.
    unconditional = [r.name for r in map(Requirement, requires("tfl_jupyter") or []) if r.marker is None]
    assert not [name for name in unconditional if name.startswith("tensorflow")], unconditional


def test_extras_offer_each_tensorflow_flavour():
    _check_tensorflow_extras(requires("tfl_jupyter") or [])


def test_version_is_read_from_the_installed_metadata():
    import tfl_jupyter

    assert tfl_jupyter.__version__ == version("tfl_jupyter") == _project_version()


@pytest.mark.parametrize("bundle", BUNDLES)
def test_committed_bundle_matches_its_sources(bundle):
    hatch_build = _hatch_build()
    assert hatch_build.built_hash(REPO / bundle) == hatch_build.source_hash(), (
        f"{bundle} is stale: cd js && npm ci && npm run build")


# -- building sdists and wheels ---------------------------------------------------------


def _copy_checkout(destination: Path) -> Path:
    """Copy the files git would commit (tracked or new, not ignored) to ``destination``."""
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():  # skips files deleted but not yet committed
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def _run(args, cwd, no_npm_dir):
    """Run ``args`` with only ``no_npm_dir`` (which holds no npm) on PATH."""
    env = {**os.environ, "PATH": str(no_npm_dir), "PIP_NO_INDEX": "1"}
    assert shutil.which("npm", path=env["PATH"]) is None
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _pip_wheel(project: Path, outdir: Path, no_npm_dir: Path):
    return _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v",
                 "--wheel-dir", str(outdir), "."], project, no_npm_dir)


@pytest.fixture(scope="module")
def no_npm_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("empty-path")


@pytest.fixture(scope="module")
def built(tmp_path_factory, no_npm_dir):
    """An sdist and the wheel ``python -m build`` makes from it: ``(sdist, wheel)``."""
    project = _copy_checkout(tmp_path_factory.mktemp("checkout"))
    dist = project / "dist"
    completed = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), "."],
                     project, no_npm_dir)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [sdist] = dist.glob("*.tar.gz")
    [wheel] = dist.glob("*.whl")
    return sdist, wheel


def _wheel_metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        [name] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode("utf-8"))


def test_wheel_metadata_has_one_version_and_the_license(built):
    sdist, wheel = built
    metadata = _wheel_metadata(wheel)
    assert metadata["Version"] == _project_version()
    assert wheel.name == f"tfl_jupyter-{_project_version()}-py3-none-any.whl"
    assert sdist.name == f"tfl_jupyter-{_project_version()}.tar.gz"
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    with zipfile.ZipFile(wheel) as archive:
        license_text = archive.read(f"tfl_jupyter-{_project_version()}.dist-info/licenses/LICENSE").decode()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    classifiers = metadata.get_all("Classifier")
    assert {"Framework :: Jupyter", "Operating System :: POSIX :: Linux", "Operating System :: MacOS",
            "Operating System :: Microsoft :: Windows"} <= set(classifiers)


def test_wheel_metadata_picks_one_tensorflow_per_platform(built):
    _, wheel = built
    requirement_texts = _wheel_metadata(wheel).get_all("Requires-Dist")
    _check_tensorflow_extras(requirement_texts)
    runtime = {r.name: r for r in map(Requirement, requirement_texts) if r.marker is None}
    assert runtime["flatbuffers"].specifier.contains("24.3.25")  # the GPU check builds .tflite files
    assert runtime["netron"].specifier.contains("9.3.3") and not runtime["netron"].specifier.contains("10.0")


def test_wheel_carries_the_bundle_and_the_server_config(built):
    _, wheel = built
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        for bundle in BUNDLES:
            assert archive.read(bundle) == (REPO / bundle).read_bytes()
        config = f"tfl_jupyter-{_project_version()}.data/data/{SERVER_CONFIG}"
        assert config in names, names
        enabled = json.loads(archive.read(config))["ServerApp"]["jpserver_extensions"]
    assert enabled == {"tfl_jupyter.server": True}
    assert not [n for n in names if "node_modules" in n or n.startswith(("js/", "tests/"))]


def test_sdist_carries_the_sources_and_not_the_build_leftovers(built):
    sdist, _ = built
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = {"pyproject.toml", "README.md", "LICENSE", "hatch_build.py", *BUNDLES,
                "js/build.mjs", "js/package.json", "js/package-lock.json",
                "jupyter-config/jupyter_server_config.d/tfl_jupyter.json"}
    expected |= {f"js/src/{path.name}" for path in (REPO / "js" / "src").glob("*.js")}
    assert expected <= names, expected - names
    assert not [n for n in names if n.startswith((".venv", "node_modules", "js/node_modules", "dist/"))
                or ".egg-info" in n or "__pycache__" in n]


def test_editable_wheel_carries_the_server_config(tmp_path, no_npm_dir):
    # What `pip install -e .` installs: the checkout on sys.path and the config that
    # enables the server extension (without it, Jupyter would not load the viewer).
    project = _copy_checkout(tmp_path / "checkout")
    script = ("import sys; from pyproject_hooks import BuildBackendHookCaller; "
              "print(BuildBackendHookCaller('.', 'hatchling.build').build_editable(sys.argv[1]))")
    completed = _run([sys.executable, "-c", script, str(tmp_path)], project, no_npm_dir)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    wheel = tmp_path / completed.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        [pth] = [n for n in names if n.endswith(".pth")]
        assert Path(archive.read(pth).decode().strip()).resolve() == project.resolve()
    assert f"tfl_jupyter-{_project_version()}.data/data/{SERVER_CONFIG}" in names, names


def test_pip_wheel_without_node_uses_the_current_bundle(tmp_path, no_npm_dir):
    project = _copy_checkout(tmp_path / "checkout")
    hatch_build = _hatch_build()
    fresh = all(hatch_build.built_hash(REPO / bundle) == hatch_build.source_hash() for bundle in BUNDLES)
    completed = _pip_wheel(project, tmp_path / "wheels", no_npm_dir)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [wheel] = (tmp_path / "wheels").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for bundle in BUNDLES:
            assert archive.read(bundle) == (project / bundle).read_bytes()
    if fresh:  # else test_committed_bundle_matches_its_sources reports it
        assert "js/ changed since" not in completed.stdout + completed.stderr


def test_stale_bundle_without_node_warns_and_ships_the_old_bundle(tmp_path, no_npm_dir):
    project = _copy_checkout(tmp_path / "checkout")
    old_bundles = [(project / bundle).read_bytes() for bundle in BUNDLES]
    source = sorted((project / "js" / "src").glob("*.js"))[0]
    source.write_text(source.read_text(encoding="utf-8") + "\n// changed after the bundle was built\n",
                      encoding="utf-8")
    completed = _pip_wheel(project, tmp_path / "wheels", no_npm_dir)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "js/ changed since the bundles in tfl_jupyter/static/ were built, and npm is not on PATH" in output
    [wheel] = (tmp_path / "wheels").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert [archive.read(bundle) for bundle in BUNDLES] == old_bundles


def test_missing_bundle_without_node_fails_clearly(tmp_path, no_npm_dir):
    project = _copy_checkout(tmp_path / "checkout")
    (project / BUNDLES[1]).unlink()
    completed = _pip_wheel(project, tmp_path / "wheels", no_npm_dir)
    assert completed.returncode != 0
    assert "netron_overlay.js missing and npm is not on PATH" in completed.stdout + completed.stderr
    assert not list((tmp_path / "wheels").glob("*.whl"))
