"""The `course` command: a thin wrapper over keyword-only Python functions of course_lib.

Each subcommand is the function of the same name (course_lib.release.release, …), so the
Python API and the command line are one thing. Bad input ends with a one-line message and
exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from course_lib.errors import CourseError


def _release(args: argparse.Namespace) -> None:
    from course_lib.release import release

    for folder in release(assignments=args.assignments, course_dir=args.course_dir):
        print(f"released {folder}")


def _demo(args: argparse.Namespace) -> None:
    from course_lib.demo import demo

    outputs = demo(course_dir=args.course_dir)
    for kind, paths in outputs.items():
        for path in paths:
            print(f"{kind}: {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course", description="Release, grade and report the MNIST course's practicals."
    )
    parser.add_argument(
        "--course-dir", default=".", help="the course folder (holds nbgrader_config.py)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    release = commands.add_parser("release", help="generate the student versions into release/")
    release.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    release.set_defaults(run=_release)

    demo = commands.add_parser("demo", help="run the end-to-end demo on the embedded defaults")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except CourseError as error:
        print(f"course: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
