"""Metric series from a conversation log and from files (toolkit.series)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.log import validate
from toolkit.series import (
    METRICS,
    SeriesError,
    default_season,
    infer_freq,
    is_series_table,
    metric_series,
    read_series,
    regularize,
    split_long,
    to_long,
)


@pytest.fixture(scope="module")
def tiny_log():
    """Three conversations over hours 10, 10 and 13 (11 and 12 are empty), two variants."""
    turns = pd.DataFrame(
        {
            "conversation_id": ["c1", "c1", "c2", "c3", "c3", "c3"],
            "turn": [0, 1, 0, 0, 1, 2],
            "timestamp": [
                "2026-03-02T10:05:00Z", "2026-03-02T10:06:00Z", "2026-03-02T10:50:00Z",
                "2026-03-02T13:01:00Z", "2026-03-02T13:02:00Z", "2026-03-02T13:03:00Z",
            ],
            "user_input": ["hi", "order?", "refund", "login", "still", "thanks"],
            "bot_response": ["hello", "shipped", "sure", "reset it", "try again", "bye"],
            "response_time_s": [1.0, 3.0, 2.0, 4.0, 8.0, 6.0],
            "variant": ["A", "A", "B", "B", "B", "B"],
            "bot_id": ["web", "web", "web", "app", "app", "app"],
            "cost_usd": [0.01, 0.02, 0.03, 0.04, np.nan, 0.06],
            "error": [None, "TimeoutError", None, None, None, "RateLimitError"],
            "quality": [0.9, 0.5, 0.8, 0.6, 0.4, 0.7],
        }
    )
    conv = pd.DataFrame({"conversation_id": ["c1", "c2", "c3"], "resolved": [True, False, True], "satisfaction": [0.8, 0.2, 0.6]})
    return validate(turns, conv)


def test_hourly_counts_fill_zero_and_means_stay_missing(tiny_log):
    vol = metric_series(tiny_log, "volume", "h")
    assert vol.index.freqstr == "h"
    assert vol.index[0] == pd.Timestamp("2026-03-02T10:00Z")
    assert vol.tolist() == [2.0, 0.0, 0.0, 1.0]          # c1, c2 at 10h; c3 at 13h
    assert metric_series(tiny_log, "turns", "h").tolist() == [3.0, 0.0, 0.0, 3.0]
    rt = metric_series(tiny_log, "response_time_mean", "h")
    assert rt.iloc[0] == pytest.approx(2.0) and rt.iloc[3] == pytest.approx(6.0)
    assert rt.iloc[1:3].isna().all()                       # empty hours are missing, not 0
    p95 = metric_series(tiny_log, "response_time_p95", "h")
    assert p95.iloc[3] == pytest.approx(np.quantile([4.0, 8.0, 6.0], 0.95))
    assert metric_series(tiny_log, "error_rate", "h").iloc[[0, 3]].tolist() == pytest.approx([1 / 3, 1 / 3])
    cost = metric_series(tiny_log, "cost", "h")
    assert cost.tolist() == pytest.approx([0.06, 0.0, 0.0, 0.10])   # sums skip missing costs
    assert metric_series(tiny_log, "resolution", "h").iloc[0] == pytest.approx(0.5)
    assert metric_series(tiny_log, "quality", "h").iloc[0] == pytest.approx((0.9 + 0.5 + 0.8) / 3)
    assert vol.attrs["kind"] == "count" and rt.attrs["kind"] == "mean"


def test_daily_by_variant_and_counts(tiny_log):
    d = metric_series(tiny_log, "turns", "d", by="variant")
    assert list(d.columns) == ["A", "B"] and d.index.freqstr == "D"
    assert d.iloc[0].tolist() == [2.0, 4.0]
    n = metric_series(tiny_log, "response_time_mean", "h", counts=True)
    assert n.tolist() == [3.0, 0.0, 0.0, 3.0] and n.sum() == len(tiny_log.turns)
    b = metric_series(tiny_log, "volume", "h", by="bot")   # conversation metric, turns' column
    assert b["app"].tolist() == [0.0, 0.0, 0.0, 1.0]


def test_metric_errors_name_the_problem(tiny_log):
    with pytest.raises(SeriesError, match="unknown metric 'nope'"):
        metric_series(tiny_log, "nope")
    with pytest.raises(SeriesError, match="by='colour'"):
        metric_series(tiny_log, "volume", by="colour")
    assert set(METRICS) >= {"volume", "turns", "response_time_mean", "quality", "error_rate", "cost", "resolution"}


def test_quality_is_scored_when_missing(sample_log):
    from toolkit.quality import score_log

    # toolkit.series (data layer) does not import toolkit.quality (analyses): the caller passes it
    with pytest.raises(SeriesError, match="scorer=toolkit.quality.score_log"):
        metric_series(sample_log, "quality", "d")
    q = metric_series(sample_log, "quality", "d", scorer=score_log)
    ref = score_log(sample_log).turns
    expect = ref.groupby(ref["timestamp"].dt.floor("D"))["quality"].mean()
    assert np.allclose(q.dropna().to_numpy(), expect.to_numpy())


def test_sample_volume_matches_conversations(sample_log):
    v = metric_series(sample_log, "volume", "h")
    assert v.sum() == len(sample_log.conversations)
    assert (v >= 0).all() and v.index.is_monotonic_increasing


def test_regularize_rules():
    idx = pd.to_datetime(["2026-01-01 00:00", "2026-01-01 01:00", "2026-01-01 03:00"], utc=True)
    r = regularize(pd.Series([1.0, 2.0, 4.0], index=idx, name="x"))
    assert r.index.freqstr == "h" and r.isna().sum() == 1 and r.attrs["n_gaps"] == 1
    dup = pd.Series([1.0, 2.0, 3.0], index=pd.to_datetime(["2026-01-01 00:00", "2026-01-01 01:00", "2026-01-01 01:00"]))
    with pytest.raises(SeriesError, match=r"must be unique; duplicated: 2026-01-01 01:00:00"):
        regularize(dup, "h")
    off = pd.Series([1.0, 2.0, 3.0, 4.0], index=pd.to_datetime(["2026-01-01 00:00", "2026-01-01 01:00", "2026-01-01 01:17", "2026-01-01 02:00"]))
    with pytest.raises(SeriesError, match=r"must be regular .* 2026-01-01 01:17:00"):
        regularize(off)
    bad = pd.Series(["1", "x", "3"], index=pd.date_range("2026-01-01", periods=3, freq="D"))
    with pytest.raises(SeriesError, match="must be numeric"):
        regularize(bad)


def test_regularize_refuses_a_grid_far_larger_than_any_series(tmp_path, capsys):
    """30 values a second apart and one a year later: the 1-second grid has 31.5 million steps
    (0.9 GB for `toolkit forecast` on a 32-row file; a stray year 2200 would need ~160 GB).
    Refused before it is built, naming the steps, the grid and the limit."""
    import tracemalloc

    from toolkit.cli import main

    idx = pd.DatetimeIndex(list(pd.date_range("2026-01-01", periods=30, freq="s")) + [pd.Timestamp("2027-01-01")])
    y = pd.Series(np.arange(31.0), index=idx, name="far")
    tracemalloc.start()
    try:
        with pytest.raises(SeriesError, match=r"series 'far': 31,536,001 steps of s .*more than 10,000,000"):
            regularize(y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6, f"{peak / 1e6:.0f} MB"
    src = tmp_path / "far.csv"
    src.write_text("timestamp,value\n" + "".join(f"{t.isoformat()}Z,{i}\n" for i, t in enumerate(idx)))
    assert main(["forecast", str(src), "--horizon", "2", "--model", "snaive"]) == 2
    assert "10,000,000" in capsys.readouterr().err


def test_a_log_series_refuses_a_grid_far_larger_than_any_series():
    """Two turns a year apart at freq='s': 31.5 million buckets (1 GB); a stray timestamp in 2200
    would need ~160 GB. Refused before the grid is built."""
    t = pd.DataFrame({"conversation_id": ["a", "b"], "turn": [0, 0],
                      "timestamp": ["2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"],
                      "user_input": ["hi", "hi"], "bot_response": ["x", "y"], "response_time_s": [1.0, 2.0]})
    log = validate(t)
    with pytest.raises(SeriesError, match=r"31,536,001 buckets of s .*more than 10,000,000"):
        metric_series(log, "volume", freq="s")
    assert len(metric_series(log, "volume", freq="h")) == 8761


def test_a_huge_non_numeric_value_is_named_not_repeated():
    """Five 2-MB text cells in the value column made a 10-MB one-line error."""
    raw = pd.DataFrame({"timestamp": [f"2026-01-0{i}" for i in range(1, 6)], "value": ["x" * 2_000_000] * 5})
    with pytest.raises(SeriesError, match=r"value must be numeric; not numeric in rows 0 \('xxx") as e:
        read_series(raw)
    assert len(str(e.value)) < 1000


def test_infer_freq_and_default_season():
    assert infer_freq(pd.date_range("2026-01-01", periods=5, freq="h")) == "h"
    assert infer_freq(pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-05"])) == "D"
    assert infer_freq(pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-05-01"])) == "MS"
    assert infer_freq(pd.date_range("2026-01-04", periods=6, freq="7D")) == "7D"
    assert [default_season(f) for f in ("h", "D", "7D", "W", "MS", "QS", "YS")] == [24, 7, 52, 52, 12, 4, 1]
    with pytest.raises(SeriesError, match="cannot infer the frequency"):
        infer_freq(pd.to_datetime(["2026-01-01", "2026-01-02"]))


def test_read_series_two_column_and_long(tmp_path):
    p = tmp_path / "daily.csv"
    p.write_text("timestamp,value\n2026-01-01,1\n2026-01-02,2\n2026-01-04,4\n")
    long = read_series(p)
    assert long["series_id"].unique().tolist() == ["daily"]
    s = split_long(long)["daily"]
    assert s.index.freqstr == "D" and s.isna().sum() == 1
    q = tmp_path / "long.csv"
    q.write_text("series_id,timestamp,value\nb,2026-01-01T00:00:00Z,1\na,2026-01-01T00:00:00Z,5\n"
                 "a,2026-01-01T02:00:00+01:00,6\na,2026-01-01T02:00:00Z,7\n")
    long = read_series(q)
    assert long["series_id"].tolist() == ["a", "a", "a", "b"]
    assert str(long["timestamp"].dt.tz) == "UTC"
    assert long["timestamp"].iloc[1] == pd.Timestamp("2026-01-01T01:00Z")   # +01:00 converted
    assert long["value"].tolist() == [5.0, 6.0, 7.0, 1.0]
    tz_dup = tmp_path / "dup.csv"
    tz_dup.write_text("timestamp,value\n2026-01-01T00:00:00Z,1\n2026-01-01T01:00:00+01:00,2\n")
    with pytest.raises(SeriesError, match=r"must be unique; 2 duplicated rows"):
        read_series(tz_dup)
    back = to_long(split_long(long, "h"))
    assert back.columns.tolist() == ["series_id", "timestamp", "value"] and len(back) == 4


@pytest.mark.parametrize(
    "text, match",
    [
        ("series_id,timestamp,value\na,2026-01-01,1\na,2026-01-01,2\n", r"must be unique; 2 duplicated rows: row 0 \(a, 2026-01-01"),
        ("timestamp,value\n2026-01-01,1\nyesterday,2\n", r"timestamp must be a date/time; cannot parse rows 1 \('yesterday'\)"),
        ("timestamp,value\n2026-01-01,1\n2026-01-02,lots\n", r"value must be numeric; not numeric in rows 1 \('lots'\)"),
        ("timestamp,value\n2026-01-01T00:00Z,1\n2026-01-02,2\n", r"mixes naive and time-zone-aware"),
        ("time,amount\n2026-01-01,1\n", r"needs columns timestamp,value"),
    ],
)
def test_read_series_rejects_bad_files(tmp_path, text, match):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(SeriesError, match=match):
        read_series(p)


def test_is_series_table():
    assert is_series_table(["timestamp", "value"]) and is_series_table(["series_id", "timestamp", "value"])
    assert not is_series_table(["conversation_id", "timestamp", "value", "turn"])


def test_other_fixed_durations_and_calendar_frequencies(tiny_log):
    q = metric_series(tiny_log, "turns", "30min")
    assert q.index.freqstr == "30min" and q.sum() == 6
    with pytest.raises(SeriesError, match="calendar frequency"):
        metric_series(tiny_log, "turns", "MS")


def test_a_non_finite_value_is_named_as_the_user_wrote_it(tmp_path):
    """The error named the value as ``np.float64(inf)`` (numpy's repr), not ``inf``."""
    from toolkit.errors import ToolkitError

    p = tmp_path / "s.csv"
    ts = pd.date_range("2026-01-01", periods=48, freq="h", tz="UTC")
    pd.DataFrame({"timestamp": ts, "value": [1.0] * 5 + [np.inf] + [1.0] * 42}).to_csv(p, index=False)
    with pytest.raises(ToolkitError, match=r"must be finite") as exc:
        read_series(p)
    assert "np.float64" not in str(exc.value) and "5 (inf)" in str(exc.value)


def test_a_sum_of_a_column_the_log_does_not_record_is_refused(tiny_log):
    """`toolkit forecast LOG --metric cost` on a log without cost_usd forecast 0 +/- 0 (a series
    of zeros), as if the bot were free."""
    from toolkit.errors import ToolkitError
    from toolkit.log import ConversationLog

    for metric, cols in (("cost", ["cost_usd"]), ("tokens", ["prompt_tokens", "completion_tokens"])):
        bare = ConversationLog(tiny_log.turns.assign(**{c: np.nan for c in cols if c in tiny_log.turns}),
                               tiny_log.conversations)
        with pytest.raises(ToolkitError, match=rf"{metric}: the log records no turns.{cols[0]}"):
            metric_series(bare, metric, "h")
    assert metric_series(tiny_log, "cost", "h").sum() > 0
