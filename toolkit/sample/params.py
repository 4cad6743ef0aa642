"""The planted model of the sample: defaults, models and bots, profiles, error rates, parameters.

Shared by the generator and the truth (:mod:`toolkit.sample.truth`), which writes these numbers
down.

Examples
--------
>>> from toolkit.sample.params import MODELS, _incident_hours
>>> sorted(MODELS)[0], _incident_hours(60)[0]
('claude-3-5-haiku', (517.0, 523.0))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from toolkit.sample.texts import INTENTS

__all__ = ["ANSWER_KINDS", "MODELS", "DEFAULT_SEED", "DEFAULT_DAYS", "DEFAULT_START",
           "DEFAULT_CONVERSATIONS_PER_DAY"]

DEFAULT_SEED = 0
DEFAULT_DAYS = 60
DEFAULT_START = "2026-09-01"
#: expected conversation starts per weekday at the start of the range (grows with the trend)
DEFAULT_CONVERSATIONS_PER_DAY = 190.0

ANSWER_KINDS = ("good", "generic", "off_topic", "garbled")
_GOOD, _GENERIC, _OFF, _GARBLED = 0, 1, 2, 3

#: model -> prices (USD per 1,000 tokens) and latency model (seconds)
MODELS: dict[str, dict[str, float]] = {
    "gpt-4o-mini": {"price_prompt_per_1k": 0.00015, "price_completion_per_1k": 0.0006,
                    "latency_base_s": 0.35, "latency_per_token_s": 0.012},
    "gpt-4o": {"price_prompt_per_1k": 0.0025, "price_completion_per_1k": 0.01,
               "latency_base_s": 0.6, "latency_per_token_s": 0.024},
    "claude-3-5-haiku": {"price_prompt_per_1k": 0.0008, "price_completion_per_1k": 0.004,
                         "latency_base_s": 0.45, "latency_per_token_s": 0.015},
}
#: bot -> (share of conversations, model mix)
_BOTS = {
    "web-assistant": (0.6, {"gpt-4o-mini": 0.7, "gpt-4o": 0.3, "claude-3-5-haiku": 0.0}),
    "app-assistant": (0.4, {"gpt-4o-mini": 0.2, "gpt-4o": 0.0, "claude-3-5-haiku": 0.8}),
}
_BOT_NAMES = list(_BOTS)
_MODEL_NAMES = list(MODELS)

#: share of each answer kind among non-good answers (generic, off_topic, garbled) ~ 18/8/4
_BAD_SPLIT = np.array([0.6, 0.8 / 3, 0.4 / 3])
_BAD_CUM = np.concatenate([[0.0], np.cumsum(_BAD_SPLIT)[:-1]])
_TURN_COUNT_P = np.array([0.16, 0.24, 0.25, 0.18, 0.11, 0.06])  # 1..6 turns
_DAILY = np.array([0.25, 0.18, 0.14, 0.12, 0.13, 0.2, 0.35, 0.6, 0.9, 1.2, 1.45, 1.6, 1.65, 1.6,
                   1.5, 1.4, 1.35, 1.3, 1.25, 1.15, 1.0, 0.8, 0.55, 0.38])
_DAILY = _DAILY / _DAILY.mean()
_WEEKLY = np.array([1.05, 1.05, 1.05, 1.03, 1.0, 0.7, 0.62])  # Monday .. Sunday
#: error rates: traffic-weighted mean outside the latency incident, and during it
_P_ERR_BASE, _P_ERR_INCIDENT = 0.012, 0.08
#: errors (timeouts, rate limits) happen under load: their rate follows the daily traffic
#: profile, scaled so that the traffic-weighted mean rate is _P_ERR_BASE
_ERR_BY_HOUR = _P_ERR_BASE * _DAILY / float((_DAILY**2).sum() / _DAILY.sum())
_ERROR_TEXTS = np.array(["", "TimeoutError: upstream model did not respond within 30 s",
                         "RateLimitError: 429 Too Many Requests"], dtype=object)

SEC_NS = 1_000_000_000
HOUR_NS = 3_600 * SEC_NS
DAY_NS = 24 * HOUR_NS


# ---- small helpers ----------------------------------------------------------------------------


def _utc(ts) -> "Any":
    import pandas as pd

    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def _iso(ns: int) -> str:
    import pandas as pd

    return pd.Timestamp(int(ns), tz="UTC").isoformat().replace("+00:00", "Z")


def _round(x: float, nd: int = 6) -> float:
    return float(round(float(x), nd))


def _incident_hours(days: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """(start, end) in hours from the range start: latency incident, quality regression."""
    total = days * 24.0
    if days >= 10:
        lat_day = int(days * 0.35)
        lat = (lat_day * 24 + 13.0, lat_day * 24 + 19.0)  # 13:00-19:00 UTC, a busy afternoon
        reg_day = max(lat_day + 1, int(round(days * 0.62)))
        reg = (reg_day * 24.0, reg_day * 24.0 + 48.0)
    else:  # short ranges: whole hours at 30 % and 60 % of the range
        lat_start, reg_start = float(np.floor(total * 0.3)), float(np.floor(total * 0.6))
        lat = (lat_start, lat_start + max(1.0, min(6.0, float(np.floor(total * 0.1)))))
        reg = (reg_start, reg_start + max(1.0, min(48.0, float(np.floor(total * 0.2)))))
    return lat, reg


#: the planted topic spike (issue 27): in a window of a few hours, this share of the
#: conversations that start there switch to one intent (total volume unchanged)
TOPIC_SPIKE_INTENT = "failed_payment"
TOPIC_SPIKE_SHARE = 0.6


def _spike_hours(days: int) -> tuple[float, float]:
    """(start, end) in hours from the range start of the planted topic spike: 10:00-14:00 UTC
    on the middle day (away from the latency incident and the quality regression); short
    ranges: whole hours from 45 % of the range, at most 4."""
    if days >= 10:
        day = int(days * 0.5)
        return day * 24 + 10.0, day * 24 + 14.0
    start = float(np.floor(days * 24.0 * 0.45))
    return start, start + max(1.0, min(4.0, float(np.floor(days * 24.0 * 0.1))))


# ---- parameters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Params:
    """The arguments of :func:`generate_sample`, checked, with the derived time windows."""

    seed: int
    days: int
    t0: Any  # pandas Timestamp: UTC midnight of the first day
    conversations_per_day: float
    resolution: tuple[float, float]
    good_rate: tuple[float, float]
    growth_per_day: float
    latency_factor: float
    good_rate_drop: float
    user_resolution_sd: float = 0.15

    @classmethod
    def check(cls, seed, days, conversations, start, **kw) -> "_Params":
        days = int(days)
        if days < 1:
            raise ValueError(f"days must be >= 1, got {days}")
        if conversations is not None and int(conversations) < 1:
            raise ValueError(f"conversations must be >= 1 (or None), got {conversations}")
        for name in ("resolution", "good_rate"):
            pair = kw[name]
            if len(pair) != 2 or not all(0.0 <= float(p) <= 1.0 for p in pair):
                raise ValueError(f"{name} must be two probabilities (A, B) in [0, 1], got {pair!r}")
        if not 0.0 <= float(kw.get("user_resolution_sd", 0.15)) <= 0.5:
            raise ValueError(f"user_resolution_sd must be in [0, 0.5], got {kw['user_resolution_sd']!r}")
        return cls(seed=seed, days=days, t0=_utc(start).normalize(), **kw)

    @property
    def t0_ns(self) -> int:
        return int(self.t0.value)

    def spike_window(self) -> tuple[int, int]:
        """(start, end) in ns of the planted topic spike."""
        a, b = _spike_hours(self.days)
        return self.t0_ns + int(a * HOUR_NS), self.t0_ns + int(b * HOUR_NS)

    def windows(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(start, end) in ns of the latency incident and of the quality regression."""
        lat_h, reg_h = _incident_hours(self.days)
        t0 = self.t0_ns
        return ((t0 + int(lat_h[0] * HOUR_NS), t0 + int(lat_h[1] * HOUR_NS)),
                (t0 + int(reg_h[0] * HOUR_NS), t0 + int(reg_h[1] * HOUR_NS)))


def _intent_weights() -> np.ndarray:
    w = np.array([INTENTS[n]["weight"] for n in INTENTS])
    return w / w.sum()
