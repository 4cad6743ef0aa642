"""The truth planted in a generated sample (what ``truth.json`` holds).

:func:`build_truth` writes down the planted parameters (variant effects, incident windows, trend,
seasonality, error model, prices) together with the realised per-conversation truth (intent and
answer kind of every turn) and the realised rates per variant. The realised rates are kept as
sums and counts (:class:`Observed`) so that a sample generated in chunks
(:func:`toolkit.sample.write_partitioned`) adds them up chunk by chunk.

Examples
--------
>>> from toolkit.sample import generate_sample
>>> t = generate_sample(seed=1, days=2).truth
>>> t["variants"]["effects"]["resolved"]["A"], t["incidents"][0]["kind"]
(0.6, 'latency')
"""

from __future__ import annotations

from typing import Any

import numpy as np

from toolkit.sample.params import (
    _BAD_SPLIT,
    _BOTS,
    _DAILY,
    _ERR_BY_HOUR,
    _GOOD,
    _P_ERR_BASE,
    _P_ERR_INCIDENT,
    _WEEKLY,
    ANSWER_KINDS,
    DAY_NS,
    MODELS,
    _intent_weights,
    _iso,
    _round,
)
from toolkit.sample.plants import planted_segments
from toolkit.sample.texts import INTENTS

__all__ = ["build_truth", "planted", "Observed", "TruthBuilder"]


def conversation_truth(sim) -> tuple[list[str], list[list[str]]]:
    """Intent and answer-kind sequence of each conversation of a turn simulation."""
    lay, c = sim.rows, sim.c
    # the answer-kind sequence of a conversation as one integer (base 4, plus its length)
    code = np.zeros(c.n, dtype=np.int64)
    np.add.at(code, lay.conv_of, sim.kind.astype(np.int64) * 4 ** lay.turn)
    code = code * 8 + c.n_turns
    uniq, inv = np.unique(code, return_inverse=True)
    seqs = [[ANSWER_KINDS[(v // 8 // 4 ** j) % 4] for j in range(v % 8)] for v in uniq.tolist()]
    names = list(INTENTS)
    return [names[i] for i in c.intent.tolist()], [seqs[j] for j in inv.tolist()]


class Observed:
    """Realised rates per variant as sums and counts, added up over chunks.

    Examples
    --------
    >>> o = Observed()
    >>> o.add("x", np.array([1.0, 0.0, 1.0]), np.array([False, True, True]))
    >>> o.means("x")
    {'A': 1.0, 'B': 0.5}
    """

    def __init__(self) -> None:
        self.sums: dict[str, dict[str, list]] = {}

    def add(self, key: str, values: np.ndarray, is_b: np.ndarray) -> None:
        acc = self.sums.setdefault(key, {"A": [0.0, 0], "B": [0.0, 0]})
        for name, sel in (("A", ~is_b), ("B", is_b)):
            if sel.any():
                acc[name][0] += values[sel].sum()
                acc[name][1] += int(sel.sum())

    def add_simulation(self, sim, out) -> None:
        """The sample's three realised rates: resolved, good answers, satisfaction."""
        vb, res_obs, sat_obs = sim.c.variant_b, out.res_observed, out.sat_observed
        self.add("resolved", sim.resolved_true[res_obs].astype(float), vb[res_obs])
        self.add("good_answer_rate", (sim.kind == _GOOD).astype(float), vb[sim.rows.conv_of])
        self.add("satisfaction", out.sat[sat_obs], vb[sat_obs])

    def means(self, key: str) -> dict[str, float | None]:
        acc = self.sums.get(key, {"A": [0.0, 0], "B": [0.0, 0]})
        return {v: (_round(s / n) if n else None) for v, (s, n) in acc.items()}


class TruthBuilder:
    """The truth of a sample, added up block by block (:meth:`add`), then :meth:`truth`.

    ``n_users`` is the size of the user pool (distinct users are counted on it).
    """

    def __init__(self, p, n_users: int, *, keep_conversations: bool = True) -> None:
        self.p, self.observed = p, Observed()
        self.n_conversations = self.n_turns = 0
        self.seen = np.zeros(n_users, dtype=bool)
        self.conversations: dict[str, dict] | None = {} if keep_conversations else None

    def add(self, sim, out, ids: list[str]) -> tuple[list[str], list[list[str]]]:
        """Add a block; returns its conversations' intents and answer-kind sequences."""
        self.observed.add_simulation(sim, out)
        self.n_conversations += sim.c.n
        self.n_turns += sim.rows.n_rows
        self.seen[sim.c.user] = True
        intents, kinds = conversation_truth(sim)
        if self.conversations is not None:
            self.conversations.update(
                {c: {"intent": i, "answer_kinds": k} for c, i, k in zip(ids, intents, kinds)})
        return intents, kinds

    def truth(self) -> dict[str, Any]:
        truth = planted(self.p, self.observed, n_conversations=self.n_conversations,
                        n_turns=self.n_turns, n_users=int(self.seen.sum()))
        if self.conversations is not None:
            truth["conversations"] = self.conversations
        return _ordered(truth)


def build_truth(p, sim, out, ids: list[str]) -> dict[str, Any]:
    """The truth of a sample generated in one piece (see :func:`planted`).

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> t = generate_sample(seed=1, days=2).truth      # generate_sample calls build_truth
    >>> list(t)[:5]
    ['seed', 'start', 'end', 'n_conversations', 'n_turns']
    """
    builder = TruthBuilder(p, sim.c.n_users)
    builder.add(sim, out, ids)
    return builder.truth()


_ORDER = ("seed", "start", "end", "n_conversations", "n_turns", "intents", "intent_weights",
          "conversations", "answer_kinds", "answer_kind_probabilities", "variants", "incidents",
          "segments", "topic_spike", "trend", "seasonality", "errors", "bots", "models", "n_users")


def _ordered(truth: dict) -> dict:
    return {k: truth[k] for k in _ORDER if k in truth}


def _topic_spike_truth(p) -> dict[str, Any]:
    from toolkit.sample.params import TOPIC_SPIKE_INTENT, TOPIC_SPIKE_SHARE

    a, b = p.spike_window()
    return {"intent": TOPIC_SPIKE_INTENT, "start": _iso(a), "end": _iso(b), "share": TOPIC_SPIKE_SHARE,
            "note": "conversations starting in [start, end) switched to intent with probability "
                    "share; the total volume is unchanged"}


def planted(p, observed: Observed, *, n_conversations: int, n_turns: int, n_users: int) -> dict[str, Any]:
    """Everything in the truth except the per-conversation map ``conversations``.

    Examples
    --------
    >>> from toolkit.sample.params import _Params
    >>> p = _Params.check(0, 60, None, "2026-09-01", conversations_per_day=190.0, resolution=(0.6, 0.66),
    ...                   good_rate=(0.68, 0.73), growth_per_day=0.005, latency_factor=3.5, good_rate_drop=0.3)
    >>> planted(p, Observed(), n_conversations=0, n_turns=0, n_users=0)["incidents"][0]["start"]
    '2026-09-22T13:00:00Z'
    """
    names = list(INTENTS)
    resolution, (gA, gB) = p.resolution, p.good_rate
    garb = _BAD_SPLIT[2]
    sat_exp = {v: 0.30 + 0.35 * r + 0.25 * g - 0.15 * garb * (1 - g)
               for v, r, g in (("A", resolution[0], gA), ("B", resolution[1], gB))}
    lat_ns, reg_ns = p.windows()
    return {
        "seed": int(p.seed),
        "start": _iso(p.t0_ns),
        "end": _iso(p.t0_ns + p.days * DAY_NS),
        "n_conversations": int(n_conversations),
        "n_turns": int(n_turns),
        "intents": names,
        "intent_weights": {n: _round(x) for n, x in zip(names, _intent_weights())},
        "answer_kinds": list(ANSWER_KINDS),
        "answer_kind_probabilities": {
            "note": "per turn, before errors; good depends on the variant, the rest split 60/27/13",
            "good": {"A": gA, "B": gB},
            "generic_off_topic_garbled_split": [_round(x) for x in _BAD_SPLIT],
        },
        "variants": {
            "control": "A",
            "treatment": ["B"],
            "unit": "conversation",
            "allocation": {"A": 0.5, "B": 0.5},
            "effects": {
                "resolved": {
                    "A": resolution[0], "B": resolution[1],
                    "abs_lift": _round(resolution[1] - resolution[0]),
                    "observed": observed.means("resolved"),
                    "user_sd": p.user_resolution_sd,
                    "note": "planted P(resolved) per conversation; the realised rate also moves "
                            "with the conversation's good-answer share (centred on the variant rate), "
                            "with a per-user offset (sd user_sd, centred over the conversations) "
                            "and dips during the quality regression",
                },
                "good_answer_rate": {
                    "A": gA, "B": gB, "abs_lift": _round(gB - gA),
                    "observed": observed.means("good_answer_rate"),
                    "note": "planted per-turn probability of a good answer outside the quality "
                            "regression; error turns count as generic",
                },
                "satisfaction": {
                    "A": _round(sat_exp["A"]), "B": _round(sat_exp["B"]),
                    "abs_lift": _round(sat_exp["B"] - sat_exp["A"]),
                    "observed": observed.means("satisfaction"),
                    "model": "satisfaction ~ Beta(mean*6, (1-mean)*6), mean = 0.30 + 0.35*resolved "
                             "+ 0.25*good_share - 0.15*garbled_share; observed for ~60% of "
                             "conversations; the expected means above follow from the planted rates",
                },
            },
            "system_prompt_tokens": {"A": 220, "B": 310},
        },
        "incidents": [
            {"kind": "latency", "metric": "response_time_s", "start": _iso(lat_ns[0]),
             "end": _iso(lat_ns[1]), "factor": p.latency_factor,
             "error_rate": _P_ERR_INCIDENT,
             "note": "turns whose user message arrived in [start, end): response times x factor, "
                     "more timeouts"},
            {"kind": "quality_regression", "metric": "quality", "start": _iso(reg_ns[0]),
             "end": _iso(reg_ns[1]), "good_rate_drop": p.good_rate_drop,
             "note": "turns whose user message arrived in [start, end): good-answer probability "
                     "lowered by good_rate_drop"},
        ],
        "segments": planted_segments(p),
        "topic_spike": _topic_spike_truth(p),
        "trend": {"volume_growth_per_day": p.growth_per_day},
        "seasonality": {
            "daily": True, "weekly": True,
            "daily_profile_utc": [_round(x, 4) for x in _DAILY],
            "weekly_profile_mon_sun": [_round(x, 4) for x in _WEEKLY],
            "conversations_per_day_at_start": p.conversations_per_day,
        },
        "errors": {
            "rate": _P_ERR_BASE, "latency_incident_rate": _P_ERR_INCIDENT,
            "by_hour_utc": [_round(x) for x in _ERR_BY_HOUR],
            "types": {"TimeoutError": 0.6, "RateLimitError": 0.4},
            "answer_kind": "generic",
            "note": "rate = traffic-weighted mean; errors follow load (by_hour_utc); failed turns "
                    "carry the error text, a fallback answer, no tokens and no cost",
        },
        "bots": {b: {"share": _BOTS[b][0], "models": _BOTS[b][1]} for b in _BOTS},
        "models": {
            m: {"price_prompt_per_1k": MODELS[m]["price_prompt_per_1k"],
                "price_completion_per_1k": MODELS[m]["price_completion_per_1k"],
                "latency_base_s": MODELS[m]["latency_base_s"],
                "latency_per_token_s": MODELS[m]["latency_per_token_s"]}
            for m in MODELS
        },
        "n_users": int(n_users),
    }
