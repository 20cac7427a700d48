"""Exercise checks for lesson 03 (similarity search).

Each check compares the student's answer with the right one *and* with the typical
wrong answers, says which mistake it looks like, and returns a
:class:`course.checks.Feedback` (truthy when the answer is right).
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from . import ConceptQuestion, Feedback, as_number, concept_quiz, not_done, verdict
from ..search import exact_search, false_positive_identification_rate, recall_at_k


def _as_index_array(answer: object) -> np.ndarray | None:
    """The answer as a 1-D array, or None if it is not array-like."""
    try:
        array = np.asarray(answer)
    except Exception:  # noqa: BLE001 - anything that is not array-like
        return None
    if array.ndim == 2 and 1 in array.shape:
        array = array.ravel()
    return array


# ------------------------------------------------------------------------ concept questions

BEFORE = [
    ConceptQuestion(
        "You must find, exactly, the faces nearest to one photo among a million faces of 128 numbers each. "
        "What is usually fastest on an ordinary computer?",
        {"a": "comparing the photo with every face, as one matrix product",
         "b": "a tree index (k-d tree or ball tree) that rules out whole regions of space",
         "c": "hashing the faces into buckets and looking only in the photo's bucket"},
        answer="a",
        why="in 128 dimensions almost every face is about as far away as every other, so a tree can rule out "
            "almost nothing and only adds overhead; a matrix product reads the gallery once at full speed. "
            "Hashing is fast but approximate: it misses some neighbours, so it is not exact search.",
    ),
    ConceptQuestion(
        "An approximate search finds 9 of the 10 true nearest faces of a photo (recall@10 = 0.9), and the "
        "person in the photo has other photos in the gallery. Is that person's photo returned first?",
        {"a": "yes, in 90 % of searches: recall@10 is the rate at which the right person comes first",
         "b": "it depends: recall@10 counts faces found, not people; the right person can come first despite a "
              "missed face",
         "c": "no: with a true neighbour missing, the right person cannot come first"},
        answer="b",
        why="recall@10 compares the returned faces with exact search's; whether the first face shows the right "
            "person is a different measure (rank-1 identification). The nearest face of a photo can be a "
            "lookalike even in exact search, and a missed neighbour is often another person's photo.",
    ),
    ConceptQuestion(
        "Each comparison of a stranger's photo with a gallery face wrongly matches with probability FMR. "
        "About how many false matches (wrong faces) does one search of a gallery of N faces return?",
        {"a": "about FMR, whatever the size of the gallery",
         "b": "about FMR / N",
         "c": "about N × FMR"},
        answer="c",
        why="every one of the N comparisons is a chance of a false match, so the expected number of false hits "
            "is N × FMR: 10 per search at N = 1,000,000 and FMR = 1e-5.",
    ),
]

AFTER = [
    ConceptQuestion(
        "In random-hyperplane LSH, what happens when each table uses more bits (more hyperplanes) and the "
        "number of tables stays the same?",
        {"a": "recall rises, because each bucket then holds only faces that are more alike, so the true neighbours "
              "are found more often",
         "b": "the memory grows with the extra hyperplanes, while the candidates checked and the recall stay the same",
         "c": "fewer candidates are checked, and true neighbours land in other buckets more often: recall falls"},
        answer="c",
        why="a neighbour stays in the query's bucket only if it is on the same side of every hyperplane, with "
            "probability (1 − θ/π) to the power of the number of bits: each extra bit lowers it. More tables "
            "buy recall back, at the cost of memory and candidates.",
    ),
    ConceptQuestion(
        "In the lesson, the inverted file (IVF) reached a higher recall@10 than random-hyperplane LSH for a "
        "similar share of the gallery checked. Why?",
        {"a": "IVF's cells come from k-means on these faces and follow the data; LSH's hyperplanes are random",
         "b": "IVF ranks its candidates by exact distance and LSH does not",
         "c": "LSH works only on vectors of 0s and 1s"},
        answer="a",
        why="both methods rank their candidates by exact distance; they differ in how candidates are chosen. "
            "k-means cells adapt to the gallery, random hyperplanes cut through dense regions of faces as "
            "often as through empty space.",
    ),
    ConceptQuestion(
        "IVF-PQ picks a shortlist of 100 faces with compressed codes, then re-ranks the shortlist with the "
        "exact vectors. What does the re-rank fix?",
        {"a": "true neighbours in lists that were not probed, since the re-rank searches the whole gallery again "
              "with exact vectors",
         "b": "which faces of the shortlist are truly nearest, which compressed distances often get wrong",
         "c": "the memory cost of keeping the exact vectors"},
        answer="b",
        why="re-ranking can only reorder what is in the shortlist: a neighbour in an unprobed list is still "
            "missed, and the exact vectors must still be kept somewhere. It fixes the ranking errors of the "
            "16-byte codes, which is where plain IVF-PQ lost most of its recall.",
    ),
    ConceptQuestion(
        "An investigator wants to know whether a search tool finds the person in a probe photo. Which "
        "measure answers that?",
        {"a": "recall@10 against exact search",
         "b": "the time per query",
         "c": "the share of probes, of people who are enrolled, whose own person is returned first (rank-1 "
              "identification)"},
        answer="c",
        why="recall@10 says how closely the index copies exact search, face by face; whether the right person "
            "is returned is measured on probes of enrolled people by checking the person of the results. "
            "Exact search itself does not return the right person first for every probe.",
    ),
    ConceptQuestion(
        "A gallery grows from 1 million to 30 billion faces and the threshold stays the same. What happens "
        "to the number of false hits in a search for a stranger?",
        {"a": "it stays the same, because the threshold has not changed",
         "b": "it grows about 30,000-fold, with the gallery",
         "c": "it falls, because a bigger gallery holds better matches"},
        answer="b",
        why="the expected number of false hits is N × FMR; with the same threshold, FMR per comparison is the "
            "same and N is 30,000 times larger.",
    ),
]


def concepts_before(answers) -> Feedback:
    """The concept questions before the lesson: wrong answers are expected, and each is explained."""
    return concept_quiz("before", BEFORE, answers)


def concepts_after(answers) -> Feedback:
    """The concept questions after the lesson: its key ideas, each wrong option a real misconception."""
    return concept_quiz("after", AFTER, answers)


# ------------------------------------------------------------------------ exercise 1


def _second_top_k_case() -> tuple[np.ndarray, np.ndarray, int]:
    """A gallery where forgetting to sort shows: np.argpartition returns its 200 nearest rows out of order.

    Its vectors have 128 numbers, as the exercise's contract promises (code written for 128 must run on it).

    (For small k, as in the lesson, numpy's argpartition happens to return the k smallest
    already sorted, so an answer that never sorts would pass there.)"""
    rng = np.random.default_rng(30)
    return rng.standard_normal((3000, 128)).astype(np.float32), rng.standard_normal(128).astype(np.float32), 200


def top_k(my_top_k: Callable, gallery: np.ndarray, query: np.ndarray, k: int, *,
          gallery_ids: np.ndarray | None = None) -> Feedback:
    """Exercise 1: ``my_top_k(gallery, query, k)`` returns the positions of the ``k`` rows nearest to ``query``,
    nearest first.

    The check calls the learner's function twice: on the lesson's gallery, and on a second
    gallery with k = 200 where an unsorted answer is visible. ``gallery_ids`` (the person in
    each row of the lesson's gallery) lets it recognise person IDs returned in place of row
    positions."""
    if not callable(my_top_k):
        return verdict(False, "Pass your function itself, check.top_k(my_top_k, ...), not its result: the check calls "
                           "it on a second gallery too.")
    second_gallery, second_query, second_k = _second_top_k_case()
    cases = [(None, gallery, query, k, gallery_ids),
             (f"a second gallery ({len(second_gallery):,} random vectors, k = {second_k})",
              second_gallery, second_query, second_k, None)]
    for where, case_gallery, case_query, case_k, case_ids in cases:
        try:
            answer = my_top_k(case_gallery.copy(), case_query.copy(), case_k)
        except NotImplementedError:
            not_done()
            raise
        except Exception as error:  # noqa: BLE001 - any error in the learner's code is reported, not raised
            answer, mistake = None, (f"your function raised {type(error).__name__}: {error} (called with a gallery "
                                     f"of shape {case_gallery.shape}, a query of shape {case_query.shape} and "
                                     f"k = {case_k}).")
        else:
            mistake = _top_k_mistake(answer, case_gallery, case_query, case_k, case_ids)
        if mistake:
            if where is None:
                return verdict(False, mistake[0].upper() + mistake[1:])
            return verdict(False, f"Right on the lesson's gallery, but on {where}: {mistake}")
    return verdict(True, f"Your {k} nearest faces match course.search.exact_search, nearest first, and so do your "
                      f"{second_k} nearest on a second gallery.")


def _top_k_mistake(answer: object, gallery: np.ndarray, query: np.ndarray, k: int,
                   gallery_ids: np.ndarray | None) -> str | None:
    """What is wrong with one answer of exercise 1 (None if it is right)."""
    expected_distances, expected = (row[0] for row in exact_search(gallery, query, k))
    if answer is None:
        return "Your function returned None: did you forget `return`?"
    answer = _as_index_array(answer)
    if answer is None or answer.ndim != 1:
        shape = "something that is not an array" if answer is None else f"shape {answer.shape}"
        return f"Expected a 1-D array of {k} gallery positions, got {shape}."
    if len(answer) == k and np.issubdtype(answer.dtype, np.floating):
        for values, name in ((expected_distances, "distances"), (expected_distances**2, "squared distances")):
            if np.allclose(np.sort(answer), values, rtol=1e-3, atol=1e-4):
                return (f"These are the k smallest *{name}*; the search must return *which* gallery rows they "
                        "belong to: their positions (np.argpartition / np.argsort give them).")
    if np.issubdtype(answer.dtype, np.floating) and np.all(np.isfinite(answer)) \
            and np.array_equal(answer, np.round(answer)):
        answer = answer.astype(np.int64)
    if not np.issubdtype(answer.dtype, np.integer):
        return f"Expected whole-number gallery positions, got values of type {answer.dtype}."
    if len(answer) and (answer.min() < 0 or answer.max() >= len(gallery)):
        return f"Some positions are outside the gallery (0 to {len(gallery) - 1})."
    all_distances = np.linalg.norm(np.asarray(gallery, np.float64) - np.asarray(query, np.float64).ravel(), axis=1)
    ranking = np.argsort(all_distances, kind="stable")
    mine = all_distances[answer]

    def is_nearest_first(m: int) -> bool:
        return np.allclose(mine, all_distances[ranking[:m]], atol=1e-5)

    if len(answer) != k:
        if len(answer) == k + 1 and is_nearest_first(k + 1):
            return f"You returned {k + 1} neighbours, one too many (an off-by-one): slice [:k]."
        if len(answer) == k - 1 and is_nearest_first(k - 1):
            return (f"You returned {k - 1} neighbours, one too few (an off-by-one): np.argpartition(d, k - 1) puts "
                    "the k smallest first; then slice [:k].")
        if len(answer) == len(gallery):
            return "You returned the whole gallery, sorted: keep only the first k."
        return f"Expected {k} positions, got {len(answer)}."
    if np.allclose(np.sort(mine)[::-1], all_distances[ranking[::-1][:k]], atol=1e-5):
        return ("These are the k *farthest* faces: the nearest have the *smallest* distance (argmin, or the start "
                "of an ascending sort; not argmax).")
    if gallery_ids is not None and np.array_equal(answer, np.asarray(gallery_ids)[expected]):
        return ("These are the *people* (gallery_ids) of the nearest faces, not their row positions: return the "
                "positions; anyone can look the people up afterwards with gallery_ids[...].")
    if len(np.unique(answer)) < k:
        return "Some positions appear twice: each gallery row can be a neighbour only once."
    if is_nearest_first(k):  # equal distances (ties) count as equally good answers
        return None
    if np.allclose(np.sort(mine), all_distances[ranking[:k]], atol=1e-5):
        return ("The right k faces, but not nearest first. np.argpartition only guarantees that the k smallest "
                "come first, in no particular order (for small k they often happen to come out sorted): sort "
                "those k by their distance.")
    if np.allclose(np.sort(mine), all_distances[ranking[1 : k + 1]], atol=1e-5):
        return ("You skipped the nearest face (an off-by-one): the slice starts at 0. (Skipping the first result "
                "only makes sense when the query itself is in the gallery.)")
    overlap = len(set(answer.tolist()) & set(expected.tolist()))
    return (f"Only {overlap} of your {k} faces are among the true {k} nearest. Compute the distance from the query "
            "to every gallery row (||g||² − 2 q·g + ||q||², or np.linalg.norm), then take the k smallest.")


# ------------------------------------------------------------------------ exercise 2


def n_probe_for_recall(answer: object, search_ids: Callable[[int], np.ndarray], exact_ids: np.ndarray,
                       *, target: float = 0.95, n_lists: int) -> Feedback:
    """Exercise 2: the smallest number of probed lists whose recall@k reaches ``target``.

    ``search_ids(n_probe)`` runs the approximate search and returns its (n_queries, k)
    ids; ``exact_ids`` are the true neighbours. Probing more lists only adds candidates,
    so recall never falls as ``n_probe`` grows: the smallest good value is found by
    bisection.
    """
    if answer is None:
        return verdict(False, "You have not set my_n_probe yet: give it the smallest number of lists to probe "
                           f"(a whole number from 1 to {n_lists}).")
    if isinstance(answer, str):
        return verdict(False, f"my_n_probe should be a number, not text: a whole number of lists to probe, e.g. "
                           f"{n_lists // 2} rather than '{n_lists // 2}'.")
    number = as_number(answer)
    if number is None:
        return verdict(False, f"Expected a whole number of lists to probe, got {type(answer).__name__}.")
    if not number.is_integer():
        return verdict(False, "n_probe counts lists: give a whole number.")
    answer = int(number)
    if not 1 <= answer <= n_lists:
        return verdict(False, f"n_probe must be between 1 and the number of lists, {n_lists}.")
    recall_cache: dict[int, float] = {}

    def recall(n_probe: int) -> float:
        if n_probe not in recall_cache:
            recall_cache[n_probe] = recall_at_k(search_ids(n_probe), exact_ids)
        return recall_cache[n_probe]

    achieved = recall(answer)
    if achieved < target:
        return verdict(False, f"With n_probe={answer}, recall@{exact_ids.shape[1]} is {achieved:.3f}, below the "
                           f"target {target}. Probe more lists (recall only grows with n_probe).")
    low, high = 0, answer  # recall(low) < target (or low = 0), recall(high) >= target
    while high - low > 1:
        middle = (low + high) // 2
        if recall(middle) >= target:
            high = middle
        else:
            low = middle
    if high < answer:
        return verdict(False, f"n_probe={answer} reaches recall {achieved:.3f}, but it is larger than needed: a "
                           "smaller value already reaches the target, and every extra list is scanned for every "
                           "query. Find the smallest value.")
    if answer == 1:
        return verdict(True, f"n_probe=1 already reaches recall {achieved:.3f} ≥ {target}.")
    return verdict(True, f"n_probe={answer} is the smallest that works: recall {achieved:.3f} ≥ {target}, while "
                      f"n_probe={answer - 1} gives {recall(answer - 1):.3f}. Each query scans about "
                      f"{answer / n_lists:.0%} of the lists.")


# ------------------------------------------------------------------------ exercise 3


def _magnitude_comment(hits: float, fpir: float) -> str:
    if hits >= 100:
        return (f"Every search for someone who is not in the gallery still returns about {hits:,.0f} wrong people "
                "above the threshold: far too many to review, so systems return a short ranked list instead, and "
                "the threshold no longer protects anyone.")
    if hits >= 1:
        often = "almost every time" if fpir > 0.999 else f"in {fpir:.0%} of searches"
        return (f"A search for someone who is not enrolled returns about {hits:,.1f} wrong people on average, "
                f"and at least one {often}: a candidate list needs a careful human reviewer.")
    if hits >= 0.01:
        return (f"About 1 search in {1 / fpir:,.0f} for a non-enrolled person returns a wrong candidate. "
                "Small per search, but a police force runs thousands of searches.")
    return ("False hits are rare at this gallery size and FMR; remember that FMR varies between demographic "
            "groups (NISTIR 8280), and that lookalikes and relatives are not independent comparisons.")


def city_false_hits(expected_hits: object, fpir: object, population: object, fmr: object, *,
                    city: object = "your city") -> Feedback:
    """Exercise 3: expected false hits N·FMR and FPIR = 1 − (1 − FMR)^N for one search of a city's faces.

    The arguments are the exercise's variables ``expected_hits``, ``city_fpir``, ``population``
    and ``city_fmr`` (and ``city``, the place's name); one still None gets a message naming it."""
    unset = [name for name, value in (("city", city), ("population", population), ("city_fmr", fmr),
                                      ("expected_hits", expected_hits), ("city_fpir", fpir)) if value is None]
    if unset:
        return verdict(False, f"You have not set {', '.join(unset)} yet: the exercise asks for all five "
                           "(city, population, city_fmr, expected_hits, city_fpir).")
    text = [name for name, value in (("population", population), ("city_fmr", fmr), ("expected_hits", expected_hits),
                                     ("city_fpir", fpir)) if isinstance(value, str)]
    if text:
        return verdict(False, f"{', '.join(text)}: give a number, not text (write it without quotes).")
    population, fmr = as_number(population), as_number(fmr)
    if population is None or fmr is None:
        return verdict(False, "population and city_fmr must be numbers.")
    if not population >= 1 or not 0 < fmr < 1:
        return verdict(False, "Choose a population of at least 1 and a false match rate between 0 and 1 "
                           "(e.g. 1e-5, not 0.001 %).")
    if fmr > 0.05:
        return verdict(False, f"FMR {fmr} is over 5 %: give it as a fraction (1e-5 for 0.001 %), not a percentage.")
    right_hits = population * fmr
    right_fpir = float(false_positive_identification_rate(population, fmr))
    hits, rate = as_number(expected_hits), as_number(fpir)
    if hits is None or rate is None:
        return verdict(False, "expected_hits and city_fpir must both be numbers (one value each).")
    if not math.isclose(hits, right_hits, rel_tol=1e-3):
        if math.isclose(hits, right_fpir, rel_tol=1e-3):
            return verdict(False, "Your expected_hits is the FPIR (a probability); the expected number of false "
                               "hits is N × FMR.")
        if math.isclose(hits, population * fmr / 100, rel_tol=1e-3) or math.isclose(hits, population * fmr * 100,
                                                                                      rel_tol=1e-3):
            return verdict(False, "Off by a factor of 100: is the FMR a percentage somewhere? Use fractions.")
        return verdict(False, f"Expected false hits should be N × FMR = {population:,.0f} × {fmr:g}; you have {hits:g}.")
    if not 0 <= rate <= 1:
        return verdict(False, f"FPIR is a probability, between 0 and 1; you have {rate:g}. "
                           "N × FMR is only its approximation when N × FMR is much smaller than 1.")
    no_hit = float(np.exp(population * np.log1p(-fmr)))
    if math.isclose(rate, no_hit, rel_tol=1e-3, abs_tol=1e-9) and not math.isclose(rate, right_fpir, rel_tol=1e-3):
        return verdict(False, "That is (1 − FMR)^N, the chance of *no* false hit; FPIR is 1 minus that.")
    naive = 1.0 - (1.0 - fmr) ** population  # rounds badly for a tiny FMR, but is accepted where it is not 0
    if not (math.isclose(rate, right_fpir, rel_tol=1e-3) or (naive > 0 and math.isclose(rate, naive, rel_tol=1e-3))):
        if math.isclose(rate, min(1.0, right_hits), rel_tol=1e-3) and right_hits > 0.05:
            return verdict(False, f"N × FMR approximates FPIR only when it is small; here it gives {right_hits:.3g} "
                               f"against the exact {right_fpir:.3g}. Use 1 − (1 − FMR)^N.")
        return verdict(False, f"FPIR should be 1 − (1 − FMR)^N ≈ {right_fpir:.4g}; you have {rate:.4g}. Compute it as "
                           "-np.expm1(N * np.log1p(-FMR)) to avoid rounding.")
    return verdict(True, f"{city}, {population:,.0f} faces at FMR {fmr:g}: {right_hits:,.3g} false hits expected per search, "
                      f"FPIR {right_fpir:.5g}. " + _magnitude_comment(right_hits, right_fpir))
