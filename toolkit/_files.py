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

import datetime as _dt
import math
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["atomic_write_bytes", "atomic_write_text", "cache_dir", "to_jsonable"]


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and an atomic rename.

    A reader never sees a half-written file: it sees the old file or the complete new one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = atomic_write_bytes(pathlib.Path(tempfile.mkdtemp()) / "a" / "x.bin", b"42")
    >>> p.read_bytes()
    b'42'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically; see :func:`atomic_write_bytes`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> atomic_write_text(pathlib.Path(tempfile.mkdtemp()) / "x.txt", "héllo").read_text()
    'héllo'
    """
    return atomic_write_bytes(path, text.encode("utf-8"))


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
