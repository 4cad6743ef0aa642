"""The turn simulation of the sample generator: rows, their random numbers, and turn by turn.

:class:`_TurnSimulation` takes the conversations (:class:`_Conversations`), their row layout
(:class:`_Layout`) and the random numbers drawn up front (:class:`_RowDraws`) and decides, for
all conversations' k-th turns at once, what the user says, what kind of answer the bot gives, its
template, how long it takes and, at the end, whether the conversation was resolved.

Examples
--------
>>> from toolkit.sample import generate_sample
>>> s = generate_sample(seed=4, days=1)
>>> bool((s.log.turns.groupby("conversation_id")["turn"].max() < 6).all())
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.sample.params import (
    _BAD_CUM,
    _ERR_BY_HOUR,
    _GENERIC,
    _GOOD,
    _MODEL_NAMES,
    _OFF,
    _P_ERR_BASE,
    _P_ERR_INCIDENT,
    HOUR_NS,
    MODELS,
    SEC_NS,
    _intent_weights,
    _Params,
)
from toolkit.sample.plants import response_time_factor
from toolkit.sample.texts import INTENTS, _Templates

__all__: list[str] = []


# ---- conversations ----------------------------------------------------------------------------


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
        # per-user resolution offset, from a stream of its own (the same users get the same
        # offset in every block), centred over the conversations simulated here
        z = np.random.default_rng([p.seed, 15]).normal(0.0, p.user_resolution_sd, convs.n_users)
        self.user_res = z[convs.user] - float(z[convs.user].mean())
        self.g_expected = self.p_good_v * (1.0 - _P_ERR_BASE)  # expected good share outside the regression
        self.rt_factor = response_time_factor(convs.intent, convs.variant_b)  # planted per topic
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
        # share - its expected value) + the user's offset: centred, so the planted rates are the marginal rates
        # (apart from the dip during the quality regression)
        answered, g_exp = self.answered[convs], self.g_expected[convs]
        g = np.where(answered > 0, self.good_count[convs] / np.maximum(answered, 1), g_exp)
        p = np.clip(self.p_res_v[convs] + self.res_offset[self.c.intent[convs]] + 0.6 * (g - g_exp)
                    + self.user_res[convs], 0.02, 0.98)
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
        r = (self.base[m] + self.per_tok[m] * ctok) * noise * self.rt_factor[convs]
        r = np.where(self.in_lat[rows], r * self.p.latency_factor, r)
        r = np.where(err == 1, 30.0 + 0.5 * noise, r)  # timeout after 30 s
        r = np.where(err == 2, 0.15 * noise, r)         # rate limit: fast failure
        r = np.round(r, 3)
        self.rt[rows] = r
        cur_ts = req + (r * SEC_NS).astype(np.int64)
        cur_ts = (cur_ts // 1_000_000) * 1_000_000  # millisecond resolution
        self.ts[rows] = cur_ts
        return cur_ts
