"""The README's two commands do what the README says. The first, run in a fresh copy of the repository,
makes the learner's edition (my-course/) and opens JupyterLab on its lesson 00 with the whole course in
the file browser; run again after the learner has edited, it keeps every edit. The second is the
command CI runs."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from lab_server import jupyterlab
from packaging.requirements import Requirement

from course import edition, student

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LESSONS = [path.name for path in student.lesson_sources()]


def readme_commands() -> list[str]:
    """The commands in the README's "Two commands" block, without their comments."""
    section = (ROOT / "README.md").read_text().split("## Two commands", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_there_are_exactly_two_commands_and_ci_runs_the_second():
    first, second = readme_commands()
    assert first.startswith("uv run ")
    ci = (ROOT / ".ci" / "run").read_text()
    assert f'"${{uv[@]}}" {second.removeprefix("uv ")}\n' in ci


def test_the_learners_command_installs_no_developer_tools():
    """The first command is uv's lean install: the lock's packages reachable from the course without the dev
    group (every platform's, an upper bound) include none of the dev group's tools."""
    first, _second = readme_commands()
    assert shlex.split(first)[:3] == ["uv", "run", "--no-dev"]
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages = {package["name"]: package for package in lock["package"]}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    pending, installed = [project["project"]["name"]], set()
    while pending:
        name = pending.pop()
        if name not in installed:
            installed.add(name)
            pending += [dependency["name"] for dependency in packages[name].get("dependencies", [])]
    assert {"numpy", "faiss-cpu", "jupyterlab", "dp-accounting"} <= installed
    requirements = map(Requirement, project["dependency-groups"]["dev"])
    tools = {req.name.lower() for req in requirements if req.marker is None}  # not backports such as tomli
    assert {"pytest", "nbgrader", "jupyterhub"} <= tools
    assert not tools & installed, f"the learner's install would carry {sorted(tools & installed)}"


def test_the_learners_folder_is_ignored_by_git():
    ignored = subprocess.run(["git", "check-ignore", "--quiet", "my-course/00_start_here.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0, "my-course/ (the learner's edition) must be in .gitignore"
    assert edition.LEARNER_DIR == ROOT / "my-course"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


def copy_checkout(clone: Path) -> Path:
    """Copy the files a fresh clone would have (git's tracked and not-ignored files, as they are in
    this checkout) into ``clone``."""
    tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    assert not (clone / "my-course").exists()
    return clone


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory) -> Path:
    return copy_checkout(tmp_path_factory.mktemp("clone"))


def test_binder_postbuild_makes_the_learners_edition(tmp_path):
    """postBuild's command makes my-course/ (the Binder link for students opens it) and starts nothing."""
    clone = copy_checkout(tmp_path)
    lines = [line for line in (ROOT / "postBuild").read_text().splitlines() if "course learn" in line]
    assert lines == ["python -m course learn --no-lab"]
    result = subprocess.run([sys.executable, *shlex.split(lines[0])[1:]], cwd=clone, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(clone)), timeout=120)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in (clone / "my-course").glob("*.ipynb")) == LESSONS
    assert result.stdout.count("made my-course/") == len(LESSONS)


def first_command(clone: Path, home: Path):
    """The README's first command, run in ``clone`` (``uv run`` -> this environment, importing the clone's course)."""
    program, *args = [word for word in shlex.split(readme_commands()[0])[2:]  # drop "uv run" and uv's options
                      if not word.startswith("--no-")]
    script = Path(sys.executable).with_name(program)
    assert script.is_file(), f"{program} is not installed: is it in [project.scripts] of pyproject.toml?"
    return jupyterlab([str(script), *args], cwd=clone, home=home, launcher=[], extra_env={"PYTHONPATH": str(clone)})


def opens_on(url: str, token: str) -> str:
    """The path JupyterLab's front page redirects to."""
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(f"{url}/?token={token}", timeout=10)
    assert redirect.value.code == 302
    return redirect.value.headers["Location"].split("?")[0]


def contents(url: str, token: str, path: str) -> int:
    with urllib.request.urlopen(f"{url}/api/contents/{path}?content=0&token={token}", timeout=10) as response:
        return response.status


def test_first_command_opens_the_learners_edition_and_a_second_launch_keeps_every_edit(fresh_clone,
                                                                                        tmp_path_factory):
    learner = fresh_clone / "my-course"
    with first_command(fresh_clone, tmp_path_factory.mktemp("lab-1")) as (url, token):
        assert opens_on(url, token).endswith("/lab/tree/my-course/00_start_here.ipynb")
        for path in ["my-course/00_start_here.ipynb", "notebooks/00_start_here.ipynb", "README.md",
                     "docs/instructor_guide.md", "data/README.md"]:
            assert contents(url, token, path) == 200, f"{path} is not in JupyterLab's file browser"
        # The learner works: saves an answer through JupyterLab (as its Save does) and adds a file.
        lesson = json.loads((learner / "00_start_here.ipynb").read_text())
        stub = next(cell for cell in lesson["cells"] if "NotImplementedError(\"Exercise: " in "".join(cell["source"]))
        stub["source"] = "# my answer, typed by the learner\nrecord = {}"
        body = json.dumps({"type": "notebook", "format": "json", "content": lesson}).encode()
        request = urllib.request.Request(f"{url}/api/contents/my-course/00_start_here.ipynb?token={token}",
                                         data=body, method="PUT", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    (learner / "my notes.md").write_text("what I learned\n")

    assert sorted(path.name for path in learner.glob("*.ipynb")) == LESSONS
    for name in LESSONS:
        made = json.loads((learner / name).read_text())
        assert made["metadata"][edition.METADATA_KEY]["course_version"] == edition.course_version()
        text = json.dumps(made)
        assert student.BEGIN not in text and "Notes for instructors" not in text, f"{name}: answers left in"
        assert "The worked solution is in the instructor edition" in text
    before = {path.relative_to(learner): path.read_bytes() for path in learner.rglob("*") if path.is_file()}
    assert b"my answer, typed by the learner" in before[Path("00_start_here.ipynb")]

    with first_command(fresh_clone, tmp_path_factory.mktemp("lab-2")) as (url, token):
        assert opens_on(url, token).endswith("/lab/tree/my-course/00_start_here.ipynb")
    after = {path.relative_to(learner): path.read_bytes() for path in learner.rglob("*") if path.is_file()}
    assert after == before, "a second launch changed the learner's folder"


# --- licences -------------------------------------------------------------------------------------


def test_licence_files_match_what_pyproject_and_the_citation_say():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = { text = "MIT" }' in pyproject
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    content = (ROOT / "LICENSE-CONTENT.md").read_text()
    assert "CC BY 4.0" in content and "https://creativecommons.org/licenses/by/4.0/legalcode" in content
    citation = (ROOT / "CITATION.cff").read_text()
    assert "  - MIT\n  - CC-BY-4.0\n" in citation


def test_readme_gives_each_data_sets_licence_from_the_registry():
    registry = json.loads((ROOT / "data" / "registry.json").read_text())
    section = (ROOT / "README.md").read_text().split("## Licences, citation and versions", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip().split()[0].strip("`"): line.split("|")[2].strip()
            for line in section.splitlines() if line.startswith("| `")}
    assert set(rows) == set(registry), "one row per registered data set"
    for name, entry in registry.items():
        licence = re.match(r"CC0 1\.0|CC BY 4\.0|[^(;]+", entry["licence"]).group(0).strip()
        assert rows[name] == licence, f"{name}: README says {rows[name]}, registry says {entry['licence']}"


def test_readme_names_the_landmark_models_restriction_and_what_uses_it():
    section = (ROOT / "README.md").read_text().split("**Third-party pieces with other terms.**", 1)[1]
    assert "iBUG 300-W" in section and "not legal advice" in section
    source = (ROOT / "course" / "embed.py").read_text()
    # the README says the encoder aligns with the 68-point model: true as long as embed.py asks for "large"
    assert 'face_encodings(image, boxes, model="large")' in source, (
        "course.embed no longer uses the 68-point model: update the README's third-party section")
    assert 'model="large"' in section


def test_students_links_open_the_learners_edition_of_this_release():
    from course import launch

    section = (ROOT / "README.md").read_text().split("## Other ways to run it", 1)[1].split("\n## ", 1)[0]
    repo = launch.REPOSITORY.removeprefix("https://github.com/")
    links = {kind: next(re.findall(r"`(https://[^`]+)`", line)[0] for line in section.splitlines()
                        if marker in line and "`https://" in line)
             for kind, marker in [("binder", "mybinder.org"), ("colab", "colab.research.google.com/github/"),
                                  ("hub", "git-pull?")]}
    assert links["binder"] == (f"https://mybinder.org/v2/gh/{repo}/{launch.COURSE_TAG}"
                                            "?urlpath=lab/tree/my-course/00_start_here.ipynb")
    assert links["colab"] == (f"https://colab.research.google.com/github/{repo}/blob/{edition.LEARNER_BRANCH}"
                              "/my-course/00_start_here.ipynb")
    encoded = launch.REPOSITORY.replace(":", "%3A").replace("/", "%2F")
    assert links["hub"] == (f"https://HUB/hub/user-redirect/git-pull?repo={encoded}&branch={edition.LEARNER_BRANCH}"
                            f"&urlpath=lab%2Ftree%2F{repo.split('/')[1]}%2Fmy-course%2F00_start_here.ipynb")
