"""Fuzzing: mutated copies of real ``.tflite`` files never cost the kernel.

Every mutant goes through ``tj.inspect``, ``.ops`` and ``.op_summary`` in this process (a
pure-Python, bounds-checked reader), and those that still read go through the LiteRT
interpreter in the worker process. Each must end in a clear error or a consistent result,
within a time limit. Seeded: a failure names the model, mutation and seed to replay it.
The long run (``bench/fuzz_models.py``) does the same with many more mutants.
"""

from __future__ import annotations

import time

import pytest

import tfl_jupyter as tj
from tfl_jupyter.core.tflite_reader import InvalidModelError

from fuzzing import mutants

import conftest_ops as models

INSPECT_MUTANTS = 1200
SECONDS_PER_INSPECT = 2.0


@pytest.fixture(scope="module")
def originals():
    """Real converted models of every kind (float, int8, int16x8, float16, dynamic, Flex, custom, WHILE, ...)."""
    return models.all_models()


def inspect_outcome(data: bytes) -> str:
    """"error: ..." for a clear rejection, "ok: N ops" for a report whose tables agree with it."""
    try:
        report = tj.inspect(data)
    except InvalidModelError as error:
        assert str(error) and "\n" not in str(error).strip()
        return f"error: {error}"
    ops, summary = report.ops, report.op_summary
    operators = sum(len(subgraph.operators) for subgraph in report.model.subgraphs)
    assert len(ops) == operators and summary["count"].sum() == operators
    return f"ok: {operators} ops"


def test_inspect_survives_every_mutant(originals):
    outcomes = {"error": 0, "ok": 0}
    for mutant in mutants(originals, INSPECT_MUTANTS, seed=7):
        started = time.perf_counter()
        try:
            outcome = inspect_outcome(mutant.data)
        except Exception as exc:  # anything but a clear InvalidModelError is a bug
            pytest.fail(f"{mutant}: {type(exc).__name__}: {exc}")
        assert time.perf_counter() - started < SECONDS_PER_INSPECT, f"{mutant} took too long"
        outcomes[outcome.split(":")[0]] += 1
    assert sum(outcomes.values()) == INSPECT_MUTANTS
    assert outcomes["error"] > 0 and outcomes["ok"] > 0  # both paths were exercised


INTERPRETER_MUTANTS = 1200  # LiteRT in the worker; a crash would restart it (seconds each)
CLEAR_INTERPRETER_ERRORS = (InvalidModelError, ValueError, RuntimeError, tj.WorkerDied, TimeoutError)


def test_the_interpreter_path_survives_mutants_in_the_worker(originals):
    from tfl_jupyter.core.worker.pool import POOL
    from tfl_jupyter.core.compare.probes import run_on_generated_inputs

    runnable = {name: data for name, data in originals.items() if name not in ("flex_model", "custom_model")}
    outcomes = {"ran": 0, "error": 0, "worker died": 0}
    for mutant in mutants(runnable, INTERPRETER_MUTANTS, seed=11):
        try:
            shapes = POOL.call(run_on_generated_inputs, mutant.data, timeout=30)
        except tj.WorkerDied:
            outcomes["worker died"] += 1
        except CLEAR_INTERPRETER_ERRORS as error:
            assert str(error).strip(), f"{mutant}: empty message"
            outcomes["error"] += 1
        except Exception as exc:
            pytest.fail(f"{mutant}: unclear {type(exc).__name__}: {exc}")
        else:
            assert all(isinstance(shape, tuple) for shape in shapes.values())
            outcomes["ran"] += 1
    assert sum(outcomes.values()) == INTERPRETER_MUTANTS
    assert outcomes["ran"] > 0 and outcomes["error"] > 0, outcomes
    # The unmutated models still run: the worker is healthy after all that.
    assert POOL.call(run_on_generated_inputs, runnable["int8_cnn"])
