"""One forecast with its intervals and baseline (:func:`forecast`), chosen by a backtest or named.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from toolkit.forecasting.backtesting import Backtest, backtest
from toolkit.forecasting.checks import FORECAST_WEEKS, prepare
from toolkit.forecasting.models import DEFAULT_CANDIDATES, DEFAULT_MODEL, _canon_model, _finish, _future_index, _run_model
from toolkit.series import SeriesError

__all__ = ["Forecast", "HorizonError", "MAX_HORIZON", "check_horizon", "forecast", "fit_predict"]

#: the longest forecast, in steps (the command line's ``--horizon`` range too)
MAX_HORIZON = 10_000


class HorizonError(SeriesError):
    """A forecast horizon that is not a whole number of steps from 1 to :data:`MAX_HORIZON`."""


def check_horizon(horizon: object) -> int:
    """``horizon`` as an int, or a :class:`HorizonError` naming it and its range.

    Examples
    --------
    >>> check_horizon(48)
    48
    >>> check_horizon(0)
    Traceback (most recent call last):
    ...
    toolkit.forecasting.forecasts.HorizonError: horizon must be >= 1 and at most 10,000 (whole steps), got 0
    """
    ok = isinstance(horizon, (int, np.integer)) and not isinstance(horizon, bool)
    if not ok and isinstance(horizon, (float, np.floating)) and float(horizon).is_integer():
        ok, horizon = True, int(horizon)
    if not ok or not 1 <= int(horizon) <= MAX_HORIZON:
        raise HorizonError(f"horizon must be >= 1 and at most {MAX_HORIZON:,} (whole steps), got {horizon!r}")
    return int(horizon)


@dataclass
class Forecast:
    """A forecast with its intervals, the model used and how it was chosen.

    ``frame``: index ``timestamp``, columns ``yhat, lo80, hi80, lo95, hi95``.
    ``baseline``: the seasonal-naive forecast (always computed). ``backtest``: set when the
    model was chosen by ``model="auto"``.
    """

    series_id: str
    model: str
    spec: str
    frame: pd.DataFrame
    baseline: pd.DataFrame
    history: pd.Series
    season: int
    periods: tuple[int, ...]
    backtest: Backtest | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def long(self) -> pd.DataFrame:
        """``series_id, timestamp, yhat, lo80, hi80, lo95, hi95`` (the CLI's output)."""
        out = self.frame.reset_index()
        out.insert(0, "series_id", self.series_id)
        return out

    def summary_table(self) -> pd.DataFrame:
        """The forecast in long form (:meth:`long`)."""
        return self.long()

    def to_dict(self) -> dict:
        """The model, its settings and notes, and the forecast rows (timestamps as text)."""
        long = self.long()
        return {"series_id": self.series_id, "model": self.model, "spec": self.spec, "season": self.season,
                "periods": list(self.periods), "notes": list(self.notes),
                "forecast": long.assign(timestamp=long["timestamp"].astype(str)).to_dict(orient="records")}



def forecast(
    y: pd.Series,
    horizon: int,
    model: str = DEFAULT_MODEL,
    season: int | None = None,
    *,
    candidates: Sequence[str] = DEFAULT_CANDIDATES,
    backtest_origins: int = 3,
    freq: str | None = None,
    periods: Sequence[int] | None = None,
    nonnegative: bool | None = None,
    series_id: str | None = None,
) -> Forecast:
    """Forecast a series ``horizon`` steps ahead with 80 % and 95 % prediction intervals.

    Parameters
    ----------
    y : Series
        Regular series (see :func:`prepare` for what is accepted and what is rejected).
    horizon : int
        Number of steps to forecast.
    model : str
        One of :data:`MODELS`; default :data:`DEFAULT_MODEL` (``combo``, the most accurate on
        the real hourly benchmark and about ten times faster than ``auto``), or ``'auto'``
        (choose among ``candidates`` by a rolling-origin backtest with ``backtest_origins``
        origins).
    season : int, optional
        Seasonal period; default from the frequency (24 hourly, 7 daily, 12 monthly).
    periods : sequence of int, optional
        Periods for the MSTL models (default: 24 and 168 on hourly data).
    nonnegative : bool, optional
        Counts: reject negative values and clip forecasts at 0 (default from
        ``y.attrs['kind']``).

    Returns
    -------
    Forecast

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> y = pd.Series(np.r_[np.tile([1., 5., 3., 2., 2., 8., 9.], 8)],
    ...               index=pd.date_range("2026-01-05", periods=56, freq="D"))
    >>> fc = forecast(y, 7, model="snaive")
    >>> fc.frame.yhat.tolist()
    [1.0, 5.0, 3.0, 2.0, 2.0, 8.0, 9.0]
    """
    t0 = time.perf_counter()
    h = check_horizon(horizon)
    p = prepare(y, season, freq=freq, nonnegative=nonnegative, periods=periods, weeks=FORECAST_WEEKS)
    chosen = _canon_model(model)
    bt = None
    notes = list(p.notes)
    if chosen == "auto":
        if p.constant:
            chosen = "snaive"
        elif backtest_origins > 0:
            try:
                bt = backtest(y, h, candidates, p.season, n_origins=backtest_origins, freq=p.freq, periods=periods, nonnegative=p.nonnegative)
                chosen = bt.best
            except SeriesError as exc:
                chosen = DEFAULT_MODEL
                notes.append(f"backtest not possible ({exc}); used the default model {DEFAULT_MODEL}")
        else:
            chosen = DEFAULT_MODEL
    fr, info = _run_model(chosen, p, h)
    fr = _finish(fr, p)
    idx = _future_index(p.y, h)
    frame = pd.DataFrame(fr, index=idx)[["yhat", "lo80", "hi80", "lo95", "hi95"]]
    base_fr, _ = _run_model("snaive", p, h)
    baseline = pd.DataFrame(_finish(base_fr, p), index=idx)[["yhat", "lo80", "hi80", "lo95", "hi95"]]
    sid = str(series_id if series_id is not None else (y.name if y.name is not None else "value"))
    return Forecast(sid, chosen, str(info.get("spec", chosen)), frame, baseline, p.y, p.season, p.periods, bt, notes, time.perf_counter() - t0)


def fit_predict(y: pd.Series, horizon: int, model: str = "stl_arima", season: int | None = None, **kwargs) -> pd.DataFrame:
    """Fit one model and forecast: a frame ``yhat, lo80, hi80, lo95, hi95`` on future timestamps.

    A thin wrapper of :func:`forecast` with a named model (no backtest).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> y = pd.Series(np.arange(30.0), index=pd.date_range("2026-01-01", periods=30, freq="D"))
    >>> fit_predict(y, 3, "snaive", season=7).shape
    (3, 5)
    """
    return forecast(y, horizon, model=model, season=season, backtest_origins=0, **kwargs).frame
