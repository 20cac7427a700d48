"""One-page printable lesson summaries (course.summaries), made from the notebooks' own words."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from course.student import lesson_sources
from course.summaries import summarise, write_summaries

CHROMIUM = Path("/usr/bin/chromium")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts = []

        self.skip = False

    def handle_starttag(self, tag, attrs):
        self.skip = tag in ("style", "title")

    def handle_endtag(self, tag):
        self.skip = False

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def _text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(" ".join(parser.parts).split())


def _plain(markdown: str) -> str:
    """The words of a text, lower case, one space apart: link targets, markup and punctuation dropped."""
    markdown = re.sub(r"\]\([^)]*\)", " ", markdown)
    return " ".join(re.findall(r"\w+", markdown.casefold()))


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("summaries")
    return {path.stem: path for path in write_summaries(out)}


@pytest.mark.parametrize("notebook", lesson_sources(), ids=lambda p: p.stem)
def test_each_summary_carries_the_lessons_title_objectives_and_every_key_point(notebook, pages):
    text = _text(pages[notebook.stem].read_text())
    cells = json.loads(notebook.read_text())["cells"]
    intro = "".join(cells[0]["source"])
    assert _plain(re.match(r"# (.+)", intro).group(1)) in _plain(text)
    key_points = re.search(r"^## Key points\n(.*?)(?=^## |<details>|\Z)",
                           "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"),
                           re.M | re.S).group(1)
    bullets = [b for b in re.split(r"^\* ", key_points, flags=re.M) if b.strip()]
    assert bullets
    for bullet in bullets:
        words = _plain(bullet)
        assert words[:80] in _plain(text), f"key point missing from the summary: {words[:80]!r}"
    for objective in re.findall(r"^\d+\. (.+)$", intro.split("**Learning objectives.**")[1].split("\n\n")[0], re.M):
        assert _plain(objective)[:50] in _plain(text)


def test_the_index_links_every_lesson(pages):
    index = pages["index"].read_text()
    for notebook in lesson_sources():
        assert f'href="{notebook.stem}.html"' in index


def test_a_notebook_without_key_points_gets_an_error_that_names_what_is_missing(tmp_path):
    lesson = json.loads(lesson_sources()[0].read_text())
    lesson["cells"] = [c for c in lesson["cells"] if "## Key points" not in "".join(c["source"])]
    broken = tmp_path / "09_broken.ipynb"
    broken.write_text(json.dumps(lesson))
    with pytest.raises(ValueError, match=r"09_broken.ipynb: no '## Key points' section"):
        summarise(broken)
    lesson["cells"][0]["source"] = "# 09 · A title only\n"
    broken.write_text(json.dumps(lesson))
    with pytest.raises(ValueError, match=r"no '\*\*Why it matters\.\*\*'"):
        summarise(broken)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium (CI installs it)")
def test_every_summary_prints_on_one_a4_page(pages):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            counts = {}
            for name, path in pages.items():
                if name == "index":
                    continue
                page.goto(path.as_uri())
                pdf = page.pdf(format="A4", prefer_css_page_size=True)
                counts[name] = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        finally:
            browser.close()
    assert counts and all(n == 1 for n in counts.values()), counts
