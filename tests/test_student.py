"""Student versions: every solution becomes a stub, nothing leaks, they run up to the first exercise."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from course import student

SOURCES = sorted(student.NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb"))


def _solution_regions(source: str) -> list[list[str]]:
    regions, current = [], None
    for line in source.split("\n"):
        if line.strip() == student.BEGIN:
            current = []
        elif line.strip() == student.END:
            regions.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return regions


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    return {p.name: p for p in student.write_student_versions(out, SOURCES)}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_every_solution_has_a_stub_and_nothing_leaks(source, generated):
    original = json.loads(source.read_text())
    made = json.loads(generated[source.name].read_text())
    assert len(original["cells"]) == len(made["cells"])
    n_regions = 0
    # a line that the lesson also shows outside any solution (e.g. in a demonstration) is not a leak
    public = set()
    for cell in original["cells"]:
        text = "".join(cell["source"])
        inside = {line.strip() for region in _solution_regions(text) for line in region}
        public |= {line.strip() for line in text.split("\n")} - inside
    for before, after in zip(original["cells"], made["cells"]):
        text_before, text_after = "".join(before["source"]), "".join(after["source"])
        regions = _solution_regions(text_before)
        n_regions += len(regions)
        if after["cell_type"] == "code":
            assert after["outputs"] == [] and after["execution_count"] is None  # later outputs give answers away
        if not regions:
            if "Notes for instructors" not in text_before:
                assert text_after == text_before
            continue
        assert text_after.count("raise NotImplementedError(\"Exercise: ") == len(regions)
        assert student.BEGIN not in text_after and after["outputs"] == []
        body = json.dumps(made)
        for region in regions:
            for line in region:
                if len(line.strip()) >= 12 and line.strip() not in public:
                    assert line.strip() not in body, f"solution line leaked: {line.strip()!r}"
    assert n_regions >= 1, f"{source.name} has no exercise"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_instructor_notes_are_removed_and_the_rest_of_the_cell_kept(source, generated):
    original = json.loads(source.read_text())
    made = json.loads(generated[source.name].read_text())
    with_notes = 0
    for before, after in zip(original["cells"], made["cells"]):
        text_before, text_after = "".join(before["source"]), "".join(after["source"])
        if "<details><summary>Notes for instructors" in text_before:
            with_notes += 1
            assert "Notes for instructors" not in text_after and "</details>" not in text_after
            kept = text_before.split("<details><summary>Notes for instructors")[0].strip()
            assert text_after.startswith(kept)
    assert with_notes >= 1, f"{source.name} has no notes for instructors"
    assert "widgets" not in made.get("metadata", {})  # no slider positions saved from the instructor's run


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_solution_cells_are_marked_for_nbgrader(source):
    """nbgrader refuses solution regions outside cells marked as solution cells, and any
    markdown that contains its delimiter text."""
    ids = []
    for cell in json.loads(source.read_text())["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        elif student.BEGIN in text:
            meta = cell["metadata"].get("nbgrader", {})
            assert meta.get("solution") is True and meta.get("grade_id"), cell["source"][:80]
            ids.append(meta["grade_id"])
    assert len(ids) == len(set(ids))


def test_generating_twice_gives_identical_files(tmp_path, generated):
    again = student.write_student_versions(tmp_path, SOURCES)
    for path in again:
        assert path.read_bytes() == generated[path.name].read_bytes()


def test_command_line_writes_every_lesson(tmp_path):
    result = subprocess.run([sys.executable, "-m", "course", "student", "--out", str(tmp_path)],
                            capture_output=True, text=True, check=True)
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == [p.name for p in SOURCES]
    assert result.stdout.count("wrote ") == len(SOURCES)


def test_stub_keeps_indentation_and_names_the_exercise():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n\nf(1)"
    stubbed = student.stub_source(source, "Exercise 3 · Add one")
    assert stubbed == ('def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError("Exercise: Exercise 3 · Add one")'
                       "\n\nf(1)")
    with pytest.raises(ValueError, match="without"):
        student.stub_source("### BEGIN SOLUTION\nx = 1", "Exercise 1")


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_student_notebook_runs_until_its_first_exercise(source, generated, tmp_path):
    notebook = nbformat.read(generated[source.name], as_version=4)
    first_stub = next(i for i, c in enumerate(notebook.cells)
                      if c.cell_type == "code" and "NotImplementedError(\"Exercise: " in c.source)
    notebook.cells = notebook.cells[: first_stub + 1]
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(source.parent)}})
    with pytest.raises(CellExecutionError, match="NotImplementedError") as caught:
        client.execute()
    assert "Exercise: " in str(caught.value)
    executed = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in executed), "a cell before the first exercise did not run"


def test_nbgrader_generate_assignment_accepts_the_sources(tmp_path):
    source_dir = tmp_path / "source" / "course"
    source_dir.mkdir(parents=True)
    for path in SOURCES:
        shutil.copy(path, source_dir / path.name)
    nbgrader = Path(sys.executable).with_name("nbgrader")
    result = subprocess.run([str(nbgrader), "generate_assignment", "course", f"--CourseDirectory.root={tmp_path}",
                             "--force"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    released = sorted(p.name for p in (tmp_path / "release" / "course").glob("*.ipynb"))
    assert released == [p.name for p in SOURCES]
