"""The encoder's on-disk cache: one SQLite database of float32 vectors shared by processes.

Rows are keyed by the model (a hash of the ONNX file and the tokenizer file, and ``max_length``)
and the text (BLAKE2b of its UTF-8 bytes); a vector is stored as its exact float32 bytes, so a
vector read back is bit-identical to the one computed. Several processes (pytest-xdist workers,
notebook kernels) may read and write at once: WAL journal mode, a busy timeout, and
``INSERT OR IGNORE`` (the first writer of a text wins; every writer computes the same vector).
Reads go in chunks of ``IN (...)``, not one query per text.

Any failure (a corrupted or unwritable file, a locked database past the timeout) raises
:class:`sqlite3.Error` or :class:`OSError` to the caller, which falls back to computing.

Examples
--------
>>> import tempfile, numpy as np
>>> store = VectorStore(Path(tempfile.mkdtemp()) / "v.sqlite3", model="m", dim=2)
>>> store.put({"a": np.array([0.6, 0.8], dtype=np.float32)})
>>> store.get(["a", "b"])
{'a': array([0.6, 0.8], dtype=float32)}
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

__all__ = ["VectorStore", "file_digest", "text_key"]

_CHUNK = 500  # texts per SELECT ... IN (...): below SQLite's oldest variable limit (999)
_DIGESTS: dict[tuple, str] = {}


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file, memoised per (path, size, mtime) for the process.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "f"; _ = p.write_bytes(b"abc")
    >>> file_digest(p)[:12]
    'ba7816bf8f01'
    """
    path = Path(path).resolve()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def text_key(text: str) -> bytes:
    """The 16-byte BLAKE2b key of a text's UTF-8 bytes (``surrogatepass`` for odd strings).

    Examples
    --------
    >>> len(text_key("hello")), text_key("a") == text_key("a")
    (16, True)
    """
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class VectorStore:
    """Vectors of one model in a SQLite file (see the module docstring).

    Parameters
    ----------
    path : path
        The database file (its folder is created).
    model : str
        The model's identity; rows of other models in the same file are not seen.
    dim : int
        Vector length; a stored blob of another length is ignored (recomputed).
    timeout : float
        Seconds to wait for another process's write lock.
    """

    def __init__(self, path: str | os.PathLike, *, model: str, dim: int, timeout: float = 30.0):
        self.path = Path(path)
        self.model = str(model)
        self.dim = int(dim)
        self.timeout = float(timeout)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, key BLOB NOT NULL, "
                        "vec BLOB NOT NULL, PRIMARY KEY (model, key))")  # a rowid table: 1.5 kB rows pack densely
        except BaseException:
            con.close()
            raise
        return con

    def get(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those ``texts`` that are stored, by text."""
        by_key = {text_key(t): t for t in dict.fromkeys(texts)}
        if not by_key:
            return {}
        found: dict[str, np.ndarray] = {}
        keys = list(by_key)
        con = self._connect()
        try:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = con.execute(f"SELECT key, vec FROM vectors WHERE model = ? AND key IN ({marks})",
                                   [self.model, *chunk])
                for key, blob in rows:
                    if len(blob) == 4 * self.dim:
                        found[by_key[bytes(key)]] = np.frombuffer(blob, dtype="<f4").astype(np.float32)
        finally:
            con.close()
        return found

    def put(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Store ``vectors`` (text -> float32 vector) in one transaction; stored texts are kept."""
        if not vectors:
            return
        rows = [(self.model, text_key(t), np.asarray(v, dtype="<f4").tobytes()) for t, v in vectors.items()]
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            con.executemany("INSERT OR IGNORE INTO vectors (model, key, vec) VALUES (?, ?, ?)", rows)
            con.execute("COMMIT")
        finally:
            con.close()
