"""A worker process: ``python -m tfl_jupyter.core.worker FD IDLE_EXIT_S [FLAVOUR]``, FD being
its end of the pipe.

It converts and calibrates models, and runs functions that touch untrusted ``.tflite``
files natively (the interpreter) or TensorFlow's quantization tools, so that a crash takes
down this process and not the kernel. A "litert" worker (see ``process.FLAVOURS``) never
imports TensorFlow and only runs "call" jobs: LiteRT's GPU accelerator, which crashes in a
process where TensorFlow is loaded.
"""

from __future__ import annotations

import faulthandler
import gc
import importlib
import importlib.abc
import sys
from dataclasses import replace
from multiprocessing.connection import Connection

from .process import LITERT, TENSORFLOW
from .protocol import ConversionJob, portable_exception, resident_bytes


def main(argv) -> None:
    """Serve jobs until the kernel says ``exit``, closes the pipe, or leaves it idle too long."""
    connection = Connection(int(argv[1]))
    idle_exit_s = float(argv[2]) if len(argv) > 2 else 0.0
    flavour = argv[3] if len(argv) > 3 else TENSORFLOW
    faulthandler.enable()  # a native crash leaves a Python stack in the output the kernel reports
    if flavour == LITERT:
        _without_tensorflow()
    else:
        from ..tensorflow_import import import_tensorflow

        import_tensorflow()  # pay TensorFlow's start-up now, while the kernel is still exporting
        # TensorFlow's import leaves about a million objects behind, and the SavedModel converter
        # calls gc.collect() on every conversion (0.2 s each): exempt those objects from collection.
        gc.freeze()
    connection.send(("ready", resident_bytes()))
    while True:
        try:
            if idle_exit_s and not connection.poll(idle_exit_s):
                return  # idle: give the memory back; the kernel starts a fresh process when needed
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message[0] == "exit":
            return
        if message[0] == "convert" and flavour == LITERT:
            connection.send(("error", RuntimeError("a litert worker does not convert (it has no TensorFlow)"),
                             resident_bytes()))
        elif message[0] == "convert":
            _convert(connection, message[1])
        elif message[0] == "call":
            _call(connection, *message[1:])


def _without_tensorflow() -> None:
    """Set up a "litert" worker: TensorFlow cannot be imported (the kernel gave it a private
    XDG_RUNTIME_DIR, which Dawn wants)."""
    sys.meta_path.insert(0, _NoTensorFlow())


class _NoTensorFlow(importlib.abc.MetaPathFinder):
    """Refuse ``import tensorflow`` (and its submodules) in a litert worker."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "tensorflow" or fullname.startswith("tensorflow."):
            raise ImportError(
                "this worker never imports TensorFlow: LiteRT's GPU accelerator crashes in a process where it is "
                "loaded (run TensorFlow work in the pool's default workers)", name=fullname)
        return None


def _convert(connection: Connection, job: ConversionJob) -> None:
    from ..datasets import SampleStream
    from ..engine import run_conversion

    try:
        settings = job.settings
        if job.has_samples:
            stream = SampleStream(lambda: _remote_samples(connection), from_tf_data=job.samples_from_tf_data)
            settings = replace(settings, representative_dataset=stream)
        output = run_conversion(
            job.portable.as_source(job.description),
            settings,
            calibrate_only=job.calibrate_only,
            on_sample=lambda n: connection.send(("progress", n)),
        )
        connection.send(("done", output, resident_bytes()))
    except BaseException as exc:  # everything goes back to the kernel; the worker lives on
        connection.send(("error", portable_exception(exc), resident_bytes()))


def _call(connection: Connection, target: str, args: tuple, kwargs: dict) -> None:
    """Run ``module:function`` here, where a native crash cannot reach the kernel."""
    try:
        module_name, _, function_name = target.partition(":")
        function = getattr(importlib.import_module(module_name), function_name)
        connection.send(("done", function(*args, **kwargs), resident_bytes()))
    except BaseException as exc:
        connection.send(("error", portable_exception(exc), resident_bytes()))


def _remote_samples(connection: Connection):
    from ..datasets import DatasetError

    while True:
        connection.send(("next_sample",))
        reply = connection.recv()
        if reply[0] == "sample":
            yield reply[1]
        elif reply[0] == "sample_error":
            raise DatasetError(reply[1])
        else:
            return


if __name__ == "__main__":
    main(sys.argv)
