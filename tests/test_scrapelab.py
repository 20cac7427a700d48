"""The scrape lab's web server: loopback only, robots.txt, rate limiting, opt-outs, robustness, bounded resources, the log."""

from __future__ import annotations

import select
import socket
import threading
import time
import urllib.error
import urllib.request
import urllib.robotparser

import pytest

from course import crawl, scrapelab
from course.provenance import require_provenance

AGENT = "TestAgent/1.0 (tests)"


@pytest.fixture(scope="module")
def site():
    with scrapelab.SocialNetwork(seed=11, n_people=20, time_limit=120) as s:
        yield s


def get(site, path, agent=AGENT, method="GET"):
    request = urllib.request.Request(site.url + path, headers={"User-Agent": agent}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), err.read()


def raw(site, data: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, return the whole answer (the server closes after one response)."""
    with socket.create_connection(site.address, timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        for _ in range(1000):  # bounded
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


# --------------------------------------------------------------------------- people and pages


def test_people_are_deterministic_invented_and_mixed():
    a, posts_a = scrapelab.make_people(3, 30)
    b, posts_b = scrapelab.make_people(3, 30)
    assert a == b and posts_a == posts_b
    assert len({p.name for p in a}) == 30 and len({p.slug for p in a}) == 30
    counts = {v: sum(p.visibility == v for p in a) for v in scrapelab.VISIBILITIES}
    assert counts == {"public": 22, "opted_out": 4, "private": 4}
    for post in posts_a:
        assert post.people[0] == post.author and 2 <= len(post.people) <= 3
        assert all(j in a[post.author].friends for j in post.people[1:])
    for p in a:  # friendship is mutual
        assert all(p.index in a[j].friends for j in p.friends)
    assert scrapelab.make_people(4, 30)[0] != a


def test_binds_loopback_only(site):
    host, port = site.address
    assert host == "127.0.0.1" and port > 0
    assert site._server.socket.getsockname()[0] == "127.0.0.1"
    # another interface of this machine, if it has one, must not reach the server
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outgoing interface
        other = probe.getsockname()[0]
    except OSError:
        other = None
    finally:
        probe.close()
    if other and not other.startswith("127."):
        with pytest.raises(OSError):
            socket.create_connection((other, port), timeout=2).close()


def test_index_paginates_and_links_every_member(site):
    seen, path = [], "/"
    for _ in range(10):  # bounded
        status, _, body = get(site, path)
        assert status == 200
        page = crawl.parse_page(body.decode())
        seen += [link["href"] for link in page.links if link.get("class") == "member"]
        nxt = [link["href"] for link in page.links if link.get("rel") == "next"]
        if not nxt:
            break
        path = nxt[0]
    assert seen == [p.path for p in site.people]
    assert get(site, "/?page=99")[0] == 404 and get(site, "/?page=abc")[0] == 404


def test_profile_has_name_photo_friends_and_group_photo_with_seeds(site):
    person = site.members("public")[0]
    status, headers, body = get(site, person.path)
    assert status == 200 and "X-Robots-Tag" not in headers
    page = crawl.parse_page(body.decode())
    assert page.name == person.name and page.meta_robots == ""
    assert page.friends == [site.people[j].path for j in person.friends]
    assert page.body["data-synthetic"] == "true" and page.body["data-generator"] == "course.faces"
    portrait, group = page.images
    assert int(portrait["data-identity-seed"]) == person.identity_seed
    post = site.posts[person.index]
    assert group["src"] == post.photo_path
    assert [int(s) for s in group["data-identity-seeds"].split()] == [site.people[j].identity_seed for j in post.people]


def test_served_photos_are_the_synthetic_people_they_claim(site):
    person = site.members("public")[1]
    page = crawl.parse_page(get(site, person.path)[2].decode())
    for img in page.images:
        status, headers, data = get(site, img["src"])
        assert status == 200 and headers["Content-Type"] == "image/jpeg"
        records = crawl.photo_records(img, img["src"], person.path, page.body)
        for record in records:
            require_provenance(record)  # the consent guard accepts them
        seeds = tuple(r["identity_seed"] for r in records)
        views = tuple(r["view_seed"] for r in records)
        expected = (scrapelab.photo_bytes(seeds[0], views[0]) if len(records) == 1
                    else scrapelab.group_photo_bytes(seeds, views))
        assert data == expected  # re-rendering from the seeds gives the same file


def test_new_photo_is_a_view_not_on_the_site(site):
    person = site.members("public")[0]
    image, record = site.new_photo(person.slug)
    assert image.shape == (scrapelab.PHOTO_SIZE, scrapelab.PHOTO_SIZE, 3)
    assert record["identity_seed"] == person.identity_seed
    assert record["view_seed"] not in person.photo_view_seeds
    require_provenance(record)


# --------------------------------------------------------------------------- rules: robots, terms, opt-outs


def test_robots_txt_gives_the_intended_rules(site):
    status, headers, body = get(site, "/robots.txt")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(body.decode().splitlines())
    person = site.people[0]
    for agent in ("CourseCrawler/1.0", "*", "Googlebot"):
        assert robots.can_fetch(agent, site.url + "/")
        assert robots.can_fetch(agent, site.url + person.path)
        assert robots.can_fetch(agent, site.url + f"/photos/{person.slug}/0.jpg")
        assert not robots.can_fetch(agent, site.url + f"/albums/{person.slug}")
        rate = robots.request_rate(agent)
        assert (rate.requests, rate.seconds) == scrapelab.REQUEST_RATE
    assert not robots.can_fetch("FaceHarvester/2.1", site.url + "/")
    assert not robots.can_fetch("FaceHarvester", site.url + person.path)


def test_terms_forbid_automated_collection_and_face_recognition(site):
    status, _, body = get(site, "/terms")
    text = body.decode().lower()
    assert status == 200 and "automated means" in text and "face recognition" in text


def test_private_profiles_are_behind_a_login_wall(site):
    person = site.members("private")[0]
    for path in (person.path, f"/albums/{person.slug}", f"/photos/{person.slug}/0.jpg",
                 site.posts[person.index].photo_path):
        status, _, body = get(site, path)
        assert status == 403, path
        assert b"\xff\xd8" not in body[:4]  # no JPEG leaks


def test_opted_out_profiles_are_marked_in_meta_and_headers(site):
    person = site.members("opted_out")[0]
    status, headers, body = get(site, person.path)
    assert status == 200
    assert "noai" in headers["X-Robots-Tag"] and "noindex" in headers["X-Robots-Tag"]
    page = crawl.parse_page(body.decode())
    assert "noindex" in page.meta_robots and "noai" in page.meta_robots
    photo = get(site, f"/photos/{person.slug}/0.jpg")
    assert photo[0] == 200 and "noai" in photo[1]["X-Robots-Tag"]
    assert "noai" in get(site, site.posts[person.index].photo_path)[1]["X-Robots-Tag"]


def test_rate_limit_answers_429_with_retry_after_then_recovers():
    with scrapelab.SocialNetwork(seed=1, n_people=5, rate_limit=5, time_limit=60) as s:
        statuses, retry = [], None
        for _ in range(12):  # a burst, bounded
            status, headers, _ = get(s, "/robots.txt", agent="Burst/1.0")
            statuses.append(status)
            if status == 429:
                retry = headers["Retry-After"]
        assert statuses[:5] == [200] * 5 and 429 in statuses
        assert retry is not None and retry.isdigit() and int(retry) >= 1
        assert get(s, "/robots.txt", agent="Other/1.0")[0] == 200  # limits are per client
        time.sleep(int(retry) + 0.1)
        assert get(s, "/robots.txt", agent="Burst/1.0")[0] == 200


# --------------------------------------------------------------------------- robustness


@pytest.mark.parametrize("path", [
    b"/photos/../../etc/passwd", b"/photos/%2e%2e/%2e%2e/etc/passwd", b"/people/..%2f..%2fetc%2fpasswd",
    b"/photos/x/..\\..\\boot.ini", b"/%00", b"/people/./x", b"http://example.org/",
])
def test_path_traversal_and_odd_paths_are_refused(site, path):
    answer = raw(site, b"GET " + path + b" HTTP/1.0\r\nUser-Agent: T\r\n\r\n")
    assert status_of(answer) in (400, 404)
    assert b"root:" not in answer


@pytest.mark.parametrize("request_bytes, expected", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.x\r\n\r\n", 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),  # a TLS hello sent to plain HTTP
    (b"GET /" + b"a" * 70000 + b" HTTP/1.0\r\n\r\n", 414),
    (b"BREW /coffee HTTP/1.0\r\n\r\n", 405),
    (b"POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n", 405),
])
def test_malformed_requests_get_4xx_and_the_server_keeps_serving(site, request_bytes, expected):
    assert status_of(raw(site, request_bytes)) == expected
    assert get(site, "/")[0] == 200


def test_unknown_paths_404_and_head_has_no_body(site):
    assert get(site, "/nothing-here")[0] == 404
    assert get(site, "/people/nobody-here")[0] == 404
    assert get(site, f"/photos/{site.members('public')[0].slug}/7.jpg")[0] == 404
    status, headers, body = get(site, "/", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0


def _seconds_until_dropped(address, *, byte_every: float, give_up: float) -> float:
    """Send a request one byte every ``byte_every`` s (a slowloris client); seconds until the server closes."""
    request = b"GET / HTTP/1.0\r\nUser-Agent: " + b"S" * 200
    start = time.monotonic()
    with socket.create_connection(address, timeout=2) as sock:
        for byte in request:  # bounded: the request, then give up
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            readable, _, _ = select.select([sock], [], [], byte_every)
            if readable:
                try:
                    if not sock.recv(1024):
                        break  # closed
                except OSError:
                    break  # reset
            if time.monotonic() - start > give_up:
                break
    return time.monotonic() - start


def test_a_slow_client_is_dropped_within_the_request_deadline(site):
    # One byte a second never trips a 5 s per-read timeout: only a deadline on the whole request ends it.
    held = _seconds_until_dropped(site.address, byte_every=1.0, give_up=scrapelab.REQUEST_DEADLINE + 4)
    assert scrapelab.REQUEST_DEADLINE - 0.5 < held < scrapelab.REQUEST_DEADLINE + 2
    assert get(site, "/")[0] == 200


def test_many_slow_clients_hold_at_most_max_connections_threads_and_the_rest_get_503():
    with scrapelab.SocialNetwork(seed=2, n_people=5, time_limit=60) as s:
        baseline = threading.active_count()
        slow = []
        try:
            for _ in range(3 * scrapelab.MAX_CONNECTIONS):
                sock = socket.create_connection(s.address, timeout=5)
                sock.sendall(b"G")  # a request that has barely begun
                slow.append(sock)
                time.sleep(0.01)  # one at a time, so each is accepted at once, however small the backlog
            for _ in range(80):  # at most 8 s for the server to take every connection (a thread, or a 503)
                handled = threading.active_count() - baseline + s.log.status_counts().get(503, 0)
                if handled >= len(slow):
                    break
                time.sleep(0.1)
            assert threading.active_count() <= baseline + scrapelab.MAX_CONNECTIONS
            refused = 0
            for sock in slow[scrapelab.MAX_CONNECTIONS:]:
                try:
                    answer = sock.recv(200)
                except OSError:  # closed before the client read the 503
                    answer = b""
                refused += answer.startswith(b"HTTP/1.0 503") or answer == b""
            assert refused == 2 * scrapelab.MAX_CONNECTIONS
            assert s.log.status_counts()[503] == 2 * scrapelab.MAX_CONNECTIONS
        finally:
            for sock in slow:
                sock.close()
        for _ in range(50):  # at most 5 s for the held threads to see their clients hang up
            if threading.active_count() <= baseline:
                break
            time.sleep(0.1)
        assert threading.active_count() <= baseline
        assert get(s, "/robots.txt")[0] == 200


def test_distinct_huge_user_agents_leave_a_bounded_log_and_rate_table():
    with scrapelab.SocialNetwork(seed=2, n_people=5, time_limit=60) as s:
        for n in range(300):  # each agent 60 kB, a new one every time (a rotating User-Agent)
            agent = f"{n:05d}" + "x" * 60_000
            assert get(s, "/robots.txt", agent=agent)[0] == 200  # rotating agents are never rate limited
        entries = s.log.entries()
        assert max(len(e.agent) for e in entries) == scrapelab.MAX_LOGGED_AGENT
        assert len(s.log.entries(agent)) == 1  # a long agent finds its own (shortened) entries
        assert len(s._recent) == 300
        time.sleep(scrapelab.RATE_WINDOW + 0.1)
        get(s, "/robots.txt", agent="After/1.0")  # the next request prunes clients silent for a window
        assert set(s._recent) == {("127.0.0.1", "After/1.0")} and not s._blocked_until


def test_the_access_log_keeps_the_newest_entries_and_counts_every_request():
    log = scrapelab.AccessLog(max_entries=10)
    for n in range(25):
        log.add("127.0.0.1", "GET", f"/{n}", 200, "A" * 1000)
    assert len(log) == 25  # the number the next entry gets: `since = len(log)` still means "from now on"
    assert [e.number for e in log.entries()] == list(range(15, 25))
    assert len(log.entries("A" * 1000)) == 10
    log.add("127.0.0.1", "X" * 70_000, "/" + "p" * 70_000, 400, "-")
    assert len(log[-1].method) <= scrapelab.MAX_LOGGED_METHOD and len(log[-1].path) <= scrapelab.MAX_PATH
    log.clear()
    assert len(log) == 0 and log.entries() == []


def test_a_client_that_hangs_up_does_not_hurt_the_server(site):
    sock = socket.create_connection(site.address, timeout=5)
    sock.sendall(b"GET / HT")
    sock.close()
    assert get(site, "/")[0] == 200


# --------------------------------------------------------------------------- the access log and lifecycle


def test_access_log_records_every_request():
    with scrapelab.SocialNetwork(seed=2, n_people=5, time_limit=60) as s:
        get(s, "/robots.txt", agent="LogTest/1.0")
        get(s, "/missing", agent="LogTest/1.0")
        raw(s, b"GARBAGE\r\n\r\n")
        entries = s.log.entries()
        assert [(e.path, e.status, e.agent) for e in entries[:2]] == [("/robots.txt", 200, "LogTest/1.0"),
                                                                      ("/missing", 404, "LogTest/1.0")]
        assert entries[2].status == 400 and entries[2].client == "127.0.0.1"
        assert [e.number for e in entries] == [0, 1, 2]
        assert entries[0].time <= entries[1].time <= entries[2].time
        assert s.log.records("LogTest/1.0")[1]["status"] == 404
        assert s.log.status_counts() == {200: 1, 400: 1, 404: 1}
        table = s.log.table()
        assert "/robots.txt" in table and str(s.address[1]) not in table  # no port in the table
        assert s.log.agents()[0] == "LogTest/1.0"


def test_with_block_stops_the_server():
    with scrapelab.SocialNetwork(seed=2, n_people=5) as s:
        address = s.address
        assert s.running
    assert not s.running
    with pytest.raises(OSError):
        socket.create_connection(address, timeout=2).close()
    s.stop()  # a second stop is harmless


def test_time_limit_stops_the_server_by_itself():
    s = scrapelab.SocialNetwork(seed=2, n_people=5, time_limit=0.3).start()
    address = s.address
    for _ in range(50):  # at most 5 s
        if not s.running:
            break
        time.sleep(0.1)
    assert not s.running
    with pytest.raises(OSError):
        socket.create_connection(address, timeout=2).close()


def test_a_stopped_site_says_how_to_restart_and_keeps_its_log_when_restarted():
    s = scrapelab.SocialNetwork(seed=2, n_people=5, time_limit=0.3).start()
    crawl.fetch(s.url + "/robots.txt", "RestartTest/1.0")
    for _ in range(50):  # at most 5 s
        if not s.running:
            break
        time.sleep(0.1)
    with pytest.raises(RuntimeError, match=r"site\.start\(\) starts it again"):
        s.address
    s.time_limit = 60
    with s:  # start() again
        assert crawl.fetch(s.url + "/robots.txt", "RestartTest/1.0").status == 200
        assert [e.path for e in s.log.entries("RestartTest/1.0")] == ["/robots.txt"] * 2
