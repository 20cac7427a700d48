"""Interactive figures that degrade gracefully: a slider in a live notebook, a static figure elsewhere.

On GitHub, on the rendered course site and under the test runner there is no
Python kernel behind a widget, so every explorer here first draws a static figure
(which always appears), then returns the slider for readers running the notebook
(ending a cell with the call displays it).
The slider is keyboard-usable (Tab to focus, arrow keys to move).
"""

from __future__ import annotations

import io

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from .metrics import fmr_fnmr
from .plots import PALETTE


def draw_threshold(ax, genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> None:
    """Genuine and impostor distance histograms with a threshold line and its FMR / FNMR."""
    fmr, fnmr = fmr_fnmr(genuine, impostor, [threshold])
    bins = np.linspace(0, max(genuine.max(), impostor.max()), 50)
    ax.hist(impostor, bins=bins, density=True, alpha=0.6, color=PALETTE[1], label="different people (impostor)")
    ax.hist(genuine, bins=bins, density=True, alpha=0.6, color=PALETTE[0], label="same person (genuine)")
    ax.axvline(threshold, color="black", linestyle="--")
    ax.set_title(f"threshold {threshold:.2f}: FMR {fmr[0]:.2%}, FNMR {fnmr[0]:.2%}", fontsize=9)
    ax.set_xlabel("distance between embeddings")
    ax.set_ylabel("density")


def threshold_picture(genuine: np.ndarray, impostor: np.ndarray, threshold: float) -> bytes:
    """The slider's panel at one threshold, as PNG bytes (an image widget shows it without a live output area)."""
    fig, ax = plt.subplots(figsize=(6, 3))
    draw_threshold(ax, genuine, impostor, threshold)
    ax.legend(fontsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    return buffer.getvalue()


def threshold_explorer(genuine, impostor, *, thresholds=(0.4, 0.5, 0.6), initial: float = 0.5) -> widgets.VBox:
    """Show how FMR and FNMR trade off: static panels at ``thresholds`` (left to right in increasing order),
    then return a slider whose panel shows the ``initial`` threshold at once and follows the slider."""
    genuine, impostor = np.asarray(genuine), np.asarray(impostor)
    thresholds = sorted(thresholds)
    fig, axes = plt.subplots(1, len(thresholds), figsize=(4 * len(thresholds), 3), sharey=True)
    for ax, threshold in zip(np.atleast_1d(axes), thresholds):
        draw_threshold(ax, genuine, impostor, threshold)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle("Moving the threshold trades false matches for false non-matches")
    fig.tight_layout()
    plt.show()

    slider = widgets.FloatSlider(value=initial, min=0.2, max=1.0, step=0.01, description="threshold",
                                 continuous_update=False, readout_format=".2f")
    # An image widget, not an output area: its first picture is part of the widget's state, so it shows
    # at once in a live notebook, and nothing leaks into the cell's outputs when no browser is attached.
    picture = widgets.Image(value=threshold_picture(genuine, impostor, slider.value), format="png")

    def redraw(change) -> None:
        picture.value = threshold_picture(genuine, impostor, change["new"])

    slider.observe(redraw, names="value")
    return widgets.VBox([slider, picture])
