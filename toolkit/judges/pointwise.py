"""Pointwise rubric judge: a 1-5 score and a short reason per response, as added columns.

Examples
--------
>>> import pandas as pd
>>> turns = pd.DataFrame({"user_input": ["Where is my order?"], "bot_response": ["It ships today."]})
>>> est = judge_turns(turns, rubric="helpfulness", model="gpt-4o-mini", dry_run=True, cache=False)
>>> est.n_requests, est.model
(1, 'gpt-4o-mini')
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError
from toolkit.judges.rubrics import RUBRICS, parse_score, parse_with_retry, pointwise_messages
from toolkit.llm import Completion, CostEstimate, LLMClient

__all__ = ["MAX_JUDGED_TURNS", "judge_turns", "make_client"]

#: The most turns one call judges (each is a paid request); pass ``limit=`` to judge a sample.
MAX_JUDGED_TURNS = 100_000


def make_client(client: LLMClient | None = None, model: str | None = None, **kwargs: Any) -> LLMClient:
    """``client`` as given, or a new :class:`~toolkit.llm.LLMClient` for ``model`` and ``kwargs``.

    Examples
    --------
    >>> make_client(model="m", base_url="http://127.0.0.1:1/v1", cache=False).model
    'm'
    """
    if client is not None:
        if kwargs or (model and model != client.model):
            raise ToolkitError("pass either client= or the client settings (model=, base_url=, ...), not both")
        return client
    return LLMClient(model, **kwargs)


def _turns(data) -> pd.DataFrame:
    from toolkit.log import ConversationLog

    if isinstance(data, ConversationLog):
        return data.turns
    if isinstance(data, pd.DataFrame):
        return data
    raise ToolkitError(f"expected a ConversationLog or a turns DataFrame, got {type(data).__name__}")


def judge_turns(data, rubric: str | Sequence[str] = "helpfulness", *, model: str | None = None,
                client: LLMClient | None = None, reference_col: str = "reference",
                limit: int | None = None, seed: int = 0, dry_run: bool = False, progress: bool = True,
                max_cost_usd: float | None = None, **client_kwargs: Any) -> pd.DataFrame | CostEstimate:
    """Judge every response with an LLM on one or more rubrics (G-Eval style, 1-5 with a reason).

    Parameters
    ----------
    data : ConversationLog or DataFrame
        Turns with ``user_input`` and ``bot_response`` (a ``reference`` column, when there, is
        given to the ``correctness`` rubric).
    rubric : str or list of str
        Names in :data:`toolkit.judges.RUBRICS`: helpfulness, relevance, correctness, tone.
    model, client, **client_kwargs
        A ready :class:`~toolkit.llm.LLMClient`, or its settings (``model``, ``base_url``,
        ``api_key``, ``timeout``, ``concurrency``, ``cache``, ``prices``, ...; endpoint and key
        default to ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``).
    limit : int, optional
        Judge a seeded random sample of this many turns (the others get NaN); at most
        :data:`MAX_JUDGED_TURNS` turns are judged in one call.
    seed : int
        Seed of that sample.
    dry_run : bool
        Send nothing: return a :class:`~toolkit.llm.CostEstimate` with the number of requests,
        the approximate tokens and cost, and the first prompt.
    progress : bool
        Show a progress bar.
    max_cost_usd : float, optional
        Refuse to start (a :class:`~toolkit.errors.ToolkitError`) when the estimated cost of the
        requests not yet cached exceeds this (a model without a known price is refused too,
        unless the endpoint is on this machine).

    Returns
    -------
    DataFrame
        A copy of the turns with ``judge_<rubric>`` (float 1-5, NaN when missing) and
        ``judge_<rubric>_reason`` (the judge's reason, or ``missing: <why>``); the client's usage
        (requests, cache hits, tokens, cost) is in ``result.attrs["judge_usage"]``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"user_input": ["hi"], "bot_response": ["Hello! How can I help?"]})
    >>> judge_turns(t, "tone", model="m", dry_run=True, cache=False).examples[0].startswith("[system]")
    True
    """
    turns = _turns(data)
    rubrics = [rubric] if isinstance(rubric, str) else list(rubric)
    unknown = [r for r in rubrics if r not in RUBRICS]
    if unknown or not rubrics:
        raise ToolkitError(f"unknown rubric(s) {unknown}; choose from {sorted(RUBRICS)}")
    missing = [c for c in ("user_input", "bot_response") if c not in turns.columns]
    if missing:
        raise ToolkitError(f"judge_turns needs the columns {missing} in the turns")
    rows = np.arange(len(turns))
    if limit is not None:
        if not 1 <= int(limit):
            raise ToolkitError(f"limit={limit} must be >= 1")
        if limit < len(turns):
            rows = np.sort(np.random.default_rng(seed).choice(len(turns), size=int(limit), replace=False))
    if len(rows) > MAX_JUDGED_TURNS:
        raise ToolkitError(f"{len(rows):,} turns to judge exceed the limit of {MAX_JUDGED_TURNS:,} "
                           "per call: pass limit= (--limit) to judge a sample")
    cl = make_client(client, model, **client_kwargs)
    ui = turns["user_input"].to_numpy()
    br = turns["bot_response"].to_numpy()
    ref = turns[reference_col].to_numpy() if reference_col in turns.columns else None
    batch, where = [], []
    for r in rubrics:
        for i in rows:
            batch.append(pointwise_messages(r, ui[i], br[i], None if ref is None or pd.isna(ref[i]) else ref[i]))
            where.append((r, i))
    if dry_run:
        return cl.estimate(batch, completion_tokens=60)
    if max_cost_usd is not None:
        est = cl.estimate(batch, completion_tokens=60, examples=0)
        unpriced_local = est.price_per_million is None and cl.is_local
        if est.n_requests > est.n_cached and not unpriced_local and not est.cost_usd <= max_cost_usd:
            raise ToolkitError(f"estimated cost above the limit of ${max_cost_usd:g}: {est.message()}; "
                               "judge a sample (limit=) or raise max_cost_usd")

    def then(k: int, comp: Completion):
        score, reason, last = parse_with_retry(cl, batch[k], comp, parse_score)
        return (np.nan if score is None else float(score)), reason, last

    results = cl.complete_many(batch, progress=progress, desc=f"judging ({', '.join(rubrics)})", then=then)
    out = turns.copy()
    for r in rubrics:
        scores = np.full(len(turns), np.nan)
        reasons = np.full(len(turns), None, dtype=object)
        for (rr, i), (score, reason, _comp) in zip(where, results):
            if rr == r:
                scores[i], reasons[i] = score, reason
        out[f"judge_{r}"] = scores
        out[f"judge_{r}_reason"] = pd.array(reasons, dtype="string")
    out.attrs["judge_usage"] = {**cl.usage.to_dict(), "model": cl.model, "rubrics": rubrics,
                                "judged": int(len(rows)),
                                "missing": {r: int(out[f"judge_{r}"].iloc[rows].isna().sum()) for r in rubrics}}
    return out
