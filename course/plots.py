"""Figures shared by the lessons: face grids that say where each face came from, and a palette.

Faces are always shown with their provenance (synthetic: generator and seed;
consented: set and licence), as the course's rules ask.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from .provenance import describe

#: Okabe–Ito colours: distinguishable with the common forms of colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


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
        ax.set_title(f"{labels[i]}\n{caption}" if labels else caption, fontsize=6.5)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.94) if title else None)
    return fig


def _wrap(text: str, width: int = 26) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])
