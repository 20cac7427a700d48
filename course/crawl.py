"""Two crawlers for the scrape lab, and the face-search pipeline built on what they collect (lesson 05).

* :func:`polite_crawl` names itself in its User-Agent, reads robots.txt with
  ``urllib.robotparser`` and obeys it (paths and ``Request-rate``), waits between
  requests, backs off for the ``Retry-After`` of a 429, and skips members who opted out
  (``noindex``/``noai`` in a ``<meta name="robots">`` tag or an ``X-Robots-Tag`` header)
  or whose profile is private (403).
* :func:`impolite_crawl` does none of that: it poses as a web browser, ignores
  robots.txt and the opt-out markers, sends requests as fast as it can, retries a 429
  after a fixed 0.05 s whatever ``Retry-After`` says, and, faced with a login wall, guesses
  the private member's photo addresses.

Both use only the standard library (``urllib.request``, ``html.parser``,
``urllib.robotparser``) and return a :class:`CrawlResult`. Every loop is bounded by
``max_requests``.

The pipeline (:func:`build_face_index`, :func:`search_face`) then does what a face
search company does with a crawl: find every face in every photo (group photos
included) with :func:`course.embed.encode_faces`, keep each vector with the page it was
found on, and answer "who is this?" for a new photo with :func:`course.search.exact_search`.
Each face gets an honest provenance record (:func:`photo_records`): the people are
synthetic, drawn by ``course.faces`` from the seeds the site publishes. A real scrape
could not write such a record, because nobody in it was asked.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
import urllib.robotparser
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np

from . import scrapelab

POLITE_AGENT = "CourseCrawler/1.0 (+lesson 05 of Faces at Scale; contact: instructor@example.org)"
#: What the impolite crawler sends: a browser's User-Agent, so it looks like a person.
BROWSER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
OPT_OUT_WORDS = ("noindex", "noai", "noimageai", "none")
#: A crawler counts as too fast when some 1-second window holds more than this many times the
#: requested rate (a margin for the jitter between when a request is sent and when it is logged).
BURST_FACTOR = 1.25


# ----------------------------------------------------------------------------- fetching and parsing


@dataclass
class Response:
    """An HTTP answer: status, headers (lower-case names) and body, errors included."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def fetch(url: str, agent: str, *, timeout: float = 10) -> Response:
    """GET ``url`` with this User-Agent; 4xx/5xx answers are returned, not raised."""
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Response(url, answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read())
    except urllib.error.HTTPError as err:
        with err:
            return Response(url, err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


@dataclass
class Page:
    """What :class:`PageParser` finds in an HTML page."""

    title: str = ""
    name: str = ""  # the <h1 class="name"> of a profile
    meta_robots: str = ""  # content of <meta name="robots">, lower case
    links: list[dict] = field(default_factory=list)  # attributes of every <a href>
    images: list[dict] = field(default_factory=list)  # attributes of every <img>
    friends: list[str] = field(default_factory=list)  # hrefs inside <ul class="friends">
    body: dict = field(default_factory=dict)  # attributes of <body> (data-generator, ...)


class PageParser(HTMLParser):
    """Collect links, images, the robots meta tag, a profile's name and friends from one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._in = None  # "title" or "name" while inside those elements
        self._friends_depth = 0

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "meta" and a.get("name", "").lower() == "robots":
            self.page.meta_robots = a.get("content", "").lower()
        elif tag == "a" and "href" in a:
            self.page.links.append(a)
            if self._friends_depth:
                self.page.friends.append(a["href"])
        elif tag == "img":
            self.page.images.append(a)
        elif tag == "title":
            self._in = "title"
        elif tag == "h1" and "name" in classes:
            self._in = "name"
        elif tag == "ul" and "friends" in classes:
            self._friends_depth = 1
        elif tag == "body":
            self.page.body = a

    def handle_endtag(self, tag):
        if tag in ("title", "h1"):
            self._in = None
        elif tag == "ul":
            self._friends_depth = 0

    def handle_data(self, data):
        if self._in == "title":
            self.page.title += data
        elif self._in == "name":
            self.page.name += data


def parse_page(text: str) -> Page:
    """Parse an HTML page (see :class:`Page`)."""
    parser = PageParser()
    parser.feed(text)
    parser.close()
    return parser.page


def opted_out(response: Response, page: Page | None = None) -> bool:
    """True if the answer carries an opt-out: X-Robots-Tag header or <meta name="robots"> with noindex/noai."""
    markers = response.headers.get("x-robots-tag", "").lower() + "," + (page.meta_robots if page else "")
    return any(word in [m.strip() for m in markers.split(",")] for word in OPT_OUT_WORDS)


def retry_after(response: Response, default: float = 1.0) -> float:
    """Seconds a 429 asks the client to wait (the Retry-After header, in seconds)."""
    value = response.headers.get("retry-after", "")
    return float(value) if value.strip().isdigit() else default


# ----------------------------------------------------------------------------- provenance


def photo_records(img: dict, photo_path: str, page_path: str, body: dict | None = None) -> list[dict]:
    """Provenance records for the faces in one photo of the scrape lab, left to right.

    A portrait (``data-identity-seed``) gives one record; a group photo
    (``data-identity-seeds``) one per person, in the order they stand. The records are
    *synthetic* records, which the consent guard accepts, because the site's people are
    drawn by course.faces from these seeds: re-rendering them gives the same pixels
    (:func:`course.scrapelab.photo_bytes`). They also say where the photo was found."""
    body = body or {}
    if img.get("data-identity-seeds"):
        identity_seeds = [int(s) for s in img["data-identity-seeds"].split()]
        view_seeds = [int(s) for s in img["data-view-seeds"].split()]
    elif img.get("data-identity-seed"):
        identity_seeds, view_seeds = [int(img["data-identity-seed"])], [int(img["data-view-seed"])]
    else:
        return []
    return [
        {
            "source": "synthetic",
            "generator": body.get("data-generator", "course.faces"),
            "generator_version": body.get("data-generator-version", scrapelab.faces.GENERATOR_VERSION),
            "identity_seed": identity_seed,
            "view_seed": view_seed,
            "collected_by": "scraping the course's own synthetic site",
            "site": f"{scrapelab.SITE_NAME} (course.scrapelab)",
            "photo": photo_path,
            "page": page_path,
            "position": position,
        }
        for position, (identity_seed, view_seed) in enumerate(zip(identity_seeds, view_seeds))
    ]


def photo_caption(records: list[dict]) -> dict:
    """One record standing for a whole photo, for figure captions: a group photo lists every identity seed."""
    if len(records) == 1:
        return records[0]
    return {**records[0], "identity_seed": " + ".join(str(r["identity_seed"]) for r in records)}


# ----------------------------------------------------------------------------- crawl results


@dataclass
class Profile:
    """A member profile as a crawler saw it."""

    path: str
    name: str
    friends: list[str]  # profile paths
    photos: list[str]  # photo paths found on the page


@dataclass
class Photo:
    """A downloaded photo with the page it was found on and a provenance record per face slot."""

    path: str
    page: str
    data: bytes
    records: list[dict]
    kind: str  # "portrait" or "group"


@dataclass
class CrawlResult:
    """Everything one crawl collected, what it skipped and why, and how it behaved."""

    agent: str
    profiles: dict[str, Profile] = field(default_factory=dict)  # path -> profile
    photos: dict[str, Photo] = field(default_factory=dict)  # path -> photo
    skipped: dict[str, str] = field(default_factory=dict)  # path -> reason
    statuses: Counter = field(default_factory=Counter)
    requests: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """The crawl in a few lines, without timings or 429 counts (those vary from run to run)."""
        n_faces = sum(len(p.records) for p in self.photos.values())
        reasons = Counter(self.skipped.values())
        answered = {status: n for status, n in sorted(self.statuses.items()) if status != 429}
        return "\n".join([
            f"agent: {self.agent}",
            f"answered requests: {sum(answered.values())}  (by status: {answered}); "
            f"rate-limited (429): {'yes' if self.statuses[429] else 'never'}",
            f"profiles collected: {len(self.profiles)}",
            f"photos collected: {len(self.photos)}  (faces in them, by the site's seeds: {n_faces})",
            "skipped: " + (", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items())) or "nothing"),
        ])


def platform_view(site, agent: str) -> str:
    """What the platform's access log shows of one User-Agent: a few deterministic lines."""
    entries = site.log.entries(agent)
    if not entries:
        return f"no request with User-Agent {agent!r}"
    answered = [e for e in entries if e.status != 429]
    opted = {p.slug for p in site.members("opted_out")}
    opted_posts = {post.photo_path for post in site.posts if site.people[post.author].visibility == "opted_out"}
    kinds = Counter(_kind(e.path) for e in answered)
    opted_photos = sum(1 for e in answered if e.path in opted_posts
                       or (e.path.startswith("/photos/") and e.path.split("/")[2] in opted))
    per, seconds = scrapelab.REQUEST_RATE
    times = [e.time for e in entries]
    burst = any(j - i > BURST_FACTOR * per for i, j in zip(range(len(times)), _window_ends(times, seconds)))
    return "\n".join([
        f"User-Agent: {agent}",
        f"first request: {entries[0].path}",
        f"answered requests: {len(answered)} (" + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ")",
        f"refused as private (403): {sum(e.status == 403 for e in answered)}",
        f"album pages requested (robots.txt disallows them): {kinds['album pages']}",
        f"photos from opted-out members' own pages and posts: {opted_photos}",
        f"far over the {per} requests per {seconds} s robots.txt asks for: {'yes' if burst else 'no'}",
        f"answered 429 Too Many Requests: {'yes' if len(answered) < len(entries) else 'never'}",
    ])


def _kind(path: str) -> str:
    if path == "/robots.txt":
        return "robots.txt"
    if path == "/" or path.startswith("/?"):
        return "directory pages"
    for prefix, kind in (("/people/", "profile pages"), ("/albums/", "album pages"), ("/photos/", "photos")):
        if path.startswith(prefix):
            return kind
    return "other pages"


def _window_ends(times: list[float], seconds: float) -> list[int]:
    """For each request i, the index one past the last request sent less than ``seconds`` after it."""
    ends, j = [], 0
    for i, t in enumerate(times):
        j = max(j, i)
        while j < len(times) and times[j] - t < seconds:
            j += 1
        ends.append(j)
    return ends


def _absolute(base_url: str, href: str) -> str | None:
    """The absolute URL of a link if it stays on the site, else None."""
    url = urllib.parse.urljoin(base_url + "/", href)
    return url if url.startswith(base_url + "/") else None


def _path(url: str) -> str:
    split = urllib.parse.urlsplit(url)
    return split.path + (f"?{split.query}" if split.query else "")


# ----------------------------------------------------------------------------- the polite crawler


class _PoliteClient:
    """Fetch with a User-Agent, a minimum gap between requests, and back-off on 429."""

    def __init__(self, agent: str, result: CrawlResult, max_requests: int, delay: float = 1.0):
        self.agent, self.result, self.max_requests, self.delay = agent, result, max_requests, delay
        self._last = 0.0

    def get(self, url: str, *, retries: int = 3) -> Response | None:
        for _ in range(retries + 1):
            if self.result.requests >= self.max_requests:
                return None
            wait = self._last + self.delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()
            response = fetch(url, self.agent)
            self.result.requests += 1
            self.result.statuses[response.status] += 1
            if response.status != 429:
                return response
            time.sleep(retry_after(response))  # the server asked us to wait: we wait
        return None


def polite_crawl(base_url: str, *, agent: str = POLITE_AGENT, max_requests: int = 1000,
                 photos: bool = True) -> CrawlResult:
    """Crawl the lab site as a well-behaved crawler (see the module docstring)."""
    start = time.monotonic()
    result = CrawlResult(agent)
    client = _PoliteClient(agent, result, max_requests, delay=0.0)
    robots = urllib.robotparser.RobotFileParser(base_url + "/robots.txt")
    answer = client.get(base_url + "/robots.txt")
    robots.parse(answer.text.splitlines() if answer is not None and answer.status == 200 else [])
    rate = robots.request_rate(agent)
    client.delay = rate.seconds / rate.requests if rate else float(robots.crawl_delay(agent) or 1.0)

    def allowed(url: str) -> bool:
        if robots.can_fetch(agent, url):
            return True
        result.skipped[_path(url)] = "disallowed by robots.txt"
        return False

    queue, seen = [base_url + "/"], {base_url + "/"}
    while queue and result.requests < max_requests:
        url = queue.pop(0)
        if not allowed(url):
            continue
        response = client.get(url)
        if response is None:
            break
        path = _path(url)
        if response.status == 403:
            result.skipped[path] = "private (login wall)"
            continue
        if response.status != 200 or not response.headers.get("content-type", "").startswith("text/html"):
            result.skipped[path] = f"HTTP {response.status}"
            continue
        page = parse_page(response.text)
        if opted_out(response, page):
            result.skipped[path] = "opted out (noindex/noai)"
            continue
        for link in page.links:
            target = _absolute(base_url, link["href"])
            if target and target not in seen and (target.split("?")[0] == base_url + "/"
                                                  or _path(target).startswith(("/people/", "/albums/"))):
                seen.add(target)
                queue.append(target)
        if path.startswith("/people/"):
            result.profiles[path] = Profile(path, page.name.strip(), page.friends, [i["src"] for i in page.images])
        if photos and path.startswith(("/people/", "/albums/")):
            for img in page.images:
                _collect_photo(client, base_url, img, path, page, result, allowed)
    result.seconds = time.monotonic() - start
    return result


def _collect_photo(client, base_url, img, page_path, page, result, allowed=lambda url: True) -> None:
    url = _absolute(base_url, img.get("src", ""))
    if url is None or _path(url) in result.photos or not allowed(url):
        return
    response = client.get(url)
    if response is None or response.status != 200:
        result.skipped[_path(url)] = "private (login wall)" if response and response.status == 403 else "failed"
        return
    if client.agent != BROWSER_AGENT and opted_out(response):
        result.skipped[_path(url)] = "opted out (noindex/noai)"
        return
    records = photo_records(img, _path(url), page_path, page.body)
    result.photos[_path(url)] = Photo(_path(url), page_path, response.body, records,
                                      "group" if len(records) > 1 else "portrait")


# ----------------------------------------------------------------------------- the impolite crawler


class _GreedyClient:
    """Fetch as fast as possible; on 429, retry after a fixed short pause (Retry-After ignored)."""

    agent = BROWSER_AGENT

    def __init__(self, result: CrawlResult, max_requests: int, pause: float = 0.05, retries: int = 60):
        self.result, self.max_requests, self.pause, self.retries = result, max_requests, pause, retries

    def get(self, url: str) -> Response | None:
        for _ in range(self.retries + 1):
            if self.result.requests >= self.max_requests:
                return None
            response = fetch(url, self.agent)
            self.result.requests += 1
            self.result.statuses[response.status] += 1
            if response.status != 429:
                return response
            time.sleep(self.pause)
        return None


def impolite_crawl(base_url: str, *, max_requests: int = 3000, photos: bool = True) -> CrawlResult:
    """Crawl the lab site ignoring every rule (see the module docstring). For comparison only.

    Like many bulk scrapers it first walks every page as fast as it can, then downloads
    every photo it found, then tries the photo addresses of private members."""
    start = time.monotonic()
    result = CrawlResult(BROWSER_AGENT)
    client = _GreedyClient(result, max_requests)
    queue, seen, found_photos, guesses = [base_url + "/"], {base_url + "/"}, [], []
    while queue and result.requests < max_requests:
        url = queue.pop(0)
        response = client.get(url)
        if response is None:
            break
        path = _path(url)
        if response.status == 403 and path.startswith("/people/"):
            result.skipped[path] = "private (login wall)"
            slug = path.rsplit("/", 1)[1]
            guesses += [(f"{base_url}/photos/{slug}/{k}.jpg", path) for k in range(scrapelab.ALBUM_SIZE)]
            continue
        if response.status != 200:
            result.skipped[path] = f"HTTP {response.status}"
            continue
        page = parse_page(response.text)
        for link in page.links:
            target = _absolute(base_url, link["href"])
            if target and target not in seen and not _path(target).startswith(("/terms", "/login")):
                seen.add(target)
                queue.append(target)
        if path.startswith("/people/"):
            result.profiles[path] = Profile(path, page.name.strip(), page.friends, [i["src"] for i in page.images])
        if path.startswith(("/people/", "/albums/")):
            found_photos += [(img, path, page) for img in page.images]
    if photos:
        for img, path, page in found_photos:
            _collect_photo(client, base_url, img, path, page, result)
        for url, page_path in guesses:  # the login wall said no; try the photo addresses anyway
            if result.requests >= max_requests:
                break
            response = client.get(url)
            if response is not None and response.status != 200:
                result.skipped[_path(url)] = f"HTTP {response.status}"
    result.seconds = time.monotonic() - start
    return result


# ----------------------------------------------------------------------------- the face search pipeline


@dataclass
class FaceIndex:
    """Face vectors from a crawl, each with where it was found and its provenance."""

    vectors: np.ndarray  # (n_faces, 128)
    records: list[dict]  # per face: provenance + photo, page, name_on_page, box
    photos_seen: int
    photos_without_face: int

    def __len__(self) -> int:
        return len(self.vectors)


def build_face_index(result: CrawlResult, *, upsample: int = 1) -> FaceIndex:
    """Embed every face in every photo of a crawl (group photos give several).

    Faces in a group photo are matched to the people the site lists for it by
    position: the face whose box centre lies in the j-th ``PHOTO_SIZE``-wide slot gets
    record j. Each face keeps the page it was found on and the name shown on that page,
    which is all a face search engine can tell you about a stranger in a friend's photo."""
    from . import embed
    from .images import load_image

    vectors, records, without = [], [], 0
    for photo in sorted(result.photos.values(), key=lambda p: p.path):
        image = load_image(photo.data)
        # the consent guard re-renders the photo: a group photo's record lists everyone in it, left to right
        photo_record = {**photo.records[0], "identity_seeds": [r["identity_seed"] for r in photo.records],
                        "view_seeds": [r["view_seed"] for r in photo.records]} if photo.records else None
        found = embed.encode_faces(image, photo_record, upsample=upsample)
        if not found:
            without += 1
        for face in found:
            top, right, bottom, left = face.box
            slot = min(int((left + right) / 2 // scrapelab.PHOTO_SIZE), len(photo.records) - 1)
            page = result.profiles.get(photo.page)
            records.append({**photo.records[slot], "box": face.box,
                            "name_on_page": page.name if page else "",
                            "kind": photo.kind})
            vectors.append(face.vector)
    matrix = np.array(vectors, dtype=np.float64).reshape(-1, 128)
    return FaceIndex(matrix, records, len(result.photos), without)


def probe_photo(site, slug: str, *, tries: int = 5) -> tuple[np.ndarray, dict]:
    """A new photo of a member in which the detector finds exactly one face (first of ``tries`` views).

    Some views (a turned head, dim light) defeat the HOG detector; a person holding up
    a phone would simply take another photo."""
    from . import embed

    for k in range(tries):
        image, record = site.new_photo(slug, k)
        if len(embed.detect_faces(image, record)) == 1:
            return image, record
    raise RuntimeError(f"no detectable face in {tries} new photos of {slug}")


@dataclass
class Hit:
    """One search result: how far, which page, whose page, and (for grading only) who it really is."""

    distance: float
    page: str
    name_on_page: str
    photo: str
    identity_seed: int
    record: dict  # the indexed face's full provenance record


def search_face(index: FaceIndex, image: np.ndarray, provenance: dict, *, k: int = 5,
                tolerance: float = 0.6) -> list[Hit]:
    """The ``k`` nearest faces in the index to the face in ``image`` closer than ``tolerance``."""
    from . import embed
    from .search import exact_search

    probe = embed.encode_face(image, provenance)
    distances, positions = exact_search(index.vectors, probe.vector[None, :], min(k, len(index)))
    hits = []
    for distance, position in zip(distances[0], positions[0]):
        if distance < tolerance:
            r = index.records[position]
            hits.append(Hit(float(distance), r["page"], r["name_on_page"], r["photo"], r["identity_seed"], r))
    return hits
