"""The sample generator: :func:`generate_sample` as small named steps.

The steps, in the order in which they draw from ``numpy.random.default_rng(seed)`` (the order is
part of the output: the same seed gives the same data only while it is kept):

1. :func:`~toolkit.sample.texts._build_templates`: the texts, and the garbled answers drawn;
2. :func:`_traffic`: conversation start times (hourly Poisson, seasonality, trend);
3. :func:`_conversations`: intent, variant, length, closing message, user, bot, model; then
   :func:`toolkit.sample.plants.plant_mix_shift` (a stream of its own) shifts the topic mix and
   :func:`_topic_spike` switches some intents in the spike window (its own stream,
   ``default_rng([seed, 27])``, so no other draw moves);
4. :func:`_slot_values`: order numbers, products, dates, amounts, ... per conversation;
5. :class:`_RowDraws`: every per-turn random number, in row order;
6. :class:`_TurnSimulation`: turn by turn, answer kinds, errors, templates, response times,
   timestamps and the hidden resolution;
7. :func:`_texts`: messages rendered from the templates, with noise on user messages;
8. :func:`_tokens_and_cost` (no randomness);
9. :func:`_outcome`: satisfaction, and which outcomes are observed;
10. :func:`_frames`: the turns and conversations tables, validated;
11. :func:`toolkit.sample.truth.build_truth`: what was planted.

Steps 5 and 6 live in :mod:`toolkit.sample.turns`. ``generate_sample(blockwise=True)`` (and
:func:`toolkit.sample.write_partitioned`) run steps 3-10 once per block of 10,000 conversations,
each block with its own random stream (:class:`_BlockPlan`).

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
    _BOT_NAMES,
    _BOTS,
    _DAILY,
    _ERROR_TEXTS,
    _GARBLED,
    _GOOD,
    _MODEL_NAMES,
    _TURN_COUNT_P,
    _WEEKLY,
    DAY_NS,
    DEFAULT_CONVERSATIONS_PER_DAY,
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_START,
    HOUR_NS,
    MODELS,
    TOPIC_SPIKE_INTENT,
    TOPIC_SPIKE_SHARE,
    _intent_weights,
    _Params,
)
from toolkit.sample.plants import plant_mix_shift
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
from toolkit.sample.turns import _Conversations, _Layout, _RowDraws, _TurnSimulation

__all__ = ["Sample", "generate_sample", "BLOCK_CONVERSATIONS"]


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


def _users(rng: np.random.Generator, n_conv: int) -> tuple[np.ndarray, int, np.ndarray]:
    """Repeat users (Pareto activity): each conversation's user, the pool size, preferred bot.

    One-piece samples draw in this order (weights, choice, preference); blockwise samples draw
    the pool once (:class:`_UserPool`) and the choices per block.
    """
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


@dataclass
class _UserPool:
    """The users of a blockwise sample, drawn once: activity weights (as a CDF), preferred bot."""

    n_users: int
    cdf: np.ndarray
    pref: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, n_conv: int) -> "_UserPool":
        n_users = max(1, int(n_conv * 0.55))
        w = rng.pareto(1.2, n_users) + 1.0
        pref = (rng.random(n_users) >= _BOTS[_BOT_NAMES[0]][0]).astype(np.int64)
        cdf = np.cumsum(w)
        return cls(n_users, cdf / cdf[-1], pref)

    def choose(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` users by activity (what ``rng.choice(n_users, p=w)`` does, without redoing the CDF)."""
        return np.minimum(self.cdf.searchsorted(rng.random(n), side="right"), self.n_users - 1)


def _conversations(rng: np.random.Generator, conv_start: np.ndarray, pool: _UserPool | None = None) -> _Conversations:
    """Per-conversation attributes; users from ``pool``, or (one-piece samples) a pool drawn here."""
    n_conv = len(conv_start)
    intent = rng.choice(len(INTENTS), size=n_conv, p=_intent_weights())
    variant_b = rng.random(n_conv) < 0.5
    n_turns = rng.choice(np.arange(1, 7), size=n_conv, p=_TURN_COUNT_P)
    has_closing = (n_turns >= 2) & (rng.random(n_conv) < 0.75)
    if pool is None:
        user, n_users, user_pref = _users(rng, n_conv)
    else:
        user, n_users, user_pref = pool.choose(rng, n_conv), pool.n_users, pool.pref
    bot, model = _bots_and_models(rng, user_pref[user])
    return _Conversations(conv_start, intent, variant_b, n_turns, has_closing, user, n_users, bot, model)


def _topic_spike(p: _Params, convs: _Conversations, block: int | None = None) -> _Conversations:
    """Plant the topic spike: conversations starting in ``p.spike_window()`` switch to
    :data:`TOPIC_SPIKE_INTENT` with probability :data:`TOPIC_SPIKE_SHARE` (the volume is
    unchanged). Drawn from ``default_rng([seed, 27])`` (``[seed, 27, block]`` blockwise): one
    uniform per conversation, so nothing else the generator draws moves."""
    rng = np.random.default_rng([int(p.seed), 27] + ([] if block is None else [int(block)]))
    a, b = p.spike_window()
    u = rng.random(convs.n)
    switch = (convs.start >= a) & (convs.start < b) & (u < TOPIC_SPIKE_SHARE)
    if switch.any():
        convs.intent = np.where(switch, list(INTENTS).index(TOPIC_SPIKE_INTENT), convs.intent)
    return convs


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


# ---- blockwise generation (large samples) -----------------------------------------------------

#: conversations per block. Every block draws from its own random stream (a child of the seed's
#: SeedSequence), so a block can be generated alone, memory stays bounded, and the data do not
#: depend on how many blocks are held in memory at once
BLOCK_CONVERSATIONS = 10_000


@dataclass
class _Block:
    """One block of a blockwise sample: its frames (validated by the caller) and what the truth needs."""

    first: int          # index of its first conversation in the whole sample
    turns: Any
    conversations: Any
    sim: _TurnSimulation
    out: _Outcome


class _BlockPlan:
    """What is drawn for the whole sample (templates, traffic, user pool) and the block seeds."""

    def __init__(self, p: _Params, conversations: int | None) -> None:
        rng = np.random.default_rng(p.seed)
        self.p = p
        self.tpl = _build_templates(rng)
        self.starts = _traffic(rng, p, conversations)
        self.n_conversations = len(self.starts)
        self.pool = _UserPool.draw(rng, self.n_conversations)
        self.n_blocks = -(-self.n_conversations // BLOCK_CONVERSATIONS)
        self.seeds = rng.bit_generator.seed_seq.spawn(self.n_blocks)

    def block(self, i: int) -> _Block:
        a = i * BLOCK_CONVERSATIONS
        b = min(self.n_conversations, a + BLOCK_CONVERSATIONS)
        rng = np.random.default_rng(self.seeds[i])
        convs = _conversations(rng, self.starts[a:b], self.pool)
        plant_mix_shift(self.p, convs, (i,))
        convs = _topic_spike(self.p, convs, block=i)
        sim, usage, out, user_text, bot_text = _simulate(rng, self.p, self.tpl, convs)
        turns, conv_frame = _frames(sim, usage, out, user_text, bot_text, first=a, n_total=self.n_conversations)
        return _Block(a, turns, conv_frame, sim, out)


def _generate_blockwise(p: _Params, conversations: int | None) -> Sample:
    import pandas as pd

    from toolkit.log import validate
    from toolkit.sample.truth import TruthBuilder

    plan = _BlockPlan(p, conversations)
    builder = TruthBuilder(p, plan.pool.n_users)
    turns, convs = [], []
    for i in range(plan.n_blocks):
        blk = plan.block(i)
        builder.add(blk.sim, blk.out, blk.conversations["conversation_id"].tolist())
        turns.append(blk.turns)
        convs.append(blk.conversations)
    log = validate(pd.concat(turns, ignore_index=True), pd.concat(convs, ignore_index=True),
                   source=f"generate_sample(seed={p.seed}, blockwise=True)")
    return Sample(log=log, truth=builder.truth())


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
    user_resolution_sd: float = 0.15,
    blockwise: bool = False,
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
    user_resolution_sd : float
        SD of a per-user offset of the resolution probability (some customers' problems are
        harder), centred over the conversations: a user's conversations resolve alike, which a
        pre-period covariate (CUPED, :mod:`toolkit.ab.cuped`) picks up. Drawn from a random
        stream of its own, so nothing else changes.
    blockwise : bool
        Draw the conversations in independent blocks of :data:`BLOCK_CONVERSATIONS` (10,000),
        each from its own random stream, after the traffic and the user pool: the data that
        :func:`toolkit.sample.write_partitioned` writes for the same arguments. Same model,
        other random draws than ``blockwise=False`` (the default: one stream for the whole
        sample, the data of ``data/sample``); off-topic answers borrow slot values from a
        conversation of the same block.

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
                      latency_factor=latency_factor, good_rate_drop=good_rate_drop,
                      user_resolution_sd=user_resolution_sd)
    if blockwise:
        return _generate_blockwise(p, conversations)
    rng = np.random.default_rng(seed)
    tpl = _build_templates(rng)
    convs = _conversations(rng, _traffic(rng, p, conversations))
    plant_mix_shift(p, convs)
    convs = _topic_spike(p, convs)
    sim, usage, out, user_text, bot_text = _simulate(rng, p, tpl, convs)
    turns, conv_frame = _frames(sim, usage, out, user_text, bot_text)
    log = validate(turns, conv_frame, source=f"generate_sample(seed={seed})")
    ids = conv_frame["conversation_id"].tolist()
    return Sample(log=log, truth=build_truth(p, sim, out, ids))
