"""``Comparison``: what ``result.compare()`` returns, with tables, pictures and the way on to requantize."""

from __future__ import annotations

from html import escape
from typing import Dict, Optional

import numpy as np

from ..calibration_checks import CalibrationReport
from .binding import bind_outputs, choose_signature
from .calibration_after import check_calibration_after
from .plots import layers_figure, outputs_figure, png_data_uri
from .tables import breakdown_frame, style_metrics, summary_frame
from .tasks import difference_text, style_task, task_frame


class Comparison:
    """Float reference vs converted model on the same samples.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per output: ``max_abs_error``, ``mean_abs_error``, ``rmse``,
        ``cosine_similarity``, ``sqnr_db``, and ``top1_agreement`` / ``top5_agreement``
        where the output looks like class scores.
    breakdown : pandas.DataFrame or None
        With ``float_tflite=True``: per output, the conversion error (float .tflite vs
        TensorFlow), the quantization error (this model vs float .tflite) and the total.
    task_metrics : pandas.DataFrame or None
        With ``labels``: one row per model (``reference``, ``float_tflite`` when measured,
        ``converted``), one column per metric (``accuracy``, ``top5_accuracy``, ``mae``,
        ``rmse``, each user metric by name); None without labels.
    calibration_report : CalibrationReport
        The calibration checked before conversion and on these samples.
    samples_origin : str
        Where the samples came from.
    reference : str
        What the reference was.
    reference_outputs, outputs, float_outputs : dict of str to numpy.ndarray
        The raw outputs (converted outputs dequantized to float).
    notes : list of str
    """

    def __init__(self, *, result, prepared, outputs: Dict[str, np.ndarray], float_outputs=None):
        self.result = result
        self.prepared = prepared
        self.reference_outputs = prepared.reference
        self.outputs = outputs
        self.float_outputs = float_outputs
        self.samples_origin = prepared.samples.origin
        self.reference = prepared.reference_description
        self.label = result.settings.quantize if result.settings.quantize != "none" else "float .tflite"
        self.summary = summary_frame(prepared.reference, outputs, self._output_dtypes())
        self.breakdown = (
            breakdown_frame(prepared.reference, float_outputs, outputs, self.label) if float_outputs is not None else None
        )
        self.task_metrics = None
        if prepared.task:
            models = {"reference": prepared.reference, "float_tflite": float_outputs, "converted": outputs}
            self.task_metrics = task_frame(prepared.task, models)
        self.notes = self._notes()
        self._layers = None
        self._calibration_after = check_calibration_after(result, prepared)

    @property
    def n_samples(self) -> int:
        """Number of samples compared."""
        return self.prepared.samples.n

    @property
    def samples(self) -> Dict[str, np.ndarray]:
        """The inputs compared on, one array per input."""
        return self.prepared.samples.arrays

    @property
    def layers(self):
        """Per-layer quantization error (QuantizationDebugger), worst first; computed on first use.

        Columns: ``op``, ``tensor``, ``rmse_over_scale`` (~0.289 is pure rounding, > 0.7 is
        ``suspect``), ``rmse``, ``max_abs_error``, ``mean_error``, ``stddev``, ``scale``,
        ``zero_point``, ``num_elements``. Costs a calibration run and a debug run: seconds
        for small models, tens of seconds for MobileNet-sized ones.
        """
        if self._layers is None:
            self._layers = self.compute_layers()
        return self._layers

    def compute_layers(self, max_samples: int = 16, progress: Optional[bool] = None):
        """Compute (again) the per-layer table on the first ``max_samples`` samples; see :attr:`layers`."""
        from .layers import layer_table

        self._layers = layer_table(self.result, self.prepared.samples, max_samples=max_samples, progress=progress)
        # the calibrated model now exists: check the activations too
        self._calibration_after = check_calibration_after(self.result, self.prepared)
        return self._layers

    @property
    def suspects(self) -> list:
        """Tensor names of the layers whose ``rmse/scale`` exceeds 0.7, worst first (computes ``.layers``)."""
        from .layers import suspects

        return suspects(self.layers)

    @property
    def calibration_report(self) -> CalibrationReport:
        """The calibration checked before conversion (as ``result.calibration_report``) and on these samples.

        On these samples: calibration ranges far from theirs, and the share of their values outside
        the calibrated range, per input, and per activation once :attr:`layers` is computed.
        """
        return CalibrationReport(self.result.calibration_report.before, self._calibration_after)

    @property
    def calibration(self):
        """Same as :attr:`calibration_report`."""
        return self.calibration_report

    def requantize(self, denylist=None, *, progress: Optional[bool] = None):
        """Convert again keeping ``denylist`` (default: :attr:`suspects`) in float, and compare on the same samples.

        Returns
        -------
        Requantized
        """
        from .requantize import requantize

        return requantize(self.result, self.suspects if denylist is None else denylist, baseline=self, progress=progress)

    def overlay_table(self, name: str = "error"):
        """The data of one graph overlay of the compared model (``error``: from :attr:`layers`)."""
        return self.result.overlay_table(name, self.layers if name == "error" else None)

    def netron(self, overlay: str = "error"):
        """Show the compared model's graph, coloured by per-layer error (computes :attr:`layers`)."""
        return self.result.netron(overlay=overlay, layers=self.layers)

    def plot(self, output: Optional[str] = None):
        """Scatter of converted vs reference values and the error histogram, per output.

        Parameters
        ----------
        output : str, optional
            Only this output.

        Returns
        -------
        matplotlib.figure.Figure
        """
        names = [output] if output is not None else list(self.reference_outputs)
        unknown = [n for n in names if n not in self.reference_outputs]
        if unknown:
            raise ValueError(f"no output {unknown[0]!r}; the outputs are {list(self.reference_outputs)}")
        return outputs_figure({n: self.reference_outputs[n] for n in names}, {n: self.outputs[n] for n in names}, self.label)

    def plot_layers(self, top: int = 20):
        """Bars of per-layer ``rmse/scale``, worst ``top`` layers (computes ``.layers``)."""
        return layers_figure(self.layers, top=top)

    def _output_dtypes(self) -> Dict[str, str]:
        model = self.result.model
        signature = choose_signature(model, self.prepared.signature.key if self.prepared.signature is not None else None)
        graph = model.subgraphs[signature.subgraph_index if signature is not None else 0]
        return {name: graph.tensors[i].dtype for name, i in bind_outputs(model, signature, list(self.reference_outputs)).items()}

    def _notes(self) -> list:
        notes = [f"samples: {self.samples_origin}"]
        model = self.result.model
        io = model.io_tensors(self.prepared.signature.subgraph_index if self.prepared.signature is not None else 0)
        for role, tensors in (("input", io[0]), ("output", io[1])):
            for tensor in tensors:
                if tensor.dtype in ("int8", "uint8", "int16") and tensor.scale:
                    verb = "quantized" if role == "input" else "dequantized"
                    zero = tensor.zero_point[0] if tensor.zero_point else 0
                    notes.append(f"{role} {tensor.name} ({tensor.dtype}) {verb} with the model's scale {tensor.scale[0]:.6g} and zero point {zero}")
        return notes

    def __repr__(self) -> str:
        lines = [f"Comparison: {self.label} .tflite vs {self.reference}, {self.n_samples} samples"]
        lines += [f"  {note}" for note in self.notes]
        lines += [f"  calibration: {w}" for w in self.calibration_report.warnings]
        if self.task_metrics is not None:
            lines.append("Task metrics (against your labels):")
            lines.append(self.task_metrics.to_string())
            lines += [f"  {phrase}" for phrase in difference_text(self.task_metrics)]
        lines.append(self.summary.to_string())
        if self.breakdown is not None:
            lines.append(self.breakdown.to_string())
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        parts = [
            "<div class='tfl-jupyter-compare'>",
            f"<div><b>{escape(self.label)} .tflite vs {escape(self.reference)}</b> &middot; {self.n_samples} samples</div>",
            "<ul>" + "".join(f"<li>{escape(note)}</li>" for note in self.notes) + "</ul>",
        ]
        warnings = self.calibration_report.warnings
        if warnings:
            parts.append("<div><b>Calibration</b> (<code>.calibration_report</code>)</div><ul>"
                         + "".join(f"<li>{escape(w)}</li>" for w in warnings) + "</ul>")
        if self.task_metrics is not None:
            parts += ["<div><b>Task metrics</b> (against your labels)</div>", style_task(self.task_metrics).to_html(),
                      "<div>" + escape("; ".join(difference_text(self.task_metrics))) + "</div>",
                      "<div><b>Agreement with the reference</b></div>"]
        parts.append(style_metrics(self.summary).to_html())
        if self.breakdown is not None:
            parts += ["<div><b>Where the error comes from</b></div>", style_metrics(self.breakdown).to_html()]
        parts.append(f"<img alt='float vs converted outputs' src='{png_data_uri(self.plot())}'/>")
        if self._layers is not None:
            parts += [
                "<div><b>Per-layer error</b> (QuantizationDebugger; rmse/scale ~0.289 is rounding only, &gt; 0.7 suspect)</div>",
                self._layers.head(10).style.format(precision=4).to_html(),
                f"<img alt='per-layer error' src='{png_data_uri(self.plot_layers())}'/>",
            ]
        elif self.result.settings.uses_representative_dataset:
            parts.append("<div><code>.layers</code>: per-layer error with QuantizationDebugger (takes a few seconds); "
                         "<code>.requantize()</code> keeps the suspects in float.</div>")
        parts.append("</div>")
        return "".join(parts)
