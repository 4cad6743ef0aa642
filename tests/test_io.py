"""Sources: CSV, JSON Lines, Parquet files and folders; the reference SQLite database."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from toolkit.io import load, read_table, save
from toolkit.log import validate
from toolkit.validation import LogValidationError
from tests.test_log import make_convs, make_turns

REFERENCE_SCHEMA = """
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    bot_id TEXT,
    user_id TEXT,
    start_time TIMESTAMP,
    end_time TIMESTAMP,
    message_count INTEGER,
    average_response_time REAL,
    user_satisfaction_score REAL,
    successful_resolution BOOLEAN,
    total_cost REAL
);
CREATE TABLE responses (
    id TEXT PRIMARY KEY,
    conversation_id TEXT,
    timestamp TIMESTAMP,
    user_input TEXT,
    bot_response TEXT,
    response_time REAL,
    quality_score REAL,
    sentiment_score REAL,
    relevance_score REAL,
    api_cost REAL,
    FOREIGN KEY (conversation_id) REFERENCES conversations (id)
);
"""


@pytest.fixture
def log():
    return validate(make_turns(user_input=["hi, \"quoted\"\nline two", "où est ma commande ?", "退款", "hours?"]), make_convs())


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_folder_round_trip(tmp_path, log, fmt):
    folder = save(log, tmp_path / "log", format=fmt)
    assert (folder / f"turns.{fmt}").exists() and (folder / f"conversations.{fmt}").exists()
    back = load(folder)
    pd.testing.assert_frame_equal(back.turns, log.turns)
    pd.testing.assert_frame_equal(back.conversations, log.conversations)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_single_file_round_trip_with_sibling_conversations(tmp_path, log, suffix):
    path = save(log, tmp_path / f"log{suffix}")
    assert path.with_name(f"log.conversations{suffix}").exists()
    back = load(path)
    pd.testing.assert_frame_equal(back.turns, log.turns)
    assert back.conversations["satisfaction"].tolist()[0] == 0.9


def test_a_problem_in_the_conversations_table_names_both_files(tmp_path, log):
    folder = save(log, tmp_path / "log", format="csv")
    conv = pd.read_csv(folder / "conversations.csv")
    conv.loc[0, "satisfaction"] = 1.5
    conv.to_csv(folder / "conversations.csv", index=False)
    with pytest.raises(LogValidationError) as e:
        load(folder)
    msg = str(e.value)
    assert f"({folder / 'turns.csv'} and {folder / 'conversations.csv'})" in msg
    assert "conversations.satisfaction must be in [0, 1]" in msg


def test_turns_file_alone(tmp_path, log):
    log.turns.to_parquet(tmp_path / "t.parquet")
    back = load(tmp_path / "t.parquet")
    assert len(back.conversations) == 3 and back.conversations["resolved"].isna().all()


def test_csv_naive_timestamps_need_tz(tmp_path):
    path = tmp_path / "turns.csv"
    make_turns(timestamp=["2026-01-01 10:00:00"] * 4).to_csv(path, index=False)
    with pytest.raises(LogValidationError, match="naive timestamps"):
        load(path)
    assert load(path, tz="UTC").turns["timestamp"].iloc[0] == pd.Timestamp("2026-01-01T10:00:00Z")


def test_csv_missing_column_names_it_and_the_file(tmp_path):
    path = tmp_path / "turns.csv"
    make_turns().drop(columns="bot_response").to_csv(path, index=False)
    with pytest.raises(LogValidationError) as info:
        load(path)
    assert str(path) in str(info.value) and "turns.bot_response is a required column" in str(info.value)


def test_wrong_extension_is_named(tmp_path):
    path = tmp_path / "turns.parquet"
    path.write_text("conversation_id,turn\nc1,0\n")
    with pytest.raises(LogValidationError, match=r"has the extension \.parquet but is text, not Parquet"):
        load(path)
    csv_path = tmp_path / "x.csv"
    make_turns().to_parquet(csv_path)
    with pytest.raises(LogValidationError, match=r"has the extension \.csv but is a Parquet file"):
        load(csv_path)


def test_non_utf8_text_is_located(tmp_path):
    path = tmp_path / "turns.csv"
    path.write_bytes("conversation_id,user_input\nc1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(LogValidationError, match=r"not UTF-8 text: byte 0xe9 at offset \d+ \(line 2\)"):
        load(path)


def test_bad_jsonl_line_is_located(tmp_path):
    path = tmp_path / "turns.jsonl"
    path.write_text('{"conversation_id": "c1"}\n\n{broken\n')
    with pytest.raises(LogValidationError, match="line 3 is not valid JSON"):
        load(path)
    path.write_text('[{"conversation_id": "c1"}]\n')
    with pytest.raises(LogValidationError, match="JSON array"):
        load(path)


def test_folder_without_turns_and_unknown_extension(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(LogValidationError, match="folder without a turns table"):
        load(tmp_path)
    with pytest.raises(LogValidationError, match="unknown extension '.txt'"):
        read_table(tmp_path / "notes.txt")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    (tmp_path / "turns.csv").write_text("")
    with pytest.raises(LogValidationError, match="is empty"):
        load(tmp_path / "turns.csv")


def test_input_frames_are_not_mutated(log):
    turns = log.turns.copy()
    load(log.turns, conversations=log.conversations)
    pd.testing.assert_frame_equal(turns, log.turns)


# ---- the reference SQLite database --------------------------------------------------------------


@pytest.fixture
def reference_db(tmp_path):
    path = tmp_path / "chatbot_monitoring.db"
    con = sqlite3.connect(path)
    con.executescript(REFERENCE_SCHEMA)
    con.executemany(
        "INSERT INTO conversations VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            ("conv-1", "support-bot", "user-1", "2026-02-01 09:00:00", "2026-02-01 09:02:00", 2, 1.5, 0.8, 1, 0.004),
            ("conv-2", "support-bot", "user-2", "2026-02-01 10:00:00", "2026-02-01 10:01:00", 1, 3.0, 0.2, 0, 0.002),
            ("conv-3", "sales-bot", "user-1", "2026-02-02 11:00:00", "2026-02-02 11:00:10", 1, 0.7, None, None, 0.001),
        ],
    )
    con.executemany(
        "INSERT INTO responses VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            # inserted out of order: the turn number comes from the timestamp
            ("r2", "conv-1", "2026-02-01 09:01:00", "and my refund?", "Refunds take 5 days.", 2.0, 0.7, 0.1, 0.6, 0.002),
            ("r1", "conv-1", "2026-02-01 09:00:10", "where is my order", "It ships today.", 1.0, 0.9, 0.3, 0.8, 0.002),
            ("r3", "conv-2", "2026-02-01 10:00:05", "cancel", "Sorry, I cannot help.", 3.0, 0.3, -0.4, 0.2, 0.002),
            ("r4", "conv-3", "2026-02-02 11:00:02", "price?", "It costs $10.", 0.7, 0.8, 0.0, 0.9, 0.001),
        ],
    )
    con.commit()
    con.close()
    return path


def test_sqlite_reference_schema(reference_db):
    log = load(reference_db, tz="UTC")
    t = log.turns.set_index(["conversation_id", "turn"])
    assert len(log.turns) == 4 and len(log.conversations) == 3
    assert t.loc[("conv-1", 0), "user_input"] == "where is my order"
    assert t.loc[("conv-1", 1), "response_time_s"] == 2.0
    assert t.loc[("conv-1", 1), "cost_usd"] == 0.002
    assert t.loc[("conv-1", 0), "db_quality_score"] == 0.9
    assert t.loc[("conv-2", 0), "bot_id"] == "support-bot"
    assert t.loc[("conv-1", 0), "timestamp"] == pd.Timestamp("2026-02-01T09:00:10Z")
    c = log.conversations.set_index("conversation_id")
    assert c.loc["conv-1", "satisfaction"] == 0.8
    assert c.loc["conv-2", "resolved"] == False  # noqa: E712
    assert pd.isna(c.loc["conv-3", "resolved"])


def test_sqlite_naive_timestamps_rejected_without_tz(reference_db):
    with pytest.raises(LogValidationError, match="naive timestamps"):
        load(reference_db)


def test_sqlite_satisfaction_scale_hint(tmp_path, reference_db):
    con = sqlite3.connect(reference_db)
    con.execute("UPDATE conversations SET user_satisfaction_score = 4 WHERE id = 'conv-1'")
    con.commit()
    con.close()
    with pytest.raises(LogValidationError, match="satisfaction_scale=5"):
        load(reference_db, tz="UTC")
    log = load(reference_db, tz="UTC", satisfaction_scale=5)
    assert log.conversations.set_index("conversation_id").loc["conv-1", "satisfaction"] == pytest.approx(0.8)


def test_sqlite_without_reference_tables(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.close()
    with pytest.raises(LogValidationError, match=r"lacks the table\(s\) \['conversations', 'responses'\]"):
        load(path)


def test_load_dispatches_trace_exports():
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures"
    from toolkit.sources.langsmith import runs_to_log
    from toolkit.sources.otel import spans_to_log

    for name, mapper in (("langsmith_runs.jsonl", runs_to_log), ("otlp_genai.jsonl", spans_to_log)):
        log = load(fixtures / name)
        expected = mapper(fixtures / name).log
        pd.testing.assert_frame_equal(log.turns, expected.turns)
        assert len(log.turns) > 0


def test_saving_into_a_folder_that_holds_another_format_is_refused(tmp_path):
    """`toolkit score logdir --out logdir` wrote turns.parquet beside the input's turns.csv: the
    folder then held two turns tables and every later command refused to read it."""
    import subprocess
    import sys

    from toolkit.errors import OutputError

    folder = tmp_path / "log"
    folder.mkdir()
    make_turns().to_csv(folder / "turns.csv", index=False)
    log = load(folder)
    with pytest.raises(OutputError, match=r"turns\.csv.*turns\.parquet"):
        save(log, folder)
    assert sorted(p.name for p in folder.iterdir()) == ["turns.csv"]  # nothing written
    assert save(log, folder, format="csv") == folder  # the same format: rewritten in place
    assert len(load(folder).turns) == len(log.turns)
    res = subprocess.run([sys.executable, "-m", "toolkit", "score", str(folder), "--fast", "--out", str(folder)],
                         capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.startswith("error: ") and "Traceback" not in res.stderr
    assert len(load(folder).turns) == len(log.turns)


def test_a_csv_cut_by_semicolons_or_tabs_is_read(tmp_path):
    """A spreadsheet set to a decimal comma exports ';'-separated CSV: the log was refused with
    every column 'missing' (the header read as one column 'conversation_id;turn;...')."""
    turns = make_turns()
    for sep, name in ((";", "semi.csv"), ("\t", "tabs.csv")):
        p = tmp_path / name
        turns.to_csv(p, sep=sep, index=False)
        got = load(p).turns
        assert len(got) == len(turns) and list(got["conversation_id"]) == list(turns["conversation_id"])
        assert got["response_time_s"].dtype.kind == "f"
    text = tmp_path / "comma_text.csv"  # a comma-separated file whose text holds ';' stays comma-separated
    turns.assign(user_input="a; b; c").to_csv(text, index=False)
    assert (load(text).turns["user_input"] == "a; b; c").all()
