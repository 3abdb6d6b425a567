"""Calibrate a practical's thresholds: grade its solution as a class of students.

Each student's network trains with the student's own seed (course_lib.seeds: drawn from the
course secret and the id; a secret of this calibration's), as at grading: `course grade`, one
submission at a time, in a sandbox, the accuracy measured by the verifier on the reference MNIST
test set; the model it kept is also measured on the shipped sample of non-MNIST digits.
TensorFlow trains on all the
machine's cores, as a sequential `course grade` runs it; with `--parallel N`, N students are
graded at once, each on its share of the cores, as `course grade --workers N` grades a class.
With `--cheats K`, K students hand in each cheat of CHEATS (grader_tests/fixtures/<assignment>/,
its calibration/ folder for those the suite does not grade); with `--alternatives`, one student
hands in each honest notebook written independently of the solution
(fixtures/<assignment>/calibration/independent_*.ipynb: other recipes, reported apart).

Prints and writes as JSON: the accuracy's mean, σ, min, 5th percentile, max and the suggested
full threshold floor(mean − 3σ) to the percent; for the trained-on-the-test-set rules
(course_lib.pipeline.integrity): where the test set sits between seen and unseen images for
the honest runs (`test_position`) and its suggested threshold (mean − 4σ, floored to 0.01),
the honest runs' shares of the test loss by block (`test_blocks`), the test images
HARD_SHARE of them misclassify (`hard_images`), and suggested thresholds for the block gap
and the share of hard images a model gets right: the higher of the honest runs' mean + 4σ and
ALTERNATIVE_MARGIN times the highest alternative (the honest runs share one recipe), rounded
up; the best honest accuracy (under `ceiling`); the honest runs any rule flags with
course.toml's thresholds (false alarms), the alternatives flagged, each cheat's figures and
how many were flagged; Cohen's κ of every two honest models' test-set mistakes (the similarity
report's, course_lib.instructor.similarity). `--summarize` judges the recorded runs again by
the current rules and thresholds.

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
from dataclasses import replace
from pathlib import Path

import numpy as np

from machine import machine

from course_lib.course import IntegrityThresholds
from course_lib.instructor.output import reference_test_labels
from course_lib.instructor.similarity import KAPPA_THRESHOLD, mistake_kappas
from course_lib.pipeline.integrity import block_gap, hard_recovered, signals
from course_lib.pipeline.collect import place_submission
from course_lib.release import copy_course
from course_lib.pipeline.grade import grade
from course_lib.results import SuspicionKind, private_dir, read_result
from course_lib.verdicts import TEST_IMAGES, ModelEvidence

PROJECT = Path(__file__).resolve().parents[1]
MNIST = PROJECT.parent / "shared" / "data" / "mnist"
FIXTURES = PROJECT / "grader_tests" / "fixtures"
HONEST = "solution"
ALTERNATIVE = "independent_"  # honest notebooks written without the solution: other recipes
CHEATS = {"cheat": "trained_on_test_set",  # test images first: the held-out tenth stays training's
          "appended": "test_set_appended",  # test images last: validation_split takes 7,000 of them
          "shuffled": "test_set_shuffled_in"}  # everything shuffled: nine tenths of each trained on


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
    a student named after a cheat of CHEATS hands in that cheat, alternativeNN the NNth
    independent notebook, any other the solution. A run without an accuracy is recorded as such
    (an alternative's own failure); the solution and the cheats must have one."""
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        course = copy_course(origin=PROJECT, folder=Path(scratch) / "course", assignments=[assignment],
                             mnist_dir=MNIST)
        for student in students:
            notebook = notebook_of(assignment, student)
            place_submission(course_dir=course, assignment=assignment, student=student,
                             notebook=fixture(assignment, notebook))
            grade(assignment=assignment, students=[student], course_dir=course)
            result = read_result(course, assignment, student)
            lost = {cell.grade_id: cell.max_points - (cell.points or 0.0) for cell in result.cells
                    if cell.points is not None and cell.points < cell.max_points}
            assert not result.tampered, f"{student}: {result.notes} {result.tampering}"
            if result.accuracy is None or result.evidence is None:
                assert notebook.startswith(ALTERNATIVE), f"{student}: {result.status} {result.message}"
                runs.append({"student": student, "notebook": notebook, "accuracy": None, "lost": lost,
                             "message": result.message})
                print(json.dumps(runs[-1]), flush=True)
                continue
            private = private_dir(course, assignment, student)
            epochs = len(json.loads((private / result.files.history).read_text())["val_accuracy"])
            predicted = np.asarray(json.loads((private / result.files.predictions).read_text()))
            runs.append({"student": student, "notebook": notebook, "seed": result.seed, "accuracy": result.accuracy,
                         "epochs": epochs, "sample_digits_accuracy": sample_accuracy(private / result.files.model),
                         "test_loss": result.evidence.test_loss, "train_loss": result.evidence.train_loss,
                         "validation_loss": result.evidence.validation_loss,
                         "test_blocks": result.evidence.test_blocks,
                         "mistakes": np.flatnonzero(predicted != reference_test_labels(course)).tolist(),
                         "suspicions": [s.kind.value for s in result.suspicions], "seconds": result.seconds,
                         "lost": lost})
            print(json.dumps(runs[-1]), flush=True)
    return runs


def independent_notebooks(assignment: str) -> list[str]:
    return sorted(path.stem for path in (FIXTURES / assignment / "calibration").glob(f"{ALTERNATIVE}*.ipynb"))


def fixture(assignment: str, notebook: str) -> Path:
    """A fixture's file: in the practical's fixtures, or in their calibration/ folder."""
    path = FIXTURES / assignment / f"{notebook}.ipynb"
    return path if path.is_file() else FIXTURES / assignment / "calibration" / f"{notebook}.ipynb"


def notebook_of(assignment: str, student: str) -> str:
    """The fixture a calibration student hands in, by the student's name."""
    kind, number = student.rstrip("0123456789"), student[len(student.rstrip("0123456789")):]
    if kind == "alternative":
        return independent_notebooks(assignment)[int(number) - 1]
    return CHEATS.get(kind, HONEST)


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


def calibrate(*, assignment: str, students: int, cheats: int, alternatives: bool, parallel: int = 1) -> dict:
    load_before = os.getloadavg()
    names = [f"student{n:02d}" for n in range(1, students + 1)]
    names += [f"{kind}{n:02d}" for kind in CHEATS for n in range(1, cheats + 1)]
    names += [f"alternative{n:02d}" for n in range(1, len(independent_notebooks(assignment)) + 1) if alternatives]
    if parallel == 1:
        runs = grade_students(assignment=assignment, students=names)
    else:
        runs = grade_in_parallel(assignment=assignment, students=names, parallel=parallel)
    threads = len(os.sched_getaffinity(0)) // parallel
    return summarize(assignment=assignment, runs=runs, machine=machine(threads=threads, load_before=load_before),
                     threads=threads, parallel=parallel)


JUDGED = {SuspicionKind.TRAINED_ON_TEST, SuspicionKind.TEST_BLOCKS, SuspicionKind.BEYOND_CEILING,
          SuspicionKind.HARD_IMAGES}  # judged again here
HARD_SHARE = 0.7  # a hard image: one this share of the honest models misclassify
ALTERNATIVE_MARGIN = 1.5  # a threshold at least this many times the highest alternative's statistic


def summarize(*, assignment: str, runs: list[dict], machine: dict, threads: int, parallel: int) -> dict:
    """The figures of the runs. The trained-on-the-test-set signals are judged here again from
    each run's recorded losses, by the current rules (course_lib.pipeline.integrity) and
    course.toml's thresholds, so that `--summarize` brings an earlier calibration's figures to
    a changed rule or threshold without training again; the other signals are those the
    grading raised. An honest run's blocks are compared with the shares of the other honest
    runs (its own would hide it), a cheat's or an alternative's with those of all of them; and
    so for the hard images."""
    thresholds = integrity_thresholds(assignment)
    honest = [run for run in runs if run["notebook"] == HONEST]
    alternatives = [run for run in runs if run["notebook"].startswith(ALTERNATIVE)]
    for run in (run for run in runs if run["accuracy"] is not None):
        others = [other for other in honest if other is not run]
        shares, hard, evidence, wrong = block_shares(others), hard_images(others), _evidence(run), _wrong(run)
        run["test_position"] = evidence.test_position
        run["block_gap"] = round(block_gap(run["test_blocks"], shares).ratio, 4)
        run["hard_recovered"] = hard_recovered(wrong, hard)
        judged = replace(thresholds, test_blocks=thresholds.test_blocks and shares,
                         hard_images=thresholds.hard_images and hard)
        run["flagged"] = sorted({s.kind.value for s in signals(
            evidence=evidence, accuracy=run["accuracy"], recovered=hard_recovered(wrong, judged.hard_images),
            literals=[], thresholds=judged) if s.kind in JUDGED})
    values = [run["accuracy"] for run in honest]
    samples = [run["sample_digits_accuracy"] for run in honest]
    positions = [run["test_position"] for run in honest if run["test_position"] is not None]
    gaps = [run["block_gap"] for run in honest]
    recovered = [run["hard_recovered"] for run in honest]
    graded_alternatives = [run for run in alternatives if run["accuracy"] is not None]
    alternative_gap = max((r["block_gap"] for r in graded_alternatives), default=None)
    alternative_recovered = max((r["hard_recovered"] for r in graded_alternatives), default=None)
    mean, sigma = statistics.mean(values), statistics.stdev(values)
    other = [kind for run in honest for kind in run["suspicions"] if kind not in JUDGED]
    models = honest + graded_alternatives
    kappas = mistake_kappas(np.asarray([_wrong(run) for run in models]))
    pairs = kappas[np.triu_indices(len(models), 1)]
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
            "threshold": thresholds.test_position,
        },
        "test_blocks": {
            "suggested_shares": [round(share, 3) for share in block_shares(honest)],
            "shares": list(thresholds.test_blocks),
            "gap_mean": round(statistics.mean(gaps), 4), "gap_sigma": round(statistics.stdev(gaps), 4),
            "gap_max": max(gaps), "alternatives_max": alternative_gap,
            "suggested_gap": math.ceil(max(statistics.mean(gaps) + 4 * statistics.stdev(gaps),
                                           ALTERNATIVE_MARGIN * (alternative_gap or 0.0)) * 10) / 10,
            "threshold": thresholds.block_gap, "judged_from_accuracy": thresholds.judged_from,
        },
        "hard_images": {
            "suggested": list(hard_images(honest)), "configured": len(thresholds.hard_images),
            "recovered_mean": round(statistics.mean(recovered), 4), "recovered_sigma": round(statistics.stdev(recovered), 4),
            "recovered_max": max(recovered),
            "alternatives_max": alternative_recovered,
            "suggested_threshold": math.ceil(max(statistics.mean(recovered) + 4 * statistics.stdev(recovered),
                                                 ALTERNATIVE_MARGIN * (alternative_recovered or 0.0)) * 20) / 20,
            "threshold": thresholds.hard_recovered,
        },
        "ceiling": {"honest_max": max(values), "threshold": thresholds.ceiling},
        "mistake_kappa": {"pairs": len(pairs), "mean": round(float(pairs.mean()), 4),
                          "max": round(float(pairs.max()), 4), "threshold": KAPPA_THRESHOLD,
                          "over_threshold": int((pairs >= KAPPA_THRESHOLD).sum())},
        "false_alarms": sum(bool(run["flagged"]) for run in honest),
        "alternatives_flagged": sum(bool(run["flagged"]) or bool(run["suspicions"]) for run in graded_alternatives),
        "alternatives": {run["notebook"]: {key: run.get(key) for key in (
            "accuracy", "epochs", "test_position", "block_gap", "hard_recovered", "flagged", "suspicions", "lost",
            "message")}
            for run in alternatives},
        "honest_flagged": sum(bool(run["flagged"]) for run in honest) + len(other),
        "cheats": {notebook: {"runs": len(cheated), "flagged": sum(bool(run["flagged"]) for run in cheated),
                              "rules": sorted({kind for run in cheated for kind in run["flagged"]}),
                              "accuracy": [run["accuracy"] for run in cheated],
                              "test_position": [run["test_position"] for run in cheated],
                              "block_gap": [run["block_gap"] for run in cheated],
                              "hard_recovered": [run["hard_recovered"] for run in cheated]}
                   for notebook in CHEATS.values()
                   if (cheated := [run for run in runs if run["notebook"] == notebook])},
    }


def _evidence(run: dict) -> ModelEvidence:
    return ModelEvidence(test_loss=run["test_loss"], train_loss=run["train_loss"], validation_loss=run["validation_loss"],
                         validation_accuracy=0.0, history_validation=[], test_blocks=run["test_blocks"])


def _wrong(run: dict) -> np.ndarray:
    return np.isin(np.arange(TEST_IMAGES), run["mistakes"])


def hard_images(runs: list[dict]) -> tuple[int, ...]:
    """The test images HARD_SHARE of the honest runs misclassify (course.toml's `hard_images`)."""
    return tuple(int(i) for i in np.flatnonzero(np.mean([_wrong(run) for run in runs], axis=0) >= HARD_SHARE))


def block_shares(runs: list[dict]) -> tuple[float, ...]:
    """Each block's mean share of the honest runs' test loss (course.toml's `test_blocks`)."""
    return tuple(np.mean([np.asarray(run["test_blocks"]) / np.mean(run["test_blocks"]) for run in runs], axis=0))


def integrity_thresholds(assignment: str) -> IntegrityThresholds:
    settings = tomllib.loads((PROJECT / "course.toml").read_text())["assignments"][assignment]
    return IntegrityThresholds.from_toml(settings.get("integrity", {}), "course.toml",
                                         judged_from=settings["accuracy"]["partial"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignment")
    parser.add_argument("--students", type=int, default=30, help="honest students (the solution), 2 or more")
    parser.add_argument("--cheats", type=int, default=0, help="students handing in each cheat of CHEATS")
    parser.add_argument("--alternatives", action="store_true",
                        help="one student more for each independently written honest notebook")
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
    summary = calibrate(assignment=args.assignment, students=args.students, cheats=args.cheats,
                        alternatives=args.alternatives, parallel=args.parallel)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}))


if __name__ == "__main__":
    main()
