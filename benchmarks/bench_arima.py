"""The toolkit's conditional-sum-of-squares ARIMA against statsmodels' exact SARIMAX fit.

``toolkit.forecasting`` selects a seasonal ARIMA order by AIC on a small grid (12 candidates
for an hourly series) and forecasts with psi-weight intervals. Each candidate can be fitted by
the own conditional-sum-of-squares fit (``engine="css"``: one ``scipy.signal.lfilter`` per
evaluation, Levenberg-Marquardt) or by statsmodels ``SARIMAX`` exact maximum likelihood
(``engine="mle"``). Both run here, in one process, on the same series: the bundled sample's
hourly volume (the last 744 h) and 5 synthetic hourly series (30 days, daily cycle, AR(1)
noise). Rows: the median time of order selection + a 24 h forecast, css against mle as the
baseline, and the mean MASE (season 24) of both on the 24 held-out hours.
"""

from __future__ import annotations

import time

import numpy as np


def _series(quick: bool):
    import pandas as pd

    import toolkit
    from toolkit.series import metric_series

    out = [("sample volume", metric_series(toolkit.load_sample(), "volume", "h").iloc[-744:])]
    rng = np.random.default_rng(7)
    n = 24 * 31
    t = np.arange(n)
    for i in range(2 if quick else 5):
        e = np.zeros(n)
        z = rng.normal(size=n)
        for k in range(1, n):
            e[k] = 0.7 * e[k - 1] + z[k]
        v = 50 + rng.uniform(4, 12) * np.sin(2 * np.pi * (t - rng.integers(24)) / 24) + 3 * e
        out.append((f"synthetic {i}", pd.Series(v, index=pd.date_range("2026-01-01", periods=n, freq="h"))))
    return out


def run(quick: bool = False) -> list[dict]:
    from toolkit.forecasting.arima import _arima
    from toolkit.forecasting.metrics import mase

    warm = _series(True)[1][1].iloc[:200]  # imports and first calls outside the timings
    for engine in ("css", "mle"):
        _arima(warm, 24, 24, False, engine)
    rows = []
    groups: dict[str, list] = {"sample volume": [], "synthetic": []}
    for name, y in _series(quick):
        train, test = y.iloc[:-24], y.to_numpy()[-24:]
        res = {}
        for engine in ("css", "mle"):
            start = time.perf_counter()
            fc, info = _arima(train, 24, 24, True, engine)
            res[engine] = (time.perf_counter() - start, mase(test, fc["yhat"], train.to_numpy(), 24), info["spec"])
        groups["sample volume" if name == "sample volume" else "synthetic"].append(res)
    for name, rs in groups.items():
        t_css = float(np.median([r["css"][0] for r in rs]))
        t_mle = float(np.median([r["mle"][0] for r in rs]))
        m_css = float(np.mean([r["css"][1] for r in rs]))
        m_mle = float(np.mean([r["mle"][1] for r in rs]))
        label = name if name == "sample volume" else f"{len(rs)} synthetic hourly series"
        rows.append({"metric": f"ARIMA order selection + 24 h forecast, {label}, css vs SARIMAX mle",
                     "value": t_css, "unit": "s", "baseline": t_mle, "ratio": t_mle / t_css,
                     "note": f"ratio = speed-up of css; MASE css {m_css:.3f} vs mle {m_mle:.3f}"
                             + (f"; chose {rs[0]['css'][2]} / {rs[0]['mle'][2]}" if len(rs) == 1 else "")})
    return rows


if __name__ == "__main__":
    import sys

    for row in run(quick="--quick" in sys.argv):
        print(row)
