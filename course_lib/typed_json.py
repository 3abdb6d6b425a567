"""The read/write boundary of the typed records (results, verdicts): a dataclass to JSON and
back. Reading is strict: every field must be there with its type, no other key may be (a
record of another version is refused, not guessed at), so that no reader tolerates a missing
key with `.get(…)`."""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def to_json(record: Any) -> dict[str, Any]:
    """The record as JSON-ready data (enums are strings: course_lib's are StrEnums)."""
    return dataclasses.asdict(record)


def from_json(cls: type[T], data: Any, where: str = "") -> T:
    """`cls` read from `data`; ValueError naming the first field that is missing or wrong."""
    where = where or cls.__name__
    if not isinstance(data, dict):
        raise ValueError(f"{where} is not an object")
    names = [f.name for f in dataclasses.fields(cls)]
    missing, unknown = [n for n in names if n not in data], sorted(set(data) - set(names))
    if missing or unknown:
        raise ValueError(f"{where}: " + "; ".join(filter(None, [
            missing and f"missing {', '.join(missing)}", unknown and f"unknown {', '.join(unknown)}"])))
    hints = _hints(cls)
    return cls(**{n: _value(hints[n], data[n], f"{where}.{n}") for n in names})


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _value(hint: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _value(inner, value, where)
    if dataclasses.is_dataclass(hint):
        return from_json(hint, value, where)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise ValueError(f"{where}: unknown value {str(value)[:40]!r}") from None
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):  # JSON's lists; asdict's tuples in one process
            raise ValueError(f"{where} is not a list")
        items = [_value(args[0], item, f"{where}[{i}]") for i, item in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where} is not an object")
        return {str(k): _value(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if hint is Any:
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint in (float, int, str, bool) and type(value) is hint:
        return value
    raise ValueError(f"{where} is not a {getattr(hint, '__name__', hint)}")
