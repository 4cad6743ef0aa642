"""LangSmith pull/push against a local fake server, with the real ``langsmith`` client.

The server (``FakeLangSmith``) answers the endpoints the client calls, in the server's shapes:
``GET /info``, ``GET /sessions?name=``, ``POST /runs/query`` (v1, ``cursors.next``),
``POST /api/v2/runs/query`` (v2, ``next_cursor``), ``GET/POST /feedback`` and
``PATCH /feedback/{id}``; it records every request. A socket guard fails any connection or name
lookup that is not to 127.0.0.1, so nothing leaves the machine and no key or internet is needed.
"""

from __future__ import annotations

import base64
import inspect
import io
import json
import logging
import math
import socket
import threading
import uuid
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RUNS_FILE = FIXTURES / "langsmith_runs.jsonl"
PROJECT = "support-bot"
PROJECT_ID = "5b3a8c1e-2d4f-4e6a-9b1c-0d2e3f4a5b6c"
TENANT_ID = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
SECRET = "lsv2_pt_TESTSECRET_7f3a9c_do_not_print_0042"


def rid(n: int) -> str:
    return f"1e0f0000-0000-4000-8000-{n:012d}"


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()


def _unb64(text: str):
    return json.loads(base64.urlsafe_b64decode(text.encode()))


# ------------------------------------------------------------------------------------------------
# the fake server
# ------------------------------------------------------------------------------------------------


class FakeLangSmith:
    """A LangSmith API on 127.0.0.1 serving ``runs`` of one project; records every request."""

    def __init__(self, runs, *, version="0.10.114", flags=None, page_size=3):
        self.runs = [dict(r) for r in runs]
        self.version = version
        self.flags = flags if flags is not None else {"ch_query_enabled": True, "search_enabled": True}
        self.page_size = page_size  # the v1 server's page size (v2 honours page_size)
        self.requests: list[dict] = []
        self.feedback: dict[str, dict] = {}
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output quiet
                pass

            def _reply(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method):
                parts = urlsplit(self.path)
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                body = json.loads(raw) if raw else None
                path = parts.path
                if path.startswith("/api/v1/"):
                    path = path[len("/api/v1") :]
                rec = {"method": method, "path": path, "query": parse_qs(parts.query), "headers": dict(self.headers.items()), "body": body}
                with fake.lock:
                    fake.requests.append(rec)
                status, payload = fake.route(method, path, rec["query"], body)
                self._reply(status, payload)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PATCH(self):
                self._handle("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle
    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/v1"

    def calls(self, method=None, path=None):
        return [r for r in self.requests if (method is None or r["method"] == method) and (path is None or r["path"] == path)]

    # -- routing
    def route(self, method, path, query, body):
        if method == "GET" and path == "/info":
            return 200, {
                "version": self.version,
                "license_expiration_time": None,
                "batch_ingest_config": {"use_multipart_endpoint": True, "scale_up_qsize_trigger": 1000, "scale_up_nthreads_limit": 16,
                                        "scale_down_nempty_trigger": 4, "size_limit": 100, "size_limit_bytes": 20971520},
                "instance_flags": self.flags,
                "customer_info": None,
            }  # fmt: skip
        if method == "GET" and path == "/sessions":
            name = (query.get("name") or [None])[0]
            if name != PROJECT:
                return 200, []
            return 200, [self.project()]
        if method == "POST" and path == "/runs/query":
            return 200, self.query_v1(body)
        if method == "POST" and path == "/api/v2/runs/query":
            return 200, self.query_v2(body)
        if method == "GET" and path == "/feedback":
            return 200, self.list_feedback(query)
        if method == "POST" and path == "/feedback":
            return self.create_feedback(body)
        if method == "PATCH" and path.startswith("/feedback/"):
            fid = path.rsplit("/", 1)[-1]
            with self.lock:
                if fid not in self.feedback:
                    return 404, {"detail": "Feedback not found"}
                self.feedback[fid].update(body)
                self.feedback[fid]["modified_at"] = datetime.now(timezone.utc).isoformat()
            return 200, self.feedback[fid]
        return 404, {"detail": "Not Found"}

    def project(self):
        return {
            "id": PROJECT_ID, "name": PROJECT, "start_time": "2026-01-01T00:00:00.000000", "end_time": None,
            "description": None, "extra": {"metadata": {}}, "tenant_id": TENANT_ID, "reference_dataset_id": None,
            "default_dataset_id": None, "trace_tier": "longlived", "run_count": None, "latency_p50": None,
            "latency_p99": None, "first_token_p50": None, "first_token_p99": None, "total_tokens": None,
            "prompt_tokens": None, "completion_tokens": None, "total_cost": None, "prompt_cost": None,
            "completion_cost": None, "last_run_start_time": None, "feedback_stats": None, "run_facets": None,
        }  # fmt: skip

    def _select(self, *, is_root=None, run_type=None, start=None, end=None, session=None):
        out = []
        for r in self.runs:
            if session is not None and r["session_id"] not in session:
                continue
            if is_root is True and r.get("parent_run_id"):
                continue
            if run_type and r["run_type"].lower() != run_type.lower():
                continue
            t = datetime.fromisoformat(r["start_time"]).replace(tzinfo=timezone.utc)
            if start is not None and t < start:
                continue
            if end is not None and t >= end:
                continue
            out.append(r)
        return sorted(out, key=lambda r: r["start_time"])

    def query_v1(self, body):
        end = None
        flt = body.get("filter") or ""
        if flt.startswith('lt(start_time, "'):
            end = datetime.fromisoformat(flt.split('"')[1])
        start = datetime.fromisoformat(body["start_time"]) if body.get("start_time") else None
        runs = self._select(is_root=body.get("is_root"), run_type=body.get("run_type"), start=start, end=end, session=body.get("session"))
        offset = _unb64(body["cursor"])["offset"] if body.get("cursor") else 0
        page = runs[offset : offset + self.page_size]
        more = offset + self.page_size < len(runs)
        return {"runs": page, "cursors": {"next": _b64({"offset": offset + self.page_size}) if more else None,
                                          "prev": _b64({"offset": max(0, offset - self.page_size)}) if offset else None}}  # fmt: skip

    def query_v2(self, body):
        start = datetime.fromisoformat(body["min_start_time"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(body["max_start_time"].replace("Z", "+00:00"))
        runs = self._select(is_root=body.get("is_root"), run_type=body.get("run_type"), start=start, end=end, session=body.get("project_ids"))
        size = int(body.get("page_size") or 100)
        offset = _unb64(body["cursor"])["offset"] if body.get("cursor") else 0
        page = [self.as_v2(r, body.get("selects") or ["ID"]) for r in runs[offset : offset + size]]
        return {"items": page, "next_cursor": _b64({"offset": offset + size}) if offset + size < len(runs) else None}

    @staticmethod
    def as_v2(r, selects):
        meta = dict((r.get("extra") or {}).get("metadata") or {})
        extra = {k: v for k, v in (r.get("extra") or {}).items() if k != "metadata"}
        z = lambda t: None if t is None else t + "Z"  # noqa: E731
        full = {
            "id": r["id"], "name": r["name"], "run_type": r["run_type"].upper(), "status": r["status"].upper(),
            "start_time": z(r["start_time"]), "end_time": z(r["end_time"]), "inputs": r["inputs"], "outputs": r["outputs"],
            "error": r["error"], "extra": extra, "metadata": meta, "tags": r["tags"],
            "parent_run_ids": r.get("parent_run_ids") or [], "project_id": r["session_id"], "trace_id": r["trace_id"],
            "thread_id": next((meta[k] for k in ("thread_id", "session_id", "conversation_id") if meta.get(k)), None),
            "dotted_order": r["dotted_order"], "prompt_tokens": r["prompt_tokens"], "completion_tokens": r["completion_tokens"],
            "total_tokens": r["total_tokens"], "prompt_cost": r["prompt_cost"], "completion_cost": r["completion_cost"],
            "total_cost": r["total_cost"], "first_token_time": r["first_token_time"], "feedback_stats": r["feedback_stats"],
            "reference_example_id": r["reference_example_id"],
        }  # fmt: skip
        wanted = {s.lower() for s in selects}
        return {k: v for k, v in full.items() if k in wanted}

    def list_feedback(self, query):
        runs = set(query.get("run") or [])
        keys = set(query.get("key") or [])
        limit = int((query.get("limit") or ["100"])[0])
        offset = int((query.get("offset") or ["0"])[0])
        with self.lock:
            items = [f for f in self.feedback.values() if (not runs or f["run_id"] in runs) and (not keys or f["key"] in keys)]
        items.sort(key=lambda f: f["created_at"])
        return items[offset : offset + limit]

    def create_feedback(self, body):
        fid = body.get("id")
        with self.lock:
            if fid in self.feedback:
                return 409, {"detail": f"Feedback {fid} already exists"}
            now = datetime.now(timezone.utc).isoformat()
            stored = {
                "id": fid, "created_at": now, "modified_at": now, "run_id": body.get("run_id"),
                "trace_id": body.get("trace_id"), "key": body["key"], "score": body.get("score"), "value": body.get("value"),
                "comment": body.get("comment"), "correction": body.get("correction"), "feedback_group_id": None,
                "comparative_experiment_id": None, "feedback_source": body.get("feedback_source"),
                "session_id": body.get("session_id"), "start_time": body.get("start_time"), "extra": body.get("extra"),
            }  # fmt: skip
            self.feedback[fid] = stored
        return 200, stored


# ------------------------------------------------------------------------------------------------
# fixtures
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def fixture_runs():
    return [json.loads(line) for line in RUNS_FILE.read_text().splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Fail (and record) any connection or name lookup that is not to the loopback address."""
    import langsmith.utils

    for var in ("LANGSMITH_ENDPOINT", "LANGCHAIN_ENDPOINT", "LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2",
                "LANGSMITH_WORKSPACE_ID", "LANGCHAIN_API_KEY", "LANGSMITH_PROJECT", "HTTP_PROXY", "HTTPS_PROXY",
                "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("LANGSMITH_API_KEY", SECRET)
    langsmith.utils.get_env_var.cache_clear()
    attempts: list = []
    real_connect, real_gai = socket.socket.connect, socket.getaddrinfo

    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1") and not str(host).startswith("/"):
            attempts.append(("connect", address))
            raise OSError(f"test guard: connection to {address!r} refused (nothing may leave the machine)")
        return real_connect(sock, address)

    def getaddrinfo(host, *a, **kw):
        if host not in ("127.0.0.1", "::1", "localhost", None):
            attempts.append(("getaddrinfo", host))
            raise socket.gaierror(f"test guard: lookup of {host!r} refused")
        return real_gai(host, *a, **kw)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    langsmith.utils.get_env_var.cache_clear()
    assert attempts == [], f"requests tried to leave the machine: {attempts}"


def cli(*argv) -> tuple[int, str, str]:
    from toolkit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------------------------------
# mapping (no server)
# ------------------------------------------------------------------------------------------------


def test_three_shapes_map_to_text_ids_latency_tokens_cost(fixture_runs):
    from toolkit.sources.langsmith import runs_to_log

    mapped = runs_to_log(fixture_runs, bot_id=PROJECT)
    t = mapped.log.turns.set_index("run_id")
    assert mapped.report.shapes == {"langchain": 2, "openai": 3, "traceable": 2}

    lc = t.loc[rid(1)]  # LangChain chat model: serialized messages in, generations out
    assert (lc.conversation_id, lc.turn, lc.user_id, lc.variant) == ("conv-lc", 0, "u-17", "A")
    assert lc.user_input == "I can't log in to my account"
    assert lc.bot_response == "Sorry about that! Please reset your password from the login page."
    assert lc.model == "gpt-4o-mini" and lc["shape"] == "langchain"
    assert lc.response_time_s == pytest.approx(1.25)
    assert (lc.prompt_tokens, lc.completion_tokens) == (31, 14)
    assert lc.cost_usd == pytest.approx(0.00001305) and lc.cost_source == "server"
    assert lc.timestamp == pd.Timestamp("2026-01-05T10:00:01.25Z")
    assert t.loc[rid(2), "turn"] == 1 and t.loc[rid(2), "conversation_id"] == "conv-lc"

    oa = t.loc[rid(3)]  # OpenAI wrapper: role/content messages in, choices out; variant from tag
    assert (oa.conversation_id, oa.turn, oa.user_id, oa.variant, oa.model) == ("conv-oai", 0, "u-42", "B", "gpt-4o")
    assert oa.user_input == "What are your opening hours?"
    assert oa.bot_response == "We are open Monday to Friday, 9am to 6pm."
    assert oa.response_time_s == pytest.approx(0.8)
    # no server cost: the local price table (gpt-4o: $2.50 / $10 per 1M tokens)
    assert oa.cost_usd == pytest.approx(40 * 2.5e-6 + 12 * 10e-6) and oa.cost_source == "price_table"
    oa2 = t.loc[rid(4)]  # no server token counts: taken from outputs.usage_metadata
    assert (oa2.prompt_tokens, oa2.completion_tokens, oa2.turn) == (70, 13, 1)
    assert oa2.cost_usd == pytest.approx(70 * 2.5e-6 + 13 * 10e-6)
    assert oa2.response_time_s == pytest.approx(3.5)

    tr = t.loc[rid(5)]  # traceable chain: argument names; its child LLM run is skipped (one turn per trace)
    assert (tr.conversation_id, tr.user_id, tr.bot_id, tr.variant) == ("conv-tr", "u-7", "acme-support", "A")
    assert tr.user_input == "Where is my order #1234?"
    assert tr.bot_response == "Order #1234 shipped yesterday and arrives on Thursday."
    assert tr.model == "gpt-4o"  # from its child LLM run
    assert (tr.prompt_tokens, tr.completion_tokens, tr.cost_usd) == (120, 18, pytest.approx(0.0048))
    assert tr.response_time_s == pytest.approx(2.4)
    assert rid(6) not in t.index
    # bot_id falls back to the project name
    assert t.loc[rid(1), "bot_id"] == PROJECT
    assert set(t["trace_id"]) >= {rid(1), rid(5)} and set(t["project_id"]) == {PROJECT_ID}


def test_malformed_runs_are_counted_not_dropped_or_fatal(fixture_runs):
    from toolkit.sources.langsmith import runs_to_log

    broken = fixture_runs + ["not a run", {"name": "no id"}]
    mapped = runs_to_log(broken)
    rep = mapped.report
    assert rep.n_records == 12 and rep.n_turns == 7
    assert rep.counts == {
        "error": 1, "missing_outputs": 1, "unknown_shape": 1, "non_root_in_trace": 1, "invalid_record": 2,
        "no_conversation_id": 1, "no_cost": 2,
    }  # fmt: skip
    issues = {(i.record_id, i.reason): i for i in rep.issues_frame().itertuples()}
    assert issues[(rid(8), "missing_outputs")].skipped
    assert "input keys ['image']" in issues[(rid(9), "unknown_shape")].detail
    t = mapped.log.turns.set_index("run_id")
    err = t.loc[rid(7)]  # the error run is a turn carrying its error (last line of the traceback)
    assert err.error == "openai.RateLimitError: Error code: 429 - Rate limit reached for gpt-4o"
    assert pd.isna(err.bot_response) and err.user_input == "Can I change the delivery address?"
    assert err.response_time_s == pytest.approx(30.0) and err.turn == 1
    nocid = t.loc[rid(10)]  # no conversation id: its own conversation (the trace id), noted
    assert nocid.conversation_id == rid(10) and math.isnan(nocid.cost_usd)  # my-finetune: no price
    assert "12 records -> 7 turns" in str(rep)


def test_traceable_keys_are_configurable():
    from toolkit.validation import LogValidationError
    from toolkit.sources.langsmith import runs_to_log

    run = {"id": rid(99), "name": "bot", "run_type": "chain", "start_time": "2026-02-01T00:00:00Z", "end_time": "2026-02-01T00:00:02Z",
           "inputs": {"customer_text": "hello there", "locale": "en"}, "outputs": {"reply": {"text": "Hi!"}, "score": 3},
           "extra": {"metadata": {"thread_id": "x"}}}  # fmt: skip
    with pytest.raises(LogValidationError, match="none of the 1 langsmith runs records could be mapped.*unknown_shape=1"):
        runs_to_log([run])
    t = runs_to_log([run], input_key="customer_text", output_key=["reply"]).log.turns
    assert (t.loc[0, "user_input"], t.loc[0, "bot_response"]) == ("hello there", "Hi!")
    # a LangGraph root run: the message history in and out (serialised LangChain messages)
    lc = lambda cls, kind, text: {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", cls],  # noqa: E731
                                  "kwargs": {"content": text, "type": kind}}  # fmt: skip
    graph = dict(run, inputs={"messages": [lc("HumanMessage", "human", "first"), lc("AIMessage", "ai", "ok"),
                                           lc("HumanMessage", "human", "second question")]},
                 outputs={"messages": [lc("HumanMessage", "human", "second question"),
                                       lc("AIMessage", "ai", [{"type": "text", "text": "second answer"}])]})  # fmt: skip
    t = runs_to_log([graph]).log.turns
    assert (t.loc[0, "user_input"], t.loc[0, "bot_response"], t.loc[0, "shape"]) == ("second question", "second answer", "traceable")


def test_saved_runs_round_trip(tmp_path, fixture_runs):
    from toolkit.sources.langsmith import read_runs, runs_to_log, save_runs

    p = save_runs(fixture_runs, tmp_path / "runs.jsonl")
    assert read_runs(p) == [json.loads(json.dumps(r, sort_keys=True)) for r in fixture_runs]
    a, b = runs_to_log(fixture_runs).log.turns, runs_to_log(p).log.turns
    pd.testing.assert_frame_equal(a, b)
    (tmp_path / "bad.jsonl").write_text('{"id": 1}\n{oops\n')
    with pytest.raises(ValueError, match="bad.jsonl: line 2 is not JSON"):
        read_runs(tmp_path / "bad.jsonl")


# ------------------------------------------------------------------------------------------------
# pull against the fake server
# ------------------------------------------------------------------------------------------------


def test_pull_v1_list_runs_multipage(fixture_runs):
    from toolkit.sources.langsmith import make_client, pull, pull_runs, runs_to_log

    with FakeLangSmith(fixture_runs, page_size=3) as srv:
        mapped = pull(PROJECT, client=make_client(srv.url), runs="root")
        queries = srv.calls("POST", "/runs/query")
    # 9 root runs, 3 per page: three pages, the second and third asked for with the cursor
    assert len(queries) == 3
    assert [q["body"].get("cursor") is not None for q in queries] == [False, True, True]
    first = queries[0]["body"]
    assert first["session"] == [PROJECT_ID] and first["is_root"] is True
    assert "inputs" in first["select"] and "outputs" in first["select"]
    assert srv.calls("GET", "/sessions")[0]["query"]["name"] == [PROJECT]
    assert all(r["headers"].get("x-api-key") == SECRET for r in srv.requests)
    assert srv.calls("POST", "/api/v2/runs/query") == []
    # the pulled log is the log of the saved root runs
    roots = [r for r in fixture_runs if not r.get("parent_run_id")]
    expected = runs_to_log(roots, bot_id=PROJECT).log.turns
    pd.testing.assert_frame_equal(mapped.log.turns, expected)
    assert mapped.report.n_records == 9 and mapped.report.n_turns == 7
    assert mapped.log.turns.loc[mapped.log.turns["run_id"] == rid(5), "model"].isna().all()  # child not pulled

    with FakeLangSmith(fixture_runs, page_size=3) as srv:
        window = pull_runs(PROJECT, client=make_client(srv.url), since="2026-01-05T11:00:00Z", until="2026-01-05T12:06:00Z",
                           runs="llm", backend="v1")  # fmt: skip
        body = srv.calls("POST", "/runs/query")[0]["body"]
    assert body["start_time"].startswith("2026-01-05T11:00:00") and body["run_type"] == "llm"
    assert body["filter"].startswith('lt(start_time, "2026-01-05T12:06:00') and "is_root" not in body
    assert [r["id"] for r in window] == [rid(3), rid(4), rid(6)]


def test_langsmith_cli_usage_errors(tmp_path):
    code, out, err = cli("langsmith")
    assert code == 2 and "pull" in out and "push" in out
    code, out, err = cli("langsmith", "pull", "--project", PROJECT, "--since", "last tuesday", "--out", str(tmp_path / "r.jsonl"),
                         "--endpoint", "http://127.0.0.1:9/api/v1")  # fmt: skip
    assert code == 2 and "since must be an ISO 8601 time" in err
    # a duration beyond what a date can hold is the same usage error, not an OverflowError traceback
    code, out, err = cli("langsmith", "pull", "--project", PROJECT, "--since", "99999999999d", "--out",
                         str(tmp_path / "r.jsonl"), "--endpoint", "http://127.0.0.1:9/api/v1")
    assert code == 2 and "since must be an ISO 8601 time" in err
    code, out, err = cli("langsmith", "push", str(tmp_path / "missing.parquet"), "--key", "quality", "--dry-run")
    assert code == 2 and "missing.parquet" in err


def test_pull_v2_query_multipage_and_window(fixture_runs):
    from langsmith import Client

    from toolkit.sources.langsmith import make_client, pull_runs, runs_to_log

    if not hasattr(Client, "_get_langsmith_api_sync"):
        pytest.skip("the installed langsmith client has no v2 runs query (pull uses list_runs)")

    flags = {"ch_query_enabled": True, "sdb_query_enabled": True}
    with FakeLangSmith(fixture_runs, version="0.16.4", flags=flags) as srv:
        client = make_client(srv.url)
        runs = pull_runs(PROJECT, client=client, runs="all", page_size=4)
        windowed = pull_runs(PROJECT, client=client, since="2026-01-05T11:00:00Z", until="2026-01-05T12:06:00Z", page_size=4)
        queries = srv.calls("POST", "/api/v2/runs/query")
    assert srv.calls("POST", "/runs/query") == []
    # 10 runs, 4 per page: three pages with next_cursor, then the windowed pull (4 root runs: one page)
    assert [q["body"].get("cursor") is not None for q in queries] == [False, True, True, False]
    b = queries[0]["body"]
    assert b["project_ids"] == [PROJECT_ID] and b["page_size"] == 4 and "is_root" not in b
    assert {"INPUTS", "OUTPUTS", "METADATA", "THREAD_ID", "PROMPT_TOKENS", "TOTAL_COST"} <= set(b["selects"])
    assert b["min_start_time"].startswith("2026-01-01T00:00:00")  # bounded to the project, not the last day
    w = queries[3]["body"]
    assert w["is_root"] is True and w["min_start_time"].startswith("2026-01-05T11:00:00") and w["max_start_time"].startswith("2026-01-05T12:06:00")
    assert [r["id"] for r in windowed] == [rid(3), rid(4), rid(5), rid(7)]
    # v2 runs (metadata at top level, upper-case enums, project_id) map like the v1 runs
    assert len(runs) == 10 and runs[0]["run_type"] == "llm" and runs[0]["session_id"] == PROJECT_ID
    v2 = runs_to_log(runs, bot_id=PROJECT).log.turns
    v1 = runs_to_log(fixture_runs, bot_id=PROJECT).log.turns
    pd.testing.assert_frame_equal(v2, v1)


def test_pull_cli_saves_runs_and_log_without_printing_the_key(tmp_path, fixture_runs, caplog):
    from toolkit.io import load
    from toolkit.sources.langsmith import runs_to_log

    caplog.set_level(logging.DEBUG)
    out, logdir = tmp_path / "runs.jsonl", tmp_path / "pulled"
    with FakeLangSmith(fixture_runs) as srv:
        code, stdout, stderr = cli("langsmith", "pull", "--project", PROJECT, "--endpoint", srv.url, "--runs", "all",
                                   "--out", str(out), "--log", str(logdir), "--json")  # fmt: skip
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["runs"] == 10 and summary["mapping"]["n_turns"] == 7
    assert summary["mapping"]["counts"]["missing_outputs"] == 1
    log = load(logdir)
    offline = runs_to_log(out, bot_id=PROJECT).log  # re-run without the server
    pd.testing.assert_frame_equal(log.turns, offline.turns, check_dtype=False)
    for text in (stdout, stderr, caplog.text, out.read_text(), *(p.read_bytes().decode("latin-1") for p in logdir.iterdir())):
        assert SECRET not in text


def test_no_key_means_offline_and_a_clear_error(monkeypatch, tmp_path):
    from toolkit.sources.langsmith import LangSmithNotConfigured, pull_runs

    monkeypatch.delenv("LANGSMITH_API_KEY")
    with pytest.raises(LangSmithNotConfigured, match="LANGSMITH_API_KEY is not set"):
        pull_runs(PROJECT, endpoint="http://127.0.0.1:9/api/v1")
    code, out, err = cli("langsmith", "pull", "--project", PROJECT, "--out", str(tmp_path / "r.jsonl"))
    assert code == 2 and "LANGSMITH_API_KEY is not set" in err
    assert not (tmp_path / "r.jsonl").exists()


def test_connection_errors_are_redacted(caplog):
    from toolkit.sources.langsmith import make_client, pull_runs

    caplog.set_level(logging.DEBUG)
    with socket.socket() as s:  # a free port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from urllib3.util import Retry

    client = make_client(f"http://127.0.0.1:{port}/api/v1", timeout_ms=2000, retry_config=Retry(total=0))
    with pytest.raises(RuntimeError) as info:
        pull_runs(PROJECT, client=client, backend="v1")
    text = str(info.value) + caplog.text
    assert "LangSmith pull of project 'support-bot' failed" in str(info.value)
    assert SECRET not in text and SECRET[:5] + "*" not in text


# ------------------------------------------------------------------------------------------------
# push
# ------------------------------------------------------------------------------------------------


def _scored_turns(fixture_runs):
    from toolkit.sources.langsmith import runs_to_log

    turns = runs_to_log(fixture_runs).log.turns
    # any numeric per-turn column will do: here the answer length in hundreds of characters
    return turns.assign(score=turns["bot_response"].str.len().astype("float64") / 100.0, level=["ok"] * len(turns))


def test_push_sends_expected_feedback_in_batches_idempotently(fixture_runs):
    from toolkit.sources.langsmith import feedback_id, make_client, push_feedback

    turns = _scored_turns(fixture_runs)
    with FakeLangSmith(fixture_runs) as srv:
        client = make_client(srv.url)
        rep = push_feedback(turns, "quality", column="score", comment_column="level", client=client, batch_size=3)
        posts = srv.calls("POST", "/feedback")
        reads = srv.calls("GET", "/feedback")
        assert rep.counts == {"create": 6, "skip_missing_score": 1}  # the error turn has no answer, no score
        assert len(posts) == 6 and len(reads) == 2  # 6 runs to score, 3 per batch: one read per batch
        assert reads[0]["query"]["key"] == ["quality"] and len(reads[0]["query"]["run"]) == 3
        by_run = {p["body"]["run_id"]: p["body"] for p in posts}
        scored = turns.dropna(subset=["score"]).set_index("run_id")
        assert set(by_run) == set(scored.index)
        for run_id, body in by_run.items():
            row = scored.loc[run_id]
            assert body["key"] == "quality"
            assert body["score"] == pytest.approx(round(row.score, 4))
            assert body["comment"] == "ok"
            assert body["id"] == feedback_id(run_id, "quality")
            if "session_id" in inspect.signature(client.create_feedback).parameters:  # clients >= 0.4
                assert body["session_id"] == PROJECT_ID
            assert body["trace_id"] == row.trace_id
            assert body["feedback_source"]["type"] == "model"
            assert body["feedback_source"]["metadata"]["source"] == "chatbot-toolkit"

        # pushing again creates nothing
        again = push_feedback(turns, "quality", column="score", client=client, batch_size=3)
        assert again.counts == {"unchanged": 6, "skip_missing_score": 1}
        assert len(srv.calls("POST", "/feedback")) == 6 and srv.calls("PATCH") == []
        assert len(srv.feedback) == 6

        # a changed score is updated in place (same feedback id), not duplicated
        changed = turns.copy()
        changed.loc[changed["run_id"] == rid(1), "score"] = 0.123456
        third = push_feedback(changed, "quality", column="score", client=client)
        assert third.counts == {"update": 1, "unchanged": 5, "skip_missing_score": 1}
        patches = srv.calls("PATCH")
        assert len(patches) == 1 and patches[0]["path"] == f"/feedback/{feedback_id(rid(1), 'quality')}"
        assert patches[0]["body"]["score"] == 0.1235
        assert len(srv.feedback) == 6

        # dry run: reads only
        n_before = len(srv.requests)
        dry = push_feedback(changed.assign(score=changed["score"] + 1), "quality", column="score", client=client, dry_run=True)
        assert dry.counts == {"update": 6, "skip_missing_score": 1} and dry.dry_run
        assert {r["method"] for r in srv.requests[n_before:]} == {"GET"}


def test_push_validates_its_input(fixture_runs):
    from toolkit.sources.langsmith import push_feedback

    turns = _scored_turns(fixture_runs)
    with pytest.raises(ValueError, match="turns.run_id is required"):
        push_feedback(turns.drop(columns="run_id"), "quality", column="score", dry_run=True)
    with pytest.raises(ValueError, match="turns.nope is missing"):
        push_feedback(turns, "nope", dry_run=True)
    with pytest.raises(ValueError, match=r"turns.level must be numeric.*row 0 \('ok'\)"):
        push_feedback(turns, "quality", column="level", dry_run=True)


def test_push_cli_dry_run_then_push(tmp_path, fixture_runs, caplog, monkeypatch):
    from toolkit.io import save
    from toolkit.log import validate

    caplog.set_level(logging.DEBUG)
    turns = _scored_turns(fixture_runs)
    path = save(validate(turns), tmp_path / "scored")
    plan = tmp_path / "plan.csv"
    with FakeLangSmith(fixture_runs) as srv:
        code, out, err = cli("langsmith", "push", str(path), "--key", "quality", "--column", "score", "--endpoint", srv.url,
                             "--dry-run", "--plan", str(plan))  # fmt: skip
        assert code == 0, err
        assert "would push feedback 'quality': create=6, skip_missing_score=1" in out
        assert srv.calls("POST") == [] and len(pd.read_csv(plan)) == 7
        code, out2, err2 = cli("langsmith", "push", str(path), "--key", "quality", "--column", "score", "--endpoint", srv.url, "--json")
        assert code == 0, err2
        assert json.loads(out2)["counts"] == {"create": 6, "skip_missing_score": 1}
        assert len(srv.calls("POST", "/feedback")) == 6
    for text in (out, err, out2, err2, caplog.text, plan.read_text()):
        assert SECRET not in text
    # offline dry run: no key, no server, every scored row planned
    monkeypatch.delenv("LANGSMITH_API_KEY")
    code, out3, err3 = cli("langsmith", "push", str(path), "--key", "quality", "--column", "score", "--dry-run")
    assert code == 0 and "create=6" in out3 and "existing feedback was not checked" in out3
    code, out4, err4 = cli("langsmith", "push", str(path), "--key", "quality", "--column", "score")
    assert code == 2 and "LANGSMITH_API_KEY is not set" in err4


def test_push_failures_are_reported_not_fatal(fixture_runs):
    from toolkit.sources.langsmith import feedback_id, make_client, push_feedback

    turns = _scored_turns(fixture_runs)
    with FakeLangSmith(fixture_runs) as srv:
        # somebody else created our feedback id between our read and our write: a 409 conflict
        srv.route_orig = srv.route

        def route(method, path, query, body):
            if method == "GET" and path == "/feedback":
                return 200, []
            return srv.route_orig(method, path, query, body)

        srv.route = route
        srv.feedback[feedback_id(rid(1), "quality")] = {"id": feedback_id(rid(1), "quality"), "run_id": rid(1), "key": "quality",
                                                        "created_at": "2026-01-01T00:00:00+00:00"}  # fmt: skip
        client = make_client(srv.url, retry_config=None)
        rep = push_feedback(turns, "quality", column="score", client=client)
    assert rep.counts == {"create": 5, "failed": 1, "skip_missing_score": 1}
    failed = rep.plan[rep.plan["action"] == "failed"]
    assert failed["run_id"].tolist() == [rid(1)] and "409" in failed["detail"].iloc[0]
    assert SECRET not in failed["detail"].iloc[0]


def test_feedback_id_is_deterministic_uuid():
    from toolkit.sources.langsmith import feedback_id

    a = feedback_id(rid(1).upper(), "quality")
    assert a == feedback_id(rid(1), "quality") and uuid.UUID(a).version == 5
    assert a != feedback_id(rid(1), "relevance") != feedback_id(rid(2), "quality")


def test_push_cli_scores_quality_when_the_log_has_none(tmp_path, fixture_runs):
    from toolkit.quality import score_turns
    from toolkit.sources.langsmith import feedback_id, runs_to_log, save_runs

    runs_file = save_runs(fixture_runs, tmp_path / "runs.jsonl")
    with FakeLangSmith(fixture_runs) as srv:
        code, out, err = cli("langsmith", "push", str(runs_file), "--key", "quality", "--comment-column", "level", "--endpoint", srv.url)
        posts = {p["body"]["run_id"]: p["body"] for p in srv.calls("POST", "/feedback")}
    assert code == 0, err
    expected = score_turns(runs_to_log(fixture_runs).log)
    assert "create=7" in out and len(posts) == 7  # the error turn is scored too (an empty answer scores low)
    for r in expected.itertuples():
        body = posts[r.run_id]
        assert body["score"] == pytest.approx(round(r.quality, 4)) and body["comment"] == str(r.level)
        assert body["id"] == feedback_id(r.run_id, "quality")
    code, out, err = cli("langsmith", "push", str(runs_file), "--key", "helpfulness", "--dry-run")
    assert code == 2 and "turns.helpfulness is missing" in err


def test_the_network_guard_itself_works(offline):
    """The guard used by every test here refuses (and records) anything but loopback."""
    try:
        with pytest.raises(OSError, match="test guard"):
            socket.create_connection(("198.51.100.7", 443), timeout=1)  # refused at the lookup
        with pytest.raises(OSError, match="test guard"), socket.socket() as s:
            s.connect(("198.51.100.7", 443))
        with pytest.raises(OSError, match="test guard"):
            socket.getaddrinfo("api.smith.langchain.com", 443)
        assert [kind for kind, _ in offline] == ["getaddrinfo", "connect", "getaddrinfo"]
    finally:
        offline.clear()  # expected attempts: do not fail the teardown check


def test_push_names_a_missing_comment_column(fixture_runs):
    """A comment column the turns lack is a named input error, not a bare KeyError."""
    from toolkit.errors import ToolkitError
    from toolkit.sources.langsmith import make_client, push_feedback

    turns = _scored_turns(fixture_runs)
    with FakeLangSmith(fixture_runs) as srv:
        with pytest.raises(ToolkitError, match=r"turns\.nope \(comment column\) is missing"):
            push_feedback(turns, "quality", column="score", comment_column="nope", client=make_client(srv.url))
        assert srv.calls("POST", "/feedback") == []
