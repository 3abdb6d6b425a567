"""Regrading with a warm execution cache vs cold, measured in one command on this machine.

A batch of TP1 submissions (four fixtures) is graded with every notebook run (cold:
`--force --no-cache`), then again as an instructor regrades after changing a threshold or a
template (warm: `--force`, the cache answers, only the verifier works). Every score must be the
same. Prints both wall times and their ratio (the goal: at least 20).

    python bench/regrade_cache.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from course_lib.pipeline.collect import place_submission
from course_lib.pipeline.grade import grade
from course_lib.release import copy_course

PROJECT = Path(__file__).resolve().parents[1]
MNIST = PROJECT.parent / "shared" / "data" / "mnist"
ASSIGNMENT = "tp1_dense"
FIXTURES = ("solution", "wrong_hidden_units", "undertrained", "not_normalised")


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        course = copy_course(origin=PROJECT, folder=Path(scratch) / "course", assignments=[ASSIGNMENT],
                             mnist_dir=MNIST)
        for name in FIXTURES:
            place_submission(course_dir=course, assignment=ASSIGNMENT, student=name,
                             notebook=PROJECT / "grader_tests" / "fixtures" / ASSIGNMENT / f"{name}.ipynb")
        timings, scores = {}, {}
        for turn, use_cache in (("cold", False), ("warm", True)):
            started = time.perf_counter()
            summaries = grade(assignment=ASSIGNMENT, course_dir=course, force=True, use_cache=use_cache)
            timings[turn] = time.perf_counter() - started
            scores[turn] = {s["student"]: s["score"] for s in summaries}
            assert all(s["cached"] == use_cache for s in summaries), summaries
    result = {
        "batch": f"{len(FIXTURES)} submissions of {ASSIGNMENT}",
        "cold_seconds": round(timings["cold"], 1), "warm_seconds": round(timings["warm"], 1),
        "ratio_cold_over_warm": round(timings["cold"] / timings["warm"], 1),
        "same_scores": scores["cold"] == scores["warm"], "scores": scores["warm"],
    }
    out = PROJECT / "bench" / "results" / "regrade-cache.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not result["same_scores"]:
        raise SystemExit(f"the scores differ: {scores}")


if __name__ == "__main__":
    main()
