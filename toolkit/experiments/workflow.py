"""The steps of notebook 06 (``06_prompt_experiment.ipynb``), so that the notebook only calls and shows.

:func:`experiment_inputs` gets the run log the notebook analyses, from one of three sources: a
saved run log (``data_path``), an experiment spec run now (``spec_path``), or, by default, the
offline demo against the seeded stand-in bot (:mod:`toolkit.experiments.standin`), graded with
the bot's own pass/fail. Every run goes through :func:`toolkit.experiments.runner.run_experiment`
with a disk cache (a rerun sends nothing) and is written beside the notebook's outputs. The
returned :class:`ExperimentInputs` analyses itself (:meth:`ExperimentInputs.analyze`) and
gathers the sidecar's results (:meth:`ExperimentInputs.sidecar_results`).

Examples
--------
>>> import tempfile
>>> inputs = experiment_inputs(n_examples=12, repetitions=2, output_dir=tempfile.mkdtemp())
>>> inputs.metric, inputs.source
('passed', 'the offline stand-in bot (planted truth)')
>>> res = inputs.analyze(n_boot=0)
>>> res.control, res.treatments
('baseline', ('grounded', 'concise'))
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["ExperimentInputs", "experiment_inputs"]

#: how many flaky example ids the sidecar lists at most
MAX_FLAKY_IN_SIDECAR = 50


@dataclass
class ExperimentInputs:
    """The run log a notebook analyses and where it came from.

    Attributes
    ----------
    turns : DataFrame
        One row per call: ``variant``, ``example_id``, ``repetition``, the metric (and
        ``quality``, scored when the log had none).
    metric : str
        The column compared.
    source : str
        Where the log came from, in words.
    run : ExperimentRun or None
        The run, when one was made now (not for a saved log).
    demo : StandInDemo or None
        The stand-in's experiment and its planted truth (the offline demo only).
    """

    turns: pd.DataFrame
    metric: str
    source: str
    run: Any = None
    demo: Any = None

    @property
    def truth(self) -> dict | None:
        """The stand-in's planted truth (None unless the demo ran)."""
        return None if self.demo is None else self.demo.truth

    @property
    def variant_order(self) -> list[str]:
        """The run's variants in their order (the control first), else their order in the log."""
        if self.run is not None:
            return [v.name for v in self.run.variants]
        return [str(v) for v in dict.fromkeys(self.turns["variant"].dropna())]

    def summary_table(self) -> pd.DataFrame:
        """Per variant: calls, examples, repetitions, failed calls and the metric's mean.

        Examples
        --------
        >>> log = pd.DataFrame({"variant": ["a", "a", "b", "b"], "example_id": ["1", "1", "1", "1"],
        ...                     "repetition": [0, 1, 0, 1], "passed": [1, 0, 1, 1]})
        >>> ExperimentInputs(log, "passed", "a test").summary_table()["mean"].tolist()
        [0.5, 1.0]
        """
        t = self.turns
        failed = t["error"].notna() if "error" in t else pd.Series(False, index=t.index)
        g = t.assign(_failed=failed).groupby("variant", sort=False)
        out = pd.DataFrame({"calls": g.size(), "examples": g["example_id"].nunique(),
                            "repetitions": g["repetition"].nunique(), "failed_calls": g["_failed"].sum().astype(int),
                            "mean": g[self.metric].mean()})
        out = out.reindex([v for v in self.variant_order if v in out.index])
        out.index.name = "variant"
        return out.reset_index()

    def to_dict(self) -> dict[str, Any]:
        """Plain values: source, metric, counts, the run's calls and the per-variant summary."""
        from toolkit._files import to_jsonable

        t = self.turns
        return to_jsonable({"source": self.source, "metric": self.metric, "n_calls": len(t),
                            "n_examples": int(t["example_id"].nunique()),
                            "calls": None if self.run is None else self.run.calls.to_dict(),
                            "summary": self.summary_table()})

    def message(self) -> str:
        """One line: calls, variants x examples x repetitions, failed calls, the metric.

        Examples
        --------
        >>> log = pd.DataFrame({"variant": ["a", "b"], "example_id": ["1", "1"], "repetition": [0, 0],
        ...                     "passed": [1, 0]})
        >>> ExperimentInputs(log, "passed", "a test").message()
        "2 calls from a test: 2 variants x 1 examples x up to 1 repetitions; 0 failed calls; metric 'passed'"
        """
        t = self.turns
        failed = int(t["error"].notna().sum()) if "error" in t else 0
        return (f"{len(t):,} calls from {self.source}: {t['variant'].nunique()} variants x "
                f"{t['example_id'].nunique()} examples x up to {int(t['repetition'].max()) + 1} repetitions; "
                f"{failed} failed calls; metric {self.metric!r}")

    def analyze(self, control: str = "", **kwargs):
        """:func:`~toolkit.experiments.analysis.analyze_repeated` of the metric: ``control`` (empty:
        the first variant) against every other variant, in the run's order; ``kwargs`` (alpha,
        flaky_alpha, seed, ...) go to it."""
        from toolkit.experiments.analysis import analyze_repeated

        order = self.variant_order
        ctrl = control or order[0]
        return analyze_repeated(self.turns, self.metric, control=ctrl, treatments=[v for v in order if v != ctrl],
                                **kwargs)

    def sidecar_results(self, result, plan) -> dict[str, Any]:
        """The notebook's headline numbers for its sidecar: the best variant's lift with its CI
        and p-values, the flaky examples, the plan, the whole analysis and plan, the run's calls
        and (on the demo) the planted truth.

        Examples
        --------
        >>> import tempfile
        >>> inputs = experiment_inputs(n_examples=12, repetitions=2, output_dir=tempfile.mkdtemp())
        >>> res = inputs.analyze(n_boot=0)
        >>> out = inputs.sidecar_results(res, res.plan(0.3, max_repetitions=2))
        >>> out["best_variant"], out["n_calls"], sorted(out["truth"])[:2]
        ('grounded', 72, ['expected_lift', 'expected_pass_rate'])
        """
        best = result.best
        flaky_ids = sorted(set(result.flaky_examples["example_id"]))
        out = {
            "source": self.source, "metric": self.metric, "control": result.control,
            "n_examples": int(result.comparisons["n_examples"].max()),
            "repetitions": float(result.comparisons["repetitions"].mean()),
            "n_calls": int(len(self.turns)),
            "best_variant": str(best["treatment"]), "best_lift": float(best["lift"]),
            "best_lift_ci_low": float(best["ci_low"]), "best_lift_ci_high": float(best["ci_high"]),
            "best_p_value": float(best["p_adjusted"]), "best_naive_p_value": float(best["naive_p_value"]),
            "n_flaky": len(flaky_ids), "flaky_examples": flaky_ids[:MAX_FLAKY_IN_SIDECAR],
            "plan_examples": int(plan.recommended["examples"]),
            "plan_repetitions": int(plan.recommended["repetitions"]),
            "plan_examples_floor": int(plan.examples_floor),
            "analysis": result.to_dict(), "plan": plan.to_dict(),
            "calls": self.run.calls.to_dict() if self.run is not None else None,
        }
        if self.truth:
            out["truth"] = {k: self.truth[k] for k in ("expected_pass_rate", "population_pass_rate", "expected_lift",
                                                       "population_lift", "flaky_examples", "note")}
        return out


def experiment_inputs(*, data_path: str | os.PathLike = "", spec_path: str | os.PathLike = "",
                      n_examples: int = 60, repetitions: int = 3, variants: str = "baseline,grounded,concise",
                      seed: int = 0, metric: str = "", cache_dir: str | os.PathLike = "",
                      output_dir: str | os.PathLike = ".") -> ExperimentInputs:
    """The run log of notebook 06: a saved log, a spec run now, or the offline stand-in demo.

    Parameters
    ----------
    data_path : path, optional
        A saved run log (``variant``, ``example_id``, ``repetition`` columns) to analyse.
    spec_path : path, optional
        An experiment spec (:func:`toolkit.experiments.load_spec`) to run now (when no
        ``data_path``).
    n_examples, repetitions, variants, seed
        The demo (neither path given): test-set size, calls per (variant, example), the
        stand-in's variants (comma-separated, the control first), the bot's seed.
    metric : str
        The column compared; empty: ``passed`` (the stand-in's pass/fail) on the demo, else
        ``quality`` (the local score, computed when the log has none).
    cache_dir : path, optional
        The cache of finished calls; empty: ``<output_dir>/cache``.
    output_dir : path
        A run made now is written to ``<output_dir>/runs.parquet`` (with its ``.experiment.json``).

    Returns
    -------
    ExperimentInputs

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> inputs = experiment_inputs(n_examples=10, repetitions=2, variants="baseline,concise", output_dir=out)
    >>> inputs.summary_table()[["variant", "calls", "examples", "repetitions"]].values.tolist()
    [['baseline', 20, 10, 2], ['concise', 20, 10, 2]]
    >>> again = experiment_inputs(data_path=f"{out}/runs.parquet")
    >>> again.metric, again.run is None, len(again.turns)
    ('quality', True, 40)
    """
    from toolkit.experiments.runner import run_experiment
    from toolkit.experiments.spec import Variant

    out = Path(output_dir)
    calls_dir = cache_dir or str(out / "cache")
    run = demo = None
    if data_path:
        from toolkit.io import load

        turns = load(data_path).turns
        source = "a saved run log"
    elif spec_path:
        from toolkit.experiments.spec import load_spec
        from toolkit.experiments.testset import read_test_set

        spec = load_spec(spec_path)
        run_kw = {**spec.run_kwargs(), "cache_dir": spec.cache_dir or calls_dir}
        run = run_experiment(read_test_set(spec.test_set, n=spec.n, seed=spec.seed), spec.variants,
                             target=spec.load_target(), progress=False, **run_kw)
        turns = run.log.turns
        source = f"the spec's {'endpoint' if spec.endpoint else 'Python target'}"
    else:
        from toolkit.experiments.standin import demo_experiment

        demo = demo_experiment(n_examples, seed=seed, variants=[v.strip() for v in variants.split(",") if v.strip()])
        run = run_experiment(demo.test_set, [Variant(**v) for v in demo.variants], repetitions=repetitions,
                             target=demo.bot, cache_dir=calls_dir, seed=seed, progress=False)
        turns = demo.bot.grade_log(run.log)  # adds the stand-in's own pass/fail: `passed`
        source = "the offline stand-in bot (planted truth)"
    if "quality" not in turns.columns:
        from toolkit.quality import score_turns

        turns = score_turns(turns)
    if run is not None:
        run.write(out / "runs.parquet")
    return ExperimentInputs(turns=turns, metric=metric or ("passed" if demo is not None else "quality"),
                            source=source, run=run, demo=demo)
