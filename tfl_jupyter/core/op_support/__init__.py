"""Per-operator support tables: what each operator is and where it will run.

``ops_table(model)`` gives one row per operator, ``op_summary(ops)`` one row per op
type (blockers first), ``style_ops(df)`` a notebook-friendly Styler for either.
The XNNPACK and GPU verdicts are our own ports of the upstream rules (see
``xnnpack_rules`` and ``gpu_rules``); TensorFlow is not needed.
"""
from .style import style_ops
from .table import OPS_COLUMNS, SUMMARY_COLUMNS, op_summary, ops_table

__all__ = ["ops_table", "op_summary", "style_ops", "OPS_COLUMNS", "SUMMARY_COLUMNS"]
