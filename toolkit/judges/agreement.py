"""How far the judges (and every other score) agree with human labels.

:func:`judge_agreement` runs the labels report (:func:`toolkit.labels.agreement`: Spearman / AUC
with bootstrap CIs) over every score and adds, for the 1-5 judges, Cohen's weighted kappa against
the human ratings rounded to the same scale (:func:`weighted_kappa`), with a bootstrap CI.
Position bias of a pairwise judge is :func:`toolkit.judges.position_bias`.

Examples
--------
>>> round(weighted_kappa([1, 2, 3, 4, 5], [1, 2, 3, 5, 5]).kappa, 4)
0.9565
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError

__all__ = ["JudgeAgreement", "Kappa", "judge_agreement", "weighted_kappa"]


@dataclass(frozen=True)
class Kappa:
    """Cohen's weighted kappa with a percentile bootstrap CI, exact and within-one agreement."""

    kappa: float
    ci_low: float
    ci_high: float
    n: int
    weights: str
    exact: float
    within_one: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def summary_table(self) -> pd.DataFrame:
        """:meth:`to_dict` as a one-row table."""
        return pd.DataFrame([self.to_dict()])


def _kappa_from_codes(a: np.ndarray, b: np.ndarray, k: int, w: np.ndarray) -> np.ndarray:
    """Kappa for each row of the code matrices ``a``, ``b`` (shape r x n, values 0..k-1)."""
    r, n = a.shape
    idx = (np.arange(r)[:, None] * k * k + a * k + b).ravel()
    obs = np.bincount(idx, minlength=r * k * k).reshape(r, k, k) / n
    exp = obs.sum(2)[:, :, None] * obs.sum(1)[:, None, :]
    num = (w * obs).sum((1, 2))
    den = (w * exp).sum((1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 1 - num / den, np.nan)


def weighted_kappa(rater1, rater2, *, categories: Sequence[int] = (1, 2, 3, 4, 5),
                   weights: str = "quadratic", bootstrap: int = 1000, seed: int = 0,
                   alpha: float = 0.05) -> Kappa:
    """Cohen's kappa between two integer ratings on ``categories`` (weights ``quadratic``,
    ``linear`` or ``none``), with a percentile bootstrap CI over the rated items.

    Equal to ``sklearn.metrics.cohen_kappa_score(..., weights=...)`` for the point estimate.

    Examples
    --------
    >>> k = weighted_kappa([1, 2, 3, 4, 5, 3], [2, 2, 3, 4, 4, 3], weights="linear", bootstrap=0)
    >>> round(k.kappa, 4), k.n, round(k.exact, 3)
    (0.7273, 6, 0.667)
    """
    a = np.asarray(rater1, dtype=float)
    b = np.asarray(rater2, dtype=float)
    if a.shape != b.shape:
        raise ToolkitError(f"weighted_kappa: {a.size} and {b.size} ratings; need pairs")
    cats = np.asarray(list(categories), dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    bad = ~np.isin(a, cats) | ~np.isin(b, cats)
    if bad.any():
        raise ToolkitError(f"weighted_kappa: {int(bad.sum())} ratings are not among the categories "
                           f"{cats.astype(int).tolist()} (round them first)")
    if weights not in ("quadratic", "linear", "none"):
        raise ToolkitError(f"weights={weights!r}: choose quadratic, linear or none")
    k = len(cats)
    ca, cb = np.searchsorted(cats, a), np.searchsorted(cats, b)
    i = np.arange(k)
    dist = np.abs(i[:, None] - i[None, :]).astype(float)
    w = {"quadratic": dist ** 2, "linear": dist, "none": (dist > 0).astype(float)}[weights]
    n = len(a)
    if n < 2:
        return Kappa(float("nan"), float("nan"), float("nan"), n, weights, float("nan"), float("nan"))
    kap = float(_kappa_from_codes(ca[None], cb[None], k, w)[0])
    lo = hi = float("nan")
    if bootstrap:
        if not 100 <= bootstrap <= 100_000:
            raise ToolkitError(f"bootstrap={bootstrap} must be 0 or within [100, 100000]")
        rng = np.random.default_rng(seed)
        out = []
        for start in range(0, bootstrap, 200):  # bounded memory
            m = min(200, bootstrap - start)
            pick = rng.integers(0, n, size=(m, n))
            out.append(_kappa_from_codes(ca[pick], cb[pick], k, w))
        boots = np.concatenate(out)
        boots = boots[np.isfinite(boots)]
        if len(boots):
            lo, hi = (float(x) for x in np.quantile(boots, [alpha / 2, 1 - alpha / 2]))
    return Kappa(kap, lo, hi, n, weights, float((a == b).mean()), float((np.abs(a - b) <= 1).mean()))


@dataclass(frozen=True)
class JudgeAgreement:
    """The labels report over every score (``report``) and the kappa table of the 1-5 judges."""

    report: Any
    kappa: pd.DataFrame
    notes: tuple[str, ...] = field(default=())

    def summary_table(self) -> pd.DataFrame:
        table = self.report.summary_table() if self.report is not None else pd.DataFrame({"score": []})
        if len(self.kappa):
            table = table.merge(self.kappa, on="score", how="left")
        return table

    def to_dict(self) -> dict[str, Any]:
        from toolkit._files import to_jsonable

        return to_jsonable({"report": None if self.report is None else self.report.to_dict(),
                            "kappa": self.kappa.to_dict("records"), "notes": list(self.notes)})


def judge_agreement(scored: pd.DataFrame, labels: pd.DataFrame, *, scores: Sequence[str] | None = None,
                    threshold: float | None = None, kappa_scale: tuple[int, int] = (1, 5),
                    weights: str = "quadratic", bootstrap: int = 1000, seed: int = 0,
                    **agreement_kwargs: Any) -> JudgeAgreement:
    """Every score against the human labels, with weighted kappa for the 1-5 judge columns.

    Parameters
    ----------
    scored : DataFrame
        Turns with score columns (``quality``, ``reaction``, ``judge_<rubric>``, ...).
    labels : DataFrame
        A labels table (:func:`toolkit.labels.read_labels`); raters are averaged.
    scores : list of str, optional
        Columns to compare (default: ``quality``, ``reaction`` and every numeric ``judge_*``
        column present).
    threshold : float, optional
        Ratings ``>= threshold`` pass (for the AUC of :func:`toolkit.labels.agreement`).
    kappa_scale : (lo, hi)
        The judges' integer scale; kappa compares each ``judge_*`` column with the mean human
        rating rounded to the nearest integer and clipped to this scale. Conversation labels are
        compared with the rounded mean judge score of the conversation's turns.
    bootstrap, seed
        Resamples (0: no CIs) and seed of the bootstrap, for the labels report (over
        conversations) and for kappa (over rated items).
    **agreement_kwargs
        Passed to :func:`toolkit.labels.agreement`.

    Examples
    --------
    >>> import toolkit
    >>> from toolkit.judges import simulate_judge_and_labels
    >>> sim = simulate_judge_and_labels(toolkit.load_sample(), n_labels=300, seed=0)
    >>> ag = judge_agreement(sim.turns, sim.labels, scores=["judge_sim"], bootstrap=0)
    >>> ag.kappa[["score", "n"]].to_dict("records")
    [{'score': 'judge_sim', 'n': 300}]
    """
    from toolkit.labels import agreement, label_means

    if scores is None:
        scores = [c for c in ("quality", "reaction") if c in scored.columns]
        scores += [c for c in scored.columns if str(c).startswith("judge_") and not str(c).endswith("_reason")
                   and pd.api.types.is_numeric_dtype(scored[c])]
    scores = list(scores)
    missing = [c for c in scores if c not in scored.columns]
    if missing or not scores:
        raise ToolkitError(f"judge_agreement: score columns {missing or '(none)'} not in the scored turns")
    report = agreement(scored, labels, scores=tuple(scores), threshold=threshold, n_boot=bootstrap,
                       seed=seed, **agreement_kwargs)
    lab = label_means(labels)
    lab = lab.assign(conversation_id=lab["conversation_id"].astype("string"))
    t = scored.assign(conversation_id=scored["conversation_id"].astype("string"))
    judges = [c for c in scores if str(c).startswith("judge_")]
    rows, notes = [], []
    lo, hi = kappa_scale
    cats = range(int(lo), int(hi) + 1)
    turn_lab = lab[lab["turn"].notna()]
    conv_lab = lab[lab["turn"].isna()]
    for c in judges:
        parts = []
        if len(turn_lab):
            m = turn_lab.merge(t.assign(turn=t["turn"].astype("Int64"))[["conversation_id", "turn", c]],
                               on=["conversation_id", "turn"], how="inner")
            parts.append(m[["rating", c]])
        if len(conv_lab):
            per = t.groupby("conversation_id")[c].mean().rename(c).reset_index()
            parts.append(conv_lab.merge(per, on="conversation_id", how="inner")[["rating", c]])
        both = pd.concat(parts, ignore_index=True).dropna()
        judge = np.clip(np.rint(both[c].to_numpy(float)), lo, hi)
        human = np.clip(np.rint(both["rating"].to_numpy(float)), lo, hi)
        if (np.abs(both["rating"].to_numpy(float) - human) > 0.5 + 1e-9).any():
            notes.append(f"{c}: human ratings outside [{lo}, {hi}] were clipped for kappa")
        k = weighted_kappa(judge, human, categories=cats, weights=weights, bootstrap=bootstrap, seed=seed)
        rows.append({"score": c, "n": k.n, f"kappa_{weights}": k.kappa, "kappa_ci_low": k.ci_low,
                     "kappa_ci_high": k.ci_high, "exact_agreement": k.exact, "within_one": k.within_one})
    return JudgeAgreement(report, pd.DataFrame(rows), tuple(notes))
