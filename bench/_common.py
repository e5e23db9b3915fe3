"""Shared bits of the benchmarks: the models, the result table, medians, and the --strict exit code."""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Optional


@dataclass
class Row:
    """One line of the result table; ``limit`` None makes it information only."""

    case: str
    raw_s: Optional[float]
    ours_s: float
    target: str = "-"
    limit: Optional[float] = None
    by_ratio: bool = True  # False: the target is on ``ours_s`` itself, ``raw_s`` is context only
    paired_ratio: Optional[float] = None  # e.g. the median of per-round ratios; else ours_s / raw_s

    @property
    def ratio(self) -> Optional[float]:
        if self.paired_ratio is not None:
            return self.paired_ratio
        return self.ours_s / self.raw_s if self.raw_s else None

    @property
    def passed(self) -> bool:
        return self.limit is None or (self.ratio if self.by_ratio else self.ours_s) <= self.limit

    @property
    def verdict(self) -> str:
        return "info" if self.limit is None else "PASS" if self.passed else "FAIL"


def parser(description: str, rounds: int) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=rounds, help=f"timed repetitions per case; the median is reported (default {rounds})")
    p.add_argument("--strict", action="store_true", help="exit with status 1 if a target is missed")
    return p


@contextlib.contextmanager
def silenced():
    """Send fds 1 and 2 to /dev/null (the raw converter's C++ and Keras-export chatter)."""
    sys.stdout.flush(), sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1), os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush(), sys.stderr.flush()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd), os.close(copy)


def cpu_seconds() -> float:
    """User + system CPU time of this process and its live children (e.g. a worker process)."""
    import psutil

    total = 0.0
    me = psutil.Process()
    for process in [me] + me.children(recursive=True):
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:  # exited meanwhile
            pass
    return total


def timed(function, *args, **kwargs):
    """Return (wall seconds, value) of one call."""
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - started, value


def median(values) -> float:
    return statistics.median(values)


def fmt(value: Optional[float], digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report(rows: list, strict: bool, raw_label: str = "raw s", checks: Optional[dict] = None) -> int:
    """Print the table and ``checks`` ({description: passed}).

    Returns the exit status: 1 only with ``strict`` and a missed target or failed check.
    """
    checks = checks or {}
    header = ("case", raw_label, "ours s", "ratio", "target", "result")
    lines = [(r.case, fmt(r.raw_s), fmt(r.ours_s), fmt(r.ratio), r.target, r.verdict) for r in rows]
    widths = [max(len(str(line[i])) for line in [header] + lines) for i in range(len(header))]
    print()
    for line in [header, tuple("-" * w for w in widths)] + lines:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths)).rstrip())
    for description, ok in checks.items():
        print(f"check: {description}: {'PASS' if ok else 'FAIL'}")
    missed = [r.case for r in rows if not r.passed] + [d for d, ok in checks.items() if not ok]
    total = len([r for r in rows if r.limit is not None]) + len(checks)
    print(f"\n{total - len(missed)}/{total} targets met" + (f"; missed: {', '.join(missed)}" if missed else ""))
    sys.stdout.flush()
    return 1 if (strict and missed) else 0


def build_model(name: str, softmax: bool = False):
    """``(model, input shape)``: ``keras.applications.MobileNetV2(weights=None)`` for
    ``"mobilenetv2"``, else a seeded five-layer CNN on 32x32x3 (``"toy"``), with a softmax
    head when ``softmax``."""
    import keras

    if name == "mobilenetv2":
        return keras.applications.MobileNetV2(weights=None), (224, 224, 3)
    keras.utils.set_random_seed(0)
    shape = (32, 32, 3)
    model = keras.Sequential([
        keras.Input(shape), keras.layers.Conv2D(8, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(10, activation="softmax" if softmax else None),
    ])
    return model, shape


def nudge(model, step: int) -> None:
    """Change one weight (by a different amount for each ``step``), so that no cache of an
    earlier conversion applies and both sides convert a model neither has seen."""
    weight = model.weights[0]
    value = weight.numpy()
    value.flat[0] += 1e-3 * (step + 1)
    weight.assign(value)
