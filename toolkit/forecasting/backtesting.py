"""Rolling-origin backtests of the models against seasonal naive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from toolkit.forecasting.checks import FORECAST_WEEKS, Prepared, _periods_for, prepare
from toolkit.forecasting.metrics import mase, smape
from toolkit.forecasting.models import DEFAULT_CANDIDATES, _canon_model, _finish, _run_model
from toolkit.series import SeriesError, regularize, series_label

__all__ = ["Backtest", "backtest"]

@dataclass
class Backtest:
    """Rolling-origin backtest: one row per (model, origin) and a per-model summary.

    ``summary`` columns: model, mase, smape, coverage80, coverage95, width95 (mean width of
    the 95 % interval), n_points, fit_seconds, mase_vs_snaive (ratio; < 1 beats the baseline).
    ``best`` is the model with the lowest mean MASE.
    """

    scores: pd.DataFrame
    summary: pd.DataFrame
    best: str
    horizon: int
    season: int
    origins: list
    errors: dict[str, str] = field(default_factory=dict)

    def summary_table(self) -> pd.DataFrame:
        """The per-model summary (MASE, sMAPE, coverage, ...)."""
        return self.summary

    def to_dict(self) -> dict:
        """The best model, the settings, the per-model summary and any model errors."""
        return {"best": self.best, "horizon": self.horizon, "season": self.season,
                "origins": [str(o) for o in self.origins], "summary": self.summary.to_dict(orient="records"),
                "errors": dict(self.errors)}



def _weighted(values: pd.Series, weights: pd.Series) -> float:
    v, w = values.to_numpy(dtype=float), weights.to_numpy(dtype=float)
    ok = np.isfinite(v) & (w > 0)
    return float(np.average(v[ok], weights=w[ok])) if ok.any() else float("nan")


def _origins(n: int, h: int, n_origins: int, step: int | None, min_train: int) -> list[int]:
    step = step or h
    cands = [n - h - i * step for i in range(n_origins)]
    return sorted(o for o in cands if o >= min_train)


def backtest(
    y: pd.Series,
    horizon: int,
    models: Sequence[str] = DEFAULT_CANDIDATES,
    season: int | None = None,
    *,
    n_origins: int = 3,
    step: int | None = None,
    freq: str | None = None,
    periods: Sequence[int] | None = None,
    nonnegative: bool | None = None,
) -> Backtest:
    """Rolling-origin evaluation: refit each model at each origin and score the next ``horizon``.

    Origins are the last ``n_origins`` windows ``step`` points apart (default ``step =
    horizon``, non-overlapping test windows). At every origin each model is refitted (its order
    selection included) on the data before it. Missing values are interpolated for fitting but
    never scored. Scores: MASE (scaled by the in-sample seasonal
    naive MAE with the seasonal period), sMAPE and the share of held-out points inside the 80 %
    and 95 % intervals.

    Returns
    -------
    Backtest

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(24 * 14)
    >>> y = pd.Series(10 + np.sin(2 * np.pi * t / 24) + np.random.default_rng(1).normal(0, .2, t.size),
    ...               index=pd.date_range("2026-01-01", periods=t.size, freq="h"))
    >>> bt = backtest(y, 24, ["snaive", "stl_ets"], n_origins=2)
    >>> list(bt.summary.model)
    ['snaive', 'stl_ets']
    """
    p = prepare(y, season, freq=freq, nonnegative=nonnegative, periods=periods, weeks=FORECAST_WEEKS)
    models = [_canon_model(m) for m in models]
    if "snaive" not in models:
        models = ["snaive", *models]
    yy = p.y
    n = len(yy)
    m = p.season
    min_train = max(2 * m, 8) if m > 1 else 8
    # MSTL's weekly period needs 2 weeks of training data; keep the origins where it has them
    origins = _origins(n, horizon, n_origins, step, min_train)
    if not origins:
        raise SeriesError(
            f"{series_label(y.name)}: too short to backtest a horizon of {horizon}: {n} points, "
            f"need at least {min_train + horizon}"
        )
    # score only values that were observed: interpolated gaps are not held-out data
    observed = regularize(y, p.freq).reindex(yy.index).to_numpy(dtype=float)
    rows = []
    errors: dict[str, str] = {}
    for o in origins:
        train = yy.iloc[:o]
        test = observed[o : o + horizon]
        pt = Prepared(
            train,
            m,
            _periods_for(m, p.freq, len(train), periods, FORECAST_WEEKS),
            p.freq,
            p.nonnegative,
            bool(np.ptp(train.to_numpy()) == 0),
        )
        for model in models:
            t0 = time.perf_counter()
            try:
                fr, _ = _run_model(model, pt, horizon)
            except SeriesError as exc:
                errors[model] = str(exc)
                continue
            fr = _finish(fr, pt)
            secs = time.perf_counter() - t0
            ok = np.isfinite(test)
            rows.append(
                {
                    "model": model,
                    "origin": yy.index[o],
                    "mase": mase(test, fr["yhat"], train.to_numpy(), m),
                    "smape": smape(test, fr["yhat"]),
                    "coverage80": float(np.mean((test[ok] >= fr["lo80"][ok]) & (test[ok] <= fr["hi80"][ok]))) if ok.any() else np.nan,
                    "coverage95": float(np.mean((test[ok] >= fr["lo95"][ok]) & (test[ok] <= fr["hi95"][ok]))) if ok.any() else np.nan,
                    "width95": float(np.mean(fr["hi95"] - fr["lo95"])),
                    "n_points": int(ok.sum()),
                    "fit_seconds": secs,
                }
            )
    scores = pd.DataFrame(rows)
    if scores.empty:
        raise SeriesError(f"{series_label(y.name)}: no model could be backtested: {errors}")
    g = scores.groupby("model", sort=False)
    summ = pd.DataFrame(
        {
            "mase": g["mase"].mean(),
            "smape": g["smape"].mean(),
            "coverage80": g.apply(lambda d: _weighted(d["coverage80"], d["n_points"]), include_groups=False),
            "coverage95": g.apply(lambda d: _weighted(d["coverage95"], d["n_points"]), include_groups=False),
            "width95": g["width95"].mean(),
            "n_points": g["n_points"].sum(),
            "fit_seconds": g["fit_seconds"].mean(),
        }
    ).reset_index()
    base = summ.loc[summ.model == "snaive", "mase"]
    summ["mase_vs_snaive"] = summ["mase"] / float(base.iloc[0]) if len(base) and base.iloc[0] > 0 else np.nan
    order = {mm: i for i, mm in enumerate(models)}
    summ = summ.sort_values("model", key=lambda s: s.map(order)).reset_index(drop=True)
    valid = summ.dropna(subset=["mase"])
    best = str(valid.loc[valid["mase"].idxmin(), "model"]) if len(valid) else "snaive"
    return Backtest(scores, summ, best, horizon, m, [yy.index[o] for o in origins], errors)
