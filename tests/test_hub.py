"""A class JupyterHub, for real: two students follow the README's nbgitpuller link and run lesson 00.

The hub is JupyterHub from PyPI (the dev group) with configurable-http-proxy from npm, installed on first
use into ``.cache/npm`` (git-ignored), on 127.0.0.1 only. It loads the course's hub settings from
``docs/jupyterhub_config.py`` (the file the instructor guide shows: memory guarantee and limit, JupyterLab
as the landing page) and adds only what a test needs: a shared-password authenticator (JupyterHub's
successor of DummyAuthenticator with a password), SimpleLocalProcessSpawner (one home folder per
student under a temporary folder, no system users), free ports and a temporary database.

The "GitHub repository" is a local git repository made from this checkout, whose ``learner`` branch is
published by ``course.edition.publish_learner_branch``, as a release publishes it; nbgitpuller clones it
through a file:// URL (no network). Each student, in their own browser context of Debian's chromium
(driven by the ``playwright`` package, never ``playwright install``), opens the README's link with the
hub's address and that URL put in, logs in, lands on lesson 00 of their own copy, writes the exercise
answers (the instructor edition's solutions, saved to their copy as JupyterLab would) and runs all
cells. Each student's server memory (the resident set of the server and its kernel) is sampled every
second while both lessons run.

Skips, with the reason, only without node/npm, without the npm registry, or without /usr/bin/chromium.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import psutil
import pytest
from lab_server import free_port, wait_until_up
from test_browser import ALL_RUN, CHROMIUM, KERNEL_IDLE, browser  # noqa: F401 (browser: the fixture)
from test_readme import copy_checkout

from course import edition

ROOT = Path(__file__).resolve().parents[1]
#: The course's hub settings: the instructor guide shows this file, and this test loads it.
HUB_CONFIG = ROOT / "docs" / "jupyterhub_config.py"
NPM_PREFIX = ROOT / ".cache" / "npm" / "configurable-http-proxy"  # its own prefix (tests/axe.py has another)
PROXY = NPM_PREFIX / "node_modules" / ".bin" / "configurable-http-proxy"
PROXY_PACKAGE = "configurable-http-proxy@5"
STUDENTS = ("ada", "grace")
LESSON = "00_start_here.ipynb"
#: npm's messages when the registry cannot be reached (as opposed to a broken package).
OFFLINE = re.compile(r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network", re.IGNORECASE)
#: Upper bounds for each wait (seconds) on a loaded 2-core machine.
HUB_START, LOGIN_TO_LESSON, RUN_ALL = 60, 120, 240

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not at /usr/bin/chromium (CI installs it: apt-get install chromium); "
    "this test never downloads a browser",
)


def proxy_command() -> Path:
    """configurable-http-proxy, installed from npm into .cache/npm on first use; skips without node or the registry."""
    if PROXY.exists():
        return PROXY
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for JupyterHub's proxy (CI installs them: apt-get install nodejs npm)")
    result = subprocess.run(["npm", "install", "--prefix", str(NPM_PREFIX), "--no-audit", "--no-fund",
                             PROXY_PACKAGE], capture_output=True, text=True, timeout=300)
    if result.returncode != 0 and OFFLINE.search(result.stderr):
        pytest.skip(f"the npm registry is not reachable, so {PROXY_PACKAGE} cannot be installed: "
                    + result.stderr.strip().splitlines()[-1])
    assert result.returncode == 0 and PROXY.exists(), f"npm install {PROXY_PACKAGE} failed:\n{result.stderr}"
    return PROXY


def readme_hub_link() -> str:
    """The students' nbgitpuller link, as the README gives it."""
    section = (ROOT / "README.md").read_text().split("## Other ways to run it", 1)[1].split("\n## ", 1)[0]
    return next(link for link in re.findall(r"`(https://[^`]+)`", section) if "git-pull?" in link)


def link_for(hub_url: str, repository: Path) -> str:
    """The README's link, with this hub's address and the local repository in place of HUB and GitHub."""
    link = readme_hub_link()
    parts = urlsplit(link)
    assert parts.netloc == "HUB", link
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert Path(urlsplit(query["repo"]).path).name == repository.name, "nbgitpuller names the folder after the repo"
    query["repo"] = repository.as_uri()
    return f"{hub_url}{parts.path}?{urlencode(query, quote_via=quote)}"


def learner_repository(folder: Path) -> Path:
    """A git repository of this checkout with its ``learner`` branch published as a release does."""
    copy_checkout(folder)

    def git(*args):
        subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)

    git("init", "--quiet", "--initial-branch", "main")
    git("config", "user.name", "Faces at Scale tests")
    git("config", "user.email", "tests@localhost")
    git("add", "--all")
    git("commit", "--quiet", "--message", "this checkout")
    edition.publish_learner_branch(root=folder)
    return folder


def hub_settings() -> dict:
    """The course's hub settings, read by the same loader JupyterHub uses."""
    from traitlets.config.loader import PyFileConfigLoader

    spawner = PyFileConfigLoader(HUB_CONFIG.name, str(HUB_CONFIG.parent)).load_config()["Spawner"]
    return {"mem_guarantee": spawner["mem_guarantee"], "mem_limit": spawner["mem_limit"],
            "default_url": spawner["default_url"]}


def as_bytes(size: str) -> int:
    """JupyterHub's memory notation ("1.5G", "512M") in bytes, as its ByteSpecification reads it."""
    from jupyterhub.traitlets import ByteSpecification

    return int(ByteSpecification().validate(None, size))


class Hub:
    def __init__(self, url: str, process: subprocess.Popen, homes: Path, repository: Path, log: Path):
        self.url, self.process, self.homes, self.repository, self.log = url, process, homes, repository, log

    def servers(self) -> dict[str, psutil.Process]:
        """Each student's running single-user server, by user name."""
        found = {}
        for child in psutil.Process(self.process.pid).children(recursive=True):
            try:
                if any("jupyterhub-singleuser" in part for part in child.cmdline()):
                    found[child.environ()["JUPYTERHUB_USER"]] = child
            except (psutil.NoSuchProcess, KeyError):
                continue
        return found


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and all its descendants (the server and its kernel), in bytes."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def stop(process: subprocess.Popen) -> None:
    """Stop the students' servers, their kernels and the proxy (killed: nothing of theirs is kept), then the hub."""
    try:
        tree = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    for member in tree:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass
    process.send_signal(signal.SIGTERM)  # the hub then notes its servers and proxy have stopped, and reaps them
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)
    for member in tree:  # none left running (a killed process may stay a zombie until its parent's parent reaps it)
        try:
            assert member.status() == psutil.STATUS_ZOMBIE, f"still running after the hub stopped: {member}"
        except psutil.NoSuchProcess:
            pass


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    proxy = proxy_command()
    base = tmp_path_factory.mktemp("hub")
    repository = learner_repository(base / Path(urlsplit(parse_qs(urlsplit(readme_hub_link()).query)["repo"][0]).path).name)
    homes = base / "home"
    for student in STUDENTS:
        # This server's JupyterLab settings only: render every cell (no windowing), so all outputs are
        # in the page; never fetch Jupyter's news (no network).
        for plugin, values in {"notebook-extension/tracker": {"windowingMode": "none"},
                               "apputils-extension/notification": {"fetchNews": "false"}}.items():
            settings = homes / student / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
            settings.parent.mkdir(parents=True, exist_ok=True)
            settings.write_text(json.dumps(values))
        # A students' image has the learner's packages only: nbgrader (the dev group's, for instructors) is
        # switched off here, as it would be absent there.
        jupyter = homes / student / ".jupyter"
        (jupyter / "labconfig").mkdir(parents=True, exist_ok=True)
        (jupyter / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {"@jupyter/nbgrader": True}}))
        extensions = ["formgrader", "validate_assignment", "assignment_list", "course_list"]
        (jupyter / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
            f"nbgrader.server_extensions.{name}": False for name in extensions}}}))
    port, hub_port, api_port = free_port(), free_port(), free_port()
    password = secrets.token_hex(12)
    server_args = ["--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        server_args.append("--allow-root")  # CI runs as root; Jupyter refuses root without it
    config = base / "jupyterhub_config.py"
    config.write_text(f"""\
load_subconfig({str(HUB_CONFIG)!r})  # the course's settings, as the instructor guide shows them
c = get_config()
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{str(proxy)!r}]
c.JupyterHub.db_url = "sqlite:///{base / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = {str(base / 'jupyterhub_cookie_secret')!r}
c.JupyterHub.pid_file = {str(base / 'jupyterhub.pid')!r}
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password!r}
c.Authenticator.allowed_users = {set(STUDENTS)!r}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(homes / '{username}')!r}
c.Spawner.cmd = [{str(Path(sys.executable).with_name('jupyterhub-singleuser'))!r}]
c.Spawner.args = {server_args!r}
c.Spawner.start_timeout = {LOGIN_TO_LESSON}
c.Spawner.http_timeout = {LOGIN_TO_LESSON}
""")
    log = base / "hub.log"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=base,
                                   stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/hub/health", process, HUB_START, log, "JupyterHub")
        yield Hub(url, process, homes, repository, log), password
    finally:
        stop(process)


def answer_the_exercises(notebook: Path) -> int:
    """Write the instructor edition's solution into each exercise stub of a learner's copy; return how many."""
    learner = json.loads(notebook.read_text())
    model = json.loads((ROOT / "notebooks" / notebook.name).read_text())
    learner_code = [cell for cell in learner["cells"] if cell["cell_type"] == "code"]
    model_code = [cell for cell in model["cells"] if cell["cell_type"] == "code"]
    assert len(learner_code) == len(model_code)
    answered = 0
    for mine, solution in zip(learner_code, model_code):
        if 'raise NotImplementedError("Exercise' in "".join(mine["source"]):
            mine["source"], answered = solution["source"], answered + 1
    notebook.write_text(json.dumps(learner, indent=1, ensure_ascii=False) + "\n")
    return answered


def answer_in_own_copy(hub: Hub, student: str) -> None:
    """Check that nbgitpuller made the student's own clone of the learner branch, then answer its exercises."""
    copy = hub.homes / student / hub.repository.name
    assert (copy / ".git").is_dir() and (copy / "my-course" / LESSON).is_file(), f"{student} got no copy"
    branch = subprocess.run(["git", "branch", "--show-current"], cwd=copy, capture_output=True, text=True)
    assert branch.stdout.strip() == edition.LEARNER_BRANCH
    assert answer_the_exercises(copy / "my-course" / LESSON) >= 1


def answering(hub: Hub, student: str, answered: dict):
    """A Playwright route handler: answer the student's copy, note the outcome (or the failure), let the page load."""

    def handle(route) -> None:
        try:
            answer_in_own_copy(hub, student)
            answered[student] = True
        except Exception as error:  # reported by the test after the page loads, not lost in the handler
            answered[student] = error
        finally:
            route.continue_()

    return handle


def committed_verdicts() -> list[tuple[str, int]]:
    """How many ✅ and ❌ the instructor edition of lesson 00 prints (its committed outputs, checked by nbval):
    the lesson also shows typical wrong answers being rejected."""
    notebook = json.loads((ROOT / "notebooks" / LESSON).read_text())
    text = json.dumps([cell.get("outputs", []) for cell in notebook["cells"]], ensure_ascii=False)
    return [(mark, text.count(mark)) for mark in ("✅", "❌")]


@needs_chromium
def test_two_students_follow_the_readme_link_and_run_lesson_00(hub, browser):
    hub, password = hub
    settings = hub_settings()
    start = time.perf_counter()
    link = link_for(hub.url, hub.repository)
    pages, answered = {}, {}
    lesson_url = re.compile(rf"/user/[a-z]+/lab/tree/{hub.repository.name}/my-course/{re.escape(LESSON)}")
    for student in STUDENTS:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(LOGIN_TO_LESSON * 1000)
        # nbgitpuller sends the browser on to the lesson once the pull is done; the student's answers are
        # saved into their copy before JupyterLab opens it (as if typed in an earlier session).
        page.route(lesson_url, answering(hub, student, answered), times=1)
        page.goto(link)  # not logged in yet: the hub asks who this is, then sends the student on
        page.fill("input[name=username]", student)
        page.fill("input[name=password]", password)
        page.click("[type=submit]")
        pages[student] = page
    for student, page in pages.items():
        page.wait_for_url(lesson_url)
        assert f"/user/{student}/" in page.url
        assert answered.get(student) is True, f"{student}: {answered.get(student, 'the lesson never opened')}"
    pulled = time.perf_counter() - start

    for page in pages.values():
        page.wait_for_function(KERNEL_IDLE, polling=500)
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()
    peak = dict.fromkeys(STUDENTS, 0)
    servers = hub.servers()
    assert set(servers) == set(STUDENTS), f"servers running: {sorted(servers)}"
    done, deadline = set(), time.monotonic() + RUN_ALL
    while len(done) < len(STUDENTS):
        for student, server in servers.items():
            peak[student] = max(peak[student], tree_rss(server))
        done |= {student for student, page in pages.items() if page.evaluate(ALL_RUN)}
        if time.monotonic() > deadline:
            pytest.fail(f"lesson 00 did not finish in {RUN_ALL} s for {sorted(set(STUDENTS) - done)}")
        time.sleep(1)
    seconds = time.perf_counter() - start

    for student, page in pages.items():
        errors = page.locator(".jp-NotebookPanel [data-mime-type='application/vnd.jupyter.error']").all_inner_texts()
        assert not errors, f"{student}: a cell raised:\n" + "\n".join(errors)
        text = "\n".join(page.locator(".jp-NotebookPanel .jp-OutputArea-output").all_inner_texts())
        assert "[ok] round trip" in text, f"{student}: the doctor's round trip did not pass"
        verdicts = [(mark, text.count(mark)) for mark in ("✅", "❌")]
        assert verdicts == committed_verdicts(), f"{student}: verdicts {verdicts}, the instructor edition's {committed_verdicts()}"
    limit = as_bytes(settings["mem_limit"])
    for student, server in servers.items():
        environment = server.environ()
        assert int(environment["MEM_LIMIT"]) == limit
        assert int(environment["MEM_GUARANTEE"]) == as_bytes(settings["mem_guarantee"])
    print(f"\nhub: {len(STUDENTS)} students logged in and pulled lesson 00 in {pulled:.1f} s; "
          f"both ran it in {seconds:.1f} s in all; peak server memory (server + kernel, resident): "
          + ", ".join(f"{student} {peak[student] / 2**20:.0f} MiB" for student in STUDENTS)
          + f" (limit {settings['mem_limit']})")
    for student in STUDENTS:
        assert peak[student] < limit, f"{student}'s server used {peak[student] / 2**30:.2f} GiB, over the limit"


def test_the_documents_give_the_hub_settings_this_test_uses():
    settings = hub_settings()
    guide = (ROOT / "docs" / "instructor_guide.md").read_text().split("## Running it on a class JupyterHub", 1)[1]
    guide = guide.split("\n## ", 1)[0]
    for line in HUB_CONFIG.read_text().splitlines():
        if line.startswith("c.Spawner."):
            assert line in guide, f"the instructor guide does not show {line!r} of {HUB_CONFIG.name}"
    readme = (ROOT / "README.md").read_text().split("## Other ways to run it", 1)[1].split("\n## ", 1)[0]
    for name, text in [("README.md", readme), ("site/launch.md", (ROOT / "site" / "launch.md").read_text()),
                       ("docs/instructor_guide.md", guide)]:
        text = " ".join(text.split())
        assert "docs/jupyterhub_config.py" in text, f"{name} does not point to the hub settings file"
        for key, z2jh in [("mem_guarantee", "guarantee"), ("mem_limit", "limit")]:
            assert f"singleuser.memory.{z2jh}: {settings[key]}" in text, f"{name}: {z2jh} is not {settings[key]}"
