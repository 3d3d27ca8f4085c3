"""Reading config files (TOML, YAML, JSON) and reporting problems in them precisely.

Every problem names the file, the entry (``rewards[2]``) and the key, and all problems found are
reported together, so a user fixes a config in one round trip, before any model is loaded.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError, ConfigProblem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SUFFIXES = {".toml": "TOML", ".yaml": "YAML", ".yml": "YAML", ".json": "JSON"}


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a TOML, YAML or JSON file into a dict, or raise ConfigError naming the file."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ConfigError.single(source, "", None, "no such file")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ConfigError.single(source, "", None, f"unknown config format {path.suffix!r}; expected one of {', '.join(SUFFIXES)}")
    text = path.read_text(encoding="utf-8")
    try:
        if kind == "TOML":
            data = tomllib.loads(text)
        elif kind == "YAML":
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:
        raise ConfigError.single(source, "", None, f"is not valid {kind}: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError.single(source, "", None, f"expected a table/mapping at the top level, got {type(data).__name__}")
    return data


def as_finite_number(value: Any) -> float | None:
    """The value as a float if it is a finite real number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def set_dotted(config: dict[str, Any], assignment: str, source: str = "--set") -> None:
    """Apply ``a.b.c=value`` to a nested dict; the value is parsed as TOML/JSON when it can be."""
    if "=" not in assignment:
        raise ConfigError.single(source, "", None, f"{assignment!r} is not of the form key=value")
    dotted, raw = assignment.split("=", 1)
    keys = [k.strip() for k in dotted.split(".") if k.strip()]
    if not keys:
        raise ConfigError.single(source, "", None, f"{assignment!r} has an empty key")
    value = parse_scalar(raw.strip())
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


def check_keys(given: Mapping[str, Any], allowed, source: str, entry: str) -> list[ConfigProblem]:
    """Problems for keys of ``given`` that are not in ``allowed``, with suggestions."""
    from .params import did_you_mean

    return [
        ConfigProblem(source, entry, key, f"unknown key{did_you_mean(key, allowed)}; expected one of {', '.join(sorted(allowed))}")
        for key in given
        if key not in allowed
    ]
