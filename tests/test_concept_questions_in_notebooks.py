"""Each lesson's concept questions read the same in its notebook as in its check module.

A lesson with concept questions lists them in two markdown cells, ``## Concept check · before the lesson``
and ``## Concept check · after the lesson``, as a numbered list with lettered options; the check module
holds the same questions in ``BEFORE`` and ``AFTER`` and judges the learner's letters. If the two drift
apart, a learner is judged on a question they never read, so the text must agree word for word."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
HEADING = re.compile(r"^## Concept check · (before|after) the lesson \(\d+ min\)", re.MULTILINE)


def _lessons_with_concept_checks() -> list[tuple[Path, str]]:
    found = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb")):
        text = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
        found += [(path, when) for when in HEADING.findall(text)]
    return found


def _listed_questions(path: Path, when: str) -> list[tuple[str, dict[str, str]]]:
    """The numbered questions and lettered options under the notebook's concept-check heading."""
    cells = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown"]
    (cell,) = [c for c in cells if c.startswith(f"## Concept check · {when} the lesson")]
    questions = []
    for line in cell.splitlines():
        if m := re.match(r"^(\d+)\. (.+)$", line):
            assert int(m.group(1)) == len(questions) + 1, f"question numbers out of order at {line!r}"
            questions.append((m.group(2), {}))
        elif m := re.match(r"^\s+([a-z])\. (.+)$", line):
            questions[-1][1][m.group(1)] = m.group(2)
    return questions


def assert_every_letter_judged(module) -> None:
    """A lesson's concept questions: the right letters pass, written two ways, and each wrong letter of each question
    fails with that question's explanation. Each lesson's check tests call this for its module."""
    for questions, judge in ((module.BEFORE, module.concepts_before), (module.AFTER, module.concepts_after)):
        right = {n: q.answer for n, q in enumerate(questions, start=1)}
        assert judge(right) and judge([q.answer.upper() + ")" for q in questions])
        for n, q in enumerate(questions, start=1):
            assert len(q.options) >= 3 and q.answer in q.options
            for wrong in set(q.options) - {q.answer}:
                feedback = judge({**right, n: wrong})
                assert not feedback and f"{n}. ❌ {wrong}: not this one. The answer is {q.answer}" in feedback.message


def test_the_lessons_of_this_course_have_concept_checks():
    lessons = {path.name[:2] for path, _ in _lessons_with_concept_checks()}
    assert {"00", "01", "06"} <= lessons


@pytest.mark.parametrize("path, when", _lessons_with_concept_checks(), ids=lambda v: getattr(v, "stem", v))
def test_notebook_lists_the_check_modules_questions_verbatim(path, when):
    module = importlib.import_module(f"course.checks.lesson{path.name.split('_')[0]}")
    expected = [(q.question, q.options) for q in (module.BEFORE if when == "before" else module.AFTER)]
    assert _listed_questions(path, when) == expected
    code = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    assert any(f"check.concepts_{when}(concepts_{when})" in c for c in code)
