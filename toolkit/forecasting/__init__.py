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
``combo`` (the default)
    The median of the members' forecasts -- ``stl_arima``, ``stl_ets``, ``arima`` and seasonal
    naive at the longest period (weekly on hourly data), so of four the mean of the middle two;
    each interval bound is the members' median too.
``auto``
    The candidate with the lowest mean MASE in a rolling-origin backtest on the series itself.

Every model but the seasonal-naive baseline runs on a Box-Cox scale of ``y + 0.1 * mean`` when
the series is non-negative: lambda 1 (raw), 0.75, 0.5 (square root), 0.25 or 0 (log), read from
how the noise (the seasonal differences) grows with the level. Hourly series of two weeks or
more get the periods 24 and 168. On 29 windows of five real hourly series (M4's protocol: 960 h
in, 48 h out; ``python benchmarks/run.py forecasting``) the default's OWA against seasonal naive
is 0.65 with 95 % intervals covering 95.8 %, at 0.27 CPU-s per series.

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

Layout (each module small, lowest first): ``checks`` (:func:`prepare`), ``decomposition``,
``arima`` and ``models`` (the model registry), ``metrics``, ``backtesting``, ``forecasts``
(:func:`forecast`), ``parallel`` (:func:`forecast_many`), ``trend``, ``_anomaly_grid`` and
``_multiscale`` (the default anomaly detector: its grid, then its scores and windows), ``_anomalies_model`` (the model-based ones, change points), ``anomalies``
(:func:`detect_anomalies`), ``plots``.
Importing the package is cheap: statsmodels and scipy are imported inside the functions.
"""

from __future__ import annotations

from toolkit.forecasting._common import LEVELS
from toolkit.forecasting.anomalies import (
    DEFAULT_ALARMS_PER_WEEK,
    KINDS,
    AnomalyDataError,
    AnomalyOptions,
    Anomalies,
    change_points,
    detect_anomalies,
    windows_overlap,
)
from toolkit.forecasting.backtesting import Backtest, backtest
from toolkit.forecasting.checks import Prepared, prepare
from toolkit.forecasting.decomposition import Decomposition, decompose
from toolkit.forecasting.forecasts import Forecast, HorizonError, fit_predict, forecast
from toolkit.forecasting.metrics import mase, smape
from toolkit.forecasting.models import (
    DEFAULT_CANDIDATES,
    DEFAULT_MODEL,
    MODELS,
    STL_SEASONAL_WINDOW,
)
from toolkit.forecasting.parallel import forecast_many
from toolkit.forecasting.plots import plot_anomalies, plot_backtest, plot_decomposition, plot_forecast
from toolkit.forecasting.trend import TrendResult, mann_kendall, trend_test

__all__ = [
    "MODELS",
    "DEFAULT_CANDIDATES",
    "DEFAULT_MODEL",
    "LEVELS",
    "Forecast",
    "HorizonError",
    "Backtest",
    "Decomposition",
    "TrendResult",
    "Anomalies",
    "AnomalyOptions",
    "DEFAULT_ALARMS_PER_WEEK",
    "AnomalyDataError",
    "KINDS",
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
