"""Grading cost of a practical's solution: `course grade` (sandbox and verifier included) vs
the same cells run plainly, measured in one command on this machine.

The baseline is `jupyter nbconvert --execute` of the same notebook with
NBGRADER_EXECUTION=autograde set, so that the same cells run (the demonstration trainings are
skipped in both): what an unconfined autograde of the notebook costs. With --repeat N the two
alternate N times and the medians are compared (this machine's timings vary by a few seconds).
Prints the wall times and the ratio of the medians (the goal: at most 1.10); writes them with the
machine to bench/results/grading-time-<assignment>.json (docs/benchmarks.md's table, and the
200-student projection, are written from it by bench/render.py).

    python bench/grading_time.py tp1_dense --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import machine

from course_lib.pipeline.collect import place_submission
from course_lib.release import copy_course
from course_lib.pipeline.grade import grade
from course_lib.results import read_result

PROJECT = Path(__file__).resolve().parents[1]
MNIST = PROJECT.parent / "shared" / "data" / "mnist"


def measure(*, assignment: str, repeat: int = 1) -> dict:
    solution = PROJECT / "grader_tests" / "fixtures" / assignment / "solution.ipynb"
    executes, grades, runs, score = [], [], [], ""
    with tempfile.TemporaryDirectory() as scratch:
        course = copy_course(origin=PROJECT, folder=Path(scratch) / "course",
                             assignments=[assignment], mnist_dir=MNIST)
        place_submission(course_dir=course, assignment=assignment, student="bench", notebook=solution)
        for turn in range(repeat):
            plain = Path(scratch) / f"plain{turn}"  # the kernel runs where the notebook is: here
            plain.mkdir()
            notebook = Path(shutil.copy(solution, plain))
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                 "--ExecutePreprocessor.timeout=1800", "--output", "executed", str(notebook)],
                check=True, capture_output=True, cwd=plain,
                env={**os.environ, "NBGRADER_EXECUTION": "autograde", "COURSE_MNIST_DIR": str(MNIST)},
            )
            executes.append(time.perf_counter() - started)
            started = time.perf_counter()
            grade(assignment=assignment, course_dir=course, force=True, use_cache=False)
            grades.append(time.perf_counter() - started)
            graded = read_result(course, assignment, "bench")
            runs.append(graded.seconds)
            score = f"{graded.score:g}/{graded.max_score:g}"
    median_grade, median_execute = statistics.median(grades), statistics.median(executes)
    return {
        "assignment": assignment,
        "repeat": repeat,
        "course_grade_seconds": [round(t, 1) for t in grades],
        "course_grade_score": score,
        "sandboxed_run_seconds": runs,
        "nbconvert_execute_autograde_seconds": [round(t, 1) for t in executes],
        "ratio_of_medians_grade_over_execute": round(median_grade / median_execute, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    load = os.getloadavg()
    result = measure(assignment=args.assignment, repeat=args.repeat)
    result["machine"] = machine(threads=os.cpu_count(), load_before=load)
    out = PROJECT / "bench" / "results" / f"grading-time-{args.assignment}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
