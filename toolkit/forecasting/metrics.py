"""Forecast accuracy: MASE and sMAPE.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mase", "smape"]

def mase(actual: np.ndarray, pred: np.ndarray, train: np.ndarray, m: int = 1) -> float:
    """Mean absolute scaled error: MAE over the in-sample MAE of the seasonal naive (lag m).

    Examples
    --------
    >>> import numpy as np
    >>> mase(np.array([3.0, 5.0]), np.array([4.0, 4.0]), np.array([1.0, 2.0, 3.0, 4.0]), m=1)
    1.0
    """
    train = np.asarray(train, float)
    m = max(1, min(int(m), len(train) - 1))
    scale = np.nanmean(np.abs(train[m:] - train[:-m]))
    a, f = np.asarray(actual, float), np.asarray(pred, float)
    ok = np.isfinite(a) & np.isfinite(f)
    if not ok.any() or not np.isfinite(scale) or scale == 0:
        return float("nan")
    return float(np.mean(np.abs(a[ok] - f[ok])) / scale)


def smape(actual: np.ndarray, pred: np.ndarray) -> float:
    """Symmetric MAPE in percent, ``mean(200 |a - f| / (|a| + |f|))`` (0 where both are 0).

    Examples
    --------
    >>> import numpy as np
    >>> round(smape(np.array([100.0]), np.array([110.0])), 3)
    9.524
    """
    a, f = np.asarray(actual, float), np.asarray(pred, float)
    ok = np.isfinite(a) & np.isfinite(f)
    a, f = a[ok], f[ok]
    if not len(a):
        return float("nan")
    den = np.abs(a) + np.abs(f)
    ratio = np.where(den > 0, 2.0 * np.abs(a - f) / np.where(den > 0, den, 1.0), 0.0)
    return float(100.0 * np.mean(ratio))
