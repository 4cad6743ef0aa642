"""Windows of the multi-scale anomaly detector (:mod:`toolkit.forecasting._multiscale`, step 6): the
points behind each flagged score that exceed 1 robust sd in its direction, joined, cut where the
flagging side turns, trimmed, a shift's window ended at its onset; each with its kind and size.

Examples
--------
>>> _runs(np.array([0, 1, 1, 0, 0, 0, 1], dtype=bool), 1)
[(1, 2), (6, 6)]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.forecasting._anomaly_grid import DAY, HOUR

__all__ = ["flag_windows"]


def _centred_mean(u: np.ndarray, k: int) -> np.ndarray:
    if k == 1:
        return u
    return pd.Series(u).rolling(k, center=True, min_periods=max(1, k // 2)).mean().to_numpy()


def _runs(mask: np.ndarray, gap: int) -> list[tuple[int, int]]:
    idx = np.flatnonzero(mask)
    if not len(idx):
        return []
    cut = np.flatnonzero(np.diff(idx) > gap + 1)
    starts = np.r_[idx[0], idx[cut + 1]]
    ends = np.r_[idx[cut], idx[-1]]
    return list(zip(starts.tolist(), ends.tolist()))


def _best_stretch(v: np.ndarray) -> np.ndarray:
    """The contiguous stretch with the largest sum of ``v`` (as a mask): the points behind a
    flagged mean, without the smoothing's halo (a CUSUM with drift)."""
    c = np.r_[0.0, np.cumsum(v)]
    lowest = np.minimum.accumulate(c)
    j = int(np.argmax(c[1:] - lowest[:-1])) + 1
    i = int(np.argmin(c[:j]))
    out = np.zeros(len(v), dtype=bool)
    if c[j] - c[i] > 0:
        out[i:j] = True
    return out


def _trimmed(u: np.ndarray, flag: np.ndarray, a: int, b: int) -> tuple[int, int]:
    """Trim a window's ends to the points that exceed: beyond 1 robust sd and half the typical
    flagged deviation in the window's direction (in absolute value when its signs are mixed)."""
    seg = np.nan_to_num(u[a : b + 1], nan=0.0)
    fl = flag[a : b + 1]
    sign = np.sign(seg[fl].sum()) or 1.0
    dev = seg * sign
    if (dev[fl] < 0).mean() > 0.3:      # mixed signs: a spread change
        dev = np.abs(seg)
    pos = dev[fl & (dev > 0)]
    cut = max(1.0, 0.5 * float(np.median(pos if len(pos) else dev[fl])))
    ok = np.flatnonzero((dev > cut) & fl)
    if not len(ok):
        return a, b
    return a + int(ok[0]), a + int(ok[-1])


def _split_sides(sides: np.ndarray, flag: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """Cut the run ``[a, b]`` between two flagged points whose flags came from different sides
    (``sides``: +1 or -1 from a signed scale, 2 from a spread scale): a burst up followed within
    the joining gap by a dip is two windows, not one whose trim keeps only the larger part (a
    planted two-hour burst on taxi demand was lost so). A run whose flags turn more than twice,
    or that a spread scale flagged, is one disturbance of both signs -- a variance change, whose
    large deviations the point and hour scales flag up and down in turn -- and stays whole (cut
    at every turn, half a day of 5x noise became 13-27 spike and burst windows).

    Examples
    --------
    >>> f = np.array([0, 1, 1, 0, 1, 1, 0, 1], dtype=bool)
    >>> _split_sides(np.array([0, 1, 1, 0, -1, -1, 0, -1.0]), f, 1, 7)
    [(1, 2), (4, 7)]
    >>> _split_sides(np.array([0, 1, -1, 0, 1, -1, 0, 1.0]), f, 1, 7)   # four turns: whole
    [(1, 7)]
    >>> _split_sides(np.array([0, 1, 1, 0, 2, 2, 0, 2.0]), f, 1, 7)     # a spread scale among them
    [(1, 7)]
    """
    idx = a + np.flatnonzero(flag[a : b + 1])
    if len(idx) < 2:
        return [(a, b)]
    s = sides[idx]
    cut = np.flatnonzero(s[1:] != s[:-1])
    if len(cut) > 2 or (s == 2).any():
        return [(a, b)]
    starts = np.r_[a, idx[cut + 1]]
    ends = np.r_[idx[cut], b]
    return list(zip(starts.tolist(), ends.tolist()))


def _merged(runs: list[tuple[int, int]], u: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Join neighbouring windows of the same direction whose gap is shorter than half the
    shorter of the two (a day-long shift with a few quiet hours inside is one window; two
    spikes a few hours apart stay two).

    Examples
    --------
    >>> u = np.r_[np.full(20, 3.0), np.zeros(5), np.full(16, 3.0), np.zeros(30), [9.0]]
    >>> _merged([(0, 19), (25, 40), (71, 71)], u, 1)
    [(0, 40), (71, 71)]
    """
    out: list[tuple[int, int]] = []
    for a, b in runs:
        if out:
            pa, pb = out[-1]
            same = np.sign(np.nansum(u[pa : pb + 1])) == np.sign(np.nansum(u[a : b + 1]))
            if same and a - pb - 1 <= max(gap, min(pb - pa + 1, b - a + 1) // 2):
                out[-1] = (pa, b)
                continue
        out.append((a, b))
    return out


def _absorbed_end(u: np.ndarray, a: int, b: int, k: int) -> int:
    """The last point of a shift's window: where the trailing median of the last ``k`` residuals
    has moved half way to the window's level (the new level is then the running normal).
    The points before the window count as the normal level: a drift that led up to it is not
    its new level.

    Examples
    --------
    >>> u = np.r_[np.zeros(100), np.full(200, 3.0)]        # a lasting shift at 100
    >>> _absorbed_end(u, 100, 299, 48), _absorbed_end(u, 100, 120, 48)   # a short one is kept whole
    (124, 120)
    """
    if k < 2 or b - a + 1 <= k // 2:
        return b
    seg = u[a : b + 1]
    sign = np.sign(np.nansum(seg)) or 1.0
    level = float(np.nanmedian(seg * sign))
    if not level > 0:      # no sustained level (a few large points): nothing to absorb
        return b
    lo = max(0, a - k)
    v = u[lo : b + 1] * sign
    v[: a - lo] = 0.0    # before the window: the normal level (a drift that led up to it is not its new level)
    m = pd.Series(v).shift(1).rolling(k, min_periods=max(1, k // 2)).median().to_numpy()[a - lo :]
    hit = np.flatnonzero(np.nan_to_num(m, nan=-np.inf) >= 0.5 * level)
    return a + int(hit[0]) if len(hit) else b


def flag_windows(u: np.ndarray, scs: list, obs: np.ndarray, step: pd.Timedelta, direction: str, gap: int,
                 min_points: int = 1) -> tuple[np.ndarray, list[dict]]:
    """(flagged points, windows) of the scales ``scs`` at their thresholds (see the module notes).

    Examples
    --------
    >>> from toolkit.forecasting._multiscale import Scale
    >>> u = np.random.default_rng(0).normal(0, 1, 500); u[100] = 9.0
    >>> flag, wins = flag_windows(u, [Scale("point", 1, u, threshold=5.0)], np.ones(500, bool), pd.Timedelta("1h"), "both", 1)
    >>> [(w["a"], w["kind"]) for w in wins]
    [(100, 'spike')]
    """
    n = len(u)
    flag = np.zeros(n, dtype=bool)
    best_ratio = np.zeros(n)
    best_scale = np.full(n, -1)
    best_z = np.zeros(n)
    for j, sc in enumerate(scs):
        z = np.nan_to_num(sc.z, nan=0.0)
        if sc.name == "spread":
            hit = z > sc.threshold
        elif direction == "high":
            hit = z > sc.threshold
        elif direction == "low":
            hit = z < -sc.threshold
        else:
            hit = np.abs(z) > sc.threshold
        if not hit.any():
            continue
        ratio = np.abs(z) / sc.threshold
        k = sc.k
        for a, b in _runs(hit, 0):
            lo, hi = max(0, a - k // 2), min(n - 1, b + (k - 1) // 2)
            uu = sc.base if sc.base is not None else u
            seg = uu[lo : hi + 1]
            if sc.name == "point":
                sup = np.zeros(hi - lo + 1, dtype=bool)
                sup[a - lo : b - lo + 1] = True
            elif sc.name == "mean":
                mk = np.nan_to_num(_centred_mean(uu, k)[a : b + 1], nan=0.0)
                sign = np.sign(mk[np.argmax(np.abs(mk))])
                drift = max(0.5 * float(np.max(np.abs(mk))), 0.5)
                v = np.nan_to_num(seg * sign, nan=0.0)
                sup = _best_stretch(v - drift)
                # a mean raised by one point is that point (a spike), not the stretch around it
                if sup.sum() > 1 and v[sup].max() > 0.5 * v[sup].sum():
                    sup = np.zeros_like(sup)
                    sup[int(np.argmax(np.where(np.isfinite(seg), v, -np.inf)))] = True
            else:
                sup = _best_stretch(np.nan_to_num(np.abs(seg), nan=0.0) - 1.2)
                big = seg[sup & (np.abs(np.nan_to_num(seg)) > 2)]
                # a variance change widens both sides, in several large deviations: one sign
                # only is a shift or a burst (the mean scales judge those), a few are spikes
                if len(big) < 4 or min((big > 0).mean(), (big < 0).mean()) < 0.25:
                    continue
            pos = lo + np.flatnonzero(sup)
            flag[pos] = True
            r_here = ratio[a : b + 1].max()
            upd = best_ratio[pos] < r_here
            best_ratio[pos[upd]] = r_here
            best_scale[pos[upd]] = j
            kbest = a + int(np.argmax(np.abs(z[a : b + 1])))
            best_z[pos[upd]] = z[kbest]
    flag &= obs
    wins = []
    sides = np.where(flag & (best_scale >= 0), np.sign(best_z), 0.0)
    spread = np.flatnonzero([sc.name == "spread" for sc in scs])
    sides[np.isin(best_scale, spread)] = 2.0
    runs = [r for a, b in _runs(flag, gap) for r in _split_sides(sides, flag, a, b)]
    for a, b in _merged([_trimmed(u, flag, a, b) for a, b in runs], u, gap):
        sel = np.arange(a, b + 1)
        fl = sel[flag[sel]]
        if not len(fl):
            continue
        if len(fl) < min_points:
            continue
        j = int(best_scale[fl][np.argmax(best_ratio[fl])])
        sc = scs[j]
        npts = b - a + 1
        seg_u = u[a : b + 1]
        seg_u = seg_u[np.isfinite(seg_u)]
        mixed = len(seg_u) >= 6 and abs(seg_u.mean()) < 0.3 * np.abs(seg_u).mean()
        if mixed:
            # large deviations of both signs: the spread changed, not the level
            kind = "variance_change"
        elif npts <= 3:
            kind = "spike"
        elif npts * step >= 12 * HOUR or npts >= max(6, int(DAY // step) // 2 if step < DAY else 7):
            kind = "level_shift"
        else:
            kind = "burst"
        b_full = b
        if not mixed:
            # a shift's window ends once the day-long trailing median (the shortest baseline the
            # detector considers) has absorbed half of it: after that the new level is the running
            # normal, and the rest of a day-long mean's support is not news (kind: full extent)
            b_new = _absorbed_end(u, a, b, int(DAY // step) if step < DAY else 7)
            if b_new < b:
                flag[b_new + 1 : b + 1] = False
                b = b_new
                sel = np.arange(a, b + 1)
                fl = sel[flag[sel]]
        seg = np.abs(np.nan_to_num(u[a : b + 1], nan=0.0))
        peak = a + int(np.argmax(seg))
        zpk = float(best_z[fl][np.argmax(best_ratio[fl])])
        direction_w = "high" if np.nansum(u[fl]) > 0 else "low"
        wins.append({"a": a, "b": b, "b_full": b_full, "n_flagged": int(len(fl)), "kind": kind, "scale": sc.k, "scale_kind": sc.name,
                     "peak": peak, "peak_score": zpk, "ratio_to_threshold": float(best_ratio[fl].max()),
                     "direction": direction_w})
    return flag, wins
