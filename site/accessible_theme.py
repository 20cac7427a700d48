"""Sphinx extension of the course site: the theme's controls get accessible names that match what they show.

axe-core (tests/test_accessibility.py) found three controls of sphinx-book-theme 1.3 / pydata-sphinx-theme
0.17 / myst-nb 1.4 whose accessible name does not contain their visible text (WCAG 2.1 SC 2.5.3
"Label in Name", axe rule ``label-content-name-mismatch``): a speech-input user who says what they see
("click Show code cell source") cannot reach them. The fixes:

* the search field ("Search Ctrl+K", named "Search") and the colour-mode button (its icons' tooltips
  "Light", "Dark", "System Settings" are read as its text, named "Color mode"): templates in
  ``site/_templates/`` that replace the theme's, added to ``templates_path`` here;
* the toggle of a collapsed solution cell ("Show code cell source", named "Toggle hidden content"):
  myst-nb writes it from Python, so its HTML visitor is replaced by one without the ``aria-label``; the
  name is then the visible text.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from myst_nb.sphinx_ import HideCodeCellNode, depart_HideCellInput

TEMPLATES = Path(__file__).parent / "_templates"


def visit_hidden_input(self, node: HideCodeCellNode) -> None:
    """Open a collapsed cell input as myst-nb does, but let the toggle be named by its visible text."""
    self.body.append(f'<details class="admonition hide {" ".join(node["classes"])}">\n<summary>\n'
                     f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n'
                     f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n'
                     "</summary>\n")


def add_templates(app, config) -> None:
    config.templates_path = [str(TEMPLATES), *config.templates_path]


def setup(app):
    app.connect("config-inited", add_templates)
    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_input, depart_HideCellInput))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
