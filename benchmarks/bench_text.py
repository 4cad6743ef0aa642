"""The toolkit's hashed TF-IDF against scikit-learn's ``HashingVectorizer + TfidfTransformer``.

The task is the relevance TF-IDF of quality scoring: fit the IDF on every user message and bot
response, then the cosine of each (message, response) pair, English stop words removed. Both
run in this process on the same texts: the bundled sample's turns, and 100,000 generated turns
whose responses are all distinct (a unique reference appended, as in bench_quality.py).
Rows: the time of :class:`toolkit.text.HashedTfidf` (``fit`` + ``rowwise_cosine``), with
scikit-learn's pipeline (``n_features=2**20``, its default, and ``2**24``) as the baseline, and
the largest difference between the two sets of cosines: scikit-learn hashes into a fixed number
of buckets, so distinct terms that share a bucket merge; the toolkit keeps 64-bit hashes.
"""

from __future__ import annotations

import numpy as np

from common import median_time


def _own(a, b, stop_words):
    from toolkit.text import HashedTfidf

    return HashedTfidf(stop_words=stop_words).fit(a + b).rowwise_cosine(a, b)


def _sklearn(a, b, stop_words, n_features=2**20):
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

    hv = HashingVectorizer(stop_words=sorted(stop_words), alternate_sign=False, norm=None,
                           n_features=n_features)
    X = hv.transform(a + b)
    T = TfidfTransformer().fit_transform(X)
    n = len(a)
    return np.asarray(T[:n].multiply(T[n:]).sum(axis=1)).ravel()


def _texts(turns):
    return (turns["user_input"].astype(object).fillna("").tolist(),
            turns["bot_response"].astype(object).fillna("").tolist())


def run(quick: bool = False) -> list[dict]:
    import toolkit
    from toolkit.sample import generate_sample
    from toolkit.text import STOP_WORDS

    n_big = 20_000 if quick else 100_000
    repeats = 1 if quick else 3
    big = generate_sample(seed=1, days=120, conversations=int(n_big / 3.02)).log.turns.iloc[:n_big]
    big = big.assign(bot_response=big["bot_response"].astype(object)
                     + [f" Ref. R{i:07d}." for i in range(len(big))])
    rows = []
    for name, turns in (("sample", toolkit.load_sample().turns), (f"{len(big):,} distinct", big)):
        a, b = _texts(turns)
        own = _own(a, b, STOP_WORDS)
        t_own = median_time(lambda: _own(a, b, STOP_WORDS), repeats=repeats, warmup=0)
        for nf in (2**20, 2**24):
            sk = _sklearn(a, b, STOP_WORDS, nf)
            t_sk = median_time(lambda: _sklearn(a, b, STOP_WORDS, nf), repeats=repeats, warmup=0)
            rows.append({"metric": f"relevance TF-IDF, {name} ({len(a):,} pairs), vs n_features=2**{nf.bit_length() - 1}",
                         "value": t_own, "unit": "s", "baseline": t_sk, "ratio": t_sk / t_own,
                         "note": f"ratio = speed-up of HashedTfidf; max |cosine difference| "
                                 f"{np.abs(own - sk).max():.2g} (bucket collisions)"})
    return rows


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
