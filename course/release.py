"""``python -m course.release``: may this checkout be published as a release? Exits 1 with each reason if not.

A release is consistent when the version in pyproject.toml, the tag the Colab cell clones
(``course.launch.COURSE_TAG`` inside every lesson's setup cell), CITATION.cff, the top entry of
CHANGELOG.md and the documents agree, and when the launch links can work: the repository address
(``course.launch.REPOSITORY``, the one publishing setting) is not the placeholder, no document still
names another address, and that repository holds the release tag and the ``learner`` branch that the
students' Colab and nbgitpuller links open (``git ls-remote``; ``--offline`` skips only this). The website needs no check of its own: its build takes the address, tag and
version from the same settings.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from . import launch
from .edition import LEARNER_BRANCH, ROOT, course_version

#: Documents that give launch links or commands with the repository address or the release tag.
DOCUMENTS = ("README.md", "CITATION.cff", "site/*.md", "docs/*.md")
_TAG_IN_TEXT = re.compile(r"(?<![\w.])v\d+\.\d+\.\d+\b")  # v1.2.3, but not 00_start_here.v0.2.0.ipynb


def _cff_field(text: str, name: str) -> str | None:
    found = re.search(rf"^{name}:\s*[\"']?([^\"'\n]+?)[\"']?\s*$", text, re.MULTILINE)
    return found[1] if found else None


def _documents(root: Path) -> list[Path]:
    return sorted(path for pattern in DOCUMENTS for path in root.glob(pattern))


def version_problems(root: Path, version: str, tag: str, colab_cell: str) -> list[str]:
    """Where the version, the tag and the Colab cell disagree; [] when they all agree."""
    problems = []
    if tag != f"v{version}":
        problems.append(f"course.launch.COURSE_TAG is {tag}, but pyproject.toml's version is {version}")
    if f'"--branch", "{tag}"' not in colab_cell:
        problems.append(f"course.launch.COLAB_CELL does not clone {tag}")
    for notebook in sorted((root / "notebooks").glob("[0-9][0-9]*_*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        if not any("".join(cell["source"]) == colab_cell for cell in cells):
            problems.append(f"notebooks/{notebook.name}: its Colab cell is not the current one "
                            "(run: uv run python -m course.launch colab-cell notebooks/*.ipynb)")
    citation = root / "CITATION.cff"
    if not citation.is_file():
        problems.append("CITATION.cff is missing")
    elif _cff_field(citation.read_text(encoding="utf-8"), "version") != version:
        problems.append(f"CITATION.cff: version is {_cff_field(citation.read_text(encoding='utf-8'), 'version')}, "
                        f"not {version}")
    changelog = root / "CHANGELOG.md"
    entry = re.search(r"^## \[(\d[^\]]*)\](.*)$", changelog.read_text(encoding="utf-8"), re.MULTILINE) \
        if changelog.is_file() else None
    if entry is None:
        problems.append("CHANGELOG.md has no version entry (## [x.y.z] - YYYY-MM-DD)")
    elif entry[1] != version:
        problems.append(f"CHANGELOG.md: the newest entry is {entry[1]}, not {version}")
    for document in _documents(root):
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1):
            for other in set(_TAG_IN_TEXT.findall(line)) - {tag}:
                problems.append(f"{document.relative_to(root)}:{number}: names tag {other}, not {tag}")
    return problems


def publishing_problems(root: Path, version: str, tag: str, repository: str, remote: bool) -> list[str]:
    """What would make this release's launch links, citation or changelog wrong once published."""
    problems = []
    changelog = root / "CHANGELOG.md"
    if changelog.is_file() and not re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}\s*$",
                                             changelog.read_text(encoding="utf-8"), re.MULTILINE):
        problems.append(f"CHANGELOG.md: the entry for {version} has no release date (## [{version}] - YYYY-MM-DD)")
    citation = root / "CITATION.cff"
    if citation.is_file():
        text = citation.read_text(encoding="utf-8")
        if not _cff_field(text, "date-released"):
            problems.append("CITATION.cff: no date-released")
        if _cff_field(text, "repository-code") != repository:
            problems.append(f"CITATION.cff: repository-code is not {repository}")
    if repository.rstrip("/") == launch.PLACEHOLDER_REPOSITORY:
        problems.append(f"course.launch.REPOSITORY is still the placeholder {repository}: set it to the "
                        "repository you publish from (see the README, 'Publishing a fork')")
        return problems
    old = launch.PLACEHOLDER_REPOSITORY.removeprefix("https://github.com/")
    for document in _documents(root):
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1):
            if old in line or old.replace("/", "%2F") in line:
                problems.append(f"{document.relative_to(root)}:{number}: still names {old}")
    if remote:
        wanted = {f"refs/tags/{tag}": f"push it (git tag {tag} && git push origin {tag})",
                  f"refs/heads/{LEARNER_BRANCH}": f"make and push it (uv run python -m course learner-branch "
                                                  f"--ref {tag} && git push origin {LEARNER_BRANCH})"}
        found = subprocess.run(["git", "ls-remote", repository, *wanted], capture_output=True, text=True, timeout=60)
        if found.returncode != 0:
            problems.append(f"cannot read {repository} ({found.stderr.strip()[:200]})")
        for ref, fix in wanted.items():
            if found.returncode == 0 and ref not in found.stdout:
                problems.append(f"{repository} has no {ref.removeprefix('refs/').replace('heads/', 'branch ')}: {fix}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.release", description=__doc__.split("\n\n")[0])
    parser.add_argument("--offline", action="store_true", help="skip asking the repository for the tag")
    args = parser.parse_args(argv)
    version = course_version()
    problems = version_problems(ROOT, version, launch.COURSE_TAG, launch.COLAB_CELL)
    problems += publishing_problems(ROOT, version, launch.COURSE_TAG, launch.REPOSITORY, remote=not args.offline)
    for problem in problems:
        print(f"not ready: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"ready to publish {launch.COURSE_TAG} from {launch.REPOSITORY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
