"""Tests for course.search: exact and IVF search, synthetic galleries, base rates."""

from unittest import mock

import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cdist
from sklearn.neighbors import NearestNeighbors

from course import search
from course.search import (
    IVFIndex,
    RandomHyperplaneLSH,
    calibrate_gallery_model,
    exact_search,
    expected_false_hits,
    false_positive_identification_rate,
    index_footprint,
    lsh_candidate_probability,
    recall_at_k,
    recall_per_query,
    rerank,
    right_person_rate,
    squared_norms,
    synthetic_gallery,
)


def random_vectors(n, dim, seed, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(dtype)


@pytest.fixture(scope="module")
def clustered_gallery():
    """8,000 float32 vectors of 2,000 identities, and 40 queries: gallery photos plus noise."""
    params = dict(centre_scale=0.05, spread=0.03, dim=32)
    gallery, _ = synthetic_gallery(8_000, n_identities=2_000, seed=1, **params)
    rng = np.random.default_rng(2)
    queries = gallery[rng.choice(len(gallery), 40, replace=False)]
    queries = queries + rng.normal(0, 0.03, queries.shape).astype(np.float32)
    return gallery, queries


@pytest.fixture(scope="module")
def fitted_index(clustered_gallery):
    gallery, _ = clustered_gallery
    index = IVFIndex(seed=0).fit(gallery[:4_000], n_lists=32)
    index.add(gallery, np.arange(len(gallery)))
    return index


# --- exact_search ---------------------------------------------------------------------------


def test_exact_search_equals_sorting_all_distances():
    gallery, queries = random_vectors(500, 8, seed=0), random_vectors(30, 8, seed=1)
    distances, indices = exact_search(gallery, queries, k=7)
    all_distances = cdist(queries, gallery)
    expected = np.argsort(all_distances, axis=1)[:, :7]
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_allclose(distances, np.take_along_axis(all_distances, expected, 1))


def test_exact_search_equals_sklearn_brute_force_neighbours():
    gallery, queries = random_vectors(3_000, 16, seed=2), random_vectors(25, 16, seed=3)
    distances, indices = exact_search(gallery, queries, k=10)
    nn = NearestNeighbors(n_neighbors=10, algorithm="brute").fit(gallery)
    sk_distances, sk_indices = nn.kneighbors(queries)
    np.testing.assert_array_equal(indices, sk_indices)
    np.testing.assert_allclose(distances, sk_distances, rtol=1e-10)


def test_blocked_search_gives_the_same_result_as_one_block():
    # 20,000 rows: one block uses the grouped pre-selection; blocks of 2,500 rows
    # with a 2,000-row tail (single-query blocks) use plain argpartition and merging.
    gallery = random_vectors(20_000, 16, seed=4, dtype=np.float32)
    queries = random_vectors(9, 16, seed=5, dtype=np.float32)
    one_block = exact_search(gallery, queries, k=6)
    blocked = exact_search(gallery, queries, k=6, block_elements=3_000)
    np.testing.assert_array_equal(blocked[1], one_block[1])
    np.testing.assert_allclose(blocked[0] ** 2, one_block[0] ** 2, atol=1e-5)


def test_exact_search_in_float32_agrees_with_float64_ground_truth(clustered_gallery):
    gallery, queries = clustered_gallery
    distances, indices = exact_search(gallery, queries, k=5)
    assert distances.dtype == np.float32
    truth = cdist(queries.astype(np.float64), gallery.astype(np.float64))
    np.testing.assert_array_equal(indices, np.argsort(truth, axis=1)[:, :5])
    np.testing.assert_allclose(distances, np.sort(truth, axis=1)[:, :5], atol=1e-3)


def test_precomputed_norms_and_a_single_vector_query():
    gallery, query = random_vectors(200, 4, seed=6), random_vectors(1, 4, seed=7)[0]
    distances, indices = exact_search(gallery, query, 3, gallery_sq_norms=squared_norms(gallery))
    assert distances.shape == indices.shape == (1, 3)
    np.testing.assert_array_equal(indices, exact_search(gallery, query[None], 3)[1])


def test_exact_search_rejects_bad_arguments():
    gallery = np.zeros((5, 3))
    with pytest.raises(ValueError, match="between 1 and the gallery size"):
        exact_search(gallery, gallery, k=6)
    with pytest.raises(ValueError, match="dim"):
        exact_search(gallery, np.zeros((1, 4)), k=1)


small_integers = st.integers(-3, 3)


@given(
    gallery=arrays(np.float64, st.tuples(st.integers(1, 60), st.just(3)), elements=small_integers),
    queries=arrays(np.float64, st.tuples(st.integers(1, 5), st.just(3)), elements=small_integers),
    k=st.integers(1, 60),
    group_size=st.sampled_from([1, 2, 1024]),
    block_elements=st.sampled_from([1, 7, 2**23]),
)
def test_exact_search_finds_the_k_smallest_distances_even_with_ties(
    gallery, queries, k, group_size, block_elements
):
    # Small integer coordinates make many exactly tied distances; a small group
    # size forces the grouped pre-selection to run on these short rows.
    k = min(k, len(gallery))
    with mock.patch.object(search, "SELECTION_GROUP_SIZE", group_size):
        distances, indices = exact_search(gallery, queries, k, block_elements=block_elements)
    all_distances = cdist(queries, gallery)
    np.testing.assert_allclose(distances, np.sort(all_distances, axis=1)[:, :k], atol=1e-9)
    np.testing.assert_allclose(np.take_along_axis(all_distances, indices, 1), distances, atol=1e-9)
    assert all(len(set(row)) == k for row in indices.tolist())


# --- recall_at_k ----------------------------------------------------------------------------------


def test_recall_at_k_by_hand():
    assert recall_at_k([[1, 2, 3], [7, 8, 9]], [[3, 4, 1], [9, 8, 7]]) == pytest.approx(5 / 6)
    assert recall_at_k([[-1, -1]], [[0, 1]]) == 0.0
    with pytest.raises(ValueError, match="equal"):
        recall_at_k([[1, 2]], [[1, 2, 3]])


# --- IVFIndex -----------------------------------------------------------------------------------


def test_ivf_probing_every_list_is_exact(clustered_gallery, fitted_index):
    gallery, queries = clustered_gallery
    distances, ids = fitted_index.search(queries, k=10, n_probe=fitted_index.n_lists)
    exact_distances, exact_ids = exact_search(gallery, queries, k=10)
    np.testing.assert_array_equal(ids, exact_ids)
    np.testing.assert_allclose(distances, exact_distances, atol=1e-5)


def test_ivf_recall_rises_with_n_probe(clustered_gallery, fitted_index):
    gallery, queries = clustered_gallery
    exact_ids = exact_search(gallery, queries, k=10)[1]
    recalls = [
        recall_at_k(fitted_index.search(queries, 10, n_probe)[1], exact_ids)
        for n_probe in (1, 2, 4, 8, 32)
    ]
    assert recalls == sorted(recalls)
    assert recalls[0] < 0.9 and recalls[-1] == 1.0


def test_ivf_stores_every_vector_exactly_once(clustered_gallery, fitted_index):
    gallery, _ = clustered_gallery
    assert fitted_index.n_stored == fitted_index.n_searchable == len(gallery)
    assert fitted_index.list_sizes().sum() == len(gallery)
    np.testing.assert_array_equal(fitted_index.stored_ids(), np.arange(len(gallery)))
    np.testing.assert_array_equal(fitted_index.stored_vector(123), gallery[123])


def test_ivf_remove_is_a_lazy_delete_until_compact(clustered_gallery):
    gallery, queries = clustered_gallery
    index = IVFIndex(seed=0).fit(gallery[:2_000], n_lists=16)
    index.add(gallery, np.arange(len(gallery)))
    # Delete each query's true nearest neighbours: the most tempting ids to return.
    doomed = np.unique(exact_search(gallery, queries, k=5)[1])
    index.remove(doomed)

    everything = index.search(queries, k=len(gallery), n_probe=index.n_lists)[1]
    assert not np.isin(doomed, everything).any()
    assert index.n_searchable == len(gallery) - len(doomed)
    assert index.n_stored == len(gallery)  # still physically there...
    np.testing.assert_array_equal(index.tombstoned_ids(), doomed)
    assert np.isin(doomed, index.stored_ids()).all()
    # ...bytes and all.
    np.testing.assert_array_equal(index.stored_vector(doomed[0]), gallery[doomed[0]])

    before = index.search(queries, k=10, n_probe=4)
    assert index.compact() == len(doomed)
    after = index.search(queries, k=10, n_probe=4)
    np.testing.assert_array_equal(after[1], before[1])
    assert index.n_stored == len(gallery) - len(doomed)
    assert not np.isin(doomed, index.stored_ids()).any()
    assert len(index.tombstoned_ids()) == 0
    with pytest.raises(KeyError):
        index.stored_vector(doomed[0])


def test_ivf_remove_of_unknown_ids_changes_nothing(clustered_gallery):
    gallery, _ = clustered_gallery
    index = IVFIndex().fit(gallery[:500], n_lists=4)
    index.add(gallery[:500], np.arange(500))
    with pytest.raises(KeyError, match="9999"):
        index.remove([1, 9999])
    assert index.n_searchable == 500
    index.remove([1])
    with pytest.raises(KeyError, match="already removed"):
        index.remove([1])


def test_ivf_pads_with_minus_one_when_too_few_vectors_are_searchable():
    vectors = random_vectors(40, 4, seed=8)
    index = IVFIndex().fit(vectors, n_lists=2)
    index.add(vectors[:3], [10, 11, 12])
    index.remove([11])
    distances, ids = index.search(vectors[:1], k=4, n_probe=2)
    assert sorted(ids[0, :2].tolist()) == [10, 12]
    np.testing.assert_array_equal(ids[0, 2:], [-1, -1])
    assert np.isinf(distances[0, 2:]).all()


def test_ivf_rejects_duplicate_ids_and_use_before_fit():
    vectors = random_vectors(40, 4, seed=9)
    with pytest.raises(RuntimeError, match="fit"):
        IVFIndex().add(vectors, np.arange(40))
    index = IVFIndex().fit(vectors, n_lists=2)
    index.add(vectors[:2], [1, 2])
    with pytest.raises(ValueError, match="unique"):
        index.add(vectors[2:4], [2, 3])
    with pytest.raises(ValueError, match="unique"):
        index.add(vectors[2:4], [5, 5])


# --- synthetic_gallery and calibrate_gallery_model --------------------------------------------


def test_synthetic_gallery_shape_balance_and_reproducibility():
    params = dict(n_identities=100, centre_scale=1.0, spread=0.1, dim=6)
    embeddings, identities = synthetic_gallery(1_003, **params, seed=3)
    assert embeddings.shape == (1_003, 6) and embeddings.dtype == np.float32
    counts = np.bincount(identities)
    assert len(counts) == 100 and counts.max() - counts.min() <= 1
    again, _ = synthetic_gallery(1_003, **params, seed=3)
    np.testing.assert_array_equal(embeddings, again)
    other, _ = synthetic_gallery(1_003, **params, seed=4)
    assert not np.array_equal(embeddings, other)


def test_scales_may_be_numbers_vectors_or_matrices():
    # Centres along the first axis only; photo noise 0.1 in the first dimension, 0 in the second.
    embeddings, identities = synthetic_gallery(
        4_000, n_identities=400, centre_scale=[[2.0, 0.0], [0.0, 0.0]], spread=[0.1, 0.0], dim=2
    )
    assert np.all(embeddings[:, 1] == 0)
    assert np.std(embeddings[:, 0]) == pytest.approx(np.hypot(2.0, 0.1), rel=0.1)
    same_person = embeddings[identities == 7, 0]
    assert np.std(same_person) < 0.2
    with pytest.raises(ValueError, match="scale matrix"):
        synthetic_gallery(10, centre_scale=np.eye(3), spread=0.1, dim=2)


def covariance(scale):
    return scale @ scale.T


def test_calibration_recovers_known_parameters_across_generation_chunks():
    # 150,000 rows span several generation chunks; a photo given the wrong centre
    # at a chunk boundary would inflate the estimated photo noise.
    dim = 6
    rng = np.random.default_rng(0)
    centre_mean = np.linspace(-1, 1, dim)
    centre_scale = rng.normal(0, 0.05, (dim, dim))  # correlated dimensions
    spread = np.diag(np.linspace(0.01, 0.04, dim))
    embeddings, identities = synthetic_gallery(
        150_000,
        n_identities=30_000,
        centre_mean=centre_mean,
        centre_scale=centre_scale,
        spread=spread,
        dim=dim,
        seed=5,
    )
    model = calibrate_gallery_model(embeddings, identities)
    np.testing.assert_allclose(covariance(model.spread), covariance(spread), atol=2e-5)
    np.testing.assert_allclose(
        covariance(model.centre_scale), covariance(centre_scale), atol=0.05 * 0.05**2 * dim
    )
    np.testing.assert_allclose(model.centre_mean, centre_mean, atol=0.005)


def test_calibration_removes_photo_noise_from_the_spread_of_centres():
    # Two photos per person with large noise: the raw variance of identity means is
    # 0.02^2 + 0.05^2 / 2 per dimension, more than 7 times the true 0.02^2.
    embeddings, identities = synthetic_gallery(
        40_000, n_identities=20_000, centre_scale=0.02, spread=0.05, dim=4, seed=6
    )
    model = calibrate_gallery_model(embeddings, identities)
    np.testing.assert_allclose(np.diag(covariance(model.centre_scale)), 0.02**2, rtol=0.15)
    np.testing.assert_allclose(np.diag(covariance(model.spread)), 0.05**2, rtol=0.03)
    regenerated, _ = synthetic_gallery(10, **vars(model), dim=4)
    assert regenerated.shape == (10, 4)


def test_calibration_needs_repeated_identities():
    with pytest.raises(ValueError, match="repeated photos"):
        calibrate_gallery_model(np.zeros((3, 2)), [0, 1, 2])


# --- Base rates and sizing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_gallery, fmr", [(1, 0.5), (10, 0.01), (1_000, 1e-3), (50, 0.0), (7, 1.0), (0, 1.0)]
)
def test_fpir_formula_matches_direct_computation_for_small_galleries(n_gallery, fmr):
    direct = 1 - (1 - fmr) ** n_gallery
    assert false_positive_identification_rate(n_gallery, fmr) == pytest.approx(direct, rel=1e-12)
    assert expected_false_hits(n_gallery, fmr) == pytest.approx(n_gallery * fmr)


def test_fpir_stays_accurate_for_huge_galleries_and_tiny_fmrs():
    # 1 - (1 - 1e-9)^(30e9) = 1 - exp(-30) up to O(N fmr^2) = 3e-8 relative.
    huge = false_positive_identification_rate(30e9, 1e-9)
    assert huge == pytest.approx(-np.expm1(-30), rel=1e-7)
    # Here the naive formula loses about 4 significant digits to rounding 1 - 1e-12.
    rate = false_positive_identification_rate(1e6, 1e-12)
    assert rate == pytest.approx(1e-6 - 0.5e-12, rel=1e-9)
    assert abs((1 - (1 - 1e-12) ** 1e6) - rate) > 1e-5 * rate
    assert expected_false_hits(30e9, 1e-6) == pytest.approx(30_000)


def test_base_rates_work_element_wise_for_plotting():
    sizes = np.array([0, 1e3, 1e6, 1e9])
    rates = false_positive_identification_rate(sizes, 1e-6)
    np.testing.assert_allclose(rates, [false_positive_identification_rate(n, 1e-6) for n in sizes])
    assert rates[0] == 0 and np.all(np.diff(rates) > 0)


def test_fpir_rejects_impossible_rates():
    with pytest.raises(ValueError):
        false_positive_identification_rate(10, 1.5)


def test_index_footprint_counts_shards_and_machines():
    footprint = index_footprint(1e9, 512, shard_bytes=256e9, replicas=3)
    assert footprint.total_bytes == 512 * 10**9
    assert (footprint.n_shards, footprint.n_machines) == (2, 6)
    assert footprint.stored_bytes == 3 * 512 * 10**9
    assert index_footprint(2, 10, shard_bytes=20).n_shards == 1  # exactly full
    assert index_footprint(2, 10.5, shard_bytes=20).n_shards == 2  # one byte over
    with pytest.raises(ValueError):
        index_footprint(10, 512, shard_bytes=0)


# --- memory of exact search on short galleries ------------------------------------------------


@pytest.mark.parametrize("k", [1, 10])
def test_short_gallery_blocks_stay_within_the_memory_budget(k):
    """IVF assigns vectors to their nearest of a few hundred centroids: a short gallery and many queries.
    np.argpartition's int64 positions used to triple each block's memory (and k = 1 needs none)."""
    block_elements = 2**20  # 4 MB of float32 distances per block
    centroids = random_vectors(256, 16, seed=40, dtype=np.float32)
    vectors = random_vectors(20_000, 16, seed=41, dtype=np.float32)
    tracemalloc.start()
    try:
        _, ids = exact_search(centroids, vectors, k, block_elements=block_elements)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    output = ids.nbytes * 3 // 2  # the int64 ids and the float32 distances returned
    assert peak - output < 1.5 * 4 * block_elements, f"peak {peak / 1e6:.1f} MB"
    all_distances = cdist(vectors, centroids)
    np.testing.assert_allclose(np.take_along_axis(all_distances, ids, 1), np.sort(all_distances, axis=1)[:, :k],
                               atol=1e-5)


# --- right person, re-rank -------------------------------------------------------------------


def test_recall_per_query_by_hand():
    approx = [[1, 2, 3, 4], [5, 6, 7, 8]]
    exact = [[1, 2, 9, 9], [5, 6, 7, 8]]
    np.testing.assert_allclose(recall_per_query(approx, exact), [0.5, 1.0])
    assert recall_at_k(approx, exact) == pytest.approx(0.75)


def test_right_person_rate_counts_the_person_not_the_face():
    gallery_people = np.array([7, 7, 8, 9, 9])
    query_people = np.array([7, 9, 8, 7])
    results = np.array([[1, 2], [0, 4], [-1, 2], [3, 0]])  # query 2's first slot is empty: a miss at rank 1
    assert right_person_rate(results, gallery_people, query_people) == pytest.approx(1 / 4)
    assert right_person_rate(results, gallery_people, query_people, rank=2) == pytest.approx(4 / 4)
    with pytest.raises(ValueError, match="rank"):
        right_person_rate(results, gallery_people, query_people, rank=3)
    with pytest.raises(ValueError, match="one result row per query"):
        right_person_rate(results[:3], gallery_people, query_people)


def test_rerank_is_exact_search_among_the_candidates():
    gallery = random_vectors(2_000, 16, seed=50, dtype=np.float32)
    queries = random_vectors(20, 16, seed=51, dtype=np.float32)
    rng = np.random.default_rng(52)
    candidates = np.array([rng.choice(2_000, 60, replace=False) for _ in queries])
    before = gallery.copy()
    distances, ids = rerank(gallery, queries, candidates, 5)
    np.testing.assert_array_equal(gallery, before)  # the gallery is read, never changed
    for query, row, found, found_d in zip(queries, candidates, ids, distances):
        true_d, true_rows = exact_search(gallery[row], query, 5)
        np.testing.assert_array_equal(found, row[true_rows[0]])
        np.testing.assert_allclose(found_d, true_d[0], rtol=1e-5)


def test_rerank_skips_empty_slots_and_pads_when_candidates_run_out():
    gallery = np.array([[0.0], [1.0], [3.0], [10.0]])
    distances, ids = rerank(gallery, [[2.9]], [[3, -1, 2, -1]], 3)
    np.testing.assert_array_equal(ids, [[2, 3, -1]])
    np.testing.assert_allclose(distances, [[0.1, 7.1, np.inf]])
    distances, ids = rerank(gallery, [[0.2]], [[1, 0]], 3)  # fewer candidates than k
    np.testing.assert_array_equal(ids, [[0, 1, -1]])
    with pytest.raises(ValueError, match="one row of candidates per query"):
        rerank(gallery, [[0.2], [0.3]], [[1, 0]], 2)


# --- locality-sensitive hashing ----------------------------------------------------------------


def test_lsh_candidates_are_exactly_the_faces_sharing_a_bucket(clustered_gallery):
    gallery, queries = clustered_gallery
    lsh = RandomHyperplaneLSH(n_tables=3, n_bits=6, seed=4).add(gallery)
    centre = gallery.mean(axis=0)
    for query, found in zip(queries[:10], lsh.candidates(queries[:10])):
        expected = np.zeros(len(gallery), bool)
        for hyperplanes in lsh.hyperplanes:  # by the definition: the same side of every hyperplane of a table
            gallery_sides = (gallery - centre) @ hyperplanes > 0
            query_sides = (query - centre) @ hyperplanes > 0
            expected |= np.all(gallery_sides == query_sides, axis=1)
        np.testing.assert_array_equal(found, np.flatnonzero(expected))


def test_lsh_ranks_its_candidates_exactly_and_finds_everything_when_every_face_is_a_candidate(clustered_gallery):
    gallery, queries = clustered_gallery
    lsh = RandomHyperplaneLSH(n_tables=40, n_bits=1, seed=0).add(gallery)  # 2 buckets per table, 40 tables
    distances, ids, n_candidates = lsh.search(queries, 10)
    assert np.all(n_candidates == len(gallery))
    exact_distances, exact_ids = exact_search(gallery, queries, 10)
    np.testing.assert_array_equal(ids, exact_ids)
    np.testing.assert_allclose(distances, exact_distances, rtol=1e-5)


def test_lsh_more_tables_never_lose_recall_and_more_bits_check_fewer_faces(clustered_gallery):
    gallery, queries = clustered_gallery
    _, exact_ids = exact_search(gallery, queries, 10)
    lsh = RandomHyperplaneLSH(n_tables=16, n_bits=8, seed=1).add(gallery)
    recalls, counts = [], []
    for n_tables in [1, 2, 4, 8, 16]:
        _, ids, n_candidates = lsh.search(queries, 10, n_tables)
        recalls.append(recall_at_k(ids, exact_ids))
        counts.append(n_candidates.mean())
    assert recalls == sorted(recalls) and recalls[-1] > recalls[0]
    assert counts == sorted(counts)
    fewer_bits = [RandomHyperplaneLSH(8, bits, seed=1).add(gallery).search(queries, 10)[2].mean() for bits in (4, 8, 12)]
    assert fewer_bits[0] > fewer_bits[1] > fewer_bits[2]


def test_lsh_is_reproducible_keeps_the_gallery_by_reference_and_pads_empty_buckets(clustered_gallery):
    gallery, queries = clustered_gallery
    first = RandomHyperplaneLSH(4, 10, seed=3).add(gallery)
    second = RandomHyperplaneLSH(4, 10, seed=3).add(gallery)
    np.testing.assert_array_equal(first.search(queries, 10)[1], second.search(queries, 10)[1])
    assert np.shares_memory(first._checked_gallery(), gallery)
    far_away = np.full((1, gallery.shape[1]), 1e3, np.float32)  # too far from everything: its buckets are empty
    far_lsh = RandomHyperplaneLSH(1, 30, seed=3).add(gallery)
    distances, ids, n_candidates = far_lsh.search(far_away, 3)
    if n_candidates[0] == 0:
        np.testing.assert_array_equal(ids, [[-1, -1, -1]])
        assert np.all(np.isinf(distances))


def test_lsh_rejects_bad_settings_and_use_before_add(clustered_gallery):
    gallery, queries = clustered_gallery
    with pytest.raises(ValueError, match="n_bits"):
        RandomHyperplaneLSH(n_tables=2, n_bits=0)
    with pytest.raises(ValueError, match="n_tables"):
        RandomHyperplaneLSH(n_tables=0, n_bits=8)
    with pytest.raises(RuntimeError, match="add"):
        RandomHyperplaneLSH(2, 8).search(queries, 10)
    lsh = RandomHyperplaneLSH(2, 8).add(gallery)
    with pytest.raises(ValueError, match="between 1 and 2"):
        lsh.search(queries, 10, n_tables=3)


def test_lsh_candidate_probability_matches_random_hyperplanes():
    rng = np.random.default_rng(60)
    angle = 1.0
    a, b = np.array([1.0, 0.0]), np.array([np.cos(angle), np.sin(angle)])
    normals = rng.standard_normal((200_000, 2))
    same_side = np.mean((normals @ a > 0) == (normals @ b > 0))
    assert same_side == pytest.approx(1 - angle / np.pi, abs=0.005)
    assert lsh_candidate_probability(angle, 1, 1) == pytest.approx(1 - angle / np.pi)
    assert lsh_candidate_probability(angle, 8, 4) == pytest.approx(1 - (1 - (1 - angle / np.pi) ** 8) ** 4)
    assert lsh_candidate_probability(0.0, 16, 1) == 1 and lsh_candidate_probability(np.pi, 1, 10) == 0


# --- memory ----------------------------------------------------------------------------------------


def _resident_bytes() -> int:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not search.release_freed_memory(), reason="needs glibc (Linux): elsewhere it does nothing")
def test_release_freed_memory_hands_deleted_arrays_back_to_the_system():
    # 100 kB arrays live on the C heap; the last one, kept, stops the heap from shrinking by itself.
    arrays = [np.ones(12_500) for _ in range(800)]  # 80 MB
    keep = arrays[-1]
    del arrays
    before = _resident_bytes()
    assert search.release_freed_memory()
    assert before - _resident_bytes() > 40e6
    del keep
