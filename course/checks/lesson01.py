"""Exercise checks for lesson 01 (faces as data)."""

from __future__ import annotations

import numpy as np

from . import Feedback, chosen_option, verdict


def _nearest_up_to_ties(answer: np.ndarray, gallery_ids: np.ndarray, distances: np.ndarray) -> bool:
    """True if every probe's answer is the identity of a gallery face at the smallest distance.

    Two right algorithms (a squared sum, a norm, a BLAS-based distance matrix) can break an exact or
    rounding-level tie differently; neither is wrong."""
    for row, identity in zip(distances, answer):
        mine = row[gallery_ids == identity]
        if mine.size == 0 or not np.isclose(mine.min(), row.min(), rtol=1e-9, atol=1e-12):
            return False
    return True


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
        try:
            answer = identify(g, g_ids, probes)
        except NotImplementedError:
            return verdict(False, "identify still raises NotImplementedError: replace the stub with your code.")
        if answer is None:
            return verdict(False, "Your function returned None: did you forget `return`?")
        answer = np.asarray(answer)
        if answer.shape != expected.shape:
            return verdict(False, f"Expected one identity per probe ({len(expected)} values), got shape {answer.shape}. "
                               "For each probe (a row of distances), take the closest gallery face.")
        if np.array_equal(answer, expected) or _nearest_up_to_ties(answer, g_ids, distances):
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


#: Where a face data set's photos can come from; exercise 1 picks LFW's.
LFW_SOURCES = (
    "news photographs",
    "Flickr photos under Creative Commons licences",
    "web search results for celebrities' names",
    "volunteers photographed in a lab",
    "police mugshots",
)
_WHY_NOT_SOURCE = {
    LFW_SOURCES[1]: "that is MegaFace (Flickr photos from YFCC100M)",
    LFW_SOURCES[2]: "that is how MS-Celeb-1M was gathered",
    LFW_SOURCES[3]: "nobody volunteered for LFW: that is how consented sets are made",
    LFW_SOURCES[4]: "mugshots fill police galleries, not LFW",
}
_LFW_FIELDS = ("where_from", "notified", "consented")


def lfw_consent_section(answer: object) -> Feedback:
    """Lesson 01 exercise 1: the consent part of a datasheet for Labeled Faces in the Wild (LFW).

    ``answer`` is a dict: ``where_from`` one of :data:`LFW_SOURCES`, ``notified`` and ``consented`` booleans.
    Every field's type is checked before its content, so a type slip gets "use True/False", not a history
    lesson."""

    if answer is None:
        return verdict(False, "You have not set lfw_consent yet: a dict with the keys 'where_from', 'notified' "
                           "and 'consented'.")
    if not isinstance(answer, dict):
        return verdict(False, f"Answer with a dict, got {type(answer).__name__}: "
                           "{'where_from': ..., 'notified': ..., 'consented': ...}.")
    missing = [k for k in _LFW_FIELDS if k not in answer]
    if missing:
        extra = [k for k in answer if k not in _LFW_FIELDS]
        return verdict(False, f"Your datasheet section is missing {missing}"
                       + (f"; it has {extra}, which the exercise does not ask for (a typo?)" if extra else "") + ".")
    for key in ("notified", "consented"):
        if not isinstance(answer[key], (bool, np.bool_)):
            return verdict(False, f"{key} should be True or False (a bool), got {answer[key]!r} "
                               f"({type(answer[key]).__name__}): use True/False.")
    source, problem = chosen_option(answer["where_from"], LFW_SOURCES, "where_from")
    if problem:
        return verdict(False, problem)
    problems = []
    if source in _WHY_NOT_SOURCE:
        problems.append(f"where_from: {_WHY_NOT_SOURCE[source]}; LFW's photos came from news photographs "
                        "(Yahoo News, 2002–2003), via the Berkeley 'Faces in the Wild' project")
    if answer["notified"]:
        problems.append("notified: nothing in LFW's publications says the people pictured were told")
    if answer["consented"]:
        problems.append("consented: the people pictured were not asked; being photographed by the press is not "
                        "consent to be in a face data set")
    if problems:
        return verdict(False, "Check again — " + "; ".join(problems) + ".")
    return verdict(True, "Right: news photos, people neither notified nor asked. A datasheet makes that visible "
                      "to everyone who later trains on the set.")
