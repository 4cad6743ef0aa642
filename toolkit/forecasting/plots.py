"""Figures of forecasts, decompositions, anomalies and backtests (matplotlib ``Figure`` objects, no pyplot state).
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from toolkit.forecasting.anomalies import Anomalies
from toolkit.forecasting.backtesting import Backtest
from toolkit.forecasting.decomposition import Decomposition
from toolkit.forecasting.forecasts import Forecast

__all__ = ["plot_forecast", "plot_decomposition", "plot_anomalies", "plot_backtest"]

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


_KIND_COLORS = {"spike": "C3", "burst": "C1", "level_shift": "C4", "variance_change": "C5"}
_KIND_MARK = {"spike": "S", "burst": "B", "level_shift": "L", "variance_change": "V"}


def plot_anomalies(y: pd.Series | None, an: Anomalies, *, truth: Iterable[dict] | None = None, ax=None, title: str | None = None):
    """The series, its expected band, flagged points and windows (and known incidents, shaded).

    Windows are coloured by kind (spike, burst, level shift, variance change; legend) and
    marked at their peak with S, B, L or V.

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
        band = f"{an.level:.4%} interval" if an.alarms_per_week is None else f"normal range ({an.alarms_per_week:g} false alarms/week)"
    ax.fill_between(pts.index, pts["lo"], pts["hi"], color="C0", alpha=0.25, label=band)
    for i, t in enumerate(truth or []):
        ax.axvspan(pd.Timestamp(t["start"]), pd.Timestamp(t["end"]), color="C2", alpha=0.2, label="known incident" if i == 0 else None)
    seen: set = set()
    for _, w in an.windows.iterrows():
        kind = w.get("kind", "flagged window")
        color = _KIND_COLORS.get(kind, "C3")
        ax.axvspan(w["start"], w.get("until", w["end"]), color=color, alpha=0.18,
                   label=kind.replace("_", " ") if kind not in seen else None)
        seen.add(kind)
        if "kind" in w:
            top = pts["value"].max()
            ax.annotate(_KIND_MARK.get(kind, "?"), (w["peak_timestamp"], top), color=color, fontsize=8,
                        ha="center", va="bottom", annotation_clip=False)
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
