"""Turn what the form shows into a ``tj.convert`` call, and say what is wrong with it before it runs."""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ...core.datasets import CalibrationData, DatasetError, is_tf_dataset
from ...core.settings import SETTING_NAMES, resolve_settings
from . import presets
from .namespace import DEFERRED, Namespace, NotFound, describe, is_model

_LATER = "an expression: evaluated when you press Convert"

_SETTINGS = SETTING_NAMES[1:]  # all but quantize, which resolve_settings takes first

# Words in a settings error -> the form rows it is about (to mark them).
_FIELD_WORDS = (
    ("representative", "dataset"),
    ("inference", "io"),
    ("i/o", "io"),
    ("supported_ops", "supported_ops"),
    ("int16x8", "supported_ops"),
    ("supported_types", "supported_types"),
    ("float16", "supported_types"),
    ("quantize", "quantize"),
    ("recipe", "quantizer"),
    ("litert", "quantizer"),
    ("optimizations", "optimizations"),
    ("timeout", "timeout"),
    ("signature_keys", "signature_keys"),
    ("tags", "tags"),
    ("input_shapes", "input_shapes"),
    ("batch_size", "input_shapes"),
)


@dataclass
class Request:
    """One conversion, ready to run, or the reason it cannot.

    Attributes
    ----------
    source : object or str
        The model object or path.
    kwargs : dict
        Keyword arguments for ``tj.convert`` (``source_name``/``dataset_name`` included).
    error : str or None
        Why this cannot be converted as it stands; None when it can.
    fields : set of str
        Form rows the error is about.
    notes : list of str
        Things worth knowing that do not stop the conversion.
    source_text, dataset_text : str
        What the form showed.
    source_id : int or None
        ``id()`` of the model object, to notice a variable that was redefined.
    """

    source: Any = None
    kwargs: Dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None
    fields: set = field(default_factory=set)
    notes: List[str] = field(default_factory=list)
    source_text: str = ""
    dataset_text: str = ""
    source_description: str = ""
    dataset_description: str = ""
    source_id: Optional[int] = None
    measure: bool = True
    measure_samples: int = 64
    compare_samples: Any = None  # what to measure on (None: the calibration data)
    labels: Any = None  # with them, the comparison has task accuracy
    uses_dataset: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def dataset(self):
        return self.kwargs.get("representative_dataset")


def build_request(shown: Dict[str, Any], namespace: Namespace, *, live: bool = False) -> Request:
    """Resolve the form's values against the notebook and check them as ``tj.convert`` will.

    Parameters
    ----------
    shown : dict
        From :meth:`SettingsForm.shown`.
    namespace : Namespace
        Where variable names are looked up (now, not when the panel was built).
    live : bool
        A check while editing: expressions that call something are not evaluated (they
        are when Convert is pressed).

    Returns
    -------
    Request
        With ``error`` set (and nothing run) when the settings cannot work.
    """
    request = Request(source_text=shown["source"], dataset_text=shown["dataset"],
                      measure=shown["measure"], measure_samples=shown["measure_samples"])
    steps = ((_resolve_source, {"source"}), (_resolve_dataset, {"dataset"}), (_resolve_settings, None),
             (_resolve_measure, {"measure"}))
    for step, fields in steps:
        try:
            step(request, shown, namespace, live)
        except (NotFound, ValueError, TypeError) as exc:
            return _failed(request, exc, fields)
    if request.uses_dataset and request.dataset is not DEFERRED:
        problem = dataset_problem(request.source, request.dataset)
        if problem:
            return _failed(request, ValueError(problem), {"dataset"})
    return request


def _resolve_source(request: Request, shown: Dict[str, Any], namespace: Namespace, live: bool) -> None:
    text = shown["source"]
    if not text:
        raise NotFound("choose a model: a notebook variable, a SavedModel directory or a .keras/.h5 file")
    source, kind = namespace.lookup(text, "model", paths=True, calls=not live)
    if source is DEFERRED:
        request.source, request.source_description = source, _LATER
        return
    if isinstance(source, (str, os.PathLike)):
        kind = "path"  # typed, or a variable holding a path: tj.convert takes it as one
    elif not is_model(source):
        raise TypeError(f"{text!r} holds a {type(source).__name__}, not a model: pick a Keras model, a tf.function "
                        "with an input_signature, a SavedModel directory or a .keras/.h5 file")
    request.source = source
    request.source_id = None if kind == "path" else id(source)
    request.source_description = describe(source)
    request.kwargs["source_name"] = text if kind != "path" and text not in namespace.given else None


def _resolve_dataset(request: Request, shown: Dict[str, Any], namespace: Namespace, live: bool) -> None:
    text = shown["dataset"]
    request.kwargs["representative_dataset"] = request.kwargs["dataset_name"] = None
    if text:
        dataset, _ = namespace.lookup(text, "calibration data", calls=not live)
        request.kwargs["representative_dataset"] = dataset
        request.kwargs["dataset_name"] = text if text not in namespace.given else None
        request.dataset_description = _LATER if dataset is DEFERRED else describe(dataset)


def _resolve_measure(request: Request, shown: Dict[str, Any], namespace: Namespace, live: bool) -> None:
    request.compare_samples, request.labels = measure_inputs(shown, namespace, live=live)


def measure_inputs(shown: Dict[str, Any], namespace: Namespace, *, live: bool = False) -> tuple:
    """(comparison samples or None, labels or None) named in the form's Error check row.

    Raises
    ------
    NotFound
        A name that is not defined; the message names the fix.
    """
    values = []
    for field, what in (("compare_samples", "comparison samples"), ("labels", "labels")):
        text = shown.get(field, "")
        values.append(namespace.lookup(text, what, calls=not live)[0] if text else None)
    return tuple(values)


def _resolve_settings(request: Request, shown: Dict[str, Any], namespace: Namespace, live: bool) -> None:
    request.kwargs.update(_settings_kwargs(shown))
    kwargs = request.kwargs
    settings = resolve_settings(
        kwargs["quantize"],
        representative_dataset=request.dataset,
        converter_attrs=_attrs(kwargs),
        **{k: kwargs[k] for k in _SETTINGS},
    )
    if kwargs["in_process"] and kwargs["timeout"] is not None:
        raise _FieldError("a timeout needs the worker process: untick 'convert in the kernel's process', "
                          "or clear the timeout", "timeout")
    request.notes.extend(settings.notes)
    request.uses_dataset = settings.uses_representative_dataset


def _settings_kwargs(shown: Dict[str, Any]) -> Dict[str, Any]:
    preset = shown["quantize"]
    kwargs: Dict[str, Any] = {"quantize": preset}
    kwargs.update(presets.overrides(preset, {k: shown[k] for k in (
        "optimizations", "supported_ops", "supported_types", "inference_input_type", "inference_output_type")}))
    if kwargs["supported_ops"] == []:
        raise _FieldError("tick at least one ops set under Supported ops (TFLITE_BUILTINS is the usual one)", "supported_ops")
    kwargs["quantizer"] = shown.get("quantizer", "converter")
    kwargs["recipe"] = shown.get("recipe") or None
    if kwargs["quantizer"] == "litert" and kwargs["recipe"]:
        kwargs["quantize"] = "none"  # a recipe stands instead of the preset
    kwargs["allow_custom_ops"] = shown["allow_custom_ops"]
    kwargs["experimental_new_converter"] = shown["experimental_new_converter"]
    kwargs["signature_keys"] = _comma_list(shown["signature_keys"])
    kwargs["tags"] = _comma_list(shown["tags"])
    kwargs["input_shapes"] = shown["input_shapes"] or None
    kwargs["batch_size"] = _batch_size(shown["batch_size"])
    kwargs["output_file"] = shown["output_file"] or None
    kwargs["in_process"] = shown["in_process"]
    kwargs["timeout"] = _timeout(shown["timeout"])
    kwargs.update(parse_attrs(shown["attrs"]))
    return kwargs


class _FieldError(ValueError):
    def __init__(self, message: str, field_name: str):
        super().__init__(message)
        self.field = field_name


def parse_attrs(text: str) -> Dict[str, Any]:
    """``"a=True\\nb=3"`` -> ``{"a": True, "b": 3}``, values read as Python literals (like ``--attr``)."""
    attrs = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals or not name.isidentifier():
            raise _FieldError(f"other attributes, line {number}: write NAME=VALUE, got {line!r}", "attrs")
        try:
            attrs[name] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            attrs[name] = value.strip()
    return attrs


def _attrs(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    known = set(SETTING_NAMES) | {"representative_dataset", "dataset_name", "source_name", "output_file",
                              "in_process", "timeout"}
    return {k: v for k, v in kwargs.items() if k not in known}


def _timeout(text: str) -> Optional[float]:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _FieldError(f"timeout must be a number of seconds, got {text!r}", "timeout") from None
    if value <= 0:
        raise _FieldError("timeout must be more than 0 seconds (or empty for none)", "timeout")
    return value


def _batch_size(text: str) -> Optional[int]:
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise _FieldError(f"batch size must be a whole number such as 1, got {text!r} (or empty to keep it dynamic)",
                          "input_shapes") from None


def _comma_list(text: str) -> Optional[List[str]]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return parts or None


def dataset_problem(source: Any, dataset: Any) -> Optional[str]:
    """Why ``dataset`` cannot calibrate ``source``, checked on its first sample; None if it fits or cannot be told cheaply.

    Only in-memory datasets (arrays, lists, dicts) are checked, and only against model
    objects whose inputs are known without tracing: a generator or a ``tf.data`` pipeline
    is the user's code, and is left to run at conversion time.
    """
    if dataset is None or callable(dataset) or is_tf_dataset(dataset) or isinstance(source, str):
        return None
    if hasattr(dataset, "__len__") and len(dataset) == 0:
        return "the calibration data is empty: give it at least one sample (100 to 500 is typical)"
    specs = _keras_specs(source)
    if specs is None:
        return None
    try:
        CalibrationData(dataset, specs)
    except (DatasetError, TypeError) as exc:
        return str(exc)
    return None


def _keras_specs(source: Any):
    inputs = getattr(source, "inputs", None)
    if not is_model(source) or not isinstance(inputs, (list, tuple)):
        return None
    from ...core.sources import resolve_source

    try:
        return resolve_source(source).input_specs()
    except Exception:  # unusual models: leave the check to the conversion itself
        return None


def _failed(request: Request, exc: BaseException, fields: Optional[set] = None) -> Request:
    request.error = str(exc)
    request.fields = fields or ({exc.field} if isinstance(exc, _FieldError) else _fields_of(str(exc)))
    return request


def _fields_of(message: str) -> set:
    lowered = message.lower()
    return {name for word, name in _FIELD_WORDS if word in lowered}
