"""The embedding pipeline on consented and synthetic faces: shapes, alignment, batches, cache."""

from __future__ import annotations

import numpy as np
import pytest

from course import embed, faces


def test_pipeline_steps_on_a_consented_face(london_face):
    image, record = london_face
    (box,) = embed.detect_faces(image)
    top, right, bottom, left = box
    assert 0 <= left < right <= image.shape[1] and 0 <= top < bottom <= image.shape[0]
    points = embed.landmarks_68(image, box)
    assert points.shape == (68, 2)
    # landmarks lie around the box (the jaw may reach slightly outside it)
    assert np.all(points[:, 0] > left - 30) and np.all(points[:, 0] < right + 30)
    chip = embed.aligned_chip(image, box)
    assert chip.shape == (150, 150, 3) and chip.dtype == np.uint8
    face = embed.encode_face(image, record)
    assert face.vector.shape == (128,) and face.box == box and face.provenance is record


def test_same_person_is_closer_than_different_people(london):
    # subject 001 neutral/smiling vs subject 002 neutral
    a, b, c = (embed.encode_face(london.image(i), london.provenance[i]).vector for i in (0, 1, 2))
    assert london.metadata[0]["subject_id"] == london.metadata[1]["subject_id"] != london.metadata[2]["subject_id"]
    assert np.linalg.norm(a - b) < 0.6 < np.linalg.norm(a - c)


def test_batch_aligns_failures_with_inputs(london_face):
    image, record = london_face
    blank = np.full_like(image, 200)
    batch = embed.embed_batch([image, blank, image], [record] * 3, progress=False, cache=False)
    assert batch.found.tolist() == [True, False, True]
    assert np.isnan(batch.vectors[1]).all() and batch.failures == {1: "no face"}
    assert np.array_equal(batch.vectors[0], batch.vectors[2])
    assert batch.detection_rate == pytest.approx(2 / 3)


def test_batch_cache_returns_the_same_vectors(tmp_path, monkeypatch, london_face):
    monkeypatch.setattr(embed, "CACHE_DIR", tmp_path)
    image, record = london_face
    first = embed.embed_batch([image], [record], progress=False)
    assert len(list(tmp_path.glob("*.npy"))) == 1
    # A cached entry is used: corrupting the stored vector changes what comes back.
    (path,) = tmp_path.glob("*.npy")
    stored = np.load(path)
    stored[5] += 1.0
    np.save(path, stored)
    second = embed.embed_batch([image], [record], progress=False)
    assert second.vectors[0, 0] == pytest.approx(first.vectors[0, 0] + 1.0)
    # A different image is a different key.
    embed.embed_batch([image[:, ::-1]], [record], progress=False)
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_batch_refuses_missing_provenance_before_any_work(london_face):
    image, record = london_face
    from course.errors import ProvenanceError

    with pytest.raises(ProvenanceError, match="image 1"):
        embed.embed_batch([image, image], [record, {}], progress=False, cache=False)
    with pytest.raises(ValueError, match="2 images but 1 provenance"):
        embed.embed_batch([image, image], [record], progress=False, cache=False)
    with pytest.raises(ValueError, match="one image of shape .* wrap it in a list"):
        embed.embed_batch(image, [record], progress=False, cache=False)


def test_unknown_detector_is_refused(london_face):
    with pytest.raises(ValueError, match="model must be one of"):
        embed.detect_faces(london_face[0], model="haar")


def test_synthetic_people_embed_and_keep_their_provenance():
    people = faces.synthetic_faces(4, 3, seed=11)
    batch = embed.embed_batch(people.images, people.provenance, progress=False, cache=False)
    # detection quality is measured by scripts/benchmark_faces.py; here: most faces found, order kept
    assert batch.found.mean() >= 0.7
    assert batch.provenance == people.provenance
    assert set(batch.failures) == set(np.flatnonzero(~batch.found).tolist())


@pytest.mark.parametrize("upsample", [-1, 1.5, "1", True, 9])
def test_bad_upsample_is_refused_before_dlib(london_face, upsample):
    with pytest.raises(ValueError, match="upsample must be a whole number"):
        embed.detect_faces(london_face[0], upsample=upsample)


def test_a_large_photo_is_scanned_downscaled_and_boxes_come_back_in_its_own_pixels(monkeypatch):
    face = faces.synthetic_faces(1, 1, seed=2).images[0]
    (expected,) = embed.detect_faces(face)
    canvas = np.full((900, 1200, 3), 200, np.uint8)
    canvas[300:556, 500:756] = face  # a 256 px face pasted at (row 300, column 500)
    # a budget this small forces a 2x downscale of the 1200 x 900 photo (HOG, one upsampling step)
    monkeypatch.setitem(embed.DETECTION_PIXEL_BUDGET, "hog", 1_080_000)
    (box,) = embed.detect_faces(canvas)
    top, right, bottom, left = box
    e_top, e_right, e_bottom, e_left = expected
    assert abs(top - (300 + e_top)) <= 12 and abs(left - (500 + e_left)) <= 12
    assert abs((bottom - top) - (e_bottom - e_top)) <= 20
