"""Typed keys: one validator, and one wording of its messages, for every config section and
every reward parameter (``Param``, the trainer's ``[model]``/``[data]``/``[output]``, ``[bench]``).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigProblem, did_you_mean

TYPE_WORDS: dict[type, str] = {
    bool: "true/false",
    int: "an integer",
    float: "a number",
    str: "a string",
    tuple: "a list",
    list: "a list",
    dict: "a table",
}
MAX_SHOWN = 60  # characters of a user's value echoed in a message


def short_repr(value: Any, limit: int = MAX_SHOWN) -> str:
    """``repr(value)`` cut to ``limit`` characters: a message never echoes an unbounded value."""
    text = repr(value) if not isinstance(value, (list, dict)) or len(value) < 50 else f"<{type(value).__name__} of {len(value)}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_of(value: Any, types: Collection[type]) -> bool:
    """isinstance where a bool is never a number and an int is also a float."""
    if isinstance(value, bool):
        return bool in types
    return any(isinstance(value, int if t is float and isinstance(value, int) else t) for t in types)


def describe(types: Collection[type]) -> str:
    words = [TYPE_WORDS[t] for t in types if not (t is int and float in types)]
    return " or ".join(dict.fromkeys(words))


def type_problem(value: Any, types: Collection[type]) -> str | None:
    if is_of(value, types):
        return None
    return f"expected {describe(types)}, got {type(value).__name__} {short_repr(value)}"


def range_problem(value: Any, minimum: float | None, maximum: float | None) -> str | None:
    """Finite and within bounds, for numbers; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"expected a finite number, got {value!r}"
    if minimum is not None and value < minimum:
        return f"must be >= {minimum:g}, got {short_repr(value)}"
    if maximum is not None and value > maximum:
        return f"must be <= {maximum:g}, got {short_repr(value)}"
    return None


def choice_problem(value: Any, choices: Collection[Any] | None) -> str | None:
    if choices is None or value in choices:
        return None
    return (
        f"{short_repr(value)} is not one of {', '.join(map(repr, choices))}{did_you_mean(str(value), [str(c) for c in choices])}"
    )


@dataclass(frozen=True)
class Key:
    """One allowed key of a config section: its accepted types, choices and bounds."""

    types: tuple[type, ...]
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    nullable: bool = False

    def problem(self, value: Any) -> str | None:
        if value is None:
            return None if self.nullable else "expected a value, got null"
        return type_problem(value, self.types) or choice_problem(value, self.choices) or range_problem(value, self.min, self.max)


def check_section(
    given: Mapping[str, Any], keys: Mapping[str, Key], source: str, entry: str, problems: list[ConfigProblem]
) -> dict[str, Any]:
    """The known, well-typed keys of a section; a problem (appended) for each of the others."""
    from .config import check_keys

    problems += check_keys(given, keys, source, entry)
    out = {}
    for key, value in given.items():
        if key not in keys:
            continue
        message = keys[key].problem(value)
        if message:
            problems.append(ConfigProblem(source, entry, key, message))
        else:
            out[key] = value
    return out
