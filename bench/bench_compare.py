"""Benchmark: ``result.compare(samples, n=200)`` against the obvious hand-written comparison loop.

Run:
    .venv/bin/python bench/bench_compare.py                 # MobileNetV2 int8, 200 samples, 1 round (~2 min)
    .venv/bin/python bench/bench_compare.py --strict        # exit 1 if the ratio misses its target
    .venv/bin/python bench/bench_compare.py --model toy     # quick smoke run

Both sides compare the same int8 ``.tflite`` of ``keras.applications.MobileNetV2(weights=None)``
against the Keras model on the same 200 seeded samples, in the same process. "raw" is the loop
people write: for each sample, call the Keras model on it (``model(x[i:i+1], training=False)``),
run the LiteRT interpreter on it, next sample; then compute the error. "ours" is
``result.compare(samples=x, n=200)``: the reference in batches through one traced function,
the interpreter resized to the batch, the metrics table. A toy model is compared both ways
first (imports, tracing machinery). Target: ours/raw <= 0.35.
"""

from __future__ import annotations

import os

from _common import Row, build_model, fmt, median, parser, report, silenced, timed

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TARGET = 0.35




def hand_loop(model, tflite_model: bytes, x):
    """One Keras call and one interpreter invoke per sample, then the error."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    with silenced():
        interpreter = Interpreter(model_content=tflite_model, num_threads=os.cpu_count())
        interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    reference, converted = [], []
    for i in range(len(x)):
        reference.append(model(x[i : i + 1], training=False).numpy()[0])
        interpreter.set_tensor(inp["index"], x[i : i + 1])
        interpreter.invoke()
        converted.append(interpreter.get_tensor(out["index"])[0])
    reference, converted = np.array(reference, np.float64), np.array(converted, np.float64)
    rmse = float(np.sqrt(np.mean((converted - reference) ** 2)))
    return rmse, reference, converted


def ours(result, x):
    return result.compare(samples=x, n=len(x), progress=False)


def main() -> int:
    p = parser(__doc__, rounds=1)
    p.add_argument("--samples", type=int, default=200, help="samples compared (default 200)")
    p.add_argument("--model", choices=("mobilenetv2", "toy"), default="mobilenetv2")
    args = p.parse_args()

    import numpy as np

    import tfl_jupyter as tj

    import_s, _ = timed(__import__, "tensorflow")
    toy, toy_shape = build_model("toy", softmax=True)
    toy_x = np.random.default_rng(1).random((8, *toy_shape), dtype=np.float32)
    toy_result = tj.convert(toy, quantize="int8", representative_dataset=toy_x)
    hand_loop(toy, toy_result.tflite_model, toy_x)
    ours(toy_result, toy_x)

    model, shape = build_model(args.model, softmax=True)
    x = np.random.default_rng(0).random((args.samples, *shape), dtype=np.float32)
    convert_s, result = timed(lambda: tj.convert(model, quantize="int8", representative_dataset=x[:16]))
    print(f"import tensorflow {import_s:.2f} s; model {args.model}, {model.count_params():,} params; "
          f"int8 conversion {convert_s:.1f} s (not timed); {args.samples} samples; {args.rounds} round(s)", flush=True)

    raw_times, our_times = [], []
    raw_rmse = comparison = None
    for round_index in range(args.rounds):
        for side in ("ours", "raw") if round_index % 2 == 0 else ("raw", "ours"):
            if side == "raw":
                seconds, (raw_rmse, reference, converted) = timed(hand_loop, model, result.tflite_model, x)
                raw_times.append(seconds)
            else:
                seconds, comparison = timed(ours, result, x)
                our_times.append(seconds)
            print(f"  round {round_index + 1} {side:4} {seconds:7.2f} s", flush=True)

    print(comparison.summary.to_string())
    our_rmse = float(comparison.summary.loc["output_0", "rmse"])
    same_reference = np.allclose(comparison.reference_outputs["output_0"], reference, rtol=1e-4, atol=1e-5)
    same_converted = np.allclose(comparison.outputs["output_0"], converted, atol=1e-5)
    print(f"rmse: hand loop {raw_rmse:.6g}, compare {our_rmse:.6g}")
    print(f"raw {', '.join(fmt(t, 2) for t in raw_times)}; ours {', '.join(fmt(t, 2) for t in our_times)}")
    rows = [Row(f"compare n={args.samples} ({args.model} int8)", median(raw_times), median(our_times), f"ratio <= {TARGET}", TARGET)]
    checks = {
        "same reference outputs as the loop": bool(same_reference),
        "same converted outputs as the loop": bool(same_converted),
        "same rmse": abs(our_rmse - raw_rmse) <= 1e-4 * max(raw_rmse, 1e-12) + 1e-9,
    }
    return report(rows, args.strict, raw_label="raw s (per-sample loop)", checks=checks)


if __name__ == "__main__":
    raise SystemExit(main())
