"""Prediction-powered inference (PPI++): valid estimates from many automatic scores and few labels.

An automatic score ``f`` (the local quality, an LLM judge) is known for all ``N + n`` units; a
human label ``Y`` for a uniform random ``n`` of them. The score may be biased and noisy. PPI++
(Angelopoulos, Duchi and Zrnic 2023, "PPI++: Efficient Prediction-Powered Inference",
arXiv:2311.01453) estimates the mean label as

    theta = lambda * mean(f over the N unlabelled) + mean(Y - lambda * f over the n labelled)

which is unbiased for any fixed ``lambda``; its variance ``lambda^2 Var(f) / N + Var(Y - lambda f)
/ n`` is smallest at ``lambda = Cov(Y, f) / ((1 + n/N) Var(f))`` (estimated from the data: the
"power tuning"). ``lambda = 0`` is the label-only estimate, ``lambda = 1`` the original PPI. The
interval is the normal one. A score on another scale than the labels (quality in [0, 1], ratings
1-5) is fine: lambda absorbs the scale; for that reason lambda is not clipped to [0, 1] by default
(``clip=True`` reproduces the ``ppi-python`` package, which clips).

Beside every PPI estimate this module reports the label-only one (``lambda = 0``) and the naive
one (the mean score over all units, as if the score were the label), and the effective number of
labels: how many labels the label-only estimate would need for the PPI variance.

Why not the ``ppi-python`` package itself: it gives the same intervals (to 4e-16 for the mean
with a given lambda, 4e-14 for OLS), but one mean takes 9.5 ms there against 0.24 ms here and an
OLS fit 11.6 against 2.5 ms, its import takes 2.2 s and pulls in numba, llvmlite and gdown
(measured with ppi-python 0.2.3, n = 300, N = 10,000; the simulations of ``bench_ppi`` run
thousands of fits).

Estimators: :func:`ppi_mean`, :func:`ppi_mean_diff` (A/B lift, arms independent), :func:`ppi_ols`
(and :func:`ppi_trend`, the OLS slope on time), :func:`ppi_by_period` (per-period means);
:func:`plan_labels` (labels needed for a target CI width given the score-label correlation);
:func:`ppi_lift` (the A/B table from scored turns and a labels table).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> y = rng.normal(3, 1, 10_300); f = y + 0.5 + rng.normal(0, 0.5, y.size)   # biased score
>>> est = ppi_mean(y[:300], f[:300], f[300:])
>>> bool(est.ci_low < 3 < est.ci_high), bool(est.naive_ci_low > 3)   # naive misses the truth
(True, True)
>>> bool(est.ci_high - est.ci_low < est.label_only_ci_high - est.label_only_ci_low)
True
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError

__all__ = [
    "LabelPlan",
    "PPIEstimate",
    "PPILift",
    "PPIRegression",
    "period_labels",
    "plan_labels",
    "ppi_by_period",
    "ppi_lift",
    "ppi_mean",
    "ppi_mean_diff",
    "ppi_ols",
    "ppi_over_time",
    "ppi_trend",
    "tuned_lambda",
]


def _z(alpha: float) -> float:
    if not 0 < alpha < 1:
        raise ToolkitError(f"alpha={alpha} must be in (0, 1)")
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - alpha / 2)


def _ci(est: float, se: float, z: float) -> tuple[float, float, float, float]:
    """``(estimate, se, low, high)`` of a normal interval."""
    return est, se, est - z * se, est + z * se


def _utc_naive(times) -> pd.Series:
    t = pd.to_datetime(pd.Series(times))
    return t.dt.tz_convert("UTC").dt.tz_localize(None) if t.dt.tz is not None else t


def _arr(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float).ravel()
    if not np.isfinite(a).all():
        raise ToolkitError(f"{name}: {int((~np.isfinite(a)).sum())} missing or non-finite values; "
                           "drop them first (PPI needs the score on every unit)")
    return a


@dataclass(frozen=True)
class PPIEstimate:
    """A PPI++ estimate with its interval, beside the label-only and the naive (score-only) ones.

    ``ess`` is the effective number of labels: ``n * var_label_only / var_ppi``.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    lam: float
    n: int
    N: int
    label_only: float
    label_only_se: float
    label_only_ci_low: float
    label_only_ci_high: float
    naive: float
    naive_se: float
    naive_ci_low: float
    naive_ci_high: float
    ess: float
    alpha: float = 0.05
    method: str = "PPI++ mean (Angelopoulos, Duchi, Zrnic 2023): normal interval, power-tuned lambda"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary_table(self) -> pd.DataFrame:
        rows = [("ppi", self.estimate, self.se, self.ci_low, self.ci_high, self.n),
                ("label_only", self.label_only, self.label_only_se, self.label_only_ci_low,
                 self.label_only_ci_high, self.n),
                ("naive", self.naive, self.naive_se, self.naive_ci_low, self.naive_ci_high, self.n + self.N)]
        return pd.DataFrame(rows, columns=["estimator", "estimate", "se", "ci_low", "ci_high", "n_used"])


def tuned_lambda(y, yhat, yhat_unlabeled, *, clip: bool = False) -> float:
    """The variance-minimising lambda for the mean: ``Cov(Y, f) / ((1 + n/N) Var(f))``.

    As in ``ppi-python``: the covariance over the labelled units (divided by n), the variance of
    the score over all units (divided by n + N - 1).

    Examples
    --------
    >>> round(tuned_lambda([1, 2, 3, 4], [1.1, 2.3, 2.9, 4.2], [1, 2, 3, 4, 5, 2]), 6)
    0.419623
    """
    y, f, fu = _arr(y, "labels"), _arr(yhat, "scores"), _arr(yhat_unlabeled, "unlabelled scores")
    n, N = len(y), len(fu)
    cov = float(np.mean((y - y.mean()) * (f - f.mean())))
    var = float(np.var(np.concatenate([f, fu]), ddof=1))
    lam = 0.0 if var == 0 else cov / ((1 + n / N) * var)
    return float(np.clip(lam, 0, 1)) if clip else lam


def ppi_mean(y, yhat, yhat_unlabeled, *, alpha: float = 0.05, lam: float | None = None,
             clip: bool = False) -> PPIEstimate:
    """PPI++ estimate of the mean label, with its 1 - alpha interval.

    Parameters
    ----------
    y, yhat : array-like
        Labels and scores of the ``n`` labelled units (the same order).
    yhat_unlabeled : array-like
        Scores of the ``N`` units without a label.
    alpha : float
        1 - confidence level.
    lam : float, optional
        Fixed lambda (0: label-only, 1: original PPI); tuned from the data when None.
    clip : bool
        Clip the tuned lambda to [0, 1] (as ``ppi-python`` does).

    Examples
    --------
    >>> est = ppi_mean([3, 4, 5, 2], [3.5, 4.2, 4.9, 2.8], [3, 4, 4.5, 5, 2.5, 3.8], lam=1)
    >>> round(est.estimate, 4), est.n, est.N
    (3.45, 4, 6)
    """
    y, f, fu = _arr(y, "labels"), _arr(yhat, "scores"), _arr(yhat_unlabeled, "unlabelled scores")
    n, N = len(y), len(fu)
    if len(f) != n:
        raise ToolkitError(f"{n} labels but {len(f)} scores for the labelled units")
    if n < 2 or N < 2:
        raise ToolkitError(f"PPI needs at least 2 labelled and 2 unlabelled units (have n={n}, N={N})")
    z = _z(alpha)
    if lam is None:
        lam = tuned_lambda(y, f, fu, clip=clip)
    est = float(lam * fu.mean() + (y - lam * f).mean())
    se = float(math.sqrt(np.var(lam * fu) / N + np.var(y - lam * f) / n))
    lo_se = float(np.std(y) / math.sqrt(n))
    allf = np.concatenate([f, fu])
    nv_se = float(np.std(allf) / math.sqrt(len(allf)))
    ess = float(n * (lo_se / se) ** 2) if se > 0 else float("inf")
    return PPIEstimate(*_ci(est, se, z), float(lam), n, N, *_ci(float(y.mean()), lo_se, z),
                       *_ci(float(allf.mean()), nv_se, z), ess, alpha)


def ppi_mean_diff(arm_a: tuple, arm_b: tuple, *, alpha: float = 0.05, clip: bool = False) -> PPIEstimate:
    """PPI++ estimate of ``mean(B) - mean(A)`` for two independent arms (an A/B lift).

    Each arm is ``(y, yhat, yhat_unlabeled)`` with its own tuned lambda; the variances add. The
    label-only and naive differences are reported beside it; ``lam`` is the mean of the two
    lambdas and ``ess`` the effective labels of the difference (``n * var_label_only / var_ppi``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> def arm(mu, m=5000, n=200):
    ...     y = rng.normal(mu, 1, m); f = y + 0.3 + rng.normal(0, 0.6, m)
    ...     return y[:n], f[:n], f[n:]
    >>> d = ppi_mean_diff(arm(3.0), arm(3.4))
    >>> bool(d.ci_low < 0.4 < d.ci_high)
    True
    """
    a = ppi_mean(*arm_a, alpha=alpha, clip=clip)
    b = ppi_mean(*arm_b, alpha=alpha, clip=clip)
    z = _z(alpha)
    se, lo_se, n = math.hypot(a.se, b.se), math.hypot(a.label_only_se, b.label_only_se), a.n + b.n
    return PPIEstimate(*_ci(b.estimate - a.estimate, se, z), (a.lam + b.lam) / 2, n, a.N + b.N,
                       *_ci(b.label_only - a.label_only, lo_se, z),
                       *_ci(b.naive - a.naive, math.hypot(a.naive_se, b.naive_se), z),
                       float(n * (lo_se / se) ** 2) if se > 0 else float("inf"),
                       alpha, "PPI++ difference of means (independent arms, a lambda per arm)")


# --- OLS (a trend on time) ---


@dataclass(frozen=True)
class PPIRegression:
    """PPI++ OLS coefficients with standard errors and intervals, and the label-only fit."""

    coef: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    lam: float
    n: int
    N: int
    label_only_coef: np.ndarray
    label_only_se: np.ndarray
    names: tuple[str, ...] = ()
    alpha: float = 0.05
    method: str = "PPI++ OLS (Angelopoulos, Duchi, Zrnic 2023): sandwich variance, power-tuned lambda"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}

    def summary_table(self) -> pd.DataFrame:
        return pd.DataFrame({"term": list(self.names) or range(len(self.coef)), "coef": self.coef,
                             "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high,
                             "label_only_coef": self.label_only_coef, "label_only_se": self.label_only_se})


def _lstsq(X, y):
    return np.linalg.lstsq(X, y, rcond=None)[0]


def _ols_stats(theta, X, y, f, Xu, fu):
    n, N = len(y), len(fu)
    hessian = (Xu.T @ Xu + X.T @ X) / (N + n)
    grads = X * (X @ theta - y)[:, None]
    grads_hat = X * (X @ theta - f)[:, None]
    grads_hat_u = Xu * (Xu @ theta - fu)[:, None]
    return grads, grads_hat, grads_hat_u, np.linalg.inv(hessian)


def _lam_glm(grads, grads_hat, grads_hat_u, inv_h, coord, clip):
    n, N = len(grads), len(grads_hat_u)
    gc = grads - grads.mean(0)
    hc = grads_hat - grads_hat.mean(0)
    cov = (gc.T @ hc + hc.T @ gc) / n
    var = np.atleast_2d(np.cov(np.concatenate([grads_hat, grads_hat_u]).T))
    v = inv_h if coord is None else inv_h[coord, :]
    if coord is None:
        lam = np.trace(v @ cov @ v) / (2 * (1 + n / N) * np.trace(v @ var @ v))
    else:
        lam = (v @ cov @ v) / (2 * (1 + n / N) * (v @ var @ v))
    lam = float(lam)
    return float(np.clip(lam, 0, 1)) if clip else lam


def ppi_ols(X, y, yhat, X_unlabeled, yhat_unlabeled, *, alpha: float = 0.05, lam: float | None = None,
            coord: int | None = None, clip: bool = False, names: tuple[str, ...] = ()) -> PPIRegression:
    """PPI++ ordinary least squares of the label on ``X`` (include a constant column yourself).

    Lambda is tuned for the total variance of all coefficients, or of coefficient ``coord``
    (0-based); the tuning follows ``ppi-python`` (tuned at the plain PPI fit, then again at the
    tuned fit).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> t = rng.uniform(0, 10, 5000); y = 1 + 0.2 * t + rng.normal(0, 1, t.size)
    >>> f = y - 0.05 * t + rng.normal(0, 0.5, t.size)           # the score drifts with time
    >>> X = np.column_stack([np.ones_like(t), t])
    >>> fit = ppi_ols(X[:300], y[:300], f[:300], X[300:], f[300:], coord=1)
    >>> bool(fit.ci_low[1] < 0.2 < fit.ci_high[1])
    True
    """
    X, Xu = np.asarray(X, float), np.asarray(X_unlabeled, float)
    if X.ndim != 2 or Xu.ndim != 2 or X.shape[1] != Xu.shape[1]:
        raise ToolkitError("X and X_unlabeled must be 2-D with the same columns")
    y, f, fu = _arr(y, "labels"), _arr(yhat, "scores"), _arr(yhat_unlabeled, "unlabelled scores")
    n, N, d = len(y), len(fu), X.shape[1]
    if X.shape[0] != n or len(f) != n or Xu.shape[0] != N:
        raise ToolkitError("X, labels and scores of the labelled units must have the same rows "
                           "(and X_unlabeled those of the unlabelled scores)")
    if n <= d or N <= d:
        raise ToolkitError(f"PPI OLS needs more than {d} labelled and unlabelled units (n={n}, N={N})")
    z = _z(alpha)

    def fit(lm):
        return _lstsq(Xu, lm * fu) + _lstsq(X, y - lm * f)

    if lam is None:
        theta = fit(1.0)
        lam = _lam_glm(*_ols_stats(theta, X, y, f, Xu, fu), coord, clip)
        theta = fit(lam)
        lam = _lam_glm(*_ols_stats(theta, X, y, f, Xu, fu), coord, clip)
    theta = fit(lam)
    g, gh, ghu, inv_h = _ols_stats(theta, X, y, f, Xu, fu)
    var_u = np.atleast_2d(np.cov((lam * ghu).T))
    var_l = np.atleast_2d(np.cov((g - lam * gh).T))
    sigma = inv_h @ (n / N * var_u + var_l) @ inv_h
    se = np.sqrt(np.diag(sigma) / n)
    # label-only: OLS with the HC0 sandwich
    beta = _lstsq(X, y)
    resid = y - X @ beta
    bread = np.linalg.inv(X.T @ X)
    meat = (X * resid[:, None] ** 2).T @ X
    lo_se = np.sqrt(np.diag(bread @ meat @ bread))
    return PPIRegression(theta, se, theta - z * se, theta + z * se, float(lam), n, N, beta, lo_se,
                         tuple(names), alpha)


def _days(times) -> np.ndarray:
    t = _utc_naive(times)
    return ((t - t.min()) / pd.Timedelta(days=1)).to_numpy(float)


def ppi_trend(times, labelled, y, yhat, *, alpha: float = 0.05, clip: bool = False) -> PPIRegression:
    """PPI++ slope of the label on time (per day): is quality rising or falling?

    ``times`` and ``yhat`` cover every unit; ``labelled`` is a boolean mask of the units with a
    label and ``y`` their labels (in the same order as ``times[labelled]``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> times = pd.date_range("2026-01-01", periods=4000, freq="h", tz="UTC")
    >>> days = np.arange(4000) / 24; truth = 3 + 0.01 * days + rng.normal(0, 1, 4000)
    >>> score = truth + 0.5 + rng.normal(0, 0.5, 4000)
    >>> lab = np.zeros(4000, bool); lab[rng.choice(4000, 300, replace=False)] = True
    >>> fit = ppi_trend(times, lab, truth[lab], score)
    >>> fit.names, bool(fit.ci_low[1] < 0.01 < fit.ci_high[1])
    (('intercept', 'per_day'), True)
    """
    days = _days(times)
    lab = np.asarray(labelled, bool)
    if lab.shape != days.shape:
        raise ToolkitError("labelled must be a boolean mask over the same units as times")
    X = np.column_stack([np.ones_like(days), days])
    f = _arr(yhat, "scores")
    return ppi_ols(X[lab], y, f[lab], X[~lab], f[~lab], alpha=alpha, coord=1, clip=clip,
                   names=("intercept", "per_day"))


_PERIOD_COLUMNS = ("estimate", "ci_low", "ci_high", "lam", "label_only", "label_only_ci_low",
                   "label_only_ci_high", "naive", "ess")


def ppi_by_period(periods, labelled, y, yhat, *, alpha: float = 0.05, clip: bool = False,
                  min_labels: int = 10) -> pd.DataFrame:
    """PPI++ mean label per period (a week, a day), with the label-only and naive ones beside.

    Periods with fewer than ``min_labels`` labels get NaN estimates (and say so in ``note``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(4)
    >>> per = np.repeat(["w1", "w2"], 3000); y_all = rng.normal(3, 1, 6000)
    >>> f = y_all + 0.4 + rng.normal(0, 0.5, 6000)
    >>> lab = rng.random(6000) < 0.05
    >>> ppi_by_period(per, lab, y_all[lab], f)[["period", "n"]].to_dict("list")
    {'period': ['w1', 'w2'], 'n': [140, 147]}
    """
    per = pd.Series(np.asarray(periods)).astype(str).to_numpy()
    lab = np.asarray(labelled, bool)
    f = _arr(yhat, "scores")
    yy = np.full(len(f), np.nan)
    yy[lab] = _arr(y, "labels")
    rows = []
    for p in pd.unique(per):
        m = per == p
        ml, mu = m & lab, m & ~lab
        row = {"period": p, "n": int(ml.sum()), "N": int(mu.sum())}
        if ml.sum() >= max(2, min_labels) and mu.sum() >= 2:
            e = ppi_mean(yy[ml], f[ml], f[mu], alpha=alpha, clip=clip)
            row.update({c: getattr(e, c) for c in _PERIOD_COLUMNS}, note="")
        else:
            row.update(dict.fromkeys(_PERIOD_COLUMNS, np.nan), naive=float(f[m].mean()),
                       note=f"fewer than {min_labels} labels")
        rows.append(row)
    return pd.DataFrame(rows)


# --- planning ---


@dataclass(frozen=True)
class LabelPlan:
    """Labels needed for a target CI width, with PPI++ and with labels alone."""

    target_ci_width: float
    rho: float
    sd_label: float
    N: float
    n_ppi: int
    n_label_only: int
    alpha: float
    note: str = field(default="")

    @property
    def saving(self) -> float:
        return 1 - self.n_ppi / self.n_label_only

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "saving": self.saving}

    def summary_table(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def plan_labels(target_ci_width: float, rho: float, *, sd_label: float = 1.0, N: float = math.inf,
                alpha: float = 0.05, arms: int = 1) -> LabelPlan:
    """How many human labels a mean (or an A/B lift over ``arms=2``) needs for a CI of total width
    ``target_ci_width``, given the correlation ``rho`` of the score with the label.

    With the tuned lambda and N unlabelled units, the PPI++ variance of a mean is
    ``sd^2 * (1 - rho^2 / (1 + n/N)) / n`` (to first order); labels alone need ``sd^2 / n``. With
    ``arms=2`` the labels are split equally and the variances of the two arms add (``N`` per arm).

    Examples
    --------
    >>> p = plan_labels(0.2, rho=0.6, sd_label=1.0)
    >>> p.n_label_only, p.n_ppi
    (385, 246)
    >>> plan_labels(0.2, rho=0.0).n_ppi == p.n_label_only
    True
    """
    if not target_ci_width > 0:
        raise ToolkitError(f"target_ci_width={target_ci_width} must be > 0")
    if not -1 <= rho <= 1:
        raise ToolkitError(f"rho={rho} must be in [-1, 1]")
    if not sd_label > 0:
        raise ToolkitError(f"sd_label={sd_label} must be > 0")
    if arms not in (1, 2):
        raise ToolkitError(f"arms={arms} must be 1 (a mean) or 2 (a difference of two arms)")
    z = _z(alpha)
    half = target_ci_width / 2
    # per arm variance needed: (half / z)^2 / arms
    v_target = (half / z) ** 2 / arms
    n_lo = math.ceil(sd_label ** 2 / v_target)

    def var(n):
        shrink = rho ** 2 / (1 + n / N) if math.isfinite(N) else rho ** 2
        return sd_label ** 2 * (1 - shrink) / n

    if rho ** 2 >= 1 and not math.isfinite(N):
        n_ppi, note = 2, "a perfectly correlated score needs almost no labels (the theory's limit)"
    else:
        lo, hi = 2, max(n_lo, 2)
        while lo < hi:  # var(n) decreases in n
            mid = (lo + hi) // 2
            if var(mid) <= v_target:
                hi = mid
            else:
                lo = mid + 1
        n_ppi, note = lo, ""
    if rho < 0:
        note = (note + " ").strip() + "a negative correlation helps as much as a positive one (lambda < 0)"
    return LabelPlan(target_ci_width, rho, sd_label, N, int(n_ppi) * arms, int(n_lo) * arms, alpha, note)


# --- A/B: the PPI lift from scored turns and a labels table ---


@dataclass(frozen=True)
class PPILift:
    """Per-arm means and per-treatment lifts: PPI++, label-only and naive (score-only) side by side."""

    score: str
    level: str
    control: str
    arms: pd.DataFrame
    lifts: pd.DataFrame
    alpha: float
    notes: tuple[str, ...] = ()

    def summary_table(self) -> pd.DataFrame:
        return self.lifts

    def to_dict(self) -> dict[str, Any]:
        from toolkit._files import to_jsonable

        return to_jsonable({"score": self.score, "level": self.level, "control": self.control,
                            "alpha": self.alpha, "arms": self.arms.to_dict("records"),
                            "lifts": self.lifts.to_dict("records"), "notes": list(self.notes)})


def _units(turns: pd.DataFrame, labels: pd.DataFrame, score: str, variant_col: str):
    """Join the averaged labels to turns (turn labels) or conversations (conversation labels);
    labels that match no unit are an error."""
    from toolkit.labels import label_means

    lab = label_means(labels)
    has_turn = lab["turn"].notna()
    if has_turn.any() and (~has_turn).any():
        raise ToolkitError("labels mix turn labels and conversation labels: PPI needs one kind "
                           f"({int(has_turn.sum())} turn, {int((~has_turn).sum())} conversation rows)")
    for c in ("conversation_id", score, variant_col):
        if c not in turns.columns:
            raise ToolkitError(f"ppi_lift needs the column {c!r} in the scored turns")
    t = turns[["conversation_id", "turn", variant_col, score]].copy() if "turn" in turns.columns else None
    if has_turn.all():
        if t is None:
            raise ToolkitError("turn labels need a 'turn' column in the scored turns")
        t["conversation_id"] = t["conversation_id"].astype("string")
        t["turn"] = t["turn"].astype("Int64")
        units, level = t, "turn"
        keys = ["conversation_id", "turn"]
    else:
        units = (turns.assign(conversation_id=turns["conversation_id"].astype("string"))
                 .groupby("conversation_id", sort=True)
                 .agg(**{variant_col: (variant_col, "first"), score: (score, "mean")}).reset_index())
        level, keys = "conversation", ["conversation_id"]
    lab = lab.assign(conversation_id=lab["conversation_id"].astype("string"))
    merged = units.merge(lab[keys + ["rating"]], on=keys, how="left", validate="one_to_one")
    unknown = len(lab) - int(merged["rating"].notna().sum())
    if unknown:
        raise ToolkitError(f"{unknown} label(s) match no {level} of the scored turns (unknown "
                           "conversation_id/turn); read them with read_labels(..., log=log) to see which")
    return merged, level


def ppi_lift(scored: pd.DataFrame, labels: pd.DataFrame, *, score: str = "quality",
             variant_col: str = "variant", control: str | None = None, alpha: float = 0.05,
             clip: bool = False) -> PPILift:
    """The mean label per arm and the lift of each treatment over control, three ways.

    The PPI++ estimate uses the score on every unit and the labels on the labelled ones; the
    label-only estimate uses the labels alone; the naive one the score alone (on the score's
    scale, and biased when the score is). Units are turns for turn labels and conversations (the
    mean score of their turns) for conversation labels. The labelled units must be a uniform
    random sample of each arm for the PPI and label-only intervals to be valid. With turn
    labels, turns of one conversation are treated as independent.

    Parameters
    ----------
    scored : DataFrame
        Turns with ``conversation_id``, ``turn``, ``variant_col`` and the ``score`` column.
    labels : DataFrame
        A labels table (:func:`toolkit.labels.read_labels`); raters are averaged.
    score : str
        The automatic score (``quality``, ``reaction``, ``judge_helpfulness``, ...).
    control : str, optional
        Control arm (default: ``"control"`` if present, else the first in sorted order).

    Returns
    -------
    PPILift
        ``arms`` (per arm: n labels, N unlabelled, the three means with CIs, lambda, effective
        labels) and ``lifts`` (per treatment and estimator: lift, CI, n labels used, effective
        labels gained).

    Examples
    --------
    >>> import toolkit
    >>> from toolkit.judges import simulate_judge_and_labels
    >>> sim = simulate_judge_and_labels(toolkit.load_sample(), n_labels=400, seed=0)
    >>> res = ppi_lift(sim.turns, sim.labels, score="judge_sim")
    >>> res.lifts["estimator"].tolist()
    ['ppi', 'label_only', 'naive']
    """
    units, level = _units(scored, labels, score, variant_col)
    notes = []
    units = units[units[variant_col].notna()]
    bad = units[score].isna()
    if bad.any():
        notes.append(f"{int(bad.sum())} {level}s without a {score} score left out")
        units = units[~bad]
    arms_all = sorted(units[variant_col].astype(str).unique())
    if len(arms_all) < 2:
        raise ToolkitError(f"ppi_lift needs two or more arms in {variant_col!r}; found {arms_all}")
    if control is None:
        control = "control" if "control" in arms_all else arms_all[0]
    if control not in arms_all:
        raise ToolkitError(f"control arm {control!r} is not among {arms_all}")
    data = {}
    rows = []
    for arm in arms_all:
        u = units[units[variant_col].astype(str) == arm]
        lab = u["rating"].notna().to_numpy()
        y = u["rating"].to_numpy(float)[lab]
        f = u[score].to_numpy(float)
        if lab.sum() < 2 or (~lab).sum() < 2:
            raise ToolkitError(f"arm {arm!r} has {int(lab.sum())} labelled {level}s: PPI needs at least 2 "
                               "labelled and 2 unlabelled per arm")
        data[arm] = (y, f[lab], f[~lab])
        gap = f[lab].mean() - f[~lab].mean()
        gap_se = math.sqrt(f[lab].var(ddof=1) / lab.sum() + f[~lab].var(ddof=1) / (~lab).sum())
        if gap_se > 0 and abs(gap / gap_se) > 3:
            notes.append(f"arm {arm}: the labelled {level}s score {gap:+.3g} higher on {score} than the "
                         f"others (z = {gap / gap_se:.1f}): the labels look like a non-random sample, "
                         "and PPI and label-only intervals assume a random one")
        e = ppi_mean(*data[arm], alpha=alpha, clip=clip)
        rows.append({"arm": arm, "n_labels": e.n, "N_unlabelled": e.N, "ppi": e.estimate,
                     "ppi_ci_low": e.ci_low, "ppi_ci_high": e.ci_high, "lam": e.lam,
                     "label_only": e.label_only, "label_only_ci_low": e.label_only_ci_low,
                     "label_only_ci_high": e.label_only_ci_high, "naive": e.naive,
                     "naive_ci_low": e.naive_ci_low, "naive_ci_high": e.naive_ci_high,
                     "effective_labels": e.ess,
                     "corr": float(np.corrcoef(y, data[arm][1])[0, 1]) if np.std(data[arm][1]) > 0 else np.nan})
    lifts = []
    for arm in arms_all:
        if arm == control:
            continue
        d = ppi_mean_diff(data[control], data[arm], alpha=alpha, clip=clip)
        used = {"ppi": (d.n, d.n + d.N, d.ess, "label"), "label_only": (d.n, 0, float(d.n), "label"),
                "naive": (0, d.n + d.N, np.nan, "score")}  # n_labels, n_scores, effective_labels, scale
        for r in d.summary_table().itertuples():
            lifts.append(dict(zip(("treatment", "control", "estimator", "lift", "ci_low", "ci_high", "se",
                                   "n_labels", "n_scores", "effective_labels", "scale"),
                                  (arm, control, r.estimator, r.estimate, r.ci_low, r.ci_high, r.se,
                                   *used[r.estimator]))))
    notes.append("naive = the score's own means (its scale, biased when the score is); ppi and "
                 "label_only estimate the mean human label; effective_labels = labels the label-only "
                 "estimate would need for the PPI variance")
    return PPILift(score, level, control, pd.DataFrame(rows), pd.DataFrame(lifts), alpha, tuple(notes))


# --- over time: per-period means and the slope, from scored turns and a labels table ---


def period_labels(times, freq: str = "W") -> np.ndarray:
    """Period names (``pandas`` periods as text, in UTC) of timestamps: ``"W"`` weeks, ``"D"`` days.

    Examples
    --------
    >>> period_labels(pd.to_datetime(["2026-09-01T10:00Z", "2026-09-08T10:00Z"]), "W").tolist()
    ['2026-08-31/2026-09-06', '2026-09-07/2026-09-13']
    """
    try:
        return _utc_naive(times).dt.to_period(freq).astype(str).to_numpy()
    except ValueError:
        raise ToolkitError(f"freq={freq!r} is not a pandas period frequency (W, D, M, ...)") from None


def ppi_over_time(scored: pd.DataFrame, labels: pd.DataFrame, *, score: str = "quality",
                  freq: str = "W", time_col: str = "timestamp", alpha: float = 0.05,
                  clip: bool = False, min_labels: int = 10) -> tuple[pd.DataFrame, PPIRegression]:
    """The mean human rating per period and its trend (slope per day), by PPI++.

    Turn labels are joined on ``conversation_id, turn`` (conversation labels: to the
    conversation's mean score at its first turn's time). Returns the per-period table of
    :func:`ppi_by_period` and the :func:`ppi_trend` fit.

    Examples
    --------
    >>> import toolkit
    >>> from toolkit.judges import simulate_judge_and_labels
    >>> sim = simulate_judge_and_labels(toolkit.load_sample(), n_labels=600)
    >>> per, trend = ppi_over_time(sim.turns, sim.labels, score="judge_sim")
    >>> int(per["n"].sum()), trend.names
    (600, ('intercept', 'per_day'))
    """
    if time_col not in scored.columns:
        raise ToolkitError(f"ppi_over_time needs the time column {time_col!r} in the scored turns")
    t = scored.assign(_v="all")
    units, level = _units(t, labels, score, "_v")
    if level == "turn":
        times = scored[time_col].to_numpy()
    else:
        times = (scored.assign(conversation_id=scored["conversation_id"].astype("string"))
                 .groupby("conversation_id", sort=True)[time_col].min()
                 .reindex(units["conversation_id"]).to_numpy())
    keep = units[score].notna().to_numpy()
    units, times = units[keep], times[keep]
    lab = units["rating"].notna().to_numpy()
    y = units["rating"].to_numpy(float)[lab]
    f = units[score].to_numpy(float)
    per = ppi_by_period(period_labels(times, freq), lab, y, f, alpha=alpha, clip=clip, min_labels=min_labels)
    trend = ppi_trend(times, lab, y, f, alpha=alpha, clip=clip)
    return per, trend
