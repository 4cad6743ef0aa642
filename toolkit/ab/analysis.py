"""Analysing an A/B test on a per-unit table: tests, lifts, effect sizes, SRM, verdicts.

The input is one row per randomisation unit (a conversation or a user) with a variant column
and metric columns -- built from a conversation log by :func:`toolkit.ab.units.units_from_log`,
or given directly. Every treatment arm is compared with the control arm on every metric.

Metric kinds and the formulas used (each row of the result names them):

``binary`` (0/1, True/False)
    two-proportion z-test with pooled variance (= statsmodels ``proportions_ztest``) and the
    Pearson chi-square without continuity correction (= scipy ``chi2_contingency(...,
    correction=False)``); when an expected cell count is below 5, Fisher's exact test decides and
    the CI of the difference is Newcombe's hybrid score interval, else the unpooled Wald
    interval. Effect size: Cohen's h.
``continuous``
    Welch's t-test (= scipy ``ttest_ind(equal_var=False)``) with its t-interval, and the
    Mann-Whitney U test (= scipy ``mannwhitneyu``, two-sided). Effect size: Cohen's d (pooled SD).
``ratio`` (``sum(numerator) / sum(denominator)`` per arm, e.g. response time per turn when
conversations are randomised)
    z-test and interval with the delta-method variance of a ratio of means; effect size: d on the
    linearised values.

For every kind the relative lift ``treatment / control - 1`` gets a delta-method normal interval;
percentile and BCa bootstrap intervals (seeded) are added on request. P-values are adjusted
across all metrics x arms with Holm (family-wise) and Benjamini-Hochberg (false discovery rate);
the chosen one decides significance. A sample-ratio-mismatch check (chi-square against the
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
>>> res.table[["metric", "arm", "test", "verdict"]].to_string(index=False)
... # doctest: +NORMALIZE_WHITESPACE
'  metric arm                      test                 verdict\\nresolved   B two-proportion z (pooled)                  winner\\n latency   B              Welch t-test no detectable difference'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import special as _sp

__all__ = [
    "ABInputError",
    "Metric",
    "SRMResult",
    "ABResult",
    "analyze",
    "compare",
    "srm_check",
    "adjust_pvalues",
    "bootstrap_ci",
    "parse_metrics",
    "parse_allocation",
    "infer_metrics",
    "KINDS",
]

KINDS = {
    "binary": "binary", "proportion": "binary", "bool": "binary", "rate": "binary",
    "continuous": "continuous", "mean": "continuous", "numeric": "continuous",
    "ratio": "ratio",
}


_EFFECT_SYMBOL = {"Cohen's h": "h", "Cohen's d": "d", "Cohen's d (linearised)": "d (lin.)"}


class ABInputError(ValueError):
    """Bad input to an A/B analysis; the message names the column, the rule and the values."""


# ------------------------------------------------------------------------------------------
# metric specification
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One metric to compare across arms.

    Parameters
    ----------
    name : str
        Label in the results.
    kind : {"binary", "continuous", "ratio"}
        Aliases: "proportion", "mean".
    column : str, optional
        Column holding the per-unit value (default ``name``); not used for ratios.
    numerator, denominator : str, optional
        Columns of a ratio metric (``sum(numerator) / sum(denominator)`` per arm).
    higher_is_better : bool
        Direction of a good change (decides "winner" vs "worse").
    mde : float, optional
        Planned minimum detectable effect (absolute) used for the power in the verdict.
    mde_relative : float, optional
        Planned MDE relative to the control mean (used when ``mde`` is not given).
    label : str, optional
        Human-readable description.

    Examples
    --------
    >>> Metric("resolved", "proportion").kind
    'binary'
    """

    name: str
    kind: str
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    higher_is_better: bool = True
    mde: float | None = None
    mde_relative: float | None = None
    label: str | None = None

    def __post_init__(self):
        kind = KINDS.get(str(self.kind).lower())
        if kind is None:
            raise ABInputError(f"metric {self.name!r}: kind must be one of "
                               f"{sorted(set(KINDS))}, got {self.kind!r}")
        object.__setattr__(self, "kind", kind)
        if kind == "ratio":
            if not (self.numerator and self.denominator):
                raise ABInputError(f"ratio metric {self.name!r} needs numerator and denominator "
                                   "columns (spec 'name:ratio:numerator/denominator')")
        elif self.column is None:
            object.__setattr__(self, "column", self.name)

    @property
    def columns(self) -> list[str]:
        """Columns of the per-unit table this metric reads."""
        return [self.numerator, self.denominator] if self.kind == "ratio" else [self.column]


def parse_metrics(spec: str | Sequence[str]) -> list[Metric]:
    """Parse ``"name:kind[:num/den][:lower|:higher],..."`` into :class:`Metric` objects.

    Examples
    --------
    >>> [m.kind for m in parse_metrics("resolved:binary,sat:mean")]
    ['binary', 'continuous']
    >>> m = parse_metrics("rt:ratio:total_response_time_s/n_turns:lower")[0]
    >>> m.numerator, m.denominator, m.higher_is_better
    ('total_response_time_s', 'n_turns', False)
    """
    items = [s.strip() for s in (spec.split(",") if isinstance(spec, str) else spec)]
    out = []
    for item in items:
        if not item:
            continue
        parts = item.split(":")
        if len(parts) < 2 or not parts[0]:
            raise ABInputError(f"metric spec {item!r}: expected 'name:kind' (kind: binary, "
                               "continuous or ratio:numerator/denominator), e.g. 'resolved:binary'")
        name, kind, rest = parts[0], parts[1], parts[2:]
        kw: dict[str, Any] = {}
        for r in rest:
            if r in ("lower", "higher"):
                kw["higher_is_better"] = r == "higher"
            elif "/" in r:
                num, den = r.split("/", 1)
                kw["numerator"], kw["denominator"] = num, den
            elif r.startswith("mde="):
                kw["mde"] = float(r[4:])
            else:
                raise ABInputError(f"metric spec {item!r}: unknown part {r!r} (use 'lower', "
                                   "'higher', 'mde=0.02' or 'numerator/denominator')")
        out.append(Metric(name, kind, **kw))
    if not out:
        raise ABInputError("no metrics given")
    return out


def parse_allocation(spec: str | dict | None) -> dict[str, float] | None:
    """Parse a planned split ``"A=0.5,B=0.5"`` or ``"A:0.5,B:0.5"`` (weights need not sum to
    1); ``""`` -> None.

    Examples
    --------
    >>> parse_allocation("A=2, B:1")
    {'A': 2.0, 'B': 1.0}
    """
    if not spec:
        return None
    if isinstance(spec, dict):
        return {str(k): float(v) for k, v in spec.items()}
    out = {}
    for part in str(spec).split(","):
        sep = "=" if "=" in part else ":"
        if sep not in part:
            raise ABInputError(f"allocation: expected ARM=SHARE pairs, got {part.strip()!r}")
        k, v = part.rsplit(sep, 1)
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise ABInputError(f"allocation: share of {k.strip()!r} is not a number: "
                               f"{v.strip()!r}") from None
    return out


def infer_metrics(units: pd.DataFrame, exclude: Iterable[str] = ()) -> list[Metric]:
    """Guess metrics from a per-unit table: numeric/bool columns; 0/1-valued ones are binary.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"variant": ["A", "B"] * 3, "ok": [1, 0, 1, 1, 0, 1],
    ...                    "x": [.5, .7, .1, .2, .9, .3]})
    >>> [(m.name, m.kind) for m in infer_metrics(df, exclude=["variant"])]
    [('ok', 'binary'), ('x', 'continuous')]
    """
    skip = set(exclude)
    out = []
    for col in units.columns:
        if col in skip or str(col).endswith("_id"):
            continue
        s = units[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            out.append(Metric(str(col), "binary"))
        elif pd.api.types.is_numeric_dtype(s.dtype):
            vals = pd.unique(s.dropna())
            if len(vals) < 2:
                continue
            kind = "binary" if set(np.asarray(vals, dtype=float)) <= {0.0, 1.0} else "continuous"
            out.append(Metric(str(col), kind))
    return out


# ------------------------------------------------------------------------------------------
# sample ratio mismatch, multiple testing
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SRMResult:
    """Sample-ratio-mismatch check: are the arm sizes consistent with the planned split?"""

    counts: dict[str, int]
    expected_share: dict[str, float]
    expected: dict[str, float]
    chi2: float
    df: int
    p_value: float
    threshold: float
    flagged: bool
    method: str = "chi-square goodness of fit vs planned allocation"

    @property
    def message(self) -> str:
        """A one-line banner: OK or a warning not to trust the results."""
        obs = ", ".join(f"{k}: {v:,}" for k, v in self.counts.items())
        exp = ", ".join(f"{k}: {v:.1%}" for k, v in self.expected_share.items())
        if self.flagged:
            return (f"SAMPLE RATIO MISMATCH (p = {self.p_value:.2g} < {self.threshold:g}): "
                    f"observed {obs}; planned {exp}. The assignment or logging is broken; "
                    "do not trust the comparisons until it is explained.")
        return (f"No sample ratio mismatch (chi2 = {self.chi2:.2f}, df = {self.df}, "
                f"p = {self.p_value:.3g}): observed {obs}; planned {exp}.")


def srm_check(counts: dict[str, int] | pd.Series, planned: dict[str, float] | None = None,
              threshold: float = 0.001) -> SRMResult:
    """Chi-square goodness-of-fit test of arm sizes against the planned allocation.

    Parameters
    ----------
    counts : dict or Series
        Units per arm.
    planned : dict, optional
        Planned share (or weight) per arm; default equal. Normalised to sum to 1.
    threshold : float
        Flag when ``p < threshold`` (0.001 by convention: SRM checks run on every test).

    Examples
    --------
    >>> srm_check({"A": 5000, "B": 5000}).flagged
    False
    >>> srm_check({"A": 5200, "B": 4800}).flagged
    True
    """
    counts = {str(k): int(v) for k, v in dict(counts).items()}
    if len(counts) < 2:
        raise ABInputError("sample-ratio check needs at least two arms")
    if planned is None:
        planned = {k: 1.0 for k in counts}
    planned = {str(k): float(v) for k, v in dict(planned).items()}
    missing = sorted(set(counts) - set(planned))
    extra = sorted(set(planned) - set(counts))
    if missing or extra:
        raise ABInputError(
            "planned allocation does not match the arms: "
            + (f"arms without a planned share: {missing}; " if missing else "")
            + (f"planned arms not observed: {extra}" if extra else ""))
    if any(v <= 0 for v in planned.values()):
        raise ABInputError(f"planned allocation shares must be > 0, got {planned}")
    tot_w = sum(planned.values())
    share = {k: planned[k] / tot_w for k in counts}
    n = sum(counts.values())
    expected = {k: n * share[k] for k in counts}
    chi2 = float(sum((counts[k] - expected[k]) ** 2 / expected[k] for k in counts))
    df = len(counts) - 1
    p = float(_sp.chdtrc(df, chi2))
    return SRMResult(counts=counts, expected_share=share, expected=expected, chi2=chi2, df=df,
                     p_value=p, threshold=threshold, flagged=p < threshold)


def adjust_pvalues(p, method: str = "holm") -> np.ndarray:
    """Adjusted p-values: ``"holm"`` (step-down, FWER), ``"bh"`` (Benjamini-Hochberg, FDR),
    ``"bonferroni"`` or ``"none"``. NaNs are left out and kept as NaN.

    Equal to statsmodels ``multipletests(p, method="holm" | "fdr_bh")``.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03], "holm")
    array([0.03, 0.06, 0.06])
    >>> adjust_pvalues([0.01, 0.04, 0.03], "bh")
    array([0.03, 0.04, 0.04])
    """
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    if method == "none":
        adj = q.copy()
    elif method == "bonferroni":
        adj = np.minimum(q * m, 1.0)
    elif method == "holm":
        o = np.argsort(q, kind="stable")
        stepped = np.maximum.accumulate((m - np.arange(m)) * q[o])
        adj = np.empty(m)
        adj[o] = np.minimum(stepped, 1.0)
    elif method in ("bh", "fdr_bh"):
        o = np.argsort(q, kind="stable")[::-1]
        stepped = np.minimum.accumulate(m / np.arange(m, 0, -1) * q[o])
        adj = np.empty(m)
        adj[o] = np.minimum(stepped, 1.0)
    else:
        raise ValueError(f"method must be 'holm', 'bh', 'bonferroni' or 'none', got {method!r}")
    out[ok] = adj
    return out


# ------------------------------------------------------------------------------------------
# bootstrap
# ------------------------------------------------------------------------------------------


def _resampled_stat(x: np.ndarray, den: np.ndarray | None, kind: str, B: int,
                    rng: np.random.Generator) -> np.ndarray:
    n = x.size
    if kind == "binary":
        # the number of ones in a resample of n is Binomial(n, k / n): exact and O(B)
        return rng.binomial(n, x.mean(), size=B) / n
    out = np.empty(B)
    chunk = max(1, int(4_000_000 // max(n, 1)))
    for s in range(0, B, chunk):
        b = min(chunk, B - s)
        idx = rng.integers(0, n, size=(b, n), dtype=np.int32 if n < 2**31 else np.int64)
        if den is None:
            out[s:s + b] = x[idx].mean(axis=1)
        else:
            out[s:s + b] = x[idx].sum(axis=1) / den[idx].sum(axis=1)
    return out


def _loo(x: np.ndarray, den: np.ndarray | None) -> np.ndarray:
    """Leave-one-out estimates (closed form) of a mean or a ratio of sums."""
    if den is None:
        return (x.sum() - x) / (x.size - 1)
    return (x.sum() - x) / (den.sum() - den)


def bootstrap_ci(
    control,
    treatment,
    *,
    kind: str = "continuous",
    statistic: str = "diff",
    control_den=None,
    treatment_den=None,
    n_resamples: int = 2000,
    alpha: float = 0.05,
    seed: int | Sequence[int] = 0,
) -> dict[str, float]:
    """Percentile and BCa bootstrap intervals for the difference or relative lift of two arms.

    Each arm is resampled independently (stratified bootstrap). BCa follows Efron & Tibshirani
    (1993, eq. 14.14 and 15.36): bias correction from the share of resamples below the estimate,
    acceleration from the jackknife over both samples (closed-form leave-one-out estimates).

    Parameters
    ----------
    control, treatment : array
        Per-unit values (the numerators for ratio metrics).
    kind : {"binary", "continuous", "ratio"}
        Binary arms are resampled exactly via Binomial draws.
    statistic : {"diff", "rel", "both"}
        ``treatment - control`` or ``treatment / control - 1``; ``"both"`` returns
        ``{"diff": {...}, "rel": {...}}`` from the same resamples.
    control_den, treatment_den : array, optional
        Denominators for ratio metrics.
    n_resamples : int
    alpha : float
        1 - confidence level.
    seed : int or sequence of int
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    dict
        ``estimate, percentile_low, percentile_high, bca_low, bca_high, z0, acceleration,
        n_resamples``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> c, t = rng.normal(0, 1, 400), rng.normal(0.3, 1, 400)
    >>> r = bootstrap_ci(c, t, seed=1)
    >>> r["bca_low"] > 0 and r["percentile_low"] > 0
    True
    """
    kind = KINDS.get(kind, kind)
    xc = np.asarray(control, dtype=float)
    xt = np.asarray(treatment, dtype=float)
    dc = None if control_den is None else np.asarray(control_den, dtype=float)
    dt = None if treatment_den is None else np.asarray(treatment_den, dtype=float)
    if kind == "ratio" and (dc is None or dt is None):
        raise ABInputError("ratio bootstrap needs control_den and treatment_den")
    if min(xc.size, xt.size) < 2:
        raise ABInputError("bootstrap needs at least 2 units per arm")
    if statistic not in ("diff", "rel", "both"):
        raise ValueError(f"statistic must be 'diff', 'rel' or 'both', got {statistic!r}")
    est_c = xc.mean() if dc is None else xc.sum() / dc.sum()
    est_t = xt.mean() if dt is None else xt.sum() / dt.sum()
    rng = np.random.default_rng(seed)
    bc = _resampled_stat(xc, dc, kind, n_resamples, rng)
    bt = _resampled_stat(xt, dt, kind, n_resamples, rng)
    loo_c, loo_t = _loo(xc, dc), _loo(xt, dt)
    if statistic == "both":
        return {s_: _bootstrap_interval(s_, est_c, est_t, bc, bt, loo_c, loo_t, alpha, n_resamples)
                for s_ in ("diff", "rel")}
    return _bootstrap_interval(statistic, est_c, est_t, bc, bt, loo_c, loo_t, alpha, n_resamples)


def _bootstrap_interval(statistic, est_c, est_t, bc, bt, loo_c, loo_t, alpha, n_resamples):
    def stat(t, c):
        return t - c if statistic == "diff" else t / c - 1.0

    theta = float(stat(est_t, est_c))
    with np.errstate(divide="ignore", invalid="ignore"):
        boot = stat(bt, bc)
    boot = boot[np.isfinite(boot)]
    lo_p, hi_p = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    # BCa
    prop = (np.sum(boot < theta) + 0.5 * np.sum(boot == theta)) / boot.size
    z0 = float(_sp.ndtri(prop)) if 0 < prop < 1 else (math.inf if prop >= 1 else -math.inf)
    nums = dens = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for jack in (stat(est_t, loo_c), stat(loo_t, est_c)):
            n = jack.size
            u = (n - 1) * (jack.mean() - jack)
            nums += np.sum(u ** 3) / n ** 3
            dens += np.sum(u ** 2) / n ** 2
    a = float(nums / (6.0 * dens ** 1.5)) if dens > 0 else 0.0
    if math.isfinite(z0):
        zl, zh = _sp.ndtri(alpha / 2), _sp.ndtri(1 - alpha / 2)
        a1 = _sp.ndtr(z0 + (z0 + zl) / (1 - a * (z0 + zl)))
        a2 = _sp.ndtr(z0 + (z0 + zh) / (1 - a * (z0 + zh)))
        lo_b, hi_b = np.quantile(boot, [a1, a2])
    else:
        lo_b = hi_b = math.nan
    return {"estimate": theta, "percentile_low": float(lo_p), "percentile_high": float(hi_p),
            "bca_low": float(lo_b), "bca_high": float(hi_b), "z0": z0, "acceleration": a,
            "n_resamples": int(n_resamples)}


# ------------------------------------------------------------------------------------------
# one comparison
# ------------------------------------------------------------------------------------------


def _wilson(x: float, n: float, z: float) -> tuple[float, float]:
    p = x / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return centre - half, centre + half


def _rel_ci(mt, mc, vt, vc, z):
    """Relative lift mt/mc - 1 with its delta-method normal interval."""
    if mc == 0 or not math.isfinite(mc):
        return math.nan, math.nan, math.nan, math.nan
    r = mt / mc - 1.0
    se = math.sqrt(vt / mc ** 2 + mt ** 2 * vc / mc ** 4)
    return r, se, r - z * se, r + z * se


def _arm_stats(kind, x, den):
    """n, estimate, variance of the estimate, unit variance (linearised for ratios)."""
    n = x.size
    if kind == "ratio":
        ma, mb = x.mean(), den.mean()
        r = ma / mb
        lin = (x - r * den) / mb
        uvar = float(np.dot(lin, lin) / (n - 1))  # sum(lin) == 0 by construction
        return n, float(r), uvar / n, uvar
    m = x.mean()
    if kind == "binary":  # Bernoulli variance p (1 - p): the Wald / delta-method convention
        uvar = float(m * (1.0 - m))
    else:
        dev = x - m
        uvar = float(np.dot(dev, dev) / (n - 1))
    return n, float(m), uvar / n, uvar


def compare(
    control,
    treatment,
    kind: str = "continuous",
    *,
    control_den=None,
    treatment_den=None,
    alpha: float = 0.05,
    nonparametric: bool = True,
) -> dict[str, Any]:
    """Compare one treatment arm with control on one metric (arrays without missing values).

    Returns a dict with the estimates, the absolute and relative lift with CIs, the effect size,
    the primary test (``test``, ``statistic``, ``p_value``) and the secondary tests (Welch t and
    Mann-Whitney for continuous metrics; z, chi-square and, for small counts, Fisher for binary
    ones), each named.

    Examples
    --------
    >>> import numpy as np
    >>> r = compare(np.r_[np.ones(30), np.zeros(70)], np.r_[np.ones(45), np.zeros(55)], "binary")
    >>> r["test"], round(r["p_value"], 4), round(r["abs_lift"], 2)
    ('two-proportion z (pooled)', 0.0285, 0.15)
    """
    kind = KINDS.get(kind, kind)
    xc = np.asarray(control, dtype=float)
    xt = np.asarray(treatment, dtype=float)
    dc = None if control_den is None else np.asarray(control_den, dtype=float)
    dt = None if treatment_den is None else np.asarray(treatment_den, dtype=float)
    return _compare_stats(kind, _arm_stats(kind, xc, dc), _arm_stats(kind, xt, dt), xc, xt,
                          alpha=alpha, nonparametric=nonparametric)


def _compare_stats(kind, sc, st, xc=None, xt=None, *, alpha=0.05, nonparametric=True):
    n_c, m_c, v_c, u_c = sc
    n_t, m_t, v_t, u_t = st
    z = float(_sp.ndtri(1 - alpha / 2))
    diff = m_t - m_c
    out: dict[str, Any] = {
        "n_control": int(n_c), "n_treatment": int(n_t), "control_value": m_c,
        "treatment_value": m_t, "abs_lift": diff,
        "welch_t": math.nan, "welch_df": math.nan, "welch_p": math.nan,
        "mw_u": math.nan, "mw_p": math.nan, "mw_auc": math.nan,
        "z": math.nan, "z_p": math.nan, "chi2": math.nan, "chi2_p": math.nan,
        "fisher_p": math.nan,
    }
    if kind == "binary":
        k_c, k_t = m_c * n_c, m_t * n_t
        pbar = (k_c + k_t) / (n_c + n_t)
        se0 = math.sqrt(pbar * (1 - pbar) * (1 / n_c + 1 / n_t))
        zs = diff / se0 if se0 > 0 else math.nan
        out["z"], out["z_p"] = zs, float(2 * _sp.ndtr(-abs(zs)))
        table = np.array([[k_t, n_t - k_t], [k_c, n_c - k_c]])
        expct = np.outer(table.sum(1), table.sum(0)) / table.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            chi2 = float(np.sum((table - expct) ** 2 / expct))
        out["chi2"], out["chi2_p"] = chi2, float(_sp.chdtrc(1, chi2))
        small = bool(expct.min() < 5)
        if small:
            from scipy.stats import fisher_exact

            out["fisher_p"] = float(fisher_exact(np.rint(table).astype(int))[1])
            out["test"], out["statistic"], out["p_value"] = (
                "Fisher exact", math.nan, out["fisher_p"])
            l1, u1 = _wilson(k_t, n_t, z)
            l2, u2 = _wilson(k_c, n_c, z)
            lo = diff - math.sqrt((m_t - l1) ** 2 + (u2 - m_c) ** 2)
            hi = diff + math.sqrt((u1 - m_t) ** 2 + (m_c - l2) ** 2)
            out["ci_method"] = "Newcombe hybrid score"
        else:
            out["test"], out["statistic"], out["p_value"] = (
                "two-proportion z (pooled)", zs, out["z_p"])
            se1 = math.sqrt(v_c + v_t)
            lo, hi = diff - z * se1, diff + z * se1
            out["ci_method"] = "Wald (unpooled)"
        out["se"] = math.sqrt(v_c + v_t)
        out["effect_size"] = (2 * math.asin(math.sqrt(min(max(m_t, 0), 1)))
                              - 2 * math.asin(math.sqrt(min(max(m_c, 0), 1))))
        out["effect_size_name"] = "Cohen's h"
    elif kind == "continuous":
        se = math.sqrt(v_c + v_t)
        df = (v_c + v_t) ** 2 / (v_c ** 2 / (n_c - 1) + v_t ** 2 / (n_t - 1)) if se > 0 else math.nan
        t = diff / se if se > 0 else math.nan
        p = float(2 * _sp.stdtr(df, -abs(t))) if se > 0 else math.nan
        out.update(welch_t=t, welch_df=df, welch_p=p, test="Welch t-test", statistic=t, p_value=p,
                   se=se, ci_method="Welch t-interval")
        q = float(_sp.stdtrit(df, 1 - alpha / 2)) if se > 0 else math.nan
        lo, hi = diff - q * se, diff + q * se
        sp_ = math.sqrt(((n_c - 1) * u_c + (n_t - 1) * u_t) / (n_c + n_t - 2))
        out["effect_size"] = diff / sp_ if sp_ > 0 else math.nan
        out["effect_size_name"] = "Cohen's d"
        if nonparametric and xc is not None and xt is not None:
            from scipy.stats import mannwhitneyu

            mw = mannwhitneyu(xt, xc, alternative="two-sided")
            out["mw_u"], out["mw_p"] = float(mw.statistic), float(mw.pvalue)
            out["mw_auc"] = float(mw.statistic) / (n_c * n_t)
    elif kind == "ratio":
        se = math.sqrt(v_c + v_t)
        zs = diff / se if se > 0 else math.nan
        p = float(2 * _sp.ndtr(-abs(zs)))
        out.update(z=zs, z_p=p, test="z-test (delta-method ratio)", statistic=zs, p_value=p,
                   se=se, ci_method="delta method (normal)")
        lo, hi = diff - z * se, diff + z * se
        sp_ = math.sqrt(((n_c - 1) * u_c + (n_t - 1) * u_t) / (n_c + n_t - 2))
        out["effect_size"] = diff / sp_ if sp_ > 0 else math.nan
        out["effect_size_name"] = "Cohen's d (linearised)"
    else:
        raise ABInputError(f"kind must be binary, continuous or ratio, got {kind!r}")
    out["abs_ci_low"], out["abs_ci_high"] = lo, hi
    r, rse, rlo, rhi = _rel_ci(m_t, m_c, v_t, v_c, z)
    out.update(rel_lift=r, rel_se=rse, rel_ci_low=rlo, rel_ci_high=rhi,
               rel_ci_method="delta method (normal)")
    return out


# ------------------------------------------------------------------------------------------
# the analysis
# ------------------------------------------------------------------------------------------


@dataclass
class ABResult:
    """Everything an A/B analysis found.

    Attributes
    ----------
    table : DataFrame
        One row per metric x treatment arm: estimates, lifts with CIs, effect sizes, tests and
        p-values (raw, Holm, BH), the always-valid sequence, the power for the planned MDE and
        the verdict. Method names are in the ``test``, ``ci_method``, ``rel_ci_method`` and
        ``effect_size_name`` columns.
    srm : SRMResult
    sequential : dict
        ``"metric|arm" -> SequentialResult`` when a time column was available.
    """

    variant_col: str
    control: str
    treatments: list[str]
    n_units: dict[str, int]
    n_missing_variant: int
    alpha: float
    correction: str
    srm: SRMResult
    table: pd.DataFrame
    metrics: list[Metric]
    sequential: dict[str, Any] = field(default_factory=dict, repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def verdicts(self) -> list[str]:
        """Plain-language verdict per metric and arm."""
        return list(self.table["verdict_text"])

    def summary_table(self) -> pd.DataFrame:
        """A compact, readable table for notebooks and reports."""
        t = self.table
        return pd.DataFrame({
            "metric": t["metric"], "arm": t["arm"],
            "control": t["control_value"], "treatment": t["treatment_value"],
            "abs lift": t["abs_lift"],
            "abs CI": [f"[{a:.4g}, {b:.4g}]" for a, b in zip(t["abs_ci_low"], t["abs_ci_high"])],
            "rel lift": t["rel_lift"],
            "rel CI": [f"[{a:+.1%}, {b:+.1%}]" for a, b in zip(t["rel_ci_low"], t["rel_ci_high"])],
            "effect": [f"{_EFFECT_SYMBOL.get(n, n)} = {v:.3f}" for n, v in
                       zip(t["effect_size_name"], t["effect_size"])],
            "test": t["test"], "p": t["p_value"], f"p ({self.correction})": t["p_adjusted"],
            "verdict": t["verdict"],
        })

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tables as records)."""
        from dataclasses import asdict

        return {
            "variant_col": self.variant_col, "control": self.control,
            "treatments": self.treatments, "n_units": self.n_units,
            "n_missing_variant": self.n_missing_variant, "alpha": self.alpha,
            "correction": self.correction, "srm": {**asdict(self.srm),
                                                   "message": self.srm.message},
            "metrics": self.table.to_dict(orient="records"),
            "sequential": {k: v.to_dict() for k, v in self.sequential.items()},
            "verdicts": self.verdicts, "notes": self.notes,
        }


def _as_float_array(units: pd.DataFrame, col: str, metric: str) -> np.ndarray:
    if col not in units.columns:
        raise ABInputError(f"metric {metric!r}: column {col!r} not found in the per-unit table "
                           f"(columns: {', '.join(map(str, units.columns))})")
    s = units[col]
    if not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
        bad = s[pd.to_numeric(s, errors="coerce").isna() & s.notna()]
        if len(bad):
            raise ABInputError(
                f"metric {metric!r}: column {col!r} must be numeric or boolean; non-numeric "
                f"values in {len(bad)} rows, e.g. " + ", ".join(
                    f"row {i}: {v!r}" for i, v in list(bad.items())[:3]))
        s = pd.to_numeric(s, errors="coerce")
    x = s.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(x).any():
        rows = units.index[np.isinf(x)][:3].tolist()
        raise ABInputError(f"metric {metric!r}: column {col!r} has infinite values (rows {rows})")
    return x


def _power_for_mde(kind, n_c, n_t, m_c, unit_var_c, pooled_var, mde, alpha):
    from toolkit.ab.power import power_means, power_proportions

    if not (mde and math.isfinite(mde)) or n_c < 2 or n_t < 2:
        return math.nan
    ratio = n_t / n_c
    if kind == "binary" and 0 < m_c < 1 and 0 < m_c + mde < 1:
        return float(power_proportions(n_c, m_c, mde, alpha=alpha, ratio=ratio,
                                       method="unpooled", strict=True))
    if kind == "binary":
        sd = math.sqrt(max(m_c * (1 - m_c), 1e-12))
    else:
        sd = math.sqrt(pooled_var) if kind == "continuous" else math.sqrt(unit_var_c)
    if not sd > 0:
        return math.nan
    method = "exact" if kind == "continuous" else "normal"
    return float(power_means(n_c, mde / sd, alpha=alpha, ratio=ratio, method=method, strict=True))


def _fmt_val(kind: str, v: float, rel: bool = False) -> str:
    if not math.isfinite(v):
        return "n/a"
    if rel:
        return f"{v:+.1%}"
    if kind == "binary":
        return f"{v * 100:+.2f} pp"
    return f"{v:+.4g}"


def _verdict(row: dict, metric: Metric, control: str, alpha: float, correction: str,
             power_target: float) -> tuple[str, str]:
    arm, kind, name = row["arm"], metric.kind, metric.name
    level = f"{1 - alpha:.0%}" if alpha != 0.05 else "95%"
    unadjusted = "unadjusted " if correction != "none" else ""
    ci = (f"{unadjusted}{level} CI [{_fmt_val(kind, row['abs_ci_low'])}, "
          f"{_fmt_val(kind, row['abs_ci_high'])}]")
    lift = f"{_fmt_val(kind, row['abs_lift'])} ({_fmt_val(kind, row['rel_lift'], rel=True)})"
    padj = row["p_adjusted"]
    ptxt = f"p = {row['p_value']:.2g}" + (f", {correction} p = {padj:.2g}"
                                          if correction != "none" else "")
    seq = ""
    if "seq_rejected" in row and row.get("seq_p") is not None and math.isfinite(row["seq_p"]):
        if row["significant"] and not row["seq_rejected"]:
            seq = (" The always-valid sequence does not exclude 0 yet: if the test was monitored "
                   "and stopped early, keep it running.")
    if row["significant"]:
        good = (row["abs_lift"] > 0) == metric.higher_is_better
        if good:
            return "winner", (f"{name}: {arm} beats {control} by {lift}, {ci}, {ptxt}.{seq}")
        return "worse", (f"{name}: {arm} is worse than {control} by {lift}, {ci}, {ptxt}.{seq}")
    pw, mde = row["power_at_mde"], row["mde"]
    mtxt = f"the planned MDE of {_fmt_val(kind, mde)}"
    if correction != "none" and row["p_value"] < alpha:
        ptxt += (f"; significant before but not after the {correction} correction for multiple "
                 "testing, so not counted as a difference")
    if not math.isfinite(pw):
        return "no detectable difference", (f"{name}: no detectable difference between {arm} and "
                                            f"{control} ({lift}, {ci}, {ptxt}).")
    if pw < power_target:
        return "underpowered", (
            f"{name}: underpowered - no significant difference ({lift}, {ci}, {ptxt}), but the "
            f"test had only {pw:.0%} power for {mtxt}; a null result here is not evidence of "
            "no effect.")
    return "no detectable difference", (
        f"{name}: no detectable difference between {arm} and {control} ({lift}, {ci}, {ptxt}); "
        f"the test had {pw:.0%} power for {mtxt}.")


def _resolve_arms(v: pd.Series, variant_col: str, control: str | None) -> tuple[list[str], str]:
    arms = sorted(map(str, pd.unique(v.dropna())))
    if len(arms) < 2:
        raise ABInputError(
            f"column {variant_col!r} has {len(arms)} distinct value(s) "
            f"({', '.join(map(repr, arms)) or 'none'}): an A/B test needs a control and at "
            "least one treatment arm")
    if control is None:
        control = "control" if "control" in arms else arms[0]
    elif str(control) not in arms:
        raise ABInputError(f"control {control!r} not found in column {variant_col!r}; its values "
                           f"are: {', '.join(map(repr, arms))}")
    return arms, str(control)


def analyze(
    data,
    metrics: str | Sequence[Metric | str] | None = None,
    *,
    variant_col: str = "variant",
    control: str | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    planned_allocation: dict[str, float] | None = None,
    srm_threshold: float = 0.001,
    bootstrap: int = 0,
    seed: int = 0,
    nan_policy: str = "drop",
    nonparametric: bool = True,
    sequential: bool = True,
    time_col: str | None = "start_time",
    default_mde_relative: float = 0.10,
    power_target: float = 0.8,
    unit: str = "conversation",
    max_looks: int | None = 20_000,
) -> ABResult:
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
    variant_col : str
        Column naming the arm of each unit.
    control : str, optional
        Control arm; default ``"control"`` if present, else the first arm in sorted order.
    alpha : float
        Significance level (and 1 - confidence level of the intervals).
    correction : {"holm", "bh", "bonferroni", "none"}
        Multiple-testing correction across metrics x arms that decides significance (Holm and BH
        are both always reported).
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
    """
    from toolkit.ab.units import default_metrics, units_from_log

    notes: list[str] = []
    curated = False
    if isinstance(data, pd.DataFrame):
        units = data
    elif hasattr(data, "turns") and hasattr(data, "conversations"):
        units = units_from_log(data, unit=unit)
        curated = True
    else:
        raise ABInputError(f"data must be a per-unit DataFrame or a ConversationLog, "
                           f"got {type(data).__name__}")
    if variant_col not in units.columns:
        raise ABInputError(f"variant column {variant_col!r} not found (columns: "
                           f"{', '.join(map(str, units.columns))})")
    if nan_policy not in ("drop", "raise"):
        raise ValueError(f"nan_policy must be 'drop' or 'raise', got {nan_policy!r}")
    if correction not in ("holm", "bh", "bonferroni", "none"):
        raise ValueError(f"correction must be 'holm', 'bh', 'bonferroni' or 'none', "
                         f"got {correction!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")

    # metrics
    explicit = metrics is not None
    if metrics is None:
        if curated or {"total_response_time_s", "n_turns"} <= set(units.columns):
            mlist = default_metrics(units)
        else:
            excl = {variant_col, time_col} | {c for c in units.columns
                                              if pd.api.types.is_datetime64_any_dtype(units[c])}
            mlist = infer_metrics(units, exclude=excl)
        if not mlist:
            raise ABInputError("no metric columns found in the per-unit table; pass metrics=")
    elif isinstance(metrics, str):
        mlist = parse_metrics(metrics)
    else:
        mlist = [m if isinstance(m, Metric) else parse_metrics(m)[0] for m in metrics]
    names = [m.name for m in mlist]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ABInputError(f"duplicate metric names: {dup}")

    # arms
    vser = units[variant_col]
    arms, control = _resolve_arms(vser, variant_col, control)
    treatments = [a for a in arms if a != control]
    codes_raw, uniq = pd.factorize(vser.astype("string"), sort=False)
    uniq = [str(u) for u in uniq]
    arm_index = {a: uniq.index(a) for a in arms}
    n_missing_variant = int((codes_raw < 0).sum())
    if n_missing_variant:
        notes.append(f"{n_missing_variant:,} units without a variant were left out")
    counts_all = np.bincount(codes_raw[codes_raw >= 0], minlength=len(uniq))
    n_units = {a: int(counts_all[arm_index[a]]) for a in arms}
    srm = srm_check(n_units, planned_allocation, srm_threshold)
    if srm.flagged:
        notes.append(srm.message)

    # sequential ordering
    order = None
    if sequential:
        if time_col and time_col in units.columns:
            tcol = units[time_col]
            if isinstance(tcol.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(
                    tcol.dtype):
                # int64 nanoseconds: tz-aware to_numpy() would build an object array (slow)
                key = tcol.array.asi8 if hasattr(tcol.array, "asi8") else tcol.to_numpy()
            else:
                key = tcol.to_numpy()
            order = np.argsort(key, kind="stable")
        else:
            notes.append("sequential analysis skipped: no time column "
                         f"{time_col!r} to order the units by arrival")

    # per-comparison level for the power quoted in verdicts: the Bonferroni level of the
    # correction across metrics x arms (a lower bound on the power under Holm or BH)
    n_comparisons = len(mlist) * len(treatments)
    a_comp = alpha if correction == "none" else alpha / max(n_comparisons, 1)
    rows: list[dict] = []
    seq_results: dict[str, Any] = {}
    used: list[Metric] = []
    for mi, metric in enumerate(mlist):
        try:
            cols = [_as_float_array(units, c, metric.name) for c in metric.columns]
        except ABInputError:
            if explicit:
                raise
            notes.append(f"metric {metric.name!r} skipped: column missing or not numeric")
            continue
        x = cols[0]
        den = cols[1] if metric.kind == "ratio" else None
        finite = np.isfinite(x) if den is None else (np.isfinite(x) & np.isfinite(den))
        in_arm = codes_raw >= 0
        n_nan = int((~finite & in_arm).sum())
        if n_nan and nan_policy == "raise":
            bad = units.index[~finite & in_arm][:5].tolist()
            raise ABInputError(f"metric {metric.name!r}: {n_nan} missing values "
                               f"(nan_policy='raise'), e.g. rows {bad}")
        ok = finite & in_arm
        xv = x[ok]
        if xv.size == 0:
            if explicit:
                raise ABInputError(f"metric {metric.name!r}: no non-missing values")
            notes.append(f"metric {metric.name!r} skipped: no values")
            continue
        if metric.kind == "binary":
            badm = ~np.isin(xv, (0.0, 1.0))
            if badm.any():
                rows_bad = units.index[ok][badm][:5].tolist()
                vals = sorted(set(xv[badm].tolist()))[:5]
                raise ABInputError(
                    f"metric {metric.name!r} is binary but column {metric.column!r} has values "
                    f"other than 0/1/True/False: {vals} (e.g. rows {rows_bad}); use kind "
                    "'continuous' or fix the data")
        if metric.kind == "ratio":
            dv = den[ok]
            if (dv < 0).any():
                raise ABInputError(f"ratio metric {metric.name!r}: denominator "
                                   f"{metric.denominator!r} has negative values")
        if metric.kind != "ratio" and xv.min() == xv.max():
            msg = (f"metric {metric.name!r} is constant (every value = {xv[0]:g}): "
                   "nothing to compare")
            if explicit:
                raise ABInputError(msg)
            notes.append(msg.replace("nothing to compare", "skipped"))
            continue
        codes = codes_raw[ok]
        n_per = np.bincount(codes, minlength=len(uniq))
        for a in arms:
            if n_per[arm_index[a]] < 2:
                raise ABInputError(
                    f"metric {metric.name!r}: arm {a!r} has {int(n_per[arm_index[a]])} unit(s) "
                    f"with a value; at least 2 per arm are needed")
        nan_per = np.bincount(codes_raw[~finite & in_arm], minlength=len(uniq))
        # per-arm stats (vectorised two-pass)
        if den is None:
            s1 = np.bincount(codes, weights=xv, minlength=len(uniq))
            mean = s1 / np.maximum(n_per, 1)
            dev = xv - mean[codes]
            uvar = np.bincount(codes, weights=dev * dev, minlength=len(uniq)) / np.maximum(
                n_per - 1, 1)
            if metric.kind == "binary":
                uvar = mean * (1.0 - mean)
        else:
            dv = den[ok]
            sa = np.bincount(codes, weights=xv, minlength=len(uniq))
            sb = np.bincount(codes, weights=dv, minlength=len(uniq))
            if (sb[[arm_index[a] for a in arms]] <= 0).any():
                raise ABInputError(f"ratio metric {metric.name!r}: denominator "
                                   f"{metric.denominator!r} sums to 0 in an arm")
            mean = sa / np.where(sb > 0, sb, 1.0)
            mb = sb / np.maximum(n_per, 1)
            lin = (xv - mean[codes] * dv) / mb[codes]
            uvar = np.bincount(codes, weights=lin * lin, minlength=len(uniq)) / np.maximum(
                n_per - 1, 1)
            ratio_vals = xv / np.where(dv > 0, dv, np.nan)
            if np.nanmin(ratio_vals) == np.nanmax(ratio_vals) and np.all(uvar[n_per > 0] == 0):
                msg = f"ratio metric {metric.name!r} is constant: nothing to compare"
                if explicit:
                    raise ABInputError(msg)
                notes.append(msg)
                continue
        used.append(metric)
        ic = arm_index[control]
        stats_c = (int(n_per[ic]), float(mean[ic]), float(uvar[ic] / n_per[ic]), float(uvar[ic]))
        for ti, arm in enumerate(treatments):
            it = arm_index[arm]
            stats_t = (int(n_per[it]), float(mean[it]), float(uvar[it] / n_per[it]),
                       float(uvar[it]))
            xc = xt = None
            if metric.kind == "continuous" and nonparametric:
                xc, xt = xv[codes == ic], xv[codes == it]
            res = _compare_stats(metric.kind, stats_c, stats_t, xc, xt, alpha=alpha,
                                 nonparametric=nonparametric)
            mde = metric.mde
            if mde is None:
                rel = metric.mde_relative if metric.mde_relative is not None else default_mde_relative
                mde = rel * abs(stats_c[1]) if rel else math.nan
            pooled = ((stats_c[0] - 1) * stats_c[3] + (stats_t[0] - 1) * stats_t[3]) / (
                stats_c[0] + stats_t[0] - 2)
            res["power_at_mde"] = _power_for_mde(metric.kind, stats_c[0], stats_t[0],
                                                 stats_c[1], stats_c[3], pooled, mde, a_comp)
            row = {"metric": metric.name, "kind": metric.kind, "arm": arm, "control": control,
                   "higher_is_better": metric.higher_is_better,
                   "n_missing_control": int(nan_per[ic]), "n_missing_treatment": int(nan_per[it]),
                   **res, "mde": mde}
            if bootstrap:
                sel_c, sel_t = codes == ic, codes == it
                dvv = den[ok] if den is not None else None
                both = bootstrap_ci(xv[sel_c], xv[sel_t], kind=metric.kind, statistic="both",
                                    control_den=None if dvv is None else dvv[sel_c],
                                    treatment_den=None if dvv is None else dvv[sel_t],
                                    n_resamples=bootstrap, alpha=alpha, seed=[seed, mi, ti])
                for stat_name, prefix in (("diff", "boot_abs"), ("rel", "boot_rel")):
                    b = both[stat_name]
                    row[f"{prefix}_pct_low"] = b["percentile_low"]
                    row[f"{prefix}_pct_high"] = b["percentile_high"]
                    row[f"{prefix}_bca_low"] = b["bca_low"]
                    row[f"{prefix}_bca_high"] = b["bca_high"]
                row["bootstrap_method"] = f"percentile and BCa, {bootstrap} resamples, seed {seed}"
            if order is not None:
                from toolkit.ab.sequential import confidence_sequence

                sel = np.isin(codes_raw[order], (ic, it)) & ok[order]
                oi = order[sel]
                try:
                    sq = confidence_sequence(
                        x[oi], codes_raw[oi] == it,
                        denominator=None if den is None else den[oi],
                        times=units[time_col].iloc[oi], alpha=alpha, max_looks=max_looks)
                    seq_results[f"{metric.name}|{arm}"] = sq
                    row.update(seq_low=sq.cs_low, seq_high=sq.cs_high, seq_p=sq.p_value,
                               seq_rejected=sq.rejected, seq_method=sq.method)
                except ValueError as exc:
                    notes.append(f"sequential analysis for {metric.name!r} / {arm!r} skipped: "
                                 f"{exc}")
            rows.append(row)
    if not rows:
        raise ABInputError("no metric could be analysed: " + "; ".join(notes))
    table = pd.DataFrame(rows)
    p = table["p_value"].to_numpy(dtype=float)
    table["p_holm"] = adjust_pvalues(p, "holm")
    table["p_bh"] = adjust_pvalues(p, "bh")
    table["p_adjusted"] = {"holm": table["p_holm"], "bh": table["p_bh"],
                           "bonferroni": pd.Series(adjust_pvalues(p, "bonferroni")),
                           "none": table["p_value"]}[correction].to_numpy()
    table["correction"] = correction
    table["significant"] = table["p_adjusted"] < alpha
    mmap = {m.name: m for m in used}
    verdicts = [_verdict(r, mmap[r["metric"]], control, alpha, correction, power_target)
                for r in table.to_dict(orient="records")]
    table["verdict"] = [v[0] for v in verdicts]
    table["verdict_text"] = [v[1] for v in verdicts]
    if srm.flagged:
        table["verdict_text"] = "[SRM: do not trust] " + table["verdict_text"]
    return ABResult(variant_col=variant_col, control=control, treatments=treatments,
                    n_units=n_units, n_missing_variant=n_missing_variant, alpha=alpha,
                    correction=correction, srm=srm, table=table, metrics=used,
                    sequential=seq_results, notes=notes)
