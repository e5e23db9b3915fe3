"""Delegate partitions: which runs of operators a delegate takes as one unit.

A delegate replaces each *partition* (a set of supported operators that can run without
a round trip to the CPU) by one node. Partitions are cut the way the TFLite runtime cuts
them (``PartitionGraphIntoIndependentNodeSubsets`` in ``tensorflow/lite/graph_info.cc``):
nodes are swept in order into alternating subsets of supported and unsupported nodes, a
node joining the open subset as soon as every tensor it reads is ready and its kind
matches the subset's. Each hand-over between CPU and delegate copies tensors, so more
partitions mean slower inference.

The GPU delegate takes only the largest ``max_delegated_partitions`` of them; its default
is 1 (``TfLiteGpuDelegateOptionsV2Default`` in ``tensorflow/lite/delegates/gpu/
delegate_options.cc``): the other partitions run on the CPU. XNNPACK has no such limit.
Which targets are delegates, and how many partitions each takes, is in the registry
(``Target.partitions``, ``Target.max_partitions`` in targets.py).

pandas is imported on first use: ``op_support`` imports this module with the registry.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, List, Tuple

from .targets import TARGETS, Target, delegates

if TYPE_CHECKING:
    import pandas as pd

PARTITION_COLUMNS = ["partition", "first_index", "last_index", "ops", "indices", "delegated"]


def check_delegate(delegate: str, ops: "pd.DataFrame | None" = None) -> Target:
    """The registry's delegate called ``delegate`` (any case); with ``ops``, one whose
    column that table has.

    Raises
    ------
    ValueError
        Not a target that partitions like a delegate, or (with ``ops``) one the table has
        no column for (an opt-in target not asked for).
    """
    name = str(delegate).lower()
    target = TARGETS.get(name)
    if target is None or not target.partitions:
        raise ValueError(f"unknown delegate {delegate!r}: use one of "
                         f"{', '.join(repr(d.name) for d in delegates())}")
    if ops is not None and name not in ops.columns:
        raise ValueError(f"this ops table has no {name!r} column: judge it with "
                         f"targets=[{name!r}] (tj.inspect(model, targets=[{name!r}]))")
    return target


def node_subsets(supported: List[bool], inputs: List[tuple],
                 outputs: List[tuple]) -> List[Tuple[bool, List[int]]]:
    """Split a subgraph's operators into the runtime's subsets, in execution order.

    Parameters
    ----------
    supported : list of bool
        Per operator: does the delegate take it?
    inputs, outputs : list of tuple of int
        Per operator: the tensors it reads and writes (-1 = an omitted input).

    Returns
    -------
    list of (supported, operator indices)
    """
    produced = {t for outs in outputs for t in outs if t >= 0}
    ready = set()  # tensors whose producer has been placed in a subset
    placed = [False] * len(supported)
    subsets: List[Tuple[bool, List[int]]] = []
    while not all(placed):
        kind = None
        members: List[int] = []
        changed = True
        while changed:
            changed = False
            for op, done in enumerate(placed):
                if done or any(t >= 0 and t in produced and t not in ready for t in inputs[op]):
                    continue
                if kind is None:
                    kind = supported[op]  # the first ready node sets the subset's kind
                if supported[op] != kind:
                    continue
                placed[op] = changed = True
                members.append(op)
                ready.update(outputs[op])
        if not members:  # a cycle (damaged file): leave the rest on the CPU
            members = [op for op, done in enumerate(placed) if not done]
            kind = False
            for op in members:
                placed[op] = True
        subsets.append((bool(kind), members))
    return subsets


def partitions(ops: pd.DataFrame, delegate: str, subgraph: int = 0) -> pd.DataFrame:
    """The partitions a delegate takes in one subgraph of an ops table.

    Parameters
    ----------
    ops : pandas.DataFrame
        From :func:`ops_table`.
    delegate : str
        A target of the registry that partitions like a delegate (``'gpu'``, ``'xnnpack'``, ...).
    subgraph : int
        Which subgraph (0, the main graph, by default).

    Returns
    -------
    pandas.DataFrame
        One row per delegated partition, in execution order: ``partition`` (0, 1, ...),
        ``first_index`` / ``last_index`` (its first and last operator), ``ops`` (how many
        operators), ``indices`` (all of them) and ``delegated`` (False for the partitions
        beyond the delegate's default number, ``Target.max_partitions``: for the GPU
        delegate its ``max_delegated_partitions`` of 1; those run on the CPU).
    """
    import pandas as pd

    target = check_delegate(delegate, ops)
    name = target.name
    graph = ops[ops["subgraph"] == subgraph]
    subsets = node_subsets(graph[name].tolist(), graph["inputs"].tolist(),
                           graph["outputs"].tolist())
    found = [sorted(members) for kind, members in subsets if kind]
    limit = target.max_partitions
    taken = set(range(len(found)))
    if limit is not None:
        # GetFirstNLargestPartitions: a stable sort by size, largest first.
        taken = set(sorted(range(len(found)), key=lambda k: -len(found[k]))[:limit])
    rows = [(k, members[0], members[-1], len(members), tuple(members), k in taken)
            for k, members in enumerate(found)]
    return pd.DataFrame(rows, columns=PARTITION_COLUMNS).astype(
        {"partition": "int64", "first_index": "int64", "last_index": "int64",
         "ops": "int64", "delegated": bool})


def partition_caption(ops: pd.DataFrame) -> str:
    """One line per delegate whose column ``ops`` has: its partitions of the main subgraph
    and the ops between them."""
    if not len(ops):
        return ""
    graph = ops[ops["subgraph"] == 0]
    names = graph["op"].tolist()
    lines = []
    for target in delegates(ops.columns):
        name, label = target.name, target.label
        found = partitions(ops, name)
        if not len(found):
            lines.append(f"{label}: no partition (nothing delegated)")
            continue
        line = f"{label}: {len(found)} partition{'s' if len(found) > 1 else ''}"
        if len(found) > 1:
            ends = found["last_index"].tolist()[:-1]
            starts = found["first_index"].tolist()[1:]
            cuts = []
            for end, start in zip(ends, starts):
                between = [i for i in range(end + 1, start) if not graph[name].iat[i]]
                cuts += [f"{names[i]} (op {i})" for i in between[:2]]
            shown = list(dict.fromkeys(cuts))
            line += ", split by " + ", ".join(shown[:6]) + (", …" if len(shown) > 6 else "")
            limit = target.max_partitions
            if limit is not None and len(found) > limit:
                spans = [(f"op {best.first_index}" if best.ops == 1
                          else f"ops {best.first_index}-{best.last_index}")
                         + f", {best.ops} op{'s' if best.ops > 1 else ''}"
                         for best in found[found["delegated"]].itertuples()]
                largest = "the largest" if limit == 1 else f"the {limit} largest"
                line += (f"; by default it takes only {largest} ({'; '.join(spans)}), the "
                         "rest run on the CPU")
        lines.append(line)
    return "; ".join(lines)
