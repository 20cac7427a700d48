"""Interactive figures that degrade gracefully: a threshold control in a live notebook, a static figure elsewhere.

On GitHub, on the rendered course site and under the test runner there is no
Python kernel behind a widget, so every explorer here first shows a static figure
(which always appears, with its alt text), then returns the control for readers running the notebook
(ending a cell with the call displays it).

The threshold control is a labelled number field (``<input type="number">`` with a ``<label for>``): Tab
reaches it, its accessible name says what it sets, and the arrow keys move it by 0.01. ipywidgets 8.1's
FloatSlider is not used because its handle has no accessible name and no way to give it one (its label is
not associated with the handle: axe rule ``aria-input-field-name``, WCAG 4.1.2).
"""

from __future__ import annotations

import base64
import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from .metrics import fmr_fnmr
from .plots import PALETTE, figure_html, show

#: The threshold control's label, which is also its accessible name.
THRESHOLD_LABEL = "Distance threshold for a match"


def draw_threshold(ax, genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> None:
    """Genuine and impostor distance histograms with a threshold line and its FMR / FNMR.

    The two histograms differ by hatching as well as by colour, and the legend names them."""
    fmr, fnmr = fmr_fnmr(genuine, impostor, [threshold])
    bins = np.linspace(0, max(genuine.max(), impostor.max()), 50)
    ax.hist(impostor, bins=bins, density=True, alpha=0.6, color=PALETTE[1], hatch="//",
            label="different people (impostor)")
    ax.hist(genuine, bins=bins, density=True, alpha=0.6, color=PALETTE[0], label="same person (genuine)")
    ax.axvline(threshold, color="black", linestyle="--")
    ax.set_title(f"threshold {threshold:.2f}: FMR {fmr[0]:.2%}, FNMR {fnmr[0]:.2%}", fontsize=9)
    ax.set_xlabel("distance between embeddings")
    ax.set_ylabel("density")


def threshold_summary(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> str:
    """One threshold's error rates in words (the alt text of its picture)."""
    fmr, fnmr = fmr_fnmr(genuine, impostor, [threshold])
    return f"at threshold {threshold:.2f}, FMR {fmr[0]:.2%} and FNMR {fnmr[0]:.2%}"


def threshold_picture(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> bytes:
    """The control's panel at one threshold, as PNG bytes."""
    fig, ax = plt.subplots(figsize=(6, 3))
    draw_threshold(ax, genuine, impostor, threshold)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def threshold_picture_html(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> str:
    """The panel at one threshold as an ``<img>`` whose alt text gives its FMR and FNMR."""
    png = base64.b64encode(threshold_picture(genuine, impostor, threshold)).decode("ascii")
    alt = ("Genuine and impostor distance histograms with the threshold line "
           + threshold_summary(genuine, impostor, threshold) + ".")
    return figure_html(png, alt)


def threshold_panels(genuine: np.ndarray, impostor: np.ndarray, thresholds) -> plt.Figure:
    """Static panels, one per threshold, left to right in increasing order."""
    fig, axes = plt.subplots(1, len(thresholds), figsize=(4 * len(thresholds), 3), sharey=True)
    for ax, threshold in zip(np.atleast_1d(axes), sorted(thresholds)):
        draw_threshold(ax, genuine, impostor, threshold)
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.suptitle("Moving the threshold trades false matches for false non-matches")
    fig.tight_layout()
    return fig


def threshold_explorer(genuine, impostor, *, thresholds=(0.4, 0.5, 0.6), initial: float = 0.5) -> widgets.VBox:
    """Show how FMR and FNMR trade off: static panels at ``thresholds`` (left to right in increasing order),
    then return a threshold control whose panel shows the ``initial`` threshold at once and follows it."""
    genuine, impostor = np.asarray(genuine), np.asarray(impostor)
    thresholds = sorted(thresholds)
    rates = "; ".join(threshold_summary(genuine, impostor, threshold) for threshold in thresholds)
    show(threshold_panels(genuine, impostor, thresholds),
         alt="Genuine and impostor distance histograms with a threshold line, one panel per threshold: "
             f"{rates}. Raising the threshold lets more impostors match and rejects fewer genuine pairs.")

    control = widgets.BoundedFloatText(value=initial, min=0.2, max=1.0, step=0.01, description=THRESHOLD_LABEL,
                                       style={"description_width": "initial"})
    # An HTML widget, not an output area: its first picture is part of the widget's state, so it shows at
    # once in a live notebook, and nothing leaks into the cell's outputs when no browser is attached. Unlike
    # an Image widget, its <img> carries alt text (the threshold's FMR and FNMR).
    picture = widgets.HTML(value=threshold_picture_html(genuine, impostor, control.value))

    def redraw(change) -> None:
        picture.value = threshold_picture_html(genuine, impostor, change["new"])

    control.observe(redraw, names="value")
    return widgets.VBox([control, picture])
