"""Run the real nbgrader flow on every lesson and print the score table (not part of the test suite).

For each lesson: generate the course source (``course.grading``), ``nbgrader generate_assignment``, three
submissions — the untouched stubs, the source solutions, and a partial one (the lesson's typical mistake from
``course.grading.TYPICAL_MISTAKES`` where there is one, else the solutions with every second answer cell left
as its stub) — then ``nbgrader autograde`` and ``nbgrader export``. With ``--validate`` it also runs
``nbgrader validate`` on each lesson's stubs (it must fail). Prose parts are graded by hand, so the scores
are autograded points; the table gives both maxima.

It executes each lesson three times (four with --validate): minutes. Run it on a quiet machine:

    nice -n 10 uv run python scripts/grade_all_lessons.py [--lessons 00_start_here 03_similarity_search]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course import grading, student


def nbgrader(course_dir: Path, *args: str) -> str:
    """Run one nbgrader command in the course folder; its output (it stops the script if nbgrader fails)."""
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_dir,
                          env=grading.nbgrader_environment(),
                          capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"nbgrader {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout + done.stderr


def partial_submission(lesson: str, released: dict, source: dict) -> tuple[dict, str]:
    """The partial submission of a lesson and how it was made."""
    if lesson in grading.TYPICAL_MISTAKES:
        mistakes = grading.TYPICAL_MISTAKES[lesson]
        return grading.answered(released, source, mistakes=mistakes), "typical mistake in " + ", ".join(mistakes)
    answers = [c["metadata"]["nbgrader"]["grade_id"] for c in released["cells"]
               if c["metadata"].get("nbgrader", {}).get("solution")]
    stubs = tuple(answers[1::2])
    how = f"{len(stubs)} of {len(answers)} answers left as stubs"
    return grading.answered(released, source, left_as_stubs=stubs), how


def grade_lesson(course_dir: Path, path: Path, validate: bool) -> dict:
    """Grade one lesson's three submissions; its row of the score table."""
    lesson = path.stem
    start = time.monotonic()
    parts = grading.write_nbgrader_course(course_dir, [path])[lesson]
    nbgrader(course_dir, "generate_assignment", lesson, "--force")
    released = json.loads((course_dir / "release" / lesson / path.name).read_text())
    source = json.loads((course_dir / "source" / lesson / path.name).read_text())
    partial, how = partial_submission(lesson, released, source)
    for who, notebook in (("stubs", released), ("correct", grading.answered(released, source)), ("partial", partial)):
        folder = course_dir / "submitted" / who / lesson
        folder.mkdir(parents=True, exist_ok=True)
        (folder / path.name).write_text(json.dumps(notebook))
    validated = None
    if validate:
        out = nbgrader(course_dir, "validate", str(course_dir / "release" / lesson / path.name))
        validated = "passes" if "Success! Your notebook passes all the tests." in out else (
            f"fails ({out.count('The following cell failed:')} cells)")
    nbgrader(course_dir, "autograde", lesson, "--create", "--force")
    nbgrader(course_dir, "export", "--to", "grades.csv", "--assignment", lesson)
    with open(course_dir / "grades.csv", newline="") as table:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(table)
                  if row["assignment"] == lesson}
    auto, manual = grading.points(parts)
    return {"lesson": lesson, **scores, "auto": auto, "manual": manual, "partial_is": how,
            "validate": validated, "seconds": time.monotonic() - start}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lessons", nargs="*", help="lesson names (default: all), e.g. 00_start_here")
    parser.add_argument("--validate", action="store_true", help="also run nbgrader validate on each lesson's stubs")
    parser.add_argument("--keep", type=Path, help="make the course here and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    paths = [p for p in student.lesson_sources() if not args.lessons or p.stem in args.lessons]
    with tempfile.TemporaryDirectory() as scratch:
        course_dir = args.keep or Path(scratch)
        rows = []
        for path in paths:
            rows.append(grade_lesson(course_dir, path, args.validate))
            row = rows[-1]
            print(f"{row['lesson']}: stubs {row['stubs']:g}, correct {row['correct']:g}, partial {row['partial']:g} "
                  f"of {row['auto']} autograded (+{row['manual']} by hand) in {row['seconds']:.0f} s", flush=True)
    print("\n| lesson | stubs | source solutions | partial | autograded max | by hand | partial submission |"
          + (" validate on stubs |" if args.validate else ""))
    print("|---|---|---|---|---|---|---|" + ("---|" if args.validate else ""))
    for row in rows:
        print(f"| {row['lesson']} | {row['stubs']:g} | {row['correct']:g} | {row['partial']:g} | {row['auto']} | "
              f"{row['manual']} | {row['partial_is']} |" + (f" {row['validate']} |" if args.validate else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
