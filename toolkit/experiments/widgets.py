"""The interactive planner of a prompt experiment: MDE, alpha, power, costs -> examples x repetitions.

:func:`repetition_panel` returns a :class:`RepetitionPanel` (an ``ipywidgets.VBox``) around the
variance components of an analysis (or given ones). Every control change recomputes the plan
(:func:`toolkit.experiments.planner.plan_repetitions`, about a millisecond) and its table; the
figure is redrawn when ``draw`` is on. Without a browser (tests), set a control's ``value`` and
read ``panel.recommendation.value``.

Stable CSS classes for browser tests: ``rep-recommendation``, ``rep-table``, ``rep-error``,
``rep-figure`` and ``rep-<control>`` on each control (``rep-mde``, ``rep-alpha``, ...).

Examples
--------
>>> panel = repetition_panel(var_between_diff=0.01, var_within=0.04, mde=0.1, draw=False)
>>> panel.recommendation.value
'73 examples x 1 repetition(s): 146 calls'
>>> panel.controls["mde"].value = 0.2
>>> panel.recommendation.value
'20 examples x 1 repetition(s): 40 calls'
"""

from __future__ import annotations

import html

__all__ = ["repetition_panel", "RepetitionPanel", "recommendation_text"]


def recommendation_text(plan) -> str:
    """The panel's headline, e.g. ``"73 examples x 1 repetition(s): 146 calls"``.

    Examples
    --------
    >>> from toolkit.experiments.planner import plan_repetitions
    >>> recommendation_text(plan_repetitions(0.1, var_between_diff=0.01, var_within=0.04,
    ...                                      cost_per_call=0.01))
    '73 examples x 1 repetition(s): 146 calls, cost 1.46'
    """
    r = plan.recommended
    text = f"{int(r['examples']):,} examples x {int(r['repetitions'])} repetition(s): {int(r['calls']):,} calls"
    if plan.cost_per_call is not None:
        text += f", cost {r['cost']:,.4g}"
    return text


class _Panel:
    """Mixin holding the logic; combined with ``ipywidgets.VBox`` at first use."""

    def _setup(self, *, var_between_diff, var_within_control, var_within_treatment, mde, alpha, power,
               max_repetitions, n_available, cost_per_call, cost_per_example, variants, draw):
        import ipywidgets as w

        style = {"description_width": "150px"}

        def lay():
            return w.Layout(width="420px")

        self.components = {"var_between_diff": float(var_between_diff),
                           "var_within_control": float(var_within_control),
                           "var_within_treatment": float(var_within_treatment)}
        self.n_available, self.variants, self.draw = n_available, int(variants), draw
        self.plan, self.error = None, None
        sd = (self.components["var_between_diff"] + self.components["var_within_control"]
              + self.components["var_within_treatment"]) ** 0.5 or 1.0
        c = {}
        c["mde"] = w.FloatSlider(value=mde, min=sd / 200, max=max(2 * sd, 2 * mde), step=sd / 200,
                                 readout_format=".4g", description="MDE (lift)", continuous_update=False,
                                 style=style, layout=lay())
        c["alpha"] = w.FloatSlider(value=alpha, min=0.001, max=0.2, step=0.001, readout_format=".3f",
                                   description="alpha (two-sided)", continuous_update=False, style=style,
                                   layout=lay())
        c["power"] = w.FloatSlider(value=power, min=0.5, max=0.99, step=0.01, readout_format=".2f",
                                   description="power", continuous_update=False, style=style, layout=lay())
        c["max_repetitions"] = w.IntSlider(value=max_repetitions, min=1, max=20, description="repetitions up to",
                                           continuous_update=False, style=style, layout=lay())
        c["cost_per_call"] = w.BoundedFloatText(value=cost_per_call or 0.0, min=0.0, max=1e6, step=0.001,
                                                description="cost per call (0: none)", style=style, layout=lay())
        c["cost_per_example"] = w.BoundedFloatText(value=cost_per_example, min=0.0, max=1e6, step=0.1,
                                                   description="cost per example", style=style, layout=lay())
        self.controls = c
        for name, ctl in c.items():
            ctl.add_class(f"rep-{name.replace('_', '-')}")
            ctl.observe(self.update, names="value")
        self.recommendation = w.HTML().add_class("rep-recommendation")
        self.table = w.HTML().add_class("rep-table")
        self.error_box = w.HTML().add_class("rep-error")
        self.figure = w.Image(format="png", layout=w.Layout(width="560px")).add_class("rep-figure")
        self.children = [
            w.HTML("<b>Plan the experiment: examples x repetitions</b>"),
            w.HBox([w.VBox([c[k] for k in ("mde", "alpha", "power")]),
                    w.VBox([c[k] for k in ("max_repetitions", "cost_per_call", "cost_per_example")])]),
            self.recommendation, self.error_box, self.table, self.figure,
        ]
        self.update()

    def current_plan(self):
        """The plan for the current control values (raises ToolkitError on invalid ones)."""
        from toolkit.experiments.planner import plan_repetitions

        c = {k: v.value for k, v in self.controls.items()}
        return plan_repetitions(c["mde"], **self.components, alpha=c["alpha"], power=c["power"],
                                max_repetitions=int(c["max_repetitions"]), n_available=self.n_available,
                                cost_per_call=c["cost_per_call"] or None,
                                cost_per_example=c["cost_per_example"], variants=self.variants)

    def update(self, change=None):
        """Recompute the plan and refresh the outputs (called on every control change)."""
        try:
            plan = self.current_plan()
        except ValueError as exc:
            self.plan, self.error = None, str(exc)
            self.recommendation.value = "&mdash;"
            self.table.value = ""
            self.error_box.value = f"<span style='color:#b2182b'>{html.escape(str(exc))}</span>"
            return
        self.plan, self.error = plan, None
        self.error_box.value = ""
        self.recommendation.value = html.escape(recommendation_text(plan))
        cols = [k for k in ("repetitions", "examples", "calls", "cost", "power", "power_available")
                if k in plan.table]
        self.table.value = plan.summary_table()[cols + ["recommended"]].to_html(
            index=False, float_format=lambda x: f"{x:.3g}", escape=True)
        if self.draw:
            from toolkit._widgets import png_bytes

            self.figure.value = png_bytes(plan.figure(figsize=(6.4, 3.2)), 90)


def _panel_class():
    from toolkit._widgets import panel_class

    return panel_class(_Panel, "RepetitionPanel",
                       "The planner panel (an ``ipywidgets.VBox``); see :func:`repetition_panel`.")


def __getattr__(name):
    if name == "RepetitionPanel":
        return _panel_class()
    raise AttributeError(name)


def repetition_panel(result=None, *, treatment: str | None = None, var_between_diff: float | None = None,
                     var_within: float | None = None, mde: float = 0.1, alpha: float = 0.05,
                     power: float = 0.8, max_repetitions: int = 5, n_available: int | None = None,
                     cost_per_call: float | None = None, cost_per_example: float = 0.0,
                     variants: int | None = None, draw: bool = True):
    """Build the interactive planner.

    Parameters
    ----------
    result : RepeatedResult, optional
        An analysis whose variance components (of ``treatment`` against the control) the plan
        uses; or give ``var_between_diff`` and ``var_within``.
    mde, alpha, power, max_repetitions, cost_per_call, cost_per_example : optional
        The controls' starting values.
    n_available : int, optional
        Examples in the test set (default: the analysis's).
    draw : bool
        Redraw the figure on every change.

    Returns
    -------
    RepetitionPanel

    Examples
    --------
    >>> from toolkit.experiments.analysis import _demo_result
    >>> p = repetition_panel(_demo_result(), mde=0.5, draw=False)  # 6 examples available
    >>> p.plan.recommended["repetitions"], p.plan.recommended["examples"]
    (2, 5)
    """
    if result is not None:
        comp = result.components(treatment)
        vbd, wc, wt = comp["var_between_diff"], comp["var_within_control"], comp["var_within_treatment"]
        if n_available is None:
            n_available = int(result.comparisons["n_examples"].max())
        variants = variants or 1 + len(result.treatments)
    else:
        if var_between_diff is None or var_within is None:
            from toolkit.experiments.planner import PlanError

            raise PlanError("give an analysis result, or var_between_diff and var_within")
        vbd, wc, wt = var_between_diff, var_within, var_within
    if not (wc == wc and wt == wt):
        from toolkit.experiments.planner import PlanError

        raise PlanError("the run-to-run variance is unknown (no example was scored twice): rerun with "
                        "repetitions >= 2")
    panel = _panel_class()()
    panel._setup(var_between_diff=vbd, var_within_control=wc, var_within_treatment=wt, mde=mde, alpha=alpha,
                 power=power, max_repetitions=max_repetitions, n_available=n_available,
                 cost_per_call=cost_per_call, cost_per_example=cost_per_example, variants=variants or 2,
                 draw=draw)
    return panel
