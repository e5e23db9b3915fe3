"""Progress bars for long runs (tqdm.auto: a widget in notebooks, text elsewhere)."""

from __future__ import annotations

import contextlib
from typing import Optional

# In automatic mode a bar appears only once a run has lasted this long: short runs stay quiet.
AUTO_DELAY_S = 1.5


def progress_bar(total: int, description: str, enabled: Optional[bool] = None, unit: str = "sample"):
    """A tqdm bar, or a silent stand-in when ``enabled`` is False (None: only for long runs).

    Parameters
    ----------
    total : int
        Units of work.
    description : str
        Shown left of the bar.
    enabled : bool or None
        True/False force it; None shows it once the run has lasted ``AUTO_DELAY_S`` seconds.
    unit : str
        Name of one unit.
    """
    if enabled is False:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit=unit, leave=False, delay=0 if enabled else AUTO_DELAY_S)


class _NoBar(contextlib.AbstractContextManager):
    """Accepts the calls a tqdm bar does, and shows nothing."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def set_description(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        return None
