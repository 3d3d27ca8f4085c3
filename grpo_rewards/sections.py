"""Config tables that plugins own (``[model]``, ``[grpo]`` ...) and how they are checked.

A command that validates a whole config (``check``, ``train --dry-run``) does not know the trainer;
the trainer claims its tables through the ``register_config_sections`` hook with a
:class:`ConfigSection`, and its checker reports what it would refuse before a model loads.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigProblem
from .rewardset import RewardSet


@dataclass
class SectionCheck:
    """What a section's checker found: problems (refused), warnings (run anyway) and lines saying
    what would run, for ``train --dry-run`` and ``check``."""

    problems: list[ConfigProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)


SectionChecker = Callable[[Mapping[str, Any], str, Path, "RewardSet | None"], SectionCheck]


@dataclass(frozen=True)
class ConfigSection:
    """Top-level tables one plugin owns, and its checker.

    ``checker(raw, source, base_dir, reward_set)`` gets the whole parsed config (the reward set is
    None when it has problems of its own) and returns a :class:`SectionCheck`; it must not load a
    model. ``keys_of()`` names each table's allowed keys, so a key that landed in the wrong table
    (a TOML header above it, a dedented YAML line) can be pointed at the table it belongs to.
    """

    tables: tuple[str, ...]
    checker: SectionChecker
    keys_of: Callable[[], Mapping[str, Collection[str]]] = dict
    plugin: str = ""
