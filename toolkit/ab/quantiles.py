"""Quantile metrics: differences of p50 / p90 / p95 (say, of response time) with bootstrap CIs.

Latency matters by its tail, and a mean hides it. :func:`quantile_diff` compares quantiles of a
value between control and treatment with a bootstrap, each arm resampled on its own. Values that
belong to clusters (turns of a conversation, when conversations were randomised) get a
**Poisson bootstrap**: every cluster gets an independent Poisson(1) weight per resample, and each
resample's quantiles are weighted quantiles (the inverse of the weighted empirical CDF), so the
turns of one conversation stay together and the interval respects the randomisation unit.
Unclustered values are resampled with replacement (the ordinary bootstrap). The interval is the
percentile interval of the resampled differences. Point estimates and every resample use one
quantile definition, the inverse of the (weighted) empirical CDF (numpy's
``method="inverted_cdf"``: the smallest value whose cumulative share reaches ``q``), so the
interval is centred on the estimate it is reported with.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> t = quantile_diff(rng.gamma(2, 1, 3000), rng.gamma(2, 1, 3000) * 1.2, seed=1)
>>> list(t["quantile"]), bool((t["diff_ci_low"] > 0).all())
([0.5, 0.9, 0.95], True)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from toolkit.ab.metrics import ABInputError

__all__ = ["quantile_diff", "QUANTILES"]

QUANTILES = (0.5, 0.9, 0.95)


def _weighted_quantiles(sorted_x: np.ndarray, w: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles ``q`` of ``sorted_x`` under each row of weights ``w`` (resamples x values)."""
    cw = np.cumsum(w, axis=1)
    total = cw[:, -1:]
    out = np.empty((w.shape[0], q.size))
    for j, qq in enumerate(q):
        # first value whose cumulative weight reaches q of the total (inverse weighted ECDF)
        idx = (cw < qq * total).sum(axis=1)
        out[:, j] = sorted_x[np.minimum(idx, sorted_x.size - 1)]
    return out


def _boot_quantiles(x: np.ndarray, cluster: np.ndarray | None, q: np.ndarray, B: int,
                    rng: np.random.Generator) -> np.ndarray:
    out = np.empty((B, q.size))
    chunk = max(1, int(2_000_000 // max(x.size, 1)))
    if cluster is None:  # the ordinary bootstrap: values resampled with replacement
        for s in range(0, B, chunk):
            b = min(chunk, B - s)
            out[s:s + b] = np.quantile(x[rng.integers(0, x.size, size=(b, x.size))], q, axis=1,
                                      method="inverted_cdf").T
        return out
    order = np.argsort(x, kind="stable")
    xs = x[order]
    ids_all, inv = np.unique(cluster, return_inverse=True)
    ids = inv[order]
    for s in range(0, B, chunk):
        b = min(chunk, B - s)
        # an independent Poisson(1) weight per cluster, given to each of its values
        w = rng.poisson(1.0, size=(b, ids_all.size))
        out[s:s + b] = _weighted_quantiles(xs, w[:, ids], q)
    return out


def quantile_diff(control, treatment, quantiles: Sequence[float] = QUANTILES, *,
                  control_clusters=None, treatment_clusters=None, n_resamples: int = 1000,
                  alpha: float = 0.05, seed: int | Sequence[int] = 0) -> pd.DataFrame:
    """Treatment minus control quantiles with Poisson-bootstrap percentile CIs.

    Parameters
    ----------
    control, treatment : array
        Values (e.g. per-turn response times); NaNs are dropped.
    quantiles : sequence of float
        In (0, 1); default p50, p90, p95.
    control_clusters, treatment_clusters : array, optional
        Cluster (randomisation unit) of each value, resampled as a whole.
    n_resamples : int
    alpha : float
        1 - confidence level.
    seed : int or sequence of int

    Returns
    -------
    DataFrame
        One row per quantile: ``quantile, control, treatment, diff, diff_ci_low, diff_ci_high,
        rel_diff, rel_ci_low, rel_ci_high, n_control, n_treatment, method``.

    Examples
    --------
    >>> quantile_diff([1.0, 2, 3, 4, 5], [2.0, 3, 4, 5, 6], [0.5], seed=0)["diff"].tolist()
    [1.0]
    """
    q = np.asarray(list(quantiles), dtype=float)
    if q.size == 0 or not ((q > 0) & (q < 1)).all():
        raise ABInputError(f"quantiles must be in (0, 1), got {list(quantiles)}")
    if n_resamples < 10:
        raise ABInputError(f"quantile CIs need at least 10 resamples, got {n_resamples}")
    arms = []
    for vals, cl, name in ((control, control_clusters, "control"),
                           (treatment, treatment_clusters, "treatment")):
        x = np.asarray(vals, dtype=float)
        c = None if cl is None else np.asarray(cl)
        if c is not None and c.shape != x.shape:
            raise ABInputError(f"{name}_clusters must have one entry per value")
        keep = np.isfinite(x)
        x = x[keep]
        c = None if c is None else c[keep]
        if x.size < 2:
            raise ABInputError(f"quantiles need at least 2 {name} values, got {x.size}")
        arms.append((x, c))
    rng = np.random.default_rng(seed)
    (xc, cc), (xt, ct) = arms
    bc = _boot_quantiles(xc, cc, q, n_resamples, rng)
    bt = _boot_quantiles(xt, ct, q, n_resamples, rng)
    est_c = np.quantile(xc, q, method="inverted_cdf")
    est_t = np.quantile(xt, q, method="inverted_cdf")
    lo, hi = alpha / 2, 1 - alpha / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_boot = bt / bc - 1.0
    method = ("clustered Poisson bootstrap (whole clusters reweighted)" if cc is not None
              else "bootstrap (values resampled)")
    return pd.DataFrame({
        "quantile": q, "control": est_c, "treatment": est_t, "diff": est_t - est_c,
        "diff_ci_low": np.quantile(bt - bc, lo, axis=0),
        "diff_ci_high": np.quantile(bt - bc, hi, axis=0),
        "rel_diff": est_t / est_c - 1.0,
        "rel_ci_low": np.nanquantile(rel_boot, lo, axis=0),
        "rel_ci_high": np.nanquantile(rel_boot, hi, axis=0),
        "n_control": xc.size, "n_treatment": xt.size,
        "method": f"{method} percentile interval, {n_resamples} resamples",
    })
