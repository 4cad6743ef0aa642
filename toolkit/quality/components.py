"""The per-text components: coherence (and its parts), sentiment, length fit, content words.

Each works on texts alone (no corpus); relevance, which needs the corpus-wide TF-IDF, is computed
by :mod:`toolkit.quality._vectorised` and exposed as :func:`toolkit.quality.relevance`.

Examples
--------
>>> coherence(["Your order ships today.", "your your order"]).tolist()
[1.0, 0.0]
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np

from toolkit.quality.config import LengthFit

__all__ = ["coherence", "coherence_parts", "sentiment", "length_fit", "content_words"]

_MARKUP_RE = re.compile(
    r"\{\{[^{}]*\}\}|\{[A-Za-z_][A-Za-z0-9_.]*\}|\$\{[^}]*\}|</?[A-Za-z][A-Za-z0-9_-]*\s*/?>"
    r"|\[\s*(?:ERROR|Error|error)\b|%\([A-Za-z_]+\)s"
)
_NULLISH = frozenset({"null", "none", "nan", "undefined", "nil", "n/a"})
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
