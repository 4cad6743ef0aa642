"""Repeated runs of a prompt experiment, read honestly: examples are the unit, repetitions nest.

A prompt experiment sends the same test set to every variant, ``repetitions`` times each, because
one run of an LLM is one draw: the same example can pass on one run and fail on the next. The run
log therefore has three keys (``variant``, ``example_id``, ``repetition``) and a score per row.
:func:`analyze_repeated` reads such a log (a frame or a ``ConversationLog``; one error naming the
column or option it cannot use) and puts together, per treatment against the control:

* the lift with examples as the unit: a paired t-test on the per-example means over the
  repetitions, a cluster bootstrap beside it, p-values corrected across treatments (Holm by
  default) and a verdict (:mod:`toolkit.experiments.lift`);
* the variance split per variant (between examples, run to run) and of the per-example
  differences (:mod:`toolkit.experiments.lift`);
* the flaky examples (:mod:`toolkit.experiments.flaky`);
* the naive analysis that counts every repetition as an example, for contrast
  (:func:`toolkit.experiments.lift.naive_repetition_test`).

The result is a :class:`toolkit.experiments.result.RepeatedResult` (tables, verdicts, figures,
the plan of a follow-up experiment).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> n, r = 40, 3
>>> u = rng.normal(0, 1, n)
>>> rows = [(v, f"ex{i}", k, u[i] + (0.4 if v == "B" else 0.0) + rng.normal(0, 0.5))
...         for v in "AB" for i in range(n) for k in range(r)]
>>> runs = pd.DataFrame(rows, columns=["variant", "example_id", "repetition", "quality"])
>>> res = analyze_repeated(runs, "quality")
>>> row = res.comparisons.iloc[0]
>>> row["treatment"], int(row["n_examples"]), bool(row["ci_low"] < 0.4 < row["ci_high"])
('B', 40, True)
>>> res.summary_table()["analysis"].tolist()
['examples as units (paired t)', 'cluster bootstrap', 'naive: repetitions as examples']
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from toolkit.ab.paired import t_test_differences
from toolkit.experiments.flaky import flaky_examples
from toolkit.experiments.lift import MAX_BOOTSTRAP, _bootstrap_ci, _components_unbalanced
from toolkit.experiments.result import ExperimentAnalysisError, RepeatedResult

__all__ = ["analyze_repeated"]


# ------------------------------------------------------------------------------------------
# the run log
# ------------------------------------------------------------------------------------------


def _prepare(runs, metric, variant_col, example_col, repetition_col):
    df = runs.turns if isinstance(getattr(runs, "turns", None), pd.DataFrame) else runs
    if not isinstance(df, pd.DataFrame):
        raise ExperimentAnalysisError(
            f"runs must be a DataFrame or a ConversationLog, got {type(runs).__name__}")
    need = [variant_col, example_col, repetition_col, metric]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ExperimentAnalysisError(
            f"the run log has no column(s) {missing}; it needs {need} (have {list(df.columns)[:20]})")
    col = df[metric]
    if pd.api.types.is_bool_dtype(col) or str(col.dtype) == "boolean":
        values = col.astype("Float64").astype(float)
    elif pd.api.types.is_numeric_dtype(col):
        values = col.astype(float)
    else:  # an object column: True/False/None (pass/fail with missing grades) or numbers
        num = pd.to_numeric(col.map(lambda v: float(v) if isinstance(v, (bool, np.bool_)) else v),
                            errors="coerce")
        bad = col[num.isna() & col.notna()]
        if len(bad):
            raise ExperimentAnalysisError(
                f"metric column {metric!r} must be numeric or boolean (pass/fail); rows "
                f"{bad.index[:5].tolist()} hold {bad.astype(str).str.slice(0, 30).head(3).tolist()}")
        values = num.astype(float)
    if np.isinf(values.to_numpy()).any():
        rows = values.index[np.isinf(values.to_numpy())][:5].tolist()
        raise ExperimentAnalysisError(f"metric column {metric!r} has infinite values in rows {rows}")
    out = pd.DataFrame({"variant": df[variant_col].astype("string"),
                        "example_id": df[example_col].astype("string"),
                        "repetition": df[repetition_col], "y": values})
    for c in ("variant", "example_id"):
        if out[c].isna().any():
            rows = out.index[out[c].isna()][:5].tolist()
            raise ExperimentAnalysisError(f"column {({'variant': variant_col, 'example_id': example_col})[c]!r} "
                                          f"is empty in rows {rows}")
    dup = out.duplicated(["variant", "example_id", "repetition"], keep=False)
    if dup.any():
        rows = out.index[dup][:5].tolist()
        raise ExperimentAnalysisError(
            f"duplicate ({variant_col}, {example_col}, {repetition_col}) keys in rows {rows}: "
            f"one row per call is expected (one turn per example, or filter to the scored turn)")
    n_missing = int(out["y"].isna().sum())
    return out.dropna(subset=["y"]), n_missing


def _cells(data: pd.DataFrame) -> pd.DataFrame:
    g = data.groupby(["variant", "example_id"], sort=False)["y"]
    cells = g.agg(n="count", mean="mean", var="var").reset_index()
    cells["var"] = cells["var"].where(cells["n"] > 1)
    return cells


# ------------------------------------------------------------------------------------------
# the analysis
# ------------------------------------------------------------------------------------------


def analyze_repeated(
    runs,
    metric: str = "quality",
    *,
    control: str | None = None,
    treatments: Sequence[str] | None = None,
    alpha: float = 0.05,
    flaky_alpha: float = 0.05,
    n_boot: int = 2000,
    seed: int = 0,
    correction: str = "holm",
    variant_col: str = "variant",
    example_col: str = "example_id",
    repetition_col: str = "repetition",
) -> RepeatedResult:
    """Compare variants on a repeated-runs log with examples as the unit (see the module).

    Parameters
    ----------
    runs : DataFrame or ConversationLog
        One row per call: ``variant``, ``example_id``, ``repetition`` and the ``metric``. Rows
        whose metric is missing (failed calls, unscored turns) are left out and counted.
    metric : str
        A numeric score (``quality``, ``judge_*``) or a pass/fail column (bool or 0/1).
    control : str, optional
        The baseline variant; default the first variant in the log (a runner's log is ordered
        by conversation id, so name it).
    treatments : list of str, optional
        Variants compared with the control; default every other variant.
    alpha : float
        1 - confidence level; the tests are two-sided.
    flaky_alpha : float
        Score metrics: the chance of flagging any example when none is flaky.
    n_boot : int
        Cluster-bootstrap resamples (0 to skip; at most 100,000).
    seed : int
        Seed of the bootstrap.
    correction : str
        Multiple-testing correction of the p-values across treatments: ``holm``, ``bh``,
        ``bonferroni`` or ``none``.

    Returns
    -------
    RepeatedResult

    Examples
    --------
    >>> runs = pd.DataFrame({"variant": list("AAAABBBB"), "example_id": list("xxyyxxyy"),
    ...                      "repetition": [0, 1] * 4, "passed": [1, 1, 0, 1, 1, 1, 1, 1]})
    >>> res = analyze_repeated(runs, "passed")
    >>> res.binary, round(float(res.comparisons.loc[0, "lift"]), 3)
    (True, 0.25)
    >>> res.flaky_examples[["variant", "example_id"]].values.tolist()
    [['A', 'y']]
    """
    from toolkit.ab.srm import adjust_pvalues

    if not 0 < alpha < 1:
        raise ExperimentAnalysisError(f"alpha must be in (0, 1), got {alpha!r}")
    if not 0 < flaky_alpha < 1:
        raise ExperimentAnalysisError(f"flaky_alpha must be in (0, 1), got {flaky_alpha!r}")
    if not 0 <= int(n_boot) <= MAX_BOOTSTRAP:
        raise ExperimentAnalysisError(f"n_boot must be in [0, {MAX_BOOTSTRAP}], got {n_boot!r}")
    if correction not in ("holm", "bh", "bonferroni", "none"):
        raise ExperimentAnalysisError(f"correction must be holm, bh, bonferroni or none, got {correction!r}")
    data, n_missing = _prepare(runs, metric, variant_col, example_col, repetition_col)
    if data.empty:
        raise ExperimentAnalysisError(f"no row of the run log has a value in {metric!r}")
    variants = list(dict.fromkeys(data["variant"].tolist()))
    control = variants[0] if control is None else str(control)
    if control not in variants:
        raise ExperimentAnalysisError(f"control variant {control!r} is not in column {variant_col!r} "
                                      f"(have {variants[:10]})")
    treats = [v for v in variants if v != control] if treatments is None else [str(t) for t in treatments]
    unknown = [t for t in treats if t not in variants or t == control]
    if unknown or not treats:
        raise ExperimentAnalysisError(
            f"treatments {unknown or treats} must be variants other than the control {control!r} "
            f"(have {variants[:10]})")
    binary = bool(data["y"].isin([0.0, 1.0]).all())

    cells = _cells(data)
    variance = pd.DataFrame([{"variant": v, **_components_unbalanced(cells[cells["variant"] == v])}
                             for v in [control, *treats]])
    flaky = flaky_examples(cells, binary=binary, flaky_alpha=flaky_alpha)
    vw = variance.set_index("variant")["var_within"]
    by = cells.set_index(["variant", "example_id"])

    comps, per_ex, notes = [], [], []
    n_unpaired = 0
    for t in treats:
        c_cells, t_cells = by.loc[control], by.loc[t]
        common = c_cells.index.intersection(t_cells.index)
        n_unpaired += len(c_cells.index.union(t_cells.index)) - len(common)
        if len(common) < 2:
            raise ExperimentAnalysisError(
                f"variants {control!r} and {t!r} share {len(common)} example(s) with a score; "
                f"a paired comparison needs at least 2")
        cc, tc = c_cells.loc[common], t_cells.loc[common]
        d = (tc["mean"] - cc["mean"]).to_numpy(float)
        res = {k: (float(v) if np.ndim(v) == 0 else v) for k, v in t_test_differences(d, alpha).items()}
        boot = _bootstrap_ci(d, alpha, int(n_boot), seed)
        # run-to-run part of var(d): sigma_wc^2 / r_c + sigma_wt^2 / r_t, averaged over examples
        w_c = float(vw[control]) if vw[control] == vw[control] else 0.0
        w_t = float(vw[t]) if vw[t] == vw[t] else 0.0
        noise_i = w_c / cc["n"].to_numpy(float) + w_t / tc["n"].to_numpy(float)
        var_d = float(np.var(d, ddof=1))
        var_rr = float(noise_i.mean())
        var_bd = max(0.0, var_d - var_rr)
        # naive: pairs of (example, repetition) present in both variants
        sub = data[data["variant"].isin([control, t]) & data["example_id"].isin(common)]
        wide = sub.pivot_table(index=["example_id", "repetition"], columns="variant", values="y",
                               aggfunc="first").dropna()
        dn = (wide[t] - wide[control]).to_numpy(float)
        naive = t_test_differences(dn, alpha) if len(dn) >= 2 else {k: math.nan for k in res}
        reps = float(np.mean(np.concatenate([cc["n"].to_numpy(float), tc["n"].to_numpy(float)])))
        mean_c = float(cc["mean"].mean())
        comps.append({
            "control": control, "treatment": t, "n_examples": len(common), "repetitions": reps,
            "mean_control": mean_c, "mean_treatment": float(tc["mean"].mean()),
            "lift": res["lift"], "rel_lift": res["lift"] / mean_c if mean_c else math.nan,
            "se": res["se"], "ci_low": res["ci_low"], "ci_high": res["ci_high"], "t": res["t"],
            "df": res["df"], "p_value": res["p_value"],
            "d_z": res["lift"] / res["sd"] if res["sd"] > 0 else math.nan,
            "boot_ci_low": boot[0], "boot_ci_high": boot[1],
            "naive_units": int(len(dn)), "naive_lift": float(naive["lift"]), "naive_se": float(naive["se"]),
            "naive_ci_low": float(naive["ci_low"]), "naive_ci_high": float(naive["ci_high"]),
            "naive_p_value": float(naive["p_value"]),
            "se_ratio": float(naive["se"]) / res["se"] if res["se"] > 0 else math.nan,
            "var_diff": var_d, "var_between_diff": var_bd, "var_run_to_run": var_rr,
            "share_run_to_run": min(1.0, var_rr / var_d) if var_d > 0 else math.nan,
        })
        se_i = np.sqrt(noise_i)
        flaky_ids = set(flaky.loc[flaky["flaky"] & flaky["variant"].isin([control, t]), "example_id"])
        per_ex.append(pd.DataFrame({
            "treatment": t, "example_id": np.asarray(common, dtype=object),
            "mean_control": cc["mean"].to_numpy(float), "mean_treatment": tc["mean"].to_numpy(float),
            "diff": d, "se": se_i, "n_control": cc["n"].to_numpy(int), "n_treatment": tc["n"].to_numpy(int),
            "flaky": [e in flaky_ids for e in common]}))
        if len(set(cc["n"]) | set(tc["n"])) > 1:
            notes.append(f"{t}: unequal repetitions per example (a failed or missing call); the "
                         f"example means still estimate the lift, the t-test is approximate")
        if vw[control] != vw[control] or vw[t] != vw[t]:
            notes.append(f"{t}: no example has two scored repetitions, so the run-to-run variance "
                         f"is unknown (the lift and its CI are still valid)")
    comparisons = pd.DataFrame(comps)
    comparisons.insert(comparisons.columns.get_loc("p_value") + 1, "p_adjusted",
                       adjust_pvalues(comparisons["p_value"].to_numpy(float), correction))
    significant = comparisons["p_adjusted"] < alpha
    comparisons.insert(comparisons.columns.get_loc("p_adjusted") + 1, "verdict", np.where(
        significant & (comparisons["lift"] > 0), "winner",
        np.where(significant & (comparisons["lift"] < 0), "worse", "no detectable difference")))
    if len(treats) > 1 and correction != "none":
        notes.append(f"{len(treats)} treatments: verdicts use the {correction}-adjusted p-values, the "
                     f"confidence intervals are per comparison (not adjusted), so a CI may exclude 0 "
                     f"where the verdict is 'no detectable difference'")
    if n_missing:
        notes.append(f"{n_missing} row(s) without a {metric} value (failed or unscored calls) were left out")
    if n_unpaired:
        notes.append(f"{n_unpaired} example(s) scored under only one variant of a comparison were left out of it")
    per_example = pd.concat(per_ex, ignore_index=True).sort_values(
        ["treatment", "diff", "example_id"]).reset_index(drop=True)
    return RepeatedResult(metric=metric, control=control, treatments=tuple(treats), binary=binary,
                          alpha=alpha, comparisons=comparisons, variance=variance,
                          per_example=per_example, flaky=flaky.reset_index(drop=True),
                          n_missing=n_missing, n_unpaired=n_unpaired, notes=tuple(notes))


def _demo_result() -> RepeatedResult:
    """A tiny result for the docstring examples: example ``e1`` flips under variant A."""
    rows = []
    for v, lift in (("A", 0.0), ("B", 0.5)):
        for i in range(6):
            for k in range(3):
                y = 0.2 * i + lift + 0.01 * ((i + k) % 3)
                if v == "A" and i == 1:
                    y += (-1.0, 1.0, 0.0)[k]
                rows.append((v, f"e{i}", k, y))
    return analyze_repeated(pd.DataFrame(rows, columns=["variant", "example_id", "repetition", "quality"]),
                            n_boot=200)
