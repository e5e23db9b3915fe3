"""The settings form: one control for every setting ``%tflite_convert`` has a flag for."""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, Iterable, List, Optional

import ipywidgets as w

from ...core.settings import (IO_TYPES, LITERT_RECIPES, OPS_SETS, OPTIMIZATIONS, PRESETS, SUPPORTED_TYPES, io_type_name,
                               names, shapes_text)
from . import presets
from .util import close_tree

_OPS_LABELS = {
    "TFLITE_BUILTINS": "TFLITE_BUILTINS",
    "TFLITE_BUILTINS_INT8": "TFLITE_BUILTINS_INT8",
    "SELECT_TF_OPS": "SELECT_TF_OPS (Flex)",
    "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8": "int16x8 builtins",
}
_LABEL = {"description_width": "9.5em"}
_FULL = w.Layout(width="100%")


def _checkboxes(names: Iterable[str], labels: Optional[Dict[str, str]] = None) -> Dict[str, w.Checkbox]:
    return {
        name: w.Checkbox(value=False, description=(labels or {}).get(name, name), tooltip=name,
                         indent=False, layout=w.Layout(width="auto", margin="0 1em 0 0"))
        for name in names
    }


def _row(label: str, *children, css: str = "", tooltip: str = "", wrap: bool = True) -> w.HBox:
    title = w.HTML(f"<span title='{tooltip}'>{label}</span>", layout=w.Layout(width="9.5em", flex="0 0 9.5em"))
    controls = w.HBox(list(children), layout=w.Layout(flex="1 1 auto", flex_flow="row wrap" if wrap else "row nowrap",
                                                      align_items="center", min_width="0"))
    box = w.HBox([title, controls], layout=w.Layout(width="100%", align_items="center"))
    box.add_class("tfl-row")
    if css:
        box.add_class(css)
    return box


class SettingsForm:
    """The panel's settings.

    ``shown()`` gives what the form shows, ``set(**values)`` fills it from ``tj.convert``
    style arguments, and ``on_change(callback)`` hears about any edit.

    Attributes
    ----------
    widget : ipywidgets.VBox
        The form: the main settings and an "Advanced" section.
    """

    def __init__(self):
        self.source = w.Combobox(placeholder="a model variable, SavedModel dir or .keras/.h5 file",
                                 ensure_option=False, layout=w.Layout(flex="1 1 auto", min_width="8em"))
        self.source.add_class("tfl-source")
        self.source_info = w.HTML(layout=w.Layout(height="1.6em", overflow="hidden"))
        self.source_info.add_class("tfl-info")
        self.refresh = w.Button(icon="refresh", tooltip="Look for models and datasets in the notebook again",
                                layout=w.Layout(width="2.6em", flex="0 0 auto"))
        self.quantize = w.Dropdown(options=[(f"{p.name} — {p.description}", p.name) for p in PRESETS.values()],
                                   value="none", layout=w.Layout(flex="1 1 auto"))
        self.quantize.add_class("tfl-quantize")
        self.quantizer = w.Dropdown(options=[("TFLiteConverter", "converter"), ("LiteRT Quantizer (float, then a recipe)", "litert")],
                                    value="converter", layout=w.Layout(flex="1 1 auto"))
        self.quantizer.add_class("tfl-quantizer")
        self.recipe = w.Combobox(placeholder="recipe (LiteRT Quantizer): the preset's, or a name / .json file",
                                 options=list(LITERT_RECIPES), ensure_option=False, layout=w.Layout(flex="1 1 auto", min_width="8em"))
        self.recipe.add_class("tfl-recipe")
        self.dataset = w.Combobox(placeholder="none (or a variable / expression such as calib[:100])",
                                  ensure_option=False, layout=w.Layout(flex="1 1 auto", min_width="8em"))
        self.dataset.add_class("tfl-dataset")
        self.dataset_info = w.HTML(layout=w.Layout(height="1.6em", overflow="hidden"))
        self.dataset_info.add_class("tfl-info")
        self.supported_ops = _checkboxes(OPS_SETS, _OPS_LABELS)
        self.supported_types = _checkboxes(SUPPORTED_TYPES)
        self.inference_input_type = w.Dropdown(options=IO_TYPES, value="float32", layout=w.Layout(width="7.5em"))
        self.inference_output_type = w.Dropdown(options=IO_TYPES, value="float32", layout=w.Layout(width="7.5em"))
        self.allow_custom_ops = w.Checkbox(False, description="allow custom ops", tooltip="allow_custom_ops: let ops without a TFLite kernel through as custom ops", indent=False,
                                           layout=w.Layout(width="auto"))
        self.optimizations = _checkboxes(OPTIMIZATIONS)
        self.experimental_new_converter = w.Checkbox(True, description="experimental_new_converter (MLIR)", indent=False,
                                                     layout=w.Layout(width="auto"))
        self.signature_keys = w.Text(placeholder="serving_default,other (SavedModel only)", layout=_FULL)
        self.tags = w.Text(placeholder="serve (SavedModel only)", layout=_FULL)
        self.input_shapes = w.Text(placeholder="as the model says; or 1,16,6 or seq=1,16,6:mask=1,8",
                                   layout=w.Layout(flex="1 1 auto"))
        self.batch_size = w.Text(placeholder="batch size", layout=w.Layout(width="7em"))
        self.output_file = w.Text(placeholder="also write the .tflite here (optional)", layout=_FULL)
        self.timeout = w.Text(placeholder="seconds (optional)", layout=w.Layout(width="12em"))
        self.in_process = w.Checkbox(False, description="convert in the kernel's process (no worker)", indent=False,
                                     layout=w.Layout(width="auto"))
        self.attrs = w.Textarea(placeholder="NAME=VALUE per line, e.g. _experimental_disable_per_channel=True",
                                layout=w.Layout(width="100%", height="4.2em"))
        self.measure = w.Checkbox(True, description="measure the error after each conversion, on", indent=False,
                                  layout=w.Layout(width="auto"))
        self.measure_samples = w.BoundedIntText(64, min=1, max=100000, layout=w.Layout(width="6em"))
        self.compare_samples = w.Combobox(placeholder="of the calibration data", ensure_option=False,
                                          layout=w.Layout(flex="1 1 auto", min_width="8em"))
        self.compare_samples.add_class("tfl-compare-samples")
        self.labels = w.Combobox(placeholder="labels (optional): accuracy", ensure_option=False,
                                 layout=w.Layout(flex="1 1 auto", min_width="8em"))
        self.labels.add_class("tfl-labels")
        self._preset = "none"
        self._filling = False
        self._listeners: List[Callable[[], None]] = []
        self.quantize.observe(self._preset_changed, "value")
        self._fill(presets.expand("none"))
        self.rows = self._layout_rows()
        self.widget = self._layout()
        for control in self.controls():
            control.observe(self._changed, "value")

    # -- layout -----------------------------------------------------------------------------

    def _layout_rows(self) -> Dict[str, w.HBox]:
        return {
            "source": _row("Model", self.source, self.refresh, css="tfl-row-source", wrap=False),
            "quantize": _row("Quantization", self.quantize, css="tfl-row-quantize", wrap=False),
            "quantizer": _row("Quantizer", self.quantizer, self.recipe, css="tfl-row-quantizer", wrap=False,
                              tooltip="quantizer / recipe: the converter's own quantization, or a float conversion "
                                      "quantized by the LiteRT Quantizer (pip install 'tfl_jupyter[quantizer]')"),
            "dataset": _row("Calibration data", self.dataset, css="tfl-row-dataset", wrap=False,
                            tooltip="representative_dataset: samples to calibrate int8 activations"),
            "supported_ops": _row("Supported ops", *self.supported_ops.values(), css="tfl-row-ops"),
            "supported_types": _row("Supported types", *self.supported_types.values(), css="tfl-row-types"),
            "io": _row("I/O types", w.HTML("input"), self.inference_input_type, w.HTML("&nbsp;output"),
                       self.inference_output_type, css="tfl-row-io"),
            "allow_custom_ops": _row("Custom ops", self.allow_custom_ops, css="tfl-row-custom"),
            "optimizations": _row("Optimizations", *self.optimizations.values(), css="tfl-row-optimizations"),
            "experimental_new_converter": _row("Converter", self.experimental_new_converter),
            "signature_keys": _row("Signature keys", self.signature_keys, css="tfl-row-signatures"),
            "tags": _row("Tags", self.tags),
            "input_shapes": _row("Input shapes", self.input_shapes, self.batch_size, css="tfl-row-shapes",
                                 tooltip="input_shapes / batch_size: trace the model at fixed shapes (recurrent layers need it)"),
            "output_file": _row("Output file", self.output_file, css="tfl-row-output"),
            "timeout": _row("Timeout", self.timeout, self.in_process, css="tfl-row-timeout"),
            "attrs": _row("Other attributes", self.attrs, css="tfl-row-attrs"),
            "measure": _row("Error check", self.measure, self.measure_samples, w.HTML("&nbsp;samples"),
                            self.compare_samples, w.HTML("&nbsp;Labels"), self.labels, css="tfl-row-measure",
                            tooltip="compare on these samples (default: the calibration data); with labels, "
                                    "task accuracy for the float and the converted model"),
        }

    def _layout(self) -> w.VBox:
        rows = self.rows
        left = w.VBox([rows["source"], _row("", self.source_info), rows["quantize"], rows["quantizer"], rows["dataset"],
                       _row("", self.dataset_info)])
        right = w.VBox([rows["supported_ops"], rows["supported_types"], rows["io"], rows["allow_custom_ops"]])
        main = w.GridBox([left, right], layout=w.Layout(
            grid_template_columns="repeat(auto-fit, minmax(380px, 1fr))", grid_gap="0 1.5em", width="100%"))
        advanced = w.VBox([rows[k] for k in ("optimizations", "experimental_new_converter", "signature_keys", "tags",
                                              "input_shapes", "output_file", "timeout", "attrs", "measure")])
        self.advanced = w.Accordion([advanced], selected_index=None, layout=w.Layout(width="100%"))
        self.advanced.set_title(0, "Advanced: optimizations, SavedModel signatures, input shapes, output file, timeout, other attributes")
        self.advanced.add_class("tfl-advanced")
        return w.VBox([main, self.advanced], layout=w.Layout(width="100%"))

    def controls(self) -> List[w.Widget]:
        """Every control whose value is a setting."""
        return [
            self.source, self.quantize, self.quantizer, self.recipe, self.dataset, *self.supported_ops.values(), *self.supported_types.values(),
            self.inference_input_type, self.inference_output_type, self.allow_custom_ops,
            *self.optimizations.values(), self.experimental_new_converter, self.signature_keys, self.tags,
            self.input_shapes, self.batch_size, self.output_file, self.timeout, self.in_process, self.attrs, self.measure, self.measure_samples,
            self.compare_samples, self.labels,
        ]

    # -- values -----------------------------------------------------------------------------

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after any edit (not after the form fills itself from a preset)."""
        self._listeners.append(callback)

    def shown(self) -> Dict[str, Any]:
        """What the form shows, as plain values (names and texts, nothing resolved)."""
        return {
            "source": self.source.value.strip(),
            "quantize": self.quantize.value,
            "quantizer": self.quantizer.value,
            "recipe": self.recipe.value.strip(),
            "dataset": self.dataset.value.strip(),
            "optimizations": _ticked(self.optimizations),
            "supported_ops": _ticked(self.supported_ops),
            "supported_types": _ticked(self.supported_types),
            "inference_input_type": self.inference_input_type.value,
            "inference_output_type": self.inference_output_type.value,
            "allow_custom_ops": self.allow_custom_ops.value,
            "experimental_new_converter": self.experimental_new_converter.value,
            "signature_keys": self.signature_keys.value.strip(),
            "tags": self.tags.value.strip(),
            "input_shapes": self.input_shapes.value.strip(),
            "batch_size": self.batch_size.value.strip(),
            "output_file": self.output_file.value.strip(),
            "timeout": self.timeout.value.strip(),
            "in_process": self.in_process.value,
            "attrs": self.attrs.value,
            "measure": self.measure.value,
            "measure_samples": self.measure_samples.value,
            "compare_samples": self.compare_samples.value.strip(),
            "labels": self.labels.value.strip(),
        }

    def set(self, **values: Any) -> None:
        """Fill the form from ``tj.convert``-style arguments (``quantize="int8"``, ``supported_ops=[...]``, ...).

        ``source`` and ``dataset`` take the text to show (a variable name or path); unknown
        keywords are converter attributes and go to "Other attributes".
        """
        values = dict(values)
        if "quantize" in values:
            self.quantize.value = presets.preset_name(values.pop("quantize"))
        if values.get("quantizer") is not None:
            self.quantizer.value = values["quantizer"]
        if values.get("recipe") is not None:
            self.recipe.value = values["recipe"] if isinstance(values["recipe"], str) else json.dumps(values["recipe"])
        values.pop("quantizer", None)
        values.pop("recipe", None)
        lists = {"optimizations": (self.optimizations, OPTIMIZATIONS), "supported_ops": (self.supported_ops, OPS_SETS),
                 "supported_types": (self.supported_types, SUPPORTED_TYPES)}
        for field, (boxes, allowed) in lists.items():
            if values.get(field) is not None:
                _tick(boxes, names(values.pop(field), allowed, field))
            values.pop(field, None)
        for field in ("inference_input_type", "inference_output_type"):
            value = io_type_name(values.pop(field, None), field)
            if value is not None:
                getattr(self, field).value = value
        texts = {"source": self.source, "dataset": self.dataset, "output_file": self.output_file,
                 "compare_samples": self.compare_samples, "labels": self.labels}
        for field, control in texts.items():
            if values.get(field) is not None:
                control.value = str(values[field])
            values.pop(field, None)
        for field in ("signature_keys", "tags"):
            value = values.pop(field, None)
            if value:
                getattr(self, field).value = value if isinstance(value, str) else ",".join(value)
        if values.get("timeout") is not None:
            self.timeout.value = f"{values['timeout']:g}"
        values.pop("timeout", None)
        if values.get("input_shapes") is not None:
            self.input_shapes.value = shapes_text(values["input_shapes"])
        if values.get("batch_size") is not None:
            self.batch_size.value = str(values["batch_size"])
        values.pop("input_shapes", None)
        values.pop("batch_size", None)
        for field in ("allow_custom_ops", "experimental_new_converter", "in_process", "measure"):
            if field in values:
                getattr(self, field).value = bool(values.pop(field))
        if "measure_samples" in values:
            self.measure_samples.value = int(values.pop("measure_samples"))
        if values:
            lines = [line for line in self.attrs.value.splitlines() if line.strip()]
            lines += [f"{name}={value!r}" for name, value in values.items()]
            self.attrs.value = "\n".join(lines)

    def highlight(self, fields: Iterable[str]) -> None:
        """Mark the rows of ``fields`` as in conflict (and unmark the others)."""
        fields = set(fields)
        for name, row in self.rows.items():
            if name in fields:
                row.add_class("tfl-conflict")
            else:
                row.remove_class("tfl-conflict")
        if fields & {"optimizations", "signature_keys", "tags", "input_shapes", "output_file", "timeout", "attrs"}:
            self.advanced.selected_index = 0

    # -- presets ----------------------------------------------------------------------------

    def _preset_changed(self, change) -> None:
        """Move the fields that showed the old preset's values to the new preset's; keep the user's own."""
        old, new = presets.expand(change["old"]), presets.expand(change["new"])
        shown = self.shown()
        self._fill({field: new[field] for field in new if _same(shown[field], old[field])})
        self._preset = change["new"]

    def _fill(self, values: Dict[str, Any]) -> None:
        self._filling = True
        try:
            for field in ("optimizations", "supported_ops", "supported_types"):
                if field in values:
                    _tick(getattr(self, field), values[field])
            for field in ("inference_input_type", "inference_output_type"):
                if field in values:
                    getattr(self, field).value = values[field]
        finally:
            self._filling = False

    def _changed(self, change) -> None:
        if self._filling and change["owner"] is not self.quantize:
            return
        for callback in self._listeners:
            callback()

    def close(self) -> None:
        """Close every widget of the form."""
        close_tree(self.widget)


def _ticked(boxes: Dict[str, w.Checkbox]) -> tuple:
    return tuple(name for name, box in boxes.items() if box.value)


def _tick(boxes: Dict[str, w.Checkbox], names: Iterable[str]) -> None:
    names = set(names)
    for name, box in boxes.items():
        box.value = name in names


def _same(a, b) -> bool:
    return set(a) == set(b) if isinstance(a, tuple) else a == b
