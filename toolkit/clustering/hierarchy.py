"""A merge tree over the topics (:class:`TopicHierarchy`): one clustering read at any granularity.

The fine topics of a fit are the leaves; Ward linkage on their centroids (weighted by nothing
but their position: ``scipy.cluster.hierarchy.linkage``) merges the two closest topics step by
step, so cutting the tree at ``n`` gives ``n`` parent topics, each a union of fine ones. No
message is re-embedded: :meth:`TopicHierarchy.cut` maps fine topic ids to parent ids (numbered
by decreasing size, like the fine ones), and ``ClusterResult.at_level(n)`` relabels the
assignments, recomputes the profile and labels every parent with c-TF-IDF words of its
messages and the representative messages of its largest children.

Examples
--------
>>> C = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
>>> h = TopicHierarchy.from_centroids(C, sizes=[10, 5, 8, 2])
>>> h.cut(2).tolist()
[0, 0, 1, 1]
>>> h.cut(4).tolist()
[0, 1, 2, 3]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from toolkit.clustering._base import ClusteringInputError, _fig_ax

__all__ = ["TopicHierarchy"]


@dataclass(frozen=True)
class TopicHierarchy:
    """A merge tree over ``k`` fine topics.

    Attributes
    ----------
    linkage : ndarray, shape (k - 1, 4)
        SciPy linkage matrix (Ward on the topic centroids); leaves are the fine topic ids.
    sizes : ndarray, shape (k,)
        Messages in each fine topic (to number parents by size).
    """

    linkage: np.ndarray
    sizes: np.ndarray


    def summary_table(self):
        """The merges: ``left``, ``right`` (topic or merge ids), ``distance`` and ``size``."""
        import pandas as pd

        return pd.DataFrame(self.linkage, columns=["left", "right", "distance", "size"])

    def to_dict(self) -> dict:
        """``k``, the topic sizes and the linkage matrix as lists."""
        return {"k": self.k, "sizes": self.sizes.tolist(), "linkage": self.linkage.tolist()}
    @property
    def k(self) -> int:
        """Number of fine topics (leaves)."""
        return int(len(self.sizes))

    @classmethod
    def from_centroids(cls, centroids, sizes) -> "TopicHierarchy":
        """Ward merge tree of the topic ``centroids`` (rows = fine topic ids)."""
        from scipy.cluster.hierarchy import linkage

        C = np.asarray(centroids, dtype=np.float64)
        sizes = np.asarray(sizes, dtype=np.float64)
        if len(C) != len(sizes):
            raise ClusteringInputError(f"{len(C)} centroids but {len(sizes)} sizes")
        Z = linkage(C, "ward") if len(C) > 1 else np.zeros((0, 4))
        return cls(Z, sizes)

    def cut(self, n: int) -> np.ndarray:
        """Parent of each fine topic when the tree is cut into ``n`` topics.

        Parents are numbered ``0 .. n-1`` by decreasing size (ties: smallest fine id first);
        ``n >= k`` gives the fine topics themselves.
        """
        n = int(n)
        if n < 1:
            raise ClusteringInputError(f"the number of topics must be >= 1, got {n}")
        k = self.k
        if n >= k:
            return np.arange(k, dtype=np.int64)
        from scipy.cluster.hierarchy import cut_tree

        parent = cut_tree(self.linkage, n_clusters=[n])[:, 0]
        tot = np.bincount(parent, weights=self.sizes, minlength=parent.max() + 1)
        first = np.full(parent.max() + 1, k)
        np.minimum.at(first, parent, np.arange(k))
        order = np.lexsort((first, -tot))
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        return rank[parent].astype(np.int64)

    def plot(self, *, labels: dict | None = None, ax=None, max_leaves: int = 60):
        """Dendrogram of the merge tree (leaves truncated to ``max_leaves``); a matplotlib Figure.

        Examples
        --------
        >>> h = TopicHierarchy.from_centroids(np.eye(3), sizes=[3, 2, 1])
        >>> h.plot().axes[0].get_ylabel()
        'Ward merge distance'
        """
        from scipy.cluster.hierarchy import dendrogram

        fig, ax = _fig_ax(ax, (11, 4.5))
        if self.k < 2:
            ax.text(0.5, 0.5, "one topic: no hierarchy", ha="center", va="center", transform=ax.transAxes)
        else:
            names = [f"{i}: {labels.get(i, i)}" if labels else str(i) for i in range(self.k)]
            trunc = {"truncate_mode": "lastp", "p": int(max_leaves)} if self.k > max_leaves else {}
            dendrogram(self.linkage, ax=ax, labels=names if not trunc else None, leaf_rotation=90,
                       leaf_font_size=6, color_threshold=0, above_threshold_color="tab:blue", **trunc)
        ax.set_ylabel("Ward merge distance")
        ax.set_title(f"Topic hierarchy ({self.k} topics; cut the tree at any height for fewer)")
        return fig
