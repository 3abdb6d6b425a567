"""Naming why tests failed, on executed notebooks built cell by cell (no kernel)."""

from __future__ import annotations

import nbformat

from course_lib.pipeline.diagnosis import diagnose
from course_lib.pipeline.prepare import EXPORT_MARK
from course_lib.pipeline.explain import explain
from course_lib.results import CellKind, CellRef, CellResult, CellStatus, SubmissionResult, Status
from course_lib.verdicts import Verdict


def _code(grade_id: str | None, source: str, *, solution=False, grade=False, error: tuple[str, str] | None = None):
    cell = nbformat.v4.new_code_cell(source)
    if grade_id:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "solution": solution, "grade": grade}
    if error:
        cell.outputs = [nbformat.v4.new_output("error", ename=error[0], evalue=error[1], traceback=[])]
    return cell


def _export(grade_id: str):
    cell = nbformat.v4.new_code_cell("export")
    cell.metadata[EXPORT_MARK] = grade_id
    return cell


def _notebook(*cells):
    return nbformat.v4.new_notebook(cells=list(cells))


TITLES = {"load": "Chargement", "test_load": "Données chargées", "prepare": "Préparer",
          "test_prepare": "Mise à plat", "build": "Réseau", "test_build": "Architecture"}


MISSING, EXPORTED = Verdict(0.0, False, "m", missing=True), Verdict(0.0, False, "m")


def _results(*grade_ids, message="m"):
    cells = [CellResult("nb", gid, TITLES.get(gid, gid), CellKind.AUTO, 0.0, 1.0, CellStatus.FAILED, message)
             for gid in grade_ids]
    return SubmissionResult("alice", "tp", Status.GRADED, "", "0" * 64, cells, max_score=float(len(cells)))


def test_the_first_error_is_named_and_later_errors_are_its_knock_ons():
    executed = _notebook(
        _code(None, "import", error=None),
        _code("load", "(im_train, lab_train), (im_test, lab_test) = load()", solution=True,
              error=("Exception", "URL fetch failure on http://127.0.0.1:9/")),
        _code("test_load", "check", grade=True, error=("NameError", "name 'im_train' is not defined")),
        _export("test_load"),
        _code("prepare", "x = im_train / 255", solution=True, error=("NameError", "name 'im_train' is not defined")),
        _code("test_prepare", "check", grade=True, error=("NameError", "name 'x' is not defined")),
    )
    found = diagnose(executed, set(), TITLES)
    assert (found.first_error.grade_id, found.first_error.title) == ("load", "Chargement")
    assert found.first_error.error == "Exception: URL fetch failure on http://127.0.0.1:9/"
    assert {gid: cause.grade_id for gid, cause in found.upstream.items()} == {"test_load": "load", "test_prepare": "load"}
    assert found.providers["test_prepare"]["x"].cause.grade_id == "load"  # prepare failed for want of load
    assert not found.providers["test_prepare"]["x"].direct and not found.unanswered

    result = _results("test_load", "test_prepare")
    explain(result, found, {"test_load": MISSING, "test_prepare": MISSING},
            {"test_load": {"im_train"}, "test_prepare": {"x"}})
    assert [c.message for c in result.cells] == [
        "non vérifié : la cellule « Chargement » (load) plus haut a échoué, et cette vérification en dépend"] * 2
    assert all(c.knock_on for c in result.cells)


def test_a_stub_is_not_an_error_and_its_test_is_not_answered():
    executed = _notebook(
        _code("load", "im_train = load()", solution=True),
        _code("test_load", "check", grade=True),
        _code("build", "# TON CODE ICI\nraise NotImplementedError()", solution=True,
              error=("NotImplementedError", "")),
        _code("test_build", "check", grade=True, error=("NameError", "name 'model' is not defined")),
        _code("weights", "model.save_weights(f)", error=("NameError", "name 'model' is not defined")),
        _code("train", "hist = model.fit(x)", solution=True, error=("NameError", "name 'model' is not defined")),
        _code("test_train", "check", grade=True, error=("NameError", "name 'hist' is not defined")),
    )
    found = diagnose(executed, {"build"}, TITLES, answers={"build": {"model"}})
    assert found.first_error is None  # the given cell's NameError comes from the stub above it
    assert [c.grade_id for c in found.unanswered] == ["build"]
    assert found.upstream["test_train"].grade_id == "build" and "test_load" not in found.upstream

    result = _results("test_build", "test_train")
    explain(result, found, {"test_build": MISSING, "test_train": MISSING},
            {"test_build": {"model"}, "test_train": {"hist", "model"}})
    build, train = result.cells
    assert (build.status, build.message) == ("not-answered", "la cellule « Réseau » (build) n'est pas remplie")
    # Its own answer (hist) was written, and failed for want of the network: a knock-on.
    assert train.knock_on and train.status == "failed"
    assert train.message == ("non vérifié : la cellule « Réseau » (build) plus haut n'est pas remplie, "
                                "et cette vérification en dépend")
    assert result.unanswered == [CellRef("build", "Réseau")] and result.first_error is None


def test_a_filled_answer_keeps_the_verifiers_message_whatever_stubs_lie_above():
    """Unnormalised images, and two plotting exercises left as released between the tests."""
    executed = _notebook(
        _code("load", "im_train = load()", solution=True),
        _code("test_load", "check", grade=True),
        _code("view_sorted", "# TON CODE ICI\nraise NotImplementedError()", solution=True,
              error=("NotImplementedError", "")),
        _code("prepare", "x_train = im_train.reshape(60000, 784).astype(float)", solution=True),
        _code("test_prepare", "check", grade=True,
              error=("AssertionError", "x_train a des valeurs entre 0 et 255, attendu entre 0 et 1")),
    )
    found = diagnose(executed, {"view_sorted"}, TITLES, answers={"view_sorted": {"examples"}})
    result = _results("test_prepare", message="x_train a des valeurs entre 0 et 255, attendu entre 0 et 1")
    explain(result, found, {"test_prepare": EXPORTED}, {"test_prepare": set()})  # x_train exported
    assert result.cells[0].message == "x_train a des valeurs entre 0 et 255, attendu entre 0 et 1"
    assert result.cells[0].status == "failed" and not result.cells[0].knock_on


def test_a_cell_the_student_added_is_named_by_the_cell_it_follows():
    executed = _notebook(
        _code("load", "im_train = load()", solution=True),
        _code(None, "im_train = im_train[:10] / O", error=("NameError", "name 'O' is not defined")),
        _code("test_load", "check", grade=True, error=("AssertionError", "im_train a la forme (10, 28, 28)")),
    )
    found = diagnose(executed, set(), TITLES)
    assert (found.first_error.grade_id, found.first_error.title) == ("", "Chargement")
    result = _results("test_load")
    explain(result, found, {"test_load": MISSING}, {"test_load": {"im_train"}})
    assert result.cells[0].message == (
        "non vérifié : la cellule ajoutée après « Chargement » plus haut a échoué, et cette vérification en dépend")


def test_a_stub_above_an_earlier_test_is_that_tests_own_and_a_knock_on_below():
    """The network left as released above its own test: the compile test below lacks the same
    network, its own answer filled (and failed for want of it)."""
    executed = _notebook(
        _code("build", "# TON CODE ICI\nraise NotImplementedError()", solution=True,
              error=("NotImplementedError", "")),
        _code("test_build", "check", grade=True, error=("NameError", "name 'model' is not defined")),
        _code("compile", "model.compile(loss='mse')", solution=True,
              error=("NameError", "name 'model' is not defined")),
        _code("test_compile", "check", grade=True, error=("NameError", "name 'model' is not defined")),
    )
    found = diagnose(executed, {"build"}, {**TITLES, "compile": "Compiler"}, answers={"build": {"model"}})
    assert found.since == {"test_build": -1, "test_compile": 1}
    result = _results("test_build", "test_compile", message="le fichier n'existe pas")
    explain(result, found, {"test_build": MISSING, "test_compile": MISSING},
            {"test_build": {"model"}, "test_compile": {"model"}})
    build, compile_ = result.cells
    assert (build.status, build.knock_on) == ("not-answered", False)
    assert (compile_.status, compile_.knock_on) == ("failed", True)
    assert compile_.message == ("non vérifié : la cellule « Réseau » (build) plus haut n'est pas remplie, "
                                   "et cette vérification en dépend")


def test_a_lack_whose_cells_all_ran_keeps_the_verifiers_message():
    """The function was defined by a cell that ran; the drawn call raised inside it: a wrong
    answer of its own, not the stub above."""
    executed = _notebook(
        _code("build", "# TON CODE ICI\nraise NotImplementedError()", solution=True,
              error=("NotImplementedError", "")),
        _code("test_build", "check", grade=True, error=("NameError", "name 'model' is not defined")),
        _code("sizes", "def size(n, k):\n    return n // 0", solution=True),
        _code("test_sizes", "check", grade=True),
    )
    found = diagnose(executed, {"build"}, {**TITLES, "sizes": "Tailles"}, answers={"build": {"model"}})
    result = _results("test_sizes", message="« size(28, 5) » n'a pas pu être lu dans le notebook (ZeroDivisionError)")
    explain(result, found, {"test_sizes": MISSING}, {"test_sizes": {"size"}})
    assert result.cells[0].message.startswith("« size(28, 5) »") and not result.cells[0].knock_on
