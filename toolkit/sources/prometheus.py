"""Prometheus: a ``query_range`` result (JSON) to a metric series table, and a live query.

The result is a long table ``series_id, timestamp, value`` (timestamps UTC, values float; the
strings ``"NaN"``, ``"+Inf"``, ``"-Inf"`` that Prometheus writes become NaN/inf), exactly the
shape :func:`toolkit.series.read_series` and ``toolkit forecast`` accept; :func:`to_series`
picks one series as a ``pandas.Series`` on its time grid. Series ids come from the labels that
differ between the result's series (``variant=A``), or the metric name when there is one series.

:func:`query_range` asks a server (``GET /api/v1/query_range``) when given its URL; nothing is
contacted otherwise. :data:`REFERENCE_QUERIES` holds PromQL for the reference design's metrics:
the counter ``chatbot_requests_total`` and the histogram ``chatbot_response_time_seconds``.

Examples
--------
>>> body = {"status": "success", "data": {"resultType": "matrix", "result": [
...     {"metric": {"__name__": "chatbot_requests_total", "variant": "A"}, "values": [[1767610800, "3"], [1767610860, "5"]]},
...     {"metric": {"__name__": "chatbot_requests_total", "variant": "B"}, "values": [[1767610800, "NaN"]]}]}}
>>> df = read_query_range(body)
>>> df["series_id"].tolist(), df["value"].tolist()
(['variant=A', 'variant=A', 'variant=B'], [3.0, 5.0, nan])
>>> str(df["timestamp"].iloc[0])
'2026-01-05 11:00:00+00:00'
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from toolkit.errors import ToolkitError
from toolkit.sources._common import time_ago

__all__ = [
    "PrometheusError",
    "REFERENCE_QUERIES",
    "reference_query",
    "read_query_range",
    "query_range",
    "to_series",
    "series_labels",
]


class PrometheusError(ToolkitError):
    """A Prometheus answer that is an error or not a query result; the message says which."""


#: PromQL for the reference design's metrics ("{by}" is filled by :func:`reference_query`)
REFERENCE_QUERIES: dict[str, str] = {
    "requests_per_s": "sum{by} (rate(chatbot_requests_total[{window}]))",
    "requests": "sum{by} (increase(chatbot_requests_total[{window}]))",
    "response_time_mean": (
        "sum{by} (rate(chatbot_response_time_seconds_sum[{window}])) / "
        "sum{by} (rate(chatbot_response_time_seconds_count[{window}]))"
    ),
    "response_time_p95": "histogram_quantile(0.95, sum by (le{by_extra}) (rate(chatbot_response_time_seconds_bucket[{window}])))",
}


def reference_query(name: str, *, by: Sequence[str] = (), window: str = "5m") -> str:
    """PromQL for a reference metric, optionally one series per label (``by=("variant",)``).

    Examples
    --------
    >>> reference_query("requests_per_s", by=["variant"])
    'sum by (variant) (rate(chatbot_requests_total[5m]))'
    >>> reference_query("response_time_p95")
    'histogram_quantile(0.95, sum by (le) (rate(chatbot_response_time_seconds_bucket[5m])))'
    """
    if name not in REFERENCE_QUERIES:
        raise ValueError(f"unknown reference metric {name!r}; choose from {sorted(REFERENCE_QUERIES)}")
    if not re.fullmatch(r"\d+[smhdwy]", window):
        raise ValueError(f"window must be a PromQL duration like '5m', got {window!r}")
    for label in by:
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label):
            raise ValueError(f"not a Prometheus label name: {label!r}")
    labels = ", ".join(by)
    return REFERENCE_QUERIES[name].format(
        by=f" by ({labels})" if by else "", by_extra=f", {labels}" if by else "", window=window
    )


def _load(source: Any) -> Mapping:
    if isinstance(source, Mapping):
        return source
    if isinstance(source, bytes):
        source = source.decode("utf-8")
    if isinstance(source, os.PathLike) or (isinstance(source, str) and not source.lstrip().startswith("{")):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(f"Prometheus result file not found: {path}") from None
        where = str(path)
    else:
        text, where = source, "text"
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PrometheusError(f"{where} is not JSON ({exc.msg} at line {exc.lineno})") from None


def _value(text: Any) -> float:
    try:
        return float(text)  # float() reads "NaN", "+Inf", "-Inf" as Prometheus writes them
    except (TypeError, ValueError):
        raise PrometheusError(f"sample value {text!r} is not a number") from None


def _series_ids(metrics: list[dict], id_labels: Sequence[str] | None, default: str) -> list[str]:
    if id_labels is not None:
        keys = list(id_labels)
    else:
        all_keys = sorted({k for m in metrics for k in m})
        keys = [k for k in all_keys if len({m.get(k) for m in metrics}) > 1]
    if not keys:
        names = {m.get("__name__") for m in metrics}
        base = next(iter(names)) if len(names) == 1 and None not in names else default
        return [base] * len(metrics) if len(metrics) == 1 else [f"{base}#{i}" for i in range(len(metrics))]
    ids = []
    for m in metrics:
        parts = [f"{k}={m[k]}" if k != "__name__" else str(m[k]) for k in keys if k in m]
        ids.append(",".join(parts) if parts else default)
    return ids


def series_labels(source: Any) -> dict[str, dict[str, str]]:
    """{series_id: labels} for a query_range result (the labels behind each series id).

    Examples
    --------
    >>> series_labels({"status": "success", "data": {"resultType": "matrix", "result": [
    ...     {"metric": {"job": "bot"}, "values": [[0, "1"]]}]}})
    {'value': {'job': 'bot'}}
    """
    body = _check(_load(source))
    result = body["data"]["result"]
    metrics = [dict(r.get("metric") or {}) for r in result]
    return dict(zip(_series_ids(metrics, None, "value"), metrics))


def _check(body: Mapping) -> Mapping:
    if not isinstance(body, Mapping) or "status" not in body:
        raise PrometheusError("not a Prometheus API answer: expected an object with 'status' and 'data'")
    if body["status"] != "success":
        raise PrometheusError(f"Prometheus returned an error: {body.get('errorType', 'error')}: {body.get('error', '(no message)')}")
    data = body.get("data")
    if not isinstance(data, Mapping) or "result" not in data:
        raise PrometheusError("Prometheus answer has no data.result")
    kind = data.get("resultType")
    if kind not in ("matrix", "vector", "scalar"):
        raise PrometheusError(f"data.resultType must be 'matrix' (query_range) or 'vector'; got {kind!r}")
    return body


def read_query_range(source: Any, *, id_labels: Sequence[str] | None = None, default_id: str = "value") -> pd.DataFrame:
    """A ``query_range`` answer as a long series table ``series_id, timestamp, value``.

    Parameters
    ----------
    source : dict, JSON text or path
        The answer of ``/api/v1/query_range`` (``resultType`` ``matrix``; an instant ``vector``
        also works, one row per series).
    id_labels : sequence of str, optional
        Labels that make the series id (``["variant"]`` -> ``variant=A``). Default: the labels
        whose values differ between series; the metric name (or ``default_id``) for a single
        series.
    default_id : str
        Series id when there is nothing better.

    Returns
    -------
    DataFrame
        Columns ``series_id`` (string), ``timestamp`` (datetime64[ns, UTC]), ``value``
        (float64), sorted by series and time. Series labels: :func:`series_labels`.

    Raises
    ------
    PrometheusError
        For an error answer, a non-JSON file, or samples that are not numbers.

    Examples
    --------
    >>> read_query_range({"status": "success", "data": {"resultType": "vector", "result": [
    ...     {"metric": {"job": "bot"}, "value": [1767610800, "+Inf"]}]}})["value"].tolist()
    [inf]
    """
    body = _check(_load(source))
    data = body["data"]
    result = data["result"]
    if data["resultType"] == "scalar":
        result = [{"metric": {}, "value": result}]
    metrics = [dict(r.get("metric") or {}) for r in result]
    ids = _series_ids(metrics, id_labels, default_id)
    if len(set(ids)) < len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise PrometheusError(f"series ids {dup} are not unique; pass id_labels naming the labels that tell the series apart")
    sids, ts, vals = [], [], []
    for sid, r in zip(ids, result):
        samples = r.get("values")
        if samples is None and r.get("value") is not None:
            samples = [r["value"]]
        for pair in samples or []:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise PrometheusError(f"series {sid}: a sample must be [unix_time, \"value\"], got {pair!r}")
            sids.append(sid)
            ts.append(float(pair[0]))
            vals.append(_value(pair[1]))
    frame = pd.DataFrame(
        {
            "series_id": pd.array(sids, dtype="string"),
            # Prometheus times are unix seconds with millisecond precision
            "timestamp": pd.to_datetime(np.round(np.asarray(ts, dtype="float64") * 1000).astype("int64"), unit="ms", utc=True).astype("datetime64[ns, UTC]"),
            "value": np.asarray(vals, dtype="float64"),
        }
    )
    return frame.sort_values(["series_id", "timestamp"], kind="stable").reset_index(drop=True)


def to_series(frame: pd.DataFrame, series_id: str | None = None, *, freq: str | None = None, dropna: bool = False) -> pd.Series:
    """One series of a long table as a float ``Series`` on its regular UTC time grid.

    The grid (``freq``, e.g. ``"5min"``) is inferred from the timestamps unless given; samples
    Prometheus did not return become NaN (see :func:`toolkit.series.regularize`). ``dropna``
    drops NaN samples first.

    Examples
    --------
    >>> df = read_query_range({"status": "success", "data": {"resultType": "matrix", "result": [
    ...     {"metric": {}, "values": [[0, "1"], [60, "2"], [120, "4"]]}]}})
    >>> s = to_series(df)
    >>> s.index.freqstr, s.tolist()
    ('min', [1.0, 2.0, 4.0])
    """
    ids = list(pd.unique(frame["series_id"]))
    if series_id is None:
        if len(ids) != 1:
            raise ValueError(f"the table holds {len(ids)} series ({', '.join(map(str, ids[:10]))}); pass series_id=")
        series_id = ids[0]
    elif series_id not in ids:
        raise ValueError(f"series_id {series_id!r} is not in the table; it has {', '.join(map(str, ids[:10]))}")
    part = frame[frame["series_id"] == series_id]
    s = pd.Series(part["value"].to_numpy(dtype="float64"), index=pd.DatetimeIndex(part["timestamp"]), name=str(series_id))
    if dropna:
        s = s.dropna()
    if len(s) >= 3 or freq is not None:
        from toolkit.series import regularize

        s = regularize(s, freq)  # on its grid (the query's step); missing points become NaN
    return s


def _prom_time(value: Any, name: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{float(value):.3f}"
    value = time_ago(value) or value
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{name} must be unix seconds, an ISO time or a duration ago like '6h'; got {value!r}") from None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name} {value!r} has no time zone; give UTC explicitly (e.g. '...Z')")
        return f"{value.timestamp():.3f}"
    raise ValueError(f"{name} must be unix seconds, an ISO time, a datetime or a duration; got {value!r}")


def _prom_step(step: Any) -> str:
    if isinstance(step, _dt.timedelta):
        return f"{step.total_seconds():g}"
    if isinstance(step, (int, float)) and not isinstance(step, bool):
        if not math.isfinite(step) or step <= 0:
            raise ValueError(f"step must be > 0 seconds, got {step!r}")
        return f"{float(step):g}"
    if isinstance(step, str) and re.fullmatch(r"\d+(?:\.\d+)?[smhdwy]?|\d+(?:ms)", step.strip()):
        return step.strip()
    raise ValueError(f"step must be seconds or a duration like '5m', got {step!r}")


def query_range(
    url: str,
    query: str,
    start: Any,
    end: Any = None,
    step: Any = "60s",
    *,
    timeout: float = 30.0,
    id_labels: Sequence[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Run a range query on a Prometheus server and return its series table.

    Parameters
    ----------
    url : str
        Server base URL, e.g. ``http://127.0.0.1:9090`` (the API path is added).
    query : str
        PromQL, or the name of a :data:`REFERENCE_QUERIES` entry.
    start, end : unix seconds, ISO text with a zone, datetime, or duration ago ("6h")
        ``end`` defaults to now.
    step : seconds, timedelta or a duration ("5m")
    timeout : float
        Seconds.
    id_labels : sequence of str, optional
        As in :func:`read_query_range`.
    headers : mapping, optional
        Extra HTTP headers (e.g. ``Authorization``).

    Returns
    -------
    DataFrame
        ``series_id, timestamp, value``.

    Raises
    ------
    PrometheusError
        When the server answers with an error (its ``errorType`` and ``error`` are quoted) or
        cannot be reached.

    Examples
    --------
    >>> df = query_range("http://127.0.0.1:9090", "requests_per_s", start="6h", step="5m")  # doctest: +SKIP
    """
    if query in REFERENCE_QUERIES:
        query = reference_query(query)
    params = {
        "query": query,
        "start": _prom_time(start, "start"),
        "end": _prom_time(end if end is not None else _dt.datetime.now(_dt.timezone.utc), "end"),
        "step": _prom_step(step),
    }
    full = url.rstrip("/") + "/api/v1/query_range?" + urllib.parse.urlencode(params)
    req = urllib.request.Request(full, headers={"Accept": "application/json", **dict(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read().decode("utf-8"))
            msg = f"{body.get('errorType', 'error')}: {body.get('error', '')}"
        except Exception:
            msg = str(exc)
        raise PrometheusError(f"Prometheus at {url} rejected the query (HTTP {exc.code}): {msg}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise PrometheusError(f"cannot reach Prometheus at {url}: {getattr(exc, 'reason', exc)}") from None
    return read_query_range(text, id_labels=id_labels)
