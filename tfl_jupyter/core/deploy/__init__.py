"""Deploy targets: what a model needs on a microcontroller or behind a delegate.

:class:`DeployTargets` gives ``ConversionResult`` and ``tj.inspect``'s ``ModelReport``
the same methods (``micro_check``, ``micro_code``, ``gpu_check``, ``save_c_array``, ``io_code``,
``partitions``, ``overlay_table``, ``netron``); each reads only ``self.tflite_model``, ``self.model`` and ``self.ops``.
"""
from __future__ import annotations

from functools import cached_property
from typing import Optional, Tuple

from .micro import DEFAULT_ARENA_MARGIN, MicroCheck, micro_check

__all__ = ["DeployTargets", "MicroCheck"]


class DeployTargets:
    """Methods shared by the objects that hold a model's bytes and its ops table."""

    @cached_property
    def _micro(self) -> MicroCheck:
        return micro_check(self.tflite_model)

    def micro_check(self) -> MicroCheck:
        """Run the model once under TensorFlow Lite Micro's own interpreter (in a worker).

        Returns
        -------
        MicroCheck
            ``ran``, ``arena_bytes`` (the tensor arena it used), ``rejected`` (the ops
            TFLM refused), ``error``. Needs ``pip install 'tfl_jupyter[micro]'``.
        """
        return self._micro

    @cached_property
    def _litert_gpu(self):
        """LiteRT's GPU accelerator's compile report (``.measured``: the ``litert_gpu`` target's verdicts)."""
        from ..worker.litert_gpu import measure_litert_gpu

        return measure_litert_gpu(self.tflite_model)

    @cached_property
    def _gpu(self):
        from ..compare.gpu import gpu_check  # a one-line facade: the check compares runs

        return gpu_check(self.tflite_model)

    def gpu_check(self, samples=None, n: int = 100, *, signature_key: Optional[str] = None):
        """Run the model on LiteRT's GPU accelerator and on the CPU (in a worker without TensorFlow).

        Parameters
        ----------
        samples : array, list, dict by input name, tf.data.Dataset or generator function, optional
            Default: inputs generated from the model's signature (seeded).
        n : int
            At most this many samples.
        signature_key : str, optional
            For models with several signatures.

        Returns
        -------
        tfl_jupyter.core.compare.gpu.GpuCheck
            ``adapter`` (name; ``software`` for lavapipe or SwiftShader), ``gpu_ops`` /
            ``cpu_ops``, ``refusals`` (each refused op with the accelerator's reason),
            ``outputs`` (per output the difference from the CPU; ``after_step`` names the
            cast, rounding or comparison that fp16 values feed) and ``gpu_ms`` / ``cpu_ms``
            (meaningless on a software adapter). Without a GPU adapter, ``available`` is
            False and ``unavailable`` says what to install.
        """
        if samples is None and n == 100 and signature_key is None:
            return self._gpu
        from ..compare.gpu import gpu_check

        return gpu_check(self.tflite_model, samples, n, signature_key=signature_key)

    def micro_code(self, name: str = "g_model", *, arena_bytes: Optional[int] = None,
                   margin: float = DEFAULT_ARENA_MARGIN) -> str:
        """C++ for a TFLite Micro firmware: the model as an aligned C array, a
        ``MicroMutableOpResolver<N>`` with exactly the ``Add...()`` calls the model
        needs, and the tensor arena measured under TFLM plus ``margin``.

        Parameters
        ----------
        name : str
            The array's C name (``name_len`` holds its length).
        arena_bytes : int, optional
            Plan for this arena instead of measuring it (no ``tflite-micro`` needed).
        margin : float
            Fraction added to the arena (default 0.25).

        Returns
        -------
        str
        """
        from .micro import micro_code

        if arena_bytes is None:
            check = self._micro
            if not check.ran:
                raise ValueError(f"TFLite Micro could not run the model ({check.error}); "
                                 "see .ops[['op', 'micro', 'notes']]")
            arena_bytes = check.arena_bytes
            source = (f"measured by TFLM's RecordingMicroAllocator (tflite-micro "
                      f"{check.version}, x86-64, reference kernels)")
        else:
            source = "given as arena_bytes"
        return micro_code(self.tflite_model, self.ops, name=name, arena_bytes=arena_bytes,
                          margin=margin, arena_source=source)

    def save_c_array(self, path, name: str = "g_model") -> Tuple[str, str]:
        """Write the model as a C array: ``<stem>.cc`` and its header ``<stem>.h``.

        Parameters
        ----------
        path : str or os.PathLike
            ``model``, ``model.cc`` or ``model.h``.
        name : str
            The array's C name.

        Returns
        -------
        (str, str)
            The ``.cc`` and ``.h`` written (each atomically).
        """
        from .micro import save_c_array

        return save_c_array(path, self.tflite_model, name)

    def io_code(self, lang: str = "python") -> str:
        """Functions that quantize float inputs and dequantize outputs for integer I/O.

        Parameters
        ----------
        lang : {'python', 'c'}
            NumPy functions, or C ``static inline`` functions.

        Returns
        -------
        str
            One ``quantize_input_<name>`` per integer input and one
            ``dequantize_output_<name>`` per integer output, with TFLite's rounding.
        """
        from .io_code import io_code

        inputs, outputs = self.model.io_tensors()
        return io_code(inputs, outputs, lang)

    def measured(self, targets) -> dict:
        """The verdicts of the targets judged by running the model (``Target.needs_measurement``),
        measured here once, in the form ``op_support.ops_table(..., measured=)`` takes."""
        from ..op_support.targets import TARGETS

        wanted = [name for name in targets or () if TARGETS[name].needs_measurement]
        return {name: self._litert_gpu.measured for name in wanted if name == "litert_gpu"}

    def _ops_judging(self, name: str):
        """``.ops``, or, for a target it does not judge, a table that judges it too."""
        from ..op_support import ops_table
        from ..op_support.targets import TARGETS

        if name in self.ops.columns or name not in TARGETS:
            return self.ops
        return ops_table(self.model, (name,), measured=self.measured((name,)))

    def partitions(self, delegate: str, subgraph: int = 0):
        """The partitions a delegate cuts the model into, one row each.

        Parameters
        ----------
        delegate : str
            A target that partitions like a delegate (``'gpu'``, ``'xnnpack'``, ...: see
            ``op_support.targets.TARGETS``) whose column ``.ops`` has.
        subgraph : int
            0, the main graph, by default.

        Returns
        -------
        pandas.DataFrame
            ``partition``, ``first_index``, ``last_index``, ``ops`` (count), ``indices``,
            ``delegated`` (False beyond the delegate's default number of partitions: one
            for the GPU delegate).
        """
        from ..op_support import partitions

        return partitions(self._ops_judging(delegate), delegate, subgraph)

    def overlay_table(self, name: str, layers=None):
        """The data behind one overlay of the graph view: one row per operator.

        Parameters
        ----------
        name : str
            ``'error'``, ``'kind'``, ``'quantized'`` or a delegate's (``'gpu'``,
            ``'xnnpack'``, ...: ``op_support.overlay.overlay_names(self.ops)``).
        layers : pandas.DataFrame, optional
            ``comparison.layers``: needed for ``'error'`` (``comparison.overlay_table()``
            passes them).

        Returns
        -------
        pandas.DataFrame
            ``subgraph``, ``index``, ``op``, ``value``, ``label``, ``color``, ``tensor``,
            ``reason`` (see :mod:`tfl_jupyter.core.op_support.overlay`).
        """
        from ..op_support.overlay import overlay_table

        return overlay_table(self._ops_judging(name), name, self.model, layers, self._output_names)

    def netron(self, overlay=None, layers=None):
        """Show the model's graph inline, in Netron (see :func:`tfl_jupyter.netron_display.show_netron`).

        Parameters
        ----------
        overlay : str, optional
            One of ``op_support.overlay.overlay_names(self.ops)`` (``'gpu'``, ...).
            Colour the nodes by it (:meth:`overlay_table`); the viewer switches between all.
        layers : pandas.DataFrame, optional
            ``comparison.layers`` for ``'error'`` (``comparison.netron()`` passes them).
        """
        from ...netron_display import show_netron  # IPython and widgets only when asked

        return show_netron(self, overlay=overlay, layers=layers)

    @cached_property
    def _output_names(self) -> list:
        from ..op_support.overlay import output_names

        return output_names(self.ops, self.model)
