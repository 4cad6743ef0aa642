"""Sources beyond files: LangSmith runs (pull, push, evaluators), OpenTelemetry GenAI spans,
Langfuse and Arize Phoenix exports and Prometheus metric series, each a small adapter to the
conversation log or to a metric series.

Nothing here touches the network unless it is given an endpoint (and, for LangSmith, the
``LANGSMITH_API_KEY`` environment variable). Submodules import their heavy dependencies lazily.

Examples
--------
>>> from toolkit.sources import prometheus
>>> body = {"status": "success", "data": {"resultType": "matrix", "result": [
...     {"metric": {"__name__": "up"}, "values": [[0, "1"], [60, "1"]]}]}}
>>> prometheus.read_query_range(body)["value"].tolist()
[1.0, 1.0]
"""

from __future__ import annotations

from toolkit._lazy import lazy_attributes

_LAZY = {
    # langsmith
    "make_client": "toolkit.sources.langsmith",
    "pull_runs": "toolkit.sources.langsmith",
    "pull": "toolkit.sources.langsmith",
    "save_runs": "toolkit.sources.langsmith",
    "read_runs": "toolkit.sources.langsmith",
    "runs_to_log": "toolkit.sources.langsmith",
    "push_feedback": "toolkit.sources.langsmith",
    # evaluators
    "make_evaluator": "toolkit.sources.evaluators",
    "quality_evaluators": "toolkit.sources.evaluators",
    # otel
    "read_otlp": "toolkit.sources.otel",
    "read_otlp_jsonl": "toolkit.sources.otel",
    "spans_to_log": "toolkit.sources.otel",
    # prometheus
    "read_query_range": "toolkit.sources.prometheus",
    "query_range": "toolkit.sources.prometheus",
    "to_series": "toolkit.sources.prometheus",
    # prices
    "PRICES": "toolkit.sources.prices",
    "estimate_cost": "toolkit.sources.prices",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), ())
