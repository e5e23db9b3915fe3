"""Per-operator support tables: what each operator is and where it will run.

``ops_table(model)`` gives one row per operator, ``op_summary(ops)`` one row per op
type (blockers first), ``style_ops(df)`` a notebook-friendly Styler for either.
The XNNPACK, GPU and TFLite Micro verdicts are our own ports of the upstream rules (see
``xnnpack_rules``, ``gpu_rules`` and ``micro_rules``); TensorFlow is not needed.
``partitions(ops, delegate)`` cuts the main subgraph the way the runtime does.
"""
from .style import style_ops
from .partitions import PARTITION_COLUMNS, partitions
from .table import OPS_COLUMNS, SUMMARY_COLUMNS, op_summary, ops_table

__all__ = ["ops_table", "op_summary", "style_ops", "partitions", "OPS_COLUMNS",
           "SUMMARY_COLUMNS", "PARTITION_COLUMNS"]
