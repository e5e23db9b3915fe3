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
