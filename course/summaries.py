"""One-page printable summaries of the lessons, made from each notebook's own words.

An instructor projects or prints a lesson's summary at the start or end of a session: its title, why it
matters, its questions, its learning objectives and its key points, taken from the notebook itself, so there is no second
source to keep up to date. ``python -m course summaries --out DIR`` writes one HTML page per lesson (print it
from a browser; ``tests/test_summaries.py`` prints each to PDF and checks that it fits on one A4 page)."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

import mistune

from .student import lesson_sources

_MARKDOWN = mistune.create_markdown(escape=False, plugins=["table", "strikethrough"])

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} · summary</title>
<style>
  @page {{ size: A4; margin: 12mm 15mm; }}
  body {{ font-family: "DejaVu Sans", Arial, sans-serif; font-size: 9.5pt; line-height: 1.28; color: #111;
         max-width: 46em; margin: 1em auto; }}
  h1 {{ font-size: 16pt; margin: 0 0 0.3em; }}
  h2 {{ font-size: 12pt; margin: 0.8em 0 0.2em; color: #0b4f8a; }}
  p, li {{ margin: 0.15em 0; }}
  ul, ol {{ padding-left: 1.4em; margin: 0.2em 0; }}
  a {{ color: #0b4f8a; }}
  footer {{ margin-top: 0.8em; font-size: 8.5pt; color: #444; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
{why}
<h2>Questions</h2>
{questions}
<h2>By the end you can</h2>
{objectives}
<h2>Key points</h2>
{key_points}
</main>
<footer>{footer}</footer>
</body>
</html>
"""


@dataclass
class LessonSummary:
    """What a lesson's one-page summary says, as markdown taken from its notebook."""

    notebook: str
    title: str
    why: str
    questions: str
    objectives: str
    key_points: str
    timing: str

    def html(self) -> str:
        """The printable page."""
        footer = (f"Faces at Scale · {html.escape(self.notebook)} · {html.escape(self.timing)} · "
                  "made from the lesson notebook by <code>python -m course summaries</code>")
        return _PAGE.format(title=html.escape(self.title), why=_MARKDOWN(self.why),
                            questions=_MARKDOWN(self.questions),
                            objectives=_MARKDOWN(self.objectives), key_points=_MARKDOWN(self.key_points),
                            footer=footer)


def _section(markdown: str, heading: str) -> str:
    """The text under a ``## heading`` up to the next heading of level 1 or 2 (or a notes block)."""
    match = re.search(rf"^##[ \t]+{re.escape(heading)}[ \t]*\n(.*?)(?=^#{{1,2}}[ \t]|<details>|\Z)", markdown,
                      re.M | re.S)
    if not match:
        raise ValueError(f"no '## {heading}' section")
    return match.group(1).strip()


def summarise(notebook: Path) -> LessonSummary:
    """The summary of one lesson notebook; a ValueError names what the notebook lacks."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    markdown = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    intro = "".join(cells[0]["source"])
    title = re.match(r"#[ \t]+(.+)", intro)
    why = re.search(r"\*\*Why it matters\.\*\*[ \t]*(.*?)(?=\n\n)", intro, re.S)
    objectives = re.search(r"\*\*Learning objectives\.\*\*[^\n]*\n(.*?)(?=\n\n|\Z)", intro, re.S)
    questions = re.search(r"\*\*Questions\*\*[ \t]*\n(.*?)(?=\n\n|\Z)", intro, re.S)
    timing = re.search(r"^\*\*Teaching.*?(?=\n\n|\Z)", intro, re.M | re.S)
    missing = [name for name, found in (("a '# title' line", title), ("'**Why it matters.**'", why),
                                        ("'**Questions**'", questions),
                                        ("'**Learning objectives.**'", objectives), ("'**Teaching …'", timing))
               if not found]
    if missing:
        raise ValueError(f"{Path(notebook).name}: its first cell has no " + ", no ".join(missing))
    try:
        key_points = _section(markdown, "Key points")
    except ValueError as error:
        raise ValueError(f"{Path(notebook).name}: {error}") from None
    return LessonSummary(notebook=Path(notebook).name, title=title.group(1).strip(), why=why.group(1).strip(),
                         questions=questions.group(1).strip(), objectives=objectives.group(1).strip(), key_points=key_points,
                         timing=" ".join(timing.group(0).replace("**", "").split()))


def write_summaries(out: str | Path, notebooks: list[Path] | None = None) -> list[Path]:
    """Write one ``NN_name.html`` summary per lesson, and an ``index.html`` listing them, into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written, links = [], []
    for notebook in notebooks or lesson_sources():
        summary = summarise(notebook)
        page = out / (Path(notebook).stem + ".html")
        page.write_text(summary.html(), encoding="utf-8")
        written.append(page)
        links.append(f'<li><a href="{page.name}">{html.escape(summary.title)}</a></li>')
    index = out / "index.html"
    index.write_text('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                     "<title>Faces at Scale · one-page lesson summaries</title></head>\n<body><main>"
                     "<h1>One-page lesson summaries</h1>\n<p>Print or project one at the start or the end of a "
                     "session.</p>\n<ul>\n" + "\n".join(links) + "\n</ul></main></body></html>\n",
                     encoding="utf-8")
    return written + [index]
