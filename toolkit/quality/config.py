"""Settings of the quality score: components, weights, level cut-offs, the length band.

:class:`QualityConfig` holds every setting (validated on creation); :class:`LengthFit` is the
word-count band of a well-sized answer. ``_config`` and ``_check_cutoffs`` turn what callers pass
(None, a dict, a config) into checked settings for the other modules.

Examples
--------
>>> QualityConfig(cutoffs={"excellent": 0.9, "good": 0.8, "average": 0.5, "poor": 0.3}).cutoffs["good"]
0.8
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

__all__ = ["QualityConfig", "LengthFit", "LEVELS", "COMPONENTS", "SCORE_COLUMNS"]

#: quality levels from worst to best (an ordered categorical)
LEVELS = ("unacceptable", "poor", "average", "good", "excellent")
COMPONENTS = ("relevance", "sentiment", "coherence", "length_fit")
SCORE_COLUMNS = ("relevance", "sentiment", "coherence", "length_fit", "quality", "level")

_DEFAULT_WEIGHTS = {"relevance": 0.5, "coherence": 0.25, "length_fit": 0.15, "sentiment": 0.1}
#: cut-offs of the hand-weighted composite quality (``QualityConfig(model="composite")``)
_COMPOSITE_CUTOFFS = {"excellent": 0.85, "good": 0.7, "average": 0.5, "poor": 0.3}
#: cut-offs of the fitted model's quality (a percentile among public human-rated responses):
#: the top 20 % are excellent, the next 30 % good, then 25 % average, 15 % poor, 10 % unacceptable
_FITTED_CUTOFFS = {"excellent": 0.8, "good": 0.5, "average": 0.25, "poor": 0.1}
#: cut-offs used when none are given: the default model's (the fitted one)
_DEFAULT_CUTOFFS = _FITTED_CUTOFFS


@dataclass(frozen=True)
class LengthFit:
    """Word-count band of a well-sized answer, relative to the question's length.

    An answer of ``n`` words to a message of ``q`` words fits (score 1) between
    ``lo = max(min_words, min_ratio * q)`` and ``hi = max(max_words, max_ratio * q)``; it scores
    ``n / lo`` below and ``hi / n`` above.

    Examples
    --------
    >>> LengthFit().score(np.array([2, 20, 600]), np.array([5, 5, 5])).round(3).tolist()
    [0.25, 1.0, 0.25]
    """

    min_words: float = 8.0
    max_words: float = 150.0
    min_ratio: float = 0.5
    max_ratio: float = 10.0

    def __post_init__(self):
        for name in ("min_words", "max_words", "min_ratio", "max_ratio"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"LengthFit.{name} must be a finite number >= 0, got {v!r}")
        if self.min_words <= 0:
            raise ValueError(f"LengthFit.min_words must be > 0, got {self.min_words!r}")
        if self.max_words < self.min_words:
            raise ValueError(
                f"LengthFit.max_words ({self.max_words}) must be >= min_words ({self.min_words})"
            )

    def score(self, n_words: np.ndarray, q_words: np.ndarray) -> np.ndarray:
        """Length fit of answers of ``n_words`` words to messages of ``q_words`` words."""
        n = np.asarray(n_words, dtype=float)
        q = np.asarray(q_words, dtype=float)
        lo = np.maximum(self.min_words, self.min_ratio * q)
        hi = np.maximum(self.max_words, self.max_ratio * q)
        hi = np.maximum(hi, lo)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(n < lo, n / lo, np.where(n > hi, hi / np.maximum(n, 1), 1.0))
        return np.clip(out, 0.0, 1.0)


def _check_weights(weights: Mapping[str, float]) -> dict[str, float]:
    unknown = set(weights) - set(COMPONENTS)
    if unknown:
        raise ValueError(
            f"quality weights: unknown component(s) {sorted(unknown)}; use {list(COMPONENTS)}"
        )
    out = {}
    for k, v in weights.items():
        if not (isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(v) and v >= 0):
            raise ValueError(f"quality weights: {k} must be a finite number >= 0, got {v!r}")
        out[k] = float(v)
    if sum(out.values()) <= 0:
        raise ValueError("quality weights: at least one weight must be > 0")
    return out


def _check_cutoffs(cutoffs: Mapping[str, float]) -> dict[str, float]:
    need = ("excellent", "good", "average", "poor")
    missing = [k for k in need if k not in cutoffs]
    extra = set(cutoffs) - set(need)
    if missing or extra:
        raise ValueError(
            f"level cut-offs need exactly {list(need)}; missing {missing}, unknown {sorted(extra)}"
        )
    vals = [float(cutoffs[k]) for k in need]
    if any(not (0.0 <= v <= 1.0) for v in vals):
        raise ValueError(f"level cut-offs must lie in [0, 1], got {dict(zip(need, vals))}")
    if any(a < b for a, b in zip(vals, vals[1:])):
        raise ValueError(
            "level cut-offs must satisfy excellent >= good >= average >= poor, got "
            f"{dict(zip(need, vals))}"
        )
    return dict(zip(need, vals))


@dataclass(frozen=True)
class QualityConfig:
    """Settings of the quality score.

    Parameters
    ----------
    weights : dict
        Weight of each component in the composite (normalised to sum to 1); components with
        weight 0 are still computed and reported.
    cutoffs : dict, optional
        Lowest quality of each level: ``excellent``, ``good``, ``average``, ``poor`` (below
        ``poor`` is ``unacceptable``). Default for the composite: 0.85, 0.7, 0.5, 0.3. For
        ``model="fitted"``, whose quality is the share of public human-rated responses it ranks
        below this one: 0.8, 0.5, 0.25, 0.1 (the top fifth excellent, above the median good,
        the bottom tenth unacceptable).
    relevance_saturation : float, optional
        Cosine at which the relevance component of the composite reaches 1; default 0.25 for
        the TF-IDF backend and 0.5 for embeddings.
    relevance_backend : {"tfidf", "embeddings"} or callable
        ``"tfidf"`` (default): corpus TF-IDF. ``"embeddings"``: all-MiniLM-L6-v2 sentence
        embeddings on onnxruntime (:mod:`toolkit.embeddings`: default install, CPU, offline).
        Measured separation (AUC of relevance, good vs bad answers; ``python benchmarks/run.py
        embeddings``): hand-written messy customer messages with their intent's answer vs
        another intent's answer, 0.95 with embeddings vs 0.72 with TF-IDF; the template sample's
        planted good vs off-topic answers, 0.92 vs 0.93 (its answers reuse the question's words,
        which TF-IDF rewards).
        A callable taking a list of texts and returning an array of vectors (one row per text)
        plugs in any other model.
        Context weighting and the cosine are the same for every backend.
    holding_credit : float
        Credit, for the relevance it lacks, given to an unrelated response without content of
        its own (a holding or clarifying answer); it shrinks linearly to 0 at
        ``holding_content_words`` content words (an answer about something else).
    holding_content_words : float
        Content words (not stop words) at which the holding credit reaches 0.
    context_decay : float
        Weight of the user message ``k`` turns back is ``context_decay ** k`` (0: current
        message only).
    stop_words : bool
        Drop English stop words (:data:`toolkit.text.STOP_WORDS`) before TF-IDF.
    stem : bool
        Porter-stem tokens before TF-IDF (imports NLTK, about 3 s the first time).
    length : LengthFit
        The length-fit band.
    check_case : bool
        Whether coherence checks that sentences start with a capital (turn off for bots that
        write in lower case on purpose).
    model : {"fitted", "composite"}
        ``"fitted"`` (default): ``quality`` from the small model fitted on public human-rated
        dialogue data (:mod:`toolkit.quality.model`; ``python benchmarks/run.py quality_human``
        and the README give its agreement with people), i.e. the share of public rated responses
        it ranks below this one. ``"composite"``: the earlier hand-weighted composite of the four
        components (``weights``, ``relevance_saturation``, ``holding_credit``), kept for
        comparison and for logs scored before.
    mode : {"full", "fast"}
        Which shipped fitted model: ``"full"`` (default) uses sentence-embedding relevance
        (all-MiniLM-L6-v2 on onnxruntime, run once per distinct normalised sentence of the log,
        :mod:`toolkit.quality.pooled`, and cached on disk; 35-41 CPU-seconds for the bundled
        37,000-turn sample cold, about 6 ms per distinct sentence, nothing for a cached one);
        ``"fast"`` has no sentence model (TF-IDF only, about 10x less CPU; for logs of millions of turns with
        many distinct sentences), and agrees less with people. Only with ``model="fitted"`` and no
        ``quality_model``.
    quality_model : str or Path or QualityModel, optional
        A model file written by ``toolkit quality calibrate`` (or a
        :class:`~toolkit.quality.model.QualityModel`) used instead of the shipped one; implies
        ``model="fitted"``.

    Examples
    --------
    >>> QualityConfig(weights={"relevance": 1, "coherence": 1}).normalised_weights()
    {'relevance': 0.5, 'coherence': 0.5, 'sentiment': 0.0, 'length_fit': 0.0}
    """

    weights: Mapping[str, float] = field(default_factory=lambda: dict(_DEFAULT_WEIGHTS))
    cutoffs: Mapping[str, float] | None = None
    relevance_saturation: float | None = None
    relevance_backend: Any = "tfidf"
    holding_credit: float = 0.5
    holding_content_words: float = 10.0
    context_decay: float = 0.5
    stop_words: bool = True
    stem: bool = False
    length: LengthFit = field(default_factory=LengthFit)
    check_case: bool = True
    model: str = "fitted"
    mode: str = "full"
    quality_model: Any = None

    def __post_init__(self):
        if self.model not in ("fitted", "composite"):
            raise ValueError(f"QualityConfig.model must be 'fitted' or 'composite', got {self.model!r}")
        if self.quality_model is not None and self.model == "composite":
            raise ValueError("QualityConfig: quality_model is a fitted model; it cannot go with model='composite'")
        if self.mode not in ("full", "fast"):
            raise ValueError(f"QualityConfig.mode must be 'full' or 'fast', got {self.mode!r}")
        object.__setattr__(self, "weights", _check_weights(self.weights))
        if self.cutoffs is None:
            object.__setattr__(self, "cutoffs", dict(_COMPOSITE_CUTOFFS if self.model == "composite"
                                                     else _FITTED_CUTOFFS))
        object.__setattr__(self, "cutoffs", _check_cutoffs(self.cutoffs))
        backend = self.relevance_backend
        if not (callable(backend) or backend in ("tfidf", "embeddings")):
            raise ValueError(
                f"relevance_backend must be 'tfidf', 'embeddings' or a callable, got {backend!r}"
            )
        if self.relevance_saturation is None:
            object.__setattr__(self, "relevance_saturation", 0.25 if backend == "tfidf" else 0.5)
        if not (0 < float(self.relevance_saturation) <= 1):
            raise ValueError(
                f"relevance_saturation must be in (0, 1], got {self.relevance_saturation!r}"
            )
        if not (0 <= float(self.holding_credit) <= 1):
            raise ValueError(f"holding_credit must be in [0, 1], got {self.holding_credit!r}")
        if not (float(self.holding_content_words) > 0):
            raise ValueError(f"holding_content_words must be > 0, got {self.holding_content_words!r}")
        if not (0 <= float(self.context_decay) <= 1):
            raise ValueError(f"context_decay must be in [0, 1], got {self.context_decay!r}")
        if isinstance(self.length, Mapping):
            object.__setattr__(self, "length", LengthFit(**self.length))

    def normalised_weights(self) -> dict[str, float]:
        """Weights scaled to sum to 1, with every component present."""
        total = sum(self.weights.values())
        out = {k: v / total for k, v in self.weights.items()}
        for k in COMPONENTS:
            out.setdefault(k, 0.0)
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "QualityConfig":
        """Build from a plain dict (e.g. notebook parameters or a JSON/YAML file)."""
        d = dict(d or {})
        unknown = set(d) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"QualityConfig: unknown setting(s) {sorted(unknown)}")
        return cls(**d)


def _config(config) -> QualityConfig:
    if config is None:
        return QualityConfig()
    if isinstance(config, QualityConfig):
        return config
    if isinstance(config, Mapping):
        return QualityConfig.from_dict(config)
    raise TypeError(f"config must be a QualityConfig or a dict, got {type(config).__name__}")


def _as_turns(data) -> pd.DataFrame:
    """The turns frame of a ConversationLog or a turns DataFrame."""
    from toolkit.log import ConversationLog

    if isinstance(data, ConversationLog):
        return data.turns
    if isinstance(data, pd.DataFrame):
        return data
    raise TypeError(f"expected a ConversationLog or a turns DataFrame, got {type(data).__name__}")
