"""How fast each practical's final training runs when graded, against the floor this machine
gives the same recipe, measured in one command.

For each practical, the solution's final training (the answer above the test of its kept history) is timed three ways, all
on the same `--threads` cores (this process is pinned to them, as a grading job of `course
grade --workers` gets its share of the machine):
  (a) bare: a plain Python process runs the solution's code cells up to and including `train`
      (no Jupyter, no sandbox; the demonstrations skipped, as in grading), with the thread
      settings a grading job gets: the floor;
  (b) `course grade`: sandbox, limits, the notebook's other cells around it, the verifier; the
      training cell's wall time as the grader's runner measured it (result "cell_seconds");
  (c) `jupyter nbconvert --execute` of the same notebook (NBGRADER_EXECUTION=autograde), the
      cell's time from nbclient's own timestamps.
The epoch time of each is the training cell's time over the epochs it ran (validation
included: it is part of the recipe). Prints the ratios (b)/(a) (the goal: at most 1.15) and
(c)/(a), the grading cost of the solution in bare epochs (`course grade`'s wall time over (a)),
and the FLOPs of an epoch counted from the model (multiply-adds of the dense and convolution
layers, two FLOPs each, three passes for a training image, one for a validation image) with the
GFLOP/s each setting reaches. Writes bench/results/training-speed.json with the machine.

    python bench/training_speed.py
    python bench/training_speed.py tp2_convol --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import functools
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat

from machine import machine

from course_lib.cells import grade_id, is_answer
from course_lib.pipeline.collect import place_submission
from course_lib.pipeline.grade import grade
from course_lib.release import copy_course
from course_lib.results import private_dir, read_result
from course_lib.specs.protocol import load_spec

PROJECT = Path(__file__).resolve().parents[1]
MNIST = PROJECT.parent / "shared" / "data" / "mnist"
RESULT = PROJECT / "bench" / "results" / "training-speed.json"
ASSIGNMENTS = ("tp1_dense", "tp2_convol")
EPOCH_LINE = re.compile(r"^Epoch (\d+)/\d+$", flags=re.M)
VALIDATION_SPLIT = re.compile(r"validation_split\s*=\s*([0-9.]+)")


def solution(assignment: str) -> Path:
    return PROJECT / "grader_tests" / "fixtures" / assignment / "solution.ipynb"


def thread_env(threads: int) -> dict[str, str]:
    """The environment a grading job's kernel gets (course_lib.pipeline.worker), MNIST local."""
    count = str(threads)
    return {**os.environ, "TF_NUM_INTRAOP_THREADS": count, "TF_NUM_INTEROP_THREADS": count,
            "OMP_NUM_THREADS": count, "COURSE_MNIST_DIR": str(MNIST), "NBGRADER_EXECUTION": "autograde",
            "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3"}


def multiply_adds(model) -> int:
    """Multiply-adds of one image's forward pass through the dense and convolution layers."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            total += int(layer.kernel.shape[0]) * layer.units
        elif isinstance(layer, keras.layers.Conv2D):
            height, width, channels = layer.output.shape[1:]
            kernel_h, kernel_w, inputs, _ = layer.kernel.shape
            total += int(height * width * channels * kernel_h * kernel_w * inputs)
    return total


def bare_run(assignment: str) -> dict:
    """(a), in this process: the solution's code cells up to `train`, that cell timed."""
    namespace = {"__name__": "__main__", "display": lambda *args, **kwargs: None}
    source = ""
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        for cell in nbformat.read(solution(assignment), as_version=4).cells:
            if cell.cell_type != "code":
                continue
            started = time.perf_counter()
            exec(compile(cell.source, grade_id(cell) or "cell", "exec"), namespace)
            if grade_id(cell) == training_cell(assignment):
                seconds, source = time.perf_counter() - started, cell.source
                break
    history, model = namespace["hist"].history, namespace["model"]
    samples = len(namespace["x_train"])
    validation = round(samples * float(VALIDATION_SPLIT.search(source).group(1)))
    macs = multiply_adds(model)
    return {"train_seconds": round(seconds, 2), "epochs": len(history["loss"]), "multiply_adds_per_image": macs,
            "flops_per_epoch": 2 * macs * (3 * (samples - validation) + validation)}


@functools.cache
def training_cell(assignment: str) -> str:
    """The answer that trains the network: the last code answer above the test cell whose
    history the spec keeps (its KEEP.history)."""
    tested, _ = load_spec(assignment).KEEP.history
    answers = []
    for cell in nbformat.read(solution(assignment), as_version=4).cells:
        if grade_id(cell) == tested:
            return answers[-1]
        if is_answer(cell) and cell.cell_type == "code":
            answers.append(grade_id(cell))
    raise SystemExit(f"{assignment}: no test cell {tested}")


def bare(assignment: str, threads: int) -> dict:
    """(a) in a fresh Python process (this script with --bare): no kernel, no sandbox."""
    ran = subprocess.run([sys.executable, __file__, assignment, "--bare"], env=thread_env(threads),
                         capture_output=True, text=True, check=True)
    return json.loads(ran.stdout.splitlines()[-1])


def graded(assignment: str, scratch: Path) -> dict:
    """(b): `course grade` of the solution; the training cell's time from the result."""
    course = copy_course(origin=PROJECT, folder=scratch / "course", assignments=[assignment], mnist_dir=MNIST)
    place_submission(course_dir=course, assignment=assignment, student="bench", notebook=solution(assignment))
    started = time.perf_counter()
    grade(assignment=assignment, course_dir=course, use_cache=False)
    total = time.perf_counter() - started
    result = read_result(course, assignment, "bench")
    history = json.loads((private_dir(course, assignment, "bench") / result.files.history).read_text())
    return {"train_seconds": result.cell_seconds[training_cell(assignment)], "epochs": len(history["loss"]),
            "grade_seconds": round(total, 1), "accuracy": result.accuracy}


def converted(assignment: str, scratch: Path, threads: int) -> dict:
    """(c): `jupyter nbconvert --execute`; the training cell's time from nbclient's timestamps."""
    folder = scratch / "nbconvert"
    folder.mkdir()
    notebook = Path(shutil.copy(solution(assignment), folder))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                    "--ExecutePreprocessor.timeout=1800", "--output", "executed", str(notebook)],
                   check=True, capture_output=True, cwd=folder, env=thread_env(threads))
    total = time.perf_counter() - started
    [cell] = [c for c in nbformat.read(folder / "executed.ipynb", as_version=4).cells
              if grade_id(c) == training_cell(assignment)]
    stamps = cell.metadata["execution"]
    seconds = (datetime.fromisoformat(stamps["shell.execute_reply"].replace("Z", "+00:00"))
               - datetime.fromisoformat(stamps["iopub.execute_input"].replace("Z", "+00:00"))).total_seconds()
    printed = "".join(output.get("text", "") for output in cell.outputs)
    return {"train_seconds": round(seconds, 2), "epochs": len(EPOCH_LINE.findall(printed)),
            "total_seconds": round(total, 1)}


def measure(assignment: str, threads: int) -> dict:
    floor = bare(assignment, threads)
    with tempfile.TemporaryDirectory() as folder:
        grading = graded(assignment, Path(folder))
        plain = converted(assignment, Path(folder), threads)
    epoch = {name: run["train_seconds"] / run["epochs"]
             for name, run in (("bare", floor), ("course_grade", grading), ("nbconvert", plain))}
    return {
        "assignment": assignment, "bare": floor, "course_grade": grading, "nbconvert": plain,
        "epoch_seconds": {name: round(seconds, 2) for name, seconds in epoch.items()},
        "ratio_grade_over_bare": round(epoch["course_grade"] / epoch["bare"], 3),
        "ratio_nbconvert_over_bare": round(epoch["nbconvert"] / epoch["bare"], 3),
        "grading_cost_bare_epochs": round(grading["grade_seconds"] / epoch["bare"], 2),
        "gflops_per_second": {name: round(floor["flops_per_epoch"] / seconds / 1e9, 2) for name, seconds in epoch.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS))
    parser.add_argument("--threads", type=int, default=1, help="cores a grading job gets (default 1)")
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        print(json.dumps(bare_run(args.assignments[0])))
        return
    cores = sorted(os.sched_getaffinity(0))
    if args.threads > len(cores):
        raise SystemExit(f"--threads {args.threads}: this process may use {len(cores)} cores")
    os.sched_setaffinity(0, cores[:args.threads])
    os.environ.update({key: value for key, value in thread_env(args.threads).items()
                       if key.startswith(("TF_", "OMP_"))})
    load_before = os.getloadavg()
    runs = []
    for assignment in args.assignments:
        runs.append(measure(assignment, args.threads))
        run = runs[-1]
        print(f"{assignment}: epoch {run['epoch_seconds']['bare']:.2f} s bare, "
              f"{run['epoch_seconds']['course_grade']:.2f} s in course grade "
              f"({run['ratio_grade_over_bare']:.3f}), {run['epoch_seconds']['nbconvert']:.2f} s under nbconvert "
              f"({run['ratio_nbconvert_over_bare']:.3f}); {run['bare']['flops_per_epoch'] / 1e9:.1f} GFLOP an epoch, "
              f"{run['gflops_per_second']['bare']:.2f} / {run['gflops_per_second']['course_grade']:.2f} / "
              f"{run['gflops_per_second']['nbconvert']:.2f} GFLOP/s; grading the solution costs "
              f"{run['grading_cost_bare_epochs']:.1f} bare epochs", flush=True)
    previous = json.loads(RESULT.read_text()) if RESULT.is_file() else {}
    previous.update({run["assignment"]: {"machine": machine(threads=args.threads, load_before=load_before), **run}
                     for run in runs})
    RESULT.write_text(json.dumps(previous, indent=2) + "\n")


if __name__ == "__main__":
    main()
