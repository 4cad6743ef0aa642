"""The sample generator: :func:`generate_sample` as small named steps.

The steps, in the order in which they draw from ``numpy.random.default_rng(seed)`` (the order is
part of the output: the same seed gives the same data only while it is kept):

1. :func:`~toolkit.sample.texts._build_templates`: the texts, and the garbled answers drawn;
2. :func:`_traffic`: conversation start times (hourly Poisson, seasonality, trend);
3. :func:`_conversations`: intent, variant, length, closing message, user, bot, model;
4. :func:`_slot_values`: order numbers, products, dates, amounts, ... per conversation;
5. :class:`_RowDraws`: every per-turn random number, in row order;
6. :class:`_TurnSimulation`: turn by turn, answer kinds, errors, templates, response times,
   timestamps and the hidden resolution;
7. :func:`_texts`: messages rendered from the templates, with noise on user messages;
8. :func:`_tokens_and_cost` (no randomness);
9. :func:`_outcome`: satisfaction, and which outcomes are observed;
10. :func:`_frames`: the turns and conversations tables, validated;
11. :func:`toolkit.sample.truth.build_truth`: what was planted.

Examples
--------
>>> s = generate_sample(seed=2, days=2)
>>> s.truth["n_turns"] == len(s.log.turns)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from toolkit.sample.params import (
    _BAD_CUM,
    _BOT_NAMES,
    _BOTS,
    _DAILY,
    _ERR_BY_HOUR,
    _ERROR_TEXTS,
    _GARBLED,
    _GENERIC,
    _GOOD,
    _MODEL_NAMES,
    _OFF,
    _P_ERR_BASE,
    _P_ERR_INCIDENT,
    _TURN_COUNT_P,
    _WEEKLY,
    DAY_NS,
    DEFAULT_CONVERSATIONS_PER_DAY,
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_START,
    HOUR_NS,
    MODELS,
    SEC_NS,
    _intent_weights,
    _Params,
)
from toolkit.sample.texts import (
    INTENTS,
    TEXTS,
    _add_noise,
    _build_templates,
    _join,
    _num,
    _str,
    _take,
    _Templates,
)

__all__ = ["Sample", "generate_sample"]

@dataclass(frozen=True)
class Sample:
    """A generated sample: the validated conversation log and the truth planted in it.

    Attributes
    ----------
    log : ConversationLog
        ``log.turns`` and ``log.conversations``, validated by :func:`toolkit.log.validate`.
    truth : dict
        What was planted (see the module docstring and ``truth.json``): ``intents``,
        ``conversations`` (intent and answer kinds per conversation), ``variants`` (planted
        effects), ``incidents`` (windows), ``trend``, ``seasonality``, ``models`` (prices).
    """

    log: Any
    truth: dict

    def __repr__(self) -> str:
        t = self.truth
        return (f"Sample(seed={t['seed']}, {t['n_conversations']} conversations, "
                f"{t['n_turns']} turns, {t['start']} .. {t['end']})")


# ---- 2. traffic -------------------------------------------------------------------------------


def _hourly_rate(p: _Params) -> np.ndarray:
    """Expected conversation starts per hour: daily and weekly profile, growth trend."""
    h = np.arange(p.days * 24)
    dow = (int(p.t0.day_of_week) + h // 24) % 7
    return (p.conversations_per_day / 24.0) * _DAILY[h % 24] * _WEEKLY[dow] * (1.0 + p.growth_per_day) ** (h / 24.0)


def _traffic(rng: np.random.Generator, p: _Params, conversations: int | None) -> np.ndarray:
    """Sorted start times (ns, millisecond resolution) of the conversations."""
    rate = _hourly_rate(p)
    expected = float(rate.sum())
    n_conv = int(conversations) if conversations is not None else max(1, int(rng.poisson(expected)))
    per_hour = rng.multinomial(n_conv, rate / expected)
    hour_of_conv = np.repeat(np.arange(len(rate)), per_hour)
    conv_start = p.t0_ns + hour_of_conv * HOUR_NS + (rng.random(n_conv) * 3600 * 1000).astype(np.int64) * 1_000_000
    conv_start.sort()
    return conv_start


# ---- 3. conversations -------------------------------------------------------------------------


@dataclass
class _Conversations:
    """Per-conversation attributes (index = conversation, in start order)."""

    start: np.ndarray      # ns
    intent: np.ndarray
    variant_b: np.ndarray  # bool
    n_turns: np.ndarray
    has_closing: np.ndarray
    user: np.ndarray       # index into the user pool
    n_users: int           # size of the user pool
    bot: np.ndarray
    model: np.ndarray

    @property
    def n(self) -> int:
        return len(self.start)


def _users(rng: np.random.Generator, n_conv: int) -> tuple[np.ndarray, int, np.ndarray]:
    """Repeat users (Pareto activity): each conversation's user, the pool size, preferred bot."""
    n_users = max(1, int(n_conv * 0.55))
    user_w = rng.pareto(1.2, n_users) + 1.0
    user = rng.choice(n_users, size=n_conv, p=user_w / user_w.sum())
    user_pref = (rng.random(n_users) >= _BOTS[_BOT_NAMES[0]][0]).astype(np.int64)
    return user, n_users, user_pref


def _bots_and_models(rng: np.random.Generator, pref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A user's preferred bot 90 % of the time; the model from the bot's model mix."""
    n = len(pref)
    bot = np.where(rng.random(n) < 0.9, pref, 1 - pref)
    model = np.empty(n, dtype=np.int64)
    u_model = rng.random(n)
    for b, bname in enumerate(_BOT_NAMES):
        mix = np.cumsum([_BOTS[bname][1][m] for m in _MODEL_NAMES])
        sel = bot == b
        model[sel] = np.searchsorted(mix, u_model[sel] * mix[-1], side="right")
    return bot, np.minimum(model, len(_MODEL_NAMES) - 1)


def _conversations(rng: np.random.Generator, conv_start: np.ndarray) -> _Conversations:
    n_conv = len(conv_start)
    intent = rng.choice(len(INTENTS), size=n_conv, p=_intent_weights())
    variant_b = rng.random(n_conv) < 0.5
    n_turns = rng.choice(np.arange(1, 7), size=n_conv, p=_TURN_COUNT_P)
    has_closing = (n_turns >= 2) & (rng.random(n_conv) < 0.75)
    user, n_users, user_pref = _users(rng, n_conv)
    bot, model = _bots_and_models(rng, user_pref[user])
    return _Conversations(conv_start, intent, variant_b, n_turns, has_closing, user, n_users, bot, model)


# ---- 4. slot values ---------------------------------------------------------------------------


def _slot_values(rng: np.random.Generator, p: _Params, convs: _Conversations) -> tuple[Any, np.ndarray]:
    """Slot values, one per conversation and slot type, as one pyarrow string array.

    Slot type k of conversation c is at ``k * n + c``, and an empty string at the end; also
    the length of every value (``[k, c]``).
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    n_conv, t0 = convs.n, p.t0
    start_days = (convs.start - p.t0_ns) // DAY_NS
    past = t0 + pd.to_timedelta(start_days - rng.integers(2, 12, n_conv), unit="D")
    future = t0 + pd.to_timedelta(start_days + rng.integers(2, 9, n_conv), unit="D")

    def fmt_date(d) -> "Any":
        return _join(_take(TEXTS["months"], d.month.to_numpy() - 1), " ", _num(d.day.to_numpy()))

    def pick(values: list[str]) -> "Any":
        return _take(values, rng.integers(0, len(values), n_conv))

    order = _join(_take(["#", "ORD-", ""], rng.integers(0, 3, n_conv)),
                  _num(rng.integers(1_000_000, 10_000_000, n_conv)))
    dollars = np.round(np.exp(rng.normal(3.6, 0.8, n_conv))).clip(3, 2000)
    amount = _join("$", _num(dollars), ".", _take(["00", "49", "90", "95", "99"], rng.integers(0, 5, n_conv)))
    topics = [t for n in INTENTS for t in INTENTS[n]["topic"][:2]]
    product = pick(TEXTS["products"])
    topic = _take(topics, convs.intent * 2 + rng.integers(0, 2, n_conv))
    slot_vals = [  # in the order of texts._SLOTS (the list is built left to right: draw order)
        order,
        product,
        fmt_date(past),
        fmt_date(future),
        amount,
        _join(pick(TEXTS["code_words"]), pick(TEXTS["code_numbers"])),
        _num(rng.integers(0, 10_000, n_conv), 4),
        pick(TEXTS["cities"]),
        pick(TEXTS["plans"]),
        _num(rng.integers(5, 500, n_conv) * 10),
        pick(TEXTS["days"]),
        topic,
    ]
    slot_len = np.stack([pc.utf8_length(v).to_numpy().astype(np.int64) for v in slot_vals])
    return pa.concat_arrays([*slot_vals, pa.array([""], type=pa.string())]), slot_len


# ---- 5. rows ----------------------------------------------------------------------------------


@dataclass
class _Layout:
    """Where each conversation's turns are: rows sorted by conversation, then turn."""

    n_rows: int
    row_start: np.ndarray  # first row of each conversation
    conv_of: np.ndarray    # conversation of each row
    turn: np.ndarray       # 0-based turn number of each row
    closing: np.ndarray    # the row is a closing message ("thanks, that worked")

    @classmethod
    def of(cls, convs: _Conversations) -> "_Layout":
        n_turns = convs.n_turns
        n_rows = int(n_turns.sum())
        row_start = np.zeros(convs.n, dtype=np.int64)
        np.cumsum(n_turns[:-1], out=row_start[1:])
        conv_of = np.repeat(np.arange(convs.n), n_turns)
        turn = np.arange(n_rows) - row_start[conv_of]
        last = turn == n_turns[conv_of] - 1
        return cls(n_rows, row_start, conv_of, turn, last & convs.has_closing[conv_of])


@dataclass
class _RowDraws:
    """Every random number the turn simulation needs, drawn up front in row order."""

    u_kind: np.ndarray
    u_tpl_user: np.ndarray
    u_tpl_bot: np.ndarray
    u_follow_generic: np.ndarray
    u_other: np.ndarray     # offset to another intent (off-topic answers)
    u_err: np.ndarray
    u_err_kind: np.ndarray
    u_leak: np.ndarray
    gap_s: np.ndarray       # user's think time before the next message
    rt_noise: np.ndarray
    tok_noise: np.ndarray   # (2, n_rows): user and bot tokens
    u_res: np.ndarray       # per conversation: resolution
    u_detail: np.ndarray    # (2, n_conv): first message gets a detail sentence, which one

    @classmethod
    def draw(cls, rng: np.random.Generator, n_rows: int, n_conv: int) -> "_RowDraws":
        return cls(
            u_kind=rng.random(n_rows),
            u_tpl_user=rng.random(n_rows),
            u_tpl_bot=rng.random(n_rows),
            u_follow_generic=rng.random(n_rows),
            u_other=rng.integers(1, len(INTENTS), n_rows),
            u_err=rng.random(n_rows),
            u_err_kind=rng.random(n_rows),
            u_leak=rng.random(n_rows),
            gap_s=np.clip(np.exp(rng.normal(np.log(20.0), 0.7, n_rows)), 2.0, 600.0),
            rt_noise=np.exp(rng.normal(0.0, 0.3, n_rows)),
            tok_noise=np.exp(rng.normal(0.0, 0.05, (2, n_rows))),
            u_res=rng.random(n_conv),
            u_detail=rng.random((2, n_conv)),
        )


# ---- 6. turns ---------------------------------------------------------------------------------


class _TurnSimulation:
    """All conversations' k-th turns at once, k = 0..5: what the user asks, what kind of answer
    the bot gives (good/generic/off-topic/garbled, or an error), its template, how long it takes,
    and (at the closing message or the last turn) whether the conversation was resolved.

    Results (per row unless said): ``kind``, ``err`` (0 ok, 1 timeout, 2 rate limit),
    ``user_tid``, ``bot_tid`` (template ids), ``bot_src`` (whose slot values the answer uses),
    ``bot_len`` (characters), ``rt`` (s), ``ts`` (ns), ``resolved_true`` (per conversation).
    """

    def __init__(self, p: _Params, tpl: _Templates, convs: _Conversations, layout: _Layout,
                 draws: _RowDraws, slot_len: np.ndarray) -> None:
        self.p, self.tpl, self.c, self.rows, self.d, self.slot_len = p, tpl, convs, layout, draws, slot_len
        self.n_int = len(INTENTS)
        self.lat_ns, self.reg_ns = p.windows()
        n_rows, n_conv = layout.n_rows, convs.n
        self.kind = np.zeros(n_rows, dtype=np.int8)
        self.err = np.zeros(n_rows, dtype=np.int8)
        self.user_tid = np.zeros(n_rows, dtype=np.int64)
        self.bot_tid = np.zeros(n_rows, dtype=np.int64)
        # whose slot values a bot answer uses: its own conversation's, except off-topic answers,
        # which were meant for another customer (another conversation's order, product, ...)
        self.bot_src = layout.conv_of.copy()
        self.bot_len = np.zeros(n_rows, dtype=np.int64)
        self.rt = np.zeros(n_rows)
        self.ts = np.zeros(n_rows, dtype=np.int64)
        self.in_lat = np.zeros(n_rows, dtype=bool)
        self.in_reg = np.zeros(n_rows, dtype=bool)
        self.resolved_true = np.zeros(n_conv, dtype=bool)
        self.good_count = np.zeros(n_conv)
        self.answered = np.zeros(n_conv)
        self.p_good_v = np.where(convs.variant_b, p.good_rate[1], p.good_rate[0])
        self.p_res_v = np.where(convs.variant_b, p.resolution[1], p.resolution[0])
        off = np.array([INTENTS[n]["resolution_offset"] for n in INTENTS])
        self.res_offset = off - float(off @ _intent_weights())  # centred: planted rates are marginal
        self.g_expected = self.p_good_v * (1.0 - _P_ERR_BASE)  # expected good share outside the regression
        self.base = np.array([MODELS[m]["latency_base_s"] for m in _MODEL_NAMES])
        self.per_tok = np.array([MODELS[m]["latency_per_token_s"] for m in _MODEL_NAMES])

    def run(self) -> "_TurnSimulation":
        prev_ts = prev_convs = None
        for k in range(6):
            convs = np.flatnonzero(self.c.n_turns > k)
            if len(convs) == 0:
                break
            rows = self.rows.row_start[convs] + k
            # when the user's message arrives (the request), and which windows it falls in
            if k == 0:
                req = self.c.start[convs]
            else:
                req = prev_ts[self.c.n_turns[prev_convs] > k] + (self.d.gap_s[rows] * SEC_NS).astype(np.int64)
            self.in_lat[rows] = (req >= self.lat_ns[0]) & (req < self.lat_ns[1])
            self.in_reg[rows] = (req >= self.reg_ns[0]) & (req < self.reg_ns[1])
            is_close = self.rows.closing[rows]
            self._user_message(k, convs, rows, is_close)
            kd, is_err = self._answer_kind(convs, rows, req, is_close)
            blen = self._bot_answer(convs, rows, kd, is_err, is_close)
            prev_ts = self._timing(convs, rows, req, blen)
            # conversations whose last turn was this one and had no closing message
            done = (self.c.n_turns[convs] == k + 1) & ~self.c.has_closing[convs]
            if done.any():
                self._decide_resolution(convs[done])
            prev_convs = convs
        return self

    def _pick(self, name: str, intent: np.ndarray, u: np.ndarray) -> np.ndarray:
        return self.tpl.pick(name, intent, u, self.n_int)

    def _decide_resolution(self, convs: np.ndarray) -> None:
        # P(resolved) = planted variant rate + intent offset + 0.6 x (the conversation's good-answer
        # share - its expected value): centred, so the planted rates are the marginal rates
        # (apart from the dip during the quality regression)
        answered, g_exp = self.answered[convs], self.g_expected[convs]
        g = np.where(answered > 0, self.good_count[convs] / np.maximum(answered, 1), g_exp)
        p = np.clip(self.p_res_v[convs] + self.res_offset[self.c.intent[convs]] + 0.6 * (g - g_exp), 0.02, 0.98)
        self.resolved_true[convs] = self.d.u_res[convs] < p

    def _user_message(self, k: int, convs: np.ndarray, rows: np.ndarray, is_close: np.ndarray) -> None:
        it, ut = self.c.intent[convs], self.d.u_tpl_user[rows]
        if k == 0:
            self.user_tid[rows] = self._pick("first", it, ut)
            return
        # a clarification; after a poor answer the user is more often confused
        prev_good = self.kind[rows - 1] == _GOOD
        uf = self.d.u_follow_generic[rows]
        t_follow = np.where(
            prev_good,
            np.where(uf < 0.35, self._pick("follow_neutral", it, ut), self._pick("follow", it, ut)),
            np.where(uf < 0.7, self._pick("follow_confused", it, ut), self._pick("follow", it, ut)),
        )
        if is_close.any():
            self._decide_resolution(convs[is_close])
        res = self.resolved_true[convs]
        t_close = np.where(res, self._pick("close_res_user", it, ut), self._pick("close_unres_user", it, ut))
        self.user_tid[rows] = np.where(is_close, t_close, t_follow)

    def _answer_kind(self, convs, rows, req, is_close) -> tuple[np.ndarray, np.ndarray]:
        pg = np.clip(self.p_good_v[convs] - self.p.good_rate_drop * self.in_reg[rows], 0.0, 1.0)
        cut = pg[:, None] + (1.0 - pg)[:, None] * _BAD_CUM[None, :]
        kd = (self.d.u_kind[rows][:, None] >= cut).sum(axis=1).astype(np.int8)
        # errors (timeouts and rate limits), more timeouts during the latency incident
        p_err = np.where(self.in_lat[rows], _P_ERR_INCIDENT, _ERR_BY_HOUR[(req // HOUR_NS) % 24])
        is_err = self.d.u_err[rows] < p_err
        e_kind = np.where(self.in_lat[rows] | (self.d.u_err_kind[rows] < 0.6), 1, 2)
        self.err[rows] = np.where(is_err, e_kind, 0)
        kd = np.where(is_err, _GENERIC, kd).astype(np.int8)
        self.kind[rows] = kd
        if not is_close.all():
            nc = ~is_close
            self.good_count[convs[nc]] += kd[nc] == _GOOD
            self.answered[convs[nc]] += 1
        return kd, is_err

    def _bot_answer(self, convs, rows, kd, is_err, is_close) -> np.ndarray:
        it, ub = self.c.intent[convs], self.d.u_tpl_bot[rows]
        res = self.resolved_true[convs]
        good_t = np.where(
            is_close,
            np.where(res, self._pick("close_res_bot", it, ub), self._pick("close_unres_bot", it, ub)),
            self._pick("good", it, ub),
        )
        other = (it + self.d.u_other[rows]) % self.n_int
        off_t = self._pick("good", other, ub)
        garb_t = np.where(self.d.u_leak[rows] < 0.15, self._pick("leaked", it, ub), self._pick("garbled", it, ub))
        tid = np.select([kd == _GOOD, kd == _GENERIC, kd == _OFF], [good_t, self._pick("generic", it, ub), off_t], garb_t)
        tid = np.where(is_err, self._pick("error", it, ub), tid)
        self.bot_tid[rows] = tid
        src = np.where(kd == _OFF, (convs + 1 + self.d.u_other[rows] * 7919) % self.c.n, convs)
        self.bot_src[rows] = src
        blen = self.tpl.lengths(tid, src, self.slot_len)
        self.bot_len[rows] = blen
        return blen

    def _timing(self, convs, rows, req, blen) -> np.ndarray:
        """Response time: model latency + per-token generation, lognormal noise, incident factor."""
        ctok = np.maximum(1.0, blen / 4.0)
        m = self.c.model[convs]
        noise, err = self.d.rt_noise[rows], self.err[rows]
        r = (self.base[m] + self.per_tok[m] * ctok) * noise
        r = np.where(self.in_lat[rows], r * self.p.latency_factor, r)
        r = np.where(err == 1, 30.0 + 0.5 * noise, r)  # timeout after 30 s
        r = np.where(err == 2, 0.15 * noise, r)         # rate limit: fast failure
        r = np.round(r, 3)
        self.rt[rows] = r
        cur_ts = req + (r * SEC_NS).astype(np.int64)
        cur_ts = (cur_ts // 1_000_000) * 1_000_000  # millisecond resolution
        self.ts[rows] = cur_ts
        return cur_ts


# ---- 7-9. texts, tokens, outcome --------------------------------------------------------------


def _texts(rng: np.random.Generator, sim: _TurnSimulation, slots: Any) -> tuple[Any, Any]:
    """User and bot messages rendered from their templates; half of the first messages get a
    detail sentence ("I've tried to log in five times now."); noise on user messages."""
    import pyarrow as pa
    import pyarrow.compute as pc

    tpl, lay, d, n_conv = sim.tpl, sim.rows, sim.d, sim.c.n
    user_text = tpl.render(sim.user_tid, lay.conv_of, slots, n_conv)
    with_detail = np.flatnonzero(d.u_detail[0] < 0.5)
    detail_tid = tpl.pick("detail", sim.c.intent[with_detail], d.u_detail[1][with_detail], sim.n_int)
    has_detail = np.zeros(lay.n_rows, dtype=bool)
    has_detail[lay.row_start[with_detail]] = True
    mask = pa.array(has_detail)
    user_text = pc.replace_with_mask(
        user_text, mask, _join(user_text.filter(mask), " ", tpl.render(detail_tid, with_detail, slots, n_conv))
    )
    bot_text = tpl.render(sim.bot_tid, sim.bot_src, slots, n_conv)
    return _add_noise(rng, user_text, lay.turn == 0), bot_text


@dataclass
class _Usage:
    prompt_tok: np.ndarray
    comp_tok: np.ndarray
    cost: np.ndarray
    failed: np.ndarray


def _tokens_and_cost(sim: _TurnSimulation, user_text: Any) -> _Usage:
    """Tokens (~4 characters each; the prompt carries the system prompt and the history) and cost."""
    import pyarrow.compute as pc

    lay, conv_of, tok_noise = sim.rows, sim.rows.conv_of, sim.d.tok_noise
    sys_tokens = np.where(sim.c.variant_b, 310, 220)
    user_tok = np.maximum(1, np.round(pc.utf8_length(user_text).to_numpy() / 4.0 * tok_noise[0])).astype(np.int64)
    comp_tok = np.maximum(1, np.round(sim.bot_len / 4.0 * tok_noise[1])).astype(np.int64)
    pair = user_tok + comp_tok
    cum = np.cumsum(pair)
    history = cum - pair - (cum - pair)[lay.row_start][conv_of]  # tokens of earlier turns in the conversation
    prompt_tok = sys_tokens[conv_of] + history + user_tok
    model = sim.c.model[conv_of]
    price_p = np.array([MODELS[m]["price_prompt_per_1k"] for m in _MODEL_NAMES])[model]
    price_c = np.array([MODELS[m]["price_completion_per_1k"] for m in _MODEL_NAMES])[model]
    cost = np.round(prompt_tok / 1000.0 * price_p + comp_tok / 1000.0 * price_c, 8)
    return _Usage(prompt_tok, comp_tok, cost, sim.err > 0)


@dataclass
class _Outcome:
    sat: np.ndarray           # satisfaction drawn for every conversation
    sat_observed: np.ndarray  # ~60 % answer the survey
    res_observed: np.ndarray  # ~93 % have a resolution label


def _outcome(rng: np.random.Generator, sim: _TurnSimulation) -> _Outcome:
    """Satisfaction ~ Beta around 0.30 + 0.35 resolved + 0.25 good share - 0.15 garbled share."""
    n_conv, n_turns = sim.c.n, sim.c.n_turns
    kinds_per_conv = np.zeros((n_conv, 4))
    np.add.at(kinds_per_conv, (sim.rows.conv_of, sim.kind.astype(np.int64)), 1.0)
    good_share = kinds_per_conv[:, _GOOD] / n_turns
    garbled_share = kinds_per_conv[:, _GARBLED] / n_turns
    sat_mean = np.clip(0.30 + 0.35 * sim.resolved_true + 0.25 * good_share - 0.15 * garbled_share, 0.02, 0.98)
    kappa = 6.0
    sat = np.round(rng.beta(sat_mean * kappa, (1 - sat_mean) * kappa), 2)
    sat_observed = rng.random(n_conv) < 0.6
    res_observed = rng.random(n_conv) >= 0.07
    return _Outcome(sat, sat_observed, res_observed)


# ---- 10. frames -------------------------------------------------------------------------------


def _conversation_ids(first: int, n: int, n_total: int) -> Any:
    """``c000001`` ...: conversations ``first + 1 .. first + n``, padded for ``n_total``."""
    return _join("c", _num(np.arange(first + 1, first + n + 1), max(6, len(str(n_total)))))


def _frames(sim: _TurnSimulation, usage: _Usage, out: _Outcome, user_text: Any, bot_text: Any,
            *, first: int = 0, n_total: int | None = None) -> tuple[Any, Any]:
    """The turns and conversations tables (ids numbered from ``first``, padded for ``n_total``)."""
    import pandas as pd
    import pyarrow as pa

    c, lay = sim.c, sim.rows
    cid_pa = _conversation_ids(first, c.n, n_total or c.n)
    uid_pa = _join("u", _num(c.user + 1, max(6, len(str(c.n_users)))))
    bot_pa = pa.array(_BOT_NAMES, type=pa.string()).take(c.bot)
    var_pa = pa.array(["A", "B"], type=pa.string()).take(c.variant_b.astype(np.int64))
    model_pa = pa.array(_MODEL_NAMES, type=pa.string()).take(c.model)
    conv_pa = pa.array(lay.conv_of)
    failed = usage.failed

    def utc(ns: np.ndarray) -> Any:
        return pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")

    turns = pd.DataFrame(
        {
            "conversation_id": _str(cid_pa.take(conv_pa)),
            "turn": lay.turn.astype(np.int64),
            "timestamp": utc(sim.ts),
            "user_id": _str(uid_pa.take(conv_pa)),
            "bot_id": _str(bot_pa.take(conv_pa)),
            "variant": _str(var_pa.take(conv_pa)),
            "model": _str(model_pa.take(conv_pa)),
            "user_input": _str(user_text),
            "bot_response": _str(bot_text),
            "response_time_s": sim.rt,
            "prompt_tokens": pd.arrays.IntegerArray(usage.prompt_tok, failed.copy()),
            "completion_tokens": pd.arrays.IntegerArray(usage.comp_tok, failed.copy()),
            "cost_usd": np.where(failed, np.nan, usage.cost),
            "error": _str(pa.array(_ERROR_TEXTS[sim.err], type=pa.string(), mask=~failed)),
        }
    )
    conversations = pd.DataFrame(
        {
            "conversation_id": _str(cid_pa),
            "user_id": _str(uid_pa),
            "bot_id": _str(bot_pa),
            "variant": _str(var_pa),
            "start_time": utc(c.start),
            "end_time": utc(sim.ts[lay.row_start + c.n_turns - 1]),
            "satisfaction": np.where(out.sat_observed, out.sat, np.nan),
            "resolved": pd.array(np.where(out.res_observed, sim.resolved_true, None), dtype="boolean"),
        }
    )
    return turns, conversations


# ---- the generator ----------------------------------------------------------------------------


def _simulate(rng: np.random.Generator, p: _Params, tpl: _Templates, convs: _Conversations):
    """Steps 4-9 for a set of conversations: (simulation, usage, outcome, user_text, bot_text)."""
    slots, slot_len = _slot_values(rng, p, convs)
    layout = _Layout.of(convs)
    draws = _RowDraws.draw(rng, layout.n_rows, convs.n)
    sim = _TurnSimulation(p, tpl, convs, layout, draws, slot_len).run()
    user_text, bot_text = _texts(rng, sim, slots)
    usage = _tokens_and_cost(sim, user_text)
    return sim, usage, _outcome(rng, sim), user_text, bot_text


def generate_sample(
    seed: int = DEFAULT_SEED,
    days: int = DEFAULT_DAYS,
    conversations: int | None = None,
    start: str = DEFAULT_START,
    *,
    conversations_per_day: float = DEFAULT_CONVERSATIONS_PER_DAY,
    resolution: tuple[float, float] = (0.60, 0.66),
    good_rate: tuple[float, float] = (0.68, 0.73),
    growth_per_day: float = 0.005,
    latency_factor: float = 3.5,
    good_rate_drop: float = 0.30,
) -> Sample:
    """Generate a realistic customer-service conversation log and the truth planted in it.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``; the same arguments give identical data.
    days : int
        Length of the range in days (UTC midnight to midnight), at least 1.
    conversations : int, optional
        Exact number of conversations. By default it is drawn from the Poisson traffic model
        (about ``conversations_per_day`` per weekday, growing with the trend): ~12,600
        conversations and ~38,000 turns for 60 days.
    start : str or Timestamp
        First day of the range (UTC if naive).
    conversations_per_day : float
        Expected conversation starts on a weekday at the start of the range.
    resolution : (float, float)
        Planted probability that a conversation is resolved, variant A and B (before the effect
        of the conversation's answer quality, which is centred on the variant's planted rate).
    good_rate : (float, float)
        Planted per-turn probability of a good answer, variant A and B (outside the regression).
    growth_per_day : float
        Multiplicative traffic trend per day (0.005 = +0.5 % a day).
    latency_factor : float
        Response-time multiplier during the latency incident.
    good_rate_drop : float
        Absolute drop of the good-answer probability during the quality regression.

    Returns
    -------
    Sample
        ``.log`` (a validated :class:`~toolkit.log.ConversationLog`) and ``.truth`` (dict).

    Examples
    --------
    >>> s = generate_sample(seed=3, days=7)
    >>> bool(s.log.turns["variant"].isin(["A", "B"]).all())
    True
    >>> sorted(k["kind"] for k in s.truth["incidents"])
    ['latency', 'quality_regression']
    """
    from toolkit.log import validate
    from toolkit.sample.truth import build_truth

    p = _Params.check(seed, days, conversations, start, conversations_per_day=conversations_per_day,
                      resolution=resolution, good_rate=good_rate, growth_per_day=growth_per_day,
                      latency_factor=latency_factor, good_rate_drop=good_rate_drop)
    rng = np.random.default_rng(seed)
    tpl = _build_templates(rng)
    convs = _conversations(rng, _traffic(rng, p, conversations))
    sim, usage, out, user_text, bot_text = _simulate(rng, p, tpl, convs)
    turns, conv_frame = _frames(sim, usage, out, user_text, bot_text)
    log = validate(turns, conv_frame, source=f"generate_sample(seed={seed})")
    ids = conv_frame["conversation_id"].tolist()
    return Sample(log=log, truth=build_truth(p, sim, out, ids))
