"""Exercise checks for lesson 05 (the ethics of scraping).

Each check prints a ✅/❌ verdict with a specific hint and returns a
:class:`course.checks.Feedback` (truthy when the answer is right). Messages contain no
timings or counts that vary between runs, so notebook outputs stay reproducible.
"""

from __future__ import annotations

import contextlib
import re
import time
import urllib.parse
import urllib.robotparser

from .. import crawl, scrapelab
from . import ConceptQuestion, Feedback, chosen_option, concept_quiz, not_done, verdict
from ..crawl import BURST_FACTOR

# ------------------------------------------------------------------------ concept questions, before and after

BEFORE = [
    ConceptQuestion(
        "A photo sits on a public social-media profile. May anyone copy it into a face search engine?",
        {"a": "Yes: whatever is posted publicly may be used for any purpose, since its owner showed it to everyone.",
         "b": "Only if the platform's terms of service allow it; nothing else matters.",
         "c": "Not freely: public personal data is still protected, and identifying people by their faces is "
              "sensitive processing."},
        answer="c",
        why="Twelve data-protection authorities stated in 2023 that publicly accessible personal data is still "
            "protected; the GDPR treats a face processed to identify a person as biometric data (Art. 9), and "
            "regulators in Europe, Canada and Australia found Clearview's collection unlawful."),
    ConceptQuestion(
        "What does a site's robots.txt do to a crawler that ignores it?",
        {"a": "Nothing by itself: it is a request, and the server still serves the pages it lists.",
         "b": "It blocks the crawler's requests to the pages it lists, so the server refuses to send them.",
         "c": "It makes every request the crawler sends to the listed pages a criminal offence in most countries."},
        answer="a",
        why="RFC 9309, the standard for robots.txt, says its rules are not a form of access authorization; a "
            "server enforces only what it is built to enforce, such as a rate limit or a login wall."),
    ConceptQuestion(
        "A face search engine is shown the photo of someone it has never indexed. What comes back?",
        {"a": "\"No match\": the engine knows the person is not in its index, because it compares every face "
              "it holds.",
         "b": "The nearest indexed faces, all of them strangers, unless a distance threshold cuts them off.",
         "c": "An error, because the face is unknown."},
        answer="b",
        why="A nearest-neighbour search always has nearest neighbours; only a threshold, or a person reading "
            "the list critically, turns 'nearest' into 'no match'."),
    ConceptQuestion(
        "Reports put Clearview's database at tens of billions of images. What kind of figure is that?",
        {"a": "A count audited by the regulators that fined the company.",
         "b": "A measurement published by NIST.",
         "c": "The company's own claim, reported by others; nobody outside the company has counted."},
        answer="c",
        why="Every published count (about 3 billion in 2020, 30 billion in 2023, over 50 and more than 60 "
            "billion in later reports) comes from the company; regulators and journalists quote it."),
]

AFTER = [
    ConceptQuestion(
        "A crawler like yours (the lesson's polite_crawl, which also downloaded the photos) sent its own "
        "User-Agent, obeyed robots.txt, kept to the rate and skipped opted-out profiles. What follows?",
        {"a": "It was polite to the platform; the people never agreed, and private members' faces in friends' public "
              "posts were collected anyway.",
         "b": "The people in the photos consented, because the platform's rules were followed.",
         "c": "The collection is lawful under the GDPR, because the data was public, the crawl was polite and "
              "robots.txt allowed every page it fetched."},
        answer="a",
        why="Politeness protects the platform's servers and contract; the lesson's index still identified a "
            "private member from a friend's group photo, and consent is the people's, not the platform's."),
    ConceptQuestion(
        "When does a profile photo become biometric data whose processing GDPR Art. 9 prohibits unless an "
        "exception applies?",
        {"a": "Always: every photo of a face is biometric data from the moment it is taken, whoever takes it and "
              "whatever is done with it later.",
         "b": "Never, as long as the photo was posted publicly.",
         "c": "When it is processed by specific technical means to identify a person uniquely, e.g. turned into a "
              "face vector."},
        answer="c",
        why="Art. 4(14) defines biometric data by the technical processing that allows unique identification; "
            "Art. 9(1) prohibits processing it for that purpose unless Art. 9(2) applies."),
    ConceptQuestion(
        "What did the Court of Appeal decide in R (Bridges) v Chief Constable of South Wales Police (2020)?",
        {"a": "That live face recognition by the police is banned in England and Wales, and that forces must stop "
              "every deployment and delete the images.",
         "b": "That this police use was unlawful: watchlists and locations were left too open, the data protection "
              "impact assessment was deficient, and the force did not check the software for bias.",
         "c": "That it was lawful: an officer reviewed every match before acting, and the court held that such a "
              "human in the loop makes any police use of the technology proportionate."},
        answer="b",
        why="The court allowed the appeal on those three grounds ([2020] EWCA Civ 1058) and rejected the "
            "ground that the use was disproportionate; it did not ban the technology, it required clear "
            "rules and checks."),
    ConceptQuestion(
        "What does the EU AI Act's Art. 5(1)(e) prohibit?",
        {"a": "Every use of face recognition by the police.",
         "b": "AI systems that build or expand face recognition databases by untargeted scraping of faces from the "
              "internet or CCTV footage.",
         "c": "Any automated collection of public web pages, whatever they contain."},
        answer="b",
        why="That is the text of Art. 5(1)(e) of Regulation (EU) 2024/1689, which applies since 2 February 2025, "
            "with fines since 2 August 2025. It targets building face databases by scraping, not every use of "
            "face recognition, and it says nothing about web pages without faces."),
    ConceptQuestion(
        "An erasure request asks only for 'the photos of me' to be deleted. What does the search engine keep?",
        {"a": "Nothing that matters: without the photos it cannot find you, since every search compares the new "
              "photo with the stored photos.",
         "b": "Only the thumbnails of the photos, which it needs in order to show results but cannot search with.",
         "c": "The face vectors and templates computed from the photos, which are what the search runs on."},
        answer="c",
        why="Lesson 04 showed that deleting a file does not delete what was computed from it; the request "
            "must name the embeddings and templates too (exercise 3)."),
]


def concepts_before(answers) -> Feedback:
    """The concept questions before the lesson (wrong answers are expected; the lesson comes back to each)."""
    return concept_quiz("before", BEFORE, answers)


def concepts_after(answers) -> Feedback:
    """The concept questions after the lesson: its key ideas, each wrong option a real misconception."""
    return concept_quiz("after", AFTER, answers)


# ------------------------------------------------------------------------ exercise 1: a polite crawler


#: The small site on which the check provokes a 429. Before running the crawler there, the check itself sends
#: ``rate_limit + 1`` requests under the crawler's User-Agent, so the server is already refusing that agent when
#: the crawler starts: its very first request meets "429 Too Many Requests" whatever its pace, with a
#: Retry-After of 2 or 3 seconds (never 1, so a fixed one-second pause shows), and a crawler that waits the
#: Retry-After time never meets two 429s in a row.
TIGHT_SITE = {"seed": 3, "n_people": 4, "rate_limit": 5, "retry_after": 3, "time_limit": 120}

#: Words of a web browser's User-Agent: a crawler sending them poses as a person browsing.
_BROWSER_WORDS = re.compile(r"^Mozilla/|\b(Chrome|Safari|Firefox|Gecko|Edg|OPR|Opera|MSIE|Trident)/", re.IGNORECASE)

#: Marks "no result passed" (only the log is judged), as opposed to a crawler that returned None.
_NOT_GIVEN = object()


def polite_crawler(site, agent: str, profiles: object = _NOT_GIVEN, *, since: int = 0, crawler=None) -> Feedback:
    """Did the crawler that used User-Agent ``agent`` on ``site`` behave? Judged from the site's access log.

    Only requests from log position ``since`` on are judged (pass ``len(site.log)`` taken just
    before the run, so that an earlier failed attempt under the same name does not count
    against a corrected one). ``profiles``, the crawler's result, must equal ``{profile path: name}``
    of the site's public members, no more and no less.

    Checks, in order: a User-Agent of its own (not urllib's default, not a browser's); robots.txt
    first; no disallowed path; no photos or albums of members who opted out, or of private members;
    no request during a Retry-After wait; no more requests per second than robots.txt asks; every
    public profile visited; the result.

    A crawler that keeps to robots.txt's rate never meets a 429 on ``site``, so its log cannot show
    whether it honours Retry-After. Pass the crawler function itself as ``crawler`` (called as
    ``crawler(base_url)``, with its default User-Agent ``agent``): the check then runs it once more on
    the small site :data:`TIGHT_SITE`, which it makes refuse ``agent`` before the crawler starts, and
    judges from that site's log that the crawler waited the Retry-After time, and from its result that
    it still got every public profile."""
    if profiles is None:
        return verdict(False, "Your crawler returned None: end it with `return profiles`, a dict {profile path: name}.")
    first = _judge_polite_run(site, agent, None if profiles is _NOT_GIVEN else profiles, since=since)
    if not first or crawler is None:
        return verdict(first.correct, first.message)
    if not callable(crawler):
        return verdict(False, "Pass your crawler function itself as crawler= (crawler=crawl_politely, without "
                           "parentheses), so the check can run it against a site that answers 429.")
    with scrapelab.SocialNetwork(**TIGHT_SITE) as tight:
        for _ in range(tight.rate_limit + 1):  # the server now refuses this agent for Retry-After seconds
            crawl.fetch(tight.url + "/robots.txt", agent)
        start = len(tight.log)
        try:
            with _recorded_fetch() as (_, answers):
                result = crawler(tight.url)
        except Exception as error:  # the learner's crawler failed on a refusal it should have waited out
            return verdict(False, "On a small copy of Plaza that answered your first request with 429 Too Many "
                               f"Requests, your crawler raised {type(error).__name__}: {error}. Any request can get "
                               "a 429, /robots.txt too: wait the Retry-After seconds and ask again (a few times at "
                               "most), and keep going if an answer never comes.")
        entries = [e for e in tight.log.entries(agent) if e.number >= start]
        met_429 = any(e.status == 429 for e in entries)
        second = _judge_polite_run(tight, agent, result, since=start, rate_limited=True)
        unpaced = bool(second) and _unpaced(crawler, tight.url, answers)
    if not entries:
        return verdict(False, "Called with another site's address, your crawler sent nothing there: crawl the "
                           "base_url it is given (not site.url), so that it works on any copy of Plaza.")
    if not met_429:  # the server refused this agent when the crawler started; only a long stall avoids that
        return verdict(False, "The check could not make the small site answer 429 to your crawler (was the machine "
                           "very busy?), so it cannot see whether you honour Retry-After: run this cell again.")
    if not second:
        return verdict(False, "On a small copy of Plaza that answered 429 Too Many Requests with Retry-After: "
                           + second.message[0].lower() + second.message[1:])
    if unpaced:
        return verdict(False, "Not polite yet: your crawler does not wait between requests; it keeps to robots.txt's "
                           "rate only while the server is slow. When the check replayed the answers your crawler had "
                           "already received, instantly, it sent its requests back to back. Wait "
                           "robots.request_rate(agent).seconds / .requests from the start of one request to the start "
                           "of the next.")
    return verdict(True, first.message + " And on a site that answered 429 Too Many Requests, it waited the "
                      "Retry-After time before asking again.")


@contextlib.contextmanager
def _recorded_fetch(replay: dict | None = None):
    """Within the block, :func:`course.crawl.fetch` (the helper the exercise gives) records when it was called and
    the last answer other than 429 for each URL; with ``replay`` ({url: Response}) it answers those URLs at once,
    without the network. Yields (call times, answers)."""
    real, calls, answers = crawl.fetch, [], {}

    def fetch(url, agent, **kwargs):
        calls.append(time.monotonic())
        if replay is not None and url in replay:
            return replay[url]
        response = real(url, agent, **kwargs)
        if response.status != 429:
            answers[url] = response
        return response

    crawl.fetch = fetch
    try:
        yield calls, answers
    finally:
        crawl.fetch = real


def _unpaced(crawler, base_url: str, answers: dict) -> bool:
    """Does ``crawler`` send requests back to back when every answer comes at once?

    On a busy machine each request takes so long that a crawler without any pause stays under robots.txt's rate,
    and the site's log cannot tell it from a polite one. Replaying the answers it already got, instantly, removes
    the server's time: a crawler that waits rate.seconds / rate.requests from one request to the next still
    does; one that never waits sends them within milliseconds. A crawler that does not use crawl.fetch cannot be
    replayed, and is judged from the log alone."""
    per_second, seconds = scrapelab.REQUEST_RATE
    try:
        with _recorded_fetch(replay=answers) as (calls, _):
            crawler(base_url)
    except Exception:  # replayed answers confused it; the live runs were judged already
        return False
    gaps = [b - a for a, b in zip(calls, calls[1:])]
    return len(gaps) >= 3 and sum(g < 0.5 * seconds / per_second for g in gaps) > len(gaps) // 2


def _judge_polite_run(site, agent: str, profiles: object = None, *, since: int = 0,
                      rate_limited: bool = False) -> Feedback:
    """The verdict on one run of a crawler, from ``site``'s log and its result ``profiles``, without printing it.

    ``rate_limited``: the site answers 429 on purpose (the check's tight site), so a refused
    request does not mean the crawler was too fast, and a gap in what it visited is named as
    giving up after a 429."""
    log = site.log
    entries = [e for e in log.entries(agent) if e.number >= since]
    if not agent or agent.startswith("Python-urllib") or agent == "-":
        return Feedback(False, "Give your crawler its own User-Agent (a name and a way to contact you), not "
                           "urllib's default 'Python-urllib/3.x': the platform should know who is crawling.")
    if profiles is not None and not isinstance(profiles, dict):
        return Feedback(False, f"Your crawler should return a dict {{profile path: name}}, not "
                               f"{type(profiles).__name__}.")
    if not entries:
        default = [e for e in log.entries() if e.agent.startswith("Python-urllib") and e.number >= since]
        if default:
            return Feedback(False, f"No request arrived with User-Agent {agent!r}, but some came with urllib's default "
                               "'Python-urllib/...': pass headers={'User-Agent': AGENT} to every Request.")
        return Feedback(False, f"No request with User-Agent {agent!r} reached the site. Did your crawler run against "
                           "site.url, with that User-Agent?")
    problems = []
    if _BROWSER_WORDS.search(agent):
        problems.append(f"your User-Agent {agent!r} poses as a web browser: send the crawler's own name and a "
                        "contact, as the exercise's AGENT does, so the platform knows who is crawling")
    if entries[0].path != "/robots.txt":
        problems.append(f"your first request was {entries[0].path}: read /robots.txt before anything else")
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(scrapelab.ROBOTS_TXT.splitlines())
    disallowed = sorted({e.path for e in entries if not robots.can_fetch(agent, e.path)})
    if disallowed:
        problems.append(f"you fetched {disallowed[0]}, which robots.txt disallows (use "
                        "robotparser.can_fetch(agent, url) before every request)")
    opted = {p.slug: p for p in site.members("opted_out")}
    private = {p.slug: p for p in site.members("private")}
    opted_posts = {post.photo_path for post in site.posts if site.people[post.author].visibility == "opted_out"}
    took_opted = sorted({_slug_of(e.path) for e in entries
                         if _slug_of(e.path) in opted and not e.path.startswith("/people/")}
                        | {e.path for e in entries if e.path in opted_posts})
    if took_opted:
        who = opted[took_opted[0]].name if took_opted[0] in opted else f"the author of {took_opted[0]}"
        problems.append(f"you downloaded photos of {who}, who opted out (their page says noindex, noai): "
                        "skip a page whose <meta name=\"robots\"> or X-Robots-Tag header says so, and its photos")
    took_private = sorted({_slug_of(e.path) for e in entries
                           if _slug_of(e.path) in private and not e.path.startswith("/people/")})
    if took_private:
        problems.append(f"after the login wall (403) of {private[took_private[0]].name}'s profile you still asked for "
                        "their photos: a 403 means no")
    if _ignored_retry_after(entries, 0 if rate_limited else site.retry_after):
        problems.append("after a 429 you sent the next request before the Retry-After time had passed: "
                        "sleep for int(response.headers['Retry-After']) seconds (crawl.retry_after(response)), "
                        "then retry")
    per_second, seconds = scrapelab.REQUEST_RATE
    if not rate_limited and _max_in_window(entries, seconds) > BURST_FACTOR * per_second:
        problems.append(f"you sent far more than {per_second} requests in one second; robots.txt asks for "
                        f"Request-rate: {per_second}/{seconds}: wait robots.request_rate(agent).seconds / .requests "
                        "between requests")
    visited = {e.path for e in entries if e.status == 200}
    missed = [p for p in site.members("public") if p.path not in visited]
    if missed and not problems and rate_limited:
        problems.append(f"your crawler never got {missed[0].path}: after a 429, wait the Retry-After time and ask "
                        "again (a few times at most) rather than giving up on the page")
    elif missed and not problems:
        pages = -(-len(site.people) // scrapelab.PER_PAGE)
        problems.append(f"you visited {len(site.members('public')) - len(missed)} of the "
                        f"{len(site.members('public'))} public profiles, e.g. not {missed[0].path}: the directory has "
                        f"{pages} pages; follow its rel=\"next\" links")
    if profiles is not None:
        problems += _result_problems(site, profiles)[:1]
    if problems:
        return Feedback(False, "Not polite yet: " + "; ".join(problems) + ".")
    return Feedback(True, "Polite: your own User-Agent, robots.txt read first and obeyed, opted-out and private "
                      "members left alone, no more than the requested rate, and the result lists exactly the "
                      "public profiles with their names. (Polite to the platform, that is: the rest of the lesson "
                      "asks whether the people in the photos agreed.)")


def _result_problems(site, profiles: dict) -> list[str]:
    """What is wrong with a crawler's result, compared with ``{path: name}`` of ``site``'s public members."""
    expected = {p.path: p.name for p in site.members("public")}
    problems = []
    full_urls = sorted(str(k) for k in profiles if "://" in str(k))
    if full_urls:
        problems.append(f"your result's keys are full URLs (e.g. {full_urls[0]!r}): use the path only, "
                        "e.g. '/people/ana-lee' (url[len(base_url):])")
    for key in sorted(map(str, profiles)):
        person = next((p for p in site.people if p.path == key and p.visibility != "public"), None)
        if person is not None:
            reason = "opted out (noindex, noai)" if person.visibility == "opted_out" else "is private (403)"
            problems.append(f"your result lists {person.name} ({key}), who {reason}: leave such profiles out")
    unknown = sorted(str(k) for k in profiles if "://" not in str(k) and k not in expected
                     and not any(p.path == k for p in site.people))
    if unknown:
        problems.append(f"your result has the key {unknown[0]!r}, which is not a profile path: the keys are "
                        "paths such as '/people/ana-lee'")
    absent = sorted(set(expected) - set(profiles))
    if absent and not full_urls:
        problems.append(f"your result lists {len(set(expected) & set(profiles))} of the {len(expected)} public "
                        f"profiles your crawler may visit, e.g. not {absent[0]}: add every public profile you visit")
    wrong_names = sorted(k for k in set(expected) & set(profiles) if profiles[k] != expected[k])
    if wrong_names:
        problems.append(f"your result gives {wrong_names[0]} the value {profiles[wrong_names[0]]!r}, not the "
                        f"member's name {expected[wrong_names[0]]!r} (page.name)")
    return problems


def _slug_of(path: str) -> str | None:
    match = re.fullmatch(r"/(?:people|albums)/([a-z]+-[a-z]+)|/photos/([a-z]+-[a-z]+)/\d+\.jpg", path)
    return (match.group(1) or match.group(2)) if match else None


def _ignored_retry_after(entries, retry_after: float) -> bool:
    """True if a request that followed a 429 was itself refused again (a crawler that waits what the header says
    always finds the server open again), or came sooner than ``retry_after`` seconds (with 50 ms of slack)."""
    for before, after in zip(entries, entries[1:]):
        if before.status == 429 and (after.status == 429 or after.time - before.time < retry_after - 0.05):
            return True
    return False


def _max_in_window(entries, seconds: float) -> int:
    """Largest number of requests sent within any ``seconds``-long window."""
    times = [e.time for e in entries]
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


# ------------------------------------------------------------------------ exercise 2: a consent filter

#: Consent text of the Face Research Lab London Set (DeBruine & Jones 2017), as in data/registry.json.
LONDON_CONSENT = ('All individuals gave signed consent for their images to be "used in lab-based and web-based '
                  'studies in their original or altered forms and to illustrate research (e.g., in scientific '
                  'journals, news media or presentations)."')


def consent_exercise_records() -> list[dict]:
    """The records the consent-filter exercise filters: a mix of synthetic, consented and scraped photos."""
    return [
        {"id": "plaza-3", "source": "synthetic", "generator": "course.faces", "generator_version": scrapelab.faces.GENERATOR_VERSION,
         "identity_seed": 327738099, "view_seed": 1841069237,
         "collected_by": "scraping the course's own synthetic site"},
        {"id": "london-017", "source": "consented", "dataset": "Face Research Lab London Set",
         "licence": "CC BY 4.0", "consent": LONDON_CONSENT, "file": "017_03.jpg"},
        {"id": "own-ana", "source": "own_photo", "subject": "Ana (a classmate)", "consent_date": "2026-11-20",
         "consent": "I agree that this photo of my face is used to compute a face embedding for face recognition "
                    "in lesson 05 of this course. I can withdraw at any time and it will be deleted."},
        {"id": "own-ben", "source": "own_photo", "subject": "Ben (a classmate)", "consent_date": "2026-11-20",
         "consent": "I agree that my photo appears on the course's web page about the class."},
        {"id": "own-cho", "source": "own_photo", "subject": "Cho (a classmate)", "consent_date": "2026-11-18",
         "consent": "I agree that this photo of my face is used for face recognition exercises in this course.",
         "withdrawn": "2026-11-25"},
        {"id": "web-1", "source": "scraped", "url": "https://social.example/p/48213/photo/2", "public": True,
         "consent": ""},
        {"id": "web-2", "source": "scraped", "url": "https://photos.example/u/kim/771", "public": True,
         "consent": "Platform terms: users grant the platform a worldwide licence to host and display their content."},
        {"id": "synthetic-12", "source": "synthetic", "generator": "course.faces", "generator_version": scrapelab.faces.GENERATOR_VERSION,
         "identity_seed": 2488464260, "view_seed": 99120},
    ]


_FR_WORDS = ("face recognition", "facial recognition", "biometric", "face embedding", "faceprint", "face template")
_EXPECTED_KEEP = ("plaza-3", "own-ana", "synthetic-12")
_WHY = {
    "plaza-3": "a synthetic person (generator + seeds): there is nobody to ask, and the record proves it",
    "synthetic-12": "a synthetic person: its provenance is the permission",
    "own-ana": "Ana's consent names face recognition (and a face embedding) explicitly",
    "london-017": ("the London set's consent covers studies and illustrating research, in original or altered "
                   "forms; it does not name face recognition or biometric processing, so under an 'explicit "
                   "consent' rule it is out (the lesson discusses whether 'studies' could include it)"),
    "own-ben": "Ben agreed to a web page, not to face recognition: consent covers only what it names",
    "own-cho": "Cho withdrew consent: from then on it covers nothing",
    "web-1": "public is not consent: nobody asked the person",
    "web-2": "a licence the user gave the platform to display content is not the person's consent to face "
             "recognition",
}


def covers_face_recognition(record: dict) -> bool:
    """The rule the exercise asks for: synthetic, or a consent text that names face recognition and is not withdrawn."""
    if record.get("source") == "synthetic":
        return bool(record.get("generator")) and record.get("identity_seed") is not None
    if record.get("source") not in ("consented", "own_photo") or record.get("withdrawn"):
        return False
    text = str(record.get("consent", "")).lower()
    return any(word in text for word in _FR_WORDS)


def _second_consent_records() -> list[dict]:
    """Other records of the same kinds, with other ids: the check runs the learner's filter on these too,
    so that a function returning the first set's right ids whatever it is given is caught."""
    return [
        {"id": "own-dev", "source": "own_photo", "subject": "Dev (a classmate)", "consent_date": "2026-11-21",
         "consent": "I consent to biometric processing of my photo (a face template) for this course."},
        {"id": "own-eli", "source": "own_photo", "subject": "Eli (a classmate)", "consent_date": "2026-11-19",
         "consent": "I agree that this photo is used for facial recognition exercises in this course.",
         "withdrawn": "2026-11-26"},
        {"id": "web-3", "source": "scraped", "url": "https://forum.example/u/41/avatar", "public": True,
         "consent": ""},
        {"id": "synthetic-40", "source": "synthetic", "generator": "course.faces",
         "generator_version": scrapelab.faces.GENERATOR_VERSION, "identity_seed": 1203, "view_seed": 7},
        {"id": "own-fay", "source": "own_photo", "subject": "Fay (a classmate)", "consent_date": "2026-11-22",
         "consent": "I agree that my photo is shown in the class slides."},
        {"id": "own-gus", "source": "own_photo", "subject": "Gus (a classmate)", "consent_date": "2026-11-22",
         "consent": "I agree that this photo of my face is shown on the class web page."},
        {"id": "own-hal", "source": "own_photo", "subject": "Hal (a classmate)", "consent_date": "2026-11-23",
         "consent": "I agree that my photo is used for Face Recognition exercises in Lesson 05 of this course."},
        {"id": "web-4", "source": "scraped", "url": "https://photos.example/u/lee/12", "public": True,
         "consent": "Platform terms: we may use face recognition to suggest tags."},
        {"id": "synthetic-98", "source": "synthetic", "generator": "course.faces",
         "generator_version": scrapelab.faces.GENERATOR_VERSION, "identity_seed": None, "view_seed": 3},
        {"id": "synthetic-99", "source": "synthetic", "generator": "", "identity_seed": 4242, "view_seed": 5},
    ]


_SECOND_KEEP = ("own-dev", "own-hal", "synthetic-40")
_WHY_SECOND = {
    "own-dev": "Dev's consent names biometric processing (a face template) explicitly",
    "own-eli": "Eli withdrew consent: from then on it covers nothing",
    "web-3": "public is not consent: nobody asked the person",
    "synthetic-40": "a synthetic person (generator + seeds): there is nobody to ask",
    "own-fay": "Fay agreed to class slides, not to face recognition: consent covers only what it names",
    "own-gus": "Gus's consent mentions his face, but only for a web page: it does not name face recognition or "
               "biometric processing",
    "own-hal": "Hal's consent names Face Recognition, in capitals: compare the text in lower case (.lower())",
    "web-4": "a scraped photo: platform terms that mention face recognition are the platform's, not the "
             "person's consent; only consented and own_photo records can carry consent",
    "synthetic-98": "it says synthetic but has no identity seed: without a generator and a seed its provenance "
                    "does not show that nobody is depicted",
    "synthetic-99": "it says synthetic but names no generator: without a generator and a seed its provenance "
                    "does not show that nobody is depicted",
}


def consent_filter(keep: object) -> Feedback:
    """Exercise 2: ``keep(records)`` returns the records (or their ids) whose provenance or consent covers
    face recognition. The check calls the learner's function itself, on its own fresh copies of the exercise's
    records and of a second set with other ids, and compares what it returns with the right ids."""
    if not callable(keep):
        return verdict(False, "Pass your function itself: check.consent_filter(keep_for_face_recognition), without "
                           "parentheses; the check runs it on its own copy of the records and on a second set.")
    for records, expected, why in ((consent_exercise_records(), _EXPECTED_KEEP, _WHY),
                                   (_second_consent_records(), _SECOND_KEEP, _WHY_SECOND)):
        try:
            answer = keep(records)
        except NotImplementedError:
            not_done()
            raise
        problem = _consent_problem(answer, records, expected, why)
        if problem:
            return verdict(False, ("On a second set of records (ids " + ", ".join(sorted(why)) + "): "
                                   if why is _WHY_SECOND else "") + problem)
    return verdict(True, "Kept: the synthetic people whose records name a generator and an identity seed, and the "
                      "consents that name face recognition (in any capitals), on the exercise's records and on a "
                      "second set. Public photos, a platform's licence or terms, a consent for something else (even "
                      "one that mentions a face), a withdrawn consent and a synthetic label without its provenance "
                      "do not cover it.")


def _consent_problem(answer: object, records: list[dict], expected: tuple, why: dict) -> str | None:
    """What is wrong with ``answer``, the filter's result on ``records`` (None if nothing)."""
    if answer is None:
        return "Your function returned None: did you forget `return`?"
    if isinstance(answer, (str, dict)) or not hasattr(answer, "__iter__"):
        return "Return a list of the records you keep (or of their 'id's)."
    fresh = [r["id"] for r in records]
    if len(fresh) != len(why) or set(fresh) != set(why):
        return ("Your function changed the list it was given (removed or replaced records): build a new list "
                "and return it, leaving the caller's records as they were.")
    kept = [item.get("id") if isinstance(item, dict) else item for item in answer]
    unknown = [k for k in kept if k not in why]
    if unknown:
        return f"{unknown[0]!r} is not one of the records' ids."
    kept_set = set(kept)
    wrong_kept = sorted(i for i in why if i in kept_set and i not in expected)
    wrong_dropped = sorted(i for i in expected if i not in kept_set)
    if not wrong_kept and not wrong_dropped:
        return None
    notes = [f"you kept {i} ({why[i]})" for i in wrong_kept]
    notes += [f"you dropped {i}, which should stay ({why[i]})" for i in wrong_dropped]
    return "Not quite — " + "; ".join(notes) + "."


# ------------------------------------------------------------------------ exercise 3: an erasure request

#: Where the right to have the photos and templates erased comes from; the last three give no such right.
LEGAL_BASES = ("GDPR Article 17 (the right to erasure)", "Illinois BIPA (740 ILCS 14)",
               "GDPR Article 15 (the right of access)", "the platform's terms of service", "robots.txt")
_RIGHT_BASES = LEGAL_BASES[:2]
_WHY_NOT_BASIS = {
    "GDPR Article 15 (the right of access)": "Article 15 lets you see what they hold; erasure is Article 17",
    "the platform's terms of service": "the terms are a contract between the platform and its users, not a right "
                                       "you hold against the search company",
    "robots.txt": "robots.txt is a request to crawlers, not a legal right (RFC 9309)",
}
#: What the request may ask to erase; the photos and what was computed from them must both be there.
ERASE_OPTIONS = ("the photos of me", "the face embeddings and biometric templates computed from them",
                 "my entries in the search results")
DEADLINES = ("without undue delay, at the latest within one month", "within one year", "no deadline")
_RIGHT_DEADLINE = DEADLINES[0]
ERASURE_FIELDS = ("requester", "profile_url", "legal_basis", "erase", "deadline", "letter")

ERASURE_RUBRIC = """\
Assess your letter yourself (the check did not read it). For each line, yes / not yet:
  1. It names you and the profile the photos came from, as in your fields, so they can find your data.
  2. It asks to erase the photos AND the embeddings / templates computed from them, and nothing weaker
     (no "you may keep ...", no waiving the right you invoke).
  3. It names the legal basis you chose, and the deadline you chose, without softening it.
  4. It asks them to confirm the erasure in writing and to stop collecting your photos in future."""

MODEL_LETTER = """\
To the Data Protection Officer of Example Face Search Ltd,

My name is Alex Sample. Photos of me were copied from my profile at https://plaza.example/people/alex-sample.
Under Article 17 of the GDPR (the right to erasure), I ask you to erase every photo of me that you hold and
every face embedding, biometric template or other data computed from them, to remove me from your search
results, and to stop collecting photos of me in future. Please confirm in writing that this has been done
without undue delay, and at the latest within one month of receiving this letter (GDPR Art. 12(3)).

Alex Sample"""

_ERASURE_EXAMPLE = ("{'requester': 'Alex Sample', 'profile_url': 'https://plaza.example/people/alex-sample', "
                    "'legal_basis': ..., 'erase': [...], 'deadline': ..., 'letter': \"\"\"...\"\"\"}")


def deletion_request(request: object) -> Feedback:
    """Exercise 3: an erasure request given as fields (who, which profile, the legal basis, what to erase, the
    deadline, each choice copied from the options above) and the letter text.

    The machine judges the fields only. The letter is free prose, which it does not read: after a right set of
    fields it says so plainly and prints a rubric and a model letter to compare with."""
    if request is None:
        return verdict(False, "You have not set `erasure` yet: fill the dict " + _ERASURE_EXAMPLE + ".")
    if not isinstance(request, dict):
        return verdict(False, "Give the request as a dict with the keys " + ", ".join(ERASURE_FIELDS)
                       + ", e.g. " + _ERASURE_EXAMPLE + ".")
    missing = [k for k in ERASURE_FIELDS if k not in request]
    if missing:
        return verdict(False, f"Your request has no {', '.join(missing)}: the keys are " + ", ".join(ERASURE_FIELDS) + ".")
    problems = []
    name = request["requester"]
    if not isinstance(name, str) or len(name.strip()) < 2:
        problems.append("requester: your (invented) name, as a string, so they can find your data")
    url = request["profile_url"]
    split = urllib.parse.urlsplit(url.strip()) if isinstance(url, str) else None
    if split is None or split.scheme not in ("http", "https") or not split.netloc:
        problems.append("profile_url: the full address of the profile the photos came from, e.g. "
                        "'https://plaza.example/people/alex-sample'")
    basis, message = chosen_option(request["legal_basis"], LEGAL_BASES, "legal_basis")
    if message:
        problems.append(message.rstrip("."))
    elif basis not in _RIGHT_BASES:
        problems.append(f"legal_basis: {_WHY_NOT_BASIS[basis]}; the right to have them erased is GDPR Article 17, "
                        "or in Illinois BIPA")
    problems += _erase_problems(request["erase"])
    deadline, message = chosen_option(request["deadline"], DEADLINES, "deadline")
    if message:
        problems.append(message.rstrip("."))
    elif deadline != _RIGHT_DEADLINE:
        problems.append(f"deadline: {deadline!r} lets them keep your data for as long as they like; under the GDPR "
                        "they must act without undue delay and at the latest within one month (Art. 12(3))")
    letter = request["letter"]
    if not isinstance(letter, str) or not letter.strip():
        problems.append("letter: write the letter itself as one string (a triple-quoted string is easiest)")
    if problems:
        return verdict(False, "Not yet: " + "; ".join(problems) + ".")
    feedback = verdict(True, f"Your fields are right: {name.strip()}, the profile, {basis}, the photos and the "
                            "templates computed from them, and a deadline of one month at most. Your letter's "
                            "text was NOT judged (a machine cannot judge prose reliably): assess it with the rubric "
                            "below.")
    print(ERASURE_RUBRIC)
    print("\nA model letter, to compare with (not the only good one):\n" + MODEL_LETTER)
    return feedback


def _erase_problems(erase: object) -> list[str]:
    """What is wrong with the ``erase`` field: a list of :data:`ERASE_OPTIONS` with the photos and the templates."""
    if isinstance(erase, str) or not isinstance(erase, (list, tuple, set)) or not erase:
        return ["erase: a list of the options, e.g. [" + ", ".join(repr(o) for o in ERASE_OPTIONS[:2]) + "]"]
    chosen = set()
    for item in erase:
        option, message = chosen_option(item, ERASE_OPTIONS, "erase")
        if message:
            return [message.rstrip(".")]
        chosen.add(option)
    problems = []
    if ERASE_OPTIONS[0] not in chosen:
        problems.append("erase: the photos of you, first of all")
    if ERASE_OPTIONS[1] not in chosen:
        problems.append("erase: the face embeddings and templates computed from the photos too; deleting the photos "
                        "does not delete the vectors computed from them (lesson 04), and the search runs on those")
    return problems


# ------------------------------------------------------------------------ exercise 4: a position statement

#: The stance, for or against the motion; "for" and "against" alone are accepted too.
STANCE_OPTIONS = ("for the motion", "against the motion", "for", "against")
#: People wrongly arrested after a face search; none of the lesson's sources establishes that Clearview was used.
_WRONGLY_ARRESTED = re.compile(r"\b(Nijeer Parks|Parks|Randal(l)? (Quran )?Reid|Reid|Robert Williams|Porcha Woodruff|"
                               r"Woodruff|Michael Oliver)\b")
#: Words that mark a claim as uncertain or denied, so a sentence naming Clearview and one of those people is honest.
_HEDGE = re.compile(r"\b(not|never|unknown|unclear|unconfirmed|uncertain|unproven|contested|disputed|whether|"
                    r"establish\w*|some lists|nobody knows|cannot say|can't say)\b|n't\b", re.IGNORECASE)
#: Clearview named as what produced a match ("after a Clearview search", "Clearview matched him"), not merely mentioned.
_CLEARVIEW_DID_IT = re.compile(r"\b(after|because of|by|from|through|using|via|with|on)\s+(a\s+|an\s+|the\s+|its\s+)?"
                               r"clearview|\bclearview(['’]s)?\s+(\w+\s+){0,2}?(match\w*|identif\w*|misidentif\w*|"
                               r"flag\w*|nam\w*|pick\w*|led|lead\w*|put|sent|jail\w*|arrest\w*|search\w*|result\w*|"
                               r"tool|app|software|system|algorithm|hit)\b", re.IGNORECASE)
#: Words that attribute a figure to whoever claimed it ("the state" is not one: a state is not a source).
_ATTRIBUTED = re.compile(r"\b(claim\w*|says?|said|according|reported\w*|reports?|boast\w*|advertis\w*|marketed|"
                         r"told|quot\w*|calls?|called|touts?|touted|promis\w*|own figure|company figure|stated|"
                         r"(clearview|company|it|he|she|they)\s+states|"
                         r"asserts?|asserted|alleg\w*|purported\w*|supposed\w*|so-called|own account|its account|"
                         r"sold as|billed as|pitch\w*|put(s|ting)?\s+(\w+['’]s\s+|the\s+|its\s+|their\s+)?(figure|count|"
                         r"number|total|database|collection|size|tally))\b", re.IGNORECASE)
#: Words that say a figure was never checked, so a sentence giving it does not state it as fact.
_UNCHECKED = re.compile(r"\b(unverified|unconfirmed|unaudited|uncounted|unchecked|unproven|unsubstantiated|"
                        r"(nobody|no one|no-one)(\s+\S+){0,5}?\s+(verified|confirmed|counted|audited|checked|measured)|"
                        r"(not|never)\s+(been\s+|be\s+)?(independently\s+)?(verified|confirmed|counted|audited|checked|"
                        r"measured))\b", re.IGNORECASE)
#: Attribution that follows a figure in its own clause and names the company as its source
#: ("..., the company says", "..., according to its chief executive"); another body's view after it does not count.
_ATTRIBUTED_AFTER = re.compile(r"^[^,;(—–]*[,(—–]\s*(according to|as (claimed|reported|stated|said|quoted|advertised)|"
                               r"by (its|the company's|clearview's) own (account|figures?|claims?)|"
                               r"(the company|clearview|it|he|she|they|its [\w ]{1,30}?)\s+(says|said|claims|claimed|"
                               r"reports|reported|told|stated|boasts|boasted|advertises|advertised)\b|"
                               r"(a|the|its|the company's|clearview's) (own )?(claim|figure|boast)\b)", re.IGNORECASE)
_NUMBER_WORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
                r"fifty|sixty|seventy|eighty|ninety|a hundred|tens of|dozens of|several|a few)"
                r"(?:-(?:one|two|three|four|five|six|seven|eight|nine))?")
#: A count of a billion or more: "30 billion", "30bn", "30B", "thirty billion", "tens of billions", "30,000,000,000".
_COUNT = (r"(?<![\w$€£¥.,-])(?:(?:\d+(?:[.,]\d+)?|" + _NUMBER_WORD + r")[\s-]*\+?[\s-]*(?:billions?|bn|bln)\b\+?"
          r"|\d+(?:[.,]\d+)?\s?b\b\+?|\d{1,3}(?:[,\u00a0\u202f ]\d{3}){3,}(?!\d)|\d{10,})")
_IMAGE_NOUN = r"(?:images?|photos?|photographs?|pictures?|faces?|faceprints?|selfies)\b"
#: A count of images: a count followed by what is counted ("30 billion images", "a 3 billion-image database").
_IMAGE_COUNT = re.compile(_COUNT + r"(?:\s*-\s*|\s+(?:of\s+)?(?:\w+\s+)?)" + _IMAGE_NOUN, re.IGNORECASE)
#: A bare count ("grown to 60 billion") counts as one of images in a sentence about a database or images, unless
#: money, people or something else follows it.
_BARE_COUNT = re.compile(_COUNT + r"(?!\s*(?:-\s*|of\s+)?(?:\w+\s+)?(?:dollars?|euros?|pounds?|usd|eur|gbp|people|"
                         r"users?|humans?|residents?|inhabitants?|devices?|years?|requests?|searches|views?)\b)",
                         re.IGNORECASE)
_ABOUT_IMAGES = re.compile(r"\b(database|collection|gallery|index|images?|photos?|photographs?|pictures?|faces?|"
                           r"faceprints?)\b", re.IGNORECASE)
#: Where one clause ends and the next, with a subject of its own, begins ("... 30 billion images and the ICO said ...").
_CLAUSE_BREAK = re.compile(r";|:\s|\s(?:but|while|whereas|yet|although|though)\s|,\s+so\s|"
                           r"\sand\s+(?=(?:the|a|an|it|its|this|that|these|those|they|he|she|we|you|nobody|no one|"
                           r"[A-Z])\b)")
#: An aside before the figure ("Clearview, which the ICO said was unlawful, holds ..."): not where the figure is from.
_ASIDE = re.compile(r",\s*(?:which|who|whom|whose)\b[^,]*,")


def _counts_stated_as_fact(sentence: str) -> list[str]:
    """The image counts in ``sentence`` that nothing in their own clause attributes to a source or calls unchecked.

    A count is attributed when an attribution comes before it in its clause ("Clearview says it holds ..."), or
    right after it naming the company ("..., the company says"); it is hedged when its clause says it was never
    checked ("Nobody has verified ..."). A pattern screen of prose, so it can misfire both ways."""
    found = [m for m in _IMAGE_COUNT.finditer(sentence)]
    if _ABOUT_IMAGES.search(sentence):
        found += [m for m in _BARE_COUNT.finditer(sentence)
                  if not any(f.start() <= m.start() < f.end() for f in found)]
    stated = []
    for count in sorted(found, key=lambda m: m.start()):
        starts = [0] + [b.end() for b in _CLAUSE_BREAK.finditer(sentence) if b.end() <= count.start()]
        ends = [b.start() for b in _CLAUSE_BREAK.finditer(sentence) if b.start() >= count.end()]
        before = _ASIDE.sub(",", sentence[starts[-1]:count.start()])
        after = sentence[count.end():ends[0] if ends else len(sentence)]
        clause = before + count.group(0) + after
        if not (_ATTRIBUTED.search(before) or _ATTRIBUTED_AFTER.search(after) or _UNCHECKED.search(clause)):
            stated.append(count.group(0))
    return stated


#: What is known of Clearview's image counts: dated claims of the company, never a measurement (issue 16; FACTS §1, §8).
IMAGE_COUNT_CLAIMS = ("Clearview's image counts are the company's own claims, each with a date, never a measurement: "
                      "about 3 billion (its chief executive to CBS News, 2020), 30 billion (its chief executive to the "
                      "BBC, 2023), then over 50 billion (a law firm quoting the company's website: McMillan, January "
                      "2025) and more than 60 billion (as the press reported it on noyb's complaint of October 2025); "
                      "the last two are not confirmed at the source. Nobody outside the company has counted.")
_ACCURACY_CLAIM = re.compile(r"99[.,]6\s*(%|per\s*cent|percent)", re.IGNORECASE)

POSITION_RUBRIC = """\
Assess your argument yourself (the check cannot judge it). For each line, strong / adequate / not yet:
  1. Position: the first sentence says for or against the motion, and the rest keeps to it.
  2. Reasons: two or more distinct reasons, each tied to a cited source that really says what you cite it for.
  3. The other side: you name its strongest point and answer it, rather than a weak one.
  4. Facts as strong as their sources: contested is called contested; a company's figure is called its claim.
  5. Whose permission: you say whether the platform's rules, the law, or the people in the photos decide."""

MODEL_STATEMENTS = {
    "against": (
        "I argue against the motion: collecting publicly posted photos to build a face search engine should not be "
        "lawful, even for police. Being visible is not the same as agreeing to be identified by anyone, anywhere, "
        "from one photo. Canada's commissioners called the practice mass surveillance for a purpose that consent "
        "could not make appropriate [opc], and the EU now bans untargeted scraping of facial images for such "
        "databases [aiact]. The strongest case for the motion is that police solve crimes faster; but a face "
        "search returns candidates, and people have been arrested on them [williams], while targeted, lawful "
        "means remain open to police."),
    "for": (
        "I argue for the motion, with conditions: police use of a search engine built from publicly posted photos "
        "should be lawful when a court authorises each search and a match is only a lead. Photos posted publicly "
        "can be seen by anyone, and the platforms' own complaints were about their terms and servers [cbs] [hiq], "
        "not about a right of the people in the photos. The strongest case against is that a candidate list has "
        "led to wrongful arrests [williams]; the answer is a rule like Detroit's, no arrest on a face search "
        "alone, not a ban that also stops identifying victims. Robots.txt is only a request [rfc9309], so the "
        "law, not a file, should set the limits."),
}


def position_statement(stance: object, statement: object, sources: dict[str, str], cited: object = None) -> Feedback:
    """Exercise 4: a ``stance`` (for or against the motion, one of :data:`STANCE_OPTIONS`), a ``statement`` of at
    least 80 words, and ``cited``, the list of the keys of ``sources`` the statement rests on (two or more).

    A machine can judge those parts only, and the ✅ covers only them. Whether the argument holds, and whether it
    states as fact what the lesson calls unconfirmed, is for the learner to assess: after every valid attempt the
    check prints what a screen of the text flagged (a warning, which can misfire), a rubric and a model statement
    for the chosen stance."""
    if stance is None:
        return verdict(False, "You have not set `stance` yet: write stance = \"for the motion\" or stance = "
                           "\"against the motion\".")
    chosen, message = chosen_option(stance, STANCE_OPTIONS, "stance")
    if message:
        return verdict(False, message)
    side = chosen.split()[0]
    if statement is None:
        return verdict(False, "You have not set `statement` yet: write your statement as one (triple-quoted) string.")
    if not isinstance(statement, str) or not statement.strip():
        return verdict(False, "Write your statement as one string (a triple-quoted string is easiest).")
    if cited is None:
        return verdict(False, "You have not set `cited` yet: the list of the keys of the sources your statement "
                           "rests on, e.g. cited = [\"opc\", \"aiact\"].")
    if isinstance(cited, str) or not isinstance(cited, (list, tuple, set)):
        return verdict(False, "`cited` should be a list of source keys, e.g. [\"opc\", \"aiact\"], not "
                           f"{type(cited).__name__}.")
    by_key = {key.casefold(): key for key in sources}
    keys = [str(k).strip().strip("[]").casefold() for k in cited]
    unknown = [k for k in keys if k not in by_key]
    problems = []
    if unknown:
        problems.append(f"{unknown[0]!r} in `cited` is not one of the source keys ({', '.join(sources)})")
    listed = sorted({by_key[k] for k in keys if k in by_key})
    if not unknown and len(listed) < 2:
        problems.append(f"`cited` lists {len(listed)} source{'' if len(listed) == 1 else 's'}; rest your statement "
                        "on at least two of "
                        f"{', '.join(sources)}")
    words = len(re.findall(r"\w+", statement))
    if words < 80:
        problems.append(f"the statement has {words} words; make your argument in at least 80")
    if problems:
        return verdict(False, "Not yet: " + "; ".join(problems) + ".")
    feedback = verdict(True, f"The parts a machine can judge are right: a stance ({side} the motion), {words} words, and "
                            f"{len(listed)} listed sources ({', '.join(listed)}). Your text itself was NOT judged: "
                            "whether the argument holds, whether it uses each source for what that source says, "
                            "and whether it states a contested claim as fact are for you to assess with the "
                            "rubric below.")
    warnings = _unconfirmed_as_fact(statement)
    if warnings:
        print("⚠️ A screen of your text flagged these sentences (it can misfire; weigh them with rubric line 4):")
        for warning in warnings:
            print("  - " + warning)
    print(POSITION_RUBRIC)
    print(f"\nA model statement {side} the motion, to compare with (not the only good one):\n" + MODEL_STATEMENTS[side])
    return feedback


def _unconfirmed_as_fact(text: str) -> list[str]:
    """Sentences that look as if they state as fact what the lesson's sources do not establish (an empty list if
    none). A screen of prose by patterns can misfire both ways, so its findings are warnings, never a verdict."""
    problems = []
    for sentence in re.split(r"(?<=[.!?;])\s+", text):
        person = _WRONGLY_ARRESTED.search(sentence)
        if person and _CLEARVIEW_DID_IT.search(sentence) and not _HEDGE.search(sentence):
            problems.append(f"it may link {person.group(0)}'s arrest to Clearview; none of the lesson's sources "
                            "establishes which company's system was used in any of the wrongful arrests it names "
                            "(for Nijeer Parks the reporting newspaper says it is unknown): if that is what you wrote, "
                            "say that the system is unknown or contested, or leave Clearview out of it")
            break
    for sentence in re.split(r"(?<=[.!?;])\s+", text):
        stated = _counts_stated_as_fact(sentence)
        if stated:
            problems.append(f"it may state '{stated[0]}' as a fact; check the sentence. " + IMAGE_COUNT_CLAIMS
                            + " Attribute and date the figure you use: 'the company claimed in 2023 ...'")
            break
    for sentence in re.split(r"(?<=[.!?;])\s+", text):
        if _ACCURACY_CLAIM.search(sentence) and not _ATTRIBUTED.search(sentence):
            problems.append("it may state '99.6% accurate' as a fact: that is the company's own claim (its chief "
                            "executive to CBS News, 2020), not an independent measurement of its 1:N search; "
                            "attribute it")
            break
    return problems
