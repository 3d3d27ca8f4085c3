"""One validation path: everything ``train`` and ``bench`` would refuse, found before anything runs.

``check`` and ``train --dry-run`` call :func:`validate_config`. The core checks what it owns (the
file, the top-level tables, the reward set, the plugins the config names, ``[bench]``); the tables
a plugin owns (the trainer's ``[model]``, ``[data]``, ``[grpo]``, ``[output]``) are checked by the
:class:`~grpo_rewards.sections.ConfigSection` it registered. Every problem comes back at once, with
the line where one is known and a hint for the two classic traps: a TOML table header that
swallowed the keys written after it, and a YAML key dedented out of its entry.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import certificates
from .bench.settings import BENCH_KEYS, bench_config_from
from .config import check_keys, load_config_file, set_dotted
from .config_lines import key_lines
from .errors import ConfigError, ConfigProblem
from .registry import get_registry
from .rewardset import ENTRY_KEYS, RewardSet, plugin_paths, reward_set_from_config
from .sections import ConfigSection, SectionCheck

CORE_TABLES = ("rewards", "plugins", "executor", "ray")  # executor and [ray]: see grpo_rewards.cluster
# Messages of a key that is not allowed where it is: a trap may have put it there.
_MISPLACED = ("unknown key", "unknown parameter", "not a GRPOConfig field")
_ENTRY_SUFFIX = re.compile(r" \(use = .*\)$")


@dataclass
class Validation:
    """The outcome of :func:`validate_config`."""

    source: str
    reward_set: RewardSet | None = None
    problems: list[ConfigProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check_bench(raw: Mapping[str, Any], source: str, base_dir: Path, reward_set: RewardSet | None) -> SectionCheck:
    result = SectionCheck()
    if "bench" not in raw:
        return result
    try:
        bench_config_from(dict(raw), source, base_dir)
    except ConfigError as exc:
        result.problems += exc.problems
    return result


BENCH_SECTION = ConfigSection(("bench",), _check_bench, keys_of=lambda: {"bench": BENCH_KEYS}, plugin="grpo_rewards")


def sections() -> list[ConfigSection]:
    """The bench's table and every table a plugin registered."""
    return [BENCH_SECTION, *get_registry().sections]


def validate_config(path: str | Path, overrides: Sequence[str] = ()) -> Validation:
    """Check CONFIG as every command that reads it would, and return every problem at once."""
    path = Path(path)
    source = str(path)
    result = Validation(source)
    try:
        raw = load_config_file(path)
        for assignment in overrides:
            set_dotted(raw, assignment)
    except ConfigError as exc:
        result.problems = exc.problems
        return result
    owners = sections()
    problems: list[ConfigProblem] = []
    allowed = [*CORE_TABLES, *(t for s in owners for t in s.tables)]
    problems += check_keys(raw, allowed, source, "")
    try:
        result.reward_set = reward_set_from_config(raw, source, path.parent)
    except ConfigError as exc:
        problems += exc.problems
    else:  # what train would run: a reward that needs a certificate and has none valid weighs 0
        result.reward_set, refused = certificates.enforce(result.reward_set)
        result.warnings += refused
    problems += _plugin_problems(raw, source, path.parent)
    for section in owners:
        try:
            found = section.checker(raw, source, path.parent, result.reward_set)
        except ConfigError as exc:
            found = SectionCheck(problems=exc.problems)
        problems += found.problems
        result.warnings += found.warnings
        result.summary += found.summary
    homes = _homes(raw, owners)
    lines: dict[str, Mapping[str, int]] = {}  # per file: an included reward-set file has its own lines
    for problem in _unique(problems):
        if problem.source not in lines:
            lines[problem.source] = _lines_of(Path(problem.source))
        result.problems.append(_located(problem, lines[problem.source], homes, Path(problem.source).suffix.lower()))
    return result


def _lines_of(path: Path) -> Mapping[str, int]:
    try:
        return key_lines(path, path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, UnicodeDecodeError):
        return {}


def _plugin_problems(raw: Mapping[str, Any], source: str, base_dir: Path) -> list[ConfigProblem]:
    """Loading and registration problems of the plugin files this config names: errors here, since
    the rewards they should have registered are what the config is about."""
    try:
        paths = plugin_paths(raw.get("plugins", []), source, base_dir) if raw.get("plugins") else []
    except ConfigError:
        return []  # already reported by the reward set
    registry = get_registry()
    by_name = {registry.local_files.get(str(p.resolve()), ""): i for i, p in enumerate(paths)}
    return [
        ConfigProblem(source, f"plugins[{by_name[p.plugin]}]", None, f"{p.message}")
        for p in registry.problems
        if p.plugin in by_name
    ]


def _unique(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """Each problem once: the reward set is read by every section's own validation too."""
    seen: set[tuple[str, str, str | None, str]] = set()
    out = []
    for p in problems:
        key = (p.source, p.entry, p.key, p.message.split(";")[0])
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _homes(raw: Mapping[str, Any], owners: list[ConfigSection]) -> dict[str, Collection[str]]:
    """Each place of this config (``""`` the top level, ``rewards[0]``, ``grpo``) and its allowed keys."""
    homes: dict[str, Collection[str]] = {"": [*CORE_TABLES, *(t for s in owners for t in s.tables)]}
    entries = raw.get("rewards")
    if isinstance(entries, list):
        for index in range(len(entries)):
            homes[f"rewards[{index}]"] = ENTRY_KEYS
    for section in owners:
        if any(t in raw for t in section.tables):
            try:
                homes.update(section.keys_of())
            except Exception:  # a plugin's key list that cannot be built only costs the hint
                pass
    return homes


def _path_of(entry: str, key: str | None) -> str:
    entry = _ENTRY_SUFFIX.sub("", entry)
    return ".".join(p for p in (entry, key) if p)


def _located(
    problem: ConfigProblem, lines: Mapping[str, int], homes: Mapping[str, Collection[str]], suffix: str
) -> ConfigProblem:
    """The problem with its line (``file:12``) and, for a key in the wrong place, where it belongs."""
    where = _path_of(problem.entry, problem.key)
    line = _line(where, lines)
    message = problem.message
    if problem.key and message.startswith(_MISPLACED):
        container, _, name = where.rpartition(".")
        hint = _trap_hint(container, name, homes, lines, suffix)
        if hint:
            message += f"; {hint}"
    source = f"{problem.source}:{line}" if line else problem.source
    return replace(problem, source=source, message=message)


def _line(where: str, lines: Mapping[str, int]) -> int | None:
    while where:
        if where in lines:
            return lines[where]
        where = where.rpartition(".")[0]
    return None


def _trap_hint(container: str, name: str, homes: Mapping[str, Collection[str]], lines: Mapping[str, int], suffix: str) -> str:
    """Where a misplaced key belongs, and the trap that most likely put it here."""
    parent = container.rpartition(".")[0]
    places = [p for p, keys in homes.items() if p != container and name in keys]
    if not places:
        return ""
    toml = suffix == ".toml"
    shown = container or "the top level"
    if parent in places or (container and "." not in container and "" in places):
        home = parent if parent in places else ""
        header = lines.get(container)
        if toml:
            return (
                f"{name!r} is a key of {home or 'the top level'}, but it follows the [{_toml_name(container)}] header"
                + (f" (line {header})" if header else "")
                + ": in TOML every key after a table header belongs to that table; move it above the header"
            )
        return f"{name!r} is a key of {home or 'the top level'}, not of {shown}: check its indentation"
    entry_homes = [p for p in places if p.startswith("rewards[")]
    if not container and entry_homes:
        if toml:
            return f"{name!r} is a key of a [[rewards]] entry, not of the top level: put it under its [[rewards]] header"
        return (
            f"{name!r} is a key of a rewards entry, not of the top level: it is dedented; indent it under its `- use:` "
            "item (as written, the reward runs without it)"
        )
    return f"{name!r} is a key of {', '.join(p or 'the top level' for p in places[:3])}"


def _toml_name(container: str) -> str:
    return re.sub(r"\[\d+\]", "", container)
