"""Conversion in a warm worker process, so the converter can never take the kernel down.

``client`` runs in the kernel; ``__main__`` is the worker (``python -m tfl_jupyter.core.worker``);
``portable`` turns in-memory models into SavedModels the worker can read; ``cache`` keeps
earlier results.
"""
