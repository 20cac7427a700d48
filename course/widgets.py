"""Interactive figures that degrade gracefully: a slider in a live notebook, a static figure elsewhere.

On GitHub, on the rendered course site and under the test runner there is no
Python kernel behind a widget, so every explorer here first draws a static figure
(which always appears), then adds the slider for readers running the notebook.
The slider is keyboard-usable (Tab to focus, arrow keys to move).
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

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


def threshold_explorer(genuine, impostor, *, thresholds=(0.4, 0.5, 0.6), initial: float = 0.5) -> None:
    """Show how FMR and FNMR trade off: static panels at ``thresholds``, then a live slider."""
    genuine, impostor = np.asarray(genuine), np.asarray(impostor)
    fig, axes = plt.subplots(1, len(thresholds), figsize=(4 * len(thresholds), 3), sharey=True)
    for ax, threshold in zip(np.atleast_1d(axes), thresholds):
        draw_threshold(ax, genuine, impostor, threshold)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle("Moving the threshold trades false matches for false non-matches")
    fig.tight_layout()
    plt.show()

    slider = widgets.FloatSlider(value=initial, min=0.2, max=1.0, step=0.01, description="threshold",
                                 continuous_update=False, readout_format=".2f")
    out = widgets.Output()

    def redraw(change=None) -> None:
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(6, 3))
            draw_threshold(ax, genuine, impostor, slider.value)
            ax.legend(fontsize=7)
            plt.show()

    slider.observe(redraw, names="value")
    # No first drawing here: output captured by a widget at display time leaks into the cell's
    # own outputs when no browser is attached (nbval, nbconvert). The static panels cover it.
    display(widgets.VBox([slider, out]))
