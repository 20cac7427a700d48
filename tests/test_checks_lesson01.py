"""Tests of lesson 01's exercise checks: right answers written differently pass, typical wrong answers fail with their own hint."""

from __future__ import annotations

import numpy as np
import pytest


from course.checks import lesson01 as check


@pytest.fixture(scope="module")
def nn_case():
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(5, 4))
    gallery_ids = np.array([10, 11, 12, 13, 14])
    probes = gallery[[2, 0, 4, 4]] + 0.01 * rng.normal(size=(4, 4))
    return gallery, gallery_ids, probes


def _nearest_ids(gallery, gallery_ids, probes):
    return gallery_ids[((probes[:, None] - gallery[None]) ** 2).sum(axis=2).argmin(axis=1)]


def test_nearest_neighbour_ids_right_answer(nn_case):
    assert check.nearest_neighbour_ids(_nearest_ids, *nn_case)


@pytest.mark.parametrize(
    "identify, hint",
    [
        (lambda g, ids, p: None, "forget `return`"),
        (lambda g, ids, p: ((p[:, None] - g[None]) ** 2).sum(axis=2).argmin(axis=1), "positions in the gallery"),
        (lambda g, ids, p: ids[((p[:, None] - g[None]) ** 2).sum(axis=2).argmax(axis=1)], "farthest"),
        (lambda g, ids, p: ids[:2], "one identity per probe"),
        (lambda g, ids, p: np.full(len(p), ids[0]), "agree with nearest-neighbour identification on"),
        (np.array([12, 10, 14, 14]), "Pass the function itself"),
    ],
)
def test_nearest_neighbour_ids_typical_mistakes(nn_case, identify, hint):
    feedback = check.nearest_neighbour_ids(identify, *nn_case)
    assert not feedback and hint in feedback.message


def test_nearest_neighbour_ids_catches_positions_when_ids_equal_positions():
    # as in lesson 01: identity k sits at gallery position k, so only a reordered gallery exposes the slip
    rng = np.random.default_rng(1)
    gallery = rng.normal(size=(6, 3))
    probes = gallery[[5, 1, 3]] + 0.01 * rng.normal(size=(3, 3))
    positions = lambda g, ids, p: ((p[:, None] - g[None]) ** 2).sum(axis=2).argmin(axis=1)  # noqa: E731
    feedback = check.nearest_neighbour_ids(positions, gallery, np.arange(6), probes)
    assert not feedback and "positions in the gallery" in feedback.message
    assert check.nearest_neighbour_ids(_nearest_ids, gallery, np.arange(6), probes)


def test_lfw_consent_section():
    right = {"where_from": "Yahoo News photos", "notified": False, "consented": False}
    assert check.lfw_consent_section(right)
    assert "news" in check.lfw_consent_section({**right, "where_from": "volunteers in a lab"}).message
    assert "consented" in check.lfw_consent_section({**right, "consented": True}).message
    assert "missing" in check.lfw_consent_section({"where_from": "news"}).message
