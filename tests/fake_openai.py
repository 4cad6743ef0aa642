"""A loopback fake of an OpenAI-compatible ``/v1/chat/completions`` endpoint for the judge tests.

It runs ``http.server`` on 127.0.0.1 in a thread, records every request (path, headers, JSON
body) and answers with a handler the test chooses: a function from the request's JSON to a
``Reply`` (status, body, headers, delay), or a list of replies used in turn.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


def chat(content: str, prompt_tokens: int = 100, completion_tokens: int = 20) -> Reply:
    """A well-formed chat completion answering ``content``."""
    return Reply(200, {"id": "x", "object": "chat.completion", "model": "fake",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": content}}],
                       "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                 "total_tokens": prompt_tokens + completion_tokens}})


def scoring_judge(request: dict) -> Reply:
    """Scores a response 1-5 from its length (deterministic) as the rubric prompt asks; answers
    pairwise prompts with the longer response."""
    text = request["messages"][-1]["content"]
    if "Response 1" in text and "Response 2" in text:
        r1 = text.split("[Response 1]")[1].split("[Response 2]")[0]
        r2 = text.split("[Response 2]")[1].split("[End of responses]")[0]
        w = "1" if len(r1) > len(r2) else "2" if len(r2) > len(r1) else "tie"
        return chat(json.dumps({"reason": "longer", "winner": w}))
    resp = text.split("[Response]")[-1].split("[End of response]")[0]
    score = 1 + min(4, len(resp.split()) // 5)
    return chat(json.dumps({"reason": f"{len(resp.split())} words", "score": score}))


class FakeOpenAI:
    """``with FakeOpenAI(handler) as srv: srv.base_url``; ``srv.requests`` lists what arrived."""

    def __init__(self, handler: Callable[[dict], Reply] | list[Reply] = scoring_judge):
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        if isinstance(handler, list):
            replies = list(handler)

            def handler(_req, _replies=replies):  # noqa: F811 - replies in turn, the last repeats
                return _replies.pop(0) if len(_replies) > 1 else _replies[0]
        self.handler = handler
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(n)
                try:
                    req = json.loads(raw)
                except ValueError:
                    req = {}
                with outer._lock:
                    outer.requests.append({"path": self.path, "headers": dict(self.headers), "json": req})
                reply = outer.handler(req)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                if isinstance(body, dict):
                    body = json.dumps(body)
                if isinstance(body, str):
                    body = body.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):  # a client that hung up: quiet
                pass

        self.server = Server(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
