"""How many examples and repetitions a prompt experiment needs for a target effect.

With ``n`` examples, each answered ``r`` times by both variants, the lift is the mean of the
``n`` per-example differences (:func:`toolkit.experiments.analysis.analyze_repeated`), whose
variance is::

    var(lift) = sigma_bd**2 / n + (sigma_wc**2 + sigma_wt**2) / (n * r)
              = sigma_bd**2 / n + 2 * sigma_w**2 / (n * r)        (equal run-to-run noise)

``sigma_bd**2`` is the between-example variance of the true difference (examples that one variant
suits more than the other) and ``sigma_w**2`` the run-to-run variance of a score within an
example (both from an analysis, or given). The test is the paired t-test on the ``n``
differences, so the power is that of a one-sample t-test of
``d_z = mde / sqrt(sigma_bd**2 + (sigma_wc**2 + sigma_wt**2) / r)`` with ``n - 1`` degrees of
freedom (noncentral t; :func:`toolkit.ab.power.power_paired`). Repetitions shrink only the
run-to-run part: however many, ``n`` never falls below what ``sigma_bd`` alone needs
(``examples_floor``), so when examples' true differences dominate, more examples are the only
remedy, and when run-to-run noise dominates, repetitions are the cheaper one whenever an example
costs more to add (to write, label, review) than a call.

Examples
--------
>>> p = plan_repetitions(0.1, var_between_diff=0.01, var_within=0.04, max_repetitions=4)
>>> p.table[["repetitions", "examples", "calls"]].values.tolist()
[[1, 73, 146], [2, 42, 168], [3, 31, 186], [4, 26, 208]]
>>> p.examples_floor
10
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError

__all__ = ["PlanError", "RepetitionPlan", "plan_repetitions", "plan_from_result", "power_repeated",
           "FORMULA", "MAX_REPETITIONS"]

#: the variance of the lift the planner uses (stated in every plan)
FORMULA = ("var(lift) = sigma_bd^2 / n + (sigma_wc^2 + sigma_wt^2) / (n r); power of the paired t-test "
           "on n example means: noncentral t, df n - 1, d_z = mde / sqrt(sigma_bd^2 + (sigma_wc^2 + "
           "sigma_wt^2) / r)")
#: the largest number of repetitions a plan tabulates
MAX_REPETITIONS = 100
_MAX_EXAMPLES = 10_000_000


class PlanError(ToolkitError):
    """An option of the planner out of its range (names the option)."""


def _check(name, value, lo=0.0, hi=math.inf, *, open_lo=True):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise PlanError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or (v <= lo if open_lo else v < lo) or v > hi:
        raise PlanError(f"{name} must be in {'(' if open_lo else '['}{lo:g}, {hi:g}], got {value!r}")
    return v


def power_repeated(n, repetitions, mde, *, var_between_diff, var_within_control,
                   var_within_treatment=None, alpha: float = 0.05):
    """Power of the repetition-aware paired t-test (vectorised over ``n`` and ``repetitions``).

    Examples
    --------
    >>> round(float(power_repeated(40, 2, 0.1, var_between_diff=0.01, var_within_control=0.04)), 4)
    0.7876
    """
    from toolkit.ab.power import power_paired

    wt = var_within_control if var_within_treatment is None else var_within_treatment
    r = np.asarray(repetitions, dtype=float)
    sd = np.sqrt(var_between_diff + (var_within_control + wt) / r)
    return power_paired(np.asarray(n, dtype=float), mde / sd, alpha=alpha)


@dataclass(frozen=True)
class RepetitionPlan:
    """Examples needed per number of repetitions (see :func:`plan_repetitions`).

    ``table`` has one row per repetitions ``r``: ``sd_diff`` (SD of an example difference),
    ``d_z``, ``examples`` (needed for the target power), ``calls`` (``variants * examples * r``),
    ``cost`` (when costs are given), ``power`` (achieved with that many examples) and, when
    ``n_available`` is given, ``power_available`` (with the available examples).
    """

    mde: float
    alpha: float
    power: float
    var_between_diff: float
    var_within_control: float
    var_within_treatment: float
    variants: int
    table: pd.DataFrame
    examples_floor: int
    recommended: dict
    n_available: int | None = None
    cost_per_call: float | None = None
    cost_per_example: float = 0.0
    formula: str = FORMULA

    def summary_table(self) -> pd.DataFrame:
        """The table over repetitions, with the recommended row marked.

        Examples
        --------
        >>> p = plan_repetitions(0.1, var_between_diff=0.01, var_within=0.04, max_repetitions=2)
        >>> p.summary_table()["recommended"].tolist()
        [True, False]
        """
        return self.table.assign(recommended=self.table["repetitions"] == self.recommended["repetitions"])

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict.

        Examples
        --------
        >>> plan_repetitions(0.1, var_between_diff=0.01, var_within=0.04).to_dict()["recommended"]["examples"]
        73
        """
        def py(v):
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, (np.floating, float)):
                return float(v) if math.isfinite(float(v)) else None
            return v

        return {"mde": self.mde, "alpha": self.alpha, "power": self.power,
                "var_between_diff": self.var_between_diff, "var_within_control": self.var_within_control,
                "var_within_treatment": self.var_within_treatment, "variants": self.variants,
                "examples_floor": self.examples_floor, "n_available": self.n_available,
                "cost_per_call": self.cost_per_call, "cost_per_example": self.cost_per_example,
                "recommended": {k: py(v) for k, v in self.recommended.items()},
                "table": [{k: py(v) for k, v in r.items()} for r in self.table.to_dict(orient="records")],
                "formula": self.formula}

    def figure(self, **kwargs):
        """Examples needed and calls (or cost) against repetitions (:func:`plots.plan_figure`).

        Examples
        --------
        >>> len(plan_repetitions(0.1, var_between_diff=0.01, var_within=0.04).figure().axes)
        2
        """
        from toolkit.experiments.plots import plan_figure

        return plan_figure(self, **kwargs)

    def message(self) -> str:
        """One sentence: the recommendation and why.

        Examples
        --------
        >>> plan_repetitions(0.1, var_between_diff=0.01, var_within=0.04).message()[:40]
        'MDE 0.1 at power 80 %: 73 examples x 1 r'
        >>> p = plan_repetitions(0.1, var_between_diff=0.01, var_within=0.04, n_available=20)
        >>> p.message().split(". ")[-1]
        'With the 20 examples available no design reaches it: at most 75 % power (5 repetitions)'
        """
        r = self.recommended
        what = f"cost {r['cost']:.4g}" if self.cost_per_call is not None else f"{int(r['calls']):,} calls"
        text = (f"MDE {self.mde:g} at power {100 * self.power:.0f} %: {int(r['examples'])} examples x "
                f"{int(r['repetitions'])} repetition(s) ({what}); no number of repetitions gets below "
                f"{self.examples_floor} examples (the examples' own differences)")
        if self.n_available is not None and not self.table["feasible"].any():
            best = self.table.sort_values(["power_available", "repetitions"], ascending=[False, True]).iloc[0]
            text += (f". With the {self.n_available} examples available no design reaches it: at most "
                     f"{100 * best['power_available']:.0f} % power ({int(best['repetitions'])} repetitions)")
        return text


def plan_repetitions(mde: float, *, var_between_diff: float, var_within: float | None = None,
                     var_within_control: float | None = None, var_within_treatment: float | None = None,
                     alpha: float = 0.05, power: float = 0.8, max_repetitions: int = 5,
                     n_available: int | None = None, cost_per_call: float | None = None,
                     cost_per_example: float = 0.0, variants: int = 2) -> RepetitionPlan:
    """Examples needed for ``mde`` at ``alpha``/``power``, for 1..``max_repetitions`` repetitions.

    Parameters
    ----------
    mde : float
        Minimum detectable lift, in the metric's units (> 0).
    var_between_diff : float
        ``sigma_bd**2``: between-example variance of the true difference (>= 0).
    var_within : float, optional
        ``sigma_w**2``: run-to-run variance of one call's score, the same for both variants; or
        give ``var_within_control`` and ``var_within_treatment``.
    alpha, power : float
        Two-sided significance level and target power.
    max_repetitions : int
        Rows of the table (1..100).
    n_available : int, optional
        Size of the test set: adds the power each design reaches with it.
    cost_per_call : float, optional
        Price of one call (e.g. USD); with ``cost_per_example`` (the price of adding an example
        to the test set) the plan recommends the cheapest design, otherwise the fewest calls.
    variants : int
        Variants answering every example (calls = variants * examples * repetitions).

    Returns
    -------
    RepetitionPlan

    Examples
    --------
    >>> p = plan_repetitions(0.1, var_between_diff=0.002, var_within=0.05, cost_per_call=0.01,
    ...                      cost_per_example=1.0, max_repetitions=6)
    >>> p.recommended["repetitions"], p.recommended["examples"]
    (6, 17)
    """
    from toolkit.ab.power import power_paired, sample_size_paired

    mde = _check("mde", mde)
    alpha = _check("alpha", alpha, hi=0.5)
    power = _check("power", power, lo=alpha, hi=0.9999)
    vbd = _check("var_between_diff", var_between_diff, open_lo=False)
    if var_within is not None:
        wc = wt = _check("var_within", var_within, open_lo=False)
    else:
        if var_within_control is None:
            raise PlanError("give var_within, or var_within_control (and var_within_treatment)")
        wc = _check("var_within_control", var_within_control, open_lo=False)
        wt = wc if var_within_treatment is None else _check("var_within_treatment", var_within_treatment,
                                                              open_lo=False)
    if not isinstance(max_repetitions, (int, np.integer)) or not 1 <= max_repetitions <= MAX_REPETITIONS:
        raise PlanError(f"max_repetitions must be an integer in [1, {MAX_REPETITIONS}], got {max_repetitions!r}")
    if not isinstance(variants, (int, np.integer)) or not 2 <= variants <= 1000:
        raise PlanError(f"variants must be an integer in [2, 1000], got {variants!r}")
    if n_available is not None:
        n_available = int(_check("n_available", n_available, lo=2, hi=_MAX_EXAMPLES, open_lo=False))
    if cost_per_call is not None:
        cost_per_call = _check("cost_per_call", cost_per_call, open_lo=False)
    cost_per_example = _check("cost_per_example", cost_per_example, open_lo=False)
    if vbd + wc + wt <= 0:
        raise PlanError("the variance components are all 0: every difference would be exact")

    reps = np.arange(1, int(max_repetitions) + 1)
    sd = np.sqrt(vbd + (wc + wt) / reps)
    dz = mde / sd
    need = []
    for d in dz:
        n = max(2, math.ceil(sample_size_paired(float(d), alpha=alpha, power=power) - 1e-9))
        need.append(min(n, _MAX_EXAMPLES))
    need = np.asarray(need)
    table = pd.DataFrame({"repetitions": reps, "sd_diff": sd, "d_z": dz, "examples": need,
                          "calls": variants * need * reps,
                          "power": power_paired(need.astype(float), dz, alpha=alpha)})
    if cost_per_call is not None:
        table["cost"] = table["calls"] * cost_per_call + table["examples"] * cost_per_example
    if n_available is not None:
        table["power_available"] = power_paired(float(n_available), dz, alpha=alpha)
        table["feasible"] = table["examples"] <= n_available
    if vbd > 0:
        floor = max(2, math.ceil(sample_size_paired(mde / math.sqrt(vbd), alpha=alpha, power=power) - 1e-9))
    else:
        floor = 2
    key = "cost" if cost_per_call is not None else "calls"
    pool = table[table["feasible"]] if n_available is not None and table["feasible"].any() else table
    best = pool.sort_values([key, "repetitions"]).iloc[0]
    rec = {k: best[k] for k in table.columns}
    rec["repetitions"], rec["examples"] = int(rec["repetitions"]), int(rec["examples"])
    return RepetitionPlan(mde=mde, alpha=alpha, power=power, var_between_diff=vbd, var_within_control=wc,
                          var_within_treatment=wt, variants=int(variants), table=table,
                          examples_floor=int(floor), recommended=rec, n_available=n_available,
                          cost_per_call=cost_per_call, cost_per_example=cost_per_example)


def plan_from_result(result, mde: float, *, treatment: str | None = None, **kwargs) -> RepetitionPlan:
    """Plan with the variance components measured by an analysis
    (:func:`toolkit.experiments.analysis.analyze_repeated`); ``kwargs`` go to
    :func:`plan_repetitions`. The run-to-run variance of a variant that was never repeated is
    unknown: then the error says to repeat at least some examples.

    Examples
    --------
    >>> from toolkit.experiments.analysis import _demo_result
    >>> plan_from_result(_demo_result(), 0.5).recommended["repetitions"]
    1
    """
    comp = result.components(treatment)
    wc, wt = comp["var_within_control"], comp["var_within_treatment"]
    if not (wc == wc and wt == wt):
        raise PlanError("the run-to-run variance is unknown (no example was scored twice under a "
                        "variant): rerun with repetitions >= 2")
    kwargs.setdefault("variants", 1 + len(result.treatments))
    return plan_repetitions(mde, var_between_diff=comp["var_between_diff"], var_within_control=wc,
                            var_within_treatment=wt, **kwargs)
