"""Both practicals graded end to end: real nbgrader, real TensorFlow training, real MNIST.

Each fixture submission is a real notebook named by its fault; it must lose exactly the
points of that fault. All submissions of a practical are graded once, by `course grade`'s
function (sandboxed run, points by the verifier), in a fresh course folder.
"""

from __future__ import annotations

import tomllib

import pytest

import csv
import html
import re

import nbformat

from course_lib.french import percent
from course_lib.results import GraderFiles, SuspicionKind
from course_lib.instructor.export import export
from course_lib.instructor.feedback import feedback_page
from conftest import PROJECT
from e2e import THRESHOLD_MARGIN, UNTOUCHED, in_calibrated_range, lost, points

pytestmark = pytest.mark.slow

BY_ITS_ACCURACY = object()  # the accuracy points a fixture loses, by its measured accuracy
PRACTICALS = {
    "tp1_dense": {
        "autograded": {
            "test_activations": 1, "test_heaviside": 1, "test_softmax": 1, "test_cross_entropy": 1,
            "test_load": 1, "test_prepare": 2, "test_onehot": 1, "test_nb_params": 1,
            "test_architecture": 2, "test_compile": 1, "test_train": 2, "test_save": 1,
            "test_predict": 1, "test_accuracy": 4, "test_one_predict": 1, "test_build_nn": 1,
            "test_own_prepare": 1,
        },
        "manual": {"answer_activation", "answer_batch", "answer_overfit", "answer_confusion", "answer_own"},
        "faults": {
            "wrong_hidden_units": {"test_architecture": 2},
            # Its network learned pixels in [0, 255]: on the reference test set, prepared as
            # the practical asks ([0, 1]), it is well short of the target, so the fault also
            # costs accuracy points: how many, its accuracy says (on inputs it never saw, a
            # seed and a CPU give anything from about 60 % to 93 %). Its two plotting exercises
            # are left as released: they cost nothing (no points) and are not the cause of anything.
            "not_normalised": {"test_prepare": 2, "test_accuracy": BY_ITS_ACCURACY},
            # Integer labels only train with the sparse loss: the fault is labels and loss.
            "labels_not_onehot": {"test_onehot": 1, "test_compile": 1},
            "undertrained": {"test_accuracy": 4},
            # The exception stops the cell before relu is defined; later cells are graded.
            "crash_in_one_cell": {"test_activations": 1},
            # The original course's code: keras.datasets.mnist.load_data() and its own imports
            # and spellings. The grading kernel has no network, yet it loses nothing.
            "keras_load_data": {},
            # The solution trained on the test images too: it keeps its points (a signal for the
            # instructor is no verdict) and is flagged « suspect ».
            "trained_on_test_set": {},
            # The test images appended to the training ones: validation_split takes 7,000 of
            # them, the first 3,000 are trained on. Its points kept, flagged by the test blocks.
            "test_set_appended": {},
            # Its loading cell downloads MNIST from a mirror: without network it raises, and
            # every test that needs the data fails; the six that do not (the numpy functions,
            # build_nn, the course's own digits) still pass.
            "loading_cell_fails": {
                "test_load": 1, "test_prepare": 2, "test_onehot": 1, "test_nb_params": 1,
                "test_architecture": 2, "test_compile": 1, "test_train": 2, "test_save": 1,
                "test_predict": 1, "test_accuracy": 4, "test_one_predict": 1,
            },
            # nb_params and the network left as released: nothing is trained, and no model
            # predicts the single image.
            "two_stubs_left": {
                "test_nb_params": 1, "test_architecture": 2, "test_compile": 1, "test_train": 2,
                "test_save": 1, "test_predict": 1, "test_accuracy": 4, "test_one_predict": 1,
            },
            # two_stubs_left (its network left as released, so that nothing trains and it grades
            # in seconds) with a softmax that does not subtract each row's maximum (its public
            # test passes, the drawn scores of ± 1000 overflow) and a Heaviside step with
            # heaviside(0) = 0 (its public test fails).
            "wrong_formulas": {
                "test_heaviside": 1, "test_softmax": 1,
                "test_nb_params": 1, "test_architecture": 2, "test_compile": 1, "test_train": 2,
                "test_save": 1, "test_predict": 1, "test_accuracy": 4, "test_one_predict": 1,
            },
        },
        "architecture_message": (
            "wrong_hidden_units",
            "couche 1 : attendu Dense(784, relu), trouvé Dense(128, relu)",
        ),
    },
    "tp2_convol": {
        "autograded": {
            "test_load": 1, "test_pool2x2": 1, "test_output_sizes": 2, "test_volume": 1,
            "test_prepare": 2, "test_onehot": 1, "test_nb_params": 1,
            "test_architecture": 2, "test_compile": 1, "test_train": 2, "test_save": 1,
            "test_predict": 1, "test_accuracy": 4, "test_own_prepare": 1,
        },
        "manual": {"answer_conv", "answer_pooling", "answer_padding", "answer_params", "answer_compare"},
        "faults": {
            # Keras adds the missing channel axis when it trains: only the layout is wrong.
            "no_channel_axis": {"test_prepare": 2},
            "valid_padding_first_conv": {"test_architecture": 2},
            # A different good convnet: it reaches the accuracy, not the asked architecture.
            "keras_example_convnet": {"test_architecture": 2},
            "undertrained": {"test_accuracy": 4},
            # The same network, each activation a layer of its own (ReLU, Activation, Softmax).
            "relu_layers_convnet": {},
            "trained_on_test_set": {},  # as TP1's: its points kept, flagged « suspect »
            "test_set_appended": {},  # as TP1's
            # Undertrained's answers (no training to pay for), so it loses undertrained's
            # accuracy points too; and its convolution's size forgets the stride (public test),
            # its average pooling sums without dividing (public test), and its volume takes
            # every map for a square: right on the public test's 28 × 28 maps, wrong on the
            # heights and widths the hidden check draws.
            "wrong_output_sizes": {"test_accuracy": 4, "test_output_sizes": 2, "test_pool2x2": 1, "test_volume": 1},
        },
        "architecture_message": (
            "valid_padding_first_conv",
            "couche 1 : attendu Conv2D(6, 5×5, same, relu), "
            "trouvé Conv2D(6, 5×5, valid, relu)",
        ),
    },
}


@pytest.fixture(scope="module", params=list(PRACTICALS))
def assignment_name(request) -> str:
    return request.param


@pytest.fixture(scope="module", params=list(PRACTICALS))
def graded(request, fixture_batch):
    """(assignment, fixture name → result), graded once per practical and session."""
    return request.param, fixture_batch(request.param).results


def test_the_solution_gets_every_autograded_point(graded):
    assignment, results = graded
    spec, result = PRACTICALS[assignment], results["solution"]
    assert result.status == "graded", result.message
    assert points(result) == spec["autograded"]
    assert {c.grade_id for c in result.cells if c.kind == "manual"} == spec["manual"]
    assert {c.status for c in result.cells if c.kind == "manual"} == {"manual-pending"}
    message = next(c.message for c in result.cells if c.grade_id == "test_accuracy")
    assert "4 points sur 4" in message
    # The grader re-measured the saved model in its own process: the same figure.
    assert f"précision {percent(result.accuracy)} : au moins" in message
    assert result.files == GraderFiles("history.json", "model.keras", "predictions.json")
    assert result.sandbox == "bubblewrap" and not result.tampered, result.tampering


def test_the_shipped_seed_lands_in_the_calibrated_range(graded):
    """The batch's two workers train on one thread each, as the calibration's runs did."""
    assignment, results = graded
    inside, bounds = in_calibrated_range(assignment, results["solution"].accuracy)
    assert inside, (results["solution"].accuracy, bounds)


def test_every_fixture_is_clear_of_the_thresholds(graded):
    """A fixture's accuracy is at least THRESHOLD_MARGIN from T_full and T_part: another CPU,
    training it to another figure, does not move it across a threshold."""
    import tomllib

    assignment, results = graded
    thresholds = tomllib.loads((PROJECT / "course.toml").read_text())["assignments"][assignment]["accuracy"]
    close = {name: result.accuracy for name, result in results.items()
             if result.accuracy is not None
             and any(abs(result.accuracy - t) < THRESHOLD_MARGIN for t in thresholds.values())}
    assert not close, (close, thresholds)


def test_every_test_the_self_check_passes_gets_its_full_points(fixture_batch, assignment_name):
    """`course check` says ✅ only where the grader gives every point: its verdicts, computed
    from each fixture's graded run (the same cells, the same kernel verdicts), against the
    grader's points."""
    from course_lib.selfcheck import _report

    batch = fixture_batch(assignment_name)
    for student, result in batch.results.items():
        [executed_path] = (batch.course / "autograded" / student / assignment_name).glob("*.ipynb")
        executed = nbformat.read(executed_path, 4)
        outcome = {"timeout_cell": None, "dead_cell": None, "truncated": False}
        report = _report(executed_path, executed, outcome, cell_timeout=900)
        graded_points = {c.grade_id: (c.points, c.max_points) for c in result.cells}
        for test in report.tests:
            if test.status == "passed":
                assert graded_points[test.grade_id][0] == graded_points[test.grade_id][1], (student, test)


def test_the_untouched_release_gets_no_autograded_point(graded):
    assignment, results = graded
    assert points(results[UNTOUCHED]) == dict.fromkeys(PRACTICALS[assignment]["autograded"], 0.0)


def test_each_fault_costs_exactly_its_points(graded):
    assignment, results = graded
    spec = PRACTICALS[assignment]
    thresholds = tomllib.loads((PROJECT / "course.toml").read_text())["assignments"][assignment]["accuracy"]
    expected = {}
    for fixture, faults in spec["faults"].items():
        accuracy = results[fixture].accuracy
        expected[fixture] = {cell: (4 if accuracy < thresholds["partial"] else 2) if points is BY_ITS_ACCURACY
                             else points for cell, points in faults.items()}
        if BY_ITS_ACCURACY in faults.values():
            assert accuracy < thresholds["full"], (fixture, accuracy)
    losses = {fixture: lost(results[fixture], spec["autograded"]) for fixture in spec["faults"]}
    assert losses == expected


def test_a_filled_answer_keeps_the_verifiers_message_whatever_stubs_lie_above(fixture_batch):
    result = fixture_batch("tp1_dense").results["not_normalised"]
    prepare = next(c for c in result.cells if c.grade_id == "test_prepare")
    assert prepare.status == "failed" and not prepare.knock_on
    assert prepare.message.startswith("x_train a des valeurs entre"), prepare.message
    assert {"view_one", "view_sorted"} <= {entry.grade_id for entry in result.unanswered}


def test_a_training_validated_on_the_test_set_keeps_its_points_and_is_told_why_not(fixture_batch):
    """keras_load_data trains as the original course did, validating on (x_test, y_test)."""
    from course_lib.specs.common import VALIDATED_ON_TEST

    results = fixture_batch("tp1_dense").results
    old_style = next(c for c in results["keras_load_data"].cells if c.grade_id == "test_accuracy")
    solution = next(c for c in results["solution"].cells if c.grade_id == "test_accuracy")
    assert old_style.points == old_style.max_points and VALIDATED_ON_TEST in old_style.message
    assert VALIDATED_ON_TEST not in solution.message


def test_the_architecture_message_names_the_first_difference(graded):
    assignment, results = graded
    fixture, expected = PRACTICALS[assignment]["architecture_message"]
    messages = {c.grade_id: c.message for c in results[fixture].cells}
    assert messages["test_architecture"] == expected
    undertrained = {c.grade_id: c.message for c in results["undertrained"].cells}
    assert "moins de 85\u00a0%, 0 point sur 4" in undertrained["test_accuracy"]


def test_the_first_failing_cell_is_named_and_the_tests_below_marked(fixture_batch):
    batch = fixture_batch("tp1_dense")
    result = batch.results["loading_cell_fails"]
    first = result.first_error
    assert (first.grade_id, first.title) == ("load", "3. Les données MNIST")
    assert first.error.startswith("Exception: URL fetch failure on http://127.0.0.1:9/mnist.npz")
    assert result.status == "graded"
    assert result.message.startswith('cell "load" (3. Les données MNIST) failed: Exception: URL fetch failure')
    assert result.message.endswith("the tests below depend on it")
    cells = {c.grade_id: c for c in result.cells}
    knock_ons = {gid for gid, cell in cells.items() if cell.knock_on}
    assert knock_ons == set(PRACTICALS["tp1_dense"]["faults"]["loading_cell_fails"])
    assert cells["test_prepare"].message == ("non vérifié : la cellule « 3. Les données MNIST » (load) "
                                                "plus haut a échoué, et cette vérification en dépend")
    page = feedback_page(batch.course, "tp1_dense", "loading_cell_fails")
    assert "La cellule « 3. Les données MNIST » (load) a échoué" in html.unescape(page)
    assert page.count("conséquence") == len(knock_ons)
    rows = list(csv.DictReader(export(course_dir=batch.course, detail=True, output=batch.course / "d.csv").path.open()))
    [cause] = [r for r in rows if r["student_id"] == "loading_cell_fails" and r["kind"] == "cause"]
    assert (cause["grade_id"], cause["message"]) == ("load", result.message)
    [line] = [r for r in csv.DictReader(export(course_dir=batch.course, output=batch.course / "g.csv").path.open())
              if r["student_id"] == "loading_cell_fails"]
    assert result.message in line["needs_attention"]


def test_answers_left_as_released_read_not_answered(fixture_batch):
    batch = fixture_batch("tp1_dense")
    result = batch.results["two_stubs_left"]
    assert [u.grade_id for u in result.unanswered] == ["nb_params", "build"]
    assert result.first_error is None and result.message == "not answered (2): nb_params, build"
    cells = {c.grade_id: c for c in result.cells}
    assert (cells["test_nb_params"].status, cells["test_architecture"].status) == ("not-answered",) * 2
    assert cells["test_architecture"].message == "la cellule « 5. Le réseau dense » (build) n'est pas remplie"
    assert cells["test_compile"].knock_on and "(build) plus haut n'est pas remplie" in cells["test_compile"].message
    page = html.unescape(feedback_page(batch.course, "tp1_dense", "two_stubs_left"))
    assert "Non répondu (2) : 5. Le réseau dense (nb_params) ; 5. Le réseau dense (build)." in page
    assert page.count(">non répondu<") == 2
    # The untouched release: every answer a stub, every written answer unanswered, no error.
    untouched = batch.results[UNTOUCHED]
    assert untouched.first_error is None
    assert {c.status for c in untouched.cells if c.kind == "manual"} == {"not-answered"}


# Words of the English messages students used to read on their pages (checks, verifier, thresholds).
ENGLISH = re.compile(
    r"\b(expected|found|failed|reaches|below|layers?|not answered|must be|does not|is not|was not|cannot|"
    r"missing|the model|accuracy|training|shape|array|values|defined|unexpected|params|grader|points of)\b",
    flags=re.IGNORECASE,
)


@pytest.mark.parametrize("assignment", list(PRACTICALS))
def test_feedback_pages_have_no_english_sentence(fixture_batch, assignment):
    """Every fixture's page, but for what quotes code or Python's own errors (<code>) and the
    student's and assignment's ids."""
    batch = fixture_batch(assignment)
    for student in batch.results:
        page = feedback_page(batch.course, assignment, student)
        text = re.sub(r"<code>.*?</code>|<style>.*?</style>|<[^>]+>", " ", page, flags=re.S)
        text = html.unescape(text).replace(student, " ").replace(assignment, " ")
        assert not ENGLISH.findall(text), (student, sorted(set(ENGLISH.findall(text))))


def test_a_model_trained_on_the_test_set_is_suspect_and_no_honest_fixture_is(graded):
    """The train + test fixtures are flagged with their evidence (test images first: by
    where the test set sits, among others; appended, for the dense network: by the test
    images honest models get wrong and by the blocks; the convnet learns its 3,000 test images
    too little for a sure flag: 2 of 3 in the calibration); every other fixture (solutions,
    mistakes, other recipes, the original course's code) raises no integrity signal."""
    assignment, results = graded
    cheat = results["trained_on_test_set"]
    [position] = [s for s in cheat.suspicions if s.kind == SuspicionKind.TRAINED_ON_TEST]
    assert cheat.evidence.test_position < position.threshold
    assert "was it trained on the test set?" in position.evidence
    if assignment == "tp1_dense":
        appended = {s.kind: s for s in results["test_set_appended"].suspicions}
        hard = appended[SuspicionKind.HARD_IMAGES]
        assert hard.statistic > hard.threshold and "most honest models get wrong" in hard.evidence
        blocks = appended[SuspicionKind.TEST_BLOCKS]
        easiest = re.search(r"better on test images ([\d,]+)–", blocks.evidence).group(1)
        assert int(easiest.replace(",", "")) < 3000, blocks.evidence  # one of the blocks it trained on
    raised = {name: [s.line() for s in result.suspicions] for name, result in results.items()
              if name not in ("trained_on_test_set", "test_set_appended") and result.suspicions}
    assert raised == {}
    positions = {name: result.evidence.test_position for name, result in results.items() if result.evidence}
    assert positions["solution"] is not None and positions["solution"] > 0.5, positions
