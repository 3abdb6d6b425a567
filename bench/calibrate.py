"""Calibrate a practical's accuracy thresholds: grade its solution with several seeds.

For each seed, the solution (its `SEED = <seed>` line changed) is graded exactly as students'
work is: `course grade`, in a sandbox, the accuracy measured by the verifier on the reference
MNIST test set; the model it kept is also measured on the shipped sample of non-MNIST digits.
Prints mean, σ, min and the suggested full threshold floor(mean − 3σ) to the percent, and
writes them as JSON.

    python bench/calibrate.py tp1_dense --seeds 1 2 3 4 5
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import tempfile
from pathlib import Path

import nbformat

from course_lib.pipeline.collect import place_submission
from course_lib.release import copy_course
from course_lib.pipeline.grade import grade
from course_lib.results import private_dir, read_result

PROJECT = Path(__file__).resolve().parents[1]
MNIST = PROJECT.parent / "shared" / "data" / "mnist"
SEED_LINE = re.compile(r"^SEED = \d+$", flags=re.M)


def seeded_solution(assignment: str, seed: int, folder: Path) -> Path:
    """The solution fixture with `SEED = seed`, written in `folder`."""
    notebook = nbformat.read(PROJECT / "grader_tests" / "fixtures" / assignment / "solution.ipynb", as_version=4)
    [seed_cell] = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "seed"]
    seed_cell.source = SEED_LINE.sub(f"SEED = {seed}", seed_cell.source)
    path = folder / f"seed{seed}.ipynb"
    nbformat.write(notebook, path)
    return path


def sample_accuracy(model_path: Path) -> float:
    """The model's accuracy on course_lib's sample of non-MNIST handwritten digits."""
    from course_lib.checks import accuracy, model_inputs
    from course_lib.digits import load_digit_images, sample_digits_dir
    from course_lib.pipeline.verify import load_model_safely

    model = load_model_safely(model_path)
    images, labels, _ = load_digit_images(sample_digits_dir())
    return accuracy(model, model_inputs(model, images), labels)


def calibrate(*, assignment: str, seeds: list[int]) -> dict:
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        course = copy_course(origin=PROJECT, folder=Path(scratch) / "course", assignments=[assignment],
                             mnist_dir=MNIST)
        for seed in seeds:
            student = f"seed{seed}"
            place_submission(course_dir=course, assignment=assignment, student=student,
                             notebook=seeded_solution(assignment, seed, Path(scratch)))
            grade(assignment=assignment, students=[student], course_dir=course)
            result = read_result(course, assignment, student)
            assert result["accuracy"] is not None, f"seed {seed}: {result['status']} {result['message']}"
            model = private_dir(course, assignment, student) / result["files"]["model"]
            runs.append({"seed": seed, "accuracy": result["accuracy"],
                         "sample_digits_accuracy": sample_accuracy(model), "seconds": result["seconds"]})
            print(json.dumps(runs[-1]), flush=True)
    values = [run["accuracy"] for run in runs]
    samples = [run["sample_digits_accuracy"] for run in runs]
    mean, sigma = statistics.mean(values), statistics.stdev(values)
    return {
        "assignment": assignment,
        "runs": runs,
        "mean": round(mean, 5),
        "sigma": round(sigma, 5),
        "min": min(values),
        "mean_minus_3_sigma": round(mean - 3 * sigma, 5),
        "suggested_full_threshold": int((mean - 3 * sigma) * 100) / 100,
        "sample_digits_mean": round(statistics.mean(samples), 4),
        "sample_digits_min": min(samples),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    args = parser.parse_args()
    summary = calibrate(assignment=args.assignment, seeds=args.seeds)
    out = PROJECT / "bench" / "results" / f"calibration-{args.assignment}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}))


if __name__ == "__main__":
    main()
