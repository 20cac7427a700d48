"""Exercise checks for lesson 01 (faces as data)."""

from __future__ import annotations

import numpy as np

from . import Feedback, verdict


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
