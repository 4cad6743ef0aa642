"""Analysing an A/B test on a per-unit table: tests, lifts, effect sizes, SRM, verdicts.

This module runs the analysis (:func:`analyze`, in small named steps, with
:class:`AnalysisOptions`); the pieces live in :mod:`toolkit.ab.metrics` (metric specs),
:mod:`toolkit.ab.frequentist` (the tests, :func:`two_sample_test`), :mod:`toolkit.ab.bootstrap`, :mod:`toolkit.ab.srm`
(sample-ratio mismatch, multiple testing), :mod:`toolkit.ab.verdicts` and
:mod:`toolkit.ab.result`, and their names are importable from here too.

The input is one row per randomisation unit (a conversation or a user) with a variant column
and metric columns -- built from a conversation log by :func:`toolkit.ab.units.units_from_log`,
or given directly. Every treatment arm is compared with the control arm on every metric.

Metric kinds and the formulas used (each row of the result names them):

``binary`` (0/1, True/False)
    two-proportion z-test with pooled variance (= statsmodels ``proportions_ztest``), i.e. the
    score test, with the score interval that inverts it for the difference and for the relative
    lift (:mod:`toolkit.ab.score`), so a significant result never has a CI covering 0; the
    Pearson chi-square without continuity correction (= scipy ``chi2_contingency(...,
    correction=False)``), and Fisher's exact p when an expected cell count is below 5.
    Effect size: Cohen's h.
``continuous``
    Welch's t-test (= scipy ``ttest_ind(equal_var=False)``) with its t-interval, and the
    Mann-Whitney U test (= scipy ``mannwhitneyu``, two-sided). Effect size: Cohen's d (pooled SD).
``ratio`` (``sum(numerator) / sum(denominator)`` per arm, e.g. response time per turn when
conversations are randomised)
    z-test and interval with the delta-method variance of a ratio of means; effect size: d on the
    linearised values.

For every kind the relative lift ``treatment / control - 1`` gets a delta-method normal interval;
percentile and BCa bootstrap intervals (seeded) are added on request. P-values are adjusted
within families (:mod:`toolkit.ab.family`): the **primary** metrics (``primary=``, default the
first) x arms with Holm (family-wise; Benjamini-Hochberg also reported), and only they decide;
the other metrics are **secondary**, corrected among themselves and labelled; **guardrails**
(``guardrails={metric: margin}``) get a one-sided non-inferiority test each. A log whose users
were randomised is analysed per user (:mod:`toolkit.ab.randomisation`), with a note. A sample-ratio-mismatch check (chi-square against the
planned split) flags ``p < 0.001``. When the table has a time column, an always-valid confidence
sequence (:mod:`toolkit.ab.sequential`) is reported beside the fixed-horizon result.

Missing values (``nan_policy="drop"``, the default) are dropped per metric and counted in the
``n_missing_*`` columns; ``nan_policy="raise"`` rejects them. Units with a missing variant are
dropped and counted in ``ABResult.n_missing_variant``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> units = pd.DataFrame({"variant": np.repeat(["A", "B"], 5000),
...                       "resolved": np.r_[rng.random(5000) < 0.30, rng.random(5000) < 0.34],
...                       "latency": rng.gamma(2.0, 1.0, 10000)})
>>> res = analyze(units, "resolved:binary,latency:continuous:lower")
>>> res.table[["metric", "role", "verdict"]].values.tolist()
[['resolved', 'primary', 'winner'], ['latency', 'secondary', 'secondary: no detectable difference']]
>>> res.table.loc[0, "test"]
'two-proportion z (pooled score)'
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Sequence

import numpy as np
import pandas as pd

from toolkit.ab.bayes import Prior, bayes_readout
from toolkit.ab.bootstrap import bootstrap_ci
from toolkit.ab.cuped import CupedFit, pre_period_units
from toolkit.ab.family import adjust_within, family_sizes, guardrail_test, metric_roles
from toolkit.ab.frequentist import TwoSampleResult, _compare_stats, two_sample_test
from toolkit.ab.metrics import (
    KINDS,
    ABInputError,
    Metric,
    infer_metrics,
    need_column,
    parse_allocation,
    parse_metrics,
)
from toolkit.ab.options import AnalysisOptions
from toolkit.ab.prepare import _Arms, _arms, _metric_data, _MetricData, _resolve_arms
from toolkit.ab.quantiles import quantile_diff
from toolkit.ab.randomisation import detect_user_randomisation
from toolkit.ab.result import ABResult
from toolkit.ab.srm import SRMResult, adjust_pvalues, srm_check
from toolkit.ab.units import default_metrics, units_from_log
from toolkit.ab.verdicts import fmt_value as _fmt_val
from toolkit.ab.verdicts import power_for_mde as _power_for_mde
from toolkit.ab.verdicts import verdict as _verdict

__all__ = [
    "ABInputError",
    "Metric",
    "SRMResult",
    "ABResult",
    "AnalysisOptions",
    "analyze",
    "two_sample_test",
    "TwoSampleResult",
    "srm_check",
    "adjust_pvalues",
    "bootstrap_ci",
    "parse_metrics",
    "parse_allocation",
    "infer_metrics",
    "KINDS",
]


def analyze(data, metrics: str | Sequence[Metric | str] | None = None, *,
            options: AnalysisOptions | None = None, engine: str = "pandas", **overrides) -> ABResult:
    """Analyse an A/B test: every treatment arm against control on every metric.

    Parameters
    ----------
    data : DataFrame or ConversationLog
        A per-unit table (one row per randomisation unit), or a conversation log from which
        :func:`toolkit.ab.units.units_from_log` builds one.
    metrics : str or list, optional
        Metric specs (``"resolved:binary,satisfaction:continuous"``, see :func:`parse_metrics`)
        or :class:`Metric` objects. Default: for a log (or a table built from one) resolved,
        satisfaction, mean quality (when scored), response time per turn (ratio) and cost; for
        another table, its numeric columns (0/1 ones as binary). Defaults that are constant or
        empty are skipped with a note; explicitly requested ones raise.
    options : AnalysisOptions, optional
        The settings below in one object (default: their defaults).
    **overrides
        Any field of :class:`AnalysisOptions` as a keyword (``alpha=0.01``); it replaces the
        field of ``options``. The fields:
    variant_col : str
        Column naming the arm of each unit.
    control : str, optional
        Control arm; default ``"control"`` if present, else the first arm in sorted order.
    alpha : float
        Significance level (and 1 - confidence level of the intervals).
    correction : {"holm", "bh", "bonferroni", "none"}
        Multiple-testing correction within each family (primary, secondary) of metrics x arms
        that decides significance (Holm and BH are both always reported).
    planned_allocation : dict, optional
        Planned share per arm for the SRM check (default equal).
    srm_threshold : float
        SRM flagged when its p-value is below this.
    bootstrap : int
        Number of bootstrap resamples for percentile and BCa intervals (0 = none).
    seed : int
        Seed of the bootstrap.
    nan_policy : {"drop", "raise"}
        Missing metric values are dropped and counted, or rejected.
    nonparametric : bool
        Also run Mann-Whitney U on continuous metrics.
    sequential : bool
        Add an always-valid confidence sequence per metric when ``time_col`` exists.
    time_col : str, optional
        Arrival time of each unit (ordering for the sequential analysis).
    default_mde_relative : float
        Planned MDE relative to the control value for metrics without their own ``mde``; the
        verdict reports the power the test had for it (computed from the control variance and the
        arm sizes, not from the observed effect).
    power_target : float
        Below this power a non-significant result is called "underpowered".
    unit : {"conversation", "user"}
        Randomisation unit when ``data`` is a log.
    max_looks : int, optional
        The confidence sequence is evaluated after every unit up to this many units, else at
        this many evenly spaced looks (still valid, and far more often than anyone looks);
        ``None`` = after every unit.
    covariates : dict or "auto", optional
        CUPED: ``{metric name: covariate column}`` of the per-unit table (the same metric
        before the experiment, say), or ``{metric name: [column, ...]}`` for a regression
        adjustment with several covariates (categorical ones as dummies;
        :func:`toolkit.ab.cuped.regression_adjust`); ``"auto"`` uses the ``pre_<column>`` columns that are
        present (what ``pre_period`` adds). See :mod:`toolkit.ab.cuped`.
    pre_period : (start, end), optional
        For a log: analyse the units that started at or after ``end``, with each unit's
        metrics over its user's conversations in ``[start, end)`` as CUPED covariates
        (:func:`toolkit.ab.cuped.pre_period_units`); implies ``covariates="auto"``.
    bayes : bool
        Add the Bayesian read-out (:mod:`toolkit.ab.bayes`): chance to win, risk of shipping
        each arm, credible interval of the lift.
    prior_mean, prior_sd : float
        Normal prior on the lift (``prior_sd=None``: flat, the default).
    bayes_scale : {"relative", "absolute"}
        Lift the posterior (and the prior) is on.
    quantiles : tuple of float
        Quantiles (e.g. ``(0.5, 0.9, 0.95)``) of per-turn response time (for a log; resampled
        by conversation) or of each continuous metric (for a table), in ``ABResult.quantiles``.
    quantile_resamples : int
        Poisson-bootstrap resamples for the quantile CIs.
    primary : str or list of str, optional
        The primary metric(s): corrected together (metrics x arms) and the ones that decide;
        default the first metric; ``"all"``: every non-guardrail metric. The others are
        secondary (corrected among themselves, verdicts labelled ``secondary: ...``).
    guardrails : dict, optional
        ``{metric: margin}``: one-sided "not worse than ``margin``" tests (absolute, in the
        metric's units), verdicts ``guardrail held / breached / inconclusive``.
    unit_check : {"switch", "stop"}
        When ``data`` is a log analysed per conversation but its users were randomised (every
        user's conversations share one variant; :mod:`toolkit.ab.randomisation`): analyse per
        user with a note (``"switch"``, ``ABResult.unit``) or raise (``"stop"``).
    engine : {"pandas", "dask"}
        ``"dask"``: ``data`` is a :class:`toolkit.dask_engine.read.DaskLog` (or a path to one); the unit
        table is built on the cluster and reduced to per-arm sufficient statistics
        (:mod:`toolkit.ab.moments`), on which the same tests, intervals, power, Bayesian read-out
        and verdicts run (equal to the pandas engine to 1e-9). Mann-Whitney and the sequential
        analysis need every unit and are left out (noted); a bootstrap, CUPED covariates and
        quantiles are refused. Conversation units only.

    Returns
    -------
    ABResult

    Raises
    ------
    ABInputError
        One arm only, unknown control, missing or non-numeric columns, constant metrics,
        non-binary values in a binary metric, fewer than 2 units in an arm, or missing values
        with ``nan_policy="raise"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> units = pd.DataFrame({"variant": rng.choice(["A", "B"], 4000),
    ...                       "x": rng.normal(10, 2, 4000)})
    >>> r = analyze(units, "x:continuous")
    >>> r.control, r.srm.flagged, r.table.loc[0, "verdict"]
    ('A', False, 'no detectable difference')
    >>> r2 = analyze(units, "x:continuous", options=AnalysisOptions(alpha=0.01))
    >>> r2.alpha, analyze(units, "x:continuous", alpha=0.01).table.equals(r2.table)
    (0.01, True)
    """
    from toolkit.dask_engine.client import check_engine

    opts = AnalysisOptions.build(options, **overrides)
    notes: list[str] = []
    if check_engine(engine) == "dask":
        units, arms, mlist, explicit, metric_data = _dask_source(data, metrics, opts, notes)
        compare_opts = replace(opts, nonparametric=False, sequential=False)
    else:
        units, curated, unit_used = _unit_table(data, opts, notes)
        if unit_used != opts.unit:
            opts = replace(opts, unit=unit_used)
        mlist, explicit = _metric_list(metrics, units, curated, opts)
        arms = _arms(units, opts, notes)
        compare_opts = opts

        def metric_data(metric):
            return _metric_data(units, metric, arms, opts, explicit, notes)

    srm = srm_check(arms.n_units, opts.planned_allocation, opts.srm_threshold)
    if srm.flagged:
        notes.append(srm.message)
    order = None if units is None else _arrival_order(units, opts, notes)
    prepared = [(mi, metric, md) for mi, metric in enumerate(mlist)
                if (md := metric_data(metric)) is not None]
    used: list[Metric] = [m for _, m, _ in prepared]
    roles, a_level = _families(used, arms, opts)
    rows: list[dict] = []
    seq_results: dict[str, Any] = {}
    for mi, metric, md in prepared:
        for ti, arm in enumerate(arms.treatments):
            row = _compare_arm(metric, md, arms, arm, compare_opts, a_level[metric.name])
            row["role"] = roles[metric.name]
            if opts.bootstrap:
                row.update(_bootstrap_columns(metric, md, arms, arm, opts,
                                              seed=[opts.seed, mi, ti]))
            if order is not None:
                row.update(_sequential_columns(units, metric, md, arms, arm, order, opts, notes,
                                               seq_results))
            rows.append(row)
    if not rows:
        raise ABInputError("no metric could be analysed: " + "; ".join(notes))
    table = _decide(pd.DataFrame(rows), used, arms.control, opts, srm)
    quant = _quantile_table(data, units, used, arms, opts) if opts.quantiles else None
    return ABResult(variant_col=opts.variant_col, control=arms.control,
                    treatments=arms.treatments, n_units=arms.n_units,
                    n_missing_variant=arms.n_missing_variant, alpha=opts.alpha,
                    correction=opts.correction, srm=srm, table=table, metrics=used,
                    sequential=seq_results, notes=notes, quantiles=quant,
                    primary=[n for n, r in roles.items() if r == "primary"],
                    guardrails=dict(opts.guardrails or {}), unit=opts.unit)


# ------------------------------------------------------------------------------------------
# the steps of analyze
# ------------------------------------------------------------------------------------------


def _unit_table(data, opts: AnalysisOptions, notes: list[str]) -> tuple[pd.DataFrame, bool, str]:
    """The per-unit table, whether it was built from a log (then its metrics are known) and the
    unit; a log whose users were randomised is analysed per user (with a note) or refused
    (``unit_check="stop"``), never per conversation silently."""
    unit = opts.unit
    if isinstance(data, pd.DataFrame):
        units, curated = data, False
        if {"conversation_id", "user_id"} <= set(units.columns) and opts.variant_col in units:
            check = detect_user_randomisation(units, variant_col=opts.variant_col)
            if check.user_randomised:
                raise ABInputError(
                    f"{check.message}, but this table has one row per conversation: aggregate "
                    "it per user (or pass the conversation log with unit='user')")
    elif hasattr(data, "turns") and hasattr(data, "conversations"):
        if unit == "conversation" and opts.variant_col == "variant":
            check = detect_user_randomisation(data.conversations)
            if check.user_randomised:
                if opts.unit_check == "stop":
                    raise ABInputError(f"{check.message}; analysing conversations as "
                                       "independent units would understate the standard "
                                       "errors: rerun with unit='user' (--unit user)")
                unit = "user"
                notes.append(f"randomisation unit switched to the user: {check.message}; "
                             "conversations of one user are not independent "
                             "(unit_check='stop' refuses instead)")
        if opts.pre_period is not None:
            units = pre_period_units(data, *opts.pre_period, unit=unit)[0]
        else:
            units = units_from_log(data, unit=unit)
        curated = True
    else:
        raise ABInputError(f"data must be a per-unit DataFrame or a ConversationLog, "
                           f"got {type(data).__name__}")
    need_column(units, opts.variant_col, f"variant column {opts.variant_col!r} not found")
    return units, curated, unit


def _metric_list(metrics, units: pd.DataFrame, curated: bool,
                 opts: AnalysisOptions) -> tuple[list[Metric], bool]:
    """The metrics to analyse and whether they were asked for (then problems raise)."""
    explicit = metrics is not None
    if metrics is None:
        if curated or {"total_response_time_s", "n_turns"} <= set(units.columns):
            mlist = default_metrics(units)
        else:
            excl = {opts.variant_col, opts.time_col} | {
                c for c in units.columns if pd.api.types.is_datetime64_any_dtype(units[c])}
            mlist = infer_metrics(units, exclude=excl)
        if not mlist:
            raise ABInputError("no metric columns found in the per-unit table; name them with metrics= "
                               "(--metrics on the command line), e.g. 'resolved:binary'")
    elif isinstance(metrics, str):
        mlist = parse_metrics(metrics)
    else:
        mlist = [m if isinstance(m, Metric) else parse_metrics(m)[0] for m in metrics]
    names = [m.name for m in mlist]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ABInputError(f"duplicate metric names: {dup}")
    return mlist, explicit


def _arrival_order(units: pd.DataFrame, opts: AnalysisOptions,
                   notes: list[str]) -> np.ndarray | None:
    """Units sorted by arrival for the confidence sequences (None: no sequential analysis)."""
    if not opts.sequential:
        return None
    if not (opts.time_col and opts.time_col in units.columns):
        notes.append("sequential analysis skipped: no time column "
                     f"{opts.time_col!r} to order the units by arrival")
        return None
    tcol = units[opts.time_col]
    if isinstance(tcol.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(
            tcol.dtype):
        # int64 nanoseconds: tz-aware to_numpy() would build an object array (slow)
        key = tcol.array.asi8 if hasattr(tcol.array, "asi8") else tcol.to_numpy()
    else:
        key = tcol.to_numpy()
    return np.argsort(key, kind="stable")


def _compare_arm(metric: Metric, md: _MetricData, arms: _Arms, arm: str,
                 opts: AnalysisOptions, a_comp: float) -> dict[str, Any]:
    """The frequentist comparison of one arm with control, with the power for the MDE."""
    stats_c, stats_t = md.arm(arms.control), md.arm(arm)
    xc = xt = None
    if metric.kind == "continuous" and opts.nonparametric:
        xv = md.x[md.ok]
        xc, xt = xv[md.codes == arms.index[arms.control]], xv[md.codes == arms.index[arm]]
    res = _compare_stats(metric.kind, stats_c, stats_t, xc, xt, alpha=opts.alpha,
                         nonparametric=opts.nonparametric)
    post_c, post_t = stats_c, stats_t
    if md.cuped is not None:
        res, post_c, post_t = _cuped_result(res, md, arms.control, arm, opts)
    if opts.bayes:
        res.update(bayes_readout(post_c[1], post_c[2], post_t[1], post_t[2],
                                 scale=opts.bayes_scale,
                                 prior=Prior(opts.prior_mean, opts.prior_sd), alpha=opts.alpha,
                                 higher_is_better=metric.higher_is_better))
    mde = metric.mde
    if mde is None:
        rel = (metric.mde_relative if metric.mde_relative is not None
               else opts.default_mde_relative)
        mde = rel * abs(stats_c[1]) if rel else math.nan
    pooled = ((stats_c[0] - 1) * stats_c[3] + (stats_t[0] - 1) * stats_t[3]) / (
        stats_c[0] + stats_t[0] - 2)
    res["power_at_mde"] = _power_for_mde(metric.kind, stats_c[0], stats_t[0], stats_c[1],
                                         stats_c[3], pooled, mde, a_comp)
    return {"metric": metric.name, "kind": metric.kind, "arm": arm, "control": arms.control,
            "higher_is_better": metric.higher_is_better,
            "n_missing_control": md.stats.missing(arms.control),
            "n_missing_treatment": md.stats.missing(arm),
            **res, "mde": mde}


def _cuped_result(raw: dict[str, Any], md: _MetricData, control: str, arm: str,
                  opts: AnalysisOptions) -> tuple[dict[str, Any], tuple, tuple]:
    """The comparison on CUPED-adjusted values (Welch t on them), the unadjusted lift kept in
    ``unadjusted_*`` columns; also the adjusted arm statistics for the Bayesian read-out."""
    adj_c, adj_t = md.arm(control, adjusted=True), md.arm(arm, adjusted=True)
    res = _compare_stats("continuous", adj_c, adj_t, alpha=opts.alpha, nonparametric=False)
    fit = md.cuped
    out = dict(raw)
    out.update({k: res[k] for k in ("abs_lift", "se", "abs_ci_low", "abs_ci_high", "p_value",
                                    "statistic", "rel_lift", "rel_se", "rel_ci_low",
                                    "rel_ci_high")})
    out.update(
        test=(f"CUPED-adjusted Welch t-test (covariate {md.covariate})"
              if isinstance(fit, CupedFit) else
              f"regression-adjusted Welch t-test (covariates {md.covariate}; = OLS ANCOVA "
              "treatment coefficient)"),
        ci_method="Welch t-interval on CUPED-adjusted values",
        unadjusted_abs_lift=raw["abs_lift"], unadjusted_abs_ci_low=raw["abs_ci_low"],
        unadjusted_abs_ci_high=raw["abs_ci_high"], unadjusted_p_value=raw["p_value"],
        unadjusted_test=raw["test"], cuped_covariate=md.covariate, cuped_theta=fit.theta,
        cuped_rho=fit.rho, cuped_n_missing_covariate=fit.n_missing_covariate,
        cuped_r_squared=fit.rho ** 2,
        cuped_variance_reduction=1.0 - res["se"] ** 2 / raw["se"] ** 2 if raw["se"] > 0
        else float("nan"))
    return out, adj_c, adj_t


def _quantile_table(data, units: pd.DataFrame, used: list[Metric], arms: _Arms,
                    opts: AnalysisOptions) -> pd.DataFrame:
    """Quantile differences per arm: per-turn response time for a log (resampled by
    conversation), else every continuous metric of the table."""
    if hasattr(data, "turns") and hasattr(data, "conversations"):
        if opts.unit != "conversation":
            raise ABInputError("quantiles of per-turn response time need conversation units")
        turns = data.turns[["conversation_id", "response_time_s"]].merge(
            units[["conversation_id", opts.variant_col]], on="conversation_id")
        series = [("response_time_s", turns, "response_time_s", "conversation_id")]
    else:
        series = [(m.name, units, m.column, None) for m in used if m.kind == "continuous"]
    parts = []
    for si, (name, frame, col, cluster) in enumerate(series):
        v = frame[opts.variant_col].astype("string")
        vals = pd.to_numeric(frame[col], errors="coerce")
        for ti, arm in enumerate(arms.treatments):
            sel_c, sel_t = (v == arms.control).fillna(False), (v == arm).fillna(False)
            clusters = (None, None) if cluster is None else (frame.loc[sel_c, cluster],
                                                             frame.loc[sel_t, cluster])
            t = quantile_diff(vals[sel_c], vals[sel_t], opts.quantiles,
                              control_clusters=clusters[0], treatment_clusters=clusters[1],
                              n_resamples=opts.quantile_resamples, alpha=opts.alpha,
                              seed=[opts.seed, 7, si, ti])
            t.insert(0, "arm", arm)
            t.insert(0, "metric", name)
            parts.append(t)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _bootstrap_columns(metric: Metric, md: _MetricData, arms: _Arms, arm: str,
                       opts: AnalysisOptions, seed) -> dict[str, Any]:
    """Percentile and BCa bootstrap intervals of the absolute and relative lift."""
    sel_c, sel_t = md.codes == arms.index[arms.control], md.codes == arms.index[arm]
    xv = md.x[md.ok]
    dv = md.den[md.ok] if md.den is not None else None
    both = bootstrap_ci(xv[sel_c], xv[sel_t], kind=metric.kind, statistic="both",
                        control_den=None if dv is None else dv[sel_c],
                        treatment_den=None if dv is None else dv[sel_t],
                        n_resamples=opts.bootstrap, alpha=opts.alpha, seed=seed)
    out: dict[str, Any] = {}
    for stat_name, prefix in (("diff", "boot_abs"), ("rel", "boot_rel")):
        b = both[stat_name]
        out[f"{prefix}_pct_low"] = b["percentile_low"]
        out[f"{prefix}_pct_high"] = b["percentile_high"]
        out[f"{prefix}_bca_low"] = b["bca_low"]
        out[f"{prefix}_bca_high"] = b["bca_high"]
    out["bootstrap_method"] = (f"percentile and BCa, {opts.bootstrap} resamples, "
                               f"seed {opts.seed}")
    return out


def _sequential_columns(units: pd.DataFrame, metric: Metric, md: _MetricData, arms: _Arms,
                        arm: str, order: np.ndarray, opts: AnalysisOptions, notes: list[str],
                        seq_results: dict[str, Any]) -> dict[str, Any]:
    """The always-valid confidence sequence of one comparison (stored in ``seq_results``)."""
    from toolkit.ab.sequential import confidence_sequence

    ic, it = arms.index[arms.control], arms.index[arm]
    sel = np.isin(arms.codes[order], (ic, it)) & md.ok[order]
    oi = order[sel]
    try:
        sq = confidence_sequence(
            md.x[oi], arms.codes[oi] == it, denominator=None if md.den is None else md.den[oi],
            times=units[opts.time_col].iloc[oi], alpha=opts.alpha, max_looks=opts.max_looks)
    except ValueError as exc:
        notes.append(f"sequential analysis for {metric.name!r} / {arm!r} skipped: {exc}")
        return {}
    seq_results[f"{metric.name}|{arm}"] = sq
    return dict(seq_low=sq.cs_low, seq_high=sq.cs_high, seq_p=sq.p_value,
                seq_rejected=sq.rejected, seq_method=sq.method)


def _families(used: list[Metric], arms: _Arms, opts: AnalysisOptions
              ) -> tuple[dict[str, str], dict[str, float]]:
    """Each metric's role and the per-comparison level for the power quoted in its verdict: the
    Bonferroni level of its family (a lower bound on the power under Holm or BH)."""
    roles = metric_roles(used, opts.primary, opts.guardrails)
    sizes = family_sizes(roles, len(arms.treatments))
    level = {}
    for name, role in roles.items():
        if opts.correction == "none" or role == "guardrail":
            level[name] = opts.alpha
        else:
            level[name] = opts.alpha / max(sizes[role], 1)
    return roles, level


def _decide(table: pd.DataFrame, used: list[Metric], control: str, opts: AnalysisOptions,
            srm: SRMResult) -> pd.DataFrame:
    """Adjusted p-values within each family (Holm, BH, the chosen one), significance, the
    guardrail tests and the verdicts."""
    table["p_holm"] = adjust_within(table, "p_value", "holm", adjust_pvalues)
    table["p_bh"] = adjust_within(table, "p_value", "bh", adjust_pvalues)
    table["p_adjusted"] = adjust_within(table, "p_value", opts.correction, adjust_pvalues)
    table["correction"] = [f"{opts.correction} within {r} metrics" if r != "guardrail"
                           else "none (each guardrail must hold)" for r in table["role"]]
    table["significant"] = table["p_adjusted"] < opts.alpha
    if "seq_p" in table:
        table["seq_p_unadjusted"] = table["seq_p"]
        table["seq_p"] = adjust_within(table, "seq_p", opts.correction, adjust_pvalues)
        table["seq_rejected"] = table["seq_p"] <= opts.alpha
    mmap = {m.name: m for m in used}
    guards = opts.guardrails or {}
    if guards:
        grows = [guardrail_test(r, guards[r["metric"]], mmap[r["metric"]].higher_is_better,
                                opts.alpha) if r["role"] == "guardrail" else {}
                 for r in table.to_dict(orient="records")]
        for col in ("guardrail_margin", "guardrail_p", "guardrail_status", "guardrail_bound"):
            table[col] = [g.get(col, math.nan if col != "guardrail_status" else None)
                          for g in grows]
    verdicts = [_role_verdict(r, mmap[r["metric"]], control, opts)
                for r in table.to_dict(orient="records")]
    table["verdict"] = [v[0] for v in verdicts]
    table["verdict_text"] = [v[1] for v in verdicts]
    if srm.flagged:
        table["verdict_text"] = "[SRM: do not trust] " + table["verdict_text"]
    return table


def _role_verdict(r: dict, metric: Metric, control: str, opts: AnalysisOptions
                  ) -> tuple[str, str]:
    """The verdict of a row by its role: primary as before, secondary labelled, guardrails
    held / breached / inconclusive."""
    if r["role"] == "guardrail":
        st = r["guardrail_status"]
        word = "lower" if metric.higher_is_better else "higher"
        bound = _fmt_val(metric.kind, r["guardrail_bound"])
        margin = _fmt_val(metric.kind, r["guardrail_margin"]).lstrip("+")
        lift = _fmt_val(metric.kind, r["abs_lift"])
        txt = {"held": "holds: not worse than", "breached": "breached: worse than",
               "inconclusive": "inconclusive: cannot rule out worse than"}[st]
        return f"guardrail {st}", (
            f"guardrail {metric.name}: {r['arm']} {txt} {control} by the margin {margin} "
            f"(lift {lift}, one-sided {1 - opts.alpha:.0%} bound {bound}, non-inferiority "
            f"p = {r['guardrail_p']:.2g}; a {word} value is worse).")
    label, text = _verdict(r, metric, control, opts.alpha, opts.correction, opts.power_target)
    if r["role"] == "secondary":
        return f"secondary: {label}", f"[secondary, {opts.correction} among secondary metrics] {text}"
    return label, text


# ------------------------------------------------------------------------------------------
# engine="dask": the same statistics from per-arm sufficient statistics
# ------------------------------------------------------------------------------------------


def _dask_source(data, metrics, opts: AnalysisOptions, notes: list[str]):
    """The arms and the per-metric statistics of a :class:`~toolkit.dask_engine.read.DaskLog`: the
    unit table is built on the cluster and reduced to :class:`~toolkit.ab.moments.MetricSums`."""
    from toolkit.ab.moments import arm_stats, dask_arm_sums
    from toolkit.ab.randomisation import check_counts
    from toolkit.ab.units import candidate_metrics
    from toolkit.dask_engine.ab import user_variant_counts
    from toolkit.dask_engine.read import DaskLog, read_log

    if opts.bootstrap:
        raise ABInputError(f"bootstrap={opts.bootstrap} is not available with engine='dask': resampling "
                           "needs every unit in one place; the delta-method and t intervals are reported "
                           "(or run the pandas engine on a sample of the log)")
    if opts.covariates or opts.pre_period or opts.quantiles:
        raise ABInputError("engine='dask' computes no CUPED covariates or quantiles yet: leave out "
                           "covariates=, pre_period= and quantiles= (or use the pandas engine)")
    if opts.unit != "conversation":
        raise ABInputError(f"engine='dask' analyses conversation units, not unit={opts.unit!r}")
    dlog = data if isinstance(data, DaskLog) else read_log(data)
    counts = user_variant_counts(dlog, opts.variant_col)
    if counts is not None and (check := check_counts(*counts)).user_randomised:
        raise ABInputError(f"{check.message}; engine='dask' analyses conversation "
                           "units: run the pandas engine (it switches to the user unit)")
    example = units_from_log(dlog.example)
    explicit = metrics is not None
    mlist = (candidate_metrics(example.columns) if not explicit
             else _metric_list(metrics, example, True, opts)[0])
    n_units, n_missing_variant, sums = dask_arm_sums(dlog, units_from_log, opts.variant_col, mlist)
    notes.append("engine='dask': Mann-Whitney and the sequential analysis need every unit and were "
                 "not run")
    arm_list, control = _resolve_arms(pd.Series(list(n_units), dtype="string"), opts.variant_col,
                                      opts.control)
    if n_missing_variant:
        notes.append(f"{n_missing_variant:,} units without a variant were left out")
    arms = _Arms.of(arm_list, control, {a: n_units[a] for a in arm_list}, n_missing_variant)

    def metric_data(metric: Metric) -> _MetricData | None:
        s = sums[metric.name]
        if not explicit and _default_would_skip(s, metric, arm_list):
            return None
        st = arm_stats(s, metric, arm_list, lambda est, mean_d: s.ss.reindex(arm_list).fillna(0.0).to_numpy(),
                       nan_policy=opts.nan_policy, explicit=explicit, notes=notes)
        return None if st is None else _MetricData(stats=st)

    return None, arms, mlist, explicit, metric_data


def _default_would_skip(s, metric: Metric, arms: list[str]) -> bool:
    """What :func:`toolkit.ab.units.default_metrics` leaves out (on the units with a variant)."""
    if s.per_arm.reindex(arms)["n"].sum() < 4 or s.lo["min_x"] == s.hi["max_x"]:
        return True
    if metric.kind == "ratio":
        return not (s.hi["max_d"] > s.lo["min_d"] and s.hi["max_ratio"] > s.lo["min_ratio"])
    return False
