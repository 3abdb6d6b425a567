"""Grading cost of a practical: nbgrader autograde of its solution vs a plain full execution.

Both run in this one command on the same machine: `course_lib.grading.grade_submission` (the
autograder, which skips the demonstration trainings) and `jupyter nbconvert --execute` of the
same notebook (what a student's "run all" costs). Prints both wall times and their ratio.

    python bench/grading_time.py tp1_dense
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course_lib.course import copy_course, place_submission
from course_lib.grading import grade_submission

PROJECT = Path(__file__).resolve().parents[1]
MNIST = PROJECT.parent / "shared" / "data" / "mnist"


def measure(*, assignment: str) -> dict:
    solution = PROJECT / "grader_tests" / "fixtures" / assignment / "solution.ipynb"
    with tempfile.TemporaryDirectory() as scratch:
        course = copy_course(origin=PROJECT, folder=Path(scratch) / "course",
                             assignments=[assignment], mnist_dir=MNIST)
        place_submission(course_dir=course, assignment=assignment, student="bench", notebook=solution)
        started = time.perf_counter()
        graded = grade_submission(course_dir=course, assignment=assignment, student="bench",
                                  output_dir=Path(scratch) / "autograded")
        autograde_seconds = time.perf_counter() - started

        plain = Path(scratch) / "plain"
        plain.mkdir()
        (plain / "course.toml").write_text((course / "course.toml").read_text())
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
             "--ExecutePreprocessor.timeout=1800", "--output-dir", str(plain), str(solution)],
            check=True, capture_output=True,
        )
        execute_seconds = time.perf_counter() - started
    return {
        "assignment": assignment,
        "autograde_seconds": round(autograde_seconds, 1),
        "autograde_score": f"{graded['score']:g}/{graded['max_score']:g}",
        "nbconvert_execute_seconds": round(execute_seconds, 1),
        "ratio_autograde_over_execute": round(autograde_seconds / execute_seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    args = parser.parse_args()
    result = measure(assignment=args.assignment)
    out = PROJECT / "bench" / "results" / f"grading-time-{args.assignment}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
