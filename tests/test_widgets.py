"""Tests of the threshold explorer: its static panels and its slider, which shows a picture before it is moved."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from course.widgets import threshold_explorer

PNG_SIGNATURE = b"\x89PNG"


def _distances():
    rng = np.random.default_rng(0)
    return rng.normal(0.3, 0.05, 200), rng.normal(0.6, 0.05, 2000)


def test_static_panels_are_in_increasing_threshold_order():
    genuine, impostor = _distances()
    plt.close("all")
    threshold_explorer(genuine, impostor, thresholds=(0.4, 0.37, 0.6), initial=0.37)
    titles = [ax.get_title() for ax in plt.figure(1).axes]
    plt.close("all")
    assert [title.split(":")[0] for title in titles] == ["threshold 0.37", "threshold 0.40", "threshold 0.60"]


def test_slider_shows_its_initial_threshold_before_it_is_moved_and_follows_it():
    genuine, impostor = _distances()
    slider, picture = threshold_explorer(genuine, impostor, initial=0.45).children
    plt.close("all")
    first = bytes(picture.value)
    assert slider.value == 0.45
    assert first.startswith(PNG_SIGNATURE) and len(first) > 1000
    slider.value = 0.55
    assert bytes(picture.value).startswith(PNG_SIGNATURE) and bytes(picture.value) != first
