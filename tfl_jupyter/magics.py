"""``%tflite_convert`` and ``%%tflite_convert``: a thin front-end over ``tfl_jupyter.core``."""

from __future__ import annotations

import ast
import os
import sys

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from .core.errors import ConversionCancelled, ConversionError
from .core.op_support.targets import delegates, targets_help
from .core.settings import IO_TYPES, QUANTIZERS, preset_help

_MISSING = object()


def _comma_list(text):
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def _boolean(text):
    lowered = str(text).strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise UsageError(f"expected true or false, got {text!r}")


@magics_class
class TFLiteMagics(Magics):
    """IPython magics of tfl_jupyter."""

    @magic_arguments()
    @argument("source", nargs="?", help="A notebook variable (Keras model, tf.function, ConcreteFunction, tf.Module, list) or a path (SavedModel directory, .keras/.h5 file). Variables are looked up first.")
    @argument("--saved_model_dir", metavar="DIR", help="Convert this SavedModel directory.")
    @argument("--keras_model_file", metavar="FILE", help="Convert this .keras or .h5 file.")
    @argument("--signature_keys", metavar="KEYS", help="SavedModel signature keys, comma-separated.")
    @argument("--tags", metavar="TAGS", help="SavedModel tag set, comma-separated (default: serve).")
    @argument("--input_shapes", metavar="SHAPES", help="Fixed input shapes: 1,16,6 (one input), 1,16,6:1,8 (in input order) or seq=1,16,6:mask=1,8. The model is traced again at them; recurrent layers need it.")
    @argument("--batch_size", metavar="N", type=int, help="Fix the batch dimension of every input (e.g. 1).")
    @argument("--output_file", metavar="FILE", help="Write the .tflite here, atomically (a failure leaves no file and keeps an old one).")
    @argument("--quantize", metavar="PRESET", help=f"Quantization preset: {preset_help()}. Aliases such as fp16 work too.")
    @argument("--quantizer", choices=QUANTIZERS, help="Who quantizes: the converter (default), or litert: convert to float, then the LiteRT Quantizer (pip install 'tfl_jupyter[quantizer]'); dynamic, int8, int8-full and int16x8 map to its recipes.")
    @argument("--recipe", metavar="RECIPE", help="With --quantizer litert, instead of --quantize: a recipe name (dynamic_wi4_afp32, weight_only_wi4_afp32, dynamic_wi8_afp32_hadamard, ...), a .json file, or a variable holding recipe JSON (result.recipe).")
    @argument("--representative_dataset", metavar="VAR", help="Calibration samples: a notebook variable or expression (generator function, tf.data.Dataset, array, list, dict by input name).")
    @argument("--optimizations", metavar="LIST", help="Override the preset's optimizations, e.g. DEFAULT.")
    @argument("--supported_ops", metavar="LIST", help="target_spec.supported_ops, comma-separated: TFLITE_BUILTINS, TFLITE_BUILTINS_INT8, SELECT_TF_OPS, EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8.")
    @argument("--supported_types", metavar="LIST", help="target_spec.supported_types, e.g. float16.")
    @argument("--inference_input_type", choices=IO_TYPES, help="Type of the model's inputs.")
    @argument("--inference_output_type", choices=IO_TYPES, help="Type of the model's outputs.")
    @argument("--allow_custom_ops", action="store_true", help="Let ops without a TFLite kernel through as custom ops.")
    @argument("--experimental_new_converter", metavar="BOOL", default="true", help="Use the MLIR converter (default true).")
    @argument("--attr", metavar="NAME=VALUE", action="append", default=[], help="Set any other converter attribute; VALUE is a Python literal. Repeatable.")
    @argument("--timeout", metavar="SECONDS", type=float, help="Stop the conversion after this many seconds.")
    @argument("--in_process", action="store_true", help="Convert in the kernel's own process instead of the worker process (the cell form always does).")
    @argument("--panel", action="store_true", help="Open the tuning panel on this model with these settings instead of converting.")
    @argument("--ops", action="store_true", help="Also show the per-op support tables.")
    @argument("--targets", metavar="LIST", help=f"{targets_help()}. Implies --ops.")
    @argument("--compare", metavar="VAR", nargs="?", const="", default=None, help="Also compare the converted model's outputs with the source model's: on samples VAR, else the representative dataset, else generated inputs.")
    @argument("--labels", metavar="VAR", help="With --compare: one label per sample (class ids, one-hot or targets; a dict by output name) to measure task accuracy for every model.")
    @argument("--netron", metavar="OVERLAY", nargs="?", const="", default=None, help=f"Also show the model's graph inline (Netron, served by your Jupyter server), coloured by OVERLAY: {', '.join(t.name for t in delegates())}, kind, quantized, or error (with --compare).")
    @argument("--show_log", action="store_true", help="Also print what the converter printed.")
    @argument("-o", "--output", metavar="NAME", help="Store the ConversionResult in this notebook variable.")
    @argument("--quiet", action="store_true", help="Convert and store without displaying anything.")
    @line_cell_magic
    def tflite_convert(self, line, cell=None):
        """Convert a TensorFlow model to TensorFlow Lite.

        The line form converts in a warm worker process, so a converter crash or leak
        never costs the kernel; the cell form runs its body with a live ``converter``
        (a configured ``tf.lite.TFLiteConverter``) in scope just before ``convert()``, so
        any attribute, ``_experimental_*`` ones included, can be set in plain Python (it
        converts in the kernel's process, where that converter lives).
        The result (a ``ConversionResult``) is the cell's value; ``-o NAME`` also stores it.

        Examples
        --------
        ::

            %load_ext tfl_jupyter
            %tflite_convert model -o r
            %tflite_convert model --quantize dynamic --output_file model.tflite
            %tflite_convert model --quantize int8 --representative_dataset x_calib -o r8
            %tflite_convert model --quantize int8 --representative_dataset x_calib --compare x_test
            %tflite_convert model --quantize int8 --representative_dataset x_calib --compare x_test --labels y_test
            %tflite_convert model --quantize int8-full --representative_dataset gen --ops --netron
            %tflite_convert --saved_model_dir export/ --signature_keys serving_default
            %tflite_convert --keras_model_file model.keras --quantize float16
            %tflite_convert text_fn --supported_ops TFLITE_BUILTINS,SELECT_TF_OPS
            %tflite_convert model --attr experimental_enable_resource_variables=True
            %tflite_convert gru_model --batch_size 1
            %tflite_convert big_model --quantize dynamic --timeout 600
            %tflite_convert model --quantize int8 --representative_dataset x_calib --panel
            %tflite_convert model --quantizer litert --recipe dynamic_wi4_afp32 -o r4

            %%tflite_convert model --quantize int8 --representative_dataset x_calib -o r
            converter._experimental_disable_per_channel = True

        A failed conversion shows a table of the ops that blocked it, with the line of your
        code each came from and the fix, then fails the cell with one line (no traceback),
        so that "Run All" and nbclient/papermill stop there; the exception is in
        ``_tflite_error``. A failure the cell expects can carry the ``raises-exception`` tag.
        """
        args = parse_argstring(self.tflite_convert, line)
        targets = _targets(args.targets)
        if args.labels and args.compare is None:
            raise UsageError("--labels goes with --compare: add --compare [SAMPLES] to measure accuracy on those samples")
        if args.netron:
            from .core.op_support.overlay import overlay_names

            if args.netron not in overlay_names():
                raise UsageError(f"--netron takes no overlay or one of {', '.join(overlay_names())}; got {args.netron!r}")
        if args.netron == "error" and args.compare is None:
            raise UsageError("--netron error colours ops by the comparison's per-layer error: add --compare [SAMPLES]")
        source, source_name = self._source(args)
        options = self._options(args)
        if args.panel:
            if cell is not None and cell.strip():
                raise UsageError("--panel has no cell form: use the line magic, then set anything else in the panel")
            from .widgets.panel import panel as open_panel

            return open_panel(source, source_name=source_name, **options)
        body = _CellBody(self.shell, cell) if cell is not None and cell.strip() else None
        if body is not None:
            options["customize"] = body
            options["customize_source"] = cell
        from .core.convert import convert

        progress = None if args.quiet else _calibration_progress(options.get("representative_dataset"))
        try:
            result = convert(source, source_name=source_name, on_sample=progress, **options)
        except (ConversionError, ConversionCancelled, TimeoutError, ValueError, TypeError, ImportError) as error:
            if body is not None and error is body.error:
                raise  # the cell body's own error, with its own traceback
            self._fail(error)
        finally:
            if progress is not None:
                progress.close()
        if args.output:
            self.shell.user_ns[args.output] = result
        if args.quiet:
            return None
        if args.ops or targets:
            from .core.inspection import inspect
            from .core.op_support import style_ops

            report = inspect(result, targets=targets) if targets else result
            for table in (report.op_summary, report.ops):
                display({"text/html": style_ops(table).to_html(), "text/plain": table.to_string()}, raw=True)
        if args.show_log:
            print(result.log, file=sys.stderr)
        if args.netron is not None and args.netron != "error":
            result.netron(overlay=args.netron or None)
        if args.compare is not None:
            comparison = self._show_comparison(result, args)  # its display has the calibration warnings
            if args.netron == "error":
                comparison.netron()
        else:
            for warning in result.calibration_report.warnings:
                print(f"calibration: {warning}", file=sys.stderr)
        return result

    def _fail(self, error):
        """Fail the cell with one line about ``error``, which is kept in ``_tflite_error``.

        Raises
        ------
        UsageError
            IPython shows it as one line, without a traceback, and the cell fails.
        ConversionInterrupted
            For an interrupted conversion, which must stay a ``KeyboardInterrupt``.
        """
        self.shell.user_ns["_tflite_error"] = error
        if isinstance(error, (ValueError, TypeError, ImportError, KeyboardInterrupt)):
            message = str(error)  # a mistake in the arguments (the message names the fix), or an interrupt
        elif isinstance(error, ConversionError) and error.errors:
            display(error)
            message = f"conversion failed: {error.summary} (table above)"
        else:  # a worker that died, a converter failure without records, a timeout
            message = f"conversion failed: {error}"
        message += "; the exception is in `_tflite_error`"
        if isinstance(error, KeyboardInterrupt):
            raise ConversionInterrupted(message) from None
        raise UsageError(message) from None

    def _show_comparison(self, result, args):
        """Compare ``result`` as ``--compare``/``--labels`` ask and display it.

        Raises
        ------
        UsageError
            The comparison failed (samples that do not fit, Flex ops): the cell fails with
            one line, and the converted model stays in the ``-o`` variable, else in
            ``_tflite_result``.
        """
        samples = self._variable(args.compare, "--compare") if args.compare else None
        labels = self._variable(args.labels, "--labels") if args.labels else None
        try:
            comparison = result.compare(samples=samples, labels=labels)
        except (ValueError, TypeError, RuntimeError) as error:
            kept = args.output or "_tflite_result"
            self.shell.user_ns[kept] = result
            self.shell.user_ns["_tflite_error"] = error
            raise UsageError(f"compare failed: {error}; the conversion itself succeeded: its result "
                             f"is in `{kept}`, the exception in `_tflite_error`") from None
        display(comparison)
        return comparison

    def _source(self, args):
        """Return (source object or path, name to use in generated code)."""
        given = [v for v in (args.source, args.saved_model_dir, args.keras_model_file) if v]
        if len(given) != 1:
            raise UsageError(
                "give exactly one model: a variable or path, --saved_model_dir DIR, or --keras_model_file FILE"
                if given else "no model given: %tflite_convert MODEL (a variable or a path); see %tflite_convert?"
            )
        if args.saved_model_dir or args.keras_model_file:
            return (args.saved_model_dir or args.keras_model_file), None
        text = args.source
        namespace = self.shell.user_ns
        if text in namespace:
            return namespace[text], text
        if os.path.exists(os.path.expanduser(text)):
            return text, None
        try:
            return self.shell.ev(text), text  # e.g. models["a"] or zoo.mobilenet
        except Exception:
            raise UsageError(
                f"{text!r} is neither a variable in this notebook nor an existing path: define it first, "
                "or check the path (relative to the notebook's folder)"
            ) from None

    def _options(self, args) -> dict:
        options = dict(
            quantize=args.quantize,
            quantizer=args.quantizer,
            recipe=self.shell.user_ns.get(args.recipe, args.recipe) if args.recipe else None,
            optimizations=_comma_list(args.optimizations),
            supported_ops=_comma_list(args.supported_ops),
            supported_types=_comma_list(args.supported_types),
            inference_input_type=args.inference_input_type,
            inference_output_type=args.inference_output_type,
            allow_custom_ops=args.allow_custom_ops,
            experimental_new_converter=_boolean(args.experimental_new_converter),
            signature_keys=_comma_list(args.signature_keys),
            tags=_comma_list(args.tags),
            input_shapes=args.input_shapes,
            batch_size=args.batch_size,
            output_file=args.output_file,
            in_process=args.in_process,
            timeout=args.timeout,
        )
        if args.representative_dataset:
            options["representative_dataset"] = self._variable(args.representative_dataset, "--representative_dataset")
            options["dataset_name"] = args.representative_dataset
        for assignment in args.attr:
            name, equals, value = assignment.partition("=")
            if not equals or not name.strip():
                raise UsageError(f"--attr takes NAME=VALUE, got {assignment!r}")
            options[name.strip()] = _literal(value)
        return options

    def _variable(self, text, flag):
        namespace = self.shell.user_ns
        if text in namespace:
            return namespace[text]
        try:
            return self.shell.ev(text)
        except Exception:
            raise UsageError(f"{flag}: no variable {text!r} in this notebook; define it first") from None


class _CellBody:
    """The body of a ``%%tflite_convert`` cell: IPython code, run as the ``customize`` callback.

    The body goes through the shell's input transformers, as IPython's own cell magics
    do, so ``%magic`` and ``!command`` lines work in it. It is compiled up front, so a
    syntax error stops the magic before the conversion starts.

    Parameters
    ----------
    shell : IPython.core.interactiveshell.InteractiveShell
    cell : str
        The cell's body (without the ``%%tflite_convert`` line).

    Attributes
    ----------
    error : BaseException or None
        What the body raised, if it raised: the magic lets it through as the user's own.
    """

    def __init__(self, shell, cell: str):
        self.shell = shell
        self.error = None
        # Tracebacks should number the body's lines as the cell does: line 1 is the
        # %%tflite_convert line, and the transformers drop the blank lines after it.
        blank = next(i for i, line in enumerate(cell.splitlines()) if line.strip())
        code = "\n" * (1 + blank) + shell.transform_cell(cell)
        filename = shell.compile.cache(code, shell.execution_count, raw_code=cell)
        tree = shell.transform_ast(shell.compile.ast_parse(code, filename))
        self.code = shell.compile(tree, filename, "exec")

    def __call__(self, converter) -> None:
        """Run the body with ``converter`` in the user's namespace, then restore the name."""
        namespace = self.shell.user_ns
        previous = namespace.get("converter", _MISSING)
        namespace["converter"] = converter
        try:
            exec(self.code, self.shell.user_global_ns, namespace)
        except BaseException as error:
            self.error = error
            raise
        finally:
            if previous is _MISSING:
                namespace.pop("converter", None)
            else:
                namespace["converter"] = previous


class ConversionInterrupted(KeyboardInterrupt):
    """An interrupted conversion, shown as one line like a ``UsageError``.

    It stays a ``KeyboardInterrupt``, so that ``except Exception`` around the magic (a loop
    over models, say) cannot swallow the user's interrupt.
    """

    def _render_traceback_(self):  # IPython shows this instead of a traceback
        return [f"KeyboardInterrupt: {self}"]


def _calibration_progress(dataset):
    """A progress bar for calibrating with ``dataset``, or None without one."""
    return None if dataset is None else _CalibrationProgress(dataset)


class _CalibrationProgress:
    """A ``tqdm.auto`` bar over calibration samples, fed by the converter's ``on_sample``."""

    def __init__(self, dataset):
        self._dataset = dataset
        self._bar = None

    def __call__(self, samples_seen: int) -> None:
        if self._bar is None:
            from tqdm.auto import tqdm

            total = len(self._dataset) if hasattr(self._dataset, "__len__") and not isinstance(self._dataset, dict) else None
            self._bar = tqdm(total=total, desc="calibrating", unit="sample", leave=False)
        self._bar.update(samples_seen - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _literal(text):
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return text.strip()


def _targets(text):
    """``--targets`` checked before converting: the tuple, or None when not given."""
    if text is None:
        return None
    from .core.op_support.targets import check_targets

    try:
        return check_targets(text)
    except ValueError as error:
        raise UsageError(f"--targets: {error}") from None
