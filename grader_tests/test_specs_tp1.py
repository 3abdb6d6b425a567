"""TP1's hidden checks of the numpy formulas and of the single-image prediction, run as the
verifier runs them: exports written by the kernel's exporter from a hand-made namespace (the
student's functions and variables), then the verifier (course_lib.verifier.main) on that folder. Each case
also runs the released notebook's own test cell on the same namespace: the verifier's public
check must agree with it, or an honest student would be flagged as tampering."""

from __future__ import annotations

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from conftest import PROJECT  # noqa: E402

from course_lib.kernel.export import INDEX, _export  # noqa: E402
from course_lib.verifier.main import verify  # noqa: E402
from course_lib.specs.tp1_dense import CHECKS, ONE_IMAGE  # noqa: E402

RELEASE = PROJECT / "release" / "tp1_dense" / "TP1_MNIST_dense.ipynb"


def _released_test(grade_id: str) -> str:
    [cell] = [c for c in nbformat.read(RELEASE, 4).cells if c.metadata["nbgrader"]["grade_id"] == grade_id]
    return cell.source


def graded(tmp_path, grade_id: str, namespace: dict, seed: int = 0) -> dict:
    """The verifier's verdict on `grade_id` for a kernel whose namespace is `namespace`, after
    checking that the notebook's public test agrees with the verifier's public check."""
    items = CHECKS[grade_id].exports(np.random.default_rng(seed))
    folder = tmp_path / grade_id
    folder.mkdir(parents=True)
    index = {}
    for item in items:  # as kernel_export.run does it, on this namespace instead of __main__'s
        try:
            index[item["key"]] = _export(folder, item, namespace)
        except Exception as error:
            index[item["key"]] = {"error": f"{type(error).__name__}: {error}"[:300]}
    (folder / INDEX).write_text(json.dumps(index))
    request = {"assignment": "tp1_dense", "exports": {grade_id: items}, "points": {grade_id: 1}, "settings": {}}
    verdict = verify(request, tmp_path).cells[grade_id]
    try:
        exec(_released_test(grade_id), {"np": np, **namespace})  # noqa: S102
        kernel_passed = True
    except Exception:
        kernel_passed = False
    assert verdict.public == kernel_passed, verdict
    return verdict


def full(verdict: dict) -> bool:
    return verdict.points == 1 and verdict.message == ""


def lost(verdict: dict, message: str) -> None:
    assert (verdict.points, verdict.message) == (0, message)


# --- heaviside -------------------------------------------------------------------------------------

def test_heaviside_right_answers_pass(tmp_path):
    for i, heaviside in enumerate([lambda z: np.where(z >= 0, 1.0, 0.0), lambda z: np.heaviside(z, 1.0),
                                   lambda z: z >= 0]):  # booleans are numbers too
        assert full(graded(tmp_path / str(i), "test_heaviside", {"heaviside": heaviside}))


def test_heaviside_wrong_at_zero_or_hard_coded(tmp_path):
    lost(graded(tmp_path / "a", "test_heaviside", {"heaviside": lambda z: (z > 0).astype(float)}),
         "heaviside(z) ne donne pas les bonnes valeurs (rappel : heaviside(0) vaut 1)")
    lost(graded(tmp_path / "b", "test_heaviside", {"heaviside": lambda z: np.array([0.0, 1.0, 1.0])}),
         "heaviside doit garder la forme de z")


# --- softmax ---------------------------------------------------------------------------------------

def stable_softmax(z):
    exp_z = np.exp(z - z.max(axis=1, keepdims=True))
    return exp_z / exp_z.sum(axis=1, keepdims=True)


def test_softmax_right_answers_pass(tmp_path):
    def keras_softmax(z):
        return keras.ops.convert_to_numpy(keras.activations.softmax(keras.ops.convert_to_tensor(z), axis=-1))

    for i, softmax in enumerate([stable_softmax, keras_softmax]):
        assert full(graded(tmp_path / str(i), "test_softmax", {"softmax": softmax}))


def test_an_unstable_softmax_passes_its_public_test_and_fails_on_large_scores(tmp_path):
    def unstable(z):
        exp_z = np.exp(z)
        return exp_z / exp_z.sum(axis=1, keepdims=True)

    with np.errstate(over="ignore", invalid="ignore"):
        verdict = graded(tmp_path, "test_softmax", {"softmax": unstable})
    assert verdict.public
    lost(verdict, "softmax donne des valeurs infinies ou NaN pour de grands scores (± 1000) : "
                  "soustrais le maximum de chaque ligne avant l'exponentielle")


def test_softmax_normalised_over_the_whole_array_or_hard_coded(tmp_path):
    def whole(z):
        exp_z = np.exp(z - z.max())
        return exp_z / exp_z.sum()

    lost(graded(tmp_path / "a", "test_softmax", {"softmax": whole}), "softmax(z) ne donne pas les bonnes valeurs")
    expected = stable_softmax(np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]))
    lost(graded(tmp_path / "b", "test_softmax", {"softmax": lambda z: expected}),
         "softmax doit garder la forme de z : une ligne de probabilités par ligne de scores")


def test_softmax_rows_must_sum_to_one(tmp_path):
    def exponentials_beyond_the_example(z):
        return stable_softmax(z) if z.shape == (2, 3) else np.exp(z - z.max(axis=1, keepdims=True))

    lost(graded(tmp_path, "test_softmax", {"softmax": exponentials_beyond_the_example}),
         "les lignes de softmax(z) ne somment pas à 1 : normalise chaque ligne")


def test_the_drawn_scores_change_at_each_grading():
    first, second = (CHECKS["test_softmax"].exports(np.random.default_rng(seed)) for seed in (1, 2))
    assert first[0] == second[0] and first[1]["args"] != second[1]["args"]
    assert max(map(max, first[1]["args"][0])) > 700 and min(map(min, first[1]["args"][0])) < -700


# --- cross_entropy ---------------------------------------------------------------------------------

def clipped(y_true, y_pred, epsilon=1e-7):
    return float(np.mean(-np.sum(y_true * np.log(np.clip(y_pred, epsilon, 1.0)), axis=1)))


def test_cross_entropy_right_answers_pass(tmp_path):
    def with_epsilon(y_true, y_pred):
        return np.mean(-np.sum(y_true * np.log(y_pred + 1e-7), axis=1))

    def keras_loss(y_true, y_pred):
        return keras.ops.convert_to_numpy(keras.ops.mean(keras.losses.categorical_crossentropy(y_true, y_pred)))

    for i, cross_entropy in enumerate([clipped, with_epsilon, keras_loss]):
        assert full(graded(tmp_path / str(i), "test_cross_entropy", {"cross_entropy": cross_entropy}))


def test_cross_entropy_without_epsilon_fails_on_zero_probabilities(tmp_path):
    def without_epsilon(y_true, y_pred):
        return np.mean(-np.sum(y_true * np.log(y_pred), axis=1))

    with np.errstate(divide="ignore", invalid="ignore"):
        verdict = graded(tmp_path, "test_cross_entropy", {"cross_entropy": without_epsilon})
    assert verdict.public
    lost(verdict, "cross_entropy doit rester finie et positive quand des probabilités valent 0 : "
                  "ajoute un petit epsilon (ou np.clip) dans le logarithme")


def test_cross_entropy_per_row_or_summed(tmp_path):
    def per_row(y_true, y_pred):
        return -np.sum(y_true * np.log(np.clip(y_pred, 1e-7, 1)), axis=1)

    def summed(y_true, y_pred):
        return -np.sum(y_true * np.log(np.clip(y_pred, 1e-7, 1)))

    lost(graded(tmp_path / "a", "test_cross_entropy", {"cross_entropy": per_row}),
         "cross_entropy doit renvoyer un seul nombre : la moyenne sur les lignes")
    lost(graded(tmp_path / "b", "test_cross_entropy", {"cross_entropy": summed}),
         "cross_entropy ne donne pas la bonne valeur : (-log 0.7 - log 0.5) / 2 ≈ 0.525")


def test_cross_entropy_averaged_over_every_number_fails_with_ten_classes(tmp_path):
    def mean_of_all(y_true, y_pred):  # right with the example's 3 classes only
        return -3 * np.mean(y_true * np.log(np.clip(y_pred, 1e-7, 1)))

    verdict = graded(tmp_path, "test_cross_entropy", {"cross_entropy": mean_of_all})
    assert verdict.public
    lost(verdict, "cross_entropy donne de mauvaises valeurs sur des probabilités tirées au hasard : "
                  "moyenne sur les lignes de -Σ y log p")


# --- one image -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def network():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((784,)), keras.layers.Dense(10, activation="softmax")])


@pytest.fixture(scope="module")
def x_test():
    return np.random.default_rng(0).random((ONE_IMAGE + 10, 784))


def test_one_image_predicted_through_a_slice_passes(tmp_path, network, x_test):
    for i, probabilities in enumerate([network.predict(x_test[ONE_IMAGE:ONE_IMAGE + 1], verbose=0),
                                       network.predict(x_test[ONE_IMAGE][np.newaxis], verbose=0)]):
        namespace = {"model": network, "x_test": x_test, "one_probabilities": probabilities}
        assert full(graded(tmp_path / str(i), "test_one_predict", namespace))


def test_another_image_or_a_missing_batch_axis_loses_the_point(tmp_path, network, x_test):
    namespace = {"model": network, "x_test": x_test, "one_probabilities": network.predict(x_test[:1], verbose=0)}
    lost(graded(tmp_path / "a", "test_one_predict", namespace),
         f"one_probabilities n'est pas ce que model prédit pour l'image x_test[{ONE_IMAGE}:{ONE_IMAGE + 1}]")
    namespace["one_probabilities"] = network.predict(x_test[ONE_IMAGE:ONE_IMAGE + 1], verbose=0)[0]
    lost(graded(tmp_path / "b", "test_one_predict", namespace), "one_probabilities a la forme (10,), attendu (1, 10)")


def test_one_image_without_a_model_is_not_exported(tmp_path, network, x_test):
    verdict = graded(tmp_path, "test_one_predict", {"x_test": x_test})
    assert verdict.missing and verdict.points == 0
    assert verdict.message == "« one_probabilities » n'a pas pu être lu dans le notebook (NameError)"


# --- the network, with TensorFlow's activation functions -------------------------------------------

def test_a_network_with_tensorflows_activation_functions_keeps_its_points(tmp_path):
    """activation=tf.nn.softmax is saved as TensorFlow's function `softmax_v2`: the verifier
    loads it as Keras's softmax, and the network reads as the one asked for."""
    import tensorflow as tf

    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(784, activation=tf.nn.relu),
                              keras.layers.Dense(10, activation=tf.nn.softmax)])
    assert full(graded(tmp_path / "a", "test_architecture", {"model": model}))
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(784, activation=tf.nn.relu),
                              keras.layers.Dense(10), keras.layers.Activation(tf.nn.softmax)])
    assert full(graded(tmp_path / "b", "test_architecture", {"model": model}))


def test_a_function_keras_does_not_know_is_still_refused(tmp_path):
    import tensorflow as tf

    from course_lib.verifier.exports import load_model_safely

    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(784, activation=tf.exp),
                              keras.layers.Dense(10, activation="softmax")])
    model.save(tmp_path / "model.keras")
    with pytest.raises(AssertionError, match=r"^le correcteur ne charge pas un modèle qui utilise la fonction exp : "
                                             r"seules les couches et fonctions de Keras"):
        load_model_safely(tmp_path / "model.keras")


def test_a_model_whose_config_contradicts_itself_is_refused_before_any_weight_exists(tmp_path):
    """Dense(3_000_000) written into the config of a saved Dense(784) network: the next layer
    still declares 784 inputs. The real load would allocate 9.4 GB before it found out. Honest
    models (compiled, nested, with several outputs) build without weights and load."""
    import zipfile

    from course_lib.verifier.exports import Unloadable, load_model_safely

    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(784, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.save(tmp_path / "model.keras")
    assert load_model_safely(tmp_path / "model.keras", compile=True).count_params() == 623_290
    # A compiled network inside another, and one of several outputs: built as well, not refused.
    base = keras.Sequential([keras.Input((784,)), keras.layers.Dense(32, activation="relu")])
    base.compile(loss="mse", optimizer="adam")
    nested = keras.Sequential([base, keras.layers.Dense(10, activation="softmax")])
    nested.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    inputs = keras.Input((784,))
    two = keras.Model(inputs, [keras.layers.Dense(8)(inputs), keras.layers.Dense(8)(inputs)])
    outer = keras.Input((784,))
    branches = keras.Model(outer, keras.layers.Dense(10, activation="softmax")(keras.layers.Concatenate()(two(outer))))
    for name, network in (("nested", nested), ("branches", branches)):
        network.save(tmp_path / f"{name}.keras")
        assert load_model_safely(tmp_path / f"{name}.keras", compile=True).count_params() == network.count_params()
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    config["config"]["layers"][1]["config"]["units"] = 3_000_000
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    with pytest.raises(Unloadable, match=r"^le modèle enregistré ne peut pas être construit \(ValueError\)$"):
        load_model_safely(tmp_path / "model.keras")

def test_a_validation_on_the_test_set_is_told_by_its_figures():
    from course_lib.specs.common import validated_on_test

    draw = np.random.default_rng(7)
    labels = draw.integers(0, 10, size=10000)
    probabilities = draw.dirichlet(np.ones(10), size=10000)
    probabilities[np.arange(5000), labels[:5000]] += 3  # right for about half the images
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == labels))
    loss = float(np.mean(-np.log(probabilities[np.arange(10000), labels])))
    on_test = {"val_loss": [loss + 0.2, loss * (1 + 1e-5)], "val_accuracy": [accuracy - 0.01, accuracy]}
    assert validated_on_test(on_test, probabilities, labels)
    assert validated_on_test({"val_loss": on_test["val_loss"], "val_acc": on_test["val_accuracy"]}, probabilities, labels)
    # Another validation set: the same accuracy by chance, not the same loss; or no validation.
    assert not validated_on_test({"val_loss": [loss * 1.01], "val_accuracy": [accuracy]}, probabilities, labels)
    assert not validated_on_test({"loss": [loss], "accuracy": [accuracy]}, probabilities, labels)


# --- correct alternatives ----------------------------------------------------------------------------

def test_layers_that_change_nothing_at_prediction_keep_the_architectures_points(tmp_path):
    model = keras.Sequential([keras.Input((784,)), keras.layers.Flatten(), keras.layers.GaussianNoise(0.1),
                              keras.layers.Dense(784, activation="relu"), keras.layers.Dropout(0.3),
                              keras.layers.Dense(10, activation="softmax")])
    assert full(graded(tmp_path, "test_architecture", {"model": model}))


def test_an_extra_layer_that_changes_the_prediction_is_not_the_asked_network(tmp_path):
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(784, activation="relu"),
                              keras.layers.BatchNormalization(), keras.layers.Dense(10, activation="softmax")])
    lost(graded(tmp_path, "test_architecture", {"model": model}),
         "couche 2 : attendu Dense(10, softmax), trouvé BatchNormalization()")


@pytest.mark.parametrize("metric, monitor", [("acc", "val_acc"), (keras.metrics.CategoricalAccuracy(), "val_categorical_accuracy"),
                                             ("accuracy", "val_loss")])
def test_a_metric_spelt_otherwise_trains_as_well(tmp_path, metric, monitor):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=[metric])
    early_stop = keras.callbacks.EarlyStopping(monitor=monitor, patience=1, restore_best_weights=True)
    x, y = np.random.default_rng(0).random((200, 784)), np.eye(10)[np.arange(200) % 10]
    hist = model.fit(x, y, epochs=2, validation_split=0.1, callbacks=[early_stop], verbose=0)
    namespace = {"model": model, "hist": hist, "early_stop": early_stop, "keras": keras}
    assert full(graded(tmp_path, "test_train", namespace))
    # A monitor that is not a validation figure: the validation chooses nothing.
    wrong = keras.callbacks.EarlyStopping(monitor="loss")
    hist = model.fit(x, y, epochs=1, validation_split=0.1, callbacks=[wrong], verbose=0)
    namespace.update(hist=hist, early_stop=wrong)
    verdict = graded(tmp_path / "wrong", "test_train", namespace)
    assert verdict.points == 0 and "que model.fit n'a pas mesuré en validation" in verdict.message
