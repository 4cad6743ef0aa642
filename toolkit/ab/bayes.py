"""Bayesian read-out of an A/B comparison: posterior of the lift, chance to win, risk, credible
interval -- GrowthBook's effect-based engine (``gbstats.bayesian.tests.EffectBayesianABTest``).

The data enter as the normal approximation of the lift: the relative lift
``delta = mean_t / mean_c - 1`` with its delta-method variance
``v_t / mean_c**2 + mean_t**2 v_c / mean_c**4`` (or the absolute lift ``mean_t - mean_c`` with
``v_t + v_c``), where ``v`` is the variance of an arm's estimate (for CUPED-adjusted metrics, of
the adjusted estimate). The prior is on the same scale:

* flat (improper, the default): the posterior is ``N(data_mean, data_variance)``;
* informative normal ``N(prior_mean, prior_sd**2)``: precisions add,
  ``post_var = 1 / (1 / data_var + 1 / prior_sd**2)``,
  ``post_mean = post_var * (data_mean / data_var + prior_mean / prior_sd**2)``.
  GrowthBook's suggested proper prior on the relative lift is ``N(0, 0.3**2)``.

From the posterior ``N(mu, sigma**2)`` of the lift (``+`` = treatment above control):

* ``chance_to_win = P(delta > 0)`` (``P(delta < 0)`` when lower is better);
* ``risk`` = expected loss of shipping an arm, in the units of the lift:
  shipping control loses ``E[max(delta, 0)] = mu Phi(mu/sigma) + sigma phi(mu/sigma)``,
  shipping treatment loses ``E[max(-delta, 0)] = -mu Phi(-mu/sigma) + sigma phi(mu/sigma)``
  (swapped when lower is better) -- GrowthBook's ``get_risk`` (truncated-normal means);
* the equal-tailed credible interval ``mu +- z_{1 - alpha/2} sigma``.

Examples
--------
>>> r = bayes_readout(0.30, 0.30 * 0.7 / 5000, 0.33, 0.33 * 0.67 / 5000)
>>> round(r["chance_to_win"], 3), round(r["post_mean"], 4), round(r["post_sd"], 4)
(0.999, 0.1, 0.0325)
>>> r["risk_treatment"] < 1e-4 < r["risk_control"]
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import special as _sp

from toolkit.ab.metrics import ABInputError, one_of

__all__ = ["Prior", "FLAT_PRIOR", "bayes_readout", "expected_loss", "SCALES"]

SCALES = ("relative", "absolute")

_SQRT2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Prior:
    """Normal prior on the lift (relative by default); ``sd=None`` is the flat, improper prior.

    Examples
    --------
    >>> Prior().flat, Prior(0.0, 0.3).flat
    (True, False)
    """

    mean: float = 0.0
    sd: float | None = None

    def __post_init__(self):
        if self.sd is not None and not (self.sd > 0 and math.isfinite(self.sd)):
            raise ABInputError(f"prior sd must be > 0 (or None for the flat prior), got {self.sd!r}")
        if not math.isfinite(self.mean):
            raise ABInputError(f"prior mean must be finite, got {self.mean!r}")

    @property
    def flat(self) -> bool:
        """Whether this is the flat (improper) prior."""
        return self.sd is None

    def describe(self) -> str:
        """``"flat"`` or ``"normal(mean, sd)"``."""
        return "flat" if self.flat else f"normal({self.mean:g}, {self.sd:g})"


FLAT_PRIOR = Prior()


def _positive_part_mean(z):
    """``E[max(Z + z, 0)] = phi(z) + z Phi(z)`` for ``Z ~ N(0, 1)``, without cancellation.

    With ``Phi(z) = erfcx(-z / sqrt 2) exp(-z**2 / 2) / 2`` the density factors out:
    ``exp(-z**2 / 2) (1 / sqrt(2 pi) + z erfcx(-z / sqrt 2) / 2)`` (relative error about
    ``1e-16 z**2``; below ``z = -1000`` the bracket is its asymptotic series
    ``(1 / sqrt(2 pi)) (1/z^2 - 3/z^4 + ...)``), so the far tail is small but not exactly 0
    until the density itself underflows (``z`` below about -38).
    """
    if z > -1e3:
        bracket = 1.0 / _SQRT2PI + z * float(_sp.erfcx(-z / math.sqrt(2.0))) / 2.0
        if z >= 0:
            return z * float(_sp.ndtr(z)) + math.exp(-0.5 * z * z) / _SQRT2PI
    else:
        u = 1.0 / (z * z)
        bracket = u * (1 - u * (3 - u * (15 - u * (105 - 945 * u)))) / _SQRT2PI
    return math.exp(-0.5 * z * z) * bracket


def expected_loss(mu: float, sigma: float) -> tuple[float, float]:
    """``(E[max(X, 0)], E[max(-X, 0)])`` for ``X ~ N(mu, sigma**2)`` (closed form).

    The first is the loss of keeping control when ``X`` is the treatment's lift, the second the
    loss of shipping the treatment. Each tail is computed on its own, stably (no difference of
    nearly equal numbers), so a far tail is tiny rather than exactly 0.

    Examples
    --------
    >>> [round(v, 6) for v in expected_loss(0.0, 1.0)]   # both sigma / sqrt(2 pi)
    [0.398942, 0.398942]
    >>> 0 < expected_loss(-20.0, 1.0)[0] < 1e-80
    True
    """
    if not sigma > 0:
        return max(mu, 0.0), max(-mu, 0.0)
    z = mu / sigma
    return sigma * _positive_part_mean(z), sigma * _positive_part_mean(-z)


def bayes_readout(mean_c: float, var_c: float, mean_t: float, var_t: float, *,
                  scale: str = "relative", prior: Prior = FLAT_PRIOR, alpha: float = 0.05,
                  higher_is_better: bool = True) -> dict[str, float | str]:
    """Posterior of the lift and the decision quantities, from each arm's estimate and variance.

    Parameters
    ----------
    mean_c, mean_t : float
        Control and treatment estimates (mean, proportion or ratio; CUPED-adjusted if any).
    var_c, var_t : float
        Variances of those estimates (unit variance / n).
    scale : {"relative", "absolute"}
        The lift the posterior is on (the prior is on the same scale).
    prior : Prior
        Flat (default) or normal.
    alpha : float
        1 - credibility of the interval.
    higher_is_better : bool
        Direction of a win (chance to win and risks flip when lower is better).

    Returns
    -------
    dict
        ``post_mean, post_sd, chance_to_win, risk_control, risk_treatment, cred_low, cred_high,
        bayes_scale, bayes_prior, bayes_method``; NaNs when the lift is undefined (relative
        lift with a control estimate of 0, or no variance).

    Examples
    --------
    >>> r = bayes_readout(10.0, 0.01, 10.0, 0.01, scale="absolute")
    >>> r["chance_to_win"], round(r["cred_high"], 4)
    (0.5, 0.2772)
    """
    one_of(scale, SCALES, "scale")
    out: dict[str, float | str] = {
        "bayes_scale": scale, "bayes_prior": prior.describe(),
        "bayes_method": f"normal approximation of the {scale} lift "
                        f"({'delta method, ' if scale == 'relative' else ''}{prior.describe()} "
                        "prior; GrowthBook effect model)",
    }
    nan = dict(post_mean=math.nan, post_sd=math.nan, chance_to_win=math.nan,
               risk_control=math.nan, risk_treatment=math.nan, cred_low=math.nan,
               cred_high=math.nan)
    if scale == "relative":
        if mean_c == 0 or not math.isfinite(mean_c):
            return {**nan, **out}
        data_mean = mean_t / mean_c - 1.0
        data_var = var_t / mean_c ** 2 + mean_t ** 2 * var_c / mean_c ** 4
    else:
        data_mean = mean_t - mean_c
        data_var = var_t + var_c
    if not (data_var > 0 and math.isfinite(data_var)):
        return {**nan, **out}
    if prior.flat:
        mu, var = data_mean, data_var
    else:
        prec = 1.0 / data_var + 1.0 / prior.sd ** 2
        var = 1.0 / prec
        mu = var * (data_mean / data_var + prior.mean / prior.sd ** 2)
    sigma = math.sqrt(var)
    p_up, p_down = float(_sp.ndtr(mu / sigma)), float(_sp.ndtr(-mu / sigma))  # no 1 - p
    up, down = expected_loss(mu, sigma)
    z = float(_sp.ndtri(1.0 - alpha / 2.0))
    if higher_is_better:
        ctw, risk_c, risk_t = p_up, up, down
    else:
        ctw, risk_c, risk_t = p_down, down, up
    return {"post_mean": mu, "post_sd": sigma, "chance_to_win": ctw, "risk_control": risk_c,
            "risk_treatment": risk_t, "cred_low": mu - z * sigma, "cred_high": mu + z * sigma,
            **out}
