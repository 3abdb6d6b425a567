"""Calibrate a practical's accuracy thresholds: grade its solution with several seeds.

For each seed, the solution is graded exactly as students' work is, with `SEED = <seed>` in
the seed cell (of the release, whose given cells grading runs, and of the solution): `course
grade`, one submission at a time, in a sandbox, the accuracy measured by the verifier on the
reference MNIST test set; the model it kept is also measured on the shipped sample of
non-MNIST digits. TensorFlow trains on all the machine's cores, as a sequential `course grade`
runs it; with `--parallel N`, N seeds are graded at once, each on its share of the cores, as
`course grade --workers N` grades a class (a seed trains differently on another number of
threads). Prints mean, σ, min, 5th percentile, max, the shipped seed's value and the
suggested full threshold floor(mean − 3σ) to the percent, and writes them as JSON.

    python bench/calibrate.py tp1_dense --seeds 1234 $(seq 1 29)
    python bench/calibrate.py tp2_convol --parallel 2 --seeds 1234 $(seq 1 29)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from machine import machine

from course_lib.pipeline.collect import place_submission
from course_lib.release import copy_course
from course_lib.pipeline.grade import grade
from course_lib.results import private_dir, read_result

PROJECT = Path(__file__).resolve().parents[1]
MNIST = PROJECT.parent / "shared" / "data" / "mnist"
SEED_LINE = re.compile(r"^SEED = \d+$", flags=re.M)


def _seed_cell(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    [cell] = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "seed"]
    return cell


def shipped_seed(assignment: str) -> int:
    """The SEED the solution (and so the release) ships with."""
    notebook = nbformat.read(PROJECT / "grader_tests" / "fixtures" / assignment / "solution.ipynb", as_version=4)
    return int(SEED_LINE.search(_seed_cell(notebook).source).group().split("=")[1])


def set_seed(notebook_path: Path, seed: int) -> None:
    """Write `SEED = seed` in the notebook's seed cell. The seed cell is given code: grading
    runs the release's copy of it, so the course's release is changed, and the submission
    with it (else it would be flagged as edited)."""
    notebook = nbformat.read(notebook_path, as_version=4)
    cell = _seed_cell(notebook)
    cell.source = SEED_LINE.sub(f"SEED = {seed}", cell.source)
    nbformat.write(notebook, notebook_path)


def sample_accuracy(model_path: Path) -> float:
    """The model's accuracy on course_lib's sample of non-MNIST handwritten digits."""
    from course_lib.checks import accuracy, model_inputs
    from course_lib.digits import load_digit_images, sample_digits_dir
    from course_lib.pipeline.verify import load_model_safely

    model = load_model_safely(model_path)
    images, labels, _ = load_digit_images(sample_digits_dir())
    return accuracy(model, model_inputs(model, images), labels)


def grade_seeds(*, assignment: str, seeds: list[int]) -> list[dict]:
    """Grade the solution once per seed, one after the other, on the cores this process may use."""
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        course = copy_course(origin=PROJECT, folder=Path(scratch) / "course", assignments=[assignment],
                             mnist_dir=MNIST)
        [release] = (course / "release" / assignment).glob("*.ipynb")
        for seed in seeds:
            student, submission = f"seed{seed}", Path(scratch) / f"seed{seed}.ipynb"
            shutil.copy(PROJECT / "grader_tests" / "fixtures" / assignment / "solution.ipynb", submission)
            set_seed(submission, seed)
            set_seed(release, seed)
            place_submission(course_dir=course, assignment=assignment, student=student, notebook=submission)
            grade(assignment=assignment, students=[student], course_dir=course)
            result = read_result(course, assignment, student)
            assert result.accuracy is not None, f"seed {seed}: {result.status} {result.message}"
            assert not result.tampered, f"seed {seed}: {result.notes} {result.tampering}"
            private = private_dir(course, assignment, student)
            epochs = len(json.loads((private / result.files.history).read_text())["val_accuracy"])
            runs.append({"seed": seed, "accuracy": result.accuracy, "epochs": epochs,
                         "sample_digits_accuracy": sample_accuracy(private / result.files.model),
                         "seconds": result.seconds})
            print(json.dumps(runs[-1]), flush=True)
    return runs


def grade_seeds_in_parallel(*, assignment: str, seeds: list[int], parallel: int) -> list[dict]:
    """`parallel` processes of this script, each pinned to its share of the cores (TensorFlow
    then trains on that many threads, as on a Dask worker of `course grade --workers`), each
    grading every `parallel`-th seed in a course of its own; their runs come back as JSON lines."""
    cores = sorted(os.sched_getaffinity(0))
    share = len(cores) // parallel
    children = [
        subprocess.Popen([sys.executable, __file__, assignment, "--seeds", *map(str, seeds[part::parallel]),
                          "--cores", *map(str, cores[part * share:(part + 1) * share])],
                         stdout=subprocess.PIPE, text=True)
        for part in range(parallel)
    ]
    outputs = [child.communicate()[0] for child in children]
    if failed := [child.returncode for child in children if child.returncode != 0]:
        raise SystemExit(f"a calibration process failed (exit {failed[0]})")
    runs = [json.loads(line) for out in outputs for line in out.splitlines() if line.startswith("{")]
    return sorted(runs, key=lambda run: seeds.index(run["seed"]))


def calibrate(*, assignment: str, seeds: list[int], parallel: int = 1) -> dict:
    load_before = os.getloadavg()
    if parallel == 1:
        runs = grade_seeds(assignment=assignment, seeds=seeds)
    else:
        runs = grade_seeds_in_parallel(assignment=assignment, seeds=seeds, parallel=parallel)
    values = [run["accuracy"] for run in runs]
    samples = [run["sample_digits_accuracy"] for run in runs]
    mean, sigma = statistics.mean(values), statistics.stdev(values)
    shipped = shipped_seed(assignment)
    threads = len(os.sched_getaffinity(0)) // parallel
    return {
        "assignment": assignment,
        "machine": machine(threads=threads, load_before=load_before),
        "threads": threads,
        "parallel": parallel,
        "runs": runs,
        "seeds": len(values),
        "mean": round(mean, 5),
        "sigma": round(sigma, 5),
        "min": min(values),
        "p5": round(statistics.quantiles(values, n=20, method="inclusive")[0], 5),
        "max": max(values),
        "shipped_seed": shipped,
        "shipped_seed_accuracy": next((r["accuracy"] for r in runs if r["seed"] == shipped), None),
        "seconds_mean": round(statistics.mean(r["seconds"] for r in runs), 1),
        "seconds_max": max(r["seconds"] for r in runs),
        "mean_minus_3_sigma": round(mean - 3 * sigma, 5),
        "suggested_full_threshold": int((mean - 3 * sigma) * 100) / 100,
        "sample_digits_mean": round(statistics.mean(samples), 4),
        "sample_digits_min": min(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--parallel", type=int, default=1,
                        help="seeds graded at once, each on its share of the cores (default 1: all cores)")
    parser.add_argument("--cores", type=int, nargs="+", help=argparse.SUPPRESS)  # a --parallel child's cores
    args = parser.parse_args()
    if args.cores:
        os.sched_setaffinity(0, args.cores)  # the kernels this process starts inherit it
        grade_seeds(assignment=args.assignment, seeds=args.seeds)
        return
    if not 1 <= args.parallel <= len(os.sched_getaffinity(0)):
        parser.error(f"--parallel must be between 1 and the {len(os.sched_getaffinity(0))} cores")
    summary = calibrate(assignment=args.assignment, seeds=args.seeds, parallel=args.parallel)
    out = PROJECT / "bench" / "results" / f"calibration-{args.assignment}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}))


if __name__ == "__main__":
    main()
