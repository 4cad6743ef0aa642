"""Response quality: relevance, sentiment, coherence, length fit, a fitted quality score and levels.

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
    embeddings on onnxruntime instead, with the same context weighting.
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

Quality (fitted, the default)
-----------------------------
``quality`` is a small ridge model fitted on public human-rated dialogue data
(:mod:`toolkit.quality.model`; data sources, licences, the selection by leave-one-dataset-out and
the agreement figures are in the shipped ``model_full.json`` and the README). Its features:
MiniLM relevance of the response to the decayed conversation context (``relevance_emb``; sentence
vectors pooled per message, :mod:`toolkit.quality.pooled`) and ``unsupported_content_emb``:
content words of an answer that neither the context's vocabulary (TF-IDF) nor its meaning (MiniLM)
supports (an answer about something else). ``quality`` is the share of the public rated responses
the model ranks below this one. Levels:
``excellent >= 0.8 > good >= 0.5 > average >= 0.25 > poor >= 0.1 > unacceptable``.
``QualityConfig(mode="fast")`` uses TF-IDF relevance and ``unsupported_content`` (the TF-IDF part
alone) instead (no sentence model).
The quality does not look at coherence (human ratings gave it no weight that carried across data
sets): garbled answers are what ``coherence`` finds.

Composite (``QualityConfig(model="composite")``)
-------------------------------------------------
``quality = sum_k w_k * c_k / sum_k w_k`` over the components, with
``c_relevance = min(1, relevance / relevance_saturation)`` (a response that shares as much
weighted vocabulary with the conversation as a typical on-topic answer counts as fully relevant),
``c_sentiment = min(1, 1 + sentiment)`` (neutral and positive tone are fine; negative tone costs
up to the whole weight), and coherence and length fit as they are. Levels come from cut-offs:
``excellent >= 0.85 > good >= 0.7 > average >= 0.5 > poor >= 0.3 > unacceptable`` for the composite.

Missing responses (None/NaN) are scored like empty ones: every component 0 except sentiment
(VADER gives 0.0), so the quality is low and the level ``unacceptable`` or ``poor``; a value that
is not a string raises a ``TypeError`` naming the column and rows.

Modules
-------
``config`` (:class:`QualityConfig`, :class:`LengthFit`, levels, weights and cut-offs),
``components`` (coherence, sentiment, length fit, content words), ``_vectorised`` (the chunked,
vectorised computation and relevance backends), ``pooled`` (sentence-pooled MiniLM vectors),
``model`` (the fitted model, its features and files), ``score`` (relevance, the composite,
:func:`score_turns`, :func:`score_log`, :func:`score_texts`), ``levels`` (levels, counts,
per-conversation quality), ``reaction`` (the user's reaction) and ``calibrate`` (refitting on your
labels). Every public name is importable from ``toolkit.quality``.

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
...                      "Our store opens at nine on weekdays and we offer free gift wrapping."]})
>>> scored = score_turns(turns)
>>> scored["quality"].round(2).tolist(), scored["level"].tolist()
([0.93, 0.61, 0.61], ['excellent', 'good', 'good'])

The third answer is about something else, yet it rates "good": MiniLM finds a shop's opening hours
close enough to an order question, and the fitted model penalises unsupported content only a
little (see the README's quality section for why).
"""

from __future__ import annotations

from toolkit.quality.components import coherence, coherence_parts, content_words, length_fit, sentiment
from toolkit.quality.config import (
    COMPONENTS,
    LEVELS,
    SCORE_COLUMNS,
    LengthFit,
    QualityConfig,
)
from toolkit.quality.model import QualityModel, load_model
from toolkit.quality.levels import assign_levels, conversation_quality, high_quality_share, level_counts
from toolkit.quality.score import (
    composite_parts,
    composite_quality,
    fit_relevance_idf,
    quality_features,
    relevance,
    score_log,
    score_texts,
    score_turns,
)

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
    "quality_features",
    "QualityModel",
    "load_model",
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
