"""The scrape lab: a synthetic social network served over HTTP on your own machine (lesson 05).

``SocialNetwork`` is a small web site, "Plaza", whose members are synthetic people
drawn by :mod:`course.faces`. It runs a real HTTP server (``http.server``) bound to
127.0.0.1 only, on a free port, in a daemon thread, so a crawler in the notebook talks
to it exactly as it would talk to a real platform, without touching anyone's real face::

    with SocialNetwork(seed=5, n_people=40) as site:
        html = urllib.request.urlopen(site.url + "/").read()
        print(site.log.table())          # what the platform saw of you

What the site has, and why (the lesson discusses each piece)
------------------------------------------------------------
* ``/`` and ``/?page=N``: a directory of members, ``PER_PAGE`` a page.
* ``/people/<slug>``: a profile: name, town, a profile photo, a friends list and a post
  with a group photo (the member and one or two friends side by side).
* ``/albums/<slug>``: all of a member's portraits. **robots.txt disallows it** for every
  agent: albums are for the member's visitors, not for collection.
* ``/photos/<slug>/<k>.jpg`` and ``/photos/posts/<n>.jpg``: JPEG photos, rendered on
  first request from the person's seeds and cached.
* ``/robots.txt``: every agent may crawl profiles at most ``REQUEST_RATE`` requests per
  second (``Request-rate``), never ``/albums/``; the agent ``FaceHarvester`` (a crawler
  that collected faces before) is refused everything. robots.txt is a *request* to
  crawlers, not a lock (RFC 9309 says it is not access authorisation): the server does
  not enforce it, so the lab can show who honours it.
* ``/terms``: Terms of Service that forbid automated collection of photos and any use
  of members' photos to identify them, whatever robots.txt allows.
* Opted-out members (``visibility == "opted_out"``): their pages and photos are served,
  but marked ``<meta name="robots" content="noindex, noai, noimageai">`` and with an
  ``X-Robots-Tag`` header. These markers are informal, not a standard; nothing forces a
  crawler to read them.
* Private members (``visibility == "private"``): a login wall, HTTP 403, for the
  profile, the album and their own photos. Their faces can still appear in a *friend's*
  public group photo: an opt-out covers only your own page.
* Rate limiting, which the server *does* enforce: a client (IP address + User-Agent)
  that sends more than ``rate_limit`` requests within one second gets HTTP 429 with a
  ``Retry-After`` header, and keeps getting 429 until that time has passed.
  The limit is keyed on IP address *and* User-Agent, as many real sites do: a crawler
  that sends a new User-Agent with every request is never limited.
* An access log (``site.log``): time since start, client, method, path, status, user
  agent, for every request, malformed ones included.

Robustness: paths with ``..``, backslashes or control characters are refused (400),
unknown paths get 404, unsupported methods 405, malformed request lines 400 (from
``http.server``); nothing is ever read from disk. Its resources are bounded, whatever
clients do:

* time: a request line and headers must arrive within ``REQUEST_DEADLINE`` seconds of
  connecting, in total (a client trickling one byte at a time is dropped when it runs
  out; a per-read timeout alone would let it stay for ever);
* threads: at most ``MAX_CONNECTIONS`` requests are served at once, one thread each;
  a connection beyond that is answered ``503 Service Unavailable`` with ``Retry-After: 1``
  at once and closed (logged with method and path ``-``), never queued;
* memory: the log keeps the newest ``MAX_LOG_ENTRIES`` entries and at most
  ``MAX_LOGGED_AGENT`` characters of a User-Agent (the same shortened agent keys the
  rate limit); rate-limit entries of clients silent for a whole window are dropped.

The server stops on ``stop()``, at
the end of a ``with`` block, when the Python process exits (daemon thread + atexit),
or after ``time_limit`` seconds (three hours by default, longer than a lesson), whichever comes first;
``start()`` starts a stopped site again, with its log kept.

Provenance: every face on the site is synthetic. Each ``<img>`` carries the seeds that
drew it (``data-identity-seed``/``data-view-seed``, or the plural forms for group
photos) and the page says which generator made it, so a crawler can write honest
provenance records (see :func:`course.crawl.photo_records`) and anyone can re-render a
photo from its seeds (:func:`photo_bytes`) to check the claim.
"""

from __future__ import annotations

import atexit
import html
import io
import socket
import re
import threading
import time
import urllib.parse
from collections import Counter, deque
from dataclasses import asdict, dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image

from . import faces

SITE_NAME = "Plaza"
HOST = "127.0.0.1"  # loopback only: the lab is never reachable from another machine
PER_PAGE = 10
PHOTO_SIZE = 160  # pixels; small so that pages render fast
PHOTO_QUALITY = 90
ALBUM_SIZE = 3  # portraits per member: 0 is the profile photo, 1.. are only in the album
MAX_YAW = 15
#: robots.txt asks every agent for at most this many requests per this many seconds.
REQUEST_RATE = (25, 1)
#: The server refuses (429) a client above this many requests in any one second.
RATE_LIMIT = 40
RETRY_AFTER = 1  # seconds, sent in the Retry-After header of a 429 (and of a 503)
RATE_WINDOW = 1.0  # seconds: the rate limit counts a client's requests over this sliding window
#: Seconds from connecting to the end of the request's headers, in total, before a client is dropped.
REQUEST_DEADLINE = 5.0
IDLE_TIMEOUT = 5.0  # seconds any one read or write of a connection may wait
#: Requests served at once (one thread each); a connection beyond them gets 503 at once.
MAX_CONNECTIONS = 32
MAX_LOG_ENTRIES = 50_000  # the access log keeps the newest entries (a lesson makes a few hundred)
MAX_LOGGED_AGENT = 256  # characters of a User-Agent kept in the log and in the rate-limit key
MAX_PATH = 2048  # characters: a longer request path is refused (400); the log keeps at most this many
MAX_LOGGED_METHOD = 16  # characters of a (possibly garbled) method name kept in the log
DEFAULT_TIME_LIMIT = 3 * 60 * 60  # seconds: outlasts a double lesson, so no student meets a dead site
BLOCKED_AGENT = "FaceHarvester"
OPT_OUT_MARKERS = "noindex, noai, noimageai"

ROBOTS_TXT = f"""\
# robots.txt for {SITE_NAME}, a synthetic social network made for the course "Faces at Scale".
#
# Crawlers may visit member profiles so that people can find each other, slowly:
# at most {REQUEST_RATE[0]} requests per {REQUEST_RATE[1]} second(s). Albums hold every photo a member posted;
# they are for visitors, not for crawlers. Members who opted out say so on their own pages
# (noindex, noai); listing them here would reveal who they are.
# This file is a request, not a permission: see /terms.

User-agent: {BLOCKED_AGENT}
Disallow: /

User-agent: *
Disallow: /albums/
Request-rate: {REQUEST_RATE[0]}/{REQUEST_RATE[1]}
"""

TERMS_HTML = f"""<h1>{SITE_NAME} Terms of Service (extract)</h1>
<p><em>A fictional platform's terms, written for lesson 05 of the course "Faces at Scale".</em></p>
<h2 id="automated">4. Automated access</h2>
<p>4.1 You may not access {SITE_NAME} or collect data from it using automated means (robots, crawlers,
scrapers) without our prior written permission. Search engines may index public profile pages if they
follow our robots.txt and link back to {SITE_NAME}.</p>
<p>4.2 Following robots.txt does not give you permission to copy, store or re-publish members' photos.</p>
<h2 id="faces">5. Members' faces</h2>
<p>5.1 You may not use photos of members, or anything derived from them (such as face templates or
embeddings), to identify, track or profile anyone, or to build a face recognition database.</p>
<p>5.2 Members may make their profile private or opt out of indexing at any time. We honour deletion
requests within 30 days.</p>
"""


# ----------------------------------------------------------------------------- the people

_FIRST_A = ("Al", "Bre", "Cas", "Dor", "El", "Fen", "Gil", "Hal", "Is", "Jor", "Kel", "Lum", "Mir",
            "Nov", "Or", "Pel", "Quin", "Ros", "Sel", "Tam", "Ul", "Ves", "Wyn", "Yar", "Zel")
_FIRST_B = ("ana", "ek", "ira", "ombe", "ux", "ette", "ian", "ora", "ith", "amo", "uvel", "essa")
_LAST_A = ("Brak", "Cor", "Dun", "Fal", "Grim", "Hest", "Jun", "Kov", "Lark", "Mor", "Nesh", "Pry",
           "Quil", "Rand", "Stav", "Tor", "Vel", "Wex", "Yor", "Zan")
_LAST_B = ("wick", "amar", "ello", "issen", "ovy", "stead", "uran", "oak", "ley", "bright", "orne")
_TOWNS = ("Merrowby", "Ostfall", "Caddering", "Lunmere", "Brackwater", "Fellhaven", "Quarrington",
          "Sallowmoor", "Tindle Cross", "Wexhold")
_ACTIVITIES = ("at the lake", "after the match", "at the street party", "on the hike", "at the reunion",
               "at the concert", "at the market", "at the birthday dinner")

VISIBILITIES = ("public", "opted_out", "private")


def _seed(seed: int, *key: int) -> int:
    """A 32-bit seed from ``seed`` and a spawn key, as in course.faces (identity i: key (0, i))."""
    return int(np.random.SeedSequence(seed, spawn_key=key).generate_state(1)[0])


@dataclass(frozen=True)
class Person:
    """A member of the site: a synthetic person, with the seeds that draw every photo of them."""

    index: int
    slug: str
    name: str
    town: str
    visibility: str  # "public", "opted_out" or "private"
    identity_seed: int
    photo_view_seeds: tuple[int, ...]  # one per portrait; 0 is the profile photo
    friends: tuple[int, ...]  # indices of other members

    @property
    def path(self) -> str:
        return f"/people/{self.slug}"


@dataclass(frozen=True)
class Post:
    """A post with a group photo: its author and one or two friends, side by side."""

    number: int
    author: int
    people: tuple[int, ...]  # left to right in the photo; the author first
    view_seeds: tuple[int, ...]
    caption: str

    @property
    def photo_path(self) -> str:
        return f"/photos/posts/{self.number}.jpg"


def make_people(seed: int, n_people: int, *, opted_out_fraction: float = 0.15,
                private_fraction: float = 0.15) -> tuple[list[Person], list[Post]]:
    """The members and posts of a site: deterministic in ``seed`` and ``n_people``.

    Person ``i`` has identity seed ``SeedSequence(seed, spawn_key=(0, i))`` (the same
    person as identity ``i`` of ``faces.synthetic_faces(..., seed=seed)``); portrait
    ``k`` has view seed key ``(1, i, k)``; post photo ``p``'s slot ``j`` has ``(2, p, j)``.
    Names are invented from syllables, never taken from real people."""
    if not 3 <= n_people <= 1000:
        raise ValueError(f"n_people must be between 3 and 1000, got {n_people}")
    rng = np.random.default_rng(seed)
    names: list[str] = []
    while len(names) < n_people:  # bounded: 25*12*20*11 = 66,000 possible names
        name = (str(rng.choice(_FIRST_A)) + str(rng.choice(_FIRST_B)) + " "
                + str(rng.choice(_LAST_A)) + str(rng.choice(_LAST_B)))
        if name not in names:
            names.append(name)
    n_opt, n_priv = round(opted_out_fraction * n_people), round(private_fraction * n_people)
    order = rng.permutation(n_people)
    visibility = ["public"] * n_people
    for i in order[:n_opt]:
        visibility[i] = "opted_out"
    for i in order[n_opt:n_opt + n_priv]:
        visibility[i] = "private"
    friends: list[set[int]] = [set() for _ in range(n_people)]
    for i in range(n_people):
        for j in rng.choice([j for j in range(n_people) if j != i], size=2, replace=False):
            friends[i].add(int(j))
            friends[int(j)].add(i)
    people = [
        Person(index=i, slug=names[i].lower().replace(" ", "-"), name=names[i],
               town=str(rng.choice(_TOWNS)), visibility=visibility[i],
               identity_seed=_seed(seed, 0, i),
               photo_view_seeds=tuple(_seed(seed, 1, i, k) for k in range(ALBUM_SIZE)),
               friends=tuple(sorted(friends[i])))
        for i in range(n_people)
    ]
    posts = []
    for i, person in enumerate(people):
        n_others = int(rng.integers(1, 3))
        others = [int(j) for j in rng.choice(person.friends, size=min(n_others, len(person.friends)), replace=False)]
        group = (i, *others)
        caption = (f"{person.name.split()[0]} with " + " and ".join(people[j].name for j in others)
                   + " " + str(rng.choice(_ACTIVITIES)))
        posts.append(Post(number=i, author=i, people=group,
                          view_seeds=tuple(_seed(seed, 2, i, j) for j in range(len(group))), caption=caption))
    return people, posts


@lru_cache(maxsize=2048)
def photo_bytes(identity_seed: int, view_seed: int, size: int = PHOTO_SIZE) -> bytes:
    """The JPEG the site serves for one synthetic portrait: re-render it to check any photo."""
    image, _ = faces.render_face(faces.identity_parameters(identity_seed), view_seed=view_seed,
                                 size=size, max_yaw=MAX_YAW)
    return _jpeg(image)


@lru_cache(maxsize=512)
def group_photo_bytes(identity_seeds: tuple[int, ...], view_seeds: tuple[int, ...],
                      size: int = PHOTO_SIZE) -> bytes:
    """The JPEG of a group photo: one rendered portrait per person, side by side, left to right."""
    tiles = [faces.render_face(faces.identity_parameters(i), view_seed=v, size=size, max_yaw=MAX_YAW)[0]
             for i, v in zip(identity_seeds, view_seeds)]
    return _jpeg(np.concatenate(tiles, axis=1))


def _jpeg(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=PHOTO_QUALITY)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- the access log


@dataclass(frozen=True)
class LogEntry:
    """One request as the platform saw it."""

    number: int  # order of arrival, from 0
    time: float  # seconds since the server started
    client: str  # the client's IP address
    method: str
    path: str
    status: int
    agent: str  # the User-Agent header ("-" if none was sent)


class AccessLog:
    """Thread-safe list of :class:`LogEntry`, with the views a lesson needs (no pandas needed).

    ``log.records()`` gives a list of dicts (``pandas.DataFrame(log.records())`` works
    if you have pandas); ``log.table()`` a text table without times or ports, so the
    notebook's output is the same on every run.

    Bounded: only the newest ``max_entries`` entries are kept, and a User-Agent is kept
    to ``MAX_LOGGED_AGENT`` characters (``entries(agent)`` shortens its argument the same
    way). ``len(log)`` counts every request logged since the start (or ``clear()``): it is
    the ``number`` the next entry will get, so ``since = len(site.log)`` marks "from now on"."""

    def __init__(self, max_entries: int = MAX_LOG_ENTRIES) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=max_entries)
        self._count = 0
        self._lock = threading.Lock()
        self._start = time.monotonic()

    def add(self, client: str, method: str, path: str, status: int, agent: str) -> None:
        with self._lock:
            self._entries.append(LogEntry(self._count, round(time.monotonic() - self._start, 4), client,
                                          _clip(method, MAX_LOGGED_METHOD), _clip(path, MAX_PATH), status,
                                          logged_agent(agent)))
            self._count += 1

    def entries(self, agent: str | None = None) -> list[LogEntry]:
        """All entries kept, or only those whose User-Agent is ``agent``."""
        with self._lock:
            entries = list(self._entries)
        return entries if agent is None else [e for e in entries if e.agent == logged_agent(agent)]

    def __len__(self) -> int:
        with self._lock:
            return self._count

    def __iter__(self):
        return iter(self.entries())

    def __getitem__(self, i):
        return self.entries()[i]

    def records(self, agent: str | None = None) -> list[dict]:
        """The entries as dicts (column name -> value)."""
        return [asdict(e) for e in self.entries(agent)]

    def agents(self) -> list[str]:
        """User agents seen, in order of first appearance."""
        return list(dict.fromkeys(e.agent for e in self.entries()))

    def status_counts(self, agent: str | None = None) -> dict[int, int]:
        """How many responses of each HTTP status (sorted by status)."""
        return dict(sorted(Counter(e.status for e in self.entries(agent)).items()))

    def table(self, agent: str | None = None, *, head: int = 10, tail: int = 0) -> str:
        """The first ``head`` (and last ``tail``) entries as text: order, method, path, status, agent."""
        entries = self.entries(agent)
        if len(entries) <= head + tail:
            shown = entries
        else:
            shown = entries[:head] + [None] + (entries[-tail:] if tail else [])
        lines = [f"{'#':>5}  {'method':<6} {'path':<44} {'status':>6}  user agent"]
        for e in shown:
            if e is None:
                lines.append(f"{'...':>5}  ({len(entries) - head - tail} more)")
            else:
                lines.append(f"{e.number:>5}  {e.method:<6} {_clip(e.path, 44):<44} {e.status:>6}  "
                             f"{_clip(e.agent, 48)}")
        return "\n".join(lines)

    def clear(self) -> None:
        """Forget every entry; numbering starts again from 0."""
        with self._lock:
            self._entries.clear()
            self._count = 0


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def logged_agent(agent: str) -> str:
    """A User-Agent as the log and the rate limit keep it: at most ``MAX_LOGGED_AGENT`` characters."""
    return _clip(agent, MAX_LOGGED_AGENT)


# ----------------------------------------------------------------------------- the server

_SLUG = r"[a-z]+-[a-z]+"
_ROUTES = [
    ("index", re.compile(r"/")),
    ("robots", re.compile(r"/robots\.txt")),
    ("terms", re.compile(r"/terms")),
    ("login", re.compile(r"/login")),
    ("profile", re.compile(rf"/people/({_SLUG})")),
    ("album", re.compile(rf"/albums/({_SLUG})")),
    ("portrait", re.compile(rf"/photos/({_SLUG})/(\d{{1,3}})\.jpg")),
    ("post_photo", re.compile(r"/photos/posts/(\d{1,6})\.jpg")),
]


class _Handler(BaseHTTPRequestHandler):
    server_version = f"{SITE_NAME}/1.0"
    sys_version = ""
    protocol_version = "HTTP/1.0"  # one request per connection: simple and robust
    default_request_version = "HTTP/1.0"  # answer even a garbled request line with a status line
    timeout = IDLE_TIMEOUT  # per read or write; the request as a whole has REQUEST_DEADLINE
    site: "SocialNetwork"  # set on the subclass made by SocialNetwork

    # --- http.server hooks

    def setup(self):
        """Read the request through a reader that enforces ``REQUEST_DEADLINE`` on the whole request."""
        super().setup()
        self.rfile.close()  # the plain reader http.server made; closing it lets the socket close later
        self.rfile = io.BufferedReader(_RequestReader(self.connection, time.monotonic() + REQUEST_DEADLINE))

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        """Silence http.server's stderr logging; the site keeps its own access log."""

    def log_request(self, code="-", size="-"):
        """Record every response in the site's log (malformed requests included)."""
        status = getattr(code, "value", code)
        self.site.log.add(self.client_address[0], getattr(self, "command", None) or "-",
                          getattr(self, "path", None) or "-", int(status) if str(status).isdigit() else 0,
                          self.headers.get("User-Agent", "-") if getattr(self, "headers", None) else "-")

    def __getattr__(self, name):
        if name.startswith("do_"):  # any other method: 405, not http.server's 501
            return self._method_not_allowed
        raise AttributeError(name)

    def do_GET(self):
        self._serve(body=True)

    def do_HEAD(self):
        self._serve(body=False)

    def _method_not_allowed(self):
        self._send(405, "text/plain; charset=utf-8", b"Method not allowed: this site only answers GET and HEAD.\n",
                   extra={"Allow": "GET, HEAD"})

    # --- routing

    def _serve(self, body: bool) -> None:
        self._body = body
        try:
            split = urllib.parse.urlsplit(self.path)
            path = urllib.parse.unquote(split.path)
            if not _safe_path(self.path, path):
                return self._text(400, "Bad request: this path is not allowed.\n")
            limited = self.site._rate_check(self.client_address[0], self.headers.get("User-Agent", "-"))
            if limited:
                return self._send(429, "text/plain; charset=utf-8",
                                  f"Too many requests: slow down and retry after {limited} s.\n".encode(),
                                  extra={"Retry-After": str(limited)})
            for name, pattern in _ROUTES:
                match = pattern.fullmatch(path)
                if match:
                    return getattr(self, f"_page_{name}")(*match.groups(), query=split.query)
            return self._text(404, "Not found.\n")
        except Exception:  # never let one bad request take the server down
            return self._text(500, "Internal error.\n")

    def _page_index(self, query: str):
        params = urllib.parse.parse_qs(query)
        page_text = params.get("page", ["1"])[0]
        people = self.site.people
        n_pages = max(1, -(-len(people) // PER_PAGE))
        if not page_text.isdigit() or not 1 <= int(page_text) <= n_pages:
            return self._text(404, f"No such page: there are {n_pages}.\n")
        page = int(page_text)
        items = []
        for p in people[(page - 1) * PER_PAGE: page * PER_PAGE]:
            note = " <small>(private)</small>" if p.visibility == "private" else ""
            items.append(f'<li><a class="member" href="{p.path}">{html.escape(p.name)}</a>{note}</li>')
        nav = []
        if page > 1:
            nav.append(f'<a rel="prev" href="{"/" if page == 2 else f"/?page={page - 1}"}">Previous</a>')
        if page < n_pages:
            nav.append(f'<a rel="next" href="/?page={page + 1}">Next</a>')
        self._html(200, f"Members, page {page} of {n_pages}",
                   f'<h1>{SITE_NAME} members</h1>\n<ul class="members">\n' + "\n".join(items)
                   + "\n</ul>\n<nav>" + " ".join(nav) + '</nav>\n<p><a href="/terms">Terms of Service</a></p>')

    def _page_robots(self, query: str):
        self._send(200, "text/plain; charset=utf-8", ROBOTS_TXT.encode())

    def _page_terms(self, query: str):
        self._html(200, "Terms of Service", TERMS_HTML)

    def _page_login(self, query: str):
        self._html(200, "Log in", "<h1>Log in</h1><p>Members only. (The lab has no accounts: private "
                                  "profiles stay private.)</p>")

    def _person(self, slug: str) -> Person | None:
        person = self.site.person(slug)
        if person is None:
            self._text(404, "No such member.\n")
        elif person.visibility == "private":
            self._html(403, "Private profile", "<h1>This profile is private</h1><p>Only friends of this member "
                                               'can see it. <a href="/login">Log in</a></p>')
            return None
        return person

    def _page_profile(self, slug: str, query: str):
        person = self._person(slug)
        if person is None:
            return
        site = self.site
        friends = "\n".join(f'<li><a href="{site.people[j].path}">{html.escape(site.people[j].name)}</a></li>'
                            for j in person.friends)
        post = site.posts[person.index]
        seeds = " ".join(str(site.people[j].identity_seed) for j in post.people)
        views = " ".join(str(v) for v in post.view_seeds)
        body = (f'<h1 class="name">{html.escape(person.name)}</h1>\n<p class="town">Lives in {person.town}</p>\n'
                + _img_tag(person, 0, "profile-photo")
                + f'\n<p><a class="album" href="/albums/{person.slug}">All photos ({ALBUM_SIZE})</a></p>\n'
                + f'<h2>Friends</h2>\n<ul class="friends">\n{friends}\n</ul>\n<h2>Posts</h2>\n'
                + f'<article class="post" id="post-{post.number}"><p>{html.escape(post.caption)}</p>\n'
                + f'<img class="group-photo" src="{post.photo_path}" width="{PHOTO_SIZE * len(post.people)}" '
                + f'height="{PHOTO_SIZE}" alt="Group photo" data-identity-seeds="{seeds}" data-view-seeds="{views}">'
                + "</article>")
        self._html(200, person.name, body, opted_out=person.visibility == "opted_out")

    def _page_album(self, slug: str, query: str):
        person = self._person(slug)
        if person is None:
            return
        tiles = "\n".join(_img_tag(person, k, "album-photo") for k in range(ALBUM_SIZE))
        self._html(200, f"Photos of {person.name}", f"<h1>Photos of {html.escape(person.name)}</h1>\n{tiles}",
                   opted_out=person.visibility == "opted_out")

    def _page_portrait(self, slug: str, k: str, query: str):
        person = self._person(slug)
        if person is None:
            return
        if int(k) >= ALBUM_SIZE:
            return self._text(404, "No such photo.\n")
        data = photo_bytes(person.identity_seed, person.photo_view_seeds[int(k)])
        extra = {"X-Robots-Tag": OPT_OUT_MARKERS} if person.visibility == "opted_out" else {}
        self._send(200, "image/jpeg", data, extra=extra)

    def _page_post_photo(self, number: str, query: str):
        number = int(number)
        posts = self.site.posts
        if number >= len(posts):
            return self._text(404, "No such post.\n")
        post = posts[number]
        author = self.site.people[post.author]
        if author.visibility == "private":
            return self._html(403, "Private post", "<h1>This post is private</h1>")
        seeds = tuple(self.site.people[j].identity_seed for j in post.people)
        extra = {"X-Robots-Tag": OPT_OUT_MARKERS} if author.visibility == "opted_out" else {}
        self._send(200, "image/jpeg", group_photo_bytes(seeds, post.view_seeds), extra=extra)

    # --- responses

    def _html(self, status: int, title: str, body: str, *, opted_out: bool = False) -> None:
        meta = f'<meta name="robots" content="{OPT_OUT_MARKERS}">\n' if opted_out else ""
        page = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n{meta}'
                f"<title>{html.escape(title)} · {SITE_NAME}</title></head>\n"
                f'<body data-synthetic="true" data-generator="course.faces" '
                f'data-generator-version="{faces.GENERATOR_VERSION}">\n{body}\n</body></html>\n')
        self._send(status, "text/html; charset=utf-8", page.encode(),
                   extra={"X-Robots-Tag": OPT_OUT_MARKERS} if opted_out else None)

    def _text(self, status: int, text: str) -> None:
        self._send(status, "text/plain; charset=utf-8", text.encode())

    def _send(self, status: int, content_type: str, data: bytes, *, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if getattr(self, "_body", True):
            self.wfile.write(data)


def _img_tag(person: Person, k: int, css: str) -> str:
    return (f'<img class="{css}" src="/photos/{person.slug}/{k}.jpg" width="{PHOTO_SIZE}" height="{PHOTO_SIZE}" '
            f'alt="Photo of {html.escape(person.name)}" data-identity-seed="{person.identity_seed}" '
            f'data-view-seed="{person.photo_view_seeds[k]}">')


def _safe_path(raw: str, path: str) -> bool:
    """False for anything that looks like path traversal or smuggling: .., backslashes, control chars."""
    if not raw.startswith("/") or len(raw) > MAX_PATH:
        return False
    if "\\" in path or any(ord(c) < 32 or ord(c) == 127 for c in path):
        return False
    return not any(segment in ("..", ".") for segment in path.split("/"))


class _RequestReader(io.RawIOBase):
    """A connection's incoming bytes, with one deadline for the whole request, not for each read.

    A socket timeout restarts at every byte, so a client sending one byte every few
    seconds would hold its thread for ever; here each read may wait only for what is
    left of the deadline, then ``TimeoutError`` (which ``http.server`` answers by closing)."""

    def __init__(self, connection: socket.socket, deadline: float) -> None:
        super().__init__()
        self._connection = connection
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the request did not arrive within {REQUEST_DEADLINE} s")
        self._connection.settimeout(min(left, IDLE_TIMEOUT))
        try:
            return self._connection.recv_into(buffer)
        finally:
            self._connection.settimeout(IDLE_TIMEOUT)  # the response's writes get the ordinary timeout


_BUSY = (f"HTTP/1.0 503 Service Unavailable\r\nServer: {SITE_NAME}/1.0\r\nRetry-After: {RETRY_AFTER}\r\n"
         "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
         "Too many connections at once: retry in a moment.\n").encode()


class _Server(ThreadingHTTPServer):
    """http.server's threading server with at most ``MAX_CONNECTIONS`` handler threads at once."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # listen backlog: a burst waits here to be served or refused, not in SYN retries

    def __init__(self, *args, **kwargs) -> None:
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        """Serve in a new thread if a slot is free; otherwise answer 503 from this (accepting) thread and close."""
        if not self._slots.acquire(blocking=False):
            self._refuse(request, client_address)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()  # the thread never started
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request, client_address) -> None:
        """Answer 503 with Retry-After, close, and log it (method and path "-": the request was never read)."""
        try:
            request.settimeout(0.1)  # a fresh connection's send buffer is empty: this does not wait
            request.sendall(_BUSY)
        except OSError:
            pass
        finally:
            self.shutdown_request(request)
        self.RequestHandlerClass.site.log.add(client_address[0], "-", "-", 503, "-")

    def handle_error(self, request, client_address):
        """Silence tracebacks of dropped connections (a crawler hanging up is not our error)."""


class SocialNetwork:
    """The lab's social network, running on 127.0.0.1 at a free port while in a ``with`` block.

    Args:
        seed: draws the members, their names, friends, posts and every photo.
        n_people: members (40 gives four directory pages).
        rate_limit: requests per second one client may send before getting 429.
        retry_after: seconds a 429 asks the client to wait (its Retry-After header).
        time_limit: seconds after which the server stops by itself (None: never).
        opted_out_fraction, private_fraction: shares of members who opted out or are private.
    """

    def __init__(self, seed: int = 0, n_people: int = 40, *, rate_limit: int = RATE_LIMIT,
                 time_limit: float | None = DEFAULT_TIME_LIMIT, opted_out_fraction: float = 0.15,
                 private_fraction: float = 0.15, retry_after: int = RETRY_AFTER):
        self.seed = seed
        self.people, self.posts = make_people(seed, n_people, opted_out_fraction=opted_out_fraction,
                                              private_fraction=private_fraction)
        self._by_slug = {p.slug: p for p in self.people}
        self.rate_limit = rate_limit
        self.retry_after = retry_after
        self.time_limit = time_limit
        self.log = AccessLog()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._stop_lock = threading.Lock()
        self._recent: dict[tuple[str, str], deque] = {}
        self._blocked_until: dict[tuple[str, str], float] = {}
        self._last_prune = time.monotonic()

    # --- lifecycle

    def start(self) -> "SocialNetwork":
        """Start serving in a daemon thread; returns self."""
        with self._lock:
            if self._server is not None:
                return self
            handler = type("Handler", (_Handler,), {"site": self})
            self._server = _Server((HOST, 0), handler)
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                            name=f"{SITE_NAME}-server", daemon=True)
            self._thread.start()
            if self.time_limit is not None:
                self._timer = threading.Timer(self.time_limit, self.stop)
                self._timer.daemon = True
                self._timer.start()
            atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop serving and free the port (safe to call twice, from any thread)."""
        with self._stop_lock:  # one stop at a time; `running` turns False only once the port is closed
            server = self._server
            timer, self._timer = self._timer, None
            if timer is not None and timer is not threading.current_thread():
                timer.cancel()
            if server is not None:
                server.shutdown()
                server.server_close()
            self._server = None
        atexit.unregister(self.stop)

    def __enter__(self) -> "SocialNetwork":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the server listens on."""
        if self._server is None:
            raise RuntimeError("the site is not running (stopped, or past its time limit): site.start() starts it again, "
                               "with its log kept; or use `with SocialNetwork(...) as site:`")
        return self._server.server_address[:2]

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (the port changes every run: don't print it)."""
        host, port = self.address
        return f"http://{host}:{port}"

    # --- the site's data

    def person(self, slug: str) -> Person | None:
        return self._by_slug.get(slug)

    def members(self, visibility: str) -> list[Person]:
        """Members with this visibility ("public", "opted_out" or "private")."""
        if visibility not in VISIBILITIES:
            raise ValueError(f"visibility must be one of {VISIBILITIES}")
        return [p for p in self.people if p.visibility == visibility]

    def new_photo(self, slug: str, k: int = 0) -> tuple[np.ndarray, dict]:
        """A NEW photo of a member, never posted on the site (a different view seed), with provenance.

        This is the "probe" of a face search: say, a photo taken in the street."""
        person = self._by_slug[slug]
        view_seed = _seed(self.seed, 3, person.index, k)
        image, nuisance = faces.render_face(faces.identity_parameters(person.identity_seed), view_seed=view_seed,
                                            size=PHOTO_SIZE, max_yaw=MAX_YAW)
        record = {"source": "synthetic", "generator": "course.faces", "generator_version": faces.GENERATOR_VERSION,
                  "identity_seed": person.identity_seed, "view_seed": view_seed,
                  "note": f"a new photo of a {SITE_NAME} member, rendered locally (not from the site)", **nuisance}
        return image, record

    # --- rate limiting

    def _rate_check(self, client: str, agent: str) -> int:
        """0 if the request may proceed, else the seconds the client must wait (Retry-After)."""
        key = (client, logged_agent(agent))
        now = time.monotonic()
        with self._lock:
            if now - self._last_prune >= RATE_WINDOW:
                self._prune_rate_table(now)
            until = self._blocked_until.get(key, 0.0)
            if now < until:
                return max(1, int(-(-(until - now) // 1)))
            window = self._recent.setdefault(key, deque())
            while window and now - window[0] >= RATE_WINDOW:
                window.popleft()
            if len(window) >= self.rate_limit:
                self._blocked_until[key] = now + self.retry_after
                window.clear()
                return self.retry_after
            window.append(now)
            return 0

    def _prune_rate_table(self, now: float) -> None:
        """Forget clients with no request in the last window and no block running (at most once a window)."""
        for key in [key for key, window in self._recent.items()
                    if (not window or now - window[-1] >= RATE_WINDOW) and self._blocked_until.get(key, 0.0) <= now]:
            del self._recent[key]
            self._blocked_until.pop(key, None)
        self._last_prune = now
