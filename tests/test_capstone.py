"""Lesson 06: the vendor's service really has each flaw, and a fixed configuration does not. Expected values are
computed from the data, never stored. (The exercise checks are tested in tests/test_checks_lesson06.py.)"""

from __future__ import annotations

import pytest

from course import capstone, data, metrics, scrapelab
from course.checks import lesson06 as check


@pytest.fixture(scope="module")
def people():
    return data.load("synthetic-people", check=False)


@pytest.fixture(scope="module")
def groups():
    return data.load("synthetic-groups", check=False)


@pytest.fixture(scope="module")
def splits(people):
    return (check.split_pairs(people, capstone.DEV_IDENTITIES), check.split_pairs(people, capstone.TEST_IDENTITIES))


@pytest.fixture(scope="module")
def calibrated(splits):
    (_, dev_impostor), _ = splits
    return metrics.threshold_for_fmr(dev_impostor, capstone.TARGET_FMR)


@pytest.fixture(scope="module")
def site():
    with scrapelab.SocialNetwork(seed=6, n_people=10) as running:
        yield running


def vendor_of(people, groups, config=capstone.VENDOR_CONFIG):
    return capstone.vendor_service(seed=0, config=config, people=people, groups=groups)


@pytest.fixture(scope="module")
def person(people, groups):
    """Someone the service finds by a new photo (7 in the current data), as the notebook chooses."""
    return capstone.findable_person(vendor_of(people, groups), people, groups)


# ------------------------------------------------------------------ the flaws are real


def test_documentation_makes_the_four_claims():
    text = capstone.DOCUMENTATION
    for claim in ("99.6% accurate", "deletion removes all your data", "We respect robots.txt",
                  "works equally well for everyone"):
        assert claim in text
    assert set(capstone.report_template()) == set(check.FINDINGS)


def test_vendor_threshold_gives_many_false_matches_and_calibration_fixes_it(splits, calibrated):
    _, (test_genuine, test_impostor) = splits
    vendor_fmr, _ = metrics.fmr_fnmr(test_genuine, test_impostor, [capstone.VENDOR_CONFIG.threshold])
    fixed_fmr, _ = metrics.fmr_fnmr(test_genuine, test_impostor, [calibrated])
    assert capstone.VENDOR_CONFIG.threshold == 0.6
    assert vendor_fmr[0] > 20 * capstone.TARGET_FMR  # far from what the population needs
    assert fixed_fmr[0] < 5 * capstone.TARGET_FMR  # the calibrated threshold transfers to held-out people
    assert capstone.fixed_config(calibrated).threshold == pytest.approx(calibrated)


def test_vendor_delete_leaves_index_and_backups_and_restore_brings_person_back(people, groups, person):
    vendor = vendor_of(people, groups)
    probe = capstone.held_out_embedding(vendor, person, people, groups)
    assert vendor.search(probe, k=1)[0].person == person
    message = vendor.delete(person)
    assert "all data" in message
    left = vendor.service.find(person)
    assert left["photos"] == left["embeddings"] == 0
    assert left["index"] > 0 and left["backups"] > 0 and left["index_centroids"] > 0
    assert all(c.person != person for c in vendor.search(probe, k=5))  # invisible to a customer
    vendor.restore_backup()
    assert vendor.search(probe, k=1)[0].person == person


def test_fixed_delete_leaves_nothing_and_restore_keeps_person_out(people, groups, calibrated, person):
    fixed = vendor_of(people, groups, capstone.fixed_config(calibrated))
    probe = capstone.held_out_embedding(fixed, person, people, groups)
    fixed.delete(person)
    assert not any(fixed.service.find(person).values())
    fixed.restore_backup()
    assert not any(fixed.service.find(person).values())
    assert all(c.person != person for c in fixed.search(probe, k=5))


def test_vendor_crawler_ignores_robots_and_opt_outs_and_fixed_one_does_not(site):
    report = capstone.IngestionCrawler().crawl(site.url)
    evidence = check.crawler_log_evidence(site, capstone.VENDOR_AGENT)
    assert evidence["read_robots_txt"]
    assert evidence["disallowed_requests"] > 0 and evidence["opted_out_photos"] > 0
    assert not report.skipped or set(report.skipped.values()) == {"HTTP 403"}
    agent = "CompliantPinpoint/1.0"
    config = capstone.fixed_config(0.4)
    compliant = capstone.IngestionCrawler(agent, respect_robots=config.crawler_respects_robots,
                                          respect_opt_outs=config.crawler_respects_opt_outs)
    fixed_report = compliant.crawl(site.url)
    fixed_evidence = check.crawler_log_evidence(site, agent)
    assert fixed_evidence == {"read_robots_txt": True, "disallowed_requests": 0, "opted_out_photos": 0}
    assert 0 < len(fixed_report.photos) < len(report.photos)
    assert max(site.log.status_counts().keys()) < 429  # it keeps to the rate: never throttled


def test_crawler_refuses_anything_but_the_local_lab():
    with pytest.raises(ValueError):
        capstone.IngestionCrawler().crawl("https://example.org")


def test_vendor_threshold_has_a_demographic_gap(groups):
    rows = {r.group: r for r in check.expected_group_rates(groups, capstone.VENDOR_CONFIG.threshold)}
    assert set(rows) == {"group A", "group B"}
    assert rows["group B"].fmr > rows["group A"].fmr
    assert rows["group B"].low > rows["group A"].high  # the intervals do not overlap


def test_gallery_mixes_both_data_sets(people, groups):
    vendor = vendor_of(people, groups)
    kinds = {group or dataset for dataset, group in vendor.gallery.values()}
    assert kinds == {"synthetic-people", "group A", "group B"}
    assert not set(vendor.held_out) - set(vendor.gallery)
