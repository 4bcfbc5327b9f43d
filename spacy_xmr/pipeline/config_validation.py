"""Checks of component settings at `add_pipe` time: each error names the component, key and fix."""
from __future__ import annotations

import re
from typing import Any

from ..errors import ConfigError

_CUDA_DEVICE = re.compile(r"^cuda(:\d+)?$")


def _fail(component: str, key: str, value: Any, expected: str) -> None:
    raise ConfigError(f"[components.{component}] {key} = {value!r} is invalid: expected {expected}")


def positive_int(component: str, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        _fail(component, key, value, "an integer >= 1")
    return value


def threshold(component: str, key: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        _fail(component, key, value, "a number (scores below it make the entity NIL) or null for no threshold")
    return float(value)


def flag(component: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        _fail(component, key, value, "true or false")
    return value


def labels(component: str, key: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        _fail(component, key, value, 'a list of entity labels such as ["Disease"] (empty = link every entity)')
    return list(value)


def optional_str(component: str, key: str, value: Any, expected: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        _fail(component, key, value, expected)
    return value


def device(component: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not (value in ("auto", "cpu") or _CUDA_DEVICE.match(value)):
        _fail(component, key, value, '"auto", "cpu" or "cuda:N"')
    return value
