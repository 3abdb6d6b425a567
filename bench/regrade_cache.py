"""Regrading with a warm execution cache vs cold, measured in one command on this machine.

A class of TP1 submissions: every TP1 fixture of grader_tests/ (7: the solution, the
original course's style, and one per fault) and 6 more students who handed in the solution,
as most of a real class does. It is graded with every notebook run (cold: `--force
--no-cache`), then again as an instructor regrades after changing a threshold or a template
(warm: `--force`, the cache answers, only the verifier works). Every score must be the same.
Prints both wall times and their ratio (the goal: at least 20), and the verifier's time per
submission (its start, once per batch, comes on top).

    python bench/regrade_cache.py
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from machine import machine

from course_lib.pipeline.collect import place_submission
from course_lib.pipeline.grade import grade
from course_lib.release import copy_course
from course_lib.results import read_result

PROJECT = Path(__file__).resolve().parents[1]
MNIST = PROJECT.parent / "shared" / "data" / "mnist"
ASSIGNMENT = "tp1_dense"
FIXTURES = PROJECT / "grader_tests" / "fixtures" / ASSIGNMENT
SOLUTION_COPIES = 6
# student → the fixture notebook handed in
CLASS = {**{p.stem: p for p in sorted(FIXTURES.glob("*.ipynb"))},
         **{f"student{i}": FIXTURES / "solution.ipynb" for i in range(1, SOLUTION_COPIES + 1)}}


def main() -> None:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        course = copy_course(origin=PROJECT, folder=Path(scratch) / "course", assignments=[ASSIGNMENT],
                             mnist_dir=MNIST)
        for name, notebook in CLASS.items():
            place_submission(course_dir=course, assignment=ASSIGNMENT, student=name, notebook=notebook)
        timings, scores = {}, {}
        for turn, use_cache in (("cold", False), ("warm", True)):
            started = time.perf_counter()
            summaries = grade(assignment=ASSIGNMENT, course_dir=course, force=True, use_cache=use_cache)
            timings[turn] = time.perf_counter() - started
            scores[turn] = {s.student: s.score for s in summaries}
            assert all(s.cached == use_cache for s in summaries), summaries
            verified = [read_result(course, ASSIGNMENT, name).verify_seconds for name in CLASS]
    result = {
        "batch": (f"{len(CLASS)} submissions of {ASSIGNMENT}: its {len(CLASS) - SOLUTION_COPIES} fixtures "
                  f"and {SOLUTION_COPIES} copies of the solution"),
        "cold_seconds": round(timings["cold"], 1), "warm_seconds": round(timings["warm"], 1),
        "ratio_cold_over_warm": round(timings["cold"] / timings["warm"], 1),
        "warm_verify_seconds_per_submission": verified,
        "same_scores": scores["cold"] == scores["warm"], "scores": scores["warm"],
        "machine": machine(threads=os.cpu_count(), load_before=load),
    }
    out = PROJECT / "bench" / "results" / "regrade-cache.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not result["same_scores"]:
        raise SystemExit(f"the scores differ: {scores}")


if __name__ == "__main__":
    main()
