"""CUPED / regression adjustment with pre-experiment covariates per unit.

For a metric ``y`` and a covariate ``x`` measured before the unit was exposed (the same metric in
a pre-period, typically), CUPED (Deng, Xu, Kohavi & Walker 2013) analyses
``y_adj = y - theta (x - mean(x))`` instead of ``y``. Here ``theta`` is the **pooled within-arm**
slope ``sum_k cov_k(y, x) / sum_k var_k(x)`` (sums of centred cross-products over all arms), so
the adjusted difference of means equals the treatment coefficient of the ANCOVA regression
``y ~ 1 + arm + x`` (statsmodels OLS, to rounding). Because ``x`` is fixed before randomisation,
the adjusted estimate stays unbiased; its variance is that of the unadjusted one times about
``1 - rho**2`` (``rho`` = within-arm correlation of ``y`` and ``x``), the reported
``variance_reduction``.

With several covariates (:func:`regression_adjust`: pre-period metrics, response length,
tokens per second, segment dummies from :func:`covariate_matrix`) the slope becomes the pooled
within-arm OLS coefficient vector, and the adjusted difference of means is the ANCOVA treatment
coefficient of ``y ~ 1 + arm + X``; the variance shrinks by ``1 - R**2`` (within-arm ``R**2``),
which the planners take as ``r_squared=``. Covariates must not be affected by the treatment (a
response length measured during the experiment can be, so use it only when the variants cannot
change it, or measure it before).

Units without a covariate value (new users without a pre-period, say) get the covariate mean:
their adjusted value is their raw value, so they neither bias nor help the estimate.

:func:`pre_period_units` builds the covariates from a conversation log: the units of the
experiment period (conversations, or users, that started at or after the pre-period's end) with,
per unit, the same metrics over its user's conversations in ``[start, end)``. With conversations
randomised one by one, a user's earlier conversations were assigned independently of the current
one, so the covariate is independent of the current assignment.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(0, 1, 4000); arm = rng.integers(0, 2, 4000)
>>> y = 0.8 * x + rng.normal(0, 0.6, 4000) + 0.1 * arm
>>> fit = cuped_fit(y, x, arm)
>>> round(fit.theta, 2), round(fit.variance_reduction, 2)
(0.8, 0.64)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.ab.metrics import ABInputError, need_column

__all__ = ["CupedFit", "cuped_fit", "RegressionFit", "regression_adjust", "covariate_matrix",
           "pre_period_units", "PRE_PREFIX"]

#: prefix of the covariate columns :func:`pre_period_units` adds (``pre_resolved``, ...)
PRE_PREFIX = "pre_"


@dataclass(frozen=True)
class CupedFit:
    """The adjustment of one metric: slope, filled covariate, adjusted values, reduction.

    Attributes
    ----------
    theta : float
        Pooled within-arm slope of the metric on the covariate.
    rho : float
        Pooled within-arm correlation of metric and covariate.
    adjusted : ndarray
        ``y - theta (x - mean(x))`` per unit.
    variance_reduction : float
        ``1 - sum_k var_k(y_adj) / sum_k var_k(y)`` (pooled within arms): about ``rho**2``.
    n_missing_covariate : int
        Units whose covariate was missing and filled with its mean.
    """

    theta: float
    rho: float
    adjusted: np.ndarray
    variance_reduction: float
    n_missing_covariate: int

    def to_dict(self) -> dict:
        """JSON-ready dict of the fit (without the per-unit adjusted values)."""
        return {"theta": float(self.theta), "rho": float(self.rho),
                "variance_reduction": float(self.variance_reduction),
                "n_missing_covariate": int(self.n_missing_covariate)}

    def summary_table(self) -> pd.DataFrame:
        """The fields of :meth:`to_dict`, one row."""
        return pd.DataFrame([self.to_dict()])


def cuped_fit(y, x, codes) -> CupedFit:
    """CUPED-adjust ``y`` with the covariate ``x`` (NaN = missing) given each unit's arm code.

    Parameters
    ----------
    y : array
        Metric values (no NaN).
    x : array
        Covariate values; NaNs are filled with the mean of the others.
    codes : array of int
        Arm of each unit (any integer labels).

    Returns
    -------
    CupedFit

    Raises
    ------
    ABInputError
        The covariate has no values, or no variance within the arms.

    Examples
    --------
    >>> fit = cuped_fit([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 2.5, 4.5], [0, 0, 1, 1])
    >>> round(fit.theta, 3), fit.n_missing_covariate
    (0.6, 0)
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float).copy()
    codes = np.asarray(codes)
    miss = ~np.isfinite(x)
    if miss.all():
        raise ABInputError("CUPED covariate has no values for the analysed units")
    x[miss] = x[~miss].mean()
    yc, xc = _within(codes, y, x[:, None])
    xc = xc[:, 0]
    sxx, syy, sxy = float(xc @ xc), float(yc @ yc), float(xc @ yc)
    if not sxx > 0:
        raise ABInputError("CUPED covariate is constant within the arms: nothing to adjust with")
    theta = sxy / sxx
    rho = sxy / np.sqrt(sxx * syy) if syy > 0 else 0.0
    adjusted = y - theta * (x - x.mean())
    ac = yc - theta * xc
    reduction = 1.0 - float(ac @ ac) / syy if syy > 0 else 0.0
    return CupedFit(theta=float(theta), rho=float(rho), adjusted=adjusted,
                    variance_reduction=reduction, n_missing_covariate=int(miss.sum()))


@dataclass(frozen=True)
class RegressionFit:
    """A regression adjustment with several covariates (CUPED generalised).

    Attributes
    ----------
    columns : list of str
        The covariates (categorical ones as ``column=level`` dummies).
    coef : ndarray
        Pooled within-arm OLS slopes, one per covariate.
    r_squared : float
        Share of the metric's within-arm variance the covariates explain.
    adjusted : ndarray
        ``y - (X - mean(X)) @ coef`` per unit.
    variance_reduction : float
        ``1 - sum_k var_k(y_adj) / sum_k var_k(y)`` (pooled within arms) = ``r_squared``.
    n_missing_covariate : int
        Units with at least one covariate missing (filled with that covariate's mean).
    """

    columns: list
    coef: np.ndarray
    r_squared: float
    adjusted: np.ndarray
    variance_reduction: float
    n_missing_covariate: int

    @property
    def theta(self) -> float:
        """The slope when there is one covariate, else NaN (see ``coef``)."""
        return float(self.coef[0]) if self.coef.size == 1 else float("nan")

    @property
    def rho(self) -> float:
        """``sqrt(r_squared)``: the multiple correlation."""
        return float(np.sqrt(max(self.r_squared, 0.0)))

    def to_dict(self) -> dict:
        """JSON-ready dict of the fit (without the per-unit adjusted values)."""
        return {"columns": list(self.columns), "coef": [float(c) for c in self.coef],
                "r_squared": float(self.r_squared),
                "variance_reduction": float(self.variance_reduction),
                "n_missing_covariate": int(self.n_missing_covariate)}

    def summary_table(self) -> pd.DataFrame:
        """One row per covariate: its slope, with the fit's R squared."""
        return pd.DataFrame({"covariate": list(self.columns), "coef": self.coef,
                             "r_squared": self.r_squared})


def _within(codes, y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``y`` and the columns of ``X`` minus their means within each arm (``codes``)."""
    _, inv = np.unique(codes, return_inverse=True)
    n = np.bincount(inv)
    sums = [np.bincount(inv, weights=col) for col in X.T]
    means = (np.stack(sums, axis=1) if sums else np.zeros((n.size, 0))) / n[:, None]
    return y - (np.bincount(inv, weights=y) / n)[inv], X - means[inv]


def covariate_matrix(units: pd.DataFrame, columns) -> tuple[np.ndarray, list[str]]:
    """Numeric covariates as they are, categorical ones (strings, categories, booleans with
    missing values) as dummies of every level but the most frequent; NaN = missing.

    Examples
    --------
    >>> df = pd.DataFrame({"len": [1.0, 2.0, None], "seg": ["a", "b", "a"]})
    >>> X, names = covariate_matrix(df, ["len", "seg"])
    >>> names, X.shape
    (['len', 'seg=b'], (3, 2))
    """
    blocks, names = [], []
    for col in columns:
        need_column(units, col, f"covariate column {col!r} not found")
        s = units[col]
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            blocks.append(s.to_numpy(dtype=float, na_value=np.nan)[:, None])
            names.append(str(col))
            continue
        s = s.astype("string")
        levels = s.value_counts().index.tolist()
        if len(levels) > 200:
            raise ABInputError(f"covariate {col!r} has {len(levels)} levels (limit 200): too "
                               "many dummies; group it first")
        for lev in levels[1:]:
            v = (s == lev).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            blocks.append(v[:, None])
            names.append(f"{col}={lev}")
    if not blocks:
        raise ABInputError(f"covariates {list(columns)} give no column to adjust with")
    return np.hstack(blocks), names


def regression_adjust(y, X, codes, columns=None) -> RegressionFit:
    """Adjust ``y`` with several covariates ``X`` (units x covariates; NaN = missing), fitted
    within arms: the adjusted difference of arm means equals the treatment coefficient of the
    ANCOVA ``y ~ 1 + arm + X`` (statsmodels OLS).

    Parameters
    ----------
    y : array
        Metric values (no NaN).
    X : array (units x covariates)
        Covariates; a missing value gets its column's mean.
    codes : array of int
        Arm of each unit.
    columns : list of str, optional
        Names of the covariates.

    Returns
    -------
    RegressionFit

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(0, 1, (4000, 2)); arm = rng.integers(0, 2, 4000)
    >>> y = X @ [0.6, 0.3] + rng.normal(0, 0.5, 4000) + 0.1 * arm
    >>> fit = regression_adjust(y, X, arm, ["a", "b"])
    >>> [round(float(c), 1) for c in fit.coef], round(fit.variance_reduction, 2)
    ([0.6, 0.3], 0.64)
    """
    y = np.asarray(y, dtype=float)
    X = np.array(X, dtype=float, copy=True)
    if X.ndim == 1:
        X = X[:, None]
    codes = np.asarray(codes)
    miss = ~np.isfinite(X)
    if miss.all(axis=0).any():
        raise ABInputError("a regression covariate has no values for the analysed units")
    means = np.nanmean(np.where(miss, np.nan, X), axis=0)
    X[miss] = np.broadcast_to(means, X.shape)[miss]
    yc, Xc = _within(codes, y, X)
    keep = Xc.std(axis=0) > 0
    if not keep.any():
        raise ABInputError("the regression covariates are constant within the arms: nothing "
                           "to adjust with")
    coef = np.zeros(X.shape[1])
    sol, *_ = np.linalg.lstsq(Xc[:, keep], yc, rcond=None)
    coef[keep] = sol
    adjusted = y - (X - X.mean(axis=0)) @ coef
    ac = yc - Xc @ coef
    syy = float(yc @ yc)
    r2 = 1.0 - float(ac @ ac) / syy if syy > 0 else 0.0
    names = list(columns) if columns is not None else [f"x{i}" for i in range(X.shape[1])]
    return RegressionFit(columns=names, coef=coef, r_squared=r2, adjusted=adjusted,
                         variance_reduction=r2, n_missing_covariate=int(miss.any(axis=1).sum()))


def _utc(value, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ABInputError(f"pre-period {name} {value!r} is not a date or time") from None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def pre_period_units(log, start, end, *, unit: str = "conversation",
                     columns=None) -> tuple[pd.DataFrame, dict[str, str]]:
    """The experiment-period units of a log, with each unit's pre-period metrics as covariates.

    Parameters
    ----------
    log : ConversationLog
    start, end : str or Timestamp
        The pre-period ``[start, end)`` (naive values are UTC). The experiment units are those
        that started at or after ``end``.
    unit : {"conversation", "user"}
        Randomisation unit, as in :func:`toolkit.ab.units.units_from_log`.
    columns : list of str, optional
        Unit-table columns to carry over (default: the numeric metric columns present).

    Returns
    -------
    (DataFrame, dict)
        The unit table with ``pre_<column>`` columns (NaN for users without a pre-period
        conversation) and the map ``column -> covariate column``.

    Examples
    --------
    >>> import toolkit
    >>> units, cov = pre_period_units(toolkit.load_sample(), "2026-09-01", "2026-09-21")
    >>> cov["resolved"], bool(units["start_time"].min() >= pd.Timestamp("2026-09-21", tz="UTC"))
    ('pre_resolved', True)
    """
    from toolkit.ab.units import units_from_log

    t0, t1 = _utc(start, "start"), _utc(end, "end")
    if not t0 < t1:
        raise ABInputError(f"pre-period start {t0} must be before its end {t1}")
    conv = units_from_log(log, unit="conversation")
    if conv["user_id"].isna().all():
        raise ABInputError("a pre-period covariate needs conversations.user_id (to find each "
                           "unit's earlier conversations); the log has none")
    pre = conv[(conv["start_time"] >= t0) & (conv["start_time"] < t1)]
    if pre.empty:
        raise ABInputError(f"no conversations in the pre-period [{t0}, {t1})")
    if not (conv["start_time"] >= t1).any():
        raise ABInputError(f"no units start at or after the pre-period end {t1}")
    # the experiment period's units from its conversations only (a user's totals exclude the
    # pre-period)
    units = units_from_log(log.select(start=t1), unit=unit)
    per_user = _pre_per_user(pre, unit, columns)
    cov = {c: PRE_PREFIX + c for c in per_user.columns}
    units = units.join(per_user.rename(columns=cov), on="user_id")
    return units, cov


#: how a user's pre-period conversations summarise into the columns of each unit table
_CONV_MEANS = ("resolved", "satisfaction", "mean_quality", "n_turns", "mean_response_time_s",
               "total_response_time_s", "total_cost_usd", "n_errors")
_USER_AGG = {"resolved_rate": ("resolved", "mean"), "n_resolved": ("resolved", "sum"),
             "n_resolution_known": ("resolved", "count"), "satisfaction": ("satisfaction", "mean"),
             "mean_quality": ("mean_quality", "mean"), "n_conversations": ("n_turns", "size"),
             "n_turns": ("n_turns", "sum"),
             "total_response_time_s": ("total_response_time_s", "sum"),
             "total_cost_usd": ("total_cost_usd", "sum"), "n_errors": ("n_errors", "sum")}


def _pre_per_user(pre: pd.DataFrame, unit: str, columns) -> pd.DataFrame:
    """Per user: the pre-period values of the unit table's columns (means of conversations for
    conversation units; the user table's own sums and means for user units)."""
    g = pre.groupby("user_id")
    if unit == "user":
        spec = {k: v for k, v in _USER_AGG.items() if v[0] in pre.columns}
    else:
        spec = {c: (c, "mean") for c in _CONV_MEANS if c in pre.columns}
    if columns is not None:
        missing = [c for c in columns if c not in spec]
        if missing:
            raise ABInputError(f"pre-period columns {missing} are not among the unit table's "
                               f"metric columns ({', '.join(spec)})")
        spec = {c: spec[c] for c in columns}
    return g.agg(**spec)
