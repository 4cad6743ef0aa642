"""A forecasting run as one result: the anomaly scan over several metrics and the sidecar record.

:func:`scan_anomalies` runs :func:`~toolkit.forecasting.detect_anomalies` on each metric series
and, given known incidents (the bundled sample's truth), marks every window that overlaps one.
:class:`ForecastReport` gathers what notebook 04 found -- the backtest, the forecast, the trend,
the anomaly windows, the change points -- and writes them as the sidecar's results
(:meth:`ForecastReport.to_dict`) or one table (:meth:`ForecastReport.summary_table`).

Examples
--------
>>> import numpy as np, pandas as pd
>>> idx = pd.date_range("2026-01-01", periods=24 * 21, freq="h")
>>> y = pd.Series(10 + 3 * np.sin(np.arange(len(idx)) * 2 * np.pi / 24), index=idx)
>>> y.iloc[300] = 60.0
>>> scans = scan_anomalies({"volume": y}, incidents=[{"kind": "spike", "start": idx[300], "end": idx[301]}])
>>> s, found, windows = scans["volume"]
>>> "spike" in set(windows["matched"])
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

import pandas as pd

from toolkit.forecasting.anomalies import DEFAULT_ALARMS_PER_WEEK, Anomalies, detect_anomalies, windows_overlap
from toolkit.forecasting.backtesting import Backtest
from toolkit.forecasting.forecasts import Forecast
from toolkit.forecasting.trend import TrendResult

__all__ = ["ForecastReport", "scan_anomalies"]


def scan_anomalies(series: Mapping[str, pd.Series], *, method: str = "multiscale", alarms_per_week: float = DEFAULT_ALARMS_PER_WEEK,
                   incidents: Iterable[dict] | None = None) -> dict[str, tuple[pd.Series, Anomalies, pd.DataFrame]]:
    """Anomalous windows of each series; with ``incidents``, each window's ``matched`` incident.

    Parameters
    ----------
    series : mapping of name -> Series
        The metric series to scan (e.g. from :func:`toolkit.series.metric_series`).
    method : str
        ``"multiscale"`` (the default detector, tuned by ``alarms_per_week``), ``"onestep"`` or ``"stl"``.
    alarms_per_week : float
        False alarms a week accepted per series on normal data (multiscale only; default: the detector's, 0.1).
    incidents : iterable of dict, optional
        Known incident windows (``kind``, ``start``, ``end``), e.g. the sample truth's ``incidents``:
        each flagged window gets ``matched`` (the incident's kind, or None for a false flag).

    Returns
    -------
    dict
        name -> ``(series, Anomalies, windows)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> y = pd.Series(np.ones(24 * 14), index=pd.date_range("2026-01-01", periods=24 * 14, freq="h"))
    >>> len(scan_anomalies({"flat": y})["flat"][2])
    0
    """
    incidents = list(incidents) if incidents is not None else None
    out = {}
    for name, s in series.items():
        found = (detect_anomalies(s, alarms_per_week=alarms_per_week) if method == "multiscale"
                 else detect_anomalies(s, method=method))
        windows = found.windows if incidents is None else windows_overlap(found.windows, incidents)
        out[name] = (s, found, windows)
    return out


def _records(frame: pd.DataFrame, times: Iterable[str]) -> list[dict]:
    """Rows as dicts, the time columns as text (as the sidecar has always had them)."""
    return frame.assign(**{c: frame[c].astype(str) for c in times if c in frame}).to_dict(orient="records")


@dataclass
class ForecastReport:
    """What a forecasting run found, as the sidecar records it.

    ``anomalies`` maps each scanned metric to its windows (with ``matched`` when the incidents
    were known: then ``incidents_found`` and ``false_windows`` are reported too).
    """

    series: pd.Series
    metric: str
    season: int
    horizon: int
    backtest: Backtest
    forecast: Forecast
    trend: TrendResult
    anomalies: dict[str, pd.DataFrame] = field(default_factory=dict)
    change_points: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _model_row(self, model: str) -> pd.Series:
        return self.backtest.summary.set_index("model").loc[model]

    def to_dict(self) -> dict:
        """The sidecar's results: headline figures, the backtest, the forecast, trend, windows.

        Examples
        --------
        >>> import numpy as np, pandas as pd
        >>> from toolkit.forecasting import backtest, forecast, trend_test
        >>> y = pd.Series(np.arange(24 * 10) % 24 + 5.0, index=pd.date_range("2026-01-01", periods=240, freq="h"))
        >>> bt = backtest(y, 24, ["snaive"], 24, n_origins=2)
        >>> r = ForecastReport(y, "volume", 24, 24, bt, forecast(y, 24, model="snaive", season=24), trend_test(y, 24))
        >>> d = r.to_dict(); d["model"], d["beats_snaive"], len(d["forecast"])
        ('snaive', False, 24)
        """
        best, base = self._model_row(self.backtest.best), self._model_row("snaive")
        tr = self.trend
        out = {
            "metric": self.metric, "freq": self.series.index.freqstr, "season": self.season,
            "horizon": self.horizon, "n_points": int(len(self.series)),
            "model": self.forecast.model, "spec": self.forecast.spec,
            "backtest": self.backtest.summary.to_dict(orient="records"),
            "best_mase": float(best.mase), "snaive_mase": float(base.mase),
            "beats_snaive": bool(best.mase < base.mase), "coverage95": float(best.coverage95),
            "forecast": _records(self.forecast.long(), ["timestamp"]),
            "trend": {"direction": tr.direction, "slope_per_day": tr.slope, "ci": [tr.ci_low, tr.ci_high],
                      "relative_slope_per_day": tr.relative_slope,
                      "relative_ci": [tr.relative_ci_low, tr.relative_ci_high], "p_value": tr.p_value},
            "anomalies": {k: _records(v, ["start", "end", "until", "peak_timestamp", "lasts_until"]) for k, v in self.anomalies.items()},
            "change_points": _records(self.change_points, ["timestamp"]),
        }
        matched = {k: v for k, v in self.anomalies.items() if "matched" in v}
        if matched:
            out["incidents_found"] = sorted({m for w in matched.values() for m in w.matched.dropna()})
            out["false_windows"] = {k: int(v.matched.isna().sum()) for k, v in matched.items()}
        return out

    def summary_table(self) -> pd.DataFrame:
        """The headline figures as one ``name, value`` table."""
        d = self.to_dict()
        keys = ["metric", "freq", "n_points", "model", "best_mase", "snaive_mase", "beats_snaive", "coverage95"]
        rows = [(k, d[k]) for k in keys] + [("trend", d["trend"]["direction"])]
        rows += [(f"windows_{k}", len(v)) for k, v in self.anomalies.items()]
        return pd.DataFrame(rows, columns=["name", "value"])
