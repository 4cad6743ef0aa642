"""Paired offline experiments: the same test set answered by two variants (prompts, models).

When both variants answer the **same** examples, each example is its own control: the
comparison works on the per-example differences ``d = score_B - score_A``, and the spread of the
examples' difficulty cancels out. That needs far fewer examples than comparing two independent
samples whenever the two variants' scores on an example are correlated
(:func:`toolkit.ab.power.plan_paired` says how many).

Tests (each named in the result):

continuous scores
    paired t-test (= scipy ``ttest_rel``) with its t-interval; Wilcoxon signed-rank
    (= scipy ``wilcoxon``, zero differences dropped, exact for n <= 50 without ties, else the
    normal approximation); sign test (exact binomial on the non-zero differences, = scipy
    ``binomtest``); paired bootstrap percentile interval of the mean difference (examples
    resampled, seeded). Effect size: ``d_z = mean(d) / sd(d)``.
binary scores (pass/fail)
    McNemar's test on the discordant pairs: exact binomial when there are fewer than 25, else
    the chi-square without continuity correction (= statsmodels ``mcnemar(exact=...,
    correction=False)``); paired bootstrap interval of the difference of pass rates.

One experiment's exact Wilcoxon p-value is scipy's; the large-sample p-values
(:func:`paired_pvalues`) and McNemar's (:func:`mcnemar_pvalue`) are computed here, vectorised
over experiments for the power simulations: measured with ``python benchmarks/run.py ab`` (2-core
VM), 2,000 experiments x 200 pairs take 0.057 s against 5.2 s for scipy ``ttest_rel`` +
``wilcoxon`` + ``binomtest`` per experiment (91x), and 10,000 McNemar tables 0.015 s against
0.75 s for statsmodels ``mcnemar`` per table (50x). Their equality with scipy and statsmodels is
tested (``tests/test_ab_paired.py``).

Input: two tables (or runs files) with a key column and score columns, or one long table with
``key, variant, score...``. See :func:`paired_table`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> difficulty = rng.normal(0, 1, 200)
>>> a = pd.DataFrame({"example_id": range(200), "score": difficulty + rng.normal(0, .3, 200)})
>>> b = pd.DataFrame({"example_id": range(200), "score": difficulty + .1 + rng.normal(0, .3, 200)})
>>> r = analyze_paired(a, b)
>>> r.table.loc[0, "test"], bool(r.table.loc[0, "p_value"] < 0.05)
('paired t-test', True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import special as _sp

from toolkit.ab.bootstrap import mean_interval
from toolkit.ab.metrics import CORRECTIONS, ABInputError, need_column, one_of
from toolkit.ab.srm import adjust_pvalues

__all__ = ["PairedResult", "paired_table", "compare_paired", "analyze_paired",
           "read_paired_input", "paired_pvalues", "mcnemar_pvalue", "t_test_differences",
           "MCNEMAR_EXACT_BELOW"]

#: McNemar uses the exact binomial test below this many discordant pairs
MCNEMAR_EXACT_BELOW = 25


# ------------------------------------------------------------------------------------------
# input
# ------------------------------------------------------------------------------------------


def read_paired_input(path, *, key: str = "example_id") -> pd.DataFrame:
    """One side of a paired comparison from a file: a table, or a LangSmith runs file.

    A runs file (JSONL of runs, e.g. an evaluation experiment saved by ``toolkit langsmith
    pull``) becomes one row per root run: the key is the run's ``reference_example_id`` (or
    ``metadata[key]``), the scores are the feedback averages (``feedback_stats.<name>.avg``) and
    ``latency_s`` (end - start). Any other CSV / JSONL / Parquet file is read as a table.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "runs.jsonl"
    >>> _ = p.write_text(json.dumps({"id": "r1", "run_type": "chain", "inputs": {},
    ...     "reference_example_id": "e1", "feedback_stats": {"correct": {"avg": 1.0, "n": 1}},
    ...     "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:02Z"}) + "\\n")
    >>> read_paired_input(p).to_dict(orient="records")
    [{'example_id': 'e1', 'correct': 1.0, 'latency_s': 2.0}]
    """
    from toolkit.io import read_table
    from toolkit.sources.langsmith import is_runs_file, read_runs

    if is_runs_file(path):
        return _runs_frame(read_runs(path), key)
    return read_table(path)


def _runs_frame(runs: list[dict], key: str) -> pd.DataFrame:
    rows = []
    for run in runs:
        if run.get("parent_run_id"):
            continue
        meta = (run.get("extra") or {}).get("metadata") or run.get("metadata") or {}
        row: dict[str, Any] = {key: run.get("reference_example_id") or meta.get(key)}
        for name, st in (run.get("feedback_stats") or {}).items():
            if isinstance(st, dict) and st.get("avg") is not None:
                row[name] = float(st["avg"])
        if run.get("start_time") and run.get("end_time"):
            dt = pd.Timestamp(run["end_time"]) - pd.Timestamp(run["start_time"])
            row["latency_s"] = dt.total_seconds()
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty or frame[key].isna().all():
        raise ABInputError(f"runs file: no root run carries a reference_example_id or "
                           f"metadata.{key} to pair the examples by")
    return frame


def _as_frame(obj, key: str) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        return obj
    return read_paired_input(obj, key=key)


def paired_table(a, b=None, *, key: str = "example_id", variant_col: str = "variant",
                 arms: Sequence[str] | None = None,
                 metrics: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[str], dict]:
    """Align the two variants' scores by example.

    Parameters
    ----------
    a, b : DataFrame or path
        The two variants' results (``b`` given), or one long table with ``variant_col``.
    key : str
        Column identifying the example.
    variant_col : str
        Variant column of a long table.
    arms : (str, str), optional
        The two variants of a long table (first = baseline); default its two values, sorted.
    metrics : list of str, optional
        Score columns (default: the numeric columns both sides have, apart from the key).

    Returns
    -------
    (DataFrame, list, dict)
        One row per example present on both sides, with ``<metric>_a`` / ``<metric>_b``
        columns; the metric names; ``{"arms": [a, b], "n_only_a": .., "n_only_b": ..}``.

    Examples
    --------
    >>> import pandas as pd
    >>> long = pd.DataFrame({"example_id": [1, 1, 2, 2, 3], "variant": list("ABABA"),
    ...                      "score": [.5, .7, .2, .4, .9]})
    >>> wide, names, info = paired_table(long)
    >>> wide.to_dict(orient="list"), info["n_only_a"]
    ({'example_id': [1, 2], 'score_a': [0.5, 0.2], 'score_b': [0.7, 0.4]}, 1)
    """
    fa = _as_frame(a, key)
    if b is None:
        need_column(fa, variant_col, f"one table given: it needs a variant column {variant_col!r}")
        values = sorted(map(str, fa[variant_col].dropna().unique()))
        arms = list(arms) if arms else values
        if len(arms) != 2 or not set(arms) <= set(values):
            raise ABInputError(f"column {variant_col!r} must hold the two variants to pair "
                               f"({list(arms)} asked), it has {values}")
        v = fa[variant_col].astype("string")
        fa, fb = fa[v == arms[0]].drop(columns=variant_col), fa[v == arms[1]].drop(
            columns=variant_col)
    else:
        fb = _as_frame(b, key)
        arms = list(arms) if arms else ["A", "B"]
    for side, f in (("A", fa), ("B", fb)):
        need_column(f, key, f"side {side}: key column {key!r} not found")
        dup = f[key][f[key].duplicated()]
        if len(dup):
            raise ABInputError(f"side {side}: key {key!r} is not unique; e.g. "
                               f"{', '.join(map(str, dup.unique()[:5]))} appear more than once")
    if metrics is None:
        num = [c for c in fa.columns if c != key and c in fb.columns
               and (pd.api.types.is_numeric_dtype(fa[c]) or pd.api.types.is_bool_dtype(fa[c]))]
        metrics = num
    metrics = list(metrics)
    if not metrics:
        raise ABInputError("no score columns shared by both sides; name them with metrics= (--metrics on the "
                           "command line)")
    for c in metrics:
        for side, f in (("A", fa), ("B", fb)):
            if c not in f.columns:
                raise ABInputError(f"side {side}: score column {c!r} not found")
    left = fa[[key, *metrics]].rename(columns={c: f"{c}_a" for c in metrics})
    right = fb[[key, *metrics]].rename(columns={c: f"{c}_b" for c in metrics})
    wide = left.merge(right, on=key, how="inner", sort=True)
    info = {"arms": arms, "n_only_a": int((~fa[key].isin(fb[key])).sum()),
            "n_only_b": int((~fb[key].isin(fa[key])).sum())}
    if len(wide) < 2:
        raise ABInputError(f"only {len(wide)} example(s) are on both sides (by {key!r}); "
                           "a paired comparison needs at least 2")
    return wide.reset_index(drop=True), metrics, info


# ------------------------------------------------------------------------------------------
# one comparison
# ------------------------------------------------------------------------------------------


def t_test_differences(d: np.ndarray, alpha: float) -> dict[str, np.ndarray]:
    """One-sample t-test of paired differences on the last axis of ``d``, vectorised over the
    others: ``lift`` (the mean), ``sd``, ``se``, ``df``, ``t``, two-sided ``p_value`` and the
    ``1 - alpha`` CI (``ci_low``, ``ci_high``); the same as ``scipy.stats.ttest_1samp`` per row,
    except that differences with no spread give p = 1 (all zero) or 0 (all equal and non-zero).

    Examples
    --------
    >>> r = t_test_differences(np.array([[0.1, 0.3, 0.2, 0.4], [0.0, 0.0, 0.0, 0.0]]), 0.05)
    >>> r["lift"].round(3).tolist(), r["p_value"].round(4).tolist()
    ([0.25, 0.0], [0.0305, 1.0])
    """
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


def _binom_half_p(k: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Two-sided exact binomial p-value of ``k`` successes in ``m`` at p = 1/2 (= scipy
    ``binomtest``: the distribution is symmetric, so twice the smaller tail, at most 1)."""
    from scipy.stats import binom

    k, m = np.asarray(k), np.asarray(m)
    lo = binom.cdf(np.minimum(k, m - k), m, 0.5)
    return np.where(m > 0, np.minimum(1.0, 2.0 * lo), 1.0)


def paired_pvalues(d) -> dict[str, np.ndarray]:
    """Vectorised p-values of the paired t, sign and Wilcoxon signed-rank (normal
    approximation, no continuity correction, tie-corrected variance) tests, one per row of
    ``d`` (differences, rows = experiments).

    :func:`compare_paired` uses the exact Wilcoxon distribution (scipy) for <= 50 non-zero
    differences without ties; this is its large-sample branch, vectorised for simulations.

    Examples
    --------
    >>> p = paired_pvalues([[0.1, 0.3, -0.1, 0.4, 0.2, 0.25]])
    >>> round(float(p["t"][0]), 4), round(float(p["sign"][0]), 4)
    (0.0432, 0.2188)
    """
    from scipy.stats import rankdata

    d = np.atleast_2d(np.asarray(d, dtype=float))
    tt = t_test_differences(d, 0.05)
    tp = np.where(tt["se"] > 0, tt["p_value"], np.nan)
    pos, neg = (d > 0).sum(axis=1), (d < 0).sum(axis=1)
    sign = _binom_half_p(pos, pos + neg)
    a = np.abs(d)
    nz = d != 0
    ranks = rankdata(np.where(nz, a, -1.0), axis=1)  # zeros rank first ...
    n_zero = (~nz).sum(axis=1, keepdims=True)
    ranks = np.where(nz, ranks - n_zero, 0.0)        # ... and are dropped (zero_method="wilcox")
    m = nz.sum(axis=1)
    w_plus = np.where(d > 0, ranks, 0.0).sum(axis=1)
    mu = m * (m + 1) / 4.0
    var = m * (m + 1) * (2 * m + 1) / 24.0
    # ties: subtract sum(t^3 - t) / 48 over groups of equal |d|
    srt = np.sort(np.where(nz, a, np.nan), axis=1)
    same = (srt[:, 1:] == srt[:, :-1])
    if same.any():
        for i in np.flatnonzero(same.any(axis=1)):
            _, cnt = np.unique(srt[i][np.isfinite(srt[i])], return_counts=True)
            var[i] -= float((cnt ** 3 - cnt).sum()) / 48.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (w_plus - mu) / np.sqrt(var)
    wp = np.where(var > 0, 2 * _sp.ndtr(-np.abs(z)), 1.0)
    return {"t": tp, "sign": sign, "wilcoxon": wp}


def mcnemar_pvalue(n01, n10):
    """McNemar's p-value from the discordant counts (vectorised): exact binomial below
    :data:`MCNEMAR_EXACT_BELOW` discordant pairs, else chi-square without continuity correction.

    Returns ``(p, method)``; ``method`` names the scalar case (or ``"McNemar"`` for arrays).

    Examples
    --------
    >>> p, m = mcnemar_pvalue(30, 12)
    >>> round(float(p), 4), m
    (0.0055, 'McNemar chi-square (no continuity correction)')
    """
    n01, n10 = np.asarray(n01), np.asarray(n10)
    m = n01 + n10
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = np.where(m > 0, _sp.chdtrc(1, (n01 - n10) ** 2 / np.where(m > 0, m, 1)), 1.0)
    p = np.where(m < MCNEMAR_EXACT_BELOW, _binom_half_p(n01, m), chi)
    if p.ndim:
        return p, "McNemar"
    if m == 0:
        return float(p), "McNemar (no discordant pairs)"
    return float(p), ("McNemar exact (binomial)" if m < MCNEMAR_EXACT_BELOW
                      else "McNemar chi-square (no continuity correction)")


def compare_paired(a, b, kind: str = "continuous", *, alpha: float = 0.05,
                   n_resamples: int = 2000, seed: int | Sequence[int] = 0) -> dict[str, Any]:
    """Compare two variants' scores on the same examples (``a[i]`` and ``b[i]`` pair up).

    Parameters
    ----------
    a, b : array
        Scores of the baseline and the candidate per example (no NaN).
    kind : {"continuous", "binary"}
        Binary scores (0/1) get McNemar's test as the primary test.
    alpha : float
    n_resamples : int
        Paired bootstrap resamples (0 = no bootstrap interval).
    seed : int or sequence of int

    Returns
    -------
    dict
        ``n_pairs, mean_a, mean_b, diff, se, ci_low, ci_high, ci_method, test, statistic,
        p_value, t, t_df, t_p, wilcoxon_w, wilcoxon_p, wilcoxon_method, sign_pos, sign_neg,
        sign_p, mcnemar_b_wins, mcnemar_a_wins, mcnemar_p, mcnemar_method, boot_low, boot_high,
        effect_size (d_z), correlation, sd_diff``.

    Examples
    --------
    >>> r = compare_paired([0.2, 0.4, 0.5, 0.7, 0.9], [0.3, 0.6, 0.6, 0.8, 1.1], n_resamples=0)
    >>> r["test"], round(r["diff"], 2), r["sign_pos"]
    ('paired t-test', 0.14, 5)
    """
    from scipy.stats import rankdata, wilcoxon

    xa = np.asarray(a, dtype=float)
    xb = np.asarray(b, dtype=float)
    if xa.shape != xb.shape or xa.ndim != 1:
        raise ABInputError("paired scores must be two 1-D arrays of the same length")
    if not (np.isfinite(xa).all() and np.isfinite(xb).all()):
        raise ABInputError("paired scores contain missing or infinite values")
    n = xa.size
    if n < 2:
        raise ABInputError(f"a paired comparison needs at least 2 pairs, got {n}")
    if kind == "binary" and not (np.isin(xa, (0, 1)).all() and np.isin(xb, (0, 1)).all()):
        raise ABInputError("binary paired scores must be 0/1")
    d = xb - xa
    tt = t_test_differences(d, alpha)
    mean_d, sd_d, se, df = float(tt["lift"]), float(tt["sd"]), float(tt["se"]), n - 1
    t, tp = (float(tt["t"]), float(tt["p_value"])) if se > 0 else (math.nan, math.nan)
    sa, sb = xa.std(ddof=1), xb.std(ddof=1)
    out: dict[str, Any] = {
        "n_pairs": n, "mean_a": float(xa.mean()), "mean_b": float(xb.mean()), "diff": mean_d,
        "se": se, "t": t, "t_df": df, "t_p": tp, "sd_diff": sd_d,
        "effect_size": mean_d / sd_d if sd_d > 0 else math.nan, "effect_size_name": "d_z",
        "correlation": float(np.corrcoef(xa, xb)[0, 1]) if sa > 0 and sb > 0 else math.nan,
        "wilcoxon_w": math.nan, "wilcoxon_p": math.nan, "wilcoxon_method": "",
        "mcnemar_b_wins": math.nan, "mcnemar_a_wins": math.nan, "mcnemar_p": math.nan,
        "mcnemar_method": "",
    }
    pv = paired_pvalues(d)
    out["sign_pos"], out["sign_neg"] = int((d > 0).sum()), int((d < 0).sum())
    out["sign_p"] = float(pv["sign"][0])
    nz = d[d != 0]
    out["wilcoxon_w"] = float(rankdata(np.abs(nz))[nz > 0].sum()) if nz.size else 0.0
    if nz.size and nz.size <= 50 and np.unique(np.abs(nz)).size == nz.size:
        out["wilcoxon_p"] = float(wilcoxon(xb, xa, zero_method="wilcox").pvalue)
        out["wilcoxon_method"] = "exact"
    else:
        out["wilcoxon_p"] = float(pv["wilcoxon"][0])
        out["wilcoxon_method"] = "normal approximation"
    if kind == "binary":
        # the discordant pairs: a fails and b passes, a passes and b fails
        n01, n10 = int(((xa == 0) & (xb == 1)).sum()), int(((xa == 1) & (xb == 0)).sum())
        mp, method = mcnemar_pvalue(n01, n10)
        out.update(mcnemar_b_wins=n01, mcnemar_a_wins=n10, mcnemar_p=mp, mcnemar_method=method,
                   test=method, statistic=float(n01 - n10), p_value=mp)
    else:
        out.update(test="paired t-test", statistic=t, p_value=tp)
    out.update(ci_low=float(tt["ci_low"]), ci_high=float(tt["ci_high"]), ci_method="paired t-interval")
    if n_resamples:
        lo, hi = mean_interval(d, n_resamples, alpha, np.random.default_rng(seed))
        out.update(boot_low=lo, boot_high=hi,
                   boot_method=f"paired bootstrap percentile, {n_resamples} resamples")
        if kind == "binary":
            out.update(ci_low=lo, ci_high=hi, ci_method=out["boot_method"])
    return out


# ------------------------------------------------------------------------------------------
# the analysis
# ------------------------------------------------------------------------------------------


@dataclass
class PairedResult:
    """A paired comparison of two variants on every score column.

    Attributes
    ----------
    table : DataFrame
        One row per metric: means, difference with CI, the tests, adjusted p-values, verdict.
    arms : list of str
        ``[baseline, candidate]``.
    n_pairs : int
    n_only_a, n_only_b : int
        Examples on one side only (left out).
    """

    table: pd.DataFrame
    arms: list[str]
    key: str
    n_pairs: int
    n_only_a: int
    n_only_b: int
    alpha: float
    correction: str
    notes: list[str] = field(default_factory=list)

    def summary_table(self) -> pd.DataFrame:
        """A compact table for notebooks and the CLI."""
        t = self.table
        a, b = self.arms
        return pd.DataFrame({
            "metric": t["metric"], a: t["mean_a"], b: t["mean_b"], "diff": t["diff"],
            "CI": [f"[{lo:.4g}, {hi:.4g}]" for lo, hi in zip(t["ci_low"], t["ci_high"])],
            "test": t["test"], "p": t["p_value"], f"p ({self.correction})": t["p_adjusted"],
            "Wilcoxon p": t["wilcoxon_p"], "sign p": t["sign_p"], "r(a, b)": t["correlation"],
            "verdict": t["verdict"],
        })

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"arms": self.arms, "key": self.key, "n_pairs": self.n_pairs,
                "n_only_a": self.n_only_a, "n_only_b": self.n_only_b, "alpha": self.alpha,
                "correction": self.correction, "metrics": self.table.to_dict(orient="records"),
                "notes": self.notes}


def analyze_paired(a, b=None, *, key: str = "example_id", metrics: Sequence[str] | None = None,
                   variant_col: str = "variant", arms: Sequence[str] | None = None,
                   alpha: float = 0.05, correction: str = "holm", bootstrap: int = 2000,
                   seed: int = 0) -> PairedResult:
    """Paired comparison of two variants on the same examples, every score column.

    Parameters
    ----------
    a, b : DataFrame or path
        See :func:`paired_table`.
    key, metrics, variant_col, arms
        See :func:`paired_table`.
    alpha : float
    correction : {"holm", "bh", "bonferroni", "none"}
        Across the metrics; decides the verdict.
    bootstrap : int
        Paired bootstrap resamples per metric (0 = none).
    seed : int

    Returns
    -------
    PairedResult

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"example_id": [1, 2, 3, 4] * 2, "variant": ["A"] * 4 + ["B"] * 4,
    ...                   "ok": [1, 0, 1, 0, 1, 1, 1, 0]})
    >>> analyze_paired(t, bootstrap=0).table.loc[0, "test"]
    'McNemar exact (binomial)'
    """
    one_of(correction, CORRECTIONS, "correction")
    wide, names, info = paired_table(a, b, key=key, variant_col=variant_col, arms=arms,
                                     metrics=metrics)
    rows, notes = [], []
    for i, name in enumerate(names):
        xa = pd.to_numeric(wide[f"{name}_a"], errors="coerce").to_numpy(dtype=float)
        xb = pd.to_numeric(wide[f"{name}_b"], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(xa) & np.isfinite(xb)
        if (~ok).any():
            notes.append(f"{name}: {int((~ok).sum())} pairs with a missing score left out")
        if ok.sum() < 2:
            notes.append(f"{name}: fewer than 2 complete pairs, skipped")
            continue
        kind = "binary" if np.isin(np.r_[xa[ok], xb[ok]], (0.0, 1.0)).all() else "continuous"
        res = compare_paired(xa[ok], xb[ok], kind, alpha=alpha, n_resamples=bootstrap,
                             seed=[seed, i])
        rows.append({"metric": name, "kind": kind, **res})
    if not rows:
        raise ABInputError("no score column could be compared: " + "; ".join(notes))
    table = pd.DataFrame(rows)
    p = table["p_value"].to_numpy(dtype=float)
    table["p_adjusted"] = adjust_pvalues(p, correction)
    table["significant"] = table["p_adjusted"] < alpha
    table["verdict"] = np.where(~table["significant"], "no detectable difference",
                                np.where(table["diff"] > 0, f"{info['arms'][1]} higher",
                                         f"{info['arms'][1]} lower"))
    return PairedResult(table=table, arms=info["arms"], key=key, n_pairs=len(wide),
                        n_only_a=info["n_only_a"], n_only_b=info["n_only_b"], alpha=alpha,
                        correction=correction, notes=notes)
