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


def _worker_init(parent_pid: int, initializer: Callable[[], None] | None) -> None:
    """In each worker: die with the process that made the pool, then run ``initializer``.

    On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); everywhere a
    daemon thread checks every second that the pool's owner still lives (it catches the case of a
    fork server standing between the two). A killed ``toolkit score`` leaves no worker behind.
    """
    import os
    import sys
    import threading
    import time

    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the thread below suffices
            pass

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pragma: no cover - the pid was reused by another user
                os._exit(1)

    if os.getppid() != parent_pid or not sys.platform.startswith("linux"):
        threading.Thread(target=watch, name="toolkit-parent-watch", daemon=True).start()
    if initializer is not None:
        initializer()


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
    import functools
    import os

    init = functools.partial(_worker_init, os.getpid(), initializer)
    pool = ProcessPoolExecutor(max_workers=max_workers, mp_context=ctx, initializer=init)
    if method == "fork":
        # fork every worker now, while the check above still holds: the executor would fork
        # them at the first submit, by which time the caller may have started a thread
        try:
            pool.submit(int).result()
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return pool
