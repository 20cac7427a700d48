"""Tests of the threshold explorer: its static panels (with alt text) and its labelled threshold control,
which shows a picture before it is moved and follows it. Keyboard use in a browser: tests/test_browser.py."""

from __future__ import annotations

import base64
import re

import matplotlib.pyplot as plt
import numpy as np
from IPython.core.interactiveshell import InteractiveShell

from course.metrics import fmr_fnmr
from course.widgets import THRESHOLD_LABEL, threshold_explorer, threshold_panels

PNG_SIGNATURE = b"\x89PNG"


def _distances():
    rng = np.random.default_rng(0)
    return rng.normal(0.3, 0.05, 200), rng.normal(0.6, 0.05, 2000)


def _picture(html: str) -> tuple[bytes, str]:
    """The PNG bytes and the alt text of the <img> an HTML widget shows."""
    src, alt = re.fullmatch(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)">', html).groups()
    return base64.b64decode(src), alt


def test_static_panels_are_in_increasing_threshold_order():
    genuine, impostor = _distances()
    fig = threshold_panels(genuine, impostor, thresholds=(0.4, 0.37, 0.6))
    titles = [ax.get_title() for ax in fig.axes]
    plt.close(fig)
    assert [title.split(":")[0] for title in titles] == ["threshold 0.37", "threshold 0.40", "threshold 0.60"]


def test_static_panels_are_shown_with_their_error_rates_as_alt_text(monkeypatch):
    InteractiveShell.instance()
    shown = []
    monkeypatch.setattr("IPython.core.display_functions.publish_display_data",
                        lambda data, metadata=None, **_: shown.append(metadata))
    genuine, impostor = _distances()
    threshold_explorer(genuine, impostor, thresholds=(0.4, 0.6))
    (metadata,) = shown
    alt = metadata["image/png"]["alt"]
    for threshold in (0.4, 0.6):
        (fmr,), (fnmr,) = fmr_fnmr(genuine, impostor, [threshold])
        assert f"at threshold {threshold:.2f}, FMR {fmr:.2%} and FNMR {fnmr:.2%}" in alt, alt


def test_control_is_labelled_shows_its_initial_threshold_before_it_is_moved_and_follows_it():
    genuine, impostor = _distances()
    control, picture = threshold_explorer(genuine, impostor, initial=0.45).children
    plt.close("all")
    assert control.description == THRESHOLD_LABEL and control.step == 0.01
    first, alt = _picture(picture.value)
    assert control.value == 0.45 and "at threshold 0.45" in alt
    assert first.startswith(PNG_SIGNATURE) and len(first) > 1000
    control.value = 0.55
    moved, alt = _picture(picture.value)
    assert moved.startswith(PNG_SIGNATURE) and moved != first and "at threshold 0.55" in alt
