"""One treatment arm against control on one metric: the frequentist tests and intervals.

Binary metrics: pooled two-proportion z (= statsmodels ``proportions_ztest``), the score test,
with the score interval that inverts it (:mod:`toolkit.ab.score`: the interval of the difference
and of the relative lift exclude 0 exactly when the test rejects), Pearson chi-square without
continuity correction, and Fisher's exact p beside them when an expected count is below 5;
Cohen's h.
Continuous metrics: Welch's t-test and t-interval, Mann-Whitney U; Cohen's d. Ratio metrics:
delta-method z-test and interval; d on the linearised values. Every kind: relative lift with a
delta-method interval.

Examples
--------
>>> import numpy as np
>>> r = two_sample_test(np.r_[np.ones(30), np.zeros(70)], np.r_[np.ones(45), np.zeros(55)], "binary")
>>> r["test"], r["ci_method"]
('two-proportion z (pooled score)', 'score (Miettinen-Nurminen / Mee, inverts the pooled z-test)')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special as _sp

from toolkit.ab.metrics import KINDS, ABInputError
from toolkit.ab.moments import ArmStats
from toolkit.ab.score import SCORE_METHOD, score_interval_diff, score_interval_ratio

__all__ = ["two_sample_test", "TwoSampleResult"]


def _rel_ci(mt, mc, vt, vc, z):
    """Relative lift mt/mc - 1 with its delta-method normal interval."""
    if mc == 0 or not math.isfinite(mc):
        return math.nan, math.nan, math.nan, math.nan
    r = mt / mc - 1.0
    se = math.sqrt(vt / mc ** 2 + mt ** 2 * vc / mc ** 4)
    return r, se, r - z * se, r + z * se


@dataclass(frozen=True)
class TwoSampleResult(Mapping):
    """The tests of one treatment arm against control on one metric, read like a dict.

    ``result["p_value"]``, ``result["abs_ci_low"]``, ... are the columns of one row of
    :attr:`toolkit.ab.ABResult.table` (before the corrections and verdicts).
    """

    values: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __iter__(self):
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def summary_table(self) -> pd.DataFrame:
        """The estimates, the lift with its interval and the primary test, one row."""
        v = self.values
        return pd.DataFrame([{
            "control": v["control_value"], "treatment": v["treatment_value"],
            "abs lift": v["abs_lift"], "abs CI": f"[{v['abs_ci_low']:.4g}, {v['abs_ci_high']:.4g}]",
            "rel lift": v["rel_lift"], "effect": f"{v['effect_size_name']} = {v['effect_size']:.3f}",
            "test": v["test"], "p": v["p_value"]}])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dict(self.values)


def two_sample_test(
    control,
    treatment,
    kind: str = "continuous",
    *,
    control_den=None,
    treatment_den=None,
    alpha: float = 0.05,
    nonparametric: bool = True,
) -> TwoSampleResult:
    """Test one treatment arm against control on one metric (arrays without missing values).

    Returns a :class:`TwoSampleResult` (a read-only dict) with the estimates, the absolute and relative lift with CIs, the effect size,
    the primary test (``test``, ``statistic``, ``p_value``) and the secondary tests (Welch t and
    Mann-Whitney for continuous metrics; z, chi-square and, for small counts, Fisher for binary
    ones), each named.

    Examples
    --------
    >>> import numpy as np
    >>> r = two_sample_test(np.r_[np.ones(30), np.zeros(70)], np.r_[np.ones(45), np.zeros(55)], "binary")
    >>> r["test"], round(r["p_value"], 4), round(r["abs_lift"], 2)
    ('two-proportion z (pooled score)', 0.0285, 0.15)
    """
    kind = KINDS.get(kind, kind)
    xc = np.asarray(control, dtype=float)
    xt = np.asarray(treatment, dtype=float)
    dc = None if control_den is None else np.asarray(control_den, dtype=float)
    dt = None if treatment_den is None else np.asarray(treatment_den, dtype=float)
    for arm, x, den in (("control", xc, dc), ("treatment", xt, dt)):
        _check_arm(arm, x, den, kind)
    codes = np.repeat(np.array([0, 1]), [xc.size, xt.size])
    st = ArmStats.from_values(kind, np.concatenate([xc, xt]),
                              None if dc is None else np.concatenate([dc, dt]), codes,
                              ("control", "treatment"))
    return TwoSampleResult(_compare_stats(kind, st.arm("control"), st.arm("treatment"), xc, xt,
                                          alpha=alpha, nonparametric=nonparametric))


def _check_arm(arm: str, x: np.ndarray, den: np.ndarray | None, kind: str) -> None:
    """The rules of ``analyze`` on one arm's values: at least 2, finite, 0/1 for a binary metric."""
    if x.ndim != 1 or x.size < 2:
        raise ABInputError(f"{arm} has {x.size} value(s) (1-D array expected); at least 2 per arm "
                           "are needed")
    if kind == "ratio" and (den is None or den.shape != x.shape):
        raise ABInputError(f"a ratio metric needs {arm}_den, one denominator per value")
    bad = ~np.isfinite(x) if den is None else ~(np.isfinite(x) & np.isfinite(den))
    if bad.any():
        raise ABInputError(f"{arm}: {int(bad.sum())} missing or infinite value(s) at positions "
                           f"{np.flatnonzero(bad)[:5].tolist()}; drop them first")
    if kind == "binary":
        bad = ~np.isin(x, (0.0, 1.0))
        if bad.any():
            raise ABInputError(f"{arm}: a binary metric has values other than 0/1/True/False: "
                               f"{sorted(set(x[bad].tolist()))[:5]} (positions "
                               f"{np.flatnonzero(bad)[:5].tolist()}); use kind 'continuous'")


def _compare_stats(kind, sc, st, xc=None, xt=None, *, alpha=0.05, nonparametric=True):
    n_c, m_c, v_c, u_c = sc
    n_t, m_t, v_t, u_t = st
    z = float(_sp.ndtri(1 - alpha / 2))
    diff = m_t - m_c
    se = math.sqrt(v_c + v_t)
    # pooled unit SD: the denominator of Cohen's d (continuous; linearised values for ratios)
    sp_ = math.sqrt(((n_c - 1) * u_c + (n_t - 1) * u_t) / (n_c + n_t - 2))
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
        # the pooled score test decides and its inverted score interval is reported, so the
        # interval excludes 0 exactly when the test rejects (Fisher's p is reported beside it)
        out["test"], out["statistic"], out["p_value"] = (
            "two-proportion z (pooled score)", zs, out["z_p"])
        lo, hi = (float(v) for v in score_interval_diff(k_t, n_t, k_c, n_c, alpha))
        out["ci_method"] = SCORE_METHOD
        out["se"] = se
        out["effect_size"] = (2 * math.asin(math.sqrt(min(max(m_t, 0), 1)))
                              - 2 * math.asin(math.sqrt(min(max(m_c, 0), 1))))
        out["effect_size_name"] = "Cohen's h"
    elif kind == "continuous":
        df = (v_c + v_t) ** 2 / (v_c ** 2 / (n_c - 1) + v_t ** 2 / (n_t - 1)) if se > 0 else math.nan
        t = diff / se if se > 0 else math.nan
        p = float(2 * _sp.stdtr(df, -abs(t))) if se > 0 else math.nan
        out.update(welch_t=t, welch_df=df, welch_p=p, test="Welch t-test", statistic=t, p_value=p,
                   se=se, ci_method="Welch t-interval")
        q = float(_sp.stdtrit(df, 1 - alpha / 2)) if se > 0 else math.nan
        lo, hi = diff - q * se, diff + q * se
        out["effect_size"] = diff / sp_ if sp_ > 0 else math.nan
        out["effect_size_name"] = "Cohen's d"
        if nonparametric and xc is not None and xt is not None:
            from scipy.stats import mannwhitneyu

            mw = mannwhitneyu(xt, xc, alternative="two-sided")
            out["mw_u"], out["mw_p"] = float(mw.statistic), float(mw.pvalue)
            out["mw_auc"] = float(mw.statistic) / (n_c * n_t)
    elif kind == "ratio":
        zs = diff / se if se > 0 else math.nan
        p = float(2 * _sp.ndtr(-abs(zs)))
        out.update(z=zs, z_p=p, test="z-test (delta-method ratio)", statistic=zs, p_value=p,
                   se=se, ci_method="delta method (normal)")
        lo, hi = diff - z * se, diff + z * se
        out["effect_size"] = diff / sp_ if sp_ > 0 else math.nan
        out["effect_size_name"] = "Cohen's d (linearised)"
    else:
        raise ABInputError(f"kind must be binary, continuous or ratio, got {kind!r}")
    out["abs_ci_low"], out["abs_ci_high"] = lo, hi
    r, rse, rlo, rhi = _rel_ci(m_t, m_c, v_t, v_c, z)
    rel_method = "delta method (normal)"
    if kind == "binary" and k_c > 0:
        # the score interval of the risk ratio: excludes 0 exactly when the pooled test rejects
        plo, phi_ = score_interval_ratio(k_t, n_t, k_c, n_c, alpha)
        rlo, rhi, rel_method = float(plo) - 1.0, float(phi_) - 1.0, SCORE_METHOD
    out.update(rel_lift=r, rel_se=rse, rel_ci_low=rlo, rel_ci_high=rhi,
               rel_ci_method=rel_method)
    return out
