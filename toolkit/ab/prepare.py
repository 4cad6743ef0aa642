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
from toolkit.ab.metrics import ABInputError, Metric
from toolkit.ab.options import AnalysisOptions

__all__: list[str] = []  # internal steps of :func:`toolkit.ab.analysis.analyze`


@dataclass
class _Arms:
    """The arms of the table and each unit's arm code (-1: no variant)."""

    arms: list[str]
    control: str
    treatments: list[str]
    codes: np.ndarray
    index: dict[str, int]
    n_levels: int
    n_units: dict[str, int]
    n_missing_variant: int


@dataclass
class _MetricData:
    """One metric's values on the units with a value and an arm, and its per-arm statistics."""

    x: np.ndarray            # values of every unit (numerators for ratios)
    den: np.ndarray | None   # denominators of every unit (ratios only)
    ok: np.ndarray           # unit has a value and an arm
    codes: np.ndarray        # arm codes of the ``ok`` units
    n: np.ndarray            # units with a value, per arm code
    n_nan: np.ndarray        # missing values, per arm code
    mean: np.ndarray         # estimate per arm code (mean, or ratio of sums)
    unit_var: np.ndarray     # unit variance per arm code (linearised for ratios)
    cuped: CupedFit | RegressionFit | None = None   # the adjustment, when covariates are used
    covariate: str | None = None
    adj_mean: np.ndarray | None = None   # CUPED-adjusted estimate per arm code
    adj_var: np.ndarray | None = None    # unit variance of the adjusted values per arm code

    def stats(self, code: int, adjusted: bool = False) -> tuple[int, float, float, float]:
        """(n, estimate, variance of the estimate, unit variance) of one arm."""
        n = int(self.n[code])
        mean, uvar = (self.adj_mean, self.adj_var) if adjusted else (self.mean, self.unit_var)
        return n, float(mean[code]), float(uvar[code] / n), float(uvar[code])


def _arms(units: pd.DataFrame, opts: AnalysisOptions, notes: list[str]) -> _Arms:
    """Arms, control and each unit's arm code; units without a variant are counted."""
    vser = units[opts.variant_col]
    arms, control = _resolve_arms(vser, opts.variant_col, opts.control)
    codes, uniq = pd.factorize(vser.astype("string"), sort=False)
    uniq = [str(u) for u in uniq]
    index = {a: uniq.index(a) for a in arms}
    n_missing = int((codes < 0).sum())
    if n_missing:
        notes.append(f"{n_missing:,} units without a variant were left out")
    counts = np.bincount(codes[codes >= 0], minlength=len(uniq))
    return _Arms(arms=arms, control=control, treatments=[a for a in arms if a != control],
                 codes=codes, index=index, n_levels=len(uniq),
                 n_units={a: int(counts[index[a]]) for a in arms}, n_missing_variant=n_missing)


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


def _skip_or_raise(msg: str, explicit: bool, notes: list[str], note: str | None = None) -> None:
    """A requested metric that cannot be analysed raises; a default one is skipped with a note."""
    if explicit:
        raise ABInputError(msg)
    notes.append(note or msg)


def _metric_data(units: pd.DataFrame, metric: Metric, arms: _Arms, opts: AnalysisOptions,
                 explicit: bool, notes: list[str]) -> _MetricData | None:
    """Check one metric's values and compute its per-arm statistics (None: skipped)."""
    try:
        cols = [_as_float_array(units, c, metric.name) for c in metric.columns]
    except ABInputError:
        if explicit:
            raise
        notes.append(f"metric {metric.name!r} skipped: column missing or not numeric")
        return None
    x = cols[0]
    den = cols[1] if metric.kind == "ratio" else None
    finite = np.isfinite(x) if den is None else (np.isfinite(x) & np.isfinite(den))
    in_arm = arms.codes >= 0
    n_nan = int((~finite & in_arm).sum())
    if n_nan and opts.nan_policy == "raise":
        bad = units.index[~finite & in_arm][:5].tolist()
        raise ABInputError(f"metric {metric.name!r}: {n_nan} missing values "
                           f"(nan_policy='raise'), e.g. rows {bad}")
    ok = finite & in_arm
    xv = x[ok]
    if xv.size == 0:
        _skip_or_raise(f"metric {metric.name!r}: no non-missing values", explicit, notes,
                       f"metric {metric.name!r} skipped: no values")
        return None
    _check_values(units, metric, xv, None if den is None else den[ok], ok)
    if metric.kind != "ratio" and xv.min() == xv.max():
        msg = f"metric {metric.name!r} is constant (every value = {xv[0]:g}): nothing to compare"
        _skip_or_raise(msg, explicit, notes, msg.replace("nothing to compare", "skipped"))
        return None
    codes = arms.codes[ok]
    n_per = np.bincount(codes, minlength=arms.n_levels)
    for a in arms.arms:
        if n_per[arms.index[a]] < 2:
            raise ABInputError(
                f"metric {metric.name!r}: arm {a!r} has {int(n_per[arms.index[a]])} unit(s) "
                f"with a value; at least 2 per arm are needed")
    nan_per = np.bincount(arms.codes[~finite & in_arm], minlength=arms.n_levels)
    if den is None:
        mean, uvar = _arm_moments(metric.kind, xv, codes, n_per)
    else:
        mean, uvar = _ratio_moments(metric, xv, den[ok], codes, n_per, arms)
        ratio_vals = xv / np.where(den[ok] > 0, den[ok], np.nan)
        if np.nanmin(ratio_vals) == np.nanmax(ratio_vals) and np.all(uvar[n_per > 0] == 0):
            _skip_or_raise(f"ratio metric {metric.name!r} is constant: nothing to compare",
                           explicit, notes)
            return None
    md = _MetricData(x=x, den=den, ok=ok, codes=codes, n=n_per, n_nan=nan_per, mean=mean,
                     unit_var=uvar)
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
    if col not in units.columns:
        raise ABInputError(f"CUPED covariate column {col!r} of metric {metric.name!r} not found "
                           f"(columns: {', '.join(map(str, units.columns))})")
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
        xcov = _as_float_array(units, col, metric.name)[md.ok]
        fit = cuped_fit(md.x[md.ok], xcov, md.codes)
    k = md.n.size
    adj = fit.adjusted
    md.adj_mean = np.bincount(md.codes, weights=adj, minlength=k) / np.maximum(md.n, 1)
    dev = adj - md.adj_mean[md.codes]
    md.adj_var = np.bincount(md.codes, weights=dev * dev, minlength=k) / np.maximum(md.n - 1, 1)
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


def _arm_moments(kind: str, xv: np.ndarray, codes: np.ndarray,
                 n_per: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unit variance per arm code (two-pass; Bernoulli p (1 - p) for binary)."""
    k = n_per.size
    mean = np.bincount(codes, weights=xv, minlength=k) / np.maximum(n_per, 1)
    if kind == "binary":
        return mean, mean * (1.0 - mean)
    dev = xv - mean[codes]
    uvar = np.bincount(codes, weights=dev * dev, minlength=k) / np.maximum(n_per - 1, 1)
    return mean, uvar


def _ratio_moments(metric: Metric, xv: np.ndarray, dv: np.ndarray, codes: np.ndarray,
                   n_per: np.ndarray, arms: _Arms) -> tuple[np.ndarray, np.ndarray]:
    """Ratio of sums per arm code and the unit variance of the linearised values."""
    k = n_per.size
    sa = np.bincount(codes, weights=xv, minlength=k)
    sb = np.bincount(codes, weights=dv, minlength=k)
    if (sb[[arms.index[a] for a in arms.arms]] <= 0).any():
        raise ABInputError(f"ratio metric {metric.name!r}: denominator "
                           f"{metric.denominator!r} sums to 0 in an arm")
    mean = sa / np.where(sb > 0, sb, 1.0)
    mb = sb / np.maximum(n_per, 1)
    lin = (xv - mean[codes] * dv) / mb[codes]
    uvar = np.bincount(codes, weights=lin * lin, minlength=k) / np.maximum(n_per - 1, 1)
    return mean, uvar


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
