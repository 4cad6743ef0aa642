"""What the sample plants for effects by segment and mix shift (issue 24), in steps of their own.

* **A per-topic effect**: variant B answers ``order_status`` conversations faster (response times
  x ``factor``, error turns unchanged) and no other intent: B is better in one intent only, on
  response time, where it has no effect overall otherwise. No random numbers: only those rows'
  response times (and the timestamps after them in the same conversation) change.
* **A topic-mix shift**: in the second half of the period each conversation switches to
  ``cancel_subscription`` with probability ``switch_probability`` (a price rise, say), drawn from
  a random stream of its own (``numpy.random.default_rng([seed, 24])``; blockwise samples
  ``[seed, 24, block]``), so the other draws are untouched; only the switched conversations
  change.

Both are written to the truth under ``segments``.

Examples
--------
>>> planted_segments()["topic_effect"]["intent"]
'order_status'
"""

from __future__ import annotations

import numpy as np

from toolkit.sample.texts import INTENTS

__all__ = ["TOPIC_EFFECT", "MIX_SHIFT", "response_time_factor", "plant_mix_shift",
           "planted_segments"]

TOPIC_EFFECT = {"intent": "order_status", "variant": "B", "metric": "response_time_s",
                "factor": 0.50}
MIX_SHIFT = {"intent": "cancel_subscription", "switch_probability": 0.06}


def response_time_factor(intent: np.ndarray, variant_b: np.ndarray) -> np.ndarray:
    """Per conversation: the factor on its response times (``factor`` for B in the intent).

    Examples
    --------
    >>> i = list(INTENTS).index("order_status")
    >>> response_time_factor(np.array([i, i, 0]), np.array([True, False, True])).tolist()
    [0.5, 1.0, 1.0]
    """
    target = list(INTENTS).index(TOPIC_EFFECT["intent"])
    return np.where((intent == target) & variant_b, TOPIC_EFFECT["factor"], 1.0)


def plant_mix_shift(p, convs, stream=()) -> None:
    """Switch conversations of the second half of the period to the rising intent (in place).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> p = SimpleNamespace(seed=0, t0_ns=0, days=2)
    >>> c = SimpleNamespace(start=np.arange(0, 2 * 86_400 * 10**9, 10**11), intent=None)
    >>> c.intent = np.zeros(c.start.size, dtype=np.int64)
    >>> plant_mix_shift(p, c)
    >>> bool((c.intent[: c.start.size // 2] == 0).all()), bool((c.intent != 0).any())
    (True, True)
    """
    rng = np.random.default_rng([int(p.seed), 24, *stream])
    u = rng.random(len(convs.start))
    half = p.t0_ns + p.days * 86_400 * 10**9 // 2
    switch = (convs.start >= half) & (u < MIX_SHIFT["switch_probability"])
    convs.intent[switch] = list(INTENTS).index(MIX_SHIFT["intent"])


def planted_segments(p=None) -> dict:
    """The truth of the two plants (``truth["segments"]``).

    Examples
    --------
    >>> sorted(planted_segments())
    ['mix_shift', 'topic_effect']
    """
    out = {
        "topic_effect": {**TOPIC_EFFECT,
                         "note": "variant B's response times x factor in this intent only (error "
                                 "turns unchanged): B is better there and nowhere else"},
        "mix_shift": {**MIX_SHIFT, "between": "the two halves of the period",
                      "note": "from the middle of the period on, each conversation switches to "
                              "this intent with switch_probability (own random stream), so its "
                              "share rises and every other intent's falls by the same factor"},
    }
    if p is not None:
        out["mix_shift"]["split"] = str(
            np.datetime64(p.t0_ns + p.days * 86_400 * 10**9 // 2, "ns")) + "Z"
    return out
