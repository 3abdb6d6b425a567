"""Checks of the notebooks' public self-checks and of the verifier's hidden checks
(course_lib.specs); each failure is one French sentence, the student's language.

Importing this package does not import Keras (and so TensorFlow): the model checks import
it when they run. `percent` is public too: the notebooks print their rates with it, in the
same French format as the checks' messages (97,27 %).
"""

from course_lib.french import percent
from .architecture import (
    architecture_signature,
    assert_architecture,
    assert_input_shape,
    assert_total_params,
    compare_architecture,
    conv2d,
    dense,
    describe_layer,
    flatten,
    max_pool,
    total_params,
)
from .arrays import as_array, assert_array, assert_one_hot, shape_matches
from .answers import answer_digest, assert_answer
from .compilation import assert_compiled
from .evaluation import assert_accuracy, model_inputs, predicted_probabilities
from .thresholds import Grade, grade_threshold
from .training import assert_trained, check_training
from .models import model_input_shape, require_model
from .namespace import assert_defined

__all__ = [
    "Grade",
    "answer_digest",
    "assert_accuracy",
    "assert_answer",
    "architecture_signature",
    "as_array",
    "assert_architecture",
    "assert_array",
    "assert_compiled",
    "assert_defined",
    "assert_input_shape",
    "assert_one_hot",
    "assert_total_params",
    "assert_trained",
    "compare_architecture",
    "conv2d",
    "dense",
    "check_training",
    "describe_layer",
    "flatten",
    "grade_threshold",
    "max_pool",
    "model_inputs",
    "model_input_shape",
    "percent",
    "predicted_probabilities",
    "require_model",
    "shape_matches",
    "total_params",
]
