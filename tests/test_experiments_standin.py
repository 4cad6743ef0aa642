"""The seeded stand-in bot (``toolkit.experiments.standin``): deterministic answers, a grade that
matches its truth, and the repetition-aware analysis finds what it planted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.errors import ToolkitError
from toolkit.experiments.analysis import analyze_repeated
from toolkit.experiments.standin import StandInBot, _local_run, demo_experiment, demo_test_set


def test_answers_are_deterministic_per_seed_variant_example_repetition():
    d = demo_experiment(10, seed=4)
    ex = {**d.test_set.iloc[3].to_dict(), "repetition": 1}
    a = [d.bot(ex, v["name"]) for v in d.variants]
    assert a == [demo_experiment(10, seed=4).bot(ex, v["name"]) for v in d.variants]
    # a Variant-like object is read by its name
    assert d.bot(ex, type("V", (), {"name": "grounded"})()) == a[1]
    answers = {d.bot({**ex, "repetition": k}, "baseline") for k in range(30)}
    assert len(answers) >= 1 and all(isinstance(x, str) and x for x in answers)


def test_grade_rates_match_the_planted_probabilities():
    d = demo_experiment(60, seed=0)
    runs = _local_run(d, repetitions=20)
    rates = runs.groupby("variant")["passed"].mean()
    for v, expected in d.truth["expected_pass_rate"].items():
        # 1,200 calls per variant: SE <= 1.5 points; 4 SE
        assert abs(rates[v] - expected) < 0.06, (v, rates[v], expected)
    # the grade agrees with the bot's own p per cell: stable cells almost never flip
    cell = runs.groupby(["variant", "example_id"])["passed"].mean()
    p = pd.Series({(v, e): pv for v, m in d.truth["p_good"].items() for e, pv in m.items()})
    assert (cell - p.reindex(cell.index)).abs().max() < 0.5


def test_analysis_finds_the_planted_lifts_and_flaky_examples():
    d = demo_experiment(60, seed=0)
    runs = _local_run(d, repetitions=3)
    res = analyze_repeated(runs, "passed", control="baseline")
    c = res.comparisons.set_index("treatment")
    for t, lift in d.truth["expected_lift"].items():
        assert c.loc[t, "ci_low"] <= lift <= c.loc[t, "ci_high"], (t, lift, c.loc[t, ["ci_low", "ci_high"]])
    assert c.loc["grounded", "lift"] > 0 > c.loc["concise", "lift"]
    flagged = set(res.flaky_examples["example_id"])
    planted = set(d.truth["flaky_examples"])
    # a planted flaky example flips in at least one of 3 variants x 3 runs with prob. 1 - 0.25^3
    assert len(planted & flagged) >= len(planted) - 1
    # a stable cell flips with prob. ~1.5 %: few false flags
    assert len(flagged - planted) <= 4, flagged - planted


def test_quality_scores_the_stand_in_answers():
    from toolkit.quality import score_turns

    d = demo_experiment(12, seed=1)
    runs = _local_run(d, repetitions=2)
    runs["conversation_id"] = runs["variant"] + "/" + runs["example_id"] + "/" + runs["repetition"].astype(str)
    runs["turn"] = 0
    scored = score_turns(runs)
    assert scored["quality"].between(0, 1).all()
    # good answers score higher than the bad ones on average
    assert scored.loc[scored["passed"], "quality"].mean() > scored.loc[~scored["passed"], "quality"].mean()


@pytest.mark.parametrize("kwargs, message", [
    ({"flaky_share": 2.0}, "flaky_share"),
    ({"skills": {"x": 1.5}}, "skill"),
])
def test_bad_options(kwargs, message):
    with pytest.raises(ToolkitError, match=message):
        StandInBot(demo_test_set(4), **kwargs)


def test_bad_test_sets_and_variants():
    with pytest.raises(ToolkitError, match="intent"):
        StandInBot(pd.DataFrame({"example_id": ["a"], "input": ["x"], "intent": ["nope"]}))
    with pytest.raises(ToolkitError, match="n_examples"):
        demo_test_set(10**7)
    bot = StandInBot(demo_test_set(4))
    with pytest.raises(ToolkitError, match="unknown variant"):
        bot({"example_id": "ex000", "input": "x", "repetition": 0}, "nope")
    # an example outside the test set is answered by its closest intent, graded as a fail
    ans = bot({"example_id": "new", "input": "I want a refund for my order", "repetition": 0}, "baseline")
    assert isinstance(ans, str) and bot.grade("new", ans) is False
    assert np.isfinite(bot.p_good("new", "baseline"))


def test_through_the_runner_with_its_cache(tmp_path):
    """The stand-in as the runner's target: a rerun is served from the cache with the same answers;
    another configuration of the bot is not (its cache_id differs)."""
    from toolkit.experiments import Variant, run_experiment

    d = demo_experiment(12, seed=5)
    variants = [Variant(**v) for v in d.variants]
    kw = dict(repetitions=2, cache_dir=tmp_path / "cache", progress=False, seed=5)
    first = run_experiment(d.test_set, variants, target=d.bot, **kw)
    again = run_experiment(d.test_set, variants, target=d.bot, **kw)
    assert first.calls.ok == 72 and again.calls.cached == 72
    key = ["variant", "example_id", "repetition"]
    a = first.log.turns.sort_values(key)["bot_response"].tolist()
    assert a == again.log.turns.sort_values(key)["bot_response"].tolist()
    other = demo_experiment(12, seed=5, flaky_share=0.5)
    assert run_experiment(other.test_set, variants, target=other.bot, **kw).calls.cached == 0
    # the runner's log goes straight into the analysis
    res = analyze_repeated(d.bot.grade_log(first.log), "passed", control="baseline")
    assert res.comparisons["n_examples"].tolist() == [12, 12]
    assert set(res.treatments) == {"grounded", "concise"}  # in the log's order (by conversation id)
