"""Presets and conflict checks: plain Python, no TensorFlow needed."""

import pytest

from tfl_jupyter.core.settings import QUANTIZE_PRESETS, resolve_settings


@pytest.mark.parametrize(
    "preset, optimizations, ops, types, io",
    [
        ("none", (), (), (), None),
        ("dynamic", ("DEFAULT",), (), (), None),
        ("float16", ("DEFAULT",), (), ("float16",), None),
        ("int8", ("DEFAULT",), (), (), None),
        ("int8-full", ("DEFAULT",), ("TFLITE_BUILTINS_INT8",), (), "int8"),
        ("int16x8", ("DEFAULT",), ("EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8",), (), None),
    ],
)
def test_presets_expand_to_the_documented_settings(preset, optimizations, ops, types, io):
    settings = resolve_settings(preset, representative_dataset=[[0.0]])
    assert settings.optimizations == optimizations
    assert settings.supported_ops == ops
    assert settings.supported_types == types
    assert settings.inference_input_type == io and settings.inference_output_type == io


def test_every_preset_is_covered():
    assert set(QUANTIZE_PRESETS) == {"none", "dynamic", "float16", "int8", "int8-full", "int16x8"}


def test_explicit_arguments_override_the_preset():
    settings = resolve_settings("int8-full", representative_dataset=[1], inference_input_type="uint8")
    assert settings.inference_input_type == "uint8"
    assert settings.inference_output_type == "int8"


@pytest.mark.parametrize("preset", ["int8", "int8-full", "int16x8"])
def test_calibrating_presets_without_a_dataset_name_the_fix(preset):
    with pytest.raises(ValueError, match="needs a representative dataset.*representative_dataset="):
        resolve_settings(preset)


def test_unknown_preset_suggests_the_closest():
    with pytest.raises(ValueError, match="did you mean 'int8-full'"):
        resolve_settings("int8_fulll")


def test_unknown_ops_set_lists_the_choices():
    with pytest.raises(ValueError, match="SELECT_TF_OPS"):
        resolve_settings(supported_ops=["SELECT_TF_OP"])


def test_ops_sets_accept_comma_lists_and_lowercase():
    settings = resolve_settings(supported_ops="tflite_builtins,select_tf_ops")
    assert settings.supported_ops == ("TFLITE_BUILTINS", "SELECT_TF_OPS")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(inference_input_type="int8"), "needs quantization"),
        (dict(quantize="dynamic", supported_ops=["TFLITE_BUILTINS_INT8"]), "needs a representative dataset.*whatever the model"),
        (dict(quantize="int8", representative_dataset=[1], supported_types=["float16"]), "conflicts with integer"),
        (dict(quantize="int16x8", representative_dataset=[1], inference_input_type="int8"), "int16x8 models take"),
        (dict(quantize="int8", representative_dataset=[1], inference_input_type="int16"), "needs the int16x8 mode"),
        (dict(inference_output_type="bfloat16"), "unknown inference_output_type"),
    ],
)
def test_conflicting_settings_are_refused_with_the_reason(kwargs, message):
    with pytest.raises(ValueError, match=message):
        resolve_settings(**kwargs)


def test_integer_io_without_a_dataset_is_left_to_the_converter_with_a_note():
    # a quantization-aware model (fake-quant ops) converts so in raw TensorFlow; other models fail there
    settings = resolve_settings("dynamic", inference_input_type="int8", inference_output_type="int8")
    assert settings.inference_input_type == "int8" and not settings.uses_representative_dataset
    assert any("fake-quant ops must give the ranges" in note for note in settings.notes)
    calibrated = resolve_settings("int8", representative_dataset=[1], inference_input_type="int8")
    assert not any("fake-quant" in note for note in calibrated.notes)


@pytest.mark.parametrize("preset", ["int8", "int8-full"])
def test_int8_presets_without_a_dataset_name_the_quantization_aware_route(preset):
    with pytest.raises(ValueError, match="quantize='dynamic'.*quantization-aware.*inference_input_type='int8'"):
        resolve_settings(preset)


def test_dataset_with_dynamic_range_is_kept_but_not_used_for_calibration():
    settings = resolve_settings("dynamic", representative_dataset=[1])
    assert not settings.uses_representative_dataset
    assert settings.representative_dataset == [1]
    assert any("does not calibrate" in note for note in settings.notes)


def test_settings_compare_by_value_not_by_dataset_identity():
    assert resolve_settings("int8", representative_dataset=[1]) == resolve_settings("int8", representative_dataset=[2])
    assert resolve_settings("int8", representative_dataset=[1]) != resolve_settings("int8-full", representative_dataset=[1])


def test_quantize_must_be_a_string():
    with pytest.raises(TypeError, match="quantize must be one of"):
        resolve_settings(8)


def test_one_preset_registry_feeds_the_magic_the_panel_and_the_sweep(ipython):
    from tfl_jupyter.core import sweep
    from tfl_jupyter.core.settings import PRESETS, QUANTIZE_PRESETS, find_preset, preset_help
    from tfl_jupyter.widgets.panel import presets as panel_presets

    assert QUANTIZE_PRESETS == tuple(PRESETS) == ("none", "dynamic", "float16", "int8", "int8-full", "int16x8")
    assert sweep.MODES == tuple(p.label for p in PRESETS.values()) and sweep.MODES[0] == "float"
    for preset in PRESETS.values():
        assert find_preset(preset.label) is preset
        for alias in preset.aliases:
            assert find_preset(alias) is preset
        assert f"{preset.name} ({preset.description})" in preset_help()
        expanded = panel_presets.expand(preset.name)
        assert expanded["optimizations"] == preset.optimizations
        settings = resolve_settings(preset.name, representative_dataset=[0] if preset.calibrates else None)
        assert settings.uses_representative_dataset == preset.calibrates
    help_text = " ".join(ipython.find_line_magic("tflite_convert").__doc__.split())  # what %tflite_convert? prints
    assert all(f"{name} (" in help_text for name in QUANTIZE_PRESETS)


def test_input_shapes_forms_and_batch_size():
    from tfl_jupyter.core.settings import parse_input_shapes, shapes_text

    assert parse_input_shapes("1,16,6") == ((0, (1, 16, 6)),)
    assert parse_input_shapes("1,16,6:1,8") == ((0, (1, 16, 6)), (1, (1, 8)))
    assert parse_input_shapes("seq=1,None,6;mask=1,8") == (("seq", (1, None, 6)), ("mask", (1, 8)))
    assert parse_input_shapes([1, 16, 6]) == ((0, (1, 16, 6)),)
    assert parse_input_shapes([[1, 16, 6], [1, 8]]) == ((0, (1, 16, 6)), (1, (1, 8)))
    assert parse_input_shapes({"seq": (1, 16, 6)}) == (("seq", (1, 16, 6)),)
    assert shapes_text({"seq": [1, None, 6], "mask": [1, 8]}) == "seq=1,None,6:mask=1,8"
    settings = resolve_settings(batch_size=1, input_shapes={"seq": [1, 16, 6]})
    assert settings.fixes_shapes and settings.as_dict()["input_shapes"] == [["seq", [1, 16, 6]]]
    assert settings.as_dict() != resolve_settings(batch_size=2).as_dict()  # so the cache keys differ
    with pytest.raises(ValueError, match="leave it unset to keep the batch dynamic"):
        resolve_settings(batch_size=-1)
    with pytest.raises(TypeError, match="positive integer"):
        resolve_settings(batch_size=1.5)

