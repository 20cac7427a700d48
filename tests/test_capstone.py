"""Lesson 06: the vendor's service really has each flaw, a fixed configuration does not, and the checks
accept right answers and name typical wrong ones. Expected values are computed from the data, never stored."""

from __future__ import annotations

import numpy as np
import pytest

from course import capstone, data, fairness, metrics, scrapelab
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
    vendor = vendor_of(people, groups)
    for candidate in [7, *sorted(vendor.held_out)]:
        if candidate in vendor.held_out:
            hits = vendor.search(capstone.held_out_embedding(vendor, candidate, people, groups), k=1)
            if hits and hits[0].person == candidate:
                return candidate
    pytest.fail("the service finds nobody by a new photo")


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


# ------------------------------------------------------------------ the checks


def threshold_answer(splits, threshold, calibrated, *, report_on=None):
    (dev_g, dev_i), (test_g, test_i) = splits
    g, i = report_on or (test_g, test_i)
    vf, vn = metrics.fmr_fnmr(test_g, test_i, [threshold])
    cf, cn = metrics.fmr_fnmr(g, i, [calibrated])
    return {"vendor_fmr": vf[0], "vendor_fnmr": vn[0], "calibrated_threshold": calibrated,
            "calibrated_fmr": cf[0], "calibrated_fnmr": cn[0]}


def test_threshold_check(people, splits, calibrated, capsys):
    right = threshold_answer(splits, 0.6, calibrated)
    assert check.threshold_audit(right, people, 0.6)
    swapped = {**right, "vendor_fmr": right["vendor_fnmr"], "vendor_fnmr": right["vendor_fmr"]}
    assert "swapped" in check.threshold_audit(swapped, people, 0.6).message
    assert "percentages" in check.threshold_audit({k: 100 * v for k, v in right.items()}, people, 0.6).message
    on_dev = threshold_answer(splits, 0.6, calibrated, report_on=splits[0])
    if not (check._fmr_close(on_dev["calibrated_fmr"], right["calibrated_fmr"])
            and check._close(on_dev["calibrated_fnmr"], right["calibrated_fnmr"])):  # else indistinguishable
        assert "development split's" in check.threshold_audit(on_dev, people, 0.6).message
    (_, dev_i), (_, test_i) = splits
    on_test = metrics.threshold_for_fmr(test_i, capstone.TARGET_FMR)
    if abs(on_test - calibrated) > 1e-9:
        answer = threshold_answer(splits, 0.6, on_test)
        assert "test split" in check.threshold_audit(answer, people, 0.6).message
    too_loose = metrics.threshold_for_fmr(dev_i, 10 * capstone.TARGET_FMR)
    assert "target" in check.threshold_audit(threshold_answer(splits, 0.6, too_loose), people, 0.6).message
    assert not check.threshold_audit([0.1, 0.2], people, 0.6)


def test_deletion_check(people, groups, person, capsys):
    vendor = vendor_of(people, groups)
    probe = capstone.held_out_embedding(vendor, person, people, groups)
    vendor.delete(person)
    kw = dict(people=people, groups=groups)
    right = {"stores_with_residue": ["index", "backups", "index_centroids"], "found_after_restore": True}
    assert check.deletion_residue(right, vendor, person, probe, **kw)
    trusting = check.deletion_residue({"stores_with_residue": [], "found_after_restore": False},
                                      vendor, person, probe, **kw)
    assert not trusting and "confirmation" in trusting.message and "restore" in trusting.message
    search_only = check.deletion_residue({"stores_with_residue": ["backups"], "found_after_restore": True},
                                         vendor, person, probe, **kw)
    assert "tombstoned" in search_only.message
    cleaned = check.deletion_residue({**right, "stores_with_residue": right["stores_with_residue"] + ["photos"]},
                                     vendor, person, probe, **kw)
    assert "really were cleaned" in cleaned.message and "run twice" not in cleaned.message
    assert "not store names" in check.deletion_residue({**right, "stores_with_residue": ["disk"]},
                                                       vendor, person, probe, **kw).message
    # the exercise cell (scan, restore, check) run once, then a second time
    vendor.restore_backup()
    assert check.deletion_residue(right, vendor, person, probe, **kw)
    rescanned = sorted(store for store, n in vendor.service.find(person).items() if n)
    vendor.restore_backup()
    again = check.deletion_residue({**right, "stores_with_residue": rescanned}, vendor, person, probe, **kw)
    assert not again and "run twice" in again.message and "really were cleaned" not in again.message
    vendor.delete(person)  # the deletion cell again, then the exercise cell: right once more
    vendor.restore_backup()
    assert check.deletion_residue(right, vendor, person, probe, **kw)


def test_crawler_check(site, capsys):
    capstone.IngestionCrawler().crawl(site.url)  # idempotent for the check: counts are per agent
    agent = capstone.VENDOR_AGENT
    right = check.crawler_log_evidence(site, agent)
    assert check.crawler_evidence(right, site, agent)
    entries = site.log.entries(agent)
    every_photo = sum(e.path.startswith("/photos/") for e in entries)
    assert "every photo" in check.crawler_evidence({**right, "opted_out_photos": every_photo}, site, agent).message
    albums_and_photos = sum(e.path.startswith(("/albums/", "/photos/")) for e in entries)
    assert "not /photos/" in check.crawler_evidence({**right, "disallowed_requests": albums_and_photos},
                                                    site, agent).message
    assert "robots.txt" in check.crawler_evidence({**right, "read_robots_txt": False}, site, agent).message
    assert "True or False" in check.crawler_evidence({**right, "read_robots_txt": "no"}, site, agent).message
    assert "no request" in check.crawler_evidence(right, site, "NobodyBot/0").message


def test_group_check(groups, calibrated, capsys):
    ok = groups.found
    labels = np.array([r["group"] for r in groups.provenance])[ok]
    rows = fairness.false_match_rates_by_group(groups.embeddings[ok], groups.identities[ok], labels, 0.6)
    assert check.group_gap(rows, groups, 0.6)
    assert "interval" in check.group_gap({r.group: r.fmr for r in rows}, groups, 0.6).message
    at_cal = fairness.false_match_rates_by_group(groups.embeddings[ok], groups.identities[ok], labels, calibrated)
    assert "calibrated threshold" in check.group_gap(at_cal, groups, 0.6, calibrated_threshold=calibrated).message
    a, b = rows
    swapped = {a.group: (b.fmr, b.low, b.high), b.group: (a.fmr, a.low, a.high)}
    assert "swapped" in check.group_gap(swapped, groups, 0.6).message
    pooled = check._pooled_fmr(groups, 0.6)
    assert "pooled" in check.group_gap({r.group: (pooled, 0.0, 1.0) for r in rows}, groups, 0.6).message
    assert "percentages" in check.group_gap({r.group: (100 * r.fmr, 0, 100) for r in rows}, groups, 0.6).message


def test_report_check(capsys):
    report = capstone.report_template()
    assert not check.audit_report(report)
    for entry in report.values():
        entry["evidence"] = "FMR 0.41 at threshold 0.6 on 50 held-out people"
        entry["recommendation"] = "Calibrate the threshold on the served population and publish both error rates."
    assert check.audit_report(report)
    report["fairness"]["evidence"] = "the vendor says 99.6%"
    assert "vendor's own claim" in check.audit_report(report).message
    report["fairness"]["evidence"] = "The vendor's threshold is 0.6, as shown in lesson 2"
    assert "vendor's own claim" in check.audit_report(report).message
    report["fairness"]["evidence"] = "group B is worse"
    assert "no number" in check.audit_report(report).message
    report["fairness"]["evidence"] = "see lesson 2 and GDPR Art. 17(3)"
    assert "no number" in check.audit_report(report).message
    del report["crawling"]
    assert "crawling" in check.audit_report(report).message
    table = capstone.report_markdown(capstone.report_template())
    assert table.count("\n") == 5 and "robots.txt" in table
