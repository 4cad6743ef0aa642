"""Prompt experiments against a real bot: a test set x variants x repetitions, run and read honestly.

Modules
-------
spec
    :class:`Variant` (a prompt template plus model parameters), :class:`Endpoint` (an
    OpenAI-compatible chat endpoint; the key only from an environment variable) and
    :func:`load_spec` (the YAML spec of ``toolkit experiment run``).
testset
    :func:`read_test_set`: CSV / JSON Lines examples, a LangSmith dataset export, or user
    messages drawn from a conversation log.
runner
    :func:`run_experiment`: every call once, concurrently, with timeouts, retries, a disk cache
    (a rerun sends nothing, a killed run resumes) and per-call latency, tokens, cost and errors;
    the result's ``log`` is an ordinary conversation log.
cache
    :class:`CallCache`: one atomically written file per finished call.

The names below are imported lazily on first access.

Examples
--------
>>> from toolkit.experiments import Variant, run_experiment
>>> import pandas as pd
>>> run = run_experiment(pd.DataFrame({"input": ["hi", "bye"]}), [Variant("echo")], repetitions=2,
...                      target=lambda ex, v: ex["input"].upper(), progress=False)
>>> run.summary_table()[["variant", "calls", "errors"]].to_dict(orient="records")
[{'variant': 'echo', 'calls': 4, 'errors': 0}]
"""

from __future__ import annotations

from toolkit._lazy import lazy_attributes

_LAZY = {
    # the runner (issue 26, item 1)
    "Variant": "toolkit.experiments.spec",
    "Endpoint": "toolkit.experiments.spec",
    "ExperimentSpec": "toolkit.experiments.spec",
    "ExperimentSpecError": "toolkit.experiments.spec",
    "load_spec": "toolkit.experiments.spec",
    "read_test_set": "toolkit.experiments.testset",
    "TestSetError": "toolkit.experiments.testset",
    "run_experiment": "toolkit.experiments.runner",
    "ExperimentRun": "toolkit.experiments.runner",
    "CallStats": "toolkit.experiments.runner",
    "preview_experiment": "toolkit.experiments.runner",
    "ExperimentPreview": "toolkit.experiments.runner",
    "CallCache": "toolkit.experiments.cache",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
