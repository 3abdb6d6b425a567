"""Check of model.compile(...) settings, whether given as strings, functions or objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .models import require_model

# Spellings Keras accepts for the same thing, keyed by _key() form. For metrics, the course's
# one-hot labels make "accuracy" the categorical accuracy, so that spelling is accepted too.
_ALIASES = {
    "mse": "meansquarederror",
    "mae": "meanabsoluteerror",
    "acc": "accuracy",
    "categoricalaccuracy": "accuracy",
}


def _name(identifier: Any) -> str:
    """What the student wrote: a string as is, a function's name, or an object's class name."""
    if isinstance(identifier, str):
        return identifier
    return getattr(identifier, "__name__", type(identifier).__name__)


def _key(identifier: Any) -> str:
    """Comparison form: "categorical_crossentropy" and CategoricalCrossentropy() give the same key."""
    key = _name(identifier).lower().replace("_", "")
    return _ALIASES.get(key, key)


def _compiled_metrics(model: Any) -> list[Any]:
    """The metrics given to the last compile() that set them, as the student wrote them.

    Keras 3 lists compiled metrics by name only after the first fit/evaluate, and the public
    model.get_compile_config() fails on lambdas, so read the CompileMetrics' user list.
    """
    user_metrics = getattr(model._compile_metrics, "_user_metrics", None) or []
    if isinstance(user_metrics, dict):  # metrics={"output_name": ...}
        user_metrics = list(user_metrics.values())
    flat = []
    for metric in user_metrics:
        flat.extend(metric if isinstance(metric, (list, tuple)) else [metric])
    return flat


def assert_compiled(
    model: Any,
    loss: Any = None,
    optimizer: Any = None,
    metrics: Sequence[Any] | None = None,
) -> None:
    """Check the compile settings that are given; extra metrics the student added are allowed."""
    model = require_model(model, built=False)
    if not model.compiled:
        raise AssertionError("le modèle n'est pas compilé : il faut appeler model.compile(...)")
    if loss is not None:
        if model.loss is None:
            raise AssertionError(f"le modèle est compilé sans perte, attendu '{_name(loss)}'")
        if _key(model.loss) != _key(loss):
            raise AssertionError(
                f"le modèle est compilé avec la perte '{_name(model.loss)}', attendu '{_name(loss)}'"
            )
    if optimizer is not None and _key(model.optimizer) != _key(optimizer):
        raise AssertionError(
            f"le modèle est compilé avec l'optimiseur '{_name(model.optimizer)}', "
            f"attendu '{_name(optimizer)}'"
        )
    if metrics is not None:
        found = _compiled_metrics(model)
        found_keys = {_key(metric) for metric in found}
        if any(_key(metric) not in found_keys for metric in metrics):
            names = [_name(metric) for metric in found]
            found_text = f"avec les métriques {names}" if found else "sans métrique"
            raise AssertionError(
                f"le modèle est compilé {found_text}, "
                f"attendu les métriques {[_name(metric) for metric in metrics]}"
            )
