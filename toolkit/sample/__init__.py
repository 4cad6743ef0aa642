"""Realistic sample conversation logs with a planted, recorded truth.

:func:`generate_sample` builds a deterministic customer-service log (a
:class:`~toolkit.log.ConversationLog`) together with the truth that was planted in it: the intent
of every conversation, the kind of every bot answer (``good``, ``generic``, ``off_topic``,
``garbled``), the effect of the prompt variant on resolution, answer quality and satisfaction,
the windows of a latency incident and of a quality regression, the traffic trend and
seasonality, and the price table of the models. Tests and notebooks use the truth to check that
the analyses find what was planted.

What is in the data
    * 18 intents (login trouble, password reset, failed payment, refund request, opening hours,
      order status, shipping delay, ...), 7 phrasings each for the first user message, filled
      with slots (order numbers, products, dates, amounts, promo codes, ...) and light noise
      (greetings, typos, lower case, missing punctuation, "pls").
    * 1-6 turns per conversation: the problem, clarifications, and often a closing message
      ("thanks, that worked" or "this isn't helping") that follows the hidden outcome.
    * Bot answers of four kinds in realistic proportions (about 70/18/8/4 %): on-topic answers
      that reuse the intent's vocabulary, generic filler, answers that belong to another intent,
      and garbled text (shuffled, truncated, repeated fragments, leaked template fields).
    * Variants ``A`` (control) and ``B`` randomised 50/50 per conversation; ``B`` raises the
      per-turn probability of a good answer and the probability of resolution.
    * Hourly Poisson traffic with a daily profile (busy at midday, quiet at night), quieter
      weekends and a growth trend; repeat users; two bots; three models with token counts, costs
      from a price table, lognormal response times, timeouts and rate-limit errors.
    * A 6-hour latency incident (response times x3.5, more timeouts) and a 2-day quality
      regression (good-answer rate -30 points), on known, non-overlapping dates.

The package: ``intents.json`` (the texts: intents, phrasings, slot values, noise),
:mod:`~toolkit.sample.texts` (loads them, builds the templates), :mod:`~toolkit.sample.params`
(the planted model), :mod:`~toolkit.sample.generator` (:func:`generate_sample`, in named steps),
:mod:`~toolkit.sample.truth` (``truth.json``), and here the files: :func:`write_sample`,
:func:`load_sample`; :mod:`~toolkit.sample.partitioned` (:func:`write_partitioned`: millions of
conversations as hive-partitioned Parquet, generated block by block in bounded memory).

Everything is vectorised with numpy (strings are assembled from template segments and slot
values with ``numpy.strings``), so a million turns take seconds; the only randomness is
``numpy.random.default_rng(seed)``.

Examples
--------
>>> from toolkit.sample import generate_sample
>>> s = generate_sample(seed=1, days=7)
>>> len(s.log.conversations) == s.truth["n_conversations"]
True
>>> len(s.truth["intents"]) >= 15
True
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from toolkit._files import cache_dir
from toolkit.sample.generator import BLOCK_CONVERSATIONS, Sample, generate_sample
from toolkit.sample.params import (
    ANSWER_KINDS,
    DEFAULT_CONVERSATIONS_PER_DAY,
    DEFAULT_DAYS,
    DEFAULT_SEED,
    DEFAULT_START,
    MODELS,
)
from toolkit.sample.partitioned import write_partitioned
from toolkit.sample.texts import INTENTS

__all__ = [
    "Sample",
    "generate_sample",
    "write_sample",
    "write_partitioned",
    "load_sample",
    "load_sample_truth",
    "answer_kinds",
    "default_sample_path",
    "INTENTS",
    "ANSWER_KINDS",
    "MODELS",
    "DEFAULT_SEED",
    "DEFAULT_DAYS",
    "DEFAULT_START",
    "BLOCK_CONVERSATIONS",
]

# the files of a sample folder, and where the bundled one is. These stay in the package's
# __init__: tests replace ``toolkit.sample.default_sample_path`` and _sample_folder must see it.

_FILES = ("turns.parquet", "conversations.parquet", "truth.json")


def _truth_json(truth: dict) -> str:
    """Indented JSON with one line per conversation (compact, diff-friendly, deterministic)."""
    marker = "__CONVERSATIONS__"
    convs = truth["conversations"]
    head = {k: (marker if k == "conversations" else v) for k, v in truth.items()}
    text = json.dumps(head, indent=2, ensure_ascii=False)
    lines = ",\n".join(f"    {json.dumps(c)}: {json.dumps(v, separators=(', ', ': '))}" for c, v in convs.items())
    body = "{\n" + lines + "\n  }" if convs else "{}"
    return text.replace(json.dumps(marker), body, 1) + "\n"


def write_sample(out_dir: str | os.PathLike, **kwargs: Any) -> Path:
    """Generate a sample and write ``turns.parquet``, ``conversations.parquet``, ``truth.json``.

    The same arguments give byte-identical files.

    Parameters
    ----------
    out_dir : str or path
        Folder to write into (created if needed; the three files are replaced).
    **kwargs
        Passed to :func:`generate_sample` (``seed``, ``days``, ``conversations``, ``start``, ...);
        or ``sample=`` an already generated :class:`Sample` to write.

    Returns
    -------
    Path
        ``out_dir``.

    Examples
    --------
    >>> import tempfile
    >>> d = write_sample(tempfile.mkdtemp(), seed=1, days=3)
    >>> sorted(p.name for p in d.iterdir())
    ['conversations.parquet', 'truth.json', 'turns.parquet']
    """
    sample = kwargs.pop("sample", None) or generate_sample(**kwargs)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write(sample, out)
    return out


def _write(sample: Sample, out: Path) -> None:
    from toolkit._files import atomic_write_bytes, atomic_write_text

    for name, frame in (("turns.parquet", sample.log.turns), ("conversations.parquet", sample.log.conversations)):
        buf = frame.to_parquet(index=False, compression="zstd")
        atomic_write_bytes(out / name, buf)
    atomic_write_text(out / "truth.json", _truth_json(sample.truth))
    for name in _FILES:  # readable data files, like any other file in a repository
        os.chmod(out / name, 0o644)


def default_sample_path() -> Path:
    """The folder of the bundled default sample (``data/sample`` next to the package).

    Examples
    --------
    >>> default_sample_path().name
    'sample'
    """
    import toolkit

    return Path(toolkit.__file__).resolve().parents[1] / "data" / "sample"


def _cache_path() -> Path:
    import toolkit

    return cache_dir(f"sample-{toolkit.__version__}-seed{DEFAULT_SEED}")


def _sample_folder() -> Path:
    """The bundled sample, or (non-editable installs) a cached copy generated once."""
    bundled = default_sample_path()
    if all((bundled / f).is_file() for f in _FILES):
        return bundled
    cache = _cache_path()
    if all((cache / f).is_file() for f in _FILES):
        return cache
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir=cache.parent))
    try:
        write_sample(tmp, seed=DEFAULT_SEED, days=DEFAULT_DAYS, start=DEFAULT_START)
        try:
            tmp.rename(cache)
        except OSError:  # another process won the race
            if not all((cache / f).is_file() for f in _FILES):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return cache


def load_sample():
    """Load the bundled default sample log (60 days, seed 0) as a ConversationLog.

    Reads ``data/sample`` next to the package; when it is missing (a non-editable install) the
    default sample is generated once into ``~/.cache/chatbot-toolkit/`` and read from there.

    Returns
    -------
    ConversationLog

    Examples
    --------
    >>> log = load_sample()
    >>> log.summary()["variants"]
    ['A', 'B']
    """
    import pandas as pd

    from toolkit.log import validate

    folder = _sample_folder()
    turns = pd.read_parquet(folder / "turns.parquet")
    convs = pd.read_parquet(folder / "conversations.parquet")
    return validate(turns, convs, source=str(folder))


def load_sample_truth() -> dict:
    """The truth planted in the bundled default sample (the parsed ``truth.json``).

    Examples
    --------
    >>> truth = load_sample_truth()
    >>> len(truth["intents"]) >= 15
    True
    """
    return json.loads((_sample_folder() / "truth.json").read_text(encoding="utf-8"))


def answer_kinds(turns, truth: dict):
    """The planted kind of every answer of ``turns`` (``good``, ``generic``, ``off_topic``,
    ``garbled``), looked up in the sample's ``truth`` by ``conversation_id`` and ``turn``.

    Examples
    --------
    >>> s = generate_sample(seed=1, days=1)
    >>> kinds = answer_kinds(s.log.turns, s.truth)
    >>> len(kinds) == len(s.log.turns), set(kinds) <= set(ANSWER_KINDS)
    (True, True)
    """
    import numpy as np

    from toolkit.errors import ToolkitError

    conv = truth.get("conversations") if isinstance(truth, dict) else None
    if not conv:
        raise ToolkitError("answer kinds need the sample's truth with per-conversation 'answer_kinds' "
                           "(toolkit.sample.load_sample_truth())")
    out = np.empty(len(turns), dtype=object)
    for i, (c, k) in enumerate(zip(turns["conversation_id"].astype(str), turns["turn"])):
        try:
            out[i] = conv[c]["answer_kinds"][int(k)]
        except (KeyError, IndexError):
            raise ToolkitError(f"turn ({c}, {k}) has no answer kind in the truth: is this the log "
                               "the truth belongs to?") from None
    return out
