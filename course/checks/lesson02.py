"""Exercise checks for lesson 02 (embeddings, verification metrics and thresholds).

Exercise 1 (:func:`eer`) and exercise 2 (:func:`threshold_for_target_fmr`) are judged
entirely by the machine. Exercise 3 (:func:`one_threshold_harm`) asks for a short
explanation in words: the machine judges only its checkable parts (which error rate,
which group, a ratio read from the learner's own table) and then shows a rubric and a
model answer for the prose, which the learner judges themselves.
"""

from __future__ import annotations

import numpy as np

from . import ConceptQuestion, Feedback, as_number, concept_quiz, use_reference, verdict


def _one_number(answer: object, what: str) -> tuple[float | None, str]:
    """``answer`` as one float, or (None, why not) when it is text, a yes/no value, several values or no number."""
    if isinstance(answer, (bool, np.bool_)):
        return None, f"Expected {what}, got the yes/no value {answer}."
    if isinstance(answer, (str, bytes)):
        return None, f"Expected {what}, got str (text): give the number itself, without quotes."
    if np.ndim(answer) > 0 and np.size(answer) != 1:
        return None, f"Expected {what}, got {np.size(answer)} values."
    try:
        return float(np.asarray(answer).item()), ""
    except (TypeError, ValueError):
        return None, f"Expected {what}, got {type(answer).__name__}."


# ------------------------------------------------------------------------ exercise 1


def eer(answer: object, genuine: np.ndarray, impostor: np.ndarray, *, other_split: tuple | None = None) -> Feedback:
    """Exercise 1: the equal error rate of these genuine/impostor distances (a rate between 0 and 1).

    Right: within max(0.002, 5 %) of :func:`course.metrics.equal_error_rate`, which covers the
    correct ways of sweeping (every observed distance, a fine grid, interpolating between the two
    rates). ``other_split`` = (genuine, impostor) of the other split, so that its EER is named."""
    from ..metrics import equal_error_rate

    expected, threshold = equal_error_rate(genuine, impostor)
    if answer is None:
        return verdict(False, "Your function returned None: did you forget `return`?")
    value, problem = _one_number(answer, "one number (the EER as a fraction)")
    if value is None:
        return verdict(False, problem + " If your function returns (eer, threshold), return only the EER.")
    if not np.isfinite(value):
        return verdict(False, f"Your EER is {value}: check for a division by zero or an empty array.")
    tolerance = max(0.002, 0.05 * expected)
    if other_split is not None:
        other = equal_error_rate(*other_split)[0]
        if abs(value - other) <= 3e-4 and abs(value - other) < abs(value - expected):
            return verdict(False, f"That is the EER of the other split ({other:.3f}): compute it on the distances "
                               "you were given.")
    if abs(value - expected) <= tolerance:
        return verdict(True, f"EER ≈ {expected:.3f}: at threshold {threshold:.3f} false matches and false non-matches "
                          "are equally frequent.")
    if abs(value - 100 * expected) <= 100 * tolerance:
        return verdict(False, "That looks like a percentage: give the EER as a fraction between 0 and 1.")
    if abs(value - threshold) <= 0.02:
        return verdict(False, "That is the *threshold* where the two error rates meet; the EER is the error rate there.")
    if abs(value - 2 * expected) <= 2 * tolerance:
        return verdict(False, "That is FMR + FNMR where they meet, twice the EER: the EER is the value both rates "
                           "share there (their mean, if they differ slightly).")
    if abs(value - (1 - expected)) <= tolerance:
        return verdict(False, "You have 1 − EER: check the direction — FMR counts impostors at or below the threshold, "
                           "FNMR counts genuine pairs above it.")
    return verdict(False, f"Not quite (off by {value - expected:+.3f}). Sweep thresholds, compute FMR(t) and FNMR(t), "
                       "and find where they cross.")


# ------------------------------------------------------------------------ exercise 2


def _judge_threshold(value: float, ordered: np.ndarray, target_fmr: float) -> tuple[str, int, int]:
    """Classify ``value`` against sorted impostor distances: ("right" | "too lax" | "too strict", admitted, allowed).

    FMR(t) = (impostor distances <= t) / n, as in :func:`course.metrics.fmr_fnmr`. ``allowed`` is
    the most impostor pairs any threshold meeting the target may let through."""
    n = len(ordered)
    admitted = int(np.searchsorted(ordered, value, side="right"))
    allowed = int(np.searchsorted(np.arange(n + 1) / n, target_fmr, side="right")) - 1
    if admitted / n > target_fmr:
        return "too lax", admitted, allowed
    if admitted == n:  # every impostor already matches, and the target allows it
        return "right", admitted, allowed
    next_distance = ordered[admitted]  # the smallest impostor distance above the threshold
    if np.searchsorted(ordered, next_distance, side="right") / n <= target_fmr:
        return "too strict", admitted, allowed
    if admitted == 0 and value < next_distance - 1e-3:
        return "too strict", admitted, allowed
    return "right", admitted, allowed


def threshold_for_target_fmr(answer: object, impostor: np.ndarray, target_fmr: float,
                             *, other_impostor: np.ndarray | None = None) -> Feedback:
    """The judge of "the largest threshold whose false match rate on ``impostor`` is at most ``target_fmr``".

    Lesson 02 exercise 2 uses it, and lesson 06 calls it too, so that the same skill is judged
    the same way everywhere. A threshold t is right exactly when

    * FMR(t) <= ``target_fmr``, where FMR(t) is the fraction of impostor distances *at or below*
      t (a pair at exactly the threshold counts as a match, as in :func:`course.metrics.fmr_fnmr`); and
    * raising t to the next impostor distance above it would make FMR exceed ``target_fmr``.

    With the impostor distances sorted and m the most pairs the target allows, these are the
    thresholds from the m-th smallest distance up to, not including, the (m+1)-th (ties counted
    as the lesson counts them). When no pair may match (m = 0), any threshold within 0.001 below
    the smallest impostor distance is right. ``np.quantile(impostor, target_fmr)`` interpolates
    and usually lands just above the (m+1)-th distance, so it is rejected as one pair too many.

    ``other_impostor`` holds the other split's impostor distances, so that a threshold that is
    right there but not here is named as chosen on the wrong split."""
    from ..metrics import threshold_for_fmr

    ordered = np.sort(np.asarray(impostor, dtype=np.float64))
    best = threshold_for_fmr(ordered, target_fmr)
    if answer is None:
        return verdict(False, "You have not set the threshold yet (it is still None).")
    value, problem = _one_number(answer, "one threshold (a distance)")
    if value is None:
        return verdict(False, problem)
    if not np.isfinite(value):
        return verdict(False, f"Your threshold is {value}: a threshold is a finite distance.")
    judged, admitted, allowed = _judge_threshold(value, ordered, target_fmr)
    n = len(ordered)
    if judged != "right" and other_impostor is not None:
        other = np.sort(np.asarray(other_impostor, dtype=np.float64))
        if _judge_threshold(value, other, target_fmr)[0] == "right":
            return verdict(False, f"{value:.5f} is the threshold the *other* split would choose. Choose it on the "
                               "split named in the exercise; seeing what it does on the other people is the point.")
    if judged == "right":
        return verdict(True, f"Threshold {value:.5f} lets through {admitted} of {n:,} impostor pairs "
                          f"({admitted / n:.3%}, target {target_fmr:.2%}); one impostor distance higher and it "
                          "would miss the target.")
    if value == target_fmr:
        return verdict(False, f"{value} is the target *rate* itself; the threshold is a *distance* chosen so that "
                           "the rate of impostor pairs at or below it meets that target.")
    if judged == "too lax":
        hint = ("np.quantile and np.percentile interpolate between two distances, so they can land just above the "
                "last allowed one. " if admitted <= allowed + 2 else "")
        return verdict(False, f"Your threshold {value:.5f} lets through {admitted} of {n:,} impostor pairs "
                           f"({admitted / n:.3%}); the target {target_fmr:.2%} allows at most {allowed}. {hint}"
                           "A pair at exactly the threshold counts as a match (distance <= threshold), so the "
                           f"threshold must sit below impostor distance number {allowed + 1}, counting up from "
                           "the smallest.")
    return verdict(False, f"Safe ({admitted} of the {allowed} allowed impostor pairs get through), but lower than "
                       f"needed: a larger threshold still lets through at most {allowed}, and a lower one only "
                       "rejects more genuine pairs. Find the largest: just below impostor distance number "
                       f"{allowed + 1}, counting up from the smallest. (Do not round the threshold: a few "
                       "thousandths can move it past several impostor distances.)")


def reference_strict_threshold(dev_impostor: np.ndarray, target_fmr: float = 0.001) -> float:
    """Exercise 2's reference result: the largest threshold with FMR <= ``target_fmr`` on ``dev_impostor``."""
    from ..metrics import threshold_for_fmr

    return use_reference("exercise 2 (strict_threshold)", threshold_for_fmr(dev_impostor, target_fmr))


# ------------------------------------------------------------------------ exercise 3

_FALSE_MATCH_NAMES = {"fmr", "false match rate", "false match", "false matches", "false match rates",
                      "false positive rate", "false positives", "false positive", "fpr"}
_FALSE_NON_MATCH_NAMES = {"fnmr", "false non match rate", "false nonmatch rate", "false non match",
                          "false non matches", "false negative rate", "false negatives", "false negative", "fnr",
                          "false reject rate", "frr"}
MIN_EXPLANATION_WORDS = 10

RUBRIC = (
    "Rubric: give yourself a point for each idea your explanation states in your own words.\n"
    "  1. The recogniser separates the people of one group less well: different people of that group get "
    "smaller distances (look more alike to it).\n"
    "  2. One global threshold is the same *cut-off* for everyone, not the same *error rate*.\n"
    "  3. So more *false matches* fall on that group: its innocent members are matched to strangers "
    "(e.g. to a suspect) far more often. (False non-matches are not the harm here.)\n"
    "  4. An overall rate averages the groups, so a small-looking figure can hide a group whose rate is many "
    "times higher; rates must be reported per group, with group sizes and intervals.\n"
    "  5. The consequence is borne by people: being questioned, searched or arrested for someone else.\n"
    "Four or five: well done. Two or three: add what is missing. If you wrote that a shared threshold gives "
    "every group the same error rate, re-read the table above."
)


def _model_answer(rows) -> str:
    """A model answer that quotes the learner's own per-group table."""
    high, low = max(rows, key=lambda r: r.fmr), min(rows, key=lambda r: r.fmr)
    return (f"Model answer: the recogniser packs the faces of {high.group} closer together, so strangers from "
            f"that group look more alike to it. One global threshold is the same distance for everyone, not the "
            f"same error rate: at this one, {high.fmr:.2%} of impostor pairs in {high.group} are declared matches "
            f"against {low.fmr:.2%} in {low.group}, about {high.fmr / low.fmr:.0f} times as many. Averaged over "
            "everyone the rate can look acceptable, yet the false matches fall on one group, whose innocent "
            "members are the ones matched to a suspect and questioned or arrested.")


def _judge_rising_error(answer: object) -> str | None:
    """None if ``answer`` names the false match rate; otherwise what is wrong with it."""
    if answer is None:
        return "You have not set `rising_error` yet."
    if not isinstance(answer, str):
        return f"`rising_error` should be a string, \"FMR\" or \"FNMR\"; got {type(answer).__name__}."
    name = " ".join(answer.lower().replace("-", " ").split())  # "non-match" and "non match" alike
    if name in _FALSE_MATCH_NAMES:
        return None
    if name in _FALSE_NON_MATCH_NAMES:
        return ("`rising_error`: a false *non*-match is the same person rejected. The table counts impostor pairs "
                "of *different* people declared a match: that is the false match rate (FMR).")
    if name in {"fpir", "fnir"}:
        return (f"`rising_error`: {answer} is a 1:N search measure; the table measures pairs (1:1), so the "
                "answer is \"FMR\" or \"FNMR\".")
    return f"`rising_error` should be \"FMR\" or \"FNMR\" (which error rate rises for one group); got {answer!r}."


def _judge_harmed_group(answer: object, rows) -> str | None:
    """None if ``answer`` names the group with the highest false match rate in ``rows``."""
    names = [r.group for r in rows]
    if answer is None:
        return "You have not set `harmed_group` yet."
    if not isinstance(answer, str):
        return f"`harmed_group` should be a group's name as the table prints it ({', '.join(names)})."

    def short(name: str) -> str:
        name = " ".join(name.lower().split())
        return name[len("group "):] if name.startswith("group ") else name

    high = max(rows, key=lambda r: r.fmr)
    matches = [r for r in rows if short(r.group) == short(answer)]
    if not matches:
        return f"`harmed_group`: {answer!r} is not a group in the table; the groups are {', '.join(names)}."
    if matches[0] is not high:
        return (f"`harmed_group`: {matches[0].group} has the *lower* false match rate ({matches[0].fmr:.2%}); "
                "the harmed group is the one whose strangers are matched most often.")
    return None


def _judge_ratio(answer: object, rows) -> str | None:
    """None if ``answer`` is the highest group FMR divided by the lowest, to two significant figures.

    The accepted range covers reading the rounded percentages of the printed table, computing
    from the counts, and rounding the result to two significant figures."""
    if answer is None:
        return "You have not set `fmr_ratio` yet."
    value = as_number(answer)
    if value is None:
        return f"`fmr_ratio` should be a number (e.g. 2.5 for 2.5 times); got {type(answer).__name__}."
    high, low = max(rows, key=lambda r: r.fmr), min(rows, key=lambda r: r.fmr)
    if low.fmr == 0:
        raise ValueError("fmr_ratio cannot be judged: the lowest group false match rate in the table is 0.")
    ratio = high.fmr / low.fmr
    half_step = 0.00005  # the table prints rates as percentages with two decimals
    lowest = (high.fmr - half_step) / (low.fmr + half_step) * 0.99
    highest = (high.fmr + half_step) / max(low.fmr - half_step, 1e-12) * 1.01
    if not np.isfinite(value):
        return f"`fmr_ratio` is {value}: divide the two groups' false match rates."
    if lowest <= value <= highest:
        return None
    pooled = sum(r.false_matches for r in rows) / sum(r.impostor_pairs for r in rows)
    count_ratio = high.false_matches / low.false_matches if low.false_matches else np.inf

    def close(target: float) -> bool:
        return abs(value - target) <= 0.02 * abs(target) + 1e-9

    if close(1 / ratio):
        return (f"`fmr_ratio`: you divided {low.group}'s rate by {high.group}'s; divide the higher rate by the "
                "lower, so the answer says how many times as often.")
    if close(high.fmr - low.fmr) or close(100 * (high.fmr - low.fmr)):
        return "`fmr_ratio`: that is the *difference* between the two rates; the question asks for their ratio."
    if close(high.fmr) or close(100 * high.fmr):
        return f"`fmr_ratio`: that is {high.group}'s false match rate itself; divide it by {low.group}'s."
    if close(count_ratio):
        return ("`fmr_ratio`: that is the ratio of false-match *counts*; the groups have different numbers of "
                "impostor pairs, so divide the *rates* (the FMR column).")
    if close(pooled / low.fmr) or close(high.fmr / pooled):
        return f"`fmr_ratio`: you used the pooled rate ({pooled:.2%}); divide {high.group}'s rate by {low.group}'s."
    if 0.8 * ratio <= value <= 1.25 * ratio:
        return (f"`fmr_ratio`: {value:g} is near, but not the ratio your table gives: divide the FMR column's "
                "values as printed (or each group's false matches by its impostor pairs).")
    return (f"`fmr_ratio`: {value:g} is not {high.group}'s false match rate divided by {low.group}'s; read both "
            "from the FMR column of the table.")


def one_threshold_harm(rising_error: object, harmed_group: object, fmr_ratio: object, explanation: object,
                       rows) -> Feedback:
    """Exercise 3: why one global threshold can harm some groups more than others.

    ``rows`` is the learner's own per-group table (:func:`course.fairness.false_match_rates_by_group`).
    Three parts are judged: ``rising_error`` names the false match rate ("FMR"; "false match rate" and
    "false positives" are accepted too), ``harmed_group`` names the group with the highest FMR ("B" or
    "group B"), and ``fmr_ratio`` is that group's FMR divided by the lowest group's, to two significant
    figures. The prose ``explanation`` is not judged by the machine: once the judged parts are right and
    the explanation has at least :data:`MIN_EXPLANATION_WORDS` words, the check shows a rubric and a
    model answer for the learner to compare with, never before."""
    problems = [problem for problem in (_judge_rising_error(rising_error), _judge_harmed_group(harmed_group, rows),
                                        _judge_ratio(fmr_ratio, rows)) if problem]
    if problems:
        return verdict(False, "\n".join(problems) + "\n(The rubric and a model answer for your explanation appear "
                                                    "once these parts are right.)")
    if not isinstance(explanation, str) or len(explanation.split()) < MIN_EXPLANATION_WORDS:
        return verdict(False, "The three judged parts are right. Not finished yet: write your `explanation` as a "
                           f"string of a few sentences (at least {MIN_EXPLANATION_WORDS} words); then this check "
                           "shows a rubric and a model answer to compare it with.")
    return verdict(True, "The judged parts are right: the false match rate rises, for the group the recogniser "
                      "separates least well, by the ratio your table shows. NIST found the same pattern in real "
                      "algorithms: false-positive differentials much larger than false-negative ones.\n"
                      "Your explanation is not judged by this check; compare it with the rubric and model "
                      "answer below.\n" + RUBRIC + "\n" + _model_answer(rows))


BEFORE = [
    ConceptQuestion(
        "What does one of the 128 numbers of a face's dlib embedding mean on its own?",
        {"a": "a measured feature, such as the width of the nose",
         "b": "nothing on its own: only distances between whole embeddings carry meaning",
         "c": "how likely the face is to be a man's or a woman's, as a score learned from labelled photos"},
        "b", "the network was trained so that distances between embeddings separate people; no single number "
             "was asked to mean anything, and none does."),
    ConceptQuestion(
        "A recogniser's threshold is made stricter: two embeddings must be closer to count as a match. What happens?",
        {"a": "fewer false matches and more missed matches",
         "b": "fewer errors of both kinds, because a stricter rule is a more careful rule",
         "c": "more false matches and fewer missed matches than before"},
        "a", "a smaller threshold lets fewer strangers through (FMR falls) and also rejects more true pairs "
             "(FNMR rises): the threshold trades one error for the other."),
    ConceptQuestion(
        "A system has a false match rate of 0.1 % per comparison. One probe is searched against 10,000 "
        "different people. The chance of at least one false match is about …",
        {"a": "0.1 %", "b": "10 %", "c": "over 99 %"},
        "c", "1 − 0.999^10,000 ≈ 99.995 %: an error that is rare for one comparison is near-certain over a large "
             "gallery (about 10 false matches are expected)."),
]

AFTER = [
    ConceptQuestion(
        "You choose a threshold on the development people so that FMR ≤ 0.1 %. On the test people, the FMR at "
        "that threshold …",
        {"a": "is 0.1 % or less, by construction",
         "b": "has to be measured on the test people: it can come out higher or lower",
         "c": "is always lower, because the test split is smaller"},
        "b", "a rate measured on one set of people is an estimate for the next; in this lesson the threshold "
             "met 0.1 % on the development people and let through 0.138 % of the test people's impostor pairs."),
    ConceptQuestion(
        "What does the equal error rate (EER) summarise?",
        {"a": "the error rate at the threshold where FMR equals FNMR",
         "b": "the average of FMR and FNMR over every threshold, from the smallest distance to the largest",
         "c": "the false match rate at dlib's customary threshold of 0.6"},
        "a", "the EER is the point on the trade-off where both error rates are equal: one number for the "
             "whole curve, not a rate any deployed threshold has to run at."),
    ConceptQuestion(
        "Why is dlib's customary threshold 0.6 wrong for the course's synthetic people?",
        {"a": "0.6 was set for real adults, and the synthetic people sit closer together in dlib's space, so "
              "most strangers fall within 0.6 of each other",
         "b": "synthetic faces give fewer than 128 numbers, so their distances are on a smaller scale than the one "
              "0.6 was set for, and every distance has to be rescaled before it is compared",
         "c": "0.6 only applies to faces found by the CNN detector"},
        "a", "at 0.6, 60.72 % of the test split's impostor pairs count as matches; a threshold belongs to a "
             "recogniser and a population, and is re-measured when the population changes."),
    ConceptQuestion(
        "One global threshold gives group A a false match rate of 0.44 % and group B 14.05 %. What should an "
        "honest report give?",
        {"a": "a single pooled rate, as everyone gets the same threshold",
         "b": "each group's rate with its number of people and an interval",
         "c": "nothing until the two rates agree"},
        "b", "a pooled rate hides who bears the errors; per-group rates with group sizes and intervals (here a "
             "bootstrap over people) show it, and how sure the numbers are."),
]


def concepts_before(answers) -> Feedback:
    """The concept questions at the start of lesson 02."""
    return concept_quiz("before", BEFORE, answers)


def concepts_after(answers) -> Feedback:
    """The concept questions at the end of lesson 02."""
    return concept_quiz("after", AFTER, answers)
