"""course_lib.plots: each figure is returned, so its content can be inspected."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from course_lib.data import load_mnist
from course_lib.plots import plot_confusion_matrix, plot_images, plot_loss_accuracy


def test_plot_images_shows_the_requested_grid_with_labels(mnist_dir):
    (x_train, y_train), _ = load_mnist(mnist_dir)
    figure = plot_images(x_train, start=10, rows=2, cols=3, labels=y_train)
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 6
    assert [a.get_title() for a in figure.axes] == [str(y) for y in y_train[10:16]]
    np.testing.assert_array_equal(figure.axes[0].images[0].get_array(), x_train[10])


def test_plot_images_accepts_flattened_images_and_a_grid_larger_than_the_rest(mnist_dir):
    (x_train, _), _ = load_mnist(mnist_dir)
    flat = x_train[:4].reshape(4, 784) / 255
    figure = plot_images(flat, start=0, rows=1, cols=4)
    assert figure.axes[3].images[0].get_array().shape == (28, 28)
    partial = plot_images(flat, start=2, rows=1, cols=4)
    assert [len(axis.images) for axis in partial.axes] == [1, 1, 0, 0]
    with pytest.raises(ValueError, match="il y a 4 images"):
        plot_images(flat, start=4, rows=1, cols=4)


def test_plot_loss_accuracy_draws_training_and_validation():
    history = {"loss": [0.5, 0.3, 0.2], "accuracy": [0.8, 0.9, 0.95],
               "val_loss": [0.4, 0.35, 0.3], "val_accuracy": [0.85, 0.9, 0.92]}
    figure = plot_loss_accuracy(history)
    loss_axis, accuracy_axis = figure.axes
    assert [line.get_label() for line in loss_axis.lines] == ["entraînement", "validation"]
    assert (loss_axis.get_title(), accuracy_axis.get_title()) == ("perte (loss)", "précision (accuracy)")
    assert loss_axis.get_xlabel() == "epoch"
    np.testing.assert_allclose(accuracy_axis.lines[1].get_ydata(), [0.85, 0.9, 0.92])
    with pytest.raises(ValueError, match="model.fit"):
        plot_loss_accuracy({"accuracy": [0.5]})


def test_plot_confusion_matrix_counts_and_titles_the_accuracy():
    labels = np.array([0, 1, 2, 2, 9])
    predictions = np.array([0, 1, 2, 7, 9])
    figure = plot_confusion_matrix(labels, predictions)
    axis = figure.axes[0]
    assert axis.get_title() == "matrice de confusion — précision 80,00\u00a0%"
    assert (axis.get_xlabel(), axis.get_ylabel()) == ("prédiction", "label")
    texts = [t.get_text() for t in axis.texts]
    assert len(texts) == 100 and texts.count("1") == 5 and texts.count("0") == 95
    assert texts[2 * 10 + 7] == "1"  # row: true 2, column: predicted 7
    with pytest.raises(ValueError, match="argmax"):
        plot_confusion_matrix(labels, np.eye(10)[predictions])
