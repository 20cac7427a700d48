"""Exercise checks for lesson 02 (embeddings, verification metrics and thresholds)."""

from __future__ import annotations

import re

import numpy as np

from . import Feedback, verdict


def eer(answer: object, genuine: np.ndarray, impostor: np.ndarray, *, other_split: tuple | None = None) -> Feedback:
    """Lesson 02: the equal error rate of these genuine/impostor distances (a rate between 0 and 1)."""
    from ..metrics import equal_error_rate

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
    from ..metrics import threshold_for_fmr

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
