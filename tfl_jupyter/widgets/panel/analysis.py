"""What the panel does with a conversion it shows: measure it, find its weak layers, requantize it.

A mixin of :class:`~tfl_jupyter.widgets.panel.panel.Panel`: each action runs in the panel's
background task and records what it found on the history entry.
"""

from __future__ import annotations

from typing import List, Optional

from . import jobs
from .checks import measure_inputs
from .namespace import NotFound
from .history import OK, HistoryEntry, key_metrics


_UNRESOLVED = object()


class ResultActions:
    """The Compare and Layers tabs' buttons, as methods (``panel.measure()`` ...)."""

    def _measure_inputs(self) -> tuple:
        """The form's comparison samples and labels, or (_UNRESOLVED, None) after saying why not."""
        try:
            return measure_inputs(self.form.shown(), self.namespace)
        except (NotFound, ValueError, TypeError) as exc:
            self.actions.say(str(exc), "warn")
            return _UNRESOLVED, None

    def measure(self) -> bool:
        """Compare the shown conversion with the float model (the Compare tab's button)."""
        entry = self._entry_for("measure the error of")
        if entry is None:
            return False
        samples = self.form.measure_samples.value
        on, labels = self._measure_inputs()
        if on is _UNRESOLVED:
            return False

        def work(task):
            return jobs.measure(entry.result, samples, on, labels)

        def done(value, error):
            comparison, problem = value if error is None else (None, jobs.describe_failure(error, self.task.elapsed)[1])
            entry.comparison, entry.compare_error = comparison, problem
            entry.metrics = key_metrics(comparison)
            self._finish(entry, problem or f"Measured #{entry.number}: {entry.metric_text}", "warn" if problem else "ok",
                         tab="Compare")

        return self._start(work, "measuring", None, done)

    def compute_layers(self) -> bool:
        """Compute the per-layer error of the shown conversion (the Layers tab's button)."""
        entry = self._entry_for("compute the per-layer error of")
        if entry is None:
            return False
        samples = self.form.measure_samples.value
        on, labels = self._measure_inputs()
        if on is _UNRESOLVED:
            return False

        def work(task):
            if entry.comparison is None:
                task.phase = "measuring"
                entry.comparison, entry.compare_error = jobs.measure(entry.result, samples, on, labels)
                entry.metrics = key_metrics(entry.comparison)
                if entry.comparison is None:
                    return None, entry.compare_error
            task.phase = "layers"
            return jobs.layers(entry.comparison)

        def done(value, error):
            table, problem = value if error is None else (None, jobs.describe_failure(error, self.task.elapsed)[1])
            entry.layers, entry.layers_error = table, problem
            self._finish(entry, problem or f"Per-layer error of #{entry.number}: {len(table)} layers", "warn" if problem else "ok",
                         tab="Layers")

        return self._start(work, "layers", None, done)

    def requantize(self, tensors: List[str]) -> bool:
        """Quantize the shown conversion again with ``tensors`` kept in float; adds a history entry."""
        entry = self._entry_for("requantize")
        if entry is None:
            return False
        if not tensors:
            self.actions.say("Tick at least one layer to keep in float.", "warn")
            return False

        def work(task):
            return jobs.requantize(entry.result, entry.comparison, list(tensors))

        def done(value, error):
            if error is not None:
                text = jobs.describe_failure(error, self.task.elapsed)[1]
                self._finish(None, f"Could not requantize #{entry.number}: {text}", "error")
                return
            result, comparison = value
            new = self.history.add(status=OK, source=entry.source, settings=result.settings.as_dict(),
                                   description=result.settings.description + f", {len(tensors)} layer(s) in float",
                                   result=result, comparison=comparison, metrics=key_metrics(comparison),
                                   message=result.notes[-1] if result.notes else "", duration_s=self.task.elapsed,
                                   parent=entry.number)
            self._finish(new, f"#{new.number}: #{entry.number} with {len(tensors)} layer(s) in float"
                         + (f", {new.metric_text}" if new.metric_text else ""), "ok", tab="Summary")

        return self._start(work, "requantizing", None, done)

    def _entry_for(self, what: str) -> Optional[HistoryEntry]:
        entry = self._shown
        if entry is None or entry.status != OK:
            self.actions.say(f"Convert first: there is no model to {what}.", "warn")
            return None
        return entry
