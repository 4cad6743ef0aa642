"""Figures for judges and labels: estimates with intervals beside a known truth, per-period means.

Examples
--------
>>> import pandas as pd
>>> rows = pd.DataFrame({"group": ["A", "A"], "estimator": ["ppi", "naive"], "estimate": [3.6, 4.1],
...                      "ci_low": [3.5, 4.08], "ci_high": [3.7, 4.12]})
>>> fig = estimates_figure(rows, truth={"A": 3.62})
>>> len(fig.axes)
1
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["estimates_figure", "period_figure"]

_COLOURS = {"ppi": "#1b7837", "label_only": "#2166ac", "naive": "#b2182b"}
_NAMES = {"ppi": "PPI++ (score + labels)", "label_only": "labels only", "naive": "score only (naive)"}


def estimates_figure(rows: pd.DataFrame, truth: Mapping[str, float] | None = None, *,
                     title: str = "Estimates with 95% intervals", xlabel: str = "mean human rating"):
    """One row per group (arm or lift), a point and interval per estimator, the truth as a line.

    ``rows`` has ``group``, ``estimator`` (ppi, label_only, naive), ``estimate``, ``ci_low``,
    ``ci_high``; ``truth`` maps a group to its true value (a simulation's).
    """
    import matplotlib.pyplot as plt

    groups = list(dict.fromkeys(rows["group"].astype(str)))
    ests = [e for e in ("ppi", "label_only", "naive") if e in set(rows["estimator"])]
    fig, ax = plt.subplots(figsize=(7.5, 1.1 + 0.9 * len(groups)))
    offsets = np.linspace(-0.25, 0.25, len(ests)) if len(ests) > 1 else np.zeros(1)
    for gi, g in enumerate(groups):
        for off, e in zip(offsets, ests):
            r = rows[(rows["group"].astype(str) == g) & (rows["estimator"] == e)]
            if r.empty:
                continue
            r = r.iloc[0]
            ax.errorbar(r["estimate"], gi + off, xerr=[[r["estimate"] - r["ci_low"]], [r["ci_high"] - r["estimate"]]],
                        fmt="o", color=_COLOURS[e], capsize=3, label=_NAMES[e] if gi == 0 else None)
        if truth is not None and g in truth:
            ax.plot([truth[g]] * 2, [gi - 0.4, gi + 0.4], color="black", lw=2,
                    label="truth (simulated)" if gi == 0 else None)
    ax.set_yticks(range(len(groups)), groups)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def period_figure(per_period: pd.DataFrame, truth: Mapping[str, float] | None = None, *,
                  title: str = "Mean human rating per period"):
    """PPI++ means with intervals per period (from :func:`toolkit.ppi.ppi_by_period`), the
    label-only and naive means beside, and the truth when known."""
    import matplotlib.pyplot as plt

    x = np.arange(len(per_period))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.fill_between(x, per_period["ci_low"], per_period["ci_high"], color=_COLOURS["ppi"], alpha=0.2)
    ax.plot(x, per_period["estimate"], "o-", color=_COLOURS["ppi"], label=_NAMES["ppi"])
    ax.plot(x, per_period["label_only"], "s--", color=_COLOURS["label_only"], label=_NAMES["label_only"], alpha=0.8)
    ax.plot(x, per_period["naive"], "^:", color=_COLOURS["naive"], label=_NAMES["naive"])
    if truth is not None:
        ax.plot(x, [truth.get(str(p), np.nan) for p in per_period["period"]], "k-", lw=2,
                label="truth (simulated)")
    ax.set_xticks(x, [str(p)[:10] for p in per_period["period"]], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("rating")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
