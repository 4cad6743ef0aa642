"""Which unit was randomised: detect user-level assignment analysed per conversation.

When users, not conversations, were randomised, every conversation of a user carries the user's
variant, and a user's conversations are correlated (the same person, the same problems). Analysed
one conversation at a time they are not independent: the standard errors are too small and an
A/A test rejects far more often than ``alpha`` (13 % in the audit's simulation). The log shows it:
under conversation-level randomisation a user with ``n`` conversations sees one variant only with
probability ``sum_a share_a ** n``; if every user with several conversations saw one variant and
the product of those probabilities is below ``threshold`` (default ``1e-6``), conversation-level
randomisation is rejected and the users were randomised.

Examples
--------
>>> import pandas as pd
>>> conv = pd.DataFrame({"user_id": [f"u{i // 3}" for i in range(90)],
...                      "variant": [("A", "B")[(i // 3) % 2] for i in range(90)]})
>>> check = detect_user_randomisation(conv)
>>> check.user_randomised, check.n_multi_users
(True, 30)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["UnitCheck", "detect_user_randomisation", "check_counts"]


@dataclass(frozen=True)
class UnitCheck:
    """What the log says about the randomisation unit.

    Attributes
    ----------
    user_randomised : bool
        Every user with several conversations saw one variant, and that is too unlikely under
        conversation-level randomisation.
    n_multi_users : int
        Users with two or more conversations (with a variant).
    n_mixed_users : int
        Of those, users who saw more than one variant.
    log10_p_single : float
        log10 of the probability, under conversation-level randomisation with the observed
        shares, that no user with several conversations saw two variants.
    """

    user_randomised: bool
    n_multi_users: int
    n_mixed_users: int
    log10_p_single: float

    @property
    def message(self) -> str:
        """A sentence for notes and errors."""
        return (f"the users were randomised, not the conversations: all {self.n_multi_users:,} "
                f"users with several conversations saw a single variant (probability "
                f"10^{self.log10_p_single:.0f} if conversations had been randomised)")

    def to_dict(self) -> dict:
        """Plain dict of the fields and the message."""
        return {"user_randomised": self.user_randomised, "n_multi_users": self.n_multi_users,
                "n_mixed_users": self.n_mixed_users, "log10_p_single": self.log10_p_single,
                "message": self.message}

    def summary_table(self) -> pd.DataFrame:
        """The fields of :meth:`to_dict`, one row."""
        return pd.DataFrame([self.to_dict()])


def detect_user_randomisation(conversations: pd.DataFrame, *, user_col: str = "user_id",
                              variant_col: str = "variant",
                              threshold: float = 1e-6) -> UnitCheck:
    """Whether the users were randomised (one row per conversation with user and variant).

    Parameters
    ----------
    conversations : DataFrame
        One row per conversation; rows without a user or a variant are ignored.
    user_col, variant_col : str
    threshold : float
        Conversation-level randomisation is rejected when the probability of what is seen
        (no user with several conversations saw two variants) is below this.

    Returns
    -------
    UnitCheck

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> conv = pd.DataFrame({"user_id": rng.integers(0, 50, 400),
    ...                      "variant": rng.choice(["A", "B"], 400)})
    >>> detect_user_randomisation(conv).user_randomised
    False
    """
    if user_col not in conversations or variant_col not in conversations:
        return UnitCheck(False, 0, 0, 0.0)
    d = conversations[[user_col, variant_col]].dropna()
    if d.empty:
        return UnitCheck(False, 0, 0, 0.0)
    g = d.groupby(user_col, sort=False)[variant_col]
    shares = d[variant_col].value_counts(normalize=True).to_numpy()
    return check_counts(g.size().to_numpy(), g.nunique().to_numpy(), shares, threshold)


def check_counts(n, n_variants, shares, threshold: float = 1e-6) -> UnitCheck:
    """:func:`detect_user_randomisation` from per-user conversation and variant counts and the
    arms' shares (what a Dask reduction returns).

    Examples
    --------
    >>> check_counts([3, 3, 1], [1, 1, 1], [0.5, 0.5]).user_randomised   # too few users
    False
    """
    n, nv, shares = (np.asarray(v, dtype=float) for v in (n, n_variants, shares))
    multi = n >= 2
    n_multi, n_mixed = int(multi.sum()), int((nv[multi] > 1).sum())
    if n_multi == 0 or shares.size < 2:
        return UnitCheck(False, n_multi, n_mixed, 0.0)
    # P(one variant | n conversations) = sum_a share_a ** n, per multi-conversation user
    p_one = (shares[None, :] ** n[multi][:, None]).sum(axis=1)
    log10_p = float(np.log10(np.clip(p_one, 1e-300, 1.0)).sum())
    return UnitCheck(n_mixed == 0 and log10_p < math.log10(threshold), n_multi, n_mixed, log10_p)
