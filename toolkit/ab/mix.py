"""Mix shift: does the distribution of a categorical column (topics, intents, bots, models)
differ between two groups -- two variants, or two periods?

A topic mix that moved between the arms points at broken randomisation or at a treatment that
changes who comes back; one that moved between two periods changes every average over the log
(Simpson's paradox in a dashboard). :func:`mix_shift` gives

* the chi-square test of homogeneity of the categories x groups table (Pearson, no continuity
  correction; categories with fewer than ``min_count`` units in both groups are pooled into
  ``"(other)"`` so the expected counts stay usable);
* per category, the difference of its share between the groups with the score interval that
  inverts the pooled two-proportion z-test (:mod:`toolkit.ab.score`), and the z-test's p-value,
  Holm-adjusted across categories (``correction=``);
* a figure (:func:`toolkit.ab.plots.mix_shift_figure`).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"half": np.repeat(["early", "late"], 3000),
...                    "topic": np.r_[rng.choice(list("abc"), 3000, p=[.5, .3, .2]),
...                                   rng.choice(list("abc"), 3000, p=[.4, .3, .3])]})
>>> r = mix_shift(df, "topic", "half")
>>> r.chi2_p < 1e-6, r.table.set_index("category")["significant"].to_dict()
(True, {'a': True, 'b': False, 'c': True})
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special as _sp

from toolkit.ab.metrics import ABInputError, need_column
from toolkit.ab.score import SCORE_METHOD, score_interval_diff, score_z_diff
from toolkit.ab.segments import MAX_SEGMENTS, adjust_rows, segment_column

__all__ = ["MixShiftResult", "mix_shift", "period_groups"]


@dataclass
class MixShiftResult:
    """The mix of ``column`` in two groups, its chi-square test and per-category differences.

    Attributes
    ----------
    column, group_col : str
    groups : tuple of str
        The two groups (the difference is the second's share minus the first's).
    table : DataFrame
        One row per category: ``category, count_<g1>, count_<g2>, share_<g1>, share_<g2>, diff,
        ci_low, ci_high, p_value, p_adjusted, significant``.
    chi2, df, chi2_p : float
        Pearson's chi-square test of homogeneity.
    """

    column: str
    group_col: str
    groups: tuple
    table: pd.DataFrame
    chi2: float
    df: int
    chi2_p: float
    correction: str
    alpha: float
    method: str
    notes: list[str] = field(default_factory=list)

    def summary_table(self) -> pd.DataFrame:
        """Category, the two shares, the difference with CI, adjusted p."""
        g1, g2 = self.groups
        t = self.table
        return pd.DataFrame({
            self.column: t["category"], f"share {g1}": t[f"share_{g1}"],
            f"share {g2}": t[f"share_{g2}"], "diff (pp)": 100 * t["diff"],
            "95% CI (pp)": [f"[{100 * a:+.2f}, {100 * b:+.2f}]" for a, b in
                            zip(t["ci_low"], t["ci_high"])],
            f"p ({self.correction})": t["p_adjusted"]})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"column": self.column, "group_col": self.group_col, "groups": list(self.groups),
                "chi2": self.chi2, "df": self.df, "chi2_p": self.chi2_p,
                "correction": self.correction, "alpha": self.alpha, "method": self.method,
                "categories": self.table.to_dict(orient="records"), "notes": self.notes}

    def figure(self, top: int = 20):
        """Shares and differences with CIs (:func:`toolkit.ab.plots.mix_shift_figure`)."""
        from toolkit.ab.plots import mix_shift_figure

        return mix_shift_figure(self, top=top)


def period_groups(times: pd.Series, split=None) -> pd.Series:
    """``"before"`` / ``"after"`` a split time (default: the middle of the time range).

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2026-01-01", "2026-01-05", "2026-01-09"], utc=True))
    >>> period_groups(t).tolist()
    ['before', 'after', 'after']
    """
    times = pd.to_datetime(times, utc=True)
    if split is None:
        cut = times.min() + (times.max() - times.min()) / 2
    else:
        cut = pd.Timestamp(split)
        cut = cut.tz_localize("UTC") if cut.tzinfo is None else cut.tz_convert("UTC")
    return pd.Series(np.where(times < cut, "before", "after"), index=times.index,
                     dtype="string").where(times.notna())


def mix_shift(data, column: str, by: str = "variant", *, groups=None, split=None,
              time_col: str = "start_time", assignments: pd.DataFrame | None = None,
              alpha: float = 0.05, correction: str = "holm", min_count: int = 5
              ) -> MixShiftResult:
    """Whether the distribution of ``column`` differs between two groups.

    Parameters
    ----------
    data : DataFrame or ConversationLog
        One row per unit, or a log (its conversations are the units).
    column : str
        The categorical column (from the table, the log, or ``assignments``).
    by : str
        The column holding the groups (default the variant); ``"period"`` compares the time
        before and after ``split`` (``time_col``).
    groups : (str, str), optional
        The two groups to compare (default: the two levels of ``by``; with more levels, the
        first two in sorted order -- name them).
    split : str or Timestamp, optional
        With ``by="period"``: the split time (default the middle of the range).
    assignments : DataFrame, optional
        ``conversation_id`` and ``column`` (e.g. topics from clustering).
    alpha : float
    correction : {"holm", "bh", "bonferroni", "none"}
        Across categories.
    min_count : int
        Categories with fewer units than this in both groups are pooled into ``"(other)"``.

    Returns
    -------
    MixShiftResult

    Examples
    --------
    >>> df = pd.DataFrame({"variant": ["A", "B"] * 100, "bot": ["web"] * 120 + ["app"] * 80})
    >>> r = mix_shift(df, "bot")
    >>> r.groups, r.df, bool(r.chi2_p > 0.05)
    (('A', 'B'), 1, True)
    """
    if hasattr(data, "conversations") and hasattr(data, "turns"):
        units = data.conversations
    elif isinstance(data, pd.DataFrame):
        units = data
    else:
        raise ABInputError(f"data must be a DataFrame or a ConversationLog, got "
                           f"{type(data).__name__}")
    cat = segment_column(data, column, units, assignments).astype("string")
    if by == "period":
        if time_col not in units.columns:
            raise ABInputError(f"by='period' needs the time column {time_col!r}")
        grp = period_groups(units[time_col], split)
        groups = groups or ("before", "after")
        group_col = f"period (split {split or 'at the middle'})"
    else:
        need_column(units, by, f"group column {by!r} not found")
        grp = units[by].astype("string")
        group_col = by
    levels = sorted(grp.dropna().unique())
    if groups is None:
        if len(levels) < 2:
            raise ABInputError(f"column {by!r} has {len(levels)} group(s); a mix shift needs two")
        groups = tuple(levels[:2])
    groups = tuple(map(str, groups))
    missing = [g for g in groups if g not in levels]
    if len(groups) != 2 or missing:
        raise ABInputError(f"groups must be two of {levels}, got {list(groups)}")
    keep = grp.isin(groups).fillna(False) & cat.notna()
    notes = []
    if int((~cat.notna()).sum()):
        notes.append(f"{int((~cat.notna()).sum()):,} units without a {column!r} value left out")
    ct = pd.crosstab(cat[keep], grp[keep]).reindex(columns=list(groups), fill_value=0)
    if len(ct) > MAX_SEGMENTS:
        raise ABInputError(f"column {column!r} has {len(ct)} categories (limit {MAX_SEGMENTS})")
    small = ct.max(axis=1) < min_count
    if small.any():
        notes.append(f"{int(small.sum())} categories with fewer than {min_count} units in both "
                     "groups pooled into '(other)'")
        ct = pd.concat([ct[~small], ct[small].sum().to_frame("(other)").T])
    if len(ct) < 2:
        raise ABInputError(f"column {column!r} has fewer than 2 categories to compare")
    obs = ct.to_numpy(dtype=float)
    n = obs.sum(axis=0)
    if (n == 0).any():
        raise ABInputError(f"group {groups[int(np.argmin(n))]!r} has no units with {column!r}")
    exp = np.outer(obs.sum(axis=1), n) / n.sum()
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    dof = (obs.shape[0] - 1) * (obs.shape[1] - 1)
    chi2_p = float(_sp.chdtrc(dof, chi2))
    k1, k2 = obs[:, 0], obs[:, 1]
    lo, hi = score_interval_diff(k2, n[1], k1, n[0], alpha)
    z = score_z_diff(k2, n[1], k1, n[0])
    p = 2 * _sp.ndtr(-np.abs(z))
    g1, g2 = groups
    table = pd.DataFrame({
        "category": ct.index.astype(str), f"count_{g1}": k1.astype(int),
        f"count_{g2}": k2.astype(int), f"share_{g1}": k1 / n[0], f"share_{g2}": k2 / n[1],
        "diff": k2 / n[1] - k1 / n[0], "ci_low": lo, "ci_high": hi, "p_value": p,
        "p_adjusted": adjust_rows(p[None, :], correction)[0]})
    table["significant"] = table["p_adjusted"] < alpha
    table = table.sort_values(f"count_{g1}", ascending=False, kind="stable").reset_index(drop=True)
    method = (f"Pearson chi-square of homogeneity ({dof} df); per category: pooled z-test with "
              f"the {SCORE_METHOD} interval, {correction} across categories")
    if not math.isfinite(chi2_p):
        notes.append("chi-square undefined (an empty category or group)")
    return MixShiftResult(column=column, group_col=group_col, groups=groups, table=table,
                          chi2=chi2, df=int(dof), chi2_p=chi2_p, correction=correction,
                          alpha=alpha, method=method, notes=notes)
