"""Papermill batches: 2 workers vs 1 on a 6-run batch; thread vs process workers.

The notebook is synthetic but shaped like the analysis notebooks: kernel start, pandas +
matplotlib imports, a small computation, a 300-dpi figure, a sidecar, then the HTML export (and
the PDF export in the full run). Each configuration runs the same 6-run batch into a fresh
folder; timings are medians of repeats, interleaved so that load from other processes on a
shared machine hits every configuration alike.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

PARAMS = '''\
output_dir: str = "."  # where figures/ and sidecar.json are written
seed: int = 0  # random seed of the synthetic data
n: int = 200000  # rows
'''

BODY = '''\
%matplotlib inline
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from toolkit.notebook import save_figure, write_sidecar
rng = np.random.default_rng(seed)
df = pd.DataFrame({"g": rng.integers(0, 50, n), "x": rng.normal(size=n)})
summary = df.groupby("g")["x"].agg(["mean", "std", "count"])
fig, ax = plt.subplots(figsize=(6, 3))
summary["mean"].plot(ax=ax)
save_figure(fig, "means", output_dir)
write_sidecar({"mean": float(df["x"].mean()), "groups": int(len(summary))}, output_dir, notebook="bench")
summary.head()
'''


def _notebook(folder: Path) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    p = nbformat.v4.new_code_cell(PARAMS)
    p.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Batch benchmark"), p, nbformat.v4.new_code_cell(BODY)]
    path = folder / "bench.ipynb"
    nbformat.write(nb, str(path))
    return path


def _batch(nb: Path, out: Path, workers: int, executor: str, pdf: bool) -> float:
    from toolkit.batch import BatchConfig, run_batch

    cfg = BatchConfig.from_dict({"notebooks": [{"notebook": str(nb), "grid": {"seed": list(range(6))}}],
                                 "export": {"pdf": pdf}}, base_dir=nb.parent)
    cpu0 = _cpu()
    start = time.perf_counter()
    res = run_batch(cfg, out=out, workers=workers, executor=executor, progress=False)
    elapsed = time.perf_counter() - start
    CPU.setdefault((workers, executor), []).append(_cpu() - cpu0)
    if res.exit_code:
        raise RuntimeError(f"benchmark batch failed: {res.failed}")
    return elapsed


CPU: dict = {}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (kernels, browsers)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run(quick: bool = False) -> list[dict]:
    from toolkit.export import find_browser

    os.environ.setdefault("MPLBACKEND", "Agg")
    pdf = (not quick) and find_browser() is not None
    repeats = 1 if quick else 3
    configs = [("1 thread worker", 1, "thread"), ("2 thread workers", 2, "thread"),
               ("2 process workers", 2, "process")]
    times: dict[str, list[float]] = {name: [] for name, _, _ in configs}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        nb = _notebook(tmp)
        _batch(nb, tmp / "warmup", 2, "thread", False)  # file caches, first imports
        for r in range(repeats):
            for name, workers, executor in configs:
                times[name].append(_batch(nb, tmp / f"{name}-{r}".replace(" ", "_"), workers, executor, pdf))
    med = {k: statistics.median(v) for k, v in times.items()}
    cpu = {name: statistics.median(CPU[(w, e)][-repeats:]) for name, w, e in configs}
    base = med["1 thread worker"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")  # others' work too
    what = "6 runs: execute + HTML" + (" + PDF" if pdf else "")
    rows = [{"metric": f"batch of {what}, 1 worker", "value": base, "unit": "s",
             "note": f"median of {repeats}; {os.cpu_count()} cores; load avg {load:.1f} at the end"}]
    for name in ("2 thread workers", "2 process workers"):
        # ratio: median over repeats of the speed-up against the 1-worker batch of the same
        # repeat (run just before it), which cancels slow drifts of the machine's load
        paired = statistics.median(a / b for a, b in zip(times["1 thread worker"], times[name]))
        rows.append({"metric": f"batch of {what}, {name}", "value": med[name], "unit": "s",
                     "baseline": base, "ratio": paired,
                     "note": "ratio = speed-up over 1 worker, median of paired repeats "
                             "(target >= 1.6 on an idle 2-core machine)"})
    for name, _, executor in configs:
        if executor == "process":  # forkserver workers are not our children: not measurable here
            continue
        rows.append({"metric": f"CPU time of the batch, {name}", "value": cpu[name], "unit": "s",
                     "note": f"this process + kernels + browsers; {cpu[name] / med[name]:.2f} cores busy "
                             "on average (the rest of the 2 cores went to other processes or idled)"})
    return rows


if __name__ == "__main__":  # pragma: no cover
    for row in run(quick="--quick" in sys.argv):
        print(row)
