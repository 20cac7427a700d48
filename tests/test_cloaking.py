"""Cloaking against dlib (course.cloaking): deterministic, within budget, lowers the match rate; SSIM."""

from __future__ import annotations

import numpy as np
import pytest

from course import cloaking, embed, faces
from course.errors import ProvenanceError


@pytest.fixture(scope="module")
def person():
    """Two renders of one synthetic person: the photo to cloak and the enrolled one (its vector)."""
    rendered = faces.synthetic_faces(1, 2, seed=0, size=256)
    enrolled = embed.encode_face(rendered.images[1], rendered.provenance[1]).vector
    return rendered.images[0], rendered.provenance[0], enrolled


@pytest.fixture(scope="module")
def short_search(person):
    photo, record, enrolled = person
    return cloaking.find_cloak(photo, record, enrolled, budget=8, max_queries=10, seed=1)


def test_the_search_is_deterministic_and_stays_within_budget(person, short_search):
    photo, record, enrolled = person
    again = cloaking.find_cloak(photo, record, enrolled, budget=8, max_queries=10, seed=1)
    assert np.array_equal(again.signs, short_search.signs)
    assert again.record == short_search.record and again.distance == short_search.distance
    cloaked = cloaking.perturb(photo, short_search.signs, 8)
    assert np.abs(cloaked.astype(int) - photo).max() == 8
    assert short_search.queries == 10
    # It only keeps changes that push the embedding away (chip distance, as the search measures it).
    assert short_search.distance > short_search.start_distance
    other = cloaking.find_cloak(photo, record, enrolled, budget=8, max_queries=3, seed=2)
    assert not np.array_equal(other.signs, short_search.signs)


def test_the_record_rebuilds_the_cloak(person, short_search):
    photo, record, _ = person
    entry = short_search.record
    assert entry["budget"] == 8 and entry["grid"] == 32 and entry["method"] == cloaking.METHOD
    rebuilt = cloaking.apply_cloak(photo, entry)
    assert np.array_equal(rebuilt, cloaking.perturb(photo, short_search.signs, 8))
    # The guard accepts the cloaked photo with its record: embedding it works.
    embed.encode_face(rebuilt, cloaking.cloaked_provenance(record, entry))


def test_saved_cloaks_lower_the_match_rate():
    saved = cloaking.load_cloaks()
    assert "benchmark_defences.py" in saved["made_by"] and "synthetic" in saved["faces"]
    study = cloaking.cloak_study(3, saved=saved["cloaks"], seed=saved["seed"], size=saved["size"])
    assert study.match_rate("before") == 1.0
    assert study.match_rate("after") < study.match_rate("before")
    # The search does more than add noise: the same budget of random offsets hides fewer of them.
    assert study.match_rate("after") < study.match_rate("random_pattern")
    assert "random pattern, same budget" in study.table()
    for p in study.people:
        assert p.after > p.before
        assert p.linf <= study.budget <= cloaking.MAX_BUDGET
        assert 0.5 < p.ssim < 1.0


@pytest.mark.parametrize("budget", [0, 17, 2.5, True])
def test_bad_budget_is_refused(person, budget):
    photo, record, enrolled = person
    with pytest.raises(ValueError, match="budget"):
        cloaking.find_cloak(photo, record, enrolled, budget=budget)


def test_bad_search_input_is_refused(person):
    photo, record, enrolled = person
    with pytest.raises(ValueError, match="128-d"):
        cloaking.find_cloak(photo, record, enrolled[:64])
    with pytest.raises(ValueError, match="128-d"):
        cloaking.find_cloak(photo, record, np.full(128, np.nan))
    with pytest.raises(ValueError, match="max_queries"):
        cloaking.find_cloak(photo, record, enrolled, max_queries=0)
    with pytest.raises(ValueError, match="grid"):
        cloaking.find_cloak(photo, record, enrolled, grid=30)
    with pytest.raises(ProvenanceError):
        cloaking.find_cloak(photo, None, enrolled)
    with pytest.raises(ValueError, match="n_people"):
        cloaking.cloak_study(0)


def test_signs_round_trip_and_bad_signs():
    signs = np.random.default_rng(4).choice(np.array([-1, 1], np.int8), size=(8, 8, 3))
    assert np.array_equal(cloaking.decode_signs(cloaking.encode_signs(signs), 8), signs)
    with pytest.raises(ValueError, match="hold 192 bits, a 9 x 9 grid needs 243"):
        cloaking.decode_signs(cloaking.encode_signs(signs), 9)
    with pytest.raises(ValueError, match="not a hex string"):
        cloaking.decode_signs("xyz", 8)


def test_ssim_is_one_for_the_same_image_and_falls_with_noise():
    image = faces.synthetic_faces(1, 1, seed=5, size=64).images[0]
    assert cloaking.ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(0)
    scores = [cloaking.ssim(image, np.clip(image + rng.normal(0, sd, image.shape), 0, 255)) for sd in (2, 8, 32)]
    assert 1.0 > scores[0] > scores[1] > scores[2]
    # A uniform shift of brightness changes SSIM far less than noise of the same size.
    assert cloaking.ssim(image, np.clip(image.astype(int) + 8, 0, 255)) > scores[1]


def test_ssim_bad_input():
    a = np.zeros((8, 8, 3))
    with pytest.raises(ValueError, match="same shape"):
        cloaking.ssim(a, np.zeros((8, 9, 3)))
    b = a.copy()
    b[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cloaking.ssim(a, b)
