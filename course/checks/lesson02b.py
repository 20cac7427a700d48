"""Exercise checks for lesson 02b (how embeddings are learned)."""

from __future__ import annotations


import numpy as np

from . import ConceptQuestion, Feedback, as_number, concept_quiz, verdict
from ..metric_learning import MARGIN, RADIUS, pairwise_hinge_loss, unit_length
from ..metrics import equal_error_rate, pair_distances

#: Distances around the decision zone (0.56 ... 0.64) and far from it, each for a same-person pair and
#: for a pair of different people.
_DISTANCES = np.array([0.0, 0.3, 0.55, 0.56, 0.58, 0.6, 0.62, 0.64, 0.66, 0.9, 1.4, 2.5])


def _cases():
    """(distances, same, threshold, margin) cases; the last one uses other settings, to catch hard-coded 0.6 / 0.04."""
    both = np.concatenate([_DISTANCES, _DISTANCES])
    same = np.concatenate([np.ones(len(_DISTANCES), bool), np.zeros(len(_DISTANCES), bool)])
    order = np.random.default_rng(7).permutation(len(both))  # mixed, so "first half same" is not assumed
    return [(both[order], same[order], RADIUS, MARGIN),
            (np.array([0.2, 0.9, 1.05, 1.3, 0.5, 1.25]), np.array([True, True, True, False, False, False]), 1.0, 0.2)]


def _mistakes(d, same, t, m):
    """What the typical wrong answers compute, each with the hint that names the mistake."""
    return [
        (np.where(same, d - t + m, t - d + m),
         "Some losses are negative: a pair already on the right side of its target costs nothing. "
         "Wrap each case in max(0, ...) (np.maximum(0, ...))."),
        (np.where(same, np.maximum(0, t - d + m), np.maximum(0, d - t + m)),
         "The two cases are swapped: a same-person pair should cost more the FARTHER apart it is "
         "(d - threshold + margin), a pair of different people the CLOSER it is (threshold - d + margin)."),
        (np.where(same, np.maximum(0, d - t - m), np.maximum(0, t - d - m)),
         "The margin has the wrong sign: it makes the target stricter, so same-person pairs must be closer "
         "than threshold - margin (d - threshold + margin) and different people farther than threshold + margin."),
        (np.where(same, np.maximum(0, d - t), np.maximum(0, t - d)),
         "The margin is missing: a pair exactly at the threshold should still cost `margin`."),
        (np.where(same, np.maximum(0, d ** 2 - t + m), np.maximum(0, t - d ** 2 + m)),
         "You squared the distances: dlib's loss uses the distance itself."),
        (np.maximum(0, d - t + m),
         "Every pair is treated as a same-person pair: use `same` to choose between the two cases."),
        (np.maximum(0, t - d + m),
         "Every pair is treated as a pair of different people: use `same` to choose between the two cases."),
    ]


def hinge_loss(student_function) -> Feedback:
    """Lesson 02b, exercise 1: does ``student_function(distances, same, threshold, margin)`` give dlib's per-pair loss?"""
    if not callable(student_function):
        return verdict(False, f"Pass the function itself (my_hinge_loss, without brackets), not {type(student_function).__name__}.")
    for number, (d, same, t, m) in enumerate(_cases()):
        try:
            answer = student_function(d.copy(), same.copy(), t, m)
        except NotImplementedError:
            return verdict(False, "my_hinge_loss still raises NotImplementedError: replace the stub with your code.")
        except Exception as error:  # the learner's code failed: say how, don't crash the check
            return verdict(False, f"Your function raised {type(error).__name__}: {error}. "
                                  "It receives numpy arrays `distances` (floats) and `same` (booleans).")
        if answer is None:
            return verdict(False, "Your function returned None: did you forget `return`?")
        try:
            values = np.asarray(answer, dtype=np.float64)
        except (TypeError, ValueError):
            return verdict(False, f"Return one number per pair (an array or a list), not {type(answer).__name__}.")
        if values.shape != d.shape:
            if values.size == 1:
                return verdict(False, "You returned one number: return one loss PER PAIR (an array as long as "
                                      "`distances`); the training code averages them itself.")
            return verdict(False, f"You returned {values.size} numbers for {d.size} pairs: one loss per pair, please.")
        expected = pairwise_hinge_loss(d, same, t, m)
        if np.allclose(values, expected, atol=1e-9):
            continue
        if number == 1 and np.allclose(values, pairwise_hinge_loss(d, same), atol=1e-9):
            return verdict(False, "Right with the default settings, but your function ignores its `threshold` and "
                                  "`margin` arguments (it still uses 0.6 and 0.04 when called with others).")
        for wrong, hint in _mistakes(d, same, t, m):
            if np.allclose(values, wrong, atol=1e-9):
                return verdict(False, hint)
        worst = int(np.argmax(np.abs(values - expected)))
        kind = "same-person" if same[worst] else "different-people"
        return verdict(False, f"For a {kind} pair at distance {d[worst]:.2f} (threshold {t}, margin {m}) the loss "
                              f"should be {expected[worst]:.2f}, yours is {values[worst]:.2f}.")
    return verdict(True, "Right: same-person pairs pay for being farther than threshold - margin, different "
                         "people for being closer than threshold + margin, and nothing otherwise.")


def normalised_eer(answer: object, embeddings: np.ndarray, identities: np.ndarray) -> Feedback:
    """Lesson 02b, exercise 2: the EER of dlib's vectors after scaling each to unit length (a rate in 0..1)."""
    if answer is None:
        return verdict(False, "Set `eer_unit_length` to your answer first (it is still None).")
    value = as_number(answer)
    if value is None and isinstance(answer, tuple) and len(answer) == 2:
        return verdict(False, "That is a pair: equal_error_rate returns (eer, threshold); store only the first.")
    if value is None:
        return verdict(False, f"`eer_unit_length` should be a number (a rate in 0..1), not {type(answer).__name__}.")
    if not np.isfinite(value):
        return verdict(False, "`eer_unit_length` is not a finite number.")
    expected, threshold = equal_error_rate(*pair_distances(unit_length(embeddings), identities))
    raw, raw_threshold = equal_error_rate(*pair_distances(embeddings, identities))
    rows_as_columns = np.asarray(embeddings, float) / np.linalg.norm(embeddings, axis=0, keepdims=True)
    wrong_axis, _ = equal_error_rate(*pair_distances(rows_as_columns, identities))
    tolerance = 0.0005
    if abs(value - expected) <= tolerance:
        return verdict(True, f"Right: {expected:.4f} ({expected:.2%}). With the raw vectors it is {raw:.4f}: "
                             "scaling to unit length changes little here, because dlib's vectors all have "
                             "nearly the same length.")
    if 1 < value <= 100 and abs(value / 100 - expected) <= tolerance:
        return verdict(False, f"That is the right rate written as a percentage ({value:g} %): give it as a rate "
                              f"in 0..1 ({value / 100:.4f}), as the exercise asks.")
    if round(expected, 2) == value or round(expected, 3) == value:
        return verdict(False, f"Close, but rounded: give the rate as computed (to at least four decimals), "
                              f"not {value:g}.")
    if abs(value - raw) <= tolerance:
        return verdict(False, "That is the EER of the raw vectors: divide each vector (each ROW) by its own length "
                              "first, then compute the pair distances again.")
    if abs(value - wrong_axis) <= tolerance:
        return verdict(False, "You divided each column (each of the 128 numbers across all faces) by its length: "
                              "normalise each row instead (np.linalg.norm(..., axis=1, keepdims=True)).")
    if abs(value - threshold) <= 0.002 or abs(value - raw_threshold) <= 0.002:
        return verdict(False, "That is a threshold (a distance), not an error rate: equal_error_rate returns "
                              "(eer, threshold); take the first.")
    if abs(value - (1 - expected)) <= 0.01:
        return verdict(False, "That is one minus the EER: did you use cosine SIMILARITY (higher = more alike) as "
                              "if it were a distance? Use the distances between the unit-length vectors.")
    return verdict(False, f"Not the EER of the unit-length vectors ({value:.4f}). Divide each row by its length, "
                          "split the pair distances with metrics.pair_distances, then metrics.equal_error_rate.")


BEFORE = [
    ConceptQuestion(
        "Which of these needs labelled photos (who is who) to be built?",
        {"a": "eigenfaces (PCA), the directions in which the photos vary most",
         "b": "a learned metric such as LDA or NCA",
         "c": "both: any projection of face photos needs to know who is who before it can be computed"},
        "b", "PCA only looks at how the photos vary; LDA and NCA are fitted to the identity labels, which tell "
             "them which differences separate people."),
    ConceptQuestion(
        "The distance between the raw pixels of two aligned face photos mostly measures …",
        {"a": "who is in the photos",
         "b": "how old the people are",
         "c": "how similar the lighting and pose are"},
        "c", "without labels, the largest differences between photos are lighting and pose; in this lesson "
             "pixels and eigenfaces identified only about a third of the test people at rank 1."),
    ConceptQuestion(
        "To judge a recogniser fairly, you test it on …",
        {"a": "people it never saw in training",
         "b": "the photos it was trained on",
         "c": "the photos it gets right most often"},
        "a", "a recogniser meets strangers; scores on its own training people are optimistic."),
]

AFTER = [
    ConceptQuestion(
        "Eigenfaces (PCA) and LDA both give 100 numbers per face, yet LDA identifies people far better. Why?",
        {"a": "LDA uses the identity labels to keep the directions that separate people; PCA keeps mostly "
              "lighting and pose",
         "b": "LDA was fitted on the test people as well, so it had already seen them",
         "c": "LDA keeps more numbers per face"},
        "a", "on the same unseen people LDA reached about 83 % at rank 1 against 30 % for eigenfaces: the "
             "labels told it which differences matter."),
    ConceptQuestion(
        "dlib's pairwise hinge loss with threshold 0.6 and margin 0.04: a pair of photos of ONE person at "
        "distance 0.55 costs …",
        {"a": "0.01, the distance by which the pair passes the margin",
         "b": "0.05: a same-person pair costs its distance to the threshold 0.6, whatever the margin",
         "c": "nothing: it is inside 0.6 − 0.04 = 0.56"},
        "c", "a same-person pair costs max(0, d − threshold + margin) = max(0, 0.55 − 0.56) = 0; only pairs "
             "farther than 0.56 are pulled in."),
    ConceptQuestion(
        "For dlib's vectors, scaling each to length 1 before comparing them …",
        {"a": "changes the EER a lot, because Euclidean distance ignores angles",
         "b": "changes little, because the vectors' lengths barely vary",
         "c": "makes the vectors impossible to compare"},
        "b", "between unit-length vectors Euclidean distance ranks pairs as cosine distance does, and dlib's "
             "vectors are all of nearly the same length."),
    ConceptQuestion(
        "The embedding trained here with dlib's loss around 0.6 has its equal-error threshold on the test people "
        "well above 0.6. Why?",
        {"a": "the loss sets targets (one person within 0.56, two people beyond 0.64), not where FMR and FNMR "
              "cross; that is measured",
         "b": "the loss has a bug: a correct loss puts the equal-error threshold at exactly 0.6 on any people, "
              "whether it was trained on them or not",
         "c": "0.6 only applies to 128-number embeddings"},
        "a", "a hinge loss sets targets, not the crossing point of FMR and FNMR; a threshold is measured for a "
             "recogniser on the people it will be used on."),
]


def concepts_before(answers) -> Feedback:
    """The concept questions at the start of lesson 02b."""
    return concept_quiz("before", BEFORE, answers)


def concepts_after(answers) -> Feedback:
    """The concept questions at the end of lesson 02b."""
    return concept_quiz("after", AFTER, answers)
