"""Scoring entry points: relevance, the composite and its parts, score_turns/score_log/score_texts.

Examples
--------
>>> score_texts(["where is my order?"], ["It ships today."])["level"].tolist()
['good']
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.quality._vectorised import _compute
from toolkit.quality.config import COMPONENTS, SCORE_COLUMNS, QualityConfig, _as_turns, _config
from toolkit.quality.levels import assign_levels
from toolkit.quality.reaction import reaction

__all__ = ["relevance", "composite_parts", "composite_quality", "score_turns", "score_log", "score_texts",
           "fit_relevance_idf", "quality_features"]


def relevance(
    turns,
    *,
    context_decay: float = 0.5,
    stop_words: bool = True,
    stem: bool = False,
    n_jobs: int | None = None,
    chunk_size: int = 2500,
) -> np.ndarray:
    """TF-IDF cosine between each response and the user's side of its conversation so far.

    Parameters
    ----------
    turns : DataFrame or ConversationLog
        Needs ``user_input`` and ``bot_response``; ``conversation_id`` and ``turn`` give the
        conversation context (without them each row is its own conversation).
    context_decay : float
        Weight ``context_decay ** k`` of the user message ``k`` turns back; 0 = current message.
    stop_words, stem : bool
        Drop English stop words; Porter-stem tokens (see :class:`QualityConfig`).
    n_jobs : int, optional
        Worker processes; default: 2 (on a multi-core machine) for 40,000 rows or more, else 1.
        Results do not depend on it.
    chunk_size : int
        Rows per batch (whole conversations are kept together); results do not depend on it.

    Returns
    -------
    numpy.ndarray
        Cosines in [0, 1], in the rows' order.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"user_input": ["reset my password", "opening hours?"],
    ...                   "bot_response": ["Use the password reset link.", "We ship worldwide."]})
    >>> relevance(t).round(3).tolist()
    [0.619, 0.0]
    """
    turns = _as_turns(turns)
    cfg = QualityConfig(context_decay=context_decay, stop_words=stop_words, stem=stem)
    return _compute(turns, cfg, want_text=False, n_jobs=n_jobs, chunk_size=chunk_size, cache=False)["relevance"]


def composite_parts(
    components: pd.DataFrame | Mapping[str, np.ndarray], config=None, *, content_words=None
) -> pd.DataFrame:
    """The four terms ``c_k`` in [0, 1] that the composite weighs (see the module docstring).

    ``quality = sum_k w_k * c_k``, so ``w_k * (1 - c_k)`` is what component ``k`` costs.

    Examples
    --------
    >>> composite_parts({"relevance": [0.1], "sentiment": [-0.25], "coherence": [1.0],
    ...                  "length_fit": [0.5]}).round(3).values.tolist()
    [[0.4, 0.75, 1.0, 0.5]]
    """
    cfg = _config(config)
    get = (lambda k: np.asarray(components[k], dtype=float))
    rel = np.minimum(1.0, np.clip(get("relevance"), 0.0, None) / cfg.relevance_saturation)
    if content_words is not None and cfg.holding_credit > 0:
        cw = np.asarray(content_words, dtype=float)
        rel = rel + (1.0 - rel) * cfg.holding_credit * np.clip(1.0 - cw / cfg.holding_content_words, 0.0, 1.0)
    return pd.DataFrame({
        "relevance": rel,
        "sentiment": np.clip(1.0 + get("sentiment"), 0.0, 1.0),
        "coherence": np.clip(get("coherence"), 0.0, 1.0),
        "length_fit": np.clip(get("length_fit"), 0.0, 1.0),
    })


def composite_quality(
    components: pd.DataFrame | Mapping[str, np.ndarray], config=None, *, content_words=None
) -> np.ndarray:
    """Weighted composite in [0, 1] of the components (see the module docstring).

    Parameters
    ----------
    components : DataFrame or dict
        ``relevance``, ``sentiment``, ``coherence``, ``length_fit``.
    config : QualityConfig or dict, optional
    content_words : array, optional
        Content words of each response (:func:`content_words`), for the holding-answer credit;
        without it no credit is given.

    Examples
    --------
    >>> composite_quality({"relevance": [0.3], "sentiment": [0.0], "coherence": [1.0],
    ...                    "length_fit": [1.0]}).tolist()
    [1.0]
    >>> parts = {"relevance": [0.0, 0.0], "sentiment": [0.0, 0.0], "coherence": [1.0, 1.0],
    ...          "length_fit": [1.0, 1.0]}
    >>> composite_quality(parts, content_words=[3, 15]).round(3).tolist()   # holding vs off-topic
    [0.675, 0.5]
    """
    cfg = _config(config)
    w = cfg.normalised_weights()
    parts = composite_parts(components, cfg, content_words=content_words)
    q = sum(w[k] * parts[k].to_numpy() for k in COMPONENTS)
    return np.clip(q, 0.0, 1.0)


def score_turns(
    data,
    config: QualityConfig | Mapping | None = None,
    *,
    n_jobs: int | None = None,
    chunk_size: int = 2500,
    cache: bool = True,
    idf=None,
    engine: str = "pandas",
) -> pd.DataFrame:
    """Score every response of a log: a copy of the turns with the score columns added.

    Parameters
    ----------
    data : ConversationLog or DataFrame
        Turns with ``user_input`` and ``bot_response`` (and ideally ``conversation_id`` and
        ``turn`` for the conversation context of relevance).
    config : QualityConfig or dict, optional
        Weights, level cut-offs, relevance context and length band.
    n_jobs : int, optional
        Worker processes (default: 2 on a multi-core machine for 40,000 rows or more). The
        scores are identical whatever ``n_jobs`` and ``chunk_size``.
    chunk_size : int
        Rows per batch.
    cache : bool
        Keep a per-process cache of sentiment and coherence by text (repeated answers are
        scored once).
    idf : toolkit.text.HashedTfidf, optional
        A fitted relevance TF-IDF (:func:`fit_relevance_idf`) used instead of fitting one on
        ``data``: ``score_turns(t, idf=fit_relevance_idf(t))`` equals ``score_turns(t)``.
    engine : {"pandas", "dask"}
        ``"dask"``: ``data`` is a :class:`toolkit.dask_engine.read.DaskLog` (or a path for
        :func:`toolkit.dask_engine.read.read_log`); the TF-IDF is fitted once over all partitions and
        broadcast, every partition (whole conversations) is scored on the cluster, and a lazy Dask
        DataFrame is returned, equal to the pandas engine's result row for row.

    Returns
    -------
    DataFrame
        The turns with ``relevance``, ``sentiment``, ``coherence``, ``length_fit``, ``quality``
        (float64), ``level`` (ordered categorical) and ``reaction`` (float64, NaN for the last
        turn of each conversation; :mod:`toolkit.quality.reaction`) added (replacing existing ones).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"user_input": ["where is my order #123?"],
    ...                   "bot_response": ["Order #123 shipped yesterday and arrives on Friday."]})
    >>> s = score_turns(t)
    >>> s[["relevance", "coherence", "length_fit"]].round(3).iloc[0].tolist()
    [0.449, 1.0, 1.0]
    >>> "quality" in t.columns   # the input is not modified
    False
    """
    from toolkit.dask_engine.client import check_engine

    cfg = _config(config)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if check_engine(engine) == "dask":
        from toolkit.dask_engine.score import score_dask

        return score_dask(data, cfg, score=score_turns, idf_options=_idf_options(cfg), idf=idf,
                          chunk_size=chunk_size)
    turns = _as_turns(data)
    model = _quality_model(cfg)
    want_emb = model is not None and model.needs_embeddings
    res = _compute(turns, cfg, want_text=True, n_jobs=n_jobs, chunk_size=chunk_size, cache=cache, idf=idf,
                   want_emb=want_emb, head=model.head_array() if model is not None else None)
    out = turns.copy()
    out["relevance"] = res["relevance"]
    out["sentiment"] = res["sentiment"]
    out["coherence"] = res["coherence"]
    out["length_fit"] = cfg.length.score(res["resp_words"], res["input_words"])
    if model is None:
        out["quality"] = composite_quality(out, cfg, content_words=res["content_words"])
    else:
        q = model.quality(_features(turns, out, res))
        # an empty or missing answer is below every rated response the model was fitted on (none
        # was empty, and the features alone can put it high: 0.75 with the fast model)
        from toolkit.text import as_text_list

        empty = np.fromiter((not t.strip() for t in as_text_list(turns["bot_response"], "turns.bot_response")),
                            dtype=bool, count=len(turns))
        out["quality"] = np.where(empty, 0.0, q)
    out["level"] = assign_levels(out["quality"].to_numpy(), cfg.cutoffs)
    out["reaction"] = reaction(out)  # the user's next message (toolkit.quality.reaction)
    return out


def _quality_model(cfg: QualityConfig):
    """The fitted model ``cfg`` asks for, or None for the hand-weighted composite."""
    if cfg.model == "composite":
        return None
    from toolkit.quality.model import load_model

    return load_model(cfg.quality_model if cfg.quality_model is not None else cfg.mode)


def _features(turns: pd.DataFrame, scored: pd.DataFrame, res: dict) -> pd.DataFrame:
    """Every model feature (:data:`toolkit.quality.model.FEATURE_DOCS`) of each row."""
    from toolkit.quality.model import add_interactions, text_features
    from toolkit.text import as_text_list

    words = np.asarray(res["resp_words"], dtype=float)
    content = np.asarray(res["content_words"], dtype=float)
    rel = np.asarray(res["relevance_tfidf"], dtype=float)
    X = pd.DataFrame({
        "relevance": rel,
        "sentiment": scored["sentiment"].to_numpy(dtype=float),
        "coherence": scored["coherence"].to_numpy(dtype=float),
        "length_fit": scored["length_fit"].to_numpy(dtype=float),
        "log_words": np.log1p(words),
        "specificity": np.asarray(res["specificity"], dtype=float),
        "content_share": np.where(words > 0, np.minimum(content / np.maximum(words, 1), 1.0), 0.0),
        "log_content": np.log1p(content),
    }, index=turns.index)
    for name in ("relevance_emb", "vector_head"):
        if name in res:
            X[name] = np.asarray(res[name], dtype=float)
    add_interactions(X)
    cues = text_features(as_text_list(turns["user_input"], "turns.user_input"),
                         as_text_list(turns["bot_response"], "turns.bot_response"))
    for c in cues.columns:
        X[c] = cues[c].to_numpy()
    return X


def quality_features(data, config: QualityConfig | Mapping | None = None, *, embeddings: bool = True,
                     n_jobs: int | None = None, chunk_size: int = 2500, idf=None, head=None) -> pd.DataFrame:
    """The features the fitted quality model uses, one row per turn (for fitting and inspection).

    ``head`` (a model's :meth:`~toolkit.quality.model.QualityModel.head_array`, with
    ``embeddings``) adds its ``vector_head`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"user_input": ["where is my order?"], "bot_response": ["It ships today."]})
    >>> sorted(quality_features(t, embeddings=False).columns)[:3]
    ['answers_question', 'asks_back', 'coherence']
    """
    cfg = _config(config)
    turns = _as_turns(data)
    res = _compute(turns, cfg, want_text=True, n_jobs=n_jobs, chunk_size=chunk_size, cache=True, idf=idf,
                   want_emb=embeddings, head=head if embeddings else None)
    comp = pd.DataFrame({"sentiment": res["sentiment"], "coherence": res["coherence"],
                         "length_fit": cfg.length.score(res["resp_words"], res["input_words"])},
                        index=turns.index)
    return _features(turns, comp, res)


def _idf_options(cfg: QualityConfig) -> dict:
    """The tokeniser settings of the relevance TF-IDF under ``cfg``."""
    from toolkit.text import STOP_WORDS

    return {"stop_words": STOP_WORDS if cfg.stop_words else None, "stem": bool(cfg.stem)}


def fit_relevance_idf(data, config: QualityConfig | Mapping | None = None):
    """The relevance TF-IDF that :func:`score_turns` fits on ``data``, as a reusable model.

    Fitted on every user message and response (each a document). Pass it as ``idf=`` to score
    other turns with the same weights (the Dask engine fits it over all partitions the same way).

    Examples
    --------
    >>> import toolkit
    >>> turns = toolkit.load_sample().turns.head(500)
    >>> model = fit_relevance_idf(turns)
    >>> model.n_docs
    1000
    >>> score_turns(turns, idf=model)["relevance"].equals(score_turns(turns)["relevance"])
    True
    """
    from toolkit.text import HashedTfidf, as_text_list, document_frequencies

    turns = _as_turns(data)
    opts = _idf_options(_config(config))
    texts = (as_text_list(turns["user_input"], "turns.user_input")
             + as_text_list(turns["bot_response"], "turns.bot_response"))
    hashes, df = document_frequencies(texts, **opts)
    return HashedTfidf.from_document_frequencies(hashes, df, len(texts), **opts)


def score_log(log, config: QualityConfig | Mapping | None = None, **kwargs):
    """Score a :class:`~toolkit.log.ConversationLog`; returns a new log whose turns have scores.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> scored = score_log(generate_sample(seed=3, days=2).log)
    >>> set(SCORE_COLUMNS) <= set(scored.turns.columns)
    True
    """
    return log.with_turns(score_turns(log, config, **kwargs))


def score_texts(
    user_inputs: Sequence, responses: Sequence, config: QualityConfig | Mapping | None = None
) -> pd.DataFrame:
    """Score standalone (input, response) pairs, each its own conversation (e.g. an evaluator).

    The TF-IDF is fitted on the given pairs, so pass a batch rather than a single pair when you
    can: with one pair the IDF is flat and relevance becomes plain term-frequency cosine.

    Examples
    --------
    >>> score_texts(["how do I reset my password?"],
    ...             ["Click 'Forgot password' on the login page to get a reset link."])["level"].tolist()
    ['excellent']
    """
    from toolkit.text import as_text_list

    a = as_text_list(user_inputs, "user_inputs")
    b = as_text_list(responses, "responses")
    if len(a) != len(b):
        raise ValueError(f"score_texts: {len(a)} user inputs but {len(b)} responses")
    df = pd.DataFrame({"user_input": a, "bot_response": b})
    return score_turns(df, config).drop(columns=["user_input", "bot_response", "reaction"])
