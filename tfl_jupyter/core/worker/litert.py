"""The LiteRT Quantizer's step of a ``quantizer="litert"`` conversion, run through the pool.

The float conversion before it is an ordinary conversion (served from the result cache when
repeated); this module resolves the recipe, feeds the calibration samples and keeps their
calibration result, so that every further recipe on the same model and data costs only the
quantizer's own time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from typing import Optional

from ..datasets import CalibrationData
from ..engine import ConverterOutput
from .litert_engine import LITERT_INSTALL, litert_quantize, litert_recipe
from ..settings import ConversionSettings
from ..sources import ModelSource
from .fingerprints import dataset_fingerprint, text_fingerprint
from .pool import POOL
from .process import NO_DEADLINE, Deadline

_RECIPES: dict = {}  # recipe as given -> (JSON text, calibrates)
_CALIBRATIONS: OrderedDict = OrderedDict()  # (float model, data, calibrating rules) -> calibration result
_MAX_CALIBRATIONS = 16
_LOCK = threading.Lock()


def check_installed() -> None:
    """Raise ImportError (one line, naming the install command) unless ``litert-quantizer`` is installed."""
    if importlib.util.find_spec("litert_quantizer") is None:
        raise ImportError(f"quantizer='litert' needs the LiteRT Quantizer, which is not installed: {LITERT_INSTALL}")


def resolve_recipe(settings: ConversionSettings, *, in_process: bool = False) -> ConversionSettings:
    """``settings`` with its recipe resolved to the JSON the quantizer accepts (cheap when repeated).

    Raises
    ------
    ImportError
        The quantizer is not installed.
    ValueError
        An unknown recipe name, a file that is not JSON, a recipe the quantizer rejects, or a
        calibrating recipe without a representative dataset; the message names the fix.
    """
    if settings.quantizer != "litert":
        return settings
    check_installed()
    resolved = _RECIPES.get((settings.recipe, settings.recipe_float_io))
    if resolved is None:
        resolved = _run(litert_recipe, (settings.recipe, settings.recipe_float_io), in_process=in_process)
        _RECIPES[(settings.recipe, settings.recipe_float_io)] = _RECIPES[(resolved[0], False)] = resolved
    text, calibrates = resolved
    if calibrates and settings.representative_dataset is None:
        raise ValueError(
            f"recipe {settings.recipe_name or 'custom recipe'!r} calibrates activations and needs a representative dataset: "
            "pass representative_dataset=... (magic: --representative_dataset VAR), or use a dynamic or weight-only recipe"
        )
    return replace(settings, recipe=text, recipe_calibrates=calibrates, recipe_float_io=False)


def quantize_with_litert(
    source: ModelSource,
    settings: ConversionSettings,
    float_output: ConverterOutput,
    *,
    in_process: bool = False,
    deadline: Deadline = NO_DEADLINE,
    cancel: Optional[threading.Event] = None,
) -> ConverterOutput:
    """Quantize ``float_output``'s model with the LiteRT Quantizer and ``settings.recipe``.

    Parameters
    ----------
    source : ModelSource
        The model (its input specs shape the calibration samples).
    settings : ConversionSettings
        With ``quantizer="litert"``; the recipe is resolved here if it is not yet.
    float_output : ConverterOutput
        The float conversion of ``source``.
    in_process : bool
        Quantize in this process instead of a worker.
    deadline, cancel
        As for a conversion.

    Returns
    -------
    ConverterOutput
        The quantized model; ``duration_s`` covers both steps.
    """
    started = time.perf_counter()
    settings = resolve_recipe(settings, in_process=in_process)
    calibration, samples, key = None, None, None
    if settings.uses_representative_dataset:
        key = _calibration_key(float_output.tflite_model, settings)
        with _LOCK:
            calibration = _CALIBRATIONS.get(key) if key is not None else None
        if calibration is None:
            samples = _samples(source, settings)
    try:
        model, new_calibration = _run(litert_quantize, (float_output.tflite_model, settings.recipe, samples, calibration),
                                      in_process=in_process, deadline=deadline, cancel=cancel)
    except ValueError as error:
        if calibration is None or "Missing QSVs" not in str(error):
            raise
        # the reused calibration (another bit width's) skipped an op this recipe quantizes: calibrate afresh
        calibration, samples = None, _samples(source, settings)
        model, new_calibration = _run(litert_quantize, (float_output.tflite_model, settings.recipe, samples, None),
                                      in_process=in_process, deadline=deadline, cancel=cancel)
    if key is not None and calibration is None and new_calibration is not None:
        with _LOCK:
            _CALIBRATIONS[key] = new_calibration
            while len(_CALIBRATIONS) > _MAX_CALIBRATIONS:
                _CALIBRATIONS.popitem(last=False)
    note = f"float conversion, then the LiteRT Quantizer with recipe {settings.recipe_name or 'custom'} (result.recipe)"
    if calibration is not None:
        note += "; calibration reused from an earlier run on the same model and data"
    notes = (note,)
    if "hadamard" in settings.recipe.lower() and not settings.fixes_shapes:
        # measured with LiteRT 2.3: resized to batch 4, "XNNPack delegate failed to reshape runtime"
        # (without XNNPACK: RESHAPE "num_input_elements != num_output_elements"); batch 1 runs
        notes += ("a Hadamard-rotated model keeps a dynamic batch on its inputs but runs only at batch 1 (its "
                  "RESHAPEs have batch-1 shapes): convert with batch_size=1 so that the model says so",)
    return replace(
        float_output,
        tflite_model=model,
        notes=tuple(n for n in float_output.notes if not n.startswith("served from the cache")) + settings.notes + notes,
        duration_s=float_output.duration_s + time.perf_counter() - started,
        calibration_samples=len(samples) if samples is not None else (float_output.calibration_samples or 0),
    )


def _run(function, args: tuple, *, in_process: bool, deadline: Deadline = NO_DEADLINE, cancel=None):
    if in_process or not POOL.available:
        return function(*args)
    target = f"{function.__module__}:{function.__qualname__}"
    return POOL.run(("call", target, args, {}), deadline=deadline, cancel=cancel)


def _samples(source: ModelSource, settings: ConversionSettings) -> list:
    """The calibration samples, checked against the model's inputs, as dicts by input name where known."""
    specs = source.inputs
    data = CalibrationData(settings.representative_dataset, specs, by_name=bool(specs), ordered=source.specs_ordered)
    return list(data())


def _calibration_key(float_model: bytes, settings: ConversionSettings) -> Optional[str]:
    """The model, the data and what decides which tensors are calibrated, and how.

    "No quantize" rules (a denylist) only skip calibration, so the full recipe's calibration
    serves them too; min/max statistics do not depend on the bit widths, so int8 and int16
    activations share one (a tensor the other width skipped is calibrated afresh).
    """
    data = dataset_fingerprint(settings.representative_dataset)
    if data is None:
        return None  # generators and tf.data: their samples may change between calls
    rules = []
    for rule in json.loads(settings.recipe):
        if rule.get("algorithm_key") == "no_quantize":
            continue
        config = dict(rule.get("op_config") or {})
        config.pop("weight_tensor_config", None)
        if config.get("activation_tensor_config"):
            config["activation_tensor_config"] = True
        rules.append({**rule, "op_config": config})
    return text_fingerprint(hashlib.sha256(float_model).hexdigest(), data, json.dumps(rules, sort_keys=True))
