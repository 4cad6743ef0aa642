"""The findings of a notebook run, read from its sidecar: what a stakeholder reads first.

:func:`read_findings` turns a run's ``sidecar.json`` into a :class:`Findings`: the headline
numbers (formatted by kind: percent with the unit, p-values, counts with thousands separators,
seconds, dollars) and the findings themselves, one sentence each, grouped in sections:
A/B verdicts with their confidence intervals, alerts with their recommendations, suggestions, the
worst-served topics, anomalies and change points, the forecast and the trend. The stakeholder
report (:func:`toolkit.export.export_report`) puts them on its summary page, and the demo's
``index.html`` on its front page. Every data value is escaped before it reaches HTML.

Examples
--------
>>> f = read_findings({"notebook": "01_quality", "results": {"mean_quality": 0.7537,
...     "poor_share": 0.055, "alerts": [{"severity": "medium", "rule": "mean quality < 0.8",
...     "scope": "all", "value": 0.75, "threshold": 0.8, "recommendation": "Review prompts."}]}})
>>> f.headline
[('mean quality', '0.754'), ('poor share', '5.5 %')]
>>> print(f.to_text())
01_quality
  mean quality: 0.754
  poor share: 5.5 %
Alerts
  - MEDIUM mean quality < 0.8 (all: 0.75 vs 0.8). Recommendation: Review prompts.
"""

from __future__ import annotations

import dataclasses
import html as _html
import json
import math
import os
import re
from pathlib import Path
from typing import Any

__all__ = ["Finding", "Findings", "read_findings", "format_value", "value_kind", "SECTIONS"]

#: section names, in the order of the summary page
SECTIONS = ("Verdicts", "Alerts", "Suggestions", "Worst topics", "Anomalies", "Forecast", "Checks")

#: headline keys per notebook (the first ones found are shown); others: the first scalar results
_HEADLINE_KEYS = {
    "00_overview": ["conversations", "turns", "users", "days", "conversations_per_day",
                    "response_time_mean_s", "response_time_p95_s", "error_rate", "resolution_rate",
                    "satisfaction_mean", "total_cost_usd"],
    "01_quality": ["n_turns", "mean_quality", "high_quality_share", "poor_share",
                   "share_conversations_with_poor_answer", "mean_response_time_s",
                   "p95_response_time_s", "error_rate", "n_alerts", "n_high_alerts"],
    "02_ab_testing": ["n_units", "control", "treatments", "srm_p_value", "plan_baseline",
                      "plan_n_per_arm", "plan_days"],
    "03_clustering": ["n_clusters", "k_method", "backend", "n_units", "n_messages"],
    "04_forecasting": ["metric", "n_points", "horizon", "model", "best_mase", "snaive_mase",
                       "coverage95"],
    "05_at_scale": ["turns", "partitions", "mean_quality", "volume_hours", "scores_equal"],
    "06_prompt_experiment": ["metric", "control", "n_examples", "repetitions", "best_variant", "best_lift",
                             "best_p_value", "best_naive_p_value", "n_flaky", "plan_examples",
                             "plan_repetitions"],
}
_HEADLINE_MAX = 10


def value_kind(name: str, value: Any = None) -> str:
    """The kind of a named number: ``p``, ``percent``, ``signed_percent``, ``seconds``, ``usd``,
    ``count`` or ``number`` (read from the name, as a person would).

    Examples
    --------
    >>> [value_kind(n) for n in ("p_adjusted", "poor_share", "rel_lift", "fit_seconds", "cost_usd")]
    ['p', 'percent', 'signed_percent', 'seconds', 'usd']
    >>> value_kind("n_turns", 37472), value_kind("mase", 0.7)
    ('count', 'number')
    """
    n = str(name).strip().lower().replace(" ", "_")
    if n in ("p", "p_adj", "holm_p", "bh_p") or n.endswith(("p_value", "p_adjusted", "_p", "pvalue")) \
            or n.startswith(("p_(", "p-value")):
        return "p"
    if n.startswith("rel_") or n.endswith(("rel_lift", "rel_diff", "rel lift")) or n in ("rel", "relative_lift"):
        return "signed_percent"
    if any(t in n for t in ("share", "rate", "coverage", "chance_to_win", "power", "variance_reduction")) \
            or n.endswith(("_pct", "percent")):
        return "percent"
    if n.endswith(("_s", "seconds", "_sec")) or n in ("duration", "latency"):
        return "seconds"
    if "usd" in n or "cost" in n:
        return "usd"
    if isinstance(value, int) and not isinstance(value, bool):
        return "count"
    if n.startswith(("n_", "num_")) or n in ("n", "size", "count", "turns", "users", "conversations"):
        return "count"
    return "number"


def _number(v: float) -> str:
    """Three significant digits without an exponent for everyday magnitudes."""
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1e6:
        return f"{v:,.0f}"
    if a >= 1000:
        return f"{v:,.1f}".rstrip("0").rstrip(".")
    if a >= 1e-4:
        return f"{v:.3g}"
    return f"{v:.2e}"


def format_value(name: str, value: Any) -> str:
    """Format a result for a person by its kind (see :func:`value_kind`).

    Examples
    --------
    >>> format_value("high_quality_share", 0.49754)
    '49.8 %'
    >>> format_value("p_value", 2.2e-08), format_value("p", 0.0412)
    ('< 0.001', '0.041')
    >>> format_value("rel_lift", 0.0859), format_value("n_turns", 37472)
    ('+8.6 %', '37,472')
    >>> format_value("fit_seconds", 0.9696), format_value("total_cost_usd", 13.068)
    ('0.97 s', '$13.07')
    >>> format_value("mase", 0.70123456), format_value("variants", ["A", "B"]), format_value("x", None)
    ('0.701', 'A, B', '—')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in value):
            return ", ".join(format_value(name, v) if not isinstance(v, str) else v for v in value)
        return f"{len(value)} items"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_value(str(k), v)}" for k, v in list(value.items())[:8])
    if not isinstance(value, (int, float)):
        return str(value)
    kind = value_kind(name, value)
    v = float(value)
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if kind == "p":
        return "< 0.001" if v < 0.001 else f"{v:.3f}"
    if kind == "percent":
        return f"{100 * v:.1f} %"
    if kind == "signed_percent":
        return f"{100 * v:+.1f} %"
    if kind == "seconds":
        return f"{1000 * v:.1f} ms" if 0 < abs(v) < 0.01 else f"{v:,.2f} s"
    if kind == "usd":
        return f"${v:,.2f}" if abs(v) >= 1 else f"${v:.4g}"
    if kind == "count" or (isinstance(value, int) and not isinstance(value, bool)):
        return f"{int(round(v)):,}"
    return _number(v)


@dataclasses.dataclass
class Finding:
    """One finding: a sentence in a section, with an optional severity.

    Attributes
    ----------
    section : str
        One of :data:`SECTIONS`.
    text : str
        The sentence (plain text, not escaped).
    severity : str or None
        ``high``, ``medium``, ``low``, ``good`` (a winner, nothing to fix) or ``bad`` (worse).
    detail : str
        What to do (an alert's recommendation): on the report's summary page, not on the
        front page's cards.
    """

    section: str
    text: str
    severity: str | None = None
    detail: str = ""


@dataclasses.dataclass
class Findings:
    """What a run found: title, parameters, data range, headline numbers and findings.

    Examples
    --------
    >>> f = read_findings({"notebook": "x", "results": {"n": 3}})
    >>> f.summary_table().columns.tolist()
    ['section', 'severity', 'text', 'detail']
    """

    notebook: str
    title: str
    parameters: dict
    data_range: dict | None
    headline: list
    items: list
    written_at: str | None = None

    def section(self, name: str) -> list[Finding]:
        """The findings of one section."""
        return [f for f in self.items if f.section == name]

    def summary_table(self):
        """One row per finding: ``section``, ``severity``, ``text``."""
        import pandas as pd

        return pd.DataFrame([dataclasses.asdict(f) for f in self.items],
                            columns=["section", "text", "severity", "detail"])[["section", "severity", "text", "detail"]]

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return dataclasses.asdict(self)

    def to_text(self) -> str:
        """Plain text: the headline numbers, then each section's findings."""
        lines = [self.title]
        lines += [f"  {k}: {v}" for k, v in self.headline]
        for name in SECTIONS:
            items = self.section(name)
            if items:
                lines.append(name)
                lines += [f"  - {(f.severity.upper() + ' ') if f.severity in ('high', 'medium') else ''}{f.text}"
                          + (f". {f.detail}" if f.detail else "") for f in items]
        return "\n".join(lines)

    def data_range_text(self) -> str:
        """``2026-09-01 to 2026-10-30 (60 days, 37,472 turns)``, or ``""`` when unknown."""
        r = self.data_range or {}
        if not r.get("start"):
            return ""
        text = f"{str(r['start'])[:16].replace('T', ' ')} to {str(r.get('end', ''))[:16].replace('T', ' ')} UTC"
        extra = [f"{format_value('n', r[k])} {k}" for k in ("conversations", "turns") if r.get(k) is not None]
        return text + (f" ({', '.join(extra)})" if extra else "")

    def to_html(self, *, compact: bool = False, max_per_section: int | None = None) -> str:
        """The summary as an HTML fragment (every value escaped).

        Parameters
        ----------
        compact : bool
            For a front page card: the first six headline numbers and at most three findings
            per section (unless ``max_per_section`` says otherwise).
        max_per_section : int, optional
            Findings shown per section.
        """
        esc = _html.escape
        headline = self.headline[:6] if compact else self.headline
        limit = max_per_section if max_per_section is not None else (3 if compact else None)
        parts = []
        if headline:
            parts.append('<dl class="findings-headline">' + "".join(
                f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in headline) + "</dl>")
        for name in SECTIONS:
            items = self.section(name)
            if not items:
                continue
            if compact:  # what needs attention first
                rank = {"high": 0, "bad": 1, "medium": 2, "good": 3}
                items = sorted(items, key=lambda f: rank.get(f.severity or "", 4))
            shown = items[:limit] if limit else items
            lis = "".join(
                f'<li class="sev-{esc(f.severity or "none")}">'
                + (f'<span class="badge">{esc(f.severity)}</span> ' if f.severity in ("high", "medium", "low") else "")
                + f"{esc(f.text)}"
                + (f'<div class="detail">{esc(f.detail)}</div>' if f.detail and not compact else "")
                + "</li>" for f in shown)
            more = f'<li class="more">and {len(items) - len(shown)} more</li>' if len(shown) < len(items) else ""
            parts.append(f'<h3>{esc(name)}</h3><ul class="findings">{lis}{more}</ul>')
        if not parts:
            parts.append("<p>No findings recorded in the sidecar.</p>")
        return '<div class="findings-block">' + "".join(parts) + "</div>"


def _label(key: str) -> str:
    """A readable name: units go with the value (``_s``, ``_usd``), ``n_x`` is ``x``."""
    k = re.sub(r"_(s|usd)$", "", str(key))
    k = re.sub(r"^n_", "", k)
    k = k.replace("srm_p_value", "SRM p-value").replace("p_value", "p-value")
    return k.replace("_", " ")


def _headline(notebook: str, results: dict) -> list[tuple[str, str]]:
    keys = [k for k in _HEADLINE_KEYS.get(notebook, []) if k in results]
    if not keys:
        keys = [k for k, v in results.items()
                if not isinstance(v, (dict, list)) and not re.match(r".+_(abs|rel)_", k)][:_HEADLINE_MAX]
    return [(_label(k), format_value(k, results[k])) for k in keys[:_HEADLINE_MAX]
            if not isinstance(results[k], dict)]


def _alerts(results: dict) -> list[Finding]:
    out = []
    seen: set = set()
    for a in results.get("alerts") or []:
        if not isinstance(a, dict):
            continue
        metric = str(a.get("metric", ""))
        rule = a.get("rule") or metric
        detail = []
        if a.get("value") is not None:
            detail.append(f"{format_value(metric, a['value'])} vs {format_value(metric, a.get('threshold'))}")
        scope = a.get("scope")
        text = f"{rule} ({scope}: {', '.join(detail)})" if scope else f"{rule} ({', '.join(detail)})"
        rec = a.get("recommendation")
        detail = ""
        if rec and rec in seen:  # one recommendation for several scopes: said once
            detail = "Recommendation: as above."
        elif rec:
            detail = f"Recommendation: {rec}"
            seen.add(rec)
        out.append(Finding("Alerts", text, str(a.get("severity") or "") or None, detail))
    return out


def _verdicts(results: dict) -> list[Finding]:
    out = []
    analysis = results.get("analysis") if isinstance(results.get("analysis"), dict) else {}
    texts = analysis.get("verdicts") or []
    kinds = {}
    for m in analysis.get("metrics") or []:
        if isinstance(m, dict):
            kinds[str(m.get("metric"))] = m.get("verdict")
    for t in texts:
        metric = str(t).split(":", 1)[0]
        verdict = str(kinds.get(metric) or "")
        sev = "good" if verdict == "winner" else "bad" if verdict == "worse" else None
        out.append(Finding("Verdicts", str(t), sev))
    if not texts:  # flat <metric>_<arm>_verdict keys, or ab_verdicts records (05)
        for rec in results.get("ab_verdicts") or []:
            if isinstance(rec, dict):
                out.append(Finding("Verdicts", f"{rec.get('metric')} ({rec.get('arm')}): {rec.get('verdict')}"))
        if not out:
            for k, v in results.items():
                if k.endswith("_verdict") and isinstance(v, str):
                    stem = k[: -len("_verdict")]
                    ci = ""
                    lo, hi = results.get(f"{stem}_abs_ci_low"), results.get(f"{stem}_abs_ci_high")
                    if lo is not None and hi is not None:
                        ci = f", 95 % CI of the difference [{_number(lo)}, {_number(hi)}]"
                    out.append(Finding("Verdicts", f"{stem}: {v}{ci}"))
    if results.get("srm_flagged"):
        out.append(Finding("Verdicts", "Sample ratio mismatch: the arms' sizes differ from the plan "
                           f"(p = {format_value('p', results.get('srm_p_value'))}); check the assignment "
                           "before trusting any verdict.", "high"))
    return out


def _topics(results: dict) -> list[Finding]:
    out = []
    for rec in results.get("worst_clusters") or []:
        if not isinstance(rec, dict):
            continue
        bits = [f"{format_value('size', rec.get('size'))} conversations ({format_value('share', rec.get('share'))})"]
        if rec.get("resolution_rate") is not None:
            bits.append(f"resolved {format_value('resolution_rate', rec['resolution_rate'])}")
        if rec.get("excess_failures") is not None:
            bits.append(f"{_number(float(rec['excess_failures']))} failures above the average")
        out.append(Finding("Worst topics", f"#{rec.get('cluster')} {rec.get('label')}: {', '.join(bits)}"))
    return out


def _anomalies(results: dict) -> list[Finding]:
    out = []
    anomalies = results.get("anomalies")
    if isinstance(anomalies, dict):
        for metric, windows in anomalies.items():
            for w in windows or []:
                if not isinstance(w, dict):
                    continue
                start = str(w.get("start", ""))[:16].replace("T", " ")
                end = str(w.get("end", ""))[:16].replace("T", " ")
                text = f"{metric}: {start} to {end}"
                if w.get("peak_value") is not None:
                    text += f", peak {format_value(metric, w['peak_value'])}"
                if w.get("direction"):
                    text += f" ({w['direction']})"
                if w.get("matched"):
                    text += f"; matches {w['matched']}"
                out.append(Finding("Anomalies", text, "medium"))
        if not out:
            out.append(Finding("Anomalies", f"no anomalous window in {', '.join(anomalies) or 'the series'}"))
    for cp in results.get("change_points") or []:
        if isinstance(cp, dict) and cp.get("timestamp"):
            shift = cp.get("shift", cp.get("delta"))
            more = f" (shift {_number(float(shift))})" if isinstance(shift, (int, float)) else ""
            out.append(Finding("Anomalies", f"change in the mean at {str(cp['timestamp'])[:16].replace('T', ' ')}{more}"))
    return out


def _forecast(results: dict) -> list[Finding]:
    out = []
    if results.get("model") and results.get("horizon") is not None and "best_mase" in results:
        beats = results.get("beats_snaive")
        text = (f"{results.get('metric', 'series')}: {results['horizon']} steps ahead with {results['model']} "
                f"(backtest MASE {format_value('mase', results.get('best_mase'))} vs seasonal naive "
                f"{format_value('mase', results.get('snaive_mase'))}"
                + (f", 95 % interval coverage {format_value('coverage', results['coverage95'])}" if results.get("coverage95") is not None else "")
                + ")")
        if beats is False:
            text += "; it does not beat seasonal naive"
        out.append(Finding("Forecast", text))
        fc = results.get("forecast") or []
        points = [r for r in fc if isinstance(r, dict) and r.get("yhat") is not None]
        if points:
            last = points[-1]
            lo, hi = last.get("lo95"), last.get("hi95")
            text = f"at {str(last.get('timestamp', ''))[:16]}: {_number(float(last['yhat']))}"
            if lo is not None and hi is not None:
                text += f" (95 % interval {_number(float(lo))} to {_number(float(hi))})"
            out.append(Finding("Forecast", text))
    trend = results.get("trend")
    if isinstance(trend, dict) and trend.get("direction"):
        text = f"trend: {trend['direction']}"
        rel, ci = trend.get("relative_slope_per_day"), trend.get("relative_ci") or []
        if isinstance(rel, (int, float)):
            text += f", {100 * rel:+.2f} % per day"
            if len(ci) == 2 and all(isinstance(c, (int, float)) for c in ci):
                text += f" (95 % CI {100 * ci[0]:+.2f} to {100 * ci[1]:+.2f} %)"
        if trend.get("p_value") is not None:
            text += f", p {format_value('p', trend['p_value'])}" if trend["p_value"] < 0.001 else f", p = {format_value('p', trend['p_value'])}"
        out.append(Finding("Forecast", text))
    return out


def _checks(results: dict) -> list[Finding]:
    out = []
    found = results.get("incidents_found")
    if found:
        out.append(Finding("Checks", f"planted incidents found: {format_value('incidents_found', found)}"))
    if results.get("scores_equal") is not None:
        out.append(Finding("Checks", f"pandas and Dask scores equal: {format_value('x', results['scores_equal'])}"))
    return out


def _suggestions(results: dict) -> list[Finding]:
    return [Finding("Suggestions", s if isinstance(s, str) else json.dumps(s, default=str))
            for s in results.get("suggestions") or []]


def read_findings(sidecar: dict | str | os.PathLike, *, title: str | None = None) -> Findings:
    """Read a run's findings from its sidecar (a dict, a ``sidecar.json`` or the run folder).

    Parameters
    ----------
    sidecar : dict or path
        The sidecar document, its file, or the folder holding it.
    title : str, optional
        The report title; default the notebook name.

    Returns
    -------
    Findings

    Examples
    --------
    >>> f = read_findings({"notebook": "02_ab_testing", "results": {"n_units": 12390,
    ...     "analysis": {"verdicts": ["resolved: B beats A by +5.07 pp"],
    ...                  "metrics": [{"metric": "resolved", "verdict": "winner"}]}}})
    >>> f.headline, [(x.text, x.severity) for x in f.items]
    ([('units', '12,390')], [('resolved: B beats A by +5.07 pp', 'good')])
    """
    if not isinstance(sidecar, dict):
        path = Path(sidecar)
        if path.is_dir():
            path = path / "sidecar.json"
        sidecar = json.loads(path.read_text(encoding="utf-8"))
    results = sidecar.get("results") or {}
    if not isinstance(results, dict):
        results = {"result": results}
    notebook = str(sidecar.get("notebook") or "")
    data_range = sidecar.get("data_range")
    if not data_range and results.get("start") and results.get("end"):  # the overview has it
        data_range = {"start": results["start"], "end": results["end"],
                      "conversations": results.get("conversations"), "turns": results.get("turns")}
    items = (_verdicts(results) + _alerts(results) + _suggestions(results) + _topics(results)
             + _anomalies(results) + _forecast(results) + _checks(results))
    return Findings(
        notebook=notebook,
        title=title or notebook or "Report",
        parameters=dict(sidecar.get("parameters") or {}),
        data_range=data_range or None,
        headline=_headline(notebook, results),
        items=items,
        written_at=sidecar.get("written_at"),
    )
