"""The one pool of worker processes, so that the converter can never take the kernel down.

``pool`` hands jobs to idle processes (``POOL``), with a deadline and Cancel for every job;
``process`` is one process seen from the kernel (start, exchange, death diagnosis, recycling);
``__main__`` is the process itself (``python -m tfl_jupyter.core.worker``); ``protocol`` is
what they say over the pipe; ``conversions`` runs a conversion through the pool, with
``portable`` (in-memory models exported to SavedModels) and ``cache`` (earlier outputs, on disk);
``litert`` runs the LiteRT Quantizer's step of ``quantizer="litert"`` (recipes, the calibration cache).
"""
