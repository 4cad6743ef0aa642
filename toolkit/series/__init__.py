"""Metric series: regular time series built from a conversation log or read from a file.

A *series* here is a ``pandas.Series`` of floats on a regular ``DatetimeIndex`` (its ``freq``
set), named after its metric. Two sources:

* :func:`metric_series` aggregates a :class:`~toolkit.log.ConversationLog` into hourly or daily
  buckets: volume (conversations started, turns), response time (mean, p95), quality, error
  rate, cost, resolution, satisfaction, optionally one series per variant or bot. Empty buckets
  are filled by the metric's kind: **zero for counts and sums** (no conversation started that
  hour), **missing (NaN) for means, rates and quantiles** (there is nothing to average).
* :func:`read_series` reads a file holding a two-column table ``timestamp,value`` or a long
  table ``series_id,timestamp,value`` with many series.

:func:`regularize` puts any series on its grid and rejects what cannot be put there, naming the
rule and the offending timestamps (duplicates, off-grid timestamps); missing grid points become
NaN and are reported, never silently dropped.

Examples
--------
>>> import pandas as pd
>>> from toolkit.series import regularize
>>> y = pd.Series([1.0, 2.0, 4.0], index=pd.to_datetime(
...     ["2026-01-01 00:00", "2026-01-01 01:00", "2026-01-01 03:00"], utc=True))
>>> r = regularize(y)
>>> r.index.freqstr, int(r.isna().sum())
('h', 1)
"""

from __future__ import annotations

from toolkit.series.files import is_series_table, peek_columns, read_series, split_long, to_long
from toolkit.series.from_log import METRICS, metric_series
from toolkit.series.grid import (  # noqa: F401 - MAX_VALUE for toolkit forecast
    MAX_VALUE,
    SeriesError,
    default_season,
    infer_freq,
    regularize,
    series_label,
    timestamp_index,
)

__all__ = [
    "SeriesError",
    "METRICS",
    "metric_series",
    "regularize",
    "infer_freq",
    "default_season",
    "read_series",
    "split_long",
    "to_long",
    "is_series_table",
    "peek_columns",
    "series_label",
    "timestamp_index",
]
