"""Tests of lesson 01's exercise checks: right answers written differently pass, typical wrong answers fail with their own hint."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from sklearn.neighbors import NearestNeighbors

from course.checks import lesson01 as check


# ----------------------------------------------------------------------------- exercise 1: LFW's consent section

RIGHT_LFW = {"where_from": check.LFW_SOURCES[0], "notified": False, "consented": False}


@pytest.mark.parametrize("answer", [
    RIGHT_LFW,
    {"consented": np.False_, "notified": np.bool_(False), "where_from": "News photographs."},  # numpy bools, other case
    dict(where_from="  news   photographs", notified=False, consented=False, note="Yahoo News, 2002-2003"),
])
def test_lfw_right_answers_pass(answer, capsys):
    assert check.lfw_consent_section(answer)
    assert capsys.readouterr().out.startswith("✅")


@pytest.mark.parametrize("answer, hint", [
    ({**RIGHT_LFW, "notified": "no"}, "use True/False"),  # reported: got a factual correction instead
    ({**RIGHT_LFW, "consented": "False"}, "use True/False"),
    ({**RIGHT_LFW, "consented": 0}, "use True/False"),
    ({**RIGHT_LFW, "consented": True}, "consented: the people pictured were not asked"),
    ({**RIGHT_LFW, "notified": True}, "notified: nothing in LFW's publications"),
    ({**RIGHT_LFW, "where_from": check.LFW_SOURCES[1]}, "that is MegaFace"),
    ({**RIGHT_LFW, "where_from": check.LFW_SOURCES[2]}, "MS-Celeb-1M"),
    ({**RIGHT_LFW, "where_from": check.LFW_SOURCES[3]}, "nobody volunteered"),
    ({**RIGHT_LFW, "where_from": "news photograph"}, "Did you mean 'news photographs'"),
    ({**RIGHT_LFW, "where_from": "scraped from the web"}, "is not one of the options"),
    ({**RIGHT_LFW, "where_from": None}, "should be one of the options"),
    ({"where_from": check.LFW_SOURCES[0], "notified": False, "consent": False}, "it has ['consent']"),
    ({"where_from": "news"}, "missing"),
    ([check.LFW_SOURCES[0], False, False], "Answer with a dict"),
    (None, "You have not set lfw_consent yet"),
])
def test_lfw_typical_mistakes(answer, hint, capsys):
    feedback = check.lfw_consent_section(answer)
    assert not feedback and hint in feedback.message
    assert capsys.readouterr().out.startswith("❌")


def test_a_type_slip_is_named_before_any_content_mistake():
    feedback = check.lfw_consent_section({"where_from": check.LFW_SOURCES[3], "notified": "no", "consented": True})
    assert "use True/False" in feedback.message and "volunteer" not in feedback.message


# ----------------------------------------------------------------------------- exercise 2: nearest neighbour

@pytest.fixture(scope="module")
def nn_case():
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(5, 4))
    gallery_ids = np.array([10, 11, 12, 13, 14])
    probes = gallery[[2, 0, 4, 4]] + 0.01 * rng.normal(size=(4, 4))
    return gallery, gallery_ids, probes


def _nearest_ids(gallery, gallery_ids, probes):
    return gallery_ids[((probes[:, None] - gallery[None]) ** 2).sum(axis=2).argmin(axis=1)]


def _loop(gallery, gallery_ids, probes):
    out = []
    for probe in probes:
        out.append(gallery_ids[int(np.argmin(np.linalg.norm(gallery - probe, axis=1)))])
    return out  # a list, not an array


def _blas(gallery, gallery_ids, probes):
    d = (probes ** 2).sum(1)[:, None] + (gallery ** 2).sum(1)[None] - 2 * probes @ gallery.T
    return gallery_ids[d.argmin(1)]


def _sklearn(gallery, gallery_ids, probes):
    return gallery_ids[NearestNeighbors(n_neighbors=1).fit(gallery).kneighbors(probes)[1][:, 0]]


@pytest.mark.parametrize("identify", [
    _nearest_ids, _loop, _blas, _sklearn,
    lambda g, ids, p: ids[cdist(p, g).argmin(axis=1)],
])
def test_nearest_neighbour_right_answers_written_differently(nn_case, identify):
    assert check.nearest_neighbour_ids(identify, *nn_case)


def test_a_tie_broken_the_other_way_is_still_right():
    gallery = np.array([[0.0, 1.0], [0.0, -1.0], [5.0, 5.0]])
    probes = np.array([[0.0, 0.0], [5.0, 4.9]])  # the first probe is equally near identities 7 and 8
    ids = np.array([7, 8, 9])
    last_of_ties = lambda g, i, p: i[len(g) - 1 - cdist(p, g)[:, ::-1].argmin(axis=1)]  # noqa: E731
    assert check.nearest_neighbour_ids(last_of_ties, gallery, ids, probes)


def _raise(*_):
    raise NotImplementedError("Exercise: stub")


@pytest.mark.parametrize(
    "identify, hint",
    [
        (lambda g, ids, p: None, "forget `return`"),
        (lambda g, ids, p: ((p[:, None] - g[None]) ** 2).sum(axis=2).argmin(axis=1), "positions in the gallery"),
        (lambda g, ids, p: ids[((p[:, None] - g[None]) ** 2).sum(axis=2).argmax(axis=1)], "farthest"),
        (lambda g, ids, p: ids[:2], "one identity per probe"),
        (lambda g, ids, p: ids[((p[:, None] - g[None]) ** 2).sum(axis=2).argmin(axis=0)], "one identity per probe"),
        (lambda g, ids, p: ((p[:, None] - g[None]) ** 2).sum(axis=2), "one identity per probe"),
        (lambda g, ids, p: np.full(len(p), ids[0]), "agree with nearest-neighbour identification on"),
        (lambda g, ids, p: ((p[:, None] - g[None]) ** 2).sum(axis=2).min(axis=1), "agree with nearest-neighbour"),
        (np.array([12, 10, 14, 14]), "Pass the function itself"),
        (lambda g, ids, p: [ids[:1], ids[:2]], "Return one identity per probe"),  # ragged: no crash in np.asarray
    ],
)
def test_nearest_neighbour_ids_typical_mistakes(nn_case, identify, hint):
    feedback = check.nearest_neighbour_ids(identify, *nn_case)
    assert not feedback and hint in feedback.message


def test_an_unfinished_stub_is_named_and_still_stops_the_cell(nn_case, capsys):
    with pytest.raises(NotImplementedError):
        check.nearest_neighbour_ids(_raise, *nn_case)
    assert "The exercise is not done yet" in capsys.readouterr().out


def _index_error(g, ids, p):
    return ids[((p[:, None] - g[None]) ** 2).sum(axis=2).argmin(axis=1) + len(g)]


def _value_error(g, ids, p):
    return ids[np.linalg.norm(g - p, axis=1).argmin()]  # forgot the loop over probes: 5 gallery rows - 4 probes


@pytest.mark.parametrize("identify, error", [(_index_error, "IndexError"), (_value_error, "ValueError")])
def test_an_error_in_the_learners_function_is_named_not_a_traceback(nn_case, identify, error, capsys):
    # reported: the check let the learner's exception through as a raw traceback
    feedback = check.nearest_neighbour_ids(identify, *nn_case)
    assert not feedback and f"Your function raised {error}" in feedback.message
    assert capsys.readouterr().out.startswith("❌")


def _with_the_notebooks_variables(nn_case):
    """Functions as a learner may write them, reading the lesson's arrays (``nn_case``) instead of their arguments."""
    gallery, gallery_ids, probes = nn_case
    return [
        (lambda g, ids, p: ids[((probes[:, None] - g[None]) ** 2).sum(axis=2).argmin(axis=1)],
         "instead of its argument probe_vectors"),
        (lambda g, ids, p: _nearest_ids(gallery, gallery_ids, p), "instead of its arguments gallery_vectors"),
        (lambda g, ids, p: _nearest_ids(gallery, gallery_ids, probes), "instead of its argument probe_vectors"),
    ]


@pytest.mark.parametrize("number", range(3))
def test_a_function_that_ignores_its_arguments_is_caught(nn_case, number):
    # reported: a function that used the notebook's globals got ✅, since the check always passed the lesson's arrays
    identify, hint = _with_the_notebooks_variables(nn_case)[number]
    feedback = check.nearest_neighbour_ids(identify, *nn_case)
    assert not feedback and hint in feedback.message
    assert "Right on the lesson's gallery, but on a smaller call" in feedback.message


def test_nearest_neighbour_ids_catches_positions_when_ids_equal_positions():
    # as in lesson 01: identity k sits at gallery position k, so only a reordered gallery exposes the slip
    rng = np.random.default_rng(1)
    gallery = rng.normal(size=(6, 3))
    probes = gallery[[5, 1, 3]] + 0.01 * rng.normal(size=(3, 3))
    positions = lambda g, ids, p: ((p[:, None] - g[None]) ** 2).sum(axis=2).argmin(axis=1)  # noqa: E731
    feedback = check.nearest_neighbour_ids(positions, gallery, np.arange(6), probes)
    assert not feedback and "positions in the gallery" in feedback.message
    assert check.nearest_neighbour_ids(_nearest_ids, gallery, np.arange(6), probes)
