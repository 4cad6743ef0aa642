"""Prometheus query_range JSON -> metric series table; a real server on loopback when installed."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.sources.prometheus import (
    PrometheusError,
    query_range,
    read_query_range,
    reference_query,
    series_labels,
    to_series,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "prometheus_query_range.json"
T0 = pd.Timestamp(1767610800, unit="s", tz="UTC")


def test_query_range_file_to_long_series_table():
    df = read_query_range(FIXTURE)
    assert list(df.columns) == ["series_id", "timestamp", "value"]
    assert str(df["timestamp"].dtype) == "datetime64[ns, UTC]" and df["value"].dtype == "float64"
    assert sorted(df["series_id"].unique()) == ["variant=A", "variant=B"]  # bot_id is the same for both
    a = df[df["series_id"] == "variant=A"]
    assert len(a) == 24 and a["timestamp"].iloc[0] == T0 and a["timestamp"].diff().dropna().eq(pd.Timedelta("5min")).all()
    body = json.loads(FIXTURE.read_text())
    assert a["value"].tolist() == [float(v) for _, v in body["data"]["result"][0]["values"]]
    b = df[df["series_id"] == "variant=B"]
    assert int(b["value"].isna().sum()) == 1 and np.isnan(b["value"].iloc[5])  # "NaN" sample
    assert series_labels(FIXTURE)["variant=B"] == {"bot_id": "acme", "variant": "B"}
    # the same table from a dict or JSON text, and with explicit id labels
    pd.testing.assert_frame_equal(read_query_range(body), df)
    pd.testing.assert_frame_equal(read_query_range(FIXTURE.read_text()), df)
    assert set(read_query_range(body, id_labels=["bot_id", "variant"])["series_id"]) == {"bot_id=acme,variant=A", "bot_id=acme,variant=B"}


def test_series_table_is_what_the_forecasting_side_accepts(tmp_path):
    from toolkit.series import read_series, split_long

    df = read_query_range(FIXTURE)
    path = tmp_path / "latency.csv"
    df.to_csv(path, index=False)
    back = read_series(path)
    assert list(back.columns) == ["series_id", "timestamp", "value"] and len(back) == 48
    series = split_long(back)
    assert sorted(series) == ["variant=A", "variant=B"]
    assert series["variant=A"].index.freqstr == "5min" and len(series["variant=A"]) == 24
    s = to_series(df, "variant=A")
    assert s.tolist() == series["variant=A"].tolist() and list(s.index) == list(series["variant=A"].index)
    assert s.index.freqstr == "5min"
    with pytest.raises(ValueError, match="holds 2 series"):
        to_series(df)


def test_forecasting_accepts_the_series():
    from toolkit.forecasting import forecast

    df = read_query_range(FIXTURE)
    a = to_series(df, "variant=A")
    fc = forecast(a, horizon=6, model="snaive", season=12)  # the fixture repeats every 12 samples
    assert fc.frame["yhat"].tolist() == pytest.approx(a.iloc[12:18].tolist())
    assert fc.frame.index[0] == a.index[-1] + pd.Timedelta("5min")
    b = forecast(to_series(df, "variant=B"), horizon=3, model="snaive", season=12)  # its NaN sample is interpolated
    assert np.isfinite(b.frame["yhat"]).all()


def test_forecast_cli_accepts_the_series(tmp_path):
    from contextlib import redirect_stderr, redirect_stdout
    from io import StringIO

    import pandas as pd

    from toolkit.cli import main

    df = read_query_range(FIXTURE)
    path = tmp_path / "series.csv"
    df.to_csv(path, index=False)  # the long series_id,timestamp,value table
    out_file = tmp_path / "fc.csv"
    argv = ["forecast", str(path), "--horizon", "6", "--season", "12", "--model", "snaive",
            "--out", str(out_file), "--no-progress"]
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    assert code == 0, f"toolkit {' '.join(argv)} failed: {err.getvalue()}"
    fc = pd.read_csv(out_file)
    assert list(fc.columns[:7]) == ["series_id", "timestamp", "yhat", "lo80", "hi80", "lo95", "hi95"]
    assert set(fc["series_id"]) == set(df["series_id"])
    assert (fc.groupby("series_id").size() == 6).all()
    assert (fc["lo95"] <= fc["yhat"]).all() and (fc["yhat"] <= fc["hi95"]).all()


def test_error_answers_are_clear(tmp_path):
    with pytest.raises(PrometheusError, match="bad_data: invalid parameter"):
        read_query_range({"status": "error", "errorType": "bad_data", "error": "invalid parameter \"query\""})
    with pytest.raises(PrometheusError, match="resultType must be 'matrix'"):
        read_query_range({"status": "success", "data": {"resultType": "streams", "result": []}})
    (tmp_path / "x.json").write_text("not json")
    with pytest.raises(PrometheusError, match="x.json is not JSON"):
        read_query_range(tmp_path / "x.json")
    with pytest.raises(PrometheusError, match="not unique"):
        read_query_range(FIXTURE, id_labels=["bot_id"])
    with pytest.raises(ValueError, match="unknown reference metric"):
        reference_query("nope")
    assert reference_query("response_time_p95", by=["variant"]) == (
        "histogram_quantile(0.95, sum by (le, variant) (rate(chatbot_response_time_seconds_bucket[5m])))"
    )


# ------------------------------------------------------------------------------------------------
# a real Prometheus on loopback, fed with backfilled samples
# ------------------------------------------------------------------------------------------------

PROMETHEUS, PROMTOOL = shutil.which("prometheus") or "/usr/bin/prometheus", shutil.which("promtool") or "/usr/bin/promtool"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def prometheus_server(tmp_path):
    """Backfill two hours of samples with promtool, start Prometheus on 127.0.0.1, stop it after."""
    if not (os.access(PROMETHEUS, os.X_OK) and os.access(PROMTOOL, os.X_OK)):
        pytest.skip("Debian's prometheus package (prometheus, promtool) is not installed")
    step = 60
    end = (int(time.time()) // 3600) * 3600 - 3600  # whole hours, older than the head block
    start = end - 2 * 3600
    stamps = list(range(start, end + 1, step))
    lines = ["# HELP chatbot_requests Requests answered.", "# TYPE chatbot_requests counter"]
    for variant, per_min in (("A", 30), ("B", 12)):
        for i, t in enumerate(stamps):
            lines.append(f'chatbot_requests_total{{bot_id="acme",variant="{variant}"}} {per_min * i} {t}')
    lines += ["# HELP chatbot_active_conversations Open conversations.", "# TYPE chatbot_active_conversations gauge"]
    for i, t in enumerate(stamps):
        lines.append(f'chatbot_active_conversations{{bot_id="acme"}} {10 + (i % 7)} {t}')
    lines.append("# EOF")
    om = tmp_path / "samples.om"
    om.write_text("\n".join(lines) + "\n")
    data = tmp_path / "tsdb"
    subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(om), str(data)], check=True, capture_output=True, timeout=120)
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
    proc = None
    try:
        for _attempt in range(3):
            port = _free_port()
            proc = subprocess.Popen(
                [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}",
                 "--storage.tsdb.retention.time=100y", "--log.level=warn"],  # fmt: skip
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            deadline = time.time() + 20
            while time.time() < deadline and proc.poll() is None:
                try:
                    with urllib.request.urlopen(url + "/-/ready", timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.1)
            if proc.poll() is None:
                break
            proc.wait()
            proc = None
        if proc is None:
            pytest.fail("prometheus did not start on loopback")
        yield {"url": url, "stamps": stamps}
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stderr:
            proc.stderr.close()


def test_live_query_range_on_a_real_prometheus(prometheus_server):
    from toolkit.series import split_long

    url, stamps = prometheus_server["url"], prometheus_server["stamps"]
    raw = query_range(url, "chatbot_requests_total", start=stamps[0], end=stamps[-1], step=60)
    assert sorted(raw["series_id"].unique()) == ["variant=A", "variant=B"]
    a = raw[raw["series_id"] == "variant=A"]
    assert len(a) == len(stamps)
    assert a["timestamp"].tolist() == list(pd.to_datetime(stamps, unit="s", utc=True))
    assert a["value"].tolist() == [30.0 * i for i in range(len(stamps))]  # the backfilled samples, exactly

    rate = query_range(url, reference_query("requests_per_s", by=["variant"]), start=stamps[10], end=stamps[-1], step="5m")
    per_variant = rate.groupby("series_id")["value"]
    # the counters grow 30 and 12 per minute: 0.5 and 0.2 per second
    assert per_variant.min().to_dict() == pytest.approx({"variant=A": 0.5, "variant=B": 0.2})
    assert per_variant.max().to_dict() == pytest.approx({"variant=A": 0.5, "variant=B": 0.2})
    series = split_long(rate)
    assert series["variant=A"].index.freqstr == "5min"

    gauge = to_series(query_range(url, "chatbot_active_conversations", start=stamps[0], end=stamps[-1], step="1m"))
    assert gauge.name == "chatbot_active_conversations"
    assert gauge.tolist() == [10.0 + (i % 7) for i in range(len(stamps))]

    with pytest.raises(PrometheusError, match="bad_data"):
        query_range(url, "sum(rate(", start=stamps[0], end=stamps[-1])


def test_unreachable_server_is_a_clear_error():
    port = _free_port()
    with pytest.raises(PrometheusError, match=f"cannot reach Prometheus at http://127.0.0.1:{port}"):
        query_range(f"http://127.0.0.1:{port}", "up", start=0, end=60, step=15, timeout=2)
