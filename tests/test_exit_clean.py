"""A process that used the panel exits cleanly, even with a conversion running (issue 11).

Each case is a fresh process (``exit_child.py``: real TensorFlow, the real panel and worker
processes) that exits on its own; ``bench/exit_clean.py`` runs the same child 20 times.
Exiting while the panel's thread was inside TensorFlow's native code used to abort the
process (``terminate called without an active exception``, exit status -6) most times.
"""

from __future__ import annotations

import pytest

from exit_child import run


@pytest.mark.parametrize("mode", ["converting", "finished", "converting", "timed-out"])
def test_process_exits_cleanly_after_using_the_panel(mode):
    result = run(mode)
    assert result.status == 0, f"exit status {result.status} ({result.where}); stderr ends:\n{result.stderr[-2000:]}"
    assert not result.native, result.native
    if mode == "converting":
        assert result.where == "exited during the Keras export", result.where
    if mode == "timed-out":  # tj.convert(timeout=...) left its export running in a thread
        assert result.where == "exited after a failed conversion, with an export running", result.where
