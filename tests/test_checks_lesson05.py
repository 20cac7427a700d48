"""Lesson 05's exercise checks: typical wrong answers get ❌ with a message naming the mistake, right answers
written differently get ✅. Exercise 1's crawlers really run against the local lab site, as a learner's would."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
import urllib.parse
import urllib.robotparser

import pytest

from course import crawl, scrapelab
from course.checks import lesson05 as check

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "05_scraping.ipynb"

# --------------------------------------------------------------------------- exercise 1: a polite crawler


def learner_crawler(agent: str, *, robots_first: bool = True, obey_robots: bool = True, wait: bool = True,
                    on_429: str = "retry-after", skip_opted_out: bool = True, paginate: bool = True,
                    returns: str = "dict", sent_agent: str | None = None, delay: float | None = None):
    """A crawler as a learner writes it for exercise 1, with one of the typical slips switched on."""

    def crawl_politely(base_url: str, agent: str = agent, max_requests: int = 300):
        state = {"last": 0.0, "delay": 0.0, "sent": 0}

        def get(url):
            for _attempt in range(4):
                if state["sent"] >= max_requests:
                    return None
                pause = state["last"] + state["delay"] - time.monotonic()
                if wait and pause > 0:
                    time.sleep(pause)
                state["last"] = time.monotonic()
                state["sent"] += 1
                response = crawl.fetch(url, sent_agent or agent)
                if response.status != 429:
                    return response
                if on_429 == "give-up":
                    return None
                pauses = {"short-pause": 0.05, "one-second": 1.0}  # a fixed pause, whatever Retry-After says
                time.sleep(pauses.get(on_429) or crawl.retry_after(response))
            return None

        robots = urllib.robotparser.RobotFileParser()
        if not robots_first:
            get(base_url + "/")
        answer = get(base_url + "/robots.txt")
        robots.parse(answer.text.splitlines() if answer and answer.status == 200 else [])
        rate = robots.request_rate(agent)
        state["delay"] = delay if delay is not None else rate.seconds / rate.requests if rate else 1.0
        profiles, queue, seen = {}, [base_url + "/"], {base_url + "/"}
        while queue and state["sent"] < max_requests:
            url = queue.pop(0)
            if obey_robots and not robots.can_fetch(agent, url):
                continue
            response = get(url)
            if response is None or response.status != 200:
                continue
            page = crawl.parse_page(response.text)
            if skip_opted_out and crawl.opted_out(response, page):
                continue
            path = url[len(base_url):]
            if path.startswith("/people/"):
                profiles[path] = page.name
            for link in page.links:
                target = urllib.parse.urljoin(url, link["href"])
                if not paginate and ("page=" in target or path.startswith("/people/")):
                    continue  # only the profiles listed on the first directory page
                if target.startswith(base_url + "/") and target not in seen:
                    seen.add(target)
                    queue.append(target)
        if returns == "list":
            return sorted(profiles)
        if returns == "urls":
            return {base_url + path: name for path, name in profiles.items()}
        if returns == "paths as values":
            return {path: path for path in profiles}
        if returns == "first three":
            return dict(sorted(profiles.items())[:3])
        if returns == "empty":
            return {}
        return None if returns == "none" else profiles

    return crawl_politely


def reference_course_crawler(agent: str):
    """A right answer by another route: the course's own polite crawler, its profiles as {path: name}."""

    def crawl_politely(base_url: str, agent: str = agent):
        result = crawl.polite_crawl(base_url, agent=agent, photos=False)
        return {path: profile.name for path, profile in result.profiles.items()}

    return crawl_politely


@pytest.fixture(scope="module")
def site():
    """Plaza as in the notebook: 40 members, so a crawler that never waits exceeds the requested rate."""
    with scrapelab.SocialNetwork(seed=2026, n_people=40, time_limit=600) as running:
        yield running


def judge(site, crawler, agent, **kwargs):
    since = len(site.log)
    result = crawler(site.url)
    return check.polite_crawler(site, agent, result, since=since, crawler=crawler, **kwargs)


WRONG_CRAWLERS = {
    "urllib's default User-Agent": (dict(sent_agent="Python-urllib/3.11"), "urllib's default"),
    "robots.txt not read first": (dict(robots_first=False), "read /robots.txt before anything else"),
    "robots.txt ignored": (dict(obey_robots=False), "which robots.txt disallows"),
    "opted-out members kept": (dict(skip_opted_out=False), "who opted out"),
    # seen in the log when the machine is quick, in the instant replay when it is too busy for the log to show it
    "no pause between requests": (dict(wait=False), "requests in one second|does not wait between requests"),
    "only the first directory page": (dict(paginate=False), 'follow its rel="next" links'),
    "a list instead of a dict": (dict(returns="list"), "return a dict"),
    "forgot to return": (dict(returns="none"), "returned None"),
    "Retry-After ignored (0.05 s pause)": (dict(on_429="short-pause"), "before the Retry-After time had passed"),
    "gives up on a 429 and goes on at once": (dict(on_429="give-up"), "before the Retry-After time had passed"),
    "a fixed one-second pause after a 429": (dict(on_429="one-second"), "before the Retry-After time had passed"),
    "full URLs as keys": (dict(returns="urls"), "keys are full URLs"),
    "paths as values, not names": (dict(returns="paths as values"), "not the member's name"),
    "only three profiles returned": (dict(returns="first three"), "lists 3 of the"),
    "an empty dict returned": (dict(returns="empty"), "lists 0 of the"),
    "a browser's User-Agent": (dict(sent_agent=None), "poses as a web browser"),
}


@pytest.mark.parametrize("slip", list(WRONG_CRAWLERS))
def test_polite_crawler_check_names_each_slip(site, slip, capsys):
    options, phrase = WRONG_CRAWLERS[slip]
    agent = f"Learner-{re.sub(r'[^A-Za-z]', '', slip)}/1.0 (tests)"
    if slip == "a browser's User-Agent":
        agent = f"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 {re.sub(r'[^A-Za-z]', '', slip)}"
    feedback = judge(site, learner_crawler(agent, **options), agent)
    assert not feedback, slip
    assert any(part in feedback.message for part in phrase.split("|")), feedback.message
    assert "❌" in capsys.readouterr().out


RIGHT_CRAWLERS = {
    "the notebook's solution": lambda agent: learner_crawler(agent),
    "the course's polite_crawl, another algorithm": reference_course_crawler,
}


@pytest.mark.parametrize("answer", list(RIGHT_CRAWLERS))
def test_polite_crawler_check_accepts_right_crawlers(site, answer, capsys):
    agent = f"Right-{re.sub(r'[^A-Za-z]', '', answer)}/1.0 (tests)"
    feedback = judge(site, RIGHT_CRAWLERS[answer](agent), agent)
    assert feedback, feedback.message
    assert "waited the Retry-After time" in feedback.message


def test_polite_crawler_check_accepts_a_slower_crawler_than_asked(capsys):
    """Waiting 0.6 s between requests is more polite than robots.txt asks; the check still provokes a 429
    for it on the small site (the server already refuses its agent when it starts), and accepts it."""
    agent = "Slower/1.0 (tests)"
    with scrapelab.SocialNetwork(seed=7, n_people=8, time_limit=600) as small:
        feedback = judge(small, learner_crawler(agent, delay=0.6), agent)
    assert feedback, feedback.message
    assert "waited the Retry-After time" in feedback.message


def test_polite_crawler_check_names_a_crawler_that_never_waits_even_on_a_slow_machine(site, capsys, monkeypatch):
    """On a busy machine every request is slow, so a crawler without any pause stays under robots.txt's rate and
    the log looks polite. Simulated here: each request takes 0.06 s, longer than the 0.04 s the rate asks for."""
    real = crawl.fetch

    def slow_fetch(url, agent, **kwargs):
        time.sleep(0.06)
        return real(url, agent, **kwargs)

    monkeypatch.setattr(crawl, "fetch", slow_fetch)
    agent = "NeverWaits/1.0 (tests)"
    feedback = judge(site, learner_crawler(agent, wait=False), agent)
    assert not feedback and "does not wait between requests" in feedback.message, feedback.message
    assert "When the check replayed the answers your crawler had already received, instantly," in feedback.message
    assert "Run again with answers that came at once" not in feedback.message
    polite = "WaitsOnSlowMachine/1.0 (tests)"
    assert judge(site, learner_crawler(polite), polite)


def test_polite_crawler_check_names_a_crawler_that_crashes_on_a_429(site, capsys):
    agent = "Fragile/1.0 (tests)"

    def fragile(base_url):
        if crawl.fetch(base_url + "/robots.txt", agent).status == 429:
            return None.seconds  # as `robots.request_rate(agent).seconds` fails when robots.txt was refused
        return learner_crawler(agent)(base_url)

    feedback = judge(site, fragile, agent)
    assert not feedback and "your crawler raised AttributeError" in feedback.message, feedback.message


def test_polite_crawler_check_names_a_crawler_tied_to_one_site(site, capsys):
    agent = "OneSite/1.0 (tests)"
    crawler = learner_crawler(agent)
    feedback = judge(site, lambda base_url: crawler(site.url), agent)  # ignores the address it is given
    assert not feedback and "crawl the base_url it is given" in feedback.message


def test_the_tight_site_asks_for_a_retry_after_other_than_one_second():
    """So that a crawler pausing a fixed second after every 429, whatever the header says, is caught."""
    agent = "TightProbe/1.0 (tests)"
    with scrapelab.SocialNetwork(**check.TIGHT_SITE) as tight:
        answers = [crawl.fetch(tight.url + "/robots.txt", agent) for _ in range(tight.rate_limit + 2)]
    assert [a.status for a in answers][-2:] == [429, 429]
    assert int(answers[-1].headers["retry-after"]) >= 2


def test_polite_crawler_check_without_the_crawler_judges_the_log_only(site, capsys):
    agent = "LogOnly/1.0 (tests)"
    since = len(site.log)
    profiles = learner_crawler(agent)(site.url)
    feedback = check.polite_crawler(site, agent, profiles, since=since)
    assert feedback and "Retry-After" not in feedback.message
    not_a_function = check.polite_crawler(site, agent, profiles, since=since, crawler=profiles)
    assert "Pass your crawler function" in not_a_function.message
    assert "No request" in check.polite_crawler(site, "NeverSeen/1.0").message


def test_check_judges_only_the_latest_run(site, capsys):
    agent = "SecondTry/1.0 (tests)"
    opted = site.members("opted_out")[0]
    crawl.fetch(site.url + "/robots.txt", agent)
    crawl.fetch(site.url + f"/photos/{opted.slug}/0.jpg", agent)  # a first, careless attempt
    assert "opted out" in check.polite_crawler(site, agent).message
    since = len(site.log)
    result = crawl.polite_crawl(site.url, agent=agent, photos=False)  # the corrected crawler, same name
    names = {path: profile.name for path, profile in result.profiles.items()}
    assert check.polite_crawler(site, agent, names, since=since)


# --------------------------------------------------------------------------- exercise 2: a consent filter

RECORDS = check.consent_exercise_records()
BY_ID = {r["id"]: r for r in RECORDS}
KEEP = ["plaza-3", "own-ana", "synthetic-12"]

def _returns(ids):
    """A filter that returns fixed ids (or a fixed value) whatever records it is given."""
    return lambda records: ids


def _ids_plus(extra):
    """The right filter, plus the records with these ids kept as well."""
    return lambda records: [r["id"] for r in records if check.covers_face_recognition(r) or r["id"] in extra]


def _filter_in_place(records):
    """Right ids, but it empties the caller's list while doing so."""
    kept = [r for r in records if check.covers_face_recognition(r)]
    records[:] = kept
    return kept


def _clear(records):
    records.clear()
    return records


def _keeps_any_face_mention(records):
    """Wrong: a consent that merely mentions a face (e.g. a photo of my face on a web page) is kept."""
    return [r["id"] for r in records if check.covers_face_recognition(r)
            or (r["source"] in ("consented", "own_photo") and not r.get("withdrawn") and "face" in r["consent"].lower())]


def _ignores_source(records):
    """Wrong: any record whose consent text names face recognition is kept, scraped ones too."""
    words = check._FR_WORDS
    return [r["id"] for r in records if (r["source"] == "synthetic" and r.get("generator")
                                         and r.get("identity_seed") is not None)
            or (not r.get("withdrawn") and any(w in str(r.get("consent", "")).lower() for w in words))]


def _synthetic_unchecked(generator: bool, seed: bool):
    """Wrong: a synthetic record is kept with only part (or none) of its provenance checked."""
    def keep(records):
        return [r["id"] for r in records if check.covers_face_recognition(r)
                or (r["source"] == "synthetic" and (not generator or r.get("generator"))
                    and (not seed or r.get("identity_seed") is not None))]
    return keep


def _case_sensitive(records):
    """Wrong: the consent text is searched without .lower(), so 'Face Recognition' is missed."""
    return [r["id"] for r in records if (r["source"] == "synthetic" and r.get("generator")
                                         and r.get("identity_seed") is not None)
            or (r["source"] in ("consented", "own_photo") and not r.get("withdrawn")
                and any(w in r["consent"] for w in check._FR_WORDS))]


CONSENT_WRONG = {
    "any consent that mentions a face": (_keeps_any_face_mention, "you kept own-gus"),
    "the source ignored (scraped terms that mention face recognition)": (_ignores_source, "you kept web-4"),
    "any synthetic record, provenance unchecked": (_synthetic_unchecked(False, False), "you kept synthetic-9"),
    "a synthetic record with a generator but no identity seed": (_synthetic_unchecked(True, False),
                                                                  "you kept synthetic-98"),
    "a synthetic record with a seed but no generator": (_synthetic_unchecked(False, True), "you kept synthetic-99"),
    "consent text searched without .lower()": (_case_sensitive, "you dropped own-hal"),
    "public treated as consent": (_ids_plus({"web-1"}), "public is not consent"),
    "a platform licence treated as consent": (_ids_plus({"web-2"}), "licence the user gave the platform"),
    "the London set kept": (_ids_plus({"london-017"}), "does not name face recognition"),
    "a withdrawn consent kept": (_ids_plus({"own-cho"}), "withdrew"),
    "consent for something else kept": (_ids_plus({"own-ben"}), "consent covers only what it names"),
    "synthetic people dropped": (lambda records: [r for r in records if r["source"] == "own_photo"
                                                  and check.covers_face_recognition(r)], "nobody to ask"),
    "an id that does not exist": (lambda records: [r["id"] for r in records if check.covers_face_recognition(r)]
                                  + ["nope"], "not one of the records' ids"),
    "forgot to return": (_returns(None), "forget `return`"),
    "a string": (_returns("own-ana"), "Return a list"),
    "the first set's ids hard-coded": (_returns(KEEP), "On a second set of records"),
    "the result, not the function": (KEEP, "Pass your function itself"),
    "empties the caller's list": (_clear, "changed the list it was given"),
    "filters the caller's list in place": (_filter_in_place, "changed the list it was given"),
}


@pytest.mark.parametrize("mistake", list(CONSENT_WRONG))
def test_consent_filter_names_each_mistake(mistake, capsys):
    answer, phrase = CONSENT_WRONG[mistake]
    feedback = check.consent_filter(answer)
    assert not feedback and phrase in feedback.message, feedback.message


def _keep_by_regex(records):
    """Another right algorithm: a regular expression over the consent text."""
    words = re.compile(r"face(ial)? recognition|biometric|face embedding|face template", re.IGNORECASE)
    return [r["id"] for r in records if (r["source"] == "synthetic" and r.get("generator")
                                         and r.get("identity_seed") is not None)
            or (r["source"] in ("consented", "own_photo") and not r.get("withdrawn") and words.search(r["consent"]))]


def _keep_by_casefold(records):
    """Another right algorithm: the excluded cases first, then casefold() and the exercise's word list."""
    kept = []
    for record in records:
        if record["source"] == "synthetic":
            if record.get("generator") and record.get("identity_seed") is not None:
                kept.append(record["id"])
            continue
        if record["source"] not in ("consented", "own_photo") or record.get("withdrawn"):
            continue
        if any(word in record["consent"].casefold() for word in check._FR_WORDS):
            kept.append(record["id"])
    return kept


CONSENT_RIGHT = {
    "the records themselves": lambda records: [r for r in records if check.covers_face_recognition(r)],
    "their ids, in another order": lambda records: [r["id"] for r in reversed(records)
                                                    if check.covers_face_recognition(r)],
    "a set of ids from a regex": lambda records: set(_keep_by_regex(records)),
    "a tuple of records": lambda records: tuple(filter(check.covers_face_recognition, records)),
    "casefold() and early exits": _keep_by_casefold,
}


@pytest.mark.parametrize("answer", list(CONSENT_RIGHT))
def test_consent_filter_accepts_right_answers(answer, capsys):
    assert check.consent_filter(CONSENT_RIGHT[answer])


def test_consent_filter_says_when_the_exercise_is_not_done(capsys):
    def stub(records):
        raise NotImplementedError
    with pytest.raises(NotImplementedError):
        check.consent_filter(stub)
    assert "not done yet" in capsys.readouterr().out


# --------------------------------------------------------------------------- exercise 3: an erasure request

GOOD_REQUEST = {
    "requester": "Ana Example",
    "profile_url": "https://plaza.example/people/ana-example",
    "legal_basis": "GDPR Article 17 (the right to erasure)",
    "erase": ["the photos of me", "the face embeddings and biometric templates computed from them"],
    "deadline": "without undue delay, at the latest within one month",
    "letter": "To the Data Protection Officer, ... (the learner's own letter, which the check does not read)",
}


def _request(**changes):
    return {**GOOD_REQUEST, **changes}


REQUEST_WRONG = {
    "photos only": (_request(erase=["the photos of me"]), "the vectors computed from them"),
    "templates only": (_request(erase=["the face embeddings and biometric templates computed from them"]),
                       "the photos of you"),
    "the right of access, not erasure": (_request(legal_basis="GDPR Article 15 (the right of access)"),
                                         "erasure is Article 17"),
    "the platform's terms as a basis": (_request(legal_basis="the platform's terms of service"), "contract"),
    "robots.txt as a basis": (_request(legal_basis="robots.txt"), "not a legal right"),
    "a basis not among the options": (_request(legal_basis="my right to privacy"), "not one of the options"),
    "a year's deadline": (_request(deadline="within one year"), "within one month"),
    "no deadline": (_request(deadline="no deadline"), "within one month"),
    "no name": (_request(requester=""), "requester"),
    "no URL": (_request(profile_url="my profile"), "profile_url"),
    "erase as a string": (_request(erase="the photos of me"), "a list of the options"),
    "an erase item not among the options": (_request(erase=["the photos of me", "everything"]),
                                            "not one of the options"),
    "no letter": (_request(letter="  "), "letter"),
    "a key missing": ({k: v for k, v in GOOD_REQUEST.items() if k != "deadline"}, "has no deadline"),
    "only a letter string": ("Dear DPO, please delete my photos under Article 17 within one month.", "as a dict"),
    "not set yet": (None, "not set `erasure` yet"),
}


@pytest.mark.parametrize("mistake", list(REQUEST_WRONG))
def test_deletion_request_names_each_gap(mistake, capsys):
    request, phrase = REQUEST_WRONG[mistake]
    feedback = check.deletion_request(request)
    assert not feedback and phrase in feedback.message, feedback.message
    assert "model letter" not in capsys.readouterr().out  # the model is shown only after a right set of fields


REQUEST_RIGHT = {
    "GDPR": GOOD_REQUEST,
    "BIPA instead": _request(legal_basis="Illinois BIPA (740 ILCS 14)"),
    "other capitals and a final full stop": _request(legal_basis="gdpr article 17 (the right to erasure).",
                                                     deadline="Without undue delay, at the latest within one month"),
    "a non-ASCII name": _request(requester="Łucja Żak"),
    "all three things to erase, as a tuple": _request(erase=tuple(check.ERASE_OPTIONS)),
    "a letter written any way at all": _request(letter="I, Alex Sample, ask you to erase...\nRegards\nalex@example.org"),
}


@pytest.mark.parametrize("answer", list(REQUEST_RIGHT))
def test_deletion_request_accepts_right_fields_and_says_the_letter_was_not_judged(answer, capsys):
    feedback = check.deletion_request(REQUEST_RIGHT[answer])
    assert feedback, feedback.message
    assert "NOT judged" in feedback.message
    out = capsys.readouterr().out
    assert check.ERASURE_RUBRIC in out and check.MODEL_LETTER in out


# --------------------------------------------------------------------------- exercise 4: a position statement

SOURCES = {"opc": "https://priv.gc.ca/opc", "aiact": "https://eur-lex.europa.eu/eli/reg/2024/1689/oj",
           "williams": "https://www.aclu.org/williams", "cbs": "https://www.cbsnews.com/clearview"}
BODY = ("I argue against the motion: scraping faces for a search engine should be unlawful, whatever robots.txt "
        "says, because the people in the photos never agreed and cannot realistically object. ") * 3
GOOD = BODY + "Canada's commissioners called it mass surveillance [opc], and the EU bans it [aiact]."
TWO = ["opc", "aiact"]

POSITION_WRONG = {
    "too short": ("against", "I argue it should be banned [opc] [aiact].", TWO, "at least 80"),
    "one source": ("against", GOOD, ["opc"], "lists 1 source;"),
    "no source at all": ("against", GOOD, [], "`cited` lists 0 sources;"),
    "the same source twice": ("against", GOOD, ["opc", "OPC"], "lists 1 source"),
    "a source not on the list": ("against", GOOD, ["opc", "nyt"], "'nyt' in `cited` is not one of"),
    "cited as one string": ("against", GOOD, "[opc, aiact]", "should be a list of source keys"),
    "cited not set": ("against", GOOD, None, "not set `cited` yet"),
    "no stance": (None, GOOD, TWO, "not set `stance` yet"),
    "a stance that is neither": ("maybe", GOOD, TWO, "not one of the options"),
    "no statement": ("for", None, TWO, "not set `statement` yet"),
    "not a string": ("for", ["a", "list"], TWO, "one string"),
}


@pytest.mark.parametrize("mistake", list(POSITION_WRONG))
def test_position_statement_names_each_mistake(mistake, capsys):
    stance, statement, cited, phrase = POSITION_WRONG[mistake]
    feedback = check.position_statement(stance, statement, SOURCES, cited)
    assert not feedback and phrase in feedback.message, feedback.message
    assert "model statement" not in capsys.readouterr().out  # no model answer before a valid attempt


POSITION_RIGHT = {
    "against, two keys": ("against", GOOD, TWO),
    "For, keys in other capitals and brackets": (" For ", BODY.replace("against", "for"), ["[OPC]", "Williams"]),
    "against the motion, spelled out": ("Against the motion.", GOOD, ["opc", "aiact", "williams"]),
    "a tuple of keys": ("for the motion", GOOD, ("cbs", "williams")),
    "Clearview's kind of technology and Williams": (
        "against", GOOD + " Clearview's tool is the same kind of technology that led to Robert Williams' arrest.", TWO),
    "another Robert Williams": ("against", GOOD + " A tool such as Clearview could put another Robert Williams "
                                "in a cell.", TWO),
}


@pytest.mark.parametrize("answer", list(POSITION_RIGHT))
def test_position_statement_accepts_right_answers_and_shows_rubric_and_model_after(answer, capsys):
    stance, statement, cited = POSITION_RIGHT[answer]
    feedback = check.position_statement(stance, statement, SOURCES, cited)
    assert feedback, feedback.message
    shown = capsys.readouterr().out
    assert "NOT judged" in feedback.message and "rubric" in shown.lower()
    side = "for" if stance.strip().lower().startswith("for") else "against"
    assert check.MODEL_STATEMENTS[side] in shown


UNCONFIRMED_AS_FACT = {
    "Parks and Clearview, 99.6 %": (GOOD + " Nijeer Parks spent 10 days in jail after Clearview matched him, with a "
                                    "tool sold without proof.", "Nijeer Parks's arrest"),
    "Clearview put Reid in jail": (GOOD + " Clearview put Randal Reid in jail.", "Reid's arrest"),
    "an image count stated as fact": (GOOD + " Clearview holds 60 billion images.", "company's own claims, each with a date"),
    "99.6 % stated as fact": (GOOD + " The tool is 99.6% accurate.", "'99.6% accurate'"),
}


@pytest.mark.parametrize("claim", list(UNCONFIRMED_AS_FACT))
def test_unconfirmed_claims_are_a_warning_beside_the_rubric_never_the_verdict(claim, capsys):
    """The screen of the prose can misfire both ways, so it neither earns nor denies the ✅: the ✅ covers the
    stance, the length and the sources only, and says the text was not judged; the screen's finding is shown."""
    statement, phrase = UNCONFIRMED_AS_FACT[claim]
    feedback = check.position_statement("against", statement, SOURCES, TWO)
    assert feedback and "NOT judged" in feedback.message
    assert "no unconfirmed claim" not in feedback.message
    shown = capsys.readouterr().out
    assert "⚠️" in shown and phrase in shown


def test_model_statements_pass_their_own_check(capsys):
    keys = {k: f"https://example.org/{k}" for k in ("opc", "aiact", "williams", "cbs", "hiq", "rfc9309")}
    for stance, statement in check.MODEL_STATEMENTS.items():
        cited = re.findall(r"\[(\w+)\]", statement)
        assert check.position_statement(stance, statement, keys, cited), stance
        assert "⚠️" not in capsys.readouterr().out


def test_check_names_everything_the_impolite_crawler_did(site, capsys):
    since = len(site.log)
    crawl.impolite_crawl(site.url, max_requests=400)
    feedback = check.polite_crawler(site, crawl.BROWSER_AGENT, since=since)
    assert not feedback
    for phrase in ("first request", "robots.txt disallows", "opted out", "login wall", "Retry-After"):
        assert phrase in feedback.message, phrase


def test_check_reads_the_crawlers_result(site, capsys):
    agent = "ResultReader/1.0 (tests)"
    since = len(site.log)
    names = learner_crawler(agent)(site.url)
    assert check.polite_crawler(site, agent, names, since=since)
    opted = site.members("opted_out")[0]
    private = site.members("private")[0]
    for extra in (opted, private):
        feedback = check.polite_crawler(site, agent, {**names, extra.path: extra.name}, since=since)
        assert not feedback and f"your result lists {extra.name}" in feedback.message


def test_the_reference_polite_crawler_passes_the_check(site, capsys):
    since = len(site.log)
    crawl.polite_crawl(site.url, photos=False)
    assert check.polite_crawler(site, crawl.POLITE_AGENT, since=since)


# --------------------------------------------------------------------------- image counts: dated company claims

def test_an_image_count_stated_as_fact_is_answered_with_the_dated_company_claims(capsys):
    """Fact-check row 1: the warning gives each count with its date and says whose claim it is; it no longer calls
    the 50 and 60 billion figures UNCONFIRMED nor says the company's claims stop at 30 billion."""
    check.position_statement("against", GOOD + " Clearview has 50 billion photos of faces.", SOURCES, TWO)
    shown = capsys.readouterr().out
    for phrase in ("about 3 billion (its chief executive to CBS News, 2020)", "30 billion (its chief executive to the "
                   "BBC, 2023)", "over 50 billion (a law firm quoting the company's website: McMillan, January 2025)",
                   "more than 60 billion (as the press reported it on noyb's complaint of October 2025)",
                   "the last two are not confirmed at the source", "Nobody outside the company has counted",
                   "never a measurement"):
        assert phrase in shown, phrase
    assert "2024" not in check.IMAGE_COUNT_CLAIMS  # the lesson's table dates the 50 billion claim January 2025
    assert "UNCONFIRMED" not in shown and "went up to" not in shown


COUNT_AS_FACT = {
    "bn": ("Clearview has 30bn images of faces.", "30bn images"),
    "B for billion": ("With 30B images, Clearview is the largest face search engine.", "30B images"),
    "in words": ("Clearview has thirty billion images.", "thirty billion images"),
    "in words, hyphenated": ("Clearview now holds sixty-five billion photos.", "sixty-five billion photos"),
    "in digits": ("Clearview copied 30,000,000,000 images from the web.", "30,000,000,000 images"),
    "a compound adjective": ("Clearview built a 3 billion-image database.", "3 billion-image"),
    "a bare figure": ("Since then its database has grown to 60 billion.", "60 billion"),
    "tens of billions": ("Clearview holds tens of billions of images.", "tens of billions of images"),
    "an attribution in another clause": ("Clearview holds 30 billion images and the ICO said this was unlawful.",
                                         "30 billion images"),
    "an attribution in an earlier aside": ("Clearview, which the ICO said was unlawful, holds 30 billion images.",
                                           "30 billion images"),
    "a regulator's view after it": ("Clearview holds 60 billion images, which the ICO said was unlawful.",
                                    "60 billion images"),
    "'the state' is no attribution": ("Clearview sells the state police a search of 30 billion images.",
                                      "30 billion images"),
    "a plain statement": ("Clearview holds 60 billion images.", "60 billion images"),
}


@pytest.mark.parametrize("case", list(COUNT_AS_FACT))
def test_an_image_count_stated_as_fact_is_flagged_however_it_is_written(case, capsys):
    sentence, count = COUNT_AS_FACT[case]
    assert check.position_statement("against", GOOD + " " + sentence, SOURCES, TWO)
    shown = capsys.readouterr().out
    assert "⚠️" in shown and f"it may state '{count}' as a fact" in shown, shown


@pytest.mark.parametrize("sentence", [
    "The company claimed in 2023 that it held 30 billion images.",
    "Clearview says it has more than 60 billion photos, as reported in October 2025.",
    "According to its own website, the database holds over 50 billion faces.",
    "Nobody has verified Clearview's 30 billion images.",
    "Clearview's unverified 30 billion images were collected without consent.",
    "In 2023 Clearview's chief executive put the figure at 30 billion images.",
    "Clearview says it holds 30bn images.",
    "Clearview states that it holds 30 billion images.",
    "Clearview holds 30 billion images, the company says.",
    "Clearview holds thirty billion images, according to its chief executive in 2023.",
    "Reports put Clearview's database at tens of billions of images.",
    "The company says its database has grown to 60 billion.",
    "Clearview's chief executive said in 2023 and again later that it held 30 billion images.",
    "Clearview's claimed 3 billion-image database has never been counted by anyone outside the company.",
    "Clearview was valued at $2 billion and the world has 8 billion people.",
    "Clearview holds 30 billion images, a figure nobody outside the company has counted.",
    "Clearview holds 30 billion images, its chief executive told the BBC in 2023.",
])
def test_an_attributed_or_hedged_image_count_raises_no_warning(sentence, capsys):
    assert check.position_statement("against", GOOD + " " + sentence, SOURCES, TWO)
    assert "⚠️" not in capsys.readouterr().out


# --------------------------------------------------------------------------- concept questions, before and after

def _quiz_cell(heading: str) -> str:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    texts = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    found = [t for t in texts if t.startswith(heading)]
    assert len(found) == 1, heading
    return found[0]


def _parse_quiz(text: str) -> list[tuple[str, dict[str, str]]]:
    """The numbered questions and their lettered options, as the notebook's markdown writes them."""
    questions = []
    for line in text.splitlines():
        number = re.match(r"^(\d+)\. (.+)$", line)
        option = re.match(r"^\s+([a-z])\. (.+)$", line)
        if number:
            assert int(number.group(1)) == len(questions) + 1
            questions.append((number.group(2), {}))
        elif option:
            questions[-1][1][option.group(1)] = option.group(2)
    return questions


@pytest.mark.parametrize("heading, questions", [
    ("## Concept check · before the lesson", check.BEFORE), ("## Concept check · after the lesson", check.AFTER)])
def test_the_notebook_lists_the_concept_questions_verbatim(heading, questions):
    assert _parse_quiz(_quiz_cell(heading)) == [(q.question, q.options) for q in questions]


def test_the_image_count_question_does_not_say_whose_figure_it_is():
    """Before-Q4 asks what kind of figure the count is; a stem saying that Clearview said it hands over answer c."""
    stem = check.BEFORE[3].question
    assert "billions of images" in stem
    assert not re.search(r"\b(said|says|claim\w*|own|company's)\b", stem), stem


def test_the_crawler_question_is_about_a_crawler_that_downloaded_the_photos():
    """The learner's exercise-1 crawler returns names only; the faces collected anyway are the lesson's polite_crawl's."""
    assert "polite_crawl" in check.AFTER[0].question and "photos" in check.AFTER[0].question


def test_there_are_three_or_four_questions_before_and_four_or_five_after():
    assert 3 <= len(check.BEFORE) <= 4 and 4 <= len(check.AFTER) <= 5
    for q in check.BEFORE + check.AFTER:
        assert q.answer in q.options and len(q.options) >= 3 and len(q.why) > 40


@pytest.mark.parametrize("quiz, questions", [(check.concepts_before, check.BEFORE), (check.concepts_after, check.AFTER)])
def test_the_right_letters_pass_written_as_a_dict_or_a_list(quiz, questions, capsys):
    assert quiz({i: q.answer for i, q in enumerate(questions, 1)})
    assert quiz([f"({q.answer.upper()})" for q in questions])
    shown = capsys.readouterr().out
    assert all(q.why in shown for q in questions)


WRONG_LETTERS = [(when, n, letter) for when, questions in (("before", check.BEFORE), ("after", check.AFTER))
                 for n, q in enumerate(questions, 1) for letter in q.options if letter != q.answer]


@pytest.mark.parametrize("when, number, letter", WRONG_LETTERS)
def test_each_wrong_letter_fails_and_gets_the_right_answer_explained(when, number, letter, capsys):
    questions = check.BEFORE if when == "before" else check.AFTER
    quiz = check.concepts_before if when == "before" else check.concepts_after
    answers = {i: q.answer for i, q in enumerate(questions, 1)}
    answers[number] = letter
    feedback = quiz(answers)
    right = questions[number - 1]
    assert not feedback
    assert f"The answer is {right.answer} ({right.options[right.answer]})" in feedback.message


def test_an_untouched_concept_cell_is_told_to_answer(capsys):
    feedback = check.concepts_after({i: None for i in range(1, len(check.AFTER) + 1)})
    assert not feedback and "not answered questions 1, 2, 3, 4, 5" in feedback.message
