"""The toolkit's one text stack: tokens, sentences, text lists, and a corpus TF-IDF over hashed tokens.

Quality, clustering and embeddings all tokenize, convert texts and weight terms here:

* :func:`tokenize` -- scikit-learn's default analyzer exactly: the text is lower-cased and every
  maximal run of two or more word characters (``\\w``: ``str.isalnum()`` or ``_``) is a token,
  the pattern :data:`TOKEN_PATTERN`. With ``letters_only=True`` a token is a run of two or more
  letters (:data:`WORD_PATTERN`: a word with a digit or ``_`` in it is dropped), what clustering
  and topic labels use so that order numbers and dates do not become topics.
* :func:`as_text_list` -- the one conversion of a column of texts: missing values become ``""``,
  any other non-string raises ``TypeError`` naming the column and positions.
* :func:`smooth_idf` and :func:`tf_weights` -- the TF-IDF weighting that both
  :class:`HashedTfidf` (quality relevance) and the clustering TF-IDF backend use.

Why an own TF-IDF rather than ``HashingVectorizer + TfidfTransformer``: measured by
``python benchmarks/run.py text`` (both in one process, fit on every message and response, then
the cosine of each pair, stop words removed; a shared 2-core VM, medians of 3)::

    pairs                   HashedTfidf  sklearn 2**20 buckets  sklearn 2**24 buckets
    sample, 37,472          0.89 s       1.86 s (2.1x slower)   1.95 s (2.2x)
    100k distinct, 99,890   2.89 s       3.39 s (1.2x slower)   6.96 s (2.4x)
    largest |cosine difference| on the 100k: 0.33 with 2**20 buckets, 0.14 with 2**24

scikit-learn is slower on both, and its fixed number of buckets merges distinct terms (a unique
reference number sharing a bucket with a content word moves a relevance score by up to 0.33);
the 64-bit hashes here keep the exact ``TfidfVectorizer`` weights, and their per-document counts
sum across Dask partitions (:func:`document_frequencies`).

For whole logs, :class:`HashedTfidf` does the same tokenisation vectorised with numpy: the texts
of a batch are joined, lower-cased once and turned into an array of code points; word characters
are classified with a lookup table, and each token gets a 64-bit polynomial hash computed from
prefix sums (``h = sum(c_k * P**k)`` over the token's code points, modulo 2**64). Term counts per
document, document frequencies and the smoothed IDF are then plain numpy operations. With the
default settings the weights are those of ``sklearn.feature_extraction.text.TfidfVectorizer()``
(``idf = ln((1 + n) / (1 + df)) + 1``, raw counts, L2 norm), and the row-wise cosines agree with
it to ~1e-15 (checked in the tests). Two distinct tokens colliding on one 64-bit hash would merge
two terms; for natural text the chance is about ``V**2 / 2**65`` for a vocabulary of ``V`` terms
(3e-8 for a million terms); hashes are not collision-proof against deliberately crafted
tokens.

Examples
--------
>>> tokenize("Reset your PASSWORD, then log in again!")
['reset', 'your', 'password', 'then', 'log', 'in', 'again']
>>> split_sentences("Hi there. Can I help? Yes!")
['Hi there.', 'Can I help?', 'Yes!']
>>> model = HashedTfidf().fit(["reset password", "refund order", "password reset link"])
>>> model.rowwise_cosine(["reset my password"], ["password reset link"]).round(3).tolist()
[0.732]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np

__all__ = [
    "TOKEN_PATTERN",
    "WORD_PATTERN",
    "tokenize",
    "split_sentences",
    "as_text_list",
    "hash_tokens",
    "HashedTokens",
    "HashedTfidf",
    "term_pairs",
    "document_frequencies",
    "TermPairs",
    "pair_batch",
    "PairBatch",
    "hash_string",
    "smooth_idf",
    "tf_weights",
    "STOP_WORDS",
]

#: scikit-learn's default token: two or more word characters (letters, digits, ``_``)
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
#: letters only, two or more: drops order numbers, dates and stray digits, keeps any script
WORD_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"
_TOKEN_RE = re.compile(TOKEN_PATTERN)
_WORD_RE = re.compile(WORD_PATTERN)
# A sentence ends at ., ! or ? (possibly repeated, possibly followed by closing quotes/brackets)
# followed by white space, or at a line break.
_SENT_RE = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\s*\n+\s*")

_P = 0x100000001B3  # odd 64-bit multiplier (FNV prime); invertible modulo 2**64
_P_INV = pow(_P, -1, 2**64)


#: English stop words: scikit-learn's ``ENGLISH_STOP_WORDS`` without its content words (amount,
#: bill, call, describe, detail, find, name, system, ...), plus the fragments that contractions
#: leave behind (don, isn, ve, ...).
STOP_WORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along already also
    although always am among amongst amoungst an and another any anyhow anyone anything anyway
    anywhere are aren around as at back be became because become becomes becoming been before
    beforehand behind being below beside besides between beyond both but by can cannot cant co
    con could couldn couldnt de didn didnt do doesn doesnt don done dont down due during each
    eg eight either eleven else elsewhere enough etc even ever every everyone everything
    everywhere except few fifteen fifty first five for former formerly forty four from further
    get give go had hadn has hasn hasnt have haven he hence her here hereafter hereby herein
    hereupon hers herself him himself his how however hundred i ie if im in inc indeed
    into is isn isnt it its itself ive keep last latter latterly least less ll ltd made many
    may me meanwhile might mine more moreover most mostly much must my myself namely neither
    never nevertheless next nine no nobody none noone nor not nothing now nowhere of off often
    on once one only onto or other others otherwise our ours ourselves out over own per
    perhaps please put rather re same see seem seemed seeming seems several she should shouldn
    since six sixty so some somehow someone something sometime sometimes somewhere still such
    take ten than that thats the their them themselves then thence there thereafter thereby
    therefore therein thereupon these they third this those though three through throughout
    thru thus to together too toward towards twelve twenty two un under until up upon us ve
    very via was wasn we well were weren what whatever when whence whenever where whereafter
    whereas whereby wherein whereupon wherever whether which while whither who whoever whole
    whom whose why will with within without won would wouldn yet you your youre yours yourself
    yourselves
    """.split()
)


def tokenize(
    text: str, *, stop_words: frozenset | None = None, stem: bool = False, letters_only: bool = False
) -> list[str]:
    """Lower-cased tokens of two or more word characters (scikit-learn's default analyzer).

    ``stop_words`` drops those tokens; ``stem`` replaces tokens without digits by their Porter
    stem; ``letters_only`` keeps runs of two or more letters only (:data:`WORD_PATTERN`, the
    clustering tokens). :func:`hash_tokens` gives the default tokens, hashed.

    Examples
    --------
    >>> tokenize("Don't panic: it's 42 o'clock")
    ['don', 'panic', 'it', '42', 'clock']
    >>> tokenize("Order A123 of 12/05, ref_no", letters_only=True)
    ['order', 'of']
    >>> tokenize("The passwords were reset", stop_words=STOP_WORDS, stem=True)
    ['password', 'reset']
    """
    toks = (_WORD_RE if letters_only else _TOKEN_RE).findall(text.lower())
    if stop_words:
        toks = [t for t in toks if t not in stop_words]
    if stem:
        st = None
        out = []
        for t in toks:
            if not any(c.isdigit() for c in t):
                st = st or _stemmer()
                t = st.stem(t)
            out.append(t)
        toks = out
    return toks


def split_sentences(text: str) -> list[str]:
    """Split a text into sentences at ``.``, ``!``, ``?`` followed by white space, and at line breaks.

    A rule-based splitter (no model to download): abbreviations such as "e.g." followed by a space
    do split, which is acceptable for the short answers of a chat log. Empty pieces are dropped.

    Examples
    --------
    >>> split_sentences("Sure! Your order ships today.\\nAnything else?")
    ['Sure!', 'Your order ships today.', 'Anything else?']
    >>> split_sentences("")
    []
    """
    return [s for s in (p.strip() for p in _SENT_RE.split(text)) if s]


def as_text_list(values, name: str = "text") -> list[str]:
    """Turn a sequence of texts into a list of ``str``; missing values become ``""``.

    Raises ``TypeError`` naming ``name`` and the first offending positions when a value is neither
    a string nor missing (None, NaN, ``pd.NA``).

    Examples
    --------
    >>> as_text_list(["a", None, float("nan")])
    ['a', '', '']
    """
    import pandas as pd

    s = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    missing = s.isna().to_numpy()
    out = s.astype(object).tolist()
    bad = []
    for i, (v, m) in enumerate(zip(out, missing)):
        if m:
            out[i] = ""
        elif not isinstance(v, str):
            bad.append(i)
    if bad:
        shown = ", ".join(f"{i}: {out[i]!r:.40}" for i in bad[:5])
        raise TypeError(
            f"{name}: expected strings or missing values; {len(bad)} value(s) are not "
            f"(position: value) {shown}"
        )
    return out


def smooth_idf(df, n_docs: float) -> np.ndarray:
    """The smoothed IDF of scikit-learn's ``TfidfTransformer``: ``ln((1 + n) / (1 + df)) + 1``.

    ``df`` may be weighted (a duplicate text counted once per row it stands for).

    Examples
    --------
    >>> smooth_idf([1, 3], 3).round(4).tolist()
    [1.6931, 1.0]
    """
    return np.log((1.0 + float(n_docs)) / (1.0 + np.asarray(df, dtype=np.float64))) + 1.0


def tf_weights(count, sublinear: bool = False) -> np.ndarray:
    """Term-frequency weights: raw counts, or ``1 + ln(count)`` when ``sublinear`` (counts >= 1).

    Examples
    --------
    >>> tf_weights([1, 2], sublinear=True).round(4).tolist()
    [1.0, 1.6931]
    """
    c = np.asarray(count, dtype=np.float64)
    return 1.0 + np.log(c) if sublinear else c


@lru_cache(maxsize=1)
def _word_table() -> np.ndarray:
    """Boolean table over all code points: is it a regex word character (``\\w``)?"""
    table = np.zeros(0x110000, dtype=bool)
    # ASCII and the BMP via str methods; identical to re's \w (isalnum or underscore).
    chars = "".join(map(chr, range(0xD800))) + "".join(map(chr, range(0xE000, 0x110000)))
    codes = np.array([ord(c) for c in chars if c.isalnum()], dtype=np.int64)
    table[codes] = True
    table[ord("_")] = True
    return table


_POW_CACHE: dict[str, np.ndarray] = {}


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**k and P**-k modulo 2**64 for k < n (cached, grown by doubling)."""
    have = _POW_CACHE.get("pw")
    if have is None or have.size < n:
        size = max(n, 2 * (have.size if have is not None else 1 << 16))
        with np.errstate(over="ignore"):
            pw = np.full(size, _P, dtype=np.uint64)
            pw[0] = 1
            np.cumprod(pw, out=pw)
            ipw = np.full(size, _P_INV, dtype=np.uint64)
            ipw[0] = 1
            np.cumprod(ipw, out=ipw)
        _POW_CACHE["pw"], _POW_CACHE["ipw"] = pw, ipw
    return _POW_CACHE["pw"][:n], _POW_CACHE["ipw"][:n]


@dataclass(frozen=True)
class HashedTokens:
    """Tokens of a batch of documents: document index, 64-bit hash and length of each token.

    Tokens are in document order, and in text order within a document.
    """

    doc: np.ndarray
    hash: np.ndarray
    length: np.ndarray
    n_docs: int


def hash_string(token: str) -> int:
    """The 64-bit hash :func:`hash_tokens` gives a token (``sum(ord(c) * P**k) mod 2**64``).

    Examples
    --------
    >>> hash_string("password") == int(hash_tokens(["password"]).hash[0])
    True
    """
    h = 0
    p = 1
    for ch in token:
        h = (h + ord(ch) * p) & 0xFFFFFFFFFFFFFFFF
        p = (p * _P) & 0xFFFFFFFFFFFFFFFF
    return h


@lru_cache(maxsize=8)
def _stop_hashes(words: frozenset) -> np.ndarray:
    return np.sort(np.array([hash_string(w) for w in words], dtype=np.uint64))


_STEM_CACHE: dict[int, int] = {}


def _stemmer():
    from nltk.stem.porter import PorterStemmer  # imported only when stemming is asked for

    return PorterStemmer()


def hash_tokens(
    texts: Sequence[str], *, stop_words: frozenset | None = None, stem: bool = False
) -> HashedTokens:
    """Hash every token (as :func:`tokenize` defines them) of a batch of texts, vectorised.

    Parameters
    ----------
    texts : list of str
    stop_words : frozenset of str, optional
        Lower-case tokens to drop (e.g. :data:`STOP_WORDS`).
    stem : bool
        Replace each token by its Porter stem (NLTK's ``PorterStemmer``; tokens with digits
        are kept as they are). The stem of each distinct token is computed once per process.

    Examples
    --------
    >>> ht = hash_tokens(["Reset password", "", "password"])
    >>> ht.doc.tolist(), bool(ht.hash[1] == ht.hash[2]), ht.length.tolist()
    ([0, 0, 2], True, [5, 8, 8])
    >>> int(hash_tokens(["the passwords"], stop_words=STOP_WORDS, stem=True).hash[0]) == hash_string("password")
    True
    """
    n_docs = len(texts)
    if n_docs == 0:
        e = np.zeros(0, dtype=np.int64)
        return HashedTokens(e, e.astype(np.uint64), e, 0)
    joined = "\x00".join(t.replace("\x00", " ") if "\x00" in t else t for t in texts).lower()
    cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    isw = _word_table()[cp].view(np.int8)
    d = np.diff(isw, prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    length = ends - starts
    keep = length >= 2
    starts, ends, length = starts[keep], ends[keep], length[keep]
    n = cp.size
    pw, ipw = _powers(n + 1)
    with np.errstate(over="ignore"):
        prefix = np.empty(n + 1, dtype=np.uint64)
        prefix[0] = 0
        np.cumsum(cp * pw[:n], out=prefix[1:])
        h = (prefix[ends] - prefix[starts]) * ipw[starts]
    if stop_words:
        keep = ~np.isin(h, _stop_hashes(frozenset(stop_words)))
        starts, length, h = starts[keep], length[keep], h[keep]
    if stem and h.size:
        import pandas as pd

        codes, uniq = pd.factorize(h)
        uniq = np.asarray(uniq, dtype=np.uint64)
        first = np.full(uniq.size, -1, dtype=np.int64)
        first[codes[::-1]] = np.arange(codes.size - 1, -1, -1)
        new = uniq.copy()
        stemmer = None
        for j, hv in enumerate(uniq.tolist()):
            sh = _STEM_CACHE.get(hv)
            if sh is None:
                s0 = int(starts[first[j]])
                tok = joined[s0 : s0 + int(length[first[j]])]
                if any(c.isdigit() for c in tok):
                    sh = hv
                else:
                    if stemmer is None:
                        stemmer = _stemmer()
                    sh = hash_string(stemmer.stem(tok))
                _STEM_CACHE[hv] = sh
            new[j] = sh
        h = new[codes]
    seps = np.flatnonzero(cp == 0)
    doc = np.searchsorted(seps, starts).astype(np.int64)
    return HashedTokens(doc, h, length.astype(np.int64), n_docs)


@dataclass(frozen=True)
class TermPairs:
    """Term counts of a batch of documents: one entry per (document, distinct term).

    ``term`` indexes ``vocab`` (the batch's distinct token hashes); ``n_tokens`` is the number of
    tokens of each document.
    """

    doc: np.ndarray  # int32, sorted
    term: np.ndarray  # int32, index into vocab
    count: np.ndarray  # int32
    vocab: np.ndarray  # uint64 hashes
    n_tokens: np.ndarray  # int64 per document
    n_docs: int


def term_pairs(
    texts: Sequence[str], *, stop_words: frozenset | None = None, stem: bool = False
) -> TermPairs:
    """Count each distinct term of each document (vectorised; see :func:`hash_tokens`).

    Examples
    --------
    >>> tp = term_pairs(["a b b", "bb bb cc"])
    >>> tp.doc.tolist(), tp.count.tolist()
    ([1, 1], [2, 1])
    """
    import pandas as pd

    ht = hash_tokens(texts, stop_words=stop_words, stem=stem)
    # codes in hash order: every sum over a document's terms then runs in the same order
    # whatever the batch, so results do not depend on how documents are batched
    codes, vocab = pd.factorize(ht.hash, sort=True)
    codes = codes.astype(np.int64)
    key = (ht.doc << 32) | codes
    key.sort(kind="stable")  # keys are grouped by document already: timsort runs
    if key.size:
        first = np.empty(key.size, dtype=bool)
        first[0] = True
        np.not_equal(key[1:], key[:-1], out=first[1:])
        idx = np.flatnonzero(first)
        count = np.diff(np.append(idx, key.size)).astype(np.int32)
        uk = key[idx]
    else:
        count = np.zeros(0, dtype=np.int32)
        uk = key
    n_tokens = np.bincount(ht.doc, minlength=ht.n_docs).astype(np.int64)
    return TermPairs(
        doc=(uk >> 32).astype(np.int32),
        term=(uk & 0xFFFFFFFF).astype(np.int32),
        count=count,
        vocab=np.asarray(vocab, dtype=np.uint64),
        n_tokens=n_tokens,
        n_docs=ht.n_docs,
    )


def document_frequencies(
    texts: Sequence[str], *, stop_words: frozenset | None = None, stem: bool = False, chunk_size: int = 5000
) -> tuple[np.ndarray, np.ndarray]:
    """Sorted term hashes of ``texts`` and the number of texts containing each (the DF of a TF-IDF).

    Examples
    --------
    >>> h, df = document_frequencies(["a bb bb", "bb cc"])
    >>> len(h), sorted(df.tolist())   # 'bb' is in both texts, 'cc' in one ('a' is too short)
    (2, [1, 2])
    """
    import pandas as pd

    parts = [term_pairs(texts[i : i + chunk_size], stop_words=stop_words, stem=stem)
             for i in range(0, len(texts), chunk_size)]
    if not parts:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    allv = np.concatenate([p.vocab for p in parts])
    dfs = np.concatenate([np.bincount(p.term, minlength=p.vocab.size) for p in parts])
    codes, uniq = pd.factorize(allv, sort=True)
    return np.asarray(uniq, dtype=np.uint64), np.bincount(codes, weights=dfs, minlength=len(uniq)).astype(np.int64)


@dataclass(frozen=True)
class PairBatch:
    """Hashed term counts of a batch of text pairs (docs ``0..n-1`` = a, ``n..2n-1`` = b)."""

    pairs: TermPairs
    n_rows: int
    shared_row: np.ndarray  # row of each term shared by a[row] and b[row]
    shared_term: np.ndarray
    shared_count_a: np.ndarray
    shared_count_b: np.ndarray


def pair_batch(
    a: Sequence[str], b: Sequence[str], *, stop_words: frozenset | None = None, stem: bool = False
) -> PairBatch:
    """Term counts of ``a + b`` and the terms each pair ``(a[i], b[i])`` shares.

    Examples
    --------
    >>> pb = pair_batch(["reset password"], ["password reset link"])
    >>> pb.n_rows, pb.shared_row.tolist()
    (1, [0, 0])
    """
    n = len(a)
    tp = term_pairs(list(a) + list(b), stop_words=stop_words, stem=stem)
    is_b = tp.doc >= n
    row = np.where(is_b, tp.doc - n, tp.doc).astype(np.int64)
    key = (row << 32) | tp.term.astype(np.int64)
    ka, kb = key[~is_b], key[is_b]
    common, ia, ib = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    return PairBatch(
        tp, n, common >> 32, common & 0xFFFFFFFF, tp.count[~is_b][ia], tp.count[is_b][ib]
    )


@dataclass
class HashedTfidf:
    """TF-IDF over hashed tokens, fitted once on a corpus; row-wise cosine of text pairs.

    With the defaults the weights equal ``TfidfVectorizer()``'s: ``tf * idf`` with
    ``idf = ln((1 + n) / (1 + df)) + 1`` (``smooth_idf``), optional ``1 + ln(tf)``
    (``sublinear_tf``), L2-normalised rows. Terms unseen at fit time are ignored, as scikit-learn
    does.

    Parameters
    ----------
    stop_words : frozenset of str, optional
        Tokens to drop, e.g. :data:`STOP_WORDS` (scikit-learn's ``stop_words=`` equivalent).
    stem : bool
        Porter-stem the tokens (as a custom scikit-learn analyzer would).
    sublinear_tf : bool
        Replace counts by ``1 + ln(count)``.
    min_df : int
        Terms in fewer documents are dropped from the vocabulary.
    chunk_size : int
        Documents hashed per batch (memory stays bounded; results do not depend on it).

    Examples
    --------
    >>> m = HashedTfidf().fit(["my order is late", "where is my order", "opening hours"])
    >>> m.n_docs, len(m.hashes)
    (3, 7)
    >>> m.rowwise_cosine(["order late"], ["opening hours"]).tolist()
    [0.0]
    """

    stop_words: frozenset | None = None
    stem: bool = False
    sublinear_tf: bool = False
    min_df: int = 1
    chunk_size: int = 5000
    hashes: np.ndarray = field(default=None, repr=False)  # sorted uint64 vocabulary
    idf: np.ndarray = field(default=None, repr=False)
    n_docs: int = 0

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, texts: Sequence[str]) -> "HashedTfidf":
        """Fit the vocabulary and IDF on ``texts`` (a list of strings)."""
        texts = as_text_list(texts, "texts")
        hashes, df = document_frequencies(texts, stop_words=self.stop_words, stem=self.stem, chunk_size=self.chunk_size)
        return self._with_idf(hashes, df, len(texts))

    def _with_idf(self, hashes: np.ndarray, df: np.ndarray, n_docs: int) -> "HashedTfidf":
        """Keep the terms in ``min_df`` or more documents; their smoothed IDF."""
        keep = df >= self.min_df
        self.hashes = hashes[keep]
        self.idf = smooth_idf(df[keep], n_docs)
        self.n_docs = int(n_docs)
        return self

    @classmethod
    def from_document_frequencies(cls, hashes, df, n_docs: int, **params) -> "HashedTfidf":
        """A fitted model from term hashes and their document frequencies over ``n_docs`` documents.

        The counts may come from several batches, machines or partitions
        (:func:`document_frequencies` of each, summed per hash): the model equals ``fit`` on all
        the documents at once.

        Examples
        --------
        >>> texts = ["my order is late", "where is my order", "opening hours"]
        >>> h, df = document_frequencies(texts)
        >>> m = HashedTfidf.from_document_frequencies(h, df, len(texts))
        >>> bool((m.idf == HashedTfidf().fit(texts).idf).all())
        True
        """
        import pandas as pd

        hashes = np.asarray(hashes, dtype=np.uint64)
        df = np.asarray(df, dtype=np.float64)
        if hashes.size and not (hashes[1:] > hashes[:-1]).all():  # not sorted and unique: sum per hash
            s = pd.Series(df).groupby(hashes).sum()
            hashes, df = s.index.to_numpy(dtype=np.uint64), s.to_numpy(dtype=np.float64)
        return cls(**params)._with_idf(hashes, df, n_docs)

    def _check_fitted(self):
        if self.hashes is None:
            raise RuntimeError("HashedTfidf is not fitted: call fit(texts) first")

    def idf_of(self, vocab: np.ndarray) -> np.ndarray:
        """IDF of each hash in ``vocab`` (0 for terms outside the fitted vocabulary)."""
        self._check_fitted()
        vocab = np.asarray(vocab, dtype=np.uint64)
        if self.hashes.size == 0:
            return np.zeros(vocab.size)
        pos = np.minimum(np.searchsorted(self.hashes, vocab), self.hashes.size - 1)
        return np.where(self.hashes[pos] == vocab, self.idf[pos], 0.0)

    def _tf(self, count: np.ndarray) -> np.ndarray:
        return tf_weights(count, self.sublinear_tf)

    # -- scoring -----------------------------------------------------------------------------
    def rowwise_cosine(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Cosine similarity of ``a[i]`` and ``b[i]`` for every ``i`` (0 when either is empty)."""
        self._check_fitted()
        a = as_text_list(a, "a")
        b = as_text_list(b, "b")
        if len(a) != len(b):
            raise ValueError(f"rowwise_cosine: a has {len(a)} texts, b has {len(b)}")
        out = np.zeros(len(a))
        step = max(1, self.chunk_size // 2)
        for i in range(0, len(a), step):
            part = pair_batch(a[i : i + step], b[i : i + step], stop_words=self.stop_words, stem=self.stem)
            out[i : i + step] = self.cosine_of_batch(part)
        return out

    def cosine_of_batch(self, part: PairBatch) -> np.ndarray:
        """Row-wise cosines of one :func:`pair_batch` result under this model's IDF."""
        tp = part.pairs
        n_rows = part.n_rows
        idf = self.idf_of(tp.vocab)
        w = self._tf(tp.count) * idf[tp.term]
        norm = np.sqrt(np.bincount(tp.doc, weights=w * w, minlength=2 * n_rows))
        wt = self._tf(part.shared_count_a) * self._tf(part.shared_count_b) * idf[part.shared_term] ** 2
        dot = np.bincount(part.shared_row, weights=wt, minlength=n_rows)
        denom = norm[:n_rows] * norm[n_rows:]
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.where(denom > 0, dot / np.where(denom > 0, denom, 1.0), 0.0)
        return np.clip(cos, 0.0, 1.0)
