"""Tests for course.faces, the synthetic people generator."""

import numpy as np
import pytest

from course import faces

SIZE = 128  # small images keep the tests fast; the end-to-end checks use 256


@pytest.fixture(scope="module")
def batch():
    return faces.synthetic_faces(3, 2, seed=7, size=SIZE, max_yaw=10)


def test_shapes_and_dtypes(batch):
    assert batch.images.shape == (6, SIZE, SIZE, 3)
    assert batch.images.dtype == np.uint8
    assert batch.identities.tolist() == [0, 0, 1, 1, 2, 2]
    assert len(batch.provenance) == 6


def test_same_seed_same_bytes(batch):
    again = faces.synthetic_faces(3, 2, seed=7, size=SIZE, max_yaw=10)
    assert again.images.tobytes() == batch.images.tobytes()
    assert again.provenance == batch.provenance


def test_different_seeds_differ(batch):
    other = faces.synthetic_faces(3, 2, seed=8, size=SIZE, max_yaw=10)
    assert not np.array_equal(other.images, batch.images)
    views = {rec["view_seed"] for rec in batch.provenance}
    assert len(views) == 6
    assert len({rec["identity_seed"] for rec in batch.provenance}) == 3


def test_identity_independent_of_batch_shape(batch):
    bigger = faces.synthetic_faces(4, 3, seed=7, size=SIZE, max_yaw=10)
    assert np.array_equal(bigger.images[0], batch.images[0])
    assert np.array_equal(bigger.images[3], batch.images[2])


def test_provenance_complete_and_matching(batch):
    for img, ident, rec in zip(batch.images, batch.identities, batch.provenance):
        assert rec["source"] == "synthetic"
        assert rec["generator"] == "course.faces"
        assert rec["generator_version"] == faces.GENERATOR_VERSION
        assert rec["seed"] == 7
        assert rec["identity"] == ident
        for key in ("identity_seed", "view_seed", "yaw", "pitch", "roll", "light_azimuth",
                    "light_elevation", "smile", "glasses", "noise", "blur", "jpeg_quality"):
            assert key in rec, key
        vec = faces.identity_parameters(rec["identity_seed"])
        again, nuisance = faces.render_face(vec, view_seed=rec["view_seed"], size=SIZE, max_yaw=10)
        assert np.array_equal(again, img)
        assert {k: rec[k] for k in nuisance} == nuisance


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 - 1])
def test_identity_parameters_in_range(seed):
    vec = faces.identity_parameters(seed)
    assert vec.shape == (len(faces.IDENTITY_PARAMETER_NAMES),)
    assert vec.dtype == np.float64
    assert np.all((vec >= 0) & (vec <= 1))
    assert np.array_equal(vec, faces.identity_parameters(seed))
    assert not np.array_equal(vec, faces.identity_parameters(seed + 1 if seed < 2**32 - 1 else 0))


def test_parameter_names_unique_and_match_identity_space():
    assert len(set(faces.IDENTITY_PARAMETER_NAMES)) == len(faces.IDENTITY_PARAMETER_NAMES)
    directions, scales, gain, residual = faces._identity_space()
    assert directions.shape == (len(scales), len(faces.IDENTITY_PARAMETER_NAMES))
    assert gain > 0 and residual >= 0


def test_identities_vary_in_every_parameter():
    vecs = np.array([faces.identity_parameters(s) for s in range(200)])
    assert np.all(vecs.std(axis=0) > 0.05)


def test_nuisance_does_not_depend_on_identity():
    a, b = faces.identity_parameters(1), faces.identity_parameters(2)
    img_a, nz_a = faces.render_face(a, view_seed=9, size=SIZE)
    img_b, nz_b = faces.render_face(b, view_seed=9, size=SIZE)
    assert nz_a == nz_b
    assert not np.array_equal(img_a, img_b)


@pytest.mark.parametrize("vec", ["zeros", "ones", "half", "random"])
def test_render_accepts_any_vector_in_range(vec):
    n = len(faces.IDENTITY_PARAMETER_NAMES)
    v = {"zeros": np.zeros(n), "ones": np.ones(n), "half": np.full(n, 0.5),
         "random": np.random.default_rng(3).uniform(0, 1, n)}[vec]
    img, nuisance = faces.render_face(v, view_seed=5, size=SIZE)
    assert img.shape == (SIZE, SIZE, 3) and img.dtype == np.uint8
    assert img.std() > 10  # not a blank frame
    assert isinstance(nuisance, dict)


def test_render_rejects_wrong_length():
    with pytest.raises(ValueError):
        faces.render_face(np.zeros(3), view_seed=0, size=SIZE)


@pytest.mark.parametrize("max_yaw", [0, 5, 15])
def test_yaw_within_max_yaw(max_yaw):
    vec = faces.identity_parameters(1)
    for view_seed in range(20):
        nuisance = faces._draw_nuisance(np.random.default_rng(view_seed), max_yaw)
        assert abs(nuisance["yaw"]) <= max_yaw
        assert abs(nuisance["pitch"]) <= 8
    _, nuisance = faces.render_face(vec, view_seed=3, size=SIZE, max_yaw=max_yaw)
    assert abs(nuisance["yaw"]) <= max_yaw


def test_dlib_detects_and_recognises():
    face_recognition = pytest.importorskip("face_recognition")
    data = faces.synthetic_faces(5, 2, seed=11)
    encodings, labels, single = [], [], 0
    for img, ident in zip(data.images, data.identities):
        boxes = face_recognition.face_locations(img)
        single += len(boxes) == 1
        if len(boxes) == 1:
            encodings.append(face_recognition.face_encodings(img, boxes)[0])
            labels.append(ident)
    assert single >= 8
    enc, lab = np.array(encodings), np.array(labels)
    dist = np.linalg.norm(enc[:, None] - enc[None], axis=-1)
    iu = np.triu_indices(len(lab), 1)
    same = (lab[:, None] == lab[None])[iu]
    assert same.any() and (~same).any()
    assert dist[iu][same].mean() < dist[iu][~same].mean()
