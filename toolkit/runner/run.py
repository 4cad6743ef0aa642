"""Execute one run into its folder: papermill, the HTML and PDF exports, and ``run.json`` last."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from toolkit.runner.kernel import _kernel_manager_class
from toolkit.runner.parameters import check_parameters, inspect_parameters, run_name

__all__ = ["RunResult", "error_text", "run_notebook", "execute_run", "read_run_record", "RUN_RECORD", "KERNEL_LOG"]

#: The run record written last into every run folder.
RUN_RECORD = "run.json"
#: The kernel's own stderr (its log, not cell outputs), kept only when not empty.
KERNEL_LOG = "kernel.log"


@dataclasses.dataclass
class RunResult:
    """The record of one run (also saved as ``<run>/run.json``).

    Attributes
    ----------
    name : str
        Run folder name.
    notebook : str
        Source notebook path.
    out_dir : str
        The run folder.
    parameters : dict
        Parameters given (``output_dir`` excluded).
    status : str
        ``"ok"`` or ``"failed"``.
    started, ended : str
        ISO timestamps (UTC).
    duration_s : float
    error : dict or None
        ``stage`` (execute/html/pdf/report), ``ename``, ``evalue``, ``cell_index`` (papermill's index
        in the executed notebook), ``exec_count``, ``cell_source`` (first lines), ``message``.
    files : dict
        Paths relative to ``out_dir``: ``notebook``, ``html``, ``pdf``, ``report_html`` and
        ``report_pdf`` (the stakeholder report: no code, findings first), ``sidecar``,
        ``figures``.
    pdf_kind : str or None
        ``"browser"`` (full export) or ``"figures-only"`` (no browser found).
    warnings : list of str

    Examples
    --------
    >>> RunResult(name="nb", notebook="nb.ipynb", out_dir="r", status="ok").ok
    True
    """

    name: str
    notebook: str
    out_dir: str
    parameters: dict = dataclasses.field(default_factory=dict)
    status: str = "pending"
    started: str | None = None
    ended: str | None = None
    duration_s: float | None = None
    error: dict | None = None
    files: dict = dataclasses.field(default_factory=dict)
    pdf_kind: str | None = None
    warnings: list = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the run finished and its exports were written."""
        return self.status == "ok"

    def to_dict(self) -> dict:
        """A JSON-ready dict (the content of ``run.json``)."""
        return dataclasses.asdict(self)



    def summary_table(self):
        """The record as a one-row table (``error`` as its one-line text, ``files`` left out)."""
        import pandas as pd

        row = {k: v for k, v in self.to_dict().items() if k not in ("files", "error", "warnings")}
        return pd.DataFrame([{**row, "error": self.error_text(), "warnings": len(self.warnings)}])
    def error_text(self) -> str:
        """One line describing the error, e.g. ``ValueError: bad (cell 4, In [3])``."""
        return error_text(self.error)


def error_text(error: dict | None) -> str:
    """One line for a run record's ``error``: ``ename: first line of evalue (cell i, In [n])``.

    Examples
    --------
    >>> error_text({"stage": "execute", "ename": "ValueError", "evalue": "bad", "cell_index": 4,
    ...             "exec_count": 3})
    'ValueError: bad (cell 4, In [3])'
    >>> error_text(None)
    ''
    """
    if not error:
        return ""
    where = []
    if error.get("cell_index") is not None:
        where.append(f"cell {error['cell_index']}")
    if error.get("exec_count") is not None:
        where.append(f"In [{error['exec_count']}]")
    stage = "" if error.get("stage") in (None, "execute") else f"[{error.get('stage')}] "
    loc = f" ({', '.join(where)})" if where else ""
    evalue = str(error.get("evalue") or "").strip().splitlines()
    return f"{stage}{error.get('ename')}: {evalue[0] if evalue else ''}{loc}"


def read_run_record(out_dir: str | os.PathLike) -> dict | None:
    """The ``run.json`` of a run folder, or None if missing or unreadable.

    Examples
    --------
    >>> read_run_record("/nonexistent/run") is None
    True
    """
    path = Path(out_dir) / RUN_RECORD
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def _clean(out_dir: Path, stem: str) -> None:
    """Remove the artefacts of a previous run in ``out_dir`` (only the files a run writes)."""
    from toolkit.notebook import FIGURE_DIR, SIDECAR_NAME

    for name in (RUN_RECORD, SIDECAR_NAME, KERNEL_LOG, f"{stem}.ipynb", f"{stem}.html", f"{stem}.pdf",
                 f"{stem}_report.html", f"{stem}_report.pdf"):
        (out_dir / name).unlink(missing_ok=True)
    shutil.rmtree(out_dir / FIGURE_DIR, ignore_errors=True)


def _first_lines(text: str, n: int = 3) -> str:
    lines = (text or "").splitlines()
    return "\n".join(lines[:n]) + ("\n..." if len(lines) > n else "")


def _last_started_cell(path: Path) -> dict:
    """Where a run stopped without a cell error (kernel died, timeout): the last started cell."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = {}
    for i, cell in enumerate(nb.get("cells", [])):
        if (cell.get("metadata", {}).get("papermill") or {}).get("start_time"):
            source = cell.get("source", "")
            found = {
                "cell_index": i,
                "exec_count": cell.get("execution_count"),
                "cell_source": _first_lines("".join(source) if isinstance(source, list) else source),
            }
    return found


def execute_run(spec: dict) -> dict:
    """Execute one run described by a plain dict; return the run record (a dict).

    The worker behind :func:`run_notebook` and :func:`toolkit.batch.run_batch` (plain dicts in
    and out, so it runs in threads or processes alike). Never raises for a failing notebook or
    export: the failure is recorded in the returned record and in ``run.json``.

    Parameters
    ----------
    spec : dict
        ``notebook`` (path), ``out_dir``, ``name``, ``parameters`` (checked already), and
        optionally ``set_output_dir`` (default True), ``html``, ``pdf``, ``report`` (default True),
        ``no_input`` (False), ``kernel_name`` ("python3"), ``timeout`` (seconds per cell),
        ``cwd`` (kernel working folder), ``env`` (extra kernel environment variables).

    Returns
    -------
    dict
        The content of ``run.json`` (see :class:`RunResult`).

    Examples
    --------
    >>> rec = execute_run({"notebook": "nb.ipynb", "out_dir": "runs/nb", "name": "nb",
    ...                    "parameters": {}, "pdf": False})  # doctest: +SKIP
    >>> rec["status"]  # doctest: +SKIP
    'ok'
    """
    from toolkit._files import to_jsonable

    notebook = Path(spec["notebook"]).resolve()
    out_dir = Path(spec["out_dir"]).resolve()
    stem = notebook.stem
    params = dict(spec.get("parameters") or {})
    result = RunResult(
        name=spec.get("name") or out_dir.name,
        notebook=str(spec["notebook"]),
        out_dir=str(out_dir),
        parameters=params,
        started=_now(),
    )
    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    _clean(out_dir, stem)
    full = dict(params)
    if spec.get("set_output_dir", True):
        full["output_dir"] = str(out_dir)
    executed = _execute_notebook(spec, notebook, out_dir, full, result)
    # HTML also for a failed run: it shows where it failed
    if executed.exists() and spec.get("html", True):
        _export_html(spec, executed, out_dir, result)
    if result.error is None and spec.get("pdf", True):
        _export_pdf(spec, executed, out_dir, result)
    if result.error is None and spec.get("report", True) and (spec.get("html", True) or spec.get("pdf", True)):
        _export_report(spec, executed, out_dir, result)
    _list_outputs(out_dir, result)
    result.status = "failed" if result.error else "ok"
    result.ended = _now()
    result.duration_s = round(time.perf_counter() - t0, 3)
    record = to_jsonable(result.to_dict())
    _write_record(out_dir, record)
    return record


def _stage_error(stage: str, exc: BaseException) -> dict:
    """The ``error`` of a run that failed outside a notebook cell (no cell index)."""
    return {"stage": stage, "ename": type(exc).__name__, "evalue": str(exc),
            "cell_index": None, "exec_count": None, "cell_source": None, "message": str(exc)}


def _execute_notebook(spec: dict, notebook: Path, out_dir: Path, parameters: dict, result: RunResult) -> Path:
    """Step 1: run the notebook with papermill; record an error, the kernel log and the notebook."""
    import logging

    executed = out_dir / f"{notebook.stem}.ipynb"
    partial = out_dir / f".{notebook.stem}.running.ipynb"
    kernel_log = out_dir / KERNEL_LOG
    kernel_log.unlink(missing_ok=True)
    try:
        import papermill
        from papermill.exceptions import PapermillExecutionError

        logging.getLogger("papermill").setLevel(logging.WARNING)
        # papermill re-reads the parameters cell and warns about lines it cannot parse (a "="
        # in a help comment); inspect_parameters reads those, so the warning is noise here
        logging.getLogger("papermill.translators").setLevel(logging.ERROR)
        try:
            papermill.execute_notebook(
                str(notebook),
                str(partial),
                parameters=parameters,
                kernel_name=spec.get("kernel_name") or "python3",
                progress_bar=False,
                log_output=False,
                cwd=str(spec["cwd"]) if spec.get("cwd") else None,
                execution_timeout=spec.get("timeout"),
                kernel_manager_class=_kernel_manager_class(dict(spec.get("env") or {}), kernel_log),
            )
        except PapermillExecutionError as exc:
            result.error = {
                "stage": "execute",
                "ename": exc.ename,
                "evalue": str(exc.evalue),
                "cell_index": exc.cell_index,
                "exec_count": exc.exec_count,
                "cell_source": _first_lines(exc.source),
                "message": str(exc).strip()[-4000:],
            }
    except Exception as exc:  # kernel died, timeout, unreadable notebook, ...
        result.error = {**_stage_error("execute", exc), "message": str(exc)[-4000:]}
    if result.error and result.error.get("cell_index") is None and partial.exists():
        result.error.update(_last_started_cell(partial))
    if kernel_log.exists() and kernel_log.stat().st_size == 0:
        kernel_log.unlink()
    if kernel_log.exists():
        result.files["kernel_log"] = KERNEL_LOG
    if partial.exists():
        os.replace(partial, executed)
        result.files["notebook"] = executed.name
    return executed


def _export_html(spec: dict, executed: Path, out_dir: Path, result: RunResult) -> None:
    """Step 2a: the HTML export (its failure is the run's error unless an earlier one is)."""
    try:
        from toolkit.export import export_html

        export_html(executed, out_dir / f"{executed.stem}.html", no_input=spec.get("no_input", False))
        result.files["html"] = f"{executed.stem}.html"
    except Exception as exc:
        result.error = result.error or _stage_error("html", exc)


def _export_pdf(spec: dict, executed: Path, out_dir: Path, result: RunResult) -> None:
    """Step 2b: the PDF export; figures-only when no browser is found or the export fails."""
    from toolkit.export import BrowserNotFoundError, export_pdf, figures_pdf

    target = out_dir / f"{executed.stem}.pdf"
    try:
        export_pdf(executed, target, no_input=spec.get("no_input", False))
        result.pdf_kind = "browser"
    except BrowserNotFoundError as exc:
        result.pdf_kind = "figures-only" if exc.fallback else None
        result.warnings.append(str(exc))
    except Exception as exc:
        result.error = _stage_error("pdf", exc)
        try:
            figures_pdf(executed, target, note=f"PDF export failed: {exc}")
            result.pdf_kind = "figures-only"
        except Exception:  # pragma: no cover - best effort
            pass
    if target.exists():
        result.files["pdf"] = target.name


def _export_report(spec: dict, executed: Path, out_dir: Path, result: RunResult) -> None:
    """Step 2c: the stakeholder report (no code; title page, findings, narrative), HTML and PDF."""
    from toolkit.export import BrowserNotFoundError, export_report, report_paths

    want_pdf = bool(spec.get("pdf", True)) and result.pdf_kind == "browser"
    html_path, pdf_path = report_paths(out_dir / executed.name)
    try:
        export_report(executed, html_path, pdf_path, html=bool(spec.get("html", True)) or not want_pdf,
                      pdf=want_pdf)
    except BrowserNotFoundError as exc:  # pragma: no cover - the PDF step found one just before
        result.warnings.append(str(exc))
    except Exception as exc:
        result.error = _stage_error("report", exc)
    if html_path.exists():
        result.files["report_html"] = html_path.name
    if pdf_path.exists():
        result.files["report_pdf"] = pdf_path.name


def _list_outputs(out_dir: Path, result: RunResult) -> None:
    """Step 3a: the sidecar and figures the notebook wrote."""
    from toolkit.notebook import FIGURE_DIR, SIDECAR_NAME

    if (out_dir / SIDECAR_NAME).exists():
        result.files["sidecar"] = SIDECAR_NAME
    elif result.error is None:
        result.warnings.append("the notebook wrote no sidecar.json")
    figures = sorted(p.relative_to(out_dir).as_posix() for p in (out_dir / FIGURE_DIR).glob("*") if p.is_file())
    if figures:
        result.files["figures"] = figures


def _write_record(out_dir: Path, record: dict) -> None:
    """Step 3b: ``run.json``, atomically and last."""
    from toolkit._files import atomic_write_text

    atomic_write_text(out_dir / RUN_RECORD, json.dumps(record, indent=2, ensure_ascii=False) + "\n")


def run_notebook(
    notebook: str | os.PathLike,
    parameters: dict[str, Any] | None = None,
    out_dir: str | os.PathLike | None = None,
    *,
    html: bool = True,
    pdf: bool = True,
    report: bool = True,
    no_input: bool = False,
    from_cli: bool = False,
    kernel_name: str = "python3",
    timeout: float | None = None,
    cwd: str | os.PathLike | None = None,
) -> RunResult:
    """Execute a notebook with papermill into its own folder, then export HTML and PDF.

    Parameters are checked against the notebook's ``parameters`` cell before anything runs; the
    notebook's ``output_dir`` is set to the run folder, so its figures land in
    ``<out_dir>/figures/`` and its sidecar in ``<out_dir>/sidecar.json``.

    Parameters
    ----------
    notebook : path
        The source notebook.
    parameters : dict, optional
        Parameter values (``output_dir`` is reserved).
    out_dir : path, optional
        The run folder; default ``reports/<run_name(notebook, parameters)>``.
    html, pdf : bool
        Export the executed notebook to HTML / PDF.
    report : bool
        Also write the stakeholder report (``<stem>_report.html`` and, with ``pdf``,
        ``<stem>_report.pdf``): see :func:`toolkit.export.export_report`.
    no_input : bool
        Hide code in the exports.
    from_cli : bool
        Parameter values are command-line strings: convert them to the declared types.
    kernel_name : str
        Jupyter kernel (``python3``: the interpreter running this code).
    timeout : float, optional
        Seconds allowed per cell.
    cwd : path, optional
        The kernel's working folder (default: the current one).

    Returns
    -------
    RunResult
        With ``status`` ``"ok"`` or ``"failed"`` (a failing notebook does not raise).

    Raises
    ------
    ParameterError
        Unknown or mistyped parameters (nothing has run).
    FileNotFoundError
        The notebook does not exist.

    Examples
    --------
    >>> res = run_notebook("notebooks/01_quality.ipynb", {"alpha": 0.1}, pdf=False)  # doctest: +SKIP
    >>> res.ok, res.out_dir                                                          # doctest: +SKIP
    (True, '/work/main/reports/01_quality__alpha=0.1')
    """
    notebook = Path(notebook)
    specs = inspect_parameters(notebook)
    params = check_parameters(notebook, dict(parameters or {}), specs=specs, from_cli=from_cli,
                              base_dir=cwd or ".")
    name = run_name(notebook, params)
    target = Path(out_dir) if out_dir is not None else Path("reports") / name
    record = execute_run(
        {
            "notebook": str(notebook),
            "out_dir": str(target),
            "name": name,
            "parameters": params,
            "set_output_dir": "output_dir" in specs,
            "html": html,
            "pdf": pdf,
            "report": report,
            "no_input": no_input,
            "kernel_name": kernel_name,
            "timeout": timeout,
            "cwd": str(cwd) if cwd else None,
        }
    )
    return RunResult(**record)
