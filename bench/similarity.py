"""`course similarity` on a class of 200, measured in one command on this machine.

The class is grader_tests/class_of_many.py's: 200 TP1 notebooks made from the fixtures, each
with a few edits of its own, each with the predictions grading keeps. Timed: `course
similarity tp1_dense` (every pair's code and mistakes, the HTML report and the attention
file), against a baseline run in the same command: copydetect's own CopyDetector on the same
200 code files with the same boilerplate, its comparisons and its HTML report. The goal: at
most 2 minutes for the class. And the false alarms of an honest class: the notebooks written
without one another (class_of_many.honest_class), every pair's code similarity.

    python bench/similarity.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from machine import machine

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "grader_tests"))
from class_of_many import honest_class, make_class  # noqa: E402

from course_lib.instructor.similarity import GUARANTEE, NOISE, release_code, student_code, similarity  # noqa: E402

MNIST = PROJECT.parent / "shared" / "data" / "mnist"
RESULT = PROJECT / "bench" / "results" / "similarity.json"
STUDENTS = 200


def copydetect_baseline(course: Path, folder: Path) -> float:
    """copydetect's CopyDetector on the students' code files, the release as boilerplate."""
    from copydetect import CopyDetector

    code, boilerplate = folder / "code", folder / "boilerplate"
    code.mkdir()
    boilerplate.mkdir()
    (boilerplate / "release.py").write_text(release_code(course, "tp1_dense"))
    for student in sorted(p.name for p in (course / "submitted").iterdir()):
        (code / f"{student}.py").write_text(student_code(course, "tp1_dense", student) or "")
    started = time.perf_counter()
    detector = CopyDetector(test_dirs=[str(code)], boilerplate_dirs=[str(boilerplate)], extensions=["py"],
                            noise_t=NOISE, guarantee_t=GUARANTEE, display_t=0.5, autoopen=False, silent=True,
                            out_file=str(folder / "copydetect.html"))
    detector.run()
    detector.generate_html_report()
    return time.perf_counter() - started


def main() -> None:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        course = make_class(folder, MNIST, STUDENTS)
        started = time.perf_counter()
        made = similarity(course_dir=course, assignment="tp1_dense")
        ours = time.perf_counter() - started
        page_bytes = made.path.stat().st_size
        baseline = copydetect_baseline(course, folder)
    with tempfile.TemporaryDirectory() as scratch:
        honest = similarity(course_dir=honest_class(Path(scratch), MNIST), assignment="tp1_dense").pairs
    result = {
        "students": STUDENTS, "pairs": len(made.pairs), "flagged": sum(p.flagged for p in made.pairs),
        "course_similarity_seconds": round(ours, 1), "copydetect_seconds": round(baseline, 1),
        "ratio": round(ours / baseline, 3), "report_bytes": page_bytes, "goal_seconds": 120,
        "honest_class": {"pairs": len(honest), "flagged": sum(p.flagged for p in honest),
                         "code_max": honest[0].code, "most_alike": [honest[0].first, honest[0].second],
                         "code_median": sorted(p.code for p in honest)[len(honest) // 2]},
        "machine": machine(threads=os.cpu_count(), load_before=load),
    }
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
