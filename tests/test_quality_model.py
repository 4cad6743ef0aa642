"""The fitted quality model: shipped files, features, the default score, fast mode, the composite
kept reachable, calibration on a labelled fixture (API and CLI) and its errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit.quality import (QualityConfig, composite_quality, content_words, load_model, quality_features,
                             score_turns)
from toolkit.quality.model import FEATURE_DOCS, MODEL_FILES, QualityModel, fit_model, text_features


@pytest.mark.parametrize("mode", ["full", "fast"])
def test_shipped_models_say_what_they_were_fitted_on(mode):
    raw = json.loads(MODEL_FILES[mode].read_text())
    m = QualityModel.from_dict(raw)
    assert m.mode == mode and m.needs_embeddings == (mode == "full")
    meta = m.meta
    assert meta["fit_date"] and meta["trained_on"] and meta["lodo_spearman"]
    for src in meta["trained_on"].values():
        assert src["licence"] in ("MIT", "CC BY 4.0", "O-UDA 1.0") and src["repository"].startswith("github.com/")
    for v in meta["lodo_spearman"].values():
        lo, hi = v["ci95"]
        assert -1 <= lo <= v["spearman"] <= hi <= 1
    assert set(m.features) <= set(FEATURE_DOCS)
    assert list(m.quantiles) == sorted(m.quantiles)


def test_model_rejects_bad_parameters(tmp_path):
    from toolkit.errors import ToolkitError

    good = load_model("fast").to_dict()
    for field, value in [("scale", [0.0] * len(good["features"])), ("quantiles", [1.0, 0.0]),
                         ("features", ["nope"] + good["features"][1:])]:
        bad = dict(good, **{field: value})
        p = tmp_path / f"bad_{field}.json"
        p.write_text(json.dumps(bad))
        with pytest.raises(ToolkitError, match=str(p.name)):
            load_model(p)
    p = tmp_path / "not.json"
    p.write_text("{")
    with pytest.raises(ToolkitError, match="not a valid quality model"):
        load_model(p)
    with pytest.raises(ToolkitError, match="not found"):
        load_model(tmp_path / "missing.json")


def test_model_file_with_a_non_finite_intercept_is_refused(tmp_path):
    """A hostile or corrupted model file with intercept NaN (JSON allows it) or 1e400 must not load:
    every quality it gives would be NaN (no level) or pinned at 0/1, silently."""
    from toolkit.errors import ToolkitError

    good = load_model("fast").to_dict()
    for i, raw in enumerate(['NaN', 'Infinity', '1e400']):
        p = tmp_path / f"intercept_{i}.json"
        p.write_text(json.dumps(dict(good, intercept=0.0)).replace('"intercept": 0.0', f'"intercept": {raw}'))
        with pytest.raises(ToolkitError, match=rf"{p.name}.*intercept"):
            load_model(p)


def test_model_file_with_finite_but_overflowing_numbers_is_refused(tmp_path):
    """coef 1e308 (finite, so it passed) overflowed to inf - inf = NaN for some rows: those lost
    their level silently (188 of 261 turns counted) with RuntimeWarnings on stderr."""
    from toolkit.errors import ToolkitError

    good = load_model("fast").to_dict()
    n = len(good["features"])
    for field, value in (("coef", [1e308] * n), ("mean", [-1e300] * n), ("scale", [1e-300] * n),
                         ("intercept", 1e308), ("quantiles", [-1e308, 1e308])):
        p = tmp_path / f"big_{field}.json"
        p.write_text(json.dumps(dict(good, **{field: value})))
        with pytest.raises(ToolkitError, match=rf"{p.name}.*{field}"):
            load_model(p)
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(dict(good, coef=[c * 1000 for c in good["coef"]])))  # large but sane
    assert load_model(ok).coef[0] == pytest.approx(good["coef"][0] * 1000)


def test_hostile_model_files_give_a_toolkit_error_naming_the_file(tmp_path, monkeypatch):
    """Deeply nested JSON, an integer too large for a float, a folder and an oversized file: one
    ToolkitError naming the file, never a RecursionError/OverflowError/OSError traceback."""
    from toolkit.errors import ToolkitError
    from toolkit.quality import model as model_mod

    good = load_model("fast").to_dict()
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    big_int = tmp_path / "bigint.json"
    big_int.write_text(json.dumps(dict(good, mean=[10 ** 400] * len(good["features"]))))
    folder = tmp_path / "folder.json"
    folder.mkdir()
    for p in (deep, big_int, folder):
        with pytest.raises(ToolkitError, match=p.name):
            load_model(p)
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps(dict(good, meta={"pad": "x" * 5000})))
    monkeypatch.setattr(model_mod, "MAX_MODEL_BYTES", 4000)
    with pytest.raises(ToolkitError, match=r"huge\.json.*4,000 bytes"):
        load_model(huge)


@pytest.mark.parametrize("mode", ["fast", "full"])
def test_empty_and_missing_answers_are_poor_or_unacceptable_in_either_mode(mode):
    """The package docstring: missing and empty responses score low, level unacceptable or poor.
    The fast model's features alone put an empty answer at quality 0.75 ('good')."""
    turns = pd.DataFrame({"conversation_id": list("abcd"), "turn": [0] * 4,
                          "user_input": ["where is my refund?"] * 4,
                          "bot_response": ["", None, "   ", "Your refund was issued yesterday."]})
    s = score_turns(turns, QualityConfig(mode=mode))
    assert s.loc[:2, "level"].isin(["unacceptable", "poor"]).all(), s[["quality", "level"]]
    assert (s.loc[:2, "quality"] < s.loc[3, "quality"]).all()


def test_a_score_on_tied_quantiles_takes_the_middle_of_their_probabilities():
    """``quality`` is the share of training predictions below a score: a score shared by many of
    them (the fast model's table has runs of up to 16 equal quantiles) sits in the middle of its
    run, not at its top (np.interp on repeated points returns the last one)."""
    m = QualityModel(features=("relevance",), mean=(0.0,), scale=(1.0,), coef=(1.0,), intercept=0.0,
                     quantiles=(-1.0, 0.0, 0.0, 0.0, 1.0))
    q = m.quality(pd.DataFrame({"relevance": [-2.0, -0.5, 0.0, 0.5, 2.0]}))
    np.testing.assert_allclose(q, [0.0, 0.125, 0.5, 0.875, 1.0])
    # the shipped fast model's table has such runs (its score takes few distinct values)
    assert (np.diff(load_model("fast").quantiles) == 0).sum() > 10


def test_fit_model_recovers_a_planted_direction():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"relevance": rng.random(400), "generic": rng.integers(0, 2, 400).astype(float),
                      "log_words": rng.normal(3, 1, 400)})
    y = X["relevance"] * 2 - X["generic"] + rng.normal(0, 0.2, 400)
    m = fit_model(X, y, features=list(X.columns), alpha=1.0)
    assert m.coef[0] > 0 > m.coef[1] and abs(m.coef[2]) < 0.1
    q = m.quality(X)
    assert 0 <= q.min() and q.max() <= 1 and abs(np.median(q) - 0.5) < 0.05
    # quality is monotone in the score
    s = m.score(X)
    assert (np.diff(q[np.argsort(s)]) >= -1e-12).all()


def test_text_cues():
    f = text_features(["Where is my order?", "Where is my order?", "thanks"],
                      ["I'm not sure, sorry.", "Your order #12 arrives Friday.", "Anything else?"])
    assert f["generic"].tolist() == [1.0, 0.0, 0.0]
    assert f["answers_question"].tolist() == [1.0, 1.0, 0.0]
    assert f["asks_back"].tolist() == [0.0, 0.0, 1.0]
    assert f["echo"].iloc[1] == pytest.approx(1 / 5)  # "order" of your, order, 12, arrives, friday


def test_default_quality_is_the_fitted_model_and_the_composite_stays_reachable(sample_log):
    t = sample_log.turns.head(400)
    assert (QualityConfig().model, QualityConfig().mode) == ("fitted", "full")
    default = score_turns(t)
    np.testing.assert_allclose(default["quality"], load_model("full").quality(quality_features(t)))
    s = score_turns(t, QualityConfig(mode="fast"))
    X = quality_features(t, embeddings=False)
    np.testing.assert_allclose(s["quality"], load_model("fast").quality(X))
    old = score_turns(t, QualityConfig(model="composite"))
    cw = content_words(t["bot_response"])
    np.testing.assert_allclose(old["quality"], composite_quality(old, QualityConfig(model="composite"),
                                                                 content_words=cw))
    # the composite keeps its own cut-offs; the components are the same in every mode
    assert QualityConfig(model="composite").cutoffs["good"] == 0.7
    for c in ("relevance", "sentiment", "coherence", "length_fit"):
        np.testing.assert_array_equal(s[c], old[c])
        np.testing.assert_array_equal(default[c], old[c])
    assert not np.allclose(s["quality"], old["quality"])
    assert not np.allclose(default["quality"], s["quality"])
    with pytest.raises(ValueError, match="cannot go with model='composite'"):
        QualityConfig(model="composite", quality_model=load_model("fast"))


def test_fast_mode_needs_no_sentence_model(sample_log, monkeypatch):
    from toolkit.quality import _vectorised

    def boom():
        raise AssertionError("the sentence model was loaded in fast mode")

    monkeypatch.setattr(_vectorised, "_minilm_encoder", boom)
    s = score_turns(sample_log.turns.head(200), QualityConfig(model="fitted", mode="fast"))
    assert s["quality"].between(0, 1).all()


def test_bad_quality_settings():
    with pytest.raises(ValueError, match="model must be"):
        QualityConfig(model="neural")
    with pytest.raises(ValueError, match="mode must be"):
        QualityConfig(mode="turbo")


# ------------------------------------------------------------------------------------------
# calibration on a labelled fixture
# ------------------------------------------------------------------------------------------

_RATING = {"good": 5.0, "generic": 3.0, "off_topic": 2.0, "garbled": 1.0}


@pytest.fixture(scope="module")
def labelled(sample):
    """Two raters' 1-5 ratings of 600 turns of the small sample, from its planted answer kinds."""
    t = sample.log.turns
    kinds = np.array([sample.truth["conversations"][c]["answer_kinds"][i]
                      for c, i in zip(t["conversation_id"], t["turn"])])
    rng = np.random.default_rng(7)
    pick = rng.choice(len(t), 600, replace=False)
    rows = []
    for rater in ("r1", "r2"):
        noise = rng.normal(0, 0.7, pick.size)
        r = np.clip(np.round(np.array([_RATING[k] for k in kinds[pick]]) + noise), 1, 5)
        rows.append(pd.DataFrame({"conversation_id": t["conversation_id"].to_numpy()[pick],
                                  "turn": t["turn"].to_numpy()[pick], "rating": r, "rater": rater}))
    return pd.concat(rows, ignore_index=True)


def test_calibrate_refits_on_labels(sample, labelled):
    from toolkit.quality.calibrate import calibrate

    res = calibrate(sample.log, labelled, mode="fast", folds=4, n_boot=100)
    t = res.summary_table()
    assert t["model"].tolist() == ["shipped (fast)", "refit (4-fold CV)"]
    assert res.n_labels == 600
    # the labels follow the planted kinds, which the refit learns
    assert res.refit["spearman"] > 0.5
    assert res.beats_shipped == (res.difference["ci_low"] > 0)
    assert "Spearman" in res.verdict()


def test_calibrate_errors(sample, labelled):
    from toolkit.errors import ToolkitError
    from toolkit.quality.calibrate import calibrate

    with pytest.raises(ToolkitError, match="at least 20"):
        calibrate(sample.log, labelled.head(10), mode="fast")
    with pytest.raises(ToolkitError, match="same"):
        calibrate(sample.log, labelled.assign(rating=3.0), mode="fast")
    with pytest.raises(ToolkitError, match="folds"):
        calibrate(sample.log, labelled, mode="fast", folds=1)
    with pytest.raises(ToolkitError, match="conversation_id"):
        calibrate(sample.log, labelled.assign(conversation_id="nope"), mode="fast")
    # settings of the wrong type: the same one-line error, not a TypeError deep in the folds
    for bad in [dict(folds=2.5), dict(folds="3"), dict(n_boot=1.5), dict(alpha="x"), dict(alpha=None)]:
        with pytest.raises(ToolkitError, match=next(iter(bad))):
            calibrate(sample.log, labelled, mode="fast", **bad)


def test_calibrate_vector_head_learns_what_the_features_cannot(sample, tmp_path):
    """Raters who also reward answers about delivery: the vector head learns the preference (the
    shipped features know nothing of topics), and scoring with the saved model computes the head
    exactly as the fit did."""
    from toolkit.quality.calibrate import calibrate

    t = sample.log.turns
    kinds = np.array([sample.truth["conversations"][c]["answer_kinds"][i]
                      for c, i in zip(t["conversation_id"], t["turn"])])
    about = t["bot_response"].str.contains("deliver|ship|parcel|courier", case=False).to_numpy()
    rng = np.random.default_rng(3)
    rating = np.array([_RATING[k] for k in kinds]) + 3 * about + rng.normal(0, 0.5, len(t))
    labels = t[["conversation_id", "turn"]].assign(rating=rating).sample(3000, random_state=0)
    res = calibrate(sample.log, labels, folds=4, n_boot=100, vectors=True)
    assert res.model.head is not None and res.model.mode == "full" and res.model.features[-1] == "vector_head"
    assert res.summary_table()["model"].tolist() == ["shipped (full)", "refit with vector head (4-fold CV)"]
    assert res.beats_shipped and res.refit["spearman"] > res.shipped["spearman"] + 0.15
    plain = calibrate(sample.log, labels, folds=4, n_boot=0)
    assert res.refit["spearman"] > plain.refit["spearman"] + 0.05   # the head adds to the features' refit
    path = tmp_path / "mine.json"
    res.save(path)
    mine = load_model(path)
    assert mine == res.model
    scored = score_turns(t, QualityConfig(quality_model=path))
    np.testing.assert_array_equal(scored["quality"].to_numpy(),
                                  np.where(t["bot_response"].str.strip().eq(""), 0.0,
                                           mine.quality(quality_features(t, head=mine.head_array()))))


def test_vector_head_ridge_is_scikit_learns_ridgecv():
    from sklearn.linear_model import RidgeCV

    from toolkit.quality.calibrate import HEAD_ALPHAS, _fit_head

    rng = np.random.default_rng(0)
    for n, p, noise in [(300, 40, 1.0), (120, 60, 5.0), (500, 10, 0.1)]:
        V = rng.normal(size=(n, p)) + 3.0
        y = V[:, :3].sum(1) + rng.normal(0, noise, n)
        own, ref = _fit_head(V, y), RidgeCV(alphas=HEAD_ALPHAS).fit(V, y)
        assert own.alpha_ == ref.alpha_
        np.testing.assert_allclose(own.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(own.predict(V), ref.predict(V), rtol=1e-8, atol=1e-8)


def test_vector_head_ridge_matches_ridgecv_on_awkward_inputs():
    """Collinear and constant columns, more columns than rows, three rows, offset unit-norm-like
    vectors: the same penalty and coefficients as scikit-learn's RidgeCV."""
    from sklearn.linear_model import RidgeCV

    from toolkit.quality.calibrate import HEAD_ALPHAS, _fit_head

    rng = np.random.default_rng(1)
    V = rng.normal(size=(200, 30))
    cases = [np.hstack([V, V[:, :5]]), np.hstack([V, np.full((200, 3), 2.5)]), rng.normal(size=(30, 100)),
             rng.normal(size=(3, 4)), rng.normal(size=(40, 300)) + 10.0]
    for X in cases:
        y = X[:, 0] + rng.normal(size=len(X))
        own, ref = _fit_head(X, y), RidgeCV(alphas=HEAD_ALPHAS).fit(X, y)
        assert own.alpha_ == ref.alpha_, X.shape
        np.testing.assert_allclose(own.predict(X), ref.predict(X), rtol=1e-7, atol=1e-8)


def test_vector_head_errors(sample, labelled, tmp_path):
    from toolkit.errors import ToolkitError
    from toolkit.quality.calibrate import calibrate

    with pytest.raises(ToolkitError, match="fast mode"):
        calibrate(sample.log, labelled, mode="fast", vectors=True)
    with pytest.raises(ToolkitError, match="group_column 'user'"):
        calibrate(sample.log, labelled, mode="fast", group_column="user")
    with pytest.raises(ToolkitError, match="groups of 'channel'.*fewer than folds=5"):
        calibrate(sample.log.turns.assign(channel="web"), labelled, mode="fast", group_column="channel")
    # one big group and a few small ones: a training fold would hold a handful of labels
    t = sample.log.turns
    lab = labelled.drop_duplicates(["conversation_id", "turn"])
    small = set(lab["conversation_id"].unique()[:4])
    team = np.where(t["conversation_id"].isin(small), t["conversation_id"], "big")
    with pytest.raises(ToolkitError, match="one training fold has only .* the groups are too uneven"):
        calibrate(t.assign(team=team), lab, mode="fast", folds=4, group_column="team")
    good = load_model("full").to_dict()
    with_head = dict(good, features=good["features"] + ["vector_head"], mean=good["mean"] + [0.0],
                     scale=good["scale"] + [1.0], coef=good["coef"] + [1.0], head=[[0.1] * 4, [0.2] * 4])
    assert load_model(QualityModel.from_dict(with_head)).needs_embeddings
    for name, bad in [("no_head", dict(with_head, head=None)), ("head_only", dict(good, head=[[0.1], [0.2]])),
                      ("ragged", dict(with_head, head=[[0.1] * 4, [0.2] * 3])),
                      ("nan", dict(with_head, head=[[float("nan")] * 4, [0.2] * 4])),
                      ("fast", dict(with_head, mode="fast")), ("string", dict(with_head, head="x"))]:
        p = tmp_path / f"{name}.json"
        p.write_text(json.dumps(bad))
        with pytest.raises(ToolkitError, match=p.name):
            load_model(p)
    # a head of the wrong width for the sentence model is a clear error, not a broadcast
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(with_head))
    with pytest.raises(ToolkitError, match=r"shape \(2, 4\).*384"):
        score_turns(sample.log.turns.head(5), QualityConfig(quality_model=wrong))


def test_head_model_scores_a_log_without_text_and_the_cli_reports_a_wrong_width(tmp_path, capsys):
    """No text to encode (an empty log part, e.g. a Dask partition) is no width mismatch: the head
    scores 0; a head of the wrong width is a one-line CLI error (exit 2), not a traceback."""
    from toolkit.cli import main

    good = load_model("full").to_dict()
    with_head = dict(good, features=good["features"] + ["vector_head"], mean=good["mean"] + [0.0],
                     scale=good["scale"] + [1.0], coef=good["coef"] + [1.0], head=[[0.1] * 384, [0.2] * 384])
    right = tmp_path / "right.json"
    right.write_text(json.dumps(with_head))
    blank = pd.DataFrame({"conversation_id": ["a", "a"], "turn": [0, 1], "user_input": ["", " "],
                          "bot_response": ["", ""]})
    assert score_turns(blank, QualityConfig(quality_model=right))["quality"].tolist() == [0.0, 0.0]
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(dict(with_head, head=[[0.1] * 4, [0.2] * 4])))
    log_path = tmp_path / "log.csv"
    pd.DataFrame({"conversation_id": ["a", "a"], "turn": [0, 1], "timestamp": ["2024-01-01T00:00:00Z"] * 2,
                  "user_input": ["hi", "where is my order"], "bot_response": ["hello", "it shipped"],
                  "response_time_s": [1.0, 1.0]}).to_csv(log_path, index=False)
    assert main(["score", str(log_path), "--out", str(tmp_path / "s.csv"), "--quality-model", str(wrong)]) == 2
    assert "shape (2, 4)" in capsys.readouterr().err


def test_calibrate_and_score_cli_end_to_end(sample, labelled, tmp_path, capsys):
    from toolkit.cli import main
    from toolkit.io import save

    log_path = save(sample.log, tmp_path / "log")
    lab = tmp_path / "labels.csv"
    labelled.to_csv(lab, index=False)
    out = tmp_path / "my_quality.json"
    assert main(["quality", "calibrate", str(lab), "--log", str(log_path), "--out", str(out), "--fast",
                 "--folds", "3", "--n-boot", "50"]) == 0
    text = capsys.readouterr().out
    assert "shipped (fast)" in text and "refit (3-fold CV)" in text and "wrote" in text
    assert max(len(line) for line in text.splitlines() if not line.startswith("wrote")) <= 100, text
    mine = load_model(out)
    assert mine.meta["n_labels"] == 600 and mine.mode == "fast"
    scored = tmp_path / "scored.parquet"
    assert main(["score", str(log_path), "--out", str(scored), "--quality-model", str(out)]) == 0
    got = pd.read_parquet(scored)
    X = quality_features(sample.log.turns, embeddings=False)
    np.testing.assert_allclose(np.sort(got["quality"].to_numpy()), np.sort(mine.quality(X)))
    # bad inputs: one clear line, exit 2
    bad = tmp_path / "bad.csv"
    bad.write_text("conversation_id,turn,score\na,0,3\n")
    assert main(["quality", "calibrate", str(bad), "--log", str(log_path), "--out", str(out)]) == 2
    assert "rating" in capsys.readouterr().err
    assert main(["quality", "calibrate", str(lab), "--log", str(log_path), "--out", str(tmp_path / "x.txt")]) == 2
    assert main(["score", str(log_path), "--out", str(scored), "--quality-model", str(tmp_path / "none.json")]) == 2


def test_calibrate_group_column_missing_values_and_split_conversations(sample, labelled):
    """A missing group value leaves its conversation alone (not one big group of every missing
    value); a conversation with two values would be split across folds: an error naming it."""
    from toolkit.quality.calibrate import CalibrationError, calibrate

    t = sample.log.turns
    first = t["conversation_id"] == t["conversation_id"].iloc[0]
    sparse = t.assign(team=pd.Series(np.where(first, "a", None), dtype=object, index=t.index))
    res = calibrate(sparse, labelled, mode="fast", n_boot=0, group_column="team")
    plain = calibrate(t, labelled, mode="fast", n_boot=0)
    assert res.n_conversations == plain.n_conversations and np.isfinite(res.refit["spearman"])
    split = t.assign(team=(t["turn"] % 2).astype(str))
    with pytest.raises(CalibrationError, match="group_column 'team' takes 2 values in conversation"):
        calibrate(split, labelled, mode="fast", n_boot=0, group_column="team")


def test_calibrate_cli_vector_head_and_groups(sample, labelled, tmp_path, capsys):
    from toolkit.cli import main
    from toolkit.io import save

    log = sample.log.with_turns(sample.log.turns.assign(team=sample.log.turns["conversation_id"].str[-1]))
    log_path = save(log, tmp_path / "log")
    lab = tmp_path / "labels.csv"
    labelled.to_csv(lab, index=False)
    out = tmp_path / "mine.json"
    assert main(["quality", "calibrate", str(lab), "--log", str(log_path), "--out", str(out), "--vectors",
                 "--group-column", "team", "--folds", "3", "--n-boot", "0", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["out"] == str(out) and load_model(out).head is not None
    assert main(["quality", "calibrate", str(lab), "--log", str(log_path), "--out", str(out), "--vectors",
                 "--fast"]) == 2
    assert "fast mode" in capsys.readouterr().err
    assert main(["quality", "calibrate", str(lab), "--log", str(log_path), "--out", str(out),
                 "--group-column", "nope"]) == 2
    assert "group_column 'nope'" in capsys.readouterr().err


def test_fitted_fast_model_on_dask_equals_pandas():
    import dask

    from toolkit.dask_engine.read import sample_dask_log

    log, dlog = sample_dask_log()
    cfg = QualityConfig(model="fitted", mode="fast")
    with dask.config.set(scheduler="sync"):
        got = score_turns(dlog, cfg, engine="dask").compute()
    got = got.sort_values(["conversation_id", "turn"]).reset_index(drop=True)
    want = score_turns(log, cfg).sort_values(["conversation_id", "turn"]).reset_index(drop=True)
    np.testing.assert_array_equal(got["quality"].to_numpy(), want["quality"].to_numpy())
    assert got["level"].tolist() == want["level"].tolist()


def test_vector_head_model_on_dask_equals_pandas(tmp_path):
    """A model with a vector head scores every Dask partition as the pandas engine scores the log
    (the head of a row depends on its own conversation only)."""
    import dask

    from toolkit.dask_engine.read import sample_dask_log

    good = load_model("full").to_dict()
    rng = np.random.default_rng(0)
    path = tmp_path / "head.json"
    path.write_text(json.dumps(dict(good, features=good["features"] + ["vector_head"], mean=good["mean"] + [0.0],
                                    scale=good["scale"] + [1.0], coef=good["coef"] + [1.0],
                                    head=rng.normal(0, 0.2, (2, 384)).tolist())))
    log, dlog = sample_dask_log()
    cfg = QualityConfig(quality_model=path)
    with dask.config.set(scheduler="sync"):
        got = score_turns(dlog, cfg, engine="dask").compute()
    got = got.sort_values(["conversation_id", "turn"]).reset_index(drop=True)
    want = score_turns(log, cfg).sort_values(["conversation_id", "turn"]).reset_index(drop=True)
    np.testing.assert_array_equal(got["quality"].to_numpy(), want["quality"].to_numpy())
    plain = score_turns(log).sort_values(["conversation_id", "turn"]).reset_index(drop=True)
    assert np.abs(want["quality"].to_numpy() - plain["quality"].to_numpy()).max() > 0.05  # the head counts


# ------------------------------------------------------------------------------------------
# the public human-rated data readers (benchmarks/human_data.py)
# ------------------------------------------------------------------------------------------


def _human_data():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import human_data

    return human_data


def test_rated_rows_become_short_conversations():
    hd = _human_data()
    df = pd.DataFrame({"context": [["hi", "hello, how are you?", "fine. where do you live?"], ["a question?"]],
                       "user_input": ["fine. where do you live?", "a question?"],
                       "response": ["In Paris.", "an answer"]})
    turns, last = hd.to_turns(df)
    assert turns["conversation_id"].tolist() == ["r0", "r0", "r1"]
    assert turns["user_input"].tolist() == ["hi", "fine. where do you live?", "a question?"]
    assert turns["bot_response"].tolist() == ["hello, how are you?", "In Paris.", "an answer"]
    assert last.tolist() == [1, 2]


def test_dbdc3_reader_when_fetched():
    hd = _human_data()
    try:
        d = hd.read_dbdc3()
    except hd.DataMissing as exc:
        pytest.skip(f"DBDC3 not fetched: {exc}")
    assert list(d.columns) == hd.COLUMNS and len(d) == 6150 and (d["n_raters"] == 30).all()
    assert d["rating"].between(0, 1).all() and 0.2 < d["failure"].mean() < 0.4
    assert d["next_user"].notna().mean() > 0.85


def test_a_rows_quality_does_not_depend_on_the_rows_scored_with_it():
    # the Dask engine scores a log partition by partition: each row must get the same bits
    rng = np.random.default_rng(0)
    for mode in ("full", "fast"):
        m = load_model(mode)
        X = pd.DataFrame(rng.uniform(0, 3, (4000, len(m.features))), columns=list(m.features))
        whole = m.quality(X)
        parts = np.concatenate([m.quality(X.iloc[i:i + 7]) for i in range(0, len(X), 7)])
        np.testing.assert_array_equal(parts, whole)
