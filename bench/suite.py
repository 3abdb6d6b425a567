"""The figures of one run of the test suite, read from its output: how many tests passed and
failed, pytest's wall time, and its slowest steps (pytest's `--durations`), with the machine it
ran on, as bench/results/suite.json (docs/benchmarks.md's test-suite table is written from it by
bench/render.py). Run the suite as CI does, from a fresh clone, keeping its output:

    bash .ci/run | tee suite.log
    python bench/suite.py suite.log --commit $(git rev-parse --short HEAD)
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from machine import machine

PROJECT = Path(__file__).resolve().parents[1]
SUMMARY = re.compile(r"^=+ (?P<counts>.*?) in (?P<seconds>[0-9.]+)s\b.* =+$")
DURATION = re.compile(r"^(?P<seconds>[0-9.]+)s (?P<phase>setup|call|teardown) +(?P<test>\S+)$")


def read_log(text: str) -> dict:
    """Counts, seconds and slowest steps of the last pytest session in `text`."""
    lines = text.splitlines()
    summaries = [match for match in map(SUMMARY.match, lines) if match]
    if not summaries:
        raise SystemExit("no pytest summary line in the log")
    last = summaries[-1]
    counts = {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", last["counts"])}
    slowest = [{"seconds": float(m["seconds"]), "phase": m["phase"], "test": m["test"]}
               for m in map(DURATION.match, lines) if m]
    return {"counts": counts, "seconds": float(last["seconds"]), "slowest": slowest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", type=Path)
    parser.add_argument("--commit", required=True, help="the commit the suite ran on")
    args = parser.parse_args()
    run = read_log(args.log.read_text(errors="replace"))
    where = machine(threads=None, load_before=None)  # read afterwards: no load figure
    where["commit"] = args.commit
    out = PROJECT / "bench" / "results" / "suite.json"
    out.write_text(json.dumps({"machine": where, **run}, indent=2) + "\n")
    print(f"{run['counts']} in {run['seconds']:.0f} s -> {out.relative_to(PROJECT)}")


if __name__ == "__main__":
    main()
