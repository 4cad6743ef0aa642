"""pandas vs Dask on the same partitioned log: wall time, peak memory, equal scores.

:func:`compare_engines` scores one partitioned log twice, each engine in a **fresh Python
process** so that each peak resident memory (``getrusage``) is its own:

- ``pandas``: every Parquet file read into one frame, validated, :func:`score_turns` (its default
  worker processes), written as one Parquet file;
- ``dask``: a ``LocalCluster`` (worker processes with a memory limit), :func:`read_log`,
  ``score_turns(engine="dask")``, written as a folder of Parquet files; the peak of the client
  process (which also hosts the scheduler) and of every worker.

It is what ``benchmarks/bench_dask.py`` and ``notebooks/05_at_scale.ipynb`` report.

"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

__all__ = ["write_sample", "compare_engines", "same_scores", "TURNS_PER_CONVERSATION"]

#: mean conversation length of the generated sample
TURNS_PER_CONVERSATION = 3.02


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory of this process (or of its largest finished child), in MB.

    For this process, Linux's ``VmHWM`` (the peak since the program started): ``getrusage``'s
    ``ru_maxrss`` would also count the memory of the process this one was forked from, which a
    fork-then-exec child inherits as its starting peak.
    """
    if who == resource.RUSAGE_SELF:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        except OSError:
            pass
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports kilobytes


def write_sample(folder: str | os.PathLike, turns: int, seed: int = 1, days: int = 60) -> Path:
    """Write a generated sample of about ``turns`` turns over ``days`` days as hive-partitioned Parquet.

    Uses :func:`toolkit.sample.write_partitioned` (block by block, bounded memory).

    Examples
    --------
    >>> import tempfile
    >>> folder = write_sample(tempfile.mkdtemp() + "/log", turns=900)
    >>> (folder / "turns").is_dir(), (folder / "conversations").is_dir()
    (True, True)
    """
    from toolkit.sample import write_partitioned

    n = max(1, int(turns / TURNS_PER_CONVERSATION))
    return Path(write_partitioned(Path(folder), n, seed=seed, days=days))


def _pandas_run(folder: Path, out: Path, workers: int, memory_limit: str) -> dict:
    from toolkit.log import validate
    from toolkit.quality import score_turns

    start = time.perf_counter()
    turns = pd.read_parquet(folder / "turns").drop(columns="date", errors="ignore")
    convs = pd.read_parquet(folder / "conversations").drop(columns="date", errors="ignore")
    log = validate(turns, convs)
    del turns, convs
    scored = score_turns(log)
    out.mkdir(parents=True, exist_ok=True)
    scored.to_parquet(out / "turns.parquet", index=False)
    return {"engine": "pandas", "seconds": time.perf_counter() - start, "turns": int(len(scored)),
            "peak_rss_mb": _peak_rss_mb(), "peak_rss_worker_mb": _peak_rss_mb(resource.RUSAGE_CHILDREN),
            "workers_rss_mb": []}


def _dask_run(folder: Path, out: Path, workers: int, memory_limit: str) -> dict:
    from toolkit.dask_engine.client import dask_client

    start = time.perf_counter()
    with dask_client(workers=workers, memory_limit=memory_limit, quiet=True) as client:
        row = _dask_on(client, folder, out)
    return {**row, "seconds": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb()}


def _dask_on(client, folder: Path, out: Path) -> dict:
    from toolkit.quality import score_turns
    from toolkit.dask_engine.read import read_log
    from toolkit.dask_engine.score import write_scored

    start = time.perf_counter()
    dlog = read_log(folder)
    summary = write_scored(dlog, score_turns(dlog, engine="dask"), out)
    per_worker = sorted(client.run(_peak_rss_mb).values())
    return {"engine": "dask", "seconds": time.perf_counter() - start, "turns": summary["scored_turns"],
            "partitions": dlog.npartitions, "peak_rss_mb": _peak_rss_mb(),
            "peak_rss_worker_mb": max(per_worker), "workers_rss_mb": per_worker}


def _fresh_process(engine: str, folder: Path, out: Path, workers: int, memory_limit: str) -> dict:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p),
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "toolkit.dask_engine.benchmark", engine, str(folder), str(out), str(workers), memory_limit]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"the {engine} run failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def compare_engines(folder: str | os.PathLike, out: str | os.PathLike, *, workers: int = 2,
                    memory_limit: str = "2GB", client=None) -> pd.DataFrame:
    """Score ``folder`` with each engine in a fresh process; one row per engine.

    With ``client`` (a running ``distributed.Client``) the Dask side runs on it from this process
    instead (no second cluster to start; the workers' peaks then also cover what they did before).

    Columns: ``engine``, ``seconds`` (wall time including the local cluster's start for Dask),
    ``turns``, ``peak_rss_mb`` (the main process; for Dask the client, which hosts the
    scheduler), ``peak_rss_worker_mb`` (the largest worker; for pandas its largest pool child),
    ``workers_rss_mb``, ``partitions``. The scored outputs are in ``out/pandas`` and ``out/dask``
    (replaced on each call).

    Examples
    --------
    >>> table = compare_engines(folder, "cmp", workers=2, memory_limit="1GB")  # doctest: +SKIP
    >>> table[["engine", "seconds", "peak_rss_mb", "peak_rss_worker_mb"]]    # doctest: +SKIP
    """
    folder, out = Path(folder), Path(out)
    for engine in ("pandas", "dask"):  # this function's own outputs of an earlier call
        shutil.rmtree(out / engine, ignore_errors=True)
    rows = [_fresh_process("pandas", folder, out / "pandas", workers, memory_limit)]
    if client is None:
        rows.append(_fresh_process("dask", folder, out / "dask", workers, memory_limit))
    else:
        rows.append(_dask_on(client, folder, out / "dask"))
    return pd.DataFrame(rows)


def same_scores(out: str | os.PathLike) -> bool:
    """Whether the two engines' outputs of :func:`compare_engines` hold exactly the same scores.

    Examples
    --------
    >>> same_scores("cmp")  # after compare_engines(folder, "cmp")  # doctest: +SKIP
    True
    """
    out = Path(out)
    cols = ["conversation_id", "turn", "relevance", "sentiment", "coherence", "length_fit", "quality"]
    a = pd.read_parquet(out / "pandas" / "turns.parquet", columns=cols)
    b = pd.read_parquet(out / "dask" / "turns", columns=cols)
    a, b = (x.sort_values(["conversation_id", "turn"]).reset_index(drop=True) for x in (a, b))
    return bool(a.equals(b))


if __name__ == "__main__":
    engine, folder, out, workers, memory_limit = sys.argv[1:6]
    run = _pandas_run if engine == "pandas" else _dask_run
    print(json.dumps(run(Path(folder), Path(out), int(workers), memory_limit)))
