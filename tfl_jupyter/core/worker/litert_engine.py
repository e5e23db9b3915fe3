"""The LiteRT Quantizer backend: the optional ``litert-quantizer`` package, called in worker processes.

Like :mod:`tfl_jupyter.core.engine` for TensorFlow's converter, this is the one module that
imports the quantizer (lazily); :mod:`.litert` runs its functions through the pool.
"""

from __future__ import annotations

import difflib
from typing import Optional

from ..capture import capture_output
from ..errors import ConversionError
from ..text import first_line

LITERT_INSTALL = "pip install 'tfl_jupyter[quantizer]'"


def _litert_quantizer():
    try:
        import litert_quantizer
        from litert_quantizer.utils import recipe_utils
    except ImportError as exc:
        raise ImportError(f"quantizer='litert' needs the LiteRT Quantizer ({first_line(exc)}): {LITERT_INSTALL}") from None
    return litert_quantizer, recipe_utils


def litert_recipe_names() -> list:
    """Names of the LiteRT Quantizer's own recipes that quantize one ``.tflite`` (not LiteRT-LM mappings)."""
    _, recipe_utils = _litert_quantizer()
    recipe_utils._get_named_recipe("")  # fills its registry of named recipes
    names = []
    for name, make in sorted(recipe_utils._NAMED_RECIPES.items()):
        try:
            if recipe_utils._is_quant_recipe(make()):
                names.append(name)
        except TypeError:  # a building block that needs arguments
            continue
    return names


def litert_recipe(spec: str, float_io: bool = False) -> tuple:
    """Resolve a recipe given by name, JSON file or JSON text, and check that the quantizer accepts it.

    Parameters
    ----------
    spec : str
        A recipe name (``"dynamic_wi4_afp32"``), the path of a ``.json`` recipe, or JSON text.
    float_io : bool
        Add rules that keep the model's inputs and outputs float (the converter's ``int8``).

    Returns
    -------
    tuple
        ``(json_text, calibrates)``: the recipe as the quantizer accepts it, and whether it
        needs calibration samples.

    Raises
    ------
    ValueError
        An unknown name, a file that is not JSON, or a recipe the quantizer rejects; the
        message names the fix.
    """
    import json
    import os

    _, recipe_utils = _litert_quantizer()
    from litert_quantizer import recipe_manager

    text = spec.strip()
    if text.startswith(("[", "{")):
        try:
            recipe = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the recipe text is not JSON ({exc}): pass a recipe name, a .json file, or result.recipe") from None
    elif os.path.exists(text):
        try:
            with open(text, encoding="utf-8") as file:
                recipe = json.load(file)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"the recipe file {text!r} is not JSON ({first_line(exc)}): give a JSON recipe such as result.recipe saved to a file") from None
    else:
        recipe = recipe_utils._get_named_recipe(text)
        if recipe is None:
            known = litert_recipe_names()
            close = difflib.get_close_matches(text, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown LiteRT Quantizer recipe {text!r}{hint}: choose one of {', '.join(known)}, or give a .json file")
    if not recipe_utils._is_quant_recipe(recipe) or not recipe:
        raise ValueError("the LiteRT Quantizer rejects the recipe: it must be a non-empty JSON list of "
                         "{regex, operation, algorithm_key, op_config} rules (see result.recipe)")
    if float_io:
        recipe = recipe + [{"regex": ".*", "operation": io, "algorithm_key": "no_quantize"} for io in ("INPUT", "OUTPUT")]
    try:
        manager = recipe_manager.RecipeManager()
        manager.load_quantization_recipe(recipe)
        canonical = manager.get_quantization_recipe()
    except Exception as exc:
        raise ValueError(f"the LiteRT Quantizer rejects the recipe ({type(exc).__name__}: {first_line(exc)}): "
                         "start from a named recipe or result.recipe and change one rule at a time") from None
    return json.dumps(canonical, indent=1), manager.need_calibration()


def litert_quantize(float_model: bytes, recipe_json: str, samples: Optional[list] = None,
                    calibration: Optional[dict] = None) -> tuple:
    """Quantize a float ``.tflite`` with the LiteRT Quantizer.

    Parameters
    ----------
    float_model : bytes
        The float model (the converter's, unquantized).
    recipe_json : str
        From :func:`litert_recipe`.
    samples : list, optional
        Calibration samples, each a dict by input name or a list in the signature's input
        order; used only when the recipe calibrates and ``calibration`` is None.
    calibration : dict, optional
        A calibration result from an earlier call on the same model and data.

    Returns
    -------
    tuple
        ``(quantized bytes, calibration result or None)``.

    Raises
    ------
    ValueError
        The quantizer rejected the recipe for this model, or the samples do not fit it.
    """
    import json

    from litert_quantizer import Quantizer

    _litert_quantizer()
    quantizer = Quantizer(float_model, json.loads(recipe_json))
    with capture_output():  # its progress bars and report print from Python and C++
        try:
            if quantizer.need_calibration and calibration is None:
                if not samples:
                    raise ValueError("this recipe calibrates activations and needs a representative dataset: "
                                     "pass representative_dataset=... (magic: --representative_dataset VAR)")
                calibration = quantizer.calibrate(_signature_feeds(float_model, samples))
            quantized = quantizer.quantize(calibration if quantizer.need_calibration else None,
                                           enable_progress_report=False).quantized_model
        except ValueError as exc:
            raise ValueError(f"the LiteRT Quantizer failed: {first_line(exc)}") from None
        except Exception as exc:
            raise ConversionError(f"the LiteRT Quantizer failed: {type(exc).__name__}: {first_line(exc)}") from None
    return bytes(quantized), (calibration if quantizer.need_calibration else None)


def _signature_feeds(float_model: bytes, samples: list) -> dict:
    """``{signature_key: [{input_name: array}, ...]}`` for the model's one signature."""
    from ai_edge_litert.interpreter import Interpreter

    signatures = Interpreter(model_content=float_model).get_signature_list()
    if len(signatures) != 1:
        raise ValueError(f"the model has {len(signatures)} signatures: convert one at a time (signature_keys=[...]) to quantize it with the LiteRT Quantizer")
    key, signature = next(iter(signatures.items()))
    names = list(signature["inputs"])
    feeds = []
    for sample in samples:
        if isinstance(sample, dict):
            missing = set(names) - set(sample)
            if missing and len(names) == 1 and len(sample) == 1:
                sample = {names[0]: next(iter(sample.values()))}
            elif missing:
                raise ValueError(f"calibration samples name inputs {sorted(sample)}, the model's are {names}: yield dicts keyed by those")
            feeds.append({name: sample[name] for name in names})
        elif len(sample) == len(names) == 1:
            feeds.append({names[0]: sample[0]})
        else:
            raise ValueError(f"the model has inputs {names}: yield a dict {{input_name: array}} per sample")
    return {key: feeds}


def litert_tensor_errors(float_model: bytes, quantized_model: bytes, samples: list) -> dict:
    """Mean squared error of every tensor of a LiteRT Quantizer model against the float model it came from.

    Both models run on the same samples (the quantizer's own validator); the error at each
    tensor is accumulated from the model's input up to it, not isolated per layer.

    Returns
    -------
    dict
        ``{tensor name: mse}``.
    """
    _litert_quantizer()
    from litert_quantizer import model_validator
    from litert_quantizer.utils import validation_utils

    with capture_output():
        comparison = model_validator.compare_model(float_model, quantized_model, _signature_feeds(float_model, samples),
                                                   [validation_utils.ValidationErrorMetric.MSE], num_threads=1)
    return {name: values.get("mse") for name, values in comparison.get_all_tensor_results().items()}
