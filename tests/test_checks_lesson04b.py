"""Lesson 04b checks: the concept questions, and exercise 1 (reading the ε sweep) with wrong and right answers.

The sweep rows are built with the lesson's measured counts (395 members, 385 non-members), so the tests pin
the check's logic; the lesson's own sweep is the one the notebook passes in (strict nbval re-runs it)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from course import privacy
from course.checks import lesson04b as check
from course.unlearning import AttackResult

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04b_defences.ipynb"
MEMBERS, NONMEMBERS = 395, 385


def _row(epsilon, correct, hits_at_1pct, hits_at_01pct=1):
    attack = AttackResult(auc=0.5, tpr_at_1pct=hits_at_1pct / MEMBERS, tpr_at_01pct=hits_at_01pct / MEMBERS,
                          n_members=MEMBERS, n_nonmembers=NONMEMBERS)
    noise = None if epsilon is None else 1.0
    return privacy.SweepRow(epsilon, noise, correct / NONMEMBERS, NONMEMBERS, attack)


# The lesson's sweep (seed 0): photos correct out of 385, and LiRA's hits at 1 % FPR out of 395.
SWEEP = [_row(0.3, 1, 6, 0), _row(1.0, 3, 5), _row(3.0, 35, 3), _row(10.0, 173, 4), _row(30.0, 296, 3, 2),
         _row(100.0, 330, 3), _row(math.inf, 350, 9), _row(None, 383, 110, 75)]
RIGHT_COST = 383 / 385 - 330 / 385  # 0.1377


def test_the_test_sweep_reads_as_the_lesson_does():
    by_epsilon = {r.epsilon: r for r in SWEEP}
    assert check.best_at_chance(SWEEP) is by_epsilon[100.0]
    low, high = by_epsilon[math.inf].interval(by_epsilon[math.inf].attack.tpr_at_1pct)
    assert low > 0.01  # SGD without noise: above chance
    assert round(RIGHT_COST, 4) == 0.1377


# --------------------------------------------------------------------------- exercise 1

@pytest.mark.parametrize("choice, cost", [
    (100.0, RIGHT_COST),                     # computed from the rows
    (100, 0.138),                            # read from the table (99.5 % - 85.7 %), an int epsilon
    (np.float64(100), np.float64(0.14)),     # numpy numbers, rounded to two decimals
    (1e2, np.array([RIGHT_COST])),           # a one-element array
    (100.0, RIGHT_COST / (383 / 385)),       # relative to the ordinary accuracy: the same to two decimals here
])
def test_right_answers_written_differently_pass(choice, cost, capsys):
    feedback = check.private_model_choice(choice, cost, SWEEP)
    assert feedback.correct, feedback.message
    assert "ε = 100" in feedback.message and "promises nothing" in feedback.message


@pytest.mark.parametrize("choice, cost, expected", [
    (check.NOT_SET, check.NOT_SET, "not set model_choice yet"),
    (None, 0.0, "ordinary model (None): LiRA's TPR at 1 % FPR is 27.8%"),          # the most accurate, ignoring privacy
    (math.inf, 0.08, "does not contain 1 %"),                                       # SGD without noise: above chance
    (0.3, 0.99, "not the most accurate such model"),                                # most private, not most useful
    (30.0, 0.22, "ε = 100 is too, at 85.7% accuracy against 76.9%"),
    (10.0, 0.55, "not the most accurate such model"),
    ("100", 0.14, "not text"),
    ("ε = 100", 0.14, "not text"),
    (50.0, 0.14, "No row of the sweep has ε = 50"),
    (True, 0.14, "should be a number"),
    (100.0, check.NOT_SET, "not set accuracy_cost yet"),
    (100.0, None, "not set accuracy_cost yet"),
    (100.0, 13.8, "looks like percentage points"),
    (100.0, 14, "looks like percentage points"),
    (100.0, -RIGHT_COST, "sign is reversed"),
    (100.0, 330 / 385, "the chosen model's accuracy, not its cost"),
    (100.0, 1 - 330 / 385, "error rate"),
    (100.0, 383 / 385 - 350 / 385, "cost of SGD without noise"),
    (100.0, 0.13, "not to two decimals"),                                         # whole percents: 99 % - 86 %
    (100.0, 0.30, "does not match the sweep"),
    (100.0, "0.14", "should be a number"),
])
def test_wrong_answers_are_refused_with_the_mistake_named(choice, cost, expected, capsys):
    feedback = check.private_model_choice(choice, cost, SWEEP)
    assert not feedback.correct
    assert expected in feedback.message, feedback.message


def test_a_tie_in_accuracy_goes_to_the_more_private_model():
    tied = [_row(30.0, 330, 3), _row(100.0, 330, 3), _row(None, 383, 110)]
    assert check.best_at_chance(tied).epsilon == 30.0
    feedback = check.private_model_choice(100.0, RIGHT_COST, tied)
    assert not feedback.correct and "on a tie, take the more private one" in feedback.message
    assert check.private_model_choice(30.0, RIGHT_COST, tied).correct


def test_the_verdict_follows_the_sweep_it_is_given():
    # If the no-noise row were at chance, it would be the answer: the check reads the rows, not a stored key.
    other = [r if r.epsilon != math.inf else _row(math.inf, 350, 4) for r in SWEEP]
    assert check.private_model_choice(math.inf, 383 / 385 - 350 / 385, other).correct
    assert not check.private_model_choice(100.0, RIGHT_COST, other).correct


def test_a_sweep_without_the_ordinary_model_is_a_clear_error():
    with pytest.raises(ValueError, match="ordinary model"):
        check.private_model_choice(100.0, 0.1, SWEEP[:-1])


# --------------------------------------------------------------------------- concept questions

@pytest.mark.parametrize("questions, judge", [(check.BEFORE, check.concepts_before), (check.AFTER, check.concepts_after)])
def test_the_key_passes_and_every_wrong_letter_fails(questions, judge, capsys):
    key = {n: q.answer for n, q in enumerate(questions, start=1)}
    assert judge(key).correct
    assert judge([q.answer.upper() for q in questions]).correct  # a list, capitals
    for n, q in enumerate(questions, start=1):
        assert len(q.options) == 3 and q.answer in q.options
        for letter in q.options:
            if letter != q.answer:
                feedback = judge({**key, n: letter})
                assert not feedback.correct and f"The answer is {q.answer}" in feedback.message


def _cells():
    return json.loads(NOTEBOOK.read_text())["cells"]


@pytest.mark.parametrize("when, questions", [("before", check.BEFORE), ("after", check.AFTER)])
def test_the_notebook_lists_the_questions_verbatim_and_calls_the_check_next(when, questions):
    cells = _cells()
    (at,) = [i for i, c in enumerate(cells) if "".join(c["source"]).startswith(f"## Concept check · {when} the lesson")]
    listed = []
    for line in "".join(cells[at]["source"]).splitlines():
        if m := re.match(r"^(\d+)\. (.+)$", line):
            listed.append((m.group(2), {}))
        elif m := re.match(r"^\s+([a-z])\. (.+)$", line):
            listed[-1][1][m.group(1)] = m.group(2)
    assert listed == [(q.question, q.options) for q in questions]
    assert f"check.concepts_{when}(concepts_{when})" in "".join(cells[at + 1]["source"])


def test_the_committed_notebook_gives_the_exercise_and_the_before_check_a_tick():
    outputs = {}
    for cell in _cells():
        text = "".join(cell["source"])
        for name in ("check.concepts_before(", "check.private_model_choice(", "check.concepts_after("):
            if name in text:
                outputs[name] = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))
    assert outputs["check.concepts_before("].startswith("✅ All 3 right.")
    assert outputs["check.private_model_choice("].startswith("✅ ε = 100")
    assert outputs["check.concepts_after("].startswith("✅ All 5 right.")
