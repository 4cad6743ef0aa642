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
calls
    The arguments of a run checked, every call planned with its cache key and seed;
    :func:`preview_experiment` (what a run would send and cost, nothing sent).
targets
    The two callers: a Python callable in a thread with a timeout and retries, or an
    OpenAI-compatible endpoint through :class:`toolkit.llm.LLMClient`.
cache
    :class:`CallCache`: one atomically written file per finished call; the temporary files of
    killed writers are removed when a run opens it.
analysis
    :func:`analyze_repeated`: the variants compared with examples as the unit and repetitions
    nested; it reads the run log and puts the pieces below together.
lift, flaky, result
    The paired t on per-example means, the naive test, the variance split and the cluster
    bootstrap (vectorised over experiments); the flaky-example rule; :class:`RepeatedResult`
    with its tables and figures.
planner
    :func:`plan_repetitions` / :func:`plan_from_result`: examples x repetitions for a target lift.
standin
    :func:`demo_experiment`, :class:`StandInBot`: a seeded offline bot from the sample's texts
    with planted quality gaps and flaky examples (the demo's target).
plots, widgets
    The figures; :func:`toolkit.experiments.widgets.repetition_panel`, the planner with sliders.
workflow
    :func:`~toolkit.experiments.workflow.experiment_inputs`: the steps of notebook 06 (the demo, a
    spec or a saved log; analysed; the sidecar's results).

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

# the public names of each module (imported on first access): the runner (issue 26, item 1), the
# repetition-aware analysis, the planner and the stand-in bot (items 2 and 4)
_MODULES = {
    "toolkit.experiments.spec": ("Endpoint", "ExperimentSpec", "ExperimentSpecError", "Variant",
                                 "load_spec"),
    "toolkit.experiments.testset": ("TestSetError", "read_test_set"),
    "toolkit.experiments.runner": ("CallStats", "ExperimentRun", "run_experiment"),
    "toolkit.experiments.calls": ("ExperimentPreview", "preview_experiment"),
    "toolkit.experiments.cache": ("CallCache",),
    "toolkit.experiments.analysis": ("analyze_repeated",),
    "toolkit.experiments.result": ("ExperimentAnalysisError", "RepeatedResult"),
    "toolkit.experiments.lift": ("naive_repetition_test", "paired_item_test", "variance_components"),
    "toolkit.experiments.flaky": ("flaky_examples",),
    "toolkit.experiments.planner": ("RepetitionPlan", "plan_from_result", "plan_repetitions",
                                    "power_repeated"),
    "toolkit.experiments.standin": ("StandInBot", "demo_experiment"),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
