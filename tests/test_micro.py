"""TFLite Micro: the micro column against TFLM's own interpreter, and the C++ it needs
compiled with the system's C++ compiler."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.op_support.micro_rules import RESOLVER_METHODS

import conftest_ops as models

pytest.importorskip("tflite_micro", reason="the [micro] extra is not installed")
COMPILER = shutil.which("c++") or shutil.which("g++")
needs_compiler = pytest.mark.skipif(COMPILER is None, reason="no C++ compiler (c++/g++)")
MODELS = sorted(models.all_models()) + ["concat_model", "partitioned_chain", "lstm_model"]


def _bytes(name: str) -> bytes:
    builder = getattr(models, name)
    return builder(1) if name == "partitioned_chain" else builder()


@pytest.mark.parametrize("name", MODELS)
def test_micro_column_agrees_with_tflm(name):
    """Supported everywhere -> TFLM loads and runs it; else TFLM refuses one of our ops."""
    report = tj.inspect(_bytes(name))
    ops = report.ops
    check = report.micro_check()
    assert check.ran == bool(ops["micro"].all()), (check, ops[["op", "micro", "notes"]])
    if check.ran:
        assert check.arena_bytes > 0 and check.rejected == () and check.error == ""
        return
    refused = ops[~ops["micro"]]
    assert check.rejected, check.log
    for op, node in check.rejected:
        if op == "CUSTOM":  # TFLM names a missing custom kernel by its opcode only
            assert refused["kind"].isin(["flex", "custom"]).any()
        else:
            assert op in set(refused["op"]), (op, refused[["op", "notes"]])
            assert node is None or node in set(refused.loc[refused["op"] == op, "index"])
    assert refused["notes"].str.len().gt(0).all()


def test_micro_notes_name_the_reason():
    ops = tj.inspect(models.dynamic_range_cnn()).ops
    fc = ops[ops["op"] == "FULLY_CONNECTED"].iloc[0]
    assert not fc["micro"] and "Micro: no hybrid" in fc["notes"] and "int8-full" in fc["notes"]
    cumsum = tj.inspect(models.cumsum_model()).ops
    int_cumsum = cumsum[(cumsum["op"] == "CUMSUM") & ~cumsum["micro"]].iloc[0]
    assert "takes float32, int8, not int32" in int_cumsum["notes"]


def test_micro_check_reports_arena_and_repr():
    check = tj.inspect(models.int8_cnn()).micro_check()
    assert check.ran and 1000 < check.arena_bytes < 1_000_000
    assert "Arena allocation total" in check.log
    assert repr(check).startswith("MicroCheck: runs under TFLite Micro 0.dev")
    refused = tj.inspect(models.flex_model()).micro_check()
    assert not refused.ran and "failed to allocate" in refused.error


def _resolver_calls(code: str) -> list:
    return re.findall(r"op_resolver\.(Add\w+)\(\)", code)


def test_micro_code_resolver_names_exactly_the_models_ops():
    report = tj.inspect(models.while_model())  # three subgraphs: the bodies' ops count too
    code = report.micro_code()
    calls = _resolver_calls(code)
    by_method = {method: op for op, method in RESOLVER_METHODS.items()}
    assert sorted(by_method[c] for c in calls) == sorted(set(report.ops["op"]))
    assert f"MicroMutableOpResolver<{len(calls)}>" in code
    measured = report.micro_check().arena_bytes
    size = int(re.search(r"kTensorArenaSize = (\d+);", code).group(1))
    assert size % 16 == 0 and measured * 1.25 <= size < measured * 1.25 + 16
    assert f"{measured:,} bytes plus 25%" in code
    assert "alignas(16) const unsigned char g_model[]" in code
    assert f"const unsigned int g_model_len = {len(report.tflite_model)};" in code


def test_micro_code_with_given_arena_and_margin():
    code = tj.inspect(models.int8_cnn()).micro_code("net", arena_bytes=1000, margin=0)
    assert "kTensorArenaSize = 1008;" in code and "given as arena_bytes" in code
    assert "unsigned char net[]" in code


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "2model"}, "is not a C identifier"),
    ({"margin": -1, "arena_bytes": 10}, "margin must be a fraction >= 0"),
    ({"arena_bytes": 0}, "arena_bytes must be a positive int"),
])
def test_micro_code_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tj.inspect(models.int8_cnn()).micro_code(**kwargs)


def test_micro_code_refuses_a_model_tflm_cannot_run():
    with pytest.raises(ValueError, match=r"TFLite Micro has no kernel for FlexStringLength: "
                                         r"see \.ops"):
        tj.inspect(models.flex_model()).micro_code(arena_bytes=100)
    with pytest.raises(ValueError, match="TFLite Micro could not run the model"):
        tj.inspect(models.cumsum_model()).micro_code()


@needs_compiler
def test_saved_c_array_compiles_and_holds_the_model(tmp_path):
    data = models.int8_cnn()
    source, header = tj.inspect(data).save_c_array(tmp_path / "model.cc", name="g_model")
    assert (source, header) == (str(tmp_path / "model.cc"), str(tmp_path / "model.h"))
    (tmp_path / "main.cc").write_text(
        '#include <cstdint>\n#include <cstdio>\n#include "model.h"\n'
        "int main() {\n"
        "  if (reinterpret_cast<std::uintptr_t>(g_model) % 16 != 0) return 3;\n"
        "  return std::fwrite(g_model, 1, g_model_len, stdout) == g_model_len ? 0 : 2;\n}\n")
    program = tmp_path / "dump"
    subprocess.run([COMPILER, "-std=c++11", "-Wall", "-Werror", str(tmp_path / "main.cc"),
                    source, "-o", str(program)], check=True, capture_output=True, timeout=120)
    run = subprocess.run([str(program)], capture_output=True, timeout=30)
    assert run.returncode == 0 and run.stdout == data


def test_save_c_array_bad_path_and_atomic_rewrite(tmp_path):
    report = tj.inspect(models.int8_cnn())
    with pytest.raises(ValueError, match="give a path ending in .cc or .h"):
        report.save_c_array(tmp_path / "model.bin")
    with pytest.raises(ValueError, match="does not exist"):
        report.save_c_array(tmp_path / "missing" / "model.cc")
    source, header = report.save_c_array(tmp_path / "model.h")
    assert open(header).read().count("extern const unsigned") == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.cc", "model.h"]
