"""Lesson 02b's learned metrics: the split keeps people apart, the loss and its gradient are right, training separates people."""

from __future__ import annotations

import numpy as np
import pytest

from course import data, metric_learning
from course.metric_learning import _batch_loss_and_gradient


def test_training_and_test_people_are_different_people():
    split = metric_learning.load_split()
    train_seeds = {r["identity_seed"] for r in data.load("synthetic-crowd").provenance}
    test_seeds = {r["identity_seed"] for r in data.load("synthetic-people").provenance}
    assert not train_seeds & test_seeds
    assert len(split.train_pixels) == len(split.train_ids) and len(split.test_pixels) == len(split.test_dlib)
    assert np.isfinite(split.test_dlib).all()  # only faces dlib found


def test_evaluate_a_perfect_and_a_useless_embedding():
    ids = np.repeat(np.arange(10), 4)
    perfect = np.eye(10)[ids]
    scores = metric_learning.evaluate(perfect, ids)
    assert scores.rank1 == 1.0 and scores.eer == 0.0
    useless = np.random.default_rng(0).standard_normal((40, 8))
    assert metric_learning.evaluate(useless, ids).eer > 0.3


def test_batch_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    features = rng.standard_normal((8, 5))
    ids = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    weights = rng.standard_normal((3, 5)) * 0.3
    loss, gradient = _batch_loss_and_gradient(weights, features, ids, 0.6, 0.04)
    assert loss > 0
    step = 1e-6
    numeric = np.zeros_like(weights)
    for index in np.ndindex(weights.shape):
        shifted = weights.copy()
        shifted[index] += step
        numeric[index] = (_batch_loss_and_gradient(shifted, features, ids, 0.6, 0.04)[0] - loss) / step
    np.testing.assert_allclose(gradient, numeric, atol=1e-4)


def _clusters(n_people, per_person, seed):
    """Who someone is lives in 5 of 20 numbers; the other 15 are nuisance (pose, light) that varies more."""
    rng = np.random.default_rng(seed)
    centres = np.zeros((n_people, 20))
    centres[:, :5] = rng.standard_normal((n_people, 5))
    ids = np.repeat(np.arange(n_people), per_person)
    noise = rng.standard_normal((len(ids), 20)) * np.r_[np.full(5, 0.2), np.full(15, 1.0)]
    return centres[ids] + noise, ids


def test_training_pulls_each_person_together_and_pushes_people_apart():
    features, ids = _clusters(60, 3, seed=2)
    unseen, unseen_ids = _clusters(20, 4, seed=3)
    model = metric_learning.train_linear_embedding(features, ids, dim=8, epochs=15, people_per_batch=16,
                                                   watch=(unseen, unseen_ids))
    first, last = model.history[0], model.history[-1]
    assert last["different_people"] / last["same_person"] > 1.5 * first["different_people"] / first["same_person"]
    losses = [entry["loss"] for entry in model.history[1:]]
    assert losses[-1] < losses[0]
    again = metric_learning.train_linear_embedding(features, ids, dim=8, epochs=15, people_per_batch=16)
    np.testing.assert_array_equal(model.weights, again.weights)  # seeded: the same run twice


def test_training_refuses_bad_input_with_a_clear_message():
    features, ids = _clusters(10, 2, seed=4)
    with pytest.raises(ValueError, match="one identity per row"):
        metric_learning.train_linear_embedding(features, ids[:-1])
    with pytest.raises(ValueError, match="at least 32 people"):
        metric_learning.train_linear_embedding(features, ids)


def test_unit_length_rows():
    vectors = np.array([[3.0, 4.0], [0.0, 2.0]])
    np.testing.assert_allclose(metric_learning.unit_length(vectors), [[0.6, 0.8], [0.0, 1.0]])
