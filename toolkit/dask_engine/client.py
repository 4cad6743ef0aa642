"""The engine switch and the Dask client a run works on.

``engine="pandas"`` (the default everywhere) keeps today's in-memory code; ``engine="dask"`` runs
the heavy part on a Dask cluster. :func:`dask_client` gives the client for a run:

- a ``distributed.Client`` passed in, or one that is already the default in this process, is
  used as it is (and left open);
- ``scheduler="tcp://host:8786"`` connects to a running scheduler (a short connect timeout: an
  unreachable address fails fast with one clear :class:`EngineError`);
- otherwise a ``LocalCluster`` of worker **processes** with a memory limit each is started and
  closed after the run.

The dashboard link is printed when a cluster is started or joined (``quiet=True`` stays silent).

Examples
--------
>>> check_engine("dask"), check_engine(None)
('dask', 'pandas')
>>> check_engine("spark")
Traceback (most recent call last):
...
toolkit.dask_engine.client.EngineError: engine must be 'pandas' or 'dask', not 'spark'
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import Any, Iterator
from toolkit.errors import ToolkitError

__all__ = ["ENGINES", "EngineError", "check_engine", "dask_client", "require_dask", "compute",
           "DEFAULT_MEMORY_LIMIT"]

ENGINES = ("pandas", "dask")
#: memory limit per LocalCluster worker (the workers spill to disk, then pause, before it)
DEFAULT_MEMORY_LIMIT = "2GB"
_INSTALL = "the Dask engine needs dask[dataframe] and distributed: pip install 'chatbot-toolkit[dask]'"


class EngineError(ToolkitError):
    """The engine cannot run: unknown engine, Dask missing, a scheduler that does not answer."""


def check_engine(engine: str | None) -> str:
    """Normalise an ``engine=`` argument (``None`` means ``"pandas"``); refuse unknown ones.

    Examples
    --------
    >>> check_engine(" Dask ")
    'dask'
    """
    name = "pandas" if engine is None else str(engine).strip().lower()
    if name not in ENGINES:
        raise EngineError(f"engine must be 'pandas' or 'dask', not {engine!r}")
    return name


def require_dask() -> None:
    """Import dask.dataframe and distributed, or raise :class:`EngineError` saying how to install.

    Examples
    --------
    >>> require_dask() is None   # installed: nothing to say
    True
    """
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise EngineError(f"{_INSTALL} (import failed: {exc})") from None


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, file=sys.stderr, flush=True)


def _connect(address: str, timeout: float):
    from distributed import Client

    try:
        return Client(address, timeout=timeout, set_as_default=True)
    except (OSError, TimeoutError) as exc:
        raise EngineError(
            f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s ({exc}); start one "
            "with `dask scheduler` (and workers with `dask worker ADDRESS`), or leave out --scheduler "
            "to run on a local cluster"
        ) from None
    except ValueError as exc:  # a malformed address
        raise EngineError(f"scheduler address {address!r} is not valid: {exc}") from None


@contextlib.contextmanager
def dask_client(
    scheduler: Any = None,
    *,
    workers: int | None = None,
    memory_limit: str | int | None = DEFAULT_MEMORY_LIMIT,
    threads_per_worker: int = 1,
    connect_timeout: float = 5.0,
    quiet: bool = False,
) -> Iterator[Any]:
    """A ``distributed.Client`` for one run; a cluster started here is closed on exit.

    Parameters
    ----------
    scheduler : str or distributed.Client, optional
        A scheduler address (``tcp://host:8786``) to connect to, or a client to use. Default:
        the process's current default client if there is one, else a new ``LocalCluster``.
    workers : int, optional
        Worker processes of the local cluster (default 2). Ignored with a scheduler.
    memory_limit : str or int, optional
        Memory limit per local worker (``"2GB"``); workers spill to disk near it.
    threads_per_worker : int
        Threads per local worker (1: the toolkit's work holds the GIL).
    connect_timeout : float
        Seconds to wait for a scheduler before failing.
    quiet : bool
        Do not print the cluster and its dashboard link (on stderr).

    Yields
    ------
    distributed.Client

    Raises
    ------
    EngineError
        Dask is not installed, or the scheduler does not answer within ``connect_timeout``.

    Examples
    --------
    >>> with dask_client(workers=1, memory_limit="1GB", quiet=True) as client:  # doctest: +SKIP
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    require_dask()
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler:
        client = _connect(str(scheduler), connect_timeout)
        n = len(client.scheduler_info().get("workers", {}))
        _say(quiet, f"dask: connected to {client.scheduler.address} ({n} workers); dashboard {client.dashboard_link}")
        try:
            yield client
        finally:
            client.close()
        return
    existing = _current_client()
    if existing is not None:
        yield existing
        return
    n_workers = 2 if workers is None else int(workers)
    if n_workers < 1:
        raise EngineError(f"workers must be >= 1, got {workers}")
    cluster = LocalCluster(
        n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
        memory_limit=memory_limit, dashboard_address="127.0.0.1:0", host="127.0.0.1",
        silence_logs=logging.CRITICAL,  # a failed task comes back to the client as one error; no worker dump
    )
    try:
        client = Client(cluster, set_as_default=True)
        _say(quiet, f"dask: local cluster of {n_workers} worker processes x {memory_limit or 'no'} memory "
                    f"limit; dashboard {client.dashboard_link}")
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _current_client():
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        return None
    return client if client.status == "running" else None


def compute(*collections: Any, label: str = "dask", progress: bool = True) -> tuple:
    """``dask.compute(*collections)`` with a progress bar over every task of the graph.

    On a ``distributed`` client the graph is submitted and a bar (``tqdm``: text on **stderr**,
    so ``--json`` on stdout stays clean; a widget in Jupyter) counts its finished tasks until the
    results are gathered. Without a client (``scheduler="sync"``, threads) it is plain
    ``dask.compute``.

    Examples
    --------
    >>> import dask
    >>> compute(dask.delayed(sum)([1, 2]), label="sum")   # no distributed client: no bar
    (3,)
    """
    import dask

    client = _current_client() if progress else None
    if client is None:
        return dask.compute(*collections)
    futures = client.compute(list(collections))
    _bar_until_done(futures, label)
    return tuple(client.gather(futures))


def _bar_until_done(futures: list, label: str) -> None:
    """Block until ``futures`` are done, drawing a tqdm bar of their graph's finished tasks."""
    from distributed.diagnostics.progressbar import TextProgressBar

    from toolkit._progress import progress_bar

    class _Bar(TextProgressBar):
        bar = None

        def _draw_bar(self, remaining, all, **kwargs):
            if self.bar is None:
                self.bar = progress_bar(total=all, desc=label, unit="task", file=sys.stderr, leave=False,
                                        dynamic_ncols=True, mininterval=0.5)
            self.bar.total = all
            done = all - remaining
            if done > self.bar.n:  # update() redraws at most every mininterval (a log stays short)
                self.bar.update(done - self.bar.n)

        def _draw_stop(self, **kwargs):
            if self.bar is not None:
                self.bar.close()

    _Bar(futures, interval="100ms")
    # the scheduler's feed of the bar notices the closed connection at its next tick; a cluster
    # closed before that logs a cancelled feed as an error
    time.sleep(0.2)
