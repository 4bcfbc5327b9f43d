"""One way to declare, build and check settings, for every settings class of the package.

Why: settings arrive from JSON files, CLI options, saved model headers and Python code. Each field states its
type in its annotation and its range or choices next to it (`setting(16, at_least=2)`), so one function checks
them all, and a bad value is reported by its full key (`tree.max_leaf_size`), what it must be, and never as a
TypeError deep inside training. Rules that tie several fields together go in the class's `check` method.
"""
from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable

from .atomic import atomic_open
from .errors import ConfigError


class SettingError(ConfigError):
    """A setting has a value of the wrong type or out of its range; `key` is its dotted name."""

    def __init__(self, label: str, key: str, value: Any, expected: str):
        super().__init__(f"{label} {key} = {value!r} is invalid; it must be {expected}")
        self.label, self.key, self.value, self.expected = label, key, value, expected

    def under(self, label: str, section: str) -> "SettingError":
        """The same error, seen from the settings class that holds this one as `section`."""
        return SettingError(label, f"{section}.{self.key}", self.value, self.expected)


def setting(default: Any = dataclasses.MISSING, *, at_least: float | None = None, above: float | None = None,
            at_most: float | None = None, below: float | None = None, one_of: Iterable[str] | None = None,
            parse: Callable[[Any], Any] | None = None, expected: str = "", default_factory: Any = dataclasses.MISSING):
    """A dataclass field with its range (bounds inclusive `at_least`/`at_most`, exclusive `above`/`below`),
    its allowed strings, or a `parse` function that returns the checked value or raises ValueError (then
    `expected` says what the value must be)."""
    bounds = {"at_least": at_least, "above": above, "at_most": at_most, "below": below}
    metadata = {"bounds": {k: v for k, v in bounds.items() if v is not None}}
    if one_of is not None:
        metadata["one_of"] = tuple(one_of)
    if parse is not None:
        metadata["parse"], metadata["expected"] = parse, expected
    return dataclasses.field(default=default, default_factory=default_factory, metadata=metadata)


class Settings:
    """Base of the settings dataclasses: checked on construction, built from and saved to JSON-like dicts."""

    label: ClassVar[str] = "settings:"  # how its error messages begin, e.g. "XMR config:"

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            setattr(self, f.name, check_value(hints[f.name], getattr(self, f.name), f.name, self.label, f.metadata))
        self.check()

    def check(self) -> None:
        """Rules across fields; raise through `self.fail`."""

    def fail(self, key: str, expected: str) -> typing.NoReturn:
        raise SettingError(self.label, key, getattr(self, key), expected)

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: Any, source: str = ""):
        """Build from (part of) a dict, missing keys keeping their defaults; `source` (a file) prefixes errors."""
        try:
            return _build(cls, data, cls.label, "")
        except ConfigError as err:
            if source:
                raise ConfigError(f"{source}: {err}") from err
            raise

    def to_json(self, path: str | Path) -> None:
        with atomic_open(path) as handle:
            json.dump(self.to_dict(), handle, indent=2)

    @classmethod
    def from_json(cls, path: str | Path):
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf8"))
        except FileNotFoundError as err:
            raise ConfigError(f"config file {path} not found") from err
        except json.JSONDecodeError as err:
            raise ConfigError(f"config file {path}: invalid JSON at line {err.lineno}: {err.msg}") from err
        return cls.from_dict(data, source=str(path))


def _build(cls, data: Any, label: str, prefix: str):
    """`cls(**data)` with nested sections built from nested dicts and every error naming its full key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{label} {prefix.rstrip('.') or 'the top level'} must be a JSON object (a section), got {data!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ConfigError(f"{label} unknown key(s) {', '.join(prefix + k for k in unknown)}; known keys: {', '.join(names)}")
    kwargs = {}
    for name, value in data.items():
        section = hints[name]
        if dataclasses.is_dataclass(section):
            kwargs[name] = _build(section, value, label, f"{prefix}{name}.")
        else:
            kwargs[name] = value
    try:
        return cls(**kwargs)
    except SettingError as err:
        raise (err.under(label, prefix.rstrip(".")) if prefix else err) from None


def check_value(hint: Any, value: Any, key: str, label: str, metadata: typing.Mapping = types.MappingProxyType({})) -> Any:
    """`value` as the type `hint` (an int is taken for a float, a list for a tuple), checked against the field's
    `setting(...)` metadata; raises SettingError naming `key` otherwise."""
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, hint):
            raise SettingError(label, key, value, f"a {hint.__name__} section")
        return value
    if "parse" in metadata:
        try:
            return metadata["parse"](value)
        except ValueError:
            raise SettingError(label, key, value, metadata["expected"]) from None
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in typing.get_args(hint)
    if optional:
        if value is None:
            return None
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    typed = _as_type(hint, value)
    if typed is _WRONG or not _within(typed, metadata):
        raise SettingError(label, key, value, _expectation(hint, metadata) + (" or null" if optional else ""))
    return typed


_WRONG = object()


def _as_type(hint: Any, value: Any) -> Any:
    """The value as `hint`, or _WRONG."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if hint is bool:
        return value if isinstance(value, bool) else _WRONG
    if hint is int:
        return value if is_int else _WRONG
    if hint is float:
        ok = is_int or (isinstance(value, float) and math.isfinite(value))
        return float(value) if ok else _WRONG
    if hint is str:
        return value if isinstance(value, str) else _WRONG
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:  # an ordered pair of integers, such as an n-gram range
        ok = isinstance(value, (list, tuple)) and len(value) == len(args) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value) and list(value) == sorted(value)
        return tuple(value) if ok else _WRONG
    if origin is list:
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, args[0]) for v in value)
        return list(value) if ok else _WRONG
    raise TypeError(f"settings cannot check a field of type {hint}")


def _within(value: Any, metadata: typing.Mapping) -> bool:
    if "one_of" in metadata and value not in metadata["one_of"]:
        return False
    bounds = metadata.get("bounds", {})
    return all(
        ("at_least" not in bounds or v >= bounds["at_least"]) and ("above" not in bounds or v > bounds["above"])
        and ("at_most" not in bounds or v <= bounds["at_most"]) and ("below" not in bounds or v < bounds["below"])
        for v in (value if isinstance(value, tuple) else (value,))
    )


def _expectation(hint: Any, metadata: typing.Mapping) -> str:
    """What a value must be, range included: "an integer >= 1", "a number in [0, 1)", "one of mean, cls"."""
    if "one_of" in metadata:
        return f"one of {', '.join(metadata['one_of'])}"
    if typing.get_origin(hint) is tuple:
        noun = "a pair [low, high] of integers with low <= high, each"
    elif typing.get_origin(hint) is list:
        noun = f"a list of {typing.get_args(hint)[0].__name__}"
    else:
        noun = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[hint]
    bounds = metadata.get("bounds", {})
    low = ("[", bounds["at_least"]) if "at_least" in bounds else ("(", bounds["above"]) if "above" in bounds else None
    high = ("]", bounds["at_most"]) if "at_most" in bounds else (")", bounds["below"]) if "below" in bounds else None
    if low and high:
        return f"{noun} in {low[0]}{low[1]}, {high[1]}{high[0]}"
    if low:
        return f"{noun} {'>=' if low[0] == '[' else '>'} {low[1]}"
    if high:
        return f"{noun} {'<=' if high[0] == ']' else '<'} {high[1]}"
    return noun
