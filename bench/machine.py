"""Where a benchmark ran: every bench/results/*.json says it, so that a figure is never read
as another machine's (another CPU trains the same seed to another accuracy, at another speed)."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
VERSIONS = ("tensorflow", "keras", "numpy", "nbclient", "nbgrader")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.split(":")[0].strip() in ("model name", "Model", "cpu model"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(*, threads: int | None, load_before: tuple[float, float, float] | None) -> dict:
    """The machine, the software and the commit a result was measured with; `load_before`:
    os.getloadavg() when the benchmark started (a busy machine measures slower), None when
    the figures were read from a log afterwards."""
    commit = subprocess.run(["git", "-C", str(PROJECT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu_model(), "architecture": platform.machine(), "cores": os.cpu_count(), "threads": threads,
        "load_average_before": None if load_before is None else [round(x, 2) for x in load_before],
        "load_average_after": None if load_before is None else [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        **{name: metadata.version(name) for name in VERSIONS},
        "commit": commit, "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%MZ"),
    }
