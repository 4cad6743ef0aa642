"""A/B testing: plan a test (power, sample size, MDE, duration) and analyse it afterwards.

Modules (lowest first; a module imports only from those above it)
-------
metrics
    ``Metric``, ``ABInputError`` and the parsing of metric and allocation specs.
power
    Planning for means (exact noncentral t, normal approximation) and proportions (pooled normal
    as R ``power.prop.test``, Cohen's h, unpooled normal); vectorised power curves
    (``power.means``, ``power.proportions``, ``power.plan``).
units
    The per-unit table (one row per conversation or user) built from a conversation log.
score
    Score intervals of a difference and a ratio of proportions (invert the pooled z-test).
family, randomisation
    Primary / secondary / guardrail metrics and their corrections; detecting that users, not
    conversations, were randomised.
frequentist, bootstrap, srm, verdicts, result
    Welch t, Mann-Whitney, two-proportion z, chi-square / Fisher, lifts with CIs (delta method),
    effect sizes; bootstrap CIs; sample-ratio mismatch and Holm / Benjamini-Hochberg; verdicts;
    the ``ABResult`` container.
bayes, cuped, quantiles
    The Bayesian read-out (chance to win, risk, credible interval; GrowthBook's effect model),
    CUPED with a pre-period covariate or a regression adjustment with several, quantile differences with bootstrap CIs.
paired, replay
    Paired offline experiments (the same examples answered by two variants) and a paired
    experiment replayed from the sample.
sequential
    Always-valid confidence sequences and mSPRT p-values (safe under continuous monitoring).
analysis
    ``analyze``: the steps above on every metric x arm, with ``AnalysisOptions``.
segments, mix
    Effects by segment (corrected across segments, Cochran's Q interaction test) and the
    mix shift of a categorical column between variants or periods.
labels
    ``analyze_with_labels``: ``analyze`` plus the PPI++ lift of a score calibrated by human labels.
tables
    The comparisons notebook 02 shows: MDE scenarios, CUPED against no CUPED, paired against
    unpaired sizing.
plots
    Power curve, forest plot, confidence-sequence plot (matplotlib Figures).
widgets
    The interactive planning panel (ipywidgets) used by ``notebooks/02_ab_testing.ipynb``.

The names below are imported lazily on first access.

Examples
--------
>>> from toolkit import ab
>>> round(ab.plan_means(effect_size=0.5, power=0.8).n_control_exact, 1)
63.8
"""

from __future__ import annotations

from toolkit._lazy import lazy_attributes

_LAZY = {
    "PowerResult": "toolkit.ab.power",
    "Design": "toolkit.ab.power",
    "plan_means": "toolkit.ab.power",
    "plan_proportions": "toolkit.ab.power",
    "power_means": "toolkit.ab.power",
    "power_proportions": "toolkit.ab.power",
    "sample_size_means": "toolkit.ab.power",
    "sample_size_proportions": "toolkit.ab.power",
    "duration_days": "toolkit.ab.power",
    "units_from_log": "toolkit.ab.units",
    "default_metrics": "toolkit.ab.units",
    "Metric": "toolkit.ab.metrics",
    "ABInputError": "toolkit.ab.metrics",
    "AnalysisOptions": "toolkit.ab.analysis",
    "ABResult": "toolkit.ab.result",
    "SRMResult": "toolkit.ab.srm",
    "analyze": "toolkit.ab.analysis",
    "analyze_with_labels": "toolkit.ab.labels",
    "two_sample_test": "toolkit.ab.frequentist",
    "TwoSampleResult": "toolkit.ab.frequentist",
    "srm_check": "toolkit.ab.srm",
    "adjust_pvalues": "toolkit.ab.srm",
    "bootstrap_ci": "toolkit.ab.bootstrap",
    "parse_metrics": "toolkit.ab.metrics",
    "parse_allocation": "toolkit.ab.metrics",
    "read_ab_input": "toolkit.ab.units",
    "with_quality": "toolkit.ab.units",
    "planning_inputs": "toolkit.ab.units",
    "power_curve": "toolkit.ab.power",
    "confidence_sequence": "toolkit.ab.sequential",
    "sequential_test": "toolkit.ab.sequential",
    "SequentialResult": "toolkit.ab.sequential",
    "power_curve_figure": "toolkit.ab.plots",
    "forest_plot": "toolkit.ab.plots",
    "confidence_sequence_figure": "toolkit.ab.plots",
    "planning_panel": "toolkit.ab.widgets",
    "bayes_readout": "toolkit.ab.bayes",
    "Prior": "toolkit.ab.bayes",
    "cuped_fit": "toolkit.ab.cuped",
    "pre_period_units": "toolkit.ab.cuped",
    "quantile_diff": "toolkit.ab.quantiles",
    "analyze_paired": "toolkit.ab.paired",
    "compare_paired": "toolkit.ab.paired",
    "paired_table": "toolkit.ab.paired",
    "PairedResult": "toolkit.ab.paired",
    "replay_experiment": "toolkit.ab.replay",
    "plan_paired": "toolkit.ab.power",
    "segment_effects": "toolkit.ab.segments",
    "SegmentResult": "toolkit.ab.segments",
    "segment_forest_plot": "toolkit.ab.plots",
    "mix_shift": "toolkit.ab.mix",
    "MixShiftResult": "toolkit.ab.mix",
    "mix_shift_figure": "toolkit.ab.plots",
    "regression_adjust": "toolkit.ab.cuped",
    "detect_user_randomisation": "toolkit.ab.randomisation",
    "power_paired": "toolkit.ab.power",
    "plan_scenarios": "toolkit.ab.tables",
    "pre_period_window": "toolkit.ab.tables",
    "cuped_comparison": "toolkit.ab.tables",
    "CupedComparison": "toolkit.ab.tables",
    "paired_sizing": "toolkit.ab.tables",
    "PairedSizing": "toolkit.ab.tables",
    "sample_intents": "toolkit.ab.tables",
    "segment_assignments": "toolkit.ab.tables",
    "sample_size_paired": "toolkit.ab.power",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), ())
