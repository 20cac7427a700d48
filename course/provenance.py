"""Where every face came from: provenance records and the consent guard.

The course handles only two kinds of faces: synthetic people (made by
:mod:`course.faces`, reproducible from a generator version and seeds) and real
people who gave documented consent (a consented data set, or your own photo with
an explicit consent record). A provenance record is a plain dict saying which;
:func:`require_provenance` refuses any image that has none.
"""

from __future__ import annotations

import datetime as _dt

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


def require_provenance(record: object, *, what: str = "image") -> dict:
    """Return ``record`` if it is a complete provenance record; otherwise raise ProvenanceError.

    This is the consent guard: :mod:`course.embed` calls it for every image.
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
    return record


def describe(record: dict) -> str:
    """A one-line caption for a face: where it came from, for figure labels."""
    source = require_provenance(record)["source"]
    if source == "synthetic":
        return f"synthetic · {record['generator_version']} · id seed {record['identity_seed']}"
    if source == "consented":
        return f"{record['dataset']} · {record['licence']}"
    return f"own photo of {record['subject']} (consent {record['consent_date']})"
