"""Rules of the code's structure that a review would otherwise have to remember: no import
cycle between course_lib's modules (imports inside functions included), and no practical's
grade id written outside its spec (course_lib/specs/) and its notebooks."""

from __future__ import annotations

import ast
import json
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "course_lib"


def _module_name(path: Path, top: Path) -> str:
    parts = path.relative_to(top).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top: Path, modules: set[str]) -> set[str]:
    """The modules of `modules` that `path` imports, wherever in the file (lazy imports too)."""
    name = _module_name(path, top)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {n for n in names if n in modules and n != name}
    return found


def import_cycles(root: Path) -> list[list[str]]:
    """Each group of modules of the package `root` that import one another, directly or not
    (Tarjan's strongly connected components)."""
    paths = {_module_name(p, root.parent): p for p in root.rglob("*.py")}
    graph = {name: _imports(path, root.parent, set(paths)) for name, path in paths.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while not group or group[-1] != node:
                group.append(stack.pop())
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_course_lib_has_no_import_cycle():
    assert import_cycles(PACKAGE) == []


def test_the_cycle_finder_finds_a_cycle_through_a_lazy_import(tmp_path):
    package = tmp_path / "course_lib"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from course_lib.b import x\n")
    (package / "b.py").write_text("def x():\n    from course_lib import a\n")
    assert import_cycles(package) == [["course_lib.a", "course_lib.b"]]


def _graded_ids() -> set[str]:
    """The grade ids of every graded cell (tests and written answers) of every notebook."""
    ids = set()
    for notebook in [*PROJECT.glob("source/*/*.ipynb"), *PROJECT.glob("release/*/*.ipynb"),
                     *PROJECT.glob("grader_tests/adversarial/course/source/*/*.ipynb")]:
        for cell in json.loads(notebook.read_text())["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                ids.add(meta["grade_id"])
    return ids


def test_no_grade_id_is_written_outside_the_specs_and_the_notebooks():
    """The pipeline, the instructor's side and the benchmarks learn cells from the notebook's
    metadata and the spec (its CHECKS and KEEP), never by name."""
    ids = _graded_ids()
    assert {"test_accuracy", "test_train", "answer_activation"} <= ids
    found = []
    for path in [*PACKAGE.rglob("*.py"), *(PROJECT / "bench").glob("*.py")]:
        if "specs" in path.relative_to(PROJECT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in ids:
                found.append(f"{path.relative_to(PROJECT)}:{node.lineno} {node.value!r}")
    assert found == []
