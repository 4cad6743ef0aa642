"""The ``--engine dask [--scheduler ADDR] [--workers N]`` options shared by the subcommands.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser()
>>> add_engine_arguments(p)
>>> a = p.parse_args(["--engine", "dask", "--workers", "3"])
>>> a.engine, a.scheduler, a.workers, a.memory_limit
('dask', None, 3, '2GB')
"""

from __future__ import annotations

import contextlib

__all__ = ["add_engine_arguments", "engine_session"]


def add_engine_arguments(parser) -> None:
    """Add the engine options to a subcommand's parser."""
    from toolkit.commands._types import int_range, memory_size
    g = parser.add_argument_group("at scale (Dask)")
    g.add_argument("--engine", choices=["pandas", "dask"], default="pandas",
                   help="pandas (default: the log in memory) or dask (PATH is a folder or glob of "
                   "Parquet files, hive partitions too; the work runs on a Dask cluster)")
    g.add_argument("--scheduler", default=None,
                   help="address of a running Dask scheduler (tcp://host:8786); default: a local "
                   "cluster started for this command")
    g.add_argument("--workers", type=int_range("--workers", 1, 256), default=None,
                   help="worker processes of the local cluster (default 2)")
    g.add_argument("--memory-limit", type=memory_size, default="2GB",
                   help="memory limit per local worker (default 2GB)")


@contextlib.contextmanager
def engine_session(args):
    """The Dask client for ``--engine dask`` (None for pandas); an EngineError is a ToolkitError (exit 2)."""
    from toolkit.errors import UsageError

    if getattr(args, "engine", "pandas") != "dask":
        if getattr(args, "scheduler", None) or getattr(args, "workers", None):
            raise UsageError("--scheduler and --workers need --engine dask")
        yield None
        return
    from toolkit.dask_engine.client import dask_client

    with dask_client(args.scheduler, workers=args.workers, memory_limit=args.memory_limit) as client:
        yield client
