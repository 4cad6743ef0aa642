"""Figures of a scored log or a report, returned as matplotlib ``Figure`` objects (no pyplot)."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

from toolkit.monitoring.kpis import _cutoffs, _period_start, _scored
from toolkit.monitoring.report import MonitoringReport, monitoring_report
from toolkit.monitoring.tables import quality_by
from toolkit.quality.config import _check_cutoffs
from toolkit.quality.levels import assign_levels

__all__ = [
    "quality_distribution_figure",
    "components_figure",
    "quality_by_figure",
    "quality_over_time_figure",
    "response_time_vs_quality_figure",
    "level_counts_figure",
    "kpis_over_time_figure",
    "reaction_by_figure",
]

_FREQ_NAMES = {"D": "day", "W": "week", "M": "month", "h": "hour", "H": "hour", "min": "minute"}
_LEVEL_COLOURS = {"excellent": "#1a9850", "good": "#91cf60", "average": "#fee08b", "poor": "#fc8d59",
                  "unacceptable": "#d73027"}


def _figure(figsize=(7.5, 4.0)):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def quality_distribution_figure(data, cutoffs: Mapping[str, float] | None = None, *, config=None, bins: int = 40):
    """Histogram of quality with the level cut-offs, bars coloured by level.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> fig = quality_distribution_figure(generate_sample(seed=3, days=2).log)
    >>> fig.axes[0].get_xlabel()
    'quality'
    """
    turns, _ = _scored(data, config)
    cut = _check_cutoffs(cutoffs or _cutoffs(config))
    fig = _figure()
    ax = fig.add_subplot()
    q = turns["quality"].astype(float).dropna().to_numpy()
    counts, edges = np.histogram(q, bins=bins, range=(0, 1))
    mids = (edges[:-1] + edges[1:]) / 2
    colours = [_LEVEL_COLOURS[str(lv)] for lv in assign_levels(mids, cut)]
    ax.bar(mids, counts, width=edges[1] - edges[0], color=colours, edgecolor="white", linewidth=0.4)
    for name in ("poor", "average", "good", "excellent"):
        ax.axvline(cut[name], color="#444", lw=0.8, ls="--")
        ax.text(cut[name], ax.get_ylim()[1] * 0.97, f" {name}", rotation=90, va="top", ha="left", fontsize=8)
    ax.set_xlabel("quality")
    ax.set_ylabel("responses")
    ax.set_title(f"Quality of {len(q):,} responses (mean {q.mean():.3f})" if len(q) else "Quality")
    ax.set_xlim(0, 1)
    return fig


def components_figure(data, *, config=None):
    """Histograms of the four components (relevance, sentiment, coherence, length fit).

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> len(components_figure(generate_sample(seed=3, days=2).log).axes)
    4
    """
    turns, _ = _scored(data, config)
    fig = _figure((9, 5))
    axes = fig.subplots(2, 2)
    spec = [("relevance", (0, 1)), ("sentiment", (-1, 1)), ("coherence", (0, 1)), ("length_fit", (0, 1))]
    for ax, (col, rng) in zip(axes.ravel(), spec):
        v = turns[col].astype(float).dropna()
        ax.hist(v, bins=30, range=rng, color="#4575b4", edgecolor="white", linewidth=0.4)
        ax.set_title(f"{col} (mean {v.mean():.3f})", fontsize=10)
        ax.set_xlim(*rng)
    return fig


def quality_by_figure(table: pd.DataFrame, *, title: str | None = None, horizontal: bool | None = None):
    """Mean quality with 95 % intervals per group, from :func:`quality_by`.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> fig = quality_by_figure(quality_by(generate_sample(seed=3, days=2).log, "variant"))
    >>> fig.axes[0].get_ylabel()
    'mean quality'
    """
    fig = _figure((7.5, max(3.0, 0.28 * len(table) + 1.2)) if (horizontal or len(table) > 8) else (7.5, 3.8))
    ax = fig.add_subplot()
    labels = table["group"].astype(str).tolist()
    y = table["mean_quality"].to_numpy(float)
    err = np.vstack([y - table["ci_low"].to_numpy(float), table["ci_high"].to_numpy(float) - y])
    err = np.nan_to_num(err)
    if horizontal or (horizontal is None and len(table) > 8):
        ax.barh(labels, y, xerr=err, color="#4575b4", capsize=2)
        ax.invert_yaxis()
        ax.set_xlabel("mean quality")
        ax.set_xlim(0, 1)
    else:
        ax.bar(labels, y, yerr=err, color="#4575b4", capsize=3)
        ax.set_ylabel("mean quality")
        ax.set_ylim(0, 1)
    ax.set_title(title or f"Quality by {table.attrs.get('by', 'group')} (95% CI)")
    return fig


def quality_over_time_figure(data, *, freq: str = "D", by: str | None = None, config=None,
                             cutoffs: Mapping[str, float] | None = None):
    """Mean quality per period (optionally one line per group) and the high-quality share.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> len(quality_over_time_figure(generate_sample(seed=3, days=3).log, by="variant").axes)
    2
    """
    turns, _ = _scored(data, config)
    cut = cutoffs or _cutoffs(config)
    fig = _figure((9, 5))
    ax, ax2 = fig.subplots(2, 1, sharex=True)
    period = _period_start(turns["timestamp"], freq)
    if by and by in turns:
        for g, part in turns.groupby(by):
            m = part["quality"].astype(float).groupby(period[part.index]).mean()
            ax.plot(m.index, m.to_numpy(), label=f"{by}={g}", lw=1.2)
        ax.legend(fontsize=8, loc="lower left")
    else:
        m = turns["quality"].astype(float).groupby(period).mean()
        ax.plot(m.index, m.to_numpy(), lw=1.2, color="#4575b4")
    ax.set_ylabel("mean quality")
    share = (turns["quality"].astype(float) >= cut["good"]).groupby(period).mean()
    ax2.plot(share.index, share.to_numpy(), color="#1a9850", lw=1.2)
    ax2.set_ylabel("share good+")
    ax2.set_ylim(0, 1)
    ax.set_title(f"Quality over time (per {_FREQ_NAMES.get(freq, freq)})")
    fig.autofmt_xdate()
    return fig


def response_time_vs_quality_figure(data, *, config=None, bins: int = 12):
    """Response time against quality: a hexbin of all turns and the mean quality per time bin.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> response_time_vs_quality_figure(generate_sample(seed=3, days=2).log).axes[0].get_xlabel()
    'response time (s, log scale)'
    """
    turns, _ = _scored(data, config)
    fig = _figure()
    ax = fig.add_subplot()
    rt = pd.to_numeric(turns["response_time_s"], errors="coerce").astype(float)
    ok = rt.notna() & (rt > 0)
    x = np.log10(rt[ok].to_numpy())
    y = turns.loc[ok, "quality"].astype(float).to_numpy()
    if len(x):
        ax.hexbin(x, y, gridsize=35, cmap="Blues", mincnt=1, bins="log")
        edges = np.quantile(x, np.linspace(0, 1, bins + 1))
        idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
        mx = np.array([x[idx == i].mean() if (idx == i).any() else np.nan for i in range(bins)])
        my = np.array([y[idx == i].mean() if (idx == i).any() else np.nan for i in range(bins)])
        ax.plot(mx, my, color="#d73027", marker="o", lw=1.5, label=f"mean quality per response-time bin ({bins} bins of equal count)")
        ax.legend(fontsize=8, loc="lower left")
        ticks = [t for t in (0.1, 0.3, 1, 3, 10, 30, 100) if x.min() - 0.3 <= math.log10(t) <= x.max() + 0.3]
        ax.set_xticks([math.log10(t) for t in ticks], [f"{t:g}" for t in ticks])
        r = np.corrcoef(x, y)[0, 1] if len(x) > 2 else float("nan")
        ax.set_title(f"Response time vs quality (correlation with log time {r:+.2f})")
    ax.set_xlabel("response time (s, log scale)")
    ax.set_ylabel("quality")
    ax.set_ylim(0, 1)
    return fig


def level_counts_figure(levels: pd.DataFrame):
    """Bar chart of a :func:`toolkit.quality.level_counts` table.

    Examples
    --------
    >>> from toolkit.quality import level_counts, assign_levels
    >>> level_counts_figure(level_counts(assign_levels([0.9, 0.5]))).axes[0].get_ylabel()
    'responses'
    """
    fig = _figure((6, 3.2))
    ax = fig.add_subplot()
    names = levels["level"].astype(str).tolist()
    ax.bar(names, levels["count"].to_numpy(), color=[_LEVEL_COLOURS.get(n, "#999") for n in names])
    total = max(1, int(levels["count"].sum()))
    for i, c in enumerate(levels["count"].to_numpy()):
        ax.text(i, c, f"{c / total:.1%}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("responses")
    ax.set_title("Quality levels")
    return fig


def kpis_over_time_figure(report: MonitoringReport):
    """Response time (mean and p95), error rate and volume per period of a report.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> len(kpis_over_time_figure(monitoring_report(generate_sample(seed=3, days=3).log)).axes)
    3
    """
    t = report.over_time
    fig = _figure((9, 6))
    a1, a2, a3 = fig.subplots(3, 1, sharex=True)
    if len(t):
        x = pd.to_datetime(t["group"])
        a1.plot(x, t["mean_response_time_s"], label="mean", lw=1.2)
        a1.plot(x, t["p95_response_time_s"], label="p95", lw=1.2)
        a1.axhline(report.thresholds.response_time_medium, color="#fc8d59", ls="--", lw=0.8, label="medium threshold")
        a1.axhline(report.thresholds.response_time_high, color="#d73027", ls="--", lw=0.8, label="high threshold")
        a1.legend(fontsize=7, ncol=4, loc="upper left")
        a2.plot(x, t["error_rate"], color="#d73027", lw=1.2)
        width = {"D": 0.8, "W": 5.6, "M": 24.0, "h": 0.8 / 24, "H": 0.8 / 24}.get(report.freq, 0.8)
        a3.bar(x, t["n_turns"], width=width, color="#4575b4", align="edge")
    a1.set_ylabel("response time (s)")
    a2.set_ylabel("error rate")
    a3.set_ylabel("turns")
    a1.set_title(f"Operations per {_FREQ_NAMES.get(report.freq, report.freq)}")
    fig.autofmt_xdate()
    return fig


def reaction_by_figure(data, by: str = "variant", *, config=None):
    """Mean user reaction per group with 95 % intervals (conversations as the units).

    ``reaction`` (:mod:`toolkit.quality.reaction`) is computed when the turns lack it; last turns
    (no next user message) are left out.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> fig = reaction_by_figure(generate_sample(seed=3, days=2).log, "variant")
    >>> fig.axes[0].get_ylabel()
    'mean user reaction'
    """
    from toolkit.monitoring.tables import _clustered_means

    turns, _ = _scored(data, config)
    if by not in turns.columns:
        raise ValueError(f"reaction_by_figure: no column {by!r}")
    if "reaction" not in turns.columns:
        from toolkit.quality.reaction import reaction

        turns = turns.assign(reaction=reaction(turns))
    r = turns["reaction"].astype(float)
    keep = r.notna().to_numpy() & turns[by].notna().to_numpy()
    conv = turns["conversation_id"].to_numpy()[keep] if "conversation_id" in turns.columns else None
    m = _clustered_means(r.to_numpy()[keep], turns[by].astype(str).to_numpy()[keep], conv)
    fig = _figure((7.5, 3.8))
    ax = fig.add_subplot()
    err = np.nan_to_num(1.959963984540054 * m["se"].to_numpy(float))
    ax.bar(m.index.astype(str), m["mean"].to_numpy(float), yerr=err, color="#74add1", capsize=3)
    ax.set_ylim(0, 1)
    ax.set_ylabel("mean user reaction")
    ax.set_title(f"User reaction to the answers by {by} (95% CI; next user message)")
    return fig
