"""Report sections that plugins add to ``grpo-rewards bench`` (the ``register_bench_sections`` hook).

The bench does not know what a judge is. A plugin registers a :class:`BenchSection` that says which
sets it applies to, which ``[bench]`` keys it owns (validated with the bench's own, before anything
runs), what it measures on the held-out rows (``run``) and how that reads in the report
(``markdown``). Its result lands in ``report.json`` under ``sections.<name>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..registry import Registry, get_registry
from ..rewardset import RewardSet
from ..schema import Key


@dataclass(frozen=True)
class HeldOut:
    """One held-out prompt as a section sees it: the prompt, its columns, its completions' texts."""

    prompt: Any
    columns: Mapping[str, Any]
    completions: Sequence[str]


@dataclass
class SectionInput:
    """What a section's ``run`` is given."""

    reward_set: RewardSet
    rows: list[HeldOut]
    options: dict[str, Any]  # the section's own [bench] keys, as given
    base_dir: Path  # the config's folder: relative paths in options are relative to it
    seed: int = 0
    log: Callable[[str], None] = field(default=lambda message: None)


@dataclass(frozen=True)
class BenchSection:
    """``applies(reward_set)``: whether the set has anything for it; ``run(input) -> dict | None``;
    ``markdown(result) -> lines``; ``keys``: the ``[bench]`` keys it owns."""

    name: str
    applies: Callable[[RewardSet], bool]
    run: Callable[[SectionInput], dict[str, Any] | None]
    markdown: Callable[[Mapping[str, Any]], list[str]]
    keys: Mapping[str, Key] = field(default_factory=dict)
    plugin: str = ""


def registered(registry: Registry | None = None) -> list[BenchSection]:
    return list((registry or get_registry()).bench_sections)


def section_keys(registry: Registry | None = None) -> dict[str, Key]:
    """Every ``[bench]`` key a registered section owns."""
    return {k: v for s in registered(registry) for k, v in s.keys.items()}


def run_sections(
    reward_set: RewardSet, rows: list[HeldOut], options: Mapping[str, Any], base_dir: Path, seed: int, log: Callable[[str], None]
) -> dict[str, Any]:
    """Each applicable section's result (None where it had nothing to measure), by name."""
    out: dict[str, Any] = {}
    for section in registered():
        if not section.applies(reward_set):
            continue
        own = {k: v for k, v in options.items() if k in section.keys}
        out[section.name] = section.run(SectionInput(reward_set, rows, own, base_dir, seed, log))
    return out


def markdown(results: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    by_name = {s.name: s for s in registered()}
    for name, result in results.items():
        if result is not None and name in by_name:
            lines += by_name[name].markdown(result)
    return lines
