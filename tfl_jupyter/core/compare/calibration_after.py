"""Calibration checked after conversion: comparison values outside the calibrated ranges.

Inputs: the calibrated range is read from the converted model (its QUANTIZE op or integer
input, :func:`~.binding.calibrated_ranges`). Activations: where the calibrated (not yet
quantized) model exists (``.layers`` and ``requantize`` compute it), it is run on the first
samples with every tensor kept, and each activation's values are checked against the
min/max the calibrator recorded for it. The ``Comparison`` keeps what is found
(``comparison.calibration_report``).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..calibration_checks import CLIPPED_WARNING, ClippingCheck, Finding, clipped_share, clipping_frame, range_findings
from .binding import bind_inputs, calibrated_ranges, choose_signature, subgraph_of
from .calibration import known_calibrated_model
from .tflite_runner import InterpreterError, TFLiteRunner

ACTIVATION_SAMPLES = 16
_ACTIVATION_FINDINGS = 3


def check_calibration_after(result, prepared) -> Optional[ClippingCheck]:
    """Check ``result``'s calibrated ranges on ``prepared``'s samples (None: nothing was calibrated)."""
    if not result.settings.uses_representative_dataset:
        return None
    samples = prepared.samples
    findings: List[Finding] = []
    check = result.dataset_check
    if check is not None and check.checked and samples.kind == "samples":
        findings += range_findings(check.stats, samples.arrays)
    rows = []
    for name, (low, high) in calibrated_ranges(result.model, prepared.inputs, subgraph_of(prepared.signature)).items():
        share = clipped_share(samples.arrays[name], low, high)
        rows.append({"tensor": name, "kind": "input", "low": low, "high": high, "clipped": share})
        if share > CLIPPED_WARNING:
            findings.append(Finding("clipped", name, f"input {name!r}: {share:.1%} of the comparison values fall outside "
                                    f"the calibrated range [{low:.4g}, {high:.4g}] and are clipped: calibrate on data "
                                    "preprocessed like the model's real inputs"))
    note = "activations: not checked (compute .layers or requantize() first; they calibrate the model this check reads)"
    calibrated = known_calibrated_model(result)
    if calibrated is not None:
        try:
            activation_rows = activation_clipping(calibrated, samples.head(ACTIVATION_SAMPLES))
        except InterpreterError as exc:
            note = f"activations: not checked ({exc})"
        else:
            note = f"activations: checked on the first {min(samples.n, ACTIVATION_SAMPLES)} samples"
            rows += activation_rows
            worst = sorted((r for r in activation_rows if r["clipped"] > CLIPPED_WARNING), key=lambda r: -r["clipped"])
            findings += [Finding("clipped", r["tensor"], f"activation {r['tensor']!r}: {r['clipped']:.1%} of its values fall "
                                 f"outside the calibrated range [{r['low']:.4g}, {r['high']:.4g}]")
                         for r in worst[:_ACTIVATION_FINDINGS]]
    return ClippingCheck(tuple(findings), clipping_frame(rows), samples.origin, note)


def activation_clipping(calibrated: bytes, samples) -> List[dict]:
    """Per activation of the calibrated model: its recorded range and the share of ``samples``' values outside it."""
    from ..tflite_reader import read_model

    model = read_model(calibrated)
    ranges = recorded_ranges(calibrated)
    graph = model.subgraphs[0]
    produced = {i for op in graph.operators for i in op.outputs if i >= 0 and i not in graph.inputs}
    wanted = {i: r for i, r in ranges.items() if i in produced and graph.tensors[i].dtype == "float32"}
    if not wanted:
        return []
    signature = choose_signature(model)
    inputs = bind_inputs(model, signature, samples.names)
    runner = TFLiteRunner(calibrated, model, None, preserve_all_tensors=True)
    values = runner.tensor_values(samples, inputs, list(wanted))
    return [{"tensor": graph.tensors[i].name, "kind": "activation", "low": low, "high": high,
             "clipped": clipped_share(values[i], low, high)} for i, (low, high) in wanted.items()]


def recorded_ranges(calibrated: bytes) -> Dict[int, Tuple[float, float]]:
    """``{tensor index: (min, max)}`` the calibrator recorded in subgraph 0 of a calibrated model."""
    from ai_edge_litert import schema_py_generated as schema

    graph = schema.Model.GetRootAs(calibrated, 0).Subgraphs(0)
    ranges = {}
    for index in range(graph.TensorsLength()):
        quantization = graph.Tensors(index).Quantization()
        if quantization is not None and quantization.MinLength() == 1 and quantization.MaxLength() == 1:
            ranges[index] = (float(quantization.Min(0)), float(quantization.Max(0)))
    return ranges
