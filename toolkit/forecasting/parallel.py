"""Many series at once: :func:`forecast_many` in worker processes with a progress bar.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from toolkit.forecasting.forecasts import check_horizon, forecast
from toolkit.forecasting.models import DEFAULT_MODEL
from toolkit.series import SeriesError

__all__ = ["forecast_many"]

def _worker_init() -> None:  # pragma: no cover - runs in child processes
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:
        pass


def _forecast_task(args: tuple) -> tuple[str, pd.DataFrame | None, dict]:
    sid, y, horizon, model, season, kw = args
    y = y.rename(sid)
    try:
        fc = forecast(y, horizon, model=model, season=season, series_id=sid, **kw)
        summ = {"series_id": sid, "model": fc.model, "spec": fc.spec, "n": len(fc.history), "seconds": fc.seconds, "notes": "; ".join(fc.notes), "error": None}
        if fc.backtest is not None:
            row = fc.backtest.summary.set_index("model")
            summ["backtest_mase"] = float(row.loc[fc.model, "mase"])
            summ["backtest_mase_snaive"] = float(row.loc["snaive", "mase"])
        return sid, fc.long(), summ
    except (SeriesError, ValueError, np.linalg.LinAlgError) as exc:
        return sid, None, {"series_id": sid, "model": None, "spec": None, "n": len(y), "seconds": float("nan"), "notes": "", "error": str(exc)}


def forecast_many(
    series: dict[str, pd.Series] | pd.DataFrame,
    horizon: int,
    model: str = DEFAULT_MODEL,
    season: int | None = None,
    *,
    n_jobs: int | None = None,
    progress: bool = True,
    freq: str | None = None,
    engine: str = "pandas",
    **kwargs,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast many series in parallel processes, with a progress bar.

    Parameters
    ----------
    series : dict of Series, or long DataFrame ``series_id, timestamp, value``
    n_jobs : int, optional
        Worker processes (default: every available core; 1 runs in this process).
    progress : bool
        Show a tqdm progress bar (on stderr).
    engine : {"pandas", "dask"}
        ``"dask"``: one task per series on the current Dask client (a local cluster is started
        for the call when there is none); ``n_jobs`` is then ignored.

    Returns
    -------
    (forecasts, summary)
        ``forecasts``: long frame ``series_id, timestamp, yhat, lo80, hi80, lo95, hi95``;
        ``summary``: one row per series (model, spec, n, seconds, notes, error). A series that
        cannot be forecast gets its error in ``summary`` and no rows, without stopping the rest.

    Raises
    ------
    HorizonError
        ``horizon`` is not a whole number of steps from 1 to 10,000: once, before any series
        is read (not once per series in ``summary``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> idx = pd.date_range("2026-01-01", periods=40, freq="D")
    >>> d = {"a": pd.Series(np.arange(40.0), index=idx), "b": pd.Series(np.ones(40), index=idx)}
    >>> fc, summ = forecast_many(d, 5, "snaive", n_jobs=1, progress=False)
    >>> fc.shape, summ.error.isna().all()
    ((10, 7), np.True_)
    """
    from concurrent.futures import as_completed

    from toolkit._pool import process_pool
    from toolkit._progress import progress_bar
    from toolkit.dask_engine.client import check_engine

    horizon = check_horizon(horizon)
    if isinstance(series, pd.DataFrame):
        raw = {str(k): g for k, g in series.groupby("series_id", sort=True)}
        items = {}
        for sid, g in raw.items():
            items[sid] = pd.Series(g["value"].to_numpy(), index=pd.DatetimeIndex(g["timestamp"]), name=sid)
    else:
        items = {str(k): v for k, v in series.items()}
    # regularize in the workers (errors are per series); pass freq through
    kw = dict(kwargs)
    if freq is not None:
        kw["freq"] = freq
    tasks = [(sid, y, horizon, model, season, kw) for sid, y in items.items()]
    n_jobs = n_jobs or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    results: dict[str, tuple] = {}
    with progress_bar(total=len(tasks), desc="forecast", unit="series", disable=not progress) as bar:
        if check_engine(engine) == "dask":
            _run_on_dask(tasks, results, bar)
        elif n_jobs <= 1 or len(tasks) <= 1:
            for t in tasks:
                sid, fr, summ = _forecast_task(t)
                results[sid] = (fr, summ)
                bar.update(1)
        else:
            with process_pool(n_jobs, preload=["toolkit.forecasting"], initializer=_worker_init) as ex:
                futs = [ex.submit(_forecast_task, t) for t in tasks]
                for fut in as_completed(futs):
                    sid, fr, summ = fut.result()
                    results[sid] = (fr, summ)
                    bar.update(1)
    frames = [results[s][0] for s in items if results[s][0] is not None]
    cols = ["series_id", "timestamp", "yhat", "lo80", "hi80", "lo95", "hi95"]
    fc = pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)
    summary = pd.DataFrame([results[s][1] for s in items])
    return fc, summary


def _run_on_dask(tasks: list, results: dict, bar) -> None:
    """Each series a task on the Dask cluster (results as they finish)."""
    from distributed import as_completed

    from toolkit.dask_engine.client import dask_client

    with dask_client(quiet=True) as client:
        for fut in as_completed(client.map(_forecast_task, tasks, pure=False)):
            sid, fr, summ = fut.result()
            results[sid] = (fr, summ)
            bar.update(1)
