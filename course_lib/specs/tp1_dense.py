"""TP1's hidden checks (dense network), run by the verifier on the data exported after each test cell."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.checks import assert_architecture, assert_compiled, dense
from course_lib.specs.common import (
    COURSE_COMPILE, Check, Context, Items, accuracy_cell, architecture_cell, call, compile_cell,
    integers_cell, load_cell, onehot_cell, own_prepare_cell, predict_cell, prepare_cell,
    save_cell, train_cell, value,
)

__all__ = ["CHECKS", "Context"]

SIGMOID_Z = np.array([-2.0, 0.0, 3.0])
ACTIVATIONS = ("relu", "tanh", "sigmoid")


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


def _load_counts(data: Any) -> None:
    counts = (data.value("nb_im_train"), data.value("nb_im_test"), data.value("nb_pixel"))
    if counts != (60000, 10000, 784):
        raise AssertionError("nb_im_train, nb_im_test ou nb_pixel est faux")


def _build_nn() -> Check:
    def exports(draw: np.random.Generator) -> Items:
        drawn = [(int(draw.integers(0, 4)), int(draw.integers(8, 129)), str(draw.choice(ACTIVATIONS)))
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
    "test_load": load_cell(_load_counts, [value(n, n) for n in ("nb_im_train", "nb_im_test", "nb_pixel")],
                           labels_checked=False),
    "test_prepare": prepare_cell((784,)),
    "test_onehot": onehot_cell(),
    "test_nb_params": integers_cell({"nb_params": (623290, "784 × 784 + 784 + 784 × 10 + 10")}),
    "test_architecture": architecture_cell((784,), [dense(784, "relu"), dense(10, "softmax")]),
    "test_compile": compile_cell(),
    "test_train": train_cell(),
    "test_save": save_cell("tp1_dense.keras", "tp1_dense.weights.h5"),
    "test_predict": predict_cell(),
    "test_accuracy": accuracy_cell(),
    "test_build_nn": _build_nn(),
    "test_own_prepare": own_prepare_cell((784,)),
}
