"""Per-operator support tables: what each operator is and where it will run.

``ops_table(model)`` gives one row per operator, ``op_summary(ops)`` one row per op
type (blockers first), ``style_ops(df)`` a notebook-friendly Styler for either.
The XNNPACK, GPU and TFLite Micro verdicts are our own ports of the upstream rules (see
``xnnpack_rules``, ``gpu_rules`` and ``micro_rules``); TensorFlow is not needed.
``partitions(ops, delegate)`` cuts the main subgraph the way the runtime does.
The deploy targets, the verdict columns, are one registry: ``targets.TARGETS``.
"""
from ..._lazy import lazy_attributes
from .partitions import PARTITION_COLUMNS, partitions

__all__ = ["ops_table", "op_summary", "style_ops", "partitions", "OPS_COLUMNS",
           "SUMMARY_COLUMNS", "PARTITION_COLUMNS", "TARGETS"]
# The tables and their styling are imported on first use: the deploy-target registry
# (targets.py) must load without pandas, because the magic's help is built from it at
# %load_ext. (partitions.py imports pandas on first use, and is imported here so that the
# name ``partitions`` is the function, not the submodule.)
_LAZY = {
    "style_ops": (f"{__name__}.style", "style_ops"),
    "OPS_COLUMNS": (f"{__name__}.table", "OPS_COLUMNS"),
    "SUMMARY_COLUMNS": (f"{__name__}.table", "SUMMARY_COLUMNS"),
    "op_summary": (f"{__name__}.table", "op_summary"),
    "ops_table": (f"{__name__}.table", "ops_table"),
    "TARGETS": (f"{__name__}.targets", "TARGETS"),
}
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)
