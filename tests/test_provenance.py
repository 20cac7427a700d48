"""The consent guard: no image is embedded without a record of where it came from."""

from __future__ import annotations

import numpy as np
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


# --------------------------------------------------------------------------- consent that says no, or nothing

GOOD = "I agree that this photo of my face is used to compute a face embedding in exercise 2 of this course."


def _own(consent: str, **extra) -> dict:
    return {"source": "own_photo", "subject": "Ada Example", "consent": consent, "consent_date": "2026-11-27", **extra}


@pytest.mark.parametrize("withdrawn", ["2026-11-25", True, "yes"])
def test_a_withdrawn_consent_is_refused(withdrawn):
    with pytest.raises(ProvenanceError, match="withdrawn"):
        provenance.require_provenance(_own(GOOD, withdrawn=withdrawn))
    consented = {"source": "consented", "dataset": "London", "licence": "CC BY 4.0", "consent": GOOD,
                 "file": "a.jpg", "withdrawn": withdrawn}
    with pytest.raises(ProvenanceError, match="withdrawn"):
        provenance.require_provenance(consented)


@pytest.mark.parametrize("withdrawn", [None, False, ""])
def test_a_consent_marked_not_withdrawn_passes(withdrawn):
    assert provenance.require_provenance(_own(GOOD, withdrawn=withdrawn))


@pytest.mark.parametrize("consent", ["y", "   ", "yes", "ok fine", "I agree.", True, 1])
def test_a_consent_that_says_nothing_is_refused(consent):
    with pytest.raises(ProvenanceError, match="too short|text the person agreed to"):
        provenance.require_provenance(_own(consent))


@pytest.mark.parametrize("consent", [
    "I do not consent to face recognition of my photo.",
    "I don't agree to this photo being used.",
    "I DO NOT AGREE to face recognition. My photo must never be used in this course.",
    "I refuse any use of my face in this course.",
    "I object to face recognition of my photo in this course exercise. Delete it.",
    "I disagree with my photo being used for a face embedding in this course.",
    "No consent is given for face recognition here.",
    "No, I do not give permission for a face embedding of my photo in this course.",
    "I agree to the photo being on the class web page, but I do not consent to face recognition.",
    "I withdraw my consent for this photo to be used in the course.",
    "Consent was withdrawn by the subject on 3 March 2026.",
    "I won\u2019t allow face recognition on my photo, sorry.",
    "We never gave permission for any of this, delete the pictures.",
    "You may not use my face for anything. I do not consent to a face embedding.",
    "I do not consent to a face embedding or anything else.",
    "I do not agree to this or any other use of my photo.",
])
def test_a_consent_that_refuses_is_refused(consent):
    with pytest.raises(ProvenanceError, match="does not say what the person agrees to: it refuses"):
        provenance.require_provenance(_own(consent))


@pytest.mark.parametrize("consent", [
    GOOD,
    GOOD + " I do not agree to any other use. I can refuse further use at any time.",
    GOOD + " I can withdraw at any time and the photo and the embedding will then be deleted.",
    "I agree to face recognition of my photo in class, but I do not agree to any other use of my photo or face.",
    "I consent to a face embedding of my photo in lesson 2; I don't consent to sharing it with anyone.",
    "Yes, I give my permission for face recognition in this exercise only.",
    "I am happy for my photo to be used for a face embedding in this class.",
    "All individuals gave signed consent for their images to be used in lab-based and web-based studies.",
    # permission without the words "I agree" (a right answer in lesson 00 that the guard once refused)
    "You may compute a face embedding of this photo for exercise 2 of this course; I don't consent to anything else.",
    "Permission is granted to use my photo for a face embedding in the lesson. I do not consent to sharing.",
    "My photo may be used for the embedding exercise in this course, and nothing else; withdraw any time.",
    # the way out, described as a condition, is not a refusal
    GOOD + " If I withdraw my consent, the photo and its embedding will be deleted.",
    GOOD + " When I withdraw, the face embedding is deleted too.",
    GOOD + " Should I revoke this consent, my face embedding will be erased.",
    # refusing one excluded use is part of the agreement
    GOOD + " I refuse any sale of the photo or the embedding.",
    GOOD + " I do not allow my face embedding to be shared with police or used to train a model.",
])
def test_a_consent_written_in_other_words_passes(consent):
    assert provenance.require_provenance(_own(consent))


def test_the_course_data_sets_consent_passes():
    from course import data

    consent = data.registry()["london"]["consent"]
    record = {"source": "consented", "dataset": "London", "licence": "CC BY 4.0", "consent": consent, "file": "a.jpg"}
    assert provenance.require_provenance(record)


# ------------------------------------------------------------------ a synthetic record must re-render its image


@pytest.fixture(scope="module")
def people():
    from course import faces

    return faces.synthetic_faces(2, 2, seed=5, size=96)


def test_a_genuine_synthetic_record_passes_with_its_image(people):
    for image, record in zip(people.images, people.provenance):
        assert provenance.require_provenance(record, image=image) is record


def test_a_borrowed_synthetic_record_is_refused(people):
    with pytest.raises(ProvenanceError, match="does not re-render this image"):
        provenance.require_provenance(people.provenance[1], image=people.images[0])


def test_a_forged_synthetic_record_on_a_real_photo_is_refused(london_face, people):
    image, _ = london_face
    forged = {"source": "synthetic", "generator": "course.faces", "generator_version": "faces-1.0",
              "identity_seed": 1234, "view_seed": 5678}
    with pytest.raises(ProvenanceError, match="square|re-render"):
        provenance.require_provenance(forged, image=image)
    square = np.ascontiguousarray(image[:256, :256])
    with pytest.raises(ProvenanceError, match="does not re-render this image"):
        provenance.require_provenance(forged, image=square)


@pytest.mark.parametrize("field, value, message", [
    ("identity_seed", "none (made up)", "not a seed"),
    ("view_seed", 1.5, "not a seed"),
    ("generator_version", "faces-0.1", "cannot be checked"),
    ("identity_vector", [0.5] * 3, "must hold"),
])
def test_a_synthetic_record_that_cannot_be_checked_is_refused(people, field, value, message):
    record = {**people.provenance[0], field: value}
    with pytest.raises(ProvenanceError, match=message):
        provenance.require_provenance(record, image=people.images[0])


def test_an_edited_render_is_refused(people):
    image, record = people.images[0], people.provenance[0]
    brighter = np.clip(image.astype(int) + 1, 0, 255).astype(np.uint8)
    with pytest.raises(ProvenanceError, match="re-render"):
        provenance.require_provenance(record, image=brighter)
    with pytest.raises(ProvenanceError, match="square"):
        provenance.require_provenance(record, image=np.ascontiguousarray(image[:, :80]))


def test_renders_the_course_makes_in_other_ways_pass():
    from course import data, faces, scrapelab

    people = data.load("synthetic-people")
    i = int(np.flatnonzero(people.found)[0])
    for size in (None, 128):  # the data set's own size, and a re-render at another size
        assert provenance.require_provenance(people.provenance[i], image=people.image(i, size=size))
    groups = data.load("synthetic-groups")  # identity_spread shrinks the identity
    j = next(k for k, r in enumerate(groups.provenance) if r["identity_spread"] != 1.0)
    assert provenance.require_provenance(groups.provenance[j], image=groups.image(j))
    site = scrapelab.SocialNetwork(seed=2026, n_people=5)
    image, record = site.new_photo(site.people[0].slug)
    assert provenance.require_provenance(record, image=image)
    vector = np.full(faces.N_IDENTITY_PARAMETERS, 0.5)  # a face drawn from an identity vector (lesson 04)
    drawn, _ = faces.render_face(vector, view_seed=3, size=96)
    record = {"source": "synthetic", "generator": "course.faces.render_face of a decoded identity vector",
              "generator_version": faces.GENERATOR_VERSION, "identity_seed": "none, decoded", "view_seed": 3,
              "identity_vector": vector.tolist()}
    assert provenance.require_provenance(record, image=drawn)
    with pytest.raises(ProvenanceError):
        provenance.require_provenance({**record, "identity_vector": (vector + 0.01).tolist()}, image=drawn)


def test_scrape_lab_photos_pass_as_served_and_group_photos_need_everyone():
    from course import scrapelab
    from course.images import load_image

    site_record = {"source": "synthetic", "generator": "course.faces", "generator_version": "faces-1.0",
                   "site": f"{scrapelab.SITE_NAME} (course.scrapelab)"}
    portrait = load_image(scrapelab.photo_bytes(11, 22))
    assert provenance.require_provenance({**site_record, "identity_seed": 11, "view_seed": 22}, image=portrait)
    with pytest.raises(ProvenanceError, match="re-render"):
        provenance.require_provenance({**site_record, "identity_seed": 11, "view_seed": 23}, image=portrait)
    group = load_image(scrapelab.group_photo_bytes((11, 12), (22, 23)))
    everyone = {**site_record, "identity_seed": 11, "view_seed": 22, "identity_seeds": [11, 12], "view_seeds": [22, 23]}
    assert provenance.require_provenance(everyone, image=group)
    with pytest.raises(ProvenanceError, match="lists everyone"):
        provenance.require_provenance({**site_record, "identity_seed": 11, "view_seed": 22}, image=group)
    with pytest.raises(ProvenanceError, match="re-render"):
        provenance.require_provenance({**everyone, "identity_seeds": [11, 13]}, image=group)


def test_a_verified_pair_is_not_rendered_again(monkeypatch):
    from course import faces, rerender

    people = faces.synthetic_faces(1, 1, seed=8, size=64)
    calls = []
    original = faces.render_face
    monkeypatch.setattr(faces, "render_face", lambda *a, **k: calls.append(1) or original(*a, **k))
    for _ in range(3):
        provenance.require_provenance(people.provenance[0], image=people.images[0])
    assert len(calls) == 1
    monkeypatch.setattr(rerender, "_verified", rerender.OrderedDict())
    provenance.require_provenance(people.provenance[0], image=people.images[0])
    assert len(calls) == 2


# --------------------------------------------------------------------------- every entry point that touches a face


def _entry_points(image, record):
    from course import embed

    box = (10, 60, 60, 10)
    return {
        "detect_faces": lambda: embed.detect_faces(image, record),
        "landmarks_68": lambda: embed.landmarks_68(image, box, record),
        "aligned_chip": lambda: embed.aligned_chip(image, box, record),
        "encode_faces": lambda: embed.encode_faces(image, record),
        "encode_face": lambda: embed.encode_face(image, record),
        "embed_batch": lambda: embed.embed_batch([image], [record], progress=False, cache=False),
    }


@pytest.mark.parametrize("name", ["detect_faces", "landmarks_68", "aligned_chip", "encode_faces", "encode_face",
                                  "embed_batch"])
def test_every_entry_point_that_touches_a_face_is_guarded(people, name):
    image = people.images[0]
    for record, message in [(None, "no provenance record"), (people.provenance[1], "re-render"),
                            (_own(GOOD, withdrawn="2026-11-25"), "withdrawn"),
                            (_own("I do not consent to face recognition."), "refuses")]:
        with pytest.raises(ProvenanceError, match=message):
            _entry_points(image, record)[name]()


# --------------------------------------------------------------------------- cloaked synthetic photos


@pytest.fixture(scope="module")
def cloaked_render():
    """A small render, a cloak pattern for it, and the cloaked photo with its record."""
    from course import cloaking, faces

    rendered = faces.synthetic_faces(1, 1, seed=3, size=64)
    signs = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), size=(16, 16, 3))
    entry = {"method": cloaking.METHOD, "budget": 8, "grid": 16, "signs": cloaking.encode_signs(signs),
             "seed": 0, "queries": 1, "goal": 0.45}
    cloaked = cloaking.perturb(rendered.images[0], signs, 8)
    return rendered.images[0], cloaked, cloaking.cloaked_provenance(rendered.provenance[0], entry)


def test_a_cloaked_render_passes_the_guard(cloaked_render):
    clean, cloaked, record = cloaked_render
    assert not np.array_equal(clean, cloaked)
    assert provenance.require_provenance(record, image=cloaked) is record


def _forged(record, **changes):
    return {**record, "cloak": {**record["cloak"], **changes}}


def _flip_first_bit(signs: str) -> str:
    return f"{int(signs[:2], 16) ^ 0x80:02x}" + signs[2:]


@pytest.mark.parametrize("forge, message", [
    (lambda r: _forged(r, signs=_flip_first_bit(r["cloak"]["signs"])), "does not re-render"),
    (lambda r: _forged(r, budget=4), "does not re-render"),
    (lambda r: _forged(r, budget=200), "cannot be rebuilt: the cloak's budget"),
    (lambda r: _forged(r, grid=15), "cannot be rebuilt: the cloak's grid"),
    (lambda r: _forged(r, signs="zz"), "cannot be rebuilt: the cloak's signs"),
    (lambda r: _forged(r, signs=r["cloak"]["signs"][:-2]), "cannot be rebuilt: the cloak's signs hold"),
    (lambda r: _forged(r, method="photoshop"), "cannot be rebuilt: unknown cloak method"),
    (lambda r: {**r, "cloak": "trust me"}, "cannot be rebuilt: a cloak record is a dict"),
    (lambda r: {k: v for k, v in r.items() if k != "cloak"}, "does not re-render"),
    (lambda r: {**r, "view_seed": r["view_seed"] + 1}, "does not re-render"),
])
def test_a_forged_cloak_record_is_refused(cloaked_render, forge, message):
    _, cloaked, record = cloaked_render
    with pytest.raises(ProvenanceError, match=message):
        provenance.require_provenance(forge(record), image=cloaked)


def test_a_cloak_record_does_not_cover_further_edits(cloaked_render):
    clean, cloaked, record = cloaked_render
    edited = cloaked.copy()
    edited[10, 10, 0] ^= 1
    with pytest.raises(ProvenanceError, match="does not re-render"):
        provenance.require_provenance(record, image=edited)
    with pytest.raises(ProvenanceError, match="does not re-render"):
        provenance.require_provenance(record, image=clean)


def test_a_cloaked_photo_is_captioned_as_cloaked_with_what_was_done():
    from course import cloaking, faces

    record = faces.synthetic_faces(1, 1, seed=3).provenance[0]
    entry = cloaking.load_cloaks()["cloaks"][0]
    caption = provenance.describe(cloaking.cloaked_provenance(record, entry))
    assert caption.startswith(provenance.describe(record))
    assert f"cloaked: ±{entry['budget']}/255 per pixel on a {entry['grid']}×{entry['grid']} grid" in caption
    assert f"{entry['queries']} queries to dlib" in caption
    assert "cloaked" not in provenance.describe(record)


def test_a_malformed_cloak_entry_is_named():
    from course import faces

    record = faces.synthetic_faces(1, 1, seed=3).provenance[0]
    with pytest.raises(ValueError, match="cloak entry should be a dict"):
        provenance.describe({**record, "cloak": "yes"})
