"""The interactive quality panel: threshold and level cut-off sliders -> alerts, levels, figure.

:func:`quality_panel` returns a :class:`QualityPanel` (an ``ipywidgets.VBox``) over a scored log.
Moving a slider recomputes, with the toolkit's own functions, the alert table
(:func:`toolkit.monitoring.evaluate_alerts` with the slider thresholds and cut-offs), the level
distribution (:func:`toolkit.quality.level_counts` of :func:`toolkit.quality.assign_levels`) and
the quality histogram with the cut-offs (a PNG in an ``Image`` widget). Scores are not
recomputed: thresholds and cut-offs only change how the same scores are judged.

The tables are HTML with plain numbers (counts as integers, values and shares with 4 decimals,
thresholds as set), rendered by :func:`alerts_html` and :func:`levels_html`, so a test can
compare them with the toolkit functions. Stable CSS classes for browser tests:
``quality-alerts`` (the alert table's widget), ``quality-levels`` (the level table's widget),
``quality-figure``, ``quality-error``, and ``quality-<slider>`` on every slider
(``quality-quality_medium``, ``quality-cutoff_good``, ...). Table rows carry ``data-metric``,
``data-scope``, ``data-severity`` (alerts) and ``data-level`` (levels) attributes.

Examples
--------
>>> from toolkit.sample import generate_sample
>>> panel = quality_panel(generate_sample(seed=3, days=2).log, draw_figure=False)
>>> panel.sliders["quality_medium"].value
0.6
>>> panel.sliders["quality_medium"].value = 0.95
>>> "mean_quality" in set(panel.alerts["metric"])
True
"""

from __future__ import annotations

import html

import pandas as pd

__all__ = ["quality_panel", "QualityPanel", "alerts_html", "levels_html", "THRESHOLD_SLIDERS",
           "CUTOFF_SLIDERS"]

#: slider name -> (Thresholds field, min, max, step, label)
THRESHOLD_SLIDERS = {
    "quality_high": ("quality_high", 0.0, 1.0, 0.01, "quality high <"),
    "quality_medium": ("quality_medium", 0.0, 1.0, 0.01, "quality medium <"),
    "response_time_high": ("response_time_high", 0.0, 30.0, 0.1, "time high > (s)"),
    "response_time_medium": ("response_time_medium", 0.0, 30.0, 0.1, "time medium > (s)"),
    "high_quality_share_medium": ("high_quality_share_medium", 0.0, 1.0, 0.01, "good+ share <"),
}
#: slider name -> (level, label)
CUTOFF_SLIDERS = {
    "cutoff_excellent": ("excellent", "excellent from"),
    "cutoff_good": ("good", "good from"),
    "cutoff_average": ("average", "average from"),
    "cutoff_poor": ("poor", "poor from"),
}


def _fmt(v) -> str:
    import numpy as np

    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4f}"
    return str(v)  # bools, ints (numpy's too) and text


def alerts_html(alerts: pd.DataFrame, *, recommendations: bool = True) -> str:
    """The alert table as HTML (``<table class="quality-alerts-table">``), plain numbers.

    Examples
    --------
    >>> from toolkit.monitoring import alerts_for
    >>> from toolkit.monitoring.alerts import _sort_alerts
    >>> df = _sort_alerts(alerts_for("all", {"n_turns": 50, "mean_quality": 0.45}))
    >>> '<td class="value">0.4500</td>' in alerts_html(df)
    True
    """
    cols = ["severity", "metric", "scope", "value", "threshold", "n_turns"]
    if recommendations:
        cols.append("recommendation")
    head = "".join(f"<th>{c}</th>" for c in cols)
    if alerts is None or not len(alerts):
        body = f"<tr class='no-alerts'><td colspan='{len(cols)}'>no alerts</td></tr>"
    else:
        rows = []
        for r in alerts.itertuples(index=False):
            d = r._asdict()
            cells = []
            for c in cols:
                v = d[c]
                text = f"{float(v):g}" if c == "threshold" else _fmt(v)
                cells.append(f'<td class="{c}">{html.escape(text)}</td>')
            rows.append(
                f'<tr data-metric="{html.escape(str(d["metric"]))}" data-scope="{html.escape(str(d["scope"]))}"'
                f' data-severity="{html.escape(str(d["severity"]))}">' + "".join(cells) + "</tr>"
            )
        body = "".join(rows)
    return (f'<table class="quality-alerts-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def levels_html(levels: pd.DataFrame) -> str:
    """The level table (level, count, share) as HTML (``<table class="quality-levels-table">``).

    Examples
    --------
    >>> from toolkit.quality import level_counts, assign_levels
    >>> '<td class="count">2</td>' in levels_html(level_counts(assign_levels([0.9, 0.95])))
    True
    """
    rows = []
    for r in levels.itertuples(index=False):
        rows.append(f'<tr data-level="{html.escape(str(r.level))}"><td class="level">{html.escape(str(r.level))}</td>'
                    f'<td class="count">{int(r.count)}</td><td class="share">{_fmt(float(r.share))}</td></tr>')
    return ('<table class="quality-levels-table"><thead><tr><th>level</th><th>count</th><th>share</th>'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table>')


_STYLE = """<style>
.quality-alerts-table, .quality-levels-table {border-collapse: collapse; font-size: 12px;}
.quality-alerts-table th, .quality-alerts-table td, .quality-levels-table th, .quality-levels-table td
  {border: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top;}
.quality-alerts-table tr[data-severity="high"] td.severity {background: #f4a6a6;}
.quality-alerts-table tr[data-severity="medium"] td.severity {background: #fde0a6;}
.quality-alerts-table td.recommendation {max-width: 520px;}
</style>"""


class _Panel:
    """Mixin holding the logic; combined with ``ipywidgets.VBox`` at first use."""

    def _setup(self, turns, thresholds, config, by, draw_figure):
        from toolkit.monitoring.thresholds import _thresholds
        from toolkit.quality.config import _config

        import ipywidgets as w

        self.turns = turns
        self.config = _config(config)
        self.by = tuple(by)
        self.draw_figure = draw_figure
        th = _thresholds(thresholds, self.config)
        self.sliders = {}
        style = {"description_width": "130px"}
        lay = w.Layout(width="430px")
        specs = [(n, getattr(th, f), lo, hi, step, label) for n, (f, lo, hi, step, label) in THRESHOLD_SLIDERS.items()]
        specs += [(n, self.config.cutoffs[lvl], 0.0, 1.0, 0.01, label) for n, (lvl, label) in CUTOFF_SLIDERS.items()]
        for name, value, lo, hi, step, label in specs:
            self.sliders[name] = w.FloatSlider(value=float(value), min=lo, max=hi, step=step, description=label,
                                               continuous_update=False, readout_format=".2f", style=style,
                                               layout=lay).add_class(f"quality-{name}")
        self._base_thresholds = th
        self.error_box = w.HTML("").add_class("quality-error")
        self.alerts_box = w.HTML("").add_class("quality-alerts")
        self.levels_box = w.HTML("").add_class("quality-levels")
        self.figure = w.Image(format="png", layout=w.Layout(width="520px")).add_class("quality-figure")
        self.alerts = None
        self.levels = None
        self.current_thresholds = th
        self.current_cutoffs = dict(self.config.cutoffs)
        self._fig = None
        left = w.VBox([w.HTML("<b>Alert thresholds</b>"),
                       *[self.sliders[k] for k in THRESHOLD_SLIDERS],
                       w.HTML("<b>Level cut-offs</b>"),
                       *[self.sliders[k] for k in CUTOFF_SLIDERS]])
        right = w.VBox([w.HTML("<b>Levels</b>"), self.levels_box, self.figure])
        self.children = [w.HTML(_STYLE), w.HBox([left, right]), self.error_box,
                         w.HTML("<b>Alerts</b>"), self.alerts_box]
        for s in self.sliders.values():
            s.observe(self.update, names="value")
        self.update()

    def read_controls(self):
        """The thresholds and cut-offs the sliders currently hold (validated)."""
        from toolkit.monitoring import Thresholds
        from toolkit.quality.config import _check_cutoffs

        vals = {f: round(float(self.sliders[n].value), 6) for n, (f, *_rest) in THRESHOLD_SLIDERS.items()}
        base = self._base_thresholds.to_dict()
        base.update(vals)
        th = Thresholds(**base)
        cut = _check_cutoffs({lvl: round(float(self.sliders[n].value), 6) for n, (lvl, _l) in CUTOFF_SLIDERS.items()})
        return th, cut

    def update(self, change=None):
        """Recompute alerts, levels and the figure from the sliders (called on every change)."""
        from toolkit.monitoring import evaluate_alerts
        from toolkit.quality import assign_levels, level_counts

        try:
            th, cut = self.read_controls()
        except ValueError as exc:
            self.error_box.value = f"<span style='color:#b2182b'>{html.escape(str(exc))}</span>"
            return
        self.error_box.value = ""
        self.current_thresholds, self.current_cutoffs = th, cut
        self.levels = level_counts(assign_levels(self.turns["quality"].to_numpy(float), cut))
        self.alerts = evaluate_alerts(self.turns, th, by=self.by, config=self.config, cutoffs=cut)
        self.levels_box.value = levels_html(self.levels)
        self.alerts_box.value = alerts_html(self.alerts)
        if self.draw_figure:
            self._draw(cut)

    def _draw(self, cut):
        from toolkit._widgets import png_bytes
        from toolkit.monitoring import quality_distribution_figure

        fig = quality_distribution_figure(self.turns, cut, config=self.config)
        fig.set_size_inches(6.0, 3.2)
        self.figure.value = png_bytes(fig, 80)


def _panel_class():
    from toolkit._widgets import panel_class

    return panel_class(_Panel, "QualityPanel", "The quality panel (an ``ipywidgets.VBox``); see :func:`quality_panel`.")


def __getattr__(name):
    if name == "QualityPanel":
        return _panel_class()
    raise AttributeError(name)


def quality_panel(
    data,
    thresholds=None,
    config=None,
    *,
    by=("bot_id", "variant"),
    draw_figure: bool = True,
):
    """Build the interactive quality panel over a log (scored here if it is not yet).

    Parameters
    ----------
    data : ConversationLog or DataFrame
        A log or its turns, scored or not.
    thresholds : Thresholds or dict, optional
        Initial alert thresholds (the reference defaults otherwise).
    config : QualityConfig or dict, optional
        Quality settings; its cut-offs are the sliders' initial values.
    by : sequence of str
        Columns whose groups get their own alerts, as in :func:`toolkit.monitoring.evaluate_alerts`.
    draw_figure : bool
        Redraw the histogram on every change.

    Returns
    -------
    QualityPanel
        An ``ipywidgets.VBox`` with ``sliders`` (dict), ``alerts`` and ``levels`` (the current
        frames), ``alerts_box``, ``levels_box``, ``error_box`` (HTML widgets), ``figure`` (Image),
        ``current_thresholds``, ``current_cutoffs`` and ``update()``.

    Examples
    --------
    >>> from toolkit.sample import generate_sample
    >>> p = quality_panel(generate_sample(seed=3, days=2).log, draw_figure=False)
    >>> p.sliders["cutoff_good"].value = 0.5
    >>> int(p.levels.set_index("level").loc["good", "count"]) > 0
    True
    """
    from toolkit.monitoring.kpis import _scored

    turns, _ = _scored(data, config)
    panel = _panel_class()()
    panel._setup(turns, thresholds, config, by, draw_figure)
    return panel
