"""A person's view: lesson 00 run in real JupyterLab in a real browser, and the rendered site's figures.

JupyterLab is started on 127.0.0.1 on a free port with a random token, serving a temporary folder
that holds a copy of lesson 00 (the repository's notebook is never modified). Debian's ``chromium``
is driven by the ``playwright`` package (which ships a driver, not browsers: this test never runs
``playwright install``). The test clicks Run > Run All Cells, waits for every cell to finish, and
checks the printed doctor line, an exercise check and the face grid. In the learner's edition of lesson
02 (made beside it by ``course.edition``), it follows the line under an exercise heading to the
instructor edition and finds the named section there. It then opens lesson 02 of the rendered site
(built by tests/test_site.py's ``built_site``) from disk and checks that its figures load.

Accessibility (WCAG 2.1 AA, with axe-core from npm: tests/axe.py): every page of the built site, and the
course's content in JupyterLab (lesson 00's cells and outputs after the run; figures made by
``course.plots.show`` in an untrusted notebook), have no violation; the threshold control is reached with
Tab, has an accessible name, and follows the arrow keys.

Screenshots go to ``test-artifacts/browser/`` (git-ignored). Without /usr/bin/chromium the test skips.
"""

from __future__ import annotations

import json
import re
import shutil

import nbformat
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from axe import axe_violations, summary
from figures import figure_notebook
from lab_server import jupyterlab

from course import edition
from course.widgets import THRESHOLD_LABEL

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
LESSON = ROOT / "notebooks" / "00_start_here.ipynb"
SITE_LESSON = "02_embeddings"
#: What lesson 00 must print when run top to bottom (the doctor's round trip, an exercise check).
EXPECTED_TEXT = ["[ok] round trip", "✅"]

#: A notebook beside lesson 00 with figures made by course.plots.show (committed outputs, so JupyterLab
#: renders them untrusted) and a cell that makes the threshold control.
FIGURES = "figures_and_threshold.ipynb"
FIGURE_ALTS = ["Two lines cross at the middle of the chart.", 'Recall "at 10" rises from <0.5 to 0.9 & stays.']
THRESHOLD_CELL = """import numpy as np
from course.widgets import threshold_explorer
rng = np.random.default_rng(0)
threshold_explorer(rng.normal(0.3, 0.05, 200), rng.normal(0.6, 0.05, 2000), initial=0.5)"""
#: What the course controls in JupyterLab: rendered markdown and cell outputs. axe checks only these;
#: JupyterLab's own interface (menus, side bars, cell editors, the heading-collapse button it adds to
#: each rendered heading) is recorded, not asserted (README, "Accessibility").
COURSE_CONTENT = {"include": [".jp-NotebookPanel .jp-MarkdownOutput", ".jp-NotebookPanel .jp-OutputArea-output"],
                  "exclude": [".jp-collapseHeadingButton"]}

#: Upper bounds for each wait (seconds): the slowest is running lesson 00 on a busy 2-core machine.
PAGE_LOAD, RUN_ALL = 90, 420

#: JavaScript: the kernel has started and is idle (the status bar reads "Python 3 (ipykernel) | Idle").
KERNEL_IDLE = """() => Array.from(document.querySelectorAll('.jp-StatusBar-Widget'))
    .some(widget => /\\(ipykernel\\) \\| Idle/.test(widget.textContent))"""
#: JavaScript: Run All has finished: a cell raised, or every code cell has its number and the kernel is idle.
ALL_RUN = """() => {
    const prompts = Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt'));
    const errors = document.querySelectorAll('.jp-NotebookPanel [data-mime-type="application/vnd.jupyter.error"]');
    return errors.length > 0 || (prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent))
        && (""" + KERNEL_IDLE + """)());
}"""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not at /usr/bin/chromium (CI installs it: apt-get install chromium); "
    "this test never downloads a browser",
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a copy of lesson 00 without its outputs: yields its base URL and token."""
    home = tmp_path_factory.mktemp("lab")
    (home / "work" / "notebooks").mkdir(parents=True)
    notebook = json.loads(LESSON.read_text())
    for cell in notebook["cells"]:  # start blank, so every output the test reads comes from this run
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    (home / "work" / "notebooks" / LESSON.name).write_text(json.dumps(notebook))
    shutil.copy(ROOT / "notebooks" / f"{SITE_LESSON}.ipynb", home / "work" / "notebooks")
    figures = figure_notebook(FIGURE_ALTS)
    figures.cells.append(nbformat.v4.new_code_cell(THRESHOLD_CELL))
    nbformat.write(figures, home / "work" / "notebooks" / FIGURES)
    edition.make_learner_edition(home / "work" / "my-course", [home / "work" / "notebooks" / f"{SITE_LESSON}.ipynb"])
    # Settings of this server only: render every cell (no windowing), so all outputs are in the page;
    # never fetch Jupyter's news (no network, and no pop-up over the screenshot).
    for plugin, values in {"notebook-extension/tracker": {"windowingMode": "none"},
                           "apputils-extension/notification": {"fetchNews": "false"}}.items():
        settings = home / "settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(values))
    with jupyterlab(["jupyter", "lab", f"--ServerApp.root_dir={home / 'work'}", "--LabApp.extension_manager=readonly"],
                    cwd=home / "work", home=home) as (url, token):
        yield url, token


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(PAGE_LOAD * 1000)
    yield page
    context.close()


def _loaded_images(page, selector: str) -> list[int]:
    """naturalWidth of every image matched by selector, once each has finished loading."""
    page.wait_for_function(
        f"Array.from(document.querySelectorAll({json.dumps(selector)})).every(img => img.complete)",
        timeout=PAGE_LOAD * 1000,
    )
    return page.eval_on_selector_all(selector, "imgs => imgs.map(img => img.naturalWidth)")


def test_lesson_00_runs_in_jupyterlab(lab, page):
    url, token = lab
    start = time.perf_counter()
    page.goto(f"{url}/lab/tree/notebooks/{LESSON.name}?token={token}&reset")
    # The kernel is ready when the status bar says so ("Python 3 (ipykernel) | Idle"); before the kernel
    # starts the notebook's own indicator already reads "idle", and Run All would ask for a kernel.
    page.wait_for_function(KERNEL_IDLE, timeout=PAGE_LOAD * 1000, polling=500)

    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first.click()

    code_cells = page.locator(".jp-NotebookPanel .jp-CodeCell")
    count = code_cells.count()
    assert count == sum(cell["cell_type"] == "code" for cell in json.loads(LESSON.read_text())["cells"])
    # Done when every code cell has an execution number (not "[*]" or "[ ]") and the kernel is idle.
    try:
        page.wait_for_function(ALL_RUN, timeout=RUN_ALL * 1000, polling=1000)
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=ARTIFACTS / "lesson00-timeout.png")
        prompts = page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt").all_inner_texts()
        status = page.locator(".jp-StatusBar-Widget").all_inner_texts()
        pytest.fail(f"lesson 00 did not finish in {RUN_ALL} s; prompts {prompts}; status bar {status}; "
                    f"screenshot in {ARTIFACTS}")
    seconds = time.perf_counter() - start
    print(f"\nlesson 00 opened and run in JupyterLab in {seconds:.1f} s")

    errors = page.locator(".jp-NotebookPanel [data-mime-type='application/vnd.jupyter.error']").all_inner_texts()
    assert not errors, "a cell raised:\n" + "\n".join(errors)
    text = "\n".join(page.locator(".jp-NotebookPanel .jp-OutputArea-output").all_inner_texts())
    for expected in EXPECTED_TEXT:
        assert expected in text, f"{expected!r} not in lesson 00's outputs"

    figures = page.locator(".jp-NotebookPanel .jp-OutputArea-output img")
    assert figures.count() >= 1, "no image in lesson 00's outputs (the face grid)"
    widths = _loaded_images(page, ".jp-NotebookPanel .jp-OutputArea-output img")
    assert all(width > 0 for width in widths), f"an output image did not render: naturalWidth {widths}"

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    figures.first.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "lesson00-jupyterlab.png")

    chrome = axe_violations(page, {"exclude": COURSE_CONTENT["include"]})
    print(f"JupyterLab's own interface (outside the cells' text and outputs) fails the axe rules "
          f"{sorted(v['id'] for v in chrome)}")
    violations = axe_violations(page, COURSE_CONTENT)
    assert not violations, "WCAG 2.1 AA violations in lesson 00's cells and outputs:\n" + summary(violations)


def test_learners_edition_points_to_the_named_solution_in_the_instructor_edition(lab, page):
    url, token = lab
    page.goto(f"{url}/lab/tree/my-course/{SITE_LESSON}.ipynb?token={token}&reset")
    pointer = page.locator(".jp-NotebookPanel a", has_text=f"{SITE_LESSON}.ipynb").first
    pointer.wait_for(timeout=PAGE_LOAD * 1000)
    anchor = unquote(pointer.get_attribute("href").split("#", 1)[1])
    section = re.search(r"section “([^”]*)”", pointer.locator("xpath=..").inner_text())[1]
    assert anchor == section.replace(" ", "-")
    page.wait_for_function(KERNEL_IDLE, timeout=PAGE_LOAD * 1000, polling=500)
    page.keyboard.press("Escape")  # any start-up dialog
    pointer.click()
    tabs = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab")
    page.wait_for_function("() => document.querySelectorAll('.lm-DockPanel-tabBar .lm-TabBar-tab').length >= 2",
                           timeout=PAGE_LOAD * 1000)
    assert tabs.count() == 2
    # the instructor edition is open, and its heading carries the id the line links to
    heading = page.locator(f'.jp-NotebookPanel:visible [data-jupyter-id="{anchor}"]')
    heading.wait_for(state="attached", timeout=PAGE_LOAD * 1000)
    assert heading.count() == 1
    assert page.locator(".jp-NotebookPanel:visible .jp-CodeCell", has_text="### BEGIN SOLUTION").count() >= 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    heading.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / "learner-solution-pointer.png")


def test_figures_and_threshold_control_in_jupyterlab(lab, page):
    """Figures from show() render with their alt text in an untrusted notebook; the threshold control is
    reached with Tab, named by what it sets, moved with the arrow keys, and its picture follows."""
    url, token = lab
    page.goto(f"{url}/lab/tree/notebooks/{FIGURES}?token={token}&reset")
    figures = ".jp-NotebookPanel .jp-OutputArea-output img"
    page.wait_for_selector(figures, timeout=PAGE_LOAD * 1000)
    assert page.eval_on_selector_all(figures, "imgs => imgs.map(img => img.alt)") == FIGURE_ALTS
    assert all(width > 0 for width in _loaded_images(page, figures))
    violations = axe_violations(page, COURSE_CONTENT)
    assert not violations, "violations around figures made by show():\n" + summary(violations)

    page.wait_for_function(KERNEL_IDLE, timeout=PAGE_LOAD * 1000, polling=500)
    page.locator(".jp-NotebookPanel .jp-CodeCell").last.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    control = page.get_by_role("spinbutton", name=THRESHOLD_LABEL)
    control.wait_for(timeout=RUN_ALL * 1000)
    picture = ".jp-NotebookPanel .widget-html img"
    page.wait_for_selector(picture, timeout=PAGE_LOAD * 1000)
    assert "at threshold 0.50" in page.get_attribute(picture, "alt")

    page.keyboard.press("Escape")  # command mode: Tab now walks the page's controls
    for _ in range(60):
        page.keyboard.press("Tab")
        if control.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail(f"Tab never reached the control labelled {THRESHOLD_LABEL!r}")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert control.input_value() == "0.52"
    page.wait_for_function(f"() => document.querySelector({json.dumps(picture)}).alt.includes('at threshold 0.52')",
                           timeout=PAGE_LOAD * 1000)
    violations = axe_violations(page, COURSE_CONTENT)
    assert not violations, "violations around the threshold control:\n" + summary(violations)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "threshold-control.png")


def test_every_site_page_meets_wcag_21_aa(page):
    """axe-core finds no WCAG 2.1 A/AA violation on any page of the built site (offline: no network)."""
    from test_site import built_site

    html, _seconds = built_site()
    page.route(re.compile(r"^https?://"), lambda route: route.abort())  # e.g. MathJax from a CDN
    pages = sorted(path for path in html.rglob("*.html") if not {"_static", "_sources"} & set(path.parts)
                   and 'http-equiv="refresh"' not in path.read_text(encoding="utf-8").lower())  # index.html: to README
    start, found = time.perf_counter(), {}
    for path in pages:
        page.goto(path.as_uri())
        if violations := axe_violations(page):
            found[path.relative_to(html).as_posix()] = summary(violations)
    print(f"\naxe-core: {len(pages)} site pages, {len(found)} with WCAG 2.1 A/AA violations "
          f"({time.perf_counter() - start:.1f} s)")
    assert not found, "\n\n".join(f"{name}:\n{text}" for name, text in found.items())


def test_site_lesson_page_figures_load(page):
    from test_site import built_site, image_outputs

    html, _seconds = built_site()
    expected = image_outputs(ROOT / "notebooks" / f"{SITE_LESSON}.ipynb")
    assert expected >= 1, f"notebooks/{SITE_LESSON}.ipynb has no figures in its committed outputs: execute it"
    page.goto((html / "notebooks" / f"{SITE_LESSON}.html").as_uri())
    widths = _loaded_images(page, ".cell_output img")
    assert len(widths) >= expected, f"the page shows {len(widths)} of the lesson's {expected} figures"
    assert all(width > 0 for width in widths), f"a figure did not load: naturalWidth {widths}"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(".cell_output img").first.scroll_into_view_if_needed()
    page.screenshot(path=ARTIFACTS / f"site-{SITE_LESSON}.png")
