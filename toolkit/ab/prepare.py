"""The steps of an A/B analysis that prepare the data: each unit's arm, and per metric the
checked values, the per-arm statistics and (with a covariate) their CUPED adjustment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.ab.cuped import (
    PRE_PREFIX,
    CupedFit,
    RegressionFit,
    covariate_matrix,
    cuped_fit,
    regression_adjust,
)
from toolkit.ab.metrics import ABInputError, Metric, need_column
from toolkit.ab.moments import ArmStats, arm_stats, arm_sums, centred_ss, metric_values
from toolkit.ab.options import AnalysisOptions

__all__: list[str] = []  # internal steps of :func:`toolkit.ab.analysis.analyze`


@dataclass
class _Arms:
    """The arms (sorted), control, treatments and, for the pandas engine, each unit's arm code
    (its position in ``arms``; -1: no variant)."""

    arms: list[str]
    control: str
    treatments: list[str]
    n_units: dict[str, int]
    n_missing_variant: int
    codes: np.ndarray | None = None

    @classmethod
    def of(cls, arms: list[str], control: str, n_units: dict[str, int], n_missing_variant: int,
           codes: np.ndarray | None = None) -> _Arms:
        return cls(arms, control, [a for a in arms if a != control], n_units, n_missing_variant,
                   codes)

    @property
    def index(self) -> dict[str, int]:
        """Arm -> code."""
        return {a: i for i, a in enumerate(self.arms)}


@dataclass
class _MetricData:
    """One metric's values on the units with a value and an arm, and its per-arm statistics
    (the Dask engine has the statistics only)."""

    stats: ArmStats                # per-arm statistics (:mod:`toolkit.ab.moments`)
    x: np.ndarray | None = None    # values of every unit (numerators for ratios)
    den: np.ndarray | None = None  # denominators of every unit (ratios only)
    ok: np.ndarray | None = None   # unit has a value and an arm
    codes: np.ndarray | None = None  # arm codes of the ``ok`` units
    cuped: CupedFit | RegressionFit | None = None   # the adjustment, when covariates are used
    covariate: str | None = None
    adjusted: ArmStats | None = None  # statistics of the CUPED-adjusted values

    def arm(self, label: str, adjusted: bool = False) -> tuple[int, float, float, float]:
        """(n, estimate, variance of the estimate, unit variance) of one arm."""
        return (self.adjusted if adjusted else self.stats).arm(label)


def _arms(units: pd.DataFrame, opts: AnalysisOptions, notes: list[str]) -> _Arms:
    """Arms (sorted), control and each unit's arm code (its position in the sorted arms; -1: no
    variant); units without a variant are counted."""
    raw = units[opts.variant_col]
    # the arms' labels are the distinct values' texts (the same conversion gives the codes); two
    # values with one text (1 and "1") would be one label for two arms
    distinct = pd.Series(pd.unique(raw.dropna()))
    labels = distinct.astype("string")
    if labels.nunique() < len(distinct):
        same = distinct.groupby(labels).unique()
        same = same[same.map(len) > 1]
        raise ABInputError(
            f"column {opts.variant_col!r}: different values read as the same arm "
            + "; ".join(f"{', '.join(repr(x) for x in vals[:5])} -> {str(k)!r}" for k, vals in same.head(3).items())
            + ": give the variants distinct names")
    vser = raw.astype("string")
    arms, control = _resolve_arms(labels, opts.variant_col, opts.control)
    codes = np.asarray(pd.factorize(vser, sort=True)[0])
    n_missing = int((codes < 0).sum())
    if n_missing:
        notes.append(f"{n_missing:,} units without a variant were left out")
    counts = np.bincount(codes[codes >= 0], minlength=len(arms))
    return _Arms.of(arms, control, {a: int(k) for a, k in zip(arms, counts)}, n_missing, codes)


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


def _metric_data(units: pd.DataFrame, metric: Metric, arms: _Arms, opts: AnalysisOptions,
                 explicit: bool, notes: list[str]) -> _MetricData | None:
    """Check one metric's values and compute its per-arm statistics (None: skipped)."""
    try:
        cols = [metric_values(units, c, metric.name) for c in metric.columns]
    except ABInputError:
        if explicit:
            raise
        notes.append(f"metric {metric.name!r} skipped: column missing or not numeric")
        return None
    x = cols[0]
    den = cols[1] if metric.kind == "ratio" else None
    finite = np.isfinite(x) if den is None else (np.isfinite(x) & np.isfinite(den))
    in_arm = arms.codes >= 0
    missing = ~finite & in_arm
    if opts.nan_policy == "raise" and missing.any():
        raise ABInputError(f"metric {metric.name!r}: {int(missing.sum())} missing values "
                           f"(nan_policy='raise'), e.g. rows {units.index[missing][:5].tolist()}")
    ok = finite & in_arm
    xv, dv, codes = x[ok], None if den is None else den[ok], arms.codes[ok]
    _check_values(units, metric, xv, dv, ok)
    k = len(arms.arms)
    sums = arm_sums(xv, dv, codes, arms.arms, metric.kind,
                    np.bincount(arms.codes[missing], minlength=k), count_non_binary=False)
    st = arm_stats(sums, metric, arms.arms, lambda est, mean_d: centred_ss(xv, dv, codes, est, mean_d),
                   nan_policy=opts.nan_policy, explicit=explicit, notes=notes)
    if st is None:
        return None
    md = _MetricData(stats=st, x=x, den=den, ok=ok, codes=codes)
    cov = _covariate_of(metric, units, opts, notes)
    if cov is not None:
        _add_cuped(md, units, metric, cov, arms, notes)
    return md


def _covariate_of(metric: Metric, units: pd.DataFrame, opts: AnalysisOptions,
                  notes: list[str]) -> str | list[str] | None:
    """The CUPED covariate column of a metric, if one is asked for (or found with "auto")."""
    cov = opts.covariates
    if cov is None and opts.pre_period is None:
        return None
    if cov is None or cov == "auto":
        col = PRE_PREFIX + (metric.column or "")
        if metric.kind == "ratio" or col not in units.columns:
            return None
        return col
    col = cov.get(metric.name)
    if col is None:
        return None
    if metric.kind == "ratio":
        notes.append(f"CUPED not applied to ratio metric {metric.name!r}")
        return None
    if not isinstance(col, str):
        cols = list(col)
        if len(cols) == 1:
            col = cols[0]
        else:
            return cols
    need_column(units, col, f"CUPED covariate column {col!r} of metric {metric.name!r} not found")
    return col


def _add_cuped(md: _MetricData, units: pd.DataFrame, metric: Metric, col: str, arms: _Arms,
               notes: list[str]) -> None:
    """CUPED-adjust the metric's values with the covariate (several: regression adjustment);
    store the adjusted arm statistics."""
    if isinstance(col, list):
        X, names = covariate_matrix(units, col)
        fit = regression_adjust(md.x[md.ok], X[md.ok], md.codes, names)
        col = ", ".join(col)
    else:
        xcov = metric_values(units, col, metric.name)[md.ok]
        fit = cuped_fit(md.x[md.ok], xcov, md.codes)
    md.adjusted = ArmStats.from_values("continuous", fit.adjusted, None, md.codes, arms.arms)
    md.cuped, md.covariate = fit, col
    if fit.n_missing_covariate:
        notes.append(f"CUPED for {metric.name!r}: {fit.n_missing_covariate:,} units without "
                     f"{col!r} got its mean (no adjustment for them)")


def _check_values(units: pd.DataFrame, metric: Metric, xv: np.ndarray, dv: np.ndarray | None,
                  ok: np.ndarray) -> None:
    """Binary metrics hold only 0/1; ratio denominators are not negative."""
    if metric.kind == "binary":
        badm = ~np.isin(xv, (0.0, 1.0))
        if badm.any():
            rows_bad = units.index[ok][badm][:5].tolist()
            vals = sorted(set(xv[badm].tolist()))[:5]
            raise ABInputError(
                f"metric {metric.name!r} is binary but column {metric.column!r} has values "
                f"other than 0/1/True/False: {vals} (e.g. rows {rows_bad}); use kind "
                "'continuous' or fix the data")
    if dv is not None and (dv < 0).any():
        raise ABInputError(f"ratio metric {metric.name!r}: denominator "
                           f"{metric.denominator!r} has negative values")
