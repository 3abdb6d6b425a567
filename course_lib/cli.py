"""The `course` command: a thin wrapper over keyword-only Python functions of course_lib.

Each subcommand calls the function of the same name (course_lib.release.release,
course_lib.pipeline.grade.grade, …), so the Python API and the command line are one thing. Bad input
ends with a one-line message and exit code 2, never a traceback (a bug of course_lib too: one
line, exit code 3, the traceback with COURSE_DEBUG=1); `collect` exits 1 when every upload was
rejected; `check` (the students' command, in French) exits 1 when a public test failed or a
cell it may not change was changed. What a Moodle file leaves out is listed on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from course_lib import __version__
from course_lib.course import last_line
from course_lib.errors import CourseError
from course_lib.quiet import quiet_third_parties
from course_lib.selfcheck import add_check_command
from course_lib.safe_text import say

if TYPE_CHECKING:
    from course_lib.instructor.output import ExportedFile


def _release(args: argparse.Namespace) -> int:
    from course_lib.release import release

    for folder in release(assignments=args.assignments, course_dir=args.course_dir, exchange=args.exchange):
        say(f"released {folder}")
    return 0


def _collect(args: argparse.Namespace) -> int:
    from course_lib.pipeline.collect import collect, format_report, nothing_collected

    entries = collect(
        assignment=args.assignment, source=args.source, course_dir=args.course_dir,
        roster=args.roster, replace=args.replace, allow_unknown=args.allow_unknown,
    )
    say(format_report(entries))
    if nothing_collected(entries):
        say(f"course: nothing was collected from {args.source}: every upload was rejected "
              "(kept in rejected/)", file=sys.stderr)
        return 1
    return 0


def _grade(args: argparse.Namespace) -> int:
    from course_lib.pipeline.grade import format_summary, grade

    for summary in grade(
        assignment=args.assignment, students=args.student, force=args.force, workers=args.workers,
        scheduler=args.scheduler, use_cache=not args.no_cache, unsafe_no_sandbox=args.unsafe_no_sandbox,
        course_dir=args.course_dir,
    ):
        say(format_summary(summary))
    return 0


def _feedback(args: argparse.Namespace) -> int:
    from course_lib.instructor.feedback import feedback, moodle_feedback_zip

    for page in feedback(assignment=args.assignment, students=args.student, course_dir=args.course_dir):
        say(f"feedback {page}")
    if args.moodle_zip is not None:
        packed = moodle_feedback_zip(assignment=args.assignment, course_dir=args.course_dir,
                                     output=args.moodle_zip or None)
        say(f"moodle-zip {packed.path}")
        _say_left_out(packed)
    return 0


def _export(args: argparse.Namespace) -> int:
    from course_lib.instructor.export import export

    exported = export(output=args.output, format=args.format, detail=args.detail,
                      assignment=args.assignment, include_provisional=args.include_provisional,
                      worksheet=args.worksheet, course_dir=args.course_dir)
    say(f"exported {exported.path}")
    _say_left_out(exported)
    return 0


def _say_left_out(exported: ExportedFile) -> None:
    """Who a Moodle file leaves out, on stderr: the file itself holds only what Moodle takes."""
    if exported.left_out:
        say(f"left out of {exported.path.name} ({len(exported.left_out)}): "
              + "; ".join(exported.left_out), file=sys.stderr)


def _status(args: argparse.Namespace) -> int:
    from course_lib.instructor.status import format_status, status

    say(format_status(status(assignment=args.assignment, course_dir=args.course_dir)))
    return 0


def _report(args: argparse.Namespace) -> int:
    from course_lib.instructor.report import report

    say(f"report {report(output=args.output, course_dir=args.course_dir)}")
    return 0


def _similarity(args: argparse.Namespace) -> int:
    from course_lib.instructor.similarity import similarity

    made = similarity(assignment=args.assignment, output=args.output, course_dir=args.course_dir)
    flagged = [pair for pair in made.pairs if pair.flagged]
    say(f"similarity {made.path}: {len(made.pairs)} pairs compared, {len(flagged)} over a threshold")
    for pair in flagged[:10]:
        say(f"  {pair.first} ~ {pair.second}: {pair.line(pair.first).removeprefix(f'similar to {pair.second} ')}")
    return 0


def _student_package(args: argparse.Namespace) -> int:
    from course_lib.student_package import student_package

    built = student_package(course_dir=args.course_dir, output=args.output)
    say(f"wheel {built.wheel}\nnotebooks {built.notebooks}")
    say("give students these two files, never the course's repository: it holds the solutions "
        "and the hidden checks", file=sys.stderr)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from course_lib.demo import demo

    outputs = demo(folder=args.folder, full_class=args.full_class,
                   unsafe_no_sandbox=args.unsafe_no_sandbox, say=say)
    say("\nWhat the demo made:")
    for kind, paths in outputs.items():
        for path in paths:
            say(f"  {kind:<10} {path}")
    return 0


def _global_options(parser: argparse.ArgumentParser, default: str) -> None:
    """Options accepted before or after the subcommand: a subcommand's copy has no default
    (SUPPRESS), so that it never overwrites what was given before the subcommand."""
    parser.add_argument("--course-dir", default=default,
                        help="the course folder (holds nbgrader_config.py; default: .)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course", description="Release, collect, grade and report the MNIST course's practicals."
    )
    _global_options(parser, default=".")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, run: Callable[[argparse.Namespace], int], help: str,
                in_course: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        if in_course:
            _global_options(sub, default=argparse.SUPPRESS)
        sub.set_defaults(run=run)
        return sub

    release = command("release", _release, "generate the student versions into release/")
    release.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    release.add_argument("--exchange", action="store_true",
                         help="also publish them to nbgrader's exchange (c.Exchange.root), for "
                         "students' `nbgrader fetch_assignment`")

    collect = command("collect", _collect, "bring submissions into submitted/<student>/<assignment>/")
    collect.add_argument("assignment", metavar="ASSIGNMENT")
    collect.add_argument(
        "source", metavar="SOURCE",
        help="a folder of <student>/<notebook>.ipynb or of <student>_<anything>.ipynb, "
        "a Moodle 'download all submissions' zip, or the word 'exchange'",
    )
    collect.add_argument("--roster", help="a CSV of the class (id,first_name,last_name,email[,idnumber]): "
                         "imported first, and only its students are collected")
    collect.add_argument("--allow-unknown", action="store_true",
                         help="with --roster, also collect students the roster does not list")
    collect.add_argument("--replace", action="store_true", help="replace a different submission already collected")

    grade = command("grade", _grade, "autograde the collected submissions of an assignment")
    grade.add_argument("assignment", metavar="ASSIGNMENT")
    grade.add_argument("--student", action="append", metavar="S", help="only this student (repeatable)")
    grade.add_argument("--force", action="store_true", help="grade again what is already graded and unchanged")
    where = grade.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=1, metavar="N",
                       help="grade N submissions at once on a local Dask cluster (default: 1, in this process)")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on the Dask cluster of this scheduler (e.g. tcp://10.0.0.5:8786)")
    grade.add_argument("--no-cache", action="store_true",
                       help="run every notebook again, even one whose execution is cached")
    grade.add_argument(
        "--unsafe-no-sandbox", action="store_true",
        help="run student code without bubblewrap (only for code you trust; results say so)",
    )

    feedback = command("feedback", _feedback, "write one HTML feedback page per student")
    feedback.add_argument("assignment", metavar="ASSIGNMENT")
    feedback.add_argument("--student", action="append", metavar="S", help="only this student (repeatable)")
    feedback.add_argument(
        "--moodle-zip", nargs="?", const="", metavar="ZIP",
        help="also pack the pages for Moodle's 'Upload multiple feedback files in a zip' "
        "(default: exports/feedback-moodle-<assignment>.zip)",
    )

    export = command("export", _export, "write the grades as CSV (one row per student), for a "
                     "spreadsheet or Moodle")
    export.add_argument("-o", "--output", help="the CSV file (default: exports/grades*.csv)")
    export.add_argument("--format", choices=["csv", "moodle", "moodle-worksheet"], default="csv",
                        help="moodle: final grades for Moodle's gradebook import (by ID number or "
                        "e-mail), one assignment; moodle-worksheet: the assignment's offline grading "
                        "worksheet filled (by participant id, for students collected from its zip)")
    export.add_argument("--worksheet", metavar="CSV",
                        help="with moodle-worksheet: the worksheet downloaded from the Moodle assignment")
    export.add_argument("--assignment", metavar="ASSIGNMENT", help="only this assignment (needed by Moodle "
                        "when several are graded)")
    export.add_argument("--include-provisional", action="store_true",
                        help="Moodle: also write grades pending manual grading or tampered")
    export.add_argument("--detail", action="store_true", help="one row per student, assignment and graded cell")

    state = command("status", _status, "where every student stands: one line each, then the counts")
    state.add_argument("assignment", nargs="?", metavar="ASSIGNMENT", help="default: all")

    report = command("report", _report, "write the class report (HTML with plots)")
    report.add_argument("-o", "--output", help="the HTML file (default: reports/report.html)")

    alike = command("similarity", _similarity, "write which students' code and models are alike (HTML), "
                    "the most alike pairs going to the attention list")
    alike.add_argument("assignment", metavar="ASSIGNMENT")
    alike.add_argument("-o", "--output", help="the HTML file (default: reports/similarity-ASSIGNMENT.html)")

    package = command("student-package", _student_package, "build what students install: a wheel with "
                      "`course check` and what the notebooks import (no solution, no hidden check), and a "
                      "zip of the released notebooks")
    package.add_argument("-o", "--output", metavar="DIR", help="where (default: dist/student/)")

    add_check_command(commands)

    demo = command("demo", _demo, "run the whole workflow on a simulated class, in a new folder")
    demo.add_argument("--folder", default="demo-course", help="where the demo course is made (default: demo-course)")
    demo.add_argument("--full-class", action="store_true", help="both practicals and more students (slower)")
    demo.add_argument("--unsafe-no-sandbox", action="store_true", help="grade without bubblewrap")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_third_parties()
    try:
        return args.run(args)
    except CourseError as error:
        say(f"course: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        say("course: interrupted (what was finished is kept; run the command again to go on)", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 (a bug of course_lib: one line, the traceback on demand)
        if os.environ.get("COURSE_DEBUG"):
            raise
        say(f"course: internal error: {type(error).__name__}: {last_line(str(error)) or 'no message'} "
            "(COURSE_DEBUG=1 shows the traceback; please report it)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
