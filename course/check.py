"""Exercise checks: call one after an exercise to get specific feedback, not just pass/fail.

Each check compares a student's answer with the right one *and* with the typical
wrong answers, and says which mistake it looks like, with a hint. A check prints its
verdict and returns a :class:`Feedback` (truthy when the answer is right), so it can
also be used in tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Feedback:
    """The verdict of a check: right or not, and what to say to the student."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return ("✅ " if self.correct else "❌ ") + self.message

    def _ipython_display_(self) -> None:
        """Already printed by the check; show nothing more when it ends a notebook cell."""


def _say(correct: bool, message: str) -> Feedback:
    feedback = Feedback(correct, message)
    print(feedback)
    return feedback


# ------------------------------------------------------------------------ lesson 00


def rerendered_image(answer: object, index: int, people) -> Feedback:
    """Lesson 00: did the student re-create image ``index`` of ``people`` from its provenance alone?"""
    from . import faces

    expected = people.images[index]
    record = people.provenance[index]
    if answer is None:
        return _say(False, "Your function returned None: did you forget `return`?")
    if not isinstance(answer, np.ndarray):
        return _say(False, f"Expected an image (a numpy array), got {type(answer).__name__}. "
                           "render_face returns (image, nuisance): take the first element.")
    if answer.shape != expected.shape:
        return _say(False, f"Your image is {answer.shape}, the original is {expected.shape}. "
                           "Pass the same size= as the data set was made with.")
    if np.array_equal(answer, expected):
        return _say(True, "Bit-for-bit identical: the provenance record alone was enough to rebuild the face.")
    for j, other in enumerate(people.provenance):
        if other["identity_seed"] == record["identity_seed"] and j != index and np.array_equal(answer, people.images[j]):
            return _say(False, f"That is the right person but another photo of them (image {j}). "
                               "The view seed decides pose, light and expression: use this image's view_seed.")
    swapped = faces.render_face(faces.identity_parameters(record["view_seed"]), view_seed=record["view_seed"],
                                size=expected.shape[0])[0]
    if np.array_equal(answer, swapped):
        return _say(False, "You passed the view seed where the identity seed belongs: "
                           "identity_parameters(record['identity_seed']).")
    return _say(False, "The image differs from the original. Rebuild it from "
                       "record['identity_seed'] and record['view_seed'] with the data set's size and max_yaw.")


def consent_record(answer: object) -> Feedback:
    """Lesson 00: is this an own-photo provenance record whose consent text would let someone judge its scope?"""
    from .errors import ProvenanceError
    from .provenance import require_provenance

    try:
        record = require_provenance(answer, what="your record")
    except ProvenanceError as err:
        return _say(False, str(err).splitlines()[0] + " Build it with course.provenance.own_photo(...).")
    if record["source"] != "own_photo":
        return _say(False, f"This is a {record['source']} record; the exercise asks for your own photo (own_photo).")
    text = record["consent"].lower()
    missing = []
    if not any(word in text for word in ("embedding", "face recognition", "recognition", "biometric", "faceprint")):
        missing.append("what will be done with the face (computing a face embedding is biometric processing)")
    if not any(word in text for word in ("withdraw", "delete", "revoke", "erase")):
        missing.append("how the person can withdraw consent and have the data deleted")
    if not any(word in text for word in ("course", "class", "exercise", "lesson", "workshop")):
        missing.append("the purpose and context (this course exercise)")
    if missing:
        return _say(False, "The record passes the guard, but the consent text does not say "
                    + "; nor ".join(missing) + ". Consent only covers what it names.")
    return _say(True, "The consent names the processing, the purpose and the way out: someone else can judge its scope.")
