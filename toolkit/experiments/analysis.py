"""Repeated runs of a prompt experiment, read honestly: examples are the unit, repetitions nest.

A prompt experiment sends the same test set to every variant, ``repetitions`` times each, because
one run of an LLM is one draw: the same example can pass on one run and fail on the next. The run
log therefore has three keys (``variant``, ``example_id``, ``repetition``) and a score per row.

Model (per variant ``v``, example ``i``, repetition ``k``)::

    y[v, i, k] = mu[v] + u[v, i] + e[v, i, k]

``u`` is the example's own level under that variant (how hard the example is; it differs between
variants when a prompt suits some examples more than others) and ``e`` is run-to-run noise with
variance ``sigma_within[v]**2``. What the analysis does:

item-level means and the lift
    Per variant and example the mean over its repetitions; per example the difference
    ``d[i] = mean_t[i] - mean_c[i]`` (treatment minus control); the lift is ``mean(d)`` with a
    paired t-interval on the ``n`` example-level differences (``n - 1`` degrees of freedom).
    Repetitions only make each ``d[i]`` less noisy; they are not extra examples. With the same
    number of repetitions for every example, the ``d[i]`` are independent with one common variance
    ``sigma_bd**2 + sigma_wc**2 / r_c + sigma_wt**2 / r_t``, so this t-test is exact under
    normality, needs no variance-component estimate, and is the test whose power
    :mod:`toolkit.experiments.planner` computes. Beside it, a **cluster bootstrap** (examples
    resampled with all their repetitions, percentile interval, seeded) as a check that leans less
    on normality; it is reported, not used for the verdict, because a percentile bootstrap is
    known to under-cover with few examples (tens) where the t-interval does not.
variance split (per variant)
    One-way random-effects ANOVA, method of moments (unbalanced form, ``r0`` from Searle): the
    run-to-run variance ``sigma_within**2 = MSW`` and the between-example variance
    ``sigma_between**2 = max(0, (MSB - MSW) / r0)``, with the intra-class correlation. On a
    balanced design these are the REML estimates of statsmodels ``MixedLM`` whenever the
    between-example estimate is positive (the tests check it). For each comparison also the
    split of ``var(d)``: the between-example variance of the true difference
    ``sigma_bd**2 = max(0, var(d) - mean(sigma_wc**2 / r_c + sigma_wt**2 / r_t))`` and the part of
    ``var(d)`` that is run-to-run noise.
flaky examples
    pass/fail metric (only 0/1 values): an example is flaky under a variant when its result flips
    across repetitions (at least one pass and one fail). Score metric: when its within-example
    variance is too large for the run-to-run noise of the other examples of that variant: an
    F-test of ``s_i**2 / s_ref**2`` with ``(r_i - 1, df_ref)`` degrees of freedom at
    ``flaky_alpha / m`` (Bonferroni over the ``m`` variant x example cells), where ``s_ref**2``
    is the pooled within-example variance of the *other* examples of the variant, not counting
    those already flagged (repeated until no flag changes), so a few flaky examples do not hide
    each other. Under homogeneous normal noise about ``flaky_alpha`` of experiments flag any
    example (the tests measure it). When the other examples never change (``s_ref = 0``) every
    example whose score changes at all is flaky.
naive analysis (side by side, for contrast)
    What one gets by treating every repetition as a separate example: a paired t-test over the
    ``n * r`` (example, repetition) pairs. It has the same point estimate but its standard error
    ignores that the repetitions of an example share the example's difference ``u_t - u_c``, so
    when variants suit examples differently (``sigma_bd > 0``) it is too small and an A/A
    experiment "finds" differences far more often than ``alpha`` (the tests and
    ``benchmarks/bench_experiments.py`` measure both rates).

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
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import special as _sp

from toolkit.errors import ToolkitError

__all__ = [
    "ExperimentAnalysisError",
    "RepeatedResult",
    "analyze_repeated",
    "paired_item_test",
    "naive_repetition_test",
    "variance_components",
    "flaky_examples",
]

#: limits on user-controlled sizes
MAX_BOOTSTRAP = 100_000
BOOT_CHUNK_CELLS = 2_000_000


class ExperimentAnalysisError(ToolkitError):
    """A run log or an option the repeated-runs analysis cannot use (names the column or option)."""


# ------------------------------------------------------------------------------------------
# vectorised cores (also what the simulation tests call, over thousands of experiments at once)
# ------------------------------------------------------------------------------------------


def _t_test(d: np.ndarray, alpha: float) -> dict[str, np.ndarray]:
    """One-sample t on the last axis of ``d``: mean, se, df, t, two-sided p, CI."""
    d = np.asarray(d, dtype=float)
    n = d.shape[-1]
    mean = d.mean(axis=-1)
    sd = d.std(axis=-1, ddof=1) if n > 1 else np.full(mean.shape, np.nan)
    se = sd / math.sqrt(n)
    df = float(n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / se
    p = 2.0 * _sp.stdtr(df, -np.abs(t)) if df > 0 else np.full(np.shape(mean), np.nan)
    if df > 0:  # no spread at all: the limit of the t-test (1 for no difference, 0 for one)
        p = np.where(se == 0, np.where(mean == 0, 1.0, 0.0), p)
    crit = _sp.stdtrit(df, 1.0 - alpha / 2.0) if df > 0 else np.nan
    return {"lift": mean, "sd": sd, "se": se, "df": df, "t": t, "p_value": p,
            "ci_low": mean - crit * se, "ci_high": mean + crit * se}


def paired_item_test(y_control, y_treatment, *, alpha: float = 0.05) -> dict[str, np.ndarray]:
    """Examples as the unit: the paired t-test on the per-example means over repetitions.

    Parameters
    ----------
    y_control, y_treatment : array_like, shape (..., n_examples, repetitions)
        Scores of a balanced design; leading axes are independent experiments (vectorised).
    alpha : float
        1 - confidence level of the interval; the test is two-sided.

    Returns
    -------
    dict
        ``lift``, ``sd`` (of the example differences), ``se``, ``df``, ``t``, ``p_value``,
        ``ci_low``, ``ci_high``; arrays over the leading axes.

    Examples
    --------
    >>> yc = np.array([[0.0, 0.2], [1.0, 0.8], [0.5, 0.5]])
    >>> out = paired_item_test(yc, yc + [[0.1, 0.3], [0.2, 0.2], [0.1, 0.1]])
    >>> round(float(out["lift"]), 4), out["df"]
    (0.1667, 2.0)
    """
    yc, yt = np.asarray(y_control, dtype=float), np.asarray(y_treatment, dtype=float)
    d = yt.mean(axis=-1) - yc.mean(axis=-1)
    return _t_test(d, alpha)


def naive_repetition_test(y_control, y_treatment, *, alpha: float = 0.05) -> dict[str, np.ndarray]:
    """The naive analysis: every (example, repetition) pair counted as an independent example.

    A paired t-test over ``n * r`` differences ``y_t[i, k] - y_c[i, k]``. Shown beside
    :func:`paired_item_test` to make its error visible: its standard error is too small whenever
    variants suit examples differently.

    Examples
    --------
    >>> yc = np.array([[0.0, 0.2], [1.0, 0.8], [0.5, 0.5]])
    >>> out = naive_repetition_test(yc, yc + [[0.1, 0.3], [0.2, 0.2], [0.1, 0.1]])
    >>> round(float(out["lift"]), 4), out["df"]
    (0.1667, 5.0)
    """
    yc, yt = np.asarray(y_control, dtype=float), np.asarray(y_treatment, dtype=float)
    d = yt - yc
    return _t_test(d.reshape(d.shape[:-2] + (-1,)), alpha)


def variance_components(y) -> dict[str, np.ndarray]:
    """Between-example and run-to-run variance of a balanced design (one-way ANOVA, moments).

    Parameters
    ----------
    y : array_like, shape (..., n_examples, repetitions)

    Returns
    -------
    dict
        ``var_between`` (``max(0, (MSB - MSW) / r)``), ``var_within`` (``MSW``), ``icc``,
        ``msb``, ``msw``.

    Examples
    --------
    >>> y = np.array([[1.0, 1.2], [2.0, 1.8], [3.0, 3.4]])
    >>> {k: round(float(v), 4) for k, v in variance_components(y).items()}
    {'var_between': 1.1033, 'var_within': 0.04, 'icc': 0.965, 'msb': 2.2467, 'msw': 0.04}
    """
    y = np.asarray(y, dtype=float)
    n, r = y.shape[-2], y.shape[-1]
    means = y.mean(axis=-1)
    msb = r * means.var(axis=-1, ddof=1) if n > 1 else np.full(means.shape[:-1], np.nan)
    msw = y.var(axis=-1, ddof=1).mean(axis=-1) if r > 1 else np.full(means.shape[:-1], np.nan)
    vb = np.maximum(0.0, (msb - msw) / r)
    with np.errstate(divide="ignore", invalid="ignore"):
        icc = vb / (vb + msw)
    return {"var_between": vb, "var_within": msw, "icc": icc, "msb": msb, "msw": msw}


# ------------------------------------------------------------------------------------------
# the run log
# ------------------------------------------------------------------------------------------


def _frame(runs) -> pd.DataFrame:
    if hasattr(runs, "turns") and isinstance(getattr(runs, "turns"), pd.DataFrame):
        return runs.turns
    if isinstance(runs, pd.DataFrame):
        return runs
    raise ExperimentAnalysisError(
        f"runs must be a DataFrame or a ConversationLog, got {type(runs).__name__}")


def _prepare(runs, metric, variant_col, example_col, repetition_col):
    df = _frame(runs)
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
    else:
        bad = col[pd.to_numeric(col, errors="coerce").isna() & col.notna()]
        raise ExperimentAnalysisError(
            f"metric column {metric!r} must be numeric or boolean (pass/fail); rows "
            f"{bad.index[:5].tolist()} hold {bad.astype(str).str.slice(0, 30).head(3).tolist()}")
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


def _components_unbalanced(c: pd.DataFrame) -> dict[str, float]:
    """Method-of-moments one-way random effects on cells of one variant (Searle's r0)."""
    r = c["n"].to_numpy(float)
    m = c["mean"].to_numpy(float)
    v = c["var"].fillna(0.0).to_numpy(float)
    n, big_n = len(r), r.sum()
    grand = float((r * m).sum() / big_n)
    df_b, df_w = n - 1, big_n - n
    msb = float((r * (m - grand) ** 2).sum() / df_b) if df_b > 0 else math.nan
    msw = float(((r - 1) * v).sum() / df_w) if df_w > 0 else math.nan
    r0 = float((big_n - (r ** 2).sum() / big_n) / df_b) if df_b > 0 else math.nan
    vb = max(0.0, (msb - msw) / r0) if df_b > 0 and df_w > 0 else math.nan
    total = vb + msw
    return {"examples": n, "calls": int(big_n), "mean_repetitions": float(big_n / n), "mean": grand,
            "var_between": vb, "var_within": msw,
            "sd_between": math.sqrt(vb) if vb == vb else math.nan,
            "sd_within": math.sqrt(msw) if msw == msw else math.nan,
            "icc": vb / total if total > 0 else math.nan,
            "share_run_to_run": msw / total if total > 0 else math.nan}


def flaky_examples(cells: pd.DataFrame, *, binary: bool, flaky_alpha: float = 0.05) -> pd.DataFrame:
    """Flag the flaky (variant, example) cells; see the module's rule.

    Parameters
    ----------
    cells : DataFrame
        ``variant, example_id, n, mean, var`` (one row per variant and example; ``var`` over the
        repetitions, ddof 1).
    binary : bool
        Pass/fail metric (flips rule) or a score (F-test rule).
    flaky_alpha : float
        Score metric: the chance of flagging any example in an experiment without flaky ones.

    Returns
    -------
    DataFrame
        The cells with ``sd``, ``ratio`` (within-example SD over the others' pooled run-to-run
        SD; for pass/fail the share of the minority result), ``threshold`` (the ratio above which
        an example is flaky) and ``flaky``.

    Examples
    --------
    >>> cells = pd.DataFrame({"variant": ["A", "A", "A"], "example_id": ["x", "y", "z"],
    ...                       "n": [3, 3, 3], "mean": [1.0, 1 / 3, 0.0], "var": [0.0, 1 / 3, 0.0]})
    >>> flaky_examples(cells, binary=True)["flaky"].tolist()
    [False, True, False]
    """
    out = cells.copy()
    out["sd"] = np.sqrt(out["var"])
    n = out["n"].to_numpy(float)
    if binary:
        passes = np.rint(out["mean"].to_numpy(float) * n)
        out["ratio"] = np.minimum(passes, n - passes) / n
        out["threshold"] = 0.0
        out["flaky"] = (out["ratio"] > 0) & (n > 1)
        out["rule"] = "pass/fail flips across repetitions"
        return out
    out["ratio"] = np.nan
    out["threshold"] = np.nan
    out["flaky"] = False
    out["rule"] = (f"within-example variance above the others' run-to-run variance (F-test, alpha "
                   f"{flaky_alpha:g} Bonferroni)")
    tested = (out["var"].notna() & (n > 1)).to_numpy()
    m = int(tested.sum())
    if m == 0:
        return out
    df1 = n - 1.0
    ss = np.where(tested, df1 * out["var"].fillna(0.0).to_numpy(float), 0.0)
    codes = pd.factorize(out["variant"])[0]
    flag = np.zeros(len(out), dtype=bool)
    ratio = np.full(len(out), np.nan)
    crit = np.full(len(out), np.nan)
    for _ in range(10):  # the reference: the unflagged others of the same variant
        ref = tested & ~flag
        s_v = np.bincount(codes, weights=np.where(ref, ss, 0.0))[codes]
        d_v = np.bincount(codes, weights=np.where(ref, df1, 0.0))[codes]
        s_o = s_v - np.where(ref, ss, 0.0)  # leave the cell itself out
        d_o = d_v - np.where(ref, df1, 0.0)
        ok = tested & (d_o > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(ok, (ss / df1) / (s_o / d_o), np.nan)
        f = np.where(ok & (ss == 0), 0.0, f)  # 0 / 0: no change in a never-changing variant
        p = np.where(ok, _sp.fdtrc(np.where(ok, df1, 1.0), np.where(ok, d_o, 1.0), np.where(np.isfinite(f), f, 0.0)),
                     np.nan)
        p = np.where(ok & np.isinf(f), 0.0, p)
        new = ok & (p < flaky_alpha / m)
        ratio = np.sqrt(f)
        crit = np.where(ok, np.sqrt(_sp.fdtri(np.where(ok, df1, 1.0), np.where(ok, d_o, 1.0),
                                              1.0 - flaky_alpha / m)), np.nan)
        if (new == flag).all():
            break
        flag = new
    out["ratio"] = ratio
    out["threshold"] = crit
    out["flaky"] = flag
    return out


def _bootstrap_ci(d: np.ndarray, alpha: float, n_boot: int, seed: int) -> tuple[float, float]:
    if n_boot <= 0 or len(d) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    step = max(1, BOOT_CHUNK_CELLS // len(d))
    for s in range(0, n_boot, step):
        k = min(step, n_boot - s)
        means[s:s + k] = d[rng.integers(0, len(d), size=(k, len(d)))].mean(axis=1)
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


# ------------------------------------------------------------------------------------------
# the result
# ------------------------------------------------------------------------------------------


def _py(v):
    if isinstance(v, (np.floating, float)):
        return None if not math.isfinite(float(v)) else float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if v is pd.NA:
        return None
    return v


def _records(df: pd.DataFrame) -> list[dict]:
    return [{k: _py(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


@dataclass(frozen=True)
class RepeatedResult:
    """The repetition-aware comparison of variants (see :func:`analyze_repeated`).

    Attributes
    ----------
    comparisons : DataFrame
        One row per treatment against the control: the lift with its paired-t CI and p-value
        (``p_adjusted``: Holm over the treatments; ``verdict``: winner / worse when
        ``p_adjusted < alpha``, else no detectable difference), the cluster-bootstrap CI, the naive
        analysis's SE, CI and p-value, ``se_ratio`` (naive SE / correct SE) and the split of the
        variance of the example differences (``var_between_diff``, ``var_run_to_run``).
    variance : DataFrame
        Per variant: examples, calls, mean, between-example and run-to-run variance, ICC.
    per_example : DataFrame
        Per treatment and example: both means, the difference, its SE from the run-to-run noise,
        the repetitions, and whether the example is flaky under either variant.
    flaky : DataFrame
        Per variant and example: the flakiness measure and the flag (all cells; filter ``flaky``).
    """

    metric: str
    control: str
    treatments: tuple[str, ...]
    binary: bool
    alpha: float
    comparisons: pd.DataFrame
    variance: pd.DataFrame
    per_example: pd.DataFrame
    flaky: pd.DataFrame
    n_missing: int = 0
    n_unpaired: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    method = ("examples as units: paired t-test on per-example means over repetitions "
              "(n - 1 df); cluster bootstrap over examples; variance split by one-way "
              "random-effects ANOVA (method of moments)")

    # ---- tables ----------------------------------------------------------------------------

    def summary_table(self) -> pd.DataFrame:
        """The three analyses side by side, one row per treatment and analysis.

        Examples
        --------
        >>> list(_demo_result().summary_table().columns)[:4]
        ['treatment', 'analysis', 'units', 'lift']
        """
        rows = []
        for _, c in self.comparisons.iterrows():
            base = {"treatment": c["treatment"]}
            rows.append({**base, "analysis": "examples as units (paired t)", "units": c["n_examples"],
                         "lift": c["lift"], "se": c["se"], "ci_low": c["ci_low"],
                         "ci_high": c["ci_high"], "p_value": c["p_value"]})
            rows.append({**base, "analysis": "cluster bootstrap", "units": c["n_examples"],
                         "lift": c["lift"], "se": np.nan, "ci_low": c["boot_ci_low"],
                         "ci_high": c["boot_ci_high"], "p_value": np.nan})
            rows.append({**base, "analysis": "naive: repetitions as examples", "units": c["naive_units"],
                         "lift": c["naive_lift"], "se": c["naive_se"], "ci_low": c["naive_ci_low"],
                         "ci_high": c["naive_ci_high"], "p_value": c["naive_p_value"]})
        return pd.DataFrame(rows)

    @property
    def flaky_examples(self) -> pd.DataFrame:
        """Only the flagged (variant, example) cells, the most unstable first.

        Examples
        --------
        >>> _demo_result().flaky_examples["example_id"].tolist()
        ['e1']
        """
        f = self.flaky[self.flaky["flaky"]]
        return f.sort_values(["ratio", "example_id"], ascending=[False, True]).reset_index(drop=True)

    @property
    def verdicts(self) -> list[str]:
        """One sentence per treatment: the verdict, the lift with its CI, the design.

        Examples
        --------
        >>> _demo_result().verdicts[0][:46]
        'quality (B vs A): winner, lift +0.5 (95 % CI ['
        """
        out = []
        for _, c in self.comparisons.iterrows():
            out.append(f"{self.metric} ({c['treatment']} vs {self.control}): {c['verdict']}, lift "
                       f"{c['lift']:+.3g} (95 % CI [{c['ci_low']:+.3g}, {c['ci_high']:+.3g}], p = "
                       f"{c['p_adjusted']:.2g}; {int(c['n_examples'])} examples x {c['repetitions']:.3g} "
                       f"repetitions)".replace("95 %", f"{100 * (1 - self.alpha):.0f} %"))
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (NaN -> None).

        Examples
        --------
        >>> d = _demo_result().to_dict()
        >>> d["control"], d["comparisons"][0]["treatment"], d["n_flaky"]
        ('A', 'B', 1)
        """
        return {"metric": self.metric, "control": self.control, "treatments": list(self.treatments),
                "binary": self.binary, "alpha": self.alpha, "method": self.method,
                "comparisons": _records(self.comparisons), "variance": _records(self.variance),
                "verdicts": self.verdicts,
                "metrics": [{"metric": f"{self.metric} ({c['treatment']} vs {self.control})",
                             "verdict": c["verdict"]} for _, c in self.comparisons.iterrows()],
                "n_flaky": int(self.flaky["flaky"].sum()),
                "flaky_examples": _records(self.flaky_examples[["variant", "example_id", "n", "mean", "sd",
                                                                "ratio"]]),
                "n_missing": self.n_missing, "n_unpaired": self.n_unpaired, "notes": list(self.notes)}

    def components(self, treatment: str | None = None) -> dict[str, float]:
        """The variance components a plan needs, for one comparison.

        Examples
        --------
        >>> sorted(_demo_result().components())
        ['repetitions', 'var_between_diff', 'var_within_control', 'var_within_treatment']
        """
        row = self._row(treatment)
        v = self.variance.set_index("variant")
        return {"var_between_diff": float(row["var_between_diff"]),
                "var_within_control": float(v.loc[self.control, "var_within"]),
                "var_within_treatment": float(v.loc[row["treatment"], "var_within"]),
                "repetitions": float(row["repetitions"])}

    def plan(self, mde: float, *, treatment: str | None = None, **kwargs):
        """Examples and repetitions for ``mde`` with these variance components
        (:func:`toolkit.experiments.planner.plan_from_result`).

        Examples
        --------
        >>> _demo_result().plan(0.5, max_repetitions=3).table["repetitions"].tolist()
        [1, 2, 3]
        """
        from toolkit.experiments.planner import plan_from_result

        return plan_from_result(self, mde, treatment=treatment, **kwargs)

    def _row(self, treatment: str | None) -> pd.Series:
        t = treatment or self.treatments[0]
        if t not in self.treatments:
            raise ExperimentAnalysisError(f"treatment {t!r} is not one of {list(self.treatments)}")
        return self.comparisons[self.comparisons["treatment"] == t].iloc[0]

    # ---- figures ---------------------------------------------------------------------------

    def per_example_figure(self, treatment: str | None = None, *, max_examples: int = 80,
                           figsize=(7.0, 4.2)):
        """Per-example differences (sorted) with +/- 2 SE from the run-to-run noise, the lift and
        its CI; flaky examples in orange. Beyond ``max_examples`` an even spread of them is shown.

        Examples
        --------
        >>> len(_demo_result().per_example_figure().axes)
        1
        """
        from toolkit.experiments.plots import per_example_figure

        return per_example_figure(self, treatment, max_examples=max_examples, figsize=figsize)

    def variance_figure(self, *, figsize=(7.0, 3.6)):
        """The variance split: between-example vs run-to-run, per variant and per comparison.

        Examples
        --------
        >>> len(_demo_result().variance_figure().axes)
        2
        """
        from toolkit.experiments.plots import variance_figure

        return variance_figure(self, figsize=figsize)

    def flaky_figure(self, data=None, *, max_examples: int = 20, figsize=(7.0, 4.0)):
        """Every repetition's score of the flakiest examples, one row each, per variant.

        ``data`` is the run log the result came from (to show each repetition); without it the
        mean and the within-example SD are drawn.

        Examples
        --------
        >>> len(_demo_result().flaky_figure().axes)
        1
        """
        from toolkit.experiments.plots import flaky_figure

        return flaky_figure(self, data, max_examples=max_examples, figsize=figsize)


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
    flaky_ids = set(flaky.loc[flaky["flaky"], "example_id"].tolist())
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
        res = {k: (float(v) if np.ndim(v) == 0 else v) for k, v in _t_test(d, alpha).items()}
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
        naive = _t_test(dn, alpha) if len(dn) >= 2 else {k: math.nan for k in res}
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
