"""Tying clusters to outcomes (:func:`cluster_profile`): worst-served large clusters first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.clustering._base import ClusteringInputError

__all__ = ["cluster_profile"]


def cluster_profile(
    assignments: pd.DataFrame,
    *,
    cluster: str = "cluster",
    label: str = "cluster_label",
    outcome: str = "auto",
    min_share: float = 0.0,
) -> pd.DataFrame:
    """One row per cluster: size, share, outcomes and variant mix, worst-served large first.

    Parameters
    ----------
    assignments : DataFrame
        One row per clustered unit with ``cluster`` and ``label`` columns and any of
        ``quality``, ``resolved``, ``satisfaction``, ``response_time_s``, ``variant``.
    outcome : {"auto", "resolved", "satisfaction", "quality"}
        What "served badly" means: ``failure_rate`` is ``1 - resolution rate``,
        ``1 - mean satisfaction`` or ``1 - mean quality``. ``"auto"`` takes the first of those
        the data has.
    min_share : float
        Clusters below this share of units go to the bottom of the table (still listed).

    Returns
    -------
    DataFrame
        ``cluster, label, size, share, mean_quality`` (if a quality column exists),
        ``resolution_rate, satisfaction, response_time_s``, one ``variant_<name>`` share column
        per variant, ``failure_rate`` and ``excess_failures`` =
        ``size * (failure_rate - overall failure rate)``: how many more units failed in this
        cluster than if it were served like the average. Sorted by ``excess_failures``
        (descending), so a large cluster served much worse than average comes first and a
        large well-served one last. The noise/empty cluster (-1), if any, is last.

    Examples
    --------
    >>> a = pd.DataFrame({"cluster": [0, 0, 0, 1, 1, 1, 1], "cluster_label": list("aaabbbb"),
    ...                   "resolved": [True, True, True, False, False, True, False]})
    >>> cluster_profile(a)[["cluster", "size", "resolution_rate"]].to_dict("list")
    {'cluster': [1, 0], 'size': [4, 3], 'resolution_rate': [0.25, 1.0]}
    """
    a = assignments
    for col in (cluster, label):
        if col not in a:
            raise ClusteringInputError(f"assignments has no column {col!r}")
    g = a.groupby(cluster, sort=True)
    n = len(a)
    prof = pd.DataFrame({"size": g.size()})
    prof["label"] = g[label].first()
    prof["share"] = prof["size"] / n if n else np.nan
    if "quality" in a:
        prof["mean_quality"] = pd.to_numeric(a["quality"], errors="coerce").astype("float64").groupby(a[cluster]).mean()
    if "resolved" in a:
        r = a["resolved"].astype("Float64").astype("float64")
        prof["resolution_rate"] = r.groupby(a[cluster]).mean()
    if "satisfaction" in a:
        prof["satisfaction"] = pd.to_numeric(a["satisfaction"], errors="coerce").astype("float64").groupby(a[cluster]).mean()
    if "response_time_s" in a:
        prof["response_time_s"] = pd.to_numeric(a["response_time_s"], errors="coerce").astype("float64").groupby(a[cluster]).mean()
    if "variant" in a and a["variant"].notna().any():
        v = a["variant"].astype("string").fillna("(none)")
        mix = pd.crosstab(a[cluster], v, normalize="index")
        for name in sorted(mix.columns):
            prof[f"variant_{name}"] = mix[name]

    sources = {
        "resolved": ("resolution_rate", "resolved"),
        "satisfaction": ("satisfaction", "satisfaction"),
        "quality": ("mean_quality", "quality"),
    }
    if outcome == "auto":
        chosen = next(
            (o for o in ("resolved", "satisfaction", "quality")
             if sources[o][0] in prof and prof[sources[o][0]].notna().any()),
            None,
        )
    elif outcome in sources:
        chosen = outcome
        if sources[outcome][0] not in prof:
            raise ClusteringInputError(f"outcome={outcome!r} but assignments has no {sources[outcome][1]!r} column")
    else:
        raise ClusteringInputError(f"unknown outcome {outcome!r}: choose auto, resolved, satisfaction or quality")
    if chosen is not None:
        col, raw = sources[chosen]
        prof["failure_rate"] = 1.0 - prof[col]
        vals = a[raw].astype("Float64").astype("float64") if chosen == "resolved" else pd.to_numeric(a[raw], errors="coerce").astype("float64")
        overall = 1.0 - float(np.nanmean(vals)) if vals.notna().any() else np.nan
        prof["excess_failures"] = prof["size"] * (prof["failure_rate"] - overall)
        prof.attrs["outcome"] = chosen
        prof.attrs["overall_failure_rate"] = overall
    else:
        prof["failure_rate"] = np.nan
        prof["excess_failures"] = np.nan
        prof.attrs["outcome"] = None
    prof = prof.reset_index().rename(columns={cluster: "cluster"})
    prof["_noise"] = prof["cluster"] < 0
    prof["_small"] = prof["share"] < min_share
    prof["_key"] = prof["excess_failures"].fillna(-np.inf) if chosen else prof["size"].astype(float)
    prof = prof.sort_values(["_noise", "_small", "_key", "size", "cluster"],
                            ascending=[True, True, False, False, True], kind="stable")
    prof = prof.drop(columns=["_noise", "_small", "_key"]).reset_index(drop=True)
    first = ["cluster", "label", "size", "share"]
    return prof[first + [c for c in prof.columns if c not in first]]
