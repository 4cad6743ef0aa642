"""Plain-language verdicts of an A/B comparison and the power they quote for the planned MDE.

A significant difference (after the multiple-testing correction) is a "winner" or "worse"
according to the metric's direction; a non-significant one is "underpowered" when the test had
less than the target power for the planned MDE, else "no detectable difference".
"""

from __future__ import annotations

import math

from toolkit.ab.metrics import Metric
from toolkit.ab.power import power_means, power_proportions

__all__ = ["verdict", "power_for_mde", "fmt_value"]


def power_for_mde(kind: str, n_c: int, n_t: int, m_c: float, unit_var_c: float,
                  pooled_var: float, mde: float, alpha: float) -> float:
    """Power the comparison had for an absolute ``mde``, from the control variance and arm sizes.

    Binary metrics: pooled two-proportion power (the formula of the pooled z-test that decides);
    continuous: exact noncentral t at
    ``d = mde / pooled SD``; ratio: normal approximation on the linearised SD. NaN without an MDE.

    Examples
    --------
    >>> round(power_for_mde("continuous", 64, 64, 10.0, 4.0, 4.0, 1.0, 0.05), 3)
    0.801
    """
    if not (mde and math.isfinite(mde)) or n_c < 2 or n_t < 2:
        return math.nan
    ratio = n_t / n_c
    if kind == "binary" and 0 < m_c < 1 and 0 < m_c + mde < 1:
        return float(power_proportions(n_c, m_c, mde, alpha=alpha, ratio=ratio,
                                       method="pooled", strict=True))
    if kind == "binary":
        sd = math.sqrt(max(m_c * (1 - m_c), 1e-12))
    else:
        sd = math.sqrt(pooled_var) if kind == "continuous" else math.sqrt(unit_var_c)
    if not sd > 0:
        return math.nan
    method = "exact" if kind == "continuous" else "normal"
    return float(power_means(n_c, mde / sd, alpha=alpha, ratio=ratio, method=method, strict=True))


def fmt_value(kind: str, v: float, rel: bool = False) -> str:
    """A lift for a sentence: percentage points (binary), signed percent (relative), 4 digits.

    Examples
    --------
    >>> fmt_value("binary", 0.0123), fmt_value("continuous", 0.05, rel=True)
    ('+1.23 pp', '+5.0%')
    """
    if not math.isfinite(v):
        return "n/a"
    if rel:
        return f"{v:+.1%}"
    if kind == "binary":
        return f"{v * 100:+.2f} pp"
    return f"{v:+.4g}"


def verdict(row: dict, metric: Metric, control: str, alpha: float, correction: str,
            power_target: float) -> tuple[str, str]:
    """The verdict (short label, sentence) of one row of the analysis table.

    Examples
    --------
    >>> row = {"arm": "B", "abs_ci_low": 0.01, "abs_ci_high": 0.05, "abs_lift": 0.03,
    ...        "rel_lift": 0.1, "p_value": 0.001, "p_adjusted": 0.002, "significant": True,
    ...        "power_at_mde": 0.9, "mde": 0.03}
    >>> verdict(row, Metric("resolved", "binary"), "A", 0.05, "holm", 0.8)[0]
    'winner'
    """
    arm, kind, name = row["arm"], metric.kind, metric.name
    level = f"{1 - alpha:.0%}" if alpha != 0.05 else "95%"
    unadjusted = "unadjusted " if correction != "none" else ""
    ci = (f"{unadjusted}{level} CI [{fmt_value(kind, row['abs_ci_low'])}, "
          f"{fmt_value(kind, row['abs_ci_high'])}]")
    lift = f"{fmt_value(kind, row['abs_lift'])} ({fmt_value(kind, row['rel_lift'], rel=True)})"
    if isinstance(row.get("cuped_covariate"), str):
        lift += (f" CUPED-adjusted with {row['cuped_covariate']} (variance "
                 f"-{row['cuped_variance_reduction']:.1%})")
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
    mtxt = f"the planned MDE of {fmt_value(kind, mde)}"
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
