"""``python -m course nbgrader --course-dir DIR``: an nbgrader course made from the lesson notebooks.

The lesson notebooks in ``notebooks/`` stay the single source. For each lesson this writes
``DIR/source/<lesson>/<lesson>.ipynb``, from which nbgrader's ``generate_assignment`` makes the release:

* each code cell with a solution region (``### BEGIN SOLUTION`` ... ``### END SOLUTION``) is split after its
  last ``### END SOLUTION`` line: the part up to it becomes an *autograded answer* cell (the learner's,
  stubbed by nbgrader), the rest, which holds the ``check.…(...)`` call, becomes a *locked, graded test cell*
  worth :data:`POINTS_PER_CHECK` points. Under nbgrader a check that says ❌ raises (see
  :mod:`course.checks`), so the test cell scores 0; an untouched stub raises ``NotImplementedError``, also 0;
* a check whose exercise also asks for free prose (:data:`PROSE_RUBRICS`) is followed by a *manually graded
  task* cell worth :data:`POINTS_PER_PROSE` points that carries the check's rubric, because a machine does
  not judge prose;
* concept checks (``## Concept check · ...``) are split the same way: the one *before* the lesson is not
  graded (wrong answers are expected there, and its test cell is locked without points), the one after
  it is worth :data:`POINTS_PER_CONCEPT_CHECK` point (all questions right, as the check's verdict says);
* ``<details>`` notes for instructors are removed and saved widget state is dropped, exactly as
  ``python -m course student`` does, so nbgrader's release and the student copies agree (apart from
  nbgrader's metadata, the split cells, the rubric cells and nbgrader's stub text).

Exercises and concept checks are found by their headings (``course.student._HEADING``) and solution
markers, never by cell position, so lessons can gain cells without breaking this.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from .student import _HEADING, BEGIN, END, lesson_sources, without_instructor_notes

POINTS_PER_CHECK = 2
POINTS_PER_PROSE = 2
POINTS_PER_CONCEPT_CHECK = 1

# check function (in its lesson's module) -> (the module's rubric constant, what the grader reads)
PROSE_RUBRICS = {
    "lesson00.consent_record": ("RUBRIC", "the consent text in `my_record`"),
    "lesson02.one_threshold_harm": ("RUBRIC", "the `explanation`"),
    "lesson05.deletion_request": ("ERASURE_RUBRIC", "the letter in `erasure[\"letter\"]`"),
    "lesson05.position_statement": ("POSITION_RUBRIC", "the `statement`"),
    "lesson06.audit_report": ("REPORT_RUBRIC", "the evidence and recommendations written in `report`"),
}

_CHECK_CALL = re.compile(r"\bcheck\.(\w+)\s*\(")
_CHECK_MODULE = re.compile(r"from\s+course\.checks\s+import\s+(\w+)\s+as\s+check\b")
NBGRADER_CONFIG = '''\
# nbgrader settings for the Faces at Scale course (written once by `python -m course nbgrader`; yours to edit).
c = get_config()
c.CourseDirectory.course_id = "faces-at-scale"
# Lessons take up to a minute on 2 cores and one cell (lesson 05's crawler check) up to about 20 s;
# nbgrader's default of 30 s per cell is too close on a busy machine.
c.Execute.timeout = 300
'''


@dataclass(frozen=True)
class GradedPart:
    """One part of a lesson that gives points: a check call, a prose answer, or a concept check."""

    grade_id: str
    section: str       # the exercise's or concept check's heading, without its minutes
    kind: str          # "check" (autograded), "prose" (graded by hand) or "concept" (autograded)
    points: int
    check: str         # the check function called, e.g. "lesson00.rerendered_image"


def _source_text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _nbgrader(grade_id: str, *, solution=False, grade=False, locked=False, task=False, points=None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": task}
    if points is not None:
        meta["points"] = points
    return meta


def _slug(section: str) -> str:
    """A grade id from a heading: ``exercise-3b`` for an exercise, the whole title for a concept check."""
    number = re.match(r"Exercise\s+(\d+[a-z]?)", section)
    text = f"exercise {number.group(1)}" if number else section
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "solution"


def _split_after_solution(source: str, where: str) -> tuple[str, str]:
    """A solution cell's source cut after its last ``### END SOLUTION`` line: (answer part, test part)."""
    lines = source.split("\n")
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if not ends:
        raise ValueError(f"{where}: {BEGIN} without {END}")
    answer, test = "\n".join(lines[: ends[-1] + 1]), "\n".join(lines[ends[-1] + 1:]).strip("\n")
    return answer, test


def _rubric_cell(part: GradedPart, what: str, rubric: str) -> dict:
    text = (f"**Graded by hand ({part.points} points): {what}, in “{part.section}”.** The check above judged the "
            "parts a machine can judge; your instructor reads the prose and marks it with this rubric: "
            f"{part.points} points when every line is met, fewer as lines are missing."
            f"\n\n```text\n{rubric.strip()}\n```")
    return {"cell_type": "markdown", "metadata": {"nbgrader": _nbgrader(part.grade_id, task=True, locked=True,
                                                                           points=part.points)},
            "source": text}


def nbgrader_notebook(notebook: dict, lesson: str = "lesson") -> tuple[dict, list[GradedPart]]:
    """nbgrader's source version of one lesson notebook (nbformat 4 JSON as a dict) and its graded parts.

    ``lesson`` names the notebook in error messages. Raises ValueError for a solution region with no check
    call after it in its cell (an exercise nbgrader could not grade must not pass unnoticed)."""
    made = copy.deepcopy(notebook)
    made.get("metadata", {}).pop("widgets", None)
    module = _CHECK_MODULE.search("\n".join(_source_text(c) for c in made["cells"] if c["cell_type"] == "code"))
    cells, parts, used_ids, section = [], [], set(), None

    def unique(grade_id: str) -> str:
        candidate, n = grade_id, 2
        while candidate in used_ids:
            candidate, n = f"{grade_id}-part-{n}", n + 1
        used_ids.add(candidate)
        return candidate

    for cell in made["cells"]:
        source = _source_text(cell)
        cell.get("metadata", {}).pop("nbgrader", None)  # the lesson's own marks; what is graded is decided here
        if cell["cell_type"] == "markdown":
            headings = _HEADING.findall(source)
            if headings:
                section = headings[-1][1].strip()
            cell["source"] = without_instructor_notes(source)
            cells.append(cell)
            continue
        if cell["cell_type"] != "code" or BEGIN not in source:
            cells.append(cell)
            continue
        where = f"{lesson}: {section or 'a solution before any exercise heading'}"
        answer, test = _split_after_solution(source, where)
        calls = _CHECK_CALL.findall(test)
        if not calls:
            raise ValueError(f"{where}: its solution region has no check.…(...) call after it in the same cell, "
                             "so nbgrader could not grade it")
        base = _slug(section or "solution")
        concept = bool(section and section.startswith("Concept check"))
        graded = not (concept and "before" in section.casefold())
        check = f"{module.group(1) if module else 'check'}.{calls[-1]}"
        answer_cell = copy.deepcopy(cell)
        answer_cell.update(source=answer, outputs=[], execution_count=None)
        answer_cell["metadata"] = dict(cell["metadata"], nbgrader=_nbgrader(unique(f"{base}-answer"),
                                                                                    solution=True))
        test_id = unique(f"{base}-check")
        points = (POINTS_PER_CONCEPT_CHECK if concept else POINTS_PER_CHECK) if graded else None
        test_cell = {"cell_type": "code", "execution_count": None, "outputs": [], "source": test,
                     "metadata": {"nbgrader": _nbgrader(test_id, grade=graded, locked=True, points=points)}}
        if "id" in cell:
            test_cell["id"] = f"{cell['id'][:58]}-check"
        cells += [answer_cell, test_cell]
        if graded:
            parts.append(GradedPart(test_id, section or "solution", "concept" if concept else "check", points, check))
        if check in PROSE_RUBRICS:
            attribute, what = PROSE_RUBRICS[check]
            lesson_module = importlib.import_module(f"course.checks.{check.split('.')[0]}")
            part = GradedPart(unique(f"{base}-prose"), section or "solution", "prose", POINTS_PER_PROSE, check)
            rubric_cell = _rubric_cell(part, what, getattr(lesson_module, attribute))
            if "id" in cell:
                rubric_cell["id"] = f"{cell['id'][:58]}-prose"
            cells.append(rubric_cell)
            parts.append(part)
    made["cells"] = cells
    return made, parts


def points(parts: list[GradedPart]) -> tuple[int, int]:
    """(autograded points, points graded by hand) of a lesson's graded parts."""
    return (sum(p.points for p in parts if p.kind != "prose"), sum(p.points for p in parts if p.kind == "prose"))


def write_nbgrader_course(course_dir: Path, sources: list[Path] | None = None) -> dict[str, list[GradedPart]]:
    """Write ``source/<lesson>/<lesson>.ipynb`` for every lesson into an nbgrader course folder (made if
    missing), and ``nbgrader_config.py`` if there is none yet. The source notebooks are regenerated each time
    (they are derived from ``notebooks/``; edit the lessons, not them). Returns each lesson's graded parts."""
    course_dir = Path(course_dir)
    course_dir.mkdir(parents=True, exist_ok=True)
    config = course_dir / "nbgrader_config.py"
    if not config.exists():
        config.write_text(NBGRADER_CONFIG, encoding="utf-8")
    graded = {}
    for path in sources or lesson_sources():
        made, parts = nbgrader_notebook(json.loads(path.read_text(encoding="utf-8")), lesson=path.stem)
        target = course_dir / "source" / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(made, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        graded[path.stem] = parts
    return graded


def points_table(graded: dict[str, list[GradedPart]]) -> str:
    """The points per lesson as a Markdown table (the instructor guide carries the same table)."""
    rows = ["| lesson | autograded | graded by hand | total |", "|---|---|---|---|"]
    for lesson, parts in graded.items():
        auto, manual = points(parts)
        rows.append(f"| {lesson} | {auto} | {manual} | {auto + manual} |")
    return "\n".join(rows)


# A typical slip per lesson (grade id of the answer cell -> (text of the solution, what a learner writes)),
# taken from the mistakes each check names; a submission with it should get partial points and the hint.
TYPICAL_MISTAKES = {
    "00_start_here": {"exercise-1-answer": ('identity_parameters(record["identity_seed"])',
                                            'identity_parameters(record["view_seed"])')},
    "01_faces_as_data": {"exercise-1-answer": ('"notified": False', '"notified": "no"')},
    "02_embeddings": {"exercise-2-answer": ("np.sort(dev_impostor)", "np.sort(test_impostor)")},
    "02b_learned_embeddings": {"exercise-1-answer": ("distances - threshold + margin", "distances - threshold")},
    "03_similarity_search": {"exercise-1-answer": ("return candidates[np.argsort(squared[candidates])]",
                                                   "return candidates")},
    "03b_sharded_search": {"exercise-2-answer": ("p_slow = 1 - 0.99**n_shards", "p_slow = 0.01 * n_shards")},
    "04_deletion": {"exercise-2-answer": ("return vectors[alive], ids[alive]", "return vectors, ids")},
}


def nbgrader_environment() -> dict[str, str]:
    """The environment to run the ``nbgrader`` command in from Python: this interpreter's ``bin`` first on the
    PATH (nbgrader starts ``alembic`` from there to make its gradebook) and no ``NBGRADER_EXECUTION`` left over."""
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def answered(released: dict, source: dict, *, mistakes: dict[str, tuple[str, str]] | None = None,
             left_as_stubs: tuple[str, ...] = ()) -> dict:
    """A submission made from nbgrader's release: each answer cell holds the source's solution (markers
    removed), except the grade ids in ``left_as_stubs`` (kept as released) and ``mistakes[grade_id] = (old,
    new)``, a learner's typical slip applied to that solution. Used to try a course's grading end to end."""
    solutions = {c["metadata"].get("nbgrader", {}).get("grade_id"): _source_text(c) for c in source["cells"]}
    made = copy.deepcopy(released)
    for cell in made["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if not meta.get("solution") or meta["grade_id"] in left_as_stubs:
            continue
        text = "\n".join(line for line in solutions[meta["grade_id"]].split("\n") if line.strip() not in (BEGIN, END))
        if meta["grade_id"] in (mistakes or {}):
            old, new = mistakes[meta["grade_id"]]
            if old not in text:
                raise ValueError(f"{meta['grade_id']}: {old!r} is not in its solution")
            text = text.replace(old, new)
        cell["source"] = text
    return made
