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


def verdict(correct: bool, message: str) -> Feedback:
    """Print a check's verdict and return it; every lesson's check module uses this."""
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


def consent_record(answer: object) -> Feedback:
    """Lesson 00: is this an own-photo provenance record whose consent text would let someone judge its scope?"""
    from .errors import ProvenanceError
    from .provenance import require_provenance

    try:
        record = require_provenance(answer, what="your record")
    except ProvenanceError as err:
        return verdict(False, str(err).splitlines()[0] + " Build it with course.provenance.own_photo(...).")
    if record["source"] != "own_photo":
        return verdict(False, f"This is a {record['source']} record; the exercise asks for your own photo (own_photo).")
    text = record["consent"].lower()
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


# ------------------------------------------------------------------------ lesson 01


def nearest_neighbour_ids(answer: object, gallery: np.ndarray, gallery_ids: np.ndarray, probes: np.ndarray) -> Feedback:
    """Lesson 01: did the student predict, for each probe, the identity of its nearest gallery face?"""
    distances = ((probes[:, None, :] - gallery[None, :, :]) ** 2).sum(axis=2)
    expected = gallery_ids[distances.argmin(axis=1)]
    if answer is None:
        return verdict(False, "Your function returned None: did you forget `return`?")
    answer = np.asarray(answer)
    if answer.shape != expected.shape:
        return verdict(False, f"Expected one identity per probe ({len(expected)} values), got shape {answer.shape}. "
                           "For each probe (a row of distances), take the closest gallery face.")
    if np.array_equal(answer, expected):
        return verdict(True, "Each probe gets the identity of its nearest enrolled face.")
    if np.array_equal(answer, distances.argmin(axis=1)):
        return verdict(False, "You returned positions in the gallery, not identities: look them up in gallery_ids.")
    if np.array_equal(answer, gallery_ids[distances.argmax(axis=1)]):
        return verdict(False, "You picked the *farthest* gallery face: the nearest has the smallest distance (argmin).")
    agree = float(np.mean(answer == expected))
    return verdict(False, f"Your predictions agree with nearest-neighbour identification on {agree:.0%} of probes. "
                       "Compare every probe with every gallery face (Euclidean distance) and take the closest.")


def lfw_consent_section(answer: object) -> Feedback:
    """Lesson 01: the consent part of a datasheet for Labeled Faces in the Wild (LFW)."""
    if not isinstance(answer, dict):
        return verdict(False, "Answer with a dict: {'where_from': ..., 'notified': ..., 'consented': ...}.")
    missing = [k for k in ("where_from", "notified", "consented") if k not in answer]
    if missing:
        return verdict(False, f"Your datasheet section is missing {missing}.")
    problems = []
    where = str(answer["where_from"]).lower()
    if "news" not in where:
        problems.append("where_from: LFW's photos came from news photographs (Yahoo News, 2002–2003), "
                        "via the Berkeley 'Faces in the Wild' project")
    if answer["notified"] is not False:
        problems.append("notified: nothing in LFW's publications says the people pictured were told")
    if answer["consented"] is not False:
        problems.append("consented: the people pictured were not asked; being photographed by the press is not "
                        "consent to be in a face data set")
    if problems:
        return verdict(False, "Check again — " + "; ".join(problems) + ".")
    return verdict(True, "Right: news photos, people neither notified nor asked. A datasheet makes that visible "
                      "to everyone who later trains on the set.")


# ------------------------------------------------------------------------ lesson 02


def eer(answer: object, genuine: np.ndarray, impostor: np.ndarray, *, other_split: tuple | None = None) -> Feedback:
    """Lesson 02: the equal error rate of these genuine/impostor distances (a rate between 0 and 1)."""
    from .metrics import equal_error_rate

    expected, threshold = equal_error_rate(genuine, impostor)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return verdict(False, f"Expected a number (the EER as a fraction), got {type(answer).__name__}. "
                           "If your function returns (eer, threshold), pass only the first element.")
    tolerance = max(0.01, 0.1 * expected)
    if abs(value - expected) <= tolerance:
        return verdict(True, f"EER ≈ {expected:.3f}: at threshold {threshold:.3f} false matches and false non-matches "
                          "are equally frequent.")
    if abs(value - 100 * expected) <= 100 * tolerance:
        return verdict(False, "That looks like a percentage: give the EER as a fraction between 0 and 1.")
    if abs(value - threshold) <= 0.02:
        return verdict(False, "That is the *threshold* where the two error rates meet; the EER is the error rate there.")
    if abs(value - (1 - expected)) <= tolerance:
        return verdict(False, "You have 1 − EER: check the direction — FMR counts impostors at or below the threshold, "
                           "FNMR counts genuine pairs above it.")
    if other_split is not None and abs(value - equal_error_rate(*other_split)[0]) <= 0.2 * tolerance:
        return verdict(False, "That is the EER of the other split: compute it on the distances you were given.")
    return verdict(False, f"Not quite (off by {value - expected:+.3f}). Sweep thresholds, compute FMR(t) and FNMR(t), "
                       "and find where they cross.")


def threshold_for_target_fmr(answer: object, impostor: np.ndarray, target_fmr: float,
                             *, dev_impostor: np.ndarray | None = None) -> Feedback:
    """Lesson 02: a threshold whose false match rate on ``impostor`` is at most ``target_fmr``, as large as possible."""
    from .metrics import threshold_for_fmr

    best = threshold_for_fmr(impostor, target_fmr)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return verdict(False, f"Expected a threshold (a distance), got {type(answer).__name__}.")
    achieved = float(np.mean(np.asarray(impostor) <= value))
    if achieved > target_fmr:
        if dev_impostor is not None and float(np.mean(np.asarray(dev_impostor) <= value)) <= target_fmr:
            return verdict(False, f"On these impostor pairs your threshold gives FMR {achieved:.2%} > {target_fmr:.2%}. "
                               "It meets the target on the other split only: a threshold chosen on one set of people "
                               "does not guarantee the rate on another.")
        return verdict(False, f"Your threshold lets through {achieved:.2%} of impostor pairs, above the target "
                           f"{target_fmr:.2%}. Lower it.")
    if value < best - 0.02:
        return verdict(False, f"Safe (FMR {achieved:.2%}), but lower than needed: the largest threshold meeting the "
                           f"target is about {best:.3f}. A lower one only rejects more genuine pairs.")
    return verdict(True, f"Threshold {value:.3f} keeps FMR at {achieved:.2%} (target {target_fmr:.2%}).")


def global_threshold_explanation(answer: object) -> Feedback:
    """Lesson 02: a short explanation of why one global threshold can harm some groups."""
    if not isinstance(answer, str) or len(answer.split()) < 25:
        return verdict(False, "Write a few sentences (at least 25 words) in a string.")
    text = answer.lower()
    ideas = {
        "that impostor distances differ between groups (some groups' different people look closer to the model)":
            ("closer", "smaller distance", "more similar", "less varied", "distribution", "packed", "resembl"),
        "that the threshold is one number for everyone": ("one threshold", "single threshold", "global", "same threshold"),
        "the consequence: more false matches (wrongly matched to someone else) for that group":
            ("false match", "false positive", "misidentif", "wrongly match", "fmr"),
    }
    missing = [idea for idea, words in ideas.items() if not any(w in text for w in words)]
    if missing:
        return verdict(False, "Your explanation does not yet mention " + "; nor ".join(missing) + ".")
    return verdict(True, "You connect the distance distributions, the single threshold and who bears the false matches. "
                      "Compare with NIST's finding that false-positive differentials were much larger than "
                      "false-negative ones.")
