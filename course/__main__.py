"""Command line: ``python -m course learn | doctor | data build|fetch|verify NAME | student --out DIR |
summaries --out DIR | nbgrader --course-dir DIR | learner-branch``.

``learn`` is for learners (the same as ``faces-at-scale``: your own copy of the lessons, opened in
JupyterLab); ``student --out DIR`` is for instructors (student copies to hand out); ``nbgrader
--course-dir DIR`` is for instructors who grade with nbgrader (its source notebooks, with points)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("learn", help="make your own copy of the lessons (my-course/) if missing and open it "
                        "in JupyterLab; options after it go to faces-at-scale (see faces-at-scale --help)",
                        add_help=False)
    commands.add_parser("doctor", help="check that this machine is ready for the course")
    branch_parser = commands.add_parser("learner-branch", help="maintainers, at a release: commit the learner's "
                                        "edition onto the 'learner' branch (Colab and nbgitpuller links open it)")
    branch_parser.add_argument("--ref", default="HEAD", help="the release to make it from (default: HEAD)")
    data_parser = commands.add_parser("data", help="build or fetch a registered data set")
    data_parser.add_argument("action", choices=["build", "fetch", "verify"])
    data_parser.add_argument("name")
    student_parser = commands.add_parser("student", help="instructors: write student versions of the lesson "
                                         "notebooks to hand out")
    student_parser.add_argument("--out", required=True, help="folder to write them into")
    summaries_parser = commands.add_parser("summaries", help="instructors: write a printable one-page summary "
                                           "of each lesson (HTML), made from the notebooks")
    summaries_parser.add_argument("--out", required=True, help="folder to write them into")
    nbgrader_parser = commands.add_parser("nbgrader", help="instructors: write an nbgrader course's source "
                                          "notebooks (graded test cells with points) from the lessons")
    nbgrader_parser.add_argument("--course-dir", required=True, help="the nbgrader course folder (made if missing)")
    args, rest = parser.parse_known_args(argv)
    if args.command == "learn":
        from .edition import main as learn

        return learn(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    if args.command == "learner-branch":
        from .edition import LEARNER_BRANCH, publish_learner_branch

        print(f"{LEARNER_BRANCH}: {publish_learner_branch(ref=args.ref)} (push it: git push origin {LEARNER_BRANCH})")
        return 0

    if args.command == "student":
        from .student import write_student_versions

        for path in write_student_versions(args.out):
            print(f"wrote {path}")
        return 0

    if args.command == "summaries":
        from .summaries import write_summaries

        for path in write_summaries(args.out):
            print(f"wrote {path}")
        return 0

    if args.command == "nbgrader":
        from .grading import points_table, write_nbgrader_course

        graded = write_nbgrader_course(args.course_dir)
        print(f"wrote {len(graded)} lessons into {args.course_dir}/source; points per lesson:\n{points_table(graded)}")
        print(f"next, in {args.course_dir}: nbgrader generate_assignment <lesson> (see docs/instructor_guide.md)")
        return 0

    if args.command == "doctor":
        from . import doctor

        return doctor.main()

    from . import data
    from .errors import DatasetError

    try:
        if args.action == "build":
            for filename, digest in data.build(args.name).items():
                print(f"{digest}  data/{args.name}/{filename}")
        elif args.action == "fetch":
            print(f"{args.name} is ready in {data.fetch(args.name)}")
        else:
            problems = data.verify(args.name)
            print("\n".join(problems) or f"{args.name}: all files match the registry")
            return 1 if problems else 0
    except DatasetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
