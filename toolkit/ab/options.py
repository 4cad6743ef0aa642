"""The settings of an A/B analysis: :class:`AnalysisOptions`."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from toolkit.ab.metrics import CORRECTIONS, ABInputError, one_of
from toolkit.ab.bayes import SCALES, Prior

__all__ = ["AnalysisOptions"]


@dataclass(frozen=True)
class AnalysisOptions:
    """The settings of :func:`analyze` (every field is also accepted as a keyword of it).

    Examples
    --------
    >>> opts = AnalysisOptions(alpha=0.01, correction="bh")
    >>> opts.alpha, opts.bootstrap
    (0.01, 0)
    """

    variant_col: str = "variant"
    control: str | None = None
    alpha: float = 0.05
    correction: str = "holm"
    planned_allocation: dict[str, float] | None = None
    srm_threshold: float = 0.001
    bootstrap: int = 0
    seed: int = 0
    nan_policy: str = "drop"
    nonparametric: bool = True
    sequential: bool = True
    time_col: str | None = "start_time"
    default_mde_relative: float = 0.10
    power_target: float = 0.8
    unit: str = "conversation"
    max_looks: int | None = 20_000
    covariates: dict[str, str | list[str]] | str | None = None
    pre_period: tuple | None = None
    bayes: bool = True
    prior_mean: float = 0.0
    prior_sd: float | None = None
    bayes_scale: str = "relative"
    quantiles: tuple[float, ...] = ()
    quantile_resamples: int = 1000
    primary: tuple[str, ...] | str | None = None
    guardrails: dict[str, float] | None = None
    unit_check: str = "switch"

    def __post_init__(self):
        one_of(self.bayes_scale, SCALES, "bayes_scale")
        Prior(self.prior_mean, self.prior_sd)  # checks the prior
        if self.pre_period is not None and len(self.pre_period) != 2:
            raise ABInputError(f"pre_period must be (start, end), got {self.pre_period!r}")
        if not (self.covariates is None or self.covariates == "auto"
                or isinstance(self.covariates, dict)):
            raise ABInputError("covariates must be a dict metric -> column, 'auto' or None, "
                             f"got {self.covariates!r}")
        one_of(self.nan_policy, ("drop", "raise"), "nan_policy")
        one_of(self.correction, CORRECTIONS, "correction")
        if isinstance(self.primary, str) and self.primary != "all":
            object.__setattr__(self, "primary", tuple(
                s.strip() for s in self.primary.split(",") if s.strip()))
        elif self.primary is not None and not isinstance(self.primary, str):
            object.__setattr__(self, "primary", tuple(map(str, self.primary)))
        if self.guardrails is not None:
            if not isinstance(self.guardrails, dict):
                raise ABInputError("guardrails must be a dict metric -> margin (>= 0, in the "
                                 f"metric's units), got {self.guardrails!r}")
            bad = {k: v for k, v in self.guardrails.items()
                   if not (isinstance(v, (int, float)) and v >= 0 and v == v)}
            if bad:
                raise ABInputError(f"guardrail margins must be numbers >= 0, got {bad!r}")
        one_of(self.unit_check, ("switch", "stop"), "unit_check")
        if not 0 < self.alpha < 1:
            raise ABInputError(f"alpha must be in (0, 1), got {self.alpha!r}")

    @classmethod
    def build(cls, options: "AnalysisOptions | None" = None, **overrides) -> "AnalysisOptions":
        """``options`` (default: the defaults) with the given fields replaced.

        Examples
        --------
        >>> AnalysisOptions.build(AnalysisOptions(alpha=0.01), seed=3).seed
        3
        """
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise TypeError(f"analyze() got unexpected keyword argument(s) {unknown}; the "
                            f"options are: {', '.join(sorted(names))}")
        return replace(options or cls(), **overrides)
