"""The course website (Jupyter Book v1, built by ``course.launch.build_site``) from the committed notebooks.

One build per test session (``built_site``, also used by tests/test_browser.py), into a temporary
folder. Checks: a page per lesson and per document, each lesson's figures present as real images
with the notebook's alt text, no broken internal link or anchor, launch buttons on lesson pages, and
nothing executed.
"""

from __future__ import annotations

import atexit
import base64
import fcntl
import functools
import json
import os
import shutil
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from figures import FILE_NAME, figure_alt_texts, figure_notebook

from course import launch
from course.student import BEGIN

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def built_site() -> tuple[Path, float]:
    """Build the site once per test run into a temporary folder: (html folder, build seconds).

    When pytest-xdist runs the suite on several workers, the first worker that needs the site builds it
    into a folder named after the run (``PYTEST_XDIST_TESTRUNUID``) while holding a lock, and the others wait
    for it and read the same pages, so the site is built once per run, not once per worker."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run is None:
        out = Path(tempfile.mkdtemp(prefix="course-site-"))
        atexit.register(shutil.rmtree, out, ignore_errors=True)
        return _build(out)
    shared = Path(tempfile.gettempdir()) / f"course-site-{run}"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = shared / "built.json"
        if done.exists():
            record = json.loads(done.read_text())
            return Path(record["html"]), record["seconds"]
        html, seconds = _build(shared / "out")
        done.write_text(json.dumps({"html": str(html), "seconds": seconds}))
        return html, seconds


def _build(out: Path) -> tuple[Path, float]:
    start = time.perf_counter()
    html = launch.build_site(out)
    seconds = time.perf_counter() - start
    print(f"\nsite built in {seconds:.1f} s")
    return html, seconds


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site()[0]


class Page(HTMLParser):
    """The links, anchors and images of one HTML page, and whether each image sits in a cell output."""

    def __init__(self, path: Path):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.images: list[tuple[str, bool, str | None]] = []  # (src, inside a notebook cell's output, alt)
        self._stack: list[bool] = []  # for each open div: is it (inside) an output area?
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "div":
            inside = bool(self._stack and self._stack[-1]) or "cell_output" in (attrs.get("class") or "")
            self._stack.append(inside)
        elif tag in ("a", "link") and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag in ("img", "script") and attrs.get("src"):
            self.links.append(attrs["src"])
            if tag == "img":
                self.images.append((attrs["src"], bool(self._stack and self._stack[-1]), attrs.get("alt")))

    def handle_endtag(self, tag):
        if tag == "div" and self._stack:
            self._stack.pop()


def expected_pages() -> list[str]:
    """Site paths (without .html) that must exist: the README and every page the toc lists."""
    toc = launch.site_toc()
    return ["README"] + [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]


def image_outputs(notebook: Path) -> int:
    """How many images a notebook's committed outputs hold (in cells the site shows)."""
    return len(figure_alt_texts(json.loads(notebook.read_text())))


def test_toc_is_generated_from_the_files():
    pages = expected_pages()
    lessons = [f"notebooks/{path.stem}" for path in sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))]
    assert lessons and [page for page in pages if page.startswith("notebooks/")] == lessons
    assert "site/launch" in pages
    if (ROOT / "docs" / "instructor_guide.md").exists():
        assert "docs/instructor_guide" in pages


def test_config_never_executes_and_has_launch_buttons():
    config = yaml.safe_load((ROOT / "site" / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    buttons = config["launch_buttons"]
    assert buttons["binderhub_url"] and buttons["colab_url"] and buttons["jupyterhub_url"]
    assert "url" not in config["repository"] and "branch" not in config["repository"], (
        "the repository address and release tag are set at build time from course.launch (one setting)")


def test_site_names_its_version_and_its_repository(site):
    home = (site / "README.html").read_text()
    assert f"Faces at Scale, version {launch.COURSE_TAG.removeprefix('v')} ({launch.COURSE_TAG})" in home
    assert f'href="{launch.REPOSITORY}"' in home


def test_every_page_exists(site):
    missing = [page for page in expected_pages() if not (site / f"{page}.html").is_file()]
    assert not missing, f"pages not built: {missing}"
    assert (site / "index.html").is_file()


@pytest.mark.parametrize("notebook", launch.lesson_notebooks(), ids=lambda path: path.stem)
def test_lesson_page_has_its_figures(site, notebook):
    page_path = site / "notebooks" / f"{notebook.stem}.html"
    page = Page(page_path)
    figures = [src for src, in_output, _alt in page.images if in_output]
    expected = image_outputs(notebook)
    assert len(figures) >= expected, (
        f"{notebook.name} has {expected} images in its outputs, its page shows {len(figures)}"
    )
    for src in figures:
        if src.startswith("data:"):
            assert len(base64.b64decode(src.split(",", 1)[1])) > 100, f"empty embedded image in {page_path.name}"
        else:
            file = (page_path.parent / unquote(urlsplit(src).path)).resolve()
            assert file.is_file() and file.stat().st_size > 100, f"{page_path.name}: image {src} missing or empty"


@pytest.mark.parametrize("notebook", launch.lesson_notebooks(), ids=lambda path: path.stem)
def test_lesson_page_has_launch_buttons(site, notebook):
    html = (site / "notebooks" / f"{notebook.stem}.html").read_text()
    path, repo = f"notebooks/{notebook.name}", launch.REPOSITORY.removeprefix("https://github.com/")
    assert f"mybinder.org/v2/gh/{repo}/{launch.COURSE_TAG}?urlpath=lab/tree/{path}" in html
    assert f"colab.research.google.com/github/{repo}/blob/{launch.COURSE_TAG}/{path}" in html
    assert "/hub/user-redirect/git-pull?repo=" in html
    assert f"urlpath=lab/tree/{repo.split('/')[1]}/{path}" in html


def alt_text_problems(page_path: Path, notebook: dict | None) -> list[str]:
    """What is wrong with the alt text of a page's images: a figure whose alt differs from the notebook's
    alt text (``course.plots.show``'s), or any image whose alt is missing or a file name."""
    page = Page(page_path)
    problems = [f"image {src[:60]}: alt {alt!r}" for src, _inside, alt in page.images
                if not alt or FILE_NAME.search(alt)]
    if notebook is not None:
        shown = [alt for _src, inside, alt in page.images if inside]
        expected = figure_alt_texts(notebook)
        if shown != expected:
            problems.append(f"the figures' alt texts are {shown}, the notebook's are {expected}")
    return problems


@pytest.mark.parametrize("notebook", launch.lesson_notebooks(), ids=lambda path: path.stem)
def test_lesson_figures_carry_the_notebooks_alt_text(site, notebook):
    problems = alt_text_problems(site / "notebooks" / f"{notebook.stem}.html", json.loads(notebook.read_text()))
    assert not problems, f"{notebook.name}:\n" + "\n".join(problems)


def test_images_on_the_other_pages_have_alt_text(site):
    pages = [path for path in site.rglob("*.html") if not {"_static", "_sources", "notebooks"} & set(path.parts)]
    problems = [f"{path.relative_to(site)}: {problem}" for path in pages for problem in alt_text_problems(path, None)]
    assert not problems, "\n".join(problems)


class CodeCells(HTMLParser):
    """The code (input) of each notebook cell on a page, and whether it sits in a closed <details> toggle."""

    def __init__(self, path: Path):
        super().__init__()
        self.cells: list[tuple[str, bool]] = []  # (code text, collapsed)
        self._divs: list[bool] = []  # for each open div: is it a cell's input?
        self._details: list[bool] = []  # for each open details: is it closed?
        self._text: list[str] | None = None
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "details":
            self._details.append("open" not in attrs)
        elif tag == "div":
            is_input = "cell_input" in (attrs.get("class") or "").split()
            self._divs.append(is_input)
            if is_input:
                self._text, self._collapsed = [], any(self._details)

    def handle_endtag(self, tag):
        if tag == "details" and self._details:
            self._details.pop()
        elif tag == "div" and self._divs and self._divs.pop():
            self.cells.append(("".join(self._text), self._collapsed))
            self._text = None

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


@pytest.mark.parametrize("notebook", launch.lesson_notebooks(), ids=lambda path: path.stem)
def test_solutions_are_collapsed_behind_a_toggle(site, notebook):
    solutions = [cell for cell in json.loads(notebook.read_text())["cells"]
                 if cell["cell_type"] == "code" and BEGIN in "".join(cell["source"])]
    cells = CodeCells(site / "notebooks" / f"{notebook.stem}.html").cells
    shown = [code for code, collapsed in cells if BEGIN in code]
    assert len(shown) == len(solutions) >= 1, f"{notebook.name}: {len(solutions)} solutions, page shows {len(shown)}"
    inline = [code[:80] for code, collapsed in cells if BEGIN in code and not collapsed]
    assert not inline, f"{notebook.name}: solutions shown inline, not behind a toggle: {inline}"
    assert any(not collapsed for _, collapsed in cells), "every cell is collapsed, not only the solutions"


def test_no_broken_internal_links(site):
    """Every relative (or site-absolute) href/src resolves to a built file, and every #anchor exists."""
    pages: dict[Path, Page] = {}

    def parsed(path: Path) -> Page:
        if path not in pages:
            pages[path] = Page(path)
        return pages[path]

    broken = []
    for html in sorted(site.rglob("*.html")):
        if "_static" in html.parts or "_sources" in html.parts:
            continue
        for link in parsed(html).links:
            parts = urlsplit(link)
            if parts.scheme or link.startswith("//") or link.startswith("data:"):
                continue  # external: not checked offline
            if link.startswith("/"):
                broken.append(f"{html.relative_to(site)}: {link} (site-absolute: breaks when the site is not at /)")
                continue
            target = (html.parent / unquote(parts.path)).resolve() if parts.path else html
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{html.relative_to(site)}: {link}")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in parsed(target).ids:
                broken.append(f"{html.relative_to(site)}: {link} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


def test_nothing_was_executed(site):
    """The build used the committed outputs: Jupyter Book's execution cache was never created."""
    out = site.parent
    assert not (out / "_build" / ".jupyter_cache").exists() and not (out / ".jupyter_cache").exists()
    assert "Executing" not in (out / "build.log").read_text()


def test_a_png_with_alt_metadata_but_no_html_gets_its_img_alt_on_the_site():
    """Outputs of an earlier show() (PNG + alt metadata, no text/html) still reach the page with their alt."""
    notebook = figure_notebook(["Two lines cross at the middle of the chart."])
    output = notebook["cells"][1]["outputs"][0]
    html = output["data"].pop("text/html")
    staged = launch.site_notebook(notebook)["cells"][1]["outputs"][0]
    assert staged["data"]["text/html"] == html
    bare = figure_notebook(["Two lines cross at the middle of the chart."])
    bare["cells"][1]["outputs"][0]["data"].pop("text/html")
    bare["cells"][1]["outputs"][0]["metadata"] = {}  # plt.show(): nothing to say, nothing invented
    assert "text/html" not in launch.site_notebook(bare)["cells"][1]["outputs"][0]["data"]
