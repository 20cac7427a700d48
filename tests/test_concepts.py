"""Concept questions before and after each lesson (course.checks.concept_quiz)."""

import pytest

from course.checks import ConceptQuestion, concept_quiz

QUESTIONS = [
    ConceptQuestion("Q1?", {"a": "one", "b": "two"}, "b", "because two."),
    ConceptQuestion("Q2?", {"a": "one", "b": "two", "c": "three"}, "a", "because one."),
]


@pytest.mark.parametrize("answers", [{1: "b", 2: "a"}, ["b", "a"], ("B", " a "), {1: "(b)", 2: "a)"},
                                     {2: "A.", 1: "b"}, {"1": "b", "2": "a"}])
def test_right_letters_written_differently_are_all_right(answers, capsys):
    feedback = concept_quiz("after", QUESTIONS, answers)
    assert feedback.correct and "All 2 right" in feedback.message
    assert "because two." in capsys.readouterr().out


@pytest.mark.parametrize("answers, expected", [
    ({1: "a", 2: "a"}, "1 of 2 right"),
    ({1: "b", 2: "c"}, "The answer is a (one)"),
    ({1: "b", 2: None}, "not answered question 2"),
    ({1: None, 2: None}, "not answered questions 1, 2"),
    ({1: "b", 2: "d"}, "'d' is not one of the letters a, b, c"),
    ({1: "b", 2: 1}, "is not one of the letters"),
    ({1: "b", 2: "a", 3: "c"}, "3 is not one of them"),
    ("ba", "not a str"),
])
def test_wrong_or_missing_letters_are_refused_with_the_reason(answers, expected):
    feedback = concept_quiz("after", QUESTIONS, answers)
    assert not feedback.correct and expected in feedback.message


def test_before_the_lesson_wrong_answers_are_called_expected():
    feedback = concept_quiz("before", QUESTIONS, {1: "a", 2: "a"})
    assert not feedback.correct and "that is expected" in feedback.message


def _lessons():
    from course.student import lesson_sources
    return lesson_sources()


@pytest.mark.parametrize("notebook", _lessons(), ids=lambda p: p.stem)
def test_every_lesson_asks_its_concept_questions_before_and_after_as_its_check_module_knows_them(notebook):
    """Each lesson has a "Concept check · before" and "· after" section whose markdown shows, verbatim, the
    questions and options its check module judges, followed by a cell that calls the matching check."""
    import importlib
    import json
    import re

    module = importlib.import_module("course.checks.lesson" + notebook.stem.split("_")[0])
    cells = json.loads(notebook.read_text())["cells"]
    texts = ["".join(c["source"]) for c in cells]

    def normal(text):
        return " ".join(text.split())

    for when in ("before", "after"):
        questions = getattr(module, when.upper())
        assert 3 <= len(questions) <= 6
        heading = [i for i, t in enumerate(texts) if re.search(rf"^## Concept check · {when} the lesson", t, re.M)]
        assert len(heading) == 1, f"{notebook.name}: one '## Concept check · {when} the lesson' heading"
        markdown, code = normal(texts[heading[0]]), texts[heading[0] + 1]
        for number, question in enumerate(questions, start=1):
            assert normal(f"{number}. {question.question}") in markdown
            for letter, option in question.options.items():
                assert normal(f"{letter}. {option}") in markdown
            assert question.answer in question.options
        assert cells[heading[0] + 1]["cell_type"] == "code" and f"check.concepts_{when}(" in code


@pytest.mark.parametrize("notebook", _lessons(), ids=lambda p: p.stem)
def test_each_lessons_concept_checks_accept_the_key_and_refuse_every_wrong_letter(notebook):
    import importlib

    module = importlib.import_module("course.checks.lesson" + notebook.stem.split("_")[0])
    for when in ("before", "after"):
        questions, judge = getattr(module, when.upper()), getattr(module, f"concepts_{when}")
        key = {n: q.answer for n, q in enumerate(questions, start=1)}
        assert judge(key).correct and judge([a.upper() for a in key.values()]).correct
        for number, question in key.items():
            for wrong in set(questions[number - 1].options) - {question}:
                feedback = judge({**key, number: wrong})
                assert not feedback.correct and f"The answer is {question}" in feedback.message


@pytest.mark.parametrize("notebook", _lessons(), ids=lambda p: p.stem)
def test_no_test_taking_trick_answers_a_lessons_concept_questions(notebook):
    """Picking the longest option, the shortest, the one of middle length, or always the same letter gets at most
    60 % of a quiz right, so the key is found by knowing the answer, not by the shape of the options."""
    import importlib

    module = importlib.import_module("course.checks.lesson" + notebook.stem.split("_")[0])
    for when in ("before", "after"):
        questions = getattr(module, when.upper())
        allowed = int(0.6 * len(questions))
        tricks = {"the longest option": [max(q.options, key=lambda k: len(q.options[k])) for q in questions],
                  "the shortest option": [min(q.options, key=lambda k: len(q.options[k])) for q in questions],
                  "the option of middle length": [sorted(q.options, key=lambda k: len(q.options[k]))[len(q.options) // 2]
                                                  for q in questions]}
        tricks.update({f"always {letter!r}": [letter] * len(questions) for letter in "abcd"})
        for trick, picks in tricks.items():
            right = sum(pick == q.answer for pick, q in zip(picks, questions))
            assert right <= allowed, f"{notebook.stem} {when}: {trick} gets {right} of {len(questions)} right"
