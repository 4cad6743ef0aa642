"""A/B on Dask: the two-pass reduction of a unit table built on the cluster, and the user check.

An A/B test on tens of millions of conversations does not need the units on one machine: every
statistic of :func:`toolkit.ab.analyze` except the rank test, the bootstrap and the sequential
path is a function of a few sums per arm (:mod:`toolkit.ab.moments`). :func:`two_pass` builds the
per-unit table on the workers (one partition of whole conversations at a time, with the pandas
unit builder passed in) and reduces it in two passes whose partition functions are passed in too
(the second one gets the added result of the first: the arm means for the centred sums of
squares), so the engine runs the analysis' own code without importing it.
"""

from __future__ import annotations

from functools import reduce
from operator import add
from typing import Any, Callable

__all__ = ["two_pass", "user_variant_counts"]


def _add_all(parts: list):
    return reduce(add, parts)


def two_pass(dlog, units_fn: Callable[[Any], Any], first: Callable[[Any], Any],
             second: Callable[[Any, Any], Any], label: str = "A/B") -> tuple[Any, Any]:
    """Per-unit table on the cluster, then ``sum(first(part))`` and ``sum(second(part, total))``.

    ``units_fn`` maps one partition (a ``ConversationLog`` of whole conversations) to its unit
    table; the results of ``first`` and ``second`` are added with ``+`` on the cluster.

    Examples
    --------
    >>> import dask
    >>> from toolkit.dask_engine.read import sample_dask_log
    >>> log, dlog = sample_dask_log()                  # the bundled sample's first day, on Dask
    >>> with dask.config.set(scheduler="sync"):
    ...     n, ss = two_pass(dlog, lambda lg: lg.conversations, len,
    ...                      lambda units, total: len(units) / total)
    >>> n == len(log.conversations), round(ss, 9)
    (True, 1.0)
    """
    import dask

    from toolkit.dask_engine.client import compute

    units = dlog.map_logs(units_fn).persist()
    try:
        parts = units.to_delayed()
        total, = compute(dask.delayed(_add_all)([dask.delayed(first)(p) for p in parts]),
                         label=f"{label}: units, first pass")
        total2, = compute(dask.delayed(_add_all)([dask.delayed(second)(p, total) for p in parts]),
                          label=f"{label}: second pass")
    finally:
        del units
    return total, total2


def user_variant_counts(dlog, variant_col: str = "variant"):
    """Per user: conversations and distinct variants, and the arms' shares, from the
    conversations table on the cluster (``None`` without one or without ``user_id``); what
    :func:`toolkit.ab.randomisation.check_counts` needs.

    Examples
    --------
    >>> user_variant_counts(type("L", (), {"raw_conversations": None})()) is None
    True
    """
    conv = dlog.raw_conversations
    if conv is None or "user_id" not in conv.columns or variant_col not in conv.columns:
        return None
    d = conv[["user_id", variant_col]].dropna()
    n = d.groupby("user_id")[variant_col].count().compute()
    nv = d.drop_duplicates().groupby("user_id")[variant_col].count().compute()
    shares = d[variant_col].value_counts().compute()
    return n.to_numpy(), nv.reindex(n.index).to_numpy(), (shares / shares.sum()).to_numpy()
