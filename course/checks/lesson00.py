"""Exercise checks for lesson 00 (start here: the course, its rules and its people)."""

from __future__ import annotations

import re

import numpy as np

from . import Feedback, verdict


def rerendered_image(answer: object, index: int, people) -> Feedback:
    """Lesson 00: did the student re-create image ``index`` of ``people`` from its provenance alone?"""
    from .. import faces

    expected = people.images[index]
    record = people.provenance[index]
    if answer is None:
        return verdict(False, "Your function returned None: did you forget `return`?")
    if not isinstance(answer, np.ndarray):
        return verdict(False, f"Expected an image (a numpy array), got {type(answer).__name__}. "
                           "render_face returns (image, nuisance): take the first element.")
    if answer.shape != expected.shape:
        return verdict(False, f"Your image is {answer.shape}, the original is {expected.shape}. "
                           "Pass the same size= as the data set was made with.")
    if np.array_equal(answer, expected):
        return verdict(True, "Bit-for-bit identical: the provenance record alone was enough to rebuild the face.")
    for j, other in enumerate(people.provenance):
        if other["identity_seed"] == record["identity_seed"] and j != index and np.array_equal(answer, people.images[j]):
            return verdict(False, f"That is the right person but another photo of them (image {j}). "
                               "The view seed decides pose, light and expression: use this image's view_seed.")
    swapped = faces.render_face(faces.identity_parameters(record["view_seed"]), view_seed=record["view_seed"],
                                size=expected.shape[0])[0]
    if np.array_equal(answer, swapped):
        return verdict(False, "You passed the view seed where the identity seed belongs: "
                           "identity_parameters(record['identity_seed']).")
    return verdict(False, "The image differs from the original. Rebuild it from "
                       "record['identity_seed'] and record['view_seed'] with the data set's size and max_yaw.")


#: A positive statement of agreement, not negated ("I do not agree" does not count).
_AGREES = re.compile(r"(?<!not )(?<!n't )\b(i agree|i consent|i give (my )?(consent|permission)|i allow|i permit|"
                     r"i am happy for|i'm happy for)\b")
_NO_WAY_OUT = re.compile(r"\b(cannot|can't|can not|will never|must never|may never|won't)\s+(ever\s+)?(be\s+)?"
                         r"(deleted|erased|withdrawn|withdraw)\b|\bwaive")


def consent_record(answer: object) -> Feedback:
    """Lesson 00: is this an own-photo provenance record whose consent text would let someone judge its scope?"""
    from ..errors import ProvenanceError
    from ..provenance import require_provenance

    try:
        record = require_provenance(answer, what="your record")
    except ProvenanceError as err:
        return verdict(False, str(err).splitlines()[0] + " Build it with course.provenance.own_photo(...).")
    if record["source"] != "own_photo":
        return verdict(False, f"This is a {record['source']} record; the exercise asks for your own photo (own_photo).")
    if not isinstance(record["consent"], str):
        return verdict(False, "record['consent'] should be the text the person agreed to, in their words.")
    text = record["consent"].lower()
    caveat = " (This check looks for key phrases; it cannot read every sentence the way a person would.)"
    if not _AGREES.search(text):
        return verdict(False, "The text does not say what the person agrees to (e.g. 'I agree that ...'): as "
                           "written it reads as a refusal, or as no answer at all." + caveat)
    if _NO_WAY_OUT.search(text):
        return verdict(False, "The text takes away the way out (no withdrawal, or data that can never be deleted): "
                           "consent must stay revocable." + caveat)
    missing = []
    if not any(word in text for word in ("embedding", "face recognition", "recognition", "biometric", "faceprint")):
        missing.append("what will be done with the face (computing a face embedding is biometric processing)")
    if not any(word in text for word in ("withdraw", "delete", "revoke", "erase")):
        missing.append("how the person can withdraw consent and have the data deleted")
    if not any(word in text for word in ("course", "class", "exercise", "lesson", "workshop")):
        missing.append("the purpose and context (this course exercise)")
    if missing:
        return verdict(False, "The record passes the guard, but the consent text does not say "
                    + "; nor ".join(missing) + ". Consent only covers what it names.")
    return verdict(True, "The consent names the processing, the purpose and the way out: someone else can judge its scope.")
