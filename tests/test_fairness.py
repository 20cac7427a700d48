"""Per-group false match rates: hand-made cases, the bootstrap, and the consented London set."""

from __future__ import annotations

import numpy as np
import pytest

from course import fairness


def _points(xs):
    """Embeddings on a line: distance between faces = difference of their x values."""
    return np.array([[x, 0.0] for x in xs])


def test_only_within_group_impostor_pairs_are_counted():
    embeddings = _points([0.0, 0.1, 0.5, 10.0, 10.3, 10.35])
    identities = np.array([1, 2, 3, 4, 5, 5])
    groups = np.array(["a", "a", "a", "b", "b", "b"])
    rows = {r.group: r for r in fairness.false_match_rates_by_group(embeddings, identities, groups, 0.2)}
    # group a: pairs (1,2)=0.1 hit, (1,3)=0.5, (2,3)=0.4 -> 1 of 3; cross-group pairs ignored
    assert (rows["a"].people, rows["a"].impostor_pairs, rows["a"].false_matches) == (3, 3, 1)
    # group b: (4,5)=0.3 and (4,5')=0.35 are impostor pairs, (5,5') is genuine -> 0 of 2
    assert (rows["b"].people, rows["b"].impostor_pairs, rows["b"].false_matches) == (2, 2, 0)
    assert rows["b"].low == 0.0 and 0.5 < rows["b"].high < 1.0


def test_bootstrap_interval_contains_the_rate_and_widens_for_small_groups():
    rng = np.random.default_rng(0)

    def group(n_people):
        identities = np.repeat(np.arange(n_people), 3)
        centres = rng.normal(size=(n_people, 8))
        return centres[identities] + 0.2 * rng.normal(size=(len(identities), 8)), identities

    big, big_ids = group(60)
    small, small_ids = group(8)
    threshold = 3.0
    rate = np.mean(fairness.within_group_impostor_distances(big, big_ids) <= threshold)
    low, high = fairness.bootstrap_fmr_over_people(big, big_ids, threshold, n_resamples=200)
    assert low <= rate <= high
    small_low, small_high = fairness.bootstrap_fmr_over_people(small, small_ids, threshold, n_resamples=200)
    assert small_high - small_low > high - low


def test_shrinking_identities_pulls_them_together():
    rng = np.random.default_rng(1)
    identities = rng.uniform(size=(50, 10))
    shrunk = fairness.shrink_identity(identities, 0.5)
    assert np.allclose(shrunk.mean(axis=0) - 0.5, 0.5 * (identities.mean(axis=0) - 0.5))
    assert np.allclose(shrunk.std(axis=0), 0.5 * identities.std(axis=0))
    assert shrunk.min() >= 0 and shrunk.max() <= 1


def test_synthetic_groups_record_group_and_spread():
    people = fairness.synthetic_groups({"A": 1.0, "B": 0.5}, 2, 2, seed=3, size=96)
    assert people.images.shape == (8, 96, 96, 3)
    assert [r["group"] for r in people.provenance] == ["A"] * 4 + ["B"] * 4
    assert len(set(people.identities.tolist())) == 4
    # each group's people are numbered apart, in the provenance too, so pooling never merges two people
    assert [r["identity"] for r in people.provenance] == people.identities.tolist()
    assert {r["identity_spread"] for r in people.provenance} == {1.0, 0.5}


def test_london_set_shows_the_demographic_differential(london):
    """On consented real faces, dlib at 0.6 makes far more within-group false matches for
    Black and East Asian participants than for White participants (cf. NISTIR 8280)."""
    rows = {r.group: r for r in fairness.consented_group_rates(london, 0.6)}
    assert rows["white"].people > 50 and rows["black"].people >= 10
    assert rows["white"].fmr < 0.01
    assert rows["black"].fmr > 0.15 and rows["east_asian"].fmr > 0.10
    # the gap is far outside the (optimistic) pairwise intervals
    assert rows["black"].low > 10 * rows["white"].high
