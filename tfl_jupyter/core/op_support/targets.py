"""The one registry of deploy targets: every verdict column of the op tables.

A target is one rules module (its verdict function, with the signature of
:data:`VerdictFunction`) and one :class:`Target` line in :data:`TARGETS`. The ops table
and the summary (columns, notes, blockers), the styling, the partitions and their
caption, the graph overlays, the panel, the magic's help and ``tj.inspect``'s docstring
all read the registry: a new target (an NPU column, say) needs nothing else.

A target judged by running the model (``needs_measurement=True``) gets its measurement
from the layer above: ``ops_table(model, targets, measured={name: {(subgraph, index):
(supported, reason)}})`` hands each operator's measured verdict to the target's verdict
function as ``facts.measured`` (and groups operators by it).

This module, and the rules modules it names, import no numpy and no pandas: the magic's
help is built from it at ``%load_ext`` (the rules modules import ``OpContext`` for their
annotations only). ``tests/test_targets.py`` checks both.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Dict, FrozenSet, Iterable, Mapping, Optional, Tuple, Union

from . import edgetpu_rules, gpu_rules, litert_gpu_rules, micro_rules, xnnpack_rules

if TYPE_CHECKING:
    import numpy as np

    from .context import OpContext

#: One operator's verdict for one target: ``(supported, reason)``, ``reason`` saying which
#: rule failed ('' when supported).
Verdict = Tuple[bool, str]
#: Where a measured target's verdicts are: ``(subgraph, operator index) -> Verdict``.
Measurement = Mapping[Tuple[int, int], Verdict]


@dataclass(frozen=True)
class OpFacts:
    """What the ops table knows of an operator before any target judges it.

    Attributes
    ----------
    quantized : bool
        The op computes in integer arithmetic (see ``quantization.quantization_scheme``).
    quant_scheme : str
        'int8', 'uint8', 'int16x8', 'dynamic-range', 'quantize', 'dequantize', ... or the
        float type it runs in.
    weights_quant : str
        Per-tensor / per-channel weights ('' for none).
    measured : (bool, str) or None
        For a target with ``needs_measurement``: what the measurement found for this
        operator (None where it has no entry for it). None for every other target.
    """

    quantized: bool
    quant_scheme: str
    weights_quant: str
    measured: Optional[Verdict] = None


#: The one signature of every target's verdict function: ``verdict(ctx, facts)``.
VerdictFunction = Callable[["OpContext", OpFacts], Verdict]
#: A whole-graph step: ``step(columns, subgraph)`` corrects the target's column (and the
#: ``notes``) of one subgraph's finished columns, where an op's place in the graph matters.
GraphStep = Callable[[Dict[str, "np.ndarray"], int], None]
#: What a verdict reads of the shapes beyond their ranks: ``facts(input_shapes, output_shapes)``.
ShapeFacts = Callable[[tuple, tuple], tuple]


@dataclass(frozen=True)
class Grouping:
    """What a target's verdicts read beyond an operator's template (op, version, options,
    tensor types and ranks, static inputs), so that the ops table can judge one operator
    per group of look-alikes (see ``grouping.py``) and still give each its own verdict.

    Attributes
    ----------
    exact_shapes : frozenset of str
        Ops whose verdict reads every dimension of their tensors.
    shape_facts : dict of str to callable
        Ops whose verdict reads some facts of the shapes: ``facts(inputs, outputs)``.
    context_dependent : frozenset of str
        Ops whose verdict looks at neighbouring ops (each is judged on its own).
    value_dependent : frozenset of str
        Ops whose verdict reads the values of small constant inputs.
    """

    exact_shapes: FrozenSet[str] = frozenset()
    shape_facts: Mapping[str, ShapeFacts] = field(default_factory=dict)
    context_dependent: FrozenSet[str] = frozenset()
    value_dependent: FrozenSet[str] = frozenset()


@dataclass(frozen=True)
class Target:
    """One deploy target: a verdict column of the op tables.

    Attributes
    ----------
    name : str
        The column, the ``targets=`` / ``--targets`` name, the overlay and ``partitions()`` name.
    label : str
        What notes, captions and legends call it (``"GPU"``).
    description : str
        What it is, for help texts (``"the TFLite GPU delegate"``).
    verdict : VerdictFunction
        ``verdict(ctx, facts) -> (supported, reason)`` for one operator.
    always : bool
        Judged in every table, whatever ``targets`` asks for.
    default : bool
        Judged when ``targets`` is not given.
    partitions : bool
        A delegate: the runtime cuts the graph into partitions of the ops it takes
        (``partitions()``, the summary's caption, a graph overlay, the summary's blockers).
    max_partitions : int or None
        How many partitions it takes by default, the largest first (None: all).
    needs_measurement : bool
        Judged by running the model: opt-in, and ``ops_table`` needs its ``measured=``.
    overlay_title : str
        The legend's title of its graph overlay (delegates only).
    grouping : Grouping
        What its verdicts read beyond an operator's template.
    graph_step : GraphStep or None
        A whole-graph correction applied to each subgraph's finished columns.
    flex_notes : bool
        Whether its reason for a Flex op goes into the notes (False where the Flex op's
        own note already says it has no runtime there).
    reports_first : bool
        Its notes, caption line and overlay come before the other targets' (the classic
        GPU delegate's always have); the others follow in registry order.
    """

    name: str
    label: str
    description: str
    verdict: VerdictFunction
    always: bool = False
    default: bool = False
    partitions: bool = False
    max_partitions: Optional[int] = None
    needs_measurement: bool = False
    overlay_title: str = ""
    grouping: Grouping = field(default_factory=Grouping)
    graph_step: Optional[GraphStep] = None
    flex_notes: bool = True
    reports_first: bool = False


#: The one registry of deploy targets, in the order of the tables' columns.
TARGETS: Dict[str, Target] = {
    target.name: target
    for target in (
        Target("xnnpack", "XNNPACK", "the XNNPACK delegate (the default CPU accelerator)",
               xnnpack_rules.xnnpack_verdict, always=True, default=True, partitions=True,
               overlay_title="where each op runs with XNNPACK",
               grouping=Grouping(exact_shapes=xnnpack_rules.EXACT_SHAPES,
                                 context_dependent=xnnpack_rules.CONTEXT_DEPENDENT,
                                 value_dependent=xnnpack_rules.VALUE_DEPENDENT)),
        Target("gpu", "GPU", "the TFLite GPU delegate", gpu_rules.gpu_verdict, always=True,
               default=True, partitions=True, max_partitions=1, reports_first=True,
               overlay_title="where each op runs with the GPU delegate",
               grouping=Grouping(exact_shapes=gpu_rules.EXACT_SHAPES,
                                 shape_facts=gpu_rules.SHAPE_FACTS,
                                 context_dependent=gpu_rules.CONTEXT_DEPENDENT)),
        Target("micro", "Micro", "TFLite Micro", micro_rules.micro_verdict, default=True,
               flex_notes=False),
        Target("edgetpu", "Edge TPU", "the Edge TPU compiler", edgetpu_rules.edgetpu_verdict,
               flex_notes=False, graph_step=edgetpu_rules.mapped_columns,
               grouping=Grouping(exact_shapes=edgetpu_rules.EXACT_SHAPES,
                                 value_dependent=edgetpu_rules.VALUE_DEPENDENT)),
        Target("litert_gpu", "LiteRT GPU", "LiteRT's GPU accelerator, ML Drift over WebGPU",
               litert_gpu_rules.litert_gpu_verdict, partitions=True, max_partitions=1, needs_measurement=True,
               overlay_title="where each op runs with LiteRT's GPU accelerator"),
    )
}


def in_report_order(names: Optional[Iterable[str]] = None) -> Tuple[Target, ...]:
    """The targets (those named in ``names``, default all) in the order they speak in
    notes, captions and overlays: ``reports_first`` ones, then the registry's order."""
    wanted = None if names is None else set(names)
    chosen = [t for t in TARGETS.values() if wanted is None or t.name in wanted]
    return tuple(sorted(chosen, key=lambda t: not t.reports_first))


def delegates(names: Optional[Iterable[str]] = None) -> Tuple[Target, ...]:
    """The targets that partition like a delegate (of ``names``, default all), in report order."""
    return tuple(t for t in in_report_order(names) if t.partitions)


def check_targets(targets: Union[None, str, Iterable[str]]) -> Tuple[str, ...]:
    """The verdict columns for ``targets``, in table order: the ``always`` targets (the
    runtime's own delegates, XNNPACK and GPU), plus the targets asked for (default: the
    ``default`` ones).

    Raises
    ------
    ValueError
        An unknown target (the message lists the valid ones).
    TypeError
        ``targets`` is not a list of names.
    """
    if targets is None:
        return tuple(t.name for t in TARGETS.values() if t.default or t.always)
    if isinstance(targets, str):
        targets = targets.split(",")
    try:
        wanted = {str(t).strip().lower() for t in targets} - {""}
    except TypeError:
        raise TypeError(f"targets must be a list of names such as {_example()}, "
                        f"got {type(targets).__name__}") from None
    unknown = sorted(wanted - set(TARGETS))
    if unknown:
        raise ValueError(f"unknown target(s) {', '.join(map(repr, unknown))}: choose from "
                         f"{', '.join(TARGETS)} (e.g. targets={_example()})")
    return tuple(t.name for t in TARGETS.values() if t.name in wanted or t.always)


def _example() -> str:
    """``['micro', 'edgetpu']``: the targets one may ask for, as a list."""
    return repr([t.name for t in TARGETS.values() if not t.always])


def _labels(targets) -> str:
    labels = [t.label for t in targets]
    return " and ".join(labels) if len(labels) <= 2 else ", ".join(labels[:-1]) + " and " + labels[-1]


def always_help() -> str:
    """``"XNNPACK and GPU"``: the targets every table judges, for help texts."""
    return _labels(t for t in TARGETS.values() if t.always)


def targets_help() -> str:
    """The ``--targets`` help: the targets one may ask for and the default."""
    optional = [t for t in TARGETS.values() if not t.always]
    default = [t.name for t in optional if t.default]
    return (f"Device targets the op tables judge besides {always_help()}, comma-separated: "
            f"{', '.join(t.name for t in optional)} (default {', '.join(default) or 'none'})")


def targets_doc() -> str:
    """The targets one may ask for, for docstrings: ``'micro'`` (TFLite Micro, the default), ..."""
    optional = [t for t in TARGETS.values() if not t.always]
    parts = [f"``{t.name!r}`` ({t.description}{', the default' if t.default else ''}"
             f"{', measured: opt-in' if t.needs_measurement else ''})" for t in optional]
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)
