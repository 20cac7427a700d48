"""Every figure in the committed lessons carries alt text that says what it shows (WCAG 2.1 SC 1.1.1).

``course.plots.show`` puts the alt text into the output's metadata; this test reads it back from the
committed notebooks. The fixture tests show that the check finds a figure displayed without ``show``.
"""

from __future__ import annotations

import json

import pytest
from figures import alt_text_problem, figure_alt_texts, figure_notebook

from course import launch


@pytest.mark.parametrize("notebook", launch.lesson_notebooks(), ids=lambda path: path.stem)
def test_every_figure_in_a_lesson_has_alt_text(notebook):
    alts = figure_alt_texts(json.loads(notebook.read_text()))
    problems = [f"figure {i + 1}: {problem}" for i, alt in enumerate(alts) if (problem := alt_text_problem(alt))]
    assert not problems, f"{notebook.name}: display figures with course.plots.show(fig, alt=...):\n" + "\n".join(problems)


def test_figures_shown_with_show_pass():
    alts = ["Two lines cross at the middle of the chart.", 'Recall "at 10" rises from <0.5 to 0.9.']
    assert figure_alt_texts(figure_notebook(alts)) == alts
    assert [alt_text_problem(alt) for alt in alts] == [None, None]


def test_a_figure_shown_without_show_is_found():
    notebook = figure_notebook(["Two lines cross at the middle of the chart."])
    output = notebook["cells"][1]["outputs"][0]
    output["metadata"] = {}  # as plt.show() or display(fig) leave it
    assert figure_alt_texts(notebook) == [None]
    assert alt_text_problem(None) == "no alt text"


@pytest.mark.parametrize("alt", ["", "  ", "a plot", "../_images/dbcfcaf4f89945f8513a1f375b5c7d13.png",
                                 "Figure 3 see file fig3.png"])
def test_file_names_and_short_alt_texts_are_problems(alt):
    assert alt_text_problem(alt)
