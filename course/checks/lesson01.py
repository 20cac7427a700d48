"""Exercise checks for lesson 01 (faces as data)."""

from __future__ import annotations

import numpy as np

from . import ConceptQuestion, Feedback, chosen_option, concept_quiz, not_done, verdict


def _nearest_up_to_ties(answer: np.ndarray, gallery_ids: np.ndarray, distances: np.ndarray) -> bool:
    """True if every probe's answer is the identity of a gallery face at the smallest distance.

    Two right algorithms (a squared sum, a norm, a BLAS-based distance matrix) can break an exact or
    rounding-level tie differently; neither is wrong."""
    for row, identity in zip(distances, answer):
        mine = row[gallery_ids == identity]
        if mine.size == 0 or not np.isclose(mine.min(), row.min(), rtol=1e-9, atol=1e-12):
            return False
    return True


def _cases(gallery: np.ndarray, gallery_ids: np.ndarray, probes: np.ndarray):
    """The three calls of exercise 2, as (where, gallery rows, probe rows); ``where`` is None for the lesson's own.

    The reversed gallery tells identities from positions (in the lesson identity k sits at position k). The
    third call, with fewer probes in reverse order and without the identity nearest to its first probe, tells a
    function that uses its arguments from one that reads the notebook's variables."""
    all_rows = np.arange(len(gallery))
    cases = [(None, all_rows, np.arange(len(probes))),
             ("the same gallery in reverse order", all_rows[::-1], np.arange(len(probes)))]
    probe_rows = np.arange(len(probes))[::-1][:max(1, len(probes) - 1)]
    first = probes[probe_rows[0]]
    nearest_identity = gallery_ids[((gallery - first) ** 2).sum(axis=1).argmin()]
    kept = all_rows[gallery_ids != nearest_identity]
    if len(kept) == 0:  # a gallery of one identity: keep it whole, the probes still change
        kept = all_rows
    dropped = "" if len(kept) == len(gallery) else f" without identity {nearest_identity}"
    cases.append((f"a smaller call ({len(probe_rows)} of the {len(probes)} probes, in reverse order, and a gallery of "
                  f"{len(kept)} faces{dropped})", kept, probe_rows))
    return cases


def _arguments_ignored(answer: np.ndarray, probes: np.ndarray, g_ids: np.ndarray, p: np.ndarray) -> str | None:
    """What says that an answer on the smaller call came from the notebook's variables, not the arguments."""
    if answer.ndim == 1 and len(answer) == len(probes) != len(p):
        return (f"it returned {len(answer)} identities for {len(p)} probes, as many as the lesson has. Does your "
                "function read the notebook's variables instead of its argument probe_vectors?")
    if answer.ndim == 1 and len(answer) == len(p) and not np.isin(answer, g_ids).all():
        missing = sorted(set(answer[~np.isin(answer, g_ids)].tolist()))
        return (f"it returned identity {missing[0]}, which is not among the gallery_ids it was given. Does your "
                "function read the notebook's variables instead of its arguments gallery_vectors and gallery_ids?")
    return None


def _mistake(answer: np.ndarray, g: np.ndarray, g_ids: np.ndarray, p: np.ndarray) -> str | None:
    """What is wrong with one answer of exercise 2 on one call, as an array (None if it is right)."""
    distances = ((p[:, None, :] - g[None, :, :]) ** 2).sum(axis=2)
    expected = g_ids[distances.argmin(axis=1)]
    if answer.shape != expected.shape:
        return (f"Expected one identity per probe ({len(expected)} values), got shape {answer.shape}. "
                "For each probe (a row of distances), take the closest gallery face.")
    if np.array_equal(answer, expected) or _nearest_up_to_ties(answer, g_ids, distances):
        return None
    if np.array_equal(answer, distances.argmin(axis=1)):
        return ("You returned positions in the gallery, not identities: look them up in gallery_ids. "
                "(With the gallery in reverse order, position and identity no longer coincide.)")
    if np.array_equal(answer, g_ids[distances.argmax(axis=1)]):
        return "You picked the *farthest* gallery face: the nearest has the smallest distance (argmin)."
    agree = float(np.mean(answer == expected))
    return (f"Your predictions agree with nearest-neighbour identification on {agree:.0%} of probes. "
            "Compare every probe with every gallery face (Euclidean distance) and take the closest.")


def nearest_neighbour_ids(identify, gallery: np.ndarray, gallery_ids: np.ndarray, probes: np.ndarray) -> Feedback:
    """Lesson 01: does the student's ``identify(gallery, gallery_ids, probes)`` return each probe's nearest identity?

    It is called three times (see :func:`_cases`): on the lesson's gallery, on the same gallery in reverse
    order, and on fewer probes and fewer gallery faces, so only a function that returns identities and uses
    its arguments passes. An error raised by the learner's function is named, not shown as a traceback; an
    unfinished stub (NotImplementedError) is said to be one and re-raised, so the learner's cell stops."""
    if not callable(identify):
        return verdict(False, f"Pass the function itself (identify, without brackets), not {type(identify).__name__}.")
    gallery_ids = np.asarray(gallery_ids)
    for where, gallery_rows, probe_rows in _cases(gallery, gallery_ids, probes):
        g, g_ids, p = gallery[gallery_rows], gallery_ids[gallery_rows], probes[probe_rows]
        try:
            answer = identify(g.copy(), g_ids.copy(), p.copy())
        except NotImplementedError:
            not_done()
            raise
        except Exception as error:  # the learner's code failed: say how, don't crash the check
            called = "" if where is None else f" (called with {where})"
            return verdict(False, f"Your function raised {type(error).__name__}{called}: {str(error).strip()}. "
                                  "It receives gallery_vectors (one row per gallery face), gallery_ids (one identity "
                                  "per row) and probe_vectors (one row per probe), all numpy arrays.")
        if answer is None:
            return verdict(False, "Your function returned None: did you forget `return`?")
        try:
            values = np.asarray(answer)
        except ValueError:
            return verdict(False, "Return one identity per probe, as a 1-D array or a list of numbers, "
                                  f"not {type(answer).__name__} of items of different shapes.")
        mistake = ((None if where is None else _arguments_ignored(values, probes, g_ids, p))
                   or _mistake(values, g, g_ids, p))
        if mistake:
            return verdict(False, mistake if where is None else f"Right on the lesson's gallery, but on {where}: "
                                                              + mistake[0].lower() + mistake[1:])
    return verdict(True, "Each probe gets the identity of its nearest enrolled face, whatever order the gallery is "
                      "in, and on a smaller gallery with fewer probes too.")


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


# ----------------------------------------------------------------------------- concept questions

#: Before lesson 01: what a learner may already believe about images and face data sets.
BEFORE = [
    ConceptQuestion(
        "To a computer, a colour photo of 256 x 256 pixels is...",
        {"a": "a list of the objects and people it shows, each with its position in the picture",
         "b": "a grid of 256 x 256 x 3 numbers: red, green and blue per pixel",
         "c": "a single number that identifies the file, such as a checksum computed from its bytes"},
        answer="b",
        why="an image is an array (height x width x 3 colour channels, each 0 to 255); what it shows has to be "
            "computed from those 196,608 numbers."),
    ConceptQuestion(
        "Where did the faces in famous research data sets such as LFW, MS-Celeb-1M and MegaFace come from?",
        {"a": "volunteers who signed consent forms in a lab",
         "b": "synthetic faces drawn by a program",
         "c": "photos found online, collected without asking the people pictured"},
        answer="c",
        why="LFW came from news photographs, MS-Celeb-1M from web searches for celebrities' names and MegaFace from "
            "Flickr photos; none asked the people in them."),
    ConceptQuestion(
        "Two photos of the same person: are their pixels a good way to tell that it is the same person?",
        {"a": "only partly: light and pose can change the pixels more than a change of person does",
         "b": "yes: the same face gives the same pixels, so matching pixels is a reliable test of identity",
         "c": "no: pixels carry no information about who is pictured"},
        answer="a",
        why="in this lesson nearest-neighbour search on pixels finds the right person about half the time among 100 "
            "(chance is 1 %), far below dlib's embedding: the pixels hold identity, mixed with everything else."),
]

#: After lesson 01: its key ideas.
AFTER = [
    ConceptQuestion(
        "What should the collection-process section of a face data set's datasheet say about consent?",
        {"a": "only the licence under which the images may be copied, since the licence is what governs their reuse",
         "b": "where the photos came from, and whether the people pictured were told and agreed",
         "c": "nothing: consent is a legal matter outside the data set"},
        answer="b",
        why="a datasheet (Gebru et al.) records how the data were collected, so that everyone who trains on the set "
            "can see whether anyone was asked; a licence comes from whoever holds the copyright, not the people "
            "pictured."),
    ConceptQuestion(
        "MS-Celeb-1M was taken down in 2019. What became of the harm?",
        {"a": "it ended with the takedown",
         "b": "copies, data sets derived from it and models trained on it stayed in use",
         "c": "the people in it were notified and could ask to be removed"},
        answer="b",
        why="Peng, Mathur and Narayanan found harms persisting through derivatives and trained models; taking a data "
            "set down does not take back what was learned from it (lesson 04)."),
    ConceptQuestion(
        "Why do the first eigenfaces mostly show light and the outline of hair and jaw, not what makes a person "
        "recognisable?",
        {"a": "too few components were kept; with more components, the identity directions would come first",
         "b": "the synthetic faces have too little identity to find, whatever method is used",
         "c": "PCA ranks directions by variance, and lighting varies more than identity"},
        answer="c",
        why="PCA knows nothing of who is who: it ranks directions by variance. The lesson measured that 40 or 100 "
            "eigenfaces instead of 60 change rank-1 by at most 1.7 points."),
    ConceptQuestion(
        "Nearest-neighbour identification returns the nearest gallery face for each probe. What must it return?",
        {"a": "the identity stored for that gallery face",
         "b": "the row position of that gallery face, so that its photo can be looked up",
         "c": "the distance to that gallery face, so that the match can be judged"},
        answer="a",
        why="a row position equals an identity only when the gallery happens to be sorted that way; exercise 2's "
            "check reverses the gallery to tell the two apart."),
    ConceptQuestion(
        "What did turning the head further, to ±35°, do to identification on pixels and eigenfaces?",
        {"a": "nothing: PCA removes the pose",
         "b": "it raised rank-1: more views carry more information",
         "c": "it lowered rank-1 by about 20 points, from about 52 % to 30 %"},
        answer="c",
        why="a photo's pixels mix identity with pose, light and expression, and PCA cannot separate them; deep "
            "embeddings (lesson 02) are trained to keep the identity and drop the rest."),
]


def concepts_before(answers) -> Feedback:
    """Before lesson 01: images as arrays, and where face data sets came from."""
    return concept_quiz("before", BEFORE, answers)


def concepts_after(answers) -> Feedback:
    """After lesson 01: datasheets, takedowns, eigenfaces and nearest-neighbour identification."""
    return concept_quiz("after", AFTER, answers)
