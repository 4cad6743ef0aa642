"""Clustering against the planted truth of the sample data (intents, resolution, variants)."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import normalized_mutual_info_score

from toolkit.clustering import cluster_log


@pytest.fixture(scope="module")
def bundled_truth():
    from toolkit.sample import load_sample_truth

    return load_sample_truth()


@pytest.fixture(scope="module")
def auto_result(bundled):
    return cluster_log(bundled, k="auto", seed=0, n_threads=1)


def _intents(result, truth):
    convs = truth["conversations"]
    return np.array([convs[c]["intent"] for c in result.assignments["conversation_id"]])


def test_true_k_recovers_the_planted_intents(bundled, bundled_truth):
    k = len(bundled_truth["intents"])
    res = cluster_log(bundled, k=k, seed=0, n_threads=1)
    assert res.k == k
    nmi = normalized_mutual_info_score(_intents(res, bundled_truth), res.assignments["cluster"])
    assert nmi >= 0.8, nmi


def test_auto_k_lands_near_the_true_number_of_intents(auto_result, bundled_truth):
    k_true = len(bundled_truth["intents"])
    assert abs(auto_result.k - k_true) <= 0.3 * k_true, auto_result.k_selection.scores
    assert auto_result.k_selection.method == "modularity"
    nmi = normalized_mutual_info_score(_intents(auto_result, bundled_truth), auto_result.assignments["cluster"])
    assert nmi >= 0.8, nmi


def test_auto_k_on_a_small_sample(sample):
    """Two weeks (about 2,600 conversations) still give k within 30 % and NMI >= 0.8."""
    res = cluster_log(sample.log, k="auto", seed=0, n_threads=1)
    k_true = len(sample.truth["intents"])
    assert abs(res.k - k_true) <= 0.3 * k_true
    nmi = normalized_mutual_info_score(_intents(res, sample.truth), res.assignments["cluster"])
    assert nmi >= 0.8, nmi


def test_each_cluster_is_dominated_by_one_intent_and_labelled_with_its_words(auto_result, bundled_truth):
    a = auto_result.assignments.assign(intent=_intents(auto_result, bundled_truth))
    a = a[a["cluster"] >= 0]
    purity = a.groupby("cluster")["intent"].agg(lambda s: s.value_counts(normalize=True).iloc[0])
    assert purity.median() >= 0.9, purity
    # the label of the cluster holding most password_reset conversations names it
    c = a[a["intent"] == "password_reset"]["cluster"].mode().iloc[0]
    assert "password" in auto_result.clusters.set_index("cluster").loc[c, "label"]


def test_profile_ties_clusters_to_the_planted_resolution(auto_result, bundled_truth):
    from toolkit.sample import INTENTS

    a = auto_result.assignments.assign(intent=_intents(auto_result, bundled_truth))
    a = a[a["cluster"] >= 0]
    planted = a.groupby("cluster")["intent"].agg(lambda s: s.map(lambda i: INTENTS[i]["resolution_offset"]).mean())
    prof = auto_result.profile.set_index("cluster")
    prof = prof[prof.index >= 0]
    rho = spearmanr(prof["resolution_rate"], planted.loc[prof.index]).statistic
    assert rho >= 0.6, rho
    # the worst-resolved cluster is mostly an intent planted among the three hardest
    hardest = sorted(INTENTS, key=lambda i: INTENTS[i]["resolution_offset"])[:3]
    worst = prof["resolution_rate"].idxmin()
    assert a[a["cluster"] == worst]["intent"].mode().iloc[0] in hardest
    # the table is sorted by excess failures, worst first
    assert auto_result.profile["excess_failures"].is_monotonic_decreasing


def test_variants_are_randomised_across_clusters(auto_result):
    """Variants were assigned 50/50 per conversation: every sizeable cluster is near 50/50."""
    prof = auto_result.profile
    big = prof[prof["size"] >= 300]
    assert len(big) >= 10
    assert big["variant_A"].between(0.4, 0.6).all(), big[["label", "size", "variant_A"]]


def test_bot_responses_separate_generic_filler(sample):
    """Clustering bot responses isolates the planted generic filler answers in clusters of their own."""
    res = cluster_log(sample.log, text="bot_response", k=25, seed=0, n_threads=1)
    a = res.assignments
    assert "turn" in a.columns and len(a) == len(sample.log.turns)
    kinds = [sample.truth["conversations"][c]["answer_kinds"][int(t)] for c, t in zip(a["conversation_id"], a["turn"])]
    a = a.assign(generic=np.array(kinds) == "generic")
    share = a.groupby("cluster")["generic"].mean()
    filler = share[share >= 0.95].index
    assert len(filler) >= 3
    assert a.loc[a["cluster"].isin(filler), "generic"].sum() >= 0.5 * a["generic"].sum()
    # and the profile shows them: filler clusters resolve worse than the on-topic ones
    prof = res.profile.set_index("cluster")
    on_topic = share[share <= 0.05].index
    assert prof.loc[filler, "resolution_rate"].mean() < prof.loc[on_topic, "resolution_rate"].mean()
