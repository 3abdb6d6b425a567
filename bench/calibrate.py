"""Calibrate a practical's thresholds: grade its solution as a class of students.

Each student's network trains with the student's own seed (course_lib.seeds: drawn from the
course secret and the id; a secret of this calibration's), as at grading: `course grade`, one
submission at a time, in a sandbox, the accuracy measured by the verifier on the reference MNIST
test set; the model it kept is also measured on the shipped sample of non-MNIST digits. With
`--cheats K`, K more students hand in the solution trained on train + test
(grader_tests/fixtures/<assignment>/trained_on_test_set.ipynb). TensorFlow trains on all the
machine's cores, as a sequential `course grade` runs it; with `--parallel N`, N students are
graded at once, each on its share of the cores, as `course grade --workers N` grades a class.

Prints and writes as JSON: the accuracy's mean, σ, min, 5th percentile, max and the suggested
full threshold floor(mean − 3σ) to the percent; where the test set sits between seen and
unseen images for the honest runs (`test_position`, course_lib.pipeline.integrity), its
suggested threshold (mean − 4σ, floored to 0.01), the honest runs under the threshold
course.toml sets (false alarms), and the cheats' positions and how many were flagged.
`--summarize` judges the recorded runs again by the current rule and threshold.

    python bench/calibrate.py tp1_dense --students 30 --cheats 3
    python bench/calibrate.py tp2_convol --parallel 2 --students 30 --cheats 3
"""

from __future__ import annotations

import argparse
import json
import os
import math
import secrets
import tomllib
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import machine

from course_lib.course import DEFAULT_TEST_POSITION
from course_lib.pipeline.integrity import signals
from course_lib.pipeline.collect import place_submission
from course_lib.release import copy_course
from course_lib.pipeline.grade import grade
from course_lib.results import SuspicionKind, private_dir, read_result
from course_lib.verdicts import ModelEvidence

PROJECT = Path(__file__).resolve().parents[1]
MNIST = PROJECT.parent / "shared" / "data" / "mnist"
FIXTURES = PROJECT / "grader_tests" / "fixtures"
HONEST, CHEAT = "solution", "trained_on_test_set"


def sample_accuracy(model_path: Path) -> float:
    """The model's accuracy on course_lib's sample of non-MNIST handwritten digits."""
    from course_lib.checks import model_inputs, predicted_probabilities
    from course_lib.digits import load_digit_images, sample_digits_dir
    from course_lib.verifier.exports import load_model_safely

    model = load_model_safely(model_path)
    images, labels, _ = load_digit_images(sample_digits_dir())
    predicted = predicted_probabilities(model, model_inputs(model, images), labels).argmax(axis=1)
    return float((predicted == labels).mean())


def grade_students(*, assignment: str, students: list[str]) -> list[dict]:
    """Grade each student's notebook one after the other, on the cores this process may use:
    a student named cheat… hands in the solution trained on train + test, any other the solution."""
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        course = copy_course(origin=PROJECT, folder=Path(scratch) / "course", assignments=[assignment],
                             mnist_dir=MNIST)
        for student in students:
            notebook = CHEAT if student.startswith("cheat") else HONEST
            place_submission(course_dir=course, assignment=assignment, student=student,
                             notebook=FIXTURES / assignment / f"{notebook}.ipynb")
            grade(assignment=assignment, students=[student], course_dir=course)
            result = read_result(course, assignment, student)
            assert result.accuracy is not None and result.evidence, f"{student}: {result.status} {result.message}"
            assert not result.tampered, f"{student}: {result.notes} {result.tampering}"
            private = private_dir(course, assignment, student)
            epochs = len(json.loads((private / result.files.history).read_text())["val_accuracy"])
            runs.append({"student": student, "notebook": notebook, "seed": result.seed, "accuracy": result.accuracy,
                         "epochs": epochs, "sample_digits_accuracy": sample_accuracy(private / result.files.model),
                         "test_loss": result.evidence.test_loss, "train_loss": result.evidence.train_loss,
                         "validation_loss": result.evidence.validation_loss,
                         "test_position": result.evidence.test_position,
                         "suspicions": [s.kind.value for s in result.suspicions], "seconds": result.seconds})
            print(json.dumps(runs[-1]), flush=True)
    return runs


def grade_in_parallel(*, assignment: str, students: list[str], parallel: int) -> list[dict]:
    """`parallel` processes of this script, each pinned to its share of the cores (TensorFlow
    then trains on that many threads, as on a Dask worker of `course grade --workers`), each
    grading every `parallel`-th student in a course of its own; their runs come back as JSON lines."""
    cores = sorted(os.sched_getaffinity(0))
    share = len(cores) // parallel
    children = [
        subprocess.Popen([sys.executable, __file__, assignment, "--names", *students[part::parallel],
                          "--cores", *map(str, cores[part * share:(part + 1) * share])],
                         stdout=subprocess.PIPE, text=True)
        for part in range(parallel)
    ]
    outputs = [child.communicate()[0] for child in children]
    if failed := [child.returncode for child in children if child.returncode != 0]:
        raise SystemExit(f"a calibration process failed (exit {failed[0]})")
    runs = [json.loads(line) for out in outputs for line in out.splitlines() if line.startswith("{")]
    return sorted(runs, key=lambda run: students.index(run["student"]))


def calibrate(*, assignment: str, students: int, cheats: int, parallel: int = 1) -> dict:
    load_before = os.getloadavg()
    names = [f"student{n:02d}" for n in range(1, students + 1)] + [f"cheat{n:02d}" for n in range(1, cheats + 1)]
    if parallel == 1:
        runs = grade_students(assignment=assignment, students=names)
    else:
        runs = grade_in_parallel(assignment=assignment, students=names, parallel=parallel)
    threads = len(os.sched_getaffinity(0)) // parallel
    return summarize(assignment=assignment, runs=runs, machine=machine(threads=threads, load_before=load_before),
                     threads=threads, parallel=parallel)


def summarize(*, assignment: str, runs: list[dict], machine: dict, threads: int, parallel: int) -> dict:
    """The figures of the runs. The trained-on-the-test-set signal is judged here again from
    each run's recorded losses, by the current rule (course_lib.pipeline.integrity), so that
    `--summarize` brings an earlier calibration's figures to a changed rule or threshold
    without training again; the other signals are those the grading raised."""
    for run in runs:
        evidence = ModelEvidence(test_loss=run["test_loss"], train_loss=run["train_loss"],
                                 validation_loss=run["validation_loss"], validation_accuracy=0.0, history_validation=[])
        run["test_position"] = evidence.test_position
        run["trained_on_test"] = any(s.kind == SuspicionKind.TRAINED_ON_TEST for s in signals(
            evidence=evidence, accuracy=run["accuracy"], literals=[], test_position=test_position_threshold(assignment)))
    honest = [run for run in runs if run["notebook"] == HONEST]
    cheated = [run for run in runs if run["notebook"] == CHEAT]
    values = [run["accuracy"] for run in honest]
    samples = [run["sample_digits_accuracy"] for run in honest]
    positions = [run["test_position"] for run in honest if run["test_position"] is not None]
    mean, sigma = statistics.mean(values), statistics.stdev(values)
    other = [kind for run in honest for kind in run["suspicions"] if kind != SuspicionKind.TRAINED_ON_TEST]
    return {
        "assignment": assignment,
        "machine": machine,
        "threads": threads,
        "parallel": parallel,
        "seeds_from": "students (course_lib.seeds, a secret of this calibration)",
        "runs": runs,
        "seeds": len(values),
        "mean": round(mean, 5),
        "sigma": round(sigma, 5),
        "min": min(values),
        "p5": round(statistics.quantiles(values, n=20, method="inclusive")[0], 5),
        "max": max(values),
        "seconds_mean": round(statistics.mean(r["seconds"] for r in honest), 1),
        "seconds_max": max(r["seconds"] for r in honest),
        "mean_minus_3_sigma": round(mean - 3 * sigma, 5),
        "suggested_full_threshold": int((mean - 3 * sigma) * 100) / 100,
        "sample_digits_mean": round(statistics.mean(samples), 4),
        "sample_digits_min": min(samples),
        "test_position": {
            "measured": len(positions), "undecided": len(honest) - len(positions),
            "mean": round(statistics.mean(positions), 4) if positions else None,
            "sigma": round(statistics.stdev(positions), 4) if len(positions) > 1 else None,
            "min": min(positions, default=None), "max": max(positions, default=None),
            "suggested_threshold": (math.floor((statistics.mean(positions) - 4 * statistics.stdev(positions)) * 100) / 100
                                    if len(positions) > 1 else None),
            "threshold": test_position_threshold(assignment),
            "false_alarms": sum(run["trained_on_test"] for run in honest),
            "cheats": len(cheated),
            "cheat_positions": [run["test_position"] for run in cheated],
            "cheats_flagged": sum(run["trained_on_test"] for run in cheated),
            "honest_flagged": sum(run["trained_on_test"] for run in honest) + len(other),
        },
    }


def test_position_threshold(assignment: str) -> float:
    integrity = tomllib.loads((PROJECT / "course.toml").read_text())["assignments"][assignment].get("integrity", {})
    return integrity.get("test_position", DEFAULT_TEST_POSITION)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--students", type=int, default=30, help="honest students (the solution), 2 or more")
    parser.add_argument("--cheats", type=int, default=0, help="students training on train + test")
    parser.add_argument("--parallel", type=int, default=1,
                        help="students graded at once, each on its share of the cores (default 1: all cores)")
    parser.add_argument("--summarize", action="store_true",
                        help="judge the runs of bench/results/calibration-ASSIGNMENT.json again by the current rules")
    parser.add_argument("--names", nargs="+", help=argparse.SUPPRESS)  # a --parallel child's students
    parser.add_argument("--cores", type=int, nargs="+", help=argparse.SUPPRESS)  # and its cores
    args = parser.parse_args()
    os.environ.setdefault("COURSE_SECRET", secrets.token_hex(16))  # the children inherit it
    if args.cores:
        os.sched_setaffinity(0, args.cores)  # the kernels this process starts inherit it
        grade_students(assignment=args.assignment, students=args.names)
        return
    out = PROJECT / "bench" / "results" / f"calibration-{args.assignment}.json"
    if args.summarize:
        before = json.loads(out.read_text())
        out.write_text(json.dumps(summarize(assignment=args.assignment, runs=before["runs"], machine=before["machine"],
                                            threads=before["threads"], parallel=before["parallel"]), indent=2) + "\n")
        return
    if not 1 <= args.parallel <= len(os.sched_getaffinity(0)):
        parser.error(f"--parallel must be between 1 and the {len(os.sched_getaffinity(0))} cores")
    if args.students < 2:
        parser.error("--students must be 2 or more (a σ needs two)")
    summary = calibrate(assignment=args.assignment, students=args.students, cheats=args.cheats, parallel=args.parallel)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}))


if __name__ == "__main__":
    main()
