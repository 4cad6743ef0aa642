"""Effects by segment: the lift of each metric within each level of a column (bot, model, a user
attribute, the topic of a conversation), corrected across segments, with an interaction test.

:func:`segment_effects` runs :func:`toolkit.ab.analysis.analyze` on the units of each segment
(every metric, no sequential analysis), then, per metric and treatment arm:

* adjusts the segments' p-values across segments (Holm for the family-wise rate, and
  Benjamini-Hochberg; ``correction=`` picks the one that decides), so that an A/A test split
  into 10 segments rejects somewhere at the nominal rate, not at ``1 - 0.95**10 = 40 %``;
* tests whether the effect differs between segments at all (**interaction / heterogeneity**):
  Cochran's Q on the per-segment estimates, ``Q = sum_i w_i (d_i - d_bar)**2`` with
  ``w_i = 1 / se_i**2`` and ``d_bar`` their weighted mean, against chi-square with ``k - 1``
  degrees of freedom, and ``I**2 = max(0, (Q - (k - 1)) / Q)``;
* marks segments **too small** for a verdict (fewer than ``min_units`` units in an arm, or, for a
  binary metric, fewer than 5 successes or failures in an arm): they get no test and do not enter
  the correction or the Q test.

The segment column is taken from the per-unit table, the conversations or the turns of a log
(the first value per conversation), or from ``assignments`` (a frame with ``conversation_id`` and
the column, e.g. the cluster of each conversation saved by ``toolkit cluster``).

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> n = 6000
>>> units = pd.DataFrame({"variant": rng.choice(["A", "B"], n), "seg": rng.choice(list("xyz"), n)})
>>> p = 0.30 + 0.08 * ((units["variant"] == "B") & (units["seg"] == "x"))
>>> units["resolved"] = rng.random(n) < p
>>> res = segment_effects(units, "seg", "resolved:binary")
>>> res.table.set_index("segment")["significant"].to_dict()
{'x': True, 'y': False, 'z': False}
>>> bool(res.heterogeneity.loc[0, "q_p"] < 0.05)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import special as _sp

from toolkit.ab.metrics import ABInputError
from toolkit.ab.srm import adjust_rows

__all__ = ["SegmentResult", "segment_effects", "adjust_rows", "cochran_q", "segment_column",
           "MAX_SEGMENTS"]

#: a segment column with more levels than this is refused (group it first)
MAX_SEGMENTS = 200


@dataclass
class SegmentResult:
    """Per-segment lifts and the interaction tests.

    Attributes
    ----------
    by : str
        The segment column.
    table : DataFrame
        One row per segment x metric x arm: ``segment, metric, arm, n_control, n_treatment,
        control_value, treatment_value, abs_lift, abs_ci_low, abs_ci_high, rel_lift, p_value,
        p_holm, p_bh, p_adjusted, significant, too_small, verdict, test``.
    heterogeneity : DataFrame
        One row per metric x arm: ``q, df, q_p, i2, n_segments`` (Cochran's Q).
    correction : str
    alpha : float
    notes : list of str
    """

    by: str
    table: pd.DataFrame
    heterogeneity: pd.DataFrame
    correction: str
    alpha: float
    notes: list[str] = field(default_factory=list)

    def summary_table(self) -> pd.DataFrame:
        """Readable table: segment, metric, arm, sizes, lift with CI, adjusted p, verdict."""
        t = self.table
        return pd.DataFrame({
            self.by: t["segment"], "metric": t["metric"], "arm": t["arm"],
            "n (C / T)": [f"{a:,} / {b:,}" for a, b in zip(t["n_control"], t["n_treatment"])],
            "abs lift": t["abs_lift"],
            "CI": [f"[{a:.4g}, {b:.4g}]" if math.isfinite(a) else "" for a, b in
                   zip(t["abs_ci_low"], t["abs_ci_high"])],
            f"p ({self.correction} across segments)": t["p_adjusted"],
            "verdict": t["verdict"],
        })

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"by": self.by, "correction": self.correction, "alpha": self.alpha,
                "segments": self.table.to_dict(orient="records"),
                "heterogeneity": self.heterogeneity.to_dict(orient="records"),
                "notes": self.notes}

    def figure(self, metric: str | None = None, arm: str | None = None):
        """Forest plot of the per-segment lifts of one metric (default the first)."""
        from toolkit.ab.plots import segment_forest_plot

        return segment_forest_plot(self, metric=metric, arm=arm)


def cochran_q(est, se) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cochran's Q heterogeneity test of per-segment estimates (rows: runs, columns: segments;
    NaN = segment not tested): ``(Q, df, p, I^2)``.

    Examples
    --------
    >>> q, df, p, i2 = cochran_q([[0.10, 0.11, 0.09]], [[0.02, 0.02, 0.02]])
    >>> int(df[0]), bool(p[0] > 0.5)
    (2, True)
    """
    est = np.atleast_2d(np.asarray(est, dtype=float))
    se = np.atleast_2d(np.asarray(se, dtype=float))
    ok = np.isfinite(est) & np.isfinite(se) & (se > 0)
    w = np.where(ok, 1.0 / np.where(ok, se, 1.0) ** 2, 0.0)
    e = np.where(ok, est, 0.0)
    wsum = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        dbar = (w * e).sum(axis=1) / wsum
        q = (w * (e - dbar[:, None]) ** 2).sum(axis=1)
        df = ok.sum(axis=1) - 1.0
        p = np.where(df > 0, _sp.chdtrc(np.maximum(df, 1.0), q), np.nan)
        i2 = np.where(q > 0, np.maximum(0.0, (q - df) / q), 0.0)
    return q, df, p, i2


def segment_column(data, by: str, units: pd.DataFrame, assignments: pd.DataFrame | None = None
                   ) -> pd.Series:
    """The segment of each unit (aligned with ``units``): from ``assignments``, the unit table,
    or the conversations / turns of a log.

    Examples
    --------
    >>> u = pd.DataFrame({"conversation_id": ["c1", "c2"], "variant": ["A", "B"]})
    >>> a = pd.DataFrame({"conversation_id": ["c2", "c1"], "topic": ["pay", "login"]})
    >>> segment_column(None, "topic", u, a).tolist()
    ['login', 'pay']
    """
    key = "conversation_id" if "conversation_id" in units.columns else "user_id"
    if assignments is not None:
        if by not in assignments.columns or key not in assignments.columns:
            raise ABInputError(f"the assignments need columns {key!r} and {by!r}; they have "
                               f"{', '.join(map(str, assignments.columns))}")
        dup = assignments[key].duplicated()
        if dup.any():
            raise ABInputError(f"the assignments list {int(dup.sum())} {key}s twice, e.g. "
                               f"{assignments.loc[dup, key].iloc[0]!r}")
        m = assignments.set_index(key)[by]
        return units[key].map(m)
    if by in units.columns:
        return units[by]
    if hasattr(data, "conversations"):
        for frame in (data.conversations, data.turns):
            if by in frame.columns and key in frame.columns:
                first = frame.drop_duplicates(key).set_index(key)[by]
                return units[key].map(first)
    raise ABInputError(f"segment column {by!r} is in neither the unit table nor the log; for "
                       "topics give an assignments file (conversation_id, topic), e.g. from "
                       "`toolkit cluster`")


def _too_small(row: dict, kind: str, min_units: int) -> bool:
    if min(row["n_control"], row["n_treatment"]) < min_units:
        return True
    if kind == "binary":
        for n, v in ((row["n_control"], row["control_value"]),
                     (row["n_treatment"], row["treatment_value"])):
            k = round(n * v)
            if min(k, n - k) < 5:
                return True
    return False


def segment_effects(data, by: str, metrics=None, *, assignments: pd.DataFrame | None = None,
                    min_units: int = 30, correction: str = "holm", alpha: float = 0.05,
                    **options) -> SegmentResult:
    """Per-segment lifts of each metric, corrected across segments, with Cochran's Q.

    Parameters
    ----------
    data : DataFrame or ConversationLog
        As for :func:`toolkit.ab.analysis.analyze`.
    by : str
        The segment column (see :func:`segment_column`).
    metrics : str or list, optional
        As for ``analyze`` (default: its default metrics).
    assignments : DataFrame, optional
        ``conversation_id`` (or ``user_id`` for user units) and ``by``: the segment of each unit.
    min_units : int
        Fewer units than this in an arm (or fewer than 5 successes or failures of a binary
        metric) marks a segment as too small: no test, left out of the correction.
    correction : {"holm", "bh", "bonferroni", "none"}
        The adjustment across segments that decides significance (Holm and BH always reported).
    alpha : float
    **options
        Other :class:`~toolkit.ab.options.AnalysisOptions` fields (``control``, ``unit``, ...).

    Returns
    -------
    SegmentResult

    Raises
    ------
    ABInputError
        Unknown segment column, more than ``MAX_SEGMENTS`` levels, or no segment to test.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> u = pd.DataFrame({"variant": rng.choice(["A", "B"], 900), "bot": rng.choice(["web", "app"], 900),
    ...                   "x": rng.normal(0, 1, 900)})
    >>> segment_effects(u, "bot", "x:continuous").table["verdict"].tolist()
    ['no detectable difference', 'no detectable difference']
    """
    from toolkit.ab.analysis import _unit_table
    from toolkit.ab.options import AnalysisOptions

    opts = AnalysisOptions.build(None, alpha=alpha, sequential=False, bayes=False,
                                 nonparametric=False, primary="all", correction="none",
                                 **options)
    notes: list[str] = []
    units, curated, unit = _unit_table(data, opts, notes)
    seg = segment_column(data, by, units, assignments)
    n_missing = int(seg.isna().sum())
    if n_missing:
        notes.append(f"{n_missing:,} units without a {by!r} value were left out")
    levels = seg.dropna().astype(str).value_counts()
    if len(levels) > MAX_SEGMENTS:
        raise ABInputError(f"segment column {by!r} has {len(levels)} levels (limit "
                           f"{MAX_SEGMENTS}); group it first")
    if len(levels) < 2:
        raise ABInputError(f"segment column {by!r} has {len(levels)} level(s): nothing to "
                           "compare between segments")
    seg = seg.astype("string")
    from toolkit.ab.analysis import analyze

    if metrics is None and curated:
        from toolkit.ab.units import default_metrics

        metrics = default_metrics(units)
    rows = []
    kinds: dict[str, str] = {}
    for level in sorted(levels.index):
        sub = units[(seg == level).fillna(False).to_numpy()]
        try:
            res = analyze(sub.reset_index(drop=True), metrics, options=replace(opts, unit=unit))
        except ABInputError as exc:
            notes.append(f"segment {level!r}: not analysed ({exc})")
            continue
        for r in res.table.to_dict(orient="records"):
            kinds[r["metric"]] = r["kind"]
            rows.append({"segment": level, **{k: r[k] for k in (
                "metric", "kind", "arm", "n_control", "n_treatment", "control_value",
                "treatment_value", "abs_lift", "se", "abs_ci_low", "abs_ci_high", "rel_lift",
                "p_value", "test", "higher_is_better")}})
    if not rows:
        raise ABInputError(f"no segment of {by!r} could be analysed: " + "; ".join(notes))
    table = pd.DataFrame(rows)
    table["too_small"] = [_too_small(r, r["kind"], min_units) for r in table.to_dict("records")]
    table.loc[table["too_small"], "p_value"] = np.nan
    het = []
    for col in ("p_holm", "p_bh", "p_adjusted"):
        table[col] = np.nan
    for (metric, arm), g in table.groupby(["metric", "arm"], sort=False):
        p = g["p_value"].to_numpy(dtype=float)[None, :]
        table.loc[g.index, "p_holm"] = adjust_rows(p, "holm")[0]
        table.loc[g.index, "p_bh"] = adjust_rows(p, "bh")[0]
        table.loc[g.index, "p_adjusted"] = adjust_rows(p, correction)[0]
        tested = ~g["too_small"].to_numpy()
        q, df, qp, i2 = cochran_q(np.where(tested, g["abs_lift"], np.nan)[None, :],
                                  g["se"].to_numpy(dtype=float)[None, :])
        het.append({"metric": metric, "arm": arm, "q": float(q[0]), "df": float(df[0]),
                    "q_p": float(qp[0]), "i2": float(i2[0]), "n_segments": int(tested.sum()),
                    "test": "Cochran's Q on the per-segment lifts (inverse-variance weights)"})
    table["significant"] = table["p_adjusted"] < alpha
    table["verdict"] = [_segment_verdict(r) for r in table.to_dict("records")]
    table["correction"] = f"{correction} across segments"
    return SegmentResult(by=by, table=table, heterogeneity=pd.DataFrame(het),
                         correction=correction, alpha=alpha, notes=notes)


def _segment_verdict(r: dict) -> str:
    if r["too_small"]:
        return "too small"
    if not r["significant"]:
        return "no detectable difference"
    return "better" if (r["abs_lift"] > 0) == bool(r["higher_is_better"]) else "worse"
