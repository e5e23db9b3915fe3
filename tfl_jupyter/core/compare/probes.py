"""Work the kernel hands to a worker process because it runs native code on untrusted models."""

from __future__ import annotations

from typing import Dict


def run_on_generated_inputs(tflite_model: bytes, samples: int = 2) -> Dict[str, tuple]:
    """Validate a ``.tflite``, then run it with LiteRT on generated inputs, the way ``compare`` does.

    Call it through ``POOL.call`` for a file of unknown origin: a model that crashes the
    interpreter then costs the worker, not the kernel.

    Parameters
    ----------
    tflite_model : bytes
    samples : int
        How many generated samples to run.

    Returns
    -------
    dict
        Output name -> output shape.
    """
    from ..tflite_reader import read_model
    from .binding import bind_inputs, calibrated_ranges, choose_signature, specs_from_tflite, subgraph_of
    from .measure import run_tflite
    from .samples import generate_samples

    model = read_model(tflite_model)
    signature = choose_signature(model)
    specs = specs_from_tflite(model, signature)
    inputs = bind_inputs(model, signature, [spec.name for spec in specs])
    generated = generate_samples(specs, samples, calibrated_ranges(model, inputs, subgraph_of(signature)))
    graph = model.subgraphs[subgraph_of(signature)]
    output_names = sorted(signature.outputs) if signature is not None else [graph.tensors[i].name for i in graph.outputs]
    outputs = run_tflite(tflite_model, model, generated, output_names, progress=False)
    return {name: tuple(values.shape) for name, values in outputs.items()}
