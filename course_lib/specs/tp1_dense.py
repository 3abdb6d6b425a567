"""TP1's hidden checks (dense network), run by the verifier on the data exported after each test cell."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.checks import assert_architecture, assert_compiled, dense
from course_lib.specs.common import (
    COURSE_COMPILE, accuracy_cell, architecture_cell, check_array, compile_cell, integers_cell,
    load_cell, onehot_cell, own_prepare_cell, predict_cell, prepare_cell, save_cell, train_cell,
)
from course_lib.specs.protocol import (
    Check, Context, Items, Keep, array, call, model, value,
)

__all__ = ["CHECKS", "KEEP", "Context"]

SIGMOID_Z = np.array([-2.0, 0.0, 3.0])
ACTIVATIONS = ("relu", "tanh", "sigmoid")
SOFTMAX_Z = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
SOFTMAX_EXPECTED = [[0.09003057, 0.24472847, 0.66524096], [1 / 3, 1 / 3, 1 / 3]]  # as the notebook's test
CROSS_ENTROPY_TRUE = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
CROSS_ENTROPY_PRED = np.array([[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]])
ONE_IMAGE = 1234  # the `i` of the cell one_predict


def _activations() -> Check:
    def exports(draw: np.random.Generator) -> Items:
        grid = draw.uniform(-30, 30, size=(11, 11))
        return [call("sigmoid_z", "sigmoid", SIGMOID_Z), call("relu_z", "relu", SIGMOID_Z),
                call("sigmoid_grid", "sigmoid", grid), call("relu_grid", "relu", grid)]

    def public(data: Any, context: Context) -> None:
        if not np.allclose(data.array("sigmoid_z")[1], [0.11920292, 0.5, 0.95257413]):
            raise AssertionError("sigmoid(z) ne donne pas les bonnes valeurs")
        if not np.allclose(data.array("relu_z")[1], [0.0, 0.0, 3.0]):
            raise AssertionError("relu(z) ne donne pas les bonnes valeurs")

    def hidden(data: Any, context: Context, points: float) -> None:
        grid = np.asarray(data.items["sigmoid_grid"]["args"][0])
        sigmoid, relu = data.array("sigmoid_grid")[1], data.array("relu_grid")[1]
        if sigmoid.shape != grid.shape or relu.shape != grid.shape:
            raise AssertionError("sigmoid et relu doivent garder la forme de z")
        if not np.allclose(sigmoid, 1 / (1 + np.exp(-grid))):
            raise AssertionError("sigmoid donne de mauvaises valeurs entre -30 et 30")
        if not np.allclose(relu, np.where(grid > 0, grid, 0)):
            raise AssertionError("relu donne de mauvaises valeurs entre -30 et 30")

    return Check(exports, public, hidden)


def _heaviside() -> Check:
    def exports(draw: np.random.Generator) -> Items:
        grid = draw.uniform(-30, 30, size=(11, 11))
        grid[0, 0] = 0.0
        return [call("heaviside_z", "heaviside", SIGMOID_Z), call("heaviside_grid", "heaviside", grid)]

    def public(data: Any, context: Context) -> None:
        if not np.allclose(data.array("heaviside_z")[1], [0.0, 1.0, 1.0]):
            raise AssertionError("heaviside(z) ne donne pas les bonnes valeurs (rappel : heaviside(0) vaut 1)")

    def hidden(data: Any, context: Context, points: float) -> None:
        grid = np.asarray(data.items["heaviside_grid"]["args"][0])
        found = data.array("heaviside_grid")[1]
        if found.shape != grid.shape:
            raise AssertionError("heaviside doit garder la forme de z")
        if not np.allclose(found, np.where(grid >= 0, 1.0, 0.0)):
            raise AssertionError("heaviside donne de mauvaises valeurs entre -30 et 30")

    return Check(exports, public, hidden)


def reference_softmax(z: np.ndarray) -> np.ndarray:
    exp_z = np.exp(z - z.max(axis=1, keepdims=True))
    return exp_z / exp_z.sum(axis=1, keepdims=True)


def _softmax() -> Check:
    """Rows of scores drawn at each grading, some far above or below 0 (e^1000 overflows):
    only a softmax that subtracts each row's maximum gives them."""

    def exports(draw: np.random.Generator) -> Items:
        scores = draw.uniform(-20, 20, size=(8, 10))
        scores[:3] += draw.uniform(700, 1000, size=(3, 1))
        scores[3:5] -= draw.uniform(800, 1000, size=(2, 1))
        return [call("softmax_z", "softmax", SOFTMAX_Z), call("softmax_drawn", "softmax", scores)]

    def public(data: Any, context: Context) -> None:
        if not np.allclose(data.array("softmax_z")[1], SOFTMAX_EXPECTED):
            raise AssertionError("softmax(z) ne donne pas les bonnes valeurs")

    def hidden(data: Any, context: Context, points: float) -> None:
        scores = np.asarray(data.items["softmax_drawn"]["args"][0])
        meta, found = data.array("softmax_drawn")
        if found.shape != scores.shape:
            raise AssertionError("softmax doit garder la forme de z : une ligne de probabilités par ligne de scores")
        if not meta["finite"]:
            raise AssertionError("softmax donne des valeurs infinies ou NaN pour de grands scores (± 1000) : "
                                 "soustrais le maximum de chaque ligne avant l'exponentielle")
        if not np.allclose(found.sum(axis=1), 1.0):
            raise AssertionError("les lignes de softmax(z) ne somment pas à 1 : normalise chaque ligne")
        if not np.allclose(found, reference_softmax(scores), atol=1e-6):
            raise AssertionError("softmax donne de mauvaises valeurs sur des scores tirés au hasard")

    return Check(exports, public, hidden)


def reference_cross_entropy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(-np.sum(y_true * np.log(y_pred), axis=1)))


def _cross_entropy() -> Check:
    """Labels and probabilities drawn at each grading (none below 1 %, so that any small
    epsilon gives the same loss), and probabilities with zeros, where the loss must stay finite."""

    def exports(draw: np.random.Generator) -> Items:
        labels = draw.integers(0, 10, size=6)
        y_true = np.eye(10)[labels]
        y_pred = 0.9 * draw.dirichlet(np.ones(10), size=6) + 0.01
        wrong = np.eye(10)[(labels + 1) % 10]  # certain, and wrong: p = 0 for the right digit
        return [call("cross_entropy_given", "cross_entropy", CROSS_ENTROPY_TRUE, CROSS_ENTROPY_PRED),
                call("cross_entropy_drawn", "cross_entropy", y_true, y_pred),
                call("cross_entropy_zeros", "cross_entropy", y_true, wrong)]

    def single(data: Any, key: str) -> float:
        found = data.array(key)[1]
        if found.shape != ():
            raise AssertionError("cross_entropy doit renvoyer un seul nombre : la moyenne sur les lignes")
        return float(found)

    def public(data: Any, context: Context) -> None:
        if not np.isclose(single(data, "cross_entropy_given"), 0.5249111, atol=1e-4):
            raise AssertionError("cross_entropy ne donne pas la bonne valeur : (-log 0.7 - log 0.5) / 2 ≈ 0.525")

    def hidden(data: Any, context: Context, points: float) -> None:
        y_true, y_pred = (np.asarray(a) for a in data.items["cross_entropy_drawn"]["args"])
        if not np.isclose(single(data, "cross_entropy_drawn"), reference_cross_entropy(y_true, y_pred), atol=1e-4):
            raise AssertionError("cross_entropy donne de mauvaises valeurs sur des probabilités tirées au hasard : "
                                 "moyenne sur les lignes de -Σ y log p")
        zeros = single(data, "cross_entropy_zeros")
        if not np.isfinite(zeros) or zeros <= 0:
            raise AssertionError("cross_entropy doit rester finie et positive quand des probabilités valent 0 : "
                                 "ajoute un petit epsilon (ou np.clip) dans le logarithme")

    return Check(exports, public, hidden)


def _one_predict() -> Check:
    """The probabilities of one test image: the exported model's prediction, measured here, of
    the same row of the student's x_test."""

    def exports(draw: np.random.Generator) -> Items:
        return [array("one_probabilities", "one_probabilities"), model("model", "model"),
                array("one_image", "x_test", [ONE_IMAGE])]

    def public(data: Any, context: Context) -> None:
        check_array(data.array("one_probabilities")[0], "one_probabilities", (1, 10), "f")

    def hidden(data: Any, context: Context, points: float) -> None:
        _, found = data.array("one_probabilities")
        _, image = data.array("one_image")
        network = data.model("model")
        if len(image) != 1:
            raise AssertionError(f"x_test n'a pas d'image numéro {ONE_IMAGE}")
        expected = np.asarray(network.predict(image, verbose=0))  # what x_test[i:i+1] gives the model
        if not np.allclose(found, expected, atol=1e-5):
            raise AssertionError(f"one_probabilities n'est pas ce que model prédit pour l'image "
                                 f"x_test[{ONE_IMAGE}:{ONE_IMAGE + 1}]")

    return Check(exports, public, hidden)


def _load_counts(data: Any) -> None:
    counts = (data.value("nb_im_train"), data.value("nb_im_test"), data.value("nb_pixel"))
    if counts != (60000, 10000, 784):
        raise AssertionError("nb_im_train, nb_im_test ou nb_pixel est faux")


def _build_nn() -> Check:
    def exports(draw: np.random.Generator) -> Items:
        # Only what the text announces: at least one hidden layer.
        drawn = [(int(draw.integers(1, 4)), int(draw.integers(8, 129)), str(draw.choice(ACTIVATIONS)))
                 for _ in range(2)]
        return [call("given", "build_nn", 2, 64)] + [
            call(f"drawn_{i}", "build_nn", n, u, a)
            for i, (n, u, a) in enumerate(drawn)
        ]

    def public(data: Any, context: Context) -> None:
        assert_architecture(data.model("given"), [dense(64, "relu"), dense(64, "relu"), dense(10, "softmax")])

    def hidden(data: Any, context: Context, points: float) -> None:
        for key, item in data.items.items():
            if key.startswith("drawn_"):
                hidden_layers, units, activation = item["args"]
                network = data.model(key, compile=True)
                assert_architecture(network, [dense(units, activation)] * hidden_layers + [dense(10, "softmax")])
                assert_compiled(network, **COURSE_COMPILE)

    return Check(exports, public, hidden)


CHECKS = {
    "test_activations": _activations(),
    "test_heaviside": _heaviside(),
    "test_softmax": _softmax(),
    "test_cross_entropy": _cross_entropy(),
    "test_load": load_cell(_load_counts, [value(n, n) for n in ("nb_im_train", "nb_im_test", "nb_pixel")],
                           labels_checked=False),
    "test_prepare": prepare_cell((784,)),
    "test_onehot": onehot_cell(),
    "test_nb_params": integers_cell({"nb_params": (623290, "784 × 784 + 784 + 784 × 10 + 10")}, public_values=True),
    "test_architecture": architecture_cell((784,), [dense(784, "relu"), dense(10, "softmax")]),
    "test_compile": compile_cell(),
    "test_train": train_cell(),
    "test_save": save_cell("tp1_dense.keras", "tp1_dense.weights.h5"),
    "test_predict": predict_cell(),
    "test_accuracy": accuracy_cell(),
    "test_one_predict": _one_predict(),
    "test_build_nn": _build_nn(),
    "test_own_prepare": own_prepare_cell((784,)),
}
# The training curves of the feedback page, the trained model for the instructor.
KEEP = Keep(history=("test_train", "history"), model=("test_accuracy", "model"))
