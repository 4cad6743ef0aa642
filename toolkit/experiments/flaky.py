"""Flaky examples: the (variant, example) cells whose result changes across repetitions.

pass/fail metric (only 0/1 values)
    an example is flaky under a variant when its result flips across repetitions (at least one
    pass and one fail).
score metric
    when its within-example variance is too large for the run-to-run noise of the other
    examples of that variant: an F-test of ``s_i**2 / s_ref**2`` with ``(r_i - 1, df_ref)``
    degrees of freedom at ``flaky_alpha / m`` (Bonferroni over the ``m`` variant x example
    cells), where ``s_ref**2`` is the pooled within-example variance of the *other* examples of
    the variant, not counting those already flagged (repeated until no flag changes), so a few
    flaky examples do not hide each other. Under homogeneous normal noise about ``flaky_alpha``
    of experiments flag any example (the tests measure it). When the other examples never change
    (``s_ref = 0``) every example whose score changes at all is flaky.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> sd = np.where(np.arange(30) == 7, 3.0, 0.5)  # example 7 is planted flaky
>>> y = rng.normal(0, sd[:, None], (30, 5))
>>> cells = pd.DataFrame({"variant": "A", "example_id": [f"e{i}" for i in range(30)], "n": 5,
...                       "mean": y.mean(axis=1), "var": y.var(axis=1, ddof=1)})
>>> flaky_examples(cells, binary=False).query("flaky")["example_id"].tolist()
['e7']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special as _sp

__all__ = ["flaky_examples"]


def flaky_examples(cells: pd.DataFrame, *, binary: bool, flaky_alpha: float = 0.05) -> pd.DataFrame:
    """Flag the flaky (variant, example) cells; see the module's rule.

    Parameters
    ----------
    cells : DataFrame
        ``variant, example_id, n, mean, var`` (one row per variant and example; ``var`` over the
        repetitions, ddof 1).
    binary : bool
        Pass/fail metric (flips rule) or a score (F-test rule).
    flaky_alpha : float
        Score metric: the chance of flagging any example in an experiment without flaky ones.

    Returns
    -------
    DataFrame
        The cells with ``sd``, ``ratio`` (within-example SD over the others' pooled run-to-run
        SD; for pass/fail the share of the minority result), ``threshold`` (the ratio above which
        an example is flaky) and ``flaky``.

    Examples
    --------
    >>> cells = pd.DataFrame({"variant": ["A", "A", "A"], "example_id": ["x", "y", "z"],
    ...                       "n": [3, 3, 3], "mean": [1.0, 1 / 3, 0.0], "var": [0.0, 1 / 3, 0.0]})
    >>> flaky_examples(cells, binary=True)["flaky"].tolist()
    [False, True, False]
    """
    out = cells.copy()
    out["sd"] = np.sqrt(out["var"])
    n = out["n"].to_numpy(float)
    if binary:
        passes = np.rint(out["mean"].to_numpy(float) * n)
        out["ratio"] = np.minimum(passes, n - passes) / n
        out["threshold"] = 0.0
        out["flaky"] = (out["ratio"] > 0) & (n > 1)
        out["rule"] = "pass/fail flips across repetitions"
        return out
    out["ratio"] = np.nan
    out["threshold"] = np.nan
    out["flaky"] = False
    out["rule"] = (f"within-example variance above the others' run-to-run variance (F-test, alpha "
                   f"{flaky_alpha:g} Bonferroni)")
    tested = (out["var"].notna() & (n > 1)).to_numpy()
    m = int(tested.sum())
    if m == 0:
        return out
    df1 = n - 1.0
    ss = np.where(tested, df1 * out["var"].fillna(0.0).to_numpy(float), 0.0)
    codes = pd.factorize(out["variant"])[0]
    flag = np.zeros(len(out), dtype=bool)
    ratio = np.full(len(out), np.nan)
    crit = np.full(len(out), np.nan)
    for _ in range(10):  # the reference: the unflagged others of the same variant
        ref = tested & ~flag
        s_v = np.bincount(codes, weights=np.where(ref, ss, 0.0))[codes]
        d_v = np.bincount(codes, weights=np.where(ref, df1, 0.0))[codes]
        s_o = s_v - np.where(ref, ss, 0.0)  # leave the cell itself out
        d_o = d_v - np.where(ref, df1, 0.0)
        ok = tested & (d_o > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(ok, (ss / df1) / (s_o / d_o), np.nan)
        f = np.where(ok & (ss == 0), 0.0, f)  # 0 / 0: no change in a never-changing variant
        p = np.where(ok, _sp.fdtrc(np.where(ok, df1, 1.0), np.where(ok, d_o, 1.0), np.where(np.isfinite(f), f, 0.0)),
                     np.nan)
        p = np.where(ok & np.isinf(f), 0.0, p)
        new = ok & (p < flaky_alpha / m)
        ratio = np.sqrt(f)
        crit = np.where(ok, np.sqrt(_sp.fdtri(np.where(ok, df1, 1.0), np.where(ok, d_o, 1.0),
                                              1.0 - flaky_alpha / m)), np.nan)
        if (new == flag).all():
            break
        flag = new
    out["ratio"] = ratio
    out["threshold"] = crit
    out["flaky"] = flag
    return out
