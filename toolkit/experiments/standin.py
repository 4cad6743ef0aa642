"""A seeded stand-in bot for prompt experiments, built from the bundled sample's texts.

Real prompt experiments call a model; the demo and the tests need one that runs offline, answers
in natural English, and whose answers carry a **known truth**: how often each variant answers
each example well, which examples are flaky. :class:`StandInBot` is such a bot. It is a plain
callable, ``bot(example, variant) -> str``, the runner's in-process target: ``example`` is a dict
with ``example_id``, ``input`` and ``repetition`` (and the runner's per-call ``seed``),
``variant`` a runner ``Variant`` (its ``name`` is used) or a name.

How it answers (all draws are seeded by (seed, variant, example, repetition), so a call answers
the same every time and a rerun or a resumed run changes nothing):

* every example of the test set has an intent of the sample (``toolkit/sample/intents.json``);
  a good answer is one of that intent's good answers, a bad one a generic answer ("Could you
  tell me more?") or another intent's answer (off topic);
* each variant answers each example well with a fixed probability ``p[variant, example]``
  (the truth). Stable examples have ``p`` of 0.995 (the variant solves it) or 0.005 (it does not);
  whether a variant solves an example follows the variant's ``skill`` through one uniform draw
  per example shared by all variants (a better variant solves what a worse one solves), except
  for a share of examples (``interaction``) where each variant draws its own, because prompts
  suit examples differently. **Flaky** examples (a planted share) have ``p`` near 0.5 for every
  variant: their answer flips from run to run;
* the ``concise`` variant answers with the first sentence only (a style difference the
  ``quality`` score sees).

:meth:`StandInBot.grade` is the matching pass/fail check (the answer is one of the intent's good
answers, or its first sentence), and :meth:`StandInBot.truth` the planted numbers: the expected
pass rate of each variant on this test set and in the population, the expected lifts, and the
flaky examples.

Examples
--------
>>> demo = demo_experiment(n_examples=12, seed=3)
>>> bot = demo.bot
>>> ex = demo.test_set.iloc[0].to_dict()
>>> a = bot({**ex, "repetition": 0}, "baseline")
>>> a == bot({**ex, "repetition": 0}, "baseline")
True
>>> sorted(demo.truth["variants"])
['baseline', 'concise', 'grounded']
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError

__all__ = ["StandInBot", "StandInDemo", "demo_test_set", "demo_variants", "demo_experiment",
           "DEFAULT_SKILLS", "MAX_EXAMPLES"]

#: the demo's variants: name -> (probability of solving a stable example, system message, temperature)
DEFAULT_SKILLS: dict[str, tuple[float, str, float]] = {
    "baseline": (0.65, "You are a helpful customer-service assistant.", 0.7),
    "grounded": (0.85, "You are a customer-service assistant. Name the customer's problem and give "
                       "the specific fix or next step from the help centre.", 0.7),
    "concise": (0.55, "You are a customer-service assistant. Answer in one short sentence.", 0.7),
}
#: the largest test set the stand-in builds
MAX_EXAMPLES = 5000

_P_SOLVED, _P_UNSOLVED, _P_FLAKY = 0.995, 0.005, 0.5
_FILL = {"amount": "$49.99", "card": "Visa ending 4242", "city": "Boston", "code": "SAVE10",
         "date": "Sep 3", "day": "Monday", "eta": "Sep 12", "order": "#48213", "plan": "Premium",
         "points": "1,200", "product": "wireless headphones", "intent": "your request",
         "status": "received"}
_SLOT = re.compile(r"\{\{?(\w+)\}?\}")


class StandInError(ToolkitError):
    """A bad option or example for the stand-in bot (names it)."""


def _texts():
    from toolkit.sample.texts import INTENTS, TEXTS

    return INTENTS, TEXTS


def _fill(text: str, topic: str) -> str:
    return _SLOT.sub(lambda m: topic if m.group(1) == "topic" else _FILL.get(m.group(1), m.group(0)), text)


def _key(*parts) -> int:
    h = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode("utf-8"), digest_size=8)
    return int.from_bytes(h.digest(), "little")


def _rng(*parts) -> np.random.Generator:
    return np.random.default_rng(_key(*parts))


def _first_sentence(text: str) -> str:
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return m.group(1) if m else text


def _name(variant) -> str:
    if isinstance(variant, str):
        return variant
    if isinstance(variant, Mapping) and "name" in variant:
        return str(variant["name"])
    name = getattr(variant, "name", None)
    if name is None:
        raise StandInError(f"variant must be a name or have a .name, got {type(variant).__name__}")
    return str(name)


def demo_test_set(n_examples: int = 60, *, seed: int = 0) -> pd.DataFrame:
    """A test set of first user messages from the sample's intents, round-robin over intents.

    Returns
    -------
    DataFrame
        ``example_id`` (``ex000``, ...), ``input`` (a user message), ``intent``.

    Examples
    --------
    >>> ts = demo_test_set(3)
    >>> ts.columns.tolist(), ts["example_id"].tolist()
    (['example_id', 'input', 'intent'], ['ex000', 'ex001', 'ex002'])
    """
    if not isinstance(n_examples, (int, np.integer)) or not 2 <= n_examples <= MAX_EXAMPLES:
        raise StandInError(f"n_examples must be an integer in [2, {MAX_EXAMPLES}], got {n_examples!r}")
    intents, _ = _texts()
    names = list(intents)
    order = _rng("order", seed).permutation(len(names))
    rows = []
    for i in range(int(n_examples)):
        name = names[order[i % len(names)]]
        first = intents[name]["first"]
        text = first[_key("first", seed, i) % len(first)]
        rows.append({"example_id": f"ex{i:03d}", "input": _fill(text, intents[name]["topic"][0]),
                     "intent": name})
    return pd.DataFrame(rows)


def demo_variants(names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The demo's variants as plain dicts with the runner's ``Variant`` fields (``name``,
    ``system``, ``temperature``): ``Variant(**v)`` for each. Their skills are in
    :data:`DEFAULT_SKILLS` and the bot's truth.

    Examples
    --------
    >>> [v["name"] for v in demo_variants()]
    ['baseline', 'grounded', 'concise']
    """
    names = list(DEFAULT_SKILLS) if names is None else list(names)
    unknown = [n for n in names if n not in DEFAULT_SKILLS]
    if unknown:
        raise StandInError(f"unknown demo variant(s) {unknown}; have {list(DEFAULT_SKILLS)}")
    return [{"name": n, "system": DEFAULT_SKILLS[n][1], "temperature": DEFAULT_SKILLS[n][2]}
            for n in names]


class StandInBot:
    """A seeded offline bot whose answer quality per variant and example is known (see module).

    Parameters
    ----------
    test_set : DataFrame
        ``example_id``, ``input`` and ``intent`` (an intent of the sample); e.g.
        :func:`demo_test_set`. An example not in it is answered by the intent whose phrasings
        share the most words with its input.
    skills : dict, optional
        Variant name -> probability of solving a stable example (default :data:`DEFAULT_SKILLS`).
    flaky_share : float
        Share of examples planted as flaky (answer right about half the time).
    interaction : float
        Share of stable examples on which each variant draws whether it solves the example on its
        own (prompts suit examples differently); the rest share one draw.
    seed : int

    Examples
    --------
    >>> bot = StandInBot(demo_test_set(8), seed=1)
    >>> ex = {"example_id": "ex000", "input": "x", "repetition": 2}
    >>> bot.grade("ex000", bot(ex, "grounded")) in (True, False)
    True
    >>> bot.cache_id == StandInBot(demo_test_set(8), seed=1).cache_id != StandInBot(demo_test_set(8), seed=2).cache_id
    True
    """

    def __init__(self, test_set: pd.DataFrame, *, skills: Mapping[str, float] | None = None,
                 flaky_share: float = 0.15, interaction: float = 0.2, seed: int = 0) -> None:
        for name, v in (("flaky_share", flaky_share), ("interaction", interaction)):
            if not 0.0 <= float(v) <= 1.0:
                raise StandInError(f"{name} must be in [0, 1], got {v!r}")
        missing = [c for c in ("example_id", "input", "intent") if c not in test_set.columns]
        if missing:
            raise StandInError(f"the stand-in's test set needs column(s) {missing}")
        intents, texts = _texts()
        bad = test_set.loc[~test_set["intent"].isin(list(intents)), "intent"]
        if len(bad):
            raise StandInError(f"unknown intent(s) {bad.astype(str).unique()[:5].tolist()} in the test set; "
                               f"have {list(intents)[:5]}...")
        if len(test_set) > MAX_EXAMPLES:
            raise StandInError(f"the stand-in takes at most {MAX_EXAMPLES} examples, got {len(test_set)}")
        self.seed = int(seed)
        self.skills = {k: float(v[0] if isinstance(v, tuple) else v)
                       for k, v in (skills or DEFAULT_SKILLS).items()}
        for k, v in self.skills.items():
            if not 0.0 <= v <= 1.0:
                raise StandInError(f"skill of variant {k!r} must be in [0, 1], got {v!r}")
        self.flaky_share, self.interaction = float(flaky_share), float(interaction)
        self._intents = intents
        self._generic = list(texts["generic_answers"])
        self._examples = {str(r.example_id): str(r.intent) for r in test_set.itertuples()}
        self._good = {name: [_fill(t, d["topic"][0]) for t in d["good"]] for name, d in intents.items()}
        self._good_sets = {name: set(g) | {_first_sentence(t) for t in g} for name, g in self._good.items()}
        self._words = {name: set(re.findall(r"[a-z']+", " ".join(d["first"]).lower()))
                       for name, d in intents.items()}
        # the runner's cache knows a bot by its code and this id: another configuration, test
        # set or text file answers differently, so it must not reuse cached answers
        self.cache_id = "standin-" + hashlib.blake2b(json.dumps(
            [self.seed, sorted(self.skills.items()), self.flaky_share, self.interaction,
             sorted(self._examples.items()), self._good, self._generic], sort_keys=True).encode("utf-8"),
            digest_size=8).hexdigest()
        # per example: flaky?, the shared uniform, and whether its variants draw on their own
        self._plan = {}
        for ex in self._examples:
            rng = _rng("example", self.seed, ex)
            flaky, shared, own = rng.random() < self.flaky_share, rng.random(), rng.random() < self.interaction
            self._plan[ex] = (bool(flaky), float(shared), bool(own))

    # ---- the truth ---------------------------------------------------------------------------

    def p_good(self, example_id: str, variant) -> float:
        """The planted probability that ``variant`` answers ``example_id`` well.

        Examples
        --------
        >>> bot = StandInBot(demo_test_set(4), seed=0)
        >>> 0.0 < bot.p_good("ex000", "baseline") < 1.0
        True
        """
        v = _name(variant)
        skill = self.skills.get(v)
        if skill is None:
            raise StandInError(f"unknown variant {v!r} for the stand-in bot; have {list(self.skills)}")
        ex = str(example_id)
        if ex not in self._plan:
            return skill * _P_SOLVED + (1 - skill) * _P_UNSOLVED
        flaky, shared, own = self._plan[ex]
        if flaky:
            return _P_FLAKY
        u = float(_rng("own", self.seed, ex, v).random()) if own else shared
        return _P_SOLVED if u < skill else _P_UNSOLVED

    def truth(self) -> dict[str, Any]:
        """What was planted: pass rates, lifts against the first variant, flaky examples.

        ``expected_pass_rate`` is the mean planted probability over this test set (what the
        repetition-aware lift estimates when the examples are fixed); ``population_pass_rate``
        the same over the population of examples the test set was drawn from.

        Examples
        --------
        >>> t = StandInBot(demo_test_set(40), seed=0).truth()
        >>> t["control"], t["population_pass_rate"]["grounded"] > t["population_pass_rate"]["baseline"]
        ('baseline', True)
        """
        names = list(self.skills)
        exs = list(self._examples)
        p = {v: np.array([self.p_good(e, v) for e in exs]) for v in names}
        share = self.flaky_share

        def population(v):
            return share * _P_FLAKY + (1 - share) * (self.skills[v] * _P_SOLVED + (1 - self.skills[v]) * _P_UNSOLVED)

        c = names[0]
        flaky = [e for e in exs if self._plan[e][0]]
        return {
            "seed": self.seed, "control": c, "variants": {v: {"skill": self.skills[v]} for v in names},
            "expected_pass_rate": {v: float(p[v].mean()) for v in names},
            "population_pass_rate": {v: float(population(v)) for v in names},
            "expected_lift": {v: float((p[v] - p[c]).mean()) for v in names[1:]},
            "population_lift": {v: float(population(v) - population(c)) for v in names[1:]},
            "flaky_examples": flaky, "flaky_share": share, "interaction": self.interaction,
            "p_good": {v: dict(zip(exs, p[v].round(4).tolist())) for v in names},
            "note": ("planted: per (variant, example) the probability of a good answer; flaky examples "
                     f"answer well with probability {_P_FLAKY}, stable ones {_P_SOLVED} or {_P_UNSOLVED}"),
        }

    # ---- answering ---------------------------------------------------------------------------

    def _intent_of(self, example: Mapping[str, Any]) -> str:
        ex = str(example.get("example_id", ""))
        if ex in self._examples:
            return self._examples[ex]
        words = set(re.findall(r"[a-z']+", str(example.get("input", "")).lower()))
        return max(self._words, key=lambda n: (len(words & self._words[n]), n))

    def __call__(self, example: Mapping[str, Any], variant) -> str:
        """The answer of ``variant`` to ``example`` (a dict with ``example_id``, ``input``,
        ``repetition``, and the runner's per-call ``seed`` if any); the same arguments give the
        same answer. The runner's ``seed`` changes the draws, never the planted probabilities."""
        if not isinstance(example, Mapping):
            raise StandInError(f"example must be a dict with example_id, input and repetition, got "
                               f"{type(example).__name__}")
        v = _name(variant)
        ex = str(example.get("example_id", ""))
        rep = int(example.get("repetition", 0) or 0)
        intent = self._intent_of(example)
        p = self.p_good(ex, v)
        rng = _rng("answer", self.seed, v, ex, rep, example.get("seed", ""))
        good = rng.random() < p
        if good:
            choices = self._good[intent]
            text = choices[int(rng.integers(len(choices)))]
        elif rng.random() < 0.6:
            text = self._generic[int(rng.integers(len(self._generic)))]
        else:
            others = [n for n in self._good if n != intent]
            other = others[int(rng.integers(len(others)))]
            text = self._good[other][int(rng.integers(len(self._good[other])))]
        return _first_sentence(text) if v == "concise" else text

    def grade(self, example_id: str, response: str | None) -> bool:
        """Pass/fail: the response is one of the example's intent's good answers (or its first
        sentence). Unknown examples and missing responses fail.

        Examples
        --------
        >>> bot = StandInBot(demo_test_set(2), seed=0)
        >>> bot.grade("ex000", "Could you tell me more?")
        False
        """
        intent = self._examples.get(str(example_id))
        if intent is None or not isinstance(response, str):
            return False
        return response.strip() in self._good_sets[intent]

    def grade_log(self, runs, *, column: str = "passed") -> pd.DataFrame:
        """A copy of a run log's turns (or a DataFrame) with a boolean pass/fail ``column``.

        Examples
        --------
        >>> bot = StandInBot(demo_test_set(2), seed=0)
        >>> df = pd.DataFrame({"example_id": ["ex000"], "bot_response": ["ok"]})
        >>> bot.grade_log(df)["passed"].tolist()
        [False]
        """
        df = runs.turns if hasattr(runs, "turns") else runs
        for c in ("example_id", "bot_response"):
            if c not in df.columns:
                raise StandInError(f"the run log has no column {c!r}")
        out = df.copy()
        out[column] = [self.grade(e, r) for e, r in zip(out["example_id"].astype(str), out["bot_response"])]
        out[column] = out[column].astype(bool)
        return out


@dataclass(frozen=True)
class StandInDemo:
    """The demo experiment: test set, variants (dicts), the bot, and its truth.

    Examples
    --------
    >>> d = demo_experiment(30, seed=2)
    >>> d.summary_table()[["variant", "skill", "expected_lift"]].round(3).values.tolist()[0]
    ['baseline', 0.65, nan]
    >>> d.to_dict()["n_examples"], d.to_dict()["n_flaky"]
    (30, 6)
    """

    test_set: pd.DataFrame
    variants: list
    bot: StandInBot
    truth: dict = field(repr=False, default_factory=dict)

    def summary_table(self) -> pd.DataFrame:
        """One row per variant: its skill, system message, temperature and the planted pass rates
        and lifts against the control (this test set, and the population it was drawn from)."""
        t = self.truth
        return pd.DataFrame([{
            "variant": v["name"], "skill": t["variants"][v["name"]]["skill"], "system": v.get("system"),
            "temperature": v.get("temperature"),
            "expected_pass_rate": t["expected_pass_rate"][v["name"]],
            "population_pass_rate": t["population_pass_rate"][v["name"]],
            "expected_lift": t["expected_lift"].get(v["name"], np.nan),
            "population_lift": t["population_lift"].get(v["name"], np.nan),
        } for v in self.variants])

    def to_dict(self) -> dict[str, Any]:
        """Plain values: the test-set size, the variants, the planted truth (without the
        per-example probabilities, which stay in :attr:`truth`)."""
        from toolkit._files import to_jsonable

        truth = {k: v for k, v in self.truth.items() if k != "p_good"}
        return to_jsonable({"n_examples": len(self.test_set), "variants": self.variants,
                            "n_flaky": len(self.truth.get("flaky_examples", [])), "truth": truth,
                            "summary": self.summary_table()})

    def compare(self, result) -> pd.DataFrame:
        """The planted lifts beside a :class:`~toolkit.experiments.result.RepeatedResult` of this
        demo: per treatment the planted lift (this test set, the population) and, when the result
        is on the stand-in's own pass/fail (``passed``), the estimate and whether its interval and
        the naive one cover the planted lift.

        Examples
        --------
        >>> from toolkit.experiments.analysis import analyze_repeated
        >>> d = demo_experiment(40, seed=1)
        >>> res = analyze_repeated(_local_run(d, repetitions=3), "passed", n_boot=0)
        >>> list(d.compare(res).columns)
        ['planted lift (this test set)', 'planted lift (population)', 'estimate', 'covered by the CI', \
'covered by the naive CI']
        """
        planted = pd.DataFrame({"planted lift (this test set)": self.truth["expected_lift"],
                                "planted lift (population)": self.truth["population_lift"]})
        if result.metric != "passed":
            return planted
        cmp = result.comparisons.set_index("treatment")
        planted = planted.reindex(cmp.index)
        true_lift = planted["planted lift (this test set)"]
        planted["estimate"] = cmp["lift"]
        planted["covered by the CI"] = (cmp["ci_low"] <= true_lift) & (true_lift <= cmp["ci_high"])
        planted["covered by the naive CI"] = (cmp["naive_ci_low"] <= true_lift) & (true_lift <= cmp["naive_ci_high"])
        return planted

    def flaky_note(self, result) -> str:
        """One Markdown sentence: the planted flaky examples against those the result flagged.

        Examples
        --------
        >>> from toolkit.experiments.analysis import analyze_repeated
        >>> d = demo_experiment(40, seed=1)
        >>> d.flaky_note(analyze_repeated(_local_run(d, repetitions=3), "passed", n_boot=0))[:61]
        'Planted flaky: **3** examples; flagged: **3**, of which **3**'
        """
        planted = set(self.truth["flaky_examples"])
        flagged = set(result.flaky_examples["example_id"])
        return (f"Planted flaky: **{len(planted)}** examples; flagged: **{len(flagged)}**, of which "
                f"**{len(planted & flagged)}** planted (a stable example flips only rarely).")


def demo_experiment(n_examples: int = 60, *, seed: int = 0, variants: Sequence[str] | None = None,
                    flaky_share: float = 0.15, interaction: float = 0.2) -> StandInDemo:
    """The demo's test set, variants and stand-in bot (with its truth) in one call.

    Examples
    --------
    >>> d = demo_experiment(20, seed=1)
    >>> len(d.test_set), [v["name"] for v in d.variants], d.truth["control"]
    (20, ['baseline', 'grounded', 'concise'], 'baseline')
    """
    vs = demo_variants(variants)
    ts = demo_test_set(n_examples, seed=seed)
    bot = StandInBot(ts, skills={v["name"]: DEFAULT_SKILLS[v["name"]][0] for v in vs}, flaky_share=flaky_share,
                     interaction=interaction, seed=seed)
    return StandInDemo(test_set=ts, variants=vs, bot=bot, truth=bot.truth())


def _local_run(demo: StandInDemo, repetitions: int = 3) -> pd.DataFrame:
    """A tiny in-process loop (no runner): one row per (variant, example, repetition) with the
    answer and its grade. For tests and docs; the runner does this with caching and logging.

    Examples
    --------
    >>> df = _local_run(demo_experiment(4), repetitions=2)
    >>> len(df), sorted(df.columns)
    (24, ['bot_response', 'example_id', 'passed', 'repetition', 'user_input', 'variant'])
    """
    rows = []
    for v in demo.variants:
        for ex in demo.test_set.to_dict(orient="records"):
            for k in range(repetitions):
                ans = demo.bot({**ex, "repetition": k}, v["name"])
                rows.append({"variant": v["name"], "example_id": ex["example_id"], "repetition": k,
                             "user_input": ex["input"], "bot_response": ans,
                             "passed": demo.bot.grade(ex["example_id"], ans)})
    return pd.DataFrame(rows)

