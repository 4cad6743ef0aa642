"""The result of an A/B analysis: :class:`ABResult` (table, SRM, sequences, notes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from toolkit.ab.metrics import Metric
from toolkit.ab.srm import SRMResult

__all__ = ["ABResult"]

_HEADLINE = ("abs_lift", "abs_ci_low", "abs_ci_high", "rel_lift", "p_value", "p_adjusted",
             "power_at_mde", "verdict", "chance_to_win", "risk_control", "risk_treatment",
             "cuped_variance_reduction")
_EFFECT_SYMBOL = {"Cohen's h": "h", "Cohen's d": "d", "Cohen's d (linearised)": "d (lin.)"}



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
    quantiles : DataFrame or None
        Quantile differences with bootstrap CIs (:func:`toolkit.ab.quantiles.quantile_diff`)
        when quantiles were asked for.

    primary : list of str
        The primary metrics: corrected together (metrics x arms) and the ones that decide.
        Other metrics are ``secondary`` (corrected among themselves) or guardrails (one-sided
        non-inferiority with the margins in ``guardrails``); the ``role`` column says which.
    unit : str
        The unit analysed (``"user"`` when a log turned out to be randomised by user).

    The Bayesian read-out (``chance_to_win``, ``risk_control``, ``risk_treatment``,
    ``post_mean``, ``cred_low``, ``cred_high``) and, for CUPED-adjusted metrics,
    ``cuped_variance_reduction``, ``cuped_theta`` and the ``unadjusted_*`` lift are columns of
    ``table``.
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
    quantiles: pd.DataFrame | None = None
    primary: list[str] = field(default_factory=list)
    guardrails: dict[str, float] = field(default_factory=dict)
    unit: str = "conversation"

    @property
    def verdicts(self) -> list[str]:
        """Plain-language verdict per metric and arm."""
        return list(self.table["verdict_text"])

    def summary_table(self) -> pd.DataFrame:
        """A compact, readable table for notebooks and reports."""
        t = self.table
        out = pd.DataFrame({
            "metric": t["metric"], "role": t["role"] if "role" in t else "primary",
            "arm": t["arm"],
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
        if "chance_to_win" in t:
            out["P(win)"] = t["chance_to_win"]
            out["risk (ship)"] = t["risk_treatment"]
        if "cuped_variance_reduction" in t:
            out["CUPED var. red."] = t["cuped_variance_reduction"]
        return out

    def headline(self) -> dict[str, Any]:
        """Flat ``<metric>_<arm>_<stat>`` keys of the main figures (lift, CI, p-values, power,
        verdict, Bayesian and CUPED figures when present), for batch sidecars."""
        out: dict[str, Any] = {"control": self.control, "treatments": self.treatments,
                               "srm_p_value": self.srm.p_value, "srm_flagged": self.srm.flagged}
        for row in self.table.to_dict(orient="records"):
            stem = f"{row['metric']}_{row['arm']}"
            out.update({f"{stem}_{k}": row[k] for k in _HEADLINE if k in row})
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tables as records)."""
        from dataclasses import asdict

        return {
            "variant_col": self.variant_col, "control": self.control,
            "treatments": self.treatments, "n_units": self.n_units,
            "n_missing_variant": self.n_missing_variant, "alpha": self.alpha,
            "correction": self.correction, "srm": {**asdict(self.srm),
                                                   "message": self.srm.message},
            "metrics": [self._record(r) for r in self.table.to_dict(orient="records")],
            "quantiles": None if self.quantiles is None
            else self.quantiles.to_dict(orient="records"),
            "sequential": {k: v.to_dict() for k, v in self.sequential.items()},
            "verdicts": self.verdicts, "notes": self.notes, "primary": self.primary,
            "guardrails": self.guardrails, "unit": self.unit,
        }

    def _record(self, row: dict[str, Any]) -> dict[str, Any]:
        """One row of the table for JSON, with ``risk`` as ``{arm: expected loss}``."""
        if "risk_control" in row:
            row["risk"] = {self.control: row["risk_control"], row["arm"]: row["risk_treatment"]}
        return row
