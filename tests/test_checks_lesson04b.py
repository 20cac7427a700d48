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
RIGHT_COST = 100 * (383 / 385 - 330 / 385)  # 13.77 percentage points


def test_the_test_sweep_reads_as_the_lesson_does():
    by_epsilon = {r.epsilon: r for r in SWEEP}
    assert check.best_at_chance(SWEEP) is by_epsilon[100.0]
    low, high = by_epsilon[math.inf].interval(by_epsilon[math.inf].attack.tpr_at_1pct)
    assert low > 0.01  # SGD without noise: above chance
    assert round(RIGHT_COST, 2) == 13.77


# --------------------------------------------------------------------------- exercise 1, part 1

@pytest.mark.parametrize("choice, cost", [
    (100.0, RIGHT_COST),                         # computed from the rows
    (100, 13.77),                                # rounded to two decimals, an int epsilon
    (np.float64(100), np.float64(13.76)),        # numpy numbers, truncated instead of rounded
    (1e2, np.array([RIGHT_COST])),               # a one-element array
    (100.0, 100 * 383 / 385 - 100 * 330 / 385),  # each accuracy in percent first, then the difference
])
def test_right_answers_written_differently_pass(choice, cost, capsys):
    feedback = check.private_model_choice(choice, cost, SWEEP)
    assert feedback.correct, feedback.message
    assert "ε = 100" in feedback.message and "promises nothing" in feedback.message


ERROR_RATE = 100 * (1 - 330 / 385)                       # 14.29: measured against 100 %, not the ordinary model
RELATIVE = RIGHT_COST / (383 / 385)                      # 13.84: divided by the ordinary model's accuracy
RELATIVE_FROM_TABLE = 100 * (99.5 - 85.7) / 99.5         # 13.87


@pytest.mark.parametrize("wrong", [ERROR_RATE, RELATIVE, RELATIVE_FROM_TABLE, 14.3, 13.8, 0.1377, 0.1425])
def test_every_typical_wrong_cost_is_further_from_the_right_one_than_the_tolerance(wrong):
    assert abs(wrong - RIGHT_COST) > check.COST_TOLERANCE


@pytest.mark.parametrize("choice, cost, expected", [
    (check.NOT_SET, check.NOT_SET, "not set model_choice yet"),
    (None, 0.0, "ordinary model (None): LiRA's TPR at 1 % FPR is 27.8%"),          # the most accurate, ignoring privacy
    (math.inf, 8.57, "does not contain 1 %"),                                       # SGD without noise: above chance
    (0.3, 99.0, "not the most accurate such model"),                                # most private, not most useful
    (30.0, 22.0, "ε = 100 is too, at 85.7% accuracy against 76.9%"),
    (10.0, 55.0, "not the most accurate such model"),
    ("100", 13.77, "not text"),
    ("ε = 100", 13.77, "not text"),
    (50.0, 13.77, "No row of the sweep has ε = 50"),
    (True, 13.77, "should be a row's ε"),
    (float("nan"), 13.77, "should be a row's ε"),
    (100.0, check.NOT_SET, "not set accuracy_cost yet"),
    (100.0, None, "not set accuracy_cost yet"),
    (100.0, RIGHT_COST / 100, "looks like a fraction"),                            # the old unit
    (100.0, 0.14, "looks like a fraction"),
    (100.0, 0.1425, "looks like a fraction"),                                      # the error rate as a fraction
    (100.0, 0.15, "looks like a fraction"),
    (100.0, -RIGHT_COST, "sign is reversed"),
    (100.0, 100 * 330 / 385, "the chosen model's accuracy, not its cost"),
    (100.0, 85.7, "the chosen model's accuracy, not its cost"),
    (100.0, ERROR_RATE, "error rate"),
    (100.0, 14.29, "error rate"),
    (100.0, 14.3, "error rate"),                                                   # 100 - 85.7 from the table
    (100.0, RELATIVE, "relative drop"),
    (100.0, 13.84, "relative drop"),
    (100.0, RELATIVE_FROM_TABLE, "relative drop"),
    (100.0, 13.8, "table's rounded accuracies"),                                   # 99.5 - 85.7: one decimal only
    (100.0, 100 * (383 / 385 - 350 / 385), "cost of SGD without noise"),
    (100.0, 8.6, "cost of SGD without noise"),
    (100.0, 13, "whole percentages"),                                              # 99 % - 86 %
    (100.0, 13.6, "not to two decimals"),
    (100.0, 15, "does not match the sweep"),
    (100.0, 30.0, "does not match the sweep"),
    (100.0, "13.77", "should be a number"),
])
def test_wrong_answers_are_refused_with_the_mistake_named(choice, cost, expected, capsys):
    feedback = check.private_model_choice(choice, cost, SWEEP)
    assert not feedback.correct
    assert expected in feedback.message, feedback.message


def test_the_success_message_takes_the_guarantee_from_tpr_bound(capsys):
    # At ε = 3 the bound on TPR at 1 % FPR is 20.1 %, not "nothing": the message must say so, not a fixed phrase.
    sweep = [_row(3.0, 330, 3), _row(None, 383, 110)]
    feedback = check.private_model_choice(3.0, RIGHT_COST, sweep)
    assert feedback.correct and f"{privacy.tpr_bound(3.0, 0.01):.1%}" in feedback.message
    assert "promises nothing" not in feedback.message
    no_noise = [_row(math.inf, 330, 3), _row(None, 383, 110)]
    assert "no privacy guarantee at all" in check.private_model_choice(math.inf, RIGHT_COST, no_noise).message


# --------------------------------------------------------------------------- exercise 1, part 2

@pytest.mark.parametrize("answer", [
    [0.3, 1.0],                    # from the table: 1.5 % and 1.3 % are above 1 %, 1.0 % (ε = 10) is not
    (1, 0.3),                      # a tuple, ints, any order
    np.array([0.3, 1.0]),
    [0.3, 1.0, 10.0],              # from the rows: ε = 10's 4/395 = 1.01 % is above 1 % too
    {0.3, 1, 10},
    [0.3, 0.3, 1.0],               # a repeat changes nothing
])
def test_rows_above_one_percent_yet_at_chance_right_answers_pass(answer, capsys):
    feedback = check.intervals_read(answer, SWEEP)
    assert feedback.correct, feedback.message
    assert "ε = 0.3 (1.5% [0.7%, 3.3%]), bound 1.4%: the point is above the bound" in feedback.message


@pytest.mark.parametrize("answer, expected", [
    (check.NOT_SET, "not set above_1pct_at_chance yet"),
    ([], "left out 2 row(s)"),                                        # "nothing is above chance": reads intervals only
    ([0.3], "left out 1 row(s)"),
    ([1.0, 10.0], "left out 1 row(s)"),
    ([0.3, 1.0, math.inf], "SGD without noise (math.inf) (2.3% [1.2%, 4.3%]): its interval does not contain 1 %"),
    ([math.inf, None], "interval does not contain 1 %"),              # point above 1 %, read without intervals
    ([0.3, 1.0, 3.0], "ε = 3 (0.8% [0.3%, 2.2%]): its point TPR is not above 1 %"),
    ([3.0, 30.0, 100.0], "its point TPR is not above 1 %"),           # the rows at chance by their point
    ([0.3, 1.0, 3.0, 10.0, 30.0, 100.0], "its point TPR is not above 1 %"),   # every DP row
    ([0.3, 50.0], "No row of the sweep has ε = 50"),
    ("0.3, 1", "should be a list"),
    (0.3, "should be a list"),
    (None, "should be a list"),
    ([0.3, "1"], "not text"),
    ([0.3, float("nan")], "should be a row's ε"),
])
def test_rows_above_one_percent_yet_at_chance_wrong_answers_are_named(answer, expected, capsys):
    feedback = check.intervals_read(answer, SWEEP)
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
    assert check.private_model_choice(math.inf, 100 * (383 / 385 - 350 / 385), other).correct
    assert not check.private_model_choice(100.0, RIGHT_COST, other).correct


def test_a_sweep_without_the_ordinary_model_is_a_clear_error():
    with pytest.raises(ValueError, match="ordinary model"):
        check.private_model_choice(100.0, 13.77, SWEEP[:-1])
    with pytest.raises(ValueError, match="ordinary model"):
        check.intervals_read([0.3], SWEEP[:-1])


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
        for name in ("check.concepts_before(", "check.private_model_choice(", "check.intervals_read(",
                     "check.concepts_after("):
            if name in text:
                outputs[name] = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))
    assert outputs["check.concepts_before("].startswith("✅ All 3 right.")
    assert outputs["check.private_model_choice("].startswith("✅ ε = 100")
    assert "\n✅ ε = 0.3" in outputs["check.intervals_read("]
    assert outputs["check.concepts_after("].startswith("✅ All 5 right.")
