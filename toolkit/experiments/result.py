"""The result of the repetition-aware analysis: :class:`RepeatedResult`, its tables and figures.

:func:`toolkit.experiments.analysis.analyze_repeated` builds it; its figures are drawn by
:mod:`toolkit.experiments.plots` and its plan by :mod:`toolkit.experiments.planner`.

Examples
--------
>>> from toolkit.experiments.analysis import _demo_result
>>> res = _demo_result()
>>> res.control, res.treatments, res.verdicts[0][:26]
('A', ('B',), 'quality (B vs A): winner, ')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit._files import to_jsonable
from toolkit.errors import ToolkitError

__all__ = ["ExperimentAnalysisError", "RepeatedResult"]


class ExperimentAnalysisError(ToolkitError):
    """A run log or an option the repeated-runs analysis cannot use (names the column or option)."""


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
        >>> from toolkit.experiments.analysis import _demo_result
        >>> list(_demo_result().summary_table().columns)[:4]
        ['treatment', 'analysis', 'units', 'lift']
        """
        # per analysis, the comparisons' column behind units, lift, se, ci_low, ci_high, p_value
        analyses = {"examples as units (paired t)": ("n_examples", "lift", "se", "ci_low", "ci_high", "p_value"),
                    "cluster bootstrap": ("n_examples", "lift", None, "boot_ci_low", "boot_ci_high", None),
                    "naive: repetitions as examples": ("naive_units", "naive_lift", "naive_se", "naive_ci_low",
                                                       "naive_ci_high", "naive_p_value")}
        keys = ("units", "lift", "se", "ci_low", "ci_high", "p_value")
        return pd.DataFrame([{"treatment": c["treatment"], "analysis": name,
                              **{k: np.nan if col is None else c[col] for k, col in zip(keys, cols)}}
                             for _, c in self.comparisons.iterrows() for name, cols in analyses.items()])

    @property
    def flaky_examples(self) -> pd.DataFrame:
        """Only the flagged (variant, example) cells, the most unstable first.

        Examples
        --------
        >>> from toolkit.experiments.analysis import _demo_result
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
        >>> from toolkit.experiments.analysis import _demo_result
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

    @property
    def best(self) -> pd.Series:
        """The comparison row of the treatment with the highest lift.

        Examples
        --------
        >>> from toolkit.experiments.analysis import _demo_result
        >>> _demo_result().best["treatment"]
        'B'
        """
        return self.comparisons.sort_values("lift", ascending=False, kind="stable").iloc[0]

    def headline(self) -> str:
        """One line: the best treatment against the control (lift, CI, adjusted p) and the number
        of flaky examples.

        Examples
        --------
        >>> from toolkit.experiments.analysis import _demo_result
        >>> _demo_result().headline()
        'B vs A: lift +0.500 [+0.500, +0.500], p = 6.65e-80; 1 flaky examples'
        """
        b = self.best
        n_flaky = self.flaky_examples["example_id"].nunique()
        return (f"{b['treatment']} vs {self.control}: lift {b['lift']:+.3f} [{b['ci_low']:+.3f}, {b['ci_high']:+.3f}], "
                f"p = {b['p_adjusted']:.3g}; {n_flaky} flaky examples")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (NaN -> None).

        Examples
        --------
        >>> from toolkit.experiments.analysis import _demo_result
        >>> d = _demo_result().to_dict()
        >>> d["control"], d["comparisons"][0]["treatment"], d["n_flaky"]
        ('A', 'B', 1)
        """
        return {"metric": self.metric, "control": self.control, "treatments": list(self.treatments),
                "binary": self.binary, "alpha": self.alpha, "method": self.method,
                "comparisons": to_jsonable(self.comparisons), "variance": to_jsonable(self.variance),
                "verdicts": self.verdicts,
                "metrics": [{"metric": f"{self.metric} ({c['treatment']} vs {self.control})",
                             "verdict": c["verdict"]} for _, c in self.comparisons.iterrows()],
                "n_flaky": int(self.flaky["flaky"].sum()),
                "flaky_examples": to_jsonable(self.flaky_examples[["variant", "example_id", "n", "mean", "sd",
                                                                "ratio"]]),
                "n_missing": self.n_missing, "n_unpaired": self.n_unpaired, "notes": list(self.notes)}

    def components(self, treatment: str | None = None) -> dict[str, float]:
        """The variance components a plan needs, for one comparison.

        Examples
        --------
        >>> from toolkit.experiments.analysis import _demo_result
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
        >>> from toolkit.experiments.analysis import _demo_result
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
        >>> from toolkit.experiments.analysis import _demo_result
        >>> len(_demo_result().per_example_figure().axes)
        1
        """
        from toolkit.experiments.plots import per_example_figure

        return per_example_figure(self, treatment, max_examples=max_examples, figsize=figsize)

    def variance_figure(self, *, figsize=(7.0, 3.6)):
        """The variance split: between-example vs run-to-run, per variant and per comparison.

        Examples
        --------
        >>> from toolkit.experiments.analysis import _demo_result
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
        >>> from toolkit.experiments.analysis import _demo_result
        >>> len(_demo_result().flaky_figure().axes)
        1
        """
        from toolkit.experiments.plots import flaky_figure

        return flaky_figure(self, data, max_examples=max_examples, figsize=figsize)
