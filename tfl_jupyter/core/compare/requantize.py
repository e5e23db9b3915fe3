"""Selective quantization: quantize again keeping some op types or tensors in float, and compare.

The conversion's calibrated model is quantized again with ``denylisted_ops`` /
``denylisted_nodes``, as ``QuantizationDebugOptions`` + ``get_nondebug_quantized_model()``
do, with the conversion's own I/O types. On a LiteRT Quantizer result the recipe gets one
"no quantize" rule per entry instead (no private TensorFlow API), and the float conversion
and calibration are reused. The float reference and the samples are reused, so before and
after are measured on the same inputs.
"""

from __future__ import annotations

import difflib
import json
import re
import time
from dataclasses import replace
from html import escape
from typing import Any, Iterable, Optional

from ..convert import run_resolved
from ..settings import float_settings
from ..tflite_reader import BUILTIN_OPERATOR_NAMES, read_model
from ..worker.litert import resolve_recipe
from .calibration import calibrated_model, calibrated_tensor_names, check_debuggable, quantize_calibrated_in_worker
from .tables import op_counts, style_metrics, worst
from .tasks import task_formats


def requantize(result, denylist: Any = (), *, samples: Any = None, n: Optional[int] = 100, baseline=None, progress: Optional[bool] = None,
               labels: Any = None, metric: Any = None):
    """Quantize ``result`` again with ``denylist`` kept in float; compare before and after.

    Parameters
    ----------
    result : ConversionResult
        An int8 / int8-full conversion.
    denylist : str, sequence of str, or rows of ``.layers``
        Op types (``"MEAN"``, ``"CONV_2D"``) and/or tensor names (the ``tensor`` column of
        ``.layers``). On a result that was itself requantized, these are added to what it
        already keeps in float.
    samples, n
        As for ``compare``; ignored when ``baseline`` is given.
    baseline : Comparison, optional
        A comparison of ``result`` whose samples, labels and reference outputs are reused.
    labels, metric
        As for ``compare``: judge the fix by task accuracy; ignored when ``baseline`` is given
        (its labels are used).
    progress : bool, optional
        Progress bars.

    Returns
    -------
    Requantized
        ``.result`` (the new ConversionResult), ``.comparison``, ``.baseline``; unpacks as
        ``new_result, comparison = ...``.
    """
    from .measure import run_prepared
    from .report import Comparison

    started = time.perf_counter()
    litert = result.settings.quantizer == "litert"
    if litert:
        # the float model's op types and tensor names: what the recipe's rules match
        calibrated = run_resolved(result.source, float_settings(result.settings)).tflite_model
    else:
        check_debuggable(result.settings, "requantize()")
        calibrated = calibrated_model(result, progress=progress)
    op_types = {op.op for op in read_model(calibrated).subgraphs[0].operators}
    ops, nodes = split_denylist(denylist, calibrated_tensor_names(calibrated), op_types)
    # requantizing a requantized result adds to its denylist
    new_ops = tuple(op for op in ops if op not in result.denylisted_ops)
    new_nodes = tuple(node for node in nodes if node not in result.denylisted_nodes)
    ops = tuple(dict.fromkeys(result.denylisted_ops + ops))
    nodes = tuple(dict.fromkeys(result.denylisted_nodes + nodes))
    settings = result.settings
    if litert:
        settings = resolve_recipe(replace(settings, recipe=json.dumps(keep_float_recipe(settings.recipe, new_ops, new_nodes)),
                                          recipe_name=f"{_base_recipe_name(settings.recipe_name)} + kept in float"))
        model = run_resolved(result.source, settings).tflite_model
    else:
        model = quantize_calibrated_in_worker(calibrated, result.settings, denylisted_ops=ops, denylisted_nodes=nodes)
    note = _kept_note(ops, nodes, result.settings)
    # same source and (on the converter's path) settings objects: the calibrated model's cache key
    new = replace(
        result,
        settings=settings,
        tflite_model=model,
        duration_s=time.perf_counter() - started,
        log="",
        notes=tuple(result.notes) + (note,),
        output_file=None,
        denylisted_ops=ops,
        denylisted_nodes=nodes,
    )
    if baseline is None:
        baseline = result.compare(samples=samples, n=n, progress=progress, labels=labels, metric=metric)
    prepared = baseline.prepared
    outputs = run_prepared(new.tflite_model, new.model, prepared, progress=progress, description="requantized")
    comparison = Comparison(result=new, prepared=prepared, outputs=outputs)
    return Requantized(new, comparison, baseline, ops, nodes)


def keep_float_recipe(recipe_json: str, ops=(), nodes=()) -> list:
    """The LiteRT Quantizer recipe ``recipe_json`` plus a "no quantize" rule per op type and tensor.

    A rule's ``regex`` matches an op's scope, its output tensor names each followed by ``;``;
    later rules win, so these come last.
    """
    rules = json.loads(recipe_json)
    rules += [{"regex": ".*", "operation": op, "algorithm_key": "no_quantize"} for op in ops]
    rules += [{"regex": f"(^|;){re.escape(node)};", "operation": "*", "algorithm_key": "no_quantize"} for node in nodes]
    return rules


def _base_recipe_name(name) -> str:
    return (name or "custom recipe").removesuffix(" + kept in float")


def split_denylist(denylist: Iterable, calibrated_names: set, op_types: set) -> tuple:
    """Sort a user's denylist into (op types, tensor names), checking every entry exists.

    Raises
    ------
    ValueError
        An entry is neither an op type nor a tensor of the model; the message suggests names.
    """
    ops, nodes = [], []
    for entry in _entries(denylist):
        normalized = entry.strip().upper()
        if entry in calibrated_names:
            nodes.append(entry)
        elif normalized in BUILTIN_OPERATOR_NAMES:
            if normalized not in op_types:
                raise ValueError(f"the model has no {normalized} op to keep in float; its op types are {', '.join(sorted(op_types))}")
            ops.append(normalized)
        else:
            close = difflib.get_close_matches(entry, sorted(calibrated_names | op_types), n=3, cutoff=0.5)
            hint = f" (close: {', '.join(map(repr, close))})" if close else ""
            raise ValueError(
                f"{entry!r} is neither an op type (e.g. 'CONV_2D') nor a tensor of this model{hint}: "
                "take names from the 'op' and 'tensor' columns of .layers"
            )
    return tuple(dict.fromkeys(ops)), tuple(dict.fromkeys(nodes))


def _entries(denylist) -> list:
    if denylist is None:
        return []
    if isinstance(denylist, str):
        return [denylist]
    if hasattr(denylist, "columns") and "tensor" in getattr(denylist, "columns", ()):
        return [str(t) for t in denylist["tensor"]]  # (a filtered) .layers table
    entries = list(denylist)
    if not all(isinstance(e, str) for e in entries):
        raise TypeError("denylist takes op types and tensor names as strings, or rows of .layers")
    return entries


def _kept_note(ops, nodes, settings) -> str:
    kept = []
    if ops:
        kept.append(f"op types {', '.join(ops)}")
    if nodes:
        kept.append(f"{len(nodes)} tensor(s) {', '.join(nodes[:5])}{' ...' if len(nodes) > 5 else ''}")
    text = ("kept in float: " + "; ".join(kept)) if kept else "requantized with nothing kept in float"
    if settings.quantizer == "litert":
        text += " (a 'no_quantize' rule each in result.recipe; .code shows it)"
    else:
        text += " (QuantizationDebugger denylist on the calibrated model; .code shows the base conversion only)"
    if kept and "TFLITE_BUILTINS_INT8" in settings.supported_ops:
        text += "; the float ops make this model no longer integer-only"
    return text


class Requantized:
    """Before and after one requantization, measured on the same samples.

    Attributes
    ----------
    result : ConversionResult
        The requantized model (its ``notes`` say what was kept in float).
    comparison : Comparison
        The requantized model vs the reference.
    baseline : Comparison
        The original model vs the reference, on the same samples.
    denylisted_ops, denylisted_nodes : tuple of str
    """

    def __init__(self, result, comparison, baseline, denylisted_ops, denylisted_nodes):
        self.result = result
        self.comparison = comparison
        self.baseline = baseline
        self.denylisted_ops = tuple(denylisted_ops)
        self.denylisted_nodes = tuple(denylisted_nodes)

    def __iter__(self):
        return iter((self.result, self.comparison))

    @property
    def table(self):
        """Rows ``before`` / ``after``: size, float ops, the task metrics (with labels) and the worst-output error metrics."""
        import pandas as pd

        rows = {}
        for label, comparison in (("before", self.baseline), ("after", self.comparison)):
            task = comparison.task_metrics.loc["converted"].to_dict() if comparison.task_metrics is not None else {}
            rows[label] = {"size_bytes": comparison.result.size_bytes, **op_counts(comparison.result), **task,
                           **worst(comparison.summary)}
        return pd.DataFrame.from_dict(rows, orient="index")

    def __repr__(self) -> str:
        return f"Requantized: {self.result.notes[-1]}\n{self.table.to_string()}"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        table = style_metrics(self.table).format({"size_bytes": "{:,}", **task_formats(self.table.columns)})
        return (
            "<div class='tfl-jupyter-requantized'>"
            f"<div><b>Requantized</b> &middot; {escape(self.result.notes[-1])}</div>"
            f"{table.to_html()}"
            f"<div>samples: {escape(self.comparison.samples_origin)}; worst over {len(self.comparison.summary)} output(s)</div>"
            "</div>"
        )
