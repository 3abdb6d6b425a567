"""Calibrate a practical's accuracy thresholds: run its solution with several seeds.

For each seed, the master notebook runs as the autograder runs it (NBGRADER_EXECUTION=autograde,
demonstrations skipped, hidden tests included) with `SEED = <seed>`; the model its hidden tests
save for the grader is measured here, in a clean process, on the reference MNIST test set and on
the shipped sample of non-MNIST digits. Prints mean, σ, min and the suggested full threshold
floor(mean − 3σ) to the percent, and writes them as JSON.

    python bench/calibrate.py tp1_dense --seeds 1 2 3 4 5
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_lib.checks.artifacts import GRADER_MODEL
from course_lib.grading import reference_accuracy

PROJECT = Path(__file__).resolve().parents[1]
SEED_LINE = re.compile(r"^SEED = \d+$", flags=re.M)


def run_solution(assignment: str, seed: int, folder: Path) -> Path:
    """Execute the master notebook with `seed` in `folder`; return the saved model's path."""
    [source] = (PROJECT / "source" / assignment).glob("*.ipynb")
    notebook = nbformat.read(source, as_version=4)
    [seed_cell] = [c for c in notebook.cells if c.metadata["nbgrader"]["grade_id"] == "seed"]
    seed_cell.source = SEED_LINE.sub(f"SEED = {seed}", seed_cell.source)
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    NotebookClient(notebook, timeout=1800, resources={"metadata": {"path": str(folder)}}).execute()
    return folder / GRADER_MODEL


def sample_accuracy(model_path: Path) -> float:
    """The model's accuracy on course_lib's sample of non-MNIST handwritten digits."""
    from course_lib.checks import accuracy, load_saved_model, model_inputs
    from course_lib.digits import load_digit_images, sample_digits_dir

    model = load_saved_model(model_path)
    images, labels, _ = load_digit_images(sample_digits_dir())
    return accuracy(model, model_inputs(model, images), labels)


def calibrate(*, assignment: str, seeds: list[int]) -> dict:
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "course.toml").write_text((PROJECT / "course.toml").read_text().replace(
            '"../shared', f'"{PROJECT.parent / "shared"}'))
        for seed in seeds:
            started = time.perf_counter()
            model_path = run_solution(assignment, seed, Path(scratch))
            value = reference_accuracy(model_path)
            assert value is not None, f"seed {seed}: the notebook saved no model for the grader"
            runs.append({"seed": seed, "accuracy": value, "sample_digits_accuracy": sample_accuracy(model_path),
                         "seconds": round(time.perf_counter() - started, 1)})
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
