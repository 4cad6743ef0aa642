"""Power and sample size of a paired design (the same examples answered by both variants).

The paired t-test works on the per-example differences: with ``n`` pairs its power is that of a
one-sample t-test of ``d_z = mde / sd_diff`` (noncentral t with ``n - 1`` degrees of freedom,
noncentrality ``d_z sqrt(n)``; = statsmodels ``TTestPower``, G*Power "means: difference between
two dependent means"). When only each variant's SD and the correlation ``rho`` of the two scores
on an example are known, ``sd_diff = sqrt(sd_a**2 + sd_b**2 - 2 rho sd_a sd_b)``
(``sd sqrt(2 (1 - rho))`` for equal SDs): the higher the correlation, the fewer pairs.

Examples
--------
>>> r = plan_paired(mde=0.1, sd=0.5, correlation=0.8)
>>> r.n_control, r.method
(81, 'paired t (noncentral t, exact)')
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from toolkit.ab.metrics import ABInputError
from toolkit.ab.power._common import Design, _design, _nct_power, _ndtri, _newton_increasing
from toolkit.ab.power._common import _z_crit, _z_power
from toolkit.ab.power.plan import PowerResult, _result

__all__ = ["power_paired", "sample_size_paired", "plan_paired", "sd_of_difference",
           "PAIRED_METHODS"]

PAIRED_METHODS = {"exact": "paired t (noncentral t, exact)",
                  "normal": "paired, normal approximation (z)"}


def _paired_design(design: Design | None, settings: dict, power: float | None = None) -> Design:
    """The design of a paired call: one pair of arms, no allocation ratio."""
    d = _design(design, settings, PAIRED_METHODS, "exact", power=power)
    if d.ratio != 1.0 or d.arms != 2:
        raise ABInputError(f"a paired design compares two variants on the same examples: "
                           f"ratio must be 1 and arms 2, got ratio={d.ratio!r}, arms={d.arms!r}")
    return d


def sd_of_difference(sd_a: float, sd_b: float | None = None, correlation: float = 0.0) -> float:
    """SD of ``score_b - score_a`` from each SD and their correlation on an example.

    Examples
    --------
    >>> round(sd_of_difference(1.0, correlation=0.5), 6)
    1.0
    """
    sd_b = sd_a if sd_b is None else sd_b
    if not -1.0 <= correlation <= 1.0:
        raise ABInputError(f"correlation must be in [-1, 1], got {correlation!r}")
    v = sd_a ** 2 + sd_b ** 2 - 2.0 * correlation * sd_a * sd_b
    if not v > 0:
        raise ABInputError("the difference has no variance (correlation 1 with equal SDs)")
    return math.sqrt(v)


def _power(dz, n, a, alt, strict, method):
    n = np.asarray(n, dtype=float)
    nc = np.asarray(dz, dtype=float) * np.sqrt(n)
    if method == "normal":
        return _z_power(nc, a, alt, strict)
    return _nct_power(n - 1.0, nc, a, alt, strict)


def power_paired(n, effect_size, *, design: Design | None = None, **settings):
    """Power of the paired t-test with ``n`` pairs at ``d_z = effect_size`` (vectorised).

    Examples
    --------
    >>> round(float(power_paired(30, 0.5)), 4)     # statsmodels TTestPower: 0.7540
    0.754
    """
    d = _paired_design(design, settings)
    out = _power(effect_size, n, d.alpha, d.alternative, d.strict, d.method)
    return out[()] if isinstance(out, np.ndarray) else out


def sample_size_paired(effect_size: float, *, design: Design | None = None, **settings) -> float:
    """Unrounded number of pairs for the paired t-test to reach ``power`` at ``d_z``.

    Examples
    --------
    >>> round(sample_size_paired(0.5), 2)          # statsmodels TTestPower: 33.37
    33.37
    """
    ds = _paired_design(design, settings, power=0.8)
    alpha, power, alt, method, strict = ds.alpha, ds.power, ds.alternative, ds.method, ds.strict
    d = float(effect_size)
    if not math.isfinite(d) or d == 0:
        raise ABInputError(f"effect_size must be a non-zero finite number, got {effect_size!r}")
    za = _z_crit(alpha, alt)
    n0 = ((za + float(_ndtri(power))) / d) ** 2
    if method == "normal" and not (strict and alt == "two-sided"):
        return n0
    n0 += za * za / 2.0
    return _newton_increasing(lambda n: _power(d, n, alpha, alt, strict, method) - power,
                              n0, 1.0 + 1e-9)


def plan_paired(*, effect_size: float | None = None, mde: float | None = None,
                sd_diff: float | None = None, sd: float | None = None,
                correlation: float | None = None, baseline: float | None = None,
                n: float | None = None, daily_traffic: float | None = None,
                design: Design | None = None, **settings) -> PowerResult:
    """Plan a paired comparison: the number of pairs, or the power with ``n`` pairs.

    Parameters
    ----------
    effect_size : float, optional
        ``d_z = mde / sd_diff``. Or give ``mde`` with ``sd_diff``, or ``mde`` with ``sd`` and
        ``correlation`` (of the two variants' scores on an example).
    n : float, optional
        Number of pairs, to solve the power.
    baseline : float, optional
        Baseline mean, only to report the relative MDE.
    daily_traffic : float, optional
        Examples answered per day (both variants), for a duration.
    design, **settings
        :class:`~toolkit.ab.power.Design` or its fields as keywords: ``power`` (target, default
        0.8; with ``n`` it is solved), ``alpha``, ``alternative``, ``method`` (``"exact"`` or
        ``"normal"``), ``strict``.

    Returns
    -------
    PowerResult
        ``metric="paired"``; ``n_control = n_treatment = n_total`` = the number of pairs (each
        example is answered by both variants); ``sd`` is ``sd_diff``.

    Examples
    --------
    >>> plan_paired(effect_size=0.5).n_total
    34
    >>> round(plan_paired(effect_size=0.5, n=30).power, 4)
    0.754
    """
    ds = _paired_design(design, settings)
    power = ds.power
    notes = []
    if effect_size is None:
        if mde is None:
            raise ABInputError("give effect_size (d_z), or mde with sd_diff or with sd and "
                             "correlation")
        if sd_diff is None:
            if sd is None or correlation is None:
                raise ABInputError("an absolute mde needs sd_diff, or sd and correlation")
            sd_diff = sd_of_difference(sd, correlation=correlation)
            notes.append(f"sd_diff = {sd_diff:.4g} from sd {sd:g} and correlation "
                         f"{correlation:g}")
        if not sd_diff > 0:
            raise ABInputError(f"sd_diff must be > 0, got {sd_diff!r}")
        effect_size = mde / sd_diff
    target = 0.8 if power is None else power
    if n is None:
        n1, mode = sample_size_paired(effect_size, design=ds), "n"
    else:
        if power is not None:
            raise ABInputError("give two of (effect, n, power): all three were given")
        n1, mode = float(n), "power"
        target = float(power_paired(n1, effect_size, design=ds))
    n_pairs = int(math.ceil(n1 - 1e-9))
    achieved = float(power_paired(n_pairs, effect_size, design=ds))
    mde_abs = mde if mde is not None else (effect_size * sd_diff if sd_diff else None)
    return _result(replace(ds, multiplicity="none"), ds, "paired", PAIRED_METHODS, mode, target,
                   achieved, n1, n_pairs, n_pairs, daily_traffic, 1.0, 0.0, 1,
                   effect_size=float(effect_size), mde=mde_abs, baseline=baseline, sd=sd_diff,
                   notes=notes)
