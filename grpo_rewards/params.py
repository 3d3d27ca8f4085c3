"""Typed, documented reward parameters and their validation.

Each reward declares its parameters up front so that a config can be checked before any model is
loaded, and so that ``grpo-rewards rewards NAME`` can document them.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ParamError, ParamErrors
from .errors import did_you_mean as did_you_mean  # its old home: plugins and the bench import it here
from .schema import choice_problem, describe, range_problem, type_problem


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
    and ``"answer_tag"`` (the tags a reward expects), or ``"tags"`` (a list of elements, the
    reasoning first and the answer last); the bench's probes write completions in those tags;
    ``"wrong_score"``: the score of a wrong answer (``grpo-rewards attack`` counts an attack scored above it as paid);
    ``"path"``: a file path, relative to the reward-set file that names it (made absolute, and checked
    to exist, when the set is read).
    """

    name: str
    type: builtins.type[Any]
    default: Any
    help: str
    choices: Sequence[Any] | None = None
    min: float | None = None
    max: float | None = None
    column: bool = False
    nullable: bool = False
    item_type: builtins.type[Any] = str
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
            raise ParamError(self.name, f"expected {describe([self.type])}, got null")
        items = value if isinstance(value, (list, tuple)) else [value]
        if self.type is list:
            message = type_problem(value, (list, tuple)) and type_problem(value, [list])
            bad = next((type_problem(v, [self.item_type]) for v in items if type_problem(v, [self.item_type])), None)
            if bad and not message:
                message = f"every item must be {describe([self.item_type])}: {bad}"
        else:
            message = type_problem(value, [self.type])
        if message:
            raise ParamError(self.name, message)
        coerce = float if (self.item_type if self.type is list else self.type) is float else (lambda v: v)
        items = [coerce(v) for v in items]
        for item in items:
            message = choice_problem(item, self.choices) or range_problem(item, self.min, self.max)
            if message:
                raise ParamError(self.name, message)
        if self.type is not list:
            return items[0]
        return value if isinstance(value, list) and items == list(value) else items  # keeps a bound Refs list


@dataclass(frozen=True)
class ParamSet:
    """The declared parameters of one reward, in order."""

    params: tuple[Param, ...] = field(default_factory=tuple)

    def __iter__(self) -> Iterator[Param]:
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
