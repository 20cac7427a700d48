"""Student versions and the learner's edition: every solution becomes a stub, nothing leaks, each exercise
says where its worked solution is, they run up to the first exercise, and a learner's file is never
overwritten."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from course import edition, student

SOURCES = student.lesson_sources()


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


def _without_pointers(text: str) -> str:
    return re.sub(r"\n\n\*Stuck after a real try\?[^\n]*", "", text)


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
                assert _without_pointers(text_after) == text_before
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


@pytest.fixture(scope="module")
def learner(tmp_path_factory) -> Path:
    """A learner's edition made in a fresh folder (not the repository's my-course/)."""
    folder = tmp_path_factory.mktemp("learner") / "my-course"
    edition.make_learner_edition(folder, SOURCES, version="1.0.0")
    return folder


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_learner_notebook_runs_from_the_learners_folder_until_its_first_exercise(source, learner):
    notebook = nbformat.read(learner / source.name, as_version=4)
    first_stub = next(i for i, c in enumerate(notebook.cells)
                      if c.cell_type == "code" and "NotImplementedError(\"Exercise: " in c.source)
    notebook.cells = notebook.cells[: first_stub + 1]
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(learner)}})
    with pytest.raises(CellExecutionError, match="NotImplementedError") as caught:
        client.execute()
    assert "Exercise: " in str(caught.value)
    executed = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in executed), "a cell before the first exercise did not run"


# --- where the worked solution is ------------------------------------------------------------------


def _exercise_headings(notebook: dict) -> list[str]:
    return [line.lstrip("#").strip() for cell in notebook["cells"] if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).split("\n") if re.match(r"#+\s*Exercise\s+\d", line)]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_each_exercise_names_where_its_worked_solution_is(source, learner):
    headings = _exercise_headings(json.loads(source.read_text()))
    assert headings, f"{source.name} has no exercise heading"
    made = json.loads((learner / source.name).read_text())
    pointers = [p for cell in made["cells"] if cell["cell_type"] == "markdown"
                for p in re.findall(r"\[([^\]]*)\]\(([^#)]*)#(.*?)\), section “([^”]*)”", "".join(cell["source"]))]
    assert [section for _, _, _, section in pointers] == headings, "one pointer per exercise, naming its heading"
    for name, link, anchor, section in pointers:
        assert name == source.name and (learner / link).resolve() == source.resolve(), link
        assert anchor == section.replace(" ", "-")  # JupyterLab's id for the heading


def test_pointer_comes_right_after_its_heading_and_handles_any_lesson_name(tmp_path):
    """A lesson added later (03b_...) and a heading without minutes get the same treatment."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Lesson 03b"),
                      nbformat.v4.new_markdown_cell("### Exercise 4a · Shard it\n\nSplit the gallery."),
                      nbformat.v4.new_code_cell("### BEGIN SOLUTION\nshards = 4\n### END SOLUTION\nprint(shards)")]
    source = tmp_path / "notebooks" / "03b_sharded_search.ipynb"
    source.parent.mkdir()
    nbformat.write(notebook, source)
    report = edition.make_learner_edition(tmp_path / "my-course", [source], version="1.0.0")
    assert report.written == [tmp_path / "my-course" / source.name]
    made = json.loads(report.written[0].read_text())
    heading, pointer, prompt = "".join(made["cells"][1]["source"]).split("\n\n")
    assert heading == "### Exercise 4a · Shard it" and prompt == "Split the gallery."
    assert pointer == ("*Stuck after a real try? The worked solution is in the instructor edition: "
                       "[03b_sharded_search.ipynb](../notebooks/03b_sharded_search.ipynb#Exercise-4a-·-Shard-it), "
                       "section “Exercise 4a · Shard it” (JupyterLab's table of contents, in the left bar, jumps "
                       "to it). It shows the answer, so open it on purpose.*")
    assert "raise NotImplementedError(\"Exercise: Exercise 4a · Shard it\")" in "".join(made["cells"][2]["source"])


def test_student_copies_outside_the_repository_link_to_the_release(generated):
    from course import launch

    text = generated["00_start_here.ipynb"].read_text()
    assert f"({launch.REPOSITORY}/blob/{launch.COURSE_TAG}/notebooks/00_start_here.ipynb#Exercise-1-" in text


# --- the learner's edition is never overwritten ----------------------------------------------------


def _files(folder: Path) -> dict[Path, bytes]:
    return {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


@pytest.fixture
def two_lessons(tmp_path) -> list[Path]:
    """Two small lessons in a notebooks/ folder of their own, so a test can change them."""
    sources = []
    for name in ["00_start.ipynb", "01_next.ipynb"]:
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_markdown_cell(f"# {name}\n\n### Exercise 1 · Add (1 min)"),
                          nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")]
        path = tmp_path / "notebooks" / name
        path.parent.mkdir(exist_ok=True)
        nbformat.write(notebook, path)
        sources.append(path)
    return sources


def test_learner_edition_records_its_version_and_a_second_run_changes_nothing(two_lessons, tmp_path):
    folder = tmp_path / "my-course"
    first = edition.make_learner_edition(folder, two_lessons, version="1.0.0")
    assert [p.name for p in first.written] == ["00_start.ipynb", "01_next.ipynb"] and not first.beside
    recorded = json.loads((folder / "00_start.ipynb").read_text())["metadata"][edition.METADATA_KEY]
    assert recorded["course_version"] == "1.0.0" and recorded["made_from"] == "notebooks/00_start.ipynb"
    # the learner types an answer and deletes the second lesson to start it afresh
    mine = json.loads((folder / "00_start.ipynb").read_text())
    mine["cells"][1]["source"] = "x = 2  # mine"
    typed = json.dumps(mine)
    (folder / "00_start.ipynb").write_text(typed)
    (folder / "01_next.ipynb").unlink()
    again = edition.make_learner_edition(folder, two_lessons, version="1.0.0")
    assert (folder / "00_start.ipynb").read_text() == typed
    assert [p.name for p in again.written] == ["01_next.ipynb"] and not again.beside


def test_a_newer_version_writes_beside_a_changed_lesson_and_never_over_it(two_lessons, tmp_path):
    folder = tmp_path / "my-course"
    edition.make_learner_edition(folder, two_lessons, version="1.0.0")
    (folder / "00_start.ipynb").write_text((folder / "00_start.ipynb").read_text().replace("Add", "Add (my note)"))
    (folder / "my notes.md").write_text("mine")
    before = _files(folder)
    changed = nbformat.read(two_lessons[0], as_version=4)
    changed.cells[0].source += "\n\nA clearer prompt."  # a change only in a solution would change nothing here
    nbformat.write(changed, two_lessons[0])
    report = edition.make_learner_edition(folder, two_lessons, version="2.0.0")
    after = _files(folder)
    assert {name: after[name] for name in before} == before, "a learner's file was changed"
    assert sorted(set(after) - set(before)) == [Path("00_start.v2.0.0.ipynb")], "only the changed lesson is new"
    assert report.beside == [folder / "00_start.v2.0.0.ipynb"]
    assert "00_start.v2.0.0.ipynb" in "\n".join(report.lines()) and "untouched" in "\n".join(report.lines())
    newer = json.loads(after[Path("00_start.v2.0.0.ipynb")])
    assert newer["metadata"][edition.METADATA_KEY]["course_version"] == "2.0.0"
    # and once written, the newer copy is the learner's too
    (folder / "00_start.v2.0.0.ipynb").write_text("{}")
    edition.make_learner_edition(folder, two_lessons, version="2.0.0")
    assert (folder / "00_start.v2.0.0.ipynb").read_text() == "{}"


def test_a_damaged_learner_file_is_kept_and_a_fresh_copy_written_beside(two_lessons, tmp_path):
    folder = tmp_path / "my-course"
    folder.mkdir()
    (folder / "00_start.ipynb").write_text("not json, but the learner's")
    edition.make_learner_edition(folder, two_lessons, version="1.0.0")
    assert (folder / "00_start.ipynb").read_text() == "not json, but the learner's"
    assert json.loads((folder / "00_start.v1.0.0.ipynb").read_text())["cells"]


def test_lab_opens_the_editions_lesson_00_with_the_repository_in_view(learner):
    arguments = edition.lab_arguments(learner, ["--ServerApp.port=9999"])
    assert f"--ServerApp.root_dir={learner.parent}" in arguments
    assert "--LabApp.default_url=/lab/tree/my-course/00_start_here.ipynb" in arguments
    assert arguments[-1] == "--ServerApp.port=9999"
    assert ("--allow-root" in arguments) == (os.geteuid() == 0)


# --- the learner's edition, published on a branch for Colab and nbgitpuller -----------------------


def _git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.org")
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def test_learner_branch_publishes_the_learners_edition_on_top_of_a_release(two_lessons, tmp_path):
    repo = two_lessons[0].parent.parent
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "3.1.4"\n')
    _git(repo, "init", "--quiet")
    _git(repo, "add", ".")
    _git(repo, "commit", "--quiet", "-m", "release 3.1.4")
    status_before = _git(repo, "status", "--porcelain")
    first = edition.publish_learner_branch(repo)
    assert _git(repo, "rev-parse", "learner") == first
    files = _git(repo, "ls-tree", "-r", "--name-only", "learner").splitlines()
    assert files == sorted(_git(repo, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
                           + ["my-course/00_start.ipynb", "my-course/01_next.ipynb"])
    made = json.loads(_git(repo, "show", "learner:my-course/00_start.ipynb"))
    assert student.BEGIN not in json.dumps(made) and "NotImplementedError" in json.dumps(made)
    assert made["metadata"][edition.METADATA_KEY]["course_version"] == "3.1.4"
    assert "(../notebooks/00_start.ipynb#Exercise-1-" in json.dumps(made, ensure_ascii=False)
    assert _git(repo, "status", "--porcelain") == status_before, "the working tree or index was touched"
    assert edition.publish_learner_branch(repo) == first, "nothing changed, so no new commit"
    # the next release: one more commit on the branch, on top of the previous one
    (repo / "notebooks" / "01_next.ipynb").write_text((repo / "notebooks" / "01_next.ipynb").read_text()
                                                      .replace("# 01_next.ipynb", "# 01 · Next, clearer"))
    _git(repo, "commit", "--quiet", "-am", "release 3.2.0")
    second = edition.publish_learner_branch(repo)
    assert _git(repo, "rev-parse", f"{second}^1") == first and _git(repo, "rev-parse", f"{second}^2") == \
        _git(repo, "rev-parse", "HEAD")
    assert "# 01 · Next, clearer" in _git(repo, "show", "learner:my-course/01_next.ipynb")
