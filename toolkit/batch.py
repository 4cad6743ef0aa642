"""Papermill batches: notebooks x parameter grids, in parallel, with a summary and an index.

A batch config (YAML)::

    out: ../reports/example            # output folder (relative to this file); --out overrides
    workers: 2                         # optional; default: the number of cores
    timeout: 600                       # optional: seconds allowed per cell
    export: {html: true, pdf: true, no_input: false}
    parameters: {data_path: ""}        # defaults for every run (optional)
    notebooks:
      - notebook: ../notebooks/02_ab_testing.ipynb
        parameters: {alpha: 0.05}      # fixed for this entry
        grid:                          # lists expand to their product: 2 x 3 = 6 runs
          variant: [A, B]
          week: [1, 2, 3]
        runs:                          # explicit extra parameter sets
          - {alpha: 0.01}
      - notebook: ../notebooks/*.ipynb # a glob: one entry per notebook, default parameters

Relative paths in a config (notebooks, ``out``, and the kernels' working folder, hence relative
``data_path`` values) are relative to the config file's folder.

Every run gets a folder ``<out>/<run name>/`` (see :func:`toolkit.runner.run_name`) holding the
executed notebook, figures, sidecar, HTML, PDF and ``run.json``. The batch writes, atomically:

* ``summary.csv`` and ``summary.parquet``: one row per run: status, error (with the failing
  cell), timings, ``param.<name>`` columns, and the sidecar's ``results`` flattened into columns;
* ``index.html``: links to every run's HTML, PDF, notebook and sidecar;
* ``batch_log.jsonl``: a structured log, one JSON object per line (``batch_start``, one ``run``
  event per run with start, end, duration, status, parameters and error, ``batch_end``).

A failing run does not stop the others; the batch reports it and :func:`run_batch` returns a
result whose ``exit_code`` is 1. ``resume=True`` skips runs whose ``run.json`` says they finished
with the same parameters, and redoes only the failed or missing ones.

Examples
--------
>>> from toolkit.batch import run_batch
>>> res = run_batch("batches/example.yaml", workers=2)  # doctest: +SKIP
>>> res.counts, res.exit_code                           # doctest: +SKIP
({'ok': 6, 'failed': 0, 'skipped': 0}, 0)
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as _dt
import glob
import html as _html
import itertools
import json
import os
import time
import urllib.parse
from pathlib import Path
from typing import Any

from toolkit.cli import UsageError
from toolkit.runner import (
    ParameterError,
    check_parameters,
    error_text,
    execute_run,
    inspect_parameters,
    read_run_record,
    run_name,
)

__all__ = [
    "BatchConfig",
    "BatchResult",
    "load_config",
    "expand_runs",
    "grid_config",
    "run_batch",
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

_TOP_KEYS = {"out", "workers", "timeout", "export", "parameters", "notebooks", "name", "kernel", "executor"}
_ENTRY_KEYS = {"notebook", "parameters", "grid", "runs"}
_EXPORT_KEYS = {"html", "pdf", "no_input"}


@dataclasses.dataclass
class BatchConfig:
    """A parsed batch: where to write, how to run, and the notebook entries.

    Attributes
    ----------
    base_dir : Path
        Folder relative paths resolve against (the config file's folder).
    out : Path or None
    workers : int or None
    timeout : float or None
    html, pdf, no_input : bool
    parameters : dict
        Defaults for every run.
    entries : list of dict
        Each with ``notebook`` (a resolved Path), ``parameters``, ``grid`` (list of dicts of
        lists) and ``runs`` (list of dicts).
    name : str
    executor : str
        ``"thread"`` or ``"process"``.
    from_cli : bool
        Parameter values are command-line strings, converted to the declared types.

    Examples
    --------
    >>> cfg = BatchConfig.from_dict({"notebooks": ["notebooks/*.ipynb"]}, base_dir=".")  # doctest: +SKIP
    >>> cfg.entries[0]["notebook"].name                                              # doctest: +SKIP
    '00_overview.ipynb'
    """

    base_dir: Path
    entries: list
    out: Path | None = None
    workers: int | None = None
    timeout: float | None = None
    html: bool = True
    pdf: bool = True
    no_input: bool = False
    parameters: dict = dataclasses.field(default_factory=dict)
    name: str = "batch"
    kernel: str = "python3"
    executor: str = "thread"
    from_cli: bool = False

    @classmethod
    def from_dict(cls, doc: dict, base_dir: str | os.PathLike = ".", source: str = "config") -> "BatchConfig":
        """Validate a config mapping (as loaded from YAML) and resolve its paths."""
        base = Path(base_dir).resolve()
        if not isinstance(doc, dict):
            raise UsageError(f"{source}: expected a mapping with a 'notebooks' list, got {type(doc).__name__}")
        unknown = set(doc) - _TOP_KEYS
        if unknown:
            raise UsageError(f"{source}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
        notebooks = doc.get("notebooks")
        if not isinstance(notebooks, list) or not notebooks:
            raise UsageError(f"{source}: 'notebooks' must be a non-empty list of entries")
        export = doc.get("export") or {}
        if not isinstance(export, dict) or set(export) - _EXPORT_KEYS:
            raise UsageError(f"{source}: 'export' must be a mapping with keys {sorted(_EXPORT_KEYS)}")
        defaults = doc.get("parameters") or {}
        if not isinstance(defaults, dict):
            raise UsageError(f"{source}: 'parameters' must be a mapping of name to value")
        executor = doc.get("executor", "thread")
        if executor not in ("thread", "process"):
            raise UsageError(f"{source}: 'executor' must be 'thread' or 'process', got {executor!r}")
        entries = []
        for i, item in enumerate(notebooks):
            where = f"{source}: notebooks[{i}]"
            if isinstance(item, str):
                item = {"notebook": item}
            if not isinstance(item, dict) or "notebook" not in item:
                raise UsageError(f"{where}: expected a mapping with a 'notebook' path")
            bad = set(item) - _ENTRY_KEYS
            if bad:
                raise UsageError(f"{where}: unknown key(s) {sorted(bad)}; allowed: {sorted(_ENTRY_KEYS)}")
            params = item.get("parameters") or {}
            if not isinstance(params, dict):
                raise UsageError(f"{where}: 'parameters' must be a mapping")
            grid = item.get("grid") or []
            grids = grid if isinstance(grid, list) else [grid]
            for g in grids:
                if not isinstance(g, dict) or not g:
                    raise UsageError(f"{where}: 'grid' must be a mapping of name to a list of values")
                for k, v in g.items():
                    if isinstance(v, list) and not v:
                        raise UsageError(f"{where}: grid '{k}' is an empty list (no runs)")
            runs = item.get("runs") or []
            if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
                raise UsageError(f"{where}: 'runs' must be a list of parameter mappings")
            pattern = str(item["notebook"])
            full = pattern if os.path.isabs(pattern) else str(base / pattern)
            if glob.has_magic(pattern):
                paths = sorted(Path(p) for p in glob.glob(full) if p.endswith(".ipynb"))
                if not paths:
                    raise UsageError(f"{where}: no notebook matches {pattern!r} (relative to {base})")
            else:
                paths = [Path(full)]
                if not paths[0].is_file():
                    raise UsageError(f"{where}: notebook not found: {pattern} (relative to {base})")
            for path in paths:
                entries.append({"notebook": path.resolve(), "parameters": dict(params),
                                "grid": [dict(g) for g in grids], "runs": [dict(r) for r in runs]})
        out = doc.get("out")
        workers = doc.get("workers")
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise UsageError(f"{source}: 'workers' must be a positive integer, got {workers!r}")
        return cls(
            base_dir=base,
            entries=entries,
            out=(base / out).resolve() if out else None,
            workers=workers,
            timeout=doc.get("timeout"),
            html=bool(export.get("html", True)),
            pdf=bool(export.get("pdf", True)),
            no_input=bool(export.get("no_input", False)),
            parameters=dict(defaults),
            name=str(doc.get("name") or "batch"),
            kernel=str(doc.get("kernel") or "python3"),
            executor=executor,
        )


def load_config(path: str | os.PathLike) -> BatchConfig:
    """Read and validate a batch config YAML file.

    Examples
    --------
    >>> cfg = load_config("batches/example.yaml")  # doctest: +SKIP
    >>> len(expand_runs(cfg))                       # doctest: +SKIP
    8
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"batch config not found: {path}")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: invalid YAML: {exc}") from exc
    cfg = BatchConfig.from_dict(doc, base_dir=path.parent, source=str(path))
    if doc and "name" not in doc:
        cfg.name = path.stem
    return cfg


def grid_config(
    notebooks: list[str],
    grid: list[list[str]] | None = None,
    parameters: list[list[str]] | None = None,
    *,
    base_dir: str | os.PathLike = ".",
) -> BatchConfig:
    """A batch from the command line: notebooks x a grid of string values.

    Parameters
    ----------
    notebooks : list of str
        Notebook paths or globs.
    grid : list of [name, value, value, ...]
        Each name with its values; the lists expand to their product.
    parameters : list of [name, value]
        Fixed parameters of every run.
    base_dir : path
        Folder relative paths resolve against (the current one).

    Returns
    -------
    BatchConfig
        With ``from_cli=True``: values are converted to each notebook's declared types.

    Examples
    --------
    >>> cfg = grid_config(["notebooks/02_ab_testing.ipynb"], [["alpha", "0.05", "0.01"]])  # doctest: +SKIP
    >>> [r["parameters"] for r in expand_runs(cfg, "reports")]                              # doctest: +SKIP
    [{'alpha': 0.05}, {'alpha': 0.01}]
    """
    g: dict = {}
    for item in grid or []:
        if len(item) < 2:
            raise UsageError(f"--grid needs a name and at least one value, got {item}")
        if item[0] in g:
            raise UsageError(f"--grid {item[0]!r} given twice")
        g[item[0]] = list(item[1:])
    fixed: dict = {}
    for name, value in parameters or []:
        if name in fixed or name in g:
            raise UsageError(f"parameter {name!r} given twice")
        fixed[name] = value
    if not notebooks:
        raise UsageError("give a batch config, or --notebook NOTEBOOK (repeatable) with --grid")
    entries = [{"notebook": nb, **({"grid": g} if g else {})} for nb in notebooks]
    cfg = BatchConfig.from_dict({"name": "grid", "parameters": fixed, "notebooks": entries},
                                base_dir=base_dir, source="command line")
    cfg.from_cli = True
    return cfg


def _product(grid: dict) -> list[dict]:
    keys = list(grid)
    values = [v if isinstance(v, list) else [v] for v in grid.values()]
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def expand_runs(config: BatchConfig, out: str | os.PathLike | None = None) -> list[dict]:
    """Expand a config into run specs (for :func:`toolkit.runner.execute_run`), checking all.

    Every parameter set is checked against its notebook before anything runs; all problems are
    reported together.

    Returns
    -------
    list of dict
        Run specs with ``name``, ``notebook``, ``out_dir``, ``parameters`` and run options.

    Raises
    ------
    ParameterError
        Unknown or mistyped parameters, listing each run's problems and valid parameters.
    UsageError
        Two identical runs.

    Examples
    --------
    >>> cfg = BatchConfig.from_dict({"notebooks": [{"notebook": "nb.ipynb",
    ...     "grid": {"n": [1, 2], "s": ["a", "b"]}}]})           # doctest: +SKIP
    >>> [r["name"] for r in expand_runs(cfg, "out")]            # doctest: +SKIP
    ['nb__n=1__s=a', 'nb__n=1__s=b', 'nb__n=2__s=a', 'nb__n=2__s=b']
    """
    out_dir = Path(out).resolve() if out is not None else (config.out or Path("reports").resolve())
    specs_cache: dict[Path, dict] = {}
    runs, problems = [], []
    valid: dict[str, str] = {}
    for entry in config.entries:
        nb = entry["notebook"]
        if nb not in specs_cache:
            specs_cache[nb] = inspect_parameters(nb)
        specs = specs_cache[nb]
        sets = [s for g in entry["grid"] for s in _product(g)] + entry["runs"]
        if not sets:
            sets = [{}]
        for varying in sets:
            named = {**entry["parameters"], **varying}
            params = {**config.parameters, **named}
            try:
                params = check_parameters(nb, params, specs=specs, from_cli=config.from_cli)
            except ParameterError as exc:
                problems.append(f"{nb.name} {_canonical(named)}: " + "; ".join(exc.problems))
                valid.setdefault(nb.name, exc.valid)
                continue
            runs.append({
                "name": run_name(nb, {k: params[k] for k in named}),
                "notebook": str(nb),
                "parameters": params,
                "set_output_dir": "output_dir" in specs,
                "html": config.html,
                "pdf": config.pdf,
                "no_input": config.no_input,
                "kernel_name": config.kernel,
                "timeout": config.timeout,
                "cwd": str(config.base_dir),
            })
    if problems:
        listing = "".join(f"\nValid parameters of {name}:\n{text}" for name, text in valid.items())
        raise ParameterError("invalid batch, nothing was run:\n  " + "\n  ".join(problems) + listing,
                             problems=problems, valid=listing)
    # identical runs are an error; different runs with the same name get a hash suffix
    seen: dict[str, list[dict]] = {}
    for r in runs:
        seen.setdefault(r["name"], []).append(r)
    for name, group in seen.items():
        if len(group) < 2:
            continue
        keys = [_canonical([g["notebook"], g["parameters"]]) for g in group]
        if len(set(keys)) < len(keys):
            raise UsageError(f"the batch lists the same run twice: {name} ({group[0]['parameters']})")
        import hashlib

        for g, key in zip(group, keys):
            g["name"] = f"{name}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:8]}"
    for r in runs:
        r["out_dir"] = str(out_dir / r["name"])
    return runs


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

    from toolkit.notebook import atomic_write_bytes, atomic_write_text

    out_dir = Path(out_dir)
    df = summary_frame(records)
    csv = atomic_write_text(out_dir / SUMMARY_CSV, df.to_csv(index=False))
    buf = io.BytesIO()
    _parquet_ready(df).to_parquet(buf, index=False)
    pq = atomic_write_bytes(out_dir / SUMMARY_PARQUET, buf.getvalue())
    return csv, pq


def write_index(records: list[dict], out_dir: str | os.PathLike, *, title: str = "Batch report") -> Path:
    """Write ``index.html`` linking every run's HTML, PDF, notebook and sidecar (atomically).

    Examples
    --------
    >>> import tempfile
    >>> write_index([{"name": "nb", "status": "ok", "files": {"html": "nb.html"}}], tempfile.mkdtemp()).name
    'index.html'
    """
    from toolkit.notebook import atomic_write_text

    esc = _html.escape

    def link(run: str, rel: str | None, label: str) -> str:
        if not rel:
            return "<td>&ndash;</td>"
        href = urllib.parse.quote(f"{run}/{rel}", safe="/=+,")
        return f'<td><a href="{esc(href)}">{esc(label)}</a></td>'

    n_ok = sum(r.get("status") == "ok" for r in records)
    rows = []
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
            + link(run, files.get("html"), "HTML")
            + link(run, files.get("pdf"), pdf_label)
            + link(run, files.get("notebook"), "notebook")
            + link(run, files.get("sidecar"), "sidecar")
            + link(run, "figures/" if figures else None, f"{len(figures)} figures")
            + f"<td>{esc(err)}</td></tr>"
        )
    now = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
tr.failed {{ background: #fde8e8; }} tr.ok td:nth-child(4) {{ color: #1a7f37; }}
</style></head><body>
<h1>{esc(title)}</h1>
<p>{n_ok} of {len(records)} runs finished; written {esc(now)}.
Summary: <a href="{SUMMARY_CSV}">CSV</a>, <a href="{SUMMARY_PARQUET}">Parquet</a>; log: <a href="{BATCH_LOG}">{BATCH_LOG}</a>.</p>
<table><thead><tr><th>run</th><th>notebook</th><th>parameters</th><th>status</th><th>time</th>
<th>HTML</th><th>PDF</th><th>notebook</th><th>sidecar</th><th>figures (PNG)</th><th>error</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
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


class _Log:
    """Append-only JSON-lines log (one complete line per write, flushed)."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, event: str, **fields) -> None:
        from toolkit.notebook import to_jsonable

        doc = {"event": event, "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"), **fields}
        line = json.dumps(to_jsonable(doc), ensure_ascii=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()


def _finished(spec: dict) -> dict | None:
    rec = read_run_record(spec["out_dir"])
    if not rec or rec.get("status") != "ok":
        return None
    if Path(rec.get("notebook") or "").resolve() != Path(spec["notebook"]).resolve():
        return None
    if _canonical(rec.get("parameters") or {}) != _canonical(spec["parameters"]):
        return None
    return rec


def _thread_env(workers: int) -> dict[str, str]:
    if workers <= 1:
        return {}
    n = str(max(1, (os.cpu_count() or 1) // workers))
    return {k: n for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def run_batch(
    config: str | os.PathLike | BatchConfig,
    *,
    out: str | os.PathLike | None = None,
    workers: int | None = None,
    resume: bool = False,
    executor: str | None = None,
    progress: bool = True,
    html: bool | None = None,
    pdf: bool | None = None,
) -> BatchResult:
    """Run every notebook x parameter set of a batch, in parallel; write summary, index and log.

    Parameters
    ----------
    config : path or BatchConfig
        A YAML config (see the module docstring) or a parsed one.
    out : path, optional
        Output folder; default the config's ``out``, else ``reports/``.
    workers : int, optional
        Parallel runs; default the config's ``workers``, else the number of cores.
    resume : bool
        Skip runs that finished before with the same parameters.
    executor : {"thread", "process"}, optional
        How workers run papermill; each run's kernel is its own process either way, so the
        workers mostly wait. Threads are the default: on a 6-run batch they were faster than a
        process pool, which pays an interpreter start and the papermill/nbconvert imports per
        worker (``benchmarks/bench_batch.py``).
    progress : bool
        Show a tqdm progress bar (on stderr).
    html, pdf : bool, optional
        Override the config's export settings.

    Returns
    -------
    BatchResult

    Raises
    ------
    ParameterError, UsageError
        Invalid config or parameters: raised before anything runs.

    Examples
    --------
    >>> res = run_batch("batches/example.yaml", workers=2, resume=True)  # doctest: +SKIP
    >>> res.exit_code                                                    # doctest: +SKIP
    0
    """
    cfg = load_config(config) if not isinstance(config, BatchConfig) else config
    if html is not None:
        cfg.html = html
    if pdf is not None:
        cfg.pdf = pdf
    specs = expand_runs(cfg, out)
    out_dir = Path(out).resolve() if out is not None else (cfg.out or Path("reports").resolve())
    out_dir.mkdir(parents=True, exist_ok=True)
    n_workers = workers or cfg.workers or os.cpu_count() or 1
    kind = executor or cfg.executor
    if kind not in ("thread", "process"):
        raise UsageError(f"executor must be 'thread' or 'process', got {kind!r}")

    log = _Log(out_dir / BATCH_LOG)
    t0 = time.perf_counter()
    records: dict[str, dict] = {}
    todo = []
    for spec in specs:
        done = _finished(spec) if resume else None
        if done is not None:
            records[spec["name"]] = {**done, "resumed": True}
        else:
            todo.append(spec)
    # longest first (by the previous attempt's duration, when there is one): a shorter batch
    # when the long runs would otherwise start last; summary and index keep the config order
    previous = {s["name"]: (read_run_record(s["out_dir"]) or {}).get("duration_s") or 0.0 for s in todo}
    todo.sort(key=lambda s: -previous[s["name"]])
    n_workers = max(1, min(n_workers, len(todo) or 1))
    env = _thread_env(n_workers)
    for spec in todo:
        spec["env"] = env
    log.write("batch_start", name=cfg.name, out_dir=str(out_dir), runs=len(specs), todo=len(todo),
              skipped=len(specs) - len(todo), workers=n_workers, executor=kind, resume=resume)
    for name, rec in records.items():
        log.write("run", name=name, notebook=rec.get("notebook"), status="skipped",
                  previous_status=rec.get("status"), parameters=rec.get("parameters"),
                  started=rec.get("started"), ended=rec.get("ended"), duration_s=rec.get("duration_s"))

    executed: list[str] = []
    try:
        _execute(todo, n_workers, kind, progress, log, records, executed)
    finally:
        ordered = [records.get(s["name"]) or {
            "name": s["name"], "notebook": s["notebook"], "out_dir": s["out_dir"],
            "parameters": s["parameters"], "status": "missing"} for s in specs]
        result = BatchResult(out_dir=out_dir, records=ordered, executed=executed,
                             duration_s=round(time.perf_counter() - t0, 3))
        result.summary_csv, result.summary_parquet = write_summary(ordered, out_dir)
        result.index_html = write_index(ordered, out_dir, title=f"Batch report: {cfg.name}")
        result.log = log.path
        log.write("batch_end", duration_s=result.duration_s, **result.counts,
                  missing=sum(r.get("status") == "missing" for r in ordered))
    return result


def _execute(todo, n_workers, kind, progress, log, records, executed) -> None:
    from toolkit._progress import progress_bar

    if not todo:
        return
    if kind == "process":
        from toolkit._pool import process_pool

        pool = process_pool(n_workers, preload=["toolkit.runner", "toolkit.export", "papermill"])
    else:
        pool = cf.ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="batch")
    failed = 0
    bar = progress_bar(total=len(todo), desc="batch", unit="run", disable=not progress, dynamic_ncols=True)
    try:
        futures = {pool.submit(execute_run, spec): spec for spec in todo}
        for fut in cf.as_completed(futures):
            spec = futures[fut]
            try:
                rec = fut.result()
            except Exception as exc:  # the worker itself broke (not the notebook)
                rec = {"name": spec["name"], "notebook": spec["notebook"], "out_dir": spec["out_dir"],
                       "parameters": spec["parameters"], "status": "failed",
                       "error": {"stage": "worker", "ename": type(exc).__name__, "evalue": str(exc),
                                 "cell_index": None, "exec_count": None}}
            rec["resumed"] = False
            records[spec["name"]] = rec
            executed.append(spec["name"])
            if rec.get("status") != "ok":
                failed += 1
            log.write("run", name=rec["name"], notebook=rec.get("notebook"), status=rec.get("status"),
                      started=rec.get("started"), ended=rec.get("ended"), duration_s=rec.get("duration_s"),
                      parameters=rec.get("parameters"), error=rec.get("error"),
                      pdf_kind=rec.get("pdf_kind"), warnings=rec.get("warnings"))
            bar.set_postfix(failed=failed, refresh=False)
            bar.update(1)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        bar.close()
        pool.shutdown(wait=True)
