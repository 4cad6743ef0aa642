"""pandas vs Dask engine on 1M and 3M turns: scoring a partitioned log, wall time and peak RSS.

For each size a partitioned sample is written, then :func:`toolkit.dask_engine.benchmark.compare_engines`
scores it with each engine in a fresh process (pandas: the whole log in one process with its
default two pool workers; Dask: a LocalCluster of 2 worker processes x 2 GB). Peak RSS is
``getrusage`` of each process: the pandas process and its largest child, the Dask client (which
hosts the scheduler) and every worker. The Dask engine's peak per worker is set by the partition
size (100,000 turns by default), not by the log: it should stay about flat from 1M to 3M turns
while the pandas process grows with the log.

    python benchmarks/run.py dask            # 1M and 3M turns (several minutes)
    python benchmarks/run.py dask --quick    # 100k and 300k turns
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def run(quick: bool = False) -> list[dict]:
    from toolkit.dask_engine.benchmark import compare_engines, same_scores, write_sample

    sizes = (100_000, 300_000) if quick else (1_000_000, 3_000_000)
    rows: list[dict] = []
    for size in sizes:
        label = f"{size / 1e6:g}M turns"
        with tempfile.TemporaryDirectory(prefix="bench_dask_") as tmp:
            start = time.perf_counter()
            folder = write_sample(Path(tmp) / "log", size)
            rows.append({"metric": f"write partitioned sample, {label}", "value": time.perf_counter() - start,
                         "unit": "s"})
            res = compare_engines(folder, Path(tmp) / "out", workers=2, memory_limit="2GB").set_index("engine")
            p, d = res.loc["pandas"], res.loc["dask"]
            equal = same_scores(Path(tmp) / "out")
        rows += [
            {"metric": f"score, wall time, {label}", "value": d["seconds"], "unit": "s", "baseline": p["seconds"],
             "ratio": d["seconds"] / p["seconds"],
             "note": f"dask (baseline pandas); {int(d['turns']):,} turns, {int(d['partitions'])} partitions; "
                     f"scores equal: {equal}"},
            {"metric": f"peak RSS pandas process, {label}", "value": p["peak_rss_mb"], "unit": "MB",
             "note": f"largest pool child {p['peak_rss_worker_mb']:.0f} MB"},
            {"metric": f"peak RSS dask worker (max), {label}", "value": d["peak_rss_worker_mb"], "unit": "MB",
             "baseline": p["peak_rss_mb"], "ratio": d["peak_rss_worker_mb"] / p["peak_rss_mb"],
             "note": "workers " + ", ".join(f"{x:.0f}" for x in d["workers_rss_mb"]) + " MB (2 GB limit each)"},
            {"metric": f"peak RSS dask client + scheduler, {label}", "value": d["peak_rss_mb"], "unit": "MB"},
        ]
    return rows
