"""Judge prompts (G-Eval style: criteria, evaluation steps, a 1-5 scale) and strict parsing.

G-Eval (Liu et al. 2023, "G-Eval: NLG Evaluation using GPT-4 with Better Human Alignment") gives
the judge the task, the criterion, explicit evaluation steps and the scale; we also ask for a
short reason first and a JSON object, so the answer can be checked. Nothing is guessed from a
malformed answer: :func:`parse_score` and :func:`parse_winner` raise :class:`MalformedOutput`.

Examples
--------
>>> msgs = pointwise_messages("helpfulness", "Where is my order?", "It ships tomorrow.")
>>> [m["role"] for m in msgs], "[Response]" in msgs[1]["content"]
(['system', 'user'], True)
>>> parse_score('{"reason": "clear and correct", "score": 4}')
(4, 'clear and correct')
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from toolkit.errors import ToolkitError

__all__ = ["RUBRICS", "MalformedOutput", "Rubric", "pairwise_messages", "parse_score",
           "parse_winner", "parse_with_retry", "pointwise_messages", "retry_message"]

_MAX_FIELD_CHARS = 8_000  # one text field in a prompt; longer ones are cut (and say so)


class MalformedOutput(ValueError):
    """The judge's answer is not the JSON object asked for."""


@dataclass(frozen=True)
class Rubric:
    """A criterion for the judge: name, definition and the steps of the evaluation."""

    name: str
    criterion: str
    steps: tuple[str, ...]
    uses_reference: bool = False


RUBRICS: dict[str, Rubric] = {
    "helpfulness": Rubric(
        "helpfulness",
        "Helpfulness (1-5): how far the response helps the user make progress on what they asked "
        "for: it addresses the request, gives actionable and specific information or next steps, "
        "and does not leave the user needing to ask again.",
        ("Read the user's message and identify what they need.",
         "Read the response and check whether it addresses that need directly.",
         "Check whether it gives concrete, actionable information or next steps.",
         "Assign 1 (no help or harmful) to 5 (fully resolves the need) based on the criterion."),
    ),
    "relevance": Rubric(
        "relevance",
        "Relevance (1-5): how closely the response stays on the topic of the user's message, "
        "without unrelated or generic content.",
        ("Read the user's message and note its topic.",
         "Read the response and find any content that is off topic, generic or boilerplate.",
         "Assign 1 (entirely off topic) to 5 (entirely on topic) based on the criterion."),
    ),
    "correctness": Rubric(
        "correctness",
        "Correctness (1-5): whether the facts, figures and instructions in the response are true; "
        "when a reference answer is given, agreement with the reference decides.",
        ("Read the user's message and, if present, the reference answer.",
         "List the factual claims and instructions in the response.",
         "Check each against the reference (or, without one, against general knowledge); "
         "note contradictions and errors.",
         "Assign 1 (mostly wrong) to 5 (fully correct) based on the criterion."),
        uses_reference=True,
    ),
    "tone": Rubric(
        "tone",
        "Tone (1-5): whether the response is polite, empathetic where appropriate, professional "
        "and clear, fit for a customer-service assistant.",
        ("Read the user's message and note their mood.",
         "Read the response and judge politeness, empathy, professionalism and clarity.",
         "Assign 1 (rude, cold or confusing) to 5 (warm, professional and clear) based on the criterion."),
    ),
}

_SYSTEM = ("You are a careful, impartial evaluator of a customer-service chatbot. You follow the "
           "evaluation steps, and you answer with a single JSON object and nothing else.")


def _rubric(name: str) -> Rubric:
    try:
        return RUBRICS[name]
    except KeyError:
        raise ToolkitError(f"unknown rubric {name!r}; choose from {sorted(RUBRICS)}") from None


def _field(text) -> str:
    text = "" if text is None else str(text)
    if len(text) > _MAX_FIELD_CHARS:
        return text[:_MAX_FIELD_CHARS] + f"\n[... cut at {_MAX_FIELD_CHARS} characters]"
    return text


def pointwise_messages(rubric: str, user_input, response, reference=None) -> list[dict[str, str]]:
    """Chat messages asking for a 1-5 score and a short reason for one response.

    Examples
    --------
    >>> m = pointwise_messages("correctness", "Opening hours?", "9 to 5.", reference="9am-5pm")
    >>> "[Reference answer]" in m[1]["content"]
    True
    """
    r = _rubric(rubric)
    steps = "\n".join(f"{i}. {s}" for i, s in enumerate(r.steps, 1))
    parts = [f"You will be given a user's message to a customer-service chatbot and the chatbot's "
             f"response. Rate the response on one criterion.\n\nEvaluation criterion:\n{r.criterion}"
             f"\n\nEvaluation steps:\n{steps}\n",
             f"[User message]\n{_field(user_input)}\n[End of user message]\n"]
    if r.uses_reference:
        if reference is not None and str(reference).strip():
            parts.append(f"[Reference answer]\n{_field(reference)}\n[End of reference answer]\n")
        else:
            parts.append("(No reference answer is available.)\n")
    parts.append(f"[Response]\n{_field(response)}\n[End of response]\n")
    parts.append('Answer with JSON only, in this form: {"reason": "<one or two sentences>", '
                 '"score": <integer from 1 to 5>}')
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": "\n".join(parts)}]


def pairwise_messages(rubric: str, user_input, first, second) -> list[dict[str, str]]:
    """Chat messages asking which of two responses is better on ``rubric`` (ties allowed).

    Examples
    --------
    >>> m = pairwise_messages("helpfulness", "Refund?", "Yes, in 5 days.", "Maybe.")
    >>> '"winner": "1", "2" or "tie"' in m[1]["content"]
    True
    """
    r = _rubric(rubric)
    text = (f"You will be given a user's message to a customer-service chatbot and two responses. "
            f"Decide which response is better on one criterion. The order of the responses is "
            f"random and says nothing about their quality; their length is not a criterion.\n\n"
            f"Evaluation criterion:\n{r.criterion}\n\n"
            f"[User message]\n{_field(user_input)}\n[End of user message]\n\n"
            f"[Response 1]\n{_field(first)}\n[Response 2]\n{_field(second)}\n[End of responses]\n\n"
            'Answer with JSON only, in this form: {"reason": "<one or two sentences>", '
            '"winner": "1", "2" or "tie"}')
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": text}]


def retry_message(messages: list[dict[str, str]], answer: str, problem: str) -> list[dict[str, str]]:
    """The conversation asking once more after a malformed answer.

    Examples
    --------
    >>> retry_message([{"role": "user", "content": "rate"}], "great!", "no JSON object")[-1]["role"]
    'user'
    """
    return [*messages, {"role": "assistant", "content": _field(answer)[:2000]},
            {"role": "user", "content": f"That answer could not be used ({problem}). Reply again "
                                        "with only the JSON object in the form asked for."}]


def parse_with_retry(client, messages, comp, parse):
    """``parse(answer)`` -> ``(value, reason)``, asking ``client`` once more after a malformed
    answer: ``(value or None, reason or 'missing: why', the last completion)``.

    Examples
    --------
    >>> from toolkit.llm import Completion
    >>> class Client:
    ...     def complete(self, messages):
    ...         return Completion('{"score": 4, "reason": "fine"}')
    >>> parse_with_retry(Client(), [], Completion("great!"), parse_score)[:2]
    (4, 'fine')
    """
    if not comp.ok:
        return None, f"missing: request failed: {comp.error}", comp
    try:
        return (*parse(comp.text), comp)
    except MalformedOutput as first:
        again = client.complete(retry_message(list(messages), comp.text, str(first)))
        if not again.ok:
            return None, f"missing: malformed answer ({first}); the retry failed: {again.error}", again
        try:
            return (*parse(again.text), again)
        except MalformedOutput as second:
            return None, f"missing: malformed answer twice ({first}; then {second})", again


def _json_object(text: str) -> dict:
    if text is None:
        raise MalformedOutput("empty answer")
    s = str(text).strip()
    fence = re.search(r"```(?:json)?\s*(.*?)```", s, re.S)
    if fence:
        s = fence.group(1).strip()
    start, end = s.find("{"), s.rfind("}")
    if start < 0 or end <= start:
        raise MalformedOutput("no JSON object in the answer")
    try:
        obj = json.loads(s[start:end + 1])
    except ValueError as exc:
        raise MalformedOutput(f"invalid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise MalformedOutput("the JSON is not an object")
    return obj


def _reason(obj: dict) -> str:
    reason = obj.get("reason", "")
    return " ".join(str(reason).split())[:500]


def parse_score(text: str) -> tuple[int, str]:
    """(score, reason) from a judge's answer; an integer 1-5 is required (``4.0`` counts as 4).

    Examples
    --------
    >>> parse_score('```json\\n{"score": "5", "reason": "ok"}\\n```')
    (5, 'ok')
    >>> parse_score('{"score": 3.5}')
    Traceback (most recent call last):
    ...
    toolkit.judges.rubrics.MalformedOutput: score 3.5 is not an integer from 1 to 5
    """
    obj = _json_object(text)
    if "score" not in obj:
        raise MalformedOutput("no 'score' in the JSON")
    raw = obj["score"]
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise MalformedOutput(f"score {str(raw)[:20]!r} is not a number") from None
    if not (value == int(value) if value == value and abs(value) < 1e9 else False) or not 1 <= value <= 5:
        raise MalformedOutput(f"score {str(raw)[:20]} is not an integer from 1 to 5")
    return int(value), _reason(obj)


def parse_winner(text: str) -> tuple[str, str]:
    """(winner, reason) with winner ``"1"``, ``"2"`` or ``"tie"``.

    Examples
    --------
    >>> parse_winner('{"winner": 2, "reason": "more specific"}')
    ('2', 'more specific')
    """
    obj = _json_object(text)
    w = str(obj.get("winner", "")).strip().lower().strip("\"'")
    w = {"response 1": "1", "response 2": "2"}.get(w, w)
    if w not in {"1", "2", "tie"}:
        raise MalformedOutput(f"winner {str(obj.get('winner'))[:20]!r} is not '1', '2' or 'tie'")
    return w, _reason(obj)
