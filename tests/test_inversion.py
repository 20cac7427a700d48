"""A decoder from embeddings to identity parameters, and reconstructions that dlib matches to the person."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from course import faces, inversion as inv
from course.provenance import describe, require_provenance


def test_identity_targets_are_the_generator_vectors_of_each_image():
    records = [{"identity_seed": 11}, {"identity_seed": 12}, {"identity_seed": 11}]
    targets = inv.identity_targets(records)
    assert targets.shape == (3, faces.N_IDENTITY_PARAMETERS)
    assert np.array_equal(targets[0], faces.identity_parameters(11)) and np.array_equal(targets[0], targets[2])
    assert not np.array_equal(targets[0], targets[1])


def _linear_problem(noise, seed=0, n=400, dim=32, k=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dim))
    T = 0.5 + 0.08 * (X @ rng.standard_normal((dim, k))) / np.sqrt(dim) + noise * rng.standard_normal((n, k))
    return X, np.clip(T, 0, 1)


def test_decoder_recovers_a_learnable_mapping_on_unseen_rows():
    X, T = _linear_problem(noise=0.0)
    decoder = inv.fit_decoder(X[:300], T[:300])
    assert inv.decoder_r2(decoder, X[300:], T[300:]) > 0.95
    assert decoder.gain == pytest.approx(1.0, abs=0.05)  # nothing to undo when ridge barely shrinks
    assert np.all((inv.decode(decoder, X) >= 0) & (inv.decode(decoder, X) <= 1))


def test_gain_stretches_shrunken_predictions_back_to_the_spread_of_real_people():
    X, T = _linear_problem(noise=0.08)
    decoder = inv.fit_decoder(X[:300], T[:300])
    assert decoder.gain > 1.3
    raw = decoder.ridge.predict(X[300:])
    stretched = decoder.predict(X[300:])
    assert stretched.std() > raw.std()
    assert np.allclose(stretched - decoder.mean, decoder.gain * (raw - decoder.mean))


def test_reconstruction_record_is_a_truthful_provenance_record():
    template = {"source": "synthetic", "identity_seed": 42, "view_seed": 7}
    record = inv.reconstruction_record(template, view_seed=3)
    require_provenance(record)
    assert "none (decoded from the template of id seed 42)" in describe(record)
    assert record["reconstruction_of"] == {"identity_seed": 42, "view_seed": 7}
    assert "no real person" in record["note"]
    require_provenance(inv.average_face_record(view_seed=3))


def test_people_with_a_single_photo_are_refused():
    with pytest.raises(ValueError, match="fewer than two photos"):
        inv.inversion_attack(np.zeros((3, 128)), [0, 1, 1], [{"identity_seed": 1}] * 3, [0])


def test_reconstructions_from_templates_point_to_the_right_person():
    from course import data

    crowd = data.load("synthetic-crowd")
    # The decoder's targets come from faces.identity_parameters: the set must match the current generator.
    side = crowd.thumbnails.shape[1]
    rerendered = np.asarray(Image.fromarray(crowd.image(0)).resize((side, side), Image.LANCZOS)).astype(int)
    assert np.abs(rerendered - crowd.thumbnails[0]).mean() < 6, (
        "synthetic-crowd was made by another version of course.faces: python -m course data build synthetic-crowd")
    rows = np.flatnonzero(crowd.found)
    ids = crowd.identities[rows]
    people, counts = np.unique(ids, return_counts=True)
    deleted = people[counts >= 2][:4]
    result = inv.inversion_attack(crowd.embeddings[rows], ids, [crowd.provenance[i] for i in rows], deleted)
    assert [r.person for r in result.reconstructions] == deleted.tolist()
    assert all(r.found == (r.rank is not None) for r in result.reconstructions)
    assert all(1 <= r.rank <= r.n_people for r in result.reconstructions if r.found)
    assert all(ids[r.template_row] == r.person for r in result.reconstructions)
    # Far better than the average face, which knows nothing about anyone (no face found = last rank).
    n = result.n_people
    ranks = [n if r.rank is None else r.rank for r in result.reconstructions]
    assert np.mean(ranks) < 0.5 * np.mean([n if a is None else a for a in result.average_face_ranks])
    assert result.reconstructions[0].image.shape == (256, 256, 3)
