"""The fitted quality model: features of each response and the small linear model over them.

``quality`` is a linear model on standardised features (ridge regression), fitted on public
human-rated dialogue data with each data set's ratings turned into normal scores of their ranks
(so that sets rated on different scales count alike), and mapped to [0, 1] by the empirical
distribution of its predictions on that training data: ``quality = 0.7`` means the model rates
the response above 70 % of the public rated responses it was fitted on. The parameters ship as
``toolkit/quality/model_full.json`` (with sentence-embedding relevance) and
``toolkit/quality/model_fast.json`` (without a sentence model), each with its data sources,
licences, fit date and leave-one-dataset-out figures; ``training/fit_quality.py`` refits them.

Features (all per response, vectorised; see :data:`FEATURE_DOCS`):

``relevance`` (TF-IDF cosine with the decayed user context), ``relevance_emb`` (the same with
all-MiniLM-L6-v2 vectors; full mode only), ``sentiment`` (VADER), ``coherence``, ``length_fit``,
``log_words`` (``ln(1 + words)``), ``specificity`` (mean IDF of the response's words, scaled to
[0, 1] by the largest IDF of the log), ``content_share`` (share of words that are not stop
words), ``log_content`` (``ln(1 + content words)``), ``echo`` (share of the response's words
that repeat the user's message), ``generic`` (a non-committal answer: "I don't know", "I'm not
sure", "sorry", "what do you mean", ...), ``asks_back`` (the response asks a question),
``answers_question`` (the user asked a question and the response is not a question back) and
``unrelated_content`` (``log_content * (1 - relevance)``: a long answer about something else).

Examples
--------
>>> m = load_model("fast")
>>> m.mode, "relevance" in m.features
('fast', True)
>>> X = pd.DataFrame({f: [0.0, 0.0] for f in m.features})
>>> q = m.quality(X)
>>> bool(((0 <= q) & (q <= 1)).all())
True
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = ["QualityModel", "load_model", "fit_model", "quantile_table", "normal_scores", "text_features", "add_interactions",
           "FEATURES_FULL",
           "FEATURES_FAST", "FEATURE_DOCS", "MODEL_FILES"]

FEATURE_DOCS = {
    "relevance": "TF-IDF cosine between the response and the decayed user context",
    "relevance_emb": "all-MiniLM-L6-v2 cosine between the response and the decayed user context",
    "sentiment": "VADER compound score of the response",
    "coherence": "reads as finished, well-formed prose (markup, repetition, capitals, ending)",
    "length_fit": "1 inside the word-count band, falling off outside",
    "log_words": "ln(1 + words of the response)",
    "specificity": "mean IDF of the response's words over the log, scaled to [0, 1]",
    "content_share": "share of the response's words that are not stop words",
    "log_content": "ln(1 + content words of the response)",
    "echo": "share of the response's distinct words found in the user's message",
    "generic": "non-committal answer cue (I don't know, not sure, sorry, what do you mean, ...)",
    "asks_back": "the response contains a question",
    "answers_question": "the user asked a question and the response is not a question back",
    "unrelated_content": "log_content * (1 - min(1, relevance / 0.25)): much content about something else",
    "unrelated_content_emb": "log_content * (1 - min(1, relevance_emb / 0.5)): the same with MiniLM relevance",
    "unrelated_specificity": "specificity * (1 - min(1, relevance / 0.25)): specific words about something else",
    "unrelated_specificity_emb": "specificity * (1 - min(1, relevance_emb / 0.5)): the same with MiniLM relevance",
    "unsupported_content": "min(30, content words) * (1 - min(1, relevance / 0.25)): content words of an answer "
                           "that shares no vocabulary with the context (an answer about something else)",
    "unsupported_content_emb": "unsupported_content * (1 - min(1, relevance_emb / 0.5)): unsupported by both "
                               "the vocabulary and the MiniLM meaning of the context",
    "vector_head": "a linear head on the MiniLM vectors (context x response and response), fitted on "
                   "the user's labels by toolkit quality calibrate --vectors (the model's head)",
}
FEATURES_FAST = ("relevance", "sentiment", "coherence", "length_fit", "log_words", "specificity",
                 "content_share", "log_content", "echo", "generic", "asks_back", "answers_question",
                 "unrelated_content", "unrelated_specificity", "unsupported_content")
FEATURES_FULL = FEATURES_FAST[:1] + ("relevance_emb",) + FEATURES_FAST[1:] + ("unrelated_content_emb",
                                                                            "unrelated_specificity_emb",
                                                                            "unsupported_content_emb")

_HERE = Path(__file__).resolve().parent
MODEL_FILES = {"full": _HERE / "model_full.json", "fast": _HERE / "model_fast.json"}

_GENERIC_RE = re.compile(
    r"\b(?:i\s*(?:do\s*n[o']?t|dont|don’t)\s+know|i\s*(?:'m|’m|am)\s+not\s+sure|not\s+sure|"
    r"no\s+idea|sorry|what\s+do\s+you\s+mean|i\s*(?:do\s*n[o']?t|dont|don’t)\s+understand|"
    r"can\s+you\s+(?:rephrase|repeat)|i\s+can(?:no|')t\s+(?:help|answer)|"
    r"i\s*(?:do\s*n[o']?t|dont|don’t)\s+have\s+(?:an?\s+)?(?:answer|information)|who\s+knows|"
    r"i\s+have\s+no\s+(?:idea|clue)|i\s+(?:'m|am)\s+(?:unable|not\s+able))\b",
    re.IGNORECASE,
)
_QUESTION_START = re.compile(
    r"^\s*(?:what|why|how|when|where|who|whom|which|whose|is|are|am|do|does|did|can|could|would|"
    r"will|should|shall|may|have|has|had|was|were)\b", re.IGNORECASE)
_WORD = re.compile(r"\w+")


def add_interactions(X: pd.DataFrame) -> pd.DataFrame:
    """Add the interaction features of :data:`FEATURE_DOCS` (``unrelated_*``, ``unsupported_*``)
    to ``X`` from its ``relevance``, ``specificity``, ``log_content`` and, when present,
    ``relevance_emb``; ``X`` is changed in place and returned (scoring and the refit script use
    this one definition).

    Examples
    --------
    >>> X = pd.DataFrame({"relevance": [0.0, 0.5], "specificity": [0.4, 0.4], "log_content": np.log1p([7, 7])})
    >>> add_interactions(X)[["unsupported_content", "unrelated_specificity"]].values.tolist()
    [[7.0, 0.4], [0.0, 0.0]]
    """
    off = 1.0 - np.minimum(1.0, X["relevance"] / 0.25)   # 1: no shared vocabulary, 0: a typical on-topic share
    content = np.minimum(np.rint(np.expm1(X["log_content"])), 30.0)
    X["unrelated_content"] = X["log_content"] * off
    X["unrelated_specificity"] = X["specificity"] * off
    X["unsupported_content"] = content * off
    if "relevance_emb" in X:
        off_emb = 1.0 - np.minimum(1.0, X["relevance_emb"] / 0.5)
        X["unrelated_content_emb"] = X["log_content"] * off_emb
        X["unrelated_specificity_emb"] = X["specificity"] * off_emb
        X["unsupported_content_emb"] = X["unsupported_content"] * off_emb
    return X


def text_features(user_inputs: Sequence[str], responses: Sequence[str]) -> pd.DataFrame:
    """The per-text cue features: ``echo``, ``generic``, ``asks_back``, ``answers_question``.

    Examples
    --------
    >>> text_features(["where is my order?", "hi"], ["I don't know.", "Hi! How can I help?"]).values.tolist()
    [[0.0, 1.0, 0.0, 1.0], [0.2, 0.0, 1.0, 0.0]]
    """
    u = pd.Series(list(user_inputs), dtype=object).fillna("").astype(str)
    r = pd.Series(list(responses), dtype=object).fillna("").astype(str)
    generic = r.str.contains(_GENERIC_RE).to_numpy(dtype=float)
    asks = r.str.contains("?", regex=False).to_numpy()
    user_q = (u.str.contains("?", regex=False) | u.str.contains(_QUESTION_START)).to_numpy()
    answers = (user_q & ~asks).astype(float)
    echo = np.zeros(len(r))
    ul = u.str.lower().to_numpy()
    rl = r.str.lower().to_numpy()
    cache: dict[tuple[str, str], float] = {}
    for i in range(len(rl)):
        key = (ul[i], rl[i])
        v = cache.get(key)
        if v is None:
            rw = set(_WORD.findall(rl[i]))
            v = len(rw & set(_WORD.findall(ul[i]))) / len(rw) if rw else 0.0
            cache[key] = v
        echo[i] = v
    return pd.DataFrame({"echo": echo, "generic": generic, "asks_back": asks.astype(float),
                         "answers_question": answers})


#: the largest absolute mean, coefficient, intercept or quantile (and scale) a model file may
#: hold, and the smallest scale: beyond them a score overflows (the shipped models' are below 40)
MAX_MAGNITUDE = 1e6
MIN_SCALE = 1e-9


@dataclass(frozen=True)
class QualityModel:
    """A fitted quality model: standardised linear score mapped to [0, 1] by a quantile table.

    Parameters
    ----------
    features : tuple of str
        Feature names, in the order of ``coef``.
    mean, scale, coef : tuple of float
        Standardisation (``(x - mean) / scale``) and the ridge coefficients.
    intercept : float
    quantiles : tuple of float
        Predicted scores at evenly spaced probabilities 0, 1/(k-1), ..., 1 on the training data;
        ``quality`` is the linear interpolation of a score's probability in it.
    mode : {"full", "fast"}
        ``"full"`` needs the sentence-embedding relevance; ``"fast"`` does not.
    meta : dict
        Sources, licences, fit date, cross-validated agreement (what the file says beside the weights).
    head : tuple of two tuples of float, optional
        The weights of a vector head (a refit on the user's labels,
        :func:`toolkit.quality.calibrate` with ``vectors=True``): feature ``vector_head`` of a
        response is ``sum(head[0] * c * r) + sum(head[1] * r)`` for the unit MiniLM vectors ``c`` of
        its decayed user context and ``r`` of the response, added to the linear score (mean 0,
        scale 1, coefficient 1). Needs ``"vector_head"`` among the features and ``mode="full"``.

    Examples
    --------
    >>> m = QualityModel(features=("relevance",), mean=(0.0,), scale=(1.0,), coef=(1.0,), intercept=0.0,
    ...                  quantiles=(-1.0, 0.0, 1.0))
    >>> m.quality(pd.DataFrame({"relevance": [-2.0, 0.0, 0.5, 3.0]})).tolist()
    [0.0, 0.5, 0.75, 1.0]
    """

    features: tuple
    mean: tuple
    scale: tuple
    coef: tuple
    intercept: float
    quantiles: tuple
    mode: str = "fast"
    meta: Mapping[str, Any] = field(default_factory=dict)
    head: tuple | None = None

    def __post_init__(self):
        n = len(self.features)
        for name in ("mean", "scale", "coef"):
            v = getattr(self, name)
            if len(v) != n or not all(isinstance(x, (int, float)) and math.isfinite(x) for x in v):
                raise ValueError(f"quality model: {name} must hold {n} finite numbers")
        if any(s <= 0 for s in self.scale):
            raise ValueError("quality model: every scale must be > 0")
        if not (isinstance(self.intercept, (int, float)) and math.isfinite(self.intercept)):
            raise ValueError(f"quality model: intercept must be a finite number, got {self.intercept!r}")
        q = np.asarray(self.quantiles, dtype=float)
        if q.size < 2 or not np.isfinite(q).all() or (q[1:] < q[:-1]).any():
            raise ValueError("quality model: quantiles must be >= 2 finite numbers, non-decreasing")
        # finite but huge numbers overflow in score() (inf - inf: NaN quality, no level)
        for name, values in (("mean", self.mean), ("coef", self.coef), ("intercept", [self.intercept]),
                             ("quantiles", self.quantiles)):
            if any(abs(x) > MAX_MAGNITUDE for x in values):
                raise ValueError(f"quality model: {name} must be within +/-{MAX_MAGNITUDE:g}")
        if any(not MIN_SCALE <= s <= MAX_MAGNITUDE for s in self.scale):
            raise ValueError(f"quality model: every scale must be within [{MIN_SCALE:g}, {MAX_MAGNITUDE:g}]")
        unknown = set(self.features) - set(FEATURE_DOCS)
        if unknown:
            raise ValueError(f"quality model: unknown feature(s) {sorted(unknown)}; known: {list(FEATURE_DOCS)}")
        if self.mode not in ("full", "fast"):
            raise ValueError(f"quality model: mode must be 'full' or 'fast', got {self.mode!r}")
        if self.head is not None:
            h = self.head
            if (not isinstance(h, (tuple, list)) or len(h) != 2 or not all(isinstance(v, (tuple, list)) for v in h)
                    or len(h[0]) != len(h[1]) or not len(h[0])
                    or not all(isinstance(x, (int, float)) and math.isfinite(x) for v in h for x in v)):
                raise ValueError("quality model: head must be two equally long, non-empty lists of finite numbers")
        if (self.head is None) != ("vector_head" not in self.features):
            raise ValueError("quality model: the feature vector_head and the head weights go together")
        if self.mode == "fast" and self.needs_embeddings:
            raise ValueError("quality model: a fast model cannot use relevance_emb or a vector head")

    @property
    def needs_embeddings(self) -> bool:
        """Whether scoring needs the sentence model."""
        return self.head is not None or any(f.endswith("_emb") for f in self.features)

    def head_array(self) -> np.ndarray | None:
        """The vector head as a ``(2, d)`` array (None without one)."""
        return None if self.head is None else np.array(self.head, dtype=float)

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """The linear score (in standard-normal units of the training ratings) of each row."""
        missing = [f for f in self.features if f not in X.columns]
        if missing:
            raise ValueError(f"quality model: features {missing} missing")
        A = X[list(self.features)].to_numpy(dtype=float)
        Z = (A - np.asarray(self.mean)) / np.asarray(self.scale)
        # element by element, not ``Z @ coef``: a BLAS product may fuse multiply-adds in some rows
        # and not others depending on their position, so a row's score would depend on the other
        # rows scored with it (a log scored whole vs partition by partition on Dask)
        out = np.full(Z.shape[0], float(self.intercept))
        for j, c in enumerate(np.asarray(self.coef, dtype=float)):
            out = out + Z[:, j] * c
        return out

    def quality(self, X: pd.DataFrame) -> np.ndarray:
        """Quality in [0, 1]: where each row's score falls among the training predictions."""
        q = np.asarray(self.quantiles, dtype=float)
        p = np.linspace(0.0, 1.0, q.size)
        s = self.score(X)
        # equal quantiles (ties) take the middle of their probabilities: np.interp on repeated
        # points returns the last one, the same from the other end returns the first; they agree
        # everywhere else
        out = 0.5 * (np.interp(s, q, p) - np.interp(-s, -q[::-1], -p[::-1]))
        return np.clip(out, 0.0, 1.0)

    def to_dict(self) -> dict:
        """A JSON-ready dict (the shipped file's content)."""
        out = {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
               "coef": list(self.coef), "intercept": self.intercept, "quantiles": list(self.quantiles),
               "mode": self.mode, "meta": dict(self.meta)}
        if self.head is not None:
            out["head"] = [list(v) for v in self.head]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "QualityModel":
        """Build from :meth:`to_dict`'s output (checks every field)."""
        need = ("features", "mean", "scale", "coef", "intercept", "quantiles")
        missing = [k for k in need if k not in d]
        if missing:
            raise ValueError(f"quality model: missing field(s) {missing}")
        return cls(features=tuple(d["features"]), mean=tuple(float(x) for x in d["mean"]),
                   scale=tuple(float(x) for x in d["scale"]), coef=tuple(float(x) for x in d["coef"]),
                   intercept=float(d["intercept"]), quantiles=tuple(float(x) for x in d["quantiles"]),
                   mode=str(d.get("mode", "full" if "relevance_emb" in d["features"] else "fast")),
                   meta=dict(d.get("meta", {})), head=_head_from(d.get("head")))

    def summary_table(self) -> pd.DataFrame:
        """Coefficient of each standardised feature, with what it measures.

        Examples
        --------
        >>> load_model("fast").summary_table().columns.tolist()
        ['feature', 'coef', 'mean', 'scale', 'meaning']
        """
        return pd.DataFrame({"feature": list(self.features), "coef": list(self.coef),
                             "mean": list(self.mean), "scale": list(self.scale),
                             "meaning": [FEATURE_DOCS[f] for f in self.features]})


def normal_scores(r) -> np.ndarray:
    """Normal scores ``Phi^-1((rank - 1/2) / n)`` of the ranks of ``r`` (ties share a rank).

    Examples
    --------
    >>> normal_scores([1, 5, 3]).round(3).tolist()
    [-0.967, 0.967, 0.0]
    """
    from scipy.stats import norm, rankdata

    r = np.asarray(r, dtype=float)
    return norm.ppf((rankdata(r) - 0.5) / len(r))


def quantile_table(s, weights=None, n_quantiles: int = 101) -> np.ndarray:
    """The table :meth:`QualityModel.quality` maps scores through: weighted quantiles of ``s``.

    Examples
    --------
    >>> quantile_table([3.0, 1.0, 2.0], n_quantiles=3).tolist()
    [1.0, 2.0, 3.0]
    """
    s = np.asarray(s, dtype=float)
    w = np.ones(s.size) if weights is None else np.asarray(weights, dtype=float)
    order = np.argsort(s, kind="stable")
    cw = (np.cumsum(w[order]) - w[order] / 2) / w.sum()
    return np.maximum.accumulate(np.interp(np.linspace(0, 1, int(n_quantiles)), cw, s[order]))


def fit_model(X: pd.DataFrame, y, *, features: Sequence[str], alpha: float = 10.0, weights=None,
              mode: str | None = None, n_quantiles: int = 101, meta: Mapping | None = None,
              max_coef: Mapping[str, float] | None = None) -> QualityModel:
    """Fit a :class:`QualityModel`: ridge on standardised ``features`` of ``X`` against ``y``.

    Parameters
    ----------
    X : DataFrame
        Feature columns (:func:`toolkit.quality.quality_features`).
    y : array
        Target, e.g. :func:`normal_scores` of human ratings.
    features : sequence of str
        Which columns to use.
    alpha : float
        Ridge penalty on the standardised coefficients, relative to the total weight (the rows'
        weights are scaled to sum to the number of rows).
    weights : array, optional
        Row weights (e.g. ``1 / rows of its data set`` so that data sets count alike).
    mode : {"full", "fast"}, optional
        Default: "full" when ``relevance_emb`` is among the features.
    n_quantiles : int
        Size of the quantile table that maps the score to [0, 1] (weighted quantiles of the
        training predictions).
    max_coef : dict, optional
        Upper bounds on standardised coefficients, ``{feature: bound}`` (e.g. ``{"unsupported_content":
        -0.15}``: at least that much penalty). A coefficient the ridge puts above its bound is
        fixed at the bound and the other coefficients are refitted given it.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"relevance": rng.random(200), "log_words": rng.random(200)})
    >>> y = 2 * X["relevance"] + rng.normal(0, 0.3, 200)
    >>> m = fit_model(X, y, features=["relevance", "log_words"], alpha=1.0)
    >>> m.coef[0] > 5 * abs(m.coef[1])
    True
    """
    feats = tuple(features)
    A = X[list(feats)].to_numpy(dtype=float)
    y = np.asarray(y, dtype=float)
    if A.shape[0] != y.size or y.size < 3:
        raise ValueError(f"fit_model: need >= 3 rows and one target per row, got {A.shape[0]} rows, {y.size} targets")
    w = np.ones(y.size) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.sum() * w.size
    mean = np.average(A, axis=0, weights=w)
    scale = np.sqrt(np.average((A - mean) ** 2, axis=0, weights=w))
    scale = np.where(scale > 1e-9, scale, 1.0)
    Z = (A - mean) / scale
    sw = np.sqrt(w)
    Zw = Z * sw[:, None]
    yc = y - np.average(y, weights=w)
    coef = np.linalg.solve(Zw.T @ Zw + float(alpha) * np.eye(Z.shape[1]), Zw.T @ (yc * sw))
    bounds = {feats.index(f): float(b) for f, b in (max_coef or {}).items() if f in feats}
    fixed: dict[int, float] = {}
    while True:
        over = [j for j, b in bounds.items() if j not in fixed and coef[j] > b]
        if not over:
            break
        fixed.update({j: bounds[j] for j in over})
        free = [j for j in range(len(feats)) if j not in fixed]
        coef = np.zeros(len(feats))
        for j, b in fixed.items():
            coef[j] = b
        rest = yc - Z[:, list(fixed)] @ np.array(list(fixed.values()))
        rest = rest - np.average(rest, weights=w)
        if free:
            Zf = Zw[:, free]
            coef[free] = np.linalg.solve(Zf.T @ Zf + float(alpha) * np.eye(len(free)), Zf.T @ (rest * sw))
    intercept = float(np.average(y - Z @ coef, weights=w))
    qs = quantile_table(Z @ coef + intercept, w, n_quantiles)
    if mode is None:
        mode = "full" if "relevance_emb" in feats else "fast"
    return QualityModel(features=feats, mean=tuple(float(x) for x in mean), scale=tuple(float(x) for x in scale),
                        coef=tuple(float(x) for x in coef), intercept=intercept,
                        quantiles=tuple(float(x) for x in qs), mode=mode, meta=dict(meta or {}))


def _head_from(raw) -> tuple | None:
    """The ``head`` field of a model file as two tuples of floats (checked by the model)."""
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) != 2 or not all(isinstance(v, list) for v in raw):
        raise ValueError("quality model: head must be two lists of numbers")
    return tuple(tuple(float(x) for x in v) for v in raw)


_LOADED: dict[str, QualityModel] = {}
#: largest model file read (the shipped ones are about 20 kB)
MAX_MODEL_BYTES = 16 * 1024 * 1024


def load_model(which: str | Path | QualityModel = "full") -> QualityModel:
    """The shipped model (``"full"`` or ``"fast"``) or one saved as JSON at a path.

    Errors on a bad file are :class:`toolkit.errors.ToolkitError` naming the file.

    Examples
    --------
    >>> load_model("fast").needs_embeddings
    False
    """
    if isinstance(which, QualityModel):
        return which
    key = str(which)
    if key in _LOADED:
        return _LOADED[key]
    from toolkit.errors import ToolkitError

    path = MODEL_FILES.get(key, Path(key))
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_MODEL_BYTES + 1)
        if len(data) > MAX_MODEL_BYTES:
            raise ToolkitError(f"quality model file {path} is larger than {MAX_MODEL_BYTES:,} bytes")
        raw = json.loads(data.decode("utf-8"))
        model = QualityModel.from_dict(raw)
    except ToolkitError:
        raise
    except FileNotFoundError:
        raise ToolkitError(f"quality model file {path} not found") from None
    except OSError as exc:
        raise ToolkitError(f"quality model file {path} cannot be read: {exc.strerror or exc}") from None
    except RecursionError:
        raise ToolkitError(f"quality model file {path} is not a valid quality model: nested too deeply") from None
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        raise ToolkitError(f"quality model file {path} is not a valid quality model: {exc}") from None
    if key in MODEL_FILES:
        _LOADED[key] = model
    return model
