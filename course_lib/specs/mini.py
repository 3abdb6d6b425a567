"""The hidden checks of `mini`, the small practical the test suite's adversarial corpus is
graded on (grader_tests/adversarial/course): TP1's mechanisms on 6,000 images, in seconds."""

from __future__ import annotations

from typing import Any

import numpy as np

from course_lib.checks import dense
from course_lib.french import integer
from course_lib.specs.common import (
    accuracy_cell, architecture_cell, integers_cell, onehot_cell, predict_cell, prepare_cell,
)
from course_lib.specs.protocol import (
    Check, Context, Items, Keep, call,
)

__all__ = ["CHECKS", "KEEP", "Context"]


def _relu() -> Check:
    def exports(draw: np.random.Generator) -> Items:
        return [call("given", "relu", np.array([-2.0, 0.0, 3.0])),
                call("drawn", "relu", draw.uniform(-30, 30, size=(7, 9)))]

    def public(data: Any, context: Context) -> None:
        if not np.allclose(data.array("given")[1], [0.0, 0.0, 3.0]):
            raise AssertionError("relu(z) ne donne pas les bonnes valeurs")

    def hidden(data: Any, context: Context, points: float) -> None:
        grid = np.asarray(data.items["drawn"]["args"][0])
        found = data.array("drawn")[1]
        if found.shape != grid.shape or not np.allclose(found, np.maximum(grid, 0)):
            raise AssertionError("relu donne de mauvaises valeurs entre -30 et 30")

    return Check(exports, public, hidden)


CHECKS = {
    "test_relu": _relu(),
    "test_counts": integers_cell({"nb_train": (6000, integer(6000))}, public_values=True),
    "test_prepare": prepare_cell((784,), train_images=6000),
    "test_onehot": onehot_cell(train_images=6000),
    "test_architecture": architecture_cell((784,), [dense(32, "relu"), dense(10, "softmax")]),
    "test_predict": predict_cell(),
    "test_accuracy": accuracy_cell(train_images=6000),
}
# The training curves of the feedback page, the trained model for the instructor.
KEEP = Keep(history=("test_accuracy", "history"), model=("test_accuracy", "model"))
