"""Command line: ``python -m course doctor | data build|fetch|verify NAME | student --out DIR``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("doctor", help="check that this machine is ready for the course")
    data_parser = commands.add_parser("data", help="build or fetch a registered data set")
    data_parser.add_argument("action", choices=["build", "fetch", "verify"])
    data_parser.add_argument("name")
    student_parser = commands.add_parser("student", help="write student versions of the lesson notebooks")
    student_parser.add_argument("--out", required=True, help="folder to write them into")
    args = parser.parse_args(argv)

    if args.command == "student":
        from .student import write_student_versions

        for path in write_student_versions(args.out):
            print(f"wrote {path}")
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
