"""Trend tests: Mann-Kendall (with autocorrelation corrections) and the Theil-Sen slope with its CI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.forecasting.checks import prepare
from toolkit.forecasting.decomposition import decompose
from toolkit.series import SeriesError

__all__ = ["TrendResult", "mann_kendall", "trend_test"]

@dataclass
class TrendResult:
    """Mann-Kendall trend test and Theil-Sen slope (per ``unit``), with its CI.

    ``p_value`` uses the AR(1) Hamed-Rao variance correction for autocorrelation (see
    :func:`mann_kendall`); the slope CI uses the same variance (Sen 1968).
    ``relative_slope`` is the slope divided by the series mean (e.g. 0.01 = +1 % per unit).
    """

    slope: float
    ci_low: float
    ci_high: float
    unit: str
    tau: float
    s: float
    z: float
    p_value: float
    n: int
    direction: str
    relative_slope: float
    intercept: float
    method: str
    alpha: float
    relative_ci_low: float = float("nan")
    relative_ci_high: float = float("nan")

    def to_dict(self) -> dict:
        """Every field as a plain dict."""
        from dataclasses import asdict

        return asdict(self)

    def summary_table(self) -> pd.DataFrame:
        """:meth:`to_dict` as a one-row table."""
        return pd.DataFrame([self.to_dict()])



def mann_kendall(x: np.ndarray, *, autocorrelation: bool | str = False) -> dict[str, float]:
    """Mann-Kendall S, its variance (ties corrected), z (continuity corrected), p and tau (tau-a).

    ``autocorrelation`` inflates Var(S) by the Hamed-Rao (1998) factor
    ``1 + 2 / (n(n-1)(n-2)) * sum_k (n-k)(n-k-1)(n-k-2) rho_k`` of the ranks of the
    Sen-detrended series:

    * ``'ar1'`` (or ``True``): with ``rho_k = rho^k`` from the lag-1 autocorrelation, corrected
      for its small-sample bias (Marriott-Pope: ``rho + (1 + 3 rho) / n``). In simulations of
      AR(1) noise (n = 60, phi = 0.6) it rejects about 7 % at alpha = 5 %;
    * ``'hamed-rao'``: the significant sample autocorrelations themselves (the original; about
      19 % in the same simulation, as short series underestimate rho).

    Examples
    --------
    >>> r = mann_kendall(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    >>> r["s"], round(r["tau"], 3), round(r["p"], 4)
    (10.0, 1.0, 0.0275)
    """
    from scipy import stats

    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 3:
        raise SeriesError(f"Mann-Kendall needs at least 3 points, got {n}")
    diff = np.sign(x[None, :] - x[:, None])
    s = float(np.triu(diff, 1).sum())
    _, counts = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - np.sum(counts * (counts - 1) * (2 * counts + 5))) / 18.0
    factor = 1.0
    mode = "ar1" if autocorrelation is True else autocorrelation
    if mode and n > 10:
        if mode not in ("ar1", "hamed-rao"):
            raise SeriesError(f"autocorrelation must be False, True, 'ar1' or 'hamed-rao', got {autocorrelation!r}")
        i = np.arange(n)
        sen = _sen_slope(i.astype(float), x)
        ranks = stats.rankdata(x - sen * i)
        r = ranks - ranks.mean()
        ks = np.arange(1, n - 2)
        weights = (n - ks) * (n - ks - 1) * (n - ks - 2)
        if mode == "ar1":
            rho = float(np.dot(r[1:], r[:-1]) / np.dot(r, r))
            rho = min(0.95, rho + (1 + 3 * rho) / n)
            acf = rho ** ks if rho > 0 else np.zeros(len(ks))
        else:
            full = np.correlate(r, r, mode="full")[n - 1 :] / np.dot(r, r)
            acf = full[1 : n - 2]
            acf = np.where(np.abs(acf) > stats.norm.ppf(0.975) / math.sqrt(n), acf, 0.0)
        factor = max(1.0, 1 + 2 / (n * (n - 1) * (n - 2)) * float(np.sum(weights * acf)))
    var = var * factor
    if var <= 0:
        z = 0.0
    else:
        z = (s - np.sign(s)) / math.sqrt(var)
    p = float(2 * stats.norm.sf(abs(z)))
    tau = s / (n * (n - 1) / 2)
    return {"s": s, "var_s": float(var), "z": float(z), "p": p, "tau": float(tau), "n": n, "variance_factor": float(factor)}


def _sen_slope(t: np.ndarray, x: np.ndarray) -> float:
    i, j = np.triu_indices(len(x), 1)
    dt = t[j] - t[i]
    ok = dt != 0
    return float(np.median((x[j] - x[i])[ok] / dt[ok]))


def trend_test(
    y: pd.Series,
    season: int | None = None,
    *,
    alpha: float = 0.05,
    unit: str = "D",
    aggregate: str | None = "auto",
    autocorrelation: bool | str = True,
    deseasonalize: bool = True,
) -> TrendResult:
    """Is there a monotonic trend? Mann-Kendall test with the Theil-Sen slope and its CI.

    The series is first seasonally adjusted (STL/MSTL) when it has a season, then (by default,
    for sub-daily data) averaged per day, which removes the daily cycle's autocorrelation and
    keeps the O(n^2) pair count small. Remaining autocorrelation inflates the variance of the
    Mann-Kendall statistic (``autocorrelation``, see :func:`mann_kendall`), and so widens the
    Sen (1968) confidence interval of the slope.

    Parameters
    ----------
    y : Series
    season : int, optional
        Seasonal period (default from the frequency).
    alpha : float
        1 - confidence of the slope interval.
    unit : str
        Time unit of the slope (``'D'``: per day). Monthly, quarterly and yearly series give
        the slope per step (``unit`` is then their frequency, e.g. ``'MS'``).
    aggregate : str or None
        ``'auto'`` (daily means for sub-daily data), a pandas frequency, or ``None``.

    Returns
    -------
    TrendResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> y = pd.Series(np.arange(60.0) * 0.5 + np.random.default_rng(0).normal(0, 1, 60),
    ...               index=pd.date_range("2026-01-01", periods=60, freq="D"))
    >>> r = trend_test(y, season=1)
    >>> r.direction, 0.4 < r.slope < 0.6, r.ci_low < 0.5 < r.ci_high
    ('increasing', True, True)
    """
    from scipy import stats

    p = prepare(y, season, nonnegative=False)
    x = p.y
    notes = []
    if deseasonalize and p.periods:
        dec = decompose(x, p.periods)
        x = dec.adjusted
        notes.append(f"{dec.method}-adjusted")
    freq_off = pd.tseries.frequencies.to_offset(p.freq)
    step = pd.Timedelta(freq_off) if not isinstance(freq_off, (pd.offsets.MonthBegin, pd.offsets.MonthEnd)) else None
    if aggregate == "auto":
        aggregate = "D" if step is not None and step < pd.Timedelta("1D") else None
    if aggregate:
        x = x.resample(aggregate).mean().dropna()
        notes.append(f"{aggregate} means")
    n = len(x)
    mk = mann_kendall(x.to_numpy(), autocorrelation=autocorrelation)
    # time in `unit`s
    if step is not None or aggregate:
        t = np.asarray((x.index - x.index[0]) / pd.Timedelta(1, unit=unit), float)
    else:  # months, quarters, years: calendar steps, not fixed durations
        t = np.arange(n, dtype=float)
        unit = p.freq
    vals = x.to_numpy(dtype=float)
    i, j = np.triu_indices(n, 1)
    sl = (vals[j] - vals[i]) / (t[j] - t[i])
    sl.sort()
    slope = float(np.median(sl))
    zc = stats.norm.ppf(1 - alpha / 2)
    c = zc * math.sqrt(mk["var_s"])
    N = len(sl)
    lo_i = int(np.clip(np.floor((N - c) / 2.0), 0, N - 1))
    hi_i = int(np.clip(np.ceil((N + c) / 2.0), 0, N - 1))
    intercept = float(np.median(vals - slope * t))
    mean = float(np.mean(vals))
    direction = "no trend"
    if mk["p"] < alpha:
        direction = "increasing" if mk["s"] > 0 else "decreasing"
    method = "Mann-Kendall" + (f" ({'AR(1)' if autocorrelation in (True, 'ar1') else 'Hamed-Rao'} variance correction)" if autocorrelation else "") + " + Theil-Sen"
    if notes:
        method += " on " + ", ".join(notes) + " series"
    return TrendResult(
        slope=slope,
        ci_low=float(sl[lo_i]),
        ci_high=float(sl[hi_i]),
        unit=unit,
        tau=mk["tau"],
        s=mk["s"],
        z=mk["z"],
        p_value=mk["p"],
        n=n,
        direction=direction,
        relative_slope=slope / mean if mean else float("nan"),
        intercept=intercept,
        method=method,
        alpha=alpha,
        relative_ci_low=float(sl[lo_i]) / mean if mean else float("nan"),
        relative_ci_high=float(sl[hi_i]) / mean if mean else float("nan"),
    )
