"""Tying clusters to outcomes (:func:`cluster_profile`): worst-served large clusters first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.clustering._base import ClusteringInputError

__all__ = ["cluster_profile", "profile_sums", "profile_from_sums"]


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
    labels = a.groupby(cluster, sort=True)[label].first()
    sums = profile_sums(a, cluster=cluster)
    return profile_from_sums(sums, labels.to_dict(), outcome=outcome, min_share=min_share)


#: outcome column -> profile column (a mean per cluster)
_MEANS = {"quality": "mean_quality", "resolved": "resolution_rate", "satisfaction": "satisfaction",
          "response_time_s": "response_time_s"}


def _numeric(a: pd.DataFrame, col: str) -> pd.Series:
    if col == "resolved":
        return a[col].astype("Float64").astype("float64")
    return pd.to_numeric(a[col], errors="coerce").astype("float64")


def profile_sums(assignments: pd.DataFrame, *, cluster: str = "cluster") -> pd.DataFrame:
    """The additive statistics behind :func:`cluster_profile`, per cluster, in long form.

    Rows ``cluster, stat, value``: ``rows``; ``<outcome>:sum`` and ``<outcome>:n`` (non-missing
    values) for each of quality, resolved, satisfaction and response_time_s the frame has;
    ``variant:<name>`` counts and ``variant:notna``. Sums of these frames over parts of a log
    are the frame of the whole log, which is how the Dask engine profiles clusters
    (:func:`profile_from_sums` turns them into the profile).

    Examples
    --------
    >>> a = pd.DataFrame({"cluster": [0, 0, 1], "resolved": [True, None, False]})
    >>> profile_sums(a).query("stat == 'resolved:sum'")["value"].tolist()
    [1.0, 0.0]
    """
    key = assignments[cluster].to_numpy()
    parts = [pd.DataFrame({"cluster": key, "stat": "rows", "value": 1.0})]
    for col in _MEANS:
        if col in assignments:
            v = _numeric(assignments, col).to_numpy()
            ok = ~np.isnan(v)
            parts.append(pd.DataFrame({"cluster": key, "stat": f"{col}:sum", "value": np.where(ok, v, 0.0)}))
            parts.append(pd.DataFrame({"cluster": key, "stat": f"{col}:n", "value": ok.astype(float)}))
    if "variant" in assignments:
        v = assignments["variant"].astype("string")
        parts.append(pd.DataFrame({"cluster": key, "stat": "variant:notna", "value": v.notna().to_numpy(float)}))
        parts.append(pd.DataFrame({"cluster": key, "stat": ("variant:" + v.fillna("(none)")).to_numpy(object),
                                   "value": 1.0}))
    long = pd.concat(parts, ignore_index=True)
    long["stat"] = long["stat"].astype(object)
    out = long.groupby(["cluster", "stat"], sort=True)["value"].sum().reset_index()
    out["cluster"] = out["cluster"].astype("int64")
    return out


def profile_from_sums(
    sums: pd.DataFrame,
    labels: dict,
    *,
    outcome: str = "auto",
    min_share: float = 0.0,
) -> pd.DataFrame:
    """:func:`cluster_profile` from :func:`profile_sums` (summed over any parts of a log).

    Parameters
    ----------
    sums : DataFrame
        ``cluster, stat, value`` rows; several rows of one (cluster, stat) are added up.
    labels : dict
        cluster -> label.
    outcome, min_share
        As for :func:`cluster_profile`.

    Examples
    --------
    >>> a = pd.DataFrame({"cluster": [0, 0, 0, 1, 1, 1, 1], "cluster_label": list("aaabbbb"),
    ...                   "resolved": [True, True, True, False, False, True, False]})
    >>> halves = pd.concat([profile_sums(a.iloc[:4]), profile_sums(a.iloc[4:])])
    >>> profile_from_sums(halves, {0: "a", 1: "b"}).equals(cluster_profile(a))
    True
    """
    wide = sums.groupby(["cluster", "stat"])["value"].sum().unstack("stat")
    wide.index = wide.index.astype("int64")
    wide.columns.name = None
    size = wide["rows"].fillna(0)
    n = float(size.sum())
    prof = pd.DataFrame({"size": size.astype("int64")})
    prof.index.name = "cluster"
    prof["label"] = [labels.get(int(c), str(c)) for c in prof.index]
    prof["share"] = prof["size"] / n if n else np.nan
    totals = {}
    for col, name in _MEANS.items():
        if f"{col}:n" in wide:
            s_, k_ = wide[f"{col}:sum"].fillna(0.0), wide[f"{col}:n"].fillna(0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                prof[name] = np.where(k_ > 0, s_ / k_.where(k_ > 0, 1.0), np.nan)
            totals[col] = (float(s_.sum()), float(k_.sum()))
    if "variant:notna" in wide and wide["variant:notna"].sum() > 0:
        names = sorted(c[len("variant:"):] for c in wide.columns if c.startswith("variant:") and c != "variant:notna")
        for name in names:
            prof[f"variant_{name}"] = wide[f"variant:{name}"].fillna(0.0) / size
    outcomes = ("resolved", "satisfaction", "quality")  # in the order "auto" tries them
    if outcome == "auto":
        chosen = next((o for o in outcomes if _MEANS[o] in prof and prof[_MEANS[o]].notna().any()), None)
    elif outcome in outcomes:
        chosen = outcome
        if _MEANS[outcome] not in prof:
            raise ClusteringInputError(f"outcome={outcome!r} but assignments has no {outcome!r} column")
    else:
        raise ClusteringInputError(f"unknown outcome {outcome!r}: choose auto, resolved, satisfaction or quality")
    if chosen is not None:
        prof["failure_rate"] = 1.0 - prof[_MEANS[chosen]]
        total, count = totals[chosen]
        overall = 1.0 - total / count if count else np.nan
        prof["excess_failures"] = prof["size"] * (prof["failure_rate"] - overall)
        prof.attrs["outcome"] = chosen
        prof.attrs["overall_failure_rate"] = overall
    else:
        prof["failure_rate"] = np.nan
        prof["excess_failures"] = np.nan
        prof.attrs["outcome"] = None
    prof = prof.reset_index()
    prof["_noise"] = prof["cluster"] < 0
    prof["_small"] = prof["share"] < min_share
    prof["_key"] = prof["excess_failures"].fillna(-np.inf) if chosen else prof["size"].astype(float)
    prof = prof.sort_values(["_noise", "_small", "_key", "size", "cluster"],
                            ascending=[True, True, False, False, True], kind="stable")
    prof = prof.drop(columns=["_noise", "_small", "_key"]).reset_index(drop=True)
    first = ["cluster", "label", "size", "share"]
    return prof[first + [c for c in prof.columns if c not in first]]
