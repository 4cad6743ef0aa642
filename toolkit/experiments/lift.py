"""The lift and the variance split of a repeated-runs experiment, vectorised over experiments.

Model (per variant ``v``, example ``i``, repetition ``k``)::

    y[v, i, k] = mu[v] + u[v, i] + e[v, i, k]

``u`` is the example's own level under that variant and ``e`` run-to-run noise with variance
``sigma_within[v]**2`` (:mod:`toolkit.experiments.analysis` reads a run log with this model).

item-level means and the lift
    Per variant and example the mean over its repetitions; per example the difference
    ``d[i] = mean_t[i] - mean_c[i]`` (treatment minus control); the lift is ``mean(d)`` with a
    paired t-interval on the ``n`` example-level differences (``n - 1`` degrees of freedom):
    :func:`paired_item_test`. Repetitions only make each ``d[i]`` less noisy; they are not extra
    examples. With the same number of repetitions for every example, the ``d[i]`` are
    independent with one common variance ``sigma_bd**2 + sigma_wc**2 / r_c + sigma_wt**2 / r_t``,
    so this t-test is exact under normality and is the test whose power
    :mod:`toolkit.experiments.planner` computes. A cluster bootstrap of the mean difference
    (examples resampled with all their repetitions, percentile interval, seeded) is a check
    that leans less on normality (it under-covers with few examples, so it is not the verdict).
variance split
    One-way random-effects ANOVA, method of moments: :func:`variance_components` on a balanced
    design (arrays), the unbalanced form with Searle's ``r0`` on a variant's cells of a run log.
    ``sigma_within**2 = MSW``, ``sigma_between**2 = max(0, (MSB - MSW) / r0)`` and the
    intra-class correlation. On a balanced design these are the REML estimates of statsmodels
    ``MixedLM`` whenever the between-example estimate is positive (the tests check it).
naive analysis
    :func:`naive_repetition_test` counts every (example, repetition) pair as an example: same
    estimate, a standard error too small whenever variants suit examples differently (shown
    beside the correct one; the tests and ``benchmarks/bench_experiments.py`` measure both
    rates of false positives on A/A experiments).

The array functions take shape ``(..., n_examples, repetitions)``: the leading axes are
independent experiments, so the simulation tests run thousands at once.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> u = rng.normal(0, 1, (2000, 30, 1))  # 2,000 A/A experiments, 30 examples, 3 repetitions
>>> yc, yt = u + rng.normal(0, 1, (2000, 30, 3)), u + rng.normal(0, 1, (2000, 30, 3))
>>> round(float((paired_item_test(yc, yt)["p_value"] < 0.05).mean()), 2)
0.05
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from toolkit.ab.bootstrap import mean_interval
from toolkit.ab.paired import t_test_differences

__all__ = ["MAX_BOOTSTRAP", "naive_repetition_test", "paired_item_test", "variance_components"]

#: limits on user-controlled sizes
MAX_BOOTSTRAP = 100_000


def paired_item_test(y_control, y_treatment, *, alpha: float = 0.05) -> dict[str, np.ndarray]:
    """Examples as the unit: the paired t-test on the per-example means over repetitions.

    Parameters
    ----------
    y_control, y_treatment : array_like, shape (..., n_examples, repetitions)
        Scores of a balanced design; leading axes are independent experiments (vectorised).
    alpha : float
        1 - confidence level of the interval; the test is two-sided.

    Returns
    -------
    dict
        ``lift``, ``sd`` (of the example differences), ``se``, ``df``, ``t``, ``p_value``,
        ``ci_low``, ``ci_high``; arrays over the leading axes.

    Examples
    --------
    >>> yc = np.array([[0.0, 0.2], [1.0, 0.8], [0.5, 0.5]])
    >>> out = paired_item_test(yc, yc + [[0.1, 0.3], [0.2, 0.2], [0.1, 0.1]])
    >>> round(float(out["lift"]), 4), out["df"]
    (0.1667, 2.0)
    """
    yc, yt = np.asarray(y_control, dtype=float), np.asarray(y_treatment, dtype=float)
    d = yt.mean(axis=-1) - yc.mean(axis=-1)
    return t_test_differences(d, alpha)


def naive_repetition_test(y_control, y_treatment, *, alpha: float = 0.05) -> dict[str, np.ndarray]:
    """The naive analysis: every (example, repetition) pair counted as an independent example.

    A paired t-test over ``n * r`` differences ``y_t[i, k] - y_c[i, k]``. Shown beside
    :func:`paired_item_test` to make its error visible: its standard error is too small whenever
    variants suit examples differently.

    Examples
    --------
    >>> yc = np.array([[0.0, 0.2], [1.0, 0.8], [0.5, 0.5]])
    >>> out = naive_repetition_test(yc, yc + [[0.1, 0.3], [0.2, 0.2], [0.1, 0.1]])
    >>> round(float(out["lift"]), 4), out["df"]
    (0.1667, 5.0)
    """
    yc, yt = np.asarray(y_control, dtype=float), np.asarray(y_treatment, dtype=float)
    d = yt - yc
    return t_test_differences(d.reshape(d.shape[:-2] + (-1,)), alpha)


def variance_components(y) -> dict[str, np.ndarray]:
    """Between-example and run-to-run variance of a balanced design (one-way ANOVA, moments).

    Parameters
    ----------
    y : array_like, shape (..., n_examples, repetitions)

    Returns
    -------
    dict
        ``var_between`` (``max(0, (MSB - MSW) / r)``), ``var_within`` (``MSW``), ``icc``,
        ``msb``, ``msw``.

    Examples
    --------
    >>> y = np.array([[1.0, 1.2], [2.0, 1.8], [3.0, 3.4]])
    >>> {k: round(float(v), 4) for k, v in variance_components(y).items()}
    {'var_between': 1.1033, 'var_within': 0.04, 'icc': 0.965, 'msb': 2.2467, 'msw': 0.04}
    """
    y = np.asarray(y, dtype=float)
    n, r = y.shape[-2], y.shape[-1]
    means = y.mean(axis=-1)
    msb = r * means.var(axis=-1, ddof=1) if n > 1 else np.full(means.shape[:-1], np.nan)
    msw = y.var(axis=-1, ddof=1).mean(axis=-1) if r > 1 else np.full(means.shape[:-1], np.nan)
    vb = np.maximum(0.0, (msb - msw) / r)
    with np.errstate(divide="ignore", invalid="ignore"):
        icc = vb / (vb + msw)
    return {"var_between": vb, "var_within": msw, "icc": icc, "msb": msb, "msw": msw}


def _components_unbalanced(c: pd.DataFrame) -> dict[str, float]:
    """Method-of-moments one-way random effects on cells of one variant (Searle's r0)."""
    r = c["n"].to_numpy(float)
    m = c["mean"].to_numpy(float)
    v = c["var"].fillna(0.0).to_numpy(float)
    n, big_n = len(r), r.sum()
    grand = float((r * m).sum() / big_n)
    df_b, df_w = n - 1, big_n - n
    msb = float((r * (m - grand) ** 2).sum() / df_b) if df_b > 0 else math.nan
    msw = float(((r - 1) * v).sum() / df_w) if df_w > 0 else math.nan
    r0 = float((big_n - (r ** 2).sum() / big_n) / df_b) if df_b > 0 else math.nan
    vb = max(0.0, (msb - msw) / r0) if df_b > 0 and df_w > 0 else math.nan
    total = vb + msw
    return {"examples": n, "calls": int(big_n), "mean_repetitions": float(big_n / n), "mean": grand,
            "var_between": vb, "var_within": msw,
            "sd_between": math.sqrt(vb) if vb == vb else math.nan,
            "sd_within": math.sqrt(msw) if msw == msw else math.nan,
            "icc": vb / total if total > 0 else math.nan,
            "share_run_to_run": msw / total if total > 0 else math.nan}


def _bootstrap_ci(d: np.ndarray, alpha: float, n_boot: int, seed: int) -> tuple[float, float]:
    if n_boot <= 0 or len(d) < 2:
        return math.nan, math.nan
    return mean_interval(d, n_boot, alpha, np.random.default_rng(seed))
