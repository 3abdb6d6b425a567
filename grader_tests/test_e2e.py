"""Both practicals graded end to end: real nbgrader, real TensorFlow training, real MNIST.

Each fixture submission is a real notebook named by its fault; it must lose exactly the
points of that fault. All submissions of a practical are graded once, by `course grade`'s
function (sandboxed run, points by the verifier), in a fresh course folder.
"""

from __future__ import annotations

import pytest

from e2e import UNTOUCHED, lost, points

pytestmark = pytest.mark.slow

PRACTICALS = {
    "tp1_dense": {
        "autograded": {
            "test_activations": 1, "test_load": 1, "test_prepare": 2, "test_onehot": 1,
            "test_nb_params": 1, "test_architecture": 2, "test_compile": 1, "test_train": 2,
            "test_save": 1, "test_predict": 1, "test_accuracy": 4, "test_build_nn": 1,
            "test_own_prepare": 1,
        },
        "manual": {"answer_activation", "answer_overfit", "answer_confusion", "answer_own"},
        "faults": {
            "wrong_hidden_units": {"test_architecture": 2},
            # Its network learned pixels in [0, 255]: on the reference test set, prepared as
            # the practical asks ([0, 1]), it is well short of the target (about 93 %), so the
            # fault also costs half of the accuracy points.
            "not_normalised": {"test_prepare": 2, "test_accuracy": 2},
            # Integer labels only train with the sparse loss: the fault is labels and loss.
            "labels_not_onehot": {"test_onehot": 1, "test_compile": 1},
            "undertrained": {"test_accuracy": 4},
            # The exception stops the cell before relu is defined; later cells are graded.
            "crash_in_one_cell": {"test_activations": 1},
            # The original course's code: keras.datasets.mnist.load_data() and its own imports
            # and spellings. The grading kernel has no network, yet it loses nothing.
            "keras_load_data": {},
        },
        "architecture_message": (
            "wrong_hidden_units",
            "failed: layer 1: expected Dense(784, relu), found Dense(128, relu)",
        ),
    },
    "tp2_convol": {
        "autograded": {
            "test_load": 1, "test_prepare": 2, "test_onehot": 1, "test_nb_params": 1,
            "test_architecture": 2, "test_compile": 1, "test_train": 2, "test_save": 1,
            "test_predict": 1, "test_accuracy": 4, "test_own_prepare": 1,
        },
        "manual": {"answer_conv", "answer_padding", "answer_params", "answer_compare"},
        "faults": {
            # Keras adds the missing channel axis when it trains: only the layout is wrong.
            "no_channel_axis": {"test_prepare": 2},
            "valid_padding_first_conv": {"test_architecture": 2},
            # A different good convnet: it reaches the accuracy, not the asked architecture.
            "keras_example_convnet": {"test_architecture": 2},
            "undertrained": {"test_accuracy": 4},
        },
        "architecture_message": (
            "valid_padding_first_conv",
            "failed: layer 1: expected Conv2D(6, 5×5, same, relu), "
            "found Conv2D(6, 5×5, valid, relu)",
        ),
    },
}


@pytest.fixture(scope="module", params=list(PRACTICALS))
def graded(request, fixture_batch):
    """(assignment, fixture name → result), graded once per practical and session."""
    return request.param, fixture_batch(request.param)


def test_the_solution_gets_every_autograded_point(graded):
    assignment, results = graded
    spec, result = PRACTICALS[assignment], results["solution"]
    assert result["status"] == "graded", result["message"]
    assert points(result) == spec["autograded"]
    assert {c["grade_id"] for c in result["cells"] if c["kind"] == "manual"} == spec["manual"]
    assert {c["status"] for c in result["cells"] if c["kind"] == "manual"} == {"manual-pending"}
    message = next(c["message"] for c in result["cells"] if c["grade_id"] == "test_accuracy")
    assert "4 of 4 points" in message
    # The grader re-measured the saved model in its own process: the same figure.
    assert f"accuracy {result['accuracy']:g} reaches" in message
    assert result["files"] == {"history": "history.json", "model": "model.keras", "predictions": "predictions.json"}
    assert result["sandbox"] == "bubblewrap" and not result["tampered"], result["tampering"]


def test_the_untouched_release_gets_no_autograded_point(graded):
    assignment, results = graded
    assert points(results[UNTOUCHED]) == dict.fromkeys(PRACTICALS[assignment]["autograded"], 0.0)


def test_each_fault_costs_exactly_its_points(graded):
    assignment, results = graded
    spec = PRACTICALS[assignment]
    losses = {fixture: lost(results[fixture], spec["autograded"]) for fixture in spec["faults"]}
    assert losses == spec["faults"]


def test_the_architecture_message_names_the_first_difference(graded):
    assignment, results = graded
    fixture, expected = PRACTICALS[assignment]["architecture_message"]
    messages = {c["grade_id"]: c["message"] for c in results[fixture]["cells"]}
    assert messages["test_architecture"] == expected
    undertrained = {c["grade_id"]: c["message"] for c in results["undertrained"]["cells"]}
    assert "is below 0.85: 0 of 4 points" in undertrained["test_accuracy"]
