"""tj.convert makes the same .tflite as TensorFlow's own converter, on TensorFlow's own test models.

The cases (``equivalence_cases.py``) port the model-building tests of
``tensorflow/lite/python/lite_v2_test.py`` (FromConcreteFunctionTest, FromSavedModelTest,
FromKerasModelTest, ControlFlowTest, GrapplerTest, UnknownShapes, ResourceAndVariantTypes,
SparsityTest, ...; helpers from ``lite_v2_test_util.py``) to Keras 3 and TensorFlow 2.21.
Each model is converted once with the raw entry point (``from_concrete_functions``,
``from_saved_model``, ``from_keras_model``) and then by ``tj.convert`` with the same settings,
in the worker process (the default) and with ``in_process=True``.

``test_same_model`` compares what a user of the model sees: input and output order, names,
types, shapes and quantization (the interpreter's details), the signatures, the operators
(name and version, from the flatbuffer), the outputs on the same seeded inputs (bit for bit,
where the pip interpreter can run the model: not Flex or custom ops) and the size.
``test_same_bytes`` asks for identical bytes, and says which parts of the file differ.
Every failure lists every aspect that differs, in one message.
"""

from __future__ import annotations

import gc
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import equivalence_cases
from equivalence_cases import CASES, Env

MODES = ("in_process", "worker")  # in-process first: the worker warms up meanwhile
CASE_IDS = [c.name for c in CASES]


# -- the two conversions -----------------------------------------------------------------------


def configure(tf, converter, settings: dict, dataset) -> None:
    """Set ``settings`` (tj.convert's keyword spelling) on a raw ``TFLiteConverter``, as upstream does."""
    for name, value in settings.items():
        if name == "optimizations":
            converter.optimizations = [getattr(tf.lite.Optimize, v) for v in value]
        elif name == "supported_ops":
            converter.target_spec.supported_ops = [getattr(tf.lite.OpsSet, v) for v in value]
        elif name == "supported_types":
            converter.target_spec.supported_types = [tf.as_dtype(v) for v in value]
        elif name in ("inference_input_type", "inference_output_type"):
            setattr(converter, name, tf.as_dtype(value))
        else:
            setattr(converter, name, value)
    if dataset is not None:
        converter.representative_dataset = dataset


class Lab:
    """Builds each case once and converts it once per way; later calls get the cached result.

    Worker conversions run in a background thread, one at a time and in the order the main
    thread finishes a case's raw and in-process conversions, so the worker process converts
    one case while this process converts the next (two cores: half the wall time). No case
    is ever converted by both threads at once.
    """

    def __init__(self, tf, env: Env):
        self.tf = tf
        self.env = env
        self._built: dict = {}
        self._results: dict = {}
        self._worker_jobs: dict = {}
        self._lock = threading.Lock()
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="equivalence-worker")

    def close(self) -> None:
        self._background.shutdown(wait=True, cancel_futures=True)

    def conversion(self, case) -> equivalence_cases.Conversion:
        if case.name not in self._built:
            self._built[case.name] = case.build(self.env)
        return self._built[case.name]

    def raw(self, case) -> bytes:
        """TensorFlow's model; an error here is the case's own (the test errors, it does not fail)."""
        return self._once((case.name, "raw"), lambda: self._convert_raw(case))

    def tj(self, case, mode: str):
        """tj.convert's model, or the exception it raised. Call :meth:`raw` first."""
        try:
            if mode == "worker":
                return self._worker_job(case).result()
            result = self._once((case.name, mode), lambda: self._convert_tj(case, mode))
        except Exception as exc:  # noqa: BLE001 - reported as a difference
            result = exc
        self._worker_job(case)  # this case is done here: its worker conversion may start
        return result

    def _worker_job(self, case):
        with self._lock:
            if case.name not in self._worker_jobs:
                self._worker_jobs[case.name] = self._background.submit(self._convert_tj, case, "worker")
            return self._worker_jobs[case.name]

    def _once(self, key, make):
        if key not in self._results:
            try:
                self._results[key] = ("ok", make())
            except Exception as exc:  # noqa: BLE001 - kept, raised again for each test that asks
                self._results[key] = ("error", exc)
        state, value = self._results[key]
        if state == "error":
            raise value
        return value

    def _convert_raw(self, case) -> bytes:
        conv = self.conversion(case)
        converter = conv.make_converter()
        configure(self.tf, converter, conv.settings, conv.raw_dataset or conv.dataset)
        return bytes(converter.convert())

    def _convert_tj(self, case, mode: str) -> bytes:
        import tfl_jupyter as tj

        conv = self.conversion(case)
        kwargs = dict(conv.settings, **conv.source_kwargs)
        if conv.dataset is not None:
            kwargs["representative_dataset"] = conv.dataset
        return bytes(tj.convert(conv.source, in_process=(mode == "in_process"), **kwargs).tflite_model)


@pytest.fixture(scope="session")
def worker_started():
    """Start the worker process first, so it imports TensorFlow while this process does."""
    try:
        from tfl_jupyter.core.worker.pool import POOL

        POOL.warm_up()
    except Exception:  # noqa: BLE001 - a broken package shows in every case's tj conversion
        pass


@pytest.fixture(scope="module")
def lab(worker_started, tf, keras, tmp_path_factory):
    lab = Lab(tf, Env(tf=tf, keras=keras, folder=str(tmp_path_factory.mktemp("equivalence"))))
    # TensorFlow and Keras hold ~400,000 objects that every full garbage collection walks
    # again (0.2-0.5 s each), and these conversions trigger dozens of them: exempt those
    # objects while this module runs (40 s less here).
    frozen = not gc.get_freeze_count()
    if frozen:
        gc.freeze()
    yield lab
    lab.close()
    if frozen:
        gc.unfreeze()


# -- reading and running a model -----------------------------------------------------------------


def interpreter(content: bytes):
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_content=content)


def io_details(details) -> dict:
    """The aspects of the interpreter's input or output details, each a list in model order."""
    return {
        "names": [d["name"] for d in details],
        "types": [f"{np.dtype(d['dtype']).name}{list(d['shape_signature'])}" for d in details],
        "quantization": [(float(d["quantization"][0]), int(d["quantization"][1])) for d in details],
    }


def operators(content: bytes) -> list:
    """Per subgraph, the operators in order as 'NAME vVERSION' (the custom code for custom ops)."""
    from ai_edge_litert import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    model = schema.ModelT.InitFromPackedBuf(content, 0)
    codes = []
    for code in model.operatorCodes or []:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = code.customCode.decode() if code.customCode else names.get(builtin, f"BUILTIN_{builtin}")
        codes.append(f"{name} v{code.version}")
    return [[codes[op.opcodeIndex] for op in (graph.operators or [])] for graph in model.subgraphs or []]


def make_feeds(conv, details, seed: int = 0) -> list:
    """Seeded inputs in the model's input order (the case's own, or made from the details)."""
    rng = np.random.default_rng(seed)
    if conv.feeds is not None:
        return conv.feeds(rng)
    return [_random_array(rng, d["dtype"], [2 if s < 0 else s for s in d["shape_signature"]]) for d in details]


def _random_array(rng, dtype, shape) -> np.ndarray:
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype.kind in "iu" and dtype.itemsize <= 2:
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    if dtype.kind in "iu":
        return rng.integers(0, 4, size=shape).astype(dtype)  # small: safe as indices
    if dtype.kind in "OSU":
        return rng.choice(np.array([b"a", b"b", b"c", b"z"], dtype=object), size=shape)
    return rng.standard_normal(size=shape).astype(dtype)


def run(content: bytes, feeds: list) -> dict:
    """Outputs on ``feeds`` fed by position; a model with several signatures runs each
    signature instead, on seeded inputs made from that signature's own details."""
    it = interpreter(content)
    signatures = it.get_signature_list()
    if len(signatures) > 1:
        outputs = {}
        for key in sorted(signatures):
            runner = it.get_signature_runner(key)
            details = runner.get_input_details()
            rng = np.random.default_rng(0)
            arguments = {name: _random_array(rng, details[name]["dtype"], [2 if s < 0 else s for s in details[name]["shape_signature"]])
                         for name in sorted(details)}
            for name, value in runner(**arguments).items():
                outputs[f"{key}/{name}"] = np.array(value)
        return outputs
    inputs = it.get_input_details()
    for detail, array in zip(inputs, feeds):
        if list(detail["shape"]) != list(array.shape):
            it.resize_tensor_input(detail["index"], list(array.shape), strict=False)
    it.allocate_tensors()
    for detail, array in zip(inputs, feeds):
        it.set_tensor(detail["index"], array)
    it.invoke()
    return {str(i): np.array(it.get_tensor(d["index"])) for i, d in enumerate(it.get_output_details())}


# -- what differs ----------------------------------------------------------------------------------


def differences(conv, raw: bytes, ours: bytes) -> list:
    """Every aspect in which ``ours`` differs from ``raw``: a list of lines, empty when none."""
    found = []

    def check(aspect, want, got):
        if want != got:
            found.append(f"{aspect}: raw {want!r} vs tj {got!r}")

    raw_it, raw_ops = interpreter(raw), operators(raw)
    try:
        our_it, our_ops = interpreter(ours), operators(ours)
    except Exception as exc:  # noqa: BLE001 - not a model the interpreter or the schema reads
        return [f"model: tj's bytes do not load ({type(exc).__name__}: {_first_line(exc)}); size raw {len(raw)} vs tj {len(ours)}"]
    for side in ("input", "output"):
        want = io_details(getattr(raw_it, f"get_{side}_details")())
        got = io_details(getattr(our_it, f"get_{side}_details")())
        for aspect in want:
            check(f"{side} {aspect}", want[aspect], got[aspect])
    check("signatures", list(raw_it.get_signature_list().items()), list(our_it.get_signature_list().items()))
    if raw_ops != our_ops:
        found.append(f"ops: raw {_ops_text(raw_ops)} vs tj {_ops_text(our_ops)}")
    if conv.run:
        found += _output_differences(conv, raw, ours, raw_it.get_input_details())
    if len(raw) != len(ours):
        parts = file_differences(raw, ours)
        if not parts or not all(noise for _, noise in parts):  # not only TensorFlow's own run-to-run numbering
            found.append(f"size: raw {len(raw)} vs tj {len(ours)} bytes ({_parts_text(parts)})")
    return found


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def _parts_text(parts: list) -> str:
    """``file_differences`` as one line; TensorFlow's run-to-run noise marked as such."""
    if not parts:
        return "no part differs: the same content, laid out differently"
    return "; ".join(what + (" [TensorFlow varies this itself]" if noise else "") for what, noise in parts)


def _ops_text(graphs: list) -> str:
    return " | ".join(", ".join(ops) for ops in graphs)


def _output_differences(conv, raw: bytes, ours: bytes, details) -> list:
    feeds = make_feeds(conv, details)
    want = run(raw, feeds)  # the reference must run: an error here is the case's own
    try:
        got = run(ours, feeds)
    except Exception as exc:  # noqa: BLE001 - a model that does not run is a difference
        return [f"outputs: the tj model does not run on the raw model's inputs ({type(exc).__name__}: {_first_line(exc)})"]
    if list(want) != list(got):
        return [f"outputs: raw {list(want)} vs tj {list(got)}"]
    found = []
    for name, value in want.items():
        other = got[name]
        if value.dtype != other.dtype or value.shape != other.shape:
            found.append(f"output {name}: raw {value.dtype}{list(value.shape)} vs tj {other.dtype}{list(other.shape)}")
        elif not np.array_equal(value, other, equal_nan=value.dtype.kind == "f"):
            worst = np.max(np.abs(value.astype(np.float64) - other.astype(np.float64))) if value.dtype.kind in "fiu" else "n/a"
            found.append(f"output {name}: values differ (max abs difference {worst})")
    return found


def file_differences(raw: bytes, ours: bytes) -> list:
    """Which parts of the two files differ, as ``(what, noise)`` pairs.

    ``noise`` marks what TensorFlow itself changes from one conversion of a model to the
    next (measured: two raw conversions of ``cond`` or of a Flex model differ so): names
    that differ only in the number TensorFlow gives each traced function, and Flex ops'
    NodeDefs that differ only in the order their attributes are serialized.
    """
    from ai_edge_litert import schema_py_generated as schema

    a, b = (schema.ModelT.InitFromPackedBuf(content, 0) for content in (raw, ours))
    found = []
    a_meta, b_meta = _metadata(a, raw), _metadata(b, ours)
    if sorted(a_meta) != sorted(b_meta):
        found.append((f"metadata entries {sorted(a_meta)} vs {sorted(b_meta)}", False))
    for name in sorted(set(a_meta) & set(b_meta)):
        if a_meta[name] != b_meta[name]:
            fields = _conversion_metadata_fields(a_meta[name], b_meta[name]) if name == "CONVERSION_METADATA" else []
            found.append((f"metadata {name}" + (f" ({', '.join(fields)})" if fields else ""), False))
    if _signature_keys(a) != _signature_keys(b):
        found.append(("signature defs", False))
    if len(a.subgraphs or []) != len(b.subgraphs or []):
        found.append(("subgraph count", False))
    a_codes = _opcode_names(a)
    for index, (ga, gb) in enumerate(zip(a.subgraphs or [], b.subgraphs or [])):
        where = f"subgraph {index}"
        if ga.name != gb.name:
            found.append((f"{where} name {ga.name!r} vs {gb.name!r}", _numbering_only(ga.name, gb.name)))
        ta, tb = ga.tensors or [], gb.tensors or []
        if len(ta) != len(tb):
            found.append((f"{where} tensor count {len(ta)} vs {len(tb)}", False))
        else:
            renamed = [(x.name, y.name) for x, y in zip(ta, tb) if x.name != y.name]
            if renamed:
                noise = all(_numbering_only(x, y) for x, y in renamed)
                found.append((f"{where} tensor names ({len(renamed)}, e.g. {renamed[0][0]!r} vs {renamed[0][1]!r})", noise))
            if any(_tensor_key(x) != _tensor_key(y) for x, y in zip(ta, tb)):
                found.append((f"{where} tensor types, shapes or quantization", False))
        oa, ob = ga.operators or [], gb.operators or []
        if len(oa) != len(ob) or any(_operator_key(x) != _operator_key(y) for x, y in zip(oa, ob)):
            found.append((f"{where} operators (inputs, outputs or builtin options)", False))
        else:
            for x, y in zip(oa, ob):
                xo, yo = _custom_options(x), _custom_options(y)
                if xo != yo:
                    noise = _same_flex_node(a_codes[x.opcodeIndex], xo, yo)
                    found.append((f"{where} custom options of {a_codes[x.opcodeIndex]}"
                                  + (" (its NodeDef's attributes in another order)" if noise else ""), noise))
    if [_buffer(x, raw) for x in a.buffers or []] != [_buffer(x, ours) for x in b.buffers or []]:
        found.append(("constant buffers", False))
    if a.description != b.description:
        found.append((f"description {a.description!r} vs {b.description!r}", False))
    return found


def _numbering_only(a, b) -> bool:
    """Names equal but for their numbers (``cond_true_frozen_19830`` and ``..._20030``)."""
    a, b = (x.decode() if isinstance(x, bytes) else str(x) for x in (a, b))
    return re.sub(r"\d+", "#", a) == re.sub(r"\d+", "#", b)


def _metadata(model, content: bytes) -> dict:
    return {m.name.decode(): _buffer(model.buffers[m.buffer], content) for m in model.metadata or []}


def _signature_keys(model) -> list:
    return [(s.signatureKey, s.subgraphIndex, [(t.name, t.tensorIndex) for t in s.inputs or []],
             [(t.name, t.tensorIndex) for t in s.outputs or []]) for s in model.signatureDefs or []]


def _opcode_names(model) -> list:
    return [code.customCode.decode() if code.customCode else str(max(code.builtinCode, code.deprecatedBuiltinCode))
            for code in model.operatorCodes or []]


def _buffer(buffer, content: bytes) -> bytes:
    if buffer.data is not None:
        return bytes(np.asarray(buffer.data, dtype=np.uint8))
    if buffer.offset > 1:  # stored after the flatbuffer (_experimental_use_buffer_offset)
        return bytes(content[buffer.offset : buffer.offset + buffer.size])
    return b""


def _plain(value):
    """A comparable form of a flatbuffer object-API value (options tables, arrays)."""
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if hasattr(value, "__dict__"):
        return tuple(sorted((k, _plain(v)) for k, v in vars(value).items()))
    return value


def _tensor_key(tensor) -> tuple:
    return _plain((tensor.type, tensor.shape, tensor.shapeSignature, tensor.quantization, tensor.buffer > 0,
                   tensor.variantTensors, tensor.sparsity))


def _operator_key(op) -> tuple:
    return _plain((op.opcodeIndex, op.inputs, op.outputs, op.intermediates, op.builtinOptionsType, op.builtinOptions))


def _custom_options(op) -> bytes:
    return b"" if op.customOptions is None else bytes(np.asarray(op.customOptions, dtype=np.uint8))


def _same_flex_node(code: str, a: bytes, b: bytes) -> bool:
    """Two Flex ops' custom options hold equal NodeDefs (protobuf maps keep no order)."""
    if not code.startswith("Flex"):
        return False
    try:
        from flatbuffers import flexbuffers
        from tensorflow.core.framework import node_def_pb2

        def node(options: bytes):  # a FlexBuffer vector: [op name, serialized NodeDef]
            return node_def_pb2.NodeDef.FromString(flexbuffers.GetRoot(options).AsVector[1].AsStringBytes)

        return node(a) == node(b)
    except Exception:  # noqa: BLE001 - not a Flex NodeDef after all: a real difference
        return False


def _conversion_metadata_fields(a: bytes, b: bytes) -> list:
    """The fields of two CONVERSION_METADATA tables that differ, e.g. ``environment.modelType``."""
    try:
        from tensorflow.lite.python import conversion_metadata_schema_py_generated as metadata
    except ImportError:
        return []
    ta, tb = (metadata.ConversionMetadataT.InitFromPackedBuf(bytearray(x), 0) for x in (a, b))
    fields = []
    for part in ("environment", "options"):
        pa, pb = getattr(ta, part), getattr(tb, part)
        for name in sorted(vars(pa) if pa is not None else ()):
            va, vb = _plain(getattr(pa, name)), _plain(getattr(pb, name, None))
            if va != vb:
                fields.append(f"{part}.{name} {va} vs {vb}")
    return fields


def _first_byte_difference(raw: bytes, ours: bytes) -> str:
    for offset, (x, y) in enumerate(zip(raw, ours)):
        if x != y:
            return f"first difference at byte {offset} of {len(raw)}"
    return f"one is a prefix of the other ({len(raw)} vs {len(ours)} bytes)"


# -- the tests ---------------------------------------------------------------------------------------


def _pair(lab, case, mode):
    """(raw bytes, tj bytes); None for tj's where the case allows a refusal and tj refused."""
    raw = lab.raw(case)
    ours = lab.tj(case, mode)
    if isinstance(ours, Exception):
        refusal = lab.conversion(case).refusal
        if refusal and isinstance(ours, ValueError) and re.search(refusal, str(ours)):
            return raw, None
        pytest.fail(f"{case.name} [{mode}] ({case.upstream}): raw TensorFlow converts it, tj.convert raised "
                    f"{type(ours).__name__}: {_first_line(ours)}", pytrace=False)
    return raw, ours


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_same_model(lab, case, mode):
    raw, ours = _pair(lab, case, mode)
    if ours is None:
        return  # refused, as the case allows (see its comment)
    found = differences(lab.conversion(case), raw, ours)
    if found:
        pytest.fail(f"{case.name} [{mode}] ({case.upstream}) differs from raw TensorFlow in:\n  - " + "\n  - ".join(found),
                    pytrace=False)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_same_bytes(lab, case, mode):
    raw, ours = _pair(lab, case, mode)
    if ours is None:
        pytest.skip("tj.convert refused the case's input, as the case allows: no bytes to compare")
    if raw == ours:
        return
    parts = file_differences(raw, ours)
    if parts and all(noise for _, noise in parts):
        return  # what two raw conversions of this model also differ in (see file_differences)
    pytest.fail(f"{case.name} [{mode}]: the bytes differ ({_first_byte_difference(raw, ours)}); "
                f"differing parts: {_parts_text(parts)}", pytrace=False)


def test_cases_are_enough():
    """At least 42 ported cases, each with a unique name and its upstream test."""
    assert len(CASES) >= 42
    assert len(set(CASE_IDS)) == len(CASE_IDS)
    assert all(c.upstream for c in CASES)


# -- the comparison itself can fail: real models that differ are told apart ----------------------


CASES_BY_NAME = {c.name: c for c in CASES}


def _raw_with(lab, case, **changes) -> bytes:
    conv = lab.conversion(case)
    converter = conv.make_converter()
    configure(lab.tf, converter, dict(conv.settings, **changes.get("settings", {})), changes.get("dataset", conv.dataset))
    return bytes(converter.convert())


def test_comparison_sees_quantization(lab):
    case = CASES_BY_NAME["int8_float_io"]
    float_model = _raw_with(lab, case, settings={"optimizations": []}, dataset=None)
    found = differences(lab.conversion(case), float_model, lab.raw(case))
    aspects = {line.split(":")[0] for line in found}
    assert {"ops", "output 0", "size"} <= aspects, found
    assert file_differences(float_model, lab.raw(case))


def test_comparison_sees_input_order(lab, tf):
    case = CASES_BY_NAME["batch_matmul_x_then_b"]

    @tf.function(input_signature=[tf.TensorSpec([None, 5, 3], tf.float32, name="b"),
                                  tf.TensorSpec([None, 4, 5], tf.float32, name="x")])
    def b_then_x(b, x):
        return tf.matmul(x, b)

    swapped = bytes(tf.lite.TFLiteConverter.from_concrete_functions([b_then_x.get_concrete_function()], b_then_x).convert())
    found = differences(lab.conversion(case), lab.raw(case), swapped)
    assert any(line.startswith("input names") for line in found), found
    assert any(line.startswith("outputs: the tj model does not run") or line.startswith("output") for line in found), found


def test_tensorflow_swaps_list_samples_on_v1_saved_models(lab):
    """Why saved_model_v1_int8_list_samples takes TensorFlow's dict-sample model as the reference:
    given the same samples as a list, TensorFlow calibrates input 'y' with 'x''s values."""
    case = CASES_BY_NAME["saved_model_v1_int8_list_samples"]
    listed = _raw_with(lab, case)  # conv.dataset: the list form
    found = differences(lab.conversion(case), lab.raw(case), listed)
    assert any(line.startswith("input quantization") for line in found), found
