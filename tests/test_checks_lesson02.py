"""Tests of lesson 02's exercise checks, on the lesson's own data.

For every exercise: typical wrong answers get ❌ with a message that names the mistake, and
right answers written differently (another algorithm, another spelling, a list or a numpy
scalar) get ✅.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.metrics import roc_curve

from course import data, fairness, metrics
from course.checks import lesson02 as check


@pytest.fixture(scope="module")
def people():
    return data.load("synthetic-people", check=False)


def _split(people, identities):
    mine = people.found & np.isin(people.identities, identities)
    return metrics.pair_distances(people.embeddings[mine], people.identities[mine])


@pytest.fixture(scope="module")
def dev(people):
    """The lesson's development split: (genuine, impostor) distances of identities 0-49."""
    return _split(people, np.arange(0, 50))


@pytest.fixture(scope="module")
def test_split(people):
    """The lesson's test split: (genuine, impostor) distances of identities 50-99."""
    return _split(people, np.arange(50, 100))


@pytest.fixture(scope="module")
def group_rows(dev):
    """The lesson's per-group table: synthetic-groups at the threshold chosen for FMR 1 % on dev."""
    groups_set = data.load("synthetic-groups", check=False)
    ok = groups_set.found
    labels = np.array([r["group"] for r in groups_set.provenance])
    threshold = metrics.threshold_for_fmr(dev[1], 0.01)
    return fairness.false_match_rates_by_group(groups_set.embeddings[ok], groups_set.identities[ok], labels[ok],
                                               threshold)


# ------------------------------------------------------------------------ exercise 1: EER


def eer_by_sorted_sweep(genuine, impostor):
    """The notebook's solution: every observed distance as a threshold, counted with searchsorted."""
    thresholds = np.sort(np.concatenate([genuine, impostor]))
    fmr = np.searchsorted(np.sort(impostor), thresholds, side="right") / len(impostor)
    fnmr = 1 - np.searchsorted(np.sort(genuine), thresholds, side="right") / len(genuine)
    closest = np.argmin(np.abs(fmr - fnmr))
    return (fmr[closest] + fnmr[closest]) / 2


def eer_by_grid(genuine, impostor):
    """A grid of 1001 thresholds, returning the larger of the two rates where they are closest."""
    grid = np.linspace(0, 1, 1001)
    fmr = np.array([np.mean(impostor <= t) for t in grid])
    fnmr = np.array([np.mean(genuine > t) for t in grid])
    closest = np.argmin(np.abs(fmr - fnmr))
    return max(fmr[closest], fnmr[closest])


def eer_by_sklearn_roc(genuine, impostor):
    """scikit-learn's ROC on negated distances; EER where FPR meets 1 - TPR, as a numpy scalar."""
    labels = np.r_[np.ones(len(genuine)), np.zeros(len(impostor))]
    fpr, tpr, _ = roc_curve(labels, -np.r_[genuine, impostor])
    closest = np.argmin(np.abs(fpr - (1 - tpr)))
    return np.float32(fpr[closest])


@pytest.mark.parametrize("solution", [eer_by_sorted_sweep, eer_by_grid, eer_by_sklearn_roc,
                                      lambda g, i: [eer_by_sorted_sweep(g, i)]])
def test_eer_right_answers_written_differently_pass(solution, test_split):
    genuine, impostor = test_split
    feedback = check.eer(solution(genuine, impostor), genuine, impostor)
    assert feedback, feedback.message


@pytest.mark.parametrize("wrong, expected_message", [
    (lambda g, i, d: 100 * metrics.equal_error_rate(g, i)[0], "percentage"),
    (lambda g, i, d: metrics.equal_error_rate(g, i)[1], "*threshold*"),
    (lambda g, i, d: metrics.equal_error_rate(g, i), "return only the EER"),
    (lambda g, i, d: metrics.equal_error_rate(*d)[0], "other split"),
    (lambda g, i, d: 1 - metrics.equal_error_rate(g, i)[0], "1 − EER"),
    (lambda g, i, d: 2 * metrics.equal_error_rate(g, i)[0], "twice the EER"),
    (lambda g, i, d: None, "did you forget `return`"),
    (lambda g, i, d: float("nan"), "division by zero"),
    (lambda g, i, d: metrics.equal_error_rate(g, i)[0] + 0.01, "Not quite"),
    (lambda g, i, d: "0.025", "without quotes"),
])
def test_eer_typical_wrong_answers_fail_naming_the_mistake(wrong, expected_message, test_split, dev):
    genuine, impostor = test_split
    feedback = check.eer(wrong(genuine, impostor, dev), genuine, impostor, other_split=dev)
    assert not feedback
    assert expected_message in feedback.message


def test_eer_near_the_other_split_is_not_called_the_other_split(test_split, dev):
    genuine, impostor = test_split
    other = metrics.equal_error_rate(*dev)[0]
    assert "other split" not in check.eer(other + 0.001, genuine, impostor, other_split=dev).message


# ------------------------------------------------------------------------ exercise 2: threshold for FMR <= 0.1 %


@pytest.mark.parametrize("solution", [
    lambda imp: np.sort(imp)[int(0.001 * len(imp))] - 1e-9,          # the notebook's solution
    lambda imp: metrics.threshold_for_fmr(imp, 0.001),               # the library function
    lambda imp: np.sort(imp)[75],                                    # the 76th distance itself: 76 pairs match
    lambda imp: float(np.mean(np.sort(imp)[75:77])),                 # halfway to the next distance
    lambda imp: np.array([np.sort(imp)[75]]),                        # a one-element array
])
def test_threshold_right_answers_written_differently_pass(solution, dev, test_split):
    impostor = dev[1]
    feedback = check.threshold_for_target_fmr(solution(impostor), impostor, 0.001, other_impostor=test_split[1])
    assert feedback, feedback.message


@pytest.mark.parametrize("wrong, expected_message", [
    # lesson 06 accepted this; it interpolates past the 77th distance and lets 77 pairs through
    (lambda imp, other: np.quantile(imp, 0.001), "np.quantile"),
    (lambda imp, other: np.percentile(imp, 0.1), "lets through 77 of 76,450"),
    (lambda imp, other: np.sort(imp)[76], "distance <= threshold"),      # the 77th distance: 77 pairs at or below
    (lambda imp, other: np.quantile(imp, 0.999), "allows at most 76"),  # the wrong tail
    (lambda imp, other: np.percentile(imp, 0.001), "lower than needed"),  # 0.001 read as a percentage
    (lambda imp, other: round(metrics.threshold_for_fmr(imp, 0.001), 3), "Do not round"),
    (lambda imp, other: metrics.threshold_for_fmr(other, 0.001), "*other* split"),
    (lambda imp, other: 0.001, "target *rate* itself"),
    (lambda imp, other: None, "not set"),
    (lambda imp, other: "0.315", "without quotes"),
    (lambda imp, other: np.sort(imp)[:76], "got 76 values"),
])
def test_threshold_typical_wrong_answers_fail_naming_the_mistake(wrong, expected_message, dev, test_split):
    impostor, other = dev[1], test_split[1]
    feedback = check.threshold_for_target_fmr(wrong(impostor, other), impostor, 0.001, other_impostor=other)
    assert not feedback
    assert expected_message in feedback.message


@pytest.mark.parametrize("target", [0.0005, 0.001, 0.01, 0.05])
def test_threshold_rule_is_exactly_the_documented_interval(target, dev):
    """Right iff FMR(t) <= target and the next impostor distance above t would break the target."""
    ordered = np.sort(dev[1])
    allowed = int(np.floor(target * len(ordered) + 1e-9))
    just_right = [ordered[allowed - 1], np.nextafter(ordered[allowed], -np.inf)]
    one_too_many = [ordered[allowed], np.nextafter(ordered[allowed], np.inf)]
    one_too_few = [np.nextafter(ordered[allowed - 1], -np.inf), ordered[allowed - 2]]
    assert all(check.threshold_for_target_fmr(t, ordered, target) for t in just_right)
    assert not any(check.threshold_for_target_fmr(t, ordered, target) for t in one_too_many + one_too_few)


def test_threshold_when_no_impostor_pair_may_match():
    impostor = np.array([0.5, 0.6, 0.7])
    assert check.threshold_for_target_fmr(0.4999, impostor, 0.1)
    assert "lower than needed" in check.threshold_for_target_fmr(0.3, impostor, 0.1).message
    assert "lets through 1 of 3" in check.threshold_for_target_fmr(0.5, impostor, 0.1).message


def test_threshold_ties_are_counted_as_the_lesson_counts_them():
    impostor = np.array([0.1, 0.2, 0.3, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])  # 0.3 twice
    # target 30 %: 0.3 lets through 4 pairs (two tied at 0.3), so the largest right threshold is below 0.3
    assert check.threshold_for_target_fmr(0.25, impostor, 0.3)
    assert not check.threshold_for_target_fmr(0.3, impostor, 0.3)
    assert "lower than needed" in check.threshold_for_target_fmr(0.15, impostor, 0.3).message


def test_reference_strict_threshold_says_it_was_used(dev, capsys):
    value = check.reference_strict_threshold(dev[1], 0.001)
    assert "reference result" in capsys.readouterr().out
    assert check.threshold_for_target_fmr(value, dev[1], 0.001)


# ------------------------------------------------------------------------ exercise 3: one threshold, unequal harm

PARAPHRASE = ("At one shared cut-off those people are matched to strangers far more often, because the model "
              "sees them as more alike.")
LONG = ("The recogniser places the faces of some groups closer together, so their impostor distances are smaller. "
        "A single global threshold is one number for everyone: it lets through many more false matches for that "
        "group, and its members are wrongly matched to a suspect.")


def test_group_table_is_the_lessons(group_rows):
    """The wrong answers below are built to be wrong for this table: group B's FMR is about 32 times group A's."""
    assert [r.group for r in group_rows] == ["group A", "group B"]
    assert 30 < group_rows[1].fmr / group_rows[0].fmr < 34


@pytest.mark.parametrize("rising_error, harmed_group, ratio, explanation", [
    ("FMR", "group B", lambda rows: rows[1].fmr / rows[0].fmr, LONG),
    ("false match rate", "B", lambda rows: 14.05 / 0.44, PARAPHRASE),       # read from the printed table
    ("False matches", "Group B", lambda rows: 32, PARAPHRASE),               # rounded to two figures
    ("fmr", " group b ", lambda rows: np.float64(rows[1].false_matches / rows[1].impostor_pairs
                                                 / (rows[0].false_matches / rows[0].impostor_pairs)), LONG),
    ("false positives", "B", lambda rows: 31.9, LONG),
])
def test_harm_right_answers_written_differently_pass_and_show_rubric_after(
        rising_error, harmed_group, ratio, explanation, group_rows):
    feedback = check.one_threshold_harm(rising_error, harmed_group, ratio(group_rows), explanation, group_rows)
    assert feedback, feedback.message
    assert "Rubric" in feedback.message and "Model answer" in feedback.message
    assert "not judged" in feedback.message


@pytest.mark.parametrize("rising_error, harmed_group, ratio, explanation, expected_message", [
    # the reported answer about false *non*-matches
    ("FNMR", "group B", 32, LONG, "*non*-match"),
    ("false non-match rate", "B", 32, LONG, "*non*-match"),
    ("FPIR", "B", 32, LONG, "1:N search measure"),
    ("FMR", "group A", 32, LONG, "*lower* false match rate"),
    ("FMR", "group C", 32, LONG, "not a group in the table"),
    ("FMR", "B", lambda rows: rows[0].fmr / rows[1].fmr, LONG, "divide the higher rate by the lower"),
    ("FMR", "B", lambda rows: 100 * (rows[1].fmr - rows[0].fmr), LONG, "*difference*"),
    ("FMR", "B", lambda rows: 14.05, LONG, "false match rate itself"),
    ("FMR", "B", lambda rows: rows[1].false_matches / rows[0].false_matches, LONG, "*counts*"),
    ("FMR", "B", lambda rows: 7.42 / 0.44, LONG, "pooled rate"),
    ("FMR", "B", 30, LONG, "not the ratio your table gives"),
    ("FMR", "B", "32", LONG, "should be a number"),
    (None, None, None, None, "You have not set `rising_error` yet."),
    ("FMR", "B", 32, None, "Not finished yet"),
    ("FMR", "B", 32, "It is unfair.", "at least 10 words"),
])
def test_harm_typical_wrong_answers_fail_naming_the_mistake(
        rising_error, harmed_group, ratio, explanation, expected_message, group_rows):
    value = ratio(group_rows) if callable(ratio) else ratio
    feedback = check.one_threshold_harm(rising_error, harmed_group, value, explanation, group_rows)
    assert not feedback
    assert expected_message in feedback.message
    assert "Model answer" not in feedback.message  # never shown before a complete attempt


def test_harm_placeholders_each_named(group_rows):
    message = check.one_threshold_harm(None, None, None, None, group_rows).message
    for name in ("rising_error", "harmed_group", "fmr_ratio"):
        assert f"You have not set `{name}` yet." in message


# ------------------------------------------------------------------ found by a fresh-eyes learner


def test_a_right_ratio_held_in_a_numpy_array_passes(group_rows):
    rows = group_rows
    rates = np.array([r.fmr for r in rows])
    assert check.one_threshold_harm("FMR", "group B", np.array(rates.max() / rates.min()), LONG, rows)
    assert check.one_threshold_harm("FMR", "group B", np.array([rates.max() / rates.min()]), LONG, rows)


def test_a_too_low_threshold_is_not_told_the_answer(dev):
    dev_impostor = dev[1]
    feedback = check.threshold_for_target_fmr(0.0, dev_impostor, 0.001)
    assert not feedback and "lower than needed" in feedback.message
    assert not re.search(r"0\.3\d{3}", feedback.message)  # no threshold value to paste
