"""How long the README's first command takes: `course demo` (what `make demo` runs, once the
virtual environment exists) in a new folder, wall time, with the machine, as
bench/results/demo.json (the README's line is written from it by bench/render.py).

    python bench/demo.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import PROJECT, machine


def main() -> None:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="demo-") as folder:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "course_lib", "demo", "--folder", f"{folder}/demo"],
                              cwd=PROJECT, capture_output=True, text=True)
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"course demo failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    out = PROJECT / "bench" / "results" / "demo.json"
    out.write_text(json.dumps({"machine": machine(threads=None, load_before=load),
                               "command": "course demo", "seconds": round(seconds, 1)}, indent=2) + "\n")
    print(f"course demo: {seconds:.0f} s -> {out.relative_to(PROJECT)}")


if __name__ == "__main__":
    main()
