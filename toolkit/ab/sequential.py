"""Peeking-safe inference: always-valid confidence sequences and mSPRT p-values.

A fixed-horizon test is valid only if it is looked at once, at the planned sample size. Looking
at it every day and stopping at the first ``p < 0.05`` inflates the false-positive rate far above
5 % (see ``tests/test_ab_sequential.py``). The **mixture sequential probability ratio test**
(mSPRT; Robbins 1970, Johari et al. 2017, "Peeking at A/B tests") avoids this: with a normal
mixing distribution ``N(0, tau2)`` over the effect ``theta`` and the difference estimate
``D_n ~ N(theta, V_n)`` (``V_n = s_c^2 / n_c + s_t^2 / n_t``, plug-in variances), the mixture
likelihood ratio against ``theta = theta0`` is::

    Lambda_n = sqrt(V_n / (V_n + tau2)) * exp(tau2 * (D_n - theta0)^2 / (2 V_n (V_n + tau2)))

``Lambda_n`` is a nonnegative martingale under ``theta0``, so by Ville's inequality the chance
that it *ever* exceeds ``1 / alpha`` is at most ``alpha``. Inverting it gives the always-valid
(1 - alpha) confidence sequence::

    D_n +/- sqrt(V_n (V_n + tau2) / tau2 * (2 log(1 / alpha) + log((V_n + tau2) / V_n)))

which holds for all ``n`` simultaneously (running intersections are kept), and the always-valid
p-value ``p_n = min(1, min_{m <= n} 1 / Lambda_m)``. The guarantee is asymptotic (normal
approximation, plug-in variances), like that of the fixed-horizon z-test.

``tau2`` is chosen *before* looking at the effect: by default it minimises the width of the
sequence at the planned horizon, ``tau2 = s* V_h`` with ``s* = 2 log(1/alpha) + log(1 + s*)``
(``s*`` about 8.21 at alpha = .05) and ``V_h`` the variance of the estimate at the horizon
(default: the final sample size, using the pooled variance, which does not depend on the effect).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> y = np.r_[rng.normal(0, 1, 2000), rng.normal(0.2, 1, 2000)]
>>> arm = np.r_[np.zeros(2000, bool), np.ones(2000, bool)]
>>> order = rng.permutation(4000)                      # arrival order
>>> res = confidence_sequence(y[order], arm[order])
>>> res.rejected, res.cs_low > 0
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from toolkit.ab.metrics import ABInputError, need_column

__all__ = [
    "SequentialResult",
    "confidence_sequence",
    "sequential_test",
    "optimal_tau2",
    "mixture_radius",
    "mixture_log_lr",
    "METHOD",
]

METHOD = "mSPRT / always-valid confidence sequence (normal mixture; Johari et al. 2017)"


@dataclass(frozen=True)
class SequentialResult:
    """Outcome of monitoring a difference continuously.

    Attributes
    ----------
    method : str
    alpha, tau2 : float
    estimate : float
        Final difference ``treatment - control`` (of means, proportions or ratios).
    cs_low, cs_high : float
        Always-valid (1 - alpha) confidence sequence at the end (running intersection).
    p_value : float
        Always-valid p-value (running minimum of ``1 / Lambda``).
    rejected : bool
        Whether the sequence ever excluded 0 (``p_value <= alpha``).
    first_rejection_n : int or None
        Units seen (both arms) when it first excluded 0.
    first_rejection_time : Timestamp or None
    n_control, n_treatment : int
    looks : DataFrame
        The sequence at (up to ``n_looks``) evenly spaced looks: n, n_control, n_treatment,
        estimate, lower, upper (running intersection), p_value, and ``time`` when given.
    """

    method: str
    alpha: float
    tau2: float
    estimate: float
    cs_low: float
    cs_high: float
    p_value: float
    rejected: bool
    first_rejection_n: int | None
    first_rejection_time: object | None
    n_control: int
    n_treatment: int
    looks: pd.DataFrame = field(repr=False)

    def to_dict(self) -> dict:
        """JSON-ready dict without the looks table."""
        return {k: getattr(self, k) for k in (
            "method", "alpha", "tau2", "estimate", "cs_low", "cs_high", "p_value", "rejected",
            "first_rejection_n", "first_rejection_time", "n_control", "n_treatment")}

    def summary_table(self) -> pd.DataFrame:
        """The fields of :meth:`to_dict`, one row."""
        return pd.DataFrame([self.to_dict()])


def optimal_tau2(v_horizon: float, alpha: float = 0.05) -> float:
    """Mixing variance that makes the confidence sequence narrowest when ``V_n = v_horizon``.

    Minimising ``(1 + 1/s) (2 log(1/alpha) + log(1 + s))`` over ``s = tau2 / V`` gives the
    fixed point ``s = 2 log(1/alpha) + log(1 + s)``.

    Examples
    --------
    >>> round(optimal_tau2(1.0), 3)
    8.212
    """
    two_l = 2.0 * math.log(1.0 / alpha)
    s = two_l
    for _ in range(50):
        s_new = two_l + math.log1p(s)
        if abs(s_new - s) < 1e-13:
            break
        s = s_new
    return s * float(v_horizon)


def mixture_radius(v, tau2: float, alpha: float = 0.05):
    """Half-width of the always-valid confidence sequence when the estimate has variance ``v``.

    Examples
    --------
    >>> round(float(mixture_radius(0.01, optimal_tau2(0.01))), 4)   # vs 1.96 * 0.1 fixed-horizon
    0.3035
    """
    v = np.asarray(v, dtype=float)
    return np.sqrt(v * (v + tau2) / tau2 * (2.0 * math.log(1.0 / alpha) + np.log((v + tau2) / v)))


def mixture_log_lr(diff, v, tau2: float, theta0: float = 0.0):
    """Log of the normal-mixture likelihood ratio ``Lambda`` against ``theta = theta0``.

    Examples
    --------
    >>> import math
    >>> v, tau2 = 0.01, optimal_tau2(0.01)
    >>> lr = float(mixture_log_lr(float(mixture_radius(v, tau2)), v, tau2))
    >>> round(lr, 6) == round(math.log(20), 6)      # the CS boundary is where Lambda = 1 / alpha
    True
    """
    diff = np.asarray(diff, dtype=float)
    v = np.asarray(v, dtype=float)
    return 0.5 * np.log(v / (v + tau2)) + tau2 * (diff - theta0) ** 2 / (2.0 * v * (v + tau2))


def _running_stats(y: np.ndarray, is_t: np.ndarray, den: np.ndarray | None, pos: np.ndarray):
    """Per-arm unit counts, estimates and variances of the estimates after units ``pos``.

    Running sums over the units (one pass each); with fewer looks than units, the sums of the
    segments between looks are added instead of every unit's value.
    """
    if len(pos) < len(y):
        starts = np.r_[0, pos[:-1] + 1]

        def seg(v):
            return np.add.reduceat(v, starts)
    else:
        def seg(v):
            return v
    out = {}
    for key, mask in (("c", ~is_t), ("t", is_t)):
        k = np.cumsum(seg(mask.astype(float)))
        with np.errstate(invalid="ignore", divide="ignore"):
            if den is None:
                shift = float(y[mask].mean())
                a = np.where(mask, y - shift, 0.0)  # shifted sums keep the running variance accurate
                s1 = np.cumsum(seg(a))
                m = s1 / k
                var = (np.cumsum(seg(a * a)) - s1 * m) / (k - 1.0)
                est, v = m + shift, var / k
            else:
                sa, sb = float(y[mask].mean()), float(den[mask].mean())
                a = np.where(mask, y - sa, 0.0)
                b = np.where(mask, den - sb, 0.0)
                s_a, s_b = np.cumsum(seg(a)), np.cumsum(seg(b))
                ma, mb = s_a / k, s_b / k
                caa = (np.cumsum(seg(a * a)) - s_a * ma) / (k - 1.0)
                cbb = (np.cumsum(seg(b * b)) - s_b * mb) / (k - 1.0)
                cab = (np.cumsum(seg(a * b)) - s_a * mb) / (k - 1.0)
                mua, mub = ma + sa, mb + sb
                est = mua / mub
                v = (caa - 2.0 * est * cab + est * est * cbb) / (k * mub * mub)
        seen = k > 0
        out[key] = (k, np.where(seen, est, np.nan), np.where(seen, np.maximum(v, 0.0), np.nan))
    return out


def confidence_sequence(
    values,
    is_treatment,
    *,
    denominator=None,
    times=None,
    alpha: float = 0.05,
    tau2: float | None = None,
    horizon: int | None = None,
    min_n: int = 30,
    n_looks: int = 200,
    max_looks: int | None = None,
) -> SequentialResult:
    """Always-valid confidence sequence for ``treatment - control``, monitored unit by unit.

    Parameters
    ----------
    values : array
        One value per unit **in arrival order** (the numerator for ratio metrics).
    is_treatment : bool array
        Whether each unit is in the treatment arm (else control).
    denominator : array, optional
        Per-unit denominator for a ratio metric (estimate ``sum(values) / sum(denominator)`` per
        arm, delta-method variance).
    times : array, optional
        Arrival times (reported in ``looks`` and for the first rejection).
    alpha : float
        Level: the sequence covers the true difference at all times with probability
        ``>= 1 - alpha`` (asymptotically).
    tau2 : float, optional
        Mixing variance; default :func:`optimal_tau2` at the horizon.
    horizon : int, optional
        Planned total units (both arms) for tuning ``tau2``; default the number of units given.
    min_n : int
        Looks start once each arm has ``min_n`` units (plug-in variances need a few).
    n_looks : int
        Rows kept in the ``looks`` table (the p-value and the running intersection use every
        evaluated look).
    max_looks : int, optional
        Evaluate the sequence after every unit (default) or, for very long streams, at this
        many evenly spaced looks. Fewer looks keep the guarantee (a CS is valid at any times)
        and cost less; the first rejection is then known to the nearest look.

    Returns
    -------
    SequentialResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> arm = rng.random(5000) < 0.5
    >>> res = confidence_sequence(rng.normal(size=5000), arm)       # A/A
    >>> res.rejected, res.cs_low < 0 < res.cs_high
    (False, True)
    """
    y = np.asarray(values, dtype=float)
    is_t = np.asarray(is_treatment, dtype=bool)
    den = None if denominator is None else np.asarray(denominator, dtype=float)
    if y.ndim != 1 or is_t.shape != y.shape or (den is not None and den.shape != y.shape):
        raise ABInputError("values, is_treatment (and denominator) must be 1-D and equally long")
    if not np.isfinite(y).all() or (den is not None and not np.isfinite(den).all()):
        raise ABInputError("values must be finite (drop missing values first)")
    if not 0 < alpha < 1:
        raise ABInputError(f"alpha must be in (0, 1), got {alpha!r}")
    n_c_tot, n_t_tot = int((~is_t).sum()), int(is_t.sum())
    if min(n_c_tot, n_t_tot) < max(2, min_n):
        raise ABInputError(f"need at least {max(2, min_n)} units per arm for a confidence sequence; "
                         f"got control={n_c_tot}, treatment={n_t_tot}")
    N = len(y)
    if max_looks is None or N <= max_looks:
        pos = np.arange(N)
    else:
        pos = np.unique(np.linspace(0, N - 1, int(max_looks)).round().astype(np.int64))
    st = _running_stats(y, is_t, den, pos)
    n_c, est_c, v_c = st["c"]
    n_t, est_t, v_t = st["t"]
    diff = est_t - est_c
    v = v_c + v_t
    if tau2 is None:
        # pooled (effect-free) variance of the estimate at the planned horizon
        h = float(horizon or len(y))
        share_t = n_t_tot / len(y)
        if den is None:
            unit_var = float(np.var(y, ddof=1))
            v_h = unit_var / (h * (1 - share_t)) + unit_var / (h * share_t)
        else:
            v_h = float(v[-1]) * len(y) / h
        tau2 = optimal_tau2(max(v_h, 1e-300), alpha)
    ok = (n_c >= min_n) & (n_t >= min_n) & (v > 0) & np.isfinite(v)
    with np.errstate(invalid="ignore", divide="ignore"):
        rad = mixture_radius(np.where(ok, v, 1.0), tau2, alpha)
        loglr = mixture_log_lr(diff, np.where(ok, v, 1.0), tau2)
    lower = np.where(ok, diff - rad, -np.inf)
    upper = np.where(ok, diff + rad, np.inf)
    lower = np.maximum.accumulate(lower)
    upper = np.minimum.accumulate(upper)
    p_inst = np.where(ok, np.minimum(1.0, np.exp(-loglr)), 1.0)
    p_run = np.minimum.accumulate(p_inst)
    rej = np.flatnonzero(p_run <= alpha)
    first = int(rej[0]) if rej.size else None  # index into pos
    t_ser = None
    if times is not None:
        t_ser = times.reset_index(drop=True) if isinstance(times, pd.Series) else pd.Series(times)
    m = len(pos)
    start = int(np.argmax(ok)) if ok.any() else m - 1
    idx = np.linspace(start, m - 1, min(n_looks, m - start)).round().astype(int)
    idx = np.unique(np.r_[idx, [] if first is None else [first]].astype(int))
    idx = idx[ok[idx]]
    looks = pd.DataFrame({
        "n": pos[idx] + 1, "n_control": n_c[idx].astype(int), "n_treatment": n_t[idx].astype(int),
        "estimate": diff[idx], "lower": lower[idx], "upper": upper[idx], "p_value": p_run[idx],
    })
    if t_ser is not None:
        looks["time"] = t_ser.iloc[pos[idx]].to_numpy()
    return SequentialResult(
        method=METHOD + (" with delta-method ratio variance" if den is not None else ""),
        alpha=alpha, tau2=float(tau2), estimate=float(diff[-1]), cs_low=float(lower[-1]),
        cs_high=float(upper[-1]), p_value=float(p_run[-1]), rejected=first is not None,
        first_rejection_n=None if first is None else int(pos[first]) + 1,
        first_rejection_time=None if (first is None or t_ser is None)
        else t_ser.iloc[int(pos[first])],
        n_control=n_c_tot, n_treatment=n_t_tot, looks=looks,
    )


def sequential_test(
    units: pd.DataFrame,
    metric: str,
    *,
    variant_col: str = "variant",
    control: str,
    treatment: str,
    time_col: str | None = "start_time",
    denominator: str | None = None,
    alpha: float = 0.05,
    tau2: float | None = None,
    horizon: int | None = None,
    min_n: int = 30,
    n_looks: int = 200,
) -> SequentialResult:
    """Confidence sequence for one metric of a per-unit table, units ordered by ``time_col``.

    Rows whose metric (or denominator) is missing, or whose variant is neither arm, are left
    out. Without a time column the table's row order is taken as the arrival order.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> units = pd.DataFrame({"variant": rng.choice(["A", "B"], 4000),
    ...                       "resolved": rng.random(4000) < 0.4})
    >>> r = sequential_test(units, "resolved", control="A", treatment="B", time_col=None)
    >>> r.rejected
    False
    """
    cols = [variant_col, metric] + [c for c in (time_col, denominator) if c]
    for col in cols:
        need_column(units, col, f"column {col!r} not found in the per-unit table")
    df = units.loc[units[variant_col].isin([control, treatment]), cols]
    df = df.dropna(subset=[metric] + ([denominator] if denominator else []))
    if time_col:
        df = df.sort_values(time_col, kind="stable")
    return confidence_sequence(
        df[metric].to_numpy(dtype=float),
        (df[variant_col] == treatment).to_numpy(dtype=bool),
        denominator=None if denominator is None else df[denominator].to_numpy(dtype=float),
        times=None if not time_col else df[time_col],
        alpha=alpha, tau2=tau2, horizon=horizon, min_n=min_n, n_looks=n_looks,
    )
