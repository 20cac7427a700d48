"""Tests of lesson 00's exercise checks: right answers written differently pass, typical wrong answers fail with their own hint."""

from __future__ import annotations

import pytest

from course import faces, provenance
from course.checks import lesson00 as check


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
