"""Worker-process pools that are safe to start from a process that has threads.

A plain ``fork`` copies a process with all its locks but only the calling thread, so a child can
block forever on a lock another thread held at that instant (pytest-xdist's I/O thread, a
Jupyter kernel's heartbeat and IOPub threads, tqdm's monitor, a client's background sender). The
parent then waits forever for a result. Pools here start their workers from a fresh
``forkserver`` process instead (``spawn`` where there is none), so that cannot happen; the
server imports ``preload`` once and forks each worker from that clean, single-threaded state.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable

__all__ = ["process_pool"]


def process_pool(max_workers: int, *, preload: Iterable[str] = (),
                 initializer: Callable[[], None] | None = None) -> ProcessPoolExecutor:
    """A ``ProcessPoolExecutor`` whose workers come from ``forkserver`` (or ``spawn``).

    Parameters
    ----------
    max_workers : int
        Number of worker processes.
    preload : iterable of str
        Modules the fork server imports once before forking workers (a hint: it only applies
        when this process starts its fork server, which happens once).
    initializer : callable, optional
        Run once in each worker (must be importable by name, like the tasks).

    Examples
    --------
    >>> import math
    >>> with process_pool(2, preload=["math"]) as ex:
    ...     list(ex.map(math.sqrt, [1.0, 4.0, 9.0]))
    [1.0, 2.0, 3.0]
    """
    import multiprocessing as mp

    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver" and preload:
        ctx.set_forkserver_preload(list(preload))
    return ProcessPoolExecutor(max_workers=max_workers, mp_context=ctx, initializer=initializer)
