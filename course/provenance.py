"""Where every face came from: provenance records and the consent guard.

The course handles only two kinds of faces: synthetic people (made by
:mod:`course.faces`, reproducible from a generator version and seeds) and real
people who gave documented consent (a consented data set, or your own photo with
an explicit consent record). A provenance record is a plain dict saying which;
:func:`require_provenance` refuses any image that has none.
"""

from __future__ import annotations

import datetime as _dt
import re

#: Required keys for each kind of source.
REQUIRED_FIELDS = {
    "synthetic": ("generator", "generator_version", "identity_seed", "view_seed"),
    "consented": ("dataset", "licence", "consent", "file"),
    "own_photo": ("subject", "consent", "consent_date"),
}

HOW_TO_REGISTER = (
    "Every image needs a provenance record before it is embedded. Use one of:\n"
    "  * synthetic people: course.faces.synthetic_faces(...) returns .provenance for each image;\n"
    "  * a consented data set: course.data.load_consented('london') returns records for each image;\n"
    "  * your own photo: course.provenance.own_photo(subject='Your Name', "
    "consent='I agree to ...') for a person who gave you explicit consent."
)


def own_photo(subject: str, consent: str, *, consent_date: str | None = None) -> dict:
    """Make a provenance record for a photo of a person who consented in writing.

    ``consent`` is the consent text itself (what the person agreed to), not a yes/no
    flag: a record should let someone else judge what the consent covers.
    """
    if not subject.strip():
        raise ValueError("own_photo: name the person in the photo (subject=...).")
    if len(consent.strip()) < 20:
        raise ValueError(
            "own_photo: write out what the person agreed to (at least a sentence), e.g. "
            "'I agree that this photo is used to compute a face embedding in a class exercise.'"
        )
    return {
        "source": "own_photo",
        "subject": subject.strip(),
        "consent": consent.strip(),
        "consent_date": consent_date or _dt.date.today().isoformat(),
    }


def require_provenance(record: object, *, what: str = "image", image: object = None) -> dict:
    """Return ``record`` if it is a complete provenance record that allows the use; otherwise raise ProvenanceError.

    This is the consent guard: every function of :mod:`course.embed` that touches a face
    calls it. It refuses a record with no source or missing fields, a consent that was
    withdrawn, a consent text too short to say what was agreed, and a consent text that
    refuses. Given the ``image``, it also checks that a synthetic record's seeds re-render
    that very image, bit for bit (:func:`course.rerender.verify_synthetic`). What it cannot
    check: that a consent record is genuine, or that the person in the photo is the one who
    consented.
    """
    from .errors import ProvenanceError

    if record is None:
        raise ProvenanceError(f"{what} has no provenance record.\n{HOW_TO_REGISTER}")
    if not isinstance(record, dict):
        raise ProvenanceError(
            f"{what}: a provenance record is a dict, got {type(record).__name__}.\n{HOW_TO_REGISTER}"
        )
    source = record.get("source")
    if source not in REQUIRED_FIELDS:
        raise ProvenanceError(
            f"{what}: provenance source must be one of {sorted(REQUIRED_FIELDS)}, got {source!r}.\n"
            f"{HOW_TO_REGISTER}"
        )
    missing = [k for k in REQUIRED_FIELDS[source] if record.get(k) in (None, "")]
    if missing:
        raise ProvenanceError(
            f"{what}: {source} provenance is missing {', '.join(missing)}.\n{HOW_TO_REGISTER}"
        )
    if record.get("withdrawn") not in (None, False, ""):
        raise ProvenanceError(
            f"{what}: the consent was withdrawn ({record['withdrawn']!r}); the photo and anything computed "
            "from it must not be used. Delete them."
        )
    if "consent" in REQUIRED_FIELDS[source]:
        _require_agreement(record["consent"], what)
    if source == "synthetic" and image is not None:
        from .rerender import verify_synthetic

        verify_synthetic(record, image, what=what)
    return record


#: Shortest consent text that can say who agreed to what (a bare "y" or "ok" says nothing).
MIN_CONSENT_WORDS = 4
#: A statement that agrees ("I agree", "I consent", "I give permission"...), not negated.
_AGREES = re.compile(r"\b(i|we)\s+(hereby\s+)?(agree|consent|accept|allow|permit|authori[sz]e|grant|"
                     r"am\s+(happy|glad|willing|ok|okay|fine)|are\s+(happy|glad|willing|ok|okay|fine)|"
                     r"give\s+(you\s+)?(my\s+|our\s+)?(consent|permission))\b"
                     r"|\bgave\s+(signed\s+|written\s+)?consent\b"
                     r"|\byou\s+(may|can|are\s+allowed\s+to|have\s+my\s+permission\s+to)\s+(use|compute|keep|store|process)\b"
                     r"|\b(permission|consent)\s+(is|was)\s+(given|granted)\b|\bmay\s+be\s+used\b")
#: A statement that refuses ("I do not consent", "I don't agree", "I refuse", "I object", "no consent"...).
_REFUSES = re.compile(
    r"\b(i|we)\s+(do|did|will|would|can|shall|have|has|had)?\s*(not|n't|never)\s+(ever\s+)?"
    r"((agree|consent|accept|allow|permit|authori[sz]e)(d|ed)?|(give|gave|given)\s+(my\s+|our\s+|any\s+)?"
    r"(consent|permission))\b"
    r"|\b(i|we)\s+(refuse|object|disagree|decline|withhold|withdraw|revoke|deny|oppose)\b"
    r"|\b(no|without|not\s+(given|granted))\s+(my\s+|any\s+)?(consent|permission)\b"
    r"|\bconsent\s+(is\s+|was\s+)?(refused|denied|declined|withheld|withdrawn|revoked)\b"
)
#: Words that make what follows a condition, not a statement ("if I withdraw", "should I revoke").
_CONDITIONAL = re.compile(r"\b(if|when|whenever|once|after|should|unless|until|in case)\b")
#: A refusal aimed at face recognition itself makes the record a refusal even beside an "I agree"...
_FACE_USE = re.compile(r"face|facial|biometric|embedding|faceprint")
#: ...unless it only limits the scope ("I do not agree to any other use").
_SCOPE_LIMIT = re.compile(
    r"\b(other|else|beyond|outside|except|further|additional|commercial|shar(e|ed|ing)|sell|sale|sold|publish|"
    r"police|third[- ]part|advertis|train)")


def _clause_after(text: str, match: re.Match) -> str:
    """The rest of the sentence after a match: what a refusal refuses."""
    return re.split(r"[.;:!?]", text[match.end():])[0]


def _clause_before(text: str, match: re.Match) -> str:
    """The sentence up to a match: where a condition ("if", "when") would stand."""
    return re.split(r"[.;:!?]", text[:match.start()])[-1]


def _require_agreement(consent: object, what: str) -> None:
    """Refuse a consent that is not text, says nothing, or refuses (judged on its words)."""
    from .errors import ProvenanceError

    if not isinstance(consent, str):
        raise ProvenanceError(
            f"{what}: the consent must be the text the person agreed to, in words, got {type(consent).__name__}.\n"
            f"{HOW_TO_REGISTER}"
        )
    text = " ".join(consent.lower().replace("\u2019", "'").split())
    if len(text.split()) < MIN_CONSENT_WORDS:
        raise ProvenanceError(
            f"{what}: the consent text {consent.strip()!r} is too short to say what the person agreed to; "
            f"write out the agreement (at least {MIN_CONSENT_WORDS} words).\n{HOW_TO_REGISTER}"
        )
    text = text.replace("don't", "do not").replace("won't", "will not").replace("can't", "cannot") \
        .replace("cannot", "can not").replace("didn't", "did not")
    # "If I withdraw my consent, ..." describes the way out; it refuses nothing.
    refusals = [m for m in _REFUSES.finditer(text) if not _CONDITIONAL.search(_clause_before(text, m))]
    # A refusal aimed at face processing refuses outright, unless it only limits the scope ("any other
    # face recognition"); any other refusal ("I don't consent to anything else") is part of an agreement
    # only where the text also agrees to something.
    aimed_at_faces = any(_FACE_USE.search(clause) and not _SCOPE_LIMIT.search(clause)
                         for clause in (_clause_after(text, m) for m in refusals))
    if refusals and (aimed_at_faces or not _AGREES.search(text)):
        raise ProvenanceError(
            f"{what}: the consent text does not say what the person agrees to: it refuses "
            f"({refusals[0].group(0)!r}). A refusal is not consent; do not use this photo."
        )


def describe(record: dict) -> str:
    """A one-line caption for a face: where it came from, for figure labels.

    A cloaked photo (:mod:`course.cloaking`: the record holds a ``cloak`` entry) is captioned as
    cloaked, with what was done to it, so it is never mistaken for the photo as it was taken."""
    source = require_provenance(record)["source"]
    if source == "synthetic":
        caption = f"synthetic · {record['generator_version']} · id seed {record['identity_seed']}"
    elif source == "consented":
        caption = f"{record['dataset']} · {record['licence']}"
    else:
        caption = f"own photo of {record['subject']} (consent {record['consent_date']})"
    cloak = record.get("cloak")
    if cloak is not None:
        if not isinstance(cloak, dict):
            raise ValueError(f"the record's cloak entry should be a dict, got {type(cloak).__name__}")
        grid = cloak.get("grid", "?")
        caption += (f" · cloaked: ±{cloak.get('budget', '?')}/255 per pixel on a {grid}×{grid} grid, "
                    f"{cloak.get('queries', '?')} queries to dlib")
    return caption
