"""Notebook parameters: read a ``parameters`` cell, check and convert values, name runs.

:func:`inspect_parameters` reads the cell (papermill's reader, completed by the cell's syntax
tree); :func:`check_parameters` rejects unknown names and wrong types before anything runs, with
the list of valid parameters as :func:`format_parameters` shows them; :func:`coerce_cli_value`
turns command-line strings into the declared types; :func:`run_name` names a run's folder.

What is papermill's and what is not: the cell is read by ``papermill.inspect_notebook`` (its
Python translator's ``inspect``), and papermill injects and executes the values. Kept here, as
papermill has no equivalent: the type check and the conversion of command-line strings to the
declared types (papermill passes any value through, and its CLI guesses int/float/bool/str
without looking at the cell), the error that lists unknown names with a close match and the
valid parameters, and run names. The syntax-tree reader (:func:`_cell_parameters`) only fills
in the parameters papermill 2.7's line reader drops: any line with a second ``=`` (in a help
comment or a default) and annotations its pattern does not match (``str | None``):

>>> import nbformat
>>> from papermill.translators import PythonTranslator
>>> cell = 'data_path: str = ""  # "" = bundled sample\\nwhen: str | None = None  # optional\\nn: int = 1'
>>> [p.name for p in PythonTranslator.inspect(nbformat.v4.new_code_cell(cell))]
['n']
>>> list(_cell_parameters(cell))
['data_path', 'when', 'n']
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from toolkit.errors import UsageError

__all__ = [
    "ParameterSpec",
    "ParameterError",
    "inspect_parameters",
    "check_parameters",
    "coerce_cli_value",
    "format_parameters",
    "run_name",
    "RESERVED_PARAMETERS",
]
#: Parameters the runner sets itself.
RESERVED_PARAMETERS = ("output_dir",)

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


#: the values each declared type accepts (an int is a valid float, a tuple a valid list)
_ACCEPTED = {bool: bool, int: int, float: (int, float), str: str, list: (list, tuple), dict: dict}


class ParameterError(UsageError):
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
        # a bool is an int to Python, but not a valid int or float parameter
        # (an untyped default of another literal type, bytes or set, accepts nothing, as before)
        return any(isinstance(value, _ACCEPTED.get(t, ())) and (t is bool or not isinstance(value, bool))
                   for t in types)


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

    from toolkit._files import check_notebook

    path = check_notebook(notebook)
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
    base_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Validate parameters against a notebook's ``parameters`` cell; return them (typed).

    With ``base_dir`` (the runners pass the kernel's folder), an input file named by the
    notebooks' convention (a text parameter ending in ``_path``, such as ``data_path`` or
    ``labels_path``) that does not exist is a problem too, found before a kernel starts.

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
    base_dir : path, optional
        The folder relative ``*_path`` values are read from; None: they are not checked.

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
    toolkit.runner.parameters.ParameterError: nb.ipynb: unknown parameter 'alpah' (did you mean 'alpha'?)...
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
        if base_dir is not None and name.endswith("_path") and isinstance(value, str) and value.strip():
            if not (Path(base_dir) / Path(value).expanduser()).exists():
                problems.append(f"parameter {name!r}: {value} does not exist")
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
