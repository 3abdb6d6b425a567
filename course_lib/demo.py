"""`course demo`: the README's main job, run on the embedded defaults of a fresh clone."""

from __future__ import annotations

from pathlib import Path

from course_lib.release import release


def demo(*, course_dir: str | Path = ".") -> dict[str, list[str]]:
    """Release every practical and say where the student versions are."""
    released = release(course_dir=course_dir)
    return {"released": [str(path) for path in released]}
