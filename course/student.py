"""``python -m course student --out DIR``: write the student versions of the lesson notebooks.

The source notebooks are the instructor versions: each exercise's answer sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markers). The student
version replaces every such region with a stub that raises
``NotImplementedError("Exercise: ...")``, clears every code cell's outputs (later
outputs, such as a capstone's model report or a plot of the calibrated threshold,
would give the answers away), removes the ``<details>`` blocks of notes for
instructors (model answers, debate arguments) and the saved state of widgets, and
keeps everything else as it is.
Generating twice gives identical files.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
_INSTRUCTOR_NOTES = re.compile(r"<details><summary>Notes for instructors.*?</details>", re.DOTALL)
_HEADING = re.compile(r"^#+\s*(Exercise\s+\d+\s*[·:.-]\s*.+?)\s*(\(\d+\s*min\))?\s*$", re.MULTILINE)


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


def student_notebook(notebook: dict) -> dict:
    """The student version of one notebook (a dict in nbformat 4 JSON form)."""
    student = copy.deepcopy(notebook)
    student.get("metadata", {}).pop("widgets", None)  # saved slider positions from the instructor's run
    exercise = "see the instructions above"
    for cell in student["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown":
            headings = _HEADING.findall(source)
            if headings:
                exercise = headings[-1][0].strip()
            if _INSTRUCTOR_NOTES.search(source):
                cell["source"] = re.sub(r"\n{3,}", "\n\n", _INSTRUCTOR_NOTES.sub("", source)).strip("\n")
            continue
        if cell["cell_type"] == "code":
            if BEGIN in source:
                cell["source"] = stub_source(source, exercise)
            cell["outputs"] = []
            cell["execution_count"] = None
    return student


def write_student_versions(out: Path, sources: list[Path] | None = None) -> list[Path]:
    """Write the student version of every lesson notebook into ``out``; return the paths written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sources or sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb")):
        notebook = json.loads(path.read_text())
        target = out / path.name
        target.write_text(json.dumps(student_notebook(notebook), indent=1, ensure_ascii=False) + "\n")
        written.append(target)
    return written
