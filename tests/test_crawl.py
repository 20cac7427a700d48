"""The two crawlers, the face-search pipeline on their loot, and lesson 05's exercise checks."""

from __future__ import annotations

import re

import numpy as np
import pytest

from course.checks import lesson05 as check
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
    assert check.polite_crawler(site, crawl.POLITE_AGENT)


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


def test_check_names_what_the_impolite_crawler_did(site, impolite, capsys):
    feedback = check.polite_crawler(site, crawl.BROWSER_AGENT)
    assert not feedback
    message = feedback.message
    for phrase in ("first request", "robots.txt disallows", "opted out", "login wall", "Retry-After"):
        assert phrase in message, phrase
    assert "❌" in capsys.readouterr().out


def test_check_catches_a_crawler_that_is_polite_but_too_fast(site):
    agent = "Hasty/1.0 (tests)"
    for path in ["/robots.txt", "/"] + [p.path for p in site.members("public")] * 3:  # ~44 requests at once
        crawl.fetch(site.url + path, agent)  # answers 429 past the limit; the log keeps every request
    feedback = check.polite_crawler(site, agent)
    assert not feedback and "requests in one second" in feedback.message


def test_check_reads_the_crawlers_result_too(site, polite):
    names = {path: profile.name for path, profile in polite.profiles.items()}
    assert check.polite_crawler(site, crawl.POLITE_AGENT, names)
    opted = site.members("opted_out")[0]
    feedback = check.polite_crawler(site, crawl.POLITE_AGENT, {**names, opted.path: opted.name})
    assert not feedback and f"your result lists {opted.name}" in feedback.message
    assert "return a dict" in check.polite_crawler(site, crawl.POLITE_AGENT, list(names)).message
    as_urls = {site.url + path: name for path, name in {**names, opted.path: opted.name}.items()}
    assert f"your result lists {opted.name}" in check.polite_crawler(site, crawl.POLITE_AGENT, as_urls).message


def test_check_judges_only_the_latest_run(site):
    agent = "SecondTry/1.0 (tests)"
    opted = site.members("opted_out")[0]
    crawl.fetch(site.url + "/robots.txt", agent)
    crawl.fetch(site.url + f"/photos/{opted.slug}/0.jpg", agent)  # a first, careless attempt
    assert "opted out" in check.polite_crawler(site, agent).message
    since = len(site.log)
    result = crawl.polite_crawl(site.url, agent=agent, photos=False)  # the corrected crawler, same name
    names = {path: profile.name for path, profile in result.profiles.items()}
    assert check.polite_crawler(site, agent, names, since=since)


def test_check_catches_the_default_user_agent(site):
    feedback = check.polite_crawler(site, "Python-urllib/3.11")
    assert not feedback and "User-Agent" in feedback.message
    assert not check.polite_crawler(site, "NeverSeen/1.0")


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


# --------------------------------------------------------------------------- the other checks


def test_consent_filter_check():
    records = check.consent_exercise_records()
    right = [r for r in records if check.covers_face_recognition(r)]
    assert [r["id"] for r in right] == ["plaza-3", "own-ana", "synthetic-12"]
    assert check.consent_filter(right, records)
    assert check.consent_filter([r["id"] for r in right], records)
    public = check.consent_filter(right + [records[5]], records)
    assert not public and "public is not consent" in public.message
    london = check.consent_filter(right + [records[1]], records)
    assert not london and "does not name face recognition" in london.message
    withdrawn = check.consent_filter(right + [records[4]], records)
    assert not withdrawn and "withdrew" in withdrawn.message
    synthetic = check.consent_filter([r for r in right if r["source"] != "synthetic"], records)
    assert not synthetic and "nobody to ask" in synthetic.message
    assert not check.consent_filter(None, records)
    assert not check.consent_filter(["nope"], records)


GOOD_LETTER = """To the Data Protection Officer,
My name is Ana Example. Photos of me were copied from my profile https://plaza.example/people/ana-example.
Under Article 17 of the GDPR I ask you to erase all photos of me and every face embedding or biometric template
computed from them, and to stop collecting my photos. Please confirm in writing without undue delay, and at the
latest within one month of this letter.
"""


def test_deletion_request_check():
    assert check.deletion_request(GOOD_LETTER)
    photos_only = GOOD_LETTER.replace("and every face embedding or biometric template\ncomputed from them, ", "")
    feedback = check.deletion_request(photos_only)
    assert not feedback and "embeddings" in feedback.message
    no_article = check.deletion_request(GOOD_LETTER.replace("Article 17 of the GDPR", "the GDPR"))
    assert not no_article and "Article 17" in no_article.message
    no_deadline = check.deletion_request(GOOD_LETTER.replace(
        "without undue delay, and at the\nlatest within one month of this letter", "soon"))
    assert not no_deadline and "deadline" in no_deadline.message
    assert check.deletion_request(GOOD_LETTER.replace("Article 17 of the GDPR", "Illinois BIPA"))
    assert not check.deletion_request("Please delete my data.")
    assert not check.deletion_request(42)
    nameless = re.sub(r"My name is [^.]*\.", "I am writing about my photos.", GOOD_LETTER)
    assert nameless != GOOD_LETTER
    feedback = check.deletion_request(nameless)
    assert not feedback and "who you are" in feedback.message
    assert "who you are" in check.deletion_request(nameless.replace("I am writing", "I am Concerned")).message
    for named in ("I'm Alex Sample.", "my name is alex sample."):
        assert check.deletion_request(nameless.replace("I am writing about my photos.", named)), named
    assert check.deletion_request(nameless + "\nAlex Sample\n")  # signed at the end


def test_position_statement_check():
    sources = {"ico": "https://ico.example/clearview", "cnil": "https://cnil.example/clearview",
               "hiq": "https://court.example/hiq"}
    body = ("I argue that scraping faces for a search engine should be banned outright, whatever robots.txt "
            "says, because the people in the photos never agreed and cannot realistically object. ") * 3
    good = body + "Regulators agreed: [ico] and [cnil]."
    assert check.position_statement(good, sources)
    assert check.position_statement(body + "Regulators agreed: [ICO] and [Cnil].", sources)  # keys in any case
    one = check.position_statement(body + "See [ico].", sources)
    assert not one and "cites 1" in one.message
    neutral = ("Scraping is a practice with many aspects and there are views on each side of it. " * 6
               + "[ico] [cnil]")
    assert not check.position_statement(neutral, sources)
    short = check.position_statement("I argue it should be banned [ico] [cnil].", sources)
    assert not short and "80" in short.message
    assert check.position_statement(good + " Fines could reach 1.50 billion dollars.", sources)
    unconfirmed = check.position_statement(good + " They hold 60 billion images.", sources)
    assert not unconfirmed and "UNCONFIRMED" in unconfirmed.message
