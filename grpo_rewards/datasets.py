"""``builtin:NAME[:ARG][?key=value&...]``: offline datasets that plugins register.

One resolver for every command that reads data (the trainer's ``[data] source``, ``bench
--prompts``), so a plugin's dataset works everywhere as soon as it is registered through the
``register_datasets`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .config import parse_scalar
from .errors import InputError, UnknownNameError
from .registry import Registry, get_registry

PREFIX = "builtin:"
MAX_ROWS = 1_000_000  # a loader that never ends is a plugin bug; stop it with a message


@dataclass(frozen=True)
class BuiltinSource:
    """A parsed ``builtin:`` source: dataset name, its argument and options."""

    name: str
    arg: str | None
    options: dict[str, Any]

    def describe(self, split: str | None = None) -> str:
        text = PREFIX + self.name + (f":{self.arg}" if self.arg else "")
        extra = {k: v for k, v in self.options.items() if k != "split"}
        if extra:
            text += " (" + ", ".join(f"{k}={v}" for k, v in extra.items()) + ")"
        return text + (f" [{split}]" if split else "")


def is_builtin(source: str) -> bool:
    return source.startswith(PREFIX)


def parse_builtin(source: str) -> BuiltinSource:
    """``builtin:gym:leg_counting?size=50&seed=3`` -> name, arg and options (values parsed as TOML scalars)."""
    body, _, query = source[len(PREFIX) :].partition("?")
    name, _, arg = body.partition(":")
    if not name:
        raise InputError(f"{source!r}: expected builtin:NAME[:ARG][?key=value&...]")
    options = {key: parse_scalar(value) for key, value in parse_qsl(query, keep_blank_values=True)}
    return BuiltinSource(name, arg or None, options)


def load_builtin(
    source: str, options: Mapping[str, Any] | None = None, registry: Registry | None = None
) -> tuple[list[dict[str, Any]], str]:
    """The rows of a ``builtin:`` source and a description; ``options`` (the trainer's
    ``[data] options`` plus ``split``) are overridden by those in the source string."""
    parsed = parse_builtin(source)
    merged = {**(options or {}), **parsed.options}
    try:
        spec = (registry or get_registry()).dataset(parsed.name)
    except UnknownNameError as exc:
        raise InputError(str(exc)) from None
    rows = []
    for row in spec.loader(parsed.arg, merged):
        rows.append(dict(row))
        if len(rows) > MAX_ROWS:
            raise InputError(f"{source}: more than {MAX_ROWS:,} rows; use a smaller size or a split")
    return rows, BuiltinSource(parsed.name, parsed.arg, merged).describe(str(merged.get("split", "")) or None)
