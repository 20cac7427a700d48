"""Exercise checks for lesson 00 (start here: the course, its rules and its people)."""

from __future__ import annotations

import re

import numpy as np

from . import ConceptQuestion, Feedback, chosen_option, concept_quiz, verdict


def _as_image(answer: object, expected: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """A learner's answer to exercise 1 as a numpy array, or a message naming what it is instead."""
    if answer is None:
        return None, "Your function returned None: did you forget `return`?"
    if isinstance(answer, (tuple, list)) and len(answer) == 2 and isinstance(answer[0], np.ndarray):
        return None, "You returned a pair: render_face returns (image, nuisance). Take the first element."
    if isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], np.ndarray):
        return None, "You returned a list holding your image ([image]): return the image itself."
    if isinstance(answer, list):
        return None, (f"You returned a list: return the numpy array render_face gives ({expected.dtype}, shape "
                      f"{expected.shape}), not a list made from it.")
    if not isinstance(answer, np.ndarray):
        return None, (f"Expected an image (a numpy array), got {type(answer).__name__}. "
                      "render_face returns (image, nuisance): take the first element.")
    return answer, None


def _shape_problem(shape: tuple, expected: tuple) -> str | None:
    """What the shape of a learner's image says about the mistake (None if it is the expected shape)."""
    if shape == expected:
        return None
    height, width, channels = expected
    size = f"{height} x {width}"
    if shape == (height, width):
        return (f"Your image is {shape}: one grey value per pixel, no colour channels. Return the colour image "
                f"render_face gives, {expected} (red, green, blue).")
    if len(shape) == 4 and shape[0] == 1 and shape[1:] == expected:
        return (f"Your image is {shape}: an extra leading axis of length 1 (an image wrapped in a list or a "
                f"batch, such as [image]). Return the image itself, {expected}.")
    if shape == (height, width, 4):
        return (f"Your image is {shape}: it has a fourth, alpha channel (RGBA). Return the RGB image "
                f"render_face gives, {expected}.")
    if shape == (channels, height, width):
        return (f"Your image is {shape}: channels first. Return it as render_face gives it, {expected} "
                "(channels last).")
    if len(shape) == 3 and shape[:2] == (height, width):
        return f"Your image is {shape}: {shape[2]} channels, where render_face gives {channels}: {expected}."
    if len(shape) == 3 and shape[2] == channels:
        return (f"Your image is {shape}, the original is {expected} ({size} pixels). "
                "Pass the same size= as the data set was made with.")
    return f"Your image is {shape}, the original is {expected}: return the image render_face gives."


def rerendered_image(answer: object, index: int, people) -> Feedback:
    """Lesson 00: did the student re-create image ``index`` of ``people`` from its provenance alone?

    Right means the very array render_face gives: same shape, dtype uint8, same values. A copy with the right
    values in another dtype is told so, as is each typical slip (a pair, a list, the wrong shape or seed)."""
    from .. import faces

    expected = people.images[index]
    record = people.provenance[index]
    answer, problem = _as_image(answer, expected)
    if problem:
        return verdict(False, problem)
    problem = _shape_problem(answer.shape, expected.shape)
    if problem:
        return verdict(False, problem)
    if answer.dtype != expected.dtype and np.array_equal(answer, expected):
        return verdict(False, f"The values are right, but the dtype is {answer.dtype}: return the {expected.dtype} "
                           "array render_face gives, without converting it.")
    if np.array_equal(answer, expected):
        return verdict(True, "Bit-for-bit identical: the provenance record alone was enough to rebuild the face.")
    if answer.dtype.kind == "f" and np.allclose(answer * 255, expected, atol=0.5):
        return verdict(False, "Right face, but scaled to 0..1: return the image as render_face gives it (uint8, 0..255).")
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


#: The uses a consent for one photo could cover; exercise 2 sorts them into covered and not covered.
USES = (
    "compute a face embedding of the photo for this course's exercises",
    "show the photo and its matches in class slides",
    "share the photo or the embedding with anyone outside the course, such as police or a company",
    "sell or license the photo or the embedding",
    "use the photo to train or tune a face recognition model",
    "publish the photo online",
)
#: How the person can withdraw (exercise 2 picks one).
WITHDRAWAL = (
    "at any time, by emailing the person who holds the photo",
    "only before the embedding is computed",
    "at the end of the course, by asking the instructor",
    "not at all once the consent is given",
)
#: What happens to the data when the person withdraws (exercise 2 picks one).
ON_WITHDRAWAL = (
    "the photo and its embedding are deleted",
    "the photo is deleted; the embedding is kept",
    "the photo is kept but no longer used",
    "nothing changes for work already done",
)
#: The scenario of exercise 2: what the classmate agreed to.
_SCENARIO_COVERS = {USES[0]}
_WHY_NOT_COVERED = {
    USES[1]: "showing it in class was not part of what your classmate agreed to",
    USES[2]: "nobody outside the course was named",
    USES[3]: "selling was never mentioned",
    USES[4]: "training a model is a different use from computing one embedding",
    USES[5]: "publishing was never mentioned",
}
_WHY_WITHDRAWAL = {
    WITHDRAWAL[1]: "your classmate can withdraw at any time, also after the embedding exists",
    WITHDRAWAL[2]: "your classmate can withdraw at any time by emailing you, not only at the end of the course",
    WITHDRAWAL[3]: "consent that cannot be withdrawn is not the consent your classmate gave",
}
_WHY_ON_WITHDRAWAL = {
    ON_WITHDRAWAL[1]: "the embedding is biometric data computed from the face, and it can still be matched "
                      "against new photos of the person (lesson 04): deleting only the photo leaves it behind",
    ON_WITHDRAWAL[2]: "keeping the photo is not deleting it",
    ON_WITHDRAWAL[3]: "the embedding already computed must go too",
}

#: An explicit refusal of consent ("I do not agree", "I object") ...
_REFUSAL = re.compile(r"\b(i\s+(do\s+not|don't|dont|will\s+not|won't)\s+"
                      r"(agree|consent|give\s+(my\s+)?(consent|permission)|allow|permit)"
                      r"|i\s+(refuse|object|disagree|withhold|decline)|no\s+consent)\b")
#: ... unless it only excludes other uses ("I do not agree to any other use"), which good consent texts do ...
_EXCEPTION = re.compile(r"\b(other|else|except|beyond|further|outside|besides|apart\s+from|but)\b")
#: ... and not when it refuses something AND everything else ("to a face embedding or anything else").
_AND_EVERYTHING_ELSE = re.compile(r"\b(or|and|nor)\s+(\w+\s+){0,2}?(other|else)\b")
#: A positive statement of agreement, not negated.
_AGREES = re.compile(r"(?<!not )(?<!n't )\b(i\s+agree|i\s+consent|i\s+give\s+(my\s+)?(consent|permission)|i\s+allow"
                     r"|i\s+permit|i\s+am\s+happy|i'm\s+happy)\b")
_WITHDRAW = r"(withdraw|withdrawn|revoke|revoked|take\s+(it|this|my\s+consent)\s+back)"
#: Wording that takes the way out away: no withdrawal, waived rights, irrevocable consent.
_NO_WAY_OUT = re.compile(
    r"\b(cannot|can't|can\s+not|can\s+never|may\s+not|may\s+never|will\s+not|won't|will\s+never)"
    rf"\s+(ever\s+)?(be\s+able\s+to\s+|be\s+)?{_WITHDRAW}\b"
    r"|\b(withdrawal|withdrawing|revocation|revoking)\s+(is|will\s+be|would\s+be)\s+(not|never|no\s+longer)\s+"
    r"(possible|allowed|permitted|accepted)\b"
    r"|\b(withdrawal|withdrawing|revocation|revoking)\s+(is|will\s+be|would\s+be)\s+impossible\b"
    rf"|\b(not|never|no\s+longer)\s+(be\s+)?possible\s+to\s+{_WITHDRAW}\b|\bimpossible\s+to\s+{_WITHDRAW}\b"
    rf"|\bno\s+(way|option|right|possibility|means)\s+(to|of)\s+({_WITHDRAW}|withdrawing|revoking|withdrawal)\b"
    r"|\bwaive[sd]?\b|\birrevocabl[ey]\b")
#: Uses a text can affirm by mistake, and words that name them unambiguously.
_AFFIRMED_USE = {
    USES[1]: re.compile(r"\b(slides?|(show|shows|shown|showing|presented|presenting|display|displays|displayed"
                        r"|displaying|projected|projecting)\s+((it|them|the\s+photo|my\s+photo|the\s+"
                        r"matches)\s+)?(in|to|during)\s+(the\s+)?(class|classes|lectures?|seminars?))\b"),
    USES[2]: re.compile(r"\b(police|law\s+enforcement|third[-\s]+part(y|ies)|compan(y|ies)|shared?\s+(it\s+|them\s+)?"
                        r"with\s+(others|anyone|everyone|the\s+public))\b"),
    USES[3]: re.compile(r"\b(sell|sells|selling|sold|sale|licen[cs]e[ds]?|licen[cs]ing)\b"),
    USES[4]: re.compile(r"\b(train|trains|trained|training|tune|tunes|tuned|tuning|fine[-\s]?tun(e|es|ed|ing))\s+"
                        r"(\w+\s+){0,4}?(models?|networks?|classifiers?|algorithms?|ai|systems?)\b"
                        r"|\b(model|network|classifier|algorithm|ai)\s+(training|tuning)\b"
                        r"|\bused\s+(to\s+(train|tune)|for\s+training)\b(?!\s+(courses?|exercises?|sessions?|class))"),
    USES[5]: re.compile(r"\b(publish|published|publishing|posted\s+online)\b"),
}
#: A sentence with one of these words may be excluding the use it names ("it will never be sold", "I refuse any
#: sale", "excluded: selling"); "only" is not one of them: "sold only to police" affirms the sale.
_NEGATION = re.compile(r"\b(not|never|no|nor|neither|nobody|nothing|none|refuse[sd]?|refusing|exclud\w*|prohibit\w*"
                       r"|forbid\w*)\b|n't\b")
#: "without" excludes only what follows it: "without selling it" excludes the sale, "shared with police without
#: my name" does not exclude the police.
_WITHOUT = re.compile(r"\bwithout\b")
#: "but" followed by an affirmation ends what a negation before it excludes: "it will not be published, but it may
#: be shown in class" affirms the class. A "but" without one ("never shared with anyone but the instructor,
#: published or sold") is left alone: there the negation still reaches the words after it.
_BUT_AFFIRMS = re.compile(r"\bbut\s+(?=(?:(?:it|they|this|that|the\s+\w+|my\s+\w+|its\s+\w+)\s+)?"
                          r"(?:may|might|can|could|will|would|shall|is|are)\b)")

RUBRIC = (
    "Judge your consent text yourself. The check only screened it for a refusal, a removed way out, and an "
    "excluded use named with no word that excludes it; whether it is a good consent text is for you to judge. "
    "Does it:\n"
    "  1. say plainly that the person agrees (it is not a refusal or a question)?\n"
    "  2. name what is done with the face: a face embedding (biometric data) is computed from the photo?\n"
    "  3. limit the purpose to this course's exercises?\n"
    "  4. say what is not covered (sharing, selling, training, publishing, showing in class)?\n"
    "  5. say how to withdraw, and that it can be done at any time?\n"
    "  6. say that the photo AND the embedding are deleted on withdrawal?\n"
    "  7. agree with your consent_terms, use for use?"
)
MODEL_ANSWER = (
    "I agree that one photo of my face is used to compute a face embedding (biometric data) for the exercises "
    "of this course, and for nothing else: it will not be shown in class, published, shared with anyone outside "
    "the course, sold, or used to train a model. I can withdraw at any time by emailing the person who holds the "
    "photo; the photo and its embedding will then be deleted."
)


def _excluded_use_named(text: str) -> tuple[str, re.Match] | None:
    """The first use of USES that ``text`` names in words a consent text can affirm by mistake, or None."""
    for use, words in _AFFIRMED_USE.items():
        found = words.search(text)
        if found:
            return use, found
    return None


def _only_excludes(refused: str) -> bool:
    """Whether what a refusal refuses (the rest of its sentence) is only uses outside the consent.

    "I refuse any sale", "I do not agree to any other use" exclude uses, as good consent texts do; "I do not
    consent to a face embedding or anything else" refuses the use itself as well."""
    if _excluded_use_named(refused):
        return True
    if _AND_EVERYTHING_ELSE.search(refused):
        return False
    return bool(_EXCEPTION.search(refused))


def _text_problem(text: str) -> str | None:
    """What a machine can say for sure is wrong with a consent text, or None; the rest is for the rubric."""
    lowered = " ".join(text.casefold().replace("’", "'").split())
    refusal = _REFUSAL.search(lowered)
    if refusal and not _AGREES.search(lowered):
        refused = re.split(r"[.;!?]", lowered[refusal.end():], maxsplit=1)[0]
        if not _only_excludes(refused):
            return (f"The consent text reads as a refusal ({refusal.group(0)!r}): a record of consent must say what "
                    "the person agrees to.")
    way_out = _NO_WAY_OUT.search(lowered)
    if way_out:
        return (f"The consent text takes away the way out ({way_out.group(0)!r}): consent must stay revocable, "
                "and your terms say so.")
    return None


def _affirmed_excluded_use(text: str, not_covered: set[str]) -> tuple[str, str] | None:
    """A use the terms exclude but the text affirms (names it with nothing excluding it in its sentence, or in its
    part of a sentence after an affirming "but"), or None."""
    lowered = " ".join(text.casefold().replace("’", "'").split())
    for part in (part for sentence in re.split(r"[.;!?]", lowered) for part in _BUT_AFFIRMS.split(sentence)):
        if not part or _NEGATION.search(part):
            continue
        without = _WITHOUT.search(part)
        for use, words in _AFFIRMED_USE.items():
            for found in words.finditer(part):
                if use in not_covered and not (without and found.start() > without.start()):
                    return use, found.group(0)
    return None


def _as_uses(value: object, field: str) -> tuple[set[str] | None, str | None]:
    """A learner's list of uses as a set of USES entries, or a message saying what is wrong with it."""
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        return None, (f"consent_terms[{field!r}] should be a list of uses copied from check.USES, "
                      f"got {type(value).__name__}.")
    uses = set()
    for item in value:
        use, problem = chosen_option(item, USES, f"consent_terms[{field!r}]")
        if problem:
            return None, problem
        uses.add(use)
    return uses, None


def _terms_problems(terms: dict) -> list[str]:
    """Everything wrong with the structured terms of exercise 2, judged against the scenario."""
    missing = [k for k in ("covered", "not_covered", "withdraw", "on_withdrawal") if k not in terms]
    if missing:
        return [f"consent_terms is missing {missing}."]
    covered, problem = _as_uses(terms["covered"], "covered")
    if problem:
        return [problem]
    not_covered, problem = _as_uses(terms["not_covered"], "not_covered")
    if problem:
        return [problem]
    problems = []
    both = covered & not_covered
    if both:
        problems.append(f"{sorted(both)} is both covered and not covered: a use is one or the other.")
    unsorted = set(USES) - covered - not_covered
    if unsorted:
        problems.append(f"you have not said whether {sorted(unsorted)} is covered: a record someone else can judge "
                        "says it for every use, so list each use of check.USES in covered or in not_covered.")
    for use in sorted(covered - _SCENARIO_COVERS - both):
        problems.append(f"{use!r} is not covered: {_WHY_NOT_COVERED[use]}. Consent covers only what it names.")
    for use in sorted(_SCENARIO_COVERS & not_covered - both):
        problems.append(f"{use!r} is exactly what your classmate agreed to: it is covered.")
    withdraw, problem = chosen_option(terms["withdraw"], WITHDRAWAL, "consent_terms['withdraw']")
    if problem:
        problems.append(problem)
    elif withdraw in _WHY_WITHDRAWAL:
        problems.append(f"withdraw: {_WHY_WITHDRAWAL[withdraw]}.")
    on_withdrawal, problem = chosen_option(terms["on_withdrawal"], ON_WITHDRAWAL, "consent_terms['on_withdrawal']")
    if problem:
        problems.append(problem)
    elif on_withdrawal in _WHY_ON_WITHDRAWAL:
        problems.append(f"on_withdrawal: {_WHY_ON_WITHDRAWAL[on_withdrawal]}.")
    return problems


def consent_record(record: object, terms: object) -> Feedback:
    """Lesson 00 exercise 2: an own-photo provenance record, and the terms of the consent it records.

    What a machine can judge is judged: the record is an own_photo record the consent guard accepts, its
    text is not an explicit refusal and does not take the way out away, the structured ``terms`` (which uses
    are covered, how to withdraw, what withdrawal deletes) match the exercise's scenario, and the text does
    not affirm a use the terms exclude. The free text itself is then left to the learner, with a rubric and a
    model answer printed after the attempt: no keyword count decides whether it is good."""
    from ..errors import ProvenanceError
    from ..provenance import require_provenance

    if record is None:
        return verdict(False, "You have not set my_record yet: build it with provenance.own_photo(subject, consent).")
    if terms is None:
        return verdict(False, "You have not set consent_terms yet: a dict with covered, not_covered, withdraw "
                           "and on_withdrawal.")
    if not isinstance(record, dict):
        return verdict(False, f"my_record should be the dict provenance.own_photo(...) returns, "
                           f"got {type(record).__name__}.")
    if record.get("source") != "own_photo":
        return verdict(False, f"This is a {record.get('source')!r} record; the exercise asks for a photo of your "
                           "classmate: provenance.own_photo(...).")
    if not isinstance(record.get("consent"), str):
        return verdict(False, "my_record['consent'] should be the text the person agreed to, in their words.")
    problem = _text_problem(record["consent"])
    if problem:
        return verdict(False, problem)
    if not isinstance(terms, dict):
        return verdict(False, f"consent_terms should be a dict, got {type(terms).__name__}.")
    problems = _terms_problems(terms)
    if problems:
        return verdict(False, "Your consent terms do not match what your classmate agreed to: "
                       + " ".join(problems))
    affirmed = _affirmed_excluded_use(record["consent"], set(USES) - _SCENARIO_COVERS)
    if affirmed:
        use, word = affirmed
        return verdict(False, f"Your terms are right, but your consent text says {word!r} with nothing around it "
                           "that excludes it (such as 'not', 'never', 'excluded', or 'without' before it), "
                           f"while your terms say {use!r} is not covered. If the text means to exclude it, say so "
                           "plainly.")
    # the guard last: everything above is judged here, whatever the guard refuses as well
    try:
        require_provenance(record, what="your record")
    except ProvenanceError as err:
        return verdict(False, str(err).splitlines()[0] + " Build it with provenance.own_photo(...).")
    return verdict(True, "Your terms are right (this part is checked): one use covered, every other use excluded, "
                      "withdrawal at any time, and the photo and its embedding both deleted.\n\n"
                      f"Your consent text:\n  {record['consent']}\n\n{RUBRIC}\n\nA model answer:\n  {MODEL_ANSWER}")


# ----------------------------------------------------------------------------- concept questions

#: The course's entry questions, asked before lesson 00: what a learner may already believe.
BEFORE = [
    ConceptQuestion(
        "What is a face embedding?",
        {"a": "a compressed copy of the photo, like a small JPEG, from which every pixel can be restored exactly",
         "b": "a list of numbers, close together for photos of the same person",
         "c": "a description of the face in words, such as eye colour, hair style and the shape of the nose"},
        answer="b",
        why="an embedding is a vector (dlib's has 128 numbers) computed by a network trained to put photos of one "
            "person close together and photos of different people far apart; it is not the photo, yet lesson 04 "
            "shows how much of the face it still gives away."),
    ConceptQuestion(
        "A face search service deletes one of your photos. Can it still find you from a new photo?",
        {"a": "no: deleting the photo deletes everything the service knew about you",
         "b": "only if the photo is still posted elsewhere on the web",
         "c": "it may: the embedding, index and backups made from the photo can outlive it"},
        answer="c",
        why="what was computed from a photo is stored apart from it; lessons 04 and 06 measure what stays behind "
            "when only the photo is deleted."),
    ConceptQuestion(
        "Photos that anyone can see on the open web: may a company collect them to build a face search engine?",
        {"a": "yes: what is public may be used for anything",
         "b": "yes, if the photos carry no copyright notice",
         "c": "not freely: regulators in several countries found Clearview's collection unlawful"},
        answer="c",
        why="being visible is not agreeing to be identified; regulators in Australia, Canada, Italy, France, Greece, "
            "the UK and the Netherlands acted against Clearview's collection, and faces processed to identify people "
            "are specially protected data under the GDPR (Art. 9)."),
    ConceptQuestion(
        "A face drawn by a program that never saw a photo: is it free of any link to real people?",
        {"a": "it holds no real person's pixels, but the tools that made it may have learned from real faces",
         "b": "no: such a face is a blend of pixels cut from real photos, mixed so that no single person shows",
         "c": "yes: no real person is involved in any way"},
        answer="a",
        why="the course's generator copies no pixel of anyone, but its parameters were tuned against dlib's "
            "recogniser, which was trained on faces collected from the web; many other generators are trained on "
            "real faces directly."),
]

#: The key ideas of lesson 00, asked at its end.
AFTER = [
    ConceptQuestion(
        "What does a synthetic face's provenance record let anyone do?",
        {"a": "rebuild the exact image from the generator version and its two seeds",
         "b": "prove which real person the face resembles most",
         "c": "nothing more than label the image as synthetic"},
        answer="a",
        why="the identity seed fixes the person and the view seed the photo; exercise 1 rebuilt an image bit for bit "
            "from them, which is also how the consent guard checks a synthetic record."),
    ConceptQuestion(
        "The consent guard accepts a photo of a real person that comes with a well-written consent record. What has "
        "it established?",
        {"a": "that the person in the photo agreed to it, since the record names them and says what they agreed to",
         "b": "that the consent covers computing a face embedding",
         "c": "only that a record is there and is not withdrawn, too short to say anything, or a refusal"},
        answer="c",
        why="for a real photo the guard can only read the record; whether it is genuine, whether it is the pictured "
            "person's, and whether it covers the use stay with the people involved."),
    ConceptQuestion(
        "A person withdraws the consent under which you computed an embedding of their photo. What must go?",
        {"a": "the photo; the embedding may stay, since it is only numbers and shows no face",
         "b": "the photo and the embedding computed from it",
         "c": "neither the photo nor the embedding: withdrawal applies to uses that have not started yet"},
        answer="b",
        why="the embedding is biometric data derived from the face, and it can still be matched against new photos "
            "of the person; withdrawing consent (GDPR Art. 7(3), Art. 17(1)(b)) covers it too."),
    ConceptQuestion(
        "Under the GDPR, when is a photo of a face special-category biometric data (Art. 9)?",
        {"a": "as soon as the camera takes it: a photo of a face is biometric data in itself",
         "b": "when it is processed by technical means to identify the person uniquely",
         "c": "until the person in it makes the photo public on a social network or a website"},
        answer="b",
        why="Art. 4(14) defines biometric data by the technical processing that allows unique identification, and "
            "Recital 51 says photos are covered only when processed that way; publishing a photo does not take it "
            "out of the GDPR."),
    ConceptQuestion(
        "A study plans to use 5,000 Flickr photos published under a Creative Commons licence. What would an ethics "
        "committee still ask?",
        {"a": "whether the licence allows reuse, which settles the matter",
         "b": "only which version of the Creative Commons licence applies, and whether it allows commercial use",
         "c": "on what lawful basis, whether the people pictured agreed, and how the data is kept"},
        answer="c",
        why="a copyright licence comes from whoever took the photo and covers copying it; it is not the consent of "
            "the people in it to biometric processing (MegaFace was built exactly this way, lesson 01)."),
]


def concepts_before(answers) -> Feedback:
    """The course's entry questions, before lesson 00: wrong answers are expected here."""
    return concept_quiz("before", BEFORE, answers)


def concepts_after(answers) -> Feedback:
    """Lesson 00's key ideas, at its end."""
    return concept_quiz("after", AFTER, answers)
