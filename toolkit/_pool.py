"""Worker-process pools that are safe to start from a process that has threads.

A plain ``fork`` copies a process with all its locks but only the calling thread, so a child can
block forever on a lock another thread held at that instant (pytest-xdist's I/O thread, a
Jupyter kernel's heartbeat and IOPub threads, tqdm's monitor, a client's background sender). The
parent then waits forever for a result. So ``fork`` is used only on Linux and only while this
process runs no other Python thread (a plain script, the command line; the toolkit's own progress
bars start no thread): there it is safe, fast, and needs no ``if __name__ == "__main__":`` guard.
Otherwise workers come from a fresh ``forkserver`` process (``spawn`` where there is none), which
imports ``preload`` once and forks each worker from that clean, single-threaded state. Like any
``forkserver`` or ``spawn`` pool, those workers import the main script again, so a script that has
started threads of its own needs the ``__main__`` guard around its top-level work.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable

__all__ = ["process_pool", "start_method"]


def start_method() -> str:
    """``"fork"`` on Linux while no other Python thread runs, else ``"forkserver"`` (or ``"spawn"``).

    Examples
    --------
    >>> import threading
    >>> stop = threading.Event()
    >>> helper = threading.Thread(target=stop.wait); helper.start()
    >>> start_method() in ("forkserver", "spawn")
    True
    >>> stop.set(); helper.join()
    """
    import multiprocessing as mp
    import sys
    import threading

    methods = mp.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


def process_pool(max_workers: int, *, preload: Iterable[str] = (),
                 initializer: Callable[[], None] | None = None, method: str | None = None) -> ProcessPoolExecutor:
    """A ``ProcessPoolExecutor`` started the safe way for this process (see :func:`start_method`).

    Parameters
    ----------
    max_workers : int
        Number of worker processes.
    preload : iterable of str
        Modules a fork server imports once before forking workers (a hint: it only applies
        when this process starts its fork server, which happens once).
    initializer : callable, optional
        Run once in each worker (must be importable by name, like the tasks).
    method : str, optional
        Force a start method (``"fork"``, ``"forkserver"``, ``"spawn"``); default: automatic.

    Examples
    --------
    >>> import math
    >>> with process_pool(2, preload=["math"], method="forkserver") as ex:
    ...     list(ex.map(math.sqrt, [1.0, 4.0, 9.0]))
    [1.0, 2.0, 3.0]
    """
    import multiprocessing as mp

    method = method or start_method()
    ctx = mp.get_context(method)
    if method == "forkserver" and preload:
        ctx.set_forkserver_preload(list(preload))
    pool = ProcessPoolExecutor(max_workers=max_workers, mp_context=ctx, initializer=initializer)
    if method == "fork":
        # fork every worker now, while the check above still holds: the executor would fork
        # them at the first submit, by which time the caller may have started a thread
        try:
            pool.submit(int).result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return pool
