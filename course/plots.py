"""Figures shared by the lessons: face grids that say where each face came from, and a palette.

Faces are always shown with their provenance (synthetic: generator and seed;
consented: set and licence), as the course's rules ask.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from .provenance import describe

#: Okabe–Ito colours: distinguishable with the common forms of colour blindness. Colour is never the only
#: cue: pair it with a line style, marker, hatch, direct label or legend text.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: The smallest text a course figure carries, in points (STYLE: "Text in figures >= 8 pt").
MIN_FONT_PT = 8.0


def small_text(fig, minimum: float = MIN_FONT_PT) -> list[str]:
    """The visible texts of ``fig`` smaller than ``minimum`` points, as "'text' (size pt)": what to enlarge."""
    from matplotlib.text import Text

    fig.canvas.draw()  # tick labels get their text when drawn
    return [f"{text.get_text()!r} ({text.get_fontsize():.1f} pt)" for text in fig.findobj(Text)
            if text.get_visible() and text.get_text().strip() and text.get_fontsize() < minimum]


def show(fig, alt: str) -> None:
    """Display a figure in the notebook with a text alternative that says what it shows, then close it.

    Every figure of the course goes through here, so that a screen-reader user gets the figure's point
    (WCAG 2.1 success criterion 1.1.1). The output carries the alt text three ways: ``text/html`` (an
    ``<img alt=...>`` with the PNG inline, which JupyterLab and the course site render, so the alt reaches
    the page; JupyterLab's own PNG renderer sets no ``alt``), ``text/plain`` (read by plain-text front ends,
    and compared by nbval, so a changed description is noticed) and the PNG's ``alt`` metadata; the bare
    ``image/png`` stays for front ends that do not render HTML.
    Write what the figure shows and its take-away, not how it is drawn: "FMR falls and FNMR rises as the
    threshold grows; they cross near 0.40", not "a line plot". A figure with text under ``MIN_FONT_PT`` is
    refused, so every lesson's figures stay legible."""
    from IPython.display import display

    if not isinstance(alt, str) or len(alt.split()) < 4:
        raise ValueError(f"show(fig, alt=...) needs a sentence saying what the figure shows, got {alt!r}.")
    too_small = small_text(fig)
    if too_small:
        plt.close(fig)
        raise ValueError(f"text under {MIN_FONT_PT:g} pt is hard to read: enlarge " + ", ".join(too_small[:5])
                         + (f" and {len(too_small) - 5} more" if len(too_small) > 5 else "") + ".")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    display({"image/png": png, "text/html": figure_html(png, alt), "text/plain": f"[Figure] {alt}"}, raw=True,
            metadata={"image/png": {"alt": alt}})


def figure_html(png_base64: str, alt: str) -> str:
    """An ``<img>`` element showing a base64 PNG inline, with ``alt`` as its text alternative."""
    return f'<img src="data:image/png;base64,{png_base64}" alt="{html.escape(alt, quote=True)}">'


def face_grid(
    images: Sequence[np.ndarray] | np.ndarray,
    provenance: Sequence[dict],
    *,
    columns: int = 6,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    tile_inches: float = 1.6,
):
    """Show faces in a grid, each captioned with where it came from (and an optional label above)."""
    n = len(images)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(columns * tile_inches, rows * (tile_inches + 0.6)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (image, record) in enumerate(zip(images, provenance)):
        ax = axes.flat[i]
        ax.imshow(image)
        caption = _wrap(describe(record))
        ax.set_title(f"{labels[i]}\n{caption}" if labels else caption, fontsize=MIN_FONT_PT)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.94) if title else None)
    return fig


def _wrap(text: str, width: int = 22) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])
