"""The sample generator: validity, determinism, the truth against the data, realism, CLI, bundle."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.log import validate
from toolkit.sample import (
    ANSWER_KINDS,
    INTENTS,
    MODELS,
    default_sample_path,
    generate_sample,
    load_sample,
    load_sample_truth,
    write_sample,
)

FILES = ("turns.parquet", "conversations.parquet", "truth.json")


def same_sample_file(a: Path, b: Path) -> bool:
    """Equal content: JSON byte for byte, Parquet by its data and dtypes (the writing pandas and
    pyarrow versions stamp their own metadata and string types into a Parquet file)."""
    if a.suffix != ".parquet":
        return a.read_bytes() == b.read_bytes()
    try:
        pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))
    except AssertionError:
        return False
    return True


@pytest.fixture(scope="module")
def small():
    """Two weeks of traffic (~2,600 conversations)."""
    return generate_sample(seed=11, days=14)


@pytest.fixture(scope="module")
def large():
    """Enough conversations to check the planted effects within a few standard errors."""
    return generate_sample(seed=5, days=30, conversations=30_000)


def kinds_per_turn(sample) -> np.ndarray:
    """The truth's answer kind of every turn, aligned with ``log.turns`` (sorted by id, turn)."""
    convs = sample.truth["conversations"]
    ids = sample.log.turns["conversation_id"].drop_duplicates()
    return np.concatenate([convs[c]["answer_kinds"] for c in ids])


def intent_per_turn(sample) -> np.ndarray:
    convs = sample.truth["conversations"]
    return np.array([convs[c]["intent"] for c in sample.log.turns["conversation_id"]])


# ---- validity ---------------------------------------------------------------------------------


def test_log_is_valid_and_typed(small):
    t, c = small.log.turns, small.log.conversations
    again = validate(t, c)
    pd.testing.assert_frame_equal(again.turns, t)
    pd.testing.assert_frame_equal(again.conversations, c)
    assert str(t["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(c["start_time"].dtype) == "datetime64[ns, UTC]"
    assert t["turn"].dtype == np.int64
    assert str(t["prompt_tokens"].dtype) == "Int64" and str(t["completion_tokens"].dtype) == "Int64"
    assert str(c["resolved"].dtype) == "boolean"
    for col in ("conversation_id", "user_id", "bot_id", "variant", "model", "user_input", "bot_response", "error"):
        assert pd.api.types.is_string_dtype(t[col].dtype), col
    # no intent or answer-kind column leaks into the log: the truth lives in truth.json only
    assert not {"intent", "kind", "answer_kind"} & set(t.columns)


def test_timestamps_increase_within_conversations(small):
    t, c = small.log.turns, small.log.conversations
    assert (t.groupby("conversation_id")["turn"].apply(lambda s: list(s) == list(range(len(s))))).all()
    gap = t["timestamp"].diff().dt.total_seconds()
    same = t["conversation_id"].eq(t["conversation_id"].shift())
    assert (gap[same] > 0).all()
    assert gap[same].median() > 5 and gap[same].max() < 15 * 60
    first = t.groupby("conversation_id")["timestamp"].min()
    last = t.groupby("conversation_id")["timestamp"].max()
    ci = c.set_index("conversation_id")
    assert (ci["start_time"] <= first).all()
    assert (ci["end_time"] == last).all()
    truth = small.truth
    assert t["timestamp"].min() >= pd.Timestamp(truth["start"])
    assert c["start_time"].max() < pd.Timestamp(truth["end"])


def test_columns_are_plausible(small):
    t, c = small.log.turns, small.log.conversations
    assert set(t["variant"]) == {"A", "B"}
    assert t["bot_id"].nunique() == 2 and set(t["model"]) <= set(MODELS) and t["model"].nunique() >= 2
    assert 1 <= t.groupby("conversation_id").size().max() <= 6
    assert t.groupby("conversation_id").size().min() == 1
    # repeat users
    per_user = c["user_id"].value_counts()
    assert per_user.max() >= 5 and (per_user > 1).mean() > 0.2
    # satisfaction in [0, 1], ~60 % observed; resolved has some nulls
    sat = c["satisfaction"]
    assert sat.dropna().between(0, 1).all()
    assert 0.55 < sat.notna().mean() < 0.65
    assert 0.02 < c["resolved"].isna().mean() < 0.15
    # errors at ~1-2 %: text set, no tokens, no cost
    err = t["error"].notna()
    assert 0.005 < err.mean() < 0.03
    assert t.loc[err, "error"].str.contains("Timeout|RateLimit").all()
    assert t.loc[err, "prompt_tokens"].isna().all() and t.loc[err, "cost_usd"].isna().all()
    assert t.loc[~err, ["prompt_tokens", "completion_tokens", "cost_usd"]].notna().all().all()
    assert (t["response_time_s"] > 0).all()


def test_tokens_and_cost_follow_text_and_price_table(small):
    t = small.log.turns.dropna(subset=["cost_usd"])
    ratio = t["completion_tokens"].astype(float) / t["bot_response"].str.len()
    assert ratio.between(0.18, 0.32).all()
    prices = small.truth["models"]
    pp = t["model"].map(lambda m: prices[m]["price_prompt_per_1k"]).astype(float)
    pc = t["model"].map(lambda m: prices[m]["price_completion_per_1k"]).astype(float)
    expected = t["prompt_tokens"].astype(float) / 1000 * pp + t["completion_tokens"].astype(float) / 1000 * pc
    np.testing.assert_allclose(t["cost_usd"], expected, atol=1e-8)
    # the prompt grows with the conversation history
    by_turn = t.groupby("turn")["prompt_tokens"].mean()
    assert by_turn.is_monotonic_increasing
    # variant B has the longer system prompt
    first = t[t["turn"] == 0]
    assert first.groupby("variant")["prompt_tokens"].mean().diff().iloc[-1] > 50


def test_argument_checks():
    with pytest.raises(ValueError, match="days must be >= 1"):
        generate_sample(days=0)
    with pytest.raises(ValueError, match="conversations must be >= 1"):
        generate_sample(days=2, conversations=0)
    with pytest.raises(ValueError, match="resolution must be two probabilities"):
        generate_sample(days=2, resolution=(0.5, 1.5))
    s = generate_sample(seed=2, days=3, conversations=123)
    assert len(s.log.conversations) == 123 == s.truth["n_conversations"]
    # a one-day range still places both incident windows inside the range
    one = generate_sample(seed=2, days=1)
    start, end = pd.Timestamp(one.truth["start"]), pd.Timestamp(one.truth["end"])
    for inc in one.truth["incidents"]:
        assert start <= pd.Timestamp(inc["start"]) < pd.Timestamp(inc["end"]) <= end


# ---- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_identical_files(tmp_path):
    a = write_sample(tmp_path / "a", seed=3, days=4)
    b = write_sample(tmp_path / "b", seed=3, days=4)
    c = write_sample(tmp_path / "c", seed=4, days=4)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "turns.parquet").read_bytes() != (c / "turns.parquet").read_bytes()
    assert (a / "truth.json").read_bytes() != (c / "truth.json").read_bytes()


def test_written_files_round_trip(tmp_path):
    s = generate_sample(seed=9, days=3)
    out = write_sample(tmp_path, sample=s)
    turns = pd.read_parquet(out / "turns.parquet")
    convs = pd.read_parquet(out / "conversations.parquet")
    log = validate(turns, convs)
    pd.testing.assert_frame_equal(log.turns, s.log.turns)
    pd.testing.assert_frame_equal(log.conversations, s.log.conversations)
    assert json.loads((out / "truth.json").read_text()) == s.truth


# ---- the truth matches the data ---------------------------------------------------------------


def test_truth_describes_every_conversation_and_turn(small):
    truth, t, c = small.truth, small.log.turns, small.log.conversations
    assert truth["n_conversations"] == len(c) and truth["n_turns"] == len(t)
    assert set(truth["conversations"]) == set(c["conversation_id"])
    n_turns = t.groupby("conversation_id").size()
    assert all(len(truth["conversations"][cid]["answer_kinds"]) == n for cid, n in n_turns.items())
    assert truth["answer_kinds"] == list(ANSWER_KINDS)
    assert len(truth["intents"]) >= 15 and truth["intents"] == list(INTENTS)
    used = {v["intent"] for v in truth["conversations"].values()}
    assert used == set(truth["intents"])
    assert truth["variants"]["control"] == "A" and truth["variants"]["treatment"] == ["B"]
    for m, p in truth["models"].items():
        assert m in set(t["model"]) and p["price_prompt_per_1k"] > 0 and p["price_completion_per_1k"] > 0


def test_answer_kind_proportions(large):
    kinds = pd.Series(kinds_per_turn(large)).value_counts(normalize=True)
    assert set(kinds.index) == set(ANSWER_KINDS)
    assert 0.62 < kinds["good"] < 0.74
    assert 0.14 < kinds["generic"] < 0.24
    assert 0.05 < kinds["off_topic"] < 0.11
    assert 0.02 < kinds["garbled"] < 0.06


def test_planted_variant_effects_are_realised(large):
    truth, t, c = large.truth, large.log.turns, large.log.conversations
    eff = truth["variants"]["effects"]
    # allocation ~50/50
    assert abs((c["variant"] == "B").mean() - 0.5) < 0.02
    # resolution: the realised rates are within ~3 standard errors (plus the regression dip)
    res = c.dropna(subset=["resolved"]).groupby("variant")["resolved"].mean()
    for v in ("A", "B"):
        assert abs(res[v] - eff["resolved"][v]) < 0.025, (v, res[v])
        assert eff["resolved"]["observed"][v] == pytest.approx(res[v], abs=1e-6)
    assert abs((res["B"] - res["A"]) - eff["resolved"]["abs_lift"]) < 0.025
    # good-answer rate: planted per turn outside the regression, errors count as generic
    good = pd.Series(kinds_per_turn(large) == "good").groupby(t["variant"].to_numpy()).mean()
    for v in ("A", "B"):
        assert good[v] == pytest.approx(eff["good_answer_rate"][v], abs=0.03)
        assert good[v] < eff["good_answer_rate"][v]  # errors and the regression only lower it
    assert abs((good["B"] - good["A"]) - eff["good_answer_rate"]["abs_lift"]) < 0.015
    # satisfaction: B higher, close to the expected means
    sat = c.groupby("variant")["satisfaction"].mean()
    assert sat["B"] > sat["A"]
    for v in ("A", "B"):
        assert sat[v] == pytest.approx(eff["satisfaction"][v], abs=0.03)


def test_satisfaction_and_resolution_follow_answer_quality(large):
    c = large.log.conversations
    kinds = large.truth["conversations"]
    good_share = c["conversation_id"].map(lambda cid: np.mean(np.array(kinds[cid]["answer_kinds"]) == "good"))
    hi, lo = good_share >= 0.99, good_share <= 0.01
    assert c.loc[hi, "satisfaction"].mean() > c.loc[lo, "satisfaction"].mean() + 0.15
    res = c["resolved"].astype("float64")
    assert res[hi].mean() > res[lo].mean() + 0.2
    by_res = c.groupby("resolved")["satisfaction"].mean()
    assert by_res[True] > by_res[False] + 0.25


def test_incident_windows(large):
    truth, t = large.truth, large.log.turns
    start, end = pd.Timestamp(truth["start"]), pd.Timestamp(truth["end"])
    inc = {i["kind"]: i for i in truth["incidents"]}
    assert set(inc) == {"latency", "quality_regression"}
    lat_s, lat_e = pd.Timestamp(inc["latency"]["start"]), pd.Timestamp(inc["latency"]["end"])
    reg_s, reg_e = pd.Timestamp(inc["quality_regression"]["start"]), pd.Timestamp(inc["quality_regression"]["end"])
    assert lat_e - lat_s == pd.Timedelta(hours=6) and reg_e - reg_s == pd.Timedelta(days=2)
    for s, e in ((lat_s, lat_e), (reg_s, reg_e)):
        assert start + pd.Timedelta(days=3) < s < e < end - pd.Timedelta(days=7)
    assert lat_e <= reg_s or reg_e <= lat_s  # no overlap
    # the latency incident: median response time x ~3.5 (turns sent within the window)
    ok = t["error"].isna()
    in_lat = t["timestamp"].between(lat_s, lat_e - pd.Timedelta(minutes=1)) & ok
    day_before = t["timestamp"].between(lat_s - pd.Timedelta(days=1), lat_e - pd.Timedelta(days=1)) & ok
    ratio = t.loc[in_lat, "response_time_s"].median() / t.loc[day_before, "response_time_s"].median()
    assert 2.8 < ratio < 4.5
    # the quality regression: good-answer rate ~30 points lower inside the window
    good = pd.Series(kinds_per_turn(large) == "good", index=t.index)
    in_reg = t["timestamp"].between(reg_s + pd.Timedelta(minutes=15), reg_e)
    outside = ~t["timestamp"].between(reg_s - pd.Timedelta(hours=1), reg_e + pd.Timedelta(hours=1))
    drop = good[outside].mean() - good[in_reg].mean()
    assert drop == pytest.approx(inc["quality_regression"]["good_rate_drop"], abs=0.05)


def test_bundled_incidents_are_well_inside_the_range():
    truth = load_sample_truth()
    start, end = pd.Timestamp(truth["start"]), pd.Timestamp(truth["end"])
    assert end - start == pd.Timedelta(days=60)
    for inc in truth["incidents"]:
        s, e = pd.Timestamp(inc["start"]), pd.Timestamp(inc["end"])
        assert start + pd.Timedelta(days=7) < s < e < end - pd.Timedelta(days=7)


# ---- traffic ----------------------------------------------------------------------------------


def test_daily_and_weekly_seasonality_and_trend(bundled):
    c = bundled.conversations
    hour = c["start_time"].dt.hour.value_counts().reindex(range(24), fill_value=0)
    assert hour.loc[11:15].mean() > 4 * hour.loc[1:5].mean()
    days = c["start_time"].dt.floor("D").value_counts().sort_index()
    weekend = days[days.index.day_of_week >= 5]
    weekday = days[days.index.day_of_week < 5]
    assert weekend.mean() < 0.8 * weekday.mean()
    # +0.5 %/day: the last four weeks are busier than the first four (~+15 %)
    first, last = days.iloc[:28].sum(), days.iloc[-28:].sum()
    assert 1.05 < last / first < 1.3
    assert 10_000 <= len(c) <= 15_000 and 35_000 <= len(bundled.turns) <= 50_000


# ---- texts ------------------------------------------------------------------------------------


def test_texts_are_varied_and_noisy(small):
    t = small.log.turns
    first = t.loc[t["turn"] == 0, "user_input"]
    assert first.nunique() > 0.5 * len(first)
    assert first.str.match(r"(?i)^(hi|hello|hey|good morning)\b").mean() > 0.2
    assert (first == first.str.lower()).mean() > 0.15
    assert (~first.str.contains(r"[.?!)]\s*$")).mean() > 0.2
    # slots are filled: no template braces in user messages
    assert not t["user_input"].str.contains(r"\{(?:order|product|date|eta|amount|code|city)\}").any()
    # every intent has several distinct first-message phrasings
    for name, spec in INTENTS.items():
        assert len(spec["first"]) >= 5 and len(spec["good"]) >= 5, name


def test_first_messages_cluster_by_intent(small):
    """The clustering analysis needs first messages that express their intent (NMI >= 0.8)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import normalized_mutual_info_score

    t = small.log.turns
    first = t[t["turn"] == 0]
    y = [small.truth["conversations"][c]["intent"] for c in first["conversation_id"]]
    x = TfidfVectorizer(stop_words="english").fit_transform(first["user_input"])
    labels = KMeans(len(small.truth["intents"]), n_init=5, random_state=0).fit_predict(x)
    assert normalized_mutual_info_score(y, labels) >= 0.8


def test_good_answers_share_vocabulary_and_off_topic_do_not(small):
    """The quality analysis needs relevance to separate good from off-topic answers."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    t = small.log.turns
    kinds = kinds_per_turn(small)
    vec = TfidfVectorizer(stop_words="english").fit(pd.concat([t["user_input"], t["bot_response"]]))
    u, b = vec.transform(t["user_input"]), vec.transform(t["bot_response"])
    sim = np.asarray(u.multiply(b).sum(axis=1)).ravel()
    first = (t["turn"] == 0).to_numpy()
    mean = {k: sim[first & (kinds == k)].mean() for k in ANSWER_KINDS}
    assert mean["good"] > 0.15
    assert mean["good"] > 3 * mean["off_topic"]
    assert mean["good"] > 3 * mean["generic"]
    # off-topic answers are good answers of another intent (compare the text before any slot)
    intents = intent_per_turn(small)
    prefixes = {n: [g.split("{")[0][:30] for g in spec["good"]] for n, spec in INTENTS.items()}
    checked = 0
    for i in np.flatnonzero(kinds == "off_topic")[:200]:
        text = t["bot_response"].iloc[i]
        owner = [n for n, ps in prefixes.items() if any(text.startswith(p) for p in ps if len(p) >= 12)]
        if owner:
            checked += 1
            assert intents[i] not in owner, (intents[i], text)
    assert checked > 100


# ---- CLI and the bundled sample -----------------------------------------------------------------


def test_cli_writes_the_files(tmp_path, capsys):
    from toolkit.cli import main

    out = tmp_path / "s"
    assert main(["sample", "--out", str(out), "--seed", "2", "--days", "2", "--conversations", "50"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"wrote {out}") and "50 conversations" in line and "\n" not in line
    assert {p.name for p in out.iterdir()} == set(FILES)
    truth = json.loads((out / "truth.json").read_text())
    assert truth["seed"] == 2 and truth["n_conversations"] == 50
    assert main(["sample", "--out", str(out), "--days", "0"]) == 2
    assert "--days must be >= 1" in capsys.readouterr().err


def test_cli_conversations_has_a_limit(tmp_path, capsys, monkeypatch):
    """--conversations 10000000000 died with a numpy MemoryError traceback (74.5 GiB)."""
    from toolkit.cli import main

    out = tmp_path / "s"
    assert main(["sample", "--out", str(out), "--conversations", "10000000000"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --conversations") and "--partitioned" in err and "TOOLKIT_NO_LIMITS" in err
    assert main(["sample", "--out", str(out), "--partitioned", "--conversations", str(10**12)]) == 2
    assert "error: --conversations" in capsys.readouterr().err and not out.exists()
    monkeypatch.setenv("TOOLKIT_NO_LIMITS", "1")  # lifted: the check lets it through (not run here)
    from toolkit.commands.sample import _check_conversations

    _check_conversations(10**10, partitioned=False)


def test_bundled_sample_equals_a_fresh_generation(tmp_path):
    """data/sample cannot drift from the generator: regenerate it and compare bytes."""
    bundled = default_sample_path()
    fresh = write_sample(tmp_path)
    for name in FILES:
        assert same_sample_file(bundled / name, fresh / name), (
            f"data/sample/{name} differs from write_sample(); regenerate it with "
            f"`toolkit sample --out data/sample`"
        )
    assert sum((bundled / n).stat().st_size for n in FILES) < 10_000_000


def test_load_sample_and_truth(bundled):
    truth = load_sample_truth()
    assert len(bundled.turns) == truth["n_turns"] and len(bundled.conversations) == truth["n_conversations"]
    assert truth["seed"] == 0


def test_load_sample_falls_back_to_a_cache(tmp_path, monkeypatch):
    import toolkit.sample as sample_module

    monkeypatch.setattr(sample_module, "default_sample_path", lambda: tmp_path / "missing")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TOOLKIT_CACHE_DIR", raising=False)  # (which would take precedence)
    log = load_sample()
    cached = sample_module._cache_path()
    assert cached.parent.parent == tmp_path / "cache" and all((cached / n).is_file() for n in FILES)
    mtime = (cached / "turns.parquet").stat().st_mtime_ns
    again = load_sample()
    assert (cached / "turns.parquet").stat().st_mtime_ns == mtime  # generated once
    pd.testing.assert_frame_equal(log.turns, again.turns)
    import toolkit

    real = Path(toolkit.__file__).resolve().parents[1] / "data" / "sample"  # toolkit.sample is a package now
    assert same_sample_file(cached / "turns.parquet", real / "turns.parquet")


def test_texts_are_read_from_the_package_data_file():
    import tomllib

    from toolkit.sample import texts

    raw = json.loads(texts.DATA_FILE.read_text(encoding="utf-8"))
    assert texts.DATA_FILE.parent == Path(texts.__file__).parent
    assert raw["intents"] == INTENTS and len(INTENTS) == 18
    assert texts.TEXTS["greetings"] == raw["greetings"]
    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "intents.json" in pyproject["tool"]["setuptools"]["package-data"]["toolkit.sample"]


# ---- partitioned samples (write_partitioned, generate_sample(blockwise=True)) -------------------


def _read_table(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder)


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory):
    from toolkit.sample import write_partitioned

    out = write_partitioned(tmp_path_factory.mktemp("big"), 2_000, seed=4, days=7, chunk_conversations=1_000)
    return out, generate_sample(seed=4, days=7, conversations=2_000, blockwise=True)


def test_partitioned_equals_the_blockwise_sample_and_validates(partitioned):
    out, ref = partitioned
    turns = _read_table(out / "turns")
    convs = _read_table(out / "conversations")
    assert list(turns.columns) == list(ref.log.turns.columns) + ["date"]   # date: the partition column
    assert str(turns["timestamp"].dtype) == "datetime64[ns, UTC]"
    t = turns.drop(columns="date").sort_values(["conversation_id", "turn"]).reset_index(drop=True)
    c = convs.drop(columns="date").sort_values("conversation_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(t, ref.log.turns)
    pd.testing.assert_frame_equal(c, ref.log.conversations)
    again = validate(t, c)
    assert len(again.turns) == ref.truth["n_turns"] and len(again.conversations) == 2_000
    truth = json.loads((out / "truth.json").read_text())
    assert {k: v for k, v in truth.items() if k != "layout"} == {k: v for k, v in ref.truth.items() if k != "conversations"}
    ct = _read_table(out / "conversation_truth").set_index("conversation_id")
    assert {i: {"intent": r.intent, "answer_kinds": list(r.answer_kinds)} for i, r in ct.iterrows()} == ref.truth["conversations"]


def test_partitions_hold_whole_conversations_by_the_date_of_their_first_turn(partitioned):
    out, _ = partitioned
    files = sorted(p.relative_to(out).as_posix() for p in (out / "turns").rglob("*.parquet"))
    assert files and all(f.split("/")[1].startswith("date=") and f.split("/")[2].startswith("part-") for f in files)
    first_day = {}
    for table in ("turns", "conversations", "conversation_truth"):
        where = {}
        for f in (out / table).rglob("*.parquet"):
            ids = pd.read_parquet(f, columns=["conversation_id"])["conversation_id"].unique()
            for cid in ids:
                assert cid not in where, f"{cid} in {where[cid]} and {f}"   # never split across files
                where[cid] = (f.parent.name, f.name)
        if table == "turns":
            t = _read_table(out / "turns")
            first = t[t["turn"] == 0].set_index("conversation_id")["timestamp"].dt.strftime("date=%Y-%m-%d")
            assert all(where[c][0] == d for c, d in first.items())
            first_day = where
        else:
            assert where == first_day   # the same partition and file name as the conversation's turns
    assert len({d for d, _ in first_day.values()}) >= 7   # 7 days (and maybe a turn past midnight)


def test_blockwise_data_do_not_depend_on_the_chunk_size(tmp_path):
    from toolkit.sample import BLOCK_CONVERSATIONS, write_partitioned

    n = 2 * BLOCK_CONVERSATIONS + 500   # three blocks
    a = write_partitioned(tmp_path / "a", n, seed=9, days=10, chunk_conversations=BLOCK_CONVERSATIONS)
    b = write_partitioned(tmp_path / "b", n, seed=9, days=10, chunk_conversations=10 * n)
    ta, tb = (_read_table(x / "turns").drop(columns="date").sort_values(["conversation_id", "turn"]).reset_index(drop=True)
              for x in (a, b))
    pd.testing.assert_frame_equal(ta, tb)
    assert len({p.name for p in (a / "turns").rglob("*.parquet")}) == 3 and len({p.name for p in (b / "turns").rglob("*.parquet")}) == 1
    assert ta["conversation_id"].nunique() == n and ta["conversation_id"].max() == f"c{n:06d}"
    # the same planted model as the one-piece generator: B still beats A on resolution
    truth = json.loads((a / "truth.json").read_text())
    obs = truth["variants"]["effects"]["resolved"]["observed"]
    assert 0.0 < obs["B"] - obs["A"] < 0.15 and truth["n_conversations"] == n


def test_partitioned_rewrite_replaces_the_old_tables_and_the_cli(tmp_path, capsys):
    from toolkit.cli import main

    out = tmp_path / "big"
    assert main(["sample", "--out", str(out), "--conversations", "400", "--days", "3", "--partitioned"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"wrote {out} (partitioned)") and "400 conversations" in line
    assert main(["sample", "--out", str(out), "--conversations", "50", "--days", "1", "--partitioned",
                 "--chunk-conversations", "10"]) == 0
    assert len(pd.read_parquet(out / "conversations")) == 50
    assert sorted(p.name for p in out.iterdir()) == ["conversation_truth", "conversations", "truth.json", "turns"]
    assert main(["sample", "--out", str(out), "--partitioned", "--chunk-conversations", "0"]) == 2
    assert "--chunk-conversations must be >= 1" in capsys.readouterr().err
