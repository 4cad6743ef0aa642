"""Figures for A/B tests: the power curve, the forest plot of lifts, the confidence sequence.

All functions return a :class:`matplotlib.figure.Figure` (never call ``plt.show()``), built with
the object-oriented API so they also work without pyplot (e.g. inside widget callbacks).

Examples
--------
>>> from toolkit.ab.power import plan_proportions
>>> fig = power_curve_figure(plan_proportions(baseline=0.3, mde=0.02))
>>> len(fig.axes)
1
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["power_curve_figure", "forest_plot", "confidence_sequence_figure", "VERDICT_COLORS",
           "segment_forest_plot", "mix_shift_figure"]

VERDICT_COLORS = {
    "winner": "#1a9850",
    "worse": "#d73027",
    "no detectable difference": "#4d4d4d",
    "underpowered": "#fc8d59",
}


def _figure(figsize):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def power_curve_figure(plan, *, points: int = 200, scales=(0.5, 1.0, 1.5), figsize=(6.4, 3.6),
                       fig=None):
    """Power against the control-arm size for the planned effect (and fractions of it).

    Parameters
    ----------
    plan : PowerResult
    points : int
        Points per curve.
    scales : tuple of float
        Multiples of the planned effect to draw (1.0 is drawn bold).
    figsize : tuple
    fig : Figure, optional
        Draw into this (cleared) figure instead of a new one; used by the widget.

    Returns
    -------
    Figure
    """
    from toolkit.ab.power import power_curve

    if fig is None:
        fig = _figure(figsize)
    else:
        fig.clear()
    ax = fig.add_subplot(1, 1, 1)
    n = None
    for s in sorted(set(scales) | {1.0}):
        n, pw = power_curve(plan, n, points=points, effect_scale=s)
        if plan.metric == "proportion":
            lab = f"lift {plan.mde * s:+.3g}" + (" (MDE)" if s == 1.0 else "")
        else:
            lab = f"d = {plan.effect_size * s:.3g}" + (" (MDE)" if s == 1.0 else "")
        ax.plot(n, pw, lw=2.2 if s == 1.0 else 1.0, alpha=1.0 if s == 1.0 else 0.7, label=lab)
    ax.axhline(plan.power, color="0.4", ls="--", lw=0.8)
    ax.axvline(plan.n_control, color="0.4", ls=":", lw=0.8)
    ax.annotate(f"n = {plan.n_control:,}", (plan.n_control, 0.02), xytext=(4, 0),
                textcoords="offset points", fontsize=8, color="0.3")
    ax.set_ylim(0, 1.01)
    ax.set_xlim(0, float(n[-1]))
    ax.set_xlabel("units in the control arm" + (" (= per arm)" if plan.ratio == 1 else ""))
    ax.set_ylabel("power")
    ax.set_title(f"Power curve - {plan.method}, alpha = {plan.alpha:g}", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def forest_plot(result, *, relative: bool = True, show_sequential: bool = True, figsize=None):
    """Lifts with confidence intervals per metric and arm, coloured by verdict.

    Parameters
    ----------
    result : ABResult
    relative : bool
        Plot the relative lift (comparable across metrics) or the absolute lift (one panel per
        metric, since units differ).
    show_sequential : bool
        With ``relative=False``, also draw the always-valid confidence sequence (thin, grey).

    Returns
    -------
    Figure
    """
    t = result.table.reset_index(drop=True)
    labels = [f"{m} ({a} vs {result.control})" if len(result.treatments) > 1 else str(m)
              for m, a in zip(t["metric"], t["arm"])]
    k = len(t)
    if relative:
        fig = _figure(figsize or (6.8, 0.55 * k + 1.4))
        ax = fig.add_subplot(1, 1, 1)
        y = np.arange(k)[::-1]
        for i, row in t.iterrows():
            c = VERDICT_COLORS.get(row["verdict"], "k")
            lo, hi, est = row["rel_ci_low"], row["rel_ci_high"], row["rel_lift"]
            if not all(map(math.isfinite, (lo, hi, est))):
                continue
            ax.plot([lo * 100, hi * 100], [y[i], y[i]], color=c, lw=2)
            ax.plot(est * 100, y[i], "o", color=c, ms=6)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(y, labels)
        ax.set_xlabel(f"relative lift vs {result.control} (%), "
                      f"{1 - result.alpha:.0%} CI (delta method)")
    else:
        fig = _figure(figsize or (6.8, 1.3 * k + 0.6))
        axes = fig.subplots(k, 1, squeeze=False)[:, 0]
        for i, row in t.iterrows():
            ax = axes[i]
            c = VERDICT_COLORS.get(row["verdict"], "k")
            if show_sequential and "seq_low" in t and math.isfinite(row.get("seq_low", np.nan)):
                lo_s, hi_s = row["seq_low"], row["seq_high"]
                ax.plot([lo_s, hi_s], [0.25, 0.25], color="0.6", lw=1.2,
                        label="always-valid CS" if i == 0 else None)
            ax.plot([row["abs_ci_low"], row["abs_ci_high"]], [0, 0], color=c, lw=2,
                    label="fixed-horizon CI" if i == 0 else None)
            ax.plot(row["abs_lift"], 0, "o", color=c)
            ax.axvline(0, color="0.3", lw=0.8)
            ax.set_yticks([0], [labels[i]])
            ax.set_ylim(-0.5, 0.75)
        axes[0].legend(fontsize=7, loc="upper right")
        axes[-1].set_xlabel(f"absolute lift vs {result.control}")
    handles = []
    from matplotlib.lines import Line2D

    for name, col in VERDICT_COLORS.items():
        if (t["verdict"] == name).any():
            handles.append(Line2D([], [], color=col, marker="o", lw=2, label=name))
    if relative and handles:
        ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                  ncol=len(handles), frameon=False)
    fig.suptitle("A/B lifts with confidence intervals", fontsize=11)
    return fig


def confidence_sequence_figure(seq, *, title: str = "", fixed_ci=None, figsize=(6.4, 3.4)):
    """The estimate and its always-valid confidence sequence as units arrive.

    Parameters
    ----------
    seq : SequentialResult
    title : str
    fixed_ci : (float, float), optional
        The fixed-horizon interval at the end, drawn at the right edge for comparison.

    Returns
    -------
    Figure

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.ab.sequential import confidence_sequence
    >>> rng = np.random.default_rng(0)
    >>> seq = confidence_sequence(rng.normal(size=2000), rng.random(2000) < 0.5)
    >>> confidence_sequence_figure(seq, fixed_ci=(-0.1, 0.1)).axes[0].get_ylabel()
    'treatment - control'
    """
    fig = _figure(figsize)
    ax = fig.add_subplot(1, 1, 1)
    lk = seq.looks
    x = lk["time"] if "time" in lk else lk["n"]
    ax.fill_between(x, lk["lower"], lk["upper"], color="C0", alpha=0.2,
                    label=f"always-valid {1 - seq.alpha:.0%} CS")
    ax.plot(x, lk["estimate"], color="C0", lw=1.2, label="estimate")
    ax.axhline(0, color="0.3", lw=0.8)
    if seq.first_rejection_n is not None:
        row = lk.loc[lk["n"] == seq.first_rejection_n]
        if len(row):
            ax.axvline(row[x.name].iloc[0], color="C3", ls=":", lw=1,
                       label="first exclusion of 0")
    if fixed_ci is not None:
        ax.errorbar([x.iloc[-1]], [seq.estimate],
                    yerr=[[seq.estimate - fixed_ci[0]], [fixed_ci[1] - seq.estimate]],
                    fmt="o", color="C1", ms=4, capsize=3, label="fixed-horizon CI (final)")
    # the first looks are very wide: scale the y axis to the last 90 % of the looks
    tail = lk.iloc[len(lk) // 10:]
    if len(tail):
        lo = float(min(tail["lower"].min(), 0.0, fixed_ci[0] if fixed_ci else 0.0))
        hi = float(max(tail["upper"].max(), 0.0, fixed_ci[1] if fixed_ci else 0.0))
        pad = 0.1 * (hi - lo or 1.0)
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("time" if "time" in lk else "units")
    ax.set_ylabel("treatment - control")
    ax.set_title(title or f"Confidence sequence (always-valid p = {seq.p_value:.3g})", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    if "time" in lk:
        fig.autofmt_xdate()
    return fig


_SEGMENT_COLORS = {"better": "#1a9850", "worse": "#d73027", "no detectable difference": "#4d4d4d",
                   "too small": "#bdbdbd"}


def segment_forest_plot(result, *, metric: str | None = None, arm: str | None = None,
                        figsize=None):
    """Forest plot of one metric's lift per segment (unadjusted CIs; colour = verdict after the
    correction across segments; too small segments grey), with Cochran's Q in the title.

    Parameters
    ----------
    result : SegmentResult
    metric, arm : str, optional
        Default: the first metric and arm of the table.

    Returns
    -------
    Figure

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from toolkit.ab.segments import segment_effects
    >>> rng = np.random.default_rng(0)
    >>> u = pd.DataFrame({"variant": rng.choice(["A", "B"], 2000), "seg": rng.choice(list("ab"), 2000),
    ...                   "x": rng.normal(0, 1, 2000)})
    >>> len(segment_forest_plot(segment_effects(u, "seg", "x:continuous")).axes)
    1
    """
    t = result.table
    metric = metric or t["metric"].iloc[0]
    arm = arm or t["arm"].iloc[0]
    d = t[(t["metric"] == metric) & (t["arm"] == arm)].reset_index(drop=True)
    fig = _figure(figsize or (6.4, 0.9 + 0.32 * len(d)))
    ax = fig.add_subplot()
    y = np.arange(len(d))[::-1]
    for yi, r in zip(y, d.to_dict("records")):
        c = _SEGMENT_COLORS.get(r["verdict"], "#4d4d4d")
        if math.isfinite(r["abs_ci_low"]):
            ax.plot([r["abs_ci_low"], r["abs_ci_high"]], [yi, yi], color=c, lw=2)
        ax.plot([r["abs_lift"]], [yi], "o", color=c)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [f"{s} (n={a + b:,})" for s, a, b in
                      zip(d["segment"], d["n_control"], d["n_treatment"])])
    h = result.heterogeneity
    hq = h[(h["metric"] == metric) & (h["arm"] == arm)]
    qtxt = (f"; Cochran's Q p = {hq['q_p'].iloc[0]:.2g}, I² = {hq['i2'].iloc[0]:.0%}"
            if len(hq) and math.isfinite(hq["q_p"].iloc[0]) else "")
    ax.set_title(f"{metric}: {arm} - control by {result.by}{qtxt}", fontsize=9)
    ax.set_xlabel("absolute lift, 95% CI (unadjusted)\ncolour: verdict after "
                  f"{result.correction} across segments (grey: too small)", fontsize=8)
    return fig


def mix_shift_figure(result, *, top: int = 20, figsize=None):
    """Shares of each category in the two groups and their difference with CIs.

    Parameters
    ----------
    result : MixShiftResult
    top : int
        Categories drawn (largest absolute difference first).

    Returns
    -------
    Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from toolkit.ab.mix import mix_shift
    >>> df = pd.DataFrame({"g": ["a"] * 50 + ["b"] * 50, "c": ["x", "y"] * 40 + ["x"] * 20})
    >>> len(mix_shift_figure(mix_shift(df, "c", "g")).axes)
    2
    """
    t = result.table.reindex(result.table["diff"].abs().sort_values(ascending=False).index)
    t = t.head(top).iloc[::-1]
    fig = _figure(figsize or (9.0, 1.0 + 0.3 * len(t)))
    a1, a2 = fig.subplots(1, 2, sharey=True)
    y = np.arange(len(t))
    g1, g2 = result.groups
    a1.barh(y - 0.2, t[f"share_{g1}"], height=0.4, label=str(g1), color="#4575b4")
    a1.barh(y + 0.2, t[f"share_{g2}"], height=0.4, label=str(g2), color="#fc8d59")
    a1.set_yticks(y, t["category"].astype(str))
    a1.set_xlabel("share")
    a1.legend(fontsize=8)
    colors = ["#d73027" if s else "#4d4d4d" for s in t["significant"]]
    a2.errorbar(t["diff"], y, xerr=[t["diff"] - t["ci_low"], t["ci_high"] - t["diff"]],
                fmt="none", ecolor=colors)
    a2.scatter(t["diff"], y, c=colors, zorder=3)
    a2.axvline(0, color="black", lw=0.8)
    a2.set_xlabel(f"share {g2} - {g1} (95% CI); red: {result.correction} p < {result.alpha:g}")
    fig.suptitle(f"{result.column} by {result.group_col}: chi-square p = {result.chi2_p:.2g}",
                 fontsize=10)
    return fig

