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

# the public names of each module (imported on first access)
_MODULES = {
    "toolkit.ab.power": ("Design", "PowerResult", "duration_days", "plan_means", "plan_paired",
                         "plan_proportions", "power_curve", "power_means", "power_paired",
                         "power_proportions", "sample_size_means", "sample_size_paired",
                         "sample_size_proportions"),
    "toolkit.ab.units": ("default_metrics", "planning_inputs", "read_ab_input", "units_from_log",
                         "with_quality"),
    "toolkit.ab.metrics": ("ABInputError", "Metric", "parse_allocation", "parse_metrics"),
    "toolkit.ab.analysis": ("AnalysisOptions", "analyze"),
    "toolkit.ab.result": ("ABResult",),
    "toolkit.ab.srm": ("SRMResult", "adjust_pvalues", "srm_check"),
    "toolkit.ab.labels": ("analyze_with_labels",),
    "toolkit.ab.frequentist": ("TwoSampleResult", "two_sample_test"),
    "toolkit.ab.bootstrap": ("bootstrap_ci",),
    "toolkit.ab.sequential": ("SequentialResult", "confidence_sequence", "sequential_test"),
    "toolkit.ab.plots": ("confidence_sequence_figure", "forest_plot", "mix_shift_figure",
                         "power_curve_figure", "segment_forest_plot"),
    "toolkit.ab.widgets": ("planning_panel",),
    "toolkit.ab.bayes": ("Prior", "bayes_readout"),
    "toolkit.ab.cuped": ("cuped_fit", "pre_period_units", "regression_adjust"),
    "toolkit.ab.quantiles": ("quantile_diff",),
    "toolkit.ab.paired": ("PairedResult", "analyze_paired", "compare_paired", "paired_table"),
    "toolkit.ab.replay": ("replay_experiment",),
    "toolkit.ab.segments": ("SegmentResult", "segment_effects"),
    "toolkit.ab.mix": ("MixShiftResult", "mix_shift"),
    "toolkit.ab.randomisation": ("detect_user_randomisation",),
    "toolkit.ab.tables": ("CupedComparison", "PairedSizing", "cuped_comparison", "paired_sizing",
                          "plan_scenarios", "pre_period_window", "sample_intents",
                          "segment_assignments"),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals(), ())
