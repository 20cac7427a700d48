"""Lesson 03's exercise checks accept right answers and name the typical wrong ones."""

from __future__ import annotations

import re

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


def _squared(gallery, query):
    return np.sum((gallery - query) ** 2, axis=1)


# Right answers written differently: argpartition then sort; a full argsort; the dot-product form; a plain
# Python list sorted by distance.
def _partition_then_sort(gallery, query, k):
    squared = _squared(gallery, query)
    candidates = np.argpartition(squared, k - 1)[:k]
    return candidates[np.argsort(squared[candidates])]


def _full_argsort(gallery, query, k):
    return np.argsort(_distances(gallery, query))[:k]


def _dot_product_form(gallery, query, k):
    partial = np.sum(gallery.astype(np.float64) ** 2, axis=1) - 2 * gallery.astype(np.float64) @ query
    return np.argsort(partial, kind="stable")[:k]


def _float32_dot_product(gallery, query, k):
    """The lesson's ||g||² − 2 q·g in float32: rounding may swap near-ties, which are equally right."""
    partial = np.einsum("ij,ij->i", gallery, gallery) - 2 * gallery @ query
    best = np.argpartition(partial, k - 1)[:k]
    return best[np.argsort(partial[best])]


def _python_list(gallery, query, k):
    distances = _distances(gallery, query).tolist()
    return sorted(range(len(distances)), key=distances.__getitem__)[:k]


@pytest.mark.parametrize("function", [_partition_then_sort, _full_argsort, _dot_product_form, _float32_dot_product,
                                      _python_list])
def test_top_k_accepts_right_answers_written_differently(gallery_and_query, capsys, function):
    gallery, query = gallery_and_query
    assert check.top_k(function, gallery, query, 10)
    assert capsys.readouterr().out.startswith("✅")


def test_top_k_accepts_a_one_row_matrix(gallery_and_query):
    gallery, query = gallery_and_query
    assert check.top_k(lambda g, q, k: search_row(g, q, k), gallery, query, 10)


def search_row(gallery, query, k):
    return exact_search(gallery, query, k)[1]  # shape (1, k)


def _argpartition_unsorted(gallery, query, k):
    return np.argpartition(_squared(gallery, query), k - 1)[:k]


def test_the_second_case_shows_an_unsorted_argpartition(gallery_and_query):
    """The reported false ✅: at k = 10 argpartition happens to come out sorted; the second case must not."""
    second_gallery, second_query, second_k = check._second_top_k_case()
    distances = _squared(second_gallery, second_query)
    assert np.any(np.diff(distances[_argpartition_unsorted(second_gallery, second_query, second_k)]) < 0)


@pytest.mark.parametrize(
    "mistake, words",
    [
        ("distances", "distances"),
        ("argpartition_unsorted", "not nearest first"),
        ("reversed", "not nearest first"),
        ("argmax", "farthest"),
        ("one_more", "one too many"),
        ("one_less", "one too few"),
        ("skip_first", "skipped the nearest"),
        ("none", "forget `return`"),
        ("fixed", "Only"),
        ("squared_unsorted_set", "not nearest first"),
    ],
)
def test_top_k_names_typical_mistakes(gallery_and_query, capsys, mistake, words):
    gallery, query = gallery_and_query

    function = {
        "distances": lambda g, q, k: np.sort(_distances(g, q))[:k],
        "argpartition_unsorted": _argpartition_unsorted,  # the reported one: passed at k = 10
        "reversed": lambda g, q, k: np.argsort(_distances(g, q))[:k][::-1],
        "argmax": lambda g, q, k: np.argsort(-_distances(g, q))[:k],
        "one_more": lambda g, q, k: np.argsort(_distances(g, q))[: k + 1],
        "one_less": lambda g, q, k: np.argsort(_distances(g, q))[: k - 1],
        "skip_first": lambda g, q, k: np.argsort(_distances(g, q))[1 : k + 1],
        "none": lambda g, q, k: None,
        "fixed": lambda g, q, k: np.arange(200, 200 + k),
        "squared_unsorted_set": lambda g, q, k: np.array(sorted(set(np.argsort(_squared(g, q))[:k].tolist()))),
    }[mistake]
    feedback = check.top_k(function, gallery, query, 10)
    assert not feedback
    out = capsys.readouterr().out
    assert out.startswith("❌") and words in out, out


def test_top_k_says_the_stub_is_not_done_and_lets_its_error_stop_the_cell(gallery_and_query, capsys):
    """The untouched stub: a specific message, and the learner's cell still stops with NotImplementedError."""
    gallery, query = gallery_and_query

    def stub(g, q, k):
        raise NotImplementedError("Exercise: Exercise 1")

    with pytest.raises(NotImplementedError, match="Exercise 1"):
        check.top_k(stub, gallery, query, 10)
    assert capsys.readouterr().out.startswith("❌ The exercise is not done yet")


def test_the_second_gallery_keeps_the_contract_of_128_numbers():
    """The reported crash: the prompt promises a query of 128 numbers, and the second gallery had 16."""
    second_gallery, second_query, _ = check._second_top_k_case()
    assert second_gallery.shape[1] == 128 and second_query.shape == (128,)


def _assumes_128(gallery, query, k):
    """A right answer that relies on the prompt's contract (a query of 128 numbers)."""
    return np.argsort(np.sum((gallery - query.reshape(128)) ** 2, axis=1), kind="stable")[:k]


def test_top_k_accepts_code_written_for_128_numbers(capsys):
    rng = np.random.default_rng(0)
    gallery = rng.standard_normal((1000, 128)).astype(np.float32)
    assert check.top_k(_assumes_128, gallery, gallery[0] + 0.01, 10)
    assert capsys.readouterr().out.startswith("✅")


@pytest.mark.parametrize("second_only", [False, True])
def test_top_k_reports_an_error_raised_by_the_function(gallery_and_query, capsys, second_only):
    """An exception in the learner's code becomes a message naming it, not a traceback from inside the check."""
    gallery, query = gallery_and_query

    def fails(g, q, k):
        if second_only and k == 10:
            return _full_argsort(g, q, k)
        return np.argsort(np.sum((g - q.reshape(3, -1)) ** 2, axis=1))[:k]

    feedback = check.top_k(fails, gallery, query, 10)
    assert not feedback and "raised ValueError" in feedback.message
    assert ("second gallery" in feedback.message) == second_only
    assert capsys.readouterr().out.startswith("❌")


def test_top_k_names_an_unsorted_answer_on_the_second_gallery(gallery_and_query):
    gallery, query = gallery_and_query
    feedback = check.top_k(_argpartition_unsorted, gallery, query, 10)
    assert not feedback and "second gallery" in feedback.message and "k = 200" in feedback.message


def test_top_k_asks_for_the_function_not_its_result(gallery_and_query):
    gallery, query = gallery_and_query
    feedback = check.top_k(_full_argsort(gallery, query, 10), gallery, query, 10)
    assert not feedback and "function itself" in feedback.message


def test_top_k_recognises_person_ids_returned_for_positions(gallery_and_query):
    gallery, query = gallery_and_query
    gallery_ids = np.arange(len(gallery)) // 5  # five photos per person, as in the lesson's gallery

    def people(g, q, k):
        return gallery_ids[np.argsort(_distances(g, q))[:k]]

    feedback = check.top_k(people, gallery, query, 10, gallery_ids=gallery_ids)
    assert not feedback and "*people*" in feedback.message
    assert check.top_k(_full_argsort, gallery, query, 10, gallery_ids=gallery_ids)


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


@pytest.mark.parametrize("written_as", [int, np.int64, float, np.int32])
def test_n_probe_accepts_the_smallest(ivf_problem, capsys, written_as):
    search_ids, exact_ids, smallest, calls = ivf_problem
    assert 1 < smallest < 32
    calls.clear()
    assert check.n_probe_for_recall(written_as(smallest), search_ids, exact_ids, n_lists=32)
    assert capsys.readouterr().out.startswith("✅")
    assert len(calls) <= 12  # bisection, not a full sweep


def test_n_probe_too_small_or_too_large(ivf_problem, capsys):
    search_ids, exact_ids, smallest, _ = ivf_problem
    assert not check.n_probe_for_recall(smallest - 1, search_ids, exact_ids, n_lists=32)
    assert "below the target" in capsys.readouterr().out
    assert not check.n_probe_for_recall(32, search_ids, exact_ids, n_lists=32)
    out = capsys.readouterr().out
    assert "larger than needed" in out and "Find the smallest value" in out


def test_n_probe_too_large_does_not_give_the_answer_away(ivf_problem, capsys):
    """The reported leak: any answer above the smallest printed "n_probe=<smallest> already reaches ..."."""
    search_ids, exact_ids, smallest, _ = ivf_problem
    for too_large in (smallest + 1, 22, 32):
        feedback = check.n_probe_for_recall(too_large, search_ids, exact_ids, n_lists=32)
        assert not feedback and "larger than needed" in feedback.message
        named = {int(n) for n in re.findall(r"n_probe=(\d+)", feedback.message)}
        assert named == {too_large}, feedback.message
        assert str(smallest) not in re.sub(r"n_probe=\d+|\d\.\d+", "", feedback.message)


def test_n_probe_accepts_a_zero_dimensional_array(ivf_problem):
    search_ids, exact_ids, smallest, _ = ivf_problem
    assert check.n_probe_for_recall(np.array(smallest), search_ids, exact_ids, n_lists=32)
    assert not check.n_probe_for_recall(np.array(smallest - 1), search_ids, exact_ids, n_lists=32)


@pytest.mark.parametrize("answer, words", [(0, "between 1"), (99, "between 1"), ("8", "not text"),
                                           (2.5, "whole number"), (None, "not set my_n_probe"),
                                           (True, "whole number")])
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
        ("ten", 0.5, "not text"),
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


@pytest.mark.parametrize("unset", ["city", "population", "city_fmr", "expected_hits", "city_fpir"])
def test_city_names_a_variable_left_unset(capsys, unset):
    """The reported NameError: every name the exercise asks for starts as None, and the check names the missing one."""
    answer = dict(city="Lyon", population=500_000, city_fmr=1e-5, expected_hits=5.0,
                  city_fpir=float(false_positive_identification_rate(500_000, 1e-5)))
    answer[unset] = None
    feedback = check.city_false_hits(answer["expected_hits"], answer["city_fpir"], answer["population"],
                                     answer["city_fmr"], city=answer["city"])
    assert not feedback and f"not set {unset}" in feedback.message


def test_city_accepts_numpy_values_and_names_the_city(capsys):
    n, fmr = np.int64(2_100_000), np.float64(1e-7)
    assert check.city_false_hits(np.float64(n * fmr), -np.expm1(n * np.log1p(-fmr)), n, fmr, city="Paris")
    assert "Paris, 2,100,000 faces" in capsys.readouterr().out


@pytest.mark.parametrize("field, text", [("expected_hits", "5.0"), ("population", "500000"), ("city_fmr", "1e-5"),
                                         ("city_fpir", "0.993")])
def test_city_refuses_numbers_written_as_text(capsys, field, text):
    """The reported false ✅: expected_hits="5.0" and population="500000" were accepted."""
    answer = dict(population=500_000, city_fmr=1e-5, expected_hits=5.0,
                  city_fpir=float(false_positive_identification_rate(500_000, 1e-5)))
    answer[field] = text
    feedback = check.city_false_hits(answer["expected_hits"], answer["city_fpir"], answer["population"],
                                     answer["city_fmr"], city="Lyon")
    assert not feedback and "a number, not text" in feedback.message and field in feedback.message


def test_city_accepts_zero_dimensional_arrays(capsys):
    n, fmr = 500_000, 1e-5
    fpir = false_positive_identification_rate(n, fmr)
    assert check.city_false_hits(np.array(n * fmr), np.asarray(fpir), np.array(n), np.array(fmr), city="Lyon")
    assert not check.city_false_hits(np.array(n * fmr * 100), np.asarray(fpir), np.array(n), np.array(fmr))


def test_city_refuses_a_zero_fpir_for_a_tiny_rate(capsys):
    """FPIR 0 for N = 100 at FMR 1e-12 (really 1e-10) was within an absolute tolerance of 1e-9, and passed."""
    n, fmr = 100, 1e-12
    assert not check.city_false_hits(n * fmr, 0.0, n, fmr)
    assert check.city_false_hits(n * fmr, -np.expm1(n * np.log1p(-fmr)), n, fmr)
    assert check.city_false_hits(n * fmr, 1 - (1 - fmr) ** n, n, fmr)  # the naive formula, rounding and all


# ------------------------------------------------------------------------ concept questions

@pytest.mark.parametrize("when, questions", [("before", check.BEFORE), ("after", check.AFTER)])
def test_concept_questions_have_exactly_one_right_letter_among_their_options(when, questions):
    assert 3 <= len(questions) <= 5
    for question in questions:
        assert question.answer in question.options and len(question.options) >= 3
        assert question.why and question.why[0].islower(), "the explanation continues 'b: ...' in the verdict"


@pytest.mark.parametrize("quiz, questions", [(check.concepts_before, check.BEFORE), (check.concepts_after, check.AFTER)])
def test_right_letters_pass_written_as_a_dict_or_a_list(quiz, questions):
    letters = [question.answer for question in questions]
    assert quiz(dict(enumerate(letters, start=1)))
    assert quiz([letter.upper() for letter in letters])


@pytest.mark.parametrize("quiz, questions, number, wrong", [
    (quiz, questions, number, letter)
    for quiz, questions in [(check.concepts_before, check.BEFORE), (check.concepts_after, check.AFTER)]
    for number, question in enumerate(questions, start=1)
    for letter in question.options if letter != question.answer
])
def test_each_wrong_letter_fails_and_the_right_answer_is_named(quiz, questions, number, wrong):
    answers = {i: question.answer for i, question in enumerate(questions, start=1)}
    answers[number] = wrong
    feedback = quiz(answers)
    right = questions[number - 1].answer
    assert not feedback
    assert f"{number}. ❌ {wrong}: not this one. The answer is {right}" in feedback.message
