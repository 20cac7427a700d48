"""The embedding pipeline on consented and synthetic faces: shapes, alignment, batches, cache."""

from __future__ import annotations

import numpy as np
import pytest

from course import embed, faces


def test_pipeline_steps_on_a_consented_face(london_face):
    image, record = london_face
    (box,) = embed.detect_faces(image, record)
    top, right, bottom, left = box
    assert 0 <= left < right <= image.shape[1] and 0 <= top < bottom <= image.shape[0]
    points = embed.landmarks_68(image, box, record)
    assert points.shape == (68, 2)
    # landmarks lie around the box (the jaw may reach slightly outside it)
    assert np.all(points[:, 0] > left - 30) and np.all(points[:, 0] < right + 30)
    chip = embed.aligned_chip(image, box, record)
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
        embed.detect_faces(*london_face, model="haar")


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
        embed.detect_faces(*london_face, upsample=upsample)


def test_a_large_photo_is_scanned_downscaled_and_boxes_come_back_in_its_own_pixels(monkeypatch, london_face):
    # a consented face: a synthetic render pasted into a canvas would be refused by the consent guard
    face, record = london_face
    (expected,) = embed.detect_faces(face, record)
    canvas = np.full((900, 1200, 3), 200, np.uint8)
    height, width = face.shape[:2]
    canvas[300:300 + height, 500:500 + width] = face  # the face pasted at (row 300, column 500)
    # a budget this small forces a 2x downscale of the 1200 x 900 photo (HOG, one upsampling step)
    monkeypatch.setitem(embed.DETECTION_PIXEL_BUDGET, "hog", 1_080_000)
    (box,) = embed.detect_faces(canvas, record)
    top, right, bottom, left = box
    e_top, e_right, e_bottom, e_left = expected
    assert abs(top - (300 + e_top)) <= 12 and abs(left - (500 + e_left)) <= 12
    assert abs((bottom - top) - (e_bottom - e_top)) <= 20


# --------------------------------------------------------------------------- a cache that cannot lie


def _poisoned(record: np.ndarray) -> np.ndarray:
    bad = np.zeros_like(record)
    bad[0] = 1  # "one face", box (0, 0, 0, 0), zero vector: right shape, all finite
    return bad


def _nan(record: np.ndarray) -> np.ndarray:
    return np.full_like(record, np.nan)


def _huge_vector(record: np.ndarray) -> np.ndarray:
    bad = record.copy()
    bad[5:] *= 100
    return bad


def _box_outside(record: np.ndarray) -> np.ndarray:
    bad = record.copy()
    bad[2] = 10_000  # right edge far outside the image
    return bad


def _two_faces_with_a_vector(record: np.ndarray) -> np.ndarray:
    bad = record.copy()
    bad[0] = 2
    return bad


@pytest.mark.parametrize("damage", [_poisoned, _nan, _huge_vector, _box_outside, _two_faces_with_a_vector])
def test_an_implausible_cache_record_is_recomputed_not_served(tmp_path, monkeypatch, london_face, damage):
    monkeypatch.setattr(embed, "CACHE_DIR", tmp_path)
    image, record = london_face
    first = embed.embed_batch([image], [record], progress=False)
    (path,) = tmp_path.glob("*.npy")
    np.save(path, damage(np.load(path)))
    again = embed.embed_batch([image], [record], progress=False)
    assert again.found[0] and np.array_equal(again.vectors, first.vectors) and again.boxes == first.boxes
    assert np.array_equal(np.load(path)[5:], first.vectors[0])  # the damaged file was replaced


@pytest.mark.parametrize("content", [b"", b"\x93NUMPY", b"garbage"])
def test_an_empty_or_unreadable_cache_file_is_recomputed(tmp_path, monkeypatch, london_face, content):
    monkeypatch.setattr(embed, "CACHE_DIR", tmp_path)
    image, record = london_face
    first = embed.embed_batch([image], [record], progress=False)
    (path,) = tmp_path.glob("*.npy")
    path.write_bytes(content)
    for _ in range(2):  # and not broken for good: the rewritten file serves the next run
        again = embed.embed_batch([image], [record], progress=False)
        assert np.array_equal(again.vectors, first.vectors)


def test_the_measured_norm_range_of_real_vectors_is_plausible(london_face):
    image, record = london_face
    vector = embed.encode_face(image, record).vector
    low, high = embed.PLAUSIBLE_NORM
    assert low < 1.0 < np.linalg.norm(vector) < 1.6 < high


def test_a_failed_cache_write_leaves_no_file_and_the_batch_carries_on_with_one_warning(
        tmp_path, monkeypatch, london_face):
    monkeypatch.setattr(embed, "CACHE_DIR", tmp_path)
    image, record = london_face

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(embed.os, "fsync", disk_full)
    with pytest.warns(embed.CacheWarning, match="No space left on device.*carrying on without it") as caught:
        batch = embed.embed_batch([image, image[:, ::-1], image], [record] * 3, progress=False)
    assert len(caught) == 1
    assert batch.found.all()
    assert list(tmp_path.iterdir()) == []  # no 0-byte file, no temp file left behind


def test_a_folder_where_a_cache_file_should_be_is_named(tmp_path, monkeypatch, london_face):
    monkeypatch.setattr(embed, "CACHE_DIR", tmp_path)
    image, record = london_face
    key = embed._cache_key(image, "hog", 1)
    (tmp_path / f"{key}.npy").mkdir()
    with pytest.warns(embed.CacheWarning, match="is a folder where this cache file should be"):
        batch = embed.embed_batch([image], [record], progress=False)
    assert batch.found[0]


def test_an_unwritable_cache_does_not_abort_the_batch(tmp_path, monkeypatch, london_face):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(embed, "CACHE_DIR", blocker / "embeddings")
    image, record = london_face
    with pytest.warns(embed.CacheWarning) as caught:
        batch = embed.embed_batch([image, image[:, ::-1]], [record] * 2, progress=False)
    assert len(caught) == 1 and batch.found.all()


def test_one_bad_image_is_a_failure_and_the_others_are_returned(london_face):
    image, record = london_face
    as_float = image.astype(np.float64) / 255
    batch = embed.embed_batch([image, image, as_float, image[:, ::-1]], [record] * 4, progress=False, cache=False)
    assert batch.found.tolist() == [True, True, False, True]
    assert list(batch.failures) == [2]
    assert "unusable image" in batch.failures[2] and "image 2" in batch.failures[2] and "float64" in batch.failures[2]
    assert np.isnan(batch.vectors[2]).all() and batch.boxes[2] is None


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_cache_variable_means_the_default_not_the_current_folder(monkeypatch, value):
    monkeypatch.setenv("FACES_AT_SCALE_CACHE", value)
    default = embed.Path(embed.__file__).resolve().parent.parent / "data" / "cache" / "embeddings"
    assert embed.cache_dir_from_environment() == default
    monkeypatch.setenv("FACES_AT_SCALE_CACHE", "/somewhere/else")
    assert embed.cache_dir_from_environment() == embed.Path("/somewhere/else/embeddings")
