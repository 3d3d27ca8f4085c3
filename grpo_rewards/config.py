"""Reading config files (TOML, YAML, JSON) and reporting problems in them precisely.

Every problem names the file, the entry (``rewards[2]``) and the key, and all problems found are
reported together, so a user fixes a config in one round trip, before any model is loaded.
"""

from __future__ import annotations

import json
import math
import reprlib
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError, ConfigProblem, did_you_mean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUFFIXES = {".toml": "TOML", ".yaml": "YAML", ".yml": "YAML", ".json": "JSON"}
# A config is a few dozen values. These bounds stop a hostile or broken one (a YAML alias bomb, a
# generated file) before anything walks it: aliases are shared in memory but expand on every walk.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_CONFIG_VALUES = 100_000
MAX_CONFIG_DEPTH = 32
# Integers a config may hold: what a C long (TRL's steps and seeds, torch) takes. Beyond it an
# integer is a typo or an attack (10**400 overflows every float conversion).
MAX_CONFIG_INT = 2**63 - 1

_brief = reprlib.Repr()
_brief.maxlevel, _brief.maxlist, _brief.maxtuple, _brief.maxdict = 2, 4, 4, 4
_brief.maxstring, _brief.maxother, _brief.maxlong = 60, 40, 40


def brief(value: Any) -> str:
    """A short repr for error messages: bounded whatever the value (nested, aliased, huge)."""
    return _brief.repr(value)


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a TOML, YAML or JSON file into a dict, or raise ConfigError naming the file."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ConfigError.single(source, "", None, "no such file")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ConfigError.single(
            source, "", None, f"unknown config format {path.suffix!r}; expected one of {', '.join(SUFFIXES)}"
        )
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError.single(source, "", None, f"is {size} bytes; a config file may have at most {MAX_CONFIG_BYTES}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError.single(source, f"line {line}", None, "is not UTF-8 text; save the file as UTF-8") from None
    try:
        if kind == "TOML":
            data = tomllib.loads(text)
        elif kind == "YAML":
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:
        message = str(exc) if not isinstance(exc, RecursionError) else "nested too deeply"
        if len(message) > 300:
            message = message[:300] + "..."
        raise ConfigError.single(source, "", None, f"is not valid {kind}: {message}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError.single(source, "", None, f"expected a table/mapping at the top level, got {type(data).__name__}")
    check_shape(data, source)
    return data


def check_shape(data: Any, source: str, where: str = "") -> None:
    """Raise ConfigError if ``data`` is too big or deep to be a config, has a non-string key, a
    string with a NUL character or an integer beyond 64 bits: before anything reads a value."""
    budget = [MAX_CONFIG_VALUES]

    def walk(value: Any, where: str, depth: int) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise ConfigError.single(
                source,
                "",
                None,
                f"holds more than {MAX_CONFIG_VALUES} values once expanded (YAML aliases?); a config is expected to be small",
            )
        if depth > MAX_CONFIG_DEPTH:
            raise ConfigError.single(source, where, None, f"is nested more than {MAX_CONFIG_DEPTH} levels deep")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ConfigError.single(
                        source, where, None, f"has a key {brief(key)} of type {type(key).__name__}; keys must be strings"
                    )
                if "\0" in key:
                    raise ConfigError.single(source, where, brief(key), "a key holds a NUL character; expected plain text")
                walk(item, f"{where}.{key}" if where else key, depth + 1)
        elif isinstance(value, (list, tuple)):
            for index, item in enumerate(value):
                walk(item, f"{where}[{index}]", depth + 1)
        elif isinstance(value, str) and "\0" in value:
            raise ConfigError.single(source, *_entry_key(where), f"holds a NUL character ({brief(value)}); expected plain text")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_CONFIG_INT:
            digits = len(str(abs(value))) if abs(value) < 10**4000 else "over 4000"
            raise ConfigError.single(
                source,
                *_entry_key(where),
                f"is an integer of {digits} digits; expected a whole number of at most 64 bits (|n| <= {MAX_CONFIG_INT})",
            )

    walk(data, where, 0)


def _entry_key(where: str) -> tuple[str, str | None]:
    """``rewards[0].weight`` -> (``rewards[0]``, ``weight``): the entry and the key a problem names."""
    entry, dot, key = where.rpartition(".")
    return (entry, key) if dot and not key.endswith("]") else (where, None)


def as_finite_number(value: Any) -> float | None:
    """The value as a float if it is a finite real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer beyond the range of a float (10**400)
        return None
    return value if math.isfinite(value) else None


def set_dotted(config: dict[str, Any], assignment: str, source: str = "--set") -> None:
    """Apply ``a.b.c=value`` to a nested dict; the value is parsed as TOML/JSON when it can be."""
    if "=" not in assignment:
        raise ConfigError.single(source, "", None, f"{brief(assignment)} is not of the form key=value")
    dotted, raw = assignment.split("=", 1)
    keys = [k.strip() for k in dotted.split(".") if k.strip()]
    if not keys:
        raise ConfigError.single(source, "", None, f"{assignment!r} has an empty key")
    value = parse_scalar(raw.strip())
    check_shape(value, source, ".".join(keys))
    node = config
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value


def parse_scalar(raw: str) -> Any:
    """``3`` -> 3, ``true`` -> True, ``[1, 2]`` -> list, anything else stays a string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except Exception:
        try:
            return json.loads(raw)
        except Exception:
            return raw


def check_keys(given: Mapping[str, Any], allowed: Iterable[str], source: str, entry: str) -> list[ConfigProblem]:
    """Problems for keys of ``given`` that are not in ``allowed``, with suggestions."""
    return [
        ConfigProblem(
            source,
            entry,
            key if isinstance(key, str) and len(key) <= 60 else brief(key),
            f"unknown key{did_you_mean(key, allowed) if isinstance(key, str) else ''}; "
            f"expected one of {', '.join(sorted(allowed))}",
        )
        for key in given
        if key not in allowed
    ]
