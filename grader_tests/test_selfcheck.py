"""`course check`, the students' self-check, run as they run it: the console script, in a
folder of their own (no course folder, no course.toml, no nbgrader_config.py), with MNIST
found as at home ($COURSE_MNIST_DIR here, standing for keras's download)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from conftest import PROJECT

from course_lib.data import configured_mnist_dir
from course_lib.selfcheck import check

COURSE = Path(sys.executable).with_name("course")  # the console script of pyproject.toml
TP1 = "TP1_MNIST_dense.ipynb"
MINI_CASES = PROJECT / "grader_tests" / "adversarial" / "cases"


def student_folder(tmp_path: Path, notebook: Path, name: str) -> Path:
    """`notebook` copied as `name` into a folder outside any course; its path."""
    assert configured_mnist_dir(tmp_path) is None
    assert not any((folder / "nbgrader_config.py").exists() for folder in (tmp_path, *tmp_path.parents))
    copy = tmp_path / name
    shutil.copyfile(notebook, copy)
    return copy


def course_check(notebook: Path, mnist_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """`course check NOTEBOOK` in the notebook's folder, as a student types it."""
    return subprocess.run([str(COURSE), "check", notebook.name, *args], cwd=notebook.parent,
                          env={**os.environ, "COURSE_MNIST_DIR": str(mnist_dir)},
                          capture_output=True, text=True, timeout=1200)


def assert_clean(run: subprocess.CompletedProcess) -> None:
    """No traceback, and stderr holds only the line saying the run starts."""
    assert "Traceback" not in run.stdout + run.stderr
    assert run.stderr.splitlines() == [line for line in run.stderr.splitlines() if line.startswith("Exécution de")]


def test_the_release_as_students_receive_it(tmp_path, mnist_dir):
    notebook = student_folder(tmp_path, PROJECT / "release" / "tp1_dense" / TP1, TP1)
    before = notebook.read_bytes()

    run = course_check(notebook, mnist_dir)

    assert run.returncode == 1, run.stdout + run.stderr
    assert_clean(run)
    assert notebook.read_bytes() == before
    out = run.stdout
    assert out.startswith(f"Vérification de {TP1} (tests publics : ✅ réussi, la correction ne vérifie rien "
                          "de plus ; ☑️ partie publique réussie, le reste est vérifié à la correction)")
    assert "❌ Fonctions d'activation (1 point) : NameError: name 'sigmoid' is not defined" in out
    assert "❌ Architecture du réseau (2 points) :" in out
    tests = [c.metadata.nbgrader for c in nbformat.read(notebook, 4).cells
             if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata.nbgrader.get("solution")]
    assert out.count("❌") == len(tests) and out.count("✅") == 1  # the header's legend
    for stub in ("« 1. Le neurone artificiel » (activations)", "« 3. Les données MNIST » (load)",
                 "« 5. Le réseau dense » (build)", "« Question 1 » (answer_activation)",
                 "« Question 5 » (answer_own)"):
        assert f"{stub} : non répondu" in out
    public = sum(c.metadata.nbgrader["points"] for c in nbformat.read(notebook, 4).cells
                 if c.metadata.get("course_lib", {}).get("hidden_check") is False)
    assert out.rstrip().endswith(f"0 point sur {public:g} aux tests entièrement vérifiés ici ; "
                                 "0 point de plus à confirmer à la correction")


NOTEBOOK_CELLS = [
    # (cell_type, source, nbgrader metadata or None)
    ("markdown", "## 1. Première partie", {"grade_id": "intro"}),
    ("code", "x = 1", {"grade_id": "answer_x", "solution": True}),
    ("code", '# ✅ Vérification : valeur de x\nassert x == 2, "x doit valoir 2"', {"grade_id": "test_x", "points": 1, "hidden": False}),
    ("code", "# ✅ Vérification : sans message\nassert x == 2", {"grade_id": "test_bare", "points": 0.5, "hidden": False}),
    ("code", "from course_lib.runtime import autograding\nassert autograding()\nprint(open('donnees.txt').read())",
     {"grade_id": "given"}),
    ("code", "# ✅ Vérification : comme à la correction, dans son dossier\n"
     "assert autograding() and open('donnees.txt').read() == 'ici'\nprint('tout est là')",
     {"grade_id": "test_here", "points": 2, "hidden": True}),
    ("markdown", "## 2. Deuxième partie", {"grade_id": "part2"}),
    ("code", "y = pas_defini", {"grade_id": "given_y"}),
    ("code", "# TON CODE ICI\nraise NotImplementedError()", {"grade_id": "answer_z", "solution": True}),
    ("markdown", "**Question 1.** Pourquoi ?", {"grade_id": "question"}),
    ("markdown", "TA RÉPONSE ICI", {"grade_id": "answer_why", "solution": True, "grade": True, "points": 1}),
    ("code", "import time\ntime.sleep(120)", {"grade_id": "slow"}),
    ("code", "# ✅ Vérification : après la cellule lente\nassert True", {"grade_id": "test_after", "points": 3, "hidden": False}),
]


def synthetic_notebook(folder: Path, cells: list[tuple[str, str, dict | None]]) -> Path:
    """A small notebook with nbgrader metadata (no TensorFlow: it runs in seconds); a test's
    "hidden" says whether the grader checks more than the cell (course_lib.hidden_check)."""
    made = []
    for kind, source, meta in cells:
        new = new_code_cell if kind == "code" else new_markdown_cell
        meta = dict(meta or {})
        hidden = meta.pop("hidden", None)
        nbgrader = None if not meta else {"schema_version": 3, "locked": not meta.get("solution"),
                                          "solution": False, "grade": "points" in meta, **meta}
        metadata = {} if nbgrader is None else {"nbgrader": nbgrader}
        if hidden is not None:
            metadata["course_lib"] = {"hidden_check": hidden}
        made.append(new(source, metadata=metadata))
    path = folder / "devoir.ipynb"
    nbformat.write(new_notebook(cells=made), path)
    (folder / "donnees.txt").write_text("ici")
    return path


def test_failures_the_first_error_stubs_and_a_cell_over_the_timeout(tmp_path, mnist_dir):
    notebook = synthetic_notebook(tmp_path, NOTEBOOK_CELLS)
    before = notebook.read_bytes()

    run = course_check(notebook, mnist_dir, "--timeout", "3")

    assert run.returncode == 1, run.stdout + run.stderr
    assert_clean(run)
    assert notebook.read_bytes() == before
    assert run.stdout.splitlines()[2:] == [
        "La cellule « 2. Deuxième partie » (given_y) a échoué : NameError: name 'pas_defini' is not defined ; "
        "les vérifications qui suivent en dépendent.",
        "La cellule « 2. Deuxième partie » (slow) a dépassé le temps limite de 3 s par cellule : le calcul "
        "s'est arrêté là, les vérifications suivantes n'ont pas été exécutées.",
        "",
        "❌ Valeur de x (1 point) : x doit valoir 2",
        "❌ Sans message (0,5 point) : vérification non satisfaite (assertion sans message)",
        "☑️ Comme à la correction, dans son dossier (2 points) : tout est là ; vérifié à la correction",
        "⚪ Après la cellule lente (3 points) : non exécutée (le calcul s'est arrêté plus haut)",
        "",
        "À compléter (2) :",
        "  – « 2. Deuxième partie » (answer_z) : non répondu",
        "  – « Question 1 » (answer_why) : non répondu",
        "",
        "0 point sur 4,5 aux tests entièrement vérifiés ici ; 2 points de plus à confirmer à la correction",
    ]


def test_a_kernel_that_dies_and_the_report_as_json(tmp_path):
    notebook = synthetic_notebook(tmp_path, [
        ("code", "# ✅ Vérification : avant\nassert True", {"grade_id": "test_before", "points": 1, "hidden": False}),
        ("code", "import os\nos._exit(1)", None),  # a cell the student added
        ("code", "# ✅ Vérification : ensuite\nassert True", {"grade_id": "test_next", "points": 1, "hidden": False}),
    ])

    report = check(notebook=notebook)

    assert report.cell_timeout == 900  # nbgrader_config.py's c.Execute.timeout
    assert json.loads(json.dumps(asdict(report))) == {
        "notebook": str(notebook), "cell_timeout": 900,
        "tests": [
            {"grade_id": "test_before", "title": "Avant", "points": 1.0, "status": "passed", "message": ""},
            {"grade_id": "test_next", "title": "Ensuite", "points": 1.0, "status": "not-run",
             "message": "non exécutée (le calcul s'est arrêté plus haut)"},
        ],
        "unanswered": [], "first_error": None,
        "stopped": {"grade_id": "", "title": "Avant", "reason": "kernel-died"},
        "points": 1.0, "max_points": 2.0, "at_grading": 0.0, "ok": False,
    }


def test_a_test_cell_that_is_not_the_releases_is_not_counted(tmp_path):
    """A test cell edited (here into `pass`) fails nothing here, but the grader runs the
    released cell: the self-check says so, and counts it neither way."""
    from nbgrader.utils import compute_checksum

    notebook = synthetic_notebook(tmp_path, [
        ("code", "x = 1", {"grade_id": "answer_x", "solution": True}),
        ("code", '# ✅ Vérification : valeur de x\nassert x == 2, "x doit valoir 2"',
         {"grade_id": "test_x", "points": 1, "hidden": False}),
    ])
    released = nbformat.read(notebook, 4)
    test = released.cells[1]
    test.metadata.nbgrader["checksum"] = compute_checksum(test)  # as nbgrader releases it
    test.source = "pass"  # ... and as a student made it pass
    nbformat.write(released, notebook)

    report = check(notebook=notebook)

    [result] = report.tests
    assert (result.status, result.message) == (
        "modified", "cellule de vérification modifiée : la correction utilisera l'originale")
    assert (report.points, report.at_grading, report.ok) == (0.0, 0.0, False)


@pytest.mark.parametrize("content", [None, "pas un notebook", '{"cells": "non"}'])
def test_bad_input_is_one_french_line(tmp_path, mnist_dir, content):
    notebook = tmp_path / TP1
    if content is not None:
        notebook.write_text(content)

    run = course_check(notebook, mnist_dir)

    assert run.returncode == 2
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert line.startswith("course check : erreur : ")
    assert ("fichier introuvable" if content is None else "n'est pas un notebook Jupyter lisible") in line


@pytest.fixture(scope="module")
def mini_runs(tmp_path_factory, mnist_dir) -> dict[str, tuple[subprocess.CompletedProcess, bool]]:
    """The small practical's solution and its partial twin (relu wrong), checked at the same
    time (each trains a small network in seconds); name → (the run, file unchanged)."""
    started = {}
    for name in ("twin_solution", "twin_partial"):
        notebook = student_folder(tmp_path_factory.mktemp(name), MINI_CASES / f"{name}.ipynb", "mini.ipynb")
        process = subprocess.Popen([str(COURSE), "check", notebook.name], cwd=notebook.parent, text=True,
                                   env={**os.environ, "COURSE_MNIST_DIR": str(mnist_dir)},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started[name] = (process, notebook, notebook.read_bytes())
    runs = {}
    for name, (process, notebook, before) in started.items():
        out, err = process.communicate(timeout=600)
        runs[name] = (subprocess.CompletedProcess(process.args, process.returncode, out, err),
                      notebook.read_bytes() == before)
    return runs


@pytest.mark.slow
def test_the_small_practicals_solution_passes(mini_runs):
    run, unchanged = mini_runs["twin_solution"]
    assert run.returncode == 0, run.stdout + run.stderr
    assert_clean(run)
    assert unchanged
    assert "❌" not in run.stdout and run.stdout.count("✅") == 2 + 1 and run.stdout.count("☑️") == 5 + 1  # + header
    assert "☑️ Précision (recalculée par le correcteur : tous les points à partir de 85 %) (2 points) : ta précision :" \
        in run.stdout
    assert run.stdout.rstrip().endswith("3 points sur 3 aux tests entièrement vérifiés ici ; "
                                        "7 points de plus à confirmer à la correction")


@pytest.mark.slow
def test_a_wrong_answer_fails_with_the_notebooks_french_message(mini_runs):
    run, unchanged = mini_runs["twin_partial"]
    assert run.returncode == 1, run.stdout + run.stderr
    assert_clean(run)
    assert unchanged
    assert "❌ Relu (1 point) : relu(z) ne donne pas les bonnes valeurs" in run.stdout
    assert "❌ Architecture (2 points) : couche 1 : attendu Dense(32, relu), trouvé Dense(16, relu)" in run.stdout
    assert run.stdout.rstrip().endswith("1 point sur 3 aux tests entièrement vérifiés ici ; "
                                        "6 points de plus à confirmer à la correction")


@pytest.mark.slow
def test_tp1s_solution_passes_with_the_demonstrations_skipped(tmp_path, mnist_dir):
    notebook = student_folder(tmp_path, PROJECT / "grader_tests" / "fixtures" / "tp1_dense" / "solution.ipynb", TP1)
    before = notebook.read_bytes()

    run = course_check(notebook, mnist_dir)

    assert run.returncode == 0, run.stdout + run.stderr
    assert_clean(run)
    assert notebook.read_bytes() == before
    assert "❌" not in run.stdout and run.stdout.count("✅") == 4 + 1 and run.stdout.count("☑️") == 13 + 1
    assert "non répondu" not in run.stdout
    assert run.stdout.rstrip().endswith("6 points sur 6 aux tests entièrement vérifiés ici ; "
                                        "17 points de plus à confirmer à la correction")
    assert (tmp_path / "tp1_dense.keras").is_file()  # the notebook ran in its own folder
