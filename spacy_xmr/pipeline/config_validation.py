"""Checks of component settings at `add_pipe` time: each error names the component, key and fix."""
from __future__ import annotations

from typing import Any, Callable

from ..device import DEVICE_FORMS, parse_device
from ..errors import ConfigError
from ..settings import SettingError, check_value, setting


def _fail(component: str, key: str, value: Any, expected: str) -> None:
    raise SettingError(f"[components.{component}]", key, value, expected)


def _checked(component: str, key: str, value: Any, hint: type, **rules) -> Any:
    """`value` checked as a settings field of type `hint` with `rules` (see `spacy_xmr.settings.setting`)."""
    return check_value(hint, value, key, f"[components.{component}]", setting(**rules).metadata)


def positive_int(component: str, key: str, value: Any) -> int:
    return _checked(component, key, value, int, at_least=1)


def threshold(component: str, key: str, value: Any, threshold_on: str) -> float | None:
    """A threshold on the confidence is a probability; one on the raw scores any number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        _fail(component, key, value, "a number (entities whose top candidate is below it become NIL) or null for no threshold")
    if threshold_on == "confidence" and not 0 <= value <= 1:
        _fail(component, key, value, 'a probability between 0 and 1 (it applies to the confidence); to threshold the raw '
                                     'scores set threshold_on = "score"')
    return float(value)


def threshold_on(component: str, key: str, value: Any, choices: tuple[str, ...]) -> str:
    return _checked(component, key, value, str, one_of=choices)


def flag(component: str, key: str, value: Any) -> bool:
    return _checked(component, key, value, bool)


def labels(component: str, key: str, value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        _fail(component, key, value, 'a list of entity labels such as ["Disease"] (empty = link every entity)')
    return list(value)


def optional_str(component: str, key: str, value: Any, expected: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        _fail(component, key, value, expected)
    return value


def device(component: str, key: str, value: Any) -> str:
    return _checked(component, key, value, str, parse=parse_device, expected=DEVICE_FORMS)


def present_device(component: str, key: str, value: Any, find: Callable[[str], Any]) -> str:
    """A device setting that is there: a CUDA device (`cuda`, `cuda:N`) asked for by name must be one that `find` (the
    stage's library: cupy's backend, torch's device) sees, so that a machine without it fails at add_pipe, naming the
    setting, not at the first document. `auto` and `cpu` need nothing."""
    value = device(component, key, value)
    if value.startswith("cuda"):
        try:
            find(value)
        except ConfigError as err:
            raise ConfigError(f"[components.{component}] {key} = {value!r}: {err}") from None
    return value
