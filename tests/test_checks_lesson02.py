"""Tests of lesson 02's exercise checks: right answers written differently pass, typical wrong answers fail with their own hint."""

from __future__ import annotations

import numpy as np
import pytest


from course.checks import lesson02 as check


@pytest.fixture(scope="module")
def distances():
    rng = np.random.default_rng(3)
    return rng.normal(0.4, 0.08, 300), rng.normal(0.7, 0.08, 3000), rng.normal(0.45, 0.1, 300), rng.normal(0.6, 0.1, 3000)


def test_eer_right_and_typical_wrong_answers(distances):
    genuine, impostor, other_genuine, other_impostor = distances
    from course.metrics import equal_error_rate

    value, threshold = equal_error_rate(genuine, impostor)
    assert check.eer(value, genuine, impostor)
    assert "percentage" in check.eer(100 * value, genuine, impostor).message
    assert "*threshold*" in check.eer(threshold, genuine, impostor).message
    assert "(eer, threshold)" in check.eer((value, threshold), genuine, impostor).message
    other = equal_error_rate(other_genuine, other_impostor)[0]
    assert "other split" in check.eer(other, genuine, impostor, other_split=(other_genuine, other_impostor)).message
    # an answer off by a few thousandths is a different quantity, not rounding
    assert not check.eer(value + 0.01, genuine, impostor)
    assert check.eer(value + 0.0005, genuine, impostor)
    # this split's EER, off: not mistaken for the other split unless it really is that value
    near_other = check.eer(other + 0.001, genuine, impostor, other_split=(other_genuine, other_impostor))
    assert "other split" not in near_other.message
    assert "division by zero" in check.eer(float("nan"), genuine, impostor).message


def test_threshold_for_target_fmr(distances):
    _, impostor, _, _ = distances
    from course.metrics import threshold_for_fmr

    best = threshold_for_fmr(impostor, 0.01)
    ordered = np.sort(impostor)
    assert check.threshold_for_target_fmr(best, impostor, 0.01)
    too_lax = check.threshold_for_target_fmr(best + 0.1, impostor, 0.01)
    assert not too_lax and "allows at most 30" in too_lax.message
    # the 31st smallest distance itself: 31 pairs at or below it, one too many
    assert "distance <= threshold" in check.threshold_for_target_fmr(ordered[30], impostor, 0.01).message
    assert "lower than needed" in check.threshold_for_target_fmr(best - 0.2, impostor, 0.01).message
    assert "lower than needed" in check.threshold_for_target_fmr(ordered[25], impostor, 0.01).message
    # chosen on the other split, whose impostors are farther apart: named as such
    other_impostor = impostor + 0.1
    other_best = threshold_for_fmr(other_impostor, 0.01)
    feedback = check.threshold_for_target_fmr(other_best, impostor, 0.01, other_impostor=other_impostor)
    assert not feedback and "*other* split" in feedback.message
    assert check.threshold_for_target_fmr(best, impostor, 0.01, other_impostor=other_impostor)


def test_global_threshold_explanation():
    good = ("The model places faces of some groups closer together, so their impostor distances are smaller. "
            "A single threshold for everyone then gives that group many more false matches, and those people "
            "are wrongly matched to suspects more often than others.")
    assert check.global_threshold_explanation(good)
    assert "at least 25 words" in check.global_threshold_explanation("It is unfair.").message
    vague = ("Face recognition is biased and this is a serious problem for society because it affects people "
             "differently and we should be careful when we use such systems in policing and elsewhere today.")
    assert "does not yet mention" in check.global_threshold_explanation(vague).message
    plain = ("The machine thinks strangers from some groups already look alike to it. A cut-off that is identical for "
             "everyone then means innocent people from those groups get flagged as the suspect far more often.")
    assert check.global_threshold_explanation(plain)
    wrong = ("A single threshold is fair by construction: because it is one global number, every group gets exactly "
             "the same false match rate, whether or not the model places its faces closer together than others.")
    feedback = check.global_threshold_explanation(wrong)
    assert not feedback and "not the same rate" in feedback.message
    assert check.MODEL_EXPLANATION in feedback.message
    fair = ("Even if the faces of some groups sit closer together for the model, one global threshold is fair to "
            "everyone: the risk of a false match is shared evenly and no group is wrongly flagged more than another.")
    assert "not the same rate" in check.global_threshold_explanation(fair).message
    negated = ("Different people from some groups look more like each other to the model. One cut-off for every "
               "search does not give the same FMR to every group: many more innocent people from those groups "
               "get flagged.")
    assert check.global_threshold_explanation(negated)
