"""Lesson 03's exercise checks accept right answers and name the typical wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from course.checks import lesson03 as check
from course.search import IVFIndex, exact_search, false_positive_identification_rate


@pytest.fixture(scope="module")
def gallery_and_query():
    rng = np.random.default_rng(0)
    gallery = rng.standard_normal((500, 16)).astype(np.float32)
    query = rng.standard_normal(16).astype(np.float32)
    return gallery, query


def _distances(gallery, query):
    return np.linalg.norm(gallery.astype(np.float64) - query, axis=1)


# ---------------------------------------------------------------- exercise 1: exact top-k


def test_top_k_accepts_the_nearest_first(gallery_and_query, capsys):
    gallery, query = gallery_and_query
    order = np.argsort(_distances(gallery, query))
    assert check.top_k(order[:10], gallery, query, 10)
    assert capsys.readouterr().out.startswith("✅")
    assert check.top_k(exact_search(gallery, query, 10)[1], gallery, query, 10)  # a (1, k) row is fine
    assert check.top_k(order[:10].tolist(), gallery, query, 10)


@pytest.mark.parametrize(
    "mistake, words",
    [
        ("distances", "distances"),
        ("unsorted", "not nearest first"),
        ("argmax", "farthest"),
        ("one_more", "one too many"),
        ("one_less", "one too few"),
        ("skip_first", "skipped the nearest"),
        ("none", "return"),
        ("random", "Only"),
    ],
)
def test_top_k_names_typical_mistakes(gallery_and_query, capsys, mistake, words):
    gallery, query = gallery_and_query
    distances = _distances(gallery, query)
    order = np.argsort(distances)
    answer = {
        "distances": np.sort(distances)[:10],
        "unsorted": order[:10][::-1],
        "argmax": np.argsort(-distances)[:10],
        "one_more": order[:11],
        "one_less": order[:9],
        "skip_first": order[1:11],
        "none": None,
        "random": np.arange(200, 210),
    }[mistake]
    feedback = check.top_k(answer, gallery, query, 10)
    assert not feedback
    out = capsys.readouterr().out
    assert out.startswith("❌") and words in out, out


def test_top_k_recognises_person_ids_returned_for_positions(gallery_and_query):
    gallery, query = gallery_and_query
    gallery_ids = np.arange(len(gallery)) // 5  # five photos per person, as in the lesson's gallery
    people = gallery_ids[np.argsort(_distances(gallery, query))[:10]]
    feedback = check.top_k(people, gallery, query, 10, gallery_ids=gallery_ids)
    assert not feedback and "*people*" in feedback.message
    assert check.top_k(np.argsort(_distances(gallery, query))[:10], gallery, query, 10, gallery_ids=gallery_ids)


# ---------------------------------------------------------------- exercise 2: n_probe


@pytest.fixture(scope="module")
def ivf_problem():
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((40, 8)).astype(np.float32) * 3
    gallery = (centres[rng.integers(0, 40, 3000)] + rng.standard_normal((3000, 8))).astype(np.float32)
    queries = (centres[rng.integers(0, 40, 50)] + rng.standard_normal((50, 8))).astype(np.float32)
    index = IVFIndex(seed=0).fit(gallery, 32)
    index.add(gallery, np.arange(len(gallery)))
    exact_ids = exact_search(gallery, queries, 10)[1]
    calls = []

    def search_ids(n_probe):
        calls.append(n_probe)
        return index.search(queries, 10, n_probe)[1]

    recalls = {p: check.recall_at_k(search_ids(p), exact_ids) for p in range(1, 33)}
    calls.clear()
    smallest = min(p for p, r in recalls.items() if r >= 0.95)
    return search_ids, exact_ids, smallest, calls


def test_n_probe_accepts_the_smallest(ivf_problem, capsys):
    search_ids, exact_ids, smallest, calls = ivf_problem
    assert 1 < smallest < 32
    assert check.n_probe_for_recall(smallest, search_ids, exact_ids, n_lists=32)
    assert capsys.readouterr().out.startswith("✅")
    assert len(calls) <= 12  # bisection, not a full sweep


def test_n_probe_too_small_or_too_large(ivf_problem, capsys):
    search_ids, exact_ids, smallest, _ = ivf_problem
    assert not check.n_probe_for_recall(smallest - 1, search_ids, exact_ids, n_lists=32)
    assert "below the target" in capsys.readouterr().out
    assert not check.n_probe_for_recall(32, search_ids, exact_ids, n_lists=32)
    out = capsys.readouterr().out
    assert f"n_probe={smallest} already" in out and "smallest" in out


@pytest.mark.parametrize("answer, words", [(0, "between 1"), (99, "between 1"), ("8", "whole number"),
                                           (2.5, "whole number"), (None, "whole number")])
def test_n_probe_rejects_nonsense(ivf_problem, capsys, answer, words):
    search_ids, exact_ids, _, _ = ivf_problem
    assert not check.n_probe_for_recall(answer, search_ids, exact_ids, n_lists=32)
    assert words in capsys.readouterr().out


# ---------------------------------------------------------------- exercise 3: a city's false hits


def test_city_accepts_the_right_numbers(capsys):
    n, fmr = 1_000_000, 1e-5
    fpir = float(false_positive_identification_rate(n, fmr))
    assert check.city_false_hits(n * fmr, fpir, n, fmr)
    out = capsys.readouterr().out
    assert out.startswith("✅") and "10 false hits" in out
    assert check.city_false_hits(n * fmr, 1 - (1 - fmr) ** n, n, fmr)  # the naive formula is close enough


@pytest.mark.parametrize("magnitude, n, fmr", [("too many to review", 3e9, 1e-6), ("human reviewer", 2e5, 1e-5),
                                               ("thousands of searches", 1e4, 1e-5), ("rare", 1e3, 1e-7)])
def test_city_comments_on_magnitude(capsys, magnitude, n, fmr):
    assert check.city_false_hits(n * fmr, false_positive_identification_rate(n, fmr), n, fmr)
    assert magnitude in capsys.readouterr().out


@pytest.mark.parametrize(
    "hits, fpir, words",
    [
        (10.0, 10.0, "probability"),  # N x FMR used as FPIR
        (10.0, (1 - 1e-5) ** 1e6, "no* false hit"),
        (0.99995, 0.99995, "is the FPIR"),
        (1000.0, 0.99995, "factor of 100"),
        (7.0, 0.99995, "N × FMR"),
        ("ten", 0.5, "numbers"),
    ],
)
def test_city_names_typical_mistakes(capsys, hits, fpir, words):
    assert not check.city_false_hits(hits, fpir, 1_000_000, 1e-5)
    out = capsys.readouterr().out
    assert out.startswith("❌") and words in out, out


def test_city_names_the_small_rate_approximation(capsys):
    n, fmr = 50_000, 1e-5  # N x FMR = 0.5, while FPIR = 0.39
    assert not check.city_false_hits(n * fmr, n * fmr, n, fmr)
    assert "approximates" in capsys.readouterr().out


def test_city_rejects_a_percentage_fmr(capsys):
    assert not check.city_false_hits(1e4, 1.0, 1e6, 1.0 / 100 * 10)
    assert "percentage" in capsys.readouterr().out
