"""Figures of a repeated-runs experiment: per-example differences, the variance split, the flaky
examples, and the planner's trade-off between examples and repetitions.

Every function returns a :class:`matplotlib.figure.Figure` built with the object-oriented API
(no pyplot state). Example ids are data: they are drawn as plain text (a ``$`` is escaped so that
matplotlib's math text never reads them), never as markup.

Examples
--------
>>> from toolkit.experiments.analysis import _demo_result
>>> fig = variance_figure(_demo_result())
>>> [ax.get_title() for ax in fig.axes]
['variance per variant', 'variance of the example differences']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.ab.plots import _figure

__all__ = ["per_example_figure", "variance_figure", "flaky_figure", "plan_figure"]

_BETWEEN, _WITHIN, _FLAKY, _STABLE = "#4575b4", "#fdae61", "#d95f02", "#1b9e77"


def _turns(data) -> pd.DataFrame:
    """The turns of a log, or the frame itself."""
    return data.turns if hasattr(data, "turns") else data


def _label(text: str, limit: int = 28) -> str:
    text = str(text)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")  # a data value never turns on matplotlib's math text


def per_example_figure(result, treatment=None, *, max_examples: int = 80, figsize=(7.0, 4.2)):
    """Sorted per-example differences with +/- 2 SE (run-to-run noise), the lift and its CI.

    Examples
    --------
    >>> from toolkit.experiments.analysis import _demo_result
    >>> per_example_figure(_demo_result()).axes[0].get_ylabel()
    'treatment - control (per-example mean)'
    """
    row = result._row(treatment)
    t = row["treatment"]
    pe = result.per_example[result.per_example["treatment"] == t].sort_values("diff").reset_index(drop=True)
    if len(pe) > max_examples:
        pe = pe.iloc[np.unique(np.linspace(0, len(pe) - 1, max_examples).round().astype(int))]
    fig = _figure(figsize)
    ax = fig.add_subplot()
    x = np.arange(len(pe))
    colors = np.where(pe["flaky"].to_numpy(bool), _FLAKY, _STABLE)
    ax.errorbar(x, pe["diff"], yerr=2 * pe["se"].fillna(0), fmt="none", ecolor="#999999", lw=0.8)
    ax.scatter(x, pe["diff"], c=colors, s=14, zorder=3)
    ax.axhline(0, color="black", lw=0.6)
    ax.axhline(row["lift"], color="#762a83", lw=1.2, label=f"lift {row['lift']:+.3g}")
    ax.axhspan(row["ci_low"], row["ci_high"], color="#762a83", alpha=0.15,
               label=f"{100 * (1 - result.alpha):.0f} % CI (examples as units)")
    ax.axhspan(row["naive_ci_low"], row["naive_ci_high"], fill=False, hatch="///", edgecolor="#999999",
               lw=0, label="naive CI (repetitions as examples)")
    ax.scatter([], [], c=_FLAKY, s=14, label="flaky example")
    ax.set_xticks([])
    ax.set_xlabel(f"examples, sorted by difference ({int(row['n_examples'])}; bars: ±2 SE of run-to-run noise)")
    ax.set_ylabel("treatment - control (per-example mean)")
    ax.set_title(f"{_label(t)} vs {_label(result.control)}: {_label(result.metric)} per example")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def variance_figure(result, *, figsize=(7.0, 3.6)):
    """Left: between-example vs run-to-run variance per variant. Right: the variance of the
    example differences per comparison, split into the examples' true differences and noise.

    Examples
    --------
    >>> from toolkit.experiments.analysis import _demo_result
    >>> len(variance_figure(_demo_result()).axes[0].patches)
    4
    """
    fig = _figure(figsize)
    ax1, ax2 = fig.subplots(1, 2)
    v = result.variance
    names = [_label(n, 14) for n in v["variant"]]
    ax1.bar(names, v["var_between"].fillna(0), color=_BETWEEN, label="between examples")
    ax1.bar(names, v["var_within"].fillna(0), bottom=v["var_between"].fillna(0), color=_WITHIN,
            label="run to run (within example)")
    for i, share in enumerate(v["share_run_to_run"]):
        if share == share:
            ax1.text(i, float(v["var_between"].fillna(0).iloc[i] + v["var_within"].fillna(0).iloc[i]),
                     f"{100 * share:.0f} % run-to-run", ha="center", va="bottom", fontsize=7)
    ax1.set_title("variance per variant")
    ax1.set_ylabel(f"variance of {_label(result.metric)}")
    ax1.legend(fontsize=7)
    c = result.comparisons
    labels = [_label(t, 14) for t in c["treatment"]]
    ax2.bar(labels, c["var_between_diff"], color=_BETWEEN, label="examples' true differences")
    ax2.bar(labels, np.minimum(c["var_run_to_run"], c["var_diff"]), bottom=c["var_between_diff"],
            color=_WITHIN, label="run-to-run noise (÷ repetitions)")
    ax2.set_title("variance of the example differences")
    ax2.set_xlabel(f"treatment vs {_label(result.control, 14)}")
    ax2.legend(fontsize=7)
    return fig


def flaky_figure(result, data=None, *, max_examples: int = 20, figsize=(7.0, 4.0)):
    """Each repetition of the flakiest examples (rows), coloured by variant.

    Examples
    --------
    >>> from toolkit.experiments.analysis import _demo_result
    >>> flaky_figure(_demo_result()).axes[0].get_title()
    'flaky examples (1; 1 variant x example): quality of every repetition'
    """
    fig = _figure(figsize)
    ax = fig.add_subplot()
    flagged = result.flaky_examples
    every = list(dict.fromkeys(flagged["example_id"].tolist()))
    ids = every[:max_examples]
    shown = f", {len(ids)} shown" if len(ids) < len(every) else ""
    ax.set_title(f"flaky examples ({len(every)}{shown}; {len(flagged)} variant x example): "
                 f"{_label(result.metric)} of every repetition")
    if not ids:
        ax.text(0.5, 0.5, "no flaky example", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    variants = [result.control, *result.treatments]
    ypos = {e: i for i, e in enumerate(ids)}
    if result.binary and data is not None:
        _flaky_grid(ax, result, data, ids, ypos, variants)
    else:
        _flaky_dots(ax, result, data, ids, ypos, variants)
    ax.set_yticks(range(len(ids)))
    ax.set_yticklabels([_label(e) for e in ids], fontsize=7)
    ax.invert_yaxis()
    return fig


def _flaky_dots(ax, result, data, ids, ypos, variants):
    """A score: every repetition's value (or mean +/- SD without the log), one colour per variant."""
    cmap = {v: c for v, c in zip(variants, ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e",
                                             "#e6ab02", "#a6761d", "#666666"] * 4)}
    offsets = np.linspace(-0.25, 0.25, len(variants)) if len(variants) > 1 else np.zeros(1)
    for off, v in zip(offsets, variants):
        if data is not None:
            df = _turns(data)
            sub = df[(df["variant"].astype(str) == v) & df["example_id"].astype(str).isin(ids)]
            y = sub["example_id"].astype(str).map(ypos).to_numpy(float) + off
            ax.scatter(pd.to_numeric(sub[result.metric], errors="coerce").astype(float), y, s=16,
                       color=cmap[v], alpha=0.8, label=_label(v, 20))
        else:
            cells = result.flaky[(result.flaky["variant"] == v) & result.flaky["example_id"].isin(ids)]
            y = cells["example_id"].map(ypos).to_numpy(float) + off
            ax.errorbar(cells["mean"], y, xerr=cells["sd"].fillna(0), fmt="o", ms=4, color=cmap[v],
                        label=_label(v, 20))
    ax.set_xlabel(_label(result.metric))
    ax.legend(fontsize=7, title="variant", title_fontsize=7)


def _flaky_grid(ax, result, data, ids, ypos, variants):
    """Pass/fail: one square per repetition (green pass, red fail), grouped by variant."""
    df = _turns(data)
    df = df[df["example_id"].astype(str).isin(ids) & df["variant"].astype(str).isin(variants)]
    y_val = pd.to_numeric(df[result.metric], errors="coerce")
    df = df.assign(_y=y_val.astype(float)).dropna(subset=["_y"])
    reps = sorted(pd.unique(df["repetition"]))
    width = len(reps) + 1
    rep_pos = {r: i for i, r in enumerate(reps)}
    for j, v in enumerate(variants):
        sub = df[df["variant"].astype(str) == v]
        x = j * width + sub["repetition"].map(rep_pos).to_numpy(float)
        y = sub["example_id"].astype(str).map(ypos).to_numpy(float)
        passed = sub["_y"].to_numpy(float) > 0.5
        ax.scatter(x[passed], y[passed], marker="s", s=40, color=_STABLE)
        ax.scatter(x[~passed], y[~passed], marker="s", s=40, color="#d73027")
        if j:
            ax.axvline(j * width - 1, color="#cccccc", lw=0.8)
    ax.set_xticks([j * width + (len(reps) - 1) / 2 for j in range(len(variants))])
    ax.set_xticklabels([_label(v, 16) for v in variants])
    ax.set_xlim(-1, len(variants) * width - 1)
    ax.scatter([], [], marker="s", color=_STABLE, label="pass")
    ax.scatter([], [], marker="s", color="#d73027", label="fail")
    ax.set_xlabel(f"repetitions ({len(reps)}) per variant")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def plan_figure(plan, *, figsize=(7.0, 3.6)):
    """Examples needed (bars) and calls (line) against repetitions per example.

    Examples
    --------
    >>> from toolkit.experiments.planner import plan_repetitions
    >>> fig = plan_figure(plan_repetitions(0.2, var_between_diff=0.04, var_within=0.09))
    >>> fig.axes[0].get_xlabel()
    'repetitions per example and variant'
    """
    t = plan.table
    fig = _figure(figsize)
    ax = fig.add_subplot()
    ax.bar(t["repetitions"], t["examples"], color=_BETWEEN, alpha=0.8, label="examples needed")
    if plan.n_available:
        ax.axhline(plan.n_available, color="black", lw=0.8, ls="--",
                   label=f"examples available ({plan.n_available})")
    ax.axhline(plan.examples_floor, color=_BETWEEN, lw=0.8, ls=":",
               label=f"floor with endless repetitions ({plan.examples_floor})")
    ax.set_xlabel("repetitions per example and variant")
    ax.set_ylabel("examples")
    ax.set_xticks(t["repetitions"])
    ax2 = ax.twinx()
    col = "cost" if plan.cost_per_call is not None else "calls"
    ax2.plot(t["repetitions"], t[col], color=_FLAKY, marker="o", label=col)
    ax2.set_ylabel(col)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    ax.set_title(f"MDE {plan.mde:g} at alpha {plan.alpha:g}, power {plan.power:g}")
    return fig
