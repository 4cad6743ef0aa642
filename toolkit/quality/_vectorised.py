"""The vectorised computation behind :func:`~toolkit.quality.score_turns` and ``relevance``.

Rows are ordered by conversation and turn, cut into chunks of whole conversations, and each
chunk's term pairs (and, when wanted, sentiment, coherence and word counts) are computed, in
worker processes for large logs; the IDF is then fitted on all chunks' documents and each
response's cosine with its decayed conversation context follows. The embeddings backend encodes
each distinct text once and applies the same context weighting.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from toolkit.quality.components import _coherence_one
from toolkit.quality.config import QualityConfig

__all__: list[str] = []

_SENT_CACHE: dict[str, float] = {}
_COH_CACHE: dict[tuple[str, bool], tuple[float, int]] = {}
_CACHE_LIMIT = 200_000  # entries per cache and process (cleared when exceeded)


def _text_features(responses: list[str], check_case: bool, cache: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sentiment, coherence and word count of each response (repeated texts computed once)."""
    from toolkit.sentiment import vader_compound_one

    sc = _SENT_CACHE if cache else {}
    cc = _COH_CACHE if cache else {}
    if cache and (len(sc) > _CACHE_LIMIT or len(cc) > _CACHE_LIMIT):
        sc.clear()
        cc.clear()
    n = len(responses)
    sent = np.empty(n)
    coh = np.empty(n)
    nw = np.empty(n, dtype=np.int64)
    for i, t in enumerate(responses):
        v = sc.get(t)
        if v is None:
            v = sc[t] = vader_compound_one(t)
        sent[i] = v
        key = (t, check_case)
        f = cc.get(key)
        if f is None:
            f = cc[key] = (_coherence_one(t, check_case), len(t.split()))
        coh[i], nw[i] = f
    return sent, coh, nw


@dataclass
class _Chunk:
    """What one batch of whole conversations contributes (all positions local to the chunk)."""

    n: int
    vocab: np.ndarray  # uint64 hashes of the chunk's terms
    df: np.ndarray  # documents (inputs and responses) containing each vocab term
    resp_doc: np.ndarray  # response term pairs: row, term, count
    resp_term: np.ndarray
    resp_count: np.ndarray
    ctx_row: np.ndarray  # context term pairs: row, term, weighted count
    ctx_term: np.ndarray
    ctx_weight: np.ndarray
    shared_row: np.ndarray  # terms shared by context and response: row, term, ctx weight, resp count
    shared_term: np.ndarray
    shared_ctx: np.ndarray
    shared_resp: np.ndarray
    resp_content: np.ndarray  # content tokens (after stop words) of each response
    sentiment: np.ndarray | None
    coherence: np.ndarray | None
    resp_words: np.ndarray | None
    input_words: np.ndarray | None


def _context_pairs(doc, term, count, conv_end, decay):
    """Context term weights: input pairs of row s spread to rows s..end of its conversation."""
    if decay == 0 or doc.size == 0:
        return doc.astype(np.int64), term.astype(np.int64), count.astype(np.float64)
    reps = (conv_end[doc] - doc + 1).astype(np.int64)
    total = int(reps.sum())
    src = np.repeat(np.arange(doc.size), reps)
    starts = np.cumsum(reps) - reps
    offset = np.arange(total) - np.repeat(starts, reps)
    row = doc[src].astype(np.int64) + offset
    w = count[src].astype(np.float64) * np.power(float(decay), offset)
    key = (row << 32) | term[src].astype(np.int64)
    order = np.argsort(key, kind="stable")
    key = key[order]
    w = w[order]
    first = np.empty(key.size, dtype=bool)
    first[:1] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    idx = np.flatnonzero(first)
    return key[idx] >> 32, key[idx] & 0xFFFFFFFF, np.add.reduceat(w, idx)


def _chunk_work(args) -> _Chunk:
    (inputs, responses, conv_end, decay, stop_words, stem, want_text, check_case, cache) = args
    from toolkit.text import STOP_WORDS, term_pairs

    n = len(inputs)
    tp = term_pairs(list(inputs) + list(responses), stop_words=STOP_WORDS if stop_words else None, stem=stem)
    is_resp = tp.doc >= n
    df = np.bincount(tp.term, minlength=tp.vocab.size).astype(np.int64)
    i_doc, i_term, i_count = tp.doc[~is_resp], tp.term[~is_resp], tp.count[~is_resp]
    r_doc = (tp.doc[is_resp] - n).astype(np.int64)
    r_term, r_count = tp.term[is_resp].astype(np.int64), tp.count[is_resp]
    c_row, c_term, c_w = _context_pairs(i_doc.astype(np.int64), i_term, i_count, conv_end, decay)
    kc = (c_row << 32) | c_term
    kr = (r_doc << 32) | r_term
    common, ic, ir = np.intersect1d(kc, kr, assume_unique=True, return_indices=True)
    sent = coh = nw = qw = None
    if want_text:
        sent, coh, nw = _text_features(list(responses), check_case, cache)
        qw = np.fromiter((len(t.split()) for t in inputs), dtype=np.int64, count=n)
    return _Chunk(
        n=n, vocab=tp.vocab, df=df,
        resp_doc=r_doc, resp_term=r_term, resp_count=r_count,
        ctx_row=c_row, ctx_term=c_term, ctx_weight=c_w,
        shared_row=common >> 32, shared_term=common & 0xFFFFFFFF,
        shared_ctx=c_w[ic], shared_resp=r_count[ir].astype(np.float64),
        resp_content=tp.n_tokens[n:].copy(), sentiment=sent, coherence=coh, resp_words=nw, input_words=qw,
    )


def _relevance_from_chunks(chunks: list[_Chunk], n_docs: int, model=None, specificity: list | None = None
                           ) -> list[np.ndarray]:
    """Fit the IDF on all chunks' documents (or take a fitted ``model``'s), then each row's cosine.

    When ``specificity`` is a list, each chunk's mean IDF of the response tokens, scaled to [0, 1]
    as ``(mean_idf - 1) / ln((1 + N) / 2)`` for ``N`` documents (the largest IDF), is appended.
    """
    if not chunks:
        return []
    n_idf = n_docs if model is None else int(model.n_docs)
    top = math.log((1.0 + n_idf) / 2.0) if n_idf > 1 else 1.0
    if model is None:
        allv = np.concatenate([c.vocab for c in chunks])
        alldf = np.concatenate([c.df for c in chunks])
        codes, uniq = pd.factorize(allv)
        df = np.bincount(codes, weights=alldf, minlength=len(uniq))
        idf_global = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    out = []
    pos = 0
    for c in chunks:
        if model is None:
            idf = idf_global[codes[pos : pos + c.vocab.size]]
        else:
            idf = model.idf_of(c.vocab)
        pos += c.vocab.size
        wr = c.resp_count * idf[c.resp_term]
        nr = np.sqrt(np.bincount(c.resp_doc, weights=wr * wr, minlength=c.n))
        wc = c.ctx_weight * idf[c.ctx_term]
        nc = np.sqrt(np.bincount(c.ctx_row, weights=wc * wc, minlength=c.n))
        dot = np.bincount(
            c.shared_row, weights=c.shared_ctx * c.shared_resp * idf[c.shared_term] ** 2, minlength=c.n
        )
        denom = nr * nc
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.where(denom > 0, dot / np.where(denom > 0, denom, 1.0), 0.0)
        out.append(np.clip(cos, 0.0, 1.0))
        if specificity is not None:
            tot = np.bincount(c.resp_doc, weights=c.resp_count * idf[c.resp_term], minlength=c.n)
            cnt = np.bincount(c.resp_doc, weights=c.resp_count.astype(float), minlength=c.n)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_idf = np.where(cnt > 0, tot / np.where(cnt > 0, cnt, 1.0), 1.0)
            specificity.append(np.clip((mean_idf - 1.0) / max(top, 1e-9), 0.0, 1.0))
    return out


def _minilm_encoder():
    """An encoder (list of texts -> unit vectors): all-MiniLM-L6-v2 on onnxruntime, offline
    (:mod:`toolkit.embeddings`, in the default install; each distinct text is encoded once)."""
    from toolkit.embeddings import get_encoder

    return get_encoder().encode


def _pooled_minilm():
    """The fitted model's encoder: MiniLM vectors pooled from each distinct normalised sentence
    (:mod:`toolkit.quality.pooled`)."""
    from toolkit.quality.pooled import pooled_vectors

    encode = _minilm_encoder()
    return lambda texts: pooled_vectors(texts, encode)


#: rows whose vectors are gathered at once in :func:`_embedding_relevance` (the context and the
#: response vectors in float64: 2 x 384 x 8 bytes a row, about 120 MB a block)
_EMB_BLOCK = 20_000


def _embedding_relevance(inp: list[str], resp: list[str], new_conv: np.ndarray, decay: float, encoder, *,
                         head: np.ndarray | None = None, keep_vectors: bool = False) -> dict:
    """Cosine between each response's vector and its decayed conversation-context vector.

    Rows are in conversation order (``new_conv`` marks the first turn of each conversation).
    Each distinct non-empty text is encoded once; empty texts get a zero vector. The vectors of
    the distinct texts are kept as float32 (a 1M-turn log with 2M distinct texts: 3 GB, not the
    6 GB of float64 and its copies that exhausted 24 GB); the context and the cosines are
    computed in float64, :data:`_EMB_BLOCK` rows at a time.

    Returns ``{"cos": ...}``; with ``head`` (a ``(2, d)`` array: weights of the unit context x
    unit response product and of the unit response, :attr:`QualityModel.head
    <toolkit.quality.model.QualityModel.head>`) also ``"head"``, each row's linear head score; with
    ``keep_vectors`` also ``"context"`` and ``"response"``, the unit vectors (float32, for fitting
    a head: ``toolkit.quality.calibrate``).
    """
    n = len(inp)
    if n == 0:
        out = {"cos": np.zeros(0)}
        if head is not None:
            out["head"] = np.zeros(0)
        if keep_vectors:
            out["context"] = out["response"] = np.zeros((0, 0), dtype=np.float32)
        return out
    distinct = sorted({t for t in inp + resp if t.strip()})
    index = {t: i + 1 for i, t in enumerate(distinct)}
    if distinct:
        enc = np.asarray(encoder(distinct))
        if enc.ndim != 2 or enc.shape[0] != len(distinct):
            raise ValueError(f"relevance encoder returned shape {enc.shape} for {len(distinct)} texts; "
                             "expected one row per text")
        # row 0: the zero vector of an empty text; rows 1..: the unit vectors
        E = np.zeros((len(distinct) + 1, enc.shape[1]), dtype=np.float32)
        E[1:] = enc
        del enc
        norms = np.linalg.norm(E[1:], axis=1, keepdims=True)
        np.divide(E[1:], norms, out=E[1:], where=norms > 0)  # a zero row stays zero
    else:  # no text to encode: every vector is zero (as wide as the head, which then scores 0)
        E = np.zeros((1, 1 if head is None else np.shape(head)[-1]), dtype=np.float32)
    i_in = np.fromiter((index.get(t, 0) for t in inp), dtype=np.int64, count=n)
    i_resp = np.fromiter((index.get(t, 0) for t in resp), dtype=np.int64, count=n)
    start = np.maximum.accumulate(np.where(new_conv, np.arange(n), 0))
    pos = np.arange(n) - start
    cos = np.zeros(n)
    if head is not None:
        head = np.asarray(head, dtype=np.float64)
        if head.shape != (2, E.shape[1]):
            from toolkit.errors import ToolkitError

            raise ToolkitError(f"quality model: the vector head has shape {head.shape}; the sentence "
                               f"encoder gives {E.shape[1]} dimensions, so it must be (2, {E.shape[1]})")
        h_out = np.zeros(n)
    if keep_vectors:
        v_ctx = np.zeros((n, E.shape[1]), dtype=np.float32)
        v_resp = np.zeros((n, E.shape[1]), dtype=np.float32)
    carry = None  # the context vector of the row before the block (its conversation goes on)
    for lo in range(0, n, _EMB_BLOCK):
        hi = min(n, lo + _EMB_BLOCK)
        ctx = E[i_in[lo:hi]].astype(np.float64)
        p = pos[lo:hi]
        if decay > 0:
            if carry is not None and p[0] > 0:
                ctx[0] += decay * carry
            for k in range(1, int(p.max()) + 1):
                rows = np.flatnonzero(p == k)
                rows = rows[rows > 0]
                ctx[rows] += decay * ctx[rows - 1]
        carry = ctx[-1].copy()
        e_resp = E[i_resp[lo:hi]].astype(np.float64)
        dot = np.einsum("ij,ij->i", ctx, e_resp)
        den = np.linalg.norm(ctx, axis=1) * np.linalg.norm(e_resp, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            cos[lo:hi] = np.where(den > 0, dot / np.where(den > 0, den, 1.0), 0.0)
        if head is not None or keep_vectors:
            c_norm = np.linalg.norm(ctx, axis=1, keepdims=True)
            np.divide(ctx, c_norm, out=ctx, where=c_norm > 0)  # unit context; a zero row stays zero
            if head is not None:
                # row by row (einsum, no BLAS): a row's score does not depend on the rows beside it
                h_out[lo:hi] = (np.einsum("ij,j->i", ctx * e_resp, head[0])
                                + np.einsum("ij,j->i", e_resp, head[1]))
            if keep_vectors:
                v_ctx[lo:hi] = ctx
                v_resp[lo:hi] = e_resp
    out = {"cos": np.clip(cos, 0.0, 1.0)}
    if head is not None:
        out["head"] = h_out
    if keep_vectors:
        out["context"], out["response"] = v_ctx, v_resp
    return out


def context_response_vectors(turns: pd.DataFrame, cfg: QualityConfig) -> tuple[np.ndarray, np.ndarray]:
    """The unit MiniLM vectors of each row's decayed user context and of its response (row order).

    The vectors the fitted model's ``relevance_emb`` is the cosine of (sentence-pooled,
    :mod:`toolkit.quality.pooled`); ``toolkit.quality.calibrate`` fits its vector head on them.
    """
    inp, resp, new_conv, inv = _prepare(turns)
    v = _embedding_relevance(inp, resp, new_conv, float(cfg.context_decay), _pooled_minilm(), keep_vectors=True)
    return v["context"][inv], v["response"][inv]


def _default_jobs(n_rows: int) -> int:
    cpus = os.cpu_count() or 1
    return min(cpus, 2) if n_rows >= 40_000 else 1


def _run_chunks(tasks: list, n_jobs: int) -> list[_Chunk]:
    """Run the chunk tasks, in worker processes when ``n_jobs > 1`` (results in task order)."""
    if n_jobs <= 1 or len(tasks) <= 1:
        return [_chunk_work(t) for t in tasks]
    from toolkit._pool import process_pool

    with process_pool(n_jobs, preload=["toolkit.quality", "toolkit.text", "toolkit.sentiment"]) as ex:
        return list(ex.map(_chunk_work, tasks, chunksize=1))


def _prepare(turns: pd.DataFrame):
    """Rows in conversation and turn order: the user inputs and responses in that order, where
    each conversation starts (``new_conv``) and the permutation back to the frame's row order
    (``ordered[inv]`` is in row order)."""
    need = ["user_input", "bot_response"]
    missing = [c for c in need if c not in turns.columns]
    if missing:
        raise ValueError(
            f"quality scoring needs turns columns {need}; missing {missing} "
            f"(columns present: {list(turns.columns)[:12]})"
        )
    from toolkit.text import as_text_list

    inputs = as_text_list(turns["user_input"], "turns.user_input")
    responses = as_text_list(turns["bot_response"], "turns.bot_response")
    n = len(turns)
    if "conversation_id" in turns.columns:
        conv = pd.factorize(turns["conversation_id"].astype(object).to_numpy(), sort=True)[0]
        missing = conv < 0  # a row without a conversation id is a conversation of its own
        if missing.any():
            conv = np.where(missing, conv.max(initial=-1) + 1 + np.cumsum(missing), conv)
        if "turn" in turns.columns:
            turn = pd.to_numeric(turns["turn"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        else:
            turn = np.arange(n, dtype=float)
        order = np.lexsort((np.arange(n), turn, conv))
        conv_sorted = conv[order]
    else:
        order = np.arange(n)
        conv_sorted = np.arange(n)
    new_conv = np.ones(n, dtype=bool)
    if n:
        new_conv[1:] = conv_sorted[1:] != conv_sorted[:-1]
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    return [inputs[i] for i in order], [responses[i] for i in order], new_conv, inv


def _chunk_bounds(starts: np.ndarray, n: int, chunk_size: int) -> list[int]:
    """Chunk boundaries: about ``chunk_size`` rows each, cut only at conversation starts."""
    bounds = [0]
    while bounds[-1] < n:
        target = bounds[-1] + chunk_size
        if target >= n:
            bounds.append(n)
            break
        k = np.searchsorted(starts, target)
        nxt = int(starts[k]) if k < starts.size else n
        bounds.append(nxt if nxt > bounds[-1] else n)
    return bounds


def _conversation_ends(starts: np.ndarray, n: int) -> np.ndarray:
    """For each row, the position of the last row of its conversation."""
    ends = np.empty(n, dtype=np.int64)
    if n:
        last = np.append(starts[1:], n) - 1
        ends = np.repeat(last, np.diff(np.append(starts, n)))
    return ends


def _compute(turns: pd.DataFrame, cfg: QualityConfig, *, want_text: bool, n_jobs, chunk_size: int, cache: bool,
             idf=None, want_emb: bool = False, head: np.ndarray | None = None):
    """Relevance and content words (and, with ``want_text``, the per-text features) of every row;
    with ``head`` (and ``want_emb``) also ``vector_head``, the refit vector head's score."""
    inp, resp, new_conv, inv = _prepare(turns)
    n = len(inp)
    starts = np.flatnonzero(new_conv)
    bounds = _chunk_bounds(starts, n, chunk_size)
    ends = _conversation_ends(starts, n)
    tasks = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        tasks.append((
            inp[a:b], resp[a:b], (ends[a:b] - a).astype(np.int64), float(cfg.context_decay),
            bool(cfg.stop_words), bool(cfg.stem), want_text, bool(cfg.check_case), cache,
        ))
    jobs = _default_jobs(n) if n_jobs is None else max(1, int(n_jobs))
    chunks = _run_chunks(tasks, jobs)
    spec: list = []
    rel_tfidf = _relevance_from_chunks(chunks, 2 * n, idf, specificity=spec)
    rel_tfidf = np.concatenate(rel_tfidf) if rel_tfidf else np.zeros(0)
    emb = None
    if want_emb:
        emb = _embedding_relevance(inp, resp, new_conv, float(cfg.context_decay), _pooled_minilm(), head=head)
    if cfg.relevance_backend == "tfidf":
        rel = rel_tfidf
    else:
        encoder = _minilm_encoder() if cfg.relevance_backend == "embeddings" else cfg.relevance_backend
        rel = _embedding_relevance(inp, resp, new_conv, float(cfg.context_decay), encoder)["cos"]
    res = {"relevance": rel, "relevance_tfidf": rel_tfidf,
           "specificity": np.concatenate(spec) if spec else np.zeros(0),
           "content_words": np.concatenate([c.resp_content for c in chunks]) if chunks else np.zeros(0)}
    if want_emb:
        res["relevance_emb"] = emb["cos"]
        if head is not None:
            res["vector_head"] = emb["head"]
    if want_text:
        for name, attr in (("sentiment", "sentiment"), ("coherence", "coherence"),
                           ("resp_words", "resp_words"), ("input_words", "input_words")):
            res[name] = np.concatenate([getattr(c, attr) for c in chunks]) if chunks else np.zeros(0)
    return {k: v[inv] for k, v in res.items()}  # back to the frame's row order
