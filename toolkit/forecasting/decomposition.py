"""STL / MSTL decomposition of a series into trend, seasonal components and remainder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from toolkit.forecasting._common import _quiet
from toolkit.forecasting.checks import prepare

__all__ = ["Decomposition", "decompose"]

@dataclass
class Decomposition:
    """Trend + seasonal components + remainder of a series (STL or MSTL).

    ``seasonal`` has one column per period (``seasonal_24``, ``seasonal_168``, ...);
    ``strength`` holds the trend and seasonal strengths (0..1, Wang-Smith-Hyndman 2006).
    """

    observed: pd.Series
    trend: pd.Series
    seasonal: pd.DataFrame
    resid: pd.Series
    periods: tuple[int, ...]
    method: str
    robust: bool
    strength: dict[str, float]

    @property
    def adjusted(self) -> pd.Series:
        """The seasonally adjusted series (observed minus every seasonal component)."""
        return self.observed - self.seasonal.sum(axis=1)

    def frame(self) -> pd.DataFrame:
        """All components side by side."""
        return pd.concat([self.observed.rename("observed"), self.trend.rename("trend"), self.seasonal, self.resid.rename("resid")], axis=1)

    def summary_table(self) -> pd.DataFrame:
        """All components side by side (:meth:`frame`)."""
        return self.frame()

    def to_dict(self) -> dict:
        """The method, periods and the strength of each component (no series)."""
        return {"method": self.method, "periods": list(self.periods), "robust": self.robust,
                "strength": dict(self.strength)}



def _strength(part: np.ndarray, resid: np.ndarray) -> float:
    v = np.var(part + resid)
    return float(max(0.0, 1.0 - np.var(resid) / v)) if v > 0 else 0.0


def decompose(
    y: pd.Series,
    periods: int | Sequence[int] | None = None,
    *,
    robust: bool = False,
    trend_window: int | None = None,
    seasonal_window: int | None = None,
    robust_iter: int | None = None,
    freq: str | None = None,
) -> Decomposition:
    """STL (one period) or MSTL (several, e.g. daily and weekly on hourly data) decomposition.

    Parameters
    ----------
    y : Series
        Regular series (missing values are interpolated, see :func:`prepare`).
    periods : int or sequence of int, optional
        Seasonal periods; default from the frequency (hourly: 24 and 168 when three weeks are
        there, daily: 7). Periods with fewer than two cycles in the data are dropped.
    robust : bool
        Robust (outlier-resistant) fitting, as used for anomaly detection.
    trend_window : int, optional
        Length of the trend smoother (odd); longer keeps level shifts out of the trend.
    seasonal_window : int, optional
        Length of the seasonal smoother in cycles (odd, statsmodels default 7); longer makes
        the seasonal pattern steadier (a robust fit with 7 over-fits and underestimates the
        noise).
    robust_iter : int, optional
        Outer (robustness) iterations of a robust fit (statsmodels default 15; 3 is several
        times faster and nearly as resistant).

    Returns
    -------
    Decomposition

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(24 * 28)
    >>> y = pd.Series(5 + np.sin(2 * np.pi * t / 24) + 0.5 * np.sin(2 * np.pi * t / 168),
    ...               index=pd.date_range("2026-01-01", periods=t.size, freq="h"))
    >>> d = decompose(y)
    >>> d.periods, round(d.strength["seasonal_24"], 2) > 0.9
    ((24, 168), True)
    """
    from statsmodels.tsa.seasonal import MSTL, STL

    if isinstance(periods, (int, np.integer)):
        periods = (int(periods),)
    season = min(periods) if periods else None
    p = prepare(y, season if season is not None else None, freq=freq, periods=periods, nonnegative=False)
    yy = p.y
    n = len(yy)
    ps = p.periods
    if len(ps) > 1:  # statsmodels' MSTL drops the periods of n / 2 or more: say so up front
        ps = tuple(q for q in ps if q < n / 2) or ps[:1]
    with _quiet():
        if not ps:
            from statsmodels.nonparametric.smoothers_lowess import lowess

            frac = min(1.0, (trend_window or max(7, n // 10)) / n)
            tr = lowess(yy.to_numpy(), np.arange(n), frac=frac, it=3 if robust else 0, return_sorted=False)
            trend = pd.Series(tr, index=yy.index)
            seasonal = pd.DataFrame(index=yy.index)
            method = "LOWESS"
        else:
            # LOESS evaluated every ~10 % of each window and interpolated (R's stl defaults);
            # statsmodels evaluates at every point, several times slower for the same result
            sw = int(seasonal_window) | 1 if seasonal_window else 7
            pmin = min(ps)
            tw = int(trend_window) | 1 if trend_window else int(math.ceil(1.5 * pmin / (1 - 1.5 / sw))) | 1
            kw: dict[str, Any] = {
                "robust": robust,
                "seasonal_jump": int(math.ceil(sw / 10)),
                "trend_jump": int(math.ceil(tw / 10)),
                "low_pass_jump": int(math.ceil((pmin + 1) / 10)),
            }
            if trend_window:
                kw["trend"] = int(trend_window) | 1
            if len(ps) == 1:
                if seasonal_window:
                    kw["seasonal"] = sw
                res = STL(yy, period=ps[0], **kw).fit(outer_iter=robust_iter if robust else None)
                trend = pd.Series(np.asarray(res.trend), index=yy.index)
                seasonal = pd.DataFrame({f"seasonal_{ps[0]}": np.asarray(res.seasonal)}, index=yy.index)
                method = "STL"
            else:
                if robust and robust_iter:
                    kw["outer_iter"] = int(robust_iter)
                windows = [sw] * len(ps) if seasonal_window else None
                res = MSTL(yy, periods=ps, windows=windows, stl_kwargs=kw).fit()
                trend = pd.Series(np.asarray(res.trend), index=yy.index)
                sea = np.asarray(res.seasonal).reshape(n, -1)
                seasonal = pd.DataFrame({f"seasonal_{q}": sea[:, i] for i, q in enumerate(ps)}, index=yy.index)
                method = "MSTL"
    resid = yy - trend - seasonal.sum(axis=1)
    strength = {"trend": _strength(trend.to_numpy(), resid.to_numpy())}
    for c in seasonal.columns:
        strength[c] = _strength(seasonal[c].to_numpy(), resid.to_numpy())
    return Decomposition(yy, trend, seasonal, resid, ps, method, robust, strength)
