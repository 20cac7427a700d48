"""Tests for course.metrics: against scikit-learn, hand-worked cases and textbook values."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm
from sklearn.metrics import det_curve as sk_det_curve
from sklearn.metrics import roc_auc_score, roc_curve

from course.metrics import (
    cmc_curve,
    det_curve,
    equal_error_rate,
    fmr_fnmr,
    fpir_fnir,
    identification_ranks,
    pair_distances,
    probit,
    rank_k_identification,
    roc_auc,
    roc_curve_from_distances,
    threshold_for_fmr,
    wilson_interval,
)

# Distances on a coarse grid, so that ties between and within groups are common.
coarse_distances = st.lists(
    st.integers(0, 12).map(lambda step: step / 10), min_size=1, max_size=25
)


def random_distances(seed: int, decimals: int | None = None):
    """Genuine distances around 0.4 and impostor distances around 0.8, overlapping."""
    rng = np.random.default_rng(seed)
    genuine = rng.normal(0.4, 0.12, size=300)
    impostor = rng.normal(0.8, 0.12, size=700)
    if decimals is not None:  # rounding creates ties
        genuine, impostor = genuine.round(decimals), impostor.round(decimals)
    return genuine, impostor


def as_sklearn_inputs(genuine, impostor):
    """Labels (1 = same person) and scores where larger means more similar."""
    labels = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
    return labels, -np.r_[genuine, impostor]


# --- pair_distances -------------------------------------------------------------------


def test_pair_distances_splits_every_pair_once_by_identity():
    embeddings = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])
    identities = ["ann", "ann", "bob", "cy"]
    genuine, impostor = pair_distances(embeddings, identities)
    np.testing.assert_allclose(genuine, [5.0])  # ann-ann
    # ann0-bob, ann0-cy, ann1-bob, ann1-cy, bob-cy, in upper-triangle order
    np.testing.assert_allclose(
        impostor, [1.0, 2.0, np.hypot(2, 4), np.hypot(3, 2), np.hypot(1, 2)]
    )


def test_pair_distances_matches_a_double_loop():
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(30, 5))
    identities = rng.integers(0, 6, size=30)
    expected = {True: [], False: []}
    for i in range(30):
        for j in range(i + 1, 30):
            same = bool(identities[i] == identities[j])
            expected[same].append(np.linalg.norm(embeddings[i] - embeddings[j]))
    genuine, impostor = pair_distances(embeddings, identities)
    np.testing.assert_allclose(genuine, expected[True])
    np.testing.assert_allclose(impostor, expected[False])


def test_pair_distances_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="one identity per row"):
        pair_distances(np.zeros((3, 2)), [1, 2])


# --- fmr_fnmr, ROC, AUC, DET ------------------------------------------------------------


def test_fmr_fnmr_by_hand_counts_a_tie_with_the_threshold_as_a_match():
    genuine = [0.1, 0.3, 0.35, 0.9]
    impostor = [0.2, 0.6, 0.8]
    fmr, fnmr = fmr_fnmr(genuine, impostor, [0.0, 0.2, 0.3, 0.6, 1.0])
    np.testing.assert_allclose(fmr, [0, 1 / 3, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(fnmr, [1, 3 / 4, 2 / 4, 1 / 4, 0])


@pytest.mark.parametrize("decimals", [None, 2])
def test_roc_curve_matches_sklearn(decimals):
    genuine, impostor = random_distances(seed=1, decimals=decimals)
    fpr, tpr, thresholds = roc_curve_from_distances(genuine, impostor)
    sk_fpr, sk_tpr, sk_thresholds = roc_curve(
        *as_sklearn_inputs(genuine, impostor), drop_intermediate=False
    )
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    np.testing.assert_array_equal(thresholds, -sk_thresholds)


@pytest.mark.parametrize("decimals", [None, 1])
def test_roc_auc_matches_sklearn_and_the_area_under_our_curve(decimals):
    genuine, impostor = random_distances(seed=2, decimals=decimals)
    auc = roc_auc(genuine, impostor)
    assert auc == pytest.approx(roc_auc_score(*as_sklearn_inputs(genuine, impostor)), abs=1e-12)
    fpr, tpr, _ = roc_curve_from_distances(genuine, impostor)
    assert auc == pytest.approx(np.trapezoid(tpr, fpr), abs=1e-12)


@given(genuine=coarse_distances, impostor=coarse_distances)
def test_roc_auc_is_the_probability_that_genuine_is_closer(genuine, impostor):
    g, i = np.array(genuine)[:, None], np.array(impostor)[None, :]
    expected = np.mean((g < i) + 0.5 * (g == i))
    assert roc_auc(genuine, impostor) == pytest.approx(expected, abs=1e-12)


def test_roc_auc_of_perfect_and_reversed_separation():
    assert roc_auc([0.1, 0.2], [0.5, 0.6]) == 1.0
    assert roc_auc([0.5, 0.6], [0.1, 0.2]) == 0.0


@pytest.mark.parametrize("decimals", [None, 2])
def test_det_curve_matches_sklearn(decimals):
    genuine, impostor = random_distances(seed=3, decimals=decimals)
    fmr, fnmr, thresholds = det_curve(genuine, impostor)
    sk_fpr, sk_fnr, sk_thresholds = sk_det_curve(
        *as_sklearn_inputs(genuine, impostor), drop_intermediate=False
    )
    # sklearn orders by increasing score, i.e. decreasing distance.
    np.testing.assert_allclose(fmr, sk_fpr[::-1])
    np.testing.assert_allclose(fnmr, sk_fnr[::-1])
    np.testing.assert_array_equal(thresholds, -sk_thresholds[::-1])


def test_det_curve_keeps_only_one_point_on_each_axis():
    # Full curve: -inf, 0.1 and 0.2 have FMR 0; 0.3, 0.5 and 0.6 have FNMR 0.
    fmr, fnmr, thresholds = det_curve([0.1, 0.2, 0.3], [0.25, 0.5, 0.6])
    np.testing.assert_array_equal(thresholds, [0.2, 0.25, 0.3])
    np.testing.assert_allclose(fmr, [0, 1 / 3, 1 / 3])
    np.testing.assert_allclose(fnmr, [1 / 3, 1 / 3, 0])


def test_probit_is_the_normal_deviate():
    np.testing.assert_allclose(probit([0.5, 0.975, 0.001]), [0.0, 1.959964, -3.090232], atol=1e-6)
    assert probit(0.0) == -np.inf


# --- Equal error rate --------------------------------------------------------------------


def test_eer_interpolates_between_two_thresholds_worked_by_hand():
    # Thresholds 0.3 -> (FMR 1/3, FNMR 2/4) and 0.35 -> (FMR 1/3, FNMR 1/4).
    # FNMR - FMR goes from 1/6 to -1/12: the crossing is 2/3 of the way along,
    # where FNMR = 1/2 - 2/3 * 1/4 = 1/3, at threshold 0.3 + 2/3 * 0.05.
    eer, threshold = equal_error_rate([0.1, 0.3, 0.35, 0.9], [0.2, 0.6, 0.8])
    assert eer == pytest.approx(1 / 3)
    assert threshold == pytest.approx(0.3 + 2 / 3 * 0.05)


def test_eer_when_both_rates_jump_at_the_same_threshold():
    # 0.2 -> (FMR 0, FNMR 1/2); 0.5 is a tie -> (FMR 1/2, FNMR 0). Midway: 1/4 each.
    eer, threshold = equal_error_rate([0.2, 0.5], [0.5, 0.9])
    assert eer == pytest.approx(0.25)
    assert threshold == pytest.approx(0.35)


def test_eer_when_the_rates_are_exactly_equal_at_a_threshold():
    eer, threshold = equal_error_rate([0.1, 0.3, 0.5], [0.4, 0.6, 0.8])
    assert (eer, threshold) == (pytest.approx(1 / 3), 0.4)


def test_eer_of_separable_and_of_identical_distances():
    assert equal_error_rate([0.1, 0.2], [0.7, 0.8])[0] == 0.0
    eer, threshold = equal_error_rate([0.5, 0.5], [0.5, 0.5])
    assert (eer, threshold) == (pytest.approx(0.5), 0.5)


def test_eer_of_two_unit_normals_two_apart_is_phi_of_minus_one():
    rng = np.random.default_rng(4)
    genuine, impostor = rng.normal(0, 1, 40_000), rng.normal(2, 1, 40_000)
    eer, threshold = equal_error_rate(genuine, impostor)
    assert eer == pytest.approx(norm.cdf(-1), abs=0.005)
    assert threshold == pytest.approx(1.0, abs=0.03)


# --- threshold_for_fmr ------------------------------------------------------------------


def test_threshold_for_fmr_by_hand():
    impostor = [0.8, 0.5, 0.7, 0.6]
    assert threshold_for_fmr(impostor, 0.25) == np.nextafter(0.6, 0)
    assert threshold_for_fmr(impostor, 0.2) == np.nextafter(0.5, 0)
    assert threshold_for_fmr(impostor, 0.0) == np.nextafter(0.5, 0)
    assert threshold_for_fmr(impostor, 0.75) == np.nextafter(0.8, 0)
    assert threshold_for_fmr(impostor, 1.0) == np.inf


def test_threshold_for_fmr_handles_ties_and_decimal_targets():
    # Two impostors tie at 0.5: admitting one admits both, so FMR 0.25 means neither.
    assert threshold_for_fmr([0.5, 0.5, 0.7, 0.8], 0.25) < 0.5
    # 0.29 * 100 is 28.999... in floating point; 29 matches must still be allowed.
    impostor = np.arange(100) / 100
    assert fmr_fnmr([0.0], impostor, threshold_for_fmr(impostor, 0.29))[0] == 0.29


@given(impostor=coarse_distances, target=st.floats(0, 1))
def test_threshold_for_fmr_is_the_largest_threshold_meeting_the_target(impostor, target):
    threshold = threshold_for_fmr(impostor, target)
    assert fmr_fnmr([0.0], impostor, threshold)[0] <= target
    if np.isfinite(threshold):
        assert fmr_fnmr([0.0], impostor, np.nextafter(threshold, np.inf))[0] > target


def test_threshold_for_fmr_rejects_targets_outside_0_1():
    with pytest.raises(ValueError, match="between 0 and 1"):
        threshold_for_fmr([0.5], 1.5)


# --- Identification ----------------------------------------------------------------------

# Three people at the corners of a triangle; ann is enrolled twice.
GALLERY = np.array([[0.0, 0.0], [0.0, 0.2], [4.0, 0.0], [0.0, 4.0]])
GALLERY_IDS = ["ann", "ann", "bob", "cy"]


def test_rank_one_and_cmc_on_three_identities():
    # cy's probe is 1.3 from ann's second photo and 2.5 from cy: cy only ranks 2nd.
    probes = np.array([[0.0, 0.3], [3.9, 0.0], [0.0, 1.5]])
    probe_ids = ["ann", "bob", "cy"]
    candidate_ranks = identification_ranks(GALLERY, GALLERY_IDS, probes, probe_ids)
    np.testing.assert_array_equal(candidate_ranks, [1, 1, 2])
    rank_1 = rank_k_identification(GALLERY, GALLERY_IDS, probes, probe_ids, k=1)
    rank_2 = rank_k_identification(GALLERY, GALLERY_IDS, probes, probe_ids, k=2)
    assert (rank_1, rank_2) == (pytest.approx(2 / 3), 1.0)
    ranks, rates = cmc_curve(GALLERY, GALLERY_IDS, probes, probe_ids)
    np.testing.assert_array_equal(ranks, [1, 2, 3])  # three identities, not four photos
    np.testing.assert_allclose(rates, [2 / 3, 1, 1])


def test_identification_ties_count_against_the_true_identity():
    probes = np.array([[2.0, 0.0]])  # 2 from ann's first photo, 2 from bob
    assert identification_ranks(GALLERY, GALLERY_IDS, probes, ["bob"])[0] == 2


def test_identification_requires_enrolled_probes():
    with pytest.raises(ValueError, match="not in the gallery"):
        rank_k_identification(GALLERY, GALLERY_IDS, [[0.0, 0.0]], ["dan"])


def test_fpir_fnir_by_hand():
    gallery, gallery_ids = np.array([[0.0, 0.0], [10.0, 0.0]]), ["ann", "bob"]
    probes = np.array(
        [
            [0.1, 0.0],  # ann, 0.1 from her photo
            [10.0, 0.5],  # bob, 0.5 from his photo
            [5.0, 0.0],  # stranger, 5 from both
            [0.0, 0.3],  # stranger, 0.3 from ann
        ]
    )
    probe_ids = ["ann", "bob", "eve", "zed"]
    fpir, fnir = fpir_fnir(gallery, gallery_ids, probes, probe_ids, threshold=0.4)
    assert (fpir, fnir) == (0.5, 0.5)
    fpir, fnir = fpir_fnir(gallery, gallery_ids, probes, probe_ids, [0.05, 0.4, 1.0, 10.0])
    np.testing.assert_allclose(fpir, [0, 0.5, 0.5, 1])
    np.testing.assert_allclose(fnir, [1, 0.5, 0, 0])


def test_fnir_counts_a_mate_beaten_by_someone_else_as_a_miss_at_rank_one():
    gallery, gallery_ids = np.array([[0.0, 0.0], [1.0, 0.0]]), ["ann", "bob"]
    probes, probe_ids = np.array([[0.4, 0.0], [9.0, 9.0]]), ["bob", "eve"]  # bob looks like ann
    assert fpir_fnir(gallery, gallery_ids, probes, probe_ids, 0.7, rank=1)[1] == 1.0
    assert fpir_fnir(gallery, gallery_ids, probes, probe_ids, 0.7, rank=2)[1] == 0.0


def test_fpir_fnir_needs_both_kinds_of_probe():
    with pytest.raises(ValueError, match="not enrolled"):
        fpir_fnir(GALLERY, GALLERY_IDS, [[0.0, 0.0]], ["ann"], 0.5)
    with pytest.raises(ValueError, match="is enrolled"):
        fpir_fnir(GALLERY, GALLERY_IDS, [[0.0, 0.0]], ["dan"], 0.5)


# --- Wilson interval ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "successes, n, lower, upper",
    [
        (0, 10, 0.0, 0.2775),  # no errors seen, yet the rate could still be 28 %
        # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_textbook_values(successes, n, lower, upper):
    low, high = wilson_interval(successes, n)
    assert low == pytest.approx(lower, abs=1e-4)
    assert high == pytest.approx(upper, abs=1e-4)


def test_wilson_interval_is_vectorised_and_widens_with_confidence():
    low, high = wilson_interval([0, 5, 10], [10, 10, 10])
    np.testing.assert_allclose(low, [0, 0.2366, 0.7225], atol=1e-4)
    np.testing.assert_allclose(high, [0.2775, 0.7634, 1], atol=1e-4)
    low99, high99 = wilson_interval(5, 10, confidence=0.99)
    assert low99 < low[1] and high99 > high[1]


@given(n=st.integers(1, 10_000), data=st.data())
def test_wilson_interval_contains_the_estimate(n, data):
    successes = data.draw(st.integers(0, n))
    low, high = wilson_interval(successes, n)
    assert 0.0 <= low <= successes / n <= high <= 1.0


def test_wilson_interval_rejects_impossible_counts():
    with pytest.raises(ValueError, match="zero trials"):
        wilson_interval(0, 0)
    with pytest.raises(ValueError, match="between 0 and n"):
        wilson_interval(11, 10)


# --- Input checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: fmr_fnmr([], [0.5], [0.5]),
        lambda: roc_curve_from_distances([0.5], []),
        lambda: roc_auc([], [0.5]),
        lambda: det_curve([0.5], []),
        lambda: equal_error_rate([], [0.5]),
        lambda: threshold_for_fmr([], 0.1),
    ],
)
def test_empty_distance_arrays_are_rejected_with_a_clear_message(call):
    with pytest.raises(ValueError, match="is empty"):
        call()


def test_nan_distances_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        roc_auc([0.1, np.nan], [0.5])


@given(genuine=coarse_distances, impostor=coarse_distances)
def test_eer_is_bracketed_by_the_operating_points(genuine, impostor):
    # At every threshold one rate is at or above the EER; at the best one, the other
    # rate is at or below it. So max_t min(FMR, FNMR) <= EER <= min_t max(FMR, FNMR).
    eer, _ = equal_error_rate(genuine, impostor)
    fmr, tpr, _ = roc_curve_from_distances(genuine, impostor)
    fnmr = 1 - tpr
    assert np.max(np.minimum(fmr, fnmr)) - 1e-12 <= eer <= np.min(np.maximum(fmr, fnmr)) + 1e-12
