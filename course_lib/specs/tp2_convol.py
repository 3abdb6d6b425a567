"""TP2's hidden checks (convolutional network), run by the verifier on the exported data."""

from __future__ import annotations

from course_lib.checks import conv2d, dense, flatten, max_pool
from course_lib.specs.common import (
    Context, accuracy_cell, architecture_cell, compile_cell, integers_cell, load_cell, onehot_cell,
    own_prepare_cell, predict_cell, prepare_cell, save_cell, train_cell,
)

__all__ = ["CHECKS", "Context"]

SAMPLE = (28, 28, 1)
LENET = [conv2d(6, 5, "same", "relu"), max_pool(2), conv2d(16, 5, "valid", "relu"), max_pool(2),
         flatten(), dense(200, "relu"), dense(84, "relu"), dense(10, "softmax")]

CHECKS = {
    "test_load": load_cell(),
    "test_prepare": prepare_cell(SAMPLE),
    "test_onehot": onehot_cell(),
    "test_nb_params": integers_cell({
        "nb_params_conv1": (156, "(5 × 5 × 1 + 1) × 6"),
        "nb_params_conv2": (2416, "(5 × 5 × 6 + 1) × 16"),
        "nb_params_dense1": (80200, "400 × 200 + 200 (Flatten donne 5 × 5 × 16 = 400 valeurs)"),
    }),
    "test_architecture": architecture_cell(SAMPLE, LENET, params=100506),
    "test_compile": compile_cell(),
    "test_train": train_cell(),
    "test_save": save_cell("tp2_convol.keras"),
    "test_predict": predict_cell(),
    "test_accuracy": accuracy_cell(),
    "test_own_prepare": own_prepare_cell(SAMPLE),
}
