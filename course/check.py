"""Exercise checks: call one after an exercise to get specific feedback, not just pass/fail.

Each check compares a student's answer with the right one *and* with the typical
wrong answers, and says which mistake it looks like, with a hint. A check prints its
verdict and returns a :class:`Feedback` (truthy when the answer is right), so it can
also be used in tests.
"""

from __future__ import annotations

import re
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


#: A positive statement of agreement, not negated ("I do not agree" does not count).
_AGREES = re.compile(r"(?<!not )(?<!n't )\b(i agree|i consent|i give (my )?(consent|permission)|i allow|i permit|"
                     r"i am happy for|i'm happy for)\b")
_NO_WAY_OUT = re.compile(r"\b(cannot|can't|can not|will never|must never|may never|won't)\s+(ever\s+)?(be\s+)?"
                         r"(deleted|erased|withdrawn|withdraw)\b|\bwaive")


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


# ------------------------------------------------------------------------ lesson 01


def nearest_neighbour_ids(identify, gallery: np.ndarray, gallery_ids: np.ndarray, probes: np.ndarray) -> Feedback:
    """Lesson 01: does the student's ``identify(gallery, gallery_ids, probes)`` return each probe's nearest identity?

    It is called twice: on the lesson's gallery and on the same gallery in reverse order. In the
    lesson the identities happen to equal the gallery positions (0, 1, 2, ...), so only the
    reversed gallery tells "returned identities" from "returned positions"."""
    if not callable(identify):
        return verdict(False, f"Pass the function itself (identify, without brackets), not {type(identify).__name__}.")
    reverse = np.arange(len(gallery))[::-1]
    for rows in (np.arange(len(gallery)), reverse):
        g, g_ids = gallery[rows], gallery_ids[rows]
        distances = ((probes[:, None, :] - g[None, :, :]) ** 2).sum(axis=2)
        expected = g_ids[distances.argmin(axis=1)]
        answer = identify(g, g_ids, probes)
        if answer is None:
            return verdict(False, "Your function returned None: did you forget `return`?")
        answer = np.asarray(answer)
        if answer.shape != expected.shape:
            return verdict(False, f"Expected one identity per probe ({len(expected)} values), got shape {answer.shape}. "
                               "For each probe (a row of distances), take the closest gallery face.")
        if np.array_equal(answer, expected):
            continue
        if np.array_equal(answer, distances.argmin(axis=1)):
            return verdict(False, "You returned positions in the gallery, not identities: look them up in gallery_ids. "
                               "(With the gallery in reverse order, position and identity no longer coincide.)")
        if np.array_equal(answer, g_ids[distances.argmax(axis=1)]):
            return verdict(False, "You picked the *farthest* gallery face: the nearest has the smallest distance (argmin).")
        agree = float(np.mean(answer == expected))
        return verdict(False, f"Your predictions agree with nearest-neighbour identification on {agree:.0%} of probes. "
                           "Compare every probe with every gallery face (Euclidean distance) and take the closest.")
    return verdict(True, "Each probe gets the identity of its nearest enrolled face, whatever order the gallery is in.")


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
    if not np.isfinite(value):
        return verdict(False, f"Your EER is {value}: check for a division by zero or an empty array.")
    # different correct sweeps (every observed distance, a fine grid, interpolation) agree to ~1e-4
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
    if abs(value - (1 - expected)) <= tolerance:
        return verdict(False, "You have 1 − EER: check the direction — FMR counts impostors at or below the threshold, "
                           "FNMR counts genuine pairs above it.")
    return verdict(False, f"Not quite (off by {value - expected:+.3f}). Sweep thresholds, compute FMR(t) and FNMR(t), "
                       "and find where they cross.")


def threshold_for_target_fmr(answer: object, impostor: np.ndarray, target_fmr: float,
                             *, other_impostor: np.ndarray | None = None) -> Feedback:
    """Lesson 02: a threshold whose false match rate on ``impostor`` is at most ``target_fmr``, as large as possible.

    ``other_impostor`` holds the other split's impostor distances, so that a threshold chosen there
    is named as such. A pair at exactly the threshold counts as a match (distance <= threshold)."""
    from .metrics import threshold_for_fmr

    impostor = np.asarray(impostor)
    best = threshold_for_fmr(impostor, target_fmr)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return verdict(False, f"Expected a threshold (a distance), got {type(answer).__name__}.")
    if not np.isfinite(value):
        return verdict(False, f"Your threshold is {value}: a threshold is a finite distance.")
    allowed = int(np.floor(target_fmr * len(impostor) + 1e-9))
    admitted = int(np.sum(impostor <= value))
    if other_impostor is not None:
        other_best = threshold_for_fmr(other_impostor, target_fmr)
        if abs(value - other_best) < 1e-3 and abs(value - other_best) < abs(value - best):
            return verdict(False, f"{value:.3f} is the threshold the *other* split would choose. Choose it on the split "
                               "named in the exercise; seeing what it does on the other people is the point.")
    if admitted > allowed:
        return verdict(False, f"Your threshold {value:.5f} lets through {admitted} of {len(impostor):,} impostor pairs "
                           f"({admitted / len(impostor):.3%}); the target {target_fmr:.2%} allows at most {allowed}. "
                           "A pair at exactly the threshold counts as a match (distance <= threshold), so the "
                           f"threshold must sit just below impostor distance number {allowed + 1}, counting up from "
                           "the smallest.")
    if admitted < 0.9 * allowed or (allowed == 0 and value < best - 0.02):
        return verdict(False, f"Safe ({admitted} of the {allowed} allowed impostor pairs get through), but lower than "
                           f"needed: the largest threshold meeting the target is about {best:.3f}. A lower one only "
                           "rejects more genuine pairs.")
    return verdict(True, f"Threshold {value:.3f} lets through {admitted} of {len(impostor):,} impostor pairs "
                      f"({admitted / len(impostor):.3%}, target {target_fmr:.2%}).")


_NEGATION = re.compile(r"\b(not|never|no|nor|isn't|doesn't|don't|won't|cannot)\b|n't\b")


def _asserted(phrase: str, text: str) -> bool:
    """``phrase`` occurs in ``text`` without a negation among the four words before it."""
    for match in re.finditer(re.escape(phrase), text):
        before = " ".join(text[: match.start()].split()[-4:])
        if not _NEGATION.search(before):
            return True
    return False


MODEL_EXPLANATION = (
    "The recogniser places the faces of some groups closer together, so strangers from those groups look "
    "more alike to it. One global threshold is the same number for everyone, so it lets through far more "
    "false matches for those groups, and their members are the ones wrongly matched to a suspect."
)


def global_threshold_explanation(answer: object) -> Feedback:
    """Lesson 02: a short explanation of why one global threshold can harm some groups.

    A keyword check can only look for the three key ideas (and for the commonest misconception),
    not judge an argument, so it always ends by showing a model answer to compare with."""
    if not isinstance(answer, str) or len(answer.split()) < 25:
        return verdict(False, "Write a few sentences (at least 25 words) in a string.")
    text = answer.lower()
    compare = f" This check only looks for key ideas; compare your wording with a model answer: {MODEL_EXPLANATION}"
    misconception = ("same false match rate", "same fmr", "same error rate", "fair by construction",
                     "equally fair", "equal false match", "treats everyone equally", "fair to everyone",
                     "fair to all", "shared evenly", "same for every group", "burden is the same",
                     "no group is wrongly flagged more", "same risk")
    if any(_asserted(phrase, text) for phrase in misconception):
        return verdict(False, "Your answer says one threshold gives every group the same error rate. It gives the same "
                           "*cut-off*, not the same rate: look at the table above, where one threshold gives the "
                           "two groups very different false match rates." + compare)
    ideas = {
        "that impostor distances differ between groups (some groups' different people look closer to the model)":
            ("closer", "smaller distance", "more similar", "less varied", "distribution", "packed", "resembl",
             "alike", "nearer", "close together", "near each other", "like each other", "look more like",
             "harder to tell apart", "similar"),
        "that the threshold is one number for everyone":
            ("one threshold", "single threshold", "global", "same threshold", "cut-off", "cutoff", "one number",
             "for everyone", "for all groups", "same number"),
        "the consequence: more false matches (wrongly matched to someone else) for that group":
            ("false match", "false positive", "misidentif", "wrongly", "mistaken", "innocent", "flagged", "fmr"),
    }
    missing = [idea for idea, words in ideas.items() if not any(w in text for w in words)]
    if missing:
        return verdict(False, "Your explanation does not yet mention " + "; nor ".join(missing) + "." + compare)
    return verdict(True, "You connect the distance distributions, the single threshold and who bears the false matches. "
                      "NIST likewise found false-positive differentials much larger than false-negative ones." + compare)
