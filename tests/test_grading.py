"""Grading with nbgrader: checks raise under nbgrader only, every lesson's generated source is gradable, the
release agrees with `course student`, the points match the instructor guide, and a real nbgrader course
grades lesson 00 end to end (stubs 0, solutions full, a typical mistake partial, with its hint)."""

from __future__ import annotations

import ast
import builtins
import contextlib
import csv
import importlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course import grading, student
from course.__main__ import main
from course.checks import CheckFailed, Feedback, lesson00, verdict

ROOT = Path(__file__).resolve().parent.parent
SOURCES = student.lesson_sources()
E2E_LESSON = "00_start_here"  # the cheapest lesson with two checked exercises (measured: see the guide)


def _text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _nbgrader_meta(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


# ------------------------------------------------------------------ the raise mode of verdict


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_a_wrong_verdict_raises_under_nbgrader_after_printing_its_hint(mode, monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)
    with pytest.raises(AssertionError, match="the view seed") as raised:
        verdict(False, "You passed the view seed where the identity seed belongs.")
    assert isinstance(raised.value, CheckFailed)
    assert "❌ You passed the view seed" in capsys.readouterr().out  # printed first: the feedback shows it
    assert raised.value._render_traceback_() == [
        "CheckFailed (AssertionError): You passed the view seed where the identity seed belongs."]
    assert verdict(True, "Right.")  # a ✅ never raises


def test_outside_nbgrader_a_wrong_verdict_only_prints(monkeypatch, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    feedback = verdict(False, "Not yet.")
    assert isinstance(feedback, Feedback) and not feedback
    assert capsys.readouterr().out == "❌ Not yet.\n"


def test_a_real_check_raises_under_nbgrader_and_not_outside(monkeypatch, capsys):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not lesson00.consent_record(None, None)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    with pytest.raises(CheckFailed, match="You have not set my_record yet"):
        lesson00.consent_record(None, None)


# ------------------------------------------------------------------ the generated source, every lesson


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """An nbgrader course with every lesson's source written and released by nbgrader's own
    generate_assignment (in-process: no notebook is executed)."""
    from nbgrader.apps.api import NbGraderAPI
    from traitlets.config import Config

    root = tmp_path_factory.mktemp("nbgrader-course")
    graded = grading.write_nbgrader_course(root, SOURCES)
    config = Config()
    config.CourseDirectory.root = str(root)
    api = NbGraderAPI(config=config)
    for lesson in graded:
        result = api.generate_assignment(lesson, force=True, create=True)
        assert result["success"], result["log"][-3000:]
    return root, graded


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_every_solution_becomes_an_answer_cell_followed_by_a_locked_graded_check(source, course):
    root, graded = course
    made = json.loads((root / "source" / source.stem / source.name).read_text())
    original = json.loads(source.read_text())
    n_solutions = sum(student.BEGIN in _text(c) for c in original["cells"] if c["cell_type"] == "code")
    cells = made["cells"]
    answers = [i for i, c in enumerate(cells) if _nbgrader_meta(c).get("solution")]
    assert len(answers) == n_solutions >= 2
    for i in answers:
        answer, test = cells[i], cells[i + 1]
        assert student.END in _text(answer) and not _nbgrader_meta(answer)["locked"]
        assert "check." not in _text(answer).split(student.END)[-1]
        meta = _nbgrader_meta(test)
        assert test["cell_type"] == "code" and meta["locked"] and not meta["solution"]
        assert re.search(r"\bcheck\.\w+\(", _text(test)), _text(test)
        if meta["grade"]:
            assert meta["points"] > 0
        else:  # only the concept check before the lesson is left ungraded
            assert "before" in meta["grade_id"]
    parts = graded[source.stem]
    assert {p.grade_id for p in parts if p.kind != "prose"} == {
        _nbgrader_meta(c)["grade_id"] for c in cells if _nbgrader_meta(c).get("grade")}
    text = json.dumps(made)
    assert "Notes for instructors" not in text and "Stuck after a real try" not in text


def test_every_prose_part_is_graded_by_hand_with_its_rubric(course):
    root, graded = course
    prose = {(lesson, p.check) for lesson, parts in graded.items() for p in parts if p.kind == "prose"}
    assert {check for _, check in prose} == set(grading.PROSE_RUBRICS)  # each listed rubric is used, once
    for lesson, check in prose:
        cells = json.loads((root / "source" / lesson / f"{lesson}.ipynb").read_text())["cells"]
        tasks = [c for c in cells if _nbgrader_meta(c).get("task")]
        module = importlib.import_module(f"course.checks.{check.split('.')[0]}")
        rubric = getattr(module, grading.PROSE_RUBRICS[check][0]).strip()
        assert any(rubric in _text(c) and _nbgrader_meta(c)["points"] == grading.POINTS_PER_PROSE for c in tasks)
    # every rubric a check module prints is listed, so a new prose exercise cannot go ungraded unnoticed
    for path in sorted((ROOT / "course" / "checks").glob("lesson*.py")):
        module = importlib.import_module(f"course.checks.{path.stem}")
        for name in dir(module):
            if name.endswith("RUBRIC"):
                assert name in {a for c, (a, _) in grading.PROSE_RUBRICS.items() if c.startswith(path.stem + ".")}


def test_concept_checks_before_are_ungraded_and_after_give_a_point():
    def cell(kind, text):
        return {"cell_type": kind, "metadata": {}, "source": text, **({"outputs": [], "execution_count": None}
                                                                       if kind == "code" else {})}

    quiz = ("concepts_{0} = {{1: None}}\n### BEGIN SOLUTION\nconcepts_{0} = {{1: \"b\"}}\n### END SOLUTION\n"
            "check.concepts_{0}(concepts_{0})")
    notebook = {"metadata": {}, "cells": [
        cell("code", "from course.checks import lesson00 as check"),
        cell("markdown", "## Concept check · before the lesson (3 min)\n\n1. Q?"), cell("code", quiz.format("before")),
        cell("markdown", "## Exercise 1 · Something (5 min)"), cell("code", "x = None\n### BEGIN SOLUTION\nx = 1\n"
                                                                          "### END SOLUTION\ncheck.x(x)"),
        cell("markdown", "## Concept check · after the lesson (4 min)"), cell("code", quiz.format("after"))]}
    made, parts = grading.nbgrader_notebook(notebook)
    assert [(p.grade_id, p.kind, p.points) for p in parts] == [
        ("exercise-1-check", "check", 2), ("concept-check-after-the-lesson-check", "concept", 1)]
    before = [c for c in made["cells"] if _nbgrader_meta(c).get("grade_id", "").startswith("concept-check-before")]
    assert [(_nbgrader_meta(c)["solution"], _nbgrader_meta(c)["grade"], _nbgrader_meta(c)["locked"])
            for c in before] == [(True, False, False), (False, False, True)]


def test_a_solution_with_no_check_after_it_is_refused():
    notebook = {"metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "## Exercise 2 · Alone (5 min)"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\nprint(x)"}]}
    with pytest.raises(ValueError, match="Exercise 2 · Alone: its solution region has no check"):
        grading.nbgrader_notebook(notebook, lesson="99_x")


def _merged_release(cells: list[dict]) -> list[dict]:
    """The released cells with each test cell joined back to its answer cell and the rubric cells left out:
    the shape of `course student`'s copy."""
    merged = []
    for cell in cells:
        meta = _nbgrader_meta(cell)
        if meta.get("task"):
            continue
        if meta.get("locked") and merged and _nbgrader_meta(merged[-1]).get("solution"):
            merged[-1] = dict(merged[-1], source=_text(merged[-1]) + "\n" + _text(cell))
            continue
        merged.append(cell)
    return merged


def _comparable(cell: dict) -> tuple[str, str]:
    text = re.sub(r"raise NotImplementedError\([^)]*\)", "raise NotImplementedError()", _text(cell))
    return cell["cell_type"], re.sub(r"\n\s*\n", "\n", text).strip()


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_nbgraders_release_and_course_student_agree(source, course):
    root, _ = course
    released = json.loads((root / "release" / source.stem / source.name).read_text())
    copy = student.student_notebook(json.loads(source.read_text()), solution_link=None)
    assert [_comparable(c) for c in _merged_release(released["cells"])] == [_comparable(c) for c in copy["cells"]]
    assert all(not c.get("outputs") for c in released["cells"])


# ------------------------------------------------------------------ stub state: every check call raises


class _NotebookState:
    """Stands for whatever earlier cells computed (a site, a data set): the check call is run, not the lesson."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __getitem__(self, key):
        return self

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())


class _Namespace(dict):
    """Names a real stub run leaves undefined raise NameError; other unknown names are earlier cells' state."""

    def __init__(self, undefined: set[str]):
        super().__init__()
        self.undefined = undefined

    def __missing__(self, name):
        if name in self.undefined or hasattr(builtins, name):
            raise KeyError(name)
        return _NotebookState()


def _bound_names(source: str) -> set[str]:
    """Names a cell binds at its top level (assignments, defs, imports)."""
    names = set()
    for node in ast.parse(source).body:
        for sub in ast.walk(node) if not isinstance(node, (ast.FunctionDef, ast.ClassDef)) else [node]:
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
            elif isinstance(sub, (ast.FunctionDef, ast.ClassDef)):
                names.add(sub.name)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in sub.names}
    return names


# These checks compute from the lesson's arrays before they read the answer, so with stand-in state they fail
# on the stand-in (still an error, so 0 points); scripts/grade_all_lessons.py grades them with the real data.
_READS_LESSON_DATA_FIRST = {("01_faces_as_data", "exercise-2-check"), ("02_embeddings", "exercise-2-check")}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_every_graded_check_call_raises_for_the_untouched_stub(source, course, monkeypatch):
    """Runs each released answer cell (the stub) and then just the check call of its graded test cell, under
    NBGRADER_EXECUTION: it must raise (CheckFailed, or the stub's NotImplementedError, or NameError for a
    name only the solution defines), so the stub scores 0. The rest of the lesson is not run."""
    root, _ = course
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    cells = json.loads((root / "release" / source.stem / source.name).read_text())["cells"]
    solved = {_nbgrader_meta(c).get("grade_id"): _text(c)
              for c in json.loads((root / "source" / source.stem / source.name).read_text())["cells"]}
    module = re.search(r"from course\.checks import (\w+) as check", json.dumps(cells)).group(1)
    earlier, n_graded = set(), 0
    for i, cell in enumerate(cells):
        meta = _nbgrader_meta(cell)
        if cell["cell_type"] == "code" and meta.get("grade"):
            answer = cells[i - 1]
            stub_defines = _bound_names(_text(answer))
            solution = solved[_nbgrader_meta(answer)["grade_id"]]
            namespace = _Namespace(_bound_names(solution.replace(student.BEGIN, "").replace(student.END, ""))
                                   - earlier - stub_defines)
            namespace["check"] = importlib.import_module(f"course.checks.{module}")
            with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
                exec(compile(_text(answer), "answer", "exec"), {"__builtins__": builtins}, namespace)
            test = _text(cell)
            call = next(node for node in ast.parse(test).body if "check." in ast.get_source_segment(test, node))
            expected = Exception if (source.stem, meta["grade_id"]) in _READS_LESSON_DATA_FIRST else (
                CheckFailed, NotImplementedError, NameError)
            with contextlib.redirect_stdout(io.StringIO()), pytest.raises(expected):
                exec(compile(ast.Module(body=[call], type_ignores=[]), "test", "exec"),
                     {"__builtins__": builtins}, namespace)
            n_graded += 1
        if cell["cell_type"] == "code":
            earlier |= _bound_names(_text(cell))
    assert n_graded >= 2


# ------------------------------------------------------------------ points: the guide says what the code gives


def test_the_instructor_guides_points_table_is_what_the_generator_gives(course):
    _, graded = course
    guide = (ROOT / "docs" / "instructor_guide.md").read_text()
    assert grading.points_table(graded) in guide, (
        "update the table in docs/instructor_guide.md to what `python -m course nbgrader` prints:\n"
        + grading.points_table(graded))


def test_the_command_writes_the_course_and_prints_the_points(tmp_path, capsys):
    assert main(["nbgrader", "--course-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for source in SOURCES:
        assert (tmp_path / "source" / source.stem / source.name).is_file()
        assert f"| {source.stem} |" in out
    assert "c.Execute.timeout" in (tmp_path / "nbgrader_config.py").read_text()
    (tmp_path / "nbgrader_config.py").write_text("# the instructor's own\n")
    main(["nbgrader", "--course-dir", str(tmp_path)])
    assert (tmp_path / "nbgrader_config.py").read_text() == "# the instructor's own\n"  # never overwritten


# ------------------------------------------------------------------ a real nbgrader course, end to end


def _run_nbgrader(course_dir: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir,
                          env=grading.nbgrader_environment(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _submit(course_dir: Path, who: str, notebook: dict) -> None:
    folder = course_dir / "submitted" / who / E2E_LESSON
    folder.mkdir(parents=True)
    (folder / f"{E2E_LESSON}.ipynb").write_text(json.dumps(notebook))


# nbgrader 0.9.6's gradebook code (api.py) makes SQLAlchemy 2 warn about autoflush while autograde records a new
# submission; the cause is inside nbgrader and the grades are right (checked below), so only that warning is hidden.
@pytest.mark.filterwarnings("ignore:Object of type <Submitted:sqlalchemy.exc.SAWarning")
def test_a_real_nbgrader_course_grades_lesson_00_end_to_end(tmp_path, monkeypatch):
    """generate_assignment, autograde and generate_feedback run through nbgrader's own API in this process (as
    the Formgrader runs them; it saves three nbgrader start-ups), validate and export through its command line."""
    from nbgrader.apps.api import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    source = next(p for p in SOURCES if p.stem == E2E_LESSON)
    parts = grading.write_nbgrader_course(tmp_path, [source])[E2E_LESSON]
    auto, by_hand = grading.points(parts)
    n_checks = sum(p.kind != "prose" for p in parts)
    monkeypatch.setenv("PATH", grading.nbgrader_environment()["PATH"])
    config = PyFileConfigLoader(str(tmp_path / "nbgrader_config.py")).load_config()  # the one the command wrote
    config.CourseDirectory.root = str(tmp_path)
    api = NbGraderAPI(config=config)

    def succeeded(result: dict) -> None:
        assert result["success"], result.get("log", "")[-3000:] + result.get("error", "")

    succeeded(api.generate_assignment(E2E_LESSON))
    released = json.loads((tmp_path / "release" / E2E_LESSON / source.name).read_text())
    solved = json.loads((tmp_path / "source" / E2E_LESSON / source.name).read_text())
    _submit(tmp_path, "stubs", released)
    _submit(tmp_path, "correct", grading.answered(released, solved))
    _submit(tmp_path, "mistakes", grading.answered(released, solved, mistakes=grading.TYPICAL_MISTAKES[E2E_LESSON]))

    validating = subprocess.Popen([sys.executable, "-m", "nbgrader", "validate",  # on the other core meanwhile
                                   str(tmp_path / "release" / E2E_LESSON / source.name)],
                                  cwd=tmp_path, env=grading.nbgrader_environment(), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
    try:
        for who in ("stubs", "correct", "mistakes"):
            succeeded(api.autograde(E2E_LESSON, who))
        validated, _ = validating.communicate(timeout=600)
    finally:
        validating.kill()
    # nbgrader validate exits 0 whatever it finds; what it prints is the verdict
    assert "Success! Your notebook passes all the tests." not in validated
    assert validated.count("The following cell failed:") == n_checks, validated
    assert "NotImplementedError" in validated and "You have not set my_record yet" in validated

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade("exercise-2-prose", E2E_LESSON, E2E_LESSON, "correct")
        assert grade.needs_manual_grade and grade.max_score == grading.POINTS_PER_PROSE
        grade.manual_score = grading.POINTS_PER_PROSE  # the grader read the consent text with the rubric
        gradebook.db.commit()
    succeeded(api.generate_feedback(E2E_LESSON))
    _run_nbgrader(tmp_path, "export", "--to", "grades.csv")
    with open(tmp_path / "grades.csv", newline="") as table:
        scores = {row["student_id"]: (float(row["score"]), float(row["max_score"])) for row in csv.DictReader(table)}
    total = float(auto + by_hand)  # 4 + 2 for lesson 00 today
    assert scores == {"stubs": (0.0, total), "correct": (total, total),
                      "mistakes": (auto - grading.POINTS_PER_CHECK, total)}

    def feedback(who: str) -> str:
        return (tmp_path / "feedback" / who / E2E_LESSON / f"{E2E_LESSON}.html").read_text()

    assert "You passed the view seed where the identity seed belongs" in feedback("mistakes")
    assert "You have not set my_record yet" in feedback("stubs")
