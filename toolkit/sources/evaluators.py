"""The toolkit's quality components as LangSmith evaluators.

:func:`make_evaluator` returns a row evaluator ``(inputs, outputs) -> result`` for
``langsmith.evaluation.evaluate(..., evaluators=[...])``; :func:`make_summary_evaluator` a
summary evaluator over the whole experiment. Both work offline with ``upload_results=False``
(nothing is sent anywhere) and online, where LangSmith stores the scores as feedback.

The scoring is a *scorer*: any callable that takes two equally long lists, user inputs and
responses, and returns per-pair scores (a DataFrame with one column per key, a mapping of
arrays, or a single array for one key). The default is :func:`toolkit.quality.score_texts`
(relevance, sentiment, coherence, length fit, the default (fitted) ``quality`` and its ``level``).

Relevance uses a TF-IDF fitted on the texts it scores. A row evaluator sees one pair, so give it
a ``background`` of typical (input, response) pairs: they are scored together with each pair so
the IDF reflects your domain; the summary evaluator scores all pairs of the experiment at once.

The texts are found as in :mod:`toolkit.sources.langsmith`: chat messages (OpenAI or LangChain),
``choices``/``generations`` outputs, or the first of the usual keys (``question``, ``input``, ...
and ``answer``, ``output``, ...), configurable with ``input_key``/``output_key``.

Layer: analyses, not data. It sits under ``sources/`` next to the LangSmith client it serves,
but it is built on :mod:`toolkit.quality` (imported only inside the scorer), so the import rules
treat it as an analysis module; no data-layer module imports it.

Examples
--------
>>> ev = make_evaluator(["quality", "relevance"])
>>> res = ev({"question": "How do I reset my password?"},
...          {"answer": "Click 'Forgot password' on the login page to get a reset link."})
>>> [r["key"] for r in res["results"]]
['quality', 'relevance']
>>> 0 < res["results"][0]["score"] <= 1
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

__all__ = ["Scorer", "default_scorer", "make_evaluator", "make_summary_evaluator", "quality_evaluators", "texts_of"]

#: a scorer: (user_inputs, responses) -> per-pair scores (DataFrame, mapping of arrays, or array)
Scorer = Callable[[list, list], Any]


def default_scorer(config: Any = None) -> Scorer:
    """:func:`toolkit.quality.score_texts` with an optional quality config.

    Examples
    --------
    >>> sorted(default_scorer()(["opening hours?"], ["We open at 9am."]).columns)
    ['coherence', 'length_fit', 'level', 'quality', 'relevance', 'sentiment']
    """
    from toolkit.quality import score_texts

    return partial(score_texts, config=config) if config is not None else score_texts


def texts_of(inputs: Mapping | None, outputs: Mapping | None, *, input_key=None, output_key=None) -> tuple[str | None, str | None]:
    """(user text, response text) of an example's inputs and a run's outputs.

    Examples
    --------
    >>> texts_of({"messages": [{"role": "user", "content": "hi"}]},
    ...          {"choices": [{"message": {"role": "assistant", "content": "hello"}}]})
    ('hi', 'hello')
    """
    from toolkit.sources import langsmith_map as ls

    run = {"inputs": dict(inputs or {}), "outputs": dict(outputs or {}), "run_type": "chain"}
    shape = ls.detect_shape(run) or "traceable"
    in_keys = [input_key] if isinstance(input_key, str) else list(input_key or ls.INPUT_KEYS)
    out_keys = [output_key] if isinstance(output_key, str) else list(output_key or ls.OUTPUT_KEYS)
    user = ls._input_text(run, shape, in_keys) if run["inputs"] else None
    bot = ls._output_text(run, shape, out_keys) if run["outputs"] else None
    return user, bot


def _columns(result: Any, keys: Sequence[str], n: int) -> dict[str, list]:
    """Per-key lists of length n from what a scorer returned."""
    if hasattr(result, "columns") or isinstance(result, Mapping):  # a DataFrame or a mapping of arrays
        have = list(result.columns) if hasattr(result, "columns") else list(result)
        missing = [k for k in keys if k not in have]
        if missing:
            raise KeyError(f"the scorer returned no {missing}; it has {have}")
        if hasattr(result, "columns"):
            return {k: list(result[k]) for k in keys}
        return {k: list(np.asarray(result[k]).ravel()) if not isinstance(result[k], list) else result[k] for k in keys}
    if len(keys) != 1:
        raise ValueError(f"the scorer returned one array but {len(keys)} keys were asked for: {list(keys)}")
    arr = list(np.asarray(result, dtype=float).ravel())
    if len(arr) != n:
        raise ValueError(f"the scorer returned {len(arr)} scores for {n} pairs")
    return {keys[0]: arr}


def _num(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(x) else round(x, 6)


def make_evaluator(
    keys: str | Sequence[str] = "quality",
    *,
    scorer: Scorer | None = None,
    config: Any = None,
    background: Sequence[tuple[str, str]] | None = None,
    input_key: str | Sequence[str] | None = None,
    output_key: str | Sequence[str] | None = None,
    comment_key: str | None = "level",
    name: str | None = None,
) -> Callable[[dict, dict], dict]:
    """A LangSmith row evaluator scoring each run's output against the example's input.

    Parameters
    ----------
    keys : str or sequence of str
        Scores to report (columns of the scorer's result): ``"quality"``, ``"relevance"``,
        ``"sentiment"``, ``"coherence"``, ``"length_fit"`` with the default scorer.
    scorer : callable, optional
        ``(user_inputs, responses) -> scores``; default :func:`toolkit.quality.score_texts`.
    config : QualityConfig or dict, optional
        Passed to the default scorer (weights, cut-offs, length band).
    background : sequence of (input, response), optional
        Pairs scored together with each pair (only the pair's scores are reported), so the
        relevance TF-IDF is fitted on a domain corpus rather than on one pair.
    input_key, output_key : str or list of str, optional
        Where the texts are in ``inputs`` / ``outputs`` (see :func:`texts_of`).
    comment_key : str or None
        A scorer column whose value becomes the comment of the first key (the quality level).
    name : str, optional
        The evaluator's ``__name__`` (shown by LangSmith).

    Returns
    -------
    callable
        ``evaluator(inputs, outputs) -> {"key", "score", "comment"}`` for one key, or
        ``{"results": [...]}`` for several. A pair without text gets ``score=None`` and a
        comment saying what was missing.

    Examples
    --------
    >>> from langsmith.evaluation import evaluate  # doctest: +SKIP
    >>> evaluate(my_bot, data="support-dataset", evaluators=[make_evaluator()],
    ...          upload_results=False)  # doctest: +SKIP
    """
    keys = [keys] if isinstance(keys, str) else list(keys)
    if not keys:
        raise ValueError("keys must name at least one score")
    score_fn = scorer or default_scorer(config)
    bg = [(str(a), str(b)) for a, b in (background or [])]

    def evaluator(inputs: dict, outputs: dict) -> dict:
        user, bot = texts_of(inputs, outputs, input_key=input_key, output_key=output_key)
        if user is None or bot is None:
            missing = "input text" if user is None else "output text"
            note = f"no {missing} found (inputs keys {sorted(inputs or {})}, outputs keys {sorted(outputs or {})})"
            results = [{"key": k, "score": None, "comment": note} for k in keys]
            return results[0] if len(results) == 1 else {"results": results}
        ins = [a for a, _ in bg] + [user]
        outs = [b for _, b in bg] + [bot]
        result = score_fn(ins, outs)
        want = keys + ([comment_key] if comment_key and hasattr(result, "columns") and comment_key in result.columns and comment_key not in keys else [])
        cols = _columns(result, want, len(ins))
        results = []
        for i, k in enumerate(keys):
            r = {"key": k, "score": _num(cols[k][-1])}
            if i == 0 and comment_key in cols:
                r["comment"] = f"{comment_key}: {cols[comment_key][-1]}"
            results.append(r)
        return results[0] if len(results) == 1 else {"results": results}

    evaluator.__name__ = name or ("toolkit_" + "_".join(keys))
    return evaluator


def make_summary_evaluator(
    keys: str | Sequence[str] = "quality",
    *,
    scorer: Scorer | None = None,
    config: Any = None,
    input_key: str | Sequence[str] | None = None,
    output_key: str | Sequence[str] | None = None,
    name: str | None = None,
) -> Callable[[list, list], dict]:
    """A LangSmith summary evaluator: all pairs of the experiment scored together, then averaged.

    Reports ``mean_<key>`` for each key (pairs without text are left out and counted in the
    comment). Scoring the whole batch fits the relevance TF-IDF on the experiment's own texts.

    Examples
    --------
    >>> summ = make_summary_evaluator()
    >>> r = summ([{"question": "opening hours?"}, {"question": "refund?"}],
    ...          [{"answer": "We open at 9am."}, {"answer": "Refunds take 5 days."}])
    >>> r["key"], 0 < r["score"] <= 1
    ('mean_quality', True)
    """
    keys = [keys] if isinstance(keys, str) else list(keys)
    score_fn = scorer or default_scorer(config)

    def summary(inputs: list, outputs: list) -> dict:
        pairs = [texts_of(i, o, input_key=input_key, output_key=output_key) for i, o in zip(inputs, outputs)]
        good = [(a, b) for a, b in pairs if a is not None and b is not None]
        skipped = len(pairs) - len(good)
        comment = f"{len(good)} runs scored" + (f", {skipped} without text left out" if skipped else "")
        if not good:
            results = [{"key": f"mean_{k}", "score": None, "comment": comment} for k in keys]
        else:
            cols = _columns(score_fn([a for a, _ in good], [b for _, b in good]), keys, len(good))
            results = [{"key": f"mean_{k}", "score": _num(np.nanmean(np.asarray(cols[k], dtype=float))), "comment": comment} for k in keys]
        return results[0] if len(results) == 1 else {"results": results}

    summary.__name__ = name or ("toolkit_mean_" + "_".join(keys))
    return summary


def quality_evaluators(config: Any = None, *, background: Sequence[tuple[str, str]] | None = None, **kwargs: Any) -> tuple[list, list]:
    """(row evaluators, summary evaluators) for all quality components, ready for ``evaluate``.

    Examples
    --------
    >>> rows, summaries = quality_evaluators()
    >>> len(rows), len(summaries)
    (1, 1)
    """
    from toolkit.quality import COMPONENTS

    keys = ["quality", *COMPONENTS]
    return (
        [make_evaluator(keys, config=config, background=background, **kwargs)],
        [make_summary_evaluator(keys, config=config, **{k: v for k, v in kwargs.items() if k in ("input_key", "output_key")})],
    )
