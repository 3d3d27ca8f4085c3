"""Weighted reward sets: parsed from config, validated, and handed to TRL.

The config format (TOML shown; YAML and JSON take the same shape)::

    [[rewards]]
    use = "math.correct"      # a registered reward
    weight = 1.0
    name = "correct"          # optional; defaults to the reward's name
    timeout = 5.0             # optional per-item time limit in seconds
    [rewards.params]
    answer_column = "answer"

The list may also sit under ``rewards`` in a trainer or benchmark config, or ``rewards`` may be a
path to a reward-set file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from .config import ConfigError, ConfigProblem, as_finite_number, check_keys, load_config_file
from .params import ParamErrors
from .registry import Registry, UnknownRewardError, get_registry, load_plugin_files
from .reward import RewardFunction, RewardSpec

ENTRY_KEYS = ("use", "weight", "name", "params", "timeout")


@dataclass
class WeightedReward:
    """One entry of a reward set: a registered reward, its parameters, weight and name."""

    name: str
    spec: RewardSpec
    params: dict[str, Any]
    weight: float = 1.0
    timeout: float | None = None

    @property
    def columns(self) -> list[str]:
        return self.spec.required_columns(self.params)

    def build(self, concurrent: bool | None = None) -> RewardFunction:
        return self.spec.build(self.params, name=self.name, timeout=self.timeout, concurrent=concurrent)


@dataclass
class RewardSet:
    """An ordered list of weighted rewards with unique names."""

    rewards: list[WeightedReward]
    source: str = "<memory>"
    _functions: list[RewardFunction] | None = field(default=None, repr=False)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rewards]

    @property
    def weights(self) -> list[float]:
        return [r.weight for r in self.rewards]

    def functions(self) -> list[RewardFunction]:
        """The built callables, created once and reused (their stats accumulate on them).

        When any reward is ``concurrent`` (a model or remote reward), every reward is built async:
        TRL runs sync rewards one after another *before* gathering the async ones, so only an
        all-async set lets the slow rewards overlap with the rule-based ones.
        """
        if self._functions is None:
            concurrent = True if any(r.spec.concurrent for r in self.rewards) else None
            self._functions = [r.build(concurrent) for r in self.rewards]
        return self._functions

    def to_trl(self) -> tuple[list[RewardFunction], list[float]]:
        """Exactly what TRL's GRPOTrainer takes: ``reward_funcs`` and ``reward_weights``."""
        return self.functions(), self.weights

    def required_columns(self) -> dict[str, list[str]]:
        """Columns each reward needs from the data, by reward name."""
        return {r.name: r.columns for r in self.rewards if r.columns}

    def column_problems(self, available: Iterable[str], data_source: str) -> list[ConfigProblem]:
        """A problem for every column a reward needs that the data does not have."""
        available = set(available)
        problems = []
        for index, entry in enumerate(self.rewards):
            missing = [c for c in entry.columns if c not in available]
            if missing:
                problems.append(ConfigProblem(
                    self.source, f"rewards[{index}] ({entry.name})", "params",
                    f"needs column(s) {', '.join(map(repr, missing))} but {data_source} has "
                    f"{', '.join(map(repr, sorted(available))) or 'no columns'}",
                ))
        return problems

    def check_columns(self, available: Iterable[str], data_source: str) -> None:
        problems = self.column_problems(available, data_source)
        if problems:
            raise ConfigError(problems)


def parse_reward_set(
    entries: Any,
    source: str = "<memory>",
    registry: Registry | None = None,
    where: str = "rewards",
) -> RewardSet:
    """Validate a list of reward entries (as read from config) into a RewardSet.

    All problems are collected and raised together as one ConfigError.
    """
    registry = registry or get_registry()
    if not isinstance(entries, list) or not entries:
        raise ConfigError.single(source, where, None, "expected a non-empty list of reward entries ([[rewards]] tables)")
    problems: list[ConfigProblem] = []
    rewards: list[WeightedReward] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(entries):
        entry = f"{where}[{index}]"
        if not isinstance(raw, Mapping):
            problems.append(ConfigProblem(source, entry, None, f"expected a table with a 'use' key, got {type(raw).__name__}"))
            continue
        if "use" in raw:
            entry += f" (use = {raw['use']!r})"
        problems += check_keys(raw, ENTRY_KEYS, source, entry)
        use = raw.get("use")
        if not isinstance(use, str) or not use:
            problems.append(ConfigProblem(source, entry, "use", "expected the name of a registered reward (see `grpo-rewards rewards`)"))
            continue
        try:
            spec = registry.get(use)
        except UnknownRewardError as exc:
            problems.append(ConfigProblem(source, entry, "use", str(exc)))
            continue
        for message in spec.missing_requirements():
            problems.append(ConfigProblem(source, entry, "use", f"reward {use!r} {message}"))
        weight = as_finite_number(raw.get("weight", 1.0))
        if weight is None:
            problems.append(ConfigProblem(source, entry, "weight", f"expected a finite number, got {raw.get('weight')!r}"))
        name = raw.get("name", use)
        if not isinstance(name, str) or not name.strip():
            problems.append(ConfigProblem(source, entry, "name", f"expected a non-empty string, got {name!r}"))
            name = use
        if name in seen:
            problems.append(ConfigProblem(
                source, entry, "name",
                f"duplicate reward name {name!r} (also rewards[{seen[name]}]); give one of them a distinct 'name'",
            ))
        seen.setdefault(name, index)
        timeout = raw.get("timeout", spec.default_timeout)
        if timeout is not None and (as_finite_number(timeout) is None or timeout <= 0):
            problems.append(ConfigProblem(source, entry, "timeout", f"expected a positive number of seconds, got {timeout!r}"))
            timeout = spec.default_timeout
        params = raw.get("params", {})
        if not isinstance(params, Mapping):
            problems.append(ConfigProblem(source, entry, "params", f"expected a table of parameters, got {type(params).__name__}"))
            continue
        try:
            resolved = spec.params.resolve(params)
        except ParamErrors as exc:
            problems += [ConfigProblem(source, entry, f"params.{e.key}", e.message) for e in exc.errors]
            continue
        rewards.append(WeightedReward(name, spec, resolved, weight if weight is not None else 0.0, timeout))
    if problems:
        raise ConfigError(problems)
    return RewardSet(rewards, source)


def reward_set_from_config(config: Mapping[str, Any], source: str, base_dir: Path | None = None) -> RewardSet:
    """The reward set of a config mapping: inline ``rewards`` list, or a path to a reward-set file.

    ``plugins = ["my_rewards.py"]`` in the config loads local plugin files first (paths relative
    to the config file).
    """
    base_dir = base_dir or Path(source).parent
    plugin_files = config.get("plugins", [])
    if plugin_files:
        if not isinstance(plugin_files, list) or not all(isinstance(p, str) for p in plugin_files):
            raise ConfigError.single(source, "plugins", None, "expected a list of paths to local plugin files")
        missing = [p for p in plugin_files if not (base_dir / p).is_file()]
        if missing:
            raise ConfigError.single(source, "plugins", None, f"no such file(s): {', '.join(missing)}")
        load_plugin_files(base_dir / p for p in plugin_files)
    rewards = config.get("rewards")
    if rewards is None:
        raise ConfigError.single(source, "", "rewards", "missing: expected a list of [[rewards]] entries or a path to a reward-set file")
    if isinstance(rewards, str):
        path = base_dir / rewards
        return load_reward_set(path)
    return parse_reward_set(rewards, source)


def load_reward_set(path: str | Path) -> RewardSet:
    """Load and validate a reward-set file (or a trainer/bench config holding one)."""
    path = Path(path)
    return reward_set_from_config(load_config_file(path), str(path), path.parent)
