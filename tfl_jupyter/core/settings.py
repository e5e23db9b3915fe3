"""Conversion settings: the quantization presets, their expansion, and conflict checks.

Everything here is plain Python (no TensorFlow), so settings can be validated, shown and
compared before TensorFlow is even imported.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping, Optional, Sequence

OPS_SETS = (
    "TFLITE_BUILTINS",
    "TFLITE_BUILTINS_INT8",
    "SELECT_TF_OPS",
    "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8",
)
OPTIMIZATIONS = ("DEFAULT", "OPTIMIZE_FOR_SIZE", "OPTIMIZE_FOR_LATENCY", "EXPERIMENTAL_SPARSITY")
SUPPORTED_TYPES = ("float16", "int8", "int16")
IO_TYPES = ("float32", "int8", "uint8", "int16")
INT16X8_OPS = "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8"

#: The converter settings a user sets, in the order forms and tables show them.
SETTING_NAMES = (
    "quantize", "optimizations", "supported_ops", "supported_types", "inference_input_type",
    "inference_output_type", "allow_custom_ops", "experimental_new_converter", "signature_keys", "tags",
    "input_shapes", "batch_size", "quantizer", "recipe",
)
#: Who quantizes: TensorFlow's converter (its post-training quantization), or the converter
#: to float then the LiteRT Quantizer (``pip install 'tfl_jupyter[quantizer]'``).
QUANTIZERS = ("converter", "litert")


@dataclass(frozen=True)
class Preset:
    """One quantization preset: what it is called, what it means, and what it sets.

    Attributes
    ----------
    name : str
        The canonical name (``quantize=name``).
    label : str
        What tables and plots call it (``"float"`` for ``"none"``).
    aliases : tuple of str
        Other spellings accepted for it.
    description : str
        One line for help texts and menus.
    calibrates : bool
        Whether it needs a representative dataset (it quantizes activations).
    optimizations, supported_ops, supported_types : tuple of str
        What it sets on the converter.
    io_type : str or None
        ``inference_input_type`` and ``inference_output_type``; None leaves them float.
    recipe : str or None
        The LiteRT Quantizer's recipe for it (``quantizer="litert"``); None where it has none.
        Its static recipes quantize the model's inputs and outputs too: for presets with float
        I/O they get "no quantize" rules for them (``recipe_float_io``).
    """

    name: str
    label: str
    aliases: tuple
    description: str
    calibrates: bool
    optimizations: tuple = ()
    supported_ops: tuple = ()
    supported_types: tuple = ()
    io_type: Optional[str] = None
    recipe: Optional[str] = None


#: The one registry of quantization presets: the magic's help, the panel, the sweep and
#: calibration all read it.
PRESETS = {
    preset.name: preset
    for preset in (
        Preset("none", "float", ("float", "float32", "fp32"), "float32, no quantization", False),
        Preset("dynamic", "dynamic", ("dynamic-range", "drq"), "dynamic-range: int8 weights, float activations", False,
               ("DEFAULT",), recipe="dynamic_wi8_afp32"),
        Preset("float16", "float16", ("fp16", "half"), "float16 weights", False, ("DEFAULT",), (), ("float16",)),
        Preset("int8", "int8", ("int8-fallback",), "full-integer int8 with float fallback, float I/O", True, ("DEFAULT",),
               recipe="static_wi8_ai8"),
        Preset("int8-full", "int8-full", ("full-int8", "int8full", "integer-only"), "integer only, int8 I/O", True,
               ("DEFAULT",), ("TFLITE_BUILTINS_INT8",), (), "int8", recipe="static_wi8_ai8"),
        Preset("int16x8", "int16x8", ("16x8",), "int16 activations, int8 weights", True, ("DEFAULT",), (INT16X8_OPS,),
               recipe="static_wi8_ai16"),
    )
}
QUANTIZE_PRESETS = tuple(PRESETS)
#: The LiteRT Quantizer's recipes named in help texts: the presets' and what the converter cannot do
#: (weight-only, int4 weights, Hadamard rotations). Any other recipe of the quantizer works by name too.
LITERT_RECIPES = (
    "dynamic_wi8_afp32", "static_wi8_ai8", "static_wi8_ai16", "weight_only_wi8_afp32", "dynamic_wi4_afp32",
    "weight_only_wi4_afp32", "dynamic_wi8_afp32_hadamard", "dynamic_wi4_afp32_hadamard",
)


def preset_help() -> str:
    """``"none (float32, no quantization), dynamic (...), ..."``: the presets for help texts."""
    return ", ".join(f"{p.name} ({p.description})" for p in PRESETS.values())


def find_preset(quantize: Optional[str]) -> Preset:
    """The preset for a name or alias (``None`` is ``"none"``).

    Raises
    ------
    ValueError, TypeError
        An unknown name (the message suggests the closest) or not a string.
    """
    if quantize is None:
        return PRESETS["none"]
    if not isinstance(quantize, str):
        raise TypeError(f"quantize must be one of {', '.join(QUANTIZE_PRESETS)}, not {type(quantize).__name__}")
    name = quantize.strip().lower().replace("_", "-")
    for preset in PRESETS.values():
        if name == preset.name or name in preset.aliases:
            return preset
    raise ValueError(f"unknown quantize preset {quantize!r}{_did_you_mean(quantize, QUANTIZE_PRESETS)}; choose one of {', '.join(QUANTIZE_PRESETS)}")


@dataclass(frozen=True)
class ConversionSettings:
    """The complete, validated set of converter settings for one conversion.

    ``representative_dataset`` is held by reference and left out of equality and repr:
    it is the user's object, not a setting to print.
    """

    quantize: str = "none"
    optimizations: tuple = ()
    representative_dataset: Any = field(default=None, compare=False, repr=False)
    supported_ops: tuple = ()
    supported_types: tuple = ()
    inference_input_type: Optional[str] = None
    inference_output_type: Optional[str] = None
    allow_custom_ops: bool = False
    experimental_new_converter: bool = True
    signature_keys: Optional[tuple] = None
    tags: Optional[tuple] = None
    input_shapes: Optional[tuple] = None  # ((name, dims), ...) by name, or (dims, ...) in input order
    batch_size: Optional[int] = None
    converter_attrs: tuple = ()  # (name, value) pairs, applied with setattr
    quantizer: str = "converter"
    recipe: Optional[str] = None  # quantizer="litert": a recipe name, file or JSON text; JSON once resolved
    recipe_name: Optional[str] = None  # how the user named the recipe, for descriptions
    recipe_calibrates: bool = False  # the resolved recipe quantizes activations
    recipe_float_io: bool = False  # add rules that keep the model's inputs and outputs float
    notes: tuple = field(default=(), compare=False)

    @property
    def description(self) -> str:
        """A one-line human description of the mode, e.g. ``"int8-full (integer only, int8 I/O)"``."""
        if self.quantizer == "litert":
            return f"{self.recipe_name or 'custom recipe'} (float, then the LiteRT Quantizer)"
        if self.quantize == "none" and self.optimizations:
            return f"custom (optimizations={', '.join(self.optimizations)})"
        return f"{self.quantize} ({PRESETS[self.quantize].description})"

    @property
    def fixes_shapes(self) -> bool:
        """Whether the model is traced again at fixed input shapes before it is converted."""
        return self.input_shapes is not None or self.batch_size is not None

    @property
    def uses_representative_dataset(self) -> bool:
        """Whether the converter (or the LiteRT Quantizer) will calibrate with the representative dataset."""
        if self.quantizer == "litert":
            return self.representative_dataset is not None and self.recipe_calibrates
        return (
            self.representative_dataset is not None
            and bool(self.optimizations)
            # "dynamic" and "float16" never calibrate; "none" does when optimizations are set by hand
            and (self.quantize == "none" or PRESETS[self.quantize].calibrates)
        )

    def as_dict(self) -> dict:
        """The settings as plain values, for display and for a cache key."""
        values = {name: getattr(self, name) for name in SETTING_NAMES}
        values = {name: _plain(value) for name, value in values.items()}
        return {**values, "representative_dataset": self.representative_dataset is not None, **dict(self.converter_attrs)}


def resolve_settings(
    quantize: Optional[str] = None,
    *,
    representative_dataset: Any = None,
    optimizations: Optional[Sequence] = None,
    supported_ops: Optional[Sequence] = None,
    supported_types: Optional[Sequence] = None,
    inference_input_type: Any = None,
    inference_output_type: Any = None,
    allow_custom_ops: bool = False,
    experimental_new_converter: bool = True,
    signature_keys: Optional[Sequence[str]] = None,
    tags: Optional[Sequence[str]] = None,
    input_shapes: Any = None,
    batch_size: Optional[int] = None,
    converter_attrs: Optional[Mapping[str, Any]] = None,
    quantizer: Optional[str] = None,
    recipe: Any = None,
) -> ConversionSettings:
    """Expand a quantization preset, apply explicit overrides, and check for conflicts.

    Explicit arguments win over what the preset would set. Values may be given as
    strings (``"int8"``, ``"SELECT_TF_OPS"``) or as the TensorFlow objects
    (``tf.int8``, ``tf.lite.OpsSet.SELECT_TF_OPS``, ``tf.lite.Optimize.DEFAULT``).
    ``input_shapes`` (a dict by input name, a list in input order, or the magic's text) and
    ``batch_size`` are checked here as far as they can be without the model; see
    :func:`fixed_input_shapes` for the rest. ``quantizer="litert"`` converts to float and
    leaves the quantization to the LiteRT Quantizer: the preset's recipe, or ``recipe``
    (a name, a ``.json`` file, JSON text, or the list a recipe is); see :func:`litert_settings`.

    Raises
    ------
    ValueError
        For an unknown name or a combination that cannot work; the message names the fix.
    """
    preset = find_preset(quantize)
    settings = ConversionSettings(
        quantize=preset.name,
        optimizations=names(optimizations, OPTIMIZATIONS, "optimizations") if optimizations is not None else preset.optimizations,
        representative_dataset=representative_dataset,
        supported_ops=names(supported_ops, OPS_SETS, "supported_ops") if supported_ops is not None else preset.supported_ops,
        supported_types=names(supported_types, SUPPORTED_TYPES, "supported_types") if supported_types is not None else preset.supported_types,
        inference_input_type=io_type_name(inference_input_type, "inference_input_type") or preset.io_type,
        inference_output_type=io_type_name(inference_output_type, "inference_output_type") or preset.io_type,
        allow_custom_ops=bool(allow_custom_ops),
        experimental_new_converter=bool(experimental_new_converter),
        signature_keys=tuple(signature_keys) if signature_keys else None,
        tags=tuple(tags) if tags else None,
        input_shapes=parse_input_shapes(input_shapes),
        batch_size=_dimension(batch_size, "batch_size", "leave it unset to keep the batch dynamic") if batch_size is not None else None,
        converter_attrs=tuple((converter_attrs or {}).items()),
    )
    if quantizer not in (None, "converter") or recipe is not None:
        return litert_settings(settings, quantizer, recipe, explicit={
            "optimizations": optimizations, "supported_ops": supported_ops, "supported_types": supported_types,
            "inference_input_type": inference_input_type, "inference_output_type": inference_output_type})
    return _check_conflicts(settings)


def litert_settings(settings: ConversionSettings, quantizer: Optional[str], recipe: Any, explicit: Mapping) -> ConversionSettings:
    """The settings for ``quantizer="litert"``: a float conversion, then the preset's recipe or ``recipe``.

    Raises
    ------
    ValueError, TypeError
        An unknown quantizer, a preset without a recipe, a recipe next to a preset, or a
        converter-only quantization setting; the message names the fix.
    """
    import json

    name = "litert" if quantizer is None else str(quantizer).strip().lower()
    if name not in QUANTIZERS:
        raise ValueError(f"unknown quantizer {quantizer!r}{_did_you_mean(quantizer, QUANTIZERS)}; choose one of {', '.join(QUANTIZERS)}")
    if name == "converter":
        raise ValueError("recipe= is for the LiteRT Quantizer: add quantizer='litert', or drop recipe and use quantize=...")
    preset = PRESETS[settings.quantize]
    given = [key for key, value in explicit.items() if value is not None]
    if given:
        raise ValueError(f"{given[0]} is a converter setting: the LiteRT Quantizer takes a recipe instead "
                         f"(quantize='int8' or recipe='static_wi8_ai8', ...), or drop quantizer='litert'")
    if recipe is not None and preset.name != "none":
        raise ValueError(f"give quantize={preset.name!r} or recipe=..., not both: the preset stands for recipe {preset.recipe or 'none'!r}")
    if recipe is None and preset.recipe is None:
        with_recipe = ", ".join(f"{p.name} ({p.recipe})" for p in PRESETS.values() if p.recipe)
        raise ValueError(
            f"quantize={preset.name!r} has no LiteRT Quantizer recipe (presets with one: {with_recipe}): "
            f"use quantizer='converter' for it, or a recipe such as recipe='weight_only_wi8_afp32'"
        )
    if recipe is not None and not isinstance(recipe, str):
        if not isinstance(recipe, (list, tuple)):
            raise TypeError(f"recipe must be a name, a .json path, JSON text or a list of rules, not {type(recipe).__name__}")
        recipe = json.dumps(list(recipe))
    if recipe is None and preset.calibrates and settings.representative_dataset is None:
        raise ValueError(f"quantize={preset.name!r} calibrates activations and needs a representative dataset: pass "
                         "representative_dataset=... (magic: --representative_dataset VAR)")
    text = recipe if recipe is not None else preset.recipe
    float_io = recipe is None and preset.calibrates and preset.io_type is None
    label = preset.recipe if recipe is None else ("custom recipe" if text.lstrip().startswith(("[", "{")) else text)
    litert = replace(settings, quantizer="litert", recipe=text, recipe_name=label + (" + float I/O" if float_io else ""),
                     recipe_float_io=float_io, optimizations=(), supported_ops=(),
                     supported_types=(), inference_input_type=None, inference_output_type=None)
    _check_conflicts(float_settings(litert))  # the float conversion's own settings (input shapes, ...)
    return litert


def float_settings(settings: ConversionSettings) -> ConversionSettings:
    """The plain float conversion that the LiteRT Quantizer starts from (served from the cache when repeated)."""
    return replace(settings, quantize="none", representative_dataset=None, quantizer="converter", recipe=None,
                   recipe_name=None, recipe_calibrates=False, recipe_float_io=False, optimizations=(), supported_ops=(), supported_types=(),
                   inference_input_type=None, inference_output_type=None, notes=())


#: How a quantization-aware model gets int8 without a dataset (what the converter does with it).
QAT_WITHOUT_DATA = ("for a quantization-aware model it takes int8 ranges from the fake-quant ops; add "
                    "inference_input_type='int8', inference_output_type='int8' for int8 I/O")


def _check_conflicts(settings: ConversionSettings) -> ConversionSettings:
    notes = []
    preset = PRESETS[settings.quantize]
    has_data = settings.representative_dataset is not None
    integer_io = [t for t in (settings.inference_input_type, settings.inference_output_type) if t not in (None, "float32")]
    integer_ops = [s for s in settings.supported_ops if s in ("TFLITE_BUILTINS_INT8", INT16X8_OPS)]

    # Refused here only where TensorFlow refuses whatever the model: a calibrating preset (without
    # data it is plain optimizations=[DEFAULT]) and the integer-only ops sets. Integer I/O without
    # data is left to the converter: a quantization-aware model (fake-quant ops) carries its ranges.
    if preset.calibrates and not has_data:
        raise ValueError(
            f"quantize={preset.name!r} calibrates activations and needs a representative dataset: pass "
            "representative_dataset=... (a generator function, tf.data.Dataset, array, list or dict of "
            "arrays; magic: --representative_dataset VAR), or use quantize='dynamic' which needs none"
            + (f" ({QAT_WITHOUT_DATA})" if preset.name in ("int8", "int8-full") else "")
        )
    if (integer_io or integer_ops) and not settings.optimizations:
        what = f"inference type {integer_io[0]}" if integer_io else f"supported_ops {integer_ops[0]}"
        raise ValueError(f"{what} needs quantization: add quantize='int8' (or 'int8-full'/'int16x8') with a representative dataset")
    if integer_ops and not has_data:
        raise ValueError(f"supported_ops {integer_ops[0]} needs a representative dataset to calibrate, whatever "
                         "the model (quantization-aware too): pass representative_dataset=... (magic: --representative_dataset VAR)")
    if integer_io and not settings.uses_representative_dataset:
        notes.append(f"inference type {integer_io[0]} without calibration: the model's fake-quant ops must give the "
                     "ranges (quantization-aware training); other models need quantize='int8' with representative_dataset=...")
    if "float16" in settings.supported_types and (integer_io or integer_ops or preset.calibrates):
        raise ValueError("supported_types float16 conflicts with integer quantization: choose quantize='float16' or an integer mode, not both")
    if INT16X8_OPS in settings.supported_ops:
        bad = [t for t in integer_io if t != "int16"]
        if bad:
            raise ValueError(f"int16x8 models take float32 or int16 I/O, not {bad[0]}: set inference_input_type/inference_output_type to 'int16' or leave them unset")
    elif "int16" in integer_io:
        raise ValueError("int16 I/O needs the int16x8 mode: use quantize='int16x8'")
    if settings.batch_size is not None and settings.input_shapes:
        for key, dims in settings.input_shapes:
            if dims and dims[0] not in (None, settings.batch_size):
                raise ValueError(
                    f"batch_size={settings.batch_size} conflicts with input_shapes, which gives {_input_label(key)} "
                    f"batch {dims[0]}: drop batch_size, or make the first dimension of every input shape {settings.batch_size}"
                )
    if "TFLITE_BUILTINS_INT8" in settings.supported_ops and "SELECT_TF_OPS" in settings.supported_ops:
        notes.append("TFLITE_BUILTINS_INT8 with SELECT_TF_OPS: Flex ops will run in float")
    if has_data and not settings.optimizations:
        notes.append("the representative dataset is not used without optimizations (quantize='none')")
    if has_data and settings.optimizations and not preset.calibrates and preset.name != "none":
        # With a dataset, DEFAULT turns into full-integer calibration; honour the preset instead.
        notes.append(f"quantize={preset.name!r} does not calibrate: the representative dataset is kept for compare() only")
    return replace(settings, notes=tuple(notes))


_SHAPES_HOW_TO = "give input_shapes={'name': [1, 16, 6]} or a list of shapes in input order (magic: --input_shapes name=1,16,6)"


def parse_input_shapes(value: Any) -> Optional[tuple]:
    """Normalize ``input_shapes`` to ``((key, dims), ...)``: key an input name, or a position.

    Accepted: a dict by input name, a list of shapes in input order, one shape (a list of
    ints, for a one-input model), or the magic's text ``"1,16,6"``, ``"1,16,6:1,8"``,
    ``"seq=1,16,6:mask=1,8"``. Dimensions are positive integers; None keeps one dynamic.

    Raises
    ------
    ValueError, TypeError
        Anything else; the message names the accepted forms.
    """
    if value is None:
        return None
    if isinstance(value, str):
        entries = []
        for position, part in enumerate(p for p in value.replace(";", ":").split(":") if p.strip()):
            name, equals, dims = part.rpartition("=")
            dims = [None if d.strip().lower() in ("none", "?") else _int_text(d, part) for d in dims.split(",") if d.strip()]
            entries.append((name.strip() if equals else position, dims))
        pairs = entries
    elif isinstance(value, Mapping):
        pairs = [(str(name), dims) for name, dims in value.items()]
    elif isinstance(value, Iterable) and not isinstance(value, bytes):
        items = list(value)
        one_shape = all(d is None or isinstance(d, int) for d in items)
        pairs = [(0, items)] if items and one_shape else list(enumerate(items))
    else:
        raise TypeError(f"input_shapes cannot be a {type(value).__name__}: {_SHAPES_HOW_TO}")
    if not pairs:
        raise ValueError(f"input_shapes is empty: {_SHAPES_HOW_TO}, or leave it unset")
    result = []
    for key, dims in pairs:
        if isinstance(dims, (str, bytes)) or not isinstance(dims, Iterable):
            raise TypeError(f"the shape of {_input_label(key)} must be a list of dimensions, not {dims!r}: {_SHAPES_HOW_TO}")
        result.append((key, tuple(None if d is None else _dimension(d, f"each dimension of {_input_label(key)} in input_shapes") for d in dims)))
    return tuple(result)


def shapes_text(input_shapes: Any) -> str:
    """``{"seq": [1, 16, 6]}`` -> ``"seq=1,16,6"``: any accepted ``input_shapes`` in the magic's form."""
    parts = []
    for key, dims in parse_input_shapes(input_shapes) or ():
        text = ",".join("None" if d is None else str(d) for d in dims)
        parts.append(text if isinstance(key, int) else f"{key}={text}")
    return ":".join(parts)


def fixed_input_shapes(specs: Sequence, input_shapes: Optional[tuple], batch_size: Optional[int], *,
                       strict_names: bool = True) -> tuple:
    """The shapes to trace ``specs`` (a model's inputs, in order) at: ``((name, dims), ...)``.

    Parameters
    ----------
    specs : sequence
        Objects with ``name`` and ``shape`` (None for a dynamic dimension).
    input_shapes : tuple or None
        From :func:`parse_input_shapes`.
    batch_size : int or None
        Sets the first dimension of every input that ``input_shapes`` leaves out.
    strict_names : bool
        Raise for a name that is not among ``specs`` (off when another signature may have it).

    Raises
    ------
    ValueError
        A name that is not an input, a shape of the wrong rank, or one that changes a
        dimension the model fixes; the message names the fix.
    """
    given = dict(input_shapes or ())
    names = [spec.name for spec in specs]
    positional = [key for key in given if isinstance(key, int)]
    if positional and len(given) > len(specs):
        raise ValueError(f"input_shapes gives {len(given)} shapes but the model has {len(specs)} input(s) ({', '.join(map(repr, names))}): give one shape per input")
    unknown = [key for key in given if isinstance(key, str) and key not in names]
    if unknown and strict_names:
        raise ValueError(
            f"input_shapes names {unknown[0]!r}, which is not an input{_did_you_mean(unknown[0], names)}; "
            f"the inputs are {', '.join(map(repr, names))}"
        )
    result = []
    for position, spec in enumerate(specs):
        model_shape = tuple(spec.shape)
        dims = given.get(spec.name, given.get(position))
        if dims is None:
            dims = model_shape if batch_size is None or not model_shape else (batch_size, *model_shape[1:])
        if len(dims) != len(model_shape):
            raise ValueError(
                f"input_shapes gives input {spec.name!r} {len(dims)} dimension(s) {list(dims)}, but it has "
                f"{len(model_shape)} {_shape_list(model_shape)}: give a shape of rank {len(model_shape)}"
            )
        for axis, (want, have) in enumerate(zip(dims, model_shape)):
            if have is not None and want is not None and want != have:
                raise ValueError(
                    f"input {spec.name!r} has a fixed dimension {axis} of {have} {_shape_list(model_shape)}, "
                    f"input_shapes gives {want}: only dynamic (None) dimensions can be fixed"
                )
        result.append((spec.name, tuple(have if want is None else want for want, have in zip(dims, model_shape))))
    return tuple(result)


def _shape_list(shape) -> str:
    return "[" + ", ".join("None" if d is None else str(d) for d in shape) + "]"


def _input_label(key) -> str:
    return f"input {key!r}" if isinstance(key, str) else f"input {key} (in input order)"


def _int_text(text: str, part: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"input_shapes: {part!r} is not a shape; write dimensions as integers, e.g. seq=1,16,6") from None


def _dimension(value: Any, what: str, hint: str = "use None to keep a dimension dynamic") -> int:
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (hasattr(value, "__index__") and not isinstance(value, float)):
        raise TypeError(f"{what} must be a positive integer, not {value!r}")
    value = int(value)
    if value < 1:
        raise ValueError(f"{what} must be a positive integer such as 1, not {value}: {hint}")
    return value


def _plain(value: Any) -> Any:
    """Tuples (nested ones too) as lists, for display and JSON."""
    return [_plain(item) for item in value] if isinstance(value, tuple) else value


def names(values: Any, allowed: Sequence[str], what: str) -> tuple:
    """Normalize names given as strings, comma lists or TensorFlow objects (``tf.lite.OpsSet.X``).

    Raises
    ------
    ValueError
        A name not in ``allowed``; the message suggests the closest.
    """
    if values is None:
        return ()
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        values = [values]
    result = []
    lowered = {a.lower(): a for a in allowed}
    for value in values:
        if isinstance(value, str):
            parts = [p for p in value.replace(" ", ",").split(",") if p]
        else:
            parts = [_tf_name(value)]
        for part in parts:
            # "tf.lite.OpsSet.SELECT_TF_OPS" as text names the same as the object
            name = lowered.get(part.strip().lower()) or lowered.get(part.strip().split(".")[-1].lower())
            if name is None:
                raise ValueError(f"unknown {what} value {part!r}{_did_you_mean(part, allowed)}; choose from {', '.join(allowed)}")
            if name not in result:
                result.append(name)
    return tuple(result)


def io_type_name(value: Any, what: str = "inference type") -> Optional[str]:
    """``tf.int8`` / ``"int8"`` / ``np.int8`` -> ``"int8"``; None stays None."""
    if value is None:
        return None
    name = value if isinstance(value, str) else _tf_name(value)
    name = name.strip().lower().removeprefix("tf.")
    name = {"float": "float32"}.get(name, name)
    if name not in IO_TYPES:
        raise ValueError(f"unknown {what} {value!r}; choose from {', '.join(IO_TYPES)}")
    return name


def _tf_name(value: Any) -> str:
    """``tf.int8`` -> ``"int8"``, ``tf.lite.OpsSet.SELECT_TF_OPS`` -> ``"SELECT_TF_OPS"``; also numpy dtypes."""
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    if isinstance(value, type):  # numpy scalar types such as np.int8
        return value.__name__
    return str(value)


def _did_you_mean(word: Any, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word).upper(), [c.upper() for c in choices], n=1)
    if not close:
        close = difflib.get_close_matches(str(word).lower(), list(choices), n=1)
    if not close:
        return ""
    match = next(c for c in choices if c.upper() == close[0].upper())
    return f" (did you mean {match!r}?)"
