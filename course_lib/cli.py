"""The `course` command: a thin wrapper over keyword-only Python functions of course_lib.

Each subcommand calls the function of the same name (course_lib.release.release,
course_lib.pipeline.grade.grade, …), so the Python API and the command line are one thing. Bad input
ends with a one-line message and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from course_lib.errors import CourseError


def _release(args: argparse.Namespace) -> None:
    from course_lib.release import release

    for folder in release(assignments=args.assignments, course_dir=args.course_dir):
        print(f"released {folder}")


def _collect(args: argparse.Namespace) -> None:
    from course_lib.pipeline.collect import collect, format_report

    entries = collect(
        assignment=args.assignment, source=args.source, course_dir=args.course_dir,
        roster=args.roster, replace=args.replace,
    )
    print(format_report(entries))


def _grade(args: argparse.Namespace) -> None:
    from course_lib.pipeline.grade import format_summary, grade

    for summary in grade(
        assignment=args.assignment, students=args.student, force=args.force,
        unsafe_no_sandbox=args.unsafe_no_sandbox, course_dir=args.course_dir,
    ):
        print(format_summary(summary))


def _feedback(args: argparse.Namespace) -> None:
    from course_lib.instructor.feedback import feedback

    for page in feedback(assignment=args.assignment, students=args.student, course_dir=args.course_dir):
        print(f"feedback {page}")


def _export(args: argparse.Namespace) -> None:
    from course_lib.instructor.export import export

    path = export(output=args.output, format=args.format, detail=args.detail, course_dir=args.course_dir)
    print(f"exported {path}")


def _report(args: argparse.Namespace) -> None:
    from course_lib.instructor.report import report

    print(f"report {report(output=args.output, course_dir=args.course_dir)}")


def _demo(args: argparse.Namespace) -> None:
    from course_lib.demo import demo

    outputs = demo(folder=args.folder, full_class=args.full_class,
                   unsafe_no_sandbox=args.unsafe_no_sandbox, say=print)
    print("\nWhat the demo made:")
    for kind, paths in outputs.items():
        for path in paths:
            print(f"  {kind:<10} {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course", description="Release, collect, grade and report the MNIST course's practicals."
    )
    parser.add_argument("--course-dir", default=".", help="the course folder (holds nbgrader_config.py)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace], None], help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        return sub

    release = command("release", _release, "generate the student versions into release/")
    release.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")

    collect = command("collect", _collect, "bring submissions into submitted/<student>/<assignment>/")
    collect.add_argument("assignment", metavar="ASSIGNMENT")
    collect.add_argument(
        "source", metavar="SOURCE",
        help="a folder of <student>/<notebook>.ipynb or of <student>_<anything>.ipynb, "
        "a Moodle 'download all submissions' zip, or the word 'exchange'",
    )
    collect.add_argument("--roster", help="a CSV of students (id,first_name,last_name,email) to import first")
    collect.add_argument("--replace", action="store_true", help="replace a different submission already collected")

    grade = command("grade", _grade, "autograde the collected submissions of an assignment")
    grade.add_argument("assignment", metavar="ASSIGNMENT")
    grade.add_argument("--student", action="append", metavar="S", help="only this student (repeatable)")
    grade.add_argument("--force", action="store_true", help="grade again what is already graded and unchanged")
    grade.add_argument(
        "--unsafe-no-sandbox", action="store_true",
        help="run student code without bubblewrap (only for code you trust; results say so)",
    )

    feedback = command("feedback", _feedback, "write one HTML feedback page per student")
    feedback.add_argument("assignment", metavar="ASSIGNMENT")
    feedback.add_argument("--student", action="append", metavar="S", help="only this student (repeatable)")

    export = command("export", _export, "write the grades as CSV (one row per student)")
    export.add_argument("-o", "--output", help="the CSV file (default: exports/grades*.csv)")
    export.add_argument("--format", choices=["csv", "moodle"], default="csv")
    export.add_argument("--detail", action="store_true", help="one row per student, assignment and graded cell")

    report = command("report", _report, "write the class report (HTML with plots)")
    report.add_argument("-o", "--output", help="the HTML file (default: reports/report.html)")

    demo = command("demo", _demo, "run the whole workflow on a simulated class, in a new folder")
    demo.add_argument("--folder", default="demo-course", help="where the demo course is made (default: demo-course)")
    demo.add_argument("--full-class", action="store_true", help="both practicals and more students (slower)")
    demo.add_argument("--unsafe-no-sandbox", action="store_true", help="grade without bubblewrap")
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
