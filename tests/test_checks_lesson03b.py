"""Lesson 03b's exercise checks accept right answers written differently and name the typical wrong ones."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest

from course.checks import lesson03b as check
from course.search import exact_search
from course.sharded_search import make_shards

K = 10


@pytest.fixture(scope="module")
def problem():
    """Four shards of 500 faces, and 8 queries whose neighbours lie in every shard."""
    rng = np.random.default_rng(0)
    gallery = rng.standard_normal((2000, 16)).astype(np.float32)
    queries = gallery[[3, 620, 1100, 1999, 40, 777, 1500, 1234]] + 0.3 * rng.standard_normal((8, 16)).astype(np.float32)
    shards = make_shards(gallery, 4)
    local = [exact_search(shard.vectors, queries, K) for shard in shards]
    distances, ids = exact_search(gallery, queries, K)
    return gallery, queries, shards, local, distances, ids


def _candidates(problem):
    _, _, shards, local, _, _ = problem
    distances = np.hstack([d for d, _ in local])
    ids = np.hstack([shard.ids[rows] for shard, (_, rows) in zip(shards, local)])
    return distances, ids


# ---------------------------------------------------------------- exercise 1: merge


def test_merge_accepts_right_answers_written_differently(problem, capsys):
    gallery, queries, shards, local, _, ids = problem
    distances, candidate_ids = _candidates(problem)
    by_argsort = np.take_along_axis(candidate_ids, np.argsort(distances, axis=1)[:, :K], axis=1)
    by_heap = [[gid for _, gid in heapq.nsmallest(K, zip(d.tolist(), i.tolist()))]
               for d, i in zip(distances, candidate_ids)]
    with_offsets = np.hstack([rows + shard.ids[0] for shard, (_, rows) in zip(shards, local)])
    by_offsets = np.take_along_axis(with_offsets, np.argsort(distances, axis=1, kind="stable")[:, :K], axis=1)
    for answer in (by_argsort, by_heap, by_offsets.astype(np.int32), by_argsort.astype(float), ids):
        assert check.merged_top_k(answer, shards, queries, K)
        assert capsys.readouterr().out.startswith("✅")


@pytest.mark.parametrize(
    "mistake, words",
    [
        ("local_rows", "*inside* each shard"),
        ("first_shard", "only the first shard"),
        ("all_candidates", "kept all 4 × 10"),
        ("farthest_first", "farthest first"),
        ("sorted_by_id", "sorted by id rather than by distance"),
        ("smallest_ids", "sorted by *id*"),
        ("unsorted", "not nearest first"),
        ("one_per_shard", "Expected shape (8, 10)"),
        ("duplicates", "appear twice"),
        ("none", "None"),
        ("distances", "not whole numbers"),
        ("out_of_range", "outside the gallery"),
        ("random", "Only"),
    ],
)
def test_merge_names_typical_mistakes(problem, capsys, mistake, words):
    _, queries, shards, local, true_distances, ids = problem
    distances, candidate_ids = _candidates(problem)
    local_rows = np.hstack([rows for _, rows in local])
    order = np.argsort(distances, axis=1)
    answer = {
        "local_rows": np.take_along_axis(local_rows, order[:, :K], axis=1),
        "first_shard": local[0][1],
        "all_candidates": candidate_ids,
        "farthest_first": ids[:, ::-1],
        "sorted_by_id": np.sort(ids, axis=1),
        "smallest_ids": np.sort(candidate_ids, axis=1)[:, :K],
        "unsorted": ids[:, [1, 0, *range(2, K)]],
        "one_per_shard": np.stack([shard.ids[rows[:, 0]] for shard, (_, rows) in zip(shards, local)], axis=1),
        "duplicates": np.hstack([ids[:, :1], ids[:, :K - 1]]),
        "none": None,
        "distances": true_distances,
        "out_of_range": ids + 2000,
        "random": np.random.default_rng(1).permutation(2000)[: 8 * K].reshape(8, K),
    }[mistake]
    assert not check.merged_top_k(answer, shards, queries, K)
    out = capsys.readouterr().out
    assert out.startswith("❌") and words in out, out


def test_merge_problem_really_spreads_neighbours_over_the_shards(problem):
    ids = problem[-1]
    assert set((ids[:, 0] // 500).tolist()) == {0, 1, 2, 3}  # local rows and the first shard are then wrong


# ---------------------------------------------------------------- exercise 2: the tail


@pytest.mark.parametrize("answer", [1 - 0.99**100, -math.expm1(100 * math.log1p(-0.01)), 0.634, 0.63,
                                    np.float32(1 - 0.99**100)])
def test_tail_accepts_right_answers(answer, capsys):
    assert check.tail_probability(answer, 100)
    assert capsys.readouterr().out.startswith("✅")


@pytest.mark.parametrize(
    "answer, n_shards, words",
    [
        (0.99**100, 100, "*every* shard is fast"),
        (63.4, 100, "percentage"),
        (0.01 * 100, 100, "Adding 0.01 per shard"),
        (0.01 * 40, 40, "adds the shards' chances"),
        (0.01, 100, "for *one* shard"),
        (1 - 0.01**2, 2, "not *every* shard is slow"),
        (0.5, 100, "Not quite"),
        (True, 100, "True/False"),
        ("0.634", 100, "got a string"),
        (None, 100, "one number"),
    ],
)
def test_tail_names_typical_mistakes(answer, n_shards, words, capsys):
    assert not check.tail_probability(answer, n_shards)
    out = capsys.readouterr().out
    assert out.startswith("❌") and words in out, out


def test_tail_adding_chances_beyond_one_is_named():
    feedback = check.tail_probability(2.0, 200)
    assert not feedback and "between 0 and 1" in feedback.message


# ---------------------------------------------------------------- exercise 3: machines

SIZING = dict(n_faces=30e9, bytes_per_face=524.0, machine_bytes=256e9, replication=2)


@pytest.mark.parametrize("shards, machines", [(62, 124), (62.0, 124.0), (np.int64(62), np.int64(124)),
                                              (math.ceil(30e9 * 524 / 256e9), 2 * math.ceil(30e9 * 524 / 256e9))])
def test_machines_accepts_right_answers(shards, machines, capsys):
    assert check.machines_for_gallery(shards, machines, **SIZING)
    assert capsys.readouterr().out.startswith("✅")


@pytest.mark.parametrize(
    "shards, machines, words",
    [
        (61, 122, "round *up*"),  # floor
        (62, 62, "held 2 times"),  # replication forgotten
        (124, 248, "copies of the same shards"),  # replication counted in the shards
        (60, 120, "512 bytes"),  # the vector alone
        (492, 984, "bits"),
        (58, 116, "GiB"),
        (61.4, 122.8, "not a whole number"),
        (62, 125, "shards × replication"),
        (80, 160, "divide by"),
        ("62", 124, "must be a number, got a string"),
        (True, 124, "True/False"),
    ],
)
def test_machines_names_typical_mistakes(shards, machines, words, capsys):
    assert not check.machines_for_gallery(shards, machines, **SIZING)
    out = capsys.readouterr().out
    assert out.startswith("❌") and words in out, out


def test_machines_wrong_figures_are_what_those_mistakes_compute():
    n, b, m = SIZING["n_faces"], SIZING["bytes_per_face"], SIZING["machine_bytes"]
    assert math.ceil(n * b / m) == 62  # the right count
    assert math.floor(n * b / m) == 61 and math.ceil(n * 512 / m) == 60 and math.ceil(n * b * 8 / m) == 492
    assert math.ceil(n * b / (256 * 2**30)) == 58


# ------------------------------------------------------------------ found by a fresh-eyes learner


@pytest.mark.parametrize("value, hint", [
    (1 - 0.99**99, "1 − 0.99^99"),
    (1 - 0.99**101, "1 − 0.99^101"),
    (1 - math.exp(-1), "approximation"),
    (1 - 0.01**100, "1 would mean every query"),
    (0.01 * 100, "1 would mean every query"),
])
def test_tail_near_misses_are_named(value, hint):
    feedback = check.tail_probability(value, 100)
    assert not feedback and hint in feedback.message


def test_tail_out_of_range_names_adding_only_when_it_was_adding():
    assert "Adding" not in check.tail_probability(36.6, 100).message
    assert "Adding" in check.tail_probability(0.01 * 200, 200).message


def test_merge_ragged_rows_and_distances_get_messages_not_tracebacks(problem):
    _, queries, shards, *_ = problem
    assert "rows of different lengths" in check.merged_top_k([[1, 2, 3], [4]], shards, queries, K).message
    distances = np.random.default_rng(1).random((len(queries), K))
    assert "not whole numbers" in check.merged_top_k(distances, shards, queries, K).message


def test_machines_with_lesson_03s_paper_bytes_is_named():
    kw = dict(n_faces=30e9, bytes_per_face=524.0, machine_bytes=256e9, replication=2)
    shards = math.ceil(30e9 * 520 / 256e9)
    feedback = check.machines_for_gallery(shards, 2 * shards, **kw)
    assert not feedback and "520 bytes" in feedback.message
