"""Exercise checks for lesson 06 (capstone: audit a face search service).

Each check recomputes the right answer from the data it is given (never from stored
numbers, so the checks keep working when the synthetic data sets are rebuilt), compares
the student's answer with it *and* with the typical wrong answers, prints a ✅/❌ verdict
with a specific hint, and returns a :class:`course.checks.Feedback` (truthy when right).
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
import numbers
import re
import urllib.robotparser

import numpy as np

from .. import capstone, scrapelab
from . import CheckFailed, ConceptQuestion, Feedback, chosen_option, concept_quiz, use_reference, verdict
from .lesson02 import threshold_for_target_fmr

# ------------------------------------------------------------------------ helpers


def split_pairs(people, identities) -> tuple[np.ndarray, np.ndarray]:
    """Genuine and impostor distances among the found photos of these identities of ``people``."""
    from ..metrics import pair_distances

    mine = np.asarray(people.found, bool) & np.isin(people.identities, list(identities))
    return pair_distances(people.embeddings[mine], people.identities[mine])


def _rates(genuine, impostor, threshold) -> tuple[float, float]:
    from ..metrics import fmr_fnmr

    fmr, fnmr = fmr_fnmr(genuine, impostor, [float(threshold)])
    return float(fmr[0]), float(fnmr[0])


def _close(value: float, expected: float, tolerance: float = 0.002, relative: float = 0.01) -> bool:
    """Equal up to what a different but correct computation (e.g. ``<`` instead of ``<=``) can change."""
    return abs(value - expected) <= max(tolerance, relative * abs(expected))


def _fmr_close(value: float, expected: float) -> bool:
    return _close(value, expected, 2e-4, 0.005)  # impostor pairs number tens of thousands


def _number(value) -> float | None:
    """``value`` as a float if it is a finite real number (Python's or NumPy's), else None: text such as "0.3",
    a bool or an array is not a number here, since later cells compute and format with it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    result = float(value)
    return result if np.isfinite(result) else None


def _not_a_number(value) -> str:
    """Why ``value`` is not accepted as a number, for a message."""
    if isinstance(value, str):
        return f"{value!r} is text, not a number: drop the quotes (or use float(...))"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}, not a number: take its element, e.g. float(fmr[0])"
    return f"{value!r} ({type(value).__name__}) is not a number"


def _quietly(check, *args, **kwargs) -> Feedback:
    """Run another check without printing its verdict, to fold its message into this one.

    Under nbgrader the other check's ❌ raises; it is folded in the same way, so this check's own message
    (and its own CheckFailed) is what the grader's feedback shows."""
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            return check(*args, **kwargs)
        except CheckFailed as failed:
            return Feedback(False, str(failed))


# ------------------------------------------------------------------------ task 1: the threshold

THRESHOLD_KEYS = ("vendor_fmr", "vendor_fnmr", "calibrated_threshold", "calibrated_fmr", "calibrated_fnmr")


def threshold_audit(answer: object, people, vendor_threshold: float, *,
                    target_fmr: float = capstone.TARGET_FMR) -> Feedback:
    """Task 1: FMR and FNMR on the *test* split at the vendor's threshold, and at a threshold
    chosen on the *development* split for ``target_fmr`` (all rates as fractions)."""
    from ..metrics import threshold_for_fmr

    if answer is None:
        return verdict(False, "You have not set `threshold_findings` yet: a dict with the keys "
                           + ", ".join(THRESHOLD_KEYS) + ". Stuck? check.reference_threshold_findings(people, "
                           "THRESHOLD) gives the reference result so the rest of the lesson runs.")
    if not isinstance(answer, dict):
        return verdict(False, "Answer with a dict with the keys " + ", ".join(THRESHOLD_KEYS) + ".")
    missing = [k for k in THRESHOLD_KEYS if k not in answer]
    if missing:
        return verdict(False, f"Your answer is missing {missing}.")
    values = {k: _number(answer[k]) for k in THRESHOLD_KEYS}
    if any(v is None for v in values.values()):
        bad = [k for k, v in values.items() if v is None]
        return verdict(False, f"{bad[0]} should be a number (e.g. float(fmr[0]) from metrics.fmr_fnmr): "
                           + _not_a_number(answer[bad[0]]) + ".")
    rate_keys = [k for k in THRESHOLD_KEYS if k != "calibrated_threshold"]
    if any(values[k] > 1 for k in rate_keys):
        return verdict(False, "Some rates are above 1: give rates as fractions between 0 and 1, not percentages.")
    dev_g, dev_i = split_pairs(people, capstone.DEV_IDENTITIES)
    test_g, test_i = split_pairs(people, capstone.TEST_IDENTITIES)
    vendor_fmr, vendor_fnmr = _rates(test_g, test_i, vendor_threshold)
    problems = []
    if not (_fmr_close(values["vendor_fmr"], vendor_fmr) and _close(values["vendor_fnmr"], vendor_fnmr)):
        if _close(values["vendor_fmr"], vendor_fnmr) and _fmr_close(values["vendor_fnmr"], vendor_fmr):
            problems.append("at the vendor's threshold your FMR and FNMR are swapped: FMR counts impostor pairs "
                            "at or below the threshold, FNMR genuine pairs above it")
        elif _fmr_close(values["vendor_fmr"], _rates(dev_g, dev_i, vendor_threshold)[0]):
            problems.append("your rates at the vendor's threshold are those of the development split: report "
                            "on the test split (identities in capstone.TEST_IDENTITIES)")
        else:
            problems.append(f"at the vendor's threshold {vendor_threshold} on the test split, measure FMR and FNMR "
                            "with metrics.fmr_fnmr(test_genuine, test_impostor, [threshold])")
    chosen = values["calibrated_threshold"]
    best = threshold_for_fmr(dev_i, target_fmr)
    test_best = threshold_for_fmr(test_i, target_fmr)
    calibration = _quietly(threshold_for_target_fmr, chosen, dev_i, target_fmr)  # as lesson 02 judges it
    if not calibration and abs(chosen - test_best) < abs(chosen - best) and abs(chosen - test_best) <= 1e-3:
        problems.append("your threshold was chosen on the test split: choose it on the development split "
                        "and only *report* on the test split, or the audit flatters the calibrated threshold")
    elif not calibration and abs(chosen - threshold_for_fmr(dev_i, 10 * target_fmr)) <= 1e-3:
        problems.append(f"your threshold is for FMR {10 * target_fmr:.1%}; the audit's target is {target_fmr:.1%}")
    elif not calibration:
        problems.append("calibrated_threshold, chosen on the development split: "
                        + calibration.message[0].lower() + calibration.message[1:].rstrip("."))
    cal_fmr, cal_fnmr = _rates(test_g, test_i, chosen)
    percent_like = [k for k, v in (("vendor_fmr", vendor_fmr), ("vendor_fnmr", vendor_fnmr),
                                   ("calibrated_fmr", cal_fmr), ("calibrated_fnmr", cal_fnmr))
                    if v > 0 and not _close(values[k], v) and _close(values[k], 100 * v, 0.002 * 100 * v, 0.01)]
    if percent_like:
        problems.insert(0, f"{percent_like[0]} looks like a percentage ({values[percent_like[0]]:g} meaning "
                           f"{values[percent_like[0]]:g} %): give rates as fractions, e.g. 0.5 % is 0.005")
    if not problems and not (_fmr_close(values["calibrated_fmr"], cal_fmr)
                             and _close(values["calibrated_fnmr"], cal_fnmr)):
        dev_fmr, dev_fnmr = _rates(dev_g, dev_i, chosen)
        if _fmr_close(values["calibrated_fmr"], dev_fmr) and _close(values["calibrated_fnmr"], dev_fnmr):
            problems.append("your rates at the calibrated threshold are the development split's: report them "
                            "on the test split")
        elif _close(values["calibrated_fmr"], cal_fnmr) and _fmr_close(values["calibrated_fnmr"], cal_fmr):
            problems.append("at the calibrated threshold your FMR and FNMR are swapped")
        else:
            problems.append("measure FMR and FNMR on the test split at your calibrated threshold")
    if problems:
        return verdict(False, "Not yet: " + "; ".join(problems) + ".")
    return verdict(True, f"At the vendor's {vendor_threshold} the test split has FMR {vendor_fmr:.1%} and FNMR "
                      f"{vendor_fnmr:.1%}; at {chosen:.3f}, chosen on other people, FMR {cal_fmr:.2%} and FNMR "
                      f"{cal_fnmr:.1%}. The customary threshold was set for a different population.")


def reference_threshold_findings(people, vendor_threshold: float, *,
                                 target_fmr: float = capstone.TARGET_FMR) -> dict:
    """Exercise 1's reference answer, for a learner who is stuck: the rates at the vendor's threshold on the
    test split, and a threshold chosen on the development split for ``target_fmr`` with its test-split rates.
    It says plainly that the reference was used (later cells run, but the exercise is not done)."""
    from ..metrics import threshold_for_fmr

    _, dev_i = split_pairs(people, capstone.DEV_IDENTITIES)
    test_g, test_i = split_pairs(people, capstone.TEST_IDENTITIES)
    calibrated = float(threshold_for_fmr(dev_i, target_fmr))
    vendor_fmr, vendor_fnmr = _rates(test_g, test_i, vendor_threshold)
    cal_fmr, cal_fnmr = _rates(test_g, test_i, calibrated)
    return use_reference("exercise 1 (threshold_findings)", {
        "vendor_fmr": vendor_fmr, "vendor_fnmr": vendor_fnmr, "calibrated_threshold": calibrated,
        "calibrated_fmr": cal_fmr, "calibrated_fnmr": cal_fnmr})


# ------------------------------------------------------------------------ task 2: the deletion


def expected_deletion_residue(vendor, person: int, probe, people=None, groups=None) -> tuple[set[str], bool]:
    """What the vendor's deletion leaves of ``person``, measured on a fresh copy of the service:
    (stores that still hold or were trained on their data, whether the person is the top
    candidate for ``probe`` after the vendor's restore procedure)."""
    stores, found, _ = _replica_residue(vendor, person, probe, people, groups)
    return set(stores), found


def _replica_residue(vendor, person: int, probe, people, groups) -> tuple[set[str], bool, set[str]]:
    """(stores holding the person just after the delete, found after the restore, stores holding them after the
    restore), measured once on a fresh copy of the service and remembered."""
    key = (vendor.seed, repr(vendor.config), int(person), np.asarray(probe, np.float32).tobytes(), id(people),
           id(groups))
    if key not in _RESIDUE_CACHE:
        replica = capstone.vendor_service(vendor.seed, config=vendor.config, people=people, groups=groups)
        replica.delete(person)
        stores = {store for store, n in replica.service.find(person).items() if n}
        replica.restore_backup()
        restored = {store for store, n in replica.service.find(person).items() if n}  # before a search logs one
        hits = replica.search(probe, k=1)
        _RESIDUE_CACHE.clear()  # keep one entry: a replica's answer, not the replica
        _RESIDUE_CACHE[key] = (stores, bool(hits and hits[0].person == person), restored)
    stores, found, restored = _RESIDUE_CACHE[key]
    return set(stores), found, set(restored)


_RESIDUE_CACHE: dict = {}


def deletion_residue(answer: object, vendor, person: int, probe, *, people=None, groups=None) -> Feedback:
    """Task 2: ``{"stores_with_residue": [...], "found_after_restore": bool}`` after the vendor's delete."""
    if answer is None:
        return verdict(False, "You have not set `deletion_findings` yet: {'stores_with_residue': [store names], "
                           "'found_after_restore': True/False}.")
    if not isinstance(answer, dict) or not {"stores_with_residue", "found_after_restore"} <= answer.keys():
        return verdict(False, "Answer with a dict: {'stores_with_residue': [store names], "
                           "'found_after_restore': True/False}.")
    stores = answer["stores_with_residue"]
    if isinstance(stores, str) or not hasattr(stores, "__iter__"):
        return verdict(False, "stores_with_residue should be a list or set of store names, e.g. ['index', ...].")
    stores = {str(s) for s in stores}
    if not isinstance(answer["found_after_restore"], (bool, np.bool_)):
        return verdict(False, "found_after_restore should be True or False (a bool), not "
                           f"{answer['found_after_restore']!r}: compare the top candidate's person with PERSON.")
    expected, found_again, after_restore = _replica_residue(vendor, person, probe, people, groups)
    unknown = stores - set(_store_names())
    if unknown:
        return verdict(False, f"{sorted(unknown)} are not store names; the stores are those service.find(person) lists: "
                           f"{', '.join(_store_names())}.")
    if vendor.restores_since_delete > 1:
        return verdict(False, "The vendor has been restored more than once since the deletion, so this scan saw the "
                           "data the first restore brought back (was this cell run twice?). Run the deletion cell "
                           "(Task 2's first code cell) again, then this one.")
    problems = []
    if not stores:
        problems.append("you found no residue: the vendor's confirmation is a claim, not evidence. Scan the stores "
                        "with vendor.service.find(person)")
    else:
        cleaned = sorted(stores - expected)
        if cleaned and stores >= after_restore:  # everything the restore brought back, so scanned after it
            problems.append(f"{cleaned} held nothing of the person just after the deletion; they hold data again "
                            "only because the restore brought it back. You scanned after vendor.restore_backup(): "
                            "scan with vendor.service.find(person) first, then restore")
        elif cleaned:
            problems.append(f"{cleaned} really were cleaned (service.find counts 0 there just after the deletion): "
                            "list only stores that still hold something")
        missed = sorted(expected - stores)
        hints = {"index": "the index still stores their vectors, tombstoned: search skips them, but find() counts "
                          "what is physically stored",
                 "backups": "last night's backup still holds their photos",
                 "index_centroids": "the index centres were learned from their vectors and were not re-learned"}
        for store in missed:
            problems.append(hints.get(store, f"{store} still holds something of theirs"))
    if bool(answer["found_after_restore"]) != found_again:
        if found_again:
            problems.append("run the vendor's restore procedure (vendor.restore_backup()), then search with the new "
                            "photo and look at the top candidate")
        else:
            problems.append("with this configuration the restore does not bring the person back")
    if problems:
        return verdict(False, "Not yet: " + "; ".join(problems) + ".")
    return verdict(True, "The confirmation said 'all data'; the stores say " + ", ".join(sorted(expected))
                      + (", and the vendor's own restore brings the person back." if found_again else "."))


def _store_names() -> tuple[str, ...]:
    from ..service import STORES

    return STORES


# ------------------------------------------------------------------------ task 3: the crawler


def crawler_log_evidence(site, agent: str) -> dict:
    """From the site's access log, for one User-Agent: did it read robots.txt, how many of its
    requests robots.txt disallows, how many photos of opted-out members it downloaded."""
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(scrapelab.ROBOTS_TXT.splitlines())
    entries = site.log.entries(agent)
    opted = {p.slug for p in site.members("opted_out")}
    return {
        "read_robots_txt": any(e.path == "/robots.txt" for e in entries),
        "disallowed_requests": sum(not robots.can_fetch(agent, e.path) for e in entries),
        "opted_out_photos": sum(e.path.startswith("/photos/") and e.path.split("/")[2] in opted for e in entries),
    }


def crawler_evidence(answer: object, site, agent: str) -> Feedback:
    """Task 3: ``{"read_robots_txt", "disallowed_requests", "opted_out_photos"}`` for the vendor's crawler."""
    keys = ("read_robots_txt", "disallowed_requests", "opted_out_photos")
    if answer is None:
        return verdict(False, "You have not set `crawler_findings` yet: a dict with the keys " + ", ".join(keys) + ".")
    if not isinstance(answer, dict) or not set(keys) <= answer.keys():
        return verdict(False, "Answer with a dict with the keys " + ", ".join(keys) + ".")
    entries = site.log.entries(agent)
    if not entries:
        return verdict(False, "The site's log has no request from the vendor's crawler: run vendor.ingest(site.url) "
                           "against this site first.")
    expected = crawler_log_evidence(site, agent)
    opted = {p.slug for p in site.members("opted_out")}
    problems = []
    if not isinstance(answer["read_robots_txt"], (bool, np.bool_)):
        problems.append(f"read_robots_txt should be True or False, not {answer['read_robots_txt']!r}")
    elif bool(answer["read_robots_txt"]) != expected["read_robots_txt"]:
        problems.append("read_robots_txt: look for /robots.txt among the crawler's requests (the first line of "
                        "its log)")
    for key in ("disallowed_requests", "opted_out_photos"):
        if _number(answer[key]) is None:
            return verdict(False, f"{key} should be a count (an int): " + _not_a_number(answer[key]) + ".")
    disallowed = _number(answer["disallowed_requests"])
    if disallowed != expected["disallowed_requests"]:
        everyone = crawler_log_evidence_all(site)
        albums_and_photos = sum(e.path.startswith(("/albums/", "/photos/")) for e in entries)
        if disallowed == everyone["disallowed_requests"] and disallowed != expected["disallowed_requests"]:
            problems.append("disallowed_requests counts every client's requests: keep only the entries whose "
                            "agent is the vendor's User-Agent (site.log.entries(agent))")
        elif disallowed == albums_and_photos:
            problems.append("disallowed_requests: robots.txt disallows /albums/, not /photos/; test each path "
                            "with robotparser's can_fetch(agent, path)")
        else:
            problems.append("disallowed_requests: parse scrapelab.ROBOTS_TXT with urllib.robotparser and count "
                            "the crawler's requests for which can_fetch(agent, path) is False")
    photos = _number(answer["opted_out_photos"])
    if photos != expected["opted_out_photos"]:
        def of_opted(prefixes):
            return sum(e.path.startswith(prefixes) and e.path.split("/")[2] in opted for e in entries)

        if photos in (of_opted(("/photos/", "/albums/")), of_opted(("/photos/", "/albums/", "/people/"))):
            problems.append("opted_out_photos counts pages too: a crawler must open a profile to see its opt-out; "
                            "count the photos (/photos/<member>/...) it downloaded afterwards")
        elif photos == sum(e.path.startswith("/photos/") for e in entries):
            problems.append("opted_out_photos counts every photo: keep only those of members who opted out "
                            "(site.members('opted_out'))")
        else:
            problems.append("opted_out_photos: count the crawler's requests for /photos/<slug>/... where <slug> "
                            "belongs to a member in site.members('opted_out')")
    if problems:
        return verdict(False, "Not yet: " + "; ".join(problems) + ".")
    return verdict(True, "The log shows a crawler that read robots.txt and then fetched what it disallows, and took "
                      "photos of members who had opted out: 'we respect robots.txt' is false.")


def crawler_log_evidence_all(site) -> dict:
    """Like :func:`crawler_log_evidence`, over every client's requests (a typical mistake)."""
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(scrapelab.ROBOTS_TXT.splitlines())
    entries = site.log.entries()
    return {"disallowed_requests": sum(not robots.can_fetch(e.agent, e.path) for e in entries)}


# ------------------------------------------------------------------------ task 4: the demographic gap


def _group_labels(groups) -> np.ndarray:
    return np.array([r["group"] for r in groups.provenance])


def expected_group_rates(groups, threshold: float):
    """Per-group FMR (with Wilson intervals) at ``threshold`` on the found photos of ``groups``."""
    from ..fairness import false_match_rates_by_group

    ok = np.asarray(groups.found, bool)
    return false_match_rates_by_group(groups.embeddings[ok], groups.identities[ok], _group_labels(groups)[ok],
                                      threshold)


def _group_fnmr(groups, group: str, threshold: float) -> float | None:
    """FNMR among genuine pairs (two photos of one person) within ``group`` (None if it has no genuine pair)."""
    from ..metrics import pair_distances

    mine = np.asarray(groups.found, bool) & (_group_labels(groups) == group)
    genuine, _ = pair_distances(groups.embeddings[mine], groups.identities[mine])
    return float(np.mean(genuine > threshold)) if len(genuine) else None


def _right_intervals(groups, row, threshold: float) -> list[tuple[float, float]]:
    """The 95 % intervals a right answer may give for one group's FMR: Wilson's from the counts, and the bootstrap
    over people (seeded) with the notebook's 200 resamples and the function's default number."""
    from ..fairness import bootstrap_fmr_over_people

    mine = np.asarray(groups.found, bool) & (_group_labels(groups) == row.group)
    boots = [bootstrap_fmr_over_people(groups.embeddings[mine], groups.identities[mine], threshold, n_resamples=n)
             for n in (200, 500)]
    return [(row.low, row.high), *[(float(a), float(b)) for a, b in boots]]


def group_gap(answer: object, groups, vendor_threshold: float, *,
              calibrated_threshold: float | None = None) -> Feedback:
    """Task 4: per-group FMR at the vendor's threshold, each with its 95 % Wilson interval: the list of
    :class:`course.fairness.GroupRate` rows that later cells of the notebook read."""
    if answer is None:
        return verdict(False, "You have not set `group_findings` yet: the rows of "
                           "fairness.false_match_rates_by_group.")
    if isinstance(answer, dict):
        return verdict(False, "Keep the rows of fairness.false_match_rates_by_group (a list), not a dict: the "
                           "cells below read row.group, row.fmr, row.low and row.high from each row.")
    fields = ("group", "fmr", "low", "high")
    if not isinstance(answer, (list, tuple)) or not answer or not all(
            hasattr(r, f) for r in answer for f in fields):
        return verdict(False, "Answer with the rows of fairness.false_match_rates_by_group (a list of GroupRate).")
    triples = {str(r.group): (_number(r.fmr), _number(r.low), _number(r.high)) for r in answer}
    if any(v is None for t in triples.values() for v in t):
        return verdict(False, "Each row's fmr, low and high should be numbers (fractions between 0 and 1).")
    expected = {r.group: r for r in expected_group_rates(groups, vendor_threshold)}
    missing = sorted(set(expected) - set(triples))
    if missing:
        return verdict(False, f"Your answer has no rate for {missing}: report every group, named as in the data set "
                           f"({', '.join(sorted(expected))}).")
    if any(v > 1 for t in triples.values() for v in t):
        return verdict(False, "Give rates and interval bounds as fractions between 0 and 1, not percentages.")
    problems = []
    names = sorted(expected)
    swapped = len(names) == 2 and all(_close(triples[a][0], expected[b].fmr) for a, b in zip(names, names[::-1]))
    pooled = _pooled_fmr(groups, vendor_threshold)
    # what the whole answer looks like, judged on every group at once: a rate near 0 can match several of these
    at_calibrated = ({r.group: r.fmr for r in expected_group_rates(groups, calibrated_threshold)}
                     if calibrated_threshold is not None else {})
    fnmrs = {g: _group_fnmr(groups, g, vendor_threshold) for g in names}
    all_calibrated = bool(at_calibrated) and all(_close(triples[g][0], at_calibrated[g]) for g in names)
    all_fnmr = all(f is not None and _close(triples[g][0], f) for g, f in fnmrs.items())
    for group in names:
        fmr, low, high = triples[group]
        row = expected[group]
        if _close(fmr, row.fmr):
            if not (low <= fmr <= high) or low >= high:
                problems.append(f"{group}: the interval ({low:.3f}, {high:.3f}) should contain the rate and have "
                                "some width")
            elif not any(abs(low - a) <= 0.002 + 0.25 * (b - a) and abs(high - b) <= 0.002 + 0.25 * (b - a)
                         for a, b in _right_intervals(groups, row, vendor_threshold)):  # other methods land close
                problems.append(f"{group}: the interval ({low:.3f}, {high:.3f}) is not the 95 % interval of "
                                f"{row.false_matches} false matches in {row.impostor_pairs} impostor pairs, which "
                                f"is ({row.low:.3f}, {row.high:.3f}) (Wilson), nor lesson 02's bootstrap over people: "
                                "compute it from the data, don't choose it")
            continue
        if swapped:
            problems.append("your groups' rates are swapped: match each rate to its group label")
            break
        if all_calibrated:
            problems.append("these are FMRs at the calibrated threshold; the audit asks what the "
                            f"vendor's threshold ({vendor_threshold}) does to each group")
            break
        if all_fnmr:
            problems.append("these are FNMRs (genuine pairs rejected) at the vendor's threshold; the audit asks "
                            "for FMRs: impostor pairs of different people within the group accepted")
            break
        if _close(fmr, pooled):
            problems.append("that is the FMR over all impostor pairs pooled together; compare pairs of "
                            "different people *within* each group (fairness.false_match_rates_by_group)")
            continue
        problems.append(f"{group}: expected the within-group FMR at threshold {vendor_threshold}")
    if problems:
        return verdict(False, "Not yet: " + "; ".join(dict.fromkeys(problems)) + ".")
    worst = max(names, key=lambda g: triples[g][0])
    best = min(names, key=lambda g: triples[g][0])
    (w_fmr, w_low, w_high), (b_fmr, b_low, b_high) = triples[worst], triples[best]
    overlap = w_low <= b_high
    return verdict(True, f"At the vendor's threshold, {worst} has FMR {w_fmr:.1%} (your 95 % interval {w_low:.1%} to "
                      f"{w_high:.1%}) against {b_fmr:.1%} ({b_low:.1%} to {b_high:.1%}) for {best}; the intervals "
                      + ("overlap, so these groups cannot show a gap: say so in the report." if overlap else
                         "do not overlap: not 'equally well for everyone'."))


def _pooled_fmr(groups, threshold: float) -> float:
    from ..metrics import pair_distances

    ok = np.asarray(groups.found, bool)
    labels = _group_labels(groups)[ok]
    people = np.unique(labels, return_inverse=True)[1] * 100_000 + groups.identities[ok]
    _, impostor = pair_distances(groups.embeddings[ok], people)
    return float(np.mean(impostor <= threshold))


# ------------------------------------------------------------------------ the audit report

FINDINGS = ("threshold", "deletion", "crawling", "fairness")
#: Numbers that are published, not measured here: the vendor's accuracy claim, dlib's LFW figures (99.38 % with
#: 100 jitters, which the vendor quotes, and 99.13 % with one, as the service encodes faces) and the threshold.
VENDOR_NUMBERS = (99.6, 0.996, 99.38, 0.9938, 99.13, 0.9913, capstone.CUSTOMARY_THRESHOLD)
#: Numbers that only point somewhere ("lesson 2", "Art. 17"), removed before looking for a measurement.
_REFERENCE = re.compile(r"\b(lessons?|tasks?|exercises?|sections?|cells?|art(icle)?\.?|v)\s*\d+(\.\d+)*(\(\d+\))*",
                        re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(%|per\s*cent)?", re.IGNORECASE)
_STORE_WORDS = {"index": r"\bindex\b(?!\s+cent)", "backups": r"\bbackup", "index_centroids": r"centr(oid|e)s?"}

REPORT_RUBRIC = """\
Assess the prose yourself (the check cannot judge it). For each finding, strong / adequate / not yet:
  1. Evidence: measured numbers with the data, split and threshold they refer to.
  2. Method: thresholds chosen on development people, reported on test people; intervals given and read correctly.
  3. Proof: residues shown from the stores and a restore; the crawler shown from the platform's log.
  4. Recommendation: specific, actionable, tied to the finding, saying who must act.
  5. Limits: what the audit cannot show (synthetic people, small groups, one site) and who each flaw harms."""


@dataclass
class Measured:
    """What the audit measured for one finding: named values to quote, and other numbers a report may cite."""

    values: dict[str, float]  # name -> value: rates as fractions (floats), counts as ints
    context: tuple[float, ...] = ()  # thresholds, targets, intervals, counts: citable, not evidence on their own
    stores: tuple[str, ...] = ()  # the deletion only: stores that still hold the person
    found_again: bool = False  # the deletion only: the vendor's restore makes the person the top candidate

    def describe(self) -> str:
        return ", ".join(f"{name} {_shown(value)}" for name, value in self.values.items())


def _shown(value) -> str:
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{value:.2%}" if value < 0.01 else f"{value:.1%}"


def audit_measurements(*, people, groups, vendor, person: int, probe, site, calibrated_threshold: float) -> dict:
    """What the service and the platform's log actually show, per finding, recomputed from the data:
    the values an honest audit report can quote (see :func:`audit_report`)."""
    from ..metrics import equal_error_rate

    threshold = float(vendor.config.threshold)
    calibrated = float(calibrated_threshold)
    dev_g, dev_i = split_pairs(people, capstone.DEV_IDENTITIES)
    test_g, test_i = split_pairs(people, capstone.TEST_IDENTITIES)
    vendor_fmr, vendor_fnmr = _rates(test_g, test_i, threshold)
    cal_fmr, cal_fnmr = _rates(test_g, test_i, calibrated)
    accuracy = ((1 - vendor_fmr) * len(test_i) + (1 - vendor_fnmr) * len(test_g)) / (len(test_i) + len(test_g))
    target = capstone.TARGET_FMR
    measured = {"threshold": Measured(
        {"FMR at the vendor's threshold": vendor_fmr, "FNMR at the vendor's threshold": vendor_fnmr,
         "FMR at the calibrated threshold": cal_fmr, "FNMR at the calibrated threshold": cal_fnmr},
        (threshold, calibrated, target, 10 * target, accuracy, *_rates(dev_g, dev_i, threshold),
         *_rates(dev_g, dev_i, calibrated), len(capstone.DEV_IDENTITIES), len(capstone.TEST_IDENTITIES),
         len(dev_g), len(dev_i), len(test_g), len(test_i), 1 / target, 0.95,
         equal_error_rate(dev_g, dev_i)[0], equal_error_rate(test_g, test_i)[0]))}
    stores, found_again = expected_deletion_residue(vendor, person, probe, people, groups)
    measured["deletion"] = Measured({"stores still holding the person": len(stores)}, (), tuple(sorted(stores)),
                                    found_again)
    agent = vendor.crawler.agent
    entries = site.log.entries(agent)
    evidence = crawler_log_evidence(site, agent)
    measured["crawling"] = Measured(
        {"requests robots.txt disallows": int(evidence["disallowed_requests"]),
         "photos of members who opted out": int(evidence["opted_out_photos"])},
        (len(entries), sum(e.path.startswith("/photos/") for e in entries), len(site.members("opted_out")),
         len(site.people), sum(e.path.startswith("/albums/") for e in entries), sum(e.status == 429 for e in entries),
         sum(e.path.startswith("/people/") for e in entries), *scrapelab.REQUEST_RATE,
         sum(e.path == "/" or e.path.startswith("/?") for e in entries), sum(e.status == 403 for e in entries),
         sum(e.status == 200 for e in entries), sum(not e.path.startswith("/photos/") for e in entries)))
    ok = np.asarray(groups.found, bool)
    labels = _group_labels(groups)
    rows = {r.group: r for r in expected_group_rates(groups, threshold)}
    at_calibrated = expected_group_rates(groups, calibrated)
    from ..fairness import bootstrap_fmr_over_people

    context = [threshold, calibrated, 0.95, _pooled_fmr(groups, threshold)]
    for t, group_rows in ((threshold, rows.values()), (calibrated, at_calibrated)):
        group_rows = list(group_rows)
        context += [v for r in group_rows for v in (r.fmr, r.low, r.high, r.people, r.impostor_pairs, r.false_matches)]
        fmrs = sorted(r.fmr for r in group_rows)
        if fmrs[0] > 0:
            context.append(fmrs[-1] / fmrs[0])  # how many times more often the worse-off group is falsely matched
        for r in group_rows:  # the notebook's bootstrap over people, as it prints it
            mine = ok & (labels == r.group)
            context += bootstrap_fmr_over_people(groups.embeddings[mine], groups.identities[mine], t, n_resamples=200)
    measured["fairness"] = Measured({f"FMR in {g}": r.fmr for g, r in sorted(rows.items())}, tuple(context))
    return measured


def audit_report(report: object, measured: dict | None = None) -> Feedback:
    """The audit report: for each finding the claim, the measured ``figures`` ({label: value}, the labels of
    :func:`audit_measurements`; for the deletion, ``stores`` and ``found_after_restore``), and prose
    ``evidence`` and ``recommendation``; ``measured`` is :func:`audit_measurements` of this notebook's service.

    Judged by machine: every finding is there with its claim; every measured value is given under its own label
    and equals what was measured (a value given under another label, such as FNMR for FMR or one group's rate for
    the other's, is named); the deletion's stores equal the stores that kept the person; the prose is there.
    The prose itself a machine cannot judge: the check says so, shows what a screen of it flagged (warnings that
    can misfire), and prints a rubric and a model report built from the same measurements."""
    if report is None:
        return verdict(False, "You have not filled `report` yet: start from capstone.report_template().")
    if not isinstance(report, dict):
        return verdict(False, "Write the report as a dict: start from capstone.report_template(), which has the "
                           "findings " + ", ".join(FINDINGS) + ".")
    if measured is None:
        return verdict(False, "Pass the measurements too: check.audit_report(report, measured), with measured = "
                           "check.audit_measurements(...) as in the cell above.")
    missing = [f for f in FINDINGS if f not in report]
    if missing:
        return verdict(False, f"The report has no finding for {missing}: an audit reports every flaw it found.")
    problems = []
    for name in FINDINGS:
        finding = report[name]
        if not isinstance(finding, dict):
            problems.append(f"{name}: give a dict as capstone.report_template() does")
            continue
        if name == "deletion":
            problems += _deletion_figure_problems(finding, measured[name])
        else:
            problems += _figure_problems(name, finding.get("figures"), measured[name])
        for field in ("claim", "evidence", "recommendation"):
            if not isinstance(finding.get(field), str) or not finding[field].strip():
                problems.append(f"{name}: write the {field}" + (" (the vendor's claim this finding tests)"
                                                                if field == "claim" else " (a sentence or more)"))
    if problems:
        return verdict(False, "Not yet: " + "; ".join(problems) + ".")
    feedback = verdict(True, "Verified against this notebook's measurements: every figure you gave, under its "
                            "label (" + "; ".join(f"{n}: {', '.join(measured[n].values)}" for n in FINDINGS
                                                  if n != "deletion")
                       + "), the stores that kept the person and whether the restore brings them back. Your prose "
                         "(evidence and recommendations) was NOT judged: assess it with the rubric below.")
    warnings = []
    for name in FINDINGS:
        warnings += _evidence_problems(name, report[name].get("evidence"), measured[name])
        if len(str(report[name].get("recommendation", "")).split()) < 8:
            warnings.append(f"{name}: the recommendation is very short; does it say who must do what?")
    if warnings:
        print("⚠️ A screen of your prose flagged these (it can misfire; weigh them with the rubric):")
        for warning in warnings:
            print("  - " + warning)
    print(REPORT_RUBRIC)
    print("\nA model report's evidence, from the same measurements (compare; wording is yours):")
    for name in FINDINGS:
        print(f"  {name}: {_model_evidence(name, measured[name])}")
    return feedback


def _figure_matches(value: float, expected: float) -> bool:
    """``value`` is ``expected`` up to rounding: counts exactly, rates to about 1 % of themselves (or 0.005 for
    rates of 1 % and more, i.e. half a percentage point), so that a rounded figure passes but another one does not."""
    if isinstance(expected, (int, np.integer)):
        return float(value).is_integer() and int(value) == int(expected)
    tolerance = 0.005 + 0.005 * expected if expected >= 0.01 else 0.00005 + 0.02 * expected
    return abs(value - expected) <= tolerance


def _figure_problems(name: str, figures: object, measured: Measured) -> list[str]:
    """What is wrong with one finding's ``figures`` ({label: value}), compared with what was measured."""
    labels = list(measured.values)
    if not isinstance(figures, dict) or not figures:
        return [f"{name}: fill 'figures' with what you measured, {{label: value}}, for the labels "
                + "; ".join(repr(label) for label in labels)]
    given, problems = {}, []
    for label, value in figures.items():
        option, message = chosen_option(label, labels, f"{name} figures")
        if message:
            return [message.rstrip(".")]
        number = _number(value)
        if number is None:
            return [f"{name}: {option} should be a number: " + _not_a_number(value)]
        given[option] = number
    absent = [label for label in labels if label not in given]
    if absent:
        problems.append(f"{name}: the figures have no value for {absent[0]!r}")
    for label, number in given.items():
        expected = measured.values[label]
        if _figure_matches(number, expected):
            continue
        other = next((o for o in labels if o != label and _figure_matches(number, measured.values[o])), None)
        if other:
            problems.append(f"{name}: {_shown(number) if not float(number).is_integer() else int(number)} is what "
                            f"this notebook measured as {other!r}, not {label!r}: match each value to its label")
        elif not isinstance(expected, (int, np.integer)) and _figure_matches(number / 100, expected):
            problems.append(f"{name}: {label} {number:g} looks like a percentage; give rates as fractions "
                            "(e.g. 0.5 % is 0.005)")
        else:
            problems.append(f"{name}: {label} {number:g} is not what this notebook measured ({_shown(expected)})")
    return problems


def _deletion_figure_problems(finding: dict, measured: Measured) -> list[str]:
    """What is wrong with the deletion finding's ``stores`` and ``found_after_restore``."""
    stores = finding.get("stores")
    if isinstance(stores, str) or not isinstance(stores, (list, tuple, set)) or not stores:
        return ["deletion: fill 'stores' with the names of the stores that still held the person after the vendor's "
                "delete (your deletion_findings['stores_with_residue'])"]
    problems = []
    given, expected = {str(s) for s in stores}, set(measured.stores)
    if given != expected:
        extra, absent = sorted(given - expected), sorted(expected - given)
        problems.append("deletion: 'stores' should be the stores service.find still counted after the vendor's "
                        "delete" + (f"; {', '.join(absent)} missing" if absent else "")
                        + (f"; {', '.join(extra)} held nothing of the person then" if extra else ""))
    found = finding.get("found_after_restore")
    if not isinstance(found, (bool, np.bool_)):
        problems.append(f"deletion: found_after_restore should be True or False, not {found!r}")
    elif bool(found) != measured.found_again:
        problems.append("deletion: found_after_restore is " + str(bool(found)) + ", but after the vendor's restore "
                        "the person is " + ("again" if measured.found_again else "not") + " the top candidate")
    return problems


def _evidence_problems(name: str, evidence, measured: Measured) -> list[str]:
    text = _as_text(evidence)
    numbers = _numbers_in(text)
    if not numbers and name != "deletion":
        return [f"{name}: the evidence contains no number; quote what you measured ({measured.describe()})"]
    if numbers and all(any(abs(n - v) < 1e-9 for v in VENDOR_NUMBERS) for n, _ in numbers) and name != "deletion":
        return [f"{name}: the only numbers in the evidence are published claims (the vendor's accuracy, dlib's LFW "
                f"figures or the threshold), not measurements; "
                f"quote your measurement ({measured.describe()})"]
    if name == "deletion":
        named = [store for store in measured.stores if re.search(_STORE_WORDS.get(store, store), text, re.IGNORECASE)]
        counted = [int(m.group(1)) for m in re.finditer(r"\b(\d+)\s+(?:of\s+\d+\s+)?stores\b", text)]
        wrong = [n for n in counted if n != len(measured.stores)]
        if wrong:
            return [f"deletion: the evidence says {wrong[0]} stores, but service.find counted data in "
                    f"{len(measured.stores)} ({', '.join(measured.stores)}) after the vendor's delete"]
        if len(named) < len(measured.stores) and not counted:
            left = [s for s in measured.stores if s not in named]
            return [f"deletion: the evidence does not name {', '.join(left)}, where service.find still counted data "
                    f"of the person after the vendor's delete (stores with data: {', '.join(measured.stores)})"]
        return []
    citable = list(measured.values.values()) + list(measured.context) + list(VENDOR_NUMBERS)
    for number, decimals, kind, written in _numbers_in(text, typed=True):
        checked = kind == "count" if name == "crawling" else kind == "rate"
        if checked and not any(_matches(number, decimals, v) for v in citable):
            return [f"{name}: the evidence says {written.strip()}, which is not what this "
                    f"notebook measured: {measured.describe()}"]
    if not any(_matches(n, d, v) for n, d in numbers for v in measured.values.values()):
        return [f"{name}: the evidence quotes none of the values this notebook measured ({measured.describe()})"]
    return []


def _as_text(evidence) -> str:
    if evidence is None or isinstance(evidence, bool):
        return ""
    if isinstance(evidence, dict):
        return "; ".join(f"{k}: {_as_text(v)}" for k, v in evidence.items())
    if isinstance(evidence, (list, tuple, set)):
        return "; ".join(_as_text(v) for v in evidence)
    return str(evidence)


_COUNTED = re.compile(r"\s*(\w+\s+){0,2}?(requests?|photos?|pages?|albums?|images?|members?|profiles?|times)\b",
                      re.IGNORECASE)


def _numbers_in(text: str, *, typed: bool = False) -> list[tuple]:
    """The numbers in ``text`` as (value, decimals shown), percentages as fractions (decimals + 2);
    references such as "lesson 2" or "Art. 17(3)" left out. With ``typed``, each also gets its kind:
    "rate" (a percentage, or a fraction below 1), "count" (a whole number followed by what it counts,
    such as "12 requests") or "other"."""
    found = []
    text = _REFERENCE.sub(" ", text)
    for match in _NUMBER.finditer(text):
        whole, fraction, percent = match.groups()
        value = float(whole.replace(",", "") + (fraction or ""))
        decimals = len(fraction) - 1 if fraction else 0
        if percent:
            value, decimals = value / 100, decimals + 2
        if not typed:
            found.append((value, decimals))
            continue
        if re.search(r"(threshold|distance|tolerance|cut-?off|\bat)\s*(of|=|:|is)?\s*$", text[:match.start()],
                     re.IGNORECASE) and not percent:
            kind = "other"  # a threshold the report names ("at 0.6", "threshold 0.41"), not a measured rate
        elif percent or (fraction and value < 1):
            kind = "rate"
        elif not fraction and _COUNTED.match(text, match.end()):
            kind = "count"
        else:
            kind = "other"
        found.append((value, decimals, kind, match.group(0)))
    return found


def _matches(number: float, decimals: int, value: float) -> bool:
    """``number``, written with ``decimals`` decimals, is ``value`` rounded or cut to that many decimals."""
    scale = 10.0 ** decimals
    return any(abs(number - candidate) <= 1e-9 for candidate in
               (round(value, decimals), np.floor(value * scale + 1e-9) / scale))


def _model_evidence(name: str, measured: Measured) -> str:
    if name == "deletion":
        return (f"after the vendor's delete, service.find still counts data in {', '.join(measured.stores)}; after "
                f"the vendor's restore the person is {'again' if measured.found_again else 'not'} the top candidate.")
    return measured.describe() + "."


# ------------------------------------------------------------------------ concept questions

#: Before the capstone: what a learner may believe about a vendor's claims.
BEFORE = [
    ConceptQuestion(
        "A vendor says its face search is \"99.6% accurate\". What does that tell you about how often it puts the "
        "wrong person on a list of matches?",
        {"a": "little: one accuracy figure mixes false matches with missed matches",
         "b": "wrong people appear in 0.4 % of searches, since 99.6 % of its answers are right",
         "c": "the false match rate is 0.4 %, since the other 99.6 % of its decisions are right"},
        answer="a",
        why="accuracy counts right decisions over some set of pairs; on the capstone's test pairs 0.6 scores 40.4 % "
            "'accuracy' with FMR 60.7 % and FNMR 0 %, and on LFW's balanced pairs dlib scores over 99 %: only FMR "
            "and FNMR on the people served say which error is made."),
    ConceptQuestion(
        "A service confirms: \"all your data has been permanently deleted\". What is that confirmation?",
        {"a": "proof that the data is gone",
         "b": "a legal guarantee that every copy is gone",
         "c": "a claim, to be checked against every store, the backups and a restore"},
        answer="c",
        why="a confirmation is written by the party being audited; lesson 04 and task 2 of this lesson find data "
            "left in the index, its trained centres and a backup that a restore brings back."),
    ConceptQuestion(
        "A crawler's log shows that it requested robots.txt first. What does that show?",
        {"a": "that it obeys robots.txt, since a crawler reads the file only in order to follow it",
         "b": "only that it knew the rules; the paths it requested next show whether it kept them",
         "c": "that it is authorised to fetch the whole site"},
        answer="b",
        why="reading robots.txt is not obeying it, and robots.txt grants no authorisation (RFC 9309); the "
            "platform's log of later requests is the evidence."),
]

#: After the capstone: the whole course, one key idea per lesson.
AFTER = [
    ConceptQuestion(
        "Two photos give dlib embeddings at distance 0.45. Are they the same person?",
        {"a": "yes: anything under dlib's default 0.6 is a match",
         "b": "it depends on the threshold chosen for the population served",
         "c": "no: only identical embeddings match"},
        answer="b",
        why="a threshold belongs to a recogniser and a population (lessons 02 and 06): at 0.6 the capstone's test "
            "people had FMR 60.7 %, and the threshold chosen for FMR 0.1 % was 0.315, under which 0.45 is no match."),
    ConceptQuestion(
        "How should an audit choose a threshold and report its error rates?",
        {"a": "choose it and report it on the same people, so the numbers are consistent",
         "b": "take the library's default and report the accuracy over all pairs",
         "c": "choose it on development people; report FMR and FNMR on held-out people"},
        answer="c",
        why="rates measured on the people used to choose the threshold flatter it; held-out people show how it "
            "transfers, and FMR and FNMR separately show which error is made."),
    ConceptQuestion(
        "A search compares one probe with a gallery of N people at a fixed false match rate per comparison. As N "
        "grows, the chance that a search returns at least one wrong person...",
        {"a": "grows, towards certainty (1 - (1 - FMR)^N)",
         "b": "stays the same, since the rate per comparison is fixed",
         "c": "falls, since a bigger gallery is more likely to hold the right person"},
        answer="a",
        why="each comparison is another chance of a false match (lesson 03): at FMR 0.1 % a gallery of 100 people "
            "gives about a 10 % chance per search, and one of 10,000 almost certainly a wrong candidate."),
    ConceptQuestion(
        "After a vendor's delete, where can a person still be, as lessons 04 and 06 measured?",
        {"a": "nowhere: the delete removes the person from every store",
         "b": "only in the photo store, until it is compacted",
         "c": "in tombstoned index vectors, index centres, backups and trained models"},
        answer="c",
        why="each store must be cleaned on its own and a restore must replay the deletions; the capstone's "
            "service.find counted the index, its centres and the backup, and the restore brought the person back."),
    ConceptQuestion(
        "Calibrating the threshold lowered the false match rate of both simulated groups. What happened to the ratio "
        "between them?",
        {"a": "it vanished: both rates became so small that the difference between them no longer matters",
         "b": "the ratio between the groups grew, from about 1.7 to about 56 times",
         "c": "it stayed the same: both rates fell by the same factor, so their ratio did not change"},
        answer="b",
        why="lowering every rate does not make them equal; the capstone measured 97 % against 56 % at 0.6 and 2.5 % "
            "against 0.05 % at the calibrated threshold: per-group rates with intervals are needed."),
]


def concepts_before(answers) -> Feedback:
    """Before the capstone: what a vendor's claims do and do not show."""
    return concept_quiz("before", BEFORE, answers)


def concepts_after(answers) -> Feedback:
    """After the capstone: a review of the whole course."""
    return concept_quiz("after", AFTER, answers)
