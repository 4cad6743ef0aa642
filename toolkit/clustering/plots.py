"""Figures: the 2-D cluster map and the k-selection criterion."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.clustering._base import _fig_ax
from toolkit.clustering.k_choice import KSelection

__all__ = ["plot_cluster_map", "plot_k_selection"]


def plot_cluster_map(result: "ClusterResult | TextClusters", *, max_points: int = 20000, ax=None, annotate: bool = True):
    """Scatter the messages on a principal plane, coloured by cluster.

    The plane is that of the cluster centroids (size-weighted PCA), onto which every message is
    projected. Identical messages share a point, drawn larger the more often they occur; each
    cluster's id is written at its centre and its label in the legend. Noise/empty rows are grey.

    Parameters
    ----------
    result : ClusterResult or TextClusters
    max_points : int
        At most this many distinct points are drawn (a seeded sample of the rest is dropped).
    ax : matplotlib Axes, optional
    annotate : bool
        Write cluster labels on the map.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from toolkit.clustering import cluster_texts
    >>> res = cluster_texts(["card declined", "card rejected", "store hours", "store open"], k=2)
    >>> plot_cluster_map(res).axes[0].get_title() == f"Clusters (k=2, {res.backend}, kmeans)"
    True
    """
    if hasattr(result, "assignments"):  # a ClusterResult
        df = pd.DataFrame({"x": result.assignments["x"], "y": result.assignments["y"],
                           "c": result.assignments["cluster"]})
        names = dict(zip(result.clusters["cluster"], result.clusters["label"]))
        k, backend, algo, seed = result.k, result.backend, result.algorithm, result.seed
    else:
        df = pd.DataFrame({"x": result.coords[:, 0], "y": result.coords[:, 1], "c": result.labels})
        names = {c: v for c, v in result.cluster_labels.items() if c >= 0}
        k, backend, algo, seed = result.k, result.backend, result.algorithm, 0
    df = df.dropna(subset=["x", "y"])
    pts = df.groupby(["x", "y", "c"], sort=True).size().rename("n").reset_index()
    if len(pts) > max_points:
        pts = pts.sample(n=max_points, random_state=seed, weights="n")
    fig, ax = _fig_ax(ax, (11, 6.5))
    import matplotlib

    cmap = matplotlib.colormaps["tab20"]
    colours = {c: cmap(i % 20) for i, c in enumerate(range(max(k, 1)))}
    size = 8 + 60 * np.sqrt(pts["n"] / max(pts["n"].max(), 1))
    col = [colours.get(c, (0.6, 0.6, 0.6, 0.5)) if c >= 0 else (0.6, 0.6, 0.6, 0.5) for c in pts["c"]]
    ax.scatter(pts["x"], pts["y"], s=size, c=col, alpha=0.7, linewidths=0)
    if annotate:
        # cluster ids at the centres, the labels in a legend beside the map (many topics crowd
        # the middle of a two-component projection; labels there would cover each other)
        from matplotlib.lines import Line2D

        handles = []
        sizes = df[df["c"] >= 0].groupby("c").size()
        for c in sorted(int(v) for v in df["c"].unique() if v >= 0):
            sel = df[df["c"] == c]
            ax.annotate(
                str(c), (float(sel["x"].mean()), float(sel["y"].mean())),
                fontsize=7, ha="center", va="center", fontweight="bold",
                bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": colours[c], "alpha": 0.85},
            )
            handles.append(Line2D([], [], marker="o", ls="", color=colours[c],
                                  label=f"{c}: {names.get(c, c)} ({int(sizes.get(c, 0)):,})"))
        if handles:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                      frameon=False, title="cluster: label (messages)", title_fontsize=8)
    ax.set_xlabel("component 1")
    ax.set_ylabel("component 2")
    ax.set_title(f"Clusters (k={k}, {backend}, {algo})")
    return fig


def plot_k_selection(selection: KSelection, *, ax=None):
    """Plot the criterion behind an automatic k: the eigenvalue spectrum and its gaps, stability
    or silhouette against k, with the chosen k marked.

    Parameters
    ----------
    selection : KSelection
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from toolkit.clustering import choose_k
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([c + 0.05 * rng.standard_normal((30, 4)) for c in np.eye(4)])
    >>> plot_k_selection(choose_k(X, k_max=8)).axes[0].get_xlabel()
    'k (number of clusters)'
    """
    fig, ax = _fig_ax(ax, (8, 3.8))
    sc = selection.scores
    if sc.empty:
        ax.text(0.5, 0.5, selection.rule, ha="center", va="center", transform=ax.transAxes)
    elif selection.method == "eigengap":
        ax.plot(sc["k"], sc["eigenvalue"], "o-", ms=3, label="k-th smallest eigenvalue")
        ax.bar(sc["k"], sc["gap"], width=0.6, alpha=0.4, color="tab:orange", label="gap to the next")
        ax.set_ylabel("normalised Laplacian")
    else:
        col = selection.method if selection.method in sc else str(sc.columns[1])
        ax.plot(sc["k"], sc[col], "o-", ms=3, label=col)
        ax.set_ylabel(col)
    ax.axvline(selection.k, color="tab:red", ls="--", lw=1, label=f"chosen k = {selection.k}")
    ax.set_xlabel("k (number of clusters)")
    ax.set_title(f"Choosing k: {selection.method}")
    ax.legend(loc="best", fontsize=8)
    return fig
