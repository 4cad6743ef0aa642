"""Run a batch: skip finished runs on resume, execute the rest in threads or processes, log each.

The summary, index and log are written even when the batch is interrupted.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import datetime as _dt
import json
import os
import time
from pathlib import Path

from toolkit.batch.config import BatchConfig, expand_runs, load_config
from toolkit.batch.summary import BATCH_LOG, BatchResult, write_index, write_summary
from toolkit.errors import UsageError
from toolkit.runner.parameters import _canonical
from toolkit.runner.run import execute_run, read_run_record

__all__ = ["run_batch"]


class _Log:
    """Append-only JSON-lines log (one complete line per write, flushed)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: str, **fields) -> None:
        from toolkit._files import to_jsonable

        doc = {"event": event, "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"), **fields}
        line = json.dumps(to_jsonable(doc), ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()


def _finished(spec: dict) -> dict | None:
    rec = read_run_record(spec["out_dir"])
    if not rec or rec.get("status") != "ok":
        return None
    if Path(rec.get("notebook") or "").resolve() != Path(spec["notebook"]).resolve():
        return None
    if _canonical(rec.get("parameters") or {}) != _canonical(spec["parameters"]):
        return None
    # run.json alone is not a finished run: the executed notebook and the sidecar it recorded
    # must still be there (a deleted output is run again)
    files = rec.get("files") or {}
    for key in ("notebook", "sidecar"):
        rel = files.get(key)
        if rel and not (Path(spec["out_dir"]) / rel).is_file():
            return None
    if not files.get("notebook"):
        return None
    return rec


def _thread_env(workers: int) -> dict[str, str]:
    if workers <= 1:
        return {}
    n = str(max(1, (os.cpu_count() or 1) // workers))
    return {k: n for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def run_batch(
    config: str | os.PathLike | BatchConfig,
    *,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    resume: bool = False,
    executor: str | None = None,
    progress: bool = True,
    html: bool | None = None,
    pdf: bool | None = None,
    scheduler: str | None = None,
) -> BatchResult:
    """Run every notebook x parameter set of a batch, in parallel; write summary, index and log.

    Parameters
    ----------
    config : path or BatchConfig
        A YAML config (see the module docstring) or a parsed one.
    out : path, optional
        Output folder; default the config's ``out``, else ``reports/``.
    workers : int, optional
        Parallel runs; default the config's ``workers``, else the number of cores.
    resume : bool
        Skip runs that finished before with the same parameters.
    executor : {"thread", "process", "dask"}, optional
        How workers run papermill; each run's kernel is its own process either way, so the
        workers mostly wait. Threads are the default: on a 6-run batch they were faster than a
        process pool, which pays an interpreter start and the papermill/nbconvert imports per
        worker (``benchmarks/bench_batch.py``). ``"dask"``: each run is a task on a Dask worker,
        which starts the kernel (``scheduler``, or a local cluster of ``workers`` processes); the
        notebooks and the output folder must be on a file system the workers share.
    scheduler : str, optional
        Address of a running Dask scheduler for ``executor="dask"``.
    progress : bool
        Show a tqdm progress bar (on stderr).
    html, pdf : bool, optional
        Override the config's export settings.

    Returns
    -------
    BatchResult

    Raises
    ------
    ParameterError, UsageError
        Invalid config or parameters: raised before anything runs.

    Examples
    --------
    >>> res = run_batch("batches/example.yaml", workers=2, resume=True)  # doctest: +SKIP
    >>> res.exit_code                                                    # doctest: +SKIP
    0
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256):
        # as the CLI's --workers and the config's 'workers': 0 or -1 fell back to the default quietly
        raise UsageError(f"run_batch: workers must be a whole number from 1 to 256 (or None: the config's, "
                         f"else the cores), got {workers!r}")
    cfg = load_config(config) if not isinstance(config, BatchConfig) else config
    if html is not None:
        cfg.html = html
    if pdf is not None:
        cfg.pdf = pdf
    specs = expand_runs(cfg, out)
    out_dir = Path(out).resolve() if out is not None else (cfg.out or Path("reports").resolve())
    out_dir.mkdir(parents=True, exist_ok=True)
    n_workers = workers or cfg.workers or os.cpu_count() or 1
    kind = executor or cfg.executor
    if kind not in ("thread", "process", "dask"):
        raise UsageError(f"executor must be 'thread', 'process' or 'dask', got {kind!r}")
    if scheduler and kind != "dask":
        raise UsageError("a scheduler address needs executor='dask'")

    log = _Log(out_dir / BATCH_LOG)
    t0 = time.perf_counter()
    records, todo = _plan(specs, resume)
    n_workers = max(1, min(n_workers, len(todo) or 1))
    env = _thread_env(n_workers)
    for spec in todo:
        spec["env"] = env
    log.write("batch_start", name=cfg.name, out_dir=str(out_dir), runs=len(specs), todo=len(todo),
              skipped=len(specs) - len(todo), workers=n_workers, executor=kind, resume=resume)
    for name, rec in records.items():
        log.write("run", name=name, notebook=rec.get("notebook"), status="skipped",
                  previous_status=rec.get("status"), parameters=rec.get("parameters"),
                  started=rec.get("started"), ended=rec.get("ended"), duration_s=rec.get("duration_s"))

    executed: list[str] = []
    try:
        _execute(todo, n_workers, kind, progress, log, records, executed, scheduler)
    finally:
        ordered = [records.get(s["name"]) or {
            "name": s["name"], "notebook": s["notebook"], "out_dir": s["out_dir"],
            "parameters": s["parameters"], "status": "missing"} for s in specs]
        result = BatchResult(out_dir=out_dir, records=ordered, executed=executed,
                             duration_s=round(time.perf_counter() - t0, 3))
        result.summary_csv, result.summary_parquet = write_summary(ordered, out_dir)
        result.index_html = write_index(ordered, out_dir, title=f"Batch report: {cfg.name}")
        result.log = log.path
        log.write("batch_end", duration_s=result.duration_s, **result.counts,
                  missing=sum(r.get("status") == "missing" for r in ordered))
    return result


def _plan(specs: list[dict], resume: bool) -> tuple[dict[str, dict], list[dict]]:
    """The records of runs kept by ``resume`` (by name) and the runs to execute, longest first.

    Longest by the previous attempt's duration, when there is one: a shorter batch when the long
    runs would otherwise start last; summary and index keep the config order.
    """
    records: dict[str, dict] = {}
    todo = []
    for spec in specs:
        done = _finished(spec) if resume else None
        if done is not None:
            records[spec["name"]] = {**done, "resumed": True}
        else:
            todo.append(spec)
    previous = {s["name"]: (read_run_record(s["out_dir"]) or {}).get("duration_s") or 0.0 for s in todo}
    todo.sort(key=lambda s: -previous[s["name"]])
    return records, todo


def _execute(todo, n_workers, kind, progress, log, records, executed, scheduler=None) -> None:
    """Execute the runs in a thread, process or Dask pool; log and record each as it finishes."""
    from toolkit._progress import progress_bar

    if not todo:
        return
    cluster = contextlib.ExitStack()
    if kind == "dask":
        from toolkit.dask_engine.client import EngineError, dask_client

        try:
            client = cluster.enter_context(dask_client(scheduler, workers=n_workers))
        except EngineError as exc:
            raise UsageError(str(exc)) from None
        pool = client.get_executor(pure=False)  # concurrent.futures API: one task per run
    elif kind == "process":
        from toolkit._pool import process_pool

        pool = process_pool(n_workers, preload=["toolkit.runner", "toolkit.export", "papermill"])
    else:
        pool = cf.ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="batch")
    failed = 0
    bar = progress_bar(total=len(todo), desc="batch", unit="run", disable=not progress, dynamic_ncols=True)
    try:
        futures = {pool.submit(execute_run, spec): spec for spec in todo}
        for fut in cf.as_completed(futures):
            spec = futures[fut]
            try:
                rec = fut.result()
            except Exception as exc:  # the worker itself broke (not the notebook)
                rec = {"name": spec["name"], "notebook": spec["notebook"], "out_dir": spec["out_dir"],
                       "parameters": spec["parameters"], "status": "failed",
                       "error": {"stage": "worker", "ename": type(exc).__name__, "evalue": str(exc),
                                 "cell_index": None, "exec_count": None}}
            rec["resumed"] = False
            records[spec["name"]] = rec
            executed.append(spec["name"])
            if rec.get("status") != "ok":
                failed += 1
            log.write("run", name=rec["name"], notebook=rec.get("notebook"), status=rec.get("status"),
                      started=rec.get("started"), ended=rec.get("ended"), duration_s=rec.get("duration_s"),
                      parameters=rec.get("parameters"), error=rec.get("error"),
                      pdf_kind=rec.get("pdf_kind"), warnings=rec.get("warnings"))
            bar.set_postfix(failed=failed, refresh=False)
            bar.update(1)
    except BaseException:
        if kind == "dask":
            pool.shutdown(wait=False)
        else:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        bar.close()
        pool.shutdown(wait=True)
        cluster.close()
