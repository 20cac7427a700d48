"""The two crawlers and the face-search pipeline on their loot (lesson 05's checks: tests/test_checks_lesson05.py)."""

from __future__ import annotations

import numpy as np
import pytest

from course import crawl, scrapelab
from course.provenance import require_provenance


@pytest.fixture(scope="module")
def site():
    with scrapelab.SocialNetwork(seed=7, n_people=20, rate_limit=30, time_limit=300) as s:
        yield s


@pytest.fixture(scope="module")
def polite(site):
    return crawl.polite_crawl(site.url)


@pytest.fixture(scope="module")
def impolite(site, polite):  # after the polite crawl, so the two never overlap
    return crawl.impolite_crawl(site.url)


# --------------------------------------------------------------------------- the polite crawler


def test_polite_crawler_collects_only_permitted_profiles(site, polite):
    assert set(polite.profiles) == {p.path for p in site.members("public")}
    for person in site.members("public"):
        profile = polite.profiles[person.path]
        assert profile.name == person.name
        assert profile.friends == [site.people[j].path for j in person.friends]
    assert {polite.skipped[p.path] for p in site.members("opted_out")} == {"opted out (noindex/noai)"}
    assert {polite.skipped[p.path] for p in site.members("private")} == {"private (login wall)"}
    assert all(reason == "disallowed by robots.txt" for path, reason in polite.skipped.items()
               if path.startswith("/albums/"))


def test_polite_crawler_behaves_in_the_access_log(site, polite):
    entries = site.log.entries(crawl.POLITE_AGENT)
    assert entries[0].path == "/robots.txt"
    assert polite.statuses[429] == 0 and all(e.status != 429 for e in entries)
    assert not any(e.path.startswith("/albums/") for e in entries)
    gaps = np.diff([e.time for e in entries])
    per, seconds = scrapelab.REQUEST_RATE
    assert np.median(gaps) >= 0.9 * seconds / per


def test_polite_crawler_photos_carry_honest_provenance(site, polite):
    opted_or_private = {p.identity_seed for p in site.people if p.visibility != "public"}
    portraits = [ph for ph in polite.photos.values() if ph.kind == "portrait"]
    groups = [ph for ph in polite.photos.values() if ph.kind == "group"]
    assert len(portraits) == len(groups) == len(site.members("public"))
    for photo in polite.photos.values():
        for record in photo.records:
            require_provenance(record)
            assert record["page"] == photo.page and record["photo"] == photo.path
    # portraits are of public members only; group photos may show private friends (the lesson's point)
    assert not any(ph.records[0]["identity_seed"] in opted_or_private for ph in portraits)
    sample = portraits[0]
    assert sample.data == scrapelab.photo_bytes(sample.records[0]["identity_seed"], sample.records[0]["view_seed"])


def test_polite_crawler_waits_for_retry_after():
    """With a tight server limit it meets 429s, waits as told, and still finishes."""
    with scrapelab.SocialNetwork(seed=3, n_people=4, rate_limit=3, time_limit=60) as s:
        result = crawl.polite_crawl(s.url, agent="Tight/1.0", photos=False)
        assert result.statuses[429] >= 1
        assert set(result.profiles) == {p.path for p in s.members("public")}
        entries = s.log.entries("Tight/1.0")
        for before, after in zip(entries, entries[1:]):
            if before.status == 429:
                assert after.time - before.time >= scrapelab.RETRY_AFTER - 0.05


def test_crawlers_stop_at_max_requests(site):
    assert crawl.impolite_crawl(site.url, max_requests=5).requests == 5


# --------------------------------------------------------------------------- the impolite crawler


def test_impolite_crawler_collects_more_and_triggers_429(site, polite, impolite):
    assert impolite.statuses[429] > 0
    assert set(impolite.profiles) == {p.path for p in site.people if p.visibility != "private"}
    assert len(impolite.photos) > len(polite.photos)
    entries = site.log.entries(crawl.BROWSER_AGENT)
    assert any(e.path.startswith("/albums/") for e in entries)
    private = site.members("private")[0]
    assert any(e.path.startswith(f"/photos/{private.slug}/") and e.status == 403 for e in entries)


# --------------------------------------------------------------------------- the face search pipeline


def test_face_search_finds_a_member_from_a_new_photo():
    with scrapelab.SocialNetwork(seed=7, n_people=6, time_limit=60) as small:
        result = crawl.polite_crawl(small.url)
        index = crawl.build_face_index(result)
        members = small.members("public")
        probes = []
        for p in members[:3]:
            try:
                probes.append(crawl.probe_photo(small, p.slug))
            except RuntimeError:  # the detector misses this person in every view: counts as not found
                probes.append(None)
    assert len(index) > len(members)  # group photos add faces
    assert index.vectors.shape[1] == 128 and np.isfinite(index.vectors).all()
    for record in index.records:
        require_provenance(record)
        assert record["name_on_page"] and record["page"].startswith("/people/")
    found = 0
    for person, probe in zip(members, probes):
        if probe is None:
            continue
        hits = crawl.search_face(index, *probe, k=3)
        found += bool(hits) and hits[0].identity_seed == person.identity_seed
        assert all(h.distance < 0.6 for h in hits)
    assert found >= 2
