"""Exercise checks recognise the right answer and name the typical wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from course import check, faces, provenance


@pytest.fixture(scope="module")
def people():
    return faces.synthetic_faces(2, 3, seed=5, size=128)


def _rebuild(record, *, identity_key="identity_seed", view_key="view_seed", size=128):
    identity = faces.identity_parameters(record[identity_key])
    return faces.render_face(identity, view_seed=record[view_key], size=size)


def test_right_answer_passes(people, capsys):
    image, _ = _rebuild(people.provenance[4])
    assert check.rerendered_image(image, 4, people)
    assert capsys.readouterr().out.startswith("✅")


@pytest.mark.parametrize(
    "make_answer, hint",
    [
        (lambda p: None, "forget `return`"),
        (lambda p: _rebuild(p.provenance[4]), "take the first element"),
        (lambda p: _rebuild(p.provenance[4], size=64)[0], "size="),
        (lambda p: p.images[3], "another photo of them"),
        (lambda p: _rebuild(p.provenance[4], identity_key="view_seed")[0], "view seed where the identity seed"),
        (lambda p: p.images[1], "differs from the original"),  # another person entirely
    ],
)
def test_typical_mistakes_get_their_own_hint(people, make_answer, hint, capsys):
    feedback = check.rerendered_image(make_answer(people), 4, people)
    assert not feedback and hint in feedback.message
    assert capsys.readouterr().out.startswith("❌")


GOOD_CONSENT = ("I agree that this photo of me is used to compute a face embedding in exercise 2 of this course. "
                "I can withdraw at any time and the photo and embedding will then be deleted.")


def test_consent_record_that_names_processing_purpose_and_withdrawal_passes():
    assert check.consent_record(provenance.own_photo("Ada Example", GOOD_CONSENT))


@pytest.mark.parametrize(
    "consent, missing",
    [
        ("I agree that my photo is used in this course exercise; I may withdraw.", "what will be done with the face"),
        ("I agree to face recognition of my photo in this course exercise.", "withdraw"),
        ("I agree to face recognition of my photo. I can withdraw at any time.", "purpose and context"),
    ],
)
def test_consent_record_names_what_the_text_leaves_out(consent, missing):
    feedback = check.consent_record(provenance.own_photo("Ada Example", consent))
    assert not feedback and missing in feedback.message


def test_consent_check_refuses_non_records():
    assert "no provenance record" in check.consent_record(None).message
    synthetic = faces.synthetic_faces(1, 1, size=64).provenance[0]
    assert "own_photo" in check.consent_record(synthetic).message


# ------------------------------------------------------------------ lesson 01


@pytest.fixture(scope="module")
def nn_case():
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(5, 4))
    gallery_ids = np.array([10, 11, 12, 13, 14])
    probes = gallery[[2, 0, 4, 4]] + 0.01 * rng.normal(size=(4, 4))
    return gallery, gallery_ids, probes


def _nearest_ids(gallery, gallery_ids, probes):
    return gallery_ids[((probes[:, None] - gallery[None]) ** 2).sum(axis=2).argmin(axis=1)]


def test_nearest_neighbour_ids_right_answer(nn_case):
    assert check.nearest_neighbour_ids(_nearest_ids, *nn_case)


@pytest.mark.parametrize(
    "identify, hint",
    [
        (lambda g, ids, p: None, "forget `return`"),
        (lambda g, ids, p: ((p[:, None] - g[None]) ** 2).sum(axis=2).argmin(axis=1), "positions in the gallery"),
        (lambda g, ids, p: ids[((p[:, None] - g[None]) ** 2).sum(axis=2).argmax(axis=1)], "farthest"),
        (lambda g, ids, p: ids[:2], "one identity per probe"),
        (lambda g, ids, p: np.full(len(p), ids[0]), "agree with nearest-neighbour identification on"),
        (np.array([12, 10, 14, 14]), "Pass the function itself"),
    ],
)
def test_nearest_neighbour_ids_typical_mistakes(nn_case, identify, hint):
    feedback = check.nearest_neighbour_ids(identify, *nn_case)
    assert not feedback and hint in feedback.message


def test_nearest_neighbour_ids_catches_positions_when_ids_equal_positions():
    # as in lesson 01: identity k sits at gallery position k, so only a reordered gallery exposes the slip
    rng = np.random.default_rng(1)
    gallery = rng.normal(size=(6, 3))
    probes = gallery[[5, 1, 3]] + 0.01 * rng.normal(size=(3, 3))
    positions = lambda g, ids, p: ((p[:, None] - g[None]) ** 2).sum(axis=2).argmin(axis=1)  # noqa: E731
    feedback = check.nearest_neighbour_ids(positions, gallery, np.arange(6), probes)
    assert not feedback and "positions in the gallery" in feedback.message
    assert check.nearest_neighbour_ids(_nearest_ids, gallery, np.arange(6), probes)


def test_lfw_consent_section():
    right = {"where_from": "Yahoo News photos", "notified": False, "consented": False}
    assert check.lfw_consent_section(right)
    assert "news" in check.lfw_consent_section({**right, "where_from": "volunteers in a lab"}).message
    assert "consented" in check.lfw_consent_section({**right, "consented": True}).message
    assert "missing" in check.lfw_consent_section({"where_from": "news"}).message


# ------------------------------------------------------------------ lesson 02


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


@pytest.mark.parametrize("text", [
    "I do NOT agree to face recognition. My photo must never be deleted and never used in this course.",
    "I disagree with my photo being used for a face embedding in this course; delete it if you can.",
    "I object to face recognition of my photo in this course exercise. Delete it.",
    "No, I do not give permission for a face embedding of my photo in this course. Withdraw and delete it.",
])
def test_consent_record_refuses_a_refusal(text):
    feedback = check.consent_record(provenance.own_photo("Ada Example", text))
    assert not feedback and "does not say what the person agrees to" in feedback.message


def test_consent_record_refuses_consent_without_a_way_out():
    text = GOOD_CONSENT + " It cannot ever be deleted; I waive the right to withdraw."
    feedback = check.consent_record(provenance.own_photo("Ada Example", text))
    assert not feedback and "way out" in feedback.message


def test_consent_record_that_says_what_is_not_covered_passes():
    text = (GOOD_CONSENT + " I do not agree to any other use. I can refuse further use at any time, and nothing "
            "will be kept that could not be deleted.")
    assert check.consent_record(provenance.own_photo("Ada Example", text))


def test_consent_record_with_a_non_text_consent_is_refused_not_crashed():
    record = {**provenance.own_photo("Ada Example", GOOD_CONSENT), "consent": True}
    feedback = check.consent_record(record)
    assert not feedback
