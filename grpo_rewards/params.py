"""Typed, documented reward parameters and their validation.

Each reward declares its parameters up front so that a config can be checked before any model is
loaded, and so that ``grpo-rewards rewards NAME`` can document them.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .errors import ParamError, ParamErrors

_TYPE_NAMES = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list"}


@dataclass(frozen=True)
class Param:
    """One parameter of a reward.

    ``type`` is one of bool, int, float, str or list (a list of strings, or of ``item_type``).
    ``column=True`` marks a parameter whose value names a dataset column the reward reads: the
    reward set checks that the data has it. ``nullable`` allows None (e.g. "no limit").
    ``required=True`` means the config must give a value (the default is only shown in help).
    ``refers_to="extractor"`` marks a parameter whose value (or items) name entries of that
    registry: a config naming an unknown one is rejected with a suggestion before any scoring.
    ``role`` tells tools what the value means without matching parameter names: ``"think_tag"``
    and ``"answer_tag"`` (the tags a format reward expects, read by the bench's probes).
    """

    name: str
    type: type
    default: Any
    help: str
    choices: Sequence[Any] | None = None
    min: float | None = None
    max: float | None = None
    column: bool = False
    nullable: bool = False
    item_type: type = str
    required: bool = False
    refers_to: str | None = None
    role: str | None = None

    def describe_type(self) -> str:
        text = self.type.__name__ if self.type is not list else f"list[{self.item_type.__name__}]"
        return f"{text} | None" if self.nullable else text

    def validate(self, value: Any) -> Any:
        """Return the value, coerced where harmless (int -> float), or raise ParamError."""
        if value is None:
            if self.nullable:
                return None
            raise ParamError(self.name, f"expected {_TYPE_NAMES[self.type]}, got null")
        value = self._check_type(value)
        if self.choices is not None:
            bad = [v for v in (value if self.type is list else [value]) if v not in self.choices]
            if bad:
                choices = ", ".join(repr(c) for c in self.choices)
                raise ParamError(self.name, f"{bad[0]!r} is not one of {choices}")
        if self.type in (int, float):
            if isinstance(value, float) and not math.isfinite(value):
                raise ParamError(self.name, f"expected a finite number, got {value!r}")
            if self.min is not None and value < self.min:
                raise ParamError(self.name, f"must be >= {self.min:g}, got {value!r}")
            if self.max is not None and value > self.max:
                raise ParamError(self.name, f"must be <= {self.max:g}, got {value!r}")
        return value

    def _check_type(self, value: Any) -> Any:
        expected = _TYPE_NAMES[self.type]
        got = f"{type(value).__name__} {value!r}"
        if self.type is bool:
            if isinstance(value, bool):
                return value
        elif self.type is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        elif self.type is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        elif self.type is str:
            if isinstance(value, str):
                return value
        elif self.type is list:
            if isinstance(value, (list, tuple)):
                item = Param(f"{self.name}[]", self.item_type, None, "")
                try:
                    return [item._check_type(v) for v in value]
                except ParamError as exc:
                    raise ParamError(self.name, f"every item must be {_TYPE_NAMES[self.item_type]}: {exc.message}") from None
        raise ParamError(self.name, f"expected {expected}, got {got}")


@dataclass(frozen=True)
class ParamSet:
    """The declared parameters of one reward, in order."""

    params: tuple[Param, ...] = field(default_factory=tuple)

    def __iter__(self):
        return iter(self.params)

    def names(self) -> list[str]:
        return [p.name for p in self.params]

    def resolve(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with ``given``, every value validated.

        Raises a list of ParamError (as an ExceptionGroup-like ``ParamErrors``) so that a config
        with several mistakes reports them all at once.
        """
        given = dict(given or {})
        by_name = {p.name: p for p in self.params}
        errors: list[ParamError] = []
        for key in given:
            if key not in by_name:
                errors.append(ParamError(key, f"unknown parameter{did_you_mean(key, by_name)}"))
        resolved: dict[str, Any] = {}
        for param in self.params:
            if param.required and param.name not in given:
                errors.append(ParamError(param.name, f"required: {param.help}"))
                continue
            try:
                resolved[param.name] = param.validate(given[param.name]) if param.name in given else param.default
            except ParamError as exc:
                errors.append(exc)
        if errors:
            raise ParamErrors(errors)
        return resolved

    def columns(self, resolved: Mapping[str, Any]) -> list[str]:
        """Dataset columns named by this reward's column parameters."""
        out: list[str] = []
        for param in self.params:
            value = resolved.get(param.name)
            if param.column and value:
                out.extend(value if isinstance(value, list) else [value])
        return out


def did_you_mean(word: str, candidates) -> str:
    """A ``"; did you mean 'x'?"`` suffix, or an empty string when nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.75)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
