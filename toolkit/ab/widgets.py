"""The interactive planning panel: baseline, MDE, alpha, power, allocation, traffic -> n, days.

:func:`planning_panel` returns a :class:`PlanningPanel` (an ``ipywidgets.VBox``). Every control
change recomputes the plan (:mod:`toolkit.ab.power`, well under a millisecond) and redraws the
power curve (an ``Image`` widget holding a PNG, so the panel works in JupyterLab, in Voila and,
for tests, without any browser: set a control's ``value`` and read ``panel.sample_size.value``).

Stable CSS classes for browser tests: ``ab-sample-size`` (text "n per arm: 3,842"),
``ab-duration``, ``ab-plan``, ``ab-error``, ``ab-power-curve``, and ``ab-<control>`` on each
control (``ab-mde``, ``ab-baseline``, ...).

Examples
--------
>>> panel = planning_panel(baseline=0.30, mde=0.02, draw_curve=False)
>>> panel.sample_size.value
'n per arm: 8,394'
>>> panel.controls["mde"].value = 0.03
>>> panel.sample_size.value
'n per arm: 3,763'
"""

from __future__ import annotations

import html

from toolkit.ab.metrics import ABInputError, one_of

__all__ = ["planning_panel", "PlanningPanel", "sample_size_text", "MDE_MAX_PROPORTION"]

#: the MDE slider's upper end for proportions (absolute: 10 percentage points)
MDE_MAX_PROPORTION = 0.1


def sample_size_text(plan) -> str:
    """The sample-size line shown by the panel, e.g. ``"n per arm: 3,842"``.

    Examples
    --------
    >>> from toolkit.ab.power import plan_means
    >>> sample_size_text(plan_means(effect_size=0.5))
    'n per arm: 64'
    """
    if plan.n_control == plan.n_treatment:
        return f"n per arm: {plan.n_control:,}"
    return f"n per arm: {plan.n_control:,} control, {plan.n_treatment:,} per treatment"


class _Panel:
    """Mixin holding the logic; combined with ``ipywidgets.VBox`` at first use."""

    def _setup(self, *, metric, baseline, mde, sd, alpha, power, arms, control_share,
               daily_traffic, method, draw_curve):
        import ipywidgets as w

        style = {"description_width": "150px"}

        def lay():  # one Layout per widget: hiding one (display none) must not hide the others
            return w.Layout(width="420px")

        self.draw_curve = draw_curve
        self.plan = None
        self.error = None
        c = {}
        c["metric"] = w.ToggleButtons(options=["proportion", "mean"], value=metric,
                                      description="metric", style=style)
        c["baseline"] = w.BoundedFloatText(value=baseline, min=-1e12, max=1e12, step=0.01,
                                           description="baseline (control)", style=style,
                                           layout=lay())
        c["sd"] = w.BoundedFloatText(value=sd, min=1e-12, max=1e12, step=0.1,
                                     description="standard deviation", style=style, layout=lay())
        c["mde"] = w.FloatSlider(value=0.02, min=0.001, max=MDE_MAX_PROPORTION, step=0.001, readout_format=".3f",
                                 description="MDE (absolute)", continuous_update=False,
                                 style=style, layout=lay())
        c["alpha"] = w.FloatSlider(value=alpha, min=0.001, max=0.2, step=0.001,
                                   readout_format=".3f", description="alpha (two-sided)",
                                   continuous_update=False, style=style, layout=lay())
        c["power"] = w.FloatSlider(value=power, min=0.5, max=0.99, step=0.01,
                                   readout_format=".2f", description="power",
                                   continuous_update=False, style=style, layout=lay())
        c["arms"] = w.IntSlider(value=arms, min=2, max=6, description="arms (with control)",
                                continuous_update=False, style=style, layout=lay())
        c["control_share"] = w.FloatSlider(
            value=control_share if control_share is not None else 1.0 / arms, min=0.05,
            max=0.95, step=0.01, readout_format=".2f", description="control share of traffic",
            continuous_update=False, style=style, layout=lay())
        c["daily_traffic"] = w.BoundedIntText(value=int(daily_traffic), min=1, max=10**12,
                                              description="units per day", style=style,
                                              layout=lay())
        c["method"] = w.Dropdown(description="formula", style=style, layout=lay())
        self.controls = c
        for name, ctl in c.items():
            ctl.add_class(f"ab-{name.replace('_', '-')}")
        self.sample_size = w.HTML().add_class("ab-sample-size")
        self.duration = w.HTML().add_class("ab-duration")
        self.details = w.HTML().add_class("ab-plan")
        self.error_box = w.HTML().add_class("ab-error")
        self.curve = w.Image(format="png", layout=w.Layout(width="560px")).add_class(
            "ab-power-curve")
        self._fig = None
        self._set_metric_ranges(metric, method, mde=mde)
        c["metric"].observe(self._on_metric, names="value")
        c["arms"].observe(self._on_arms, names="value")
        c["sd"].observe(self._on_sd, names="value")
        for name in ("baseline", "mde", "alpha", "power", "control_share",
                     "daily_traffic", "method"):
            c[name].observe(self.update, names="value")
        self.children = [
            w.HTML("<b>Plan an A/B test</b>"),
            w.HBox([w.VBox([c[k] for k in ("metric", "baseline", "sd", "mde", "alpha")]),
                    w.VBox([c[k] for k in ("power", "arms", "control_share", "daily_traffic",
                                           "method")])]),
            self.sample_size, self.duration, self.error_box, self.details, self.curve,
        ]
        self.update()

    # -- callbacks -------------------------------------------------------------------------
    def _set_metric_ranges(self, metric, method=None, mde=None):
        from toolkit.ab.power import MEAN_METHODS, PROPORTION_METHODS

        c = self.controls
        self._muted = True
        try:
            if metric == "proportion":
                c["method"].options = [(v, k) for k, v in PROPORTION_METHODS.items()]
                c["method"].value = method if method in PROPORTION_METHODS else "pooled"
                c["sd"].layout.display = "none"
                c["baseline"].description = "baseline rate"
                # absolute MDE: 0.001 to 0.1 (0.1 to 10 percentage points) covers real tests;
                # a larger planned MDE widens the range to twice it
                c["mde"].max = min(0.5, max(MDE_MAX_PROPORTION, 2 * (mde or 0.0)))
                c["mde"].min, c["mde"].step = 0.001, 0.001
                c["mde"].readout_format = ".3f"
                c["mde"].value = 0.02 if mde is None else mde
                if mde is None:
                    c["baseline"].value = 0.3
            else:
                c["method"].options = [(v, k) for k, v in MEAN_METHODS.items()]
                c["method"].value = method if method in MEAN_METHODS else "exact"
                c["sd"].layout.display = None
                c["baseline"].description = "baseline mean"
                sd = c["sd"].value
                c["mde"].max = max(2.0 * sd, c["mde"].min, mde or 0.0)
                c["mde"].min = sd / 1000.0
                c["mde"].step = sd / 1000.0
                c["mde"].readout_format = ".4g"
                c["mde"].value = 0.2 * sd if mde is None else mde
        finally:
            self._muted = False

    def _on_metric(self, change):
        self._set_metric_ranges(change["new"])
        self.update()

    def _on_sd(self, change):
        if self.controls["metric"].value == "mean":
            self._set_metric_ranges("mean", self.controls["method"].value,
                                    mde=self.controls["mde"].value)
        self.update()

    def _on_arms(self, change):
        self._muted = True
        try:
            self.controls["control_share"].value = round(1.0 / change["new"], 2)
        finally:
            self._muted = False
        self.update()

    def current_plan(self):
        """Compute the plan for the current control values (raises on invalid input)."""
        from toolkit.ab.power import plan_means, plan_proportions

        c = {k: v.value for k, v in self.controls.items()}
        arms = int(c["arms"])
        share = float(c["control_share"])
        if arms > 1 and not 0 < share < 1:
            raise ABInputError("control share must be between 0 and 1")
        ratio = (1.0 - share) / (arms - 1) / share
        kw = dict(alpha=c["alpha"], power=c["power"], ratio=ratio, arms=arms,
                  method=c["method"], daily_traffic=float(c["daily_traffic"]))
        if c["metric"] == "proportion":
            return plan_proportions(baseline=c["baseline"], mde=c["mde"], **kw)
        return plan_means(mde=c["mde"], sd=c["sd"], baseline=c["baseline"] or None, **kw)

    def update(self, change=None):
        """Recompute the plan and refresh the outputs (called on every control change)."""
        if getattr(self, "_muted", False):
            return
        try:
            plan = self.current_plan()
        except ValueError as exc:
            self.plan, self.error = None, str(exc)
            self.sample_size.value = "n per arm: &mdash;"
            self.duration.value = ""
            self.details.value = ""
            self.error_box.value = f"<span style='color:#b2182b'>{html.escape(str(exc))}</span>"
            return
        self.plan, self.error = plan, None
        self.error_box.value = ""
        self.sample_size.value = sample_size_text(plan)
        self.duration.value = (f"total {plan.n_total:,} units &middot; {plan.duration_days:,} "
                               f"days at {plan.daily_traffic:,.0f} units/day")
        self.details.value = (f"<small>{html.escape(plan.method)}; effect size "
                              f"{'h' if plan.metric == 'proportion' else 'd'} = "
                              f"{plan.effect_size:.4f}; achieved power with rounded n "
                              f"{plan.achieved_power:.4f}"
                              + (f"; alpha per comparison {plan.alpha_per_comparison:.4g} "
                                 "(Bonferroni)" if plan.arms > 2 else "") + "</small>")
        if self.draw_curve:
            self._draw(plan)

    def _draw(self, plan):
        from toolkit._widgets import png_bytes
        from toolkit.ab.plots import power_curve_figure

        if self._fig is None:
            from matplotlib.figure import Figure

            # a fixed layout: constrained layout would quadruple the redraw time
            self._fig = Figure(figsize=(6.4, 3.4))
        fig = power_curve_figure(plan, fig=self._fig)
        fig.subplots_adjust(left=0.10, right=0.97, bottom=0.15, top=0.91)
        self.curve.value = png_bytes(fig, 90)


def _panel_class():
    from toolkit._widgets import panel_class

    return panel_class(_Panel, "PlanningPanel", "The planning panel (an ``ipywidgets.VBox``); see :func:`planning_panel`.")


def __getattr__(name):
    if name == "PlanningPanel":
        return _panel_class()
    raise AttributeError(name)


def planning_panel(
    *,
    metric: str = "proportion",
    baseline: float = 0.30,
    mde: float = 0.02,
    sd: float = 1.0,
    alpha: float = 0.05,
    power: float = 0.80,
    arms: int = 2,
    control_share: float | None = None,
    daily_traffic: int = 1000,
    method: str | None = None,
    draw_curve: bool = True,
):
    """Build the interactive planning panel.

    Parameters
    ----------
    metric : {"proportion", "mean"}
    baseline : float
        Control rate (proportions) or mean (means; only used for the relative MDE).
    mde : float
        Absolute minimum detectable effect (difference of rates or of means).
    sd : float
        Standard deviation (means).
    alpha, power : float
    arms : int
        Arms including control; treatments are tested at ``alpha / (arms - 1)``.
    control_share : float, optional
        Share of traffic in control (the rest is split equally); default ``1 / arms``.
    daily_traffic : int
        Units per day entering the test.
    method : str, optional
        Formula key (``"pooled"``, ``"cohen_h"``, ``"unpooled"``; ``"exact"``, ``"normal"``).
    draw_curve : bool
        Draw the power curve (PNG) on every change.

    Returns
    -------
    PlanningPanel
        An ``ipywidgets.VBox`` with ``controls`` (dict of widgets), ``sample_size``,
        ``duration``, ``details``, ``error_box`` (HTML widgets), ``curve`` (Image), ``plan``
        (the current :class:`~toolkit.ab.power.PowerResult`) and ``update()``.

    Examples
    --------
    >>> p = planning_panel(metric="mean", sd=2.0, mde=1.0, draw_curve=False)
    >>> p.sample_size.value, p.plan.method
    ('n per arm: 64', 'noncentral t (exact)')
    """
    one_of(metric, ("proportion", "mean"), "metric")
    panel = _panel_class()()
    panel._setup(metric=metric, baseline=baseline, mde=mde, sd=sd, alpha=alpha, power=power,
                 arms=arms, control_share=control_share, daily_traffic=daily_traffic,
                 method=method, draw_curve=draw_curve)
    return panel
