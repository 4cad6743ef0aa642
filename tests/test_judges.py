"""LLM client and judges against a loopback fake OpenAI-compatible server (tests/fake_openai.py):
rate limits, 5xx, malformed JSON, slow and huge replies, the cache, and the key never leaking."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("openai")

from tests.fake_openai import FakeOpenAI, Reply, chat, scoring_judge  # noqa: E402
from toolkit.errors import ToolkitError  # noqa: E402
from toolkit.judges import judge_pairs, judge_turns, position_bias  # noqa: E402
from toolkit.llm import LLMClient, LLMError  # noqa: E402

KEY = "sk-TESTKEY-Zq8v2-never-print-me-7731"
MSG = [{"role": "user", "content": "hello"}]

TURNS = pd.DataFrame({
    "conversation_id": ["c1", "c1", "c2", "c3"],
    "turn": [0, 1, 0, 0],
    "user_input": ["Where is my order?", "Thanks", "Reset my password", "Opening hours?"],
    "bot_response": ["It ships tomorrow from our warehouse in Leeds with tracking by email.", "You're welcome!",
                     "Go to Settings, then Security, then Reset password and follow the link we email you.",
                     "9-5"],
})


@pytest.fixture
def leaks(caplog, capsys, tmp_path):
    """Collects everything the key could leak into; ``leaks.check(*texts)`` greps it all."""
    caplog.set_level(logging.DEBUG)

    class Leaks:
        cache = tmp_path / "cache"

        def check(self, *texts):
            out = capsys.readouterr()
            blobs = [out.out, out.err, caplog.text, *map(str, texts)]
            blobs += [p.read_text(errors="replace") for p in self.cache.rglob("*") if p.is_file()]
            for b in blobs:
                assert KEY not in b and KEY[5:20] not in b, "the API key leaked"
            return out

    return Leaks()


def client(srv, **kw):
    kw.setdefault("cache", False)
    kw.setdefault("backoff", 0.01)
    kw.setdefault("timeout", 2.0)
    return LLMClient("gpt-4o-mini", base_url=srv.base_url, api_key=KEY, **kw)


def test_429_with_retry_after_then_success(leaks):
    replies = [Reply(429, {"error": {"message": f"rate limited for {KEY}"}}, {"retry-after": "0.15"}),
               Reply(503, {"error": {"message": "busy"}}), chat("ok", 12, 3)]
    with FakeOpenAI(replies) as srv:
        c = client(srv)
        t0 = time.monotonic()
        comp = c.complete(MSG)
        assert time.monotonic() - t0 >= 0.15  # honoured Retry-After
    assert comp.ok and comp.text == "ok" and comp.attempts == 3
    assert len(srv.requests) == 3 and c.usage.retries == 2 and c.usage.requests == 3
    assert srv.requests[0]["headers"].get("Authorization", srv.requests[0]["headers"].get("authorization")) == f"Bearer {KEY}"
    assert c.usage.prompt_tokens == 12 and c.usage.cost_usd == pytest.approx((12 * 0.15 + 3 * 0.6) / 1e6)
    leaks.check(comp, c.usage, repr(c), c.settings())


def test_persistent_500_is_recorded_as_missing_not_raised(leaks, tmp_path):
    with FakeOpenAI([Reply(500, {"error": {"message": f"boom {KEY}"}})]) as srv:
        out = judge_turns(TURNS, "helpfulness", client=client(srv, max_retries=2, cache=leaks.cache),
                          progress=False)
    assert len(srv.requests) == 4 * 3  # every turn tried 1 + 2 times
    assert out["judge_helpfulness"].isna().all()
    assert out["judge_helpfulness_reason"].str.startswith("missing: request failed: HTTP 500").all()
    assert not list(leaks.cache.rglob("*.json"))  # failures are not cached
    leaks.check(out.to_csv(), out.attrs)


def test_auth_error_stops_with_a_redacted_message(leaks):
    many = pd.concat([TURNS] * 10, ignore_index=True)
    with FakeOpenAI([Reply(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}}, delay=0.05)]) as srv:
        with pytest.raises(LLMError) as exc:
            judge_turns(many, "tone", client=client(srv, concurrency=2), progress=False)
    assert "HTTP 401" in str(exc.value) and "***" in str(exc.value)
    assert len(srv.requests) <= 4  # the other queued requests are cancelled, not sent
    import traceback

    leaks.check(str(exc.value), "".join(traceback.format_exception(exc.value)))


def test_malformed_json_is_retried_once_then_missing(leaks):
    def judge(req):
        msgs = req["messages"]
        resp = msgs[1]["content"].split("[Response]")[1]
        if "Leeds" in resp:  # fixed by the retry
            return chat('{"reason": "specific", "score": 5}') if len(msgs) > 2 else chat("Great answer!")
        if "welcome" in resp:  # malformed twice
            return chat('{"reason": "polite", "score": "six"}')
        if "Settings" in resp:  # a score outside 1-5 is not clipped
            return chat('{"reason": "x", "score": 7}')
        return chat('```json\n{"reason": "terse", "score": 2}\n```')

    with FakeOpenAI(judge) as srv:
        out = judge_turns(TURNS, "helpfulness", client=client(srv), progress=False)
    s, r = out["judge_helpfulness"].tolist(), out["judge_helpfulness_reason"].tolist()
    assert s[0] == 5 and r[0] == "specific"
    assert pd.isna(s[1]) and r[1].startswith("missing: malformed answer twice") and "'six'" in r[1]
    assert pd.isna(s[2]) and "score 7 is not an integer from 1 to 5" in r[2]
    assert s[3] == 2
    assert len(srv.requests) == 1 + 1 + 2 + 2 + 1  # turn 0 once retried, turns 1 and 2 retried
    retry = [q for q in srv.requests if len(q["json"]["messages"]) == 4][0]["json"]["messages"]
    assert retry[2]["role"] == "assistant" and "could not be used" in retry[3]["content"]
    leaks.check(out.to_csv())


def test_a_reply_that_is_not_a_chat_completion(leaks):
    with FakeOpenAI([Reply(200, "<html>proxy error</html>")]) as srv:
        comp = client(srv).complete(MSG)
    assert not comp.ok and "not a chat completion" in comp.error and len(srv.requests) == 1
    leaks.check(comp)


def test_slow_reply_times_out_quickly(leaks):
    with FakeOpenAI([Reply(200, chat("late").body, delay=1.5)]) as srv:
        c = client(srv, timeout=0.2, max_retries=1)
        t0 = time.monotonic()
        comp = c.complete(MSG)
        took = time.monotonic() - t0
    assert not comp.ok and comp.error.startswith("timed out after 0.2 s (after 2 attempts)")
    assert took < 1.2 and len(srv.requests) == 2
    leaks.check(comp)


def test_huge_reply_is_cut_off(leaks):
    huge = json.dumps({"choices": [{"message": {"content": "x" * 3_000_000}}]})
    with FakeOpenAI([Reply(200, huge)]) as srv:
        comp = client(srv, max_response_bytes=100_000).complete(MSG)
    assert not comp.ok and "larger than 100,000 bytes" in comp.error
    leaks.check(comp)


def test_cache_makes_a_rerun_free(leaks):
    with FakeOpenAI(scoring_judge) as srv:
        first = judge_turns(TURNS, ["helpfulness", "tone"], client=client(srv, cache=leaks.cache), progress=False)
        sent = len(srv.requests)
        again = judge_turns(TURNS, ["helpfulness", "tone"], client=client(srv, cache=leaks.cache), progress=False)
    assert sent == 8 and len(srv.requests) == sent  # zero requests the second time
    assert again.attrs["judge_usage"]["cache_hits"] == 8 and again.attrs["judge_usage"]["requests"] == 0
    pd.testing.assert_frame_equal(first, again)
    assert first["judge_helpfulness"].tolist() == [3.0, 1.0, 4.0, 1.0]  # the fake scores by length
    files = list(leaks.cache.rglob("*.json"))
    assert len(files) == 8
    # a changed prompt (another rubric) or model misses the cache
    with FakeOpenAI(scoring_judge) as srv2:
        judge_turns(TURNS, "relevance", client=client(srv2, cache=leaks.cache), progress=False)
    assert len(srv2.requests) == 4
    leaks.check(first.to_csv())


def test_concurrency_limit():
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def slow(req):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return scoring_judge(req)

    many = pd.concat([TURNS] * 3, ignore_index=True)
    with FakeOpenAI(slow) as srv:
        judge_turns(many, "helpfulness", client=client(srv, concurrency=3), progress=False)
    assert len(srv.requests) == 12 and 2 <= state["max"] <= 3


def test_dry_run_sends_nothing_and_prices(leaks):
    with FakeOpenAI(scoring_judge) as srv:
        est = judge_turns(TURNS, ["helpfulness", "correctness"], client=client(srv), dry_run=True)
    assert srv.requests == [] and est.n_requests == 8 and est.cost_usd > 0
    assert "No reference answer" in judge_turns(TURNS, "correctness", client=client(srv), dry_run=True).examples[0]
    local = LLMClient("my-llama", base_url="http://127.0.0.1:1/v1", cache=False)
    assert pd.isna(local.estimate([MSG]).cost_usd) and "no price" in local.estimate([MSG]).message()
    priced = LLMClient("my-llama", base_url="http://127.0.0.1:1/v1", cache=False, prices={"my-llama": (1.0, 2.0)})
    assert priced.estimate([MSG], completion_tokens=10).cost_usd == pytest.approx((6 * 1 + 10 * 2) / 1e6)
    leaks.check(est.to_dict())


def test_configuration_errors(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    with pytest.raises(LLMError, match="no model"):
        LLMClient()
    with pytest.raises(LLMError, match="no API key for https://api.openai.com/v1"):
        LLMClient("gpt-4o-mini", cache=False).complete(MSG)
    with pytest.raises(LLMError, match=r"concurrency=0 is outside \[1, 64\]"):
        LLMClient("m", concurrency=0)
    with pytest.raises(ToolkitError, match="unknown rubric"):
        judge_turns(TURNS, "vibes", model="m", dry_run=True)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://user:pw@127.0.0.1:1/v1")
    c = LLMClient("m", cache=False)
    assert "pw" not in repr(c) and "pw" not in json.dumps(c.settings())


def test_pairwise_both_orders_and_position_bias():
    pairs = pd.DataFrame({"user_input": ["q1", "q2", "q3", "q4"],
                          "response_a": ["a long detailed answer", "short", "same", "b"],
                          "response_b": ["short", "a long detailed answer", "same", "another long answer"]})
    with FakeOpenAI(scoring_judge) as srv:
        out = judge_pairs(pairs, both_orders=True, client=LLMClient("m", base_url=srv.base_url, cache=False),
                          progress=False)
    assert len(srv.requests) == 8
    assert out["judge_winner"].tolist() == ["A", "B", "tie", "B"]
    pb = position_bias(out)
    assert pb.n_ties == 2 and pb.consistency == 1.0 and pb.first_wins == pytest.approx(0.5)

    def always_first(req):
        return chat('{"reason": "first", "winner": "1"}')

    with FakeOpenAI(always_first) as srv:
        one = judge_pairs(pairs, seed=3, client=LLMClient("m", base_url=srv.base_url, cache=False), progress=False)
        both = judge_pairs(pairs, both_orders=True, client=LLMClient("m", base_url=srv.base_url, cache=False),
                           progress=False)
    import numpy as np

    expected = np.where(np.random.default_rng(3).random(4) < 0.5, "A", "B").tolist()
    assert one["order1_first"].tolist() == expected  # the order shown comes from the seed
    assert (one["judge_winner"] == one["order1_first"]).all()  # the first shown always wins
    assert position_bias(one).first_wins == 1.0
    assert position_bias(both).consistency == 0.0 and (both["judge_winner"] == "tie").all()


def test_import_toolkit_does_not_import_openai():
    code = ("import sys, toolkit, toolkit.llm, toolkit.judges, toolkit.judges.pointwise, toolkit.ppi\n"
            "import pandas as pd\n"
            "t = pd.DataFrame({'user_input': ['q'], 'bot_response': ['a']})\n"
            "toolkit.judges.judge_turns(t, model='m', dry_run=True, cache=False)\n"
            "print('openai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_cli_judge(tmp_path, monkeypatch, capsys, caplog):
    from toolkit.cli import main

    caplog.set_level(logging.DEBUG)
    log_path = tmp_path / "turns.csv"
    t = TURNS.assign(timestamp="2026-01-01T00:00:00Z", response_time_s=1.0)
    t.to_csv(log_path, index=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeOpenAI(scoring_judge) as srv:
        common = [str(log_path), "--model", "gpt-4o-mini", "--base-url", srv.base_url,
                  "--cache-dir", str(tmp_path / "cache"), "--no-progress"]
        assert main(["judge", *common, "--rubric", "helpfulness", "--dry-run"]) == 0
        dry = capsys.readouterr().out
        assert "dry run: nothing was sent" in dry and "4 requests to gpt-4o-mini" in dry and srv.requests == []
        out = tmp_path / "judged.parquet"
        assert main(["judge", *common, "--rubric", "helpfulness,tone", "--out", str(out)]) == 0
        text = capsys.readouterr().out
        assert "8 requests" not in text and "requests 8" in text and len(srv.requests) == 8
        judged = pd.read_parquet(out)
        assert {"judge_helpfulness", "judge_tone_reason"} <= set(judged.columns)
        assert main(["judge", *common, "--rubric", "helpfulness,tone", "--out", str(out), "--json"]) == 0
        again = json.loads(capsys.readouterr().out)
        assert again["requests"] == 0 and again["cache_hits"] == 8 and len(srv.requests) == 8
        assert main(["judge", *common, "--rubric", "helpfulness", "--dry-run"]) == 0
        assert "4 requests to gpt-4o-mini (4 already cached)" in capsys.readouterr().out
        assert main(["judge", *common, "--rubric", "nope", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "unknown rubric" in err
    blobs = [dry, text, json.dumps(again), err, caplog.text, judged.to_csv()]
    blobs += [p.read_text() for p in (tmp_path / "cache").rglob("*.json")]
    assert not any(KEY in b for b in blobs)


def test_a_dead_endpoint_stops_sending_and_the_command_fails(tmp_path, monkeypatch, capsys, caplog):
    """A wrong --base-url or a server that is down: every request failed after its retries, for
    every turn (2,000 with --limit 2000), and the command said 'wrote ...' with exit 0. Now the
    batch stops after 20 failures in a row and the command exits 1 naming the failure."""
    from toolkit.cli import main

    caplog.set_level(logging.DEBUG)
    many = pd.concat([TURNS] * 15, ignore_index=True)
    many["conversation_id"] = [f"c{i}" for i in range(len(many))]
    many["turn"] = 0
    with FakeOpenAI([Reply(500, {"error": {"message": f"down {KEY}"}})]) as srv:
        out = judge_turns(many, "helpfulness", client=client(srv, max_retries=0, concurrency=2), progress=False)
        sent = len(srv.requests)
    assert 20 <= sent <= 22 and out["judge_helpfulness"].isna().all()  # 60 turns, 20 + in flight
    usage = out.attrs["judge_usage"]
    assert usage["failures"] == sent and usage["not_sent"] == 60 - sent
    assert out["judge_helpfulness_reason"].str.contains("not sent: the 20 requests before it failed").sum() == 60 - sent

    path = tmp_path / "turns.csv"
    many.assign(timestamp="2026-01-01T00:00:00Z", response_time_s=1.0).to_csv(path, index=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeOpenAI([Reply(500, {"error": {"message": f"down {KEY}"}})]) as srv:
        code = main(["judge", str(path), "--rubric", "tone", "--model", "gpt-4o-mini", "--base-url",
                     srv.base_url, "--no-progress", "--cache-dir", str(tmp_path / "c"), "--max-retries", "0",
                     "--out", str(tmp_path / "j.parquet")])
    err = capsys.readouterr().err
    assert code == 1 and "error: stopped after" in err and "HTTP 500" in err and "not sent:" not in err, err
    assert (tmp_path / "j.parquet").is_file() and KEY not in err and KEY not in caplog.text


def test_max_cost_refuses_before_sending(monkeypatch):
    with FakeOpenAI(scoring_judge) as srv:
        c = client(srv)
        with pytest.raises(ToolkitError, match=r"estimated cost above the limit of \$1e-06"):
            judge_turns(TURNS, "helpfulness", client=c, max_cost_usd=1e-6, progress=False)
        assert srv.requests == []
        # a loopback model without a price is allowed (a local server costs nothing we can price)
        local = LLMClient("my-llama", base_url=srv.base_url, cache=False)
        assert judge_turns(TURNS, "tone", client=local, max_cost_usd=0.0, progress=False)["judge_tone"].notna().all()
    remote = LLMClient("my-llama", base_url="https://llm.example.invalid/v1", api_key=KEY, cache=False)
    with pytest.raises(ToolkitError, match="no price known"):
        judge_turns(TURNS, "tone", client=remote, max_cost_usd=100.0, progress=False)


def test_pairwise_malformed_and_failed_answers_are_missing():
    pairs = pd.DataFrame({"user_input": ["q1", "q2"], "response_a": ["a", "b"], "response_b": ["c", "d"]})

    def judge(req):
        text = req["messages"][1]["content"]
        if "q1" in text:
            return chat('{"winner": "A"}')  # not '1', '2' or 'tie': never mapped by guessing
        return Reply(500, "down")

    with FakeOpenAI(judge) as srv:
        out = judge_pairs(pairs, client=LLMClient("m", base_url=srv.base_url, cache=False, max_retries=0),
                          progress=False)
    assert out["judge_winner"].isna().all()
    assert out["order1_reason"].iloc[0].startswith("missing: malformed answer twice")
    assert out["order1_reason"].iloc[1].startswith("missing: request failed: HTTP 500")
    assert len(srv.requests) == 3 and position_bias(out).n_missing == 2


def test_a_key_cut_by_the_message_limit_is_still_redacted():
    key = "localkey-ABCDEFGHIJKLMNOP-123456"  # not an sk- key: only the exact match removes it
    body = {"error": {"message": "x" * 270 + key}}  # the 300-character cut falls inside the key
    with FakeOpenAI([Reply(500, body)]) as srv:
        comp = LLMClient("m", base_url=srv.base_url, api_key=key, cache=False, max_retries=0).complete(MSG)
    assert "***" in comp.error and "localkey-A" not in comp.error
