"""Check of the final training: fit measured a validation at each epoch, and early stopping
watched one of its figures. One rule for the notebooks' test cell (`assert_trained`, on the
objects) and for the verifier (`check_training`, on the values the kernel exported)."""

from __future__ import annotations

from typing import Any

# What fit names the validation accuracy, by the metric's spelling in compile: "accuracy",
# "acc", keras.metrics.CategoricalAccuracy().
VALIDATION_ACCURACY = ("val_accuracy", "val_acc", "val_categorical_accuracy")


def check_training(history: Any, monitor: Any, *, is_history: bool, is_early_stopping: bool,
                   stop_used: bool, from_fit: bool) -> None:
    """`history`: hist.history; `monitor`: early_stop.monitor; the rest, facts of the objects."""
    if not is_history:
        raise AssertionError("hist doit être l'objet renvoyé par model.fit")
    if not isinstance(history, dict) or "val_loss" not in history or not any(k in history for k in VALIDATION_ACCURACY):
        raise AssertionError("l'entraînement doit mesurer une validation à chaque epoch : "
                             "validation_split=0.1 (ou validation_data=…) dans model.fit")
    if not is_early_stopping:
        raise AssertionError("early_stop doit être un keras.callbacks.EarlyStopping")
    if not isinstance(monitor, str) or not monitor.startswith("val_") or monitor not in history:
        measured = ", ".join(sorted(str(k) for k in history if str(k).startswith("val_")))
        raise AssertionError(f"early_stop surveille {monitor!r}, que model.fit n'a pas mesuré en validation "
                             f"(mesuré : {measured})")
    if not stop_used:
        raise AssertionError("early_stop n'a pas été passé à model.fit (callbacks=[early_stop])")
    if not from_fit:
        raise AssertionError("hist ne vient pas de model.fit de model")
    lengths = {len(v) if isinstance(v, list) else -1 for v in history.values()}
    if len(lengths) != 1 or min(lengths) < 1:
        raise AssertionError("les métriques de validation doivent être mesurées à chaque epoch")


def assert_trained(hist: Any, early_stop: Any, model: Any) -> None:
    """The notebooks' check of `hist = model.fit(..., callbacks=[early_stop])`."""
    import keras

    check_training(
        getattr(hist, "history", None), getattr(early_stop, "monitor", None),
        is_history=isinstance(hist, keras.callbacks.History),
        is_early_stopping=isinstance(early_stop, keras.callbacks.EarlyStopping),
        stop_used=getattr(early_stop, "model", None) is model, from_fit=getattr(hist, "model", None) is model,
    )
