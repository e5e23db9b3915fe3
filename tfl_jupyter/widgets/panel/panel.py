"""``Panel``: the settings form, the action bar, the result tabs and the history, wired together."""

from __future__ import annotations

import os
import threading
from typing import Any, Optional

import ipywidgets as w

from . import jobs
from .actions import ActionBar
from .analysis import ResultActions
from .checks import Request, build_request
from .debounce import Debouncer
from .form import SettingsForm
from .history import OK, History, HistoryEntry, key_metrics
from .historyview import HistoryView
from .namespace import Namespace, sample_count
from .style import style_widget
from .tabs import ResultTabs
from .task import BackgroundTask, Busy
from .util import close_tree, message

GIVEN_MODEL = "(model given to tj.panel)"
GIVEN_DATASET = "(dataset given to tj.panel)"
_FLEX_OPS = ("TFLITE_BUILTINS", "SELECT_TF_OPS")


class Panel(ResultActions):
    """An ipywidgets panel over ``tj.convert``: settings, Convert/Cancel, result tabs, history.

    Build it with :func:`tfl_jupyter.panel`; display it by making it a cell's value.

    Attributes
    ----------
    history : History
        Every conversion made in the panel, failed and cancelled ones included.
    form : SettingsForm
        The settings controls.
    widget : ipywidgets.VBox
        The whole panel.
    """

    def __init__(self, source: Any = None, *, namespace: Optional[dict] = None, **defaults: Any):
        self.namespace = Namespace(namespace)
        self.history = History()
        self.task = BackgroundTask()
        self.closed = False
        self.request: Optional[Request] = None
        self._shown: Optional[HistoryEntry] = None
        self._last_entry: Optional[HistoryEntry] = None
        self._used_ids: dict = {}  # source text -> (id of the object converted, entry number)
        self._check_lock = threading.Lock()
        self._ready = False
        self.form = SettingsForm()
        self.actions = ActionBar()
        self.tabs = ResultTabs(on_fix=self.apply_fix, on_compare=self.measure, on_layers=self.compute_layers,
                               on_requantize=self.requantize)
        self.history_view = HistoryView(self.history, on_show=self.show)
        self._checker = Debouncer(self.check)
        self._style = style_widget()
        self.widget = w.VBox([self._style, self._header(), self.form.widget, self.actions.widget, self.tabs.widget,
                              self.history_view.widget], layout=w.Layout(width="100%"))
        self.widget.add_class("tfl-panel")
        self.set(source, **defaults)
        self.form.on_change(self._checker.trigger)
        self.form.refresh.on_click(lambda _: self.refresh())
        self.actions.convert.on_click(lambda _: self.convert())
        self.actions.cancel.on_click(lambda _: self.cancel())
        self._shell = self._watch_cells()
        self._ready = True
        self.refresh()

    # -- public API -------------------------------------------------------------------------

    @property
    def result(self):
        """The latest ``ConversionResult`` made in the panel (None before the first success)."""
        successful = self.history.successful()
        return successful[-1].result if successful else None

    @property
    def shown(self) -> Optional[HistoryEntry]:
        """The conversion the tabs show."""
        return self._shown

    @property
    def busy(self) -> bool:
        """Whether a conversion (or a measurement) is running."""
        return self.task.running

    @property
    def settings(self) -> dict:
        """What the form shows, as plain values."""
        return self.form.shown()

    def set(self, source: Any = None, **values: Any) -> None:
        """Fill the form: ``source`` and ``representative_dataset`` take objects, names, expressions or paths.

        Other keywords are those of ``tj.convert`` (``quantize="int8"``, ``supported_ops=[...]``,
        converter attributes...), plus ``measure`` / ``measure_samples``.
        """
        if values.pop("customize", None) is not None or values.pop("customize_source", None):
            raise TypeError("the panel has no cell body: customize the converter with %%tflite_convert, "
                            "or give converter attributes as keywords")
        source_name = values.pop("source_name", None)
        if source is not None:
            values["source"] = self._name_for(source, source_name, GIVEN_MODEL)
        dataset_name = values.pop("dataset_name", None)
        dataset = values.pop("representative_dataset", None)
        if dataset is not None:
            values["dataset"] = self._name_for(dataset, dataset_name, GIVEN_DATASET)
        values.pop("on_sample", None)
        values.pop("capture_log", None)
        self.form.set(**values)
        if self._ready and not self.closed:
            self.check()

    def refresh(self) -> Request:
        """Look for models and datasets in the notebook again, and check the settings."""
        self.form.source.options = tuple(self.namespace.models())
        self.form.dataset.options = tuple(self.namespace.datasets())
        self.form.compare_samples.options = self.form.labels.options = self.form.dataset.options
        if not self.form.source.value and len(self.form.source.options) == 1:
            self.form.source.value = self.form.source.options[0]
        return self.check()

    def check(self, live: bool = True) -> Request:
        """Check the settings now, against the notebook as it is now, and show what is wrong.

        Parameters
        ----------
        live : bool
            Leave expressions that call something (``load_data()``) unevaluated until Convert.
        """
        with self._check_lock:
            request = build_request(self.form.shown(), self.namespace, live=live)
            self._note_redefinition(request)
            self.request = request
            if self.closed:
                return request
            problem = f"⚠ {request.error}"
            self.form.source_info.value = _info(problem if "source" in request.fields else request.source_description)
            self.form.dataset_info.value = _info(problem if "dataset" in request.fields else request.dataset_description)
            self.form.highlight(request.fields)
            ready = f"Ready to convert {request.source_text} ({request.source_description})" if request.ok else ""
            self.actions.show_check(request.error, request.notes, ready)
            if not self.task.running:
                self.actions.convert.disabled = not request.ok
            return request

    def convert(self) -> bool:
        """Convert with the form's settings, in the background (what the Convert button does).

        Returns
        -------
        bool
            False, with the reason in the panel, when it did not start.
        """
        self._ensure_open()
        if self.task.running:
            self.actions.say("A conversion is already running: wait for it, or press Cancel.", "warn")
            return False
        self._checker.cancel()
        request = self.check(live=False)
        if not request.ok:
            self.actions.idle(f"Not converted: {request.error}", "error", can_convert=False)
            return False
        total = sample_count(request.dataset) if request.uses_dataset else None
        return self._start(lambda task: self._convert_work(task, request), "converting", total,
                           lambda value, error: self._conversion_done(request, value, error))

    def cancel(self) -> bool:
        """Stop the running conversion (what Cancel does); False when nothing runs."""
        if self.task.cancel():
            self.actions.busy(f"Cancelling… {self.task.elapsed:.1f} s")
            return True
        self.actions.say("Nothing to cancel.", "info")
        return False

    def wait(self, timeout: Optional[float] = None) -> Optional[HistoryEntry]:
        """Wait for the running work to end; the latest history entry (None if still running).

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait at most.
        """
        return self._last_entry if self.task.wait(timeout) else None

    def show(self, number: int) -> HistoryEntry:
        """Show conversion ``number`` (from 1, as in the history) in the tabs."""
        entry = self.history.entry(number)
        self._shown = entry
        if not self.closed:
            self.tabs.show(entry)
        return entry

    def save(self, number: int, path) -> str:
        """Write conversion ``number``'s model to ``path``; the path written."""
        return self.history.save(number, path)

    def apply_fix(self, name: str) -> bool:
        """Apply a one-click fix of a failed conversion and convert again.

        Parameters
        ----------
        name : {"flex", "custom", "resource_variables", "batch_size"}
        """
        if name == "flex":
            for ops_set in _FLEX_OPS:
                self.form.supported_ops[ops_set].value = True
        elif name == "custom":
            self.form.allow_custom_ops.value = True
        elif name == "batch_size":
            self.form.batch_size.value = "1"
        elif name == "resource_variables":
            lines = [line for line in self.form.attrs.value.splitlines()
                     if line.strip() and not line.strip().startswith("experimental_enable_resource_variables")]
            self.form.attrs.value = "\n".join(lines + ["experimental_enable_resource_variables=True"])
        else:
            raise ValueError(f"unknown fix {name!r}")
        return self.convert()

    def close(self) -> None:
        """Close the panel: cancel a running conversion, keep :attr:`history` and :attr:`result`."""
        if self.closed:
            return
        self.closed = True
        running = self.task.cancel()
        self._checker.cancel()
        if self._shell is not None:
            try:
                self._shell.events.unregister("post_run_cell", self._after_cell)
            except ValueError:
                pass
        kept = len(self.history.successful())
        text = ("This panel is closed" + (" and its running conversion was cancelled" if running else "")
                + f". Its {kept} model(s) stay in panel.history; panel.result is the latest.")
        old = [child for child in self.widget.children if child is not self._style]
        closed_note = w.HTML(message(text, "info"))
        closed_note.add_class("tfl-closed")
        self.widget.children = [self._style, closed_note]
        self.tabs.close()
        for child in old:
            close_tree(child)

    # -- display ----------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):  # what a saved notebook shows where widgets do not run
            bundle = {**bundle, "text/plain": repr(self)}
        return bundle

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("converting" if self.busy else "idle")
        return f"<tfl_jupyter panel: {state}, {len(self.history)} conversion(s); .result, .history>"

    # -- internals --------------------------------------------------------------------------

    def _header(self) -> w.HBox:
        title = w.HTML("<span class='tfl-title'>TFLite converter</span>", layout=w.Layout(flex="1 1 auto"))
        close = w.Button(icon="times", tooltip="Close the panel (a running conversion is cancelled; the history is kept)",
                         layout=w.Layout(width="2.6em"))
        close.add_class("tfl-close")
        close.on_click(lambda _: self.close())
        header = w.HBox([title, close], layout=w.Layout(width="100%", align_items="center"))
        header.add_class("tfl-header")
        return header

    def _name_for(self, value: Any, name: Optional[str], placeholder: str) -> str:
        if isinstance(value, (str, os.PathLike)):
            return str(value)
        if name and self.namespace.variables.get(name) is value:
            return name
        if name:
            try:  # an expression the magic was given, e.g. calib[:100]
                self.namespace.lookup(name, "value")
                return name
            except LookupError:
                pass
        return self.namespace.name_of(value, placeholder)

    def _start(self, work, phase: str, total: Optional[int], on_done) -> bool:
        self._ensure_open()
        try:
            self.task.start(work, phase=phase, total_samples=total, on_tick=self._tick, on_done=on_done)
        except Busy as exc:
            self.actions.say(str(exc), "warn")
            return False
        self.actions.busy(_PHASES.get(phase, "Working…"))
        return True

    def _convert_work(self, task: BackgroundTask, request: Request):
        result = jobs.convert(request, task.sample)
        comparison, problem = None, ""
        if request.measure and not task.cancelled:
            task.phase = "measuring"
            comparison, problem = jobs.measure(result, request.measure_samples, request.compare_samples, request.labels)
        return result, comparison, problem

    def _conversion_done(self, request: Request, value, error) -> None:
        elapsed = self.task.elapsed
        if error is None:
            result, comparison, problem = value
            if self.task.cancelled and comparison is None:
                problem = "The conversion finished; measuring its error was cancelled."
            entry = self.history.add(status=OK, source=request.source_text, settings=result.settings.as_dict(),
                                     description=result.settings.description, result=result, comparison=comparison,
                                     metrics=key_metrics(comparison), compare_error=problem,
                                     message="; ".join(result.notes), duration_s=elapsed)
            self._used_ids[request.source_text] = (request.source_id, entry.number)
            text = f"Converted #{entry.number}: {entry.label.split(' · ', 1)[-1]} in {elapsed:.1f} s"
            self._finish(entry, text, "ok", tab="Summary")
            return
        status, text = jobs.describe_failure(error, elapsed)
        entry = self.history.add(status=status, source=request.source_text, settings=jobs.request_settings(request),
                                 description=str(request.kwargs.get("quantize")), error=error, message=text,
                                 duration_s=elapsed)
        self._finish(entry, f"#{entry.number} {status}: {text}", "warn" if status != "failed" else "error",
                     tab="Summary")

    def _finish(self, entry: Optional[HistoryEntry], text: str, kind: str, tab: Optional[str] = None) -> None:
        if entry is not None:
            self._last_entry = entry
        if self.closed:
            return
        if entry is not None:
            self.show(entry.number)
        self.history_view.refresh()
        if tab is not None and entry is not None:
            self.tabs.select(tab)
        request = self.check()
        self.actions.idle(text, kind, can_convert=request.ok)

    def _tick(self, task: BackgroundTask) -> None:
        if self.closed:
            return
        elapsed = f"{task.elapsed:.1f} s"
        if task.cancelled:
            self.actions.busy(f"Cancelling… {elapsed}")
        elif task.phase == "converting" and task.samples:
            total = task.total_samples
            samples = f"{task.samples} sample{'s' if task.samples != 1 else ''}"
            if total and task.samples >= total:
                self.actions.busy(f"Quantizing… calibrated on {samples}, {elapsed}")
            elif total:
                self.actions.busy(f"Calibrating: {task.samples}/{total} samples, {elapsed}", task.samples / total)
            else:
                self.actions.busy(f"Calibrating: {samples}, {elapsed}")
        else:
            self.actions.busy(f"{_PHASES.get(task.phase, 'Working…')} {elapsed}")

    def _note_redefinition(self, request: Request) -> None:
        used = self._used_ids.get(request.source_text)
        if request.ok and used and request.source_id is not None and used[0] != request.source_id:
            request.notes.append(f"{request.source_text!r} now holds a different object than conversion #{used[1]} "
                                 "used: the next conversion uses the new one")

    def _watch_cells(self):
        """Re-check after every cell run: a variable may have been defined, redefined or deleted."""
        try:
            from IPython import get_ipython
        except ImportError:
            return None
        shell = get_ipython()
        if shell is not None:
            shell.events.register("post_run_cell", self._after_cell)
        return shell

    def _after_cell(self, *_args) -> None:
        if self.closed:
            return
        self.form.source.options = tuple(self.namespace.models())
        self.form.dataset.options = tuple(self.namespace.datasets())
        self.form.compare_samples.options = self.form.labels.options = self.form.dataset.options
        self._checker.trigger()

    def _ensure_open(self) -> None:
        if self.closed:
            raise RuntimeError("this panel is closed: open a new one with tj.panel(...); its history stays in .history")


_PHASES = {
    "converting": "Converting…",
    "measuring": "Measuring the error against the float model…",
    "layers": "Computing the per-layer error (QuantizationDebugger)…",
    "requantizing": "Quantizing again with the ticked layers in float…",
}


def _info(text: str) -> str:
    from html import escape

    return f"<span title='{escape(text)}'>{escape(text)}</span>"
