"""Decode the builtin-options tables the support rules look at.

Slots, types and defaults are those of ``schema.fbs`` (checked against the generated
``schema_py_generated`` classes in tests/test_op_support.py). An options table whose
union tag does not match the operator reads as all-defaults, like an absent table.
"""
from __future__ import annotations

from typing import Dict, Tuple

from ..tflite_reader import OperatorInfo

ACTIVATION_NAMES = ("NONE", "RELU", "RELU_N1_TO_1", "RELU6", "TANH", "SIGN_BIT")

# field -> (slot, struct code, default)
_Fields = Dict[str, Tuple[int, str, object]]

_CONV = {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0),
         "activation": (3, "b", 0), "dilation_w": (4, "i", 1), "dilation_h": (5, "i", 1)}
_DEPTHWISE = {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0),
              "depth_multiplier": (3, "i", 0), "activation": (4, "b", 0),
              "dilation_w": (5, "i", 1), "dilation_h": (6, "i", 1)}
_POOL = {"padding": (0, "b", 0), "stride_w": (1, "i", 0), "stride_h": (2, "i", 0),
         "filter_w": (3, "i", 0), "filter_h": (4, "i", 0), "activation": (5, "b", 0)}
_ACTIVATION_ONLY = {"activation": (0, "b", 0)}
_BLOCK = {"block_size": (0, "i", 0)}
_REDUCER = {"keep_dims": (0, "?", False)}

# op name -> (BuiltinOptions union tag, fields)
OPTION_LAYOUTS: Dict[str, Tuple[int, _Fields]] = {
    "CONV_2D": (1, _CONV),
    "DEPTHWISE_CONV_2D": (2, _DEPTHWISE),
    "AVERAGE_POOL_2D": (5, _POOL),
    "MAX_POOL_2D": (5, _POOL),
    "L2_POOL_2D": (5, _POOL),
    "FULLY_CONNECTED": (8, {"activation": (0, "b", 0), "weights_format": (1, "b", 0),
                            "keep_num_dims": (2, "?", False),
                            "asymmetric_quantize_inputs": (3, "?", False)}),
    "SOFTMAX": (9, {"beta": (0, "f", 0.0)}),
    "CONCATENATION": (10, {"axis": (0, "i", 0), "activation": (1, "b", 0)}),
    "ADD": (11, _ACTIVATION_ONLY),
    "MUL": (21, _ACTIVATION_ONLY),
    "SUB": (28, _ACTIVATION_ONLY),
    "DIV": (29, _ACTIVATION_ONLY),
    "MEAN": (27, _REDUCER),
    "SUM": (27, _REDUCER),
    "REDUCE_MAX": (27, _REDUCER),
    "REDUCE_MIN": (27, _REDUCER),
    "REDUCE_PROD": (27, _REDUCER),
    "RESIZE_BILINEAR": (15, {"align_corners": (2, "?", False),
                             "half_pixel_centers": (3, "?", False)}),
    "RESIZE_NEAREST_NEIGHBOR": (74, {"align_corners": (0, "?", False),
                                     "half_pixel_centers": (1, "?", False)}),
    "STRIDED_SLICE": (32, {"begin_mask": (0, "i", 0), "end_mask": (1, "i", 0),
                           "ellipsis_mask": (2, "i", 0), "new_axis_mask": (3, "i", 0),
                           "shrink_axis_mask": (4, "i", 0), "offset": (5, "?", False)}),
    "SPACE_TO_DEPTH": (19, _BLOCK),
    "DEPTH_TO_SPACE": (94, _BLOCK),
    "MIRROR_PAD": (77, {"mode": (0, "b", 0)}),  # 0 = REFLECT, 1 = SYMMETRIC
    "CUMSUM": (102, {"exclusive": (0, "?", False), "reverse": (1, "?", False)}),
    "TRANSPOSE_CONV": (49, {"padding": (0, "b", 0), "stride_w": (1, "i", 0),
                            "stride_h": (2, "i", 0), "activation": (3, "b", 0)}),
    "LEAKY_RELU": (75, {"alpha": (0, "f", 0.0)}),
    "SPLIT": (35, {"num_splits": (0, "i", 0)}),
    "SPLIT_V": (79, {"num_splits": (0, "i", 0)}),
    "ONE_HOT": (61, {"axis": (0, "i", 0)}),
    "LSTM": (14, {"activation": (0, "b", 0), "cell_clip": (1, "f", 0.0),
                  "proj_clip": (2, "f", 0.0), "kernel_type": (3, "b", 0)}),
    "BATCH_MATMUL": (101, {"adj_x": (0, "?", False), "adj_y": (1, "?", False)}),
    "PACK": (59, {"values_count": (0, "i", 0), "axis": (1, "i", 0)}),
    "WHILE": (93, {"cond_subgraph_index": (0, "i", 0), "body_subgraph_index": (1, "i", 0)}),
}


_DEFAULTS = {name: {field: default for field, (_, _, default) in fields.items()}
             for name, (_, fields) in OPTION_LAYOUTS.items()}


def read_options(op: OperatorInfo) -> Dict[str, object]:
    """Return the decoded builtin options of ``op`` (empty dict for ops we do not decode).

    Parameters
    ----------
    op : OperatorInfo

    Returns
    -------
    dict
        Field name -> value, with schema defaults for absent fields.
    """
    layout = OPTION_LAYOUTS.get(op.op)
    if layout is None:
        return {}
    union_tag, fields = layout
    table = op.builtin_options if op.builtin_options_type == union_tag else None
    if table is None:
        return dict(_DEFAULTS[op.op])
    return {name: table.scalar(slot, code, default)
            for name, (slot, code, default) in fields.items()}


def activation_name(options: Dict[str, object]) -> str:
    """Name of the fused activation in decoded options ('' when the op has none)."""
    if "activation" not in options:
        return ""
    code = options["activation"]
    return ACTIVATION_NAMES[code] if 0 <= code < len(ACTIVATION_NAMES) else f"UNKNOWN({code})"
