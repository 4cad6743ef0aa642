"""What a batch did: :class:`BatchResult`, ``summary.csv``/``.parquet``, ``index.html``, a text report."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import html as _html
import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

from toolkit.runner.run import error_text

__all__ = [
    "BatchResult",
    "summary_frame",
    "write_summary",
    "write_index",
    "format_report",
    "SUMMARY_CSV",
    "SUMMARY_PARQUET",
    "INDEX_HTML",
    "BATCH_LOG",
]

SUMMARY_CSV = "summary.csv"
SUMMARY_PARQUET = "summary.parquet"
INDEX_HTML = "index.html"
BATCH_LOG = "batch_log.jsonl"


@dataclasses.dataclass
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    out_dir : Path
    records : list of dict
        One ``run.json`` record per run of the config, in config order (``resumed`` is True for
        runs skipped because they had finished).
    executed : list of str
        Names of the runs executed this time.
    duration_s : float
    summary_csv, summary_parquet, index_html, log : Path

    Examples
    --------
    >>> BatchResult(out_dir=Path("."), records=[{"status": "failed"}]).exit_code
    1
    """

    out_dir: Path
    records: list
    executed: list = dataclasses.field(default_factory=list)
    duration_s: float = 0.0
    summary_csv: Path | None = None
    summary_parquet: Path | None = None
    index_html: Path | None = None
    log: Path | None = None



    def summary_table(self):
        """One row per run: its name, status, duration and error (the batch's own summary is
        ``summary_csv``, with the sidecar results)."""
        import pandas as pd

        cols = ["name", "notebook", "status", "duration_s", "resumed"]
        return pd.DataFrame([{c: r.get(c) for c in cols} for r in self.records], columns=cols)

    def to_dict(self) -> dict:
        """The records, what ran this time, the exit code and the written files."""
        paths = {k: str(getattr(self, k)) if getattr(self, k) else None
                 for k in ("out_dir", "summary_csv", "summary_parquet", "index_html", "log")}
        return {**paths, "records": self.records, "executed": self.executed, "duration_s": self.duration_s,
                "exit_code": self.exit_code}
    @property
    def failed(self) -> list[dict]:
        """Records of the runs that failed (or never finished)."""
        return [r for r in self.records if r.get("status") != "ok"]

    @property
    def counts(self) -> dict[str, int]:
        """``ok``, ``failed`` and ``skipped`` (finished earlier, kept by ``resume``) run counts."""
        skipped = sum(1 for r in self.records if r.get("resumed"))
        ok = sum(1 for r in self.records if r.get("status") == "ok" and not r.get("resumed"))
        return {"ok": ok, "failed": len(self.failed), "skipped": skipped}

    @property
    def exit_code(self) -> int:
        """0 when every run finished, else 1."""
        return 1 if self.failed else 0


def _flatten(prefix: str, value: Any, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)):
        out[prefix] = json.dumps(value, ensure_ascii=False, default=str)
    else:
        out[prefix] = value


_META = ["run", "notebook", "status", "error", "failed_cell", "cell_index", "duration_s",
         "started", "ended", "resumed", "pdf_kind", "html", "pdf", "executed_notebook", "warnings"]


def summary_frame(records: list[dict]):
    """One row per run: status and error, timings, ``param.*`` columns and flattened results.

    The results come from each run's ``sidecar.json`` (``results``; nested keys joined with
    dots, lists as JSON text). A result named like a metadata column is prefixed ``result.``.

    Examples
    --------
    >>> df = summary_frame([{"name": "nb", "notebook": "nb.ipynb", "status": "ok",
    ...                      "out_dir": "/nonexistent", "parameters": {"n": 1}}])
    >>> df.loc[0, "param.n"], df.loc[0, "status"]
    (np.int64(1), 'ok')
    """
    import pandas as pd

    from toolkit.notebook import SIDECAR_NAME

    rows = []
    for rec in records:
        err = rec.get("error") or {}
        row = {
            "run": rec.get("name"),
            "notebook": Path(rec.get("notebook") or "").name,
            "status": rec.get("status"),
            "error": error_text(rec.get("error")) or None,
            "failed_cell": f"In [{err['exec_count']}]" if err.get("exec_count") is not None else None,
            "cell_index": err.get("cell_index"),
            "duration_s": rec.get("duration_s"),
            "started": rec.get("started"),
            "ended": rec.get("ended"),
            "resumed": bool(rec.get("resumed", False)),
            "pdf_kind": rec.get("pdf_kind"),
        }
        files = rec.get("files") or {}
        base = Path(rec.get("name") or "")
        row["html"] = (base / files["html"]).as_posix() if files.get("html") else None
        row["pdf"] = (base / files["pdf"]).as_posix() if files.get("pdf") else None
        row["executed_notebook"] = (base / files["notebook"]).as_posix() if files.get("notebook") else None
        row["warnings"] = "; ".join(rec.get("warnings") or []) or None
        for k, v in (rec.get("parameters") or {}).items():
            _flatten(f"param.{k}", v, row)
        sidecar = Path(rec.get("out_dir") or "") / SIDECAR_NAME
        if rec.get("status") == "ok" and sidecar.is_file():
            try:
                results = json.loads(sidecar.read_text(encoding="utf-8")).get("results") or {}
            except (OSError, ValueError):
                results = {}
            flat: dict = {}
            _flatten("", results, flat)
            for k, v in flat.items():
                row[f"result.{k}" if k in row or k.startswith("param.") else k] = v
        rows.append(row)
    df = pd.DataFrame(rows)
    for col in df.columns:  # whole numbers stay whole where some runs lack the column
        values = [r[col] for r in rows if r.get(col) is not None]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            df[col] = df[col].astype("Int64")
    for col in _META:
        if col not in df.columns:
            df[col] = None
    rest = [c for c in df.columns if c not in _META]
    params = sorted(c for c in rest if c.startswith("param."))
    results = [c for c in rest if not c.startswith("param.")]
    return df[_META + params + results]


def _parquet_ready(df):
    """Make every column one Arrow type: mixed-type object columns become JSON/str text."""
    import pandas as pd

    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype != object:
            continue
        kinds = {type(v) for v in s if v is not None and not (isinstance(v, float) and pd.isna(v))}
        if len(kinds) <= 1 and not kinds & {dict, list}:
            if kinds == {bool}:
                out[col] = s.astype("boolean")
            continue
        if kinds <= {int, float}:
            out[col] = pd.to_numeric(s)
            continue
        out[col] = [None if v is None or (isinstance(v, float) and pd.isna(v))
                    else v if isinstance(v, str) else json.dumps(v, default=str) for v in s]
    return out


def write_summary(records: list[dict], out_dir: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``summary.csv`` and ``summary.parquet`` (atomically) from run records.

    Examples
    --------
    >>> import tempfile
    >>> csv, pq = write_summary([{"name": "nb", "status": "ok", "parameters": {}}], tempfile.mkdtemp())
    >>> csv.name, pq.name
    ('summary.csv', 'summary.parquet')
    """
    import io

    from toolkit._files import atomic_write_bytes

    out_dir = Path(out_dir)
    df = summary_frame(records)
    from toolkit._files import write_csv

    csv = write_csv(df, out_dir / SUMMARY_CSV)
    buf = io.BytesIO()
    _parquet_ready(df).to_parquet(buf, index=False)
    pq = atomic_write_bytes(out_dir / SUMMARY_PARQUET, buf.getvalue())
    return csv, pq


def _notebook_title(rec: dict) -> str | None:
    """The first ``# heading`` of a run's executed notebook (None when unreadable)."""
    nb = (rec.get("files") or {}).get("notebook")
    if not nb:
        return None
    try:
        doc = json.loads((Path(rec.get("out_dir") or "") / nb).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for cell in doc.get("cells", []):
        if cell.get("cell_type") == "markdown":
            src = cell.get("source", "")
            first = ("".join(src) if isinstance(src, list) else src).lstrip().splitlines()
            if first and first[0].startswith("# "):
                return first[0][2:].strip()
            return None
    return None


def _card(rec: dict, run: str, status: str, err: str, link) -> str:
    """A front-page card: the run's title, links to its reports, and its key findings."""
    from toolkit.findings import read_findings
    from toolkit.notebook import SIDECAR_NAME

    esc = _html.escape
    files = rec.get("files") or {}
    sidecar = Path(rec.get("out_dir") or "") / SIDECAR_NAME
    body = ""
    if status == "ok" and sidecar.is_file():
        try:
            body = read_findings(sidecar).to_html(compact=True)
        except (OSError, ValueError, TypeError, KeyError):
            body = "<p>(the sidecar could not be read)</p>"
    elif err:
        body = f"<p>Failed: {esc(err)}</p>"
    title = _notebook_title(rec) or run
    links = []
    for key, label, cls in (("report_pdf", "Report (PDF)", "primary"), ("report_html", "Report (HTML)", "primary"),
                            ("pdf", "Full notebook (PDF)", ""), ("html", "Full notebook (HTML)", "")):
        rel = files.get(key)
        if rel:
            href = urllib.parse.quote(f"{run}/{rel}", safe="/=+,")
            links.append(f'<a class="{cls}" href="{esc(href)}">{esc(label)}</a>')
    sub = f'<div class="run-name">{esc(run)}</div>' if title != run else ""
    return (f'<article class="card {esc(status)}"><h2>{esc(title)}</h2>{sub}'
            f'<p class="links">{" ".join(links) or "no exports"}</p>{body}</article>')


def write_index(records: list[dict], out_dir: str | os.PathLike, *, title: str = "Batch report") -> Path:
    """Write ``index.html``: a card per run with its key findings (read from its sidecar) and
    links to its stakeholder report and full notebook exports, then a table of every run with
    its HTML, PDF, notebook and sidecar (atomically). Readable from phone width to a wide
    screen (responsive CSS); every data value is escaped.

    Examples
    --------
    >>> import tempfile
    >>> write_index([{"name": "nb", "status": "ok", "files": {"html": "nb.html"}}], tempfile.mkdtemp()).name
    'index.html'
    """
    from toolkit._files import atomic_write_text

    from toolkit._escape import html_text as esc

    def link(run: str, rel: str | None, label: str) -> str:
        if not rel:
            return "<td>&ndash;</td>"
        href = urllib.parse.quote(f"{run}/{rel}", safe="/=+,")
        return f'<td><a href="{esc(href)}">{esc(label)}</a></td>'

    n_ok = sum(r.get("status") == "ok" for r in records)
    rows = []
    cards = []
    for rec in records:
        files = rec.get("files") or {}
        figures = [f for f in files.get("figures") or [] if f.endswith(".png")]
        run = rec.get("name") or ""
        status = rec.get("status") or "missing"
        params = ", ".join(f"{k}={v!r}" for k, v in (rec.get("parameters") or {}).items())
        err = ""
        if rec.get("error"):
            err = error_text(rec["error"])
        pdf_label = "PDF" if rec.get("pdf_kind") != "figures-only" else "PDF (figures only)"
        dur = rec.get("duration_s")
        rows.append(
            f'<tr class="{esc(status)}"><td>{esc(run)}</td><td>{esc(Path(rec.get("notebook") or "").name)}</td>'
            f"<td>{esc(params)}</td><td>{esc(status)}{' (resumed)' if rec.get('resumed') else ''}</td>"
            f"<td>{'' if dur is None else f'{dur:.1f} s'}</td>"
            + link(run, files.get("report_pdf"), "report PDF")
            + link(run, files.get("report_html"), "report HTML")
            + link(run, files.get("html"), "HTML")
            + link(run, files.get("pdf"), pdf_label)
            + link(run, files.get("notebook"), "notebook")
            + link(run, files.get("sidecar"), "sidecar")
            + link(run, "figures/" if figures else None, f"{len(figures)} figures")
            + f"<td>{esc(err)}</td></tr>"
        )
        cards.append(_card(rec, run, status, err, link))
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 0 auto; padding: 1.2em; max-width: 1500px; color: #222; line-height: 1.4; }}
h1 {{ margin: 0.2em 0; }}
.cards {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 420px), 1fr)); gap: 1em; margin: 1em 0 2em 0; }}
.card {{ border: 1px solid #d6dbe1; border-radius: 8px; padding: 0.8em 1em; background: #fbfcfd; min-width: 0; overflow-wrap: break-word; }}
.card h2 {{ font-size: 1.15em; margin: 0 0 0.3em 0; }}
.card.failed {{ border-color: #e3a3a3; background: #fdf3f3; }}
.card .links {{ margin: 0 0 0.6em 0; font-size: 0.92em; }} .card .links a {{ margin-right: 0.4em; white-space: nowrap; }}
.card .links a.primary {{ font-weight: 600; }}
.card table {{ border: none; }} .card td {{ border: none; }}
.findings-headline {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 0.4em 0.8em; margin: 0 0 0.6em 0; }}
.findings-headline div {{ border-left: 3px solid #4a78b5; padding-left: 0.4em; }}
.findings-headline dt {{ font-size: 0.8em; color: #555; }} .findings-headline dd {{ margin: 0; font-weight: 600; }}
.findings-block h3 {{ font-size: 0.95em; margin: 0.7em 0 0.2em 0; }}
ul.findings {{ margin: 0; padding-left: 1.1em; font-size: 0.9em; }} ul.findings li {{ margin: 0.15em 0; }}
.badge {{ color: #fff; border-radius: 3px; padding: 0 4px; font-size: 0.75em; text-transform: uppercase; }}
li.sev-high .badge {{ background: #c62828; }} li.sev-medium .badge {{ background: #ef8f00; }} li.sev-low .badge {{ background: #777; }}
li.sev-good {{ color: #1a5e20; }} li.sev-bad {{ color: #9a1b1b; }} li.more {{ color: #666; list-style: none; }}
.scroll {{ overflow-x: auto; }}
table.runs {{ border-collapse: collapse; font-size: 0.9em; }} table.runs td, table.runs th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
tr.failed {{ background: #fde8e8; }} tr.ok td:nth-child(4) {{ color: #1a7f37; }}
@media (max-width: 600px) {{ body {{ padding: 0.6em; }} h1 {{ font-size: 1.4em; }} }}
</style></head><body>
<h1>{esc(title)}</h1>
<p>{n_ok} of {len(records)} runs finished; written {esc(now)}.
Summary: <a href="{SUMMARY_CSV}">CSV</a>, <a href="{SUMMARY_PARQUET}">Parquet</a>; log: <a href="{BATCH_LOG}">{BATCH_LOG}</a>.</p>
<section class="cards">
{chr(10).join(cards)}
</section>
<h2>All runs</h2>
<div class="scroll"><table class="runs"><thead><tr><th>run</th><th>notebook</th><th>parameters</th><th>status</th><th>time</th>
<th>report PDF</th><th>report HTML</th><th>HTML</th><th>PDF</th><th>notebook</th><th>sidecar</th><th>figures (PNG)</th><th>error</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></div></body></html>
"""
    return atomic_write_text(Path(out_dir) / INDEX_HTML, doc)


def format_report(result: BatchResult) -> str:
    """A short text report of a batch: counts, each failure with its cell, and the output files.

    Examples
    --------
    >>> print(format_report(BatchResult(out_dir=Path("r"), records=[{"name": "nb", "status": "ok"}])))
    ... # doctest: +ELLIPSIS
    1 run(s): 1 ok, 0 failed, 0 skipped (finished earlier) in 0.0 s
    ...
    """
    c = result.counts
    lines = [f"{len(result.records)} run(s): {c['ok']} ok, {c['failed']} failed, "
             f"{c['skipped']} skipped (finished earlier) in {result.duration_s:.1f} s"]
    for rec in result.failed:
        text = error_text(rec.get("error"))
        nb = (rec.get("files") or {}).get("notebook")
        where = Path(rec.get("out_dir") or "") / nb if nb else rec.get("out_dir")
        lines.append(f"  FAILED {rec.get('name')}: {text or rec.get('status')}")
        if nb:
            lines.append(f"         partial notebook: {where}")
    figures_only = [r for r in result.records if r.get("pdf_kind") == "figures-only"]
    if figures_only:
        warn = next((w for r in figures_only for w in r.get("warnings") or []), "")
        lines.append(f"  note: {len(figures_only)} PDF(s) are figures-only. {warn}")
    lines.append(f"index:   {result.index_html}")
    lines.append(f"summary: {result.summary_csv} (and .parquet)")
    lines.append(f"log:     {result.log}")
    return "\n".join(lines)
