"""Run one notebook with papermill into its own output folder, with checked parameters.

A run folder holds everything one execution produced::

    <run>/<notebook>.ipynb   the executed notebook (a failed run keeps its partial notebook,
                             with papermill's marker at the failing cell)
    <run>/figures/           PNG (300 dpi) and SVG figures written by the notebook
    <run>/sidecar.json       the notebook's headline results
    <run>/<notebook>.html    HTML export
    <run>/<notebook>.pdf     PDF export (figures-only when no browser is installed)
    <run>/run.json           the run record: parameters, status, timings, error; written last

``run.json`` is written atomically and last, so a folder without it (or with ``"status":
"failed"``) is not a finished run. The notebook's ``output_dir`` parameter is set to the run
folder; every other parameter is checked against the notebook's ``parameters`` cell first
(:func:`check_parameters`): unknown names and wrong types are rejected before anything runs, with
the list of valid parameters as ``papermill --help-notebook`` shows them.

Examples
--------
>>> from toolkit.runner import run_notebook
>>> res = run_notebook("notebooks/02_ab_testing.ipynb", {"alpha": 0.01}, "reports/ab")  # doctest: +SKIP
>>> res.status, res.files["pdf"]                                                       # doctest: +SKIP
('ok', 'reports/ab/02_ab_testing.pdf')
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as _dt
import difflib
import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from toolkit.cli import UsageError

__all__ = [
    "ParameterSpec",
    "ParameterError",
    "RunResult",
    "error_text",
    "inspect_parameters",
    "check_parameters",
    "coerce_cli_value",
    "format_parameters",
    "run_name",
    "run_notebook",
    "execute_run",
    "read_run_record",
    "RUN_RECORD",
    "KERNEL_LOG",
    "RESERVED_PARAMETERS",
]

#: The run record written last into every run folder.
RUN_RECORD = "run.json"
#: The kernel's own stderr (its log, not cell outputs), kept only when not empty.
KERNEL_LOG = "kernel.log"
#: Parameters the runner sets itself.
RESERVED_PARAMETERS = ("output_dir",)

_ANY = "any"
_TYPES = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "list": list,
    "List": list,
    "tuple": list,
    "Tuple": list,
    "Sequence": list,
    "dict": dict,
    "Dict": dict,
    "Mapping": dict,
}


class ParameterError(UsageError, ValueError):
    """Unknown or mistyped notebook parameters (the message lists the valid ones).

    Attributes
    ----------
    problems : list of str
        One line per problem.
    valid : str
        The notebook's parameters as :func:`format_parameters` lists them.
    """

    def __init__(self, message: str, problems: list[str] | None = None, valid: str = ""):
        super().__init__(message)
        self.problems = list(problems or [message])
        self.valid = valid


def _literal(text: str):
    try:
        return True, ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


def _parse_annotation(type_name: str) -> tuple[tuple[type, ...] | None, bool]:
    """(accepted python types or None for any, nullable) from an annotation string."""
    text = (type_name or "").strip().strip("'\"")
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None, True
    types: list[type] = []
    nullable = False
    anything = False

    def walk(node) -> None:
        nonlocal nullable, anything
        if isinstance(node, ast.Constant) and node.value is None:
            nullable = True
        elif isinstance(node, ast.Name):
            if node.id == "None":
                nullable = True
            elif node.id in _TYPES:
                types.append(_TYPES[node.id])
            else:
                anything = True
        elif isinstance(node, ast.Attribute):  # typing.List, t.Optional, ...
            walk(ast.Name(id=node.attr))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, ast.Subscript):
            base = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
            if base in ("Optional", "Union"):
                if base == "Optional":
                    nullable = True
                inner = node.slice
                for elt in inner.elts if isinstance(inner, ast.Tuple) else [inner]:
                    walk(elt)
            else:
                walk(ast.Name(id=base))
        else:
            anything = True

    walk(tree)
    if anything or not types:
        return None, True
    return tuple(dict.fromkeys(types)), nullable


@dataclasses.dataclass(frozen=True)
class ParameterSpec:
    """One parameter of a notebook's ``parameters`` cell, as papermill infers it.

    Attributes
    ----------
    name : str
    type_name : str
        The annotation as written (``"float"``, ``"Optional[str]"``), or ``"None"`` without one.
    default : str
        The default's source text.
    help : str
        The trailing comment.

    Examples
    --------
    >>> p = ParameterSpec("alpha", "float", "0.05", "significance level")
    >>> p.default_value, p.accepts(0.1), p.accepts("0.1")
    (0.05, True, False)
    """

    name: str
    type_name: str
    default: str
    help: str = ""

    @property
    def default_value(self) -> Any:
        """The default evaluated as a Python literal (None if it is not a literal)."""
        return _literal(self.default)[1]

    def _types(self) -> tuple[tuple[type, ...] | None, bool]:
        if self.type_name and self.type_name != "None":
            return _parse_annotation(self.type_name)
        ok, value = _literal(self.default)
        if not ok or value is None:
            return None, True
        kind = list if isinstance(value, tuple) else type(value)
        return (kind,), False

    @property
    def type_label(self) -> str:
        """The type as shown to users (``"Unknown type"`` without annotation or literal)."""
        if self.type_name and self.type_name != "None":
            return self.type_name
        types, _ = self._types()
        return types[0].__name__ if types else "Unknown type"

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` has a type the parameter declares (an int is a valid float)."""
        types, nullable = self._types()
        if value is None:
            return nullable or self.default_value is None
        if types is None:
            return True
        for t in types:
            if t is bool and isinstance(value, bool):
                return True
            if t is int and isinstance(value, int) and not isinstance(value, bool):
                return True
            if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
                return True
            if t is str and isinstance(value, str):
                return True
            if t is list and isinstance(value, (list, tuple)):
                return True
            if t is dict and isinstance(value, dict):
                return True
        return False


def _cell_parameters(source: str) -> dict[str, ParameterSpec]:
    """Parameters of a parameters-cell source read with ``ast`` (None if it is not Python).

    Complements papermill's line-based reader, which drops any line with more than one ``=``
    (e.g. ``data_path: str = ""  # "" = bundled sample``).
    """
    import io
    import tokenize

    try:
        tree = ast.parse(source)
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (SyntaxError, tokenize.TokenError, IndentationError):
        return {}
    comments = {t.start[0]: t.string.lstrip("#").strip() for t in tokens if t.type == tokenize.COMMENT}
    out: dict[str, ParameterSpec] = {}
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name = node.target.id
            annotation = (ast.get_source_segment(source, node.annotation) or "None").strip().strip("'\"")
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, annotation = node.targets[0].id, "None"
        else:
            continue
        value = ast.get_source_segment(source, node.value) or ""
        help_text = comments.get(node.end_lineno, "")
        m = re.match(r"type:\s*(\S+)\s*(.*)", help_text)
        if m:  # papermill's "# type: int help" form
            if annotation == "None":
                annotation = m.group(1)
            help_text = m.group(2)
        out[name] = ParameterSpec(name=name, type_name=annotation, default=" ".join(value.split()), help=help_text)
    return out


def inspect_parameters(notebook: str | os.PathLike) -> dict[str, ParameterSpec]:
    """The parameters of a notebook's ``parameters`` cell (``papermill.inspect_notebook``).

    papermill's reader skips lines with more than one ``=`` (a ``"" = default`` in the help
    comment is enough); those parameters are read from the cell's Python syntax tree instead, so
    every assignment in the cell counts.

    Parameters
    ----------
    notebook : path
        An ``.ipynb`` file.

    Returns
    -------
    dict of str to ParameterSpec
        In the cell's order; empty when there is no cell tagged ``parameters``.

    Examples
    --------
    >>> specs = inspect_parameters("notebooks/01_quality.ipynb")  # doctest: +SKIP
    >>> specs["output_dir"].type_name                             # doctest: +SKIP
    'str'
    """
    import logging

    import nbformat
    import papermill

    path = Path(notebook)
    if not path.is_file():
        raise FileNotFoundError(f"notebook not found: {path}")
    logger = logging.getLogger("papermill")
    level = logger.level
    logger.setLevel(logging.ERROR)  # its "Unable to parse line" warnings: handled below
    try:
        raw = papermill.inspect_notebook(str(path))
    finally:
        logger.setLevel(level)
    from_papermill = {
        name: ParameterSpec(
            name=name,
            type_name=str(p.get("inferred_type_name") or "None"),
            default=str(p.get("default") or ""),
            help=str(p.get("help") or ""),
        )
        for name, p in raw.items()
    }
    nb = nbformat.read(str(path), as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    from_ast = _cell_parameters(cell.source) if cell is not None and cell.cell_type == "code" else {}
    merged = {name: from_papermill.get(name, spec) for name, spec in from_ast.items()}
    for name, spec in from_papermill.items():
        merged.setdefault(name, spec)
    return merged


def format_parameters(specs: dict[str, ParameterSpec], indent: str = "  ") -> str:
    """Parameters listed like ``papermill --help-notebook``: name, type, default, help.

    Examples
    --------
    >>> print(format_parameters({"alpha": ParameterSpec("alpha", "float", "0.05", "significance level")}))
      alpha: float (default 0.05)  significance level
    """
    if not specs:
        return f"{indent}(no cell tagged 'parameters')"
    heads = [f"{s.name}: {s.type_label} (default {s.default})" for s in specs.values()]
    width = max(map(len, heads))
    return "\n".join(
        f"{indent}{h:<{width}}  {s.help}".rstrip() for h, s in zip(heads, specs.values())
    )


_BOOL_WORDS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


def coerce_cli_value(spec: ParameterSpec | None, text: str) -> Any:
    """Convert a command-line string to the parameter's declared type.

    Strings stay strings for ``str`` parameters (quotes, newlines and unicode untouched); numbers,
    booleans (true/false/yes/no/1/0), lists and dicts (YAML/JSON syntax) are parsed for the
    corresponding types; ``none``/``null`` gives None for optional ones (``Optional[...]``). A value that does not
    parse is returned unchanged, so :func:`check_parameters` reports the type error.

    Examples
    --------
    >>> coerce_cli_value(ParameterSpec("n", "int", "3"), "10")
    10
    >>> coerce_cli_value(ParameterSpec("s", "str", '""'), "10")
    '10'
    >>> coerce_cli_value(ParameterSpec("xs", "list", "[]"), "[1, 2]")
    [1, 2]
    """
    if spec is None:
        return text
    types, nullable = spec._types()
    if types is None:  # untyped: like papermill's CLI, int, float, bool, None, else str
        for convert in (int, float):
            try:
                return convert(text)
            except ValueError:
                pass
        low = text.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        if low in ("none", "null"):
            return None
        return text
    low = text.strip().lower()
    if low in ("none", "null") and nullable:
        return None
    if str in types:
        return text
    for t in types:
        try:
            if t is bool and low in _BOOL_WORDS:
                return _BOOL_WORDS[low]
            if t is int:
                return int(text)
            if t is float:
                return float(text)
            if t in (list, dict):
                import yaml

                value = yaml.safe_load(text)
                if isinstance(value, t):
                    return value
        except ValueError:
            continue
        except Exception:  # yaml errors: leave it to the type check
            continue
    return text


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def check_parameters(
    notebook: str | os.PathLike | None,
    parameters: dict[str, Any],
    *,
    specs: dict[str, ParameterSpec] | None = None,
    from_cli: bool = False,
    allow_reserved: bool = False,
) -> dict[str, Any]:
    """Validate parameters against a notebook's ``parameters`` cell; return them (typed).

    Parameters
    ----------
    notebook : path or None
        The notebook (inspected unless ``specs`` is given); used in messages.
    parameters : dict
        Name to value. Values from a command line are strings: pass ``from_cli=True`` to convert
        them with :func:`coerce_cli_value` first.
    specs : dict, optional
        Pre-computed :func:`inspect_parameters` result.
    from_cli : bool
        Convert string values to the declared types.
    allow_reserved : bool
        Accept ``output_dir`` (the runner sets it to the run folder, so users may not).

    Returns
    -------
    dict
        A new dict of checked (and, with ``from_cli``, converted) values.

    Raises
    ------
    ParameterError
        Listing every unknown name (with a close match when there is one), every wrong type, and
        the notebook's valid parameters with their types, defaults and help.

    Examples
    --------
    >>> specs = {"alpha": ParameterSpec("alpha", "float", "0.05", "significance level")}
    >>> check_parameters("nb.ipynb", {"alpha": "0.1"}, specs=specs, from_cli=True)
    {'alpha': 0.1}
    >>> check_parameters("nb.ipynb", {"alpah": 0.1}, specs=specs)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    toolkit.runner.ParameterError: nb.ipynb: unknown parameter 'alpah' (did you mean 'alpha'?)...
    """
    if specs is None:
        specs = inspect_parameters(notebook)
    problems = []
    out: dict[str, Any] = {}
    for name, value in parameters.items():
        spec = specs.get(name)
        if name in RESERVED_PARAMETERS and not allow_reserved:
            problems.append(
                f"parameter {name!r} is set by the runner to the run's folder (use --out instead)"
            )
            continue
        if spec is None:
            close = difflib.get_close_matches(name, list(specs), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown parameter {name!r}{hint}")
            continue
        if from_cli and isinstance(value, str):
            value = coerce_cli_value(spec, value)
        if not spec.accepts(value):
            hint = ""
            if spec._types()[0] == (str,) and not isinstance(value, str):
                hint = " (quote it in YAML)"
            problems.append(
                f"parameter {name!r} expects {spec.type_label}, got {_describe(value)}{hint}"
            )
            continue
        out[name] = value
    if problems:
        where = str(notebook) if notebook is not None else "notebook"
        valid = format_parameters(specs)
        raise ParameterError(
            f"{where}: " + "; ".join(problems) + "\nValid parameters:\n" + valid,
            problems=problems,
            valid=valid,
        )
    return out


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def run_name(notebook: str | os.PathLike, parameters: dict[str, Any] | None = None) -> str:
    """A stable, readable folder name for a run: ``<stem>__<k>=<v>__...``.

    Names are the same for the same notebook and parameters on every machine. Values with
    characters outside ``[A-Za-z0-9._=+-]``, or long ones, are slugged and a short hash of the
    exact parameters is appended, so different parameters never share a name.

    Examples
    --------
    >>> run_name("notebooks/02_ab_testing.ipynb", {"variant": "B", "week": 3})
    '02_ab_testing__variant=B__week=3'
    >>> run_name("nb.ipynb", {})
    'nb'
    >>> run_name("nb.ipynb", {"data_path": "/data/log.parquet"})
    'nb__data_path=-data-log.parquet-33814948'
    """
    stem = Path(notebook).stem
    items = {k: v for k, v in sorted((parameters or {}).items()) if k not in RESERVED_PARAMETERS}
    if not items:
        return stem
    raw = "__".join(f"{k}={_value_text(v)}" for k, v in items.items())
    slug = re.sub(r"[^A-Za-z0-9._=+-]+", "-", raw)
    if slug != raw or len(slug) > 80 or slug.startswith("."):
        digest = hashlib.sha1(_canonical(items).encode("utf-8")).hexdigest()[:8]
        slug = f"{slug[:80].strip('-')}-{digest}"
    return f"{stem}__{slug}"


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
        ``stage`` (execute/html/pdf), ``ename``, ``evalue``, ``cell_index`` (papermill's index
        in the executed notebook), ``exec_count``, ``cell_source`` (first lines), ``message``.
    files : dict
        Paths relative to ``out_dir``: ``notebook``, ``html``, ``pdf``, ``sidecar``, ``figures``.
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


POLL_SLICE_S = 1.0


def _sliced_client_class():
    """An ``AsyncKernelClient`` that waits for kernel messages in polls of at most 1 second.

    nbclient waits for a cell's reply with one long poll of the shell socket (no timeout, or
    the cell timeout). On this stack (pyzmq 27, jupyter_client 8, nbclient 0.11) that poll
    sometimes never wakes although the kernel has answered and gone idle: the forecasting
    notebook's ``interact`` cell hung in 10 of 45 runs here (as long as the cell timeout allowed,
    or for ever without one), and in CI it stalled the test run until the 90-minute limit (the
    open upstream report: jupyter/nbclient#312). The same waits made of polls of at most
    1 second hung in none of 60 runs. Timeouts keep their meaning: a wait ends when a message
    comes or its timeout has passed.
    """
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.channels import AsyncZMQSocketChannel
    from traitlets import Type

    class _SlicedChannel(AsyncZMQSocketChannel):
        async def get_msg(self, timeout=None):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = POLL_SLICE_S if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    return await super().get_msg(min(POLL_SLICE_S, left))
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

    class _SlicedKernelClient(AsyncKernelClient):
        shell_channel_class = Type(_SlicedChannel)
        iopub_channel_class = Type(_SlicedChannel)
        stdin_channel_class = Type(_SlicedChannel)
        control_channel_class = Type(_SlicedChannel)

    return _SlicedKernelClient


def _kernel_manager_class(extra_env: dict[str, str], stderr_path: Path | None = None):
    """An AsyncKernelManager that talks to the kernel over IPC sockets (POSIX) and adds env vars.

    IPC avoids TCP port races between parallel kernels and ipykernel's warning about unencrypted
    TCP; the extra environment caps BLAS threads when several kernels share the cores. The
    kernel's own stderr (its log, not cell output) goes to ``stderr_path`` instead of the console.
    Its clients poll in slices (see :func:`_sliced_client_class`).
    """
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    client_class = _sliced_client_class()

    class _BatchKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self):
            return "ipc" if os.name == "posix" else "tcp"

        @default("ip")
        def _ip_default(self):
            if self.transport != "ipc":
                return super()._ip_default()
            # a unique socket prefix per kernel: jupyter_client's default ("kernel-ipc" in the
            # working folder) makes parallel kernels connect to each other's sockets
            import tempfile
            import uuid

            return os.path.join(tempfile.gettempdir(), f"toolkit-kernel-{uuid.uuid4().hex[:16]}-ipc")

        def client(self, **kwargs):
            # nbclient sets client_class to the stock async client after creating the manager
            self.client_factory = client_class
            return super().client(**kwargs)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            env = dict(kw.get("env") or os.environ)
            for key, value in extra_env.items():
                env.setdefault(key, value)
            kw["env"] = env
            if stderr_path is None:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            with open(stderr_path, "ab") as fh:
                kw["stderr"] = fh
                return await super()._async_launch_kernel(kernel_cmd, **kw)

    return _BatchKernelManager


def _clean(out_dir: Path, stem: str) -> None:
    """Remove the artefacts of a previous run in ``out_dir`` (only the files a run writes)."""
    from toolkit.notebook import FIGURE_DIR, SIDECAR_NAME

    for name in (RUN_RECORD, SIDECAR_NAME, KERNEL_LOG, f"{stem}.ipynb", f"{stem}.html", f"{stem}.pdf"):
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
        optionally ``set_output_dir`` (default True), ``html``, ``pdf`` (default True),
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
    import logging

    from toolkit.notebook import FIGURE_DIR, SIDECAR_NAME, atomic_write_text

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
    executed = out_dir / f"{stem}.ipynb"
    partial = out_dir / f".{stem}.running.ipynb"
    kernel_log = out_dir / KERNEL_LOG
    kernel_log.unlink(missing_ok=True)
    full = dict(params)
    if spec.get("set_output_dir", True):
        full["output_dir"] = str(out_dir)

    # 1. execute
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
                parameters=full,
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
        result.error = {
            "stage": "execute",
            "ename": type(exc).__name__,
            "evalue": str(exc),
            "cell_index": None,
            "exec_count": None,
            "cell_source": None,
            "message": str(exc)[-4000:],
        }
    if result.error and result.error.get("cell_index") is None and partial.exists():
        result.error.update(_last_started_cell(partial))
    if kernel_log.exists() and kernel_log.stat().st_size == 0:
        kernel_log.unlink()
    if kernel_log.exists():
        result.files["kernel_log"] = KERNEL_LOG
    if partial.exists():
        os.replace(partial, executed)
        result.files["notebook"] = executed.name

    # 2. exports (HTML also for a failed run: it shows where it failed)
    if executed.exists() and spec.get("html", True):
        try:
            from toolkit.export import export_html

            export_html(executed, out_dir / f"{stem}.html", no_input=spec.get("no_input", False))
            result.files["html"] = f"{stem}.html"
        except Exception as exc:
            result.error = result.error or {
                "stage": "html", "ename": type(exc).__name__, "evalue": str(exc),
                "cell_index": None, "exec_count": None, "cell_source": None, "message": str(exc),
            }
    if result.error is None and spec.get("pdf", True):
        from toolkit.export import BrowserNotFoundError, export_pdf, figures_pdf

        target = out_dir / f"{stem}.pdf"
        try:
            export_pdf(executed, target, no_input=spec.get("no_input", False))
            result.pdf_kind = "browser"
        except BrowserNotFoundError as exc:
            result.pdf_kind = "figures-only" if exc.fallback else None
            result.warnings.append(str(exc))
        except Exception as exc:
            result.error = {
                "stage": "pdf", "ename": type(exc).__name__, "evalue": str(exc),
                "cell_index": None, "exec_count": None, "cell_source": None, "message": str(exc),
            }
            try:
                figures_pdf(executed, target, note=f"PDF export failed: {exc}")
                result.pdf_kind = "figures-only"
            except Exception:  # pragma: no cover - best effort
                pass
        if target.exists():
            result.files["pdf"] = target.name

    # 3. record
    if (out_dir / SIDECAR_NAME).exists():
        result.files["sidecar"] = SIDECAR_NAME
    elif result.error is None:
        result.warnings.append("the notebook wrote no sidecar.json")
    figures = sorted(p.relative_to(out_dir).as_posix() for p in (out_dir / FIGURE_DIR).glob("*") if p.is_file())
    if figures:
        result.files["figures"] = figures
    result.status = "failed" if result.error else "ok"
    result.ended = _now()
    result.duration_s = round(time.perf_counter() - t0, 3)
    from toolkit.notebook import to_jsonable

    record = to_jsonable(result.to_dict())
    atomic_write_text(out_dir / RUN_RECORD, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return record


def run_notebook(
    notebook: str | os.PathLike,
    parameters: dict[str, Any] | None = None,
    out_dir: str | os.PathLike | None = None,
    *,
    html: bool = True,
    pdf: bool = True,
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
    params = check_parameters(notebook, dict(parameters or {}), specs=specs, from_cli=from_cli)
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
            "no_input": no_input,
            "kernel_name": kernel_name,
            "timeout": timeout,
            "cwd": str(cwd) if cwd else None,
        }
    )
    return RunResult(**record)
