"""Exercise checks, one module per lesson (``lesson00`` ... ``lesson06``), and the verdict they share.

A notebook imports its lesson's checks as ``from course.checks import lesson03 as check``.

Each check compares a student's answer with the right one *and* with the typical
wrong answers, and says which mistake it looks like, with a hint. A check prints its
verdict and returns a :class:`Feedback` (truthy when the answer is right), so it can
also be used in tests.

Under nbgrader (which sets ``NBGRADER_EXECUTION`` to ``"autograde"`` or ``"validate"`` while it runs a
notebook), a check that says ❌ also raises :class:`CheckFailed` after printing, so the graded test cell
holding the check call scores 0 and nbgrader's feedback shows the hint. Anywhere else nothing is raised.
"""

from __future__ import annotations

import difflib
import numbers
import os
from dataclasses import dataclass

import numpy as np


@dataclass
class Feedback:
    """The verdict of a check: right or not, and what to say to the student."""

    correct: bool
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return ("✅ " if self.correct else "❌ ") + self.message

    def _ipython_display_(self) -> None:
        """Already printed by the check; show nothing more when it ends a notebook cell."""


GRADING_VARIABLE = "NBGRADER_EXECUTION"


class CheckFailed(AssertionError):
    """A check's ❌ while nbgrader grades the notebook: it makes the test cell fail and carries the hint.

    IPython shows it as one line (the hint was printed just above it), not a traceback through the checks."""

    def _render_traceback_(self) -> list[str]:
        return [f"CheckFailed (AssertionError): {self}"]


def graded_by_nbgrader() -> bool:
    """Is nbgrader executing this notebook now (autograde or validate)? nbgrader 0.9 sets
    ``NBGRADER_EXECUTION`` for exactly that time, and only then."""
    return bool(os.environ.get(GRADING_VARIABLE))


def verdict(correct: bool, message: str) -> Feedback:
    """Print a check's verdict and return it; every lesson's check module uses this.

    Under nbgrader a ❌ raises :class:`CheckFailed` after printing (see the module docstring)."""
    feedback = Feedback(correct, message)
    print(feedback)
    if not correct and graded_by_nbgrader():
        raise CheckFailed(message)
    return feedback


def chosen_option(value: object, options, field: str) -> tuple[str | None, str | None]:
    """Which of ``options`` a learner's ``value`` is, ignoring case, spacing and a final full stop.

    Returns ``(option, None)`` when it is one of them, else ``(None, message)`` with a message that names
    the field, the nearest option if there is one, and the options to copy from. Exercises whose answers
    are choices use this so that a right choice written with other capitals is never refused."""
    if not isinstance(value, str):
        return None, (f"{field} should be one of the options (a string), got {type(value).__name__}: "
                      + "; ".join(repr(o) for o in options) + ".")

    def normal(text: str) -> str:
        return " ".join(text.casefold().replace("’", "'").split()).rstrip(".")

    by_normal = {normal(o): o for o in options}
    if normal(value) in by_normal:
        return by_normal[normal(value)], None
    near = difflib.get_close_matches(normal(value), list(by_normal), n=1, cutoff=0.75)
    hint = f" Did you mean {by_normal[near[0]]!r}?" if near else ""
    return None, (f"{field}: {value!r} is not one of the options, so the check cannot judge it.{hint} "
                  "Copy one of: " + "; ".join(repr(o) for o in options) + ".")


def as_number(value: object) -> float | None:
    """A learner's number as a float; None for text, booleans and anything else.

    A numpy scalar, a 0-d array and a one-element numpy array are numbers too (numpy often returns them),
    so a right value is never refused for its container."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "fiu":
        value = value.item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        return None
    return float(value)


def not_done() -> None:
    """Say that a function exercise is still the stub; the caller then re-raises its NotImplementedError, so the
    learner's cell stops there, as every unfinished exercise does."""
    verdict(False, "The exercise is not done yet: replace the `raise NotImplementedError` with your code.")


def use_reference(what: str, value):
    """Hand a stuck learner the reference result of an exercise so the rest of the lesson still runs.

    Each lesson's check module offers ``reference_...()`` functions built on this one for the exercises
    whose result later cells use. It says plainly, in the notebook, that the learner's own answer was
    not used, so nobody mistakes the lesson's later outputs for a verdict on their work."""
    print(f"ℹ️ Using the reference result for {what}, not your own answer: later cells will run, "
          "but this exercise is not done. Come back to it when you can.")
    return value


@dataclass(frozen=True)
class ConceptQuestion:
    """One multiple-choice concept question of a lesson: the options by letter, the right letter, and why.

    The question and its options are also written in the notebook's markdown (so they can be read and
    printed without running anything); ``tests/test_concepts.py`` checks that the two agree."""

    question: str
    options: dict[str, str]
    answer: str
    why: str


def concept_quiz(when: str, questions: list[ConceptQuestion], answers) -> Feedback:
    """Judge a learner's letters for a lesson's concept questions and explain each one after the attempt.

    ``answers`` maps question numbers (from 1; ``"1"`` works too) to letters, e.g. ``{1: "b", 2: "a"}``; a list or tuple of
    letters in question order is accepted too, and ``"B"``, ``"b)"`` or ``"(b)"`` all mean ``"b"``.
    ``when`` is ``"before"`` or ``"after"`` the lesson: before it, wrong answers are expected and the
    message says so. Every question is judged; the verdict is ✅ only when all are right."""
    n = len(questions)
    if isinstance(answers, (list, tuple)):
        answers = dict(enumerate(answers, start=1))
    if isinstance(answers, dict):  # "1" and 1 both mean question 1
        answers = {int(k) if isinstance(k, str) and k.strip().isdigit() else k: v for k, v in answers.items()}
    if not isinstance(answers, dict):
        return verdict(False, f"Give your answers as a dict of question number → letter, e.g. "
                              f"{ {i: 'a' for i in range(1, n + 1)} }, not a {type(answers).__name__}.")
    unknown = sorted(str(k) for k in answers if k not in range(1, n + 1))
    if unknown:
        return verdict(False, f"There are questions 1 to {n}; {', '.join(unknown)} is not one of them.")
    lines, right, missing = [], 0, []
    for number, question in enumerate(questions, start=1):
        given = answers.get(number)
        letter = given.strip().strip("().").strip().casefold() if isinstance(given, str) else None
        if given is None:
            missing.append(number)
            continue
        if letter not in question.options:
            return verdict(False, f"Question {number}: {given!r} is not one of the letters "
                                  f"{', '.join(question.options)}.")
        if letter == question.answer:
            right += 1
            lines.append(f"  {number}. ✅ {letter}: {question.why}")
        else:
            lines.append(f"  {number}. ❌ {letter}: not this one. The answer is {question.answer} "
                         f"({question.options[question.answer]}): {question.why}")
    if missing:
        return verdict(False, "You have not answered question" + ("s " if len(missing) > 1 else " ")
                       + ", ".join(map(str, missing)) + " yet: put one letter for each.")
    if right == n:
        head = f"All {n} right."
    elif when == "before":
        head = (f"{right} of {n} right. Before the lesson that is expected: keep your answers in mind, "
                "the lesson comes back to each of them.")
    else:
        head = f"{right} of {n} right. Re-read the parts of the lesson that the explanations point to."
    return verdict(right == n, head + "\n" + "\n".join(lines))
