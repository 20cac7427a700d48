"""The course's figures carry a text alternative (tests of course.plots.show)."""

from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

from course.plots import show  # noqa: E402


def _displayed(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.core.display_functions.publish_display_data",
                        lambda data, metadata=None, **_: shown.append((data, metadata)))
    return shown


def test_show_sends_the_png_with_its_alt_text_in_text_plain_and_metadata(monkeypatch):
    InteractiveShell.instance()
    shown = _displayed(monkeypatch)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    show(fig, alt="A falling line from 1 to 0.")
    (data, metadata), = shown
    assert data["image/png"].startswith("iVBOR")  # a base64 PNG
    assert data["text/plain"] == "[Figure] A falling line from 1 to 0."
    assert data["text/html"] == f'<img src="data:image/png;base64,{data["image/png"]}" alt="A falling line from 1 to 0.">'
    assert metadata == {"image/png": {"alt": "A falling line from 1 to 0."}}
    assert not plt.fignum_exists(fig.number), "the figure is closed so the inline backend does not show it again"


def test_the_html_alt_text_survives_quotes_and_angle_brackets(monkeypatch):
    InteractiveShell.instance()
    shown = _displayed(monkeypatch)
    fig, _ = plt.subplots()
    alt = 'Recall "at 10" rises from <0.5 to 0.9 & stays.'
    show(fig, alt=alt)
    (data, _), = shown
    tags = []
    parser = HTMLParser()
    parser.handle_starttag = lambda tag, attrs: tags.append((tag, dict(attrs)))
    parser.feed(data["text/html"])
    (tag, attrs), = tags  # one element: the alt text cannot break out of its attribute
    assert tag == "img" and attrs["alt"] == alt and attrs["src"] == f"data:image/png;base64,{data['image/png']}"


@pytest.mark.parametrize("alt", [None, "", "plot", "figure 3.png"])
def test_show_refuses_a_missing_or_filename_like_alt_text(alt):
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="needs a sentence"):
        show(fig, alt=alt)
    plt.close(fig)


def _synthetic_record(seed: int) -> dict:
    return {"source": "synthetic", "generator": "course.faces", "generator_version": "1", "identity_seed": seed,
            "view_seed": 0}


def test_face_grid_captions_are_at_least_8_pt():
    from course.plots import face_grid, small_text

    tiles = np.full((3, 16, 16, 3), 0.5)  # grey tiles stand in for faces: only the captions are measured
    fig = face_grid(tiles, [_synthetic_record(seed) for seed in range(3)], columns=3, labels=["a", "b", "c"],
                    title="Three tiles")
    assert small_text(fig) == []
    plt.close(fig)


def test_small_text_names_the_text_to_enlarge():
    from course.plots import small_text

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="a line")
    ax.legend(fontsize=7)
    assert small_text(fig) == ["'a line' (7.0 pt)"]
    plt.close(fig)


def test_threshold_panels_have_large_text_and_a_second_cue_besides_colour():
    from matplotlib.patches import Rectangle

    from course.plots import small_text
    from course.widgets import threshold_panels

    rng = np.random.default_rng(0)
    fig = threshold_panels(rng.normal(0.3, 0.05, 200), rng.normal(0.6, 0.05, 2000), thresholds=(0.4, 0.6))
    assert small_text(fig) == []
    ax = fig.axes[0]
    hatches = {patch.get_hatch() for patch in ax.patches if isinstance(patch, Rectangle)}
    assert hatches == {"//", None}, "impostor and genuine histograms differ by hatching, not only by colour"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == [
        "different people (impostor)", "same person (genuine)"]
    plt.close(fig)


def test_show_refuses_a_figure_with_text_under_8_pt_and_names_it(monkeypatch):
    InteractiveShell.instance()
    shown = _displayed(monkeypatch)
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0], label="falling")
    ax.legend(fontsize=7)
    with pytest.raises(ValueError, match=r"under 8 pt.*'falling' \(7.0 pt\)"):
        show(fig, alt="A falling line from 1 to 0.")
    assert shown == [] and not plt.fignum_exists(fig.number)
