"""Input checks: make a series ready for the models (:func:`prepare`) or reject it with a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from toolkit.series import SeriesError, default_season, regularize, series_label

__all__ = ["Prepared", "prepare"]

@dataclass
class Prepared:
    """A series ready for the models: regular, no NaN, with what was done to it."""

    y: pd.Series
    season: int
    periods: tuple[int, ...]
    freq: str | None
    nonnegative: bool
    constant: bool
    notes: list[str] = field(default_factory=list)


#: weeks of hourly data before the weekly cycle joins the daily one: decomposition, anomalies and
#: trend tests (with fewer, its 168 values per cycle soak up the noise) ...
DECOMPOSITION_WEEKS = 4
#: ... and the forecasting models: on real hourly series (benchmarks/bench_forecasting.py) weekdays
#: and weekends differ so much that MSTL without the weekly cycle loses to seasonal naive (600-h
#: windows: OWA 1.20 with periods (24,), 0.75 with (24, 168))
FORECAST_WEEKS = 2


def _periods_for(season: int, freq: str | None, n: int, periods: Sequence[int] | None,
                 weeks: int = DECOMPOSITION_WEEKS) -> tuple[int, ...]:
    if periods is not None:
        ps = tuple(sorted({int(p) for p in periods if int(p) > 1}))
    elif season <= 1:
        ps = ()
    else:
        ps = (season,)
        # hourly data: add the weekly cycle when ``weeks`` weeks are there
        if season == 24 and freq is not None and pd.tseries.frequencies.to_offset(freq).rule_code.lower() == "h":
            if n >= weeks * 168:
                ps = (24, 168)
    return tuple(p for p in ps if n >= 2 * p)


def prepare(
    y: pd.Series,
    season: int | None = None,
    *,
    freq: str | None = None,
    nonnegative: bool | None = None,
    periods: Sequence[int] | None = None,
    max_missing: float = 0.5,
    weeks: int = DECOMPOSITION_WEEKS,
) -> Prepared:
    """Check a series and make it ready for the models; reject what cannot be modelled.

    Rules, each raising :class:`~toolkit.series.SeriesError` with the offending timestamps:

    * timestamps unique and on a regular grid (:func:`toolkit.series.regularize`);
    * no negative values when the series is a count (``nonnegative=True``, or
      ``y.attrs['kind']`` is ``count``/``sum``);
    * at least two full seasons (``2 * season`` points) when ``season > 1``, and at least 8
      points in any case;
    * at most ``max_missing`` of the points missing.

    ``weeks``: hourly data of that many weeks or more gets the periods (24, 168), shorter (24,)
    (:data:`FORECAST_WEEKS` for the forecasting models, :data:`DECOMPOSITION_WEEKS` otherwise).

    Handled (and recorded in ``notes``): leading and trailing missing values are trimmed, inner
    ones (e.g. hours with no conversation for a mean) interpolated linearly; a constant series is
    flagged so that it is forecast as a constant with zero-width intervals.

    Examples
    --------
    >>> import pandas as pd
    >>> y = pd.Series([1.0] * 10, index=pd.date_range("2026-01-01", periods=10, freq="D"))
    >>> prepare(y, season=1).constant
    True
    >>> prepare(y, season=7)
    Traceback (most recent call last):
    ...
    toolkit.series.SeriesError: series (unnamed): too few points for the season: 10 < 2 seasons of 7 (14); give a longer series or a smaller season (season=1 for none)
    """
    label = series_label(y.name)
    kind = (y.attrs or {}).get("kind")
    # the index's own freq only when it runs forwards (a reversed date_range has a negative one)
    own = (y.index.freqstr if isinstance(y.index, pd.DatetimeIndex) and y.index.freq is not None
           and y.index.is_monotonic_increasing else None)
    r = regularize(y, freq or own)
    f = r.attrs.get("freq") or r.index.freqstr
    notes: list[str] = []
    if r.attrs.get("n_gaps"):
        notes.append(f"{r.attrs['n_gaps']} missing timestamps on the {f} grid were treated as missing values")
    if nonnegative is None:
        nonnegative = kind in ("count", "sum")
    vals = r.to_numpy(dtype="float64")
    if nonnegative:
        neg = r.index[vals < 0]
        if len(neg):
            shown = ", ".join(f"{t} ({r[t]:g})" for t in neg[:5]) + (f" (+{len(neg) - 5} more)" if len(neg) > 5 else "")
            raise SeriesError(f"{label}: counts must be >= 0; negative at {shown}")
    ok = np.isfinite(vals)
    if not ok.any():
        raise SeriesError(f"{label}: every value is missing")
    first, last = np.flatnonzero(ok)[[0, -1]]
    if first > 0 or last < len(r) - 1:
        notes.append(f"trimmed {first} leading and {len(r) - 1 - last} trailing missing values")
        r = r.iloc[first : last + 1]
        vals = vals[first : last + 1]
    n = len(r)
    miss = ~np.isfinite(vals)
    if miss.mean() > max_missing:
        raise SeriesError(
            f"{label}: too many missing values: {int(miss.sum())} of {n} ({miss.mean():.0%}) > {max_missing:.0%}; "
            f"first at {', '.join(str(t) for t in r.index[miss][:5])}"
        )
    if miss.any():
        filled = r.interpolate(method="linear", limit_direction="both")
        where = ", ".join(str(t) for t in r.index[miss][:3]) + (" ..." if miss.sum() > 3 else "")
        notes.append(f"interpolated {int(miss.sum())} missing value(s) linearly ({where})")
        r = filled
    s = int(season) if season is not None else default_season(f)
    if s < 1:
        raise SeriesError(f"season must be >= 1, got {season}")
    if n < 8:
        raise SeriesError(f"{label}: too few points: {n} < 8")
    if s > 1 and n < 2 * s:
        raise SeriesError(
            f"{label}: too few points for the season: {n} < 2 seasons of {s} ({2 * s}); "
            "give a longer series or a smaller season (season=1 for none)"
        )
    constant = bool(np.ptp(r.to_numpy()) == 0)
    if constant:
        notes.append(f"constant series (every value {r.iloc[0]:g}): forecast is that constant, intervals have zero width")
    out = pd.Series(r.to_numpy(dtype="float64"), index=pd.DatetimeIndex(r.index, freq=f), name=label)
    out.index.name = "timestamp"
    return Prepared(out, s, _periods_for(s, f, n, periods, weeks), f, bool(nonnegative), constant, notes)
