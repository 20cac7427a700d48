"""The capstone (lesson 06): a small face search service, as a vendor would sell it, for students to audit.

:func:`vendor_service` builds **Pinpoint Face Search**, a fictional vendor's service:
a :class:`course.service.FaceService` whose gallery holds the course's synthetic people
(``data.load("synthetic-people")``) and the two simulated groups of
``data.load("synthetic-groups")``, wrapped with the vendor's configuration, its
documentation (a markdown page of claims) and its ingestion crawler::

    vendor = vendor_service(seed=0)
    vendor.search(embedding)          # candidates closer than the vendor's threshold
    vendor.delete(person)             # the vendor's deletion (a confirmation message)
    vendor.restore_backup()           # the vendor's disaster-recovery procedure
    vendor.ingest(site.url)           # the vendor's crawler, against course.scrapelab only
    vendor.service.find(person)       # the service's own inspection of every store

The service has four flaws that its documentation denies. They are real, measurable
properties of the configuration, not staged outputs:

1. the match threshold (0.6) is the customary value for dlib's model on real adults,
   copied onto a different population;
2. the deletion leaves the person's vectors tombstoned in the index, the index centres
   learned from them, and their photos in every backup; and the disaster-recovery
   restore does not replay the deletion ledger, so a restore brings them back;
3. the ingestion crawler reads robots.txt and then ignores it, and ignores opt-out
   markers (it does keep to the requested rate, so the platform does not throttle it);
4. nobody measured error rates per group.

:func:`fixed_config` gives a configuration without flaws 1–3 (flaw 4 is fixed by
measuring and reporting, which the configuration cannot do for you); the tests build
the service with both. Everything is synthetic: no real person's face is involved.
"""

from __future__ import annotations

import time
import urllib.parse
import urllib.robotparser
from dataclasses import dataclass, field, replace

import numpy as np

from . import crawl, data
from .service import FaceService

VENDOR_NAME = "Pinpoint Face Search"
#: The customary distance threshold of dlib's model / face_recognition (trained on real adults).
CUSTOMARY_THRESHOLD = 0.6
#: Person numbers in the vendor's gallery: synthetic-people identity i is person i;
#: synthetic-groups identity i of a group is person offset + i.
GROUP_PERSON_OFFSET = {"group A": 1000, "group B": 2000}
#: The audit's split of synthetic-people: choose thresholds on the development identities, report on the test ones.
DEV_IDENTITIES = tuple(range(0, 50))
TEST_IDENTITIES = tuple(range(50, 100))
#: The false match rate the audit calibrates a threshold for (one in a thousand impostor pairs).
TARGET_FMR = 0.001

VENDOR_AGENT = "PinpointBot/2.3 (+https://pinpoint.example/bot; we respect robots.txt)"
#: Seconds between the crawler's requests: 25 a second, the rate the scrape lab's robots.txt asks for.
CRAWL_DELAY = 0.04


@dataclass(frozen=True)
class VendorConfig:
    """How the vendor runs its service (what its engineers set, not what its brochure says)."""

    threshold: float = CUSTOMARY_THRESHOLD
    threshold_source: str = ("face_recognition's default tolerance (0.6), 'typical best performance' "
                             "in the compare_faces docstring, face_recognition/api.py")
    delete_options: dict = field(default_factory=lambda: {"compact_index": False, "scrub_logs": True,
                                                          "purge_backups": False, "retrain": False})
    restore_replays_deletions: bool = False
    crawler_agent: str = VENDOR_AGENT
    crawler_respects_robots: bool = False
    crawler_respects_opt_outs: bool = False
    crawl_delay: float = CRAWL_DELAY


#: The configuration the vendor ships.
VENDOR_CONFIG = VendorConfig()


def fixed_config(threshold: float, *, base: VendorConfig = VENDOR_CONFIG) -> VendorConfig:
    """The vendor's configuration with flaws 1–3 fixed: a calibrated ``threshold``, a complete
    deletion (index compacted, centres re-learned, backups rewritten, ledger replayed on
    restore) and a crawler that obeys robots.txt and opt-outs."""
    return replace(base, threshold=float(threshold),
                   threshold_source="calibrated on a development split of the population served",
                   delete_options={"compact_index": True, "scrub_logs": True, "purge_backups": True, "retrain": True},
                   restore_replays_deletions=True, crawler_respects_robots=True, crawler_respects_opt_outs=True)


DOCUMENTATION = f"""\
### {VENDOR_NAME}: product sheet and data protection statement (v2.3)

*Find anyone from a single photo, in seconds.*

**Accuracy.** Our search is **99.6% accurate**. It is built on a proven open-source recogniser
(dlib's ResNet, 99.38% on the LFW benchmark) and uses a match threshold of **{CUSTOMARY_THRESHOLD}**, as
recommended by the `face_recognition` library.

**Fairness.** Our technology **works equally well for everyone**, whatever their age, sex or ethnicity.

**Your rights.** When you ask us to delete your data, **deletion removes all your data**: your
photos, your face data and every copy, immediately and permanently.

**Responsible collection.** Our crawler, `PinpointBot`, collects only publicly available photos.
**We respect robots.txt** and the choices of people who opt out.

**Backups.** Nightly backups protect your searches against data loss; our disaster-recovery
procedure restores the latest backup in minutes.
"""


#: Each claim of the documentation that the audit tests, by finding (the audit report's keys).
CLAIMS = {
    "threshold": "Our search is 99.6% accurate (threshold 0.6, as recommended by face_recognition).",
    "deletion": "Deletion removes all your data: your photos, your face data and every copy.",
    "crawling": "We respect robots.txt and the choices of people who opt out.",
    "fairness": "Our technology works equally well for everyone.",
}


def report_template() -> dict:
    """An empty audit report: for each finding the vendor's claim and blanks to fill. ``figures`` ({label: value},
    the labels listed by the check) and, for the deletion, ``stores`` and ``found_after_restore`` hold what was
    measured, which the check verifies; ``evidence`` and ``recommendation`` are prose, for the rubric."""
    report = {finding: {"claim": claim, "figures": {}, "evidence": "", "recommendation": ""}
              for finding, claim in CLAIMS.items()}
    deletion = report["deletion"]
    del deletion["figures"]
    deletion.update({"stores": [], "found_after_restore": None})
    return report


def report_markdown(report: dict) -> str:
    """An audit report (see :func:`report_template`) as a markdown table, for display or export."""
    def cell(value) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    def measured(entry: dict) -> str:
        parts = [f"{label}: {value:.4g}" if isinstance(value, float) else f"{label}: {value}"
                 for label, value in (entry.get("figures") or {}).items()]
        if entry.get("stores"):
            parts.append("stores still holding the person: " + ", ".join(map(str, entry["stores"])))
        if entry.get("found_after_restore") is not None:
            parts.append(f"found after the restore: {entry['found_after_restore']}")
        return f" ({'; '.join(parts)})" if parts else ""

    lines = ["| finding | the vendor's claim | evidence (measured) | recommendation |", "|---|---|---|---|"]
    for finding, entry in report.items():
        entry = entry if isinstance(entry, dict) else {}
        lines.append(f"| {cell(finding)} | {cell(entry.get('claim', ''))} | "
                     f"{cell(str(entry.get('evidence', '')) + measured(entry))} | "
                     f"{cell(entry.get('recommendation', ''))} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Candidate:
    """One search result above the vendor's threshold: which enrolled person, and how far."""

    person: int
    distance: float
    photo_id: int


@dataclass
class IngestionReport:
    """What one run of the ingestion crawler fetched and kept."""

    agent: str
    requests: int = 0
    pages: list[str] = field(default_factory=list)  # HTML pages kept (paths)
    photos: dict[str, list[dict]] = field(default_factory=dict)  # photo path -> provenance record per face
    skipped: dict[str, str] = field(default_factory=dict)  # path -> reason

    def summary(self) -> str:
        """A few deterministic lines (no times, no ports)."""
        reasons: dict[str, int] = {}
        for reason in self.skipped.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        return "\n".join([
            f"crawler: {self.agent}",
            f"requests sent: {self.requests}",
            f"pages kept: {len(self.pages)}; photos kept: {len(self.photos)}",
            "skipped: " + (", ".join(f"{n} {r}" for r, n in sorted(reasons.items())) or "nothing"),
        ])


class IngestionCrawler:
    """The vendor's crawler for :mod:`course.scrapelab` sites (never point it at a real site).

    It fetches /robots.txt first, walks the member directory, each profile and each
    album, and downloads every portrait it sees (group photos are left out to keep runs
    small). It waits ``delay`` seconds between requests. Whether it obeys robots.txt and
    opt-out markers (``<meta name="robots">``/``X-Robots-Tag`` with noindex or noai)
    depends on the configuration; it always *reads* robots.txt."""

    def __init__(self, agent: str = VENDOR_AGENT, *, respect_robots: bool = False, respect_opt_outs: bool = False,
                 delay: float = CRAWL_DELAY) -> None:
        self.agent, self.delay = agent, delay
        self.respect_robots, self.respect_opt_outs = respect_robots, respect_opt_outs

    def crawl(self, base_url: str, *, max_requests: int = 80) -> IngestionReport:
        base_url = base_url.rstrip("/")
        if not base_url.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise ValueError("the vendor's crawler only runs against the course's local scrape lab (127.0.0.1)")
        report = IngestionReport(self.agent)
        last = [0.0]

        def get(path: str):
            if report.requests >= max_requests:
                return None
            wait = last[0] + self.delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            last[0] = time.monotonic()
            report.requests += 1
            return crawl.fetch(base_url + path, self.agent)

        robots = urllib.robotparser.RobotFileParser()
        answer = get("/robots.txt")
        robots.parse(answer.text.splitlines() if answer is not None and answer.status == 200 else [])

        def allowed(path: str) -> bool:
            if self.respect_robots and not robots.can_fetch(self.agent, base_url + path):
                report.skipped[path] = "disallowed by robots.txt"
                return False
            return True

        queue, seen = ["/"], {"/"}
        while queue and report.requests < max_requests:
            path = queue.pop(0)
            if not allowed(path):
                continue
            response = get(path)
            if response is None:
                break
            if response.status != 200:
                report.skipped[path] = f"HTTP {response.status}"
                continue
            page = crawl.parse_page(response.text)
            if self.respect_opt_outs and crawl.opted_out(response, page):
                report.skipped[path] = "opted out (noindex/noai)"
                continue
            report.pages.append(path)
            for link in page.links:
                target = urllib.parse.urlsplit(urllib.parse.urljoin(base_url + path, link["href"]))
                target_path = target.path + (f"?{target.query}" if target.query else "")
                if (target.netloc == urllib.parse.urlsplit(base_url).netloc and target_path not in seen
                        and (target_path.startswith(("/people/", "/albums/", "/?page=")))):
                    seen.add(target_path)
                    queue.append(target_path)
            for img in page.images:
                src = img.get("src", "")
                if not img.get("data-identity-seed") or src in report.photos or src in report.skipped:
                    continue  # group photos are left out; each portrait is fetched once
                if not allowed(src):
                    continue
                photo = get(src)
                if photo is None:
                    break
                if photo.status != 200:
                    report.skipped[src] = f"HTTP {photo.status}"
                elif self.respect_opt_outs and crawl.opted_out(photo):
                    report.skipped[src] = "opted out (noindex/noai)"
                else:
                    report.photos[src] = crawl.photo_records(img, src, path, page.body)
        return report


@dataclass
class VendorService:
    """The vendor's face search service: the service itself, its configuration, its claims, its crawler.

    Attributes:
        service: the :class:`course.service.FaceService` (inspect it with ``service.find(person)``).
        config: the :class:`VendorConfig` it runs with.
        documentation: the vendor's product sheet (markdown), with its claims.
        crawler: the :class:`IngestionCrawler` the vendor feeds the gallery with.
        gallery: person number -> (data set name, group or None) for every enrolled person.
        held_out: person number -> data-set row of one photo of theirs that was *not* enrolled
            (a "new photo" to search with).
        seed: the seed the service was built with.
        restores_since_delete: restore_backup() calls since the last delete() (lets an exercise
            check tell a re-run cell from a first run).
    """

    service: FaceService
    config: VendorConfig
    documentation: str
    crawler: IngestionCrawler
    gallery: dict[int, tuple[str, str | None]]
    held_out: dict[int, tuple[str, int]]
    seed: int
    restores_since_delete: int = 0

    def search(self, embedding, k: int = 5) -> list[Candidate]:
        """The vendor's search: up to ``k`` enrolled photos within the threshold, nearest first."""
        hits = self.service.search(np.asarray(embedding, dtype=np.float32), k=k)
        return [Candidate(person, distance, photo_id) for photo_id, person, distance in hits
                if distance <= self.config.threshold]

    def verify(self, embedding_a, embedding_b) -> bool:
        """The vendor's 1:1 decision: same person if the distance is at most the threshold."""
        distance = float(np.linalg.norm(np.asarray(embedding_a, np.float64) - np.asarray(embedding_b, np.float64)))
        return distance <= self.config.threshold

    def delete(self, person: int) -> str:
        """The vendor's deletion procedure. Returns the confirmation the vendor sends the person."""
        self.service.delete(int(person), **self.config.delete_options)
        self.restores_since_delete = 0
        return (f"Your request has been completed: all data of person {int(person)} has been permanently "
                f"deleted from {VENDOR_NAME}.")

    def nightly_backup(self) -> int:
        """Take a backup now; returns its number."""
        return self.service.snapshot()

    def restore_backup(self, backup: int = -1) -> None:
        """The vendor's disaster-recovery procedure: restore a backup (the latest by default)."""
        self.service.restore(backup, replay_deletions=self.config.restore_replays_deletions)
        self.restores_since_delete += 1

    def ingest(self, base_url: str, *, max_requests: int = 80) -> IngestionReport:
        """Run the vendor's crawler against a local scrape-lab site (see :class:`IngestionCrawler`)."""
        return self.crawler.crawl(base_url, max_requests=max_requests)


def person_number(dataset: str, identity: int, group: str | None = None) -> int:
    """The vendor's person number for identity ``identity`` of a data set (and group, for synthetic-groups)."""
    if dataset == "synthetic-people":
        return int(identity)
    if dataset == "synthetic-groups":
        return GROUP_PERSON_OFFSET[group] + int(identity)
    raise ValueError(f"the vendor's gallery has no data set {dataset!r}")


def gallery_rows(faceset) -> tuple[list[tuple[int, int, str | None]], dict[int, int]]:
    """Split a data set's found photos into enrolled rows and one held-out row per person.

    Returns ``(enrolled, held_out)``: enrolled is a list of (row, person, group), held_out
    maps person -> row of their last found photo (never enrolled). A person with a single
    found photo is enrolled with it and has no held-out photo."""
    groups = [r.get("group") for r in faceset.provenance]
    rows = np.flatnonzero(faceset.found)
    persons = [person_number(faceset.name, int(faceset.identities[r]), groups[r]) for r in rows]
    counts: dict[int, int] = {}
    for person in persons:
        counts[person] = counts.get(person, 0) + 1
    last = {person: int(row) for row, person in zip(rows, persons) if counts[person] > 1}
    enrolled = [(int(row), person, groups[row]) for row, person in zip(rows, persons) if last.get(person) != row]
    return enrolled, last


def vendor_service(seed: int = 0, *, config: VendorConfig = VENDOR_CONFIG, people=None, groups=None,
                   n_lists: int = 8, n_searches: int = 20) -> VendorService:
    """Build the vendor's service: gallery, index, some past searches, last night's backup.

    ``people`` and ``groups`` default to ``data.load("synthetic-people")`` and
    ``data.load("synthetic-groups")`` (pass them in to avoid loading twice). ``seed``
    seeds the index and which past searches were made. Deterministic in its arguments."""
    people = data.load("synthetic-people") if people is None else people
    groups = data.load("synthetic-groups") if groups is None else groups
    enrolled, held_out, gallery = [], {}, {}
    for faceset in (people, groups):
        rows, last = gallery_rows(faceset)
        enrolled += [(faceset, row, person) for row, person, _ in rows]
        held_out.update({person: (faceset.name, row) for person, row in last.items()})
        gallery.update({person: (faceset.name, group) for _, person, group in rows})
    vectors = np.stack([fs.embeddings[row] for fs, row, _ in enrolled]).astype(np.float32)
    persons = np.array([person for _, _, person in enrolled])
    service = FaceService(vectors, persons, n_lists=n_lists, seed=seed)
    for (faceset, row, person), vector in zip(enrolled, vectors):
        service.add(person, vector, faceset.thumbnails[row])
    rng = np.random.default_rng(seed)
    searched = sorted(held_out)
    for person in rng.choice(searched, size=min(n_searches, len(searched)), replace=False):
        name, row = held_out[int(person)]
        faceset = people if name == people.name else groups
        service.search(faceset.embeddings[row], k=3)
    service.snapshot()
    crawler = IngestionCrawler(config.crawler_agent, respect_robots=config.crawler_respects_robots,
                               respect_opt_outs=config.crawler_respects_opt_outs, delay=config.crawl_delay)
    return VendorService(service, config, DOCUMENTATION, crawler, gallery, held_out, seed)


def held_out_embedding(vendor: VendorService, person: int, people=None, groups=None) -> np.ndarray:
    """The embedding of the person's held-out photo (one the service never enrolled)."""
    name, row = vendor.held_out[int(person)]
    faceset = people if name == "synthetic-people" else groups
    if faceset is None:
        faceset = data.load(name)
    return np.asarray(faceset.embeddings[row], dtype=np.float32)


def findable_person(vendor: VendorService, people=None, groups=None, *, prefer: int = 7) -> int:
    """The person whose deletion the audit asks for: ``prefer`` if the service finds them as top candidate
    for their held-out photo, else the first enrolled person it finds that way (the data set may change)."""
    for person in [prefer, *sorted(vendor.held_out)]:
        if person in vendor.held_out:
            hits = vendor.search(held_out_embedding(vendor, person, people, groups), k=1)
            if hits and hits[0].person == person:
                return person
    raise ValueError("the service finds nobody by a new photo: the gallery or the threshold is broken")
