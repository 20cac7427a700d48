"""Exercise checks, one module per lesson (``lesson00`` ... ``lesson06``), and the verdict they share.

A notebook imports its lesson's checks as ``from course.checks import lesson03 as check``.

Each check compares a student's answer with the right one *and* with the typical
wrong answers, and says which mistake it looks like, with a hint. A check prints its
verdict and returns a :class:`Feedback` (truthy when the answer is right), so it can
also be used in tests.
"""

from __future__ import annotations

import difflib
import numbers
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


def verdict(correct: bool, message: str) -> Feedback:
    """Print a check's verdict and return it; every lesson's check module uses this."""
    feedback = Feedback(correct, message)
    print(feedback)
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
