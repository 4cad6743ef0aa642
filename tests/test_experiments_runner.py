"""The prompt-experiment runner (toolkit.experiments) against a loopback fake OpenAI-compatible
server (tests/fake_openai.py) and against Python callables: variant-dependent answers, injected
429/500/timeouts/slow replies, every call accounted for, a killed run resumed without re-sending,
a rerun served from the cache, the key never in any output, and spec errors naming the field."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from tests.fake_openai import FakeOpenAI, Reply, chat
from toolkit.experiments import (
    CallCache,
    ExperimentSpecError,
    TestSetError,
    Variant,
    load_spec,
    read_test_set,
    run_experiment,
)

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-EXPKEY-4f9Qx-never-print-me-20261207"
KEY_ENV = "TOOLKIT_TEST_EXPERIMENT_KEY"

VARIANTS = [
    Variant("A", system="You are variant A.", temperature=0.0),
    Variant("B", "Please help: {input}", temperature=0.7, max_tokens=50, params={"top_p": 0.9}),
]


def _tests(inputs):
    return pd.DataFrame({"example_id": [f"e{i}" for i in range(len(inputs))], "input": inputs,
                         "reference": [f"ref {i}" for i in range(len(inputs))]})


class Faulty:
    """Answers ``<system>|<temperature>|<user message>``; inputs containing RATE get one 429 (with a
    Retry-After of an hour, which the client must cap), BOOM one 500, SLOW one reply slower than the
    client's timeout, DEAD a 500 every time (echoing the request's Authorization header)."""

    def __init__(self, slow_s: float = 1.0):
        self.lock = threading.Lock()
        self.seen: Counter = Counter()
        self.slow_s = slow_s

    auth = ""  # the Authorization header of the current request (set by _server)

    def __call__(self, req: dict) -> Reply:
        msgs = req["messages"]
        user = msgs[-1]["content"]
        system = msgs[0]["content"] if msgs[0]["role"] == "system" else "-"
        key = (system, user, req.get("temperature"))
        with self.lock:
            self.seen[key] += 1
            n = self.seen[key]
        if "DEAD" in user:
            return Reply(500, {"error": {"message": f"internal error \x1b[2J for {self.auth}"}})
        if "ECHO" in user:
            return chat(f"your header was {self.auth}")
        if n == 1 and "RATE" in user:
            return Reply(429, {"error": {"message": "rate limited"}}, {"retry-after": "3600"})
        if n == 1 and "BOOM" in user:
            return Reply(500, {"error": {"message": "boom"}})
        if n == 1 and "SLOW" in user:
            return Reply(200, chat("too late").body, delay=self.slow_s)
        return chat(f"{system}|{req.get('temperature')}|{user}", prompt_tokens=len(user) // 4 + 5,
                    completion_tokens=7)


def _server(handler):
    """A FakeOpenAI whose handler also sees the Authorization header (for the echo in DEAD replies)."""
    srv = FakeOpenAI(handler)
    inner = srv.handler

    def with_auth(req):
        with srv._lock:
            last = srv.requests[-1]["headers"] if srv.requests else {}
        handler.auth = _auth({"headers": last}) or ""
        return inner(req)

    srv.handler = with_auth
    return srv


def _auth(request: dict) -> str | None:
    """The Authorization header of a recorded request (any capitalisation)."""
    return {k.lower(): v for k, v in request["headers"].items()}.get("authorization")


def _endpoint(srv, **kw):
    return {"base_url": srv.base_url, "model": "gpt-4o-mini", "api_key_env": KEY_ENV, **kw}


FAST = {"backoff_s": 0.01, "max_backoff_s": 0.05, "progress": False}


def test_an_answer_that_echoes_the_key_reaches_neither_log_nor_cache(tmp_path, monkeypatch):
    pytest.importorskip("openai")
    monkeypatch.setenv(KEY_ENV, KEY)
    with _server(Faulty()) as srv:
        run = run_experiment(_tests(["ECHO my headers"]), [Variant("A")], repetitions=1, endpoint=_endpoint(srv),
                             cache_dir=tmp_path / "cache", **FAST)
        echoed = [r for r in srv.requests if _auth(r) == f"Bearer {KEY}"]
    assert echoed and run.calls.ok == 1  # the key was sent, and the server answered with it
    answer = run.log.turns["bot_response"].iloc[0]
    assert answer.startswith("your header was Bearer ") and KEY not in answer
    run.write(tmp_path / "run.jsonl")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 2 and not any(KEY in p.read_text(errors="replace") for p in files)


def test_endpoint_run_accounts_for_every_call_with_faults(tmp_path, monkeypatch):
    pytest.importorskip("openai")
    monkeypatch.setenv(KEY_ENV, KEY)
    inputs = ["Where is my order?", "RATE my refund", "BOOM reset password", "SLOW opening hours", "DEAD case"]
    handler = Faulty()
    t0 = time.perf_counter()
    with _server(handler) as srv:
        run = run_experiment(_tests(inputs), VARIANTS, repetitions=2, endpoint=_endpoint(srv),
                             cache_dir=tmp_path / "cache", concurrency=3, timeout_s=0.4, retries=2, **FAST)
        hits = len(srv.requests)
        bodies = [r["json"] for r in srv.requests]
        auth = {_auth(r) for r in srv.requests}
    elapsed = time.perf_counter() - t0
    c = run.calls
    # every call is accounted for, and every request the server saw is counted
    assert c.total == 2 * 5 * 2 == len(run.log.turns)
    assert c.total == c.cached + c.ok + c.failed + c.skipped
    assert (c.cached, c.skipped) == (0, 0)
    assert c.attempts == hits == c.sent + c.retried
    # DEAD: both variants x 2 repetitions fail after 1 + 2 retries; RATE/BOOM/SLOW: one retry per
    # (variant, example) -- the first request of that prompt -- then answered
    assert c.failed == 4 and c.ok == 16
    assert hits == 16 + 3 * 2 + 4 * 3
    assert c.retried == 3 * 2 + 4 * 2
    assert elapsed < 20  # the hour-long Retry-After was capped
    assert auth == {f"Bearer {KEY}"}  # the key did reach the server ...
    t = run.log.turns.set_index("conversation_id")
    dead = t[t["user_input"] == "DEAD case"]
    assert dead["error"].str.contains("HTTP 500").all() and (dead["attempts"] == 3).all()
    assert dead["bot_response"].isna().all()
    assert not any(KEY in e for e in dead["error"])  # ... and never left it in an error text
    # variant-dependent answers: system message, template, temperature and params reached the server
    assert t.loc["A/e0/r0", "bot_response"] == "You are variant A.|0.0|Where is my order?"
    assert t.loc["B/e0/r1", "bot_response"] == "-|0.7|Please help: Where is my order?"
    b_req = [b for b in bodies if b["messages"][-1]["content"].startswith("Please help")]
    assert all(b["top_p"] == 0.9 and b["max_tokens"] == 50 for b in b_req)
    assert all("max_tokens" not in b for b in bodies if b not in b_req)  # A leaves it to the server
    ok = t[t["error"].isna()]
    assert (ok["prompt_tokens"] > 0).all() and (ok["cost_usd"] > 0).all() and (ok["response_time_s"] > 0).all()
    assert t.loc["A/e1/r0", "attempts"] + t.loc["A/e1/r1", "attempts"] == 3  # one 429, retried
    assert set(t["reference"]) == {f"ref {i}" for i in range(5)}
    summary = run.summary_table()
    assert summary["calls"].tolist() == [10, 10] and summary["errors"].tolist() == [2, 2]


def test_rerun_is_free_and_the_log_loads_unchanged(tmp_path):
    pytest.importorskip("openai")
    import toolkit.io

    inputs = ["hello", "RATE me", "BOOM now"]
    with _server(Faulty()) as srv:
        first = run_experiment(_tests(inputs), VARIANTS, repetitions=3, endpoint=_endpoint(srv),
                               cache_dir=tmp_path / "cache", **FAST)
        n_first = len(srv.requests)
        second = run_experiment(_tests(inputs), VARIANTS, repetitions=3, endpoint=_endpoint(srv),
                                cache_dir=tmp_path / "cache", **FAST)
        assert len(srv.requests) == n_first  # zero server hits
        # a new seed is a new draw of the repetitions: everything is sent again
        third = run_experiment(_tests(inputs), VARIANTS[:1], repetitions=1, endpoint=_endpoint(srv),
                               cache_dir=tmp_path / "cache", seed=1, **FAST)
        assert third.calls.sent == 3
    assert first.calls.ok == 18 and n_first == 18 + 4
    assert (second.calls.cached, second.calls.sent, second.calls.attempts) == (18, 0, 0)
    cols = ["conversation_id", "bot_response", "response_time_s", "prompt_tokens", "cost_usd", "timestamp"]
    pd.testing.assert_frame_equal(first.log.turns[cols], second.log.turns[cols])
    assert second.log.turns["cached"].all()
    for out in (tmp_path / "run.jsonl", tmp_path / "run.csv", tmp_path / "folder"):
        path = second.write(out)
        back = toolkit.io.load(path)
        assert len(back.turns) == 18
        assert {"variant", "example_id", "repetition", "reference"} <= set(back.turns.columns)
        assert back.turns["variant"].tolist() == second.log.turns["variant"].tolist()
    meta = json.loads((tmp_path / "run.experiment.json").read_text())
    assert meta["calls"]["cached"] == 18 and meta["n_examples"] == 3
    assert json.loads((tmp_path / "folder" / "experiment.json").read_text())["repetitions"] == 3


_CHILD = """
import sys
import pandas as pd
from toolkit.experiments import Variant, run_experiment
url, cache = sys.argv[1], sys.argv[2]
tests = pd.DataFrame({"example_id": [f"e{i}" for i in range(20)], "input": [f"question {i}" for i in range(20)]})
run_experiment(tests, [Variant("A"), Variant("B", temperature=0.5)], repetitions=1,
               endpoint={"base_url": url, "model": "m"}, cache_dir=cache, concurrency=2, progress=False)
"""


def test_killed_run_resumes_sending_only_what_is_missing(tmp_path):
    pytest.importorskip("openai")

    def slow(req):
        return Reply(200, chat(req["messages"][-1]["content"][::-1]).body, delay=0.1)

    cache = tmp_path / "cache"
    with FakeOpenAI(slow) as srv:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen([sys.executable, "-c", _CHILD, srv.base_url, str(cache)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while len(srv.requests) < 6 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)  # no chance to clean up: finished calls must be on disk
        child.communicate(timeout=30)
        hits_before = len(srv.requests)
        done = len(CallCache(cache))
        assert 1 <= done < 40, (done, child.returncode)
        assert hits_before <= done + 2  # at most the calls in flight were lost
        srv.requests.clear()
        srv.handler = lambda req: chat(req["messages"][-1]["content"][::-1])  # no delay now
        tests = pd.DataFrame({"example_id": [f"e{i}" for i in range(20)],
                              "input": [f"question {i}" for i in range(20)]})
        run = run_experiment(tests, [Variant("A"), Variant("B", temperature=0.5)], repetitions=1,
                             endpoint={"base_url": srv.base_url, "model": "m"}, cache_dir=cache, concurrency=4,
                             progress=False)
        assert len(srv.requests) == 40 - done  # only what was missing was sent
    assert (run.calls.cached, run.calls.ok, run.calls.failed) == (done, 40 - done, 0)
    assert (run.log.turns["bot_response"] == run.log.turns["user_input"].str[::-1]).all()
    assert not list(cache.glob("*/.*.tmp"))  # no half-written entry is left to be read


def test_opening_the_cache_removes_dead_writers_temp_files_only(tmp_path, monkeypatch):
    """A SIGKILL mid-write leaves ``.<key>.json.<tag>.<random>.tmp``; the next run removes it,
    but never a temporary file of a live writer (this process, or one too young to judge)."""
    import toolkit._files
    from toolkit.experiments.cache import _TEMP, _host_hash, _writer_tag

    renamed = []
    real_replace = os.replace
    monkeypatch.setattr(toolkit._files.os, "replace", lambda a, b: (renamed.append(Path(a).name), real_replace(a, b)))
    tests = _tests(["a", "b"])
    bot = lambda ex, v: ex["input"]  # noqa: E731
    run_experiment(tests, [Variant("v")], repetitions=1, target=bot, cache_dir=tmp_path, progress=False)
    monkeypatch.undo()
    assert len(renamed) == 2 and all(_TEMP.match(n)["pid"] == str(os.getpid()) for n in renamed), renamed
    entry = next(tmp_path.glob("??/*.json"))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, timeout=60, check=True).stdout.strip()
    temps = {
        "dead writer": f".{entry.name}.w{dead}-{_host_hash()}.k1ll3d.tmp",
        "live writer (this process)": f".{entry.name}.{_writer_tag()}.l1v3xx.tmp",
        "untagged, fresh": f".{entry.name}.fr3sh1.tmp",
        "untagged, old": f".{entry.name}.0ldxyz.tmp",
        "another host's, fresh": f".{entry.name}.w{dead}-00000000.h0st22.tmp",
    }
    for name in temps.values():
        (entry.parent / name).write_text('{"key": "')
    old = time.time() - 120
    os.utime(entry.parent / temps["untagged, old"], (old, old))
    again = run_experiment(tests, [Variant("v")], repetitions=1, target=bot, cache_dir=tmp_path, progress=False)
    left = {what for what, name in temps.items() if (entry.parent / name).exists()}
    assert left == {"live writer (this process)", "untagged, fresh", "another host's, fresh"}
    assert again.calls.cached == 2 and len(CallCache(tmp_path)) == 2
    written = [p.name for p in entry.parent.iterdir()]
    assert all(n.endswith(".json") or n in temps.values() for n in written), written


def test_interrupted_callable_run_resumes(tmp_path):
    calls = Counter()

    def bot(example, variant):
        calls["n"] += 1
        if calls["n"] == 7 and not calls["interrupted"]:
            calls["interrupted"] += 1
            raise KeyboardInterrupt
        return f"{variant.name}:{example['input']}:{example['repetition']}"

    tests = _tests([f"q{i}" for i in range(5)])
    with pytest.raises(KeyboardInterrupt):
        run_experiment(tests, [Variant("a"), Variant("b")], repetitions=2, target=bot, cache_dir=tmp_path,
                       concurrency=1, progress=False)
    done = len(CallCache(tmp_path))
    assert 6 <= done <= 7  # the six before the interrupt (and the one queued behind it, if it started)
    calls["n"] = 0
    run = run_experiment(tests, [Variant("a"), Variant("b")], repetitions=2, target=bot, cache_dir=tmp_path,
                         concurrency=1, progress=False)
    assert calls["n"] == 20 - done and run.calls.cached == done and run.calls.ok == 20 - done
    calls["n"] = 0
    again = run_experiment(tests, [Variant("a"), Variant("b")], repetitions=2, target=bot, cache_dir=tmp_path,
                           progress=False)
    assert calls["n"] == 0 and again.calls.cached == 20


def test_key_never_in_outputs_logs_warnings_or_exceptions(tmp_path, monkeypatch, caplog, capsys):
    pytest.importorskip("openai")
    from toolkit.cli import main

    monkeypatch.setenv(KEY_ENV, KEY)
    handler = Faulty()
    spec = tmp_path / "spec.yaml"
    with _server(handler) as srv:
        spec.write_text(
            f"test_set: tests.csv\nrepetitions: 2\nretries: 1\ntimeout_s: 5\n"
            f"endpoint: {{base_url: '{srv.base_url}', model: gpt-4o-mini, api_key_env: {KEY_ENV}}}\n"
            "variants:\n  - {name: A}\n  - {name: B, system: 'Be brief.'}\n"
            "out: out/run.jsonl\ncache_dir: cache\n")
        _tests(["hello", "DEAD here"]).to_csv(tmp_path / "tests.csv", index=False)
        with caplog.at_level(logging.DEBUG), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = main(["experiment", "run", str(spec), "--no-progress", "--json"])
        assert code == 0
        assert main(["experiment", "run", str(spec), "--no-progress"]) == 0  # text output: the errors named
        # a 401 that echoes the key: the run stops sending, records why, and redacts it
        def unauthorized(req):
            return Reply(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}})

        srv.handler = unauthorized
        with caplog.at_level(logging.DEBUG):
            bad = run_experiment(_tests(["x", "y", "z"]), [Variant("A")], repetitions=2, endpoint=_endpoint(srv),
                                 concurrency=1, **FAST)
        echoed = [r for r in srv.requests if _auth(r) == f"Bearer {KEY}"]
    out = capsys.readouterr()
    assert "most frequent errors:" in out.out and "HTTP 500" in out.out
    assert "\x1b" not in out.out  # the server's terminal escape was not printed
    assert echoed  # the key was really sent and echoed back by the server
    assert bad.calls.failed == 1 and bad.calls.skipped == 5 and bad.calls.sent == 1
    assert bad.log.turns["error"].str.startswith("HTTP 401").sum() == 1
    assert bad.log.turns["error"].str.startswith("not sent: the run stopped").sum() == 5
    texts = [out.out, out.err, caplog.text, *(str(w.message) for w in caught),
             json.dumps(bad.to_dict()), bad.log.turns.to_csv(), repr(bad.settings)]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "run.jsonl" for p in files) and len(list((tmp_path / "cache").rglob("*.json"))) == 4
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in files]
    assert "DEAD here" in (tmp_path / "out" / "run.jsonl").read_text()
    assert not [t[:200] for t in texts if KEY in t]
    assert not [t[:200] for t in texts if KEY[:12] in t]


def test_callable_target_repetitions_errors_timeouts_and_retries():
    class Unavailable(Exception):
        status_code = 503

    state = Counter()
    lock = threading.Lock()

    def bot(example, variant):
        import random

        with lock:
            state[(example["example_id"], variant.name, example["repetition"])] += 1
            n = state[(example["example_id"], variant.name, example["repetition"])]
        text = example["input"]
        if text == "crash":
            raise RuntimeError("the bot crashed")
        if text == "busy" and n == 1:
            raise Unavailable("try later")
        if text == "hang" and n == 1:
            time.sleep(1.0)
        if text == "none":
            return None
        rng = random.Random(example["seed"])
        return {"text": f"{variant.name} {rng.random():.6f}", "prompt_tokens": 100, "completion_tokens": 10}

    tests = _tests(["hello", "crash", "busy", "hang", "none"])
    variants = [Variant("cheap", model="gpt-4o-mini"), Variant("other")]
    run = run_experiment(tests, variants, repetitions=3, target=bot, timeout_s=0.3, retries=2, concurrency=4, **FAST)
    t = run.log.turns.set_index("conversation_id")
    c = run.calls
    assert c.total == 30 == c.ok + c.failed and c.failed == 2 * 3 * 2
    assert c.retried == 2 * 3 * 2  # busy and hang: one retry each per (variant, repetition)
    assert t.loc["cheap/e1/r0", "error"] == "RuntimeError: the bot crashed" and t.loc["cheap/e1/r0", "attempts"] == 1
    assert "not text" in t.loc["other/e4/r2", "error"]
    assert t.loc["cheap/e3/r1", "error"] is pd.NA or pd.isna(t.loc["cheap/e3/r1", "error"])
    assert t.loc["cheap/e3/r1", "attempts"] == 2  # timed out once, then answered
    # a seeded bot answers differently per repetition, the same on a rerun
    answers = t.loc[["cheap/e0/r0", "cheap/e0/r1", "cheap/e0/r2"], "bot_response"]
    assert answers.nunique() == 3
    again = run_experiment(tests.iloc[:1], variants[:1], repetitions=3, target=bot, **FAST)
    assert again.log.turns["bot_response"].tolist() == answers.tolist()
    # tokens and cost: the price table for a model it knows, none for a target without a model
    assert t.loc["cheap/e0/r0", "cost_usd"] == pytest.approx((100 * 0.15 + 10 * 0.6) / 1e6)
    assert pd.isna(t.loc["other/e0/r0", "cost_usd"]) and t.loc["other/e0/r0", "prompt_tokens"] == 100


def test_run_arguments_and_limits_are_checked():
    tests = _tests(["a", "b"])
    bot = lambda ex, v: "x"  # noqa: E731
    with pytest.raises(ExperimentSpecError, match="exactly one of target"):
        run_experiment(tests, [Variant("a")], progress=False)
    with pytest.raises(ExperimentSpecError, match="max_calls=3"):
        run_experiment(tests, [Variant("a")], repetitions=2, target=bot, max_calls=3, progress=False)
    with pytest.raises(ExperimentSpecError, match="repetitions must be an integer in"):
        run_experiment(tests, [Variant("a")], repetitions=1000, target=bot, progress=False)
    with pytest.raises(ExperimentSpecError, match=r"uses \{question\}"):
        run_experiment(tests, [Variant("a", "Q: {question}")], target=bot, progress=False)
    with pytest.raises(ExperimentSpecError, match="'a' is used twice"):
        run_experiment(tests, [Variant("a"), Variant("a")], target=bot, progress=False)
    with pytest.raises(TestSetError, match="input is longer than 100,000 characters in row 1"):
        run_experiment(_tests(["ok", "x" * 100_001]), [Variant("a")], target=bot, progress=False)
    with pytest.raises(TestSetError, match="'repetition' is set by the runner"):
        run_experiment(tests.assign(repetition=1), [Variant("a")], target=bot, progress=False)
    with pytest.raises(ExperimentSpecError, match="no API key .* set the environment variable NOPE_KEY"):
        run_experiment(tests, [Variant("a")], endpoint={"base_url": "https://api.example.com/v1", "model": "m",
                                                        "api_key_env": "NOPE_KEY"}, progress=False)
    # a template that doubles a long input past the prompt limit: recorded, not sent
    big = Variant("big", "{input}{input}{input}")
    run = run_experiment(_tests(["y" * 70_000]), [big], repetitions=1, target=bot, progress=False)
    assert run.calls.failed == 1 and run.calls.sent == 0 and "not sent" in run.log.turns["error"].iloc[0]
    # a data value with braces is not re-expanded
    run = run_experiment(_tests(["{input} {__class__}"]), [Variant("t", "Q: {input}")], repetitions=1,
                         target=lambda ex, v: v.messages(ex)[-1]["content"], progress=False)
    assert run.log.turns["bot_response"].iloc[0] == "Q: {input} {__class__}"


@pytest.mark.parametrize("text, field", [
    ("test_set: t.csv\ntarget: m:f\nvariants: [{name: a}]\nrepetitons: 3\n", "repetitons is not a spec field"),
    ("test_set: t.csv\ntarget: m:f\nvariants: [{name: a}]\nrepetitions: many\n", "repetitions must be an integer"),
    ("test_set: t.csv\ntarget: m:f\nvariants: [{name: a}, {name: b, temperature: 3}]\n",
     "variants[1]: variant 'b': temperature must be a number in [0, 2], got 3"),
    ("test_set: t.csv\ntarget: m:f\nvariants: [{name: a, tempreature: 1}]\n", "variants[0].tempreature is not a variant field"),
    ("test_set: t.csv\nendpoint: {base_url: 'http://127.0.0.1:1/v1', api_key: sk-abcdefghijklmn}\n"
     "variants: [{name: a}]\n", "endpoint.api_key: the key never goes in a spec"),
    ("test_set: t.csv\nendpoint: {base_url: 'ftp://x'}\nvariants: [{name: a}]\n", "endpoint.base_url must be an http(s) URL"),
    ("test_set: t.csv\nendpoint: {api_key_env: sk-abcdefghijklmn}\nvariants: [{name: a}]\n",
     "endpoint.api_key_env must be the NAME of an environment variable"),
    ("test_set: t.csv\nendpoint: {base_url: 'http://u:sk-abcdefghijklmn@h/v1'}\nvariants: [{name: a}]\n",
     "endpoint.base_url must not hold a user name or password"),
    ("test_set: t.csv\nvariants: [{name: a}]\n", "give exactly one of endpoint"),
    ("target: m:f\nvariants: [{name: a}]\n", "test_set is missing"),
    ("test_set: t.csv\ntarget: m:f\nvariants: [{name: a, prompt_template: 'Q: {input'}]\n",
     "variants[0]: variant 'a': prompt_template: a lone '{'"),
    ("test_set: t.csv\ntarget: m:f\nvariants: [{name: 'a/b'}]\n", "variant name 'a/b' must be"),
    ("test_set: t.csv\ntarget: m:f\nvariants: [{name: a, params: {api_key: x}}]\n", "params.api_key"),
    # review fixes: a key nested in a request option, and the client's timeout switched off
    ("test_set: t.csv\ntarget: m:f\nvariants: [{name: a, params: {extra_headers: {Authorization: "
     "'Bearer sk-abcdefghijklmn'}}}]\n", "params.extra_headers.Authorization"),
    ("test_set: t.csv\ntarget: m:f\nvariants: [{name: a, params: {timeout: null}}]\n", "params.timeout"),
    ("test_set: [t.csv\n", "not valid YAML at line"),
    ("- just a list\n", "the spec must be a YAML mapping"),
])
def test_bad_spec_errors_name_the_field(tmp_path, text, field):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    with pytest.raises(ExperimentSpecError) as info:
        load_spec(path)
    assert field in str(info.value) and str(path) in str(info.value)
    assert "sk-abcdefghijklmn" not in str(info.value)


def test_cli_bad_spec_is_one_line_exit_2(tmp_path, capsys):
    from toolkit.cli import main

    path = tmp_path / "spec.yaml"
    path.write_text("test_set: t.csv\ntarget: m:f\nvariants: [{name: a}]\nconcurrency: 0\n")
    assert main(["experiment", "run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "concurrency must be an integer in [1, 64], got 0" in err and len(err.splitlines()) == 1


def test_cli_dry_run_and_python_target(tmp_path, capsys):
    from toolkit.cli import main
    import toolkit.io

    _tests(["Where is my order?", "Reset my password", "Opening hours?"]).to_csv(tmp_path / "t.csv", index=False)
    # the bot module lives beside the spec file
    (tmp_path / "exp_echo_bot_cli.py").write_text(
        "def answer(example, variant):\n    return variant.messages(example)[-1]['content'].upper()\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: echo-test\ntest_set: t.csv\nn: 2\nrepetitions: 2\n"
                    "target: exp_echo_bot_cli:answer\n"
                    "variants:\n  - {name: plain}\n  - {name: polite, prompt_template: 'Please: {input}'}\n"
                    "cache_dir: cache\n")
    assert main(["experiment", "run", str(spec), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "8 calls, 0 already cached, 8 to send" in out and "nothing was sent" in out
    assert main(["experiment", "run", str(spec), "--out", str(tmp_path / "r.parquet"), "--no-progress"]) == 0
    assert "answered 8" in capsys.readouterr().out
    log = toolkit.io.load(tmp_path / "r.parquet")
    assert log.turns["bot_id"].unique().tolist() == ["echo-test"]
    assert set(log.turns.loc[log.turns["variant"] == "polite", "bot_response"].str[:7]) == {"PLEASE:"}
    assert main(["experiment", "run", str(spec), "--dry-run", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cached"] == 8


def test_read_test_set_sources(tmp_path, bundled):
    pd.DataFrame({"example_id": ["x", "y"], "input": ["a", "b"], "reference": ["A", "B"]}).to_csv(
        tmp_path / "t.csv", index=False)
    assert read_test_set(tmp_path / "t.csv")["reference"].tolist() == ["A", "B"]
    (tmp_path / "t.jsonl").write_text('{"input": "hi", "topic": "greet"}\n{"input": "bye", "topic": "end"}\n')
    assert read_test_set(tmp_path / "t.jsonl")[["example_id", "topic"]].values.tolist() == [["0", "greet"], ["1", "end"]]
    langsmith = [
        {"id": "5f0c", "inputs": {"question": "Where is my parcel?"}, "outputs": {"answer": "On its way."},
         "metadata": {"intent": "order_status"}, "dataset_id": "d1"},
        {"id": "77aa", "inputs": {"messages": [{"role": "system", "content": "s"},
                                               {"role": "user", "content": "Refund please"}]},
         "outputs": {"output": {"role": "assistant", "content": "Sure."}}},
    ]
    (tmp_path / "ls.json").write_text(json.dumps(langsmith))
    ts = read_test_set(tmp_path / "ls.json")
    assert ts[["example_id", "input", "reference"]].values.tolist() == [
        ["5f0c", "Where is my parcel?", "On its way."], ["77aa", "Refund please", "Sure."]]
    assert ts["metadata_intent"].iloc[0] == "order_status"
    (tmp_path / "ls.jsonl").write_text("\n".join(json.dumps(r) for r in langsmith))
    assert len(read_test_set(tmp_path / "ls.jsonl")) == 2
    chats = [{"messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi there"},
                           {"role": "assistant", "content": "Hello!"}]},
             {"messages": [{"role": "user", "content": [{"type": "text", "text": "Cancel my plan"}]},
                           {"role": "assistant", "content": "Done."}]}]
    (tmp_path / "chat.jsonl").write_text("\n".join(json.dumps(r) for r in chats))
    assert read_test_set(tmp_path / "chat.jsonl")[["input", "reference"]].values.tolist() == [
        ["Hi there", "Hello!"], ["Cancel my plan", "Done."]]
    (tmp_path / "bad.json").write_text(json.dumps([{"id": "q", "inputs": {"a": 1, "b": 2}}]))
    with pytest.raises(TestSetError, match=r"record 0 \(id='q'\)"):
        read_test_set(tmp_path / "bad.json")
    drawn = read_test_set(bundled, n=30, seed=3)
    assert len(drawn) == 30 and drawn["example_id"].is_unique and drawn["input"].is_unique
    assert drawn.equals(read_test_set(bundled, n=30, seed=3))
    assert not drawn.equals(read_test_set(bundled, n=30, seed=4))
    with pytest.raises(TestSetError, match="the column 'input' is missing"):
        read_test_set(pd.DataFrame({"question": ["a"]}))


def test_a_server_that_is_down_stops_the_run_after_failures_in_a_row():
    pytest.importorskip("openai")
    with FakeOpenAI([Reply(503, {"error": {"message": "down"}})]) as srv:
        run = run_experiment(_tests([f"q{i}" for i in range(15)]), [Variant("A")], repetitions=2,
                             endpoint={"base_url": srv.base_url, "model": "m"}, concurrency=1, retries=1,
                             stop_after_failures=4, **FAST)
        hits = len(srv.requests)
    c = run.calls
    assert (c.total, c.failed, c.skipped, c.ok, c.sent) == (30, 4, 26, 0, 4)
    assert hits == c.attempts == 8  # 4 calls x (1 + 1 retry); nothing after the stop
    skipped = run.log.turns["error"].str.startswith("not sent: the run stopped after 4 calls in a row failed")
    assert skipped.sum() == 26


def test_cache_knows_a_configurable_bot_by_its_cache_id(tmp_path):
    class Bot:
        def __init__(self, tone):
            self.tone = tone
            self.cache_id = f"tone={tone}"
            self.calls = 0

        def __call__(self, example, variant):
            self.calls += 1
            return f"{self.tone}: {example['input']}"

    tests = _tests(["a", "b"])
    warm, cold, warm_again = Bot("warm"), Bot("cold"), Bot("warm")
    first = run_experiment(tests, [Variant("v")], repetitions=2, target=warm, cache_dir=tmp_path, progress=False)
    second = run_experiment(tests, [Variant("v")], repetitions=2, target=cold, cache_dir=tmp_path, progress=False)
    third = run_experiment(tests, [Variant("v")], repetitions=2, target=warm_again, cache_dir=tmp_path, progress=False)
    assert (warm.calls, cold.calls, warm_again.calls) == (4, 4, 0)
    assert second.log.turns["bot_response"].str.startswith("cold").all()
    assert third.log.turns["bot_response"].tolist() == first.log.turns["bot_response"].tolist()
    assert third.calls.cached == 4


def test_test_set_columns_named_like_log_columns_are_kept_apart():
    tests = _tests(["a", "b"]).assign(variant=["x", "y"], example_variant=["p", "q"], model="m", intent="i")
    run = run_experiment(tests, [Variant("v")], repetitions=1, target=lambda ex, v: ex["variant"], progress=False)
    t = run.log.turns
    assert t["variant"].tolist() == ["v", "v"] and t["model"].isna().all()
    assert t["example_example_variant"].tolist() == ["x", "y"] and t["example_variant"].tolist() == ["p", "q"]
    assert t["example_model"].tolist() == ["m", "m"] and t["intent"].tolist() == ["i", "i"]
    assert t["bot_response"].tolist() == ["x", "y"]  # the target saw the test set's own column


def _alias_bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\ntest_set: t.csv\ntarget: m:f\nvariants: [{name: a, params: {p: *a8}}]\n"


def _hostile_cases():
    def nested(depth):
        return '{"input": ' + "[" * depth + "]" * depth + "}\n"

    return [
        ("fifo", {"t.csv": "@fifo"}, "not a regular file"),
        ("passwd", {}, "passwd"),
        ("spec-too-big", {"spec.yaml": "# " + "x" * 1_000_001}, "larger than 1,000,000 bytes"),
        ("alias-bomb", {"spec.yaml": _alias_bomb()}, "expands to more than 100,000 values"),
        ("json-nested", {"t.jsonl": nested(100_000)}, "t.jsonl"),
        ("not-utf8", {"t.csv": b"input\n\xff\xfe bad\n"}, "UTF-8"),
        ("target-missing", {"t.csv": "input\nhello\n", "target": "no_such_module_xyz:f"}, "cannot be imported"),
    ]


@pytest.mark.parametrize("name, files, words", _hostile_cases(), ids=[c[0] for c in _hostile_cases()])
def test_hostile_inputs_get_one_clear_error(tmp_path, capsys, name, files, words):
    from toolkit.cli import main

    files = dict(files)
    test_set = {"passwd": "/etc/passwd", "json-nested": "t.jsonl"}.get(name, "t.csv")
    target = files.pop("target", "exp_hostile_bot:answer")
    (tmp_path / "exp_hostile_bot.py").write_text("def answer(example, variant):\n    return 'ok'\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"test_set: {test_set}\ntarget: '{target}'\nvariants: [{{name: a}}]\nout: out.jsonl\n")
    for fname, content in files.items():
        p = tmp_path / fname
        if content == "@fifo":
            os.mkfifo(p)
        elif isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
    code = main(["experiment", "run", str(spec), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and words in err and len(err.splitlines()) == 1, err[:500]
    assert "root:" not in err  # no file content echoed
    assert not (tmp_path / "out.jsonl").exists()


def test_formula_text_is_escaped_in_a_csv_log(tmp_path):
    run = run_experiment(_tests(["=HYPERLINK(\"http://x\")", "+1+1"]), [Variant("v")], repetitions=1,
                         target=lambda ex, v: ex["input"], progress=False)
    path = run.write(tmp_path / "run.csv")
    text = path.read_text()
    assert "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text and ",+1+1" not in text


def test_cli_refuses_a_remote_run_whose_cost_is_unknown_or_too_high(tmp_path, monkeypatch, capsys):
    from toolkit.cli import main

    monkeypatch.setenv(KEY_ENV, KEY)
    _tests([f"question number {i} " * 20 for i in range(50)]).to_csv(tmp_path / "t.csv", index=False)
    spec = tmp_path / "spec.yaml"
    base = (f"test_set: t.csv\nrepetitions: 3\nvariants: [{{name: a}}, {{name: b}}]\nout: out.jsonl\n"
            f"endpoint: {{base_url: 'https://api.example.invalid/v1', model: my-model, api_key_env: {KEY_ENV}")
    spec.write_text(base + "}\n")
    assert main(["experiment", "run", str(spec), "--no-progress"]) == 2
    assert "no price is known" in capsys.readouterr().err
    spec.write_text(base + ", prices: {my-model: [1000, 1000]}}\n")
    assert main(["experiment", "run", str(spec), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "300 calls not yet cached would cost about $" in err and "--max-cost 5" in err
    assert main(["experiment", "run", str(spec), "--dry-run", "--json"]) == 0
    shown = capsys.readouterr().out
    assert json.loads(shown)["to_send"] == 300 and KEY not in shown
    assert not (tmp_path / "out.jsonl").exists()


def test_editing_a_python_bot_invalidates_its_cached_answers(tmp_path):
    tests = _tests(["a", "b"])
    first = run_experiment(tests, [Variant("v")], repetitions=1, target=lambda ex, v: "one " + ex["input"],
                           cache_dir=tmp_path, progress=False)
    same = run_experiment(tests, [Variant("v")], repetitions=1, target=lambda ex, v: "one " + ex["input"],
                          cache_dir=tmp_path, progress=False)
    edited = run_experiment(tests, [Variant("v")], repetitions=1, target=lambda ex, v: "two " + ex["input"],
                            cache_dir=tmp_path, progress=False)
    assert first.calls.sent == 2 and same.calls.cached == 2 and edited.calls.sent == 2
    assert edited.log.turns["bot_response"].tolist() == ["two a", "two b"]
    # the fingerprint is stable across processes (no memory addresses, no hash-seed order)
    code = ("import sys; sys.path.insert(0, {root!r}); from toolkit.experiments.cache import _code_fingerprint\n"
            "def bot(ex, v):\n    return 'x' if ex['input'] in {{'a', 'b', 'c'}} else (lambda: 'y')()\n"
            "print(_code_fingerprint(bot))").format(root=str(ROOT))
    prints = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(prints) == 1 and len(prints.pop().strip()) == 16


def test_a_bot_configured_by_partial_or_closure_is_known_by_its_configuration(tmp_path):
    """functools.partial arguments and closure values are part of the bot's identity: a rerun with
    another configuration must not be served the old configuration's cached answers (review
    fix: both were served from the cache); the same configuration still is."""
    import functools

    def bot(example, variant, style="plain"):
        return f"{style}: {example['input']}"

    def make_bot(style):
        def closure_bot(example, variant):
            return f"{style}: {example['input']}"
        return closure_bot

    tests = _tests(["a", "b"])
    for config in (lambda s: functools.partial(bot, style=s), make_bot):
        folder = tmp_path / str(id(config))
        run = [run_experiment(tests, [Variant("v")], repetitions=1, target=config(s), cache_dir=folder,
                              progress=False) for s in ("plain", "LOUD", "plain")]
        assert run[1].calls.sent == 2 and run[1].log.turns["bot_response"].tolist() == ["LOUD: a", "LOUD: b"]
        assert run[2].calls.cached == 2


def test_fingerprint_of_a_recursive_closure_and_of_objects_without_address():
    from toolkit.experiments.cache import _code_fingerprint

    def make(obj):
        def bot(example, variant, depth=0):
            return bot(example, variant, depth + 1) if depth < 1 else str(obj is None)
        return bot

    assert _code_fingerprint(make(object())) == _code_fingerprint(make(object()))  # no id() in it
    assert _code_fingerprint(make(None)) != _code_fingerprint(make(object()))


def test_nested_request_params_may_name_fields_like_password():
    """Only the client's header/query options are searched for key-like names: a JSON schema or a
    tool may have a field called password or token."""
    schema = {"type": "json_schema", "json_schema": {"name": "f", "schema": {
        "type": "object", "properties": {"password": {"type": "string"}, "token": {"type": "string"}}}}}
    v = Variant("a", params={"response_format": schema, "extra_headers": {"X-Trace": "1"}})
    assert v.params["response_format"] == schema
