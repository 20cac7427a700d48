"""Tests of lesson 02b's exercise checks: right answers written differently pass, typical wrong answers fail with their own hint."""

from __future__ import annotations

import numpy as np
import pytest

from course import metric_learning
from course.checks import lesson02b as check

# ------------------------------------------------------------------ exercise 1: dlib's pairwise hinge loss


def _vectorised(distances, same, threshold=0.6, margin=0.04):
    return np.where(same, np.maximum(0, distances - threshold + margin), np.maximum(0, threshold - distances + margin))


def _loop(distances, same, threshold=0.6, margin=0.04):
    losses = []
    for d, s in zip(distances, same):
        losses.append(max(0.0, d - threshold + margin) if s else max(0.0, threshold - d + margin))
    return losses  # a list is fine


def _arithmetic(distances, same, threshold=0.6, margin=0.04):
    same = same.astype(float)
    return same * np.clip(distances - (threshold - margin), 0, None) + (1 - same) * np.clip(threshold + margin - distances, 0, None)


@pytest.mark.parametrize("answer", [_vectorised, _loop, _arithmetic])
def test_hinge_loss_right_answers_written_differently_pass(answer):
    assert check.hinge_loss(answer)


def _no_hinge(d, s, t=0.6, m=0.04):
    return np.where(s, d - t + m, t - d + m)


def _swapped(d, s, t=0.6, m=0.04):
    return np.where(s, np.maximum(0, t - d + m), np.maximum(0, d - t + m))


def _margin_sign(d, s, t=0.6, m=0.04):
    return np.where(s, np.maximum(0, d - t - m), np.maximum(0, t - d - m))


def _no_margin(d, s, t=0.6, m=0.04):
    return np.where(s, np.maximum(0, d - t), np.maximum(0, t - d))


def _squared(d, s, t=0.6, m=0.04):
    return np.where(s, np.maximum(0, d ** 2 - t + m), np.maximum(0, t - d ** 2 + m))


def _mean(d, s, t=0.6, m=0.04):
    return float(_vectorised(d, s, t, m).mean())


def _hard_coded(d, s, t=0.6, m=0.04):
    return _vectorised(d, s)


def _capped(d, s, t=0.6, m=0.04):
    return np.minimum(1, _vectorised(d, s, t, m))


def _ignores_same(d, s, t=0.6, m=0.04):
    return np.maximum(0, d - t + m)


def _no_return(d, s, t=0.6, m=0.04):
    _vectorised(d, s, t, m)


def _stub(d, s, t=0.6, m=0.04):
    raise NotImplementedError("Exercise 1")


@pytest.mark.parametrize("answer, hint", [
    (_no_hinge, "max(0, ...)"),
    (_swapped, "swapped"),
    (_margin_sign, "wrong sign"),
    (_no_margin, "margin is missing"),
    (_squared, "squared"),
    (_mean, "one loss PER PAIR"),
    (_hard_coded, "ignores its `threshold`"),
    (_ignores_same, "use `same`"),
    (_capped, "the loss should be"),
    (_no_return, "forget `return`"),
    (_stub, "NotImplementedError"),
    (lambda d, s, t=0.6, m=0.04: d[s.astype(int) + 100], "raised IndexError"),
    ("my_hinge_loss", "function itself"),
])
def test_hinge_loss_typical_mistakes_get_their_own_hint(answer, hint, capsys):
    feedback = check.hinge_loss(answer)
    assert not feedback
    assert hint in feedback.message
    assert "❌" in capsys.readouterr().out


def test_hinge_loss_reference_is_dlibs_formula():
    d = np.array([0.5, 0.7, 0.5, 0.7])
    same = np.array([True, True, False, False])
    np.testing.assert_allclose(metric_learning.pairwise_hinge_loss(d, same), [0.0, 0.14, 0.14, 0.0])


# ------------------------------------------------------------------ exercise 2: EER after unit length


@pytest.fixture(scope="module")
def dlib_vectors():
    split = metric_learning.load_split()
    return split.test_dlib, split.test_ids


def _eer(vectors, ids):
    return metric_learning.evaluate(vectors, ids).eer


def test_normalised_eer_right_answers_pass(dlib_vectors):
    vectors, ids = dlib_vectors
    assert check.normalised_eer(_eer(metric_learning.unit_length(vectors), ids), vectors, ids)
    # another way: cosine distance ranks pairs like Euclidean distance between unit vectors
    from scipy.spatial.distance import pdist

    from course.metrics import equal_error_rate
    cosine = pdist(vectors, "cosine")
    first, second = np.triu_indices(len(ids), k=1)
    same = ids[first] == ids[second]
    assert check.normalised_eer(equal_error_rate(cosine[same], cosine[~same])[0], vectors, ids)
    assert check.normalised_eer(np.float32(_eer(metric_learning.unit_length(vectors), ids)), vectors, ids)
    # a one-element array is one number too
    assert check.normalised_eer(np.array(_eer(metric_learning.unit_length(vectors), ids)), vectors, ids)
    assert check.normalised_eer(np.array([_eer(metric_learning.unit_length(vectors), ids)]), vectors, ids)


def test_normalised_eer_typical_mistakes(dlib_vectors):
    vectors, ids = dlib_vectors
    right = _eer(metric_learning.unit_length(vectors), ids)
    raw = metric_learning.evaluate(vectors, ids)
    by_column = vectors / np.linalg.norm(vectors, axis=0, keepdims=True)
    unit = metric_learning.evaluate(metric_learning.unit_length(vectors), ids)
    cases = [
        (None, "still None"),
        ("0.027", "should be a number"),
        (True, "should be a number"),
        (raw.eer, "raw vectors"),
        (_eer(by_column, ids), "each column"),
        (unit.threshold, "a threshold"),
        (1 - right, "SIMILARITY"),
        (right * 100, "percentage"),
        (right + 0.01, "Not the EER"),
        (round(right, 2), "rounded"),
        ((right, unit.threshold), "store only the first"),
        (float("nan"), "not a finite number"),
    ]
    for answer, hint in cases:
        feedback = check.normalised_eer(answer, vectors, ids)
        assert not feedback, answer
        assert hint in feedback.message, (answer, feedback.message)
