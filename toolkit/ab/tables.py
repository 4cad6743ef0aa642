"""The comparisons notebook 02 shows, as functions that return results.

:func:`plan_scenarios`
    Sample size and duration of a proportion test at several MDEs (half, the planned, double).
:func:`cuped_comparison`
    The same test without and with CUPED from a pre-period (:class:`CupedComparison`).
:func:`paired_sizing`
    Examples a paired design needs against an unpaired one, from a paired experiment
    (:class:`PairedSizing`).
:func:`pre_period_window`, :func:`segment_assignments`, :func:`sample_intents`
    The first ``days`` of a log as the pre-period; segment assignments from a file or the
    intents of the bundled sample.

Examples
--------
>>> plan_scenarios(0.3, [0.02, 0.04])["n per arm"].tolist()
[8394, 2134]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from toolkit.ab.metrics import ABInputError

__all__ = ["plan_scenarios", "pre_period_window", "CupedComparison", "cuped_comparison",
           "PairedSizing", "paired_sizing", "segment_assignments", "sample_intents"]


def plan_scenarios(baseline: float, mdes: Sequence[float], **plan) -> pd.DataFrame:
    """One row per absolute MDE (those that keep ``baseline + mde`` below 1): MDE, relative MDE,
    units per arm, total units and days (``plan`` goes to :func:`toolkit.ab.power.plan_proportions`).

    Examples
    --------
    >>> plan_scenarios(0.5, [0.25], power=0.9)[["MDE (abs)", "n per arm"]].values.tolist()
    [[0.25, 77.0]]
    """
    from toolkit.ab.power import plan_proportions

    rows = []
    for m in mdes:
        if baseline + m < 1:
            p = plan_proportions(baseline=baseline, mde=m, **plan)
            rows.append({"MDE (abs)": p.mde, "MDE (rel)": p.mde_relative, "n per arm": p.n_control,
                         "total units": p.n_total, "days": p.duration_days})
    return pd.DataFrame(rows, columns=["MDE (abs)", "MDE (rel)", "n per arm", "total units", "days"])


def pre_period_window(log, days: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``(start, end)`` of the first ``days`` days of a log (from midnight of its first turn).

    Examples
    --------
    >>> from toolkit.sample import load_sample
    >>> [str(t.date()) for t in pre_period_window(load_sample(), 20)]
    ['2026-09-01', '2026-09-21']
    """
    if not days > 0:
        raise ABInputError(f"pre_period_days must be > 0, got {days!r}")
    t0 = log.turns["timestamp"].min().normalize()
    return t0, t0 + pd.Timedelta(days=days)


@dataclass
class CupedComparison:
    """The same test without and with CUPED (pre-period covariates).

    Attributes
    ----------
    table : DataFrame
        Per metric and arm with a covariate: ``covariate``, ``rho``, ``variance reduction``,
        the unadjusted ``lift`` and ``CI``, the ``CUPED lift`` and ``CUPED CI`` and the ``CI width
        ratio`` (CUPED / unadjusted).
    pre_period : (Timestamp, Timestamp)
    n_units : int
        Experiment units (those after the pre-period).
    """

    table: pd.DataFrame
    pre_period: tuple
    n_units: int

    def summary_table(self) -> pd.DataFrame:
        """The comparison table."""
        return self.table

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"pre_period": [str(t) for t in self.pre_period], "n_units": self.n_units,
                "table": self.table.to_dict(orient="records")}


def _ci(lo, hi) -> list[str]:
    return [f"[{a:.4g}, {b:.4g}]" for a, b in zip(lo, hi)]


def cuped_comparison(log, pre_period_days: int = 20, metrics=None, **analyze_options) -> CupedComparison:
    """Analyse the units after the log's first ``pre_period_days`` days with their pre-period
    metrics as CUPED covariates, and set the unadjusted and the adjusted lift side by side.

    ``analyze_options`` go to :func:`toolkit.ab.analyze` (no sequential analysis, Mann-Whitney or
    Bayesian read-out is run: only the intervals are compared).

    Examples
    --------
    >>> from toolkit.sample import load_sample
    >>> c = cuped_comparison(load_sample(), 20, "satisfaction:continuous")
    >>> c.table[["metric", "covariate"]].values.tolist()
    [['satisfaction', 'pre_satisfaction']]
    >>> bool(c.table.loc[0, "CI width ratio"] < 1)
    True
    """
    from toolkit.ab.analysis import analyze

    window = pre_period_window(log, pre_period_days)
    opts = {**analyze_options, "sequential": False, "nonparametric": False, "bayes": False}
    adj = analyze(log, metrics, pre_period=window, **opts)
    t = adj.table
    t = t[t["cuped_covariate"].notna()] if "cuped_covariate" in t else t.iloc[:0]
    table = pd.DataFrame({
        "metric": t["metric"], "arm": t["arm"], "covariate": t.get("cuped_covariate"),
        "rho": t.get("cuped_rho"), "variance reduction": t.get("cuped_variance_reduction"),
        "lift": t.get("unadjusted_abs_lift"),
        "CI": _ci(t.get("unadjusted_abs_ci_low", []), t.get("unadjusted_abs_ci_high", [])),
        "CUPED lift": t["abs_lift"], "CUPED CI": _ci(t["abs_ci_low"], t["abs_ci_high"]),
        "CI width ratio": (t["abs_ci_high"] - t["abs_ci_low"])
        / (t.get("unadjusted_abs_ci_high") - t.get("unadjusted_abs_ci_low"))
        if len(t) else pd.Series(dtype=float),
    }).reset_index(drop=True)
    return CupedComparison(table=table, pre_period=window, n_units=int(sum(adj.n_units.values())))


@dataclass
class PairedSizing:
    """Examples a paired design needs against an unpaired one, per score.

    Attributes
    ----------
    table : DataFrame
        ``metric``, the observed ``difference B - A``, ``r(A, B)`` (correlation on an example),
        ``examples, paired`` / ``examples, unpaired`` to detect that difference and their ratio.
    alpha, power : float
    """

    table: pd.DataFrame
    alpha: float
    power: float

    def summary_table(self) -> pd.DataFrame:
        """The sizing table."""
        return self.table

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"alpha": self.alpha, "power": self.power,
                "table": self.table.to_dict(orient="records")}


def paired_sizing(data, metrics: Sequence[str], *, alpha: float = 0.05, power: float = 0.8,
                  **paired_options) -> PairedSizing:
    """For each score of a paired experiment: the pairs a paired t-test needs to detect the
    observed difference (SD of the per-example differences) and the examples per arm an
    unpaired test needs (pooled SD of both variants), at ``alpha`` and ``power``.

    ``data`` is what :func:`toolkit.ab.paired.paired_table` reads (a long table such as
    :func:`toolkit.ab.replay.replay_experiment`'s); ``paired_options`` go to it.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(0.5, 0.2, 400)
    >>> long = pd.DataFrame({"example_id": np.tile(np.arange(400), 2), "variant": np.repeat(["A", "B"], 400),
    ...                      "score": np.r_[a, a + 0.03 + rng.normal(0, 0.05, 400)]})
    >>> s = paired_sizing(long, ["score"])
    >>> bool(s.table.loc[0, "paired / unpaired"] < 0.2)
    True
    """
    from toolkit.ab.paired import paired_table
    from toolkit.ab.power import plan_means, plan_paired

    wide, _, _ = paired_table(data, metrics=list(metrics), **paired_options)
    rows = []
    for m in metrics:
        a, b = wide[f"{m}_a"], wide[f"{m}_b"]
        diff = float(b.mean() - a.mean())
        pp = plan_paired(mde=diff, sd_diff=float((b - a).std()), alpha=alpha, power=power)
        up = plan_means(mde=diff, sd=float(pd.concat([a, b]).std()), alpha=alpha, power=power)
        rows.append({"metric": m, "difference B - A": diff, "r(A, B)": float(a.corr(b)),
                     "examples, paired": pp.n_total, "examples, unpaired": up.n_total,
                     "paired / unpaired": pp.n_total / up.n_total})
    return PairedSizing(table=pd.DataFrame(rows), alpha=alpha, power=power)


def segment_assignments(path: str = "", *, sample_intents: bool = False) -> pd.DataFrame | None:
    """Segment assignments (``conversation_id`` and a segment column) from a CSV or Parquet file,
    or the bundled sample's intents when ``sample_intents`` and no path; else None.

    Examples
    --------
    >>> segment_assignments("") is None, len(segment_assignments(sample_intents=True)) > 0
    (True, True)
    """
    if path:
        return pd.read_parquet(path) if str(path).endswith(".parquet") else pd.read_csv(path)
    return globals()["sample_intents"]() if sample_intents else None


def sample_intents() -> pd.DataFrame:
    """``conversation_id, intent`` of the bundled sample (from its truth), for segments.

    Examples
    --------
    >>> sample_intents().columns.tolist()
    ['conversation_id', 'intent']
    """
    from toolkit.sample import load_sample_truth

    conv = load_sample_truth()["conversations"]
    return pd.DataFrame({"conversation_id": list(conv), "intent": [v["intent"] for v in conv.values()]})
