"""Refit the quality model on the user's own labels, with cross-validation over conversations.

:func:`calibrate` joins the labels (``conversation_id, turn, rating[, rater]``, read with
:func:`toolkit.labels.read_labels`; raters averaged) to the scored turns, refits the shipped model's
features on them with k-fold cross-validation that keeps each conversation in one fold, and
compares, on the same labelled turns, the Spearman correlation of the out-of-fold refit with that of
the shipped model (with 95 % bootstrap intervals over conversations, and of their difference).
The refit is fitted once more on all labels and can be saved (``result.model``) as a JSON file that
``score_turns(..., QualityConfig(quality_model=path))`` and ``toolkit score --quality-model`` use.

``vectors=True`` adds a *vector head* to that refit: a ridge regression, on the sentence-pooled
MiniLM vectors themselves, of what the features' refit leaves of the ratings (the product of the
unit context and response vectors, whose sum is ``relevance_emb``, and the unit response vector:
768 weights, the penalty chosen by leave-one-out inside each training fold, so that a head with
nothing to add shrinks towards zero). It learns what your raters reward in your domain, which a
dozen generic features cannot. On the public human-rated sets, each set's own ratings used as a
user's labels (``python benchmarks/run.py quality_calibrate``, 5-fold cross-validation by
dialogue; the README has the table), Spearman of the shipped model / the features' refit / with
the vector head: DBDC3 (6,150 labels) 0.29 / 0.37 / 0.48, ConTurE (1,066) 0.28 / 0.35 / 0.39,
DSTC7 (10,000) 0.26 / 0.31 / 0.38, FED (375) 0.21 / 0.24 / 0.36, GRADE (1,200) 0.38 / 0.42 / 0.45;
with 300 labels its gains over the features' refit (0.00 to +0.09) are within the intervals. The model file holds its 768 weights (about 23 kB).

Examples
--------
>>> import toolkit, numpy as np, pandas as pd
>>> turns = toolkit.load_sample().turns.head(300)
>>> rng = np.random.default_rng(0)
>>> labels = turns[["conversation_id", "turn"]].assign(rating=rng.integers(1, 6, len(turns)))
>>> res = calibrate(turns, labels, mode="fast", folds=3, n_boot=50)
>>> res.summary_table()["model"].tolist()
['shipped (fast)', 'refit (3-fold CV)']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError
from toolkit.quality.model import FEATURES_FAST, FEATURES_FULL, QualityModel, fit_model, load_model, normal_scores

__all__ = ["calibrate", "CalibrationResult", "CalibrationError", "MIN_LABELS"]

#: fewest labelled turns a refit accepts
MIN_LABELS = 20


class CalibrationError(ToolkitError):
    """The labels cannot support a refit (too few, or not matching the log)."""


@dataclass
class CalibrationResult:
    """Shipped vs refit agreement with the user's labels.

    Attributes
    ----------
    model : QualityModel
        The refit, fitted on every labelled turn (save it with :meth:`save`).
    shipped, refit : dict
        ``spearman``, ``ci_low``, ``ci_high`` on the labelled turns (the refit's out of fold).
    difference : dict
        Refit minus shipped Spearman with its paired bootstrap CI.
    n_labels, n_conversations, folds : int
    beats_shipped : bool
        Whether the refit's Spearman is higher with the paired 95 % interval above 0.
    """

    model: QualityModel
    shipped: dict
    refit: dict
    difference: dict
    n_labels: int
    n_conversations: int
    folds: int
    base: str
    beats_shipped: bool
    notes: list = field(default_factory=list)

    def summary_table(self) -> pd.DataFrame:
        """One row per model: Spearman with the labels and its 95 % CI, on the same turns."""
        kind = "refit with vector head" if self.model.head is not None else "refit"
        rows = [{"model": f"shipped ({self.base})", **self.shipped},
                {"model": f"{kind} ({self.folds}-fold CV)", **self.refit}]
        t = pd.DataFrame(rows)
        t["n_labels"] = self.n_labels
        return t

    def verdict(self) -> str:
        """One sentence: whether to use the refit."""
        d = self.difference
        if self.beats_shipped:
            return (f"the refit agrees better with your labels (Spearman {self.refit['spearman']:+.3f} "
                    f"vs {self.shipped['spearman']:+.3f}; difference {d['spearman']:+.3f}, 95 % CI "
                    f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]): use it with --quality-model")
        return (f"the refit does not clearly beat the shipped model (Spearman {self.refit['spearman']:+.3f} "
                f"vs {self.shipped['spearman']:+.3f}; difference {d['spearman']:+.3f}, 95 % CI "
                f"[{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]): keep the shipped model")

    def to_dict(self) -> dict:
        return {"base": self.base, "n_labels": self.n_labels, "n_conversations": self.n_conversations,
                "folds": self.folds, "shipped": self.shipped, "refit": self.refit,
                "difference": self.difference, "beats_shipped": self.beats_shipped,
                "verdict": self.verdict(), "notes": list(self.notes)}

    def save(self, path) -> None:
        """Write the refit model (with the CV figures in its ``meta``) as JSON, atomically."""
        import json

        from toolkit._files import atomic_write_text

        atomic_write_text(path, json.dumps(self.model.to_dict(), indent=1) + "\n")


def _rho(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import rankdata

    ra, rb = rankdata(a), rankdata(b)
    ra = ra - ra.mean()
    rb = rb - rb.mean()
    d = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / d) if d > 0 else float("nan")


def _boot(groups: np.ndarray, fn, n_boot: int, seed: int) -> np.ndarray:
    """``fn(index)`` on ``n_boot`` resamples of whole groups."""
    codes = pd.factorize(groups)[0]
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0, True])
    members = [order[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    rng = np.random.default_rng(seed)
    out = np.empty(n_boot)
    for i in range(n_boot):
        pick = rng.integers(0, len(members), len(members))
        out[i] = fn(np.concatenate([members[j] for j in pick]))
    return out


def _whole(value, name: str, lo: int, hi: int) -> int:
    """``value`` as an int when it is a whole number from ``lo`` to ``hi``, else an error."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not (ok and float(value).is_integer() and lo <= value <= hi):
        raise CalibrationError(f"{name} must be between {lo} and {hi} (a whole number), got {value!r}")
    return int(value)


def _group_keys(turns: pd.DataFrame, column: str, conv: pd.Series) -> np.ndarray:
    """The group of each labelled turn (conversation ids ``conv``): its conversation's value of
    ``column``, or, where the conversation has none (missing values), the conversation alone."""
    g = turns[column]
    present = g.notna().to_numpy()
    vals = pd.DataFrame({"c": turns["conversation_id"].astype(str).to_numpy()[present],
                         "g": g[present].astype(str).to_numpy()})
    n_vals = vals.groupby("c")["g"].nunique()
    bad = n_vals[n_vals > 1]
    if len(bad):
        raise CalibrationError(f"group_column {column!r} takes {int(bad.iloc[0])} values in conversation "
                               f"{bad.index[0]!r} ({len(bad)} conversation(s) with several); every turn of a "
                               "conversation must have the same value (or none)")
    value = conv.astype(str).map(vals.drop_duplicates("c").set_index("c")["g"])
    return np.where(value.notna(), "g:" + value.fillna("").astype(str), "c:" + conv.astype(str)).astype(object)


#: penalties the vector head's ridge chooses among (leave-one-out within the training rows)
HEAD_ALPHAS = tuple(float(a) for a in np.logspace(-3, 4, 15))


def _head_inputs(turns: pd.DataFrame, rows: np.ndarray, cfg) -> np.ndarray:
    """``[c * r, r]`` (unit context and response vectors) of the labelled ``rows`` of ``turns``.

    Only the labelled conversations are encoded (a turn's context is its own conversation's).
    """
    from toolkit.quality._vectorised import context_response_vectors

    conv = turns["conversation_id"].astype(str).to_numpy()  # labels are matched on it: always there
    keep = np.flatnonzero(np.isin(conv, np.unique(conv[rows])))
    c, r = context_response_vectors(turns.iloc[keep], cfg)
    at = np.searchsorted(keep, rows)
    c, r = c[at].astype(np.float64), r[at].astype(np.float64)
    return np.hstack([c * r, r])


@dataclass
class _Head:
    """A ridge fit of the vector head: ``coef_``, ``intercept_``, the chosen ``alpha_``."""

    coef_: np.ndarray
    intercept_: float
    alpha_: float

    def predict(self, V: np.ndarray) -> np.ndarray:
        return V @ self.coef_ + self.intercept_


def _fit_head(V: np.ndarray, y: np.ndarray) -> _Head:
    """Ridge on ``V`` with the penalty of :data:`HEAD_ALPHAS` that has the least leave-one-out error.

    What scikit-learn's ``RidgeCV(alphas=HEAD_ALPHAS)`` does (the tests check the same penalty and
    coefficients), but from one eigendecomposition of the 768 x 768 ``V'V`` instead of an SVD of
    the n x 768 ``V``: on the 7,941 turns of the 14-day sample (one thread, the machine shared),
    1.8-2.3 s against 9.4-17.6 s for ``RidgeCV`` in the same runs, and a calibration fits
    ``folds + 1`` heads.
    """
    mu, ym = V.mean(axis=0), float(y.mean())
    Xc, yc = V - mu, y - ym
    lam, Q = np.linalg.eigh(Xc.T @ Xc)
    lam = np.clip(lam, 0.0, None)
    P = Xc @ Q                    # the rows in the eigenbasis
    b = P.T @ yc
    best = None
    for alpha in HEAD_ALPHAS:
        w = b / (lam + alpha)
        hat = (P * P) @ (1.0 / (lam + alpha))          # diagonal of the hat matrix
        loo = (yc - P @ w) / np.maximum(1.0 - hat - 1.0 / len(y), 1e-12)
        err = float(np.mean(loo ** 2))
        if best is None or err < best[0]:
            best = (err, alpha, Q @ w)
    _, alpha, coef = best
    return _Head(coef_=coef, intercept_=ym - float(mu @ coef), alpha_=float(alpha))


def _add_head(model: QualityModel, V: np.ndarray, y: np.ndarray, scores: np.ndarray) -> QualityModel:
    """``model`` plus a vector head fitted on what its ``scores`` leave of the targets ``y``."""
    import dataclasses

    from toolkit.quality.model import quantile_table

    ridge = _fit_head(V, y - scores)
    d = V.shape[1] // 2
    head = (tuple(float(x) for x in ridge.coef_[:d]), tuple(float(x) for x in ridge.coef_[d:]))
    meta = dict(model.meta, head_alpha=float(ridge.alpha_), description=(
        "refit on the user's labels: ridge on the standardised features, plus a vector head (ridge on the "
        "unit MiniLM context x response and response vectors, fitted to what the features leave, its "
        "penalty by leave-one-out); target: normal scores of the ratings"))
    # the head's output enters the linear score as it is: mean 0, scale 1, coefficient 1
    return dataclasses.replace(
        model, features=model.features + ("vector_head",), mean=model.mean + (0.0,), scale=model.scale + (1.0,),
        coef=model.coef + (1.0,), head=head, mode="full", meta=meta,
        quantiles=tuple(float(x) for x in quantile_table(scores + V @ ridge.coef_)))


def calibrate(log, labels, *, mode: str = "full", base_model=None, folds: int = 5, alpha: float = 10.0,
              n_boot: int = 500, seed: int = 0, config=None, vectors: bool = False,
              group_column: str | None = None) -> CalibrationResult:
    """Refit the quality model on ``labels`` and compare it with the shipped one.

    Parameters
    ----------
    log : ConversationLog or DataFrame
        The turns the labels refer to (``conversation_id``, ``turn``, ``user_input``,
        ``bot_response``).
    labels : DataFrame or path
        Human ratings; anything :func:`toolkit.labels.read_labels` reads (turn labels are used;
        conversation-level labels, with an empty turn, are left out and counted in ``notes``).
    mode : {"full", "fast"}
        Which shipped model to compare with; the refit weighs every feature of that mode
        (:data:`~toolkit.quality.model.FEATURES_FULL` or ``FEATURES_FAST``).
    base_model : QualityModel or path, optional
        Compare with (and refit the features of) this model instead of the shipped one.
    folds : int
        Cross-validation folds over conversations (2..20, at most the number of conversations).
    alpha : float
        Ridge penalty (as in :func:`toolkit.quality.model.fit_model`; the vector head chooses its own).
    n_boot : int
        Bootstrap resamples of conversations for the intervals (0..10,000).
    seed : int
        Seed of the fold assignment and the bootstrap.
    vectors : bool
        Add to the features' refit a vector head on the MiniLM vectors, fitted to what that
        refit leaves of the ratings (module docstring); needs the sentence model (full mode).
    group_column : str, optional
        A column of the log whose value keeps conversations together: every labelled turn with
        the same value falls in the same fold and bootstrap resample (e.g. ``user_id``, so that
        no user is both fitted and tested on; or the context id of several candidate answers to
        one context logged as separate conversations). Default: each conversation alone; so is a
        conversation whose value is missing. A conversation with two values is an error.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    CalibrationError
        Fewer than :data:`MIN_LABELS` labelled turns matching the log, fewer conversations than
        folds, ratings that do not vary, or settings out of range.

    Examples
    --------
    >>> import toolkit, pandas as pd
    >>> turns = toolkit.load_sample().turns.head(200)
    >>> labels = turns[["conversation_id", "turn"]].assign(rating=turns["bot_response"].str.len())
    >>> res = calibrate(turns, labels, mode="fast", folds=2, n_boot=0)
    >>> res.refit["spearman"] > res.shipped["spearman"], res.model.mode
    (True, 'fast')
    """
    from toolkit.labels import label_means, read_labels
    from toolkit.quality.config import _as_turns, _config
    from toolkit.quality.score import quality_features

    folds, n_boot = _whole(folds, "folds", 2, 20), _whole(n_boot, "n_boot", 0, 10_000)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.number)) or not (
            np.isfinite(alpha) and alpha >= 0):
        raise CalibrationError(f"alpha must be a finite number >= 0, got {alpha!r}")
    if vectors and mode == "fast":
        raise CalibrationError("vectors=True refits a head on the sentence model's vectors; it cannot "
                               "be combined with the fast mode (no sentence model)")
    turns = _as_turns(log)
    base = load_model(base_model) if base_model is not None else load_model(mode)
    base_name = "custom" if base_model is not None else mode
    lab = read_labels(labels, log=turns)
    means = label_means(lab)
    notes = []
    n_conv_labels = int(means["turn"].isna().sum())
    if n_conv_labels:
        notes.append(f"{n_conv_labels} conversation-level label(s) (no turn) left out")
    means = means[means["turn"].notna()]
    key = pd.DataFrame({"conversation_id": turns["conversation_id"].astype(str).to_numpy(),
                        "turn": pd.to_numeric(turns["turn"]).astype("Int64").to_numpy(),
                        "_row": np.arange(len(turns))})
    m = means.assign(conversation_id=means["conversation_id"].astype(str)).merge(
        key, on=["conversation_id", "turn"], how="inner")
    if len(m) < MIN_LABELS:
        raise CalibrationError(f"labels: only {len(m)} labelled turns match the log; a refit needs at least "
                               f"{MIN_LABELS}")
    y_raw = m["rating"].to_numpy(dtype=float)
    if np.unique(y_raw).size < 2:
        raise CalibrationError("labels: every rating is the same; nothing to fit")
    groups = m["conversation_id"].to_numpy()
    n_conv = int(pd.unique(groups).size)
    if group_column is not None:
        if group_column not in turns.columns:
            raise CalibrationError(f"group_column {group_column!r} is not a column of the log "
                                   f"(columns: {list(turns.columns)[:12]})")
        groups = _group_keys(turns, group_column, m["conversation_id"])
    n_groups = int(pd.unique(groups).size)
    if n_groups < folds:
        what = f"groups of {group_column!r}" if group_column is not None else "conversations"
        raise CalibrationError(f"labels cover {n_groups} {what}, fewer than folds={folds}")
    X_all = quality_features(turns, _config(config), embeddings=base.needs_embeddings, head=base.head_array())
    X = X_all.iloc[m["_row"].to_numpy()].reset_index(drop=True)
    shipped_q = base.quality(X)
    if vectors:
        V = _head_inputs(turns, m["_row"].to_numpy(), _config(config))
    # the refit may weigh every feature of its mode, not only those the shipped model kept
    feats = FEATURES_FULL if base.needs_embeddings else FEATURES_FAST
    fit_mode = "full" if base.needs_embeddings else "fast"
    y = normal_scores(y_raw)
    # folds over conversations
    rng = np.random.default_rng(seed)
    conv_ids = pd.unique(groups)
    fold_of = dict(zip(conv_ids, rng.permutation(np.arange(len(conv_ids)) % folds)))
    fold = np.array([fold_of[g] for g in groups])
    smallest = int(min((fold != k).sum() for k in range(folds)))
    if smallest < MIN_LABELS:
        raise CalibrationError(f"folds: one training fold has only {smallest} labelled turns (at least "
                               f"{MIN_LABELS} needed): the groups are too uneven; use fewer folds or "
                               "another group_column")
    oof = np.empty(len(y))
    for k in range(folds):
        test = fold == k
        fm = fit_model(X[~test], y[~test], features=feats, alpha=alpha, mode=fit_mode)
        oof[test] = fm.score(X[test])
        if vectors:  # the head learns what the features' refit leaves
            oof[test] += _fit_head(V[~test], y[~test] - fm.score(X[~test])).predict(V[test])

    def stats(score):
        est = _rho(score, y_raw)
        if n_boot:
            reps = _boot(groups, lambda i: _rho(score[i], y_raw[i]), n_boot, seed)
            lo, hi = np.nanpercentile(reps, [2.5, 97.5])
        else:
            lo = hi = float("nan")
        return {"spearman": round(est, 4), "ci_low": round(float(lo), 4), "ci_high": round(float(hi), 4)}

    s_ship, s_refit = stats(shipped_q), stats(oof)
    diff = s_refit["spearman"] - s_ship["spearman"]
    if n_boot:
        reps = _boot(groups, lambda i: _rho(oof[i], y_raw[i]) - _rho(shipped_q[i], y_raw[i]), n_boot, seed + 1)
        dlo, dhi = np.nanpercentile(reps, [2.5, 97.5])
    else:
        dlo = dhi = float("nan")
    difference = {"spearman": round(diff, 4), "ci_low": round(float(dlo), 4), "ci_high": round(float(dhi), 4)}
    beats = bool(diff > 0 and np.isfinite(dlo) and dlo > 0)
    meta: dict[str, Any] = {
        "description": "refit of the shipped quality model's features on the user's labels "
                       "(ridge on standardised features, target: normal scores of the ratings)",
        "fit_date": dt.date.today().isoformat(), "base": base_name, "n_labels": int(len(y)),
        "n_conversations": n_conv, "folds": int(folds), "alpha": float(alpha),
        "cv_spearman": s_refit, "shipped_spearman": s_ship, "difference": difference,
        "beats_shipped": beats,
    }
    final = fit_model(X, y, features=feats, alpha=alpha, mode=fit_mode, meta=meta)
    if vectors:
        final = _add_head(final, V, y, final.score(X))
    return CalibrationResult(model=final, shipped=s_ship, refit=s_refit, difference=difference,
                             n_labels=int(len(y)), n_conversations=n_conv, folds=int(folds),
                             base=base_name, beats_shipped=beats, notes=notes)
