"""Helpers for the accessibility tests: a figure's alt text in a notebook, and notebooks made by course.plots.show.

``figure_alt_texts`` reads the alt text of each image a notebook's outputs hold; ``alt_text_problem``
says what is wrong with one (missing, too short, a file name); ``figure_notebook`` makes a small lesson-like
notebook whose outputs come from the real ``show`` (fixtures for the site build and JupyterLab).
"""

from __future__ import annotations

import re

IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
#: A file name or a content hash (what Sphinx puts in alt when it has nothing else), not a description.
FILE_NAME = re.compile(r"\.(png|jpe?g|gif|svg|webp)\b|[0-9a-f]{32}", re.IGNORECASE)


def figure_alt_texts(notebook: dict) -> list[str | None]:
    """The alt text of each image output, in page order, of the cells the site shows (None where there is none)."""
    alts = []
    for cell in notebook["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] != "code" or {"remove-cell", "remove-output"} & set(tags):
            continue
        for output in cell.get("outputs", []):
            kinds = [kind for kind in IMAGE_TYPES if kind in output.get("data", {})]
            if kinds:
                alts.append(output.get("metadata", {}).get(kinds[0], {}).get("alt"))
    return alts


def alt_text_problem(alt: str | None) -> str | None:
    """What keeps ``alt`` from telling a screen-reader user what a figure shows, or None if nothing does."""
    if not alt or not alt.strip():
        return "no alt text"
    if FILE_NAME.search(alt):
        return f"a file name, not a description: {alt!r}"
    if len(alt.split()) < 4:
        return f"fewer than 4 words: {alt!r}"
    return None


def figure_notebook(alts: list[str]) -> dict:
    """A notebook (nbformat 4 dict) with a title and one code cell whose outputs are ``show(fig, alt)``'s,
    one small line chart per alt text, as a lesson's committed outputs would be."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from course.plots import show

    InteractiveShell.instance()
    with capture_output() as captured:
        for i, alt in enumerate(alts):
            fig, ax = plt.subplots(figsize=(3, 2))
            ax.plot([0, 1], [i, 1 - i], marker="o", label=f"line {i}")
            ax.legend()
            show(fig, alt=alt)
    source = "\n".join(f"show(fig, alt={alt!r})" for alt in alts)
    cell = nbformat.v4.new_code_cell(source, execution_count=1, outputs=[
        nbformat.v4.new_output("display_data", data=output.data, metadata=output.metadata)
        for output in captured.outputs])
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Figures with alt text"), cell])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    return notebook
