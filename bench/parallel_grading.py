"""Grading throughput on 1 and 2 local Dask workers and on a Dask cluster started from the
command line (`dask scheduler` and two `dask worker` processes on 127.0.0.1), measured in one
command on this machine (bench/results/parallel-grading.json, with the machine).

This machine has 2 cores, so the batch is 8 submissions of the small practical (`mini`, a
short training: CPU-light) to show the shape of the scaling; every configuration must give the
same scores. bench/render.py projects a 200-student year group from it: the per-submission
cost of TP1 and TP2 (`course grade` of one submission, bench/results/grading-time-*.json)
times 200, divided by the 2-worker speed-up measured here.

    python bench/parallel_grading.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "grader_tests"))

from dask_cli import dask_cli_cluster  # noqa: E402
from e2e import ADVERSARIAL, MINI, mini_course  # noqa: E402

from machine import machine  # noqa: E402

from course_lib.pipeline.collect import place_submission  # noqa: E402
from course_lib.pipeline.grade import grade  # noqa: E402

MNIST = PROJECT.parent / "shared" / "data" / "mnist"
BATCH = {  # student → the mini case they submit
    "s1": "twin_solution", "s2": "twin_partial", "s3": "twin_release", "s4": "twin_nb_train_float",
    "s5": "twin_not_normalised", "s6": "twin_nb_train_5999", "s7": "twin_solution", "s8": "twin_partial",
}


def timed(**where: object) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    summaries = grade(assignment=MINI, course_dir=COURSE, force=True, use_cache=False, **where)
    return time.perf_counter() - started, {s.student: s.score for s in summaries}


def main() -> None:
    global COURSE
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as scratch:
        COURSE = mini_course(Path(scratch) / "course", MNIST)
        for student, case in BATCH.items():
            place_submission(course_dir=COURSE, assignment=MINI, student=student,
                             notebook=ADVERSARIAL / "cases" / f"{case}.ipynb")
        one, scores_one = timed(workers=1)
        two, scores_two = timed(workers=2)
        with dask_cli_cluster(Path(scratch), workers=2) as (address, _):
            cluster, scores_cluster = timed(scheduler=address)
    speedup = one / two
    result = {
        "batch": f"{len(BATCH)} submissions of {MINI}", "cores": os.cpu_count(),
        "seconds": {"workers_1": round(one, 1), "workers_2": round(two, 1), "dask_cli_cluster_2": round(cluster, 1)},
        "throughput_per_minute": {name: round(60 * len(BATCH) / t, 2) for name, t in
                                  (("workers_1", one), ("workers_2", two), ("dask_cli_cluster_2", cluster))},
        "speedup_2_workers": round(speedup, 2),
        "scaling_efficiency_2_workers": round(speedup / 2, 2),
        "speedup_dask_cli_cluster": round(one / cluster, 2),
        "same_scores": scores_one == scores_two == scores_cluster,
        "machine": machine(threads=os.cpu_count(), load_before=load),
    }
    out = PROJECT / "bench" / "results" / "parallel-grading.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not result["same_scores"]:
        raise SystemExit(f"the scores differ: {scores_one} / {scores_two} / {scores_cluster}")


if __name__ == "__main__":
    main()
