"""Base helpers for files and JSON: atomic writes and JSON-safe conversion.

The lowest layer: any module may use these (the data layer writes files with them, the notebook
helpers write figures and sidecars with them). Nothing here imports another toolkit module.

Examples
--------
>>> import tempfile, pathlib
>>> p = atomic_write_text(pathlib.Path(tempfile.mkdtemp()) / "x.json", "{}")
>>> p.read_text(), to_jsonable({"n": float("inf")})
('{}', {'n': None})
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_path",
    "atomic_folder",
    "check_output_file",
    "remove_live_temps",
    "escape_formulas",
    "write_csv",
    "write_frame",
    "check_notebook",
    "cache_dir",
    "to_jsonable",
]


def _umask() -> int:
    """The process umask (read without changing it where /proc allows, else set and restored)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _output_error(path: Path, exc: OSError):
    from toolkit.errors import OutputError

    reason = exc.strerror or str(exc)
    return OutputError(f"cannot write {path}: {reason} (nothing was written there; an existing file is kept)")


def check_output_file(path: str | os.PathLike, *, suffixes: tuple[str, ...] | None = None, option: str = "--out") -> Path:
    """Check that ``path`` can take an output file: not a folder, a known suffix, a writable folder.

    Raises :class:`toolkit.errors.OutputError` (exit 2 on the command line) naming the option.

    Examples
    --------
    >>> import tempfile
    >>> check_output_file(tempfile.mkdtemp())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    toolkit.errors.OutputError: --out ... is a folder; give a file name
    """
    from toolkit.errors import OutputError

    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder; give a file name")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise OutputError(f"{option} must end in {', '.join(suffixes)}; got {str(path)!r}")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise OutputError(f"{option} {path}: {parent} is a file, not a folder")
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: the folder {parent} is not writable")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, tag: str = "") -> Iterator[Path]:
    """A temporary path in the folder of ``path`` to write to; renamed onto ``path`` on success.

    For writers that want a file name (matplotlib, nbconvert, pyarrow). On an exception (or a
    signal turned into one) the temporary file is removed and ``path`` is left as it was; the
    file gets the mode a new file would get (0666 minus the umask), is fsync'ed, then renamed.
    The temporary file is named ``.<name>.<random>.tmp``, or ``.<name>.<tag>.<random>.tmp``
    with a ``tag`` (letters, digits, ``-``, ``_``; e.g. the writer's process id, so that a cleaner
    can tell the leftovers of a killed writer from a live one's).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "f.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text(), [p.name for p in target.parent.iterdir()]
    ('done', ['f.txt'])
    """
    path = Path(path)
    if path.is_dir():
        from toolkit.errors import OutputError

        raise OutputError(f"cannot write {path}: it is a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{_checked_tag(tag)}", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _output_error(path, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    _LIVE_TEMPS.add(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _output_error(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        _LIVE_TEMPS.discard(tmp)
    return


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder beside ``path`` to write a folder of files into; renamed onto ``path``
    on success.

    For writers of many files (Dask's partitioned Parquet): ``path`` appears whole or not at all.
    ``path`` must not exist or be an empty folder (which is replaced). On an exception the
    temporary folder and everything in it is removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "parts"
    >>> with atomic_folder(target) as tmp:
    ...     _ = (tmp / "part.0.txt").write_text("done")
    >>> sorted(p.name for p in target.iterdir()), [p.name for p in target.parent.iterdir()]
    (['part.0.txt'], ['parts'])
    """
    import shutil

    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        from toolkit.errors import OutputError

        raise OutputError(f"cannot write the folder {path}: it exists and is not an empty folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as exc:
        raise _output_error(path, exc) from None
    _LIVE_TEMPS.add(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if path.is_dir():
            path.rmdir()
        os.replace(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _output_error(path, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        _LIVE_TEMPS.discard(tmp)


#: temporary files being written right now (removed by :func:`remove_live_temps` on a signal)
_LIVE_TEMPS: set[Path] = set()


def remove_live_temps() -> None:
    """Remove the temporary files of writes in progress (called when the process is terminated).

    Examples
    --------
    >>> remove_live_temps()
    """
    import shutil

    for tmp in list(_LIVE_TEMPS):
        try:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
        except OSError:
            pass


def _checked_tag(tag: str) -> str:
    """``tag`` plus a dot ("" for none); a tag outside ``[A-Za-z0-9_-]`` is a programming error."""
    if not tag:
        return ""
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in tag):
        raise ValueError(f"a temporary file's tag is letters, digits, '-' and '_'; got {tag!r}")
    return tag + "."


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, tag: str = "") -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder, fsync and an atomic rename.

    A reader never sees a half-written file: it sees the old file or the complete new one. The
    new file gets the usual mode (0666 minus the umask). A failure (full disk, read-only folder)
    raises :class:`toolkit.errors.OutputError` and leaves ``path`` as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = atomic_write_bytes(pathlib.Path(tempfile.mkdtemp()) / "a" / "x.bin", b"42")
    >>> p.read_bytes()
    b'42'
    """
    path = Path(path)
    with atomic_path(path, tag=tag) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
    return path


def cache_dir(name: str = "") -> Path:
    """The toolkit's per-user cache folder (not created): ``$TOOLKIT_CACHE_DIR`` when set, else
    ``$XDG_CACHE_HOME/chatbot-toolkit`` (``~/.cache/chatbot-toolkit`` without XDG), joined with ``name``.

    Examples
    --------
    >>> cache_dir("embeddings").name, cache_dir("embeddings").parent == cache_dir()
    ('embeddings', True)
    """
    root = os.environ.get("TOOLKIT_CACHE_DIR")
    if root:
        base = Path(root)
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chatbot-toolkit"
    return base / name if name else base


def atomic_write_text(path: str | os.PathLike, text: str, *, tag: str = "") -> Path:
    """Write ``text`` (UTF-8) atomically; see :func:`atomic_write_bytes` (``tag``: :func:`atomic_path`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> atomic_write_text(pathlib.Path(tempfile.mkdtemp()) / "x.txt", "héllo").read_text()
    'héllo'
    """
    return atomic_write_bytes(path, text.encode("utf-8"), tag=tag)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formulas(frame):
    """A copy of ``frame`` whose text cells that a spreadsheet would run as a formula are defused.

    OWASP's advice for CSV injection: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or
    a carriage return gets a leading single quote, so Excel/LibreOffice show it as text. Only
    text cells change (numbers, including negative ones, stay numbers); use Parquet for exact
    text.

    Examples
    --------
    >>> import pandas as pd
    >>> escape_formulas(pd.DataFrame({"t": ["=1+2", "ok", "-x"], "n": [-1, 2, 3]}))["t"].tolist()
    ["'=1+2", 'ok', "'-x"]
    """
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype) or isinstance(s.dtype, pd.CategoricalDtype)):
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        is_text = s.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
        if bool(is_text.any()):
            out[col] = s.where(~is_text.astype(bool), "'" + s.astype("string"))
    return out


def write_csv(frame, path: str | os.PathLike, *, index: bool = False) -> Path:
    """Write ``frame`` as CSV atomically, with spreadsheet formulas in text cells escaped.

    The one CSV writer of the toolkit's outputs (see :func:`escape_formulas`).

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> p = write_csv(pd.DataFrame({"t": ["@SUM(A1)"]}), pathlib.Path(tempfile.mkdtemp()) / "x.csv")
    >>> p.read_text().splitlines()
    ['t', "'@SUM(A1)"]
    """
    return atomic_write_text(path, escape_formulas(frame).to_csv(index=index))


def write_frame(frame, path: str | os.PathLike, *, index: bool = False) -> Path:
    """Write a table atomically as Parquet (exact), CSV (formulas escaped) or JSON Lines, by suffix.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> p = write_frame(pd.DataFrame({"a": [1]}), pathlib.Path(tempfile.mkdtemp()) / "x.parquet")
    >>> pd.read_parquet(p)["a"].tolist()
    [1]
    """
    import io

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv(frame, path, index=index)
    if suffix in (".parquet", ".pq"):
        buf = io.BytesIO()
        frame.to_parquet(buf, index=index)
        return atomic_write_bytes(path, buf.getvalue())
    if suffix in (".jsonl", ".ndjson"):
        text = frame.to_json(orient="records", lines=True, date_format="iso", force_ascii=False)
        return atomic_write_text(path, text)
    from toolkit.errors import OutputError

    raise OutputError(f"cannot write {path}: unknown table format {suffix or '(no suffix)'!r}; use .csv, .parquet or .jsonl")


def check_notebook(path: str | os.PathLike) -> Path:
    """``path`` when it is a regular file holding notebook JSON (a ``cells`` list), else one error.

    The error names the file and what is wrong, never its content (a path such as
    ``../../etc/passwd`` must not print the file's first line).

    Examples
    --------
    >>> check_notebook("/etc/hostname")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    toolkit.errors.InputFileError: /etc/hostname is not a Jupyter notebook: ...
    """
    import json
    import stat

    from toolkit.errors import InputFileError

    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"notebook not found: {path}") from None
    except OSError as exc:
        raise InputFileError(f"notebook {path} cannot be read: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise InputFileError(f"notebook {path} is not a regular file")
    if st.st_size > 512 * 1024 * 1024:
        raise InputFileError(f"notebook {path} is larger than 512 MB")
    try:
        doc = json.loads(path.read_bytes())
    except RecursionError:
        raise InputFileError(f"{path} is not a Jupyter notebook: its JSON is nested too deeply") from None
    except (ValueError, OSError):
        raise InputFileError(f"{path} is not a Jupyter notebook: not valid JSON (a .ipynb file is JSON with a 'cells' list)") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cells"), list):
        raise InputFileError(f"{path} is not a Jupyter notebook: its JSON has no 'cells' list")
    return path


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars, arrays, frames, dataclasses and timestamps to JSON types.

    NaN and infinities become ``None`` (JSON has no NaN).

    Examples
    --------
    >>> import numpy as np
    >>> to_jsonable({"a": np.float64(1.5), "b": np.array([1, 2]), "c": float("nan")})
    {'a': 1.5, 'b': [1, 2], 'c': None}
    """
    import dataclasses

    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    try:
        import numpy as np
        import pandas as pd
    except ImportError:  # pragma: no cover
        return str(obj)
    if isinstance(obj, pd.DataFrame):
        return to_jsonable(obj.to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, pd.Timestamp):
        return None if pd.isna(obj) else obj.isoformat()
    if isinstance(obj, pd.Timedelta):
        return None if pd.isna(obj) else obj.total_seconds()
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return to_jsonable(float(obj))
    if isinstance(obj, np.datetime64):
        return to_jsonable(pd.Timestamp(obj))
    return str(obj)
