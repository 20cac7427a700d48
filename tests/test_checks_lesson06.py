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


def test_under_nbgrader_the_threshold_check_fails_with_its_own_folded_message(people, splits, calibrated, capsys,
                                                                              monkeypatch):
    """The inner lesson-02 check raises under nbgrader; lesson 06's check must still give its own hint."""
    from course.checks import CheckFailed

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    (_, dev_i), _ = splits
    for mistake in ("threshold for FMR 1 % instead of 0.1 %", "a safe but needlessly low threshold"):
        answer, phrase = wrong_thresholds(splits, calibrated)[mistake]
        with pytest.raises(CheckFailed, match=phrase):
            check.threshold_audit(answer, people, capstone.CUSTOMARY_THRESHOLD)
    assert check.threshold_audit(findings(splits, calibrated), people, capstone.CUSTOMARY_THRESHOLD)


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
                                      "compute it from the data"),
        "a made-up interval of ± 0.5": (as_rows(rows, {r.group: (r.fmr, max(r.fmr - 0.5, 0), min(r.fmr + 0.5, 1))
                                                       for r in rows}), "compute it from the data"),
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
    ok = groups.found
    labels = np.array([r["group"] for r in groups.provenance])
    bootstrap = {r.group: (r.fmr, *fairness.bootstrap_fmr_over_people(
        groups.embeddings[ok & (labels == r.group)], groups.identities[ok & (labels == r.group)], 0.6,
        n_resamples=200)) for r in rows}  # lesson 02's interval over people, as the notebook prints it
    for answer in (rows, tuple(rows), as_rows(rows, clopper), as_rows(rows, bootstrap)):
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
    for name in ("threshold", "crawling", "fairness"):
        report[name]["figures"] = dict(measured[name].values)
    report["deletion"]["stores"] = list(d.stores)
    report["deletion"]["found_after_restore"] = d.found_again
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
    report = honest_report(measured)
    report["threshold"]["figures"] = {label.upper(): round(value, 3) if value >= 0.01 else round(value, 5)
                                      for label, value in measured["threshold"].values.items()}  # rounded, capitals
    report["fairness"]["figures"] = {label: np.float32(value) for label, value in measured["fairness"].values.items()}
    report["crawling"]["figures"] = {label: float(value) for label, value in measured["crawling"].values.items()}
    report["deletion"]["stores"] = tuple(reversed(measured["deletion"].stores))
    feedback = check.audit_report(report, measured)
    assert feedback, feedback.message
    assert "NOT judged" in feedback.message and "no figure contradicts" not in feedback.message
    shown = capsys.readouterr().out
    assert "rubric" in shown.lower() and "model report" in shown


def test_report_prose_is_never_the_verdict_only_a_warning(measured, capsys):
    """Prose a machine cannot judge (an invented figure in the text, a short recommendation) is flagged as a warning
    beside the rubric; the verdict rests on the structured figures, and says the prose was not judged."""
    report = honest_report(measured)
    report["threshold"]["evidence"] = "FMR 0.41 at threshold 0.6 on 50 held-out people"
    report["fairness"]["recommendation"] = "be careful"
    feedback = check.audit_report(report, measured)
    assert feedback and "NOT judged" in feedback.message
    shown = capsys.readouterr().out
    assert "⚠️" in shown and "says 0.41" in shown and "very short" in shown


def _swap(figures, a, b):
    return {**figures, a: figures[b], b: figures[a]}


def test_report_check_rejects_wrong_figures_and_stores(measured, capsys):
    t, c, f = (measured[k].values for k in ("threshold", "crawling", "fairness"))
    groups_ = list(f)
    cases = {
        "FMR and FNMR swapped": ("threshold", "figures", _swap(t, "FMR at the vendor's threshold",
                                                             "FNMR at the vendor's threshold"), "match each value"),
        "the two groups swapped": ("fairness", "figures", _swap(f, *groups_), "match each value"),
        "an invented FMR": ("threshold", "figures", {**t, "FMR at the vendor's threshold": 0.41},
                            "not what this notebook measured"),
        "a percentage": ("fairness", "figures", {g: 100 * r for g, r in f.items()}, "looks like a percentage"),
        "a count that is another count": ("crawling", "figures", {
            **c, "requests robots.txt disallows": c["photos of members who opted out"] + 1000}, "not what"),
        "a label missing": ("crawling", "figures", {k: v for k, v in list(c.items())[:1]}, "no value for"),
        "a label not measured": ("threshold", "figures", {**t, "accuracy": 0.99}, "not one of the options"),
        "text for a number": ("threshold", "figures", {k: f"{v:.3f}" for k, v in t.items()}, "is text"),
        "no figures": ("fairness", "figures", {}, "fill 'figures'"),
        "'all cleaned': no store": ("deletion", "stores", [], "fill 'stores'"),
        "a store left out": ("deletion", "stores", ["backups"], "missing"),
        "a cleaned store listed": ("deletion", "stores", list(measured["deletion"].stores) + ["photos"],
                                   "held nothing of the person then"),
        "found_after_restore as text": ("deletion", "found_after_restore", "yes", "True or False"),
        "found_after_restore wrong": ("deletion", "found_after_restore", not measured["deletion"].found_again,
                                      "top candidate"),
        "no recommendation": ("fairness", "recommendation", "  ", "write the recommendation"),
        "no claim": ("threshold", "claim", "", "write the claim"),
    }
    if c["requests robots.txt disallows"] != c["photos of members who opted out"]:
        cases["a count given under the other count's label"] = (
            "crawling", "figures", _swap(c, *list(c)), "match each value")
    for mistake, (finding, field, value, phrase) in cases.items():
        report = honest_report(measured)
        report[finding][field] = value
        feedback = check.audit_report(report, measured)
        assert not feedback and phrase in feedback.message, (mistake, feedback.message)
    report = honest_report(measured)
    del report["crawling"]
    assert "no finding for ['crawling']" in check.audit_report(report, measured).message
    assert "not filled `report` yet" in check.audit_report(None, measured).message
    assert "Pass the measurements" in check.audit_report(honest_report(measured), None).message
    assert "model report" not in capsys.readouterr().out  # no model before a valid attempt


def test_report_template_and_markdown():
    assert set(capstone.report_template()) == set(check.FINDINGS)
    table = capstone.report_markdown(capstone.report_template())
    assert table.count("\n") == 5 and "robots.txt" in table


def test_report_evidence_may_quote_dlibs_published_lfw_figures(measured, capsys):
    """The lesson names dlib's 99.38 % (100 jitters) and 99.13 % (one pass): quoting them beside the measurements is
    not an invented figure, and quoting only them is flagged as a published claim, not a measurement."""
    report = honest_report(measured)
    report["threshold"]["evidence"] += " dlib reports 99.13% on LFW with one pass and 99.38% with 100 jitters."
    assert check.audit_report(report, measured)
    assert "⚠️" not in capsys.readouterr().out
    report["threshold"]["evidence"] = "dlib reports 99.13% on LFW, encoded once as this service does."
    assert check.audit_report(report, measured)
    assert "only numbers in the evidence are published claims" in capsys.readouterr().out
