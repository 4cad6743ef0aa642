"""The multiple-testing families of an A/B analysis: primary, secondary and guardrail metrics.

Only the **primary** metrics (``primary=``; default the first metric) drive the decision: their
p-values over metrics x treatment arms form one family, corrected together (Holm by default), and
the planner takes the same family (:func:`toolkit.ab.power.plan_means` ``n_primary=``), so a test
planned at 80 % power keeps it however many other metrics are reported. **Secondary** metrics
(every other metric) are corrected among themselves and labelled as such. **Guardrails**
(``guardrails={"response_time": margin}``) are one-sided "not worse than" tests with an
absolute margin in the metric's units: H0 "the treatment is worse by at least the margin",
rejected (the guardrail *holds*) when the one-sided ``1 - alpha`` bound of the lift stays inside
the margin; a guardrail is *breached* when that bound on the other side shows it worse than the
margin. Each guardrail must hold on its own (an intersection-union test), so they are not
corrected.

Examples
--------
>>> from toolkit.ab.metrics import Metric
>>> ms = [Metric("resolved", "binary"), Metric("sat", "continuous"),
...       Metric("rt", "continuous", higher_is_better=False)]
>>> metric_roles(ms, None, {"rt": 0.2})
{'resolved': 'primary', 'sat': 'secondary', 'rt': 'guardrail'}
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special as _sp

from toolkit.ab.metrics import ABInputError, Metric

__all__ = ["metric_roles", "family_sizes", "guardrail_test", "adjust_within", "ROLES"]

ROLES = ("primary", "secondary", "guardrail")


def metric_roles(metrics: list[Metric], primary, guardrails) -> dict[str, str]:
    """Role of each metric: ``primary`` (named, or the first), ``guardrail`` or ``secondary``.

    ``primary="all"`` makes every non-guardrail metric primary (one family, as before issue 24).

    Examples
    --------
    >>> from toolkit.ab.metrics import Metric
    >>> metric_roles([Metric("a", "binary"), Metric("b", "binary")], "all", None)
    {'a': 'primary', 'b': 'primary'}
    """
    names = [m.name for m in metrics]
    guards = dict(guardrails or {})
    unknown = sorted(set(guards) - set(names))
    if unknown:
        raise ABInputError(f"guardrails {unknown} are not among the analysed metrics "
                           f"({', '.join(names)})")
    if primary == "all":
        prim = [n for n in names if n not in guards]
    elif primary:
        prim = list(primary)
        unknown = sorted(set(prim) - set(names))
        if unknown:
            raise ABInputError(f"primary metrics {unknown} are not among the analysed metrics "
                               f"({', '.join(names)})")
        both = sorted(set(prim) & set(guards))
        if both:
            raise ABInputError(f"metrics {both} are both primary and guardrails; pick one role")
    else:
        prim = [n for n in names if n not in guards][:1]
    return {n: "primary" if n in prim else "guardrail" if n in guards else "secondary"
            for n in names}


def family_sizes(roles: dict[str, str], n_arms: int) -> dict[str, int]:
    """Comparisons per family (metrics of the role x treatment arms).

    Examples
    --------
    >>> family_sizes({"a": "primary", "b": "secondary", "c": "secondary"}, 2)
    {'primary': 2, 'secondary': 4, 'guardrail': 0}
    """
    return {r: sum(v == r for v in roles.values()) * n_arms for r in ROLES}


def guardrail_test(row: dict, margin: float, higher_is_better: bool,
                   alpha: float) -> dict[str, object]:
    """One-sided non-inferiority test of one comparison against an absolute ``margin``.

    The statistic is ``(lift + margin) / se`` (higher is better; ``(margin - lift) / se`` when
    lower is better) on the comparison's standard error, against the t distribution with the
    Welch degrees of freedom for continuous metrics, else the normal.

    Examples
    --------
    >>> r = guardrail_test({"abs_lift": 0.01, "se": 0.02, "kind": "continuous",
    ...                     "welch_df": float("inf")}, 0.05, False, 0.05)
    >>> r["guardrail_status"], round(r["guardrail_p"], 4)
    ('held', 0.0228)
    """
    lift, se = float(row["abs_lift"]), float(row["se"])
    sign = 1.0 if higher_is_better else -1.0
    df = row.get("welch_df", math.nan) if row.get("kind") == "continuous" else math.nan
    df = float(df) if df is not None else math.nan
    if not (se > 0 and math.isfinite(se)):
        return {"guardrail_margin": margin, "guardrail_p": math.nan,
                "guardrail_status": "inconclusive", "guardrail_bound": math.nan}
    stat = (sign * lift + margin) / se
    if math.isfinite(df) and not math.isinf(df):
        p = float(_sp.stdtr(df, -stat))
        q = float(_sp.stdtrit(df, 1 - alpha))
    else:
        p = float(_sp.ndtr(-stat))
        q = float(_sp.ndtri(1 - alpha))
    worst = sign * lift - q * se    # one-sided bound on the good-direction lift
    best = sign * lift + q * se
    status = "held" if p < alpha else "breached" if best < -margin else "inconclusive"
    return {"guardrail_margin": margin, "guardrail_p": p, "guardrail_status": status,
            "guardrail_bound": sign * worst}


def adjust_within(table: pd.DataFrame, col: str, method: str, adjust) -> np.ndarray:
    """``adjust(p, method)`` applied within each role of ``table`` (guardrails: unadjusted).

    Examples
    --------
    >>> from toolkit.ab.srm import adjust_pvalues
    >>> t = pd.DataFrame({"role": ["primary", "secondary", "secondary"], "p": [0.01, 0.02, 0.03]})
    >>> adjust_within(t, "p", "holm", adjust_pvalues).round(3).tolist()
    [0.01, 0.04, 0.04]
    """
    out = np.full(len(table), np.nan)
    p = table[col].to_numpy(dtype=float)
    for role in ("primary", "secondary"):
        sel = (table["role"] == role).to_numpy()
        if sel.any():
            out[sel] = adjust(p[sel], method)
    g = (table["role"] == "guardrail").to_numpy()
    out[g] = p[g]
    return out
