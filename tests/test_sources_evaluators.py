"""The quality components as LangSmith evaluators, run by the real ``evaluate`` fully offline."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

# the fake server and the socket guard (autouse: nothing may leave the machine)
from tests.test_sources_langsmith import FakeLangSmith, offline  # noqa: F401

QUESTIONS = [
    "How do I reset my password?",
    "What are your opening hours on Saturday?",
    "Where is my order 1234?",
    "Can I get a refund for a damaged item?",
]
GOOD = {
    "How do I reset my password?": "Click 'Forgot password' on the login page and follow the reset link we email you.",
    "What are your opening hours on Saturday?": "On Saturday our opening hours are 10am to 2pm.",
    "Where is my order 1234?": "Order 1234 shipped yesterday and should arrive on Friday.",
    "Can I get a refund for a damaged item?": "Yes: a damaged item qualifies for a full refund; open the order and choose 'Request refund'.",
}
BACKGROUND = [
    ("I forgot my password", "Use the reset link on the login page."),
    ("when do you open", "We open at 9am on weekdays."),
    ("my order is late", "Sorry! Let me check the order status for you."),
    ("I want my money back", "You can request a refund from your order page."),
]


def _examples():
    from langsmith.schemas import Example

    ds = uuid.UUID("7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
    now = datetime(2026, 1, 5, tzinfo=timezone.utc)
    return [
        Example(id=uuid.uuid5(ds, q), dataset_id=ds, inputs={"question": q}, outputs={"answer": GOOD[q]}, created_at=now)
        for q in QUESTIONS
    ]


def bot(inputs: dict) -> dict:
    """A deterministic 'bot': the good answer for two questions, an off-topic one otherwise."""
    q = inputs["question"]
    if q in QUESTIONS[:2]:
        return {"answer": GOOD[q]}
    return {"answer": "purple llamas llamas dance tonight"}


def _client(srv):
    from langsmith import Client

    return Client(api_url=srv.url, api_key="offline-test", auto_batch_tracing=False)


@pytest.mark.filterwarnings("ignore:.*parameter is in beta")
def test_evaluate_offline_with_quality_evaluators():
    from langsmith.evaluation import evaluate

    from toolkit.quality import score_texts
    from toolkit.sources.evaluators import make_evaluator, make_summary_evaluator

    keys = ["quality", "relevance", "coherence"]
    row = make_evaluator(keys, background=BACKGROUND)
    summary = make_summary_evaluator("quality")
    with FakeLangSmith([]) as srv:
        results = evaluate(bot, data=_examples(), evaluators=[row], summary_evaluators=[summary],
                           upload_results=False, client=_client(srv), max_concurrency=0)  # fmt: skip
        rows = list(results)
        assert srv.requests == []  # upload_results=False: not one request, not even /info
    assert len(rows) == 4
    got = {}
    for r in rows:
        q = r["example"].inputs["question"]
        got[q] = {e.key: e.score for e in r["evaluation_results"]["results"]}
        level = next(e.comment for e in r["evaluation_results"]["results"] if e.key == "quality")
        assert level.startswith("level: ")
    # each row's scores are the scorer's scores of that pair scored after the background pairs
    for q in QUESTIONS:
        answer = bot({"question": q})["answer"]
        ref = score_texts([a for a, _ in BACKGROUND] + [q], [b for _, b in BACKGROUND] + [answer]).iloc[-1]
        assert got[q] == {k: pytest.approx(round(float(ref[k]), 6)) for k in keys}
    # the good answers score higher than the garbled off-topic ones
    assert min(got[q]["quality"] for q in QUESTIONS[:2]) > max(got[q]["quality"] for q in QUESTIONS[2:])
    assert all(got[q]["relevance"] == 0 for q in QUESTIONS[2:])
    # the summary evaluator: all four pairs scored together, averaged
    summ = results._summary_results["results"]
    assert [s.key for s in summ] == ["mean_quality"]
    outs = [bot({"question": q})["answer"] for q in QUESTIONS]
    assert summ[0].score == pytest.approx(round(float(score_texts(QUESTIONS, outs)["quality"].mean()), 6))


def test_evaluators_accept_any_scorer_and_chat_shapes():
    from toolkit.sources.evaluators import make_evaluator, make_summary_evaluator

    def words(user_inputs, responses):  # a scorer: response length in words
        return np.array([len(r.split()) for r in responses], dtype=float)

    ev = make_evaluator("n_words", scorer=words)
    chat_in = {"messages": [{"role": "system", "content": "be nice"}, {"role": "user", "content": "hi there"}]}
    oai_out = {"choices": [{"message": {"role": "assistant", "content": "Hello, how can I help?"}}]}
    assert ev(chat_in, oai_out) == {"key": "n_words", "score": 5.0}
    lc_out = {"generations": [[{"text": "", "message": {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", "AIMessage"],
                                                         "kwargs": {"content": "Hi!", "type": "ai"}}}]]}  # fmt: skip
    assert ev(chat_in, lc_out)["score"] == 1.0
    missing = ev({"image": {"url": "x"}, "size": 3}, {"answer": "ok"})
    assert missing["score"] is None and "no input text" in missing["comment"]
    custom = make_evaluator("n_words", scorer=words, input_key="q", output_key="reply")
    assert custom({"q": "a b"}, {"reply": "one two three", "answer": "x"})["score"] == 3.0
    summ = make_summary_evaluator("n_words", scorer=words)
    assert summ([{"question": "a"}, {"question": "b"}, {"x": 1}], [{"answer": "one two"}, {"answer": "one two three four"}, {"answer": "z"}]) == {
        "key": "mean_n_words", "score": 3.0, "comment": "2 runs scored, 1 without text left out"}  # fmt: skip
    with pytest.raises(ValueError, match="one array but 2 keys"):
        make_evaluator(["a", "b"], scorer=words)({"question": "q"}, {"answer": "a"})


def test_quality_evaluators_cover_every_component():
    from toolkit.quality import COMPONENTS
    from toolkit.sources.evaluators import quality_evaluators

    rows, summaries = quality_evaluators(background=BACKGROUND)
    res = rows[0]({"question": QUESTIONS[0]}, {"answer": GOOD[QUESTIONS[0]]})
    assert [r["key"] for r in res["results"]] == ["quality", *COMPONENTS]
    assert all(r["score"] is not None for r in res["results"])
    s = summaries[0]([{"question": q} for q in QUESTIONS], [{"answer": GOOD[q]} for q in QUESTIONS])
    assert [r["key"] for r in s["results"]] == ["mean_quality"] + [f"mean_{c}" for c in COMPONENTS]
    assert pd.notna(s["results"][0]["score"])
