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
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import pandas as pd

PARTITION_COLUMNS = ["partition", "first_index", "last_index", "ops", "indices", "delegated"]
# Delegates whose verdict column the ops table has, and how many partitions each takes by
# default (None: all).
MAX_PARTITIONS: Dict[str, object] = {"gpu": 1, "xnnpack": None}
_NAMES = {"gpu": "GPU", "xnnpack": "XNNPACK"}


def _check_delegate(delegate: str) -> str:
    name = str(delegate).lower()
    if name not in MAX_PARTITIONS:
        raise ValueError(f"unknown delegate {delegate!r}: use one of "
                         f"{', '.join(repr(d) for d in MAX_PARTITIONS)}")
    return name


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
    delegate : {'gpu', 'xnnpack'}
    subgraph : int
        Which subgraph (0, the main graph, by default).

    Returns
    -------
    pandas.DataFrame
        One row per delegated partition, in execution order: ``partition`` (0, 1, ...),
        ``first_index`` / ``last_index`` (its first and last operator), ``ops`` (how many
        operators), ``indices`` (all of them) and ``delegated`` (False for the GPU
        partitions beyond the delegate's default ``max_delegated_partitions`` of 1, which
        run on the CPU).
    """
    name = _check_delegate(delegate)
    graph = ops[ops["subgraph"] == subgraph]
    subsets = node_subsets(graph[name].tolist(), graph["inputs"].tolist(),
                           graph["outputs"].tolist())
    found = [sorted(members) for kind, members in subsets if kind]
    limit = MAX_PARTITIONS[name]
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
    """One line per delegate: its partitions of the main subgraph and the ops between them."""
    if not len(ops):
        return ""
    graph = ops[ops["subgraph"] == 0]
    names = graph["op"].tolist()
    lines = []
    for name in MAX_PARTITIONS:
        found = partitions(ops, name)
        label = _NAMES[name]
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
            if MAX_PARTITIONS[name] is not None:
                best = found[found["delegated"]].iloc[0]
                span = (f"op {best.first_index}" if best.ops == 1
                        else f"ops {best.first_index}-{best.last_index}")
                line += (f"; by default it takes only the largest ({span}, {best.ops} "
                         f"op{'s' if best.ops > 1 else ''}), the rest run on the CPU")
        lines.append(line)
    return "; ".join(lines)
