"""Forecasting, decomposition, trend tests and anomaly flags for metric series.

Everything takes a regular ``pandas.Series`` (see :mod:`toolkit.series`) and returns frames and
dataclasses; figures are returned as matplotlib ``Figure`` objects.

Models (all give a point forecast ``yhat`` and 80 % / 95 % prediction intervals):

``snaive``
    Seasonal naive: the value one season earlier. Always reported as the baseline.
``ets``
    Additive-error exponential smoothing (statsmodels ``ETSModel``), seasonal when the season
    fits, with no trend or a damped trend chosen by AICc.
``arima``
    SARIMA(p,d,q)(0,D,Q)m chosen by AIC over a small grid; D from the seasonal strength, d from
    a KPSS test. Fitted on the differenced series (conditional likelihood, fast) and integrated
    back with the psi-weights of the full model for the interval widths.
``stl_arima`` / ``stl_ets``
    MSTL (or STL) decomposition; each seasonal component is forecast by repeating its last
    cycle, the seasonally adjusted series by a non-seasonal ARIMA (small grid) or ETS.
``combo``
    The mean of the members' forecasts (default ``stl_arima``, ``stl_ets`` and ``arima``);
    intervals average the members' quantiles.
``auto``
    The candidate with the lowest mean MASE in a rolling-origin backtest on the series itself.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.forecasting import forecast
>>> t = np.arange(24 * 21)
>>> y = pd.Series(10 + 3 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, 0.5, t.size),
...               index=pd.date_range("2026-01-01", periods=t.size, freq="h", tz="UTC"))
>>> fc = forecast(y, horizon=24, model="stl_arima")
>>> list(fc.frame.columns)
['yhat', 'lo80', 'hi80', 'lo95', 'hi95']
>>> bool((fc.frame.lo95 <= fc.frame.lo80).all() and (fc.frame.hi80 <= fc.frame.hi95).all())
True
"""

from __future__ import annotations

import math
import os
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from toolkit.series import SeriesError, default_season, regularize, series_label

__all__ = [
    "MODELS",
    "DEFAULT_CANDIDATES",
    "DEFAULT_MODEL",
    "LEVELS",
    "Forecast",
    "Backtest",
    "Decomposition",
    "TrendResult",
    "Anomalies",
    "prepare",
    "decompose",
    "forecast",
    "fit_predict",
    "backtest",
    "forecast_many",
    "trend_test",
    "mann_kendall",
    "detect_anomalies",
    "change_points",
    "windows_overlap",
    "mase",
    "smape",
    "plot_forecast",
    "plot_decomposition",
    "plot_anomalies",
    "plot_backtest",
]

#: prediction-interval levels (percent) of every forecast
LEVELS = (80, 95)
_Z = {80: 1.2815515655446004, 95: 1.959963984540054}

MODELS = ("snaive", "ets", "arima", "stl_arima", "stl_ets", "combo")
#: models compared by ``model="auto"``
DEFAULT_CANDIDATES = ("snaive", "ets", "arima", "stl_arima", "stl_ets", "combo")
#: the model used when a series is too short to backtest (chosen by the benchmarks)
DEFAULT_MODEL = "combo"
_COMBO_MEMBERS = ("stl_arima", "stl_ets", "arima")
#: seasonal smoother length (cycles) of the decomposition models
STL_SEASONAL_WINDOW = 31

_MODEL_ALIASES = {
    "naive": "snaive",
    "seasonal_naive": "snaive",
    "sarima": "arima",
    "sarimax": "arima",
    "decomp": "stl_arima",
    "mstl": "stl_arima",
    "mstl_arima": "stl_arima",
    "mstl_ets": "stl_ets",
    "stl": "stl_arima",
    "combination": "combo",
    "default": DEFAULT_MODEL,
}


@contextmanager
def _quiet():
    """Silence statsmodels' convergence and frequency chatter inside model fits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def _canon_model(model: str) -> str:
    m = _MODEL_ALIASES.get(str(model).lower(), str(model).lower())
    if m not in MODELS and m != "auto":
        raise SeriesError(f"unknown model {model!r}: use one of auto, {', '.join(MODELS)}")
    return m


# ------------------------------------------------------------------------------------------
# input checks
# ------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    """A series ready for the models: regular, no NaN, with what was done to it."""

    y: pd.Series
    season: int
    periods: tuple[int, ...]
    freq: str | None
    nonnegative: bool
    constant: bool
    notes: list[str] = field(default_factory=list)


def _periods_for(season: int, freq: str | None, n: int, periods: Sequence[int] | None) -> tuple[int, ...]:
    if periods is not None:
        ps = tuple(sorted({int(p) for p in periods if int(p) > 1}))
    elif season <= 1:
        ps = ()
    else:
        ps = (season,)
        # hourly data: add the weekly cycle when at least four weeks are there (with fewer, its
        # 168 values per cycle soak up the noise)
        if season == 24 and freq is not None and pd.tseries.frequencies.to_offset(freq).rule_code.lower() == "h":
            if n >= 4 * 168:
                ps = (24, 168)
    return tuple(p for p in ps if n >= 2 * p)


def prepare(
    y: pd.Series,
    season: int | None = None,
    *,
    freq: str | None = None,
    nonnegative: bool | None = None,
    periods: Sequence[int] | None = None,
    max_missing: float = 0.5,
) -> Prepared:
    """Check a series and make it ready for the models; reject what cannot be modelled.

    Rules, each raising :class:`~toolkit.series.SeriesError` with the offending timestamps:

    * timestamps unique and on a regular grid (:func:`toolkit.series.regularize`);
    * no negative values when the series is a count (``nonnegative=True``, or
      ``y.attrs['kind']`` is ``count``/``sum``);
    * at least two full seasons (``2 * season`` points) when ``season > 1``, and at least 8
      points in any case;
    * at most ``max_missing`` of the points missing.

    Handled (and recorded in ``notes``): leading and trailing missing values are trimmed, inner
    ones (e.g. hours with no conversation for a mean) interpolated linearly; a constant series is
    flagged so that it is forecast as a constant with zero-width intervals.

    Examples
    --------
    >>> import pandas as pd
    >>> y = pd.Series([1.0] * 10, index=pd.date_range("2026-01-01", periods=10, freq="D"))
    >>> prepare(y, season=1).constant
    True
    >>> prepare(y, season=7)
    Traceback (most recent call last):
    ...
    toolkit.series.SeriesError: series (unnamed): too few points for the season: 10 < 2 seasons of 7 (14); give a longer series or a smaller season (season=1 for none)
    """
    label = series_label(y.name)
    kind = (y.attrs or {}).get("kind")
    r = regularize(y, freq or (y.index.freqstr if isinstance(y.index, pd.DatetimeIndex) and y.index.freq is not None else None))
    f = r.attrs.get("freq") or r.index.freqstr
    notes: list[str] = []
    if r.attrs.get("n_gaps"):
        notes.append(f"{r.attrs['n_gaps']} missing timestamps on the {f} grid were treated as missing values")
    if nonnegative is None:
        nonnegative = kind in ("count", "sum")
    vals = r.to_numpy(dtype="float64")
    if nonnegative:
        neg = r.index[vals < 0]
        if len(neg):
            shown = ", ".join(f"{t} ({r[t]:g})" for t in neg[:5]) + (f" (+{len(neg) - 5} more)" if len(neg) > 5 else "")
            raise SeriesError(f"{label}: counts must be >= 0; negative at {shown}")
    ok = np.isfinite(vals)
    if not ok.any():
        raise SeriesError(f"{label}: every value is missing")
    first, last = np.flatnonzero(ok)[[0, -1]]
    if first > 0 or last < len(r) - 1:
        notes.append(f"trimmed {first} leading and {len(r) - 1 - last} trailing missing values")
        r = r.iloc[first : last + 1]
        vals = vals[first : last + 1]
    n = len(r)
    miss = ~np.isfinite(vals)
    if miss.mean() > max_missing:
        raise SeriesError(
            f"{label}: too many missing values: {int(miss.sum())} of {n} ({miss.mean():.0%}) > {max_missing:.0%}; "
            f"first at {', '.join(str(t) for t in r.index[miss][:5])}"
        )
    if miss.any():
        filled = r.interpolate(method="linear", limit_direction="both")
        where = ", ".join(str(t) for t in r.index[miss][:3]) + (" ..." if miss.sum() > 3 else "")
        notes.append(f"interpolated {int(miss.sum())} missing value(s) linearly ({where})")
        r = filled
    s = int(season) if season is not None else default_season(f)
    if s < 1:
        raise SeriesError(f"season must be >= 1, got {season}")
    if n < 8:
        raise SeriesError(f"{label}: too few points: {n} < 8")
    if s > 1 and n < 2 * s:
        raise SeriesError(
            f"{label}: too few points for the season: {n} < 2 seasons of {s} ({2 * s}); "
            "give a longer series or a smaller season (season=1 for none)"
        )
    constant = bool(np.ptp(r.to_numpy()) == 0)
    if constant:
        notes.append(f"constant series (every value {r.iloc[0]:g}): forecast is that constant, intervals have zero width")
    out = pd.Series(r.to_numpy(dtype="float64"), index=pd.DatetimeIndex(r.index, freq=f), name=label)
    out.index.name = "timestamp"
    return Prepared(out, s, _periods_for(s, f, n, periods), f, bool(nonnegative), constant, notes)


# ------------------------------------------------------------------------------------------
# decomposition
# ------------------------------------------------------------------------------------------


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
    ps = p.periods
    n = len(yy)
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


# ------------------------------------------------------------------------------------------
# the models
# ------------------------------------------------------------------------------------------


def _frame_from(mean: np.ndarray, sd: np.ndarray) -> dict[str, np.ndarray]:
    out = {"yhat": np.asarray(mean, float)}
    for lv in LEVELS:
        out[f"lo{lv}"] = out["yhat"] - _Z[lv] * sd
        out[f"hi{lv}"] = out["yhat"] + _Z[lv] * sd
    return out


def _snaive(y: np.ndarray, h: int, m: int) -> tuple[dict[str, np.ndarray], dict]:
    n = len(y)
    m = max(1, min(m, n - 1))
    j = np.arange(h)
    mean = y[n - m + (j % m)]
    e = y[m:] - y[:-m]
    sigma = float(np.sqrt(np.mean(e**2))) if len(e) else 0.0
    k = j // m
    sd = sigma * np.sqrt(k + 1)
    return _frame_from(mean, sd), {"sigma": sigma, "season": m}


def _ets_fit(y: pd.Series, m: int, trends: Sequence[str | None]) -> Any:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    best = None
    seasonal = "add" if m > 1 else None
    for trend in trends:
        for init in ("heuristic", "estimated"):
            try:
                with _quiet():
                    mod = ETSModel(
                        y,
                        error="add",
                        trend=trend,
                        damped_trend=trend is not None,
                        seasonal=seasonal,
                        seasonal_periods=m if seasonal else None,
                        initialization_method=init,
                    )
                    res = mod.fit(disp=False, maxiter=200)
                if not np.isfinite(res.aicc):
                    continue
                if best is None or res.aicc < best.aicc:
                    best = res
                break
            except (ValueError, np.linalg.LinAlgError):
                continue
    if best is None:
        raise SeriesError("ETS could not be fitted to this series")
    return best


def _ets_predict(res: Any, n: int, h: int) -> dict[str, np.ndarray]:
    with _quiet():
        pred = res.get_prediction(start=n, end=n + h - 1)
        mean = np.asarray(pred.predicted_mean, float)
        var = np.asarray(pred.forecast_variance, float)
    return _frame_from(mean, np.sqrt(np.maximum(var, 0)))


def _ets(y: pd.Series, h: int, m: int) -> tuple[dict[str, np.ndarray], dict]:
    mm = m if 1 < m <= 60 and len(y) >= 2 * m + 2 else 1
    res = _ets_fit(y, mm, (None, "add"))
    spec = f"ETS(A,{'Ad' if res.model.trend else 'N'},{'A' if res.model.seasonal else 'N'})"
    return _ets_predict(res, len(y), h), {"spec": spec, "aicc": float(res.aicc)}


def _kpss_d(x: np.ndarray, max_d: int = 1) -> int:
    from statsmodels.tsa.stattools import kpss

    d = 0
    z = np.asarray(x, float)
    while d < max_d:
        if len(z) < 12 or np.ptp(z) == 0:
            break
        with _quiet():
            try:
                p = kpss(z, regression="c", nlags="auto")[1]
            except (ValueError, OverflowError):
                break
        if p >= 0.05:
            break
        d += 1
        z = np.diff(z)
    return d


def _seasonal_D(y: np.ndarray, m: int) -> int:
    """1 when STL seasonal strength > 0.64 (Hyndman & Athanasopoulos' nsdiffs rule)."""
    if m <= 1 or len(y) < 2 * m + 1:
        return 0
    from statsmodels.tsa.seasonal import STL

    with _quiet():
        res = STL(y, period=m).fit()
    return int(_strength(np.asarray(res.seasonal), np.asarray(res.resid)) > 0.64)


def _diff_poly(d: int, D: int, m: int) -> np.ndarray:
    """delta(B) = (1-B)^d (1-B^m)^D as coefficients in increasing lag order."""
    delta = np.array([1.0])
    for _ in range(d):
        delta = np.convolve(delta, [1.0, -1.0])
    for _ in range(D):
        seas = np.zeros(m + 1)
        seas[0], seas[m] = 1.0, -1.0
        delta = np.convolve(delta, seas)
    return delta


def _difference(y: np.ndarray, d: int, D: int, m: int) -> np.ndarray:
    w = np.asarray(y, float)
    for _ in range(D):
        w = w[m:] - w[:-m]
    for _ in range(d):
        w = np.diff(w)
    return w


def _integrate(y: np.ndarray, w_fc: np.ndarray, d: int, D: int, m: int) -> np.ndarray:
    """Turn forecasts of the differenced series back into forecasts of ``y``."""
    delta = _diff_poly(d, D, m)
    k = len(delta) - 1
    hist = np.r_[np.asarray(y, float)[-k:] if k else np.empty(0), np.zeros(len(w_fc))]
    for i in range(len(w_fc)):
        t = k + i
        hist[t] = w_fc[i] - np.dot(delta[1:], hist[t - 1 :: -1][:k]) if k else w_fc[i]
    return hist[k:]


@dataclass
class _ArimaFit:
    """A fitted SARIMA(p,d,q)(0,D,Q)m: polynomials, constant, innovations variance, residuals."""

    order: tuple[int, int, int]
    sorder: tuple[int, int, int, int]
    const: bool
    ar: np.ndarray  # 1 - phi_1 B - ... (increasing lag order)
    ma: np.ndarray  # theta(B) Theta(B^m)
    mu: float
    sigma2: float
    aic: float
    resid: np.ndarray
    w: np.ndarray
    engine: str
    result: Any = None

    @property
    def spec(self) -> str:
        s = f"ARIMA{self.order}"
        if self.sorder[3]:
            s += f"{self.sorder[:3]}[{self.sorder[3]}]"
        return s + (" with constant" if self.const else "")


def _pacf_to_ar(x: np.ndarray) -> list[float]:
    """Monahan (1984) / Jones (1980): unconstrained reals -> coefficients of a stationary AR
    polynomial ``1 - c_1 B - ... - c_k B^k`` (the same map as statsmodels'
    ``constrain_stationary_univariate``, written out for the small orders used here)."""
    k = len(x)
    r = [float(v) / math.sqrt(1.0 + float(v) * float(v)) for v in x]
    prev: list[float] = []
    for j in range(k):
        cur = [prev[i] + r[j] * prev[j - i - 1] for i in range(j)] + [r[j]]
        prev = cur
    return [-v for v in prev]


def _css_unpack(x: np.ndarray, p: int, q: int, Q: int, m: int, const: bool):
    i = 0
    ar = np.ones(p + 1)
    if p:
        ar[1:] = [-c for c in _pacf_to_ar(x[i : i + p])]
    i += p
    ma = np.ones(q + 1)
    if q:
        ma[1:] = [-c for c in _pacf_to_ar(x[i : i + q])]
    i += q
    if Q:
        Theta = [-c for c in _pacf_to_ar(x[i : i + Q])]
        sm = np.zeros(m * Q + 1)
        sm[0] = 1.0
        sm[m :: m] = Theta
        ma = np.convolve(ma, sm)
    i += Q
    mu = float(x[i]) if const else 0.0
    return ar, ma, mu


def _css_fit(y: np.ndarray, order, sorder, const: bool, start: int = 2) -> _ArimaFit:
    """Conditional-sum-of-squares SARIMA fit (Box-Jenkins), with stationarity and invertibility
    enforced by the Monahan/Jones transformation. Fast: each evaluation is one ``lfilter``;
    Levenberg-Marquardt needs a handful of iterations."""
    from scipy.optimize import least_squares
    from scipy.signal import lfilter

    p, d, q = order
    _, D, Q, m = sorder
    w = _difference(y, d, D, m)
    if len(w) < max(10, p + q + Q + start + 3):
        raise SeriesError(f"too few points for ARIMA{order}{sorder}: {len(w)} after differencing")
    scale = float(np.std(w)) or 1.0
    wz = w / scale
    k = p + q + Q + int(const)
    x0 = np.zeros(k)
    if const:
        x0[-1] = float(np.mean(wz))

    def resid(x: np.ndarray) -> np.ndarray:
        ar, ma, mu = _css_unpack(x, p, q, Q, m, const)
        return lfilter(ar, ma, wz - mu)[start:]

    with _quiet():
        if k:
            # Levenberg-Marquardt on the residual vector: a few Jacobians of k+1 filters each
            res = least_squares(resid, x0, method="lm", xtol=1e-6, ftol=1e-8, max_nfev=200 * (k + 1))
            x = res.x
            if not np.all(np.isfinite(x)):
                raise SeriesError(f"ARIMA{order}{sorder} did not converge")
        else:
            x = x0
    ar, ma, mu = _css_unpack(x, p, q, Q, m, const)
    e = lfilter(ar, ma, wz - mu) * scale
    n_eff = len(e) - start
    sigma2 = float(np.dot(e[start:], e[start:]) / n_eff)
    aic = n_eff * math.log(max(sigma2, 1e-300)) + 2 * (k + 1)
    return _ArimaFit((p, d, q), (0, D, Q, m), const, ar, ma, float(mu * scale), sigma2, aic, e, w, "css")


def _mle_fit(y: np.ndarray, order, sorder, const: bool) -> _ArimaFit:
    """Exact maximum likelihood with statsmodels SARIMAX on the differenced series."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    with _quiet():
        mod = SARIMAX(
            y,
            order=order,
            seasonal_order=sorder,
            trend="c" if const else None,
            simple_differencing=True,
            concentrate_scale=True,
        )
        res = mod.fit(disp=False, maxiter=100)
    if not np.isfinite(res.aic):
        raise SeriesError(f"ARIMA{order}{sorder} could not be fitted")
    ar = np.asarray(res.polynomial_reduced_ar, float)
    ma = np.asarray(res.polynomial_reduced_ma, float)
    c = float(res.params[0]) if const else 0.0
    mu = c / float(np.sum(ar)) if const else 0.0
    w = _difference(y, order[1], sorder[1], sorder[3])
    return _ArimaFit(tuple(order), tuple(sorder), const, ar, ma, mu, float(res.scale), float(res.aic), np.asarray(res.resid, float), w, "mle", res)


def _arima_forecast(fit: _ArimaFit, y: np.ndarray, h: int) -> dict[str, np.ndarray]:
    """ARMA recursion on the differenced series (future shocks 0), integration, psi-weights."""
    from statsmodels.tsa.arima_process import arma2ma

    d, D, m = fit.order[1], fit.sorder[1], fit.sorder[3]
    if fit.engine == "mle" and fit.result is not None:
        with _quiet():
            w_fc = np.asarray(fit.result.forecast(h), float)
    else:
        phi = -fit.ar[1:]
        theta = fit.ma[1:]
        p, qq = len(phi), len(theta)
        wc = np.r_[fit.w - fit.mu, np.zeros(h)]
        e = np.r_[fit.resid, np.zeros(h)]
        n = len(fit.w)
        for t in range(n, n + h):
            val = 0.0
            for i in range(1, p + 1):
                if t - i >= 0:
                    val += phi[i - 1] * wc[t - i]
            for j in range(1, qq + 1):
                if theta[j - 1] != 0.0 and t - j >= 0:
                    val += theta[j - 1] * e[t - j]
            wc[t] = val
        w_fc = wc[n:] + fit.mu
    mean = _integrate(y, w_fc, d, D, m)
    ar_full = np.convolve(fit.ar, _diff_poly(d, D, m))
    psi = arma2ma(ar_full, fit.ma, lags=h)
    sd = np.sqrt(fit.sigma2 * np.cumsum(psi**2))
    return _frame_from(mean, sd)


def _arima_select(y: np.ndarray, m: int, seasonal: bool, engine: str = "css") -> _ArimaFit:
    """Small-grid order selection by AIC (same d and D for every candidate, so AICs compare)."""
    D = _seasonal_D(y, m) if seasonal and m > 1 else 0
    base = y[m:] - y[:-m] if D else y
    d = _kpss_d(base, 1)
    const = d + D <= 1
    if seasonal and m > 1:
        grid = [(0, 1), (1, 1), (2, 1), (1, 0), (2, 0), (0, 2)]
        Qs = (1,) if D else (0, 1)
        cands = [((p, d, q), (0, D, Q, m)) for p, q in grid for Q in Qs]
    else:
        cands = [((p, d, q), (0, 0, 0, 0)) for p in (0, 1, 2) for q in (0, 1, 2)]
    fitter = _css_fit if engine == "css" else _mle_fit
    best = None
    for order, sorder in cands:
        try:
            fit = fitter(y, order, sorder, const)
        except (ValueError, np.linalg.LinAlgError, SeriesError):
            continue
        if np.isfinite(fit.aic) and (best is None or fit.aic < best.aic):
            best = fit
    if best is None:
        raise SeriesError("no ARIMA model of the grid could be fitted to this series")
    return best


def _arima(y: pd.Series, h: int, m: int, seasonal: bool = True, engine: str = "css") -> tuple[dict[str, np.ndarray], dict]:
    arr = y.to_numpy(dtype=float)
    seasonal = seasonal and 1 < m <= 60 and len(arr) >= 3 * m
    fit = _arima_select(arr, m, seasonal, engine)
    return _arima_forecast(fit, arr, h), {"spec": fit.spec, "aic": fit.aic, "engine": fit.engine}


def _seasonal_forecast(dec: Decomposition, h: int) -> np.ndarray:
    total = np.zeros(h)
    j = np.arange(h)
    n = len(dec.observed)
    for c, p in zip(dec.seasonal.columns, dec.periods):
        s = dec.seasonal[c].to_numpy()
        total += s[n - p + (j % p)]
    return total


def _stl_raw(y: pd.Series, h: int, periods: tuple[int, ...], inners: Sequence[str]) -> dict[str, tuple[dict[str, np.ndarray], str]]:
    """Decompose once; forecast the adjusted series with each inner model; add the seasonals."""
    if not periods:
        adj = y
        sfc = np.zeros(h)
        method = "no season"
    else:
        dec = decompose(y, periods, seasonal_window=STL_SEASONAL_WINDOW)
        adj = dec.adjusted
        sfc = _seasonal_forecast(dec, h)
        method = f"{dec.method}{list(periods)}"
    arr = adj.to_numpy(dtype=float)
    out = {}
    for inner in inners:
        if inner == "arima":
            fit = _arima_select(arr, 1, False)
            base = _arima_forecast(fit, arr, h)
            spec = f"{method} + {fit.spec}"
        else:
            adj_s = pd.Series(arr, index=y.index)
            res = _ets_fit(adj_s, 1, (None, "add"))
            base = _ets_predict(res, len(adj_s), h)
            spec = f"{method} + ETS(A,{'Ad' if res.model.trend else 'N'},N)"
        out[inner] = ({k: v + sfc for k, v in base.items()}, spec)
    return out


def _widen(fr: dict[str, np.ndarray], factor: float) -> dict[str, np.ndarray]:
    out = {"yhat": fr["yhat"]}
    for lv in LEVELS:
        out[f"lo{lv}"] = fr["yhat"] - factor * (fr["yhat"] - fr[f"lo{lv}"])
        out[f"hi{lv}"] = fr["yhat"] + factor * (fr[f"hi{lv}"] - fr["yhat"])
    return out


def _stl_models(
    y: pd.Series, h: int, periods: tuple[int, ...], inners: Sequence[str], calibrate: bool = True
) -> dict[str, tuple[dict[str, np.ndarray], dict]]:
    """STL/MSTL + ARIMA/ETS, with interval widths calibrated on two inner origins.

    The remainder of a decomposition is smaller than the noise (the seasonal smoother absorbs
    part of it) and the repeated last seasonal cycle carries noise of its own, so the inner
    model's intervals are too narrow. The same procedure is therefore re-run at the origins
    ``n - h`` and ``n - 2h`` (data before them only); the root mean square of the standardised
    errors over those ``2h`` held-out points, when above 1 (at most 4), widens the intervals.
    """
    raw = _stl_raw(y, h, periods, inners)
    factors = {i: 1.0 for i in inners}
    n = len(y)
    if calibrate and periods:
        z: dict[str, list[np.ndarray]] = {i: [] for i in inners}
        for o in (n - h, n - 2 * h):
            ps = tuple(p for p in periods if o >= 2 * p)
            if o < 16 or not ps:
                continue
            try:
                inner = _stl_raw(y.iloc[:o], h, ps, inners)
            except (SeriesError, ValueError, np.linalg.LinAlgError):
                continue
            actual = y.to_numpy(dtype=float)[o : o + h]
            for i in inners:
                fr = inner[i][0]
                sd = (fr["hi95"] - fr["lo95"]) / (2 * _Z[95])
                ok = np.isfinite(actual) & (sd > 0)
                z[i].append((actual[ok] - fr["yhat"][ok]) / sd[ok])
        for i in inners:
            if z[i]:
                zz = np.concatenate(z[i])
                if len(zz) >= max(8, h // 2):
                    factors[i] = float(np.clip(np.sqrt(np.mean(zz**2)), 1.0, 4.0))
    out = {}
    for i in inners:
        fr, spec = raw[i]
        info = {"spec": spec + (f", intervals x{factors[i]:.2f} (calibrated on 2 inner origins)" if factors[i] > 1 else ""), "interval_factor": factors[i]}
        out[i] = (_widen(fr, factors[i]), info)
    return out


def _stl_model(y: pd.Series, h: int, m: int, periods: tuple[int, ...], inner: str) -> tuple[dict[str, np.ndarray], dict]:
    return _stl_models(y, h, periods, (inner,))[inner]


def _combine(parts: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    keys = ["yhat"] + [f"{s}{lv}" for lv in LEVELS for s in ("lo", "hi")]
    return {k: np.mean([p[k] for p in parts.values()], axis=0) for k in keys}


def _run_model(model: str, p: Prepared, h: int, members: Sequence[str] = _COMBO_MEMBERS) -> tuple[dict[str, np.ndarray], dict]:
    y = p.y
    if p.constant:
        c = np.full(h, float(y.iloc[0]))
        return {k: c.copy() for k in ("yhat", "lo80", "hi80", "lo95", "hi95")}, {"spec": "constant"}
    m = p.season
    if model == "snaive":
        return _snaive(y.to_numpy(dtype=float), h, m)
    if model == "ets":
        return _ets(y, h, m)
    if model == "arima":
        return _arima(y, h, m)
    if model == "stl_arima":
        return _stl_model(y, h, m, p.periods, "arima")
    if model == "stl_ets":
        return _stl_model(y, h, m, p.periods, "ets")
    if model == "combo":
        parts, specs = {}, {}
        stl_inners = [mm.split("_", 1)[1] for mm in members if mm.startswith("stl_")]
        if stl_inners:
            try:
                for inner, (fr, info) in _stl_models(y, h, p.periods, stl_inners).items():
                    parts[f"stl_{inner}"], specs[f"stl_{inner}"] = fr, info["spec"]
            except SeriesError:
                pass
        for mem in members:
            if mem.startswith("stl_"):
                continue
            try:
                parts[mem], info = _run_model(mem, p, h)
                specs[mem] = info.get("spec", mem)
            except SeriesError:
                continue
        if not parts:
            raise SeriesError("no member of the combination could be fitted")
        return _combine(parts), {"spec": "mean of " + ", ".join(specs.values()), "members": list(parts)}
    raise SeriesError(f"unknown model {model!r}")


def _finish(frame: dict[str, np.ndarray], p: Prepared) -> dict[str, np.ndarray]:
    out = {k: np.asarray(v, float).copy() for k, v in frame.items()}
    if p.nonnegative:
        for k in out:
            out[k] = np.maximum(out[k], 0.0)
    return out


def _future_index(y: pd.Series, h: int) -> pd.DatetimeIndex:
    idx = y.index
    freq = idx.freq or pd.tseries.frequencies.to_offset(idx.inferred_freq)
    out = pd.date_range(idx[-1] + freq, periods=h, freq=freq)
    out.name = "timestamp"
    return out


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


# ------------------------------------------------------------------------------------------
# accuracy and backtests
# ------------------------------------------------------------------------------------------


def mase(actual: np.ndarray, pred: np.ndarray, train: np.ndarray, m: int = 1) -> float:
    """Mean absolute scaled error: MAE over the in-sample MAE of the seasonal naive (lag m).

    Examples
    --------
    >>> import numpy as np
    >>> mase(np.array([3.0, 5.0]), np.array([4.0, 4.0]), np.array([1.0, 2.0, 3.0, 4.0]), m=1)
    1.0
    """
    train = np.asarray(train, float)
    m = max(1, min(int(m), len(train) - 1))
    scale = np.nanmean(np.abs(train[m:] - train[:-m]))
    a, f = np.asarray(actual, float), np.asarray(pred, float)
    ok = np.isfinite(a) & np.isfinite(f)
    if not ok.any() or not np.isfinite(scale) or scale == 0:
        return float("nan")
    return float(np.mean(np.abs(a[ok] - f[ok])) / scale)


def smape(actual: np.ndarray, pred: np.ndarray) -> float:
    """Symmetric MAPE in percent, ``mean(200 |a - f| / (|a| + |f|))`` (0 where both are 0).

    Examples
    --------
    >>> import numpy as np
    >>> round(smape(np.array([100.0]), np.array([110.0])), 3)
    9.524
    """
    a, f = np.asarray(actual, float), np.asarray(pred, float)
    ok = np.isfinite(a) & np.isfinite(f)
    a, f = a[ok], f[ok]
    if not len(a):
        return float("nan")
    den = np.abs(a) + np.abs(f)
    ratio = np.where(den > 0, 2.0 * np.abs(a - f) / np.where(den > 0, den, 1.0), 0.0)
    return float(100.0 * np.mean(ratio))


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
    p = prepare(y, season, freq=freq, nonnegative=nonnegative, periods=periods)
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
            _periods_for(m, p.freq, len(train), periods),
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


# ------------------------------------------------------------------------------------------
# forecast
# ------------------------------------------------------------------------------------------


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


def forecast(
    y: pd.Series,
    horizon: int,
    model: str = "auto",
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
        ``'auto'`` (choose among ``candidates`` by a rolling-origin backtest with
        ``backtest_origins`` origins), or one of :data:`MODELS`.
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
    if int(horizon) < 1:
        raise SeriesError(f"horizon must be >= 1, got {horizon}")
    h = int(horizon)
    p = prepare(y, season, freq=freq, nonnegative=nonnegative, periods=periods)
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


# ------------------------------------------------------------------------------------------
# many series in parallel
# ------------------------------------------------------------------------------------------


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
    model: str = "auto",
    season: int | None = None,
    *,
    n_jobs: int | None = None,
    progress: bool = True,
    freq: str | None = None,
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

    Returns
    -------
    (forecasts, summary)
        ``forecasts``: long frame ``series_id, timestamp, yhat, lo80, hi80, lo95, hi95``;
        ``summary``: one row per series (model, spec, n, seconds, notes, error). A series that
        cannot be forecast gets its error in ``summary`` and no rows, without stopping the rest.

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
        if n_jobs <= 1 or len(tasks) <= 1:
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


# ------------------------------------------------------------------------------------------
# trend
# ------------------------------------------------------------------------------------------


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


# ------------------------------------------------------------------------------------------
# anomalies and change points
# ------------------------------------------------------------------------------------------


@dataclass
class Anomalies:
    """Flagged points and the windows they form.

    ``points``: index timestamp; columns value, expected, value_avg and expected_avg (their
    centred means over ``smooth`` points, the scale that is tested), lo and hi (the interval of
    that mean at ``level``), score (standardised residual, the largest over the scales), flag
    (bool). ``windows``: start, end (last flagged bucket), until (end of that bucket),
    n_points, n_flagged, direction (``high``/``low``), peak_score, peak_timestamp.
    """

    points: pd.DataFrame
    windows: pd.DataFrame
    method: str
    level: float
    scale: float
    smooth: int = 1

    @property
    def flagged(self) -> pd.DataFrame:
        """Only the flagged points."""
        return self.points[self.points["flag"]]


_SCALE_Q = 0.9


def _robust_scale(r: np.ndarray, q: float | None = None) -> float:
    """sigma from a quantile of |r - median| (q=0.5: the MAD), Gaussian-consistent."""
    from scipy import stats

    q = _SCALE_Q if q is None else q
    r = r[np.isfinite(r)]
    if not len(r):
        return 1e-12
    dev = np.abs(r - np.median(r))
    sc = float(np.quantile(dev, q)) / float(stats.norm.ppf(0.5 + q / 2))
    if sc == 0:
        sc = float(np.std(r)) or 1e-12
    return float(sc)


def _group_windows(flags: pd.Series, score: pd.Series, max_gap: int, min_points: int) -> pd.DataFrame:
    idx = np.flatnonzero(flags.to_numpy())
    rows = []
    if len(idx):
        groups = [[idx[0]]]
        for k in idx[1:]:
            if k - groups[-1][-1] <= max_gap + 1:
                groups[-1].append(k)
            else:
                groups.append([k])
        ts = flags.index
        sc = score.to_numpy()
        for g in groups:
            if len(g) < min_points:
                continue
            a, b = g[0], g[-1]
            seg = sc[a : b + 1]
            k = int(np.nanargmax(np.abs(seg)))
            rows.append(
                {
                    "start": ts[a],
                    "end": ts[b],
                    "n_points": int(b - a + 1),
                    "n_flagged": len(g),
                    "direction": "high" if np.nansum(sc[g]) > 0 else "low",
                    "peak_score": float(seg[k]),
                    "peak_timestamp": ts[a + k],
                }
            )
    return pd.DataFrame(rows, columns=["start", "end", "n_points", "n_flagged", "direction", "peak_score", "peak_timestamp"])


def _cleaned_decomposition(work: pd.Series, ps: tuple[int, ...], trend_window: int, seasonal_window: int, z: float = 5.0, rounds: int = 2) -> Decomposition:
    """A decomposition that gross anomalies do not bend: fit, replace points beyond ``z`` (5)
    robust standard deviations by their fitted value, refit (``rounds`` times).

    Why not STL's robust mode: it down-weights moderately large residuals of short seasonal
    sub-series (a weekly cycle seen 5-8 times), which then grow, giving heavy tails and false
    flags in clean data. Replacing only gross outliers (which normal noise practically never
    produces) leaves clean data alone and keeps a large incident out of the seasonal pattern,
    where it would otherwise leave ghosts at the same hour of other weeks."""
    kw = {"trend_window": trend_window, "seasonal_window": seasonal_window}
    dec = decompose(work, ps if ps else None, **kw)
    replaced = np.zeros(len(work), dtype=bool)
    for _ in range(rounds):
        fitted = dec.trend + dec.seasonal.sum(axis=1)
        r = (work - fitted).to_numpy()
        bad = (np.abs(r - np.median(r)) > z * _robust_scale(r, 0.5)) | replaced
        if not (bad & ~replaced).any():
            break
        replaced = bad
        dec = decompose(work.where(~replaced, fitted), ps if ps else None, **kw)
    resid = work - dec.trend - dec.seasonal.sum(axis=1)
    return Decomposition(work, dec.trend, dec.seasonal, resid, dec.periods, dec.method, True, dec.strength)


def detect_anomalies(
    y: pd.Series,
    season: int | None = None,
    *,
    method: str = "onestep",
    level: float | None = None,
    smooth: int | Sequence[int] | str | None = "auto",
    transform: str | None = "auto",
    scale: str = "auto",
    weights: pd.Series | np.ndarray | None = None,
    periods: Sequence[int] | None = None,
    trend_window: int | None = None,
    seasonal_window: int = 31,
    max_gap: int | None = None,
    min_points: int = 1,
    direction: str = "both",
) -> Anomalies:
    """Flag points outside the prediction interval of a one-step or robust decomposition model.

    Methods
    -------
    ``'onestep'`` (default)
        One-step-ahead predictions of a non-seasonal ARIMA(1,d,1) (statsmodels state space) on
        the seasonally adjusted series, plus the seasonal components.
    ``'stl'``
        The decomposition itself: expected value = trend + seasonal.

    Both use an outlier-cleaned decomposition (fit, replace points beyond 5 robust standard
    deviations by their fitted value, refit) with a long trend window (default: 3 times the
    longest period and at least 21 times the shortest, i.e. 3 weeks of hours or of days) and a
    steady seasonal pattern (``seasonal_window`` cycles), so that an incident of hours or days
    stays in the remainder instead of bending the trend or the seasonal pattern.

    The residuals (observed - expected) are then

    1. averaged over centred windows of ``smooth`` points (``'auto'``: one day on sub-daily
       data, e.g. 24 hours, else 1; a list gives several scales, each tested). Single hourly
       means of a few conversations are noisy and heavy-tailed; a day of them shows a latency
       incident of a few hours as clearly as a regression of a few days;
    2. standardised by a robust scale (the 90th percentile of absolute deviations, which
       tolerates up to 10 % anomalous points and heavier-than-normal tails), per position in
       the shortest seasonal cycle, pooling the two positions either side, when 30 cycles are
       there (``scale='seasonal'``, the default ``'auto'``; a night hour is noisier than a noon
       hour), otherwise once (``'global'``). With ``weights`` (the number of
       observations behind each value of a mean, from :func:`toolkit.series.metric_series`
       with ``counts=True``) a value averaged over ``n`` observations gets ``sigma / sqrt(n)``
       and the smoothing is a weighted mean;
    3. flagged beyond ``z = Phi^-1((1 + level) / 2)``. ``level=None`` sets a Bonferroni level
       ``1 - 0.05 / sum_k min(n, 3 n / k)`` over the scales k: about a 5 % chance of any false
       flag in a Gaussian series of that length (z = 3.55 for 60 days of hours averaged over
       24; 4.0 for single hours).

    With ``transform='log'`` (``'auto'``: when every value is positive and the values are
    right-skewed, as response times are) the model runs on ``log(y)`` and the band is
    transformed back. Points that were missing (interpolated) are never flagged. Flags closer
    than ``max_gap`` points (default: the largest smoothing window) form one window.

    With fewer than about 5 cycles of the longest period (5 weeks of hourly data with its
    weekly cycle), a shift lasting days is partly absorbed into the seasonal pattern and may
    go unflagged.

    Parameters
    ----------
    level : float, optional
        Interval coverage of each point (see above).
    direction : {'both', 'high', 'low'}
        Which side to flag.
    min_points : int
        Drop windows with fewer flagged points.

    Returns
    -------
    Anomalies
        ``points`` (value, expected, the interval lo/hi of single points, score, flag) and
        ``windows`` (start, end = last flagged bucket, until = end of that bucket, ...).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = np.arange(24 * 21)
    >>> v = 10 + 3 * np.sin(2 * np.pi * t / 24) + np.random.default_rng(0).normal(0, .3, t.size)
    >>> v[300:306] += 5
    >>> y = pd.Series(v, index=pd.date_range("2026-01-01", periods=t.size, freq="h"))
    >>> a = detect_anomalies(y, season=24, periods=[24], smooth=1, method="stl")
    >>> a.windows[["start", "end"]].values.tolist() == [[y.index[300], y.index[305]]]
    True
    """
    from scipy import stats

    p = prepare(y, season, periods=periods, nonnegative=False)
    yy = p.y
    n = len(yy)
    ps = p.periods
    imputed = ~np.isfinite(regularize(y, p.freq).reindex(yy.index).to_numpy(dtype=float))
    freq_td = None
    try:
        freq_td = pd.Timedelta(pd.tseries.frequencies.to_offset(p.freq))
    except (TypeError, ValueError):
        pass
    if smooth is None:
        scales = (1,)
    elif smooth == "auto":
        if freq_td is not None and freq_td < pd.Timedelta(days=1):
            scales = (max(1, int(round(pd.Timedelta(days=1) / freq_td))),)
        else:
            scales = (1,)
    elif isinstance(smooth, (int, np.integer)):
        scales = (max(1, int(smooth)),)
    else:
        scales = tuple(sorted({max(1, int(k)) for k in smooth}))
    vals = yy.to_numpy(dtype=float)
    if transform == "auto":
        transform = "log" if (vals.min() > 0 and stats.skew(vals) > 1.0) else None
    if transform not in (None, "log"):
        raise SeriesError(f"unknown transform {transform!r}: use None, 'log' or 'auto'")
    if transform == "log" and vals.min() <= 0:
        raise SeriesError(f"{series_label(y.name)}: transform='log' needs positive values; minimum is {vals.min():g}")
    work = pd.Series(np.log(vals) if transform == "log" else vals, index=yy.index)
    back = np.exp if transform == "log" else (lambda a: a)
    if trend_window is None:
        trend_window = max(3 * max(ps), 21 * min(ps)) if ps else max(21, n // 10)
        trend_window = min(trend_window, n - (1 - n % 2))
    if p.constant:
        pts = pd.DataFrame({"value": yy, "expected": yy, "value_avg": yy, "expected_avg": yy, "lo": yy, "hi": yy, "score": 0.0, "flag": False})
        wins = _group_windows(pts["flag"], pts["score"], 1, 1)
        wins["until"] = wins["end"]
        return Anomalies(pts, wins, "constant series: nothing to flag", 1.0 if level is None else level, 0.0)
    dec = _cleaned_decomposition(work, ps, trend_window, seasonal_window)
    if method == "stl":
        expected = (dec.trend + dec.seasonal.sum(axis=1)).to_numpy()
        desc = f"outlier-cleaned {dec.method}{list(ps)} (trend window {trend_window}, seasonal window {seasonal_window})"
    elif method == "onestep":
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        adj = dec.adjusted.to_numpy()
        sea = dec.seasonal.sum(axis=1).to_numpy()
        d = _kpss_d(adj, 1)
        with _quiet():
            res = SARIMAX(adj, order=(1, d, 1), trend="c" if d == 0 else None).fit(disp=False)
            mean = np.asarray(res.get_prediction().predicted_mean, float)
        burn = d + 1
        mean[:burn] = adj[:burn]
        expected = mean + sea
        desc = f"one-step ARIMA(1,{d},1) on the outlier-cleaned {dec.method}{list(ps)}-adjusted series"
    else:
        raise SeriesError(f"unknown anomaly method {method!r}: use 'stl' or 'onestep'")
    resid0 = work.to_numpy() - expected
    short = min(ps) if ps else 1
    if scale not in ("auto", "seasonal", "global"):
        raise SeriesError(f"unknown scale {scale!r}: use 'auto', 'seasonal' or 'global'")
    if direction not in ("both", "high", "low"):
        raise SeriesError(f"direction must be 'both', 'high' or 'low', got {direction!r}")
    # per-position scales pool the neighbouring positions (+/- 2) and need 30 cycles of data
    per_pos = short > 1 and n >= 30 * short
    pos = np.arange(n) % short

    def pooled(values: np.ndarray, ok: np.ndarray | None = None) -> np.ndarray:
        out = np.empty(short)
        for j in range(short):
            near = np.abs(((pos - j + short // 2) % short) - short // 2) <= 2
            sel = near if ok is None else near & ok
            out[j] = _robust_scale(values[sel])
        return out[pos]
    wt = None
    if weights is not None:
        wt = pd.Series(weights).reindex(yy.index).to_numpy(dtype=float) if isinstance(weights, pd.Series) else np.asarray(weights, float)
        if wt.shape != (n,):
            raise SeriesError(f"weights must have one value per point of the series ({n}), got {wt.shape}")
        wt = np.where(np.isfinite(wt) & (wt > 0) & ~imputed, wt, 0.0)
        if not (wt > 0).any():
            raise SeriesError("weights are all zero or missing")

    def at_scale(k: int) -> tuple[np.ndarray, np.ndarray]:
        """(averaged residual, its standard deviation) over centred windows of k points."""
        if wt is not None:
            num = pd.Series(np.where(wt > 0, resid0, 0.0) * wt).rolling(k, center=True, min_periods=1).sum().to_numpy()
            den = pd.Series(wt).rolling(k, center=True, min_periods=1).sum().to_numpy()
            unit = resid0 * np.sqrt(wt)
            ok = wt > 0
            if scale == "seasonal" and per_pos:
                su = pooled(unit, ok)
            else:
                su = np.full(n, _robust_scale(unit[ok]))
            with np.errstate(all="ignore"):
                r = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
                sdk = np.where(den > 0, su / np.sqrt(np.where(den > 0, den, 1.0)), np.nan)
            if k > 1:  # the residuals are autocorrelated: rescale to the spread of the averages
                infl = _robust_scale((r / sdk)[np.isfinite(sdk)])
                sdk = sdk * max(infl, 1.0)
            return r, sdk
        r = pd.Series(resid0).rolling(k, center=True, min_periods=max(1, k // 2)).mean().to_numpy() if k > 1 else resid0
        if scale in ("auto", "seasonal") and per_pos:
            sdk = pooled(r)
        else:
            sdk = np.full(n, _robust_scale(r))
        return r, sdk

    if level is None:
        # Bonferroni: a k-point moving average tested at every point is worth about 3n/k
        # independent tests (its excursions last about k/3 points), single points n
        level = 1 - 0.05 / sum(min(n, 3.0 * n / k) for k in scales)
    z = float(stats.norm.ppf(0.5 + level / 2))
    score = np.zeros(n)
    flag = np.zeros(n, dtype=bool)
    sd_top = None
    for k in scales:
        r, sdk = at_scale(k)
        sk = np.nan_to_num(r / sdk, nan=0.0)
        sd_top = sdk  # the largest scale's sd, for the band drawn
        fk = sk > z if direction == "high" else (sk < -z if direction == "low" else np.abs(sk) > z)
        better = np.abs(sk) > np.abs(score)
        score = np.where(better, sk, score)
        flag |= fk
    flag &= ~imputed
    if wt is not None:
        desc += ", residuals weighted by the observations behind each value"
    elif scale in ("auto", "seasonal") and per_pos:
        desc += f", scale per position in the {short}-point cycle"
    desc += f", residuals averaged over {'/'.join(map(str, scales))} points"
    if transform == "log":
        desc = "log scale, " + desc
    k_top = max(scales)

    def roll(a: np.ndarray) -> np.ndarray:
        return pd.Series(a).rolling(k_top, center=True, min_periods=max(1, k_top // 2)).mean().to_numpy() if k_top > 1 else a

    exp_avg = roll(expected)
    pts = pd.DataFrame(
        {
            "value": vals,
            "expected": back(expected),
            "value_avg": back(roll(work.to_numpy())),
            "expected_avg": back(exp_avg),
            "lo": back(exp_avg - z * sd_top),
            "hi": back(exp_avg + z * sd_top),
            "score": score,
            "flag": flag,
        },
        index=yy.index,
    )
    pts.loc[imputed, "value"] = np.nan
    gap = max_gap if max_gap is not None else max(scales)
    windows = _group_windows(pts["flag"], pts["score"], gap, min_points)
    if len(windows) and freq_td is not None:
        windows["until"] = windows["end"] + freq_td
    elif len(windows):
        windows["until"] = windows["end"] + pd.tseries.frequencies.to_offset(p.freq)
    else:
        windows["until"] = pd.Series(dtype=windows["end"].dtype)
    return Anomalies(pts, windows, desc + f"; |score| > {z:.2f} (level {level:.6g})", level, float(np.nanmedian(sd_top)), k_top)


def change_points(
    y: pd.Series,
    season: int | None = None,
    *,
    penalty: float | None = None,
    min_size: int | None = None,
    max_changes: int = 10,
) -> pd.DataFrame:
    """Shifts in the mean of the seasonally adjusted series, by binary segmentation.

    A split is kept when it lowers the squared-error cost by more than ``penalty`` (default
    ``3 * sigma^2 * log(n)``; sigma starts from the MAD of first differences / sqrt(2), which
    ignores the shifts themselves, and is re-estimated from the residuals around the segment
    means).

    Returns
    -------
    DataFrame
        timestamp (first point after the change), mean_before, mean_after, shift.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> v = np.r_[np.zeros(50), np.full(50, 3.0)] + np.random.default_rng(0).normal(0, .5, 100)
    >>> y = pd.Series(v, index=pd.date_range("2026-01-01", periods=100, freq="D"))
    >>> change_points(y, season=1).timestamp.tolist() == [y.index[50]]
    True
    """
    p = prepare(y, season, nonnegative=False)
    x = p.y
    if p.periods:
        x = decompose(x, p.periods, robust=True).adjusted
    v = x.to_numpy(dtype=float)
    n = len(v)
    min_size = min_size or max(2, (max(p.periods) if p.periods else 5))
    cs = np.r_[0.0, np.cumsum(v)]

    def best_split(a: int, b: int) -> tuple[float, int]:
        if b - a < 2 * min_size:
            return 0.0, -1
        ks = np.arange(a + min_size, b - min_size + 1)
        s_l = cs[ks] - cs[a]
        s_r = cs[b] - cs[ks]
        gain = (s_l**2 / (ks - a) + s_r**2 / (b - ks)) - (cs[b] - cs[a]) ** 2 / (b - a)
        k = int(np.argmax(gain))
        return float(gain[k]), int(ks[k])

    def segment(pen: float) -> list[int]:
        segs = [(0, n)]
        found: list[int] = []
        while len(found) < max_changes:
            best = (0.0, -1, -1)
            for si, (a, b) in enumerate(segs):
                g, k = best_split(a, b)
                if k > 0 and g > best[0]:
                    best = (g, k, si)
            if best[1] < 0 or best[0] <= pen:
                break
            _, k, si = best
            a, b = segs.pop(si)
            segs[si:si] = [(a, k), (k, b)]
            found.append(k)
        return sorted(found)

    # noise scale: MAD of first differences, then (twice) the MAD of the residuals around the
    # segment means found, so that neither the shifts nor short-range wiggles inflate it
    sigma = _robust_scale(np.diff(v)) / math.sqrt(2)
    cps: list[int] = []
    for _ in range(3):
        pen = penalty if penalty is not None else 3.0 * sigma**2 * math.log(n)
        new = segment(pen)
        if penalty is not None or new == cps and _ > 0:
            cps = new
            break
        cps = new
        b = [0, *cps, n]
        resid = np.concatenate([v[b[i] : b[i + 1]] - v[b[i] : b[i + 1]].mean() for i in range(len(b) - 1)])
        sigma = max(sigma, _robust_scale(resid))
    cps.sort()
    bounds = [0, *cps, n]
    rows = []
    for i, k in enumerate(cps):
        before = v[bounds[i] : k].mean()
        after = v[k : bounds[i + 2]].mean()
        rows.append({"timestamp": x.index[k], "mean_before": float(before), "mean_after": float(after), "shift": float(after - before)})
    return pd.DataFrame(rows, columns=["timestamp", "mean_before", "mean_after", "shift"])


def windows_overlap(found: pd.DataFrame, truth: Iterable[dict], *, tolerance: Any = None) -> pd.DataFrame:
    """Match flagged windows against known incident windows (e.g. truth.json ``incidents``).

    A flagged window covers ``[start, until)`` when it has an ``until`` column (the end of its
    last bucket, as :func:`detect_anomalies` gives), else ``[start, end]``; an incident covers
    ``[start, end)``. Returns one row per flagged window with ``matched`` (the ``kind`` of the
    first incident it overlaps, or None); a window with ``matched`` None is a false flag.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"start": pd.to_datetime(["2026-01-02", "2026-01-09"]),
    ...                   "end": pd.to_datetime(["2026-01-03", "2026-01-09"])})
    >>> windows_overlap(f, [{"kind": "x", "start": "2026-01-02T12:00", "end": "2026-01-04"}]).matched.tolist()
    ['x', None]
    """
    tol = pd.Timedelta(tolerance) if tolerance is not None else pd.Timedelta(0)
    truth = list(truth)
    out = found.copy()
    has_until = "until" in found.columns

    def aligned(ts: pd.Timestamp, ref: pd.Timestamp) -> pd.Timestamp:
        if ts.tzinfo is None and ref.tzinfo is not None:
            return ts.tz_localize(ref.tzinfo)
        if ts.tzinfo is not None and ref.tzinfo is None:
            return ts.tz_convert(None)
        return ts

    matched = []
    for _, w in found.iterrows():
        hit = None
        ws = pd.Timestamp(w["start"])
        for t in truth:
            ts = aligned(pd.Timestamp(t["start"]), ws)
            te = aligned(pd.Timestamp(t["end"]), ws)
            if has_until and pd.notna(w["until"]):
                ok = ws < te + tol and pd.Timestamp(w["until"]) > ts - tol
            else:
                ok = ws <= te + tol and pd.Timestamp(w["end"]) >= ts - tol
            if ok:
                hit = t.get("kind", t.get("name", "incident"))
                break
        matched.append(hit)
    out["matched"] = pd.Series(matched, index=out.index, dtype=object)
    return out


# ------------------------------------------------------------------------------------------
# figures
# ------------------------------------------------------------------------------------------


def _wrap(text: str, width: int = 110) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _axes(ax=None, *, nrows: int = 1, ncols: int = 1, figsize=(10, 4), **kw):
    """A new ``Figure`` with its axes (no pyplot state, so nothing piles up in a batch), or
    ``ax`` and its figure when the caller gives one."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(nrows, ncols, **kw)


def _finish_time_plot(fig, ax, title: str, *, ncol: int):
    """Title, legend, grid and dated x labels, shared by the time-series plots."""
    ax.set_title(_wrap(title), fontsize=9)
    ax.legend(loc="upper left", fontsize=8, ncol=ncol)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return fig


def plot_forecast(fc: Forecast, *, history: int | None = None, ax=None, title: str | None = None, show_baseline: bool = True):
    """The history, the forecast and its 80 % / 95 % bands (and the seasonal-naive baseline).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax)
    hist = fc.history if history is None else fc.history.iloc[-history:]
    ax.plot(hist.index, hist.to_numpy(), color="0.25", lw=1, label="observed")
    f = fc.frame
    ax.fill_between(f.index, f.lo95, f.hi95, color="C0", alpha=0.18, label="95 % interval")
    ax.fill_between(f.index, f.lo80, f.hi80, color="C0", alpha=0.32, label="80 % interval")
    ax.plot(f.index, f.yhat, color="C0", lw=1.6, label=f"forecast ({fc.model})")
    if show_baseline and fc.model != "snaive":
        ax.plot(fc.baseline.index, fc.baseline.yhat, color="C3", lw=1, ls="--", label="seasonal naive")
    return _finish_time_plot(fig, ax, title or f"{fc.series_id}: {fc.spec}", ncol=2)


def plot_decomposition(dec: Decomposition, *, title: str | None = None):
    """One panel per component: observed, trend, each seasonal, remainder.

    Returns
    -------
    matplotlib.figure.Figure
    """
    cols = [("observed", dec.observed), ("trend", dec.trend)] + [(c, dec.seasonal[c]) for c in dec.seasonal.columns] + [("remainder", dec.resid)]
    fig, axes = _axes(nrows=len(cols), figsize=(10, 1.7 * len(cols)), sharex=True, squeeze=False)
    axes = axes[:, 0]
    for ax, (name, s) in zip(axes, cols):
        if name == "remainder":
            ax.plot(s.index, s.to_numpy(), lw=0.6, color="0.3")
            ax.axhline(0, color="0.6", lw=0.8)
        else:
            ax.plot(s.index, s.to_numpy(), lw=0.9)
        ax.set_ylabel(name, fontsize=8)
        ax.grid(alpha=0.3)
    axes[0].set_title(_wrap(title or f"{dec.method} decomposition (periods {list(dec.periods)})"), fontsize=9)
    fig.autofmt_xdate()
    return fig


def plot_anomalies(y: pd.Series | None, an: Anomalies, *, truth: Iterable[dict] | None = None, ax=None, title: str | None = None):
    """The series, its expected band, flagged points and windows (and known incidents, shaded).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax)
    pts = an.points
    if an.smooth > 1:
        ax.plot(pts.index, pts["value"], color="0.75", lw=0.5, label="observed")
        ax.plot(pts.index, pts["value_avg"], color="0.2", lw=1.0, label=f"{an.smooth}-point mean")
        band = f"{an.level:.4%} interval of the {an.smooth}-point mean"
    else:
        ax.plot(pts.index, pts["value"], color="0.3", lw=0.7, label="observed")
        band = f"{an.level:.4%} interval"
    ax.fill_between(pts.index, pts["lo"], pts["hi"], color="C0", alpha=0.25, label=band)
    for i, t in enumerate(truth or []):
        ax.axvspan(pd.Timestamp(t["start"]), pd.Timestamp(t["end"]), color="C2", alpha=0.2, label="known incident" if i == 0 else None)
    for i, (_, w) in enumerate(an.windows.iterrows()):
        ax.axvspan(w["start"], w.get("until", w["end"]), color="C3", alpha=0.15, label="flagged window" if i == 0 else None)
    fl = an.flagged
    col = "value_avg" if an.smooth > 1 else "value"
    ax.scatter(fl.index, fl[col], color="C3", s=8, zorder=3, label="flagged")
    return _finish_time_plot(fig, ax, title or f"anomalies: {an.method}", ncol=3)


def plot_backtest(bt: Backtest, *, title: str | None = None):
    """MASE per model (each origin and the mean) and 95 % interval coverage.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (a1, a2) = _axes(ncols=2, figsize=(10, 3.6))
    s = bt.summary
    xs = np.arange(len(s))
    a1.bar(xs, s["mase"], color=["C3" if m == "snaive" else ("C2" if m == bt.best else "C0") for m in s.model])
    for i, m in enumerate(s.model):
        pts = bt.scores.loc[bt.scores.model == m, "mase"]
        a1.scatter(np.full(len(pts), i), pts, color="k", s=8, zorder=3)
    a1.set_xticks(xs, s.model, rotation=30, fontsize=8)
    a1.set_ylabel("MASE (lower is better)")
    a1.axhline(float(s.loc[s.model == "snaive", "mase"].iloc[0]), color="C3", ls="--", lw=0.8)
    a2.bar(xs, s["coverage95"], color="C0", alpha=0.7, label="95 % interval")
    a2.bar(xs, s["coverage80"], color="C1", alpha=0.8, label="80 % interval", width=0.5)
    a2.axhline(0.95, color="k", ls="--", lw=0.8)
    a2.axhline(0.80, color="k", ls=":", lw=0.8)
    a2.set_ylim(0, 1.05)
    a2.set_xticks(xs, s.model, rotation=30, fontsize=8)
    a2.set_ylabel("coverage of held-out points")
    a2.legend(fontsize=7, loc="lower right")
    fig.suptitle(_wrap(title or f"rolling-origin backtest: {len(bt.origins)} origins, horizon {bt.horizon}"), fontsize=10)
    return fig
