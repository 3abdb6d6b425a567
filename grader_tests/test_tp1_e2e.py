"""TP1 graded end to end: real nbgrader autograde, real TensorFlow training, real MNIST."""

from __future__ import annotations

import pytest

from e2e import UNTOUCHED, grade_fixtures, lost, points

pytestmark = pytest.mark.slow
ASSIGNMENT = "tp1_dense"
AUTOGRADED = {
    "test_activations": 1, "test_load": 1, "test_prepare": 2, "test_onehot": 1,
    "test_nb_params": 1, "test_architecture": 2, "test_compile": 1, "test_train": 2,
    "test_save": 1, "test_predict": 1, "test_accuracy": 4, "test_build_nn": 1,
    "test_own_prepare": 1,
}
MANUAL = {"answer_activation", "answer_overfit", "answer_confusion", "answer_own"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory, mnist_dir):
    return grade_fixtures(tmp_path_factory.mktemp("tp1-course"), mnist_dir, ASSIGNMENT)


def test_the_solution_gets_every_autograded_point(graded):
    result = graded["solution"]
    assert result["success"], result["error"]
    assert points(result) == AUTOGRADED
    assert {c["grade_id"] for c in result["cells"] if c["status"] == "manual-pending"} == MANUAL
    assert {c["grade_id"] for c in result["cells"] if c["kind"] == "manual"} == MANUAL
    accuracy_message = next(c["message"] for c in result["cells"] if c["grade_id"] == "test_accuracy")
    assert accuracy_message.startswith("accuracy 0.9") and "4 of 4 points" in accuracy_message


def test_the_untouched_release_gets_no_autograded_point(graded):
    assert sum(points(graded[UNTOUCHED]).values()) == 0
    assert set(points(graded[UNTOUCHED])) == set(AUTOGRADED)


@pytest.mark.parametrize(
    "fixture, expected_loss",
    [
        ("wrong_hidden_units", {"test_architecture": 2}),
        # Its network learned pixels in [0, 255]: on the reference test set, prepared as the
        # practical asks ([0, 1]), it is well short of the target (about 93 %), so the fault
        # also costs half of the accuracy points.
        ("not_normalised", {"test_prepare": 2, "test_accuracy": 2}),
        # Integer labels only train with the sparse loss: the fault is in the labels and the loss.
        ("labels_not_onehot", {"test_onehot": 1, "test_compile": 1}),
        ("undertrained", {"test_accuracy": 4}),
        # The exception stops the cell before relu is defined; every later cell is still graded.
        ("crash_in_one_cell", {"test_activations": 1}),
    ],
)
def test_a_fault_costs_exactly_its_points(graded, fixture, expected_loss):
    assert lost(graded[fixture], AUTOGRADED) == expected_loss


def test_messages_name_the_first_difference(graded):
    messages = {c["grade_id"]: c["message"] for c in graded["wrong_hidden_units"]["cells"]}
    assert messages["test_architecture"] == (
        "failed: AssertionError: layer 1: expected Dense(784, relu), found Dense(128, relu)"
    )
    undertrained = {c["grade_id"]: c["message"] for c in graded["undertrained"]["cells"]}
    assert "is below 0.85: 0 of 4 points" in undertrained["test_accuracy"]
