"""Concept questions before and after each lesson (course.checks.concept_quiz)."""

import pytest

from course.checks import ConceptQuestion, concept_quiz

QUESTIONS = [
    ConceptQuestion("Q1?", {"a": "one", "b": "two"}, "b", "because two."),
    ConceptQuestion("Q2?", {"a": "one", "b": "two", "c": "three"}, "a", "because one."),
]


@pytest.mark.parametrize("answers", [{1: "b", 2: "a"}, ["b", "a"], ("B", " a "), {1: "(b)", 2: "a)"},
                                     {2: "A.", 1: "b"}])
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
