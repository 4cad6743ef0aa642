"""Progress bars for long work: ``tqdm.auto`` (a widget in Jupyter, text elsewhere).

Our bars start no tqdm monitor thread. That thread only retunes ``miniters`` for bars that stall,
and it outlives the bar: a leftover thread would make every later worker pool in the process
avoid ``fork`` (see :mod:`toolkit._pool`), which a script without a ``__main__`` guard needs.
"""

from __future__ import annotations

__all__ = ["progress_bar"]

_BAR_CLASS = None


def progress_bar(**kwargs):
    """A ``tqdm.auto.tqdm`` bar (same arguments) that starts no monitor thread.

    Examples
    --------
    >>> import threading
    >>> before = threading.active_count()
    >>> with progress_bar(total=3, disable=True) as bar:
    ...     bar.update(3)
    >>> threading.active_count() == before
    True
    """
    global _BAR_CLASS
    if _BAR_CLASS is None:
        from tqdm.auto import tqdm

        _BAR_CLASS = type("ProgressBar", (tqdm,), {"monitor_interval": 0})
    return _BAR_CLASS(**kwargs)
