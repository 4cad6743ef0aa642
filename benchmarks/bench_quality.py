"""Quality scoring throughput on a million generated turns, against the reference approach.

Rows:
* the full composite (relevance, sentiment, coherence, length fit, quality, level) on 1,000,000
  generated turns whose responses are ALL DISTINCT (a unique reference is appended to each), on
  2 worker processes; the issue's target is >= 10,000 responses/s, aiming for 20,000;
* the same on one process (a 200,000-row slice), with a check that both give identical scores;
* the composite on the generator's own texts, where answers repeat (the per-text cache helps:
  reported separately);
* relevance alone on the 1,000,000 distinct turns (target >= 100,000/s), and scikit-learn's
  ``TfidfVectorizer`` fitted once on a 200,000-row slice, for comparison;
* the reference design on a slice: a ``TfidfVectorizer`` fitted per (input, response) pair,
  vaderSentiment's own analyzer, and the sentence-length-variance "coherence".
"""

from __future__ import annotations

import statistics
import time

import numpy as np


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children (worker processes)."""
    import resource

    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


_LAST_CPU = {"s": 0.0}


def _timed(fn, repeats=1):
    """Median wall time of ``fn()``; the CPU seconds of the last run are kept in ``_LAST_CPU``."""
    times, out = [], None
    for _ in range(repeats):
        c0 = _cpu()
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
        _LAST_CPU["s"] = _cpu() - c0
    return statistics.median(times), out


def _load() -> str:
    import os

    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def _turns(n_turns: int):
    from toolkit.sample import generate_sample

    s = generate_sample(seed=1, days=120, conversations=int(n_turns / 3.02))
    t = s.log.turns
    return t.iloc[:n_turns].reset_index(drop=True) if len(t) > n_turns else t


def _distinct(turns):
    """Append a unique reference sentence to every response (all responses become distinct)."""
    import pandas as pd

    refs = pd.Series([f" Ref. R{i:07d}." for i in range(len(turns))], index=turns.index)
    out = turns.copy()
    out["bot_response"] = turns["bot_response"].astype(object) + refs.astype(object)
    return out


def _reference_scores(inputs, responses):
    """The reference design: a vectoriser per pair, VADER per text, sentence-length variance."""
    import re

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    out = []
    for q, a in zip(inputs, responses):
        try:
            m = TfidfVectorizer().fit_transform([q, a])
            rel = float(cosine_similarity(m[0:1], m[1:2])[0, 0])
        except ValueError:
            rel = 0.0
        sent = (sia.polarity_scores(a)["compound"] + 1) / 2
        lengths = [len(s.split()) for s in re.split(r"[.!?]+", a) if s.strip()]
        coh = 1 / (1 + float(np.var(lengths))) if lengths else 0.0
        out.append((rel + sent + coh) / 3)
    return out


def run(quick: bool = False) -> list[dict]:
    from toolkit.quality import relevance, score_turns

    rows = []
    n = 100_000 if quick else 1_000_000
    n_slice = 20_000 if quick else 200_000
    n_ref = 500 if quick else 2_000

    base = _turns(n)
    distinct = _distinct(base)
    n = len(distinct)
    assert distinct["bot_response"].nunique() == n

    # full composite, all responses distinct, 2 processes (cache off: nothing to reuse anyway)
    load = _load()
    t2, scored = _timed(lambda: score_turns(distinct, n_jobs=2, cache=False))
    rate2 = n / t2
    cpu2 = _LAST_CPU["s"]
    rows.append({"metric": f"composite, {n:,} distinct responses, 2 processes", "value": rate2,
                 "unit": "responses/s", "target": 10_000.0, "ratio": rate2 / 10_000,
                 "note": f"{t2:.1f} s wall, {cpu2:.1f} CPU-s ({n / cpu2:,.0f} responses per CPU-s); "
                         f"target 10,000/s (aim 20,000); {load}"})

    # one process on a slice, and identical results
    part = distinct.iloc[:n_slice]
    t1, serial = _timed(lambda: score_turns(part, n_jobs=1, cache=False))
    cpu1 = _LAST_CPU["s"]
    _, par = _timed(lambda: score_turns(part, n_jobs=2, cache=False))
    same = all(np.array_equal(serial[c].to_numpy(), par[c].to_numpy())
               for c in ("relevance", "sentiment", "coherence", "length_fit", "quality"))
    rows.append({"metric": f"composite, {len(part):,} distinct, 1 process", "value": len(part) / t1,
                 "unit": "responses/s", "baseline": rate2, "ratio": (len(part) / t1) / rate2,
                 "note": f"{len(part) / cpu1:,.0f} per CPU-s; scores identical to 2 processes: {same}"})
    if not same:
        raise AssertionError("parallel and serial quality scores differ")

    # the generator's own texts: answers repeat, the per-process cache helps
    n_unique = base["bot_response"].nunique()
    tc, _ = _timed(lambda: score_turns(base, n_jobs=2, cache=True))
    rows.append({"metric": f"composite, {len(base):,} turns with repeats (cached), 2 processes",
                 "value": len(base) / tc, "unit": "responses/s", "baseline": rate2,
                 "ratio": (len(base) / tc) / rate2, "note": f"{n_unique:,} distinct responses"})

    # relevance alone
    load = _load()
    tr, _ = _timed(lambda: relevance(distinct, n_jobs=2))
    rrate = n / tr
    rows.append({"metric": f"relevance alone, {n:,} distinct, 2 processes", "value": rrate,
                 "unit": "responses/s", "target": 100_000.0, "ratio": rrate / 100_000,
                 "note": f"{tr:.1f} s wall, {n / _LAST_CPU['s']:,.0f} per CPU-s; {load}"})
    tr1, _ = _timed(lambda: relevance(part, n_jobs=1, context_decay=0))

    def sklearn_rowwise():
        from sklearn.feature_extraction.text import TfidfVectorizer

        a = part["user_input"].astype(object).fillna("").tolist()
        b = part["bot_response"].astype(object).fillna("").tolist()
        v = TfidfVectorizer().fit(a + b)
        return np.asarray(v.transform(a).multiply(v.transform(b)).sum(axis=1)).ravel()

    tsk, _ = _timed(sklearn_rowwise)
    rows.append({"metric": f"relevance (current message only), {len(part):,}, 1 process",
                 "value": len(part) / tr1, "unit": "responses/s", "baseline": len(part) / tsk,
                 "ratio": tsk / tr1, "note": "baseline = sklearn TfidfVectorizer fitted once"})

    # the reference design on a slice
    ref = distinct.iloc[:n_ref]
    tref, _ = _timed(lambda: _reference_scores(ref["user_input"].astype(object).fillna("").tolist(),
                                               ref["bot_response"].astype(object).fillna("").tolist()))
    ref_rate = n_ref / tref
    rows.append({"metric": f"reference design (vectoriser per pair + VADER), {n_ref:,} rows",
                 "value": ref_rate, "unit": "responses/s", "baseline": rate2, "ratio": rate2 / ref_rate,
                 "note": "ratio = speed-up of the toolkit's composite (2 processes)"})
    tpp, _ = _timed(lambda: _per_pair_relevance(ref))
    rows.append({"metric": f"reference relevance alone (vectoriser per pair), {n_ref:,} rows",
                 "value": n_ref / tpp, "unit": "responses/s", "baseline": len(part) / tr1,
                 "ratio": (len(part) / tr1) / (n_ref / tpp),
                 "note": "ratio = speed-up of the corpus TF-IDF, 1 process"})
    del scored
    return rows


def _per_pair_relevance(ref):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    out = []
    for q, a in zip(ref["user_input"].astype(object).fillna(""), ref["bot_response"].astype(object).fillna("")):
        try:
            m = TfidfVectorizer().fit_transform([q, a])
            out.append(float(cosine_similarity(m[0:1], m[1:2])[0, 0]))
        except ValueError:
            out.append(0.0)
    return out
