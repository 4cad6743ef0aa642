"""Sentiment equals vaderSentiment's compound score exactly, offline."""

from __future__ import annotations

import random

import pytest

from toolkit.sentiment import (
    nltk_vader_analyzer,
    vader_compound,
    vader_compound_one,
    vader_compound_reference,
    vader_lexicon_path,
)

README_EXAMPLES = [
    "VADER is smart, handsome, and funny.",
    "VADER is smart, handsome, and funny!",
    "VADER is very smart, handsome, and funny.",
    "VADER is VERY SMART, handsome, and FUNNY.",
    "VADER is VERY SMART, handsome, and FUNNY!!!",
    "VADER is VERY SMART, uber handsome, and FRIGGIN FUNNY!!!",
    "VADER is not smart, handsome, nor funny.",
    "The book was good.",
    "At least it isn't a horrible book.",
    "The book was only kind of good.",
    "The plot was good, but the characters are uncompelling and the dialog is not great.",
    "Today SUX!",
    "Today only kinda sux! But I'll get by, lol",
    "Make sure you :) or :D today!",
    "Catch utf-8 emoji such as 💘 and 💋 and 😁",
    "Not bad at all",
    "Sentiment analysis has never been good.",
    "Sentiment analysis has never been this good!",
    "Most automated sentiment analysis tools are shit.",
    "With VADER, sentiment analysis is the shit!",
    "Other sentiment analysis tools can be quite bad.",
    "On the other hand, VADER is quite bad ass",
    "VADER is such a badass!",
    "Without a doubt, excellent idea.",
    "Roger Dodger is one of the most compelling variations on this theme.",
    "Roger Dodger is at least compelling as a variation on the theme.",
    "Roger Dodger is one of the least compelling variations on this theme.",
    "Not such a badass after all.",
    "Without a doubt, an excellent idea.",
    "It was one of the worst movies I've seen, despite good reviews. Unbelievably bad acting!! "
    "Poor direction. VERY poor production. The movie was bad. Very bad movie. VERY BAD movie!",
]

CHATBOT_TEXTS = [
    "I'm sorry to hear that your payment failed. Please try again with another card.",
    "Great news! Your refund of $40.95 has been issued and should arrive within 5 days. 😊",
    "That's NOT acceptable!!! I want my money back",
    "this isn't helping at all :(",
    "Thanks, that worked perfectly!",
    "No, no, no. I never asked for this, but thanks anyway.",
    "Es tut mir leid, das Passwort ist falsch. 😡",
    "パスワードをリセットしました 👍",
    "😀😀😀",
    "🙁",
    "",
    "   ",
    "?!?!",
    "not bad, not good, kind of ok but NOT great?? really???",
    "The service was hardly helpful, barely adequate and somewhat disappointing.",
]


def _varied_texts(n: int, seed: int = 0) -> list[str]:
    """Texts mixing lexicon words, boosters, negations, 'but', caps, emoji, emoticons, idioms."""
    from vaderSentiment import vaderSentiment as vs

    from toolkit.sentiment import _resources

    r = _resources()
    rng = random.Random(seed)
    lex = sorted(r["lexicon"])
    boost = sorted(vs.BOOSTER_DICT)
    neg = sorted(vs.NEGATE)
    emoji = sorted(r["emojis"])
    idioms = sorted(vs.SPECIAL_CASES) + sorted(vs.SENTIMENT_LADEN_IDIOMS)
    filler = ("the a your order account payment refund is was will be to of and or nor no never "
              "so this least at very kind of sort without doubt but BUT I you it please").split()
    endings = [",", ".", "!", "?", "!!", "...", ":)", ")", "!?", "???"]

    def word() -> str:
        k = rng.random()
        if k < 0.3:
            w = rng.choice(lex)
        elif k < 0.42:
            w = rng.choice(boost)
        elif k < 0.52:
            w = rng.choice(neg)
        elif k < 0.58:
            w = rng.choice(emoji)
        elif k < 0.63:
            w = rng.choice(idioms)
        else:
            w = rng.choice(filler)
        if rng.random() < 0.15:
            w = w.upper()
        if rng.random() < 0.12:
            w += rng.choice(endings)
        if rng.random() < 0.05:
            w = rng.choice(["'", '"', "(", "*"]) + w
        return w

    out = []
    for _ in range(n):
        k = rng.randint(0, 30)
        seps = [rng.choice([" ", " ", " ", "", "  ", "\n"]) for _ in range(k)]
        out.append("".join(word() + s for s in seps))
    return out


def test_equals_vader_on_readme_and_chatbot_texts():
    texts = README_EXAMPLES + CHATBOT_TEXTS
    assert vader_compound(texts) == vader_compound_reference(texts)


def test_equals_vader_on_1000_varied_texts():
    texts = _varied_texts(1000, seed=1)
    # the corpus really exercises the rules
    assert sum("but" in t.lower().split() for t in texts) > 50
    assert sum(any(ord(c) > 0x2000 for c in t) for t in texts) > 200
    assert sum(any(w.isupper() and len(w) > 2 for w in t.split()) for t in texts) > 300
    got = vader_compound(texts)
    ref = vader_compound_reference(texts)
    mismatches = [(t, a, b) for t, a, b in zip(texts, got, ref) if a != b]
    assert not mismatches, mismatches[:3]
    assert len({round(v, 2) for v in ref}) > 100  # varied scores, not all zero


@pytest.mark.slow
def test_equals_vader_on_5000_more_texts():
    texts = _varied_texts(5000, seed=2)
    assert vader_compound(texts) == vader_compound_reference(texts)


def test_reference_values():
    # published examples of the VADER README (vaderSentiment 3.3.2)
    assert vader_compound_one("VADER is smart, handsome, and funny.") == 0.8316
    assert vader_compound_one("VADER is not smart, handsome, nor funny.") == -0.7424
    assert vader_compound_one("Today SUX!") == -0.5461
    assert vader_compound_one("Not bad at all") == 0.431


def test_missing_and_bad_values():
    import numpy as np
    import pandas as pd

    assert vader_compound([None, float("nan"), pd.NA, ""]) == [0.0, 0.0, 0.0, 0.0]
    with pytest.raises(TypeError, match=r"position 1 is int"):
        vader_compound(["fine", 3])
    long = "This is great, but not bad at all! " * 3000  # ~100,000 characters
    assert -1.0 <= vader_compound([long])[0] <= 1.0  # VADER's own takes minutes (quadratic)
    medium = long[:3000]
    assert vader_compound([medium]) == vader_compound_reference([medium])
    assert vader_compound(["😀 😀"]) == vader_compound_reference(["😀 😀"])
    assert np.isfinite(vader_compound(["\x00\ud800 weird"])[0])


def test_cache_is_transparent():
    cache: dict = {}
    texts = ["Good job!", "Bad job!", "Good job!"]
    assert vader_compound(texts, cache=cache) == vader_compound_reference(texts)
    assert set(cache) == {"Good job!", "Bad job!"}
    assert vader_compound(texts, cache=cache) == vader_compound_reference(texts)


def test_nltk_analyzer_offline():
    import os

    assert os.path.exists(vader_lexicon_path())
    sia = nltk_vader_analyzer()
    assert sia.polarity_scores("The book was good.")["compound"] == pytest.approx(0.4404)
