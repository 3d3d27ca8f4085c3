"""The rubric of ``judge.rubric``: criteria with weights, inline in the reward-set entry or in a rubric
file, checked when the set is read (before anything is scored or any model loads).

Inline: ``criteria = ["accuracy=2: the facts are right", "clarity: easy to follow"]``
(``name[=weight]: description``, lower-case names, weight 1 by default).

A rubric file (TOML, YAML or JSON, named by ``rubric_file``, relative to the reward-set file)::

    [[criteria]]
    name = "accuracy"
    weight = 2                 # optional, 1 by default; positive
    description = "The facts and figures are right."

The file's criteria are written into the entry's ``criteria`` when the set is read, so the reward,
the prompt hash of a certificate and the report all see the same rubric: editing the file makes an
earlier certificate stale.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from grpo_rewards.config import load_config_file
from grpo_rewards.errors import ConfigError

from .prompts import Criterion

RESERVED = frozenset({"refused", "unparsed", "why", "flip", "p_yes", "calls", "position_delta", "cached"})
NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_CRITERION = re.compile(r"^([a-z][a-z0-9_]{0,39})(?:=([0-9]+(?:\.[0-9]+)?))?:\s*(\S.{0,500})$", re.S)
FILE_KEYS = ("criteria",)
CRITERION_KEYS = ("name", "weight", "description")


@lru_cache(maxsize=64)
def parse_criteria(specs: tuple[str, ...]) -> tuple[Criterion, ...]:
    """``"name[=weight]: description"`` per criterion; a ValueError names the bad one."""
    out: list[Criterion] = []
    for spec in specs:
        match = _CRITERION.match(spec.strip())
        if match is None:
            raise ValueError(f"criterion {spec[:60]!r}: expected 'name[=weight]: description' with a lower-case name")
        name, weight, description = match.group(1), float(match.group(2) or 1.0), match.group(3).strip()
        if name in RESERVED or any(c.name == name for c in out):
            raise ValueError(f"criterion {name!r}: the name is reserved or given twice")
        if weight <= 0:
            raise ValueError(f"criterion {name!r}: the weight must be positive")
        out.append(Criterion(name, weight, description))
    if not out:
        raise ValueError("the rubric has no criteria")
    return tuple(out)


def read_rubric_file(path: Path) -> list[str]:
    """The file's criteria as inline specs; a ValueError names the file, the criterion and the key."""
    try:
        data = load_config_file(path)
    except ConfigError as exc:
        raise ValueError("; ".join(str(p) for p in exc.problems)) from None
    extra = [k for k in data if k not in FILE_KEYS]
    if extra:
        raise ValueError(f"{path}: key {extra[0]!r}: unknown key; a rubric file holds only 'criteria'")
    items = data.get("criteria")
    if not isinstance(items, list) or not items:
        raise ValueError(f"{path}: key 'criteria': expected a non-empty list of criteria ([[criteria]] tables)")
    specs = []
    for index, item in enumerate(items):
        where = f"{path}: criteria[{index}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: expected a table with name, weight and description")
        unknown = [k for k in item if k not in CRITERION_KEYS]
        if unknown:
            raise ValueError(f"{where}: key {unknown[0]!r}: unknown key; expected {', '.join(CRITERION_KEYS)}")
        name, weight, description = item.get("name"), item.get("weight", 1), item.get("description")
        if not isinstance(name, str) or not NAME.match(name) or name in RESERVED:
            raise ValueError(f"{where}: key 'name': expected a lower-case name ([a-z][a-z0-9_]*, not reserved), got {name!r}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight <= 0:
            raise ValueError(f"{where}: key 'weight': expected a positive number, got {weight!r}")
        if not isinstance(description, str) or not description.strip() or len(description) > 500:
            raise ValueError(f"{where}: key 'description': expected a non-empty string of at most 500 characters")
        specs.append(f"{name}={float(weight):g}: {' '.join(description.split())}")
    try:
        parse_criteria(tuple(specs))
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
    return specs


def check_scale(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    if params["scale_max"] <= params["scale_min"]:
        return [("scale_max", f"must be above scale_min ({params['scale_min']}), got {params['scale_max']}")]
    return []


def check_rubric_params(params: dict[str, Any]) -> list[tuple[str, str]]:
    """``judge.rubric``'s whole-entry check: the rubric inline or from its file (read into
    ``criteria`` here), each criterion well formed, the scale the right way round."""
    problems = check_scale(params)
    if params["rubric_file"] and params["criteria"]:
        return [*problems, ("rubric_file", "give the criteria inline or in rubric_file, not both")]
    if params["rubric_file"]:
        try:
            params["criteria"] = read_rubric_file(Path(params["rubric_file"]))
        except ValueError as exc:
            return [*problems, ("rubric_file", str(exc))]
    elif not params["criteria"]:
        return [*problems, ("criteria", "required: the rubric, inline ('name[=weight]: description' each) or in rubric_file")]
    else:
        try:
            parse_criteria(tuple(params["criteria"]))
        except ValueError as exc:
            problems.append(("criteria", str(exc)))
    return problems
