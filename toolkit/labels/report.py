"""How the automatic scores agree with human labels, and how the raters agree with each other.

:func:`agreement` joins scored turns with the labels (turn labels to the turn's score;
conversation labels, ``turn`` missing, to the conversation's mean score) and reports for every
score: the number of labelled items, Spearman's rho with a bootstrap CI that resamples whole
conversations (turns of one conversation are not independent), the AUC of the score separating
passing from failing labels (binary labels, or ``rating >= threshold``) with its bootstrap CI,
and a calibration plot (mean label by score bin). With a ``rater`` column,
:func:`inter_rater` adds Krippendorff's alpha (interval metric), the pairwise Spearman of the
raters and, per rater, the Spearman with the mean of the other raters (the raters who disagree
most come first).

Examples
--------
>>> import numpy as np, pandas as pd
>>> from toolkit.labels import agreement
>>> rng = np.random.default_rng(0)
>>> scored = pd.DataFrame({"conversation_id": np.repeat([f"c{i}" for i in range(60)], 2),
...                        "turn": np.tile([0, 1], 60), "quality": rng.uniform(size=120)})
>>> labels = scored[["conversation_id", "turn"]].assign(
...     rating=np.round(1 + 4 * scored["quality"] + rng.normal(0, 0.8, 120)).clip(1, 5))
>>> rep = agreement(scored, labels, scores=("quality",), n_boot=200, threshold=3)
>>> row = rep.summary_table().iloc[0]
>>> int(row["n"]), bool(row["spearman"] > 0.7), bool(row["auc"] > 0.85)
(120, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError

__all__ = ["agreement", "AgreementReport", "inter_rater", "InterRater", "MAX_BOOT"]

#: the largest ``n_boot`` accepted (a user-controlled size)
MAX_BOOT = 20_000
_DEFAULT_SCORES = ("quality", "reaction", "relevance", "coherence", "length_fit", "sentiment")


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3:
        return float("nan")
    rx, ry = _ranks(x), _ranks(y)
    sx, sy = rx.std(), ry.std()
    if sx == 0 or sy == 0:
        return float("nan")
    return float(((rx - rx.mean()) * (ry - ry.mean())).mean() / (sx * sy))


def _auc(passed: np.ndarray, score: np.ndarray) -> float:
    passed = np.asarray(passed, bool)
    n1, n0 = int(passed.sum()), int((~passed).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = _ranks(score)
    return float((r[passed].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _boot_weights(groups: np.ndarray, n_boot: int, seed: int, chunk: int):
    """Row weights of ``n_boot`` resamples of whole groups (conversations) with replacement.

    Yields arrays of shape (k, n_rows): how many times each row's group was drawn in each of
    ``k`` resamples (a resample is the data with every row repeated that many times).
    """
    rng = np.random.default_rng(seed)
    codes, uniq = pd.factorize(pd.Series(groups))
    n_groups = len(uniq)
    done = 0
    while done < n_boot:
        k = min(chunk, n_boot - done)
        picks = rng.integers(0, n_groups, (k, n_groups))
        counts = np.zeros((k, n_groups))
        np.add.at(counts, (np.repeat(np.arange(k), n_groups), picks.ravel()), 1.0)
        done += k
        yield counts[:, codes]


def _weighted_ranks(x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Mid-ranks of ``x`` in each weighted resample (rows of ``W``): row i repeated W[b, i] times."""
    from scipy.sparse import csr_matrix

    order = np.argsort(x, kind="stable")
    xs = x[order]
    new = np.r_[True, xs[1:] != xs[:-1]]
    gid = np.empty(len(x), dtype=np.int64)
    gid[order] = np.cumsum(new) - 1
    n_groups = int(new.sum())
    onehot = csr_matrix((np.ones(len(x)), (np.arange(len(x)), gid)), shape=(len(x), n_groups))
    wg = np.asarray((onehot.T @ W.T).T)  # (k, n_groups): weight of each tie group
    rank_g = np.cumsum(wg, axis=1) - wg + (wg + 1.0) / 2.0
    return rank_g[:, gid]


def _weighted_stats(x: np.ndarray, y: np.ndarray, passed: np.ndarray | None, W: np.ndarray):
    """Spearman and AUC of ``x`` against ``y`` / ``passed`` in each weighted resample."""
    rx, ry = _weighted_ranks(x, W), _weighted_ranks(y, W)
    tot = W.sum(axis=1)
    mx = (W * rx).sum(axis=1) / tot
    my = (W * ry).sum(axis=1) / tot
    dx, dy = rx - mx[:, None], ry - my[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (W * dx * dy).sum(axis=1) / np.sqrt((W * dx * dx).sum(axis=1) * (W * dy * dy).sum(axis=1))
        if passed is None:
            return rho, None
        w1 = (W * passed).sum(axis=1)
        w0 = tot - w1
        auc = ((W * rx * passed).sum(axis=1) - w1 * (w1 + 1.0) / 2.0) / (w1 * w0)
    return rho, auc


@dataclass(frozen=True)
class InterRater:
    """Agreement between raters of the same items.

    Attributes
    ----------
    alpha : float
        Krippendorff's alpha with the interval metric over items rated at least twice
        (1 = perfect agreement, 0 = as good as chance).
    n_items, n_raters : int
        Items rated by two or more raters; raters.
    pairwise : DataFrame
        ``rater_a``, ``rater_b``, ``n`` (items both rated), ``spearman``.
    raters : DataFrame
        Per rater: ``rater``, ``n``, ``mean_rating``, ``spearman_vs_others`` (with the mean of the
        other raters on the same items), sorted with the raters who disagree most first.
    """

    alpha: float
    n_items: int
    n_raters: int
    pairwise: pd.DataFrame = field(repr=False)
    raters: pd.DataFrame = field(repr=False)

    def summary_table(self) -> pd.DataFrame:
        """The per-rater table (most disagreeing first)."""
        return self.raters.copy()

    def to_dict(self) -> dict:
        from toolkit._files import to_jsonable

        return to_jsonable({"alpha": self.alpha, "n_items": self.n_items, "n_raters": self.n_raters,
                            "pairwise": self.pairwise.to_dict("records"),
                            "raters": self.raters.to_dict("records")})


def _krippendorff_interval(items: np.ndarray, values: np.ndarray) -> tuple[float, int]:
    """Krippendorff's alpha (interval metric) of ratings ``values`` grouped by ``items``."""
    df = pd.DataFrame({"i": items, "v": values})
    m = df.groupby("i")["v"].transform("size").to_numpy()
    df = df[m >= 2]
    if df.empty:
        return float("nan"), 0
    g = df.groupby("i")["v"]
    mu, s1, s2 = g.size().to_numpy(float), g.sum().to_numpy(), g.apply(lambda v: (v ** 2).sum()).to_numpy()
    # sum over ordered pairs i != j inside a unit of (v_i - v_j)^2 = 2 (m * sum v^2 - (sum v)^2)
    d_within = (2.0 * (mu * s2 - s1 ** 2) / (mu - 1.0)).sum()
    n = mu.sum()
    v = df["v"].to_numpy(float)
    d_total = 2.0 * (n * (v ** 2).sum() - v.sum() ** 2)
    if d_total == 0:
        return float("nan"), int(len(mu))
    alpha = 1.0 - (n - 1.0) * d_within / d_total
    return float(alpha), int(len(mu))


def inter_rater(labels: pd.DataFrame) -> InterRater | None:
    """Inter-rater agreement of a labels table with a ``rater`` column (None without one).

    Examples
    --------
    >>> import pandas as pd
    >>> lab = pd.DataFrame({"conversation_id": list("aabbccdd"), "turn": [0] * 8,
    ...                     "rating": [1, 1, 2, 2, 4, 5, 5, 5], "rater": ["x", "y"] * 4})
    >>> ir = inter_rater(lab)
    >>> round(ir.alpha, 3), ir.n_items, ir.raters["rater"].tolist()
    (0.962, 4, ['x', 'y'])
    """
    if "rater" not in labels.columns or labels["rater"].dropna().nunique() < 2:
        return None
    lab = labels.dropna(subset=["rater"])
    key = lab["conversation_id"].astype(str) + "\x1f" + lab["turn"].astype("string").fillna("")
    items = key.to_numpy()
    ratings = lab["rating"].to_numpy(float)
    alpha, n_items = _krippendorff_interval(items, ratings)
    wide = pd.DataFrame({"item": items, "rater": lab["rater"].astype(str).to_numpy(), "r": ratings}
                        ).pivot_table(index="item", columns="rater", values="r", aggfunc="mean")
    raters = list(wide.columns)
    pairs = []
    for i, a in enumerate(raters):
        for b in raters[i + 1:]:
            both = wide[[a, b]].dropna()
            pairs.append({"rater_a": a, "rater_b": b, "n": len(both),
                          "spearman": _spearman(both[a].to_numpy(), both[b].to_numpy())})
    per = []
    total, count = wide.sum(axis=1), wide.count(axis=1)
    for a in raters:
        mine = wide[a]
        others_n = count - mine.notna()
        ok = mine.notna() & (others_n > 0)
        others = (total - mine.fillna(0))[ok] / others_n[ok]
        per.append({"rater": a, "n": int(mine.notna().sum()), "mean_rating": float(mine.mean()),
                    "spearman_vs_others": _spearman(mine[ok].to_numpy(), others.to_numpy())})
    per_df = pd.DataFrame(per).sort_values("spearman_vs_others", na_position="first", kind="stable")
    return InterRater(alpha=alpha, n_items=n_items, n_raters=len(raters),
                      pairwise=pd.DataFrame(pairs, columns=["rater_a", "rater_b", "n", "spearman"]),
                      raters=per_df.reset_index(drop=True))


@dataclass(frozen=True)
class AgreementReport:
    """How each score agrees with the human labels (:func:`agreement`).

    Attributes
    ----------
    table : DataFrame
        One row per score and level (``turn`` / ``conversation``): ``score``, ``level``, ``n``,
        ``conversations``, ``spearman``, ``spearman_low``, ``spearman_high``, ``auc``,
        ``auc_low``, ``auc_high``, ``n_fail``.
    pairs : DataFrame
        The joined items: ``conversation_id``, ``turn``, ``level``, ``rating`` (rater mean),
        ``passed`` and one column per score.
    inter_rater : InterRater or None
    n_boot, seed : int
    threshold : float or None
        Ratings ``>= threshold`` pass; None with binary labels (the higher value passes) or when
        no AUC was computed.
    unmatched : int
        Labelled items without a score (no such turn, or the score is missing there).
    """

    table: pd.DataFrame
    pairs: pd.DataFrame = field(repr=False)
    inter_rater: InterRater | None
    n_boot: int
    seed: int
    threshold: float | None
    unmatched: int

    def summary_table(self) -> pd.DataFrame:
        """The per-score table, rounded for display."""
        return self.table.round(3)

    def to_dict(self) -> dict:
        from toolkit._files import to_jsonable

        return to_jsonable({"scores": self.table.to_dict("records"), "n_boot": self.n_boot, "seed": self.seed,
                            "threshold": self.threshold, "unmatched": self.unmatched,
                            "inter_rater": None if self.inter_rater is None else self.inter_rater.to_dict()})

    def plot_calibration(self, scores: Sequence[str] | None = None, *, bins: int = 10, level: str | None = None):
        """Mean human label by score bin (equal-count bins), with +-1.96 standard errors.

        Returns
        -------
        matplotlib.figure.Figure

        Examples
        --------
        >>> import pandas as pd
        >>> s = pd.DataFrame({"conversation_id": list("abcdef"), "turn": [0] * 6,
        ...                   "quality": [0.1, 0.2, 0.4, 0.5, 0.8, 0.9]})
        >>> lab = s[["conversation_id", "turn"]].assign(rating=[1, 2, 2, 3, 5, 4])
        >>> fig = agreement(s, lab, scores=("quality",), n_boot=50).plot_calibration(bins=3)
        >>> fig.axes[0].get_xlabel()
        'score (bin mean)'
        """
        from matplotlib.figure import Figure

        if not 2 <= int(bins) <= 100:
            raise ToolkitError(f"bins must be between 2 and 100, got {bins}")
        names = [s for s in (scores or self.table["score"].unique()) if s in self.pairs.columns]
        lv = level or ("turn" if (self.pairs["level"] == "turn").any() else "conversation")
        p = self.pairs[self.pairs["level"] == lv]
        fig = Figure(figsize=(6.4, 4.2))
        ax = fig.add_subplot()
        for name in names:
            d = p[["rating", name]].dropna()
            if len(d) < 2:
                continue
            q = pd.qcut(d[name].rank(method="first"), min(int(bins), len(d)), labels=False)
            g = d.groupby(q)
            x, y = g[name].mean(), g["rating"].mean()
            se = g["rating"].std().fillna(0) / np.sqrt(g.size())
            ax.errorbar(x, y, yerr=1.96 * se, marker="o", capsize=3, label=name)
        ax.set_xlabel("score (bin mean)")
        ax.set_ylabel("mean human rating")
        ax.set_title(f"Calibration against human labels ({lv} level)")
        if names:
            ax.legend(loc="best", fontsize="small")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        return fig


def _score_frames(scored) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    turns = getattr(scored, "turns", scored)
    if not isinstance(turns, pd.DataFrame):
        raise TypeError(f"scored must be a ConversationLog or a DataFrame, not {type(scored).__name__}")
    return turns, getattr(scored, "conversations", None)


def agreement(
    scored,
    labels,
    scores: Sequence[str] | None = None,
    *,
    threshold: float | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    scale: tuple[float, float] | None = None,
) -> AgreementReport:
    """Agreement of automatic scores with human labels (Spearman, AUC, calibration, raters).

    Parameters
    ----------
    scored : ConversationLog or DataFrame
        Scored turns (``score_turns``), with ``conversation_id``, ``turn`` and the score columns.
    labels : DataFrame or path
        The labels table (:func:`toolkit.labels.read_labels`); a path or raw frame is read and
        checked against ``scored``.
    scores : sequence of str, optional
        Score columns to compare; default: those of ``quality``, ``reaction``, ``relevance``,
        ``coherence``, ``length_fit``, ``sentiment`` and every ``judge_*`` column present.
    threshold : float, optional
        Ratings ``>= threshold`` pass, the rest fail (for the AUC). Without it the AUC is
        computed only for binary labels (two distinct values; the higher one passes).
    n_boot : int
        Bootstrap resamples of whole conversations for the CIs (0 = no CIs; at most
        :data:`MAX_BOOT`).
    seed : int
        Seed of the resampling.
    scale : (lo, hi), optional
        Passed to :func:`read_labels` when ``labels`` is read here.

    Returns
    -------
    AgreementReport

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"conversation_id": list("abcdef"), "turn": [0] * 6,
    ...                   "quality": [0.1, 0.2, 0.4, 0.5, 0.8, 0.9]})
    >>> lab = s[["conversation_id", "turn"]].assign(rating=[0, 0, 1, 0, 1, 1])
    >>> rep = agreement(s, lab, n_boot=0)
    >>> rep.summary_table()[["score", "level", "n", "spearman", "auc", "n_fail"]].to_dict("records")
    [{'score': 'quality', 'level': 'turn', 'n': 6, 'spearman': 0.683, 'auc': 0.889, 'n_fail': 3}]
    """
    from toolkit.labels.read import label_means, read_labels

    n_boot = int(n_boot)
    if not 0 <= n_boot <= MAX_BOOT:
        raise ToolkitError(f"n_boot must be between 0 and {MAX_BOOT}, got {n_boot}")
    turns, conversations = _score_frames(scored)
    for c in ("conversation_id", "turn"):
        if c not in turns.columns:
            raise ToolkitError(f"scored turns need a {c!r} column")
    if not (isinstance(labels, pd.DataFrame) and list(labels.columns[:3]) == ["conversation_id", "turn", "rating"]
            and str(labels["turn"].dtype) == "Int64"):
        labels = read_labels(labels, log=turns, scale=scale)
    if scores is None:
        scores = [c for c in _DEFAULT_SCORES if c in turns.columns]
        scores += sorted(c for c in turns.columns if str(c).startswith("judge_") and c not in scores)
    else:
        scores = list(scores)
        missing = [c for c in scores if c not in turns.columns]
        if missing:
            raise ToolkitError(f"scores {missing} are not columns of the scored turns "
                               f"(have {[c for c in turns.columns if c in _DEFAULT_SCORES]})")
    if not scores:
        raise ToolkitError("no score columns to compare: score the log first (toolkit score) or pass scores=")
    bad = [c for c in scores if not pd.api.types.is_numeric_dtype(turns[c])]
    if bad:
        raise ToolkitError(f"score columns must be numeric: {bad}")

    means = label_means(labels)
    ratings = means["rating"].to_numpy(float)
    if threshold is not None:
        passed = ratings >= float(threshold)
    elif len(np.unique(ratings)) == 2:
        passed = ratings == ratings.max()
        threshold = None
    else:
        passed = None
    means = means.assign(passed=passed if passed is not None else pd.NA)

    t = turns[["conversation_id", "turn", *scores]].copy()
    t["conversation_id"] = t["conversation_id"].astype(str)
    t["turn"] = t["turn"].astype("int64")
    per_conv = t.groupby("conversation_id")[scores].mean()
    if "reaction" in scores and conversations is not None:
        from toolkit.quality.reaction import conversation_reaction

        per_conv["reaction"] = conversation_reaction(turns, conversations).reindex(per_conv.index)
    m = means.assign(conversation_id=means["conversation_id"].astype(str))
    is_turn = m["turn"].notna()
    tl = m[is_turn].assign(turn=m.loc[is_turn, "turn"].astype("int64")).merge(
        t, on=["conversation_id", "turn"], how="left").assign(level="turn")
    cl = m[~is_turn].merge(per_conv, left_on="conversation_id", right_index=True, how="left").assign(level="conversation")
    pairs = pd.concat([tl, cl], ignore_index=True)
    pairs = pairs[["conversation_id", "turn", "level", "rating", "passed", *scores]]
    unmatched = int(pairs[scores].isna().all(axis=1).sum())

    rows = []
    for level in ("turn", "conversation"):
        p = pairs[pairs["level"] == level]
        if p.empty:
            continue
        for name in scores:
            d = p[["conversation_id", "rating", "passed", name]].dropna(subset=[name])
            x, y = d[name].to_numpy(float), d["rating"].to_numpy(float)
            g = d["conversation_id"].to_numpy()
            has_auc = passed is not None
            pa = d["passed"].to_numpy(bool) if has_auc else None
            row: dict[str, Any] = {"score": name, "level": level, "n": len(d), "conversations": int(pd.unique(g).size),
                                   "spearman": _spearman(x, y), "spearman_low": np.nan, "spearman_high": np.nan,
                                   "auc": _auc(pa, x) if has_auc else np.nan, "auc_low": np.nan, "auc_high": np.nan,
                                   "n_fail": int((~pa).sum()) if has_auc else 0}
            if n_boot and len(d) >= 3:
                sp, au = [], []
                chunk = max(1, min(n_boot, 2_000_000 // max(1, len(d))))
                for W in _boot_weights(g, n_boot, seed, chunk):
                    rho, a = _weighted_stats(x, y, pa, W)
                    sp.append(rho)
                    au.append(a if a is not None else np.full(len(rho), np.nan))
                sp, au = np.concatenate(sp), np.concatenate(au)
                if np.isfinite(sp).any():
                    row["spearman_low"], row["spearman_high"] = np.nanpercentile(sp, [2.5, 97.5])
                if has_auc and np.isfinite(au).any():
                    row["auc_low"], row["auc_high"] = np.nanpercentile(au, [2.5, 97.5])
            rows.append(row)
    table = pd.DataFrame(rows, columns=["score", "level", "n", "conversations", "spearman", "spearman_low",
                                        "spearman_high", "auc", "auc_low", "auc_high", "n_fail"])
    return AgreementReport(table=table, pairs=pairs, inter_rater=inter_rater(labels), n_boot=n_boot, seed=int(seed),
                           threshold=None if threshold is None else float(threshold), unmatched=unmatched)
