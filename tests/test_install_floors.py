"""Installs where users already are, in fresh virtualenvs, with real TensorFlow.

Two environments, built once per run and deleted afterwards:

* ``floors``: TensorFlow's floor (the ``cpu`` extra's, ``tensorflow-cpu==2.18`` on Linux
  x86_64) and every dependency pinned to the floor ``pyproject.toml`` declares for it
  (``numpy==1.26``, ``pandas==2.1``, ...), together with the package;
* ``bare``: TensorFlow's floor installed alone, as a user has it, then the package with no
  extras and no pins: pip picks today's newest dependencies, and must change nothing that
  TensorFlow brought (no numpy 2.x under a TensorFlow that needs numpy < 2).

TensorFlow's floor is installed once, alone (the ``bare`` start); ``floors`` starts as a
hard-linked copy of it, then both install the package in parallel, with ``--no-compile``.
The package is the wheel ``pip install .`` builds (built here once, without npm on PATH, so
the checkout is never written to). ``tests/smoke_public_api.py`` then runs in each
environment, within two minutes. Needs PyPI (downloads are not cached: the registry's proxy
here sends no cache headers, so pip's HTTP cache stays empty; TensorFlow's 230 MB take about
10 s). About 3 minutes in all on 2 idle cores. Deselect them with ``-m "not install_floors"``.

``test_every_third_party_import_is_declared`` (no environment, not deselected) checks the
imports under tfl_jupyter/ against ``[project.dependencies]``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "tests" / "smoke_public_api.py"
SMOKE_TIMEOUT = 120  # seconds: one smoke must stay under two minutes
INSTALL_TIMEOUT = 1500
# The modules tfl_jupyter imports that need no [project.dependencies] entry, and why.
NOT_DEPENDENCIES = {
    "tensorflow": "the user's TensorFlow, or the cpu/gpu extra",
    "keras": "comes with TensorFlow (every supported one requires Keras 3)",
    "tflite_micro": "the micro extra",
    "litert_quantizer": "the quantizer extra",
    "jupyter_server": "tfl_jupyter.server is loaded by a Jupyter server only",
    "tornado": "tfl_jupyter.server is loaded by a Jupyter server only",
}
# Import name -> distribution, where they differ.
DISTRIBUTIONS = {"IPython": "ipython", "ai_edge_litert": "ai-edge-litert"}


def _pyproject() -> dict:
    if tomllib is None:
        pytest.skip("reading pyproject.toml needs Python 3.11 (tomllib)")
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def declared_floors() -> dict:
    """``{distribution: floor}`` for every dependency and this platform's ``cpu`` TensorFlow."""
    project = _pyproject()["project"]
    environment = {**default_environment(), "extra": "cpu"}
    requirements = [Requirement(text) for text in project["dependencies"]]
    requirements += [r for r in map(Requirement, project["optional-dependencies"]["cpu"])
                     if r.marker is None or r.marker.evaluate(environment)]
    floors = {}
    for requirement in requirements:
        lower = [s.version for s in requirement.specifier if s.operator == ">="]
        assert len(lower) == 1, f"{requirement}: declare one floor (>=) for every dependency"
        floors[requirement.name] = lower[0]
    return floors


def _tensorflow(floors: dict) -> str:
    [name] = [n for n in floors if n.startswith("tensorflow")]
    return name


# -- which modules the package imports ------------------------------------------------


def _top_level_imports() -> set:
    """Top-level modules imported anywhere under tfl_jupyter/ (statements, not strings)."""
    import ast

    names = set()
    for path in (REPO / "tfl_jupyter").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__", "tfl_jupyter"}


def test_every_third_party_import_is_declared():
    declared = {Requirement(text).name.lower() for text in _pyproject()["project"]["dependencies"]}
    undeclared = {module for module in _top_level_imports() - set(NOT_DEPENDENCIES)
                  if DISTRIBUTIONS.get(module, module).lower().replace("_", "-") not in declared}
    assert not undeclared, f"imported under tfl_jupyter/ but not in [project.dependencies]: {sorted(undeclared)}"
    # pandas imports jinja2 for Styler, which renders every table
    assert "jinja2" in declared


# -- the two environments -------------------------------------------------------------


def _clean_environment(bin_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_PROGRESS_BAR="off", VIRTUAL_ENV=str(bin_dir.parent))
    return env


FREEZE = ("import importlib.metadata as m; "
          "print('\\n'.join(f\"{d.metadata['Name']}=={d.version}\" for d in m.distributions()))")


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class Env:
    """A virtualenv and what was done to it."""

    def __init__(self, root: Path):
        self.root = root
        self.python = root / "bin" / "python"
        self.log = []
        self.seconds = {}
        self.error = None
        self.before = self.installed = None

    def run(self, step: str, *args, timeout=INSTALL_TIMEOUT):
        started = time.monotonic()
        completed = subprocess.run([str(a) for a in args], cwd=self.root.parent, capture_output=True, text=True,
                                   timeout=timeout, env=_clean_environment(self.python.parent))
        self.seconds[step] = round(self.seconds.get(step, 0) + time.monotonic() - started, 1)
        self.log.append(f"$ {' '.join(map(str, args))}\n{completed.stdout[-4000:]}{completed.stderr[-4000:]}")
        if completed.returncode:
            raise RuntimeError(f"{step} failed (exit {completed.returncode}):\n{self.log[-1]}")
        return completed.stdout

    def pip(self, step: str, *args):
        # this suite's pip, installing into the environment (no pip of its own to bootstrap)
        return self.run(step, sys.executable, "-m", "pip", "--python", self.python, *args)

    def freeze(self) -> dict:
        out = self.run("freeze", self.python, "-I", "-c", FREEZE)
        return {_key(n): v for n, v in (line.split("==", 1) for line in out.splitlines() if "==" in line)}

    def step(self, function, *args):
        """Run ``function(self, *args)`` unless an earlier step failed; keep its error for the tests."""
        if self.error is None:
            started = time.monotonic()
            try:
                function(self, *args)
            except Exception as exc:
                self.error = str(exc)
            self.seconds["total"] = round(self.seconds.get("total", 0) + time.monotonic() - started, 1)
        return self


def _tensorflow_alone(env: Env, floors: dict):
    """A new virtualenv holding TensorFlow's floor and what it pulls, as a user has it."""
    env.run("venv", sys.executable, "-m", "venv", "--without-pip", env.root)
    tensorflow = _tensorflow(floors)
    env.pip("install TensorFlow", "install", "--no-compile", f"{tensorflow}=={floors[tensorflow]}")
    env.before = env.freeze()


def _hard_linked_copy(env: Env, source: Env):
    """``source`` as it is, hard-linked (TensorFlow is installed once for both environments).

    Neither environment can write into the other's files: pip unlinks a file before writing
    one at its path, and Python replaces bytecode files rather than rewriting them.
    """
    if source.error:
        raise RuntimeError(source.error)
    started = time.monotonic()
    shutil.copytree(source.root, env.root, symlinks=True, copy_function=os.link)
    env.seconds["hard-linked copy"] = round(time.monotonic() - started, 1)


def _install_on_floors(env: Env, wheel: Path, floors: dict):
    constraints = env.root / "floors.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in floors.items()))
    env.pip("install", "install", "--no-compile", "--only-binary", ",".join(floors), "-c", constraints, wheel)
    env.pip("pip check", "check")
    env.installed = env.freeze()


def _install_bare(env: Env, wheel: Path):
    env.pip("install", "install", "--no-compile", wheel)
    env.pip("pip check", "check")
    env.installed = env.freeze()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel ``pip install .`` builds, built without npm on PATH (nothing in the checkout is written)."""
    out = tmp_path_factory.mktemp("wheel")
    no_npm = tmp_path_factory.mktemp("no-npm-path")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{no_npm}", "PIP_NO_INDEX": "1"}
    completed = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                                "--wheel-dir", str(out), str(REPO)],
                               capture_output=True, text=True, timeout=300, env=env)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [built] = out.glob("tfl_jupyter-*.whl")
    return built


@pytest.fixture(scope="module")
def environments(wheel, tmp_path_factory):
    """``{"floors": Env, "bare": Env}``; deleted when the module is done.

    TensorFlow's floor is installed once, alone; the floors environment starts as a
    hard-linked copy of that one, then both install the package, in parallel.
    """
    if sys.platform == "win32":
        pytest.skip("the install checks build POSIX virtualenvs")
    floors = declared_floors()
    base = tmp_path_factory.mktemp("install-envs")
    bare, on_floors = Env(base / "bare"), Env(base / "floors")
    bare.step(_tensorflow_alone, floors)
    on_floors.step(_hard_linked_copy, bare)
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(on_floors.step, _install_on_floors, wheel, floors),
                       pool.submit(bare.step, _install_bare, wheel)]:
            future.result()
    envs = {"floors": on_floors, "bare": bare}
    for name, env in envs.items():
        print(f"\n{name} environment: {env.seconds}")
    yield envs
    shutil.rmtree(base, ignore_errors=True)  # ~1.3 GB each


def _ready(env: Env) -> Env:
    if env.error:
        pytest.fail(env.error, pytrace=False)
    return env


def _smoke(env: Env):
    started = time.monotonic()
    try:
        completed = subprocess.run([str(env.python), str(SMOKE)], cwd=env.root, capture_output=True, text=True,
                                   timeout=SMOKE_TIMEOUT, env=_clean_environment(env.python.parent))
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the smoke took over {SMOKE_TIMEOUT}s:\n{exc.stdout or ''}", pytrace=False)
    output = completed.stdout + completed.stderr[-3000:]
    print(f"smoke: {time.monotonic() - started:.1f}s\n{completed.stdout}")
    # the installed package, not the checkout
    assert f"tfl_jupyter from {env.root}" in completed.stdout, output
    assert completed.returncode == 0, output
    assert re.search(r"^\d+ passed, 0 failed$", completed.stdout, re.MULTILINE), output


@pytest.mark.install_floors
def test_floors_are_what_is_installed(environments):
    env = _ready(environments["floors"])
    floors = declared_floors()
    installed = {name: env.installed.get(_key(name)) for name in floors}
    wrong = {name: (version, installed[name]) for name, version in floors.items()
             if installed[name] is None or Version(installed[name]) != Version(version)}
    assert not wrong, f"declared floor vs installed: {wrong}"


@pytest.mark.install_floors
def test_public_api_on_the_declared_floors(environments):
    _smoke(_ready(environments["floors"]))


@pytest.mark.install_floors
def test_bare_install_changes_nothing_tensorflow_brought(environments):
    env = _ready(environments["bare"])
    changed = {name: (version, env.installed.get(name)) for name, version in env.before.items()
               if env.installed.get(name) != version}
    assert not changed, f"pip install of tfl_jupyter changed TensorFlow's environment: {changed}"


@pytest.mark.install_floors
def test_public_api_on_a_bare_install(environments):
    _smoke(_ready(environments["bare"]))
