"""Sample-ratio-mismatch check and multiple-testing adjustment of p-values.

Examples
--------
>>> srm_check({"A": 5000, "B": 5000}).flagged
False
>>> adjust_pvalues([0.01, 0.04, 0.03], "holm")
array([0.03, 0.06, 0.06])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special as _sp

from toolkit.ab.metrics import CORRECTIONS, ABInputError, one_of

__all__ = ["SRMResult", "srm_check", "adjust_pvalues", "adjust_rows"]

@dataclass(frozen=True)
class SRMResult:
    """Sample-ratio-mismatch check: are the arm sizes consistent with the planned split?"""

    counts: dict[str, int]
    expected_share: dict[str, float]
    expected: dict[str, float]
    chi2: float
    df: int
    p_value: float
    threshold: float
    flagged: bool
    method: str = "chi-square goodness of fit vs planned allocation"

    @property
    def message(self) -> str:
        """A one-line banner: OK or a warning not to trust the results."""
        obs = ", ".join(f"{k}: {v:,}" for k, v in self.counts.items())
        exp = ", ".join(f"{k}: {v:.1%}" for k, v in self.expected_share.items())
        if self.flagged:
            return (f"SAMPLE RATIO MISMATCH (p = {self.p_value:.2g} < {self.threshold:g}): "
                    f"observed {obs}; planned {exp}. The assignment or logging is broken; "
                    "do not trust the comparisons until it is explained.")
        return (f"No sample ratio mismatch (chi2 = {self.chi2:.2f}, df = {self.df}, "
                f"p = {self.p_value:.3g}): observed {obs}; planned {exp}.")

    def to_dict(self) -> dict:
        """JSON-ready dict of the fields and the message."""
        from dataclasses import asdict

        return {**asdict(self), "message": self.message}

    def summary_table(self) -> pd.DataFrame:
        """Observed and expected units per arm, with the test in every row."""
        return pd.DataFrame({"arm": list(self.counts), "units": list(self.counts.values()),
                             "expected share": [self.expected_share[a] for a in self.counts],
                             "expected units": [self.expected[a] for a in self.counts],
                             "p": self.p_value, "flagged": self.flagged})


def srm_check(counts: dict[str, int] | pd.Series, planned: dict[str, float] | None = None,
              threshold: float = 0.001) -> SRMResult:
    """Chi-square goodness-of-fit test of arm sizes against the planned allocation.

    Parameters
    ----------
    counts : dict or Series
        Units per arm.
    planned : dict, optional
        Planned share (or weight) per arm; default equal. Normalised to sum to 1.
    threshold : float
        Flag when ``p < threshold`` (0.001 by convention: SRM checks run on every test).

    Examples
    --------
    >>> srm_check({"A": 5000, "B": 5000}).flagged
    False
    >>> srm_check({"A": 5200, "B": 4800}).flagged
    True
    """
    counts = {str(k): int(v) for k, v in dict(counts).items()}
    if len(counts) < 2:
        raise ABInputError("sample-ratio check needs at least two arms")
    if planned is None:
        planned = {k: 1.0 for k in counts}
    planned = {str(k): float(v) for k, v in dict(planned).items()}
    missing = sorted(set(counts) - set(planned))
    extra = sorted(set(planned) - set(counts))
    if missing or extra:
        raise ABInputError(
            "planned allocation does not match the arms: "
            + (f"arms without a planned share: {missing}; " if missing else "")
            + (f"planned arms not observed: {extra}" if extra else ""))
    if any(v <= 0 for v in planned.values()):
        raise ABInputError(f"planned allocation shares must be > 0, got {planned}")
    tot_w = sum(planned.values())
    share = {k: planned[k] / tot_w for k in counts}
    n = sum(counts.values())
    expected = {k: n * share[k] for k in counts}
    chi2 = float(sum((counts[k] - expected[k]) ** 2 / expected[k] for k in counts))
    df = len(counts) - 1
    p = float(_sp.chdtrc(df, chi2))
    return SRMResult(counts=counts, expected_share=share, expected=expected, chi2=chi2, df=df,
                     p_value=p, threshold=threshold, flagged=p < threshold)


def adjust_pvalues(p, method: str = "holm") -> np.ndarray:
    """Adjusted p-values: ``"holm"`` (step-down, FWER), ``"bh"`` (Benjamini-Hochberg, FDR),
    ``"bonferroni"`` or ``"none"``. NaNs are left out and kept as NaN.

    Equal to statsmodels ``multipletests(p, method="holm" | "fdr_bh")``.

    Examples
    --------
    >>> adjust_pvalues([0.01, 0.04, 0.03], "holm")
    array([0.03, 0.06, 0.06])
    >>> adjust_pvalues([0.01, 0.04, 0.03], "bh")
    array([0.03, 0.04, 0.04])
    """
    p = np.asarray(p, dtype=float)
    return adjust_rows(p.reshape(1, -1), "bh" if method == "fdr_bh" else method,
                       what="method")[0].reshape(p.shape)


def adjust_rows(p, method: str = "holm", *, what: str = "correction") -> np.ndarray:
    """Holm / BH / Bonferroni adjustment of each row of ``p`` (runs x segments), vectorised;
    NaNs (untested segments) are left out of a row's family.

    Examples
    --------
    >>> adjust_rows([[0.01, 0.04, 0.03], [0.5, np.nan, 0.01]]).round(3).tolist()
    [[0.03, 0.06, 0.06], [0.5, nan, 0.02]]
    """
    one_of(method, CORRECTIONS, what)
    p = np.atleast_2d(np.asarray(p, dtype=float))
    ok = np.isfinite(p)
    m = ok.sum(axis=1, keepdims=True)
    filled = np.where(ok, p, np.inf)
    order = np.argsort(filled, axis=1, kind="stable")
    ps = np.take_along_axis(filled, order, axis=1)
    rank = np.arange(p.shape[1])[None, :]
    fin = np.isfinite(ps)
    ps0 = np.where(fin, ps, 0.0)
    if method == "none":
        adj_sorted = ps
    elif method == "bonferroni":
        adj_sorted = np.where(fin, ps0 * m, np.inf)
    elif method == "holm":
        adj_sorted = np.maximum.accumulate(np.where(fin, (m - rank) * ps0, -np.inf), axis=1)
    else:  # "bh"
        # m / k * p in this order, as adjust_pvalues always computed it: the largest p stays
        # itself (m / m = 1); p * m / k moved round p-values across alpha by one ulp (test)
        scaled = np.where(fin, m / (rank + 1) * ps0, np.inf)
        adj_sorted = np.minimum.accumulate(scaled[:, ::-1], axis=1)[:, ::-1]
    adj = np.empty_like(adj_sorted)
    np.put_along_axis(adj, order, np.minimum(adj_sorted, 1.0), axis=1)
    return np.where(ok, adj, np.nan)
