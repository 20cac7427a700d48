"""``python -m course student --out DIR``: write the student versions of the lesson notebooks.

The source notebooks in ``notebooks/`` are the instructor edition: each exercise's answer sits
between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markers). A student version
(also the learner's edition that :mod:`course.edition` makes) replaces every such region with a stub
that raises ``NotImplementedError("Exercise: ...")``, removes the ``<details>`` blocks of notes for
instructors (model answers, debate arguments) and the saved state of widgets, adds under each
``## Exercise N · Title (M min)`` heading a line saying where the worked solution is (so a stuck
learner looks on purpose, not by accident), and keeps everything else as it is.

It clears the outputs of every code cell, not only of exercise cells, because:

* a check cell's saved output is a verdict (✅) on an answer the learner has not written yet;
* cells after an exercise print and plot what the solution computed (lesson 02's threshold on the
  test split, lesson 06's audit figures), which gives the answer away;
* the learner runs each cell anyway (later cells need the variables), and an output they see is then
  always one their own run produced. Reading ahead, with every figure, is what the course website is for.

Generating twice gives identical files.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
_INSTRUCTOR_NOTES = re.compile(r"<details><summary>Notes for instructors.*?</details>", re.DOTALL)
_HEADING = re.compile(r"^#+[ \t]*(((?:Exercise[ \t]+\d+[a-z]?|Concept check)[ \t]*[·:.-][ \t]*.+?)[ \t]*(\(\d+[ \t]*min\))?)[ \t]*$",
                      re.MULTILINE)


def lesson_sources() -> list[Path]:
    """The instructor edition's lesson notebooks, in course order (``notebooks/NN*_*.ipynb``)."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb"))


def heading_anchor(heading: str) -> str:
    """The id JupyterLab gives a markdown heading (its text, spaces turned into ``-``)."""
    return heading.strip().replace(" ", "-")


def solution_pointer(heading: str, solution_link: str) -> str:
    """The line under an exercise heading that says where its worked solution is.

    It names the section as well as linking its anchor: JupyterLab 4.x opens a linked notebook at its
    top, not at the heading, so the learner finds the section by name (or the table of contents).
    """
    name = solution_link.rsplit("/", 1)[-1]
    return (f"*Stuck after a real try? The worked solution is in the instructor edition: "
            f"[{name}]({solution_link}#{heading_anchor(heading)}), section “{heading.strip()}” "
            "(JupyterLab's table of contents, in the left bar, jumps to it). "
            "It shows the answer, so open it on purpose.*")


def _with_pointers(source: str, solution_link: str) -> str:
    """A markdown cell's source with a solution pointer after each exercise heading.

    Concept checks get none: their check explains every answer once the learner has tried."""
    return _HEADING.sub(lambda m: m.group(0) if m.group(2).startswith("Concept check")
                        else f"{m.group(0)}\n\n{solution_pointer(m.group(1), solution_link)}", source)


def without_instructor_notes(source: str) -> str:
    """A markdown cell's source without its ``<details>`` blocks of notes for instructors (unchanged if it has
    none); nbgrader's source notebooks (:mod:`course.grading`) drop them the same way."""
    if not _INSTRUCTOR_NOTES.search(source):
        return source
    return re.sub(r"\n{3,}", "\n\n", _INSTRUCTOR_NOTES.sub("", source)).strip("\n")


def stub_source(source: str, exercise: str) -> str:
    """Replace each solution region of a cell's source by an indented NotImplementedError stub."""
    lines, out, inside = source.split("\n"), [], False
    for line in lines:
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError(f"{exercise}: nested {BEGIN}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f'{indent}raise NotImplementedError("Exercise: {exercise}")')
        elif stripped == END:
            if not inside:
                raise ValueError(f"{exercise}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{exercise}: {BEGIN} without {END}")
    return "\n".join(out)


def student_notebook(notebook: dict, solution_link: str | None = None) -> dict:
    """The student version of one notebook (a dict in nbformat 4 JSON form).

    ``solution_link``: where this lesson's instructor edition is (a relative path or URL), for the
    line under each exercise heading; None leaves the headings as they are.
    """
    student = copy.deepcopy(notebook)
    student.get("metadata", {}).pop("widgets", None)  # saved slider positions from the instructor's run
    exercise = "see the instructions above"
    for cell in student["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            headings = _HEADING.findall(source)
            if headings:
                exercise = headings[-1][1].strip()
            source = without_instructor_notes(source)
            if headings and solution_link:
                source = _with_pointers(source, solution_link)
            if source != "".join(cell["source"]):
                cell["source"] = source
            continue
        if cell["cell_type"] == "code":
            if BEGIN in source:
                cell["source"] = stub_source(source, exercise)
            cell["outputs"] = []
            cell["execution_count"] = None
    return student


def solution_link(source: Path, out: Path) -> str:
    """How a student copy in ``out`` links to its instructor notebook: a relative path inside this
    repository, else the notebook in the published repository at the release tag."""
    from .launch import COURSE_TAG, REPOSITORY

    root = NOTEBOOKS.parent
    if Path(out).resolve().is_relative_to(root) and source.resolve().is_relative_to(root):
        return Path(os.path.relpath(source.resolve(), Path(out).resolve())).as_posix()
    return f"{REPOSITORY}/blob/{COURSE_TAG}/notebooks/{source.name}"


def write_student_versions(out: Path, sources: list[Path] | None = None) -> list[Path]:
    """Write the student version of every lesson notebook into ``out``; return the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sources or lesson_sources():
        notebook = json.loads(path.read_text(encoding="utf-8"))
        target = out / path.name
        made = student_notebook(notebook, solution_link=solution_link(path, out))
        target.write_text(json.dumps(made, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(target)
    return written
