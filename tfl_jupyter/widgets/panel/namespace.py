"""The notebook's variables, as the panel sees them: which are models, which are datasets.

Variables are read from ``IPython.get_ipython().user_ns`` at the moment they are needed,
so a variable deleted or redefined while the panel is open is seen as it is now.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ...core.datasets import is_tf_dataset
from ...core.sources import KERAS_FILE_SUFFIXES

_HIDDEN = {"In", "Out", "exit", "quit", "get_ipython", "open"}
_MAX_PATHS = 40
_MAX_SCAN = 500  # directory entries looked at per folder


class NotFound(LookupError):
    """A name the user typed is neither a variable, a path nor an expression that evaluates."""


DEFERRED = object()  # lookup() of an expression that calls something, while only checking


class Namespace:
    """Look up and list the notebook's variables.

    Parameters
    ----------
    variables : dict, optional
        The namespace to use; by default the running IPython's ``user_ns`` (looked up on
        every call), or an empty one outside IPython.
    """

    def __init__(self, variables: Optional[dict] = None):
        self._variables = variables
        self.given: Dict[str, Any] = {}  # objects handed to tj.panel that no variable holds

    @property
    def variables(self) -> dict:
        """The namespace as it is now."""
        if self._variables is not None:
            return self._variables
        try:
            from IPython import get_ipython
        except ImportError:
            return {}
        shell = get_ipython()
        return shell.user_ns if shell is not None else {}

    def name_of(self, obj: Any, placeholder: str) -> str:
        """The variable that holds ``obj``, or ``placeholder`` (kept in :attr:`given`)."""
        for name, value in self._public_items():
            if value is obj:
                return name
        self.given[placeholder] = obj
        return placeholder

    def models(self) -> List[str]:
        """Names of variables holding something convertible, then model files and folders here."""
        names = [name for name, value in self._public_items() if is_model(value)]
        return list(self.given_of(is_model)) + sorted(names) + model_paths(os.getcwd())

    def datasets(self) -> List[str]:
        """Names of variables that can be a representative dataset."""
        names = [name for name, value in self._public_items() if is_dataset(value)]
        return list(self.given_of(is_dataset)) + sorted(names)

    def given_of(self, kind) -> List[str]:
        return [name for name, value in self.given.items() if kind(value)]

    def lookup(self, text: str, what: str, paths: bool = False, calls: bool = True) -> Tuple[Any, str]:
        """Resolve ``text`` like the magic does: a variable, else a path, else an expression.

        Parameters
        ----------
        calls : bool
            Evaluate expressions that call something (``load_data()``). The live check
            passes False: such an expression may be slow or have side effects, so it is
            only evaluated when Convert is pressed, and :data:`DEFERRED` stands in for it.

        Returns
        -------
        (object or path string, kind)
            ``kind`` is ``"variable"``, ``"path"`` or ``"expression"``.

        Raises
        ------
        NotFound
            With a message that names the fix.
        """
        text = text.strip()
        if text in self.given:
            return self.given[text], "variable"
        variables = self.variables
        if text in variables:
            return variables[text], "variable"
        if paths and os.path.exists(os.path.expanduser(text)):
            return text, "path"
        if text.isidentifier():
            raise NotFound(f"{what} {text!r} is not defined in the notebook (any more): define it again, or pick another")
        if not calls and _calls_something(text):
            return DEFERRED, "expression"
        try:
            return eval(text, dict(variables)), "expression"  # e.g. calib[:100], the magic accepts the same
        except Exception as exc:
            where = " nor an existing path" if paths else ""
            raise NotFound(f"{what} {text!r} is neither a notebook variable{where} nor an expression that runs "
                           f"({type(exc).__name__}: {exc})") from None

    def _public_items(self):
        return [(n, v) for n, v in list(self.variables.items()) if not n.startswith("_") and n not in _HIDDEN]


def _calls_something(text: str) -> bool:
    """Whether evaluating ``text`` would call code (a function call, a comprehension, a lambda...)."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return False  # eval reports it
    plain = (ast.Expression, ast.Name, ast.Attribute, ast.Subscript, ast.Slice, ast.Constant, ast.Tuple, ast.List,
             ast.UnaryOp, ast.USub, ast.Load)
    return not all(isinstance(node, plain) for node in ast.walk(tree))


def is_model(obj: Any) -> bool:
    """Whether ``obj`` looks convertible (checked by class, without importing TensorFlow)."""
    if isinstance(obj, (list, tuple)):  # several functions, converted together
        return bool(obj) and all(is_model(item) and not isinstance(item, (list, tuple)) for item in obj)
    names = {(cls.__module__.split(".")[0], cls.__name__) for cls in type(obj).__mro__}
    if any(top in ("keras", "tf_keras", "tensorflow") and name in ("Model", "Functional", "Sequential")
           for top, name in names):
        return True
    if ("tensorflow", "ConcreteFunction") in names:
        return True
    if any(top == "tensorflow" and name in ("Function", "PolymorphicFunction") for top, name in names):
        return getattr(obj, "input_signature", None) is not None
    if ("tensorflow", "Module") in names and not isinstance(obj, type):
        call = getattr(obj, "__call__", None)
        return getattr(call, "input_signature", None) is not None
    return False


def is_dataset(obj: Any) -> bool:
    """Whether ``obj`` can be a representative dataset (array, list of arrays, dict, tf.data, generator function)."""
    if isinstance(obj, np.ndarray):
        return obj.ndim >= 1 and obj.dtype.kind in "fiub"
    if isinstance(obj, dict):
        return bool(obj) and all(isinstance(v, np.ndarray) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        first = obj[0] if obj else None
        return isinstance(first, np.ndarray) or (
            isinstance(first, (list, tuple)) and bool(first) and isinstance(first[0], np.ndarray))
    return is_tf_dataset(obj) or inspect.isgeneratorfunction(obj)


def describe(obj: Any) -> str:
    """A few words on what ``obj`` is: ``"ndarray (64, 32, 32, 3) float32"``."""
    if isinstance(obj, str):
        path = Path(obj).expanduser()
        if path.is_dir():
            return "SavedModel directory" if (path / "saved_model.pb").exists() else "directory (not a SavedModel)"
        return f"{path.suffix or 'model'} file"
    if isinstance(obj, np.ndarray):
        return f"ndarray {obj.shape} {obj.dtype}"
    if isinstance(obj, dict):
        return "dict of " + ", ".join(f"{k}: {getattr(v, 'shape', '?')}" for k, v in list(obj.items())[:4])
    if isinstance(obj, (list, tuple)):
        return f"{type(obj).__name__} of {len(obj)} samples"
    if is_tf_dataset(obj):
        return "tf.data.Dataset"
    if inspect.isgeneratorfunction(obj):
        return f"generator function {obj.__name__}()"
    model_name = getattr(obj, "name", None)
    inputs = getattr(obj, "inputs", None)
    if is_model(obj) and inputs is not None and isinstance(model_name, str):
        shapes = ", ".join(str(tuple(getattr(t, "shape", ()))) for t in inputs)
        return f"Keras model {model_name!r}, input {shapes}"
    signature = getattr(obj, "input_signature", None)
    if is_model(obj) and signature is not None:
        specs = ", ".join(f"{getattr(getattr(s, 'dtype', None), 'name', '?')}{list(getattr(s, 'shape', []))}"
                          for s in signature)
        return f"tf.function {getattr(obj, '__name__', '')}({specs})"
    return type(obj).__name__


def sample_count(dataset: Any) -> Optional[int]:
    """How many calibration samples ``dataset`` holds, where that is known without iterating it."""
    if isinstance(dataset, np.ndarray):
        return len(dataset) if dataset.ndim else None
    if isinstance(dataset, dict):
        lengths = {len(v) for v in dataset.values() if hasattr(v, "__len__")}
        return lengths.pop() if len(lengths) == 1 else None
    if isinstance(dataset, (list, tuple)):
        return len(dataset)
    return None


def model_paths(folder: str) -> List[str]:
    """``.keras``/``.h5`` files and SavedModel directories in ``folder`` and one level below."""
    found = []
    try:  # islice: a folder of a million data files must not stall every cell run
        entries = sorted(itertools.islice(Path(folder).iterdir(), _MAX_SCAN))
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        candidates = [entry]
        if entry.is_dir() and not (entry / "saved_model.pb").exists():
            try:
                candidates = sorted(itertools.islice(entry.iterdir(), _MAX_SCAN))
            except OSError:
                candidates = []
        for path in candidates:
            if path.suffix in KERAS_FILE_SUFFIXES or (path.is_dir() and (path / "saved_model.pb").exists()):
                found.append(os.path.relpath(path, folder))
            if len(found) >= _MAX_PATHS:
                return found
    return found
