"""LiteRT's GPU accelerator (the ``litert_gpu`` target): judged by running it, not by rules.

LiteRT 2.x's ``CompiledModel`` API with ``HardwareAccelerator.GPU`` runs a model on ML
Drift over WebGPU, a wider op set than the classic GPU delegate (the ``gpu`` column). Its
verdicts are measured: :func:`tfl_jupyter.core.worker.litert_gpu.measure_litert_gpu`
compiles the model in a worker without TensorFlow and reads what the accelerator says it
refused, and why; its ``.measured`` (``{(subgraph, index): (supported, reason)}``) is what
the ops table hands this target as ``facts.measured``. Like the classic delegate, it takes
only the largest partition of the ops it supports (``max_partitions=1``; the accelerator's
own op count confirms it on every test model).

Where an operator has no measurement (no GPU adapter on this machine, a model the runtime
could not load, or an op type the accelerator refused for some of its operators without
saying which), the verdict says so instead of guessing.

Imports neither numpy nor pandas (the registry's rule for rules modules).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Tuple

if TYPE_CHECKING:
    from .context import OpContext
    from .targets import OpFacts

#: The reason of an operator without a measured verdict.
NOT_MEASURED = ("not measured: LiteRT's GPU accelerator gave no verdict for this op (no GPU adapter here, "
                "the model did not load, or it did not say which operator of this type it refused); see gpu_check()")


def litert_gpu_verdict(ctx: "OpContext", facts: Optional["OpFacts"] = None) -> Tuple[bool, str]:
    """The accelerator's own verdict on one operator, from ``facts.measured``.

    Parameters
    ----------
    ctx : OpContext
        Unused: the verdict is measured, not derived from the operator.
    facts : OpFacts
        ``facts.measured`` is ``(supported, reason)`` as the accelerator said it, or None.

    Returns
    -------
    (supported, reason) : (bool, str)
        ``reason`` is the accelerator's own line ("Only support 1D indices"), '' when supported.
    """
    measured = getattr(facts, "measured", None)
    if measured is None:
        return False, NOT_MEASURED
    supported, reason = measured
    return bool(supported), "" if supported else (reason or "refused by LiteRT's GPU accelerator")
