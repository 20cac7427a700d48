"""Lesson 06's exercise checks: typical wrong answers get ❌ with a message naming the mistake, right answers
written differently get ✅. Expected values are recomputed from the data, never stored."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from course import capstone, crawl, fairness, metrics, scrapelab
from course.checks import lesson06 as check
from test_capstone import calibrated, groups, people, person, splits, vendor_of  # noqa: F401 - shared fixtures

TARGET = capstone.TARGET_FMR


def rates(genuine, impostor, threshold):
    fmr, fnmr = metrics.fmr_fnmr(genuine, impostor, [threshold])
    return float(fmr[0]), float(fnmr[0])


def findings(splits, threshold, *, report_on="test"):
    """A threshold_findings answer with the calibrated ``threshold``, its rates from the ``report_on`` split."""
    (dev_g, dev_i), (test_g, test_i) = splits
    vendor_fmr, vendor_fnmr = rates(test_g, test_i, capstone.CUSTOMARY_THRESHOLD)
    cal_fmr, cal_fnmr = rates(*((test_g, test_i) if report_on == "test" else (dev_g, dev_i)), threshold)
    return {"vendor_fmr": vendor_fmr, "vendor_fnmr": vendor_fnmr, "calibrated_threshold": float(threshold),
            "calibrated_fmr": cal_fmr, "calibrated_fnmr": cal_fnmr}


# ------------------------------------------------------------------ exercise 1: the threshold


def wrong_thresholds(splits, calibrated):
    (dev_g, dev_i), (test_g, test_i) = splits
    right = findings(splits, calibrated)
    return {
        "np.quantile(dev_impostor, 0.001): one impostor pair too many (as lesson 02 judges it)": (
            findings(splits, np.quantile(dev_i, TARGET)), "allows at most"),
        "vendor's FMR and FNMR swapped": (
            {**right, "vendor_fmr": right["vendor_fnmr"], "vendor_fnmr": right["vendor_fmr"]}, "swapped"),
        "percentages": ({k: 100 * v for k, v in right.items()}, "not percentages"),
        "threshold chosen on the test split": (
            findings(splits, metrics.threshold_for_fmr(test_i, TARGET)), "chosen on the test split"),
        "threshold for FMR 1 % instead of 0.1 %": (
            findings(splits, metrics.threshold_for_fmr(dev_i, 10 * TARGET)), "the audit's target is 0.1%"),
        "a safe but needlessly low threshold": (findings(splits, calibrated - 0.05), "lower than needed"),
        "calibrated rates from the development split": (
            findings(splits, calibrated, report_on="dev"), "development split's"),
        "vendor's rates from the development split": (
            {**right, **dict(zip(("vendor_fmr", "vendor_fnmr"), rates(dev_g, dev_i, 0.6)))}, "development split"),
        "a list": ([0.1, 0.2], "Answer with a dict"),
        "a missing key": ({k: v for k, v in right.items() if k != "calibrated_fnmr"}, "missing"),
        "not a number": ({**right, "vendor_fmr": "high"}, "should be a number"),
        "every value as text": ({k: str(v) for k, v in right.items()}, "is text, not a number"),
        "a one-element array": ({**right, "vendor_fmr": np.array([right["vendor_fmr"]])}, "take its element"),
        "calibrated FMR as a percentage below 1": (
            {**right, "calibrated_fmr": 100 * right["calibrated_fmr"]}, "looks like a percentage"),
        "not set": (None, "not set `threshold_findings` yet"),
    }


def test_threshold_check_names_each_mistake(people, splits, calibrated, capsys):
    cases = wrong_thresholds(splits, calibrated)
    for mistake, (answer, phrase) in cases.items():
        feedback = check.threshold_audit(answer, people, capstone.CUSTOMARY_THRESHOLD)
        assert not feedback, mistake
        assert phrase in feedback.message, (mistake, feedback.message)
    assert len(cases) >= 5


def test_threshold_check_accepts_right_answers(people, splits, calibrated, capsys):
    (_, dev_i), (test_g, test_i) = splits
    allowed = int(np.floor(TARGET * len(dev_i)))
    by_sorting = float(np.sort(dev_i)[allowed - 1])  # the largest distance that still keeps FMR <= target
    right = {
        "metrics.threshold_for_fmr": findings(splits, calibrated),
        "by sorting the development impostor distances": findings(splits, by_sorting),
        "numpy scalars and one-element arrays": {k: np.float64(v) for k, v in findings(splits, calibrated).items()},
    }
    for way, answer in right.items():
        assert check.threshold_audit(answer, people, capstone.CUSTOMARY_THRESHOLD), way


def test_threshold_check_judges_the_threshold_as_lesson_02_does(people, splits, calibrated, capsys):
    from course.checks import lesson02

    (_, dev_i), _ = splits
    for threshold in (np.quantile(dev_i, TARGET), calibrated, calibrated - 0.05, float(np.sort(dev_i)[10])):
        same_skill = bool(lesson02.threshold_for_target_fmr(threshold, dev_i, TARGET))
        audit = check.threshold_audit(findings(splits, threshold), people, capstone.CUSTOMARY_THRESHOLD)
        assert bool(audit) == same_skill, threshold


def test_reference_threshold_findings_says_it_was_used_and_passes(people, capsys):
    reference = check.reference_threshold_findings(people, capstone.CUSTOMARY_THRESHOLD)
    assert "reference result" in capsys.readouterr().out
    assert check.threshold_audit(reference, people, capstone.CUSTOMARY_THRESHOLD)


# ------------------------------------------------------------------ exercise 2: the deletion


@pytest.fixture(scope="module")
def deleted(people, groups, person):
    """The vendor's service after the notebook's deletion cell: (vendor, probe)."""
    vendor = vendor_of(people, groups)
    probe = capstone.held_out_embedding(vendor, person, people, groups)
    vendor.delete(person)
    return vendor, probe


RESIDUE = ["index", "backups", "index_centroids"]


def test_deletion_check_names_each_mistake(people, groups, person, deleted, capsys):
    vendor, probe = deleted
    kw = dict(people=people, groups=groups)
    cases = {
        "trusting the confirmation": ({"stores_with_residue": [], "found_after_restore": False},
                                      "the vendor's confirmation is a claim"),
        "only what search shows": ({"stores_with_residue": ["backups"], "found_after_restore": True}, "tombstoned"),
        "a cleaned store listed": ({"stores_with_residue": RESIDUE + ["photos"], "found_after_restore": True},
                                   "really were cleaned"),
        "no centres": ({"stores_with_residue": ["index", "backups"], "found_after_restore": True},
                       "index centres were learned"),
        "restore not tried": ({"stores_with_residue": RESIDUE, "found_after_restore": False},
                              "run the vendor's restore procedure"),
        "not a store": ({"stores_with_residue": ["disk"], "found_after_restore": True}, "not store names"),
        "a string of stores": ({"stores_with_residue": "index", "found_after_restore": True}, "a list or set"),
        "a list instead of a dict": (RESIDUE, "Answer with a dict"),
        "not set": (None, "not set `deletion_findings` yet"),
        "'False' as text": ({"stores_with_residue": RESIDUE, "found_after_restore": "False"}, "(a bool)"),
        "'no' as text": ({"stores_with_residue": RESIDUE, "found_after_restore": "no"}, "(a bool)"),
        "1 for True": ({"stores_with_residue": RESIDUE, "found_after_restore": 1}, "(a bool)"),
    }
    for mistake, (answer, phrase) in cases.items():
        feedback = check.deletion_residue(answer, vendor, person, probe, **kw)
        assert not feedback and phrase in feedback.message, (mistake, feedback.message)


def test_deletion_check_accepts_right_answers_and_spots_a_rerun(people, groups, person, capsys):
    vendor = vendor_of(people, groups)
    probe = capstone.held_out_embedding(vendor, person, people, groups)
    vendor.delete(person)
    kw = dict(people=people, groups=groups)
    for answer in ({"stores_with_residue": RESIDUE, "found_after_restore": True},
                   {"stores_with_residue": set(reversed(RESIDUE)), "found_after_restore": np.True_},
                   {"stores_with_residue": tuple(RESIDUE), "found_after_restore": True}):
        assert check.deletion_residue(answer, vendor, person, probe, **kw), answer
    vendor.restore_backup()  # the exercise cell, once: still right
    assert check.deletion_residue({"stores_with_residue": RESIDUE, "found_after_restore": True},
                                  vendor, person, probe, **kw)
    rescanned = sorted(store for store, n in vendor.service.find(person).items() if n)
    vendor.restore_backup()  # the exercise cell run a second time
    again = check.deletion_residue({"stores_with_residue": rescanned, "found_after_restore": True},
                                   vendor, person, probe, **kw)
    assert not again and "run twice" in again.message and "really were cleaned" not in again.message


def test_deletion_check_names_a_scan_made_after_the_restore(people, groups, person, capsys):
    vendor = vendor_of(people, groups)
    probe = capstone.held_out_embedding(vendor, person, people, groups)
    vendor.delete(person)
    vendor.restore_backup()
    after = sorted(store for store, n in vendor.service.find(person).items() if n)  # scanned too late
    assert set(after) > set(RESIDUE)
    feedback = check.deletion_residue({"stores_with_residue": after, "found_after_restore": True}, vendor, person,
                                      probe, people=people, groups=groups)
    assert not feedback and "You scanned after vendor.restore_backup()" in feedback.message
    assert "really were cleaned" not in feedback.message


# ------------------------------------------------------------------ exercise 3: the crawler


@pytest.fixture(scope="module")
def crawled_site():
    with scrapelab.SocialNetwork(seed=6, n_people=10, time_limit=600) as site:
        capstone.IngestionCrawler().crawl(site.url)
        yield site


def test_crawler_check_names_each_mistake(crawled_site, capsys):
    site, agent = crawled_site, capstone.VENDOR_AGENT
    right = check.crawler_log_evidence(site, agent)
    entries = site.log.entries(agent)
    every_photo = sum(e.path.startswith("/photos/") for e in entries)
    albums_and_photos = sum(e.path.startswith(("/albums/", "/photos/")) for e in entries)
    crawl_everyone = "Everyone/1.0 (tests)"
    for path in ("/robots.txt", "/albums/x", "/albums/y"):  # another client's requests in the same log
        crawl.fetch(site.url + path, crawl_everyone)
    all_agents = check.crawler_log_evidence_all(site)["disallowed_requests"]
    cases = {
        "every photo counted": ({**right, "opted_out_photos": every_photo}, "counts every photo"),
        "albums counted as photos": ({**right, "disallowed_requests": albums_and_photos}, "not /photos/"),
        "every client's requests": ({**right, "disallowed_requests": all_agents}, "counts every client's"),
        "robots.txt not seen": ({**right, "read_robots_txt": False}, "look for /robots.txt"),
        "'no' instead of False": ({**right, "read_robots_txt": "no"}, "True or False"),
        "a made-up count": ({**right, "opted_out_photos": right["opted_out_photos"] + 3}, "opted_out_photos"),
        "a list": (list(right.values()), "Answer with a dict"),
        "not set": (None, "not set `crawler_findings` yet"),
    }
    for mistake, (answer, phrase) in cases.items():
        feedback = check.crawler_evidence(answer, site, agent)
        assert not feedback and phrase in feedback.message, (mistake, feedback.message)
    assert "no request" in check.crawler_evidence(right, site, "NobodyBot/0").message


def test_crawler_check_accepts_right_answers(crawled_site, capsys):
    site, agent = crawled_site, capstone.VENDOR_AGENT
    entries = site.log.entries(agent)
    opted = {p.slug for p in site.members("opted_out")}
    by_prefix = {  # another route: for this agent robots.txt disallows exactly /albums/
        "read_robots_txt": np.bool_(entries[0].path == "/robots.txt"),
        "disallowed_requests": np.int64(sum(e.path.startswith("/albums/") for e in entries)),
        "opted_out_photos": float(sum(e.path.split("/")[1:3] == ["photos", s] for e in entries for s in opted)),
    }
    for answer in (check.crawler_log_evidence(site, agent), by_prefix):
        assert check.crawler_evidence(answer, site, agent), answer


# ------------------------------------------------------------------ exercise 4: the demographic gap


def group_rows(groups, threshold):
    ok = groups.found
    labels = np.array([r["group"] for r in groups.provenance])[ok]
    return fairness.false_match_rates_by_group(groups.embeddings[ok], groups.identities[ok], labels, threshold)


def as_rows(rows, values):
    """The rows with other (fmr, low, high) per group: an answer computed some other way."""
    return [dataclasses.replace(r, **dict(zip(("fmr", "low", "high"), values[r.group]))) for r in rows]


def test_group_check_names_each_mistake(groups, calibrated, capsys):
    rows = group_rows(groups, 0.6)
    a, b = rows
    pooled = check._pooled_fmr(groups, 0.6)
    fnmr = {r.group: check._group_fnmr(groups, r.group, 0.6) for r in rows}
    cases = {
        "rates at the calibrated threshold": (group_rows(groups, calibrated), "calibrated threshold"),
        "groups swapped": (as_rows(rows, {a.group: (b.fmr, b.low, b.high), b.group: (a.fmr, a.low, a.high)}),
                           "swapped"),
        "pooled over all pairs": (as_rows(rows, {r.group: (pooled, 0.0, 1.0) for r in rows}), "pooled"),
        "per-group FNMR": (as_rows(rows, {g: (v, max(v - 0.01, 0), v + 0.01) for g, v in fnmr.items()}), "FNMR"),
        "percentages": (as_rows(rows, {r.group: (100 * r.fmr, 0, 100) for r in rows}), "percentages"),
        "one group only": ([a], "no rate for"),
        "an interval that misses the rate": (as_rows(rows, {r.group: (r.fmr, 0.0, r.fmr / 2) for r in rows}),
                                             "should contain the rate"),
        "a made-up interval (0, 1)": (as_rows(rows, {r.group: (r.fmr, 0.0, 1.0) for r in rows}),
                                      "compute it from the counts"),
        "a made-up interval of ± 0.5": (as_rows(rows, {r.group: (r.fmr, max(r.fmr - 0.5, 0), min(r.fmr + 0.5, 1))
                                                       for r in rows}), "compute it from the counts"),
        "a dict {group: (fmr, low, high)}, which later cells cannot read": (
            {r.group: (r.fmr, r.low, r.high) for r in rows}, "not a dict"),
        "text": ("B is worse", "rows of fairness"),
        "not set": (None, "not set `group_findings` yet"),
    }
    for mistake, (answer, phrase) in cases.items():
        feedback = check.group_gap(answer, groups, 0.6, calibrated_threshold=calibrated)
        assert not feedback and phrase in feedback.message, (mistake, feedback.message)


def test_group_check_accepts_right_answers_and_describes_their_intervals(groups, calibrated, capsys):
    rows = group_rows(groups, 0.6)
    from scipy.stats import beta

    def clopper_pearson(k, n):  # another right 95 % interval for a proportion (exact, a little wider)
        return (beta.ppf(0.025, k, n - k + 1) if k else 0.0, beta.ppf(0.975, k + 1, n - k) if k < n else 1.0)

    clopper = {r.group: (r.fmr, *map(float, clopper_pearson(r.false_matches, r.impostor_pairs))) for r in rows}
    for answer in (rows, tuple(rows), as_rows(rows, clopper)):
        feedback = check.group_gap(answer, groups, 0.6, calibrated_threshold=calibrated)
        assert feedback, feedback.message
        worst = max(answer, key=lambda r: r.fmr)
        assert f"your 95 % interval {worst.low:.1%} to {worst.high:.1%}" in feedback.message


# ------------------------------------------------------------------ exercise 5: the audit report


@pytest.fixture(scope="module")
def measured(people, groups, person, calibrated):
    """What the notebook measures: the vendor after its deletion and restore, and its crawler's log."""
    vendor = vendor_of(people, groups)
    probe = capstone.held_out_embedding(vendor, person, people, groups)
    vendor.delete(person)
    vendor.restore_backup()
    with scrapelab.SocialNetwork(seed=6, n_people=10, time_limit=600) as site:
        vendor.ingest(site.url)
    return check.audit_measurements(people=people, groups=groups, vendor=vendor, person=person, probe=probe,
                                    site=site, calibrated_threshold=calibrated)


RECOMMENDATION = "Calibrate on the served population, publish both error rates, and let buyers check them."


def honest_report(measured, *, percent_digits=1) -> dict:
    t, d, c, f = (measured[k] for k in check.FINDINGS)
    v = list(t.values.values())
    report = capstone.report_template()
    report["threshold"]["evidence"] = (f"At 0.6 on 50 held-out people FMR is {v[0]:.{percent_digits}%} and FNMR "
                                       f"{v[1]:.{percent_digits}%}; a threshold chosen on other people for FMR 0.1% "
                                       f"gives FMR {v[2]:.2%} and FNMR {v[3]:.{percent_digits}%}.")
    report["deletion"]["evidence"] = (f"service.find still counts data in {len(d.stores)} stores: "
                                      + ", ".join(d.stores) + "; the restore brings the person back.")
    counts = list(c.values.values())
    report["crawling"]["evidence"] = (f"The log shows {counts[0]} requests that robots.txt disallows and "
                                      f"{counts[1]} photos of members who opted out.")
    report["fairness"]["evidence"] = "; ".join(f"{g}: {r:.{percent_digits}%}" for g, r in f.values.items())
    for entry in report.values():
        entry["recommendation"] = RECOMMENDATION
    return report


def test_report_check_accepts_honest_reports_written_differently(measured, capsys):
    assert check.audit_report(honest_report(measured), measured)
    assert check.audit_report(honest_report(measured, percent_digits=0), measured)  # rounded to whole percents
    report = honest_report(measured)
    t = list(measured["threshold"].values.values())
    report["threshold"]["evidence"] = f"FMR {t[0]:.3f} at the vendor's threshold (a fraction), FNMR {t[1]:.4f}."
    report["deletion"]["evidence"] = "The index (tombstones), the index centres and the backups still hold them."
    report["crawling"]["evidence"] += " It walked the directory pages and sent 25 requests per second at most."
    report["threshold"]["evidence"] += " Lesson 02's equal-error threshold of 0.41 would not have been enough either."
    report["fairness"]["evidence"] = {g: f"FMR {r:.2%} (Wilson 95% interval)" for g, r in
                                      measured["fairness"].values.items()}
    assert check.audit_report(report, measured)
    shown = capsys.readouterr().out
    assert "rubric" in shown.lower() and "model report" in shown


def test_report_check_rejects_fabricated_and_missing_evidence(measured, capsys):
    vendor_fmr = measured["threshold"].values["FMR at the vendor's threshold"]
    disallowed = measured["crawling"].values["requests robots.txt disallows"]
    cases = {
        "an invented FMR": ("threshold", "FMR 0.41 at threshold 0.6 on 50 held-out people", "says 0.41"),
        "an invented percentage": ("threshold", f"FMR {100 * vendor_fmr + 7:.1f}% at 0.6", "not what this notebook"),
        "the vendor's own figure": ("threshold", "the vendor says 99.6%", "vendor's own claim"),
        "no number": ("fairness", "group B is worse", "no number"),
        "only references": ("fairness", "see lesson 2 and GDPR Art. 17(3)", "no number"),
        "an invented count": ("crawling", f"{disallowed + 100} requests robots.txt disallows",
                              "not what this notebook"),
        "a wrong store count": ("deletion", "data left in 1 stores: the backups", "says 1 stores"),
        "a store left out": ("deletion", "the backups still hold the photos", "does not name"),
    }
    for mistake, (finding, evidence, phrase) in cases.items():
        report = honest_report(measured)
        report[finding]["evidence"] = evidence
        feedback = check.audit_report(report, measured)
        assert not feedback and phrase in feedback.message, (mistake, feedback.message)
    report = honest_report(measured)
    del report["crawling"]
    assert "no finding for ['crawling']" in check.audit_report(report, measured).message
    report = honest_report(measured)
    report["fairness"]["recommendation"] = "be careful"
    assert "at least 8 words" in check.audit_report(report, measured).message
    assert "not filled `report` yet" in check.audit_report(None, measured).message
    assert "Pass the measurements" in check.audit_report(honest_report(measured), None).message
    assert "model report" not in capsys.readouterr().out  # no model before a valid attempt


def test_report_template_and_markdown():
    assert set(capstone.report_template()) == set(check.FINDINGS)
    table = capstone.report_markdown(capstone.report_template())
    assert table.count("\n") == 5 and "robots.txt" in table
