"""``ConversionResult``: a plain record of one conversion; its methods delegate to core functions."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from html import escape
from typing import Optional

from .calibration_checks import CalibrationReport, DatasetCheck
from .deploy import DeployTargets
from .settings import ConversionSettings
from .sources import ModelSource
from .text import format_size, quantization_text


@dataclass(frozen=True)
class ConversionResult(DeployTargets):
    """The outcome of one conversion: values fixed when it ran, nothing filled in later.

    What a comparison finds is on the ``Comparison`` (``result.compare().calibration_report``);
    the calibrated model behind ``.layers`` and ``requantize`` is cached by
    :mod:`tfl_jupyter.core.compare.calibration`.

    Attributes
    ----------
    tflite_model : bytes
        The converted model.
    settings : ConversionSettings
        The settings it was converted with (their ``representative_dataset`` included).
    source : ModelSource
        The resolved model it was converted from; ``compare`` runs it as the reference, and
        ``.layers``/``requantize`` calibrate it again.
    entry_point : str
        The ``tf.lite.TFLiteConverter`` constructor used: ``"from_keras_model"``,
        ``"from_saved_model"`` or ``"from_concrete_functions"``.
    duration_s : float
        Wall time of the conversion, calibration included.
    log : str
        Everything the converter printed, captured instead of spilled into the cell.
    notes : tuple of str
        Things worth knowing (a fallback taken, a setting not used).
    output_file : str or None
        Where the model was written, if it was.
    calibration_samples : int
        Representative samples the converter calibrated on (0 without calibration).
    source_name, dataset_name : str or None
        The names the model and the representative dataset go by in the user's code, used
        by ``.code``.
    customize_source : str or None
        The source of the ``customize`` callback, repeated by ``.code``.
    denylisted_ops, denylisted_nodes : tuple of str
        Op types and tensor names kept in float by ``requantize`` (empty otherwise).
    dataset_check : DatasetCheck or None
        The representative dataset checked before conversion (what ``calibration_report`` shows).
    """

    tflite_model: bytes = field(repr=False)
    settings: ConversionSettings
    source: ModelSource = field(repr=False)
    entry_point: str
    duration_s: float
    log: str = field(default="", repr=False)
    notes: tuple = ()
    output_file: Optional[str] = None
    calibration_samples: int = 0
    source_name: Optional[str] = field(default=None, repr=False)
    dataset_name: Optional[str] = field(default=None, repr=False)
    customize_source: Optional[str] = field(default=None, repr=False)
    denylisted_ops: tuple = ()
    denylisted_nodes: tuple = ()
    dataset_check: Optional[DatasetCheck] = field(default=None, repr=False, compare=False)

    @property
    def size_bytes(self) -> int:
        """Size of the ``.tflite`` flatbuffer in bytes."""
        return len(self.tflite_model)

    @functools.cached_property
    def model(self):
        """The parsed flatbuffer (:class:`tfl_jupyter.core.tflite_reader.ModelInfo`)."""
        from .tflite_reader import read_model

        return read_model(self.tflite_model)

    @property
    def inputs(self) -> list:
        """The main subgraph's input tensors (name, dtype, shape, scale, zero point)."""
        return self.model.io_tensors()[0]

    @property
    def outputs(self) -> list:
        """The main subgraph's output tensors."""
        return self.model.io_tensors()[1]

    @property
    def calibration_report(self) -> CalibrationReport:
        """The representative dataset checked before conversion: NaN/Inf, constant inputs, too few samples.

        What a comparison finds (ranges far from its samples', the share of values clipped by
        the calibrated ranges) is in that comparison's ``calibration_report``.
        """
        return CalibrationReport(self.dataset_check if self.settings.uses_representative_dataset else None)

    @property
    def recipe(self) -> Optional[str]:
        """The LiteRT Quantizer's recipe this model was quantized with, as JSON it accepts
        (``tj.convert(..., quantizer="litert", recipe=result.recipe)``); None for the converter's path."""
        return self.settings.recipe if self.settings.quantizer == "litert" else None

    @functools.cached_property
    def ops(self):
        """One row per operator: kind (builtin/flex/custom), types, quantization, XNNPACK, GPU and TFLite Micro verdicts."""
        from .op_support import ops_table

        return ops_table(self.model)

    @functools.cached_property
    def op_summary(self):
        """One row per op type with counts and verdicts, blockers first."""
        from .op_support import op_summary

        return op_summary(self.ops)

    @functools.cached_property
    def code(self) -> str:
        """The equivalent plain-TensorFlow Python for this conversion."""
        from .codegen import converter_code

        return converter_code(
            self.source,
            self.settings,
            entry_point=self.entry_point,
            source_name=self.source_name,
            dataset_name=self.dataset_name,
            output_file=self.output_file,
            customize_source=self.customize_source,
        )

    def save(self, path) -> str:
        """Write the model to ``path`` atomically and return the path written.

        A failure leaves no partial file and leaves an existing file untouched.
        """
        from .files import write_atomically

        return str(write_atomically(path, self.tflite_model))

    def compare(self, samples=None, n: int = 100, *, float_tflite: bool = False, signature_key=None,
                batch_size=None, progress=None, labels=None, metric=None):
        """Run the source model and this ``.tflite`` on the same inputs and measure the difference.

        Parameters
        ----------
        samples : array, list, dict by input name, tf.data.Dataset or generator function, optional
            Default: the representative dataset, else inputs generated from the signature.
        n : int or None
            At most this many samples.
        float_tflite : bool
            Also compare a float ``.tflite``, to split conversion error from quantization error.
        signature_key : str, optional
            For models with several signatures.
        batch_size : int, optional
            Samples per batch (default: about 4 MB of input).
        progress : bool, optional
            Progress bars (None: for long runs only).
        labels : array, list, dict by output name, or tf.data.Dataset of (x, y) pairs, optional
            One label per sample: task accuracy (``accuracy``, ``top5_accuracy``) or
            ``mae``/``rmse`` for every model, in ``.task_metrics``.
        metric : callable or dict of callables, optional
            ``fn(y_true, y_pred) -> float``, evaluated for every model (needs ``labels``).

        Returns
        -------
        tfl_jupyter.core.compare.Comparison
            ``.summary`` (one row per output), ``.task_metrics`` (with labels), ``.layers``
            (per-layer error, lazy), ``.plot()``, ``.requantize()``.
        """
        from .compare import compare

        return compare(self, samples, n, float_tflite=float_tflite, signature_key=signature_key,
                       batch_size=batch_size, progress=progress, labels=labels, metric=metric)

    def requantize(self, denylist=(), *, samples=None, n: int = 100, progress=None, labels=None, metric=None):
        """Quantize again keeping ``denylist`` in float, and compare before and after on the same samples.

        Parameters
        ----------
        denylist : str, sequence of str, or rows of ``.compare().layers``
            Op types (e.g. ``"MEAN"``) and/or tensor names (the ``tensor`` column of ``.layers``).
        samples, n, labels, metric
            As for :meth:`compare`; with ``labels`` the fix is judged by task accuracy.
        progress : bool, optional
            Progress bars.

        Returns
        -------
        tfl_jupyter.core.compare.Requantized
            ``.result`` (a new ConversionResult whose notes say what stayed float),
            ``.comparison`` and ``.baseline``; unpacks as ``new_result, comparison``.
        """
        from .compare import requantize

        return requantize(self, denylist, samples=samples, n=n, progress=progress, labels=labels, metric=metric)

    def __repr__(self) -> str:
        return "\n".join(self._summary_lines())

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))

    def _summary_lines(self) -> list:
        lines = [
            f"ConversionResult: {format_size(self.size_bytes)}, {self.settings.description}, "
            f"{self.duration_s:.2f} s via {self.entry_point}"
        ]
        for role, tensors in (("input", self.inputs), ("output", self.outputs)):
            for tensor in tensors:
                lines.append(f"  {role:6} {tensor.name}: {tensor.dtype}{list(_shape(tensor))} {quantization_text(tensor)}".rstrip())
        lines += [f"  note: {note}" for note in self.notes]
        if self.output_file:
            lines.append(f"  saved to {self.output_file}")
        return lines

    def _repr_html_(self) -> str:
        rows = []
        for role, tensors in (("input", self.inputs), ("output", self.outputs)):
            for tensor in tensors:
                rows.append(
                    "<tr>" + "".join(
                        f"<td>{escape(str(v))}</td>"
                        for v in (role, tensor.name, tensor.dtype, list(_shape(tensor)), quantization_text(tensor) or "-")
                    ) + "</tr>"
                )
        notes = "".join(f"<li>{escape(n)}</li>" for n in self.notes)
        saved = f"<div>saved to <code>{escape(self.output_file)}</code></div>" if self.output_file else ""
        return (
            "<div class='tfl-jupyter-result'>"
            f"<div><b>TFLite model</b> &middot; {format_size(self.size_bytes)} &middot; "
            f"{escape(self.settings.description)} &middot; {self.duration_s:.2f} s &middot; "
            f"<code>{escape(self.entry_point)}</code></div>"
            "<table><thead><tr><th></th><th>name</th><th>dtype</th><th>shape</th>"
            "<th>quantization</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
            + (f"<ul>{notes}</ul>" if notes else "") + saved + "</div>"
        )


def _shape(tensor) -> tuple:
    """The shape with -1 where the dimension is dynamic."""
    return tuple(tensor.shape_signature) if tensor.shape_signature else tuple(tensor.shape)
