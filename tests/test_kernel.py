"""tfl_jupyter inside a real IPython kernel, driven through jupyter_client.

Nothing is mocked: each test starts an ipykernel on this interpreter (``sys.executable``),
sends code over the Jupyter protocol and reads the replies and outputs.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from dataclasses import dataclass, field
from queue import Empty

import pytest
from jupyter_client import KernelManager
from kernel_support import ThisInterpreterKernelSpecs, kernel_env

STARTUP_TIMEOUT_S = 120
CELL_TIMEOUT_S = 300


@dataclass
class Execution:
    """The reply and the iopub outputs of one execute request."""

    reply: dict
    outputs: list = field(default_factory=list)  # iopub message contents, in order

    @property
    def ok(self) -> bool:
        return self.reply.get("status") == "ok"

    def stream(self, name: str) -> str:
        return "".join(o["text"] for o in self.outputs if o.get("name") == name and "text" in o)

    def describe(self) -> str:
        """A readable account for assertion messages."""
        if self.ok:
            return f"ok; stdout={self.stream('stdout')!r} stderr={self.stream('stderr')!r}"
        traceback = "\n".join(self.reply.get("traceback", []))
        return f"{self.reply.get('ename')}: {self.reply.get('evalue')}\n{traceback}\nstderr={self.stream('stderr')!r}"


class KernelSession:
    """A started kernel plus a blocking client, with small helpers to run code."""

    def __init__(self, km: KernelManager):
        self.km = km
        self.client = km.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=STARTUP_TIMEOUT_S)

    def submit(self, code: str) -> str:
        """Send code without waiting; return the request's msg_id."""
        return self.client.execute(textwrap.dedent(code))

    def wait(self, msg_id: str, timeout: float = CELL_TIMEOUT_S) -> Execution:
        """Wait for the reply to ``msg_id``, then collect its outputs up to the idle status."""
        deadline = time.monotonic() + timeout
        reply = None
        while reply is None:
            message = self.client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if message["parent_header"].get("msg_id") == msg_id:
                reply = message["content"]
        outputs = []
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=max(1.0, deadline - time.monotonic()))
            except Empty:
                break
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
            if message["msg_type"] in ("stream", "execute_result", "display_data", "error"):
                outputs.append(message["content"])
        return Execution(reply, outputs)

    def run(self, code: str, timeout: float = CELL_TIMEOUT_S) -> Execution:
        """Execute code and wait for it."""
        return self.wait(self.submit(code), timeout)

    def run_ok(self, code: str, timeout: float = CELL_TIMEOUT_S) -> Execution:
        """Execute code and fail the test if it raised."""
        execution = self.run(code, timeout)
        assert execution.ok, execution.describe()
        return execution


@pytest.fixture
def kernel(tmp_path):
    """A fresh IPython kernel on this interpreter, cwd in a temporary folder; shut down after.

    Checked on start: it runs ``sys.executable`` and forwards fd-level output to the client.
    """
    km = KernelManager(kernel_name="python3", kernel_spec_manager=ThisInterpreterKernelSpecs())
    temp_dir = tmp_path / "kernel-tmp"
    temp_dir.mkdir()
    km.start_kernel(cwd=str(tmp_path), env=kernel_env(temp_dir))
    session = None
    try:
        session = KernelSession(km)
        probe = session.run_ok('import os, sys, time; print(sys.executable); os.write(2, b"fd 2 ok\\n"); time.sleep(0.5)')
        assert os.path.realpath(probe.stream("stdout").strip()) == os.path.realpath(sys.executable)
        assert "fd 2 ok" in probe.stream("stderr")
        yield session
    finally:
        if session is not None:
            session.client.stop_channels()
        km.shutdown_kernel(now=True)


def test_load_ext_registers_magics_without_importing_tensorflow(kernel):
    kernel.run_ok("%load_ext tfl_jupyter")
    state = kernel.run_ok(
        """
        import sys
        magics = get_ipython().magics_manager.magics
        print("line" if "tflite_convert" in magics["line"] else "-", "cell" if "tflite_convert" in magics["cell"] else "-")
        print(sorted(name for name in ("tensorflow", "keras", "tf_keras") if name in sys.modules))
        """
    ).stream("stdout").splitlines()
    assert state == ["line cell", "[]"]


def test_tensorflow_logs_still_reach_the_notebook_after_a_quiet_import(kernel):
    """Importing TensorFlow quietly must not swallow TensorFlow's logs for the rest of the session."""
    kernel.run_ok("import tfl_jupyter as tj\nmodel = tj.demo_model()  # imports TensorFlow")
    logged = kernel.run_ok('import tensorflow as tf\ntf.get_logger().warning("a warning from user code")')
    assert "a warning from user code" in logged.stream("stdout") + logged.stream("stderr"), logged.describe()


def test_conversion_prints_nothing_when_user_imported_tensorflow_first(kernel):
    """The usual notebook: ``import tensorflow`` at the top, then tfl_jupyter; the converter stays quiet."""
    kernel.run_ok("import tensorflow as tf\nimport tfl_jupyter as tj\nmodel = tj.demo_model()")
    converted = kernel.run_ok("r = tj.convert(model)")
    assert converted.stream("stdout") + converted.stream("stderr") == "", converted.describe()


def _progress(path) -> int:
    try:
        return int(path.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def _wait_for_progress(path, minimum: int, timeout: float, pending: str, kernel: KernelSession) -> int:
    """Wait until the slow generator has written at least ``minimum`` to ``path``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = _progress(path)
        if count >= minimum:
            return count
        try:  # a conversion that ended early (an error) would otherwise look like a hang
            message = kernel.client.get_shell_msg(timeout=0.2)
        except Empty:
            continue
        if message["parent_header"].get("msg_id") == pending:
            pytest.fail(f"the conversion ended before calibration got going: {message['content']}")
    pytest.fail(f"calibration did not reach sample {minimum} within {timeout} s (at {_progress(path)})")


def test_interrupting_calibration_leaves_kernel_usable_and_no_file(kernel, tmp_path):
    progress = tmp_path / "progress.txt"
    output = tmp_path / "model.tflite"
    kernel.run_ok(
        f"""
        import os, pathlib, sys, time
        import tfl_jupyter as tj

        model = tj.demo_model()
        calib = tj.demo_samples(16)
        progress = pathlib.Path({str(progress)!r})
        output = {str(output)!r}

        def slow_samples():
            for i in range(200):
                time.sleep(0.5)
                progress.write_text(str(i + 1))
                yield [calib[i % 16 : i % 16 + 1]]
        """
    )

    pending = kernel.submit('tj.convert(model, quantize="int8", representative_dataset=slow_samples, output_file=output)')
    # Sample 1 may be read early to check its shape; by sample 3 the converter is calibrating.
    _wait_for_progress(progress, 3, timeout=180, pending=pending, kernel=kernel)
    kernel.km.interrupt_kernel()
    interrupted = kernel.wait(pending, timeout=60)

    assert interrupted.reply["status"] == "error", interrupted.describe()
    # A KeyboardInterrupt or a subclass (which may carry a better message): `except Exception`
    # in user code must not swallow an interrupt.
    raised = kernel.run_ok("print(isinstance(sys.last_value, KeyboardInterrupt), type(sys.last_value).__name__)")
    assert raised.stream("stdout").split()[0] == "True", interrupted.describe()
    stopped_at = _progress(progress)
    time.sleep(1.5)  # three samples' worth: calibration must really have stopped
    assert _progress(progress) == stopped_at
    # No model and no half-written temporary (".model.tflite.*.partial") next to where it would go.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel-tmp", "progress.txt"]

    # The converter's output capture was undone: Python and fd-level writes reach the client again.
    streams = kernel.run_ok('print("stdout after interrupt"); os.write(2, b"fd 2 after interrupt\\n"); time.sleep(0.5)')
    assert "stdout after interrupt" in streams.stream("stdout")
    assert "fd 2 after interrupt" in streams.stream("stderr")

    after = kernel.run_ok(
        """
        r = tj.convert(model, quantize="int8", representative_dataset=calib, output_file=output)
        print(r.calibration_samples, r.size_bytes, r.inputs[0].dtype)
        """
    )
    samples, size, input_dtype = after.stream("stdout").split()
    assert (samples, input_dtype) == ("16", "float32")
    data = output.read_bytes()
    assert len(data) == int(size) and data[4:8] == b"TFL3"  # a complete flatbuffer
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernel-tmp", "model.tflite", "progress.txt"]
