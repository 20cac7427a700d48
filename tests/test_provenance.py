"""The consent guard: no image is embedded without a record of where it came from."""

from __future__ import annotations

import pytest

from course import provenance
from course.errors import ProvenanceError


def test_own_photo_record_passes_the_guard():
    record = provenance.own_photo("Ada Example", "I agree that my photo is embedded in class exercise 2.",
                                  consent_date="2026-11-27")
    assert provenance.require_provenance(record) is record
    assert provenance.describe(record) == "own photo of Ada Example (consent 2026-11-27)"


@pytest.mark.parametrize("consent", ["", "yes", "ok fine"])
def test_own_photo_needs_the_consent_text_itself(consent):
    with pytest.raises(ValueError, match="write out what the person agreed to"):
        provenance.own_photo("Ada Example", consent)


@pytest.mark.parametrize(
    "record, message",
    [
        (None, "no provenance record"),
        ("synthetic", "is a dict"),
        ({"source": "scraped"}, "must be one of"),
        ({"source": "synthetic", "generator": "course.faces", "generator_version": "x", "identity_seed": 1}, "view_seed"),
        ({"source": "consented", "dataset": "London", "licence": "CC BY 4.0", "consent": "", "file": "a.jpg"}, "consent"),
    ],
)
def test_incomplete_records_are_refused_with_how_to_register(record, message):
    with pytest.raises(ProvenanceError, match=message) as caught:
        provenance.require_provenance(record)
    assert "course.provenance.own_photo" in str(caught.value)


def test_synthetic_faces_carry_complete_provenance():
    from course import faces

    people = faces.synthetic_faces(2, 2, seed=3)
    for record in people.provenance:
        provenance.require_provenance(record)
        assert provenance.describe(record).startswith("synthetic")
