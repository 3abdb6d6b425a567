"""Unit tests of course_lib.checks: exact messages on small untrained models, no MNIST."""

from __future__ import annotations

import json
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_lib.checks import (  # noqa: E402
    predicted_probabilities,
    architecture_signature,
    assert_architecture,
    assert_array,
    assert_compiled,
    assert_input_shape,
    assert_one_hot,
    assert_total_params,
    compare_architecture,
    conv2d,
    dense,
    describe_layer,
    flatten,
    grade_threshold,
    max_pool,
    total_params,
)
from course_lib.french import (  # noqa: E402
    decimal,
    integer,
    percent,
    points_text,
    threshold_percent,
)

NBSP, NNBSP = "\u00a0", "\u202f"  # before %, between thousands

Dense, Conv2D, MaxPooling2D, Flatten, Activation = (
    keras.layers.Dense,
    keras.layers.Conv2D,
    keras.layers.MaxPooling2D,
    keras.layers.Flatten,
    keras.layers.Activation,
)

TP1 = [dense(784, "relu"), dense(10, "softmax")]
LENET = [
    conv2d(6, 5, "same", "relu"),
    max_pool(2),
    conv2d(16, 5, "valid", "relu"),
    max_pool(2),
    flatten(),
    dense(200, "relu"),
    dense(84, "relu"),
    dense(10, "softmax"),
]


def sequential(input_shape: tuple[int, ...], *layers: keras.layers.Layer) -> keras.Sequential:
    return keras.Sequential([keras.Input(input_shape), *layers])


def tp1_model() -> keras.Sequential:
    return sequential((784,), Dense(784, activation="relu"), Dense(10, activation="softmax"))


def lenet_layers() -> list[keras.layers.Layer]:
    return [
        Conv2D(6, 5, padding="same", activation="relu"),
        MaxPooling2D(2),
        Conv2D(16, 5, padding="valid", activation="relu"),
        MaxPooling2D(2),
        Flatten(),
        Dense(200, activation="relu"),
        Dense(84, activation="relu"),
        Dense(10, activation="softmax"),
    ]


def failure(check, *args, **kwargs) -> str:
    """The message of the AssertionError the check must raise."""
    with pytest.raises(AssertionError) as error:
        check(*args, **kwargs)
    return str(error.value)


# --- import cost -----------------------------------------------------------------------------


def test_importing_the_checks_does_not_import_keras():
    code = "import sys, course_lib.checks; print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


# --- signature -------------------------------------------------------------------------------


def test_signature_of_the_tp1_model_is_plain_data():
    signature = architecture_signature(tp1_model())
    assert signature == [
        {"kind": "Dense", "units": 784, "activation": "relu", "output_shape": (784,), "params": 615_440},
        {"kind": "Dense", "units": 10, "activation": "softmax", "output_shape": (10,), "params": 7_850},
    ]
    json.dumps(signature)


def test_signature_of_lenet_layers():
    signature = architecture_signature(sequential((28, 28, 1), *lenet_layers()))
    assert signature[0] == {
        "kind": "Conv2D",
        "filters": 6,
        "kernel_size": (5, 5),
        "strides": (1, 1),
        "padding": "same",
        "activation": "relu",
        "output_shape": (28, 28, 6),
        "params": 156,
    }
    assert signature[1] == {
        "kind": "MaxPooling2D",
        "strides": (2, 2),
        "padding": "valid",
        "pool_size": (2, 2),
        "output_shape": (14, 14, 6),
        "params": 0,
    }
    assert signature[4] == {"kind": "Flatten", "output_shape": (400,), "params": 0}


def test_input_shape_argument_gives_the_canonical_signature():
    with pytest.warns(UserWarning, match="input_shape"):  # Keras 3 discourages it but builds the model
        first = Dense(784, activation="relu", input_shape=(784,))
    model = keras.Sequential([first, Dense(10, activation="softmax")])
    assert architecture_signature(model) == architecture_signature(tp1_model())
    assert compare_architecture(model, TP1) == []


def test_activation_layers_fold_into_the_canonical_signature():
    model = sequential((784,), Dense(784), Activation("relu"), Dense(10), Activation("softmax"))
    assert architecture_signature(model) == architecture_signature(tp1_model())
    assert_architecture(model, TP1)


def lenet_with_activation_layers() -> list[keras.layers.Layer]:
    """LeNet as lenet_layers() builds it, each activation a layer of its own (ReLU, Softmax)."""
    return [
        Conv2D(6, 5, padding="same"), keras.layers.ReLU(), MaxPooling2D(2),
        Conv2D(16, 5), keras.layers.ReLU(), MaxPooling2D(2), Flatten(),
        Dense(200), keras.layers.ReLU(), Dense(84), Activation(keras.activations.relu),
        Dense(10), keras.layers.Softmax(),
    ]


def test_relu_and_softmax_layers_fold_like_activation_layers():
    model = sequential((28, 28, 1), *lenet_with_activation_layers())
    assert architecture_signature(model) == architecture_signature(sequential((28, 28, 1), *lenet_layers()))
    assert compare_architecture(model, LENET) == []


def test_other_spellings_of_the_same_layers_give_the_same_signature():
    written_out = sequential(
        (28, 28, 1),
        Conv2D(filters=6, kernel_size=(5, 5), strides=(1, 1), padding="same", activation="relu"),
        MaxPooling2D(pool_size=(2, 2), strides=(2, 2), padding="valid"),
        Conv2D(16, (5, 5), padding="valid", activation=keras.activations.relu),
        MaxPooling2D((2, 2)), Flatten(),
        Dense(units=200, activation=tf.nn.relu), Dense(84, activation="relu"), Dense(10, activation="softmax"),
    )
    assert architecture_signature(written_out) == architecture_signature(sequential((28, 28, 1), *lenet_layers()))


def test_a_leaky_relu_is_named_and_a_bounded_relu_stays_a_layer():
    leaky = sequential((784,), Dense(784), keras.layers.LeakyReLU(negative_slope=0.1), Dense(10, activation="softmax"))
    assert compare_architecture(leaky, TP1) == [
        "couche 1 : attendu Dense(784, relu), trouvé Dense(784, leaky_relu)"]
    relu6 = sequential((784,), Dense(784), keras.layers.ReLU(max_value=6.0), Dense(10, activation="softmax"))
    assert compare_architecture(relu6, TP1)[0] == "couche 1 : attendu Dense(784, relu), trouvé Dense(784, linear)"
    after_flatten = sequential((4, 4), Flatten(), keras.layers.ReLU())
    assert [entry["kind"] for entry in architecture_signature(after_flatten)] == ["Flatten", "ReLU"]


def test_activation_first_or_after_a_nonlinear_layer_stays_a_layer():
    model = sequential((4,), Activation("relu"), Dense(3, activation="relu"), Activation("softmax"))
    kinds = [(entry["kind"], entry["activation"]) for entry in architecture_signature(model)]
    assert kinds == [("Activation", "relu"), ("Dense", "relu"), ("Activation", "softmax")]


def test_activation_function_objects_are_named():
    model = sequential((4,), Dense(3, activation=tf.nn.relu), Dense(2, activation=keras.activations.softmax))
    assert_architecture(model, [dense(3, "relu"), dense(2, "softmax")])
    # TensorFlow's softmax is named softmax_v2: it reads as the softmax it is.
    model = sequential((4,), Dense(3, activation=tf.nn.relu), Dense(2, activation=tf.nn.softmax))
    assert_architecture(model, [dense(3, "relu"), dense(2, "softmax")])
    model = sequential((4,), Dense(3, activation="relu"), Dense(2), Activation(tf.nn.log_softmax))
    assert_architecture(model, [dense(3, "relu"), dense(2, "log_softmax")])


def test_functional_model_matches_the_sequential_one():
    inputs = keras.Input((28, 28, 1))
    outputs = inputs
    for layer in lenet_layers():
        outputs = layer(outputs)
    functional = keras.Model(inputs, outputs)
    assert architecture_signature(functional) == architecture_signature(
        sequential((28, 28, 1), *lenet_layers())
    )
    assert_architecture(functional, LENET)


def test_sequential_built_by_a_call_has_a_signature():
    model = keras.Sequential([Dense(784, activation="relu"), Dense(10, activation="softmax")])
    model(np.zeros((2, 784), dtype="float32"))
    assert_architecture(model, TP1)
    assert_input_shape(model, (784,))


def test_unbuilt_model_is_reported():
    model = keras.Sequential([Dense(784, activation="relu"), Dense(10, activation="softmax")])
    assert failure(architecture_signature, model) == "le modèle n'est pas construit : il lui manque une couche Input"


def test_missing_or_wrong_model_is_reported():
    assert failure(assert_architecture, None, TP1) == "le modèle n'est pas encore défini"
    assert failure(assert_architecture, "model", TP1) == "le modèle n'est pas un modèle Keras (type reçu : str)"


# --- architecture messages -------------------------------------------------------------------


def test_missing_layer_message():
    model = sequential((784,), Dense(784, activation="relu"))
    assert failure(assert_architecture, model, TP1) == (
        "couche 2 : attendu Dense(10, softmax), aucune couche trouvée (le modèle a 1 couche)"
    )


def test_extra_layer_message():
    model = tp1_model()
    model.add(Dense(10, activation="softmax"))
    assert failure(assert_architecture, model, TP1) == "couche 3 : couche en trop Dense(10, softmax)"


def test_wrong_units_message():
    model = sequential((784,), Dense(128, activation="relu"), Dense(10, activation="softmax"))
    assert failure(assert_architecture, model, TP1) == (
        "couche 1 : attendu Dense(784, relu), trouvé Dense(128, relu)"
    )


def test_wrong_activation_message():
    model = sequential((784,), Dense(784, activation="relu"), Dense(10, activation="relu"))
    assert failure(assert_architecture, model, TP1) == (
        "couche 2 : attendu Dense(10, softmax), trouvé Dense(10, relu)"
    )


def test_missing_activation_reads_linear():
    model = sequential((784,), Dense(784, activation="relu"), Dense(10))
    assert failure(assert_architecture, model, TP1) == (
        "couche 2 : attendu Dense(10, softmax), trouvé Dense(10, linear)"
    )


def test_wrong_kernel_size_message():
    layers = lenet_layers()
    layers[2] = Conv2D(16, 3, padding="valid", activation="relu")
    expected = [*LENET[:2], conv2d(16, 5, "valid"), *LENET[3:]]
    assert failure(assert_architecture, sequential((28, 28, 1), *layers), expected) == (
        "couche 3 : attendu Conv2D(16, 5×5, valid), trouvé Conv2D(16, 3×3, valid)"
    )


def test_wrong_padding_message():
    layers = lenet_layers()
    layers[0] = Conv2D(6, 5, activation="relu")
    assert failure(assert_architecture, sequential((28, 28, 1), *layers), LENET) == (
        "couche 1 : attendu Conv2D(6, 5×5, same, relu), trouvé Conv2D(6, 5×5, valid, relu)"
    )


def test_wrong_strides_message():
    model = sequential((28, 28, 1), Conv2D(6, 5, strides=2, padding="same", activation="relu"))
    expected = [conv2d(6, 5, "same", "relu", strides=1)]
    assert failure(assert_architecture, model, expected) == (
        "couche 1 : attendu Conv2D(6, 5×5, strides 1×1, same, relu), "
        "trouvé Conv2D(6, 5×5, strides 2×2, same, relu)"
    )


def test_wrong_pool_size_message():
    model = sequential((28, 28, 1), MaxPooling2D(3))
    assert failure(assert_architecture, model, [max_pool(2)]) == (
        "couche 1 : attendu MaxPooling2D(2×2), trouvé MaxPooling2D(3×3)"
    )


def test_wrong_kind_shows_the_whole_found_layer():
    model = sequential((28, 28, 1), Conv2D(6, 5, padding="same", activation="relu"))
    assert failure(assert_architecture, model, [max_pool(2)]) == (
        "couche 1 : attendu MaxPooling2D(2×2), trouvé Conv2D(6, 5×5, same, relu)"
    )


def test_compare_lists_every_difference_and_accepts_json_signatures():
    model = sequential((784,), Dense(100, activation="relu"))
    assert compare_architecture(model, TP1) == [
        "couche 1 : attendu Dense(784, relu), trouvé Dense(100, relu)",
        "couche 2 : attendu Dense(10, softmax), aucune couche trouvée (le modèle a 1 couche)",
    ]
    reference = json.loads(json.dumps(architecture_signature(sequential((28, 28, 1), *lenet_layers()))))
    assert compare_architecture(sequential((28, 28, 1), *lenet_layers()), reference) == []


def test_describe_layer_hides_defaults_only():
    pool = {"kind": "MaxPooling2D", "pool_size": (2, 2), "strides": (2, 2), "padding": "valid"}
    assert describe_layer(pool) == "MaxPooling2D(2×2)"
    same_padding = {**pool, "strides": (1, 1), "padding": "same"}
    assert describe_layer(same_padding) == "MaxPooling2D(2×2, strides 1×1, same)"
    assert describe_layer({"kind": "Flatten", "output_shape": (400,), "params": 0}) == "Flatten()"
    dense_entry = architecture_signature(tp1_model())[0]
    assert describe_layer(dense_entry, ["units", "output_shape", "params"]) == (
        f"Dense(784, sortie (784,), 615{NNBSP}440 paramètres)"
    )


def test_input_shape_message():
    model = sequential((28, 28, 1), Flatten())
    assert_input_shape(model, (28, 28, 1))
    assert failure(assert_input_shape, model, (784,)) == (
        "le modèle prend des entrées de forme (28, 28, 1), attendu (784,)"
    )


def test_parameter_counts_of_the_course_models():
    assert total_params(tp1_model()) == 623_290
    assert total_params(sequential((28, 28, 1), *lenet_layers())) == 100_506
    small = sequential((784,), Dense(128, activation="relu"), Dense(10, activation="softmax"))
    assert failure(assert_total_params, small, 623_290) == (
        f"le modèle a 101{NNBSP}770 paramètres, attendu 623{NNBSP}290"
    )


# --- compile ---------------------------------------------------------------------------------

COURSE_COMPILE = {"loss": "categorical_crossentropy", "optimizer": "adam", "metrics": ["accuracy"]}


def test_uncompiled_model_is_reported():
    assert failure(assert_compiled, tp1_model(), **COURSE_COMPILE) == (
        "le modèle n'est pas compilé : il faut appeler model.compile(...)"
    )


@pytest.mark.parametrize(
    "loss, optimizer, metrics",
    [
        ("categorical_crossentropy", "adam", ["accuracy"]),
        (
            keras.losses.CategoricalCrossentropy(),
            keras.optimizers.Adam(),
            [keras.metrics.CategoricalAccuracy()],
        ),
        (keras.losses.categorical_crossentropy, "Adam", ["acc", "mse"]),
    ],
)
def test_equivalent_compile_settings_pass(loss, optimizer, metrics):
    model = tp1_model()
    model.compile(loss=loss, optimizer=optimizer, metrics=metrics)
    assert_compiled(model, **COURSE_COMPILE)


def test_wrong_loss_message():
    model = tp1_model()
    model.compile(loss="mse", optimizer="adam", metrics=["accuracy"])
    assert failure(assert_compiled, model, **COURSE_COMPILE) == (
        "le modèle est compilé avec la perte 'mse', attendu 'categorical_crossentropy'"
    )
    assert_compiled(model, loss=keras.losses.MeanSquaredError())


def test_wrong_optimizer_message():
    model = tp1_model()
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(), metrics=["accuracy"])
    assert failure(assert_compiled, model, **COURSE_COMPILE) == (
        "le modèle est compilé avec l'optimiseur 'SGD', attendu 'adam'"
    )


def test_missing_metric_messages():
    model = tp1_model()
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    assert failure(assert_compiled, model, **COURSE_COMPILE) == (
        "le modèle est compilé sans métrique, attendu les métriques ['accuracy']"
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["mse"])
    assert failure(assert_compiled, model, **COURSE_COMPILE) == (
        "le modèle est compilé avec les métriques ['mse'], attendu les métriques ['accuracy']"
    )


def test_missing_loss_message():
    model = tp1_model()
    model.compile(optimizer="adam", metrics=["accuracy"])
    assert failure(assert_compiled, model, **COURSE_COMPILE) == (
        "le modèle est compilé sans perte, attendu 'categorical_crossentropy'"
    )


# --- arrays ----------------------------------------------------------------------------------


def test_assert_array_accepts_good_arrays_and_tensors():
    images = np.zeros((5, 784), dtype="float32")
    assert_array(images, "x_train", shape=(5, 784), dtype_kind="f", value_range=(0, 1))
    assert_array(tf.ones((5, 784)), "x_train", shape=(None, 784), dtype_kind="f", value_range=(0, 1))
    assert_array([[1, 2]], "labels", shape=(1, 2), dtype_kind="iu")


def test_assert_array_messages():
    images = np.full((6, 28, 28), 255, dtype="uint8")
    images[0, 0, 0] = 0
    assert failure(assert_array, images, "x_train", shape=(6, 784)) == (
        "x_train a la forme (6, 28, 28), attendu (6, 784)"
    )
    assert failure(assert_array, images, "x_train", shape=(None, 784)) == (
        "x_train a la forme (6, 28, 28), attendu (N, 784)"
    )
    assert failure(assert_array, images, "x_train", dtype_kind="f") == (
        "x_train est de type uint8, attendu un tableau de réels"
    )
    assert failure(assert_array, images, "x_train", value_range=(0.0, 1.0)) == (
        "x_train a des valeurs entre 0 et 255, attendu entre 0 et 1"
    )
    assert failure(assert_array, np.array([0.5, np.nan]), "x_train", value_range=(0, 1)) == (
        "x_train contient des valeurs NaN ou infinies"
    )


def test_not_defined_and_not_array_messages():
    assert failure(assert_array, None, "x_train") == "x_train n'est pas encore défini"
    assert failure(assert_array, {"a": 1}, "x_train") == "x_train n'est pas un tableau de nombres (type reçu : dict)"
    assert failure(assert_array, keras.Input((3,)), "x_train") == (
        "x_train n'est pas un tableau de nombres (type reçu : KerasTensor)"
    )


def test_the_verifier_checks_exported_metadata_with_the_same_messages():
    from course_lib.specs.common import check_array

    images = np.arange(6 * 28 * 28).reshape(6, 28, 28).astype("uint8")
    meta = {"shape": [6, 28, 28], "dtype": "uint8", "min": 0, "max": 255, "finite": True}
    for rules in ({"shape": (None, 784)}, {"dtype_kind": "f"}, {"value_range": (0.0, 1.0)}):
        spec_rules = {"kind" if key == "dtype_kind" else key: value for key, value in rules.items()}
        assert failure(check_array, meta, "x_train", **spec_rules) == failure(
            assert_array, images, "x_train", **rules)
    assert failure(check_array, {**meta, "finite": False}, "x_train", value_range=(0, 1)) == (
        "x_train contient des valeurs NaN ou infinies"
    )


def test_assert_one_hot():
    labels = np.array([3, 0, 9])
    y = np.eye(10, dtype="float32")[labels]
    assert_one_hot(y, labels)
    assert failure(assert_one_hot, labels, labels) == "y_train a la forme (3,), attendu (3, 10)"
    doubled = y.copy()
    doubled[1, 5] = 1
    assert failure(assert_one_hot, doubled, labels) == (
        "y_train[1] n'est pas une ligne one-hot (attendu un seul 1, le reste à 0)"
    )
    assert failure(assert_one_hot, np.eye(10)[[3, 0, 8]], labels, name="y_test") == (
        "y_test[2] code la classe 8, attendu la classe 9"
    )


# --- accuracy --------------------------------------------------------------------------------


def known_model() -> keras.Sequential:
    """Scores = x @ [[1, 0, 0], [0, 1, 0]] + [0, 0, 0.5]: class 0 if x0 wins, 1 if x1, else 2."""
    model = sequential((2,), Dense(3))
    kernel = np.array([[1, 0, 0], [0, 1, 0]], dtype="float32")
    model.set_weights([kernel, np.array([0, 0, 0.5], dtype="float32")])
    return model


def test_the_predicted_classes_come_from_the_model_in_batches():
    x = np.array([[2, 0], [0, 2], [0, 0], [1, 0]], dtype="float32")
    probabilities = predicted_probabilities(known_model(), x, np.array([0, 1, 2, 1]), batch_size=2)
    assert probabilities.argmax(axis=1).tolist() == [0, 1, 2, 0]


def test_a_model_that_does_not_fit_the_data_is_said():
    assert failure(predicted_probabilities, known_model(), np.zeros((4, 28, 28)), np.zeros(4)) == (
        "le modèle prend des entrées de forme (2,), mais les données de test ont la forme (4, 28, 28)"
    )
    conv = sequential((4, 4, 1), Conv2D(2, 1))
    assert failure(predicted_probabilities, conv, np.zeros((3, 4, 4, 1)), np.zeros(3)) == (
        "le modèle produit des sorties de forme (N, 4, 4, 2), attendu (N, nombre de classes)"
    )
    with pytest.raises(ValueError, match=r"labels must be integer classes of shape \(4,\)"):
        predicted_probabilities(known_model(), np.zeros((4, 2)), np.eye(10)[:4])


# --- partial credit --------------------------------------------------------------------------


def test_french_number_formats():
    assert percent(0.97274) == f"97,27{NBSP}%"
    assert percent(0.9) == f"90,00{NBSP}%"  # trailing zeros kept to the digits asked
    assert percent(0.97, 0) == f"97{NBSP}%"
    assert percent(1.0, 1) == f"100,0{NBSP}%"
    assert threshold_percent(0.97) == f"97{NBSP}%"
    assert threshold_percent(0.975) == f"97,5{NBSP}%"  # 100 * 0.975 is 97.49999999999999
    assert decimal(0.5) == "0,5"
    assert decimal(1e-06) == "1e-06"
    assert decimal(3.0) == "3"
    assert decimal(np.float32(0.25)) == "0,25"
    assert integer(784) == "784"
    assert integer(623290) == f"623{NNBSP}290"
    assert integer(np.int64(1234567)) == f"1{NNBSP}234{NNBSP}567"
    assert integer(-2416) == f"-2{NNBSP}416"


def test_points_are_singular_below_two():
    assert [points_text(n) for n in (0, 1, 1.5, 2, 2.5, 4.0)] == [
        "0 point", "1 point", "1,5 point", "2 points", "2,5 points", "4 points"]


def test_grade_threshold_full_partial_and_zero():
    assert grade_threshold(0.97274, full=0.97, partial=0.85, points=4) == (
        4.0, f"précision 97,27{NBSP}% : au moins 97{NBSP}%, 4 points sur 4")
    assert grade_threshold(0.97, full=0.97, partial=0.85, points=4).points == 4.0
    assert grade_threshold(0.9012, full=0.97, partial=0.85, points=4) == (
        2.0, f"précision 90,12{NBSP}% : au moins 85{NBSP}% mais moins de 97{NBSP}%, 2 points sur 4")
    assert grade_threshold(0.123, full=0.97, partial=0.85, points=4) == (
        0.0, f"précision 12,30{NBSP}% : moins de 85{NBSP}%, 0 point sur 4")
    assert grade_threshold(0.9, full=0.97, partial=0.95, points=2, partial_fraction=0.25) == (
        0.0, f"précision 90,00{NBSP}% : moins de 95{NBSP}%, 0 point sur 2")
    with pytest.raises(ValueError):
        grade_threshold(0.9, full=0.9, partial=0.95, points=2)


def test_grade_threshold_counts_points_in_french():
    assert grade_threshold(0.96, full=0.97, partial=0.95, points=2) == (
        1.0, f"précision 96,00{NBSP}% : au moins 95{NBSP}% mais moins de 97{NBSP}%, 1 point sur 2")
    assert grade_threshold(0.95, full=0.975, partial=0.9, points=5) == (
        2.5, f"précision 95,00{NBSP}% : au moins 90{NBSP}% mais moins de 97,5{NBSP}%, 2,5 points sur 5")
    assert grade_threshold(0.5, full=0.9, partial=0.4, points=1.5, name="score").message == (
        f"score 50,00{NBSP}% : au moins 40{NBSP}% mais moins de 90{NBSP}%, 0,75 point sur 1,5")


def test_accuracy_works_on_a_model_whose_predict_was_compiled_for_another_rank():
    """A model trained on (N, 28, 28) images (Keras adds the channel axis) is checked on the
    reference (N, 28, 28, 1) images: Keras's cached predict function fails there, the checker
    must not."""
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    images, labels = np.zeros((8, 28, 28)), np.arange(8)
    model.fit(images, np.eye(10)[labels], verbose=0)
    model.predict(images, verbose=0)
    with pytest.raises(ValueError):
        model.predict(images[..., None], verbose=0)
    expected = np.argmax(model(images[..., None]), axis=1)
    assert (predicted_probabilities(model, images[..., None], labels).argmax(axis=1) == expected).all()
