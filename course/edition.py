"""The learner's edition: your own copy of the lessons, made on first launch and never overwritten.

``uv run faces-at-scale`` (the README's first command; also ``python -m course learn``) makes the
learner's edition in ``my-course/`` at the top of the repository if it is missing, then starts
JupyterLab on its lesson 00. ``notebooks/`` stays the instructor edition (solutions and outputs,
checked by strict nbval); the learner's edition is generated from it by :mod:`course.student`:
exercise solutions stubbed, outputs cleared, notes for instructors removed, and under each exercise
heading a line saying where its worked solution is.

``my-course/`` is the learner's: git ignores it, and no command ever writes over a file in it.
Each notebook records the course version that made it and a fingerprint of the lesson's text
(``metadata.faces_at_scale``). When a newer version of the course has changed a lesson the learner
already has, it leaves their copy alone, writes the new version beside it
(``00_start_here.v0.2.0.ipynb``) and says so; a lesson the folder lacks (a new lesson, or one the
learner deleted) is written. ``my-course/`` sits beside ``notebooks/``, so the
lessons' relative links (``../data/README.md``) and working directory behave as in the instructor
edition.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from . import student

ROOT = Path(__file__).resolve().parent.parent
#: Where the learner's edition lives (git-ignored; see .gitignore).
LEARNER_DIR = ROOT / "my-course"
#: The notebook-metadata key that records which course version made a copy.
METADATA_KEY = "faces_at_scale"


def course_version() -> str:
    """The course version: ``[project] version`` of pyproject.toml in a checkout, else the installed one."""
    pyproject = ROOT / "pyproject.toml"
    if pyproject.is_file():
        found = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(encoding="utf-8"), re.MULTILINE)
        if found:
            return found[1]
    return metadata.version("faces-at-scale")


def _recorded(notebook_path: Path) -> dict:
    """What a learner's notebook records about the course that made it; {} if nothing or unreadable."""
    try:
        recorded = json.loads(notebook_path.read_text(encoding="utf-8"))["metadata"][METADATA_KEY]
        return recorded if isinstance(recorded, dict) else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def lesson_digest(notebook: dict) -> str:
    """A fingerprint of a lesson's text (cell types and sources), to tell whether a new version changed it."""
    cells = [[cell["cell_type"], "".join(cell["source"])] for cell in notebook["cells"]]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


@dataclass
class EditionReport:
    """What ``make_learner_edition`` did, file by file."""

    folder: Path
    written: list[Path] = field(default_factory=list)  # lessons the folder lacked
    kept: list[Path] = field(default_factory=list)  # the learner's copies, untouched
    beside: list[Path] = field(default_factory=list)  # newer versions written next to an older copy

    def lines(self) -> list[str]:
        """One line per thing a learner should know, for printing."""
        out = [f"made {path.relative_to(self.folder.parent)}" for path in self.written]
        for path in self.beside:
            out.append(f"a newer version of a lesson you already have: {path.relative_to(self.folder.parent)} "
                       "(your own copy is untouched; copy over what you want to keep)")
        if self.kept and not self.written and not self.beside:
            out.append(f"your lessons in {self.folder.name}/ are kept as they are ({len(self.kept)} notebooks)")
        return out


def _write_new(path: Path, notebook: dict) -> None:
    """Write a notebook to a path that must not exist yet (mode "x": never replaces a file)."""
    with path.open("x", encoding="utf-8") as file:
        file.write(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


def make_learner_edition(folder: Path = LEARNER_DIR, sources: list[Path] | None = None,
                         version: str | None = None) -> EditionReport:
    """Make the learner's edition in ``folder`` where it is missing; never change an existing file."""
    folder, version = Path(folder), version or course_version()
    folder.mkdir(parents=True, exist_ok=True)
    report = EditionReport(folder)
    for source in sources or student.lesson_sources():
        target = folder / source.name
        notebook = student.student_notebook(json.loads(source.read_text(encoding="utf-8")),
                                            solution_link=Path(os.path.relpath(source, folder)).as_posix())
        digest = lesson_digest(notebook)
        notebook["metadata"][METADATA_KEY] = {"edition": "learner", "course_version": version,
                                              "made_from": f"notebooks/{source.name}", "lesson_sha256": digest}
        if not target.exists():
            _write_new(target, notebook)
            report.written.append(target)
            continue
        report.kept.append(target)
        if _recorded(target).get("lesson_sha256") == digest:
            continue  # this version did not change the lesson
        newer = folder / f"{source.stem}.v{version}.ipynb"
        if not newer.exists():
            _write_new(newer, notebook)
        report.beside.append(newer)
    return report


#: The branch that publishes the learner's edition (for the Colab and nbgitpuller links meant for students).
LEARNER_BRANCH = "learner"


def publish_learner_branch(root: Path = ROOT, ref: str = "HEAD", branch: str = LEARNER_BRANCH) -> str:
    """Commit ``ref``'s tree plus its learner's edition (``my-course/``) onto ``branch``; return the commit.

    Colab opens a notebook from a branch of the repository and nbgitpuller pulls a branch, so the
    learner's edition, which is generated and git-ignored, is published on a branch of its own. Each
    release adds one commit on top of the branch's previous one (so nbgitpuller can merge it into a
    learner's copy, keeping their changes) with ``ref`` as second parent. Nothing changes when
    ``ref``'s learner's edition is already there. The working tree and index are not touched.
    """

    def git(*args: str, env: dict | None = None) -> str:
        return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, encoding="utf-8",
                              env=env).stdout.strip()

    commit = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    found = re.search(r'^version\s*=\s*"([^"]+)"', git("show", f"{commit}:pyproject.toml"), re.MULTILINE)
    version = found[1] if found else course_version()
    with tempfile.TemporaryDirectory() as tmp:
        sources = []
        for name in git("ls-tree", "--name-only", commit, "notebooks/").splitlines():
            if re.fullmatch(r"notebooks/[0-9][0-9][^/]*_[^/]*\.ipynb", name):
                sources.append(Path(tmp) / name)
                sources[-1].parent.mkdir(exist_ok=True)
                sources[-1].write_text(git("show", f"{commit}:{name}") + "\n", encoding="utf-8")
        made = make_learner_edition(Path(tmp) / LEARNER_DIR.name, sorted(sources), version=version).written
        env = dict(os.environ, GIT_INDEX_FILE=str(Path(tmp) / "index"))
        git("read-tree", commit, env=env)
        for notebook in made:
            blob = git("hash-object", "-w", str(notebook))
            git("update-index", "--add", "--cacheinfo", f"100644,{blob},{LEARNER_DIR.name}/{notebook.name}", env=env)
        tree = git("write-tree", env=env)
    previous = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"], cwd=root,
                              capture_output=True, text=True).stdout.strip()
    if previous and git("rev-parse", f"{previous}^{{tree}}") == tree:
        return previous
    parents = (["-p", previous] if previous else []) + ["-p", commit]
    new = git("commit-tree", tree, *parents, "-m", f"The learner's edition of {version} (made from {commit[:12]})")
    git("update-ref", f"refs/heads/{branch}", new)
    return new


def lab_arguments(folder: Path = LEARNER_DIR, extra: list[str] | None = None) -> list[str]:
    """JupyterLab's arguments: the whole repository in its file browser, opened on the edition's lesson 00."""
    first = sorted(folder.glob("[0-9][0-9]*_*.ipynb"))[0]
    arguments = [f"--ServerApp.root_dir={folder.parent}",
                 f"--LabApp.default_url=/lab/tree/{first.relative_to(folder.parent).as_posix()}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        arguments.append("--allow-root")  # e.g. in a container; Jupyter refuses root without it
    return arguments + list(extra or [])


def main(argv: list[str] | None = None) -> int:
    """``faces-at-scale [--no-lab] [JUPYTERLAB OPTIONS]``: make the learner's edition if needed, open it."""
    parser = argparse.ArgumentParser(prog="faces-at-scale", description=__doc__.split("\n\n")[0], allow_abbrev=False,
                                     epilog="Any other option goes to JupyterLab, e.g. --ServerApp.port=8899.")
    parser.add_argument("--no-lab", action="store_true", help="only make the learner's edition (e.g. on Binder)")
    args, jupyter_options = parser.parse_known_args(argv)
    report = make_learner_edition()
    for line in report.lines():
        print(line, flush=True)
    if args.no_lab:
        return 0
    from jupyterlab.labapp import LabApp

    os.chdir(LEARNER_DIR.parent)
    LabApp.launch_instance(argv=lab_arguments(LEARNER_DIR, jupyter_options))
    return 0


if __name__ == "__main__":
    sys.exit(main())
