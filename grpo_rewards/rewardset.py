"""Weighted reward sets: parsed from config, validated, and handed to TRL.

The config format (TOML shown; YAML and JSON take the same shape)::

    [[rewards]]
    use = "math.correct"      # a registered reward
    weight = 1.0
    name = "correct"          # optional; defaults to the reward's name
    timeout = 5.0             # optional per-item time limit in seconds
    isolation = "process"     # optional: score it in a worker process killed at its deadline
    executor = "threads"      # optional: how its rows run: inline, threads, process (= isolation
                              # "process"), asyncio (the default for async def rewards)
    max_input_chars = 200000  # optional: longer completions are a counted error, never scored
    [rewards.params]
    answer_column = "answer"

    [[rewards]]
    use = "length.target"
    weight = { schedule = "linear", start = 0.0, end = 0.5, steps = 200 }  # see schedules.py
    when = "correct >= 1"     # a gate over other rewards' raw values (see gates.py)
    closed = -1.0             # optional: what a closed gate gives at most (default: the lowest value)

    [[rewards]]
    use = "reward_model.similarity"
    eval_only = true          # scored by score and bench, never passed to the trainer

    [[rewards]]
    use = "reward_model.similarity"
    name = "on_topic"
    canary = true             # weight 0, watched by the trainer against the optimised total
    canary_every = 5          # optional: score it every 5 steps only (a costly canary)

    [[rewards]]
    use = "judge.rubric"      # a reward that declares it needs a certificate (an LLM judge)
    certificate = "judge-cert.json"            # relative to this file; train gives it weight only when
    certificate_thresholds = { min_kappa = 0.5 }  # it is fresh and meets these (see certificates.py)
    allow_uncertified = false  # true: train on it without a valid certificate (a warning says so)

A ``weight = 0`` reward is scored and reported but never moves the advantage. A top-level
``executor = "ray"`` (before any table) runs every entry that names no executor of its own on
that executor, and a ``[ray]`` table says which cluster (see :mod:`grpo_rewards.cluster`).

The list may also sit under ``rewards`` in a trainer or benchmark config, or ``rewards`` may be a
path to a reward-set file.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import gates as gates_mod
from .cluster import ray_options
from .config import as_finite_number, brief, check_keys, load_config_file
from .errors import ConfigError, ConfigProblem, ParamErrors, UnknownNameError, UnknownRewardError
from .registry import Registry, get_registry, load_plugin_files
from .reward import EXECUTOR_REQUIRES, EXECUTORS, ISOLATIONS, RewardFunction, RewardSpec
from .schedules import Schedule, ScheduleError, parse_schedule, weight_problem

ENTRY_KEYS = (
    "use",
    "weight",
    "name",
    "params",
    "timeout",
    "when",
    "closed",
    "eval_only",
    "isolation",
    "max_input_chars",
    "executor",
    "canary",
    "canary_every",
    "certificate",
    "allow_uncertified",
    "certificate_thresholds",
)
MAX_INCLUDE_DEPTH = 8
# Plugin files named in a config are Python code run on load: only from the config's own folder
# (or below it) unless the user sets this variable to 1.
ALLOW_PLUGIN_PATHS_ENV = "GRPO_REWARDS_ALLOW_PLUGIN_PATHS"


@dataclass
class WeightedReward:
    """One entry of a reward set: a registered reward, its parameters, weight and name."""

    name: str
    spec: RewardSpec
    params: dict[str, Any]
    weight: float = 1.0  # the weight at the end of the schedule, when there is one
    timeout: float | None = None
    isolation: str | None = None  # None: the reward's own declaration
    max_input_chars: int | None | str = "default"
    executor: str | None = None  # None: the reward's own (``isolation`` is its older alias)
    schedule: Schedule | None = None
    when: str | None = None  # the gate's text, as written
    gate: gates_mod.Node | None = field(default=None, repr=False)
    eval_only: bool = False
    closed: float | None = None  # the entry's ``closed``, as written
    canary: bool = False  # weight 0, watched by the trainer against the optimised total
    canary_every: int = 1  # a canary is scored every N steps (costly ones)
    executor_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # executor -> settings ([ray])
    certificate: str | None = None  # absolute path of the certificate file the entry names
    allow_uncertified: bool = False
    certificate_thresholds: dict[str, float] = field(default_factory=dict)  # the entry's own, over the defaults
    uncertified: str | None = None  # why train runs it as a metric only (set by certificates.enforce)

    @property
    def closed_value(self) -> float | None:
        """What a closed gate gives at most: the declared ``closed``, else the reward's lowest
        declared value when it is finite, else None (a gate then needs ``closed``)."""
        if self.closed is not None:
            return self.closed
        low = self.spec.value_range[0] if self.spec.value_range else None
        return float(low) if low is not None and np.isfinite(low) else None

    def describe_closed(self) -> str:
        """What a closed gate gives, in words (for ``check``); empty for an ungated reward."""
        if self.gate is None:
            return ""
        if self.closed is not None:
            return f"min(score, {self.closed:g}) (closed = {self.closed:g})"
        return f"{self.closed_value:g} (its lowest value)"

    def weight_at(self, step: int | None) -> float:
        """The effective weight at global step ``step`` (None: the end of the schedule)."""
        if self.eval_only:
            return 0.0
        return self.schedule.at(step) if self.schedule else self.weight

    @property
    def columns(self) -> list[str]:
        return self.spec.required_columns(self.params)

    def build(self, concurrent: bool | None = None) -> RewardFunction:
        return self.spec.build(
            self.params,
            name=self.name,
            timeout=self.timeout,
            concurrent=concurrent,
            isolation=self.isolation,
            max_input_chars=self.max_input_chars,
            executor=self.executor,
            executor_options=self.executor_options,
        )


@dataclass
class RewardSet:
    """An ordered list of weighted rewards with unique names."""

    rewards: list[WeightedReward]
    source: str = "<memory>"
    step: int | None = None  # the TRL global step `weights` reads schedules at (None: their end)
    _functions: list[RewardFunction] | None = field(default=None, repr=False)

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.rewards]

    @property
    def weights(self) -> list[float]:
        """The weights at :attr:`step` (default: the end of every schedule; eval-only rewards 0): what
        score and bench use, ``--step`` setting the step."""
        return self.weights_at(self.step)

    def functions(self) -> list[RewardFunction]:
        """The built callables, created once and reused (their statistics travel in each call's result).

        When any reward is ``concurrent`` (a model or remote reward) or ``async def``, every reward is built async:
        TRL runs sync rewards one after another *before* gathering the async ones, so only an
        all-async set lets the slow rewards overlap with the rule-based ones.
        """
        if self._functions is None:
            waits = any(r.spec.concurrent or inspect.iscoroutinefunction(r.spec.fn) for r in self.rewards)
            concurrent = True if waits else None
            self._functions = [r.build(concurrent) for r in self.rewards]
        return self._functions

    def use_executor(self, name: str) -> None:
        """Run every reward on executor ``name`` (``--executor`` of score and bench); raises
        ConfigError when it is unknown or its module is not installed."""
        problem = executor_problem(name)
        if problem:
            raise ConfigError.single(self.source, "", "executor", problem)
        for entry in self.rewards:
            entry.executor = name
        self._functions = None

    def to_trl(self) -> tuple[list[RewardFunction], list[float]]:
        """Exactly what TRL's GRPOTrainer takes: ``reward_funcs`` and ``reward_weights``.

        The weights are those of step 0. Schedules and gates need the values of a whole batch at
        a known step: ``grpo-rewards train`` applies them where TRL gathers the reward matrix
        (plain TRL would apply the start weights and no gates).
        """
        return self.functions(), self.weights_at(0)

    def weights_at(self, step: int | None) -> list[float]:
        """Every reward's effective weight at TRL global step ``step`` (None: the end of every
        schedule); eval-only rewards weigh 0. The one source of weights for train, score and bench."""
        return [r.weight_at(step) for r in self.rewards]

    @property
    def schedule_end(self) -> int:
        """The last step at which any weight still changes (0 without schedules)."""
        return max((r.schedule.end_step for r in self.rewards if r.schedule), default=0)

    @property
    def has_gates(self) -> bool:
        return any(r.gate is not None for r in self.rewards)

    def training_set(self) -> RewardSet:
        """The rewards the trainer scores: every one but the ``eval_only`` ones."""
        if not any(r.eval_only for r in self.rewards):
            return self
        return RewardSet([r for r in self.rewards if not r.eval_only], self.source)

    @property
    def gate(self) -> gates_mod.GateTable | None:
        """The set's gates when any reward has one, else None (what a ScoreResult keeps)."""
        return self.gate_table() if self.has_gates else None

    def gate_table(self) -> gates_mod.GateTable:
        return gates_mod.GateTable(tuple(self.names), tuple(r.gate for r in self.rewards), tuple(self.closed_values))

    @property
    def closed_values(self) -> list[float]:
        """Per reward, what a closed gate gives at most (NaN for an ungated reward)."""
        return [float("nan") if r.gate is None or r.closed_value is None else float(r.closed_value) for r in self.rewards]

    def gate_open(self, matrix: np.ndarray) -> np.ndarray:
        """N x K bool: where each reward's gate is open (True everywhere for ungated rewards).

        ``matrix`` is N x K raw scores in the order of :attr:`names`, NaN for None.
        """
        return self.gate_table()(matrix)

    def apply_gates(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(gated matrix, gate_open): where a gate is closed the score becomes ``min(score, closed
        value)`` (aggregation.close_gates), the same values under every aggregation mode."""
        return self.gate_table().apply(matrix)

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
                problems.append(
                    ConfigProblem(
                        self.source,
                        f"rewards[{index}] ({entry.name})",
                        "params",
                        f"needs column(s) {', '.join(map(repr, missing))} but {data_source} has "
                        f"{', '.join(map(repr, sorted(available))) or 'no columns'}",
                    )
                )
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
            entry += f" (use = {brief(raw['use'])})"
        problems += check_keys(raw, ENTRY_KEYS, source, entry)
        use = raw.get("use")
        if not isinstance(use, str) or not use:
            problems.append(
                ConfigProblem(source, entry, "use", "expected the name of a registered reward (see `grpo-rewards rewards`)")
            )
            continue
        try:
            spec = registry.get(use)
        except UnknownRewardError as exc:
            message = unknown_reward_message(use, registry, str(exc))
            problems.append(ConfigProblem(source, entry, "use", message))
            continue
        for message in spec.missing_requirements():
            problems.append(ConfigProblem(source, entry, "use", f"reward {use!r} {message}"))
        eval_only = raw.get("eval_only", False)
        if not isinstance(eval_only, bool):
            problems.append(ConfigProblem(source, entry, "eval_only", f"expected true or false, got {eval_only!r}"))
            eval_only = False
        canary, canary_every, canary_problems = _canary_keys(raw, eval_only, source, entry)
        problems += canary_problems
        schedule = None
        raw_weight = raw.get("weight", 0.0 if eval_only or canary else 1.0)
        if isinstance(raw_weight, Mapping):
            try:
                schedule = parse_schedule(raw_weight)
                weight = schedule.final
            except ScheduleError as exc:
                problems.append(ConfigProblem(source, entry, f"weight.{exc.key}", exc.message))
                weight = None
        else:
            problem = weight_problem(raw_weight)
            weight = None if problem else as_finite_number(raw_weight)
            if problem:
                problems.append(ConfigProblem(source, entry, "weight", problem))
        if eval_only and (schedule is not None or (weight is not None and weight != 0)):
            problems.append(
                ConfigProblem(
                    source, entry, "weight", "an eval_only reward never enters the advantage: leave weight out (or set it to 0)"
                )
            )
        when, gate = raw.get("when"), None
        if when is not None:
            try:
                gate = gates_mod.parse_gate(when)
            except gates_mod.GateSyntaxError as exc:
                problems.append(ConfigProblem(source, entry, "when", f"{exc} in {when!r}"))
        closed = None
        if "closed" in raw:
            closed = as_finite_number(raw["closed"])
            if closed is None:
                problems.append(ConfigProblem(source, entry, "closed", f"expected a finite number, got {brief(raw['closed'])}"))
            elif when is None:
                problems.append(
                    ConfigProblem(source, entry, "closed", "says what a closed gate gives, but the entry has no gate ('when')")
                )
        name = raw.get("name", use)
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            problems.append(
                ConfigProblem(source, entry, "name", f"expected a non-empty string (at most 200 characters), got {brief(name)}")
            )
            name = use
        if name in seen:
            problems.append(
                ConfigProblem(
                    source,
                    entry,
                    "name",
                    f"duplicate reward name {name!r} (also rewards[{seen[name]}]); give one of them a distinct 'name'",
                )
            )
        seen.setdefault(name, index)
        timeout = raw.get("timeout", spec.default_timeout)
        if timeout is not None and (as_finite_number(timeout) is None or not 0 < timeout <= 86400):
            problems.append(
                ConfigProblem(
                    source,
                    entry,
                    "timeout",
                    f"expected a positive number of seconds"
                    f"{' (at most 86400)' if as_finite_number(timeout) else ''}, got {brief(timeout)}",
                )
            )
            timeout = spec.default_timeout
        isolation = raw.get("isolation")
        if isolation is not None and isolation not in ISOLATIONS:
            problems.append(
                ConfigProblem(
                    source, entry, "isolation", f"expected one of {', '.join(map(repr, ISOLATIONS))}, got {brief(isolation)}"
                )
            )
            isolation = None
        executor = raw.get("executor")
        problem = None if executor is None else executor_problem(executor)
        if problem:
            problems.append(ConfigProblem(source, entry, "executor", problem))
            executor = None
        max_chars = raw.get("max_input_chars", "default")
        if (
            max_chars != "default"
            and max_chars is not None
            and (isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1)
        ):
            problems.append(
                ConfigProblem(
                    source, entry, "max_input_chars", f"expected a positive whole number of characters, got {brief(max_chars)}"
                )
            )
            max_chars = "default"
        params = raw.get("params", {})
        if not isinstance(params, Mapping):
            problems.append(
                ConfigProblem(source, entry, "params", f"expected a table of parameters, got {type(params).__name__}")
            )
            continue
        try:
            resolved = spec.params.resolve(params)
        except ParamErrors as exc:
            problems += [ConfigProblem(source, entry, f"params.{e.key}", e.message) for e in exc.errors]
            continue
        reference_problems = _bind_references(spec, resolved, registry)
        reference_problems += _bind_paths(spec, resolved, Path(source).parent)
        if reference_problems:
            problems += [ConfigProblem(source, entry, f"params.{key}", message) for key, message in reference_problems]
            continue
        if spec.check_params is not None:
            found = spec.check_params(resolved)
            problems += [ConfigProblem(source, entry, f"params.{key}", message) for key, message in found]
            if found:
                continue
        certificate, allow_uncertified, cert_thresholds, cert_problems = _certificate_keys(raw, spec, Path(source).parent)
        problems += [ConfigProblem(source, entry, key, message) for key, message in cert_problems]
        rewards.append(
            WeightedReward(
                name,
                spec,
                resolved,
                weight if weight is not None else 0.0,
                timeout,
                isolation=isolation,
                max_input_chars=max_chars,
                executor=executor,
                schedule=schedule,
                when=when if gate is not None else None,
                gate=gate,
                eval_only=eval_only,
                closed=closed,
                canary=canary,
                canary_every=canary_every,
                certificate=certificate,
                allow_uncertified=allow_uncertified,
                certificate_thresholds=cert_thresholds,
            )
        )
    problems += _gate_problems(rewards, entries, source, where)
    if problems:
        raise ConfigError(problems)
    return RewardSet(rewards, source)


def executor_problem(name: Any) -> str | None:
    """Why ``name`` cannot be an executor here (unknown, or its module is not installed), or None."""
    if name not in EXECUTORS:
        return f"expected one of {', '.join(map(repr, EXECUTORS))}, got {brief(name)}"
    module, install = EXECUTOR_REQUIRES.get(name, ("", ""))
    if module and importlib.util.find_spec(module) is None:
        return f"executor {name!r} needs the {module!r} module: {install}"
    return None


def _runtime_keys(config: Mapping[str, Any], source: str) -> tuple[str | None, dict[str, Any], list[ConfigProblem]]:
    """The config's top-level ``executor`` and its ``[ray]`` table, checked."""
    options, problems = ray_options(config.get("ray"), source)
    executor = config.get("executor")
    problem = None if executor is None else executor_problem(executor)
    if problem:
        problems.append(ConfigProblem(source, "", "executor", problem))
        executor = None
    return executor, options, problems


def _apply_runtime(reward_set: RewardSet, executor: str | None, ray: dict[str, Any]) -> RewardSet:
    """A set-level executor for the entries that name none, and the ``[ray]`` settings on every entry."""
    for entry in reward_set.rewards:
        if executor is not None and entry.executor is None and entry.isolation is None:
            entry.executor = executor
        if ray:
            entry.executor_options["ray"] = {**entry.executor_options.get("ray", {}), **ray}
    reward_set._functions = None
    return reward_set


def _canary_keys(raw: Mapping[str, Any], eval_only: bool, source: str, entry: str) -> tuple[bool, int, list[ConfigProblem]]:
    """``canary`` and ``canary_every``: a canary is scored in training with weight 0 and watched."""
    problems = []
    canary = raw.get("canary", False)
    if not isinstance(canary, bool):
        problems.append(ConfigProblem(source, entry, "canary", f"expected true or false, got {brief(canary)}"))
        canary = False
    every = raw.get("canary_every", 1)
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        problems.append(
            ConfigProblem(source, entry, "canary_every", f"expected a whole number of steps >= 1, got {brief(every)}")
        )
        every = 1
    elif "canary_every" in raw and not canary:
        problems.append(ConfigProblem(source, entry, "canary_every", "applies to a canary only: add canary = true"))
    if canary and eval_only:
        problems.append(
            ConfigProblem(source, entry, "canary", "a canary is watched during training; eval_only rewards are not scored there")
        )
    if canary and "weight" in raw and raw["weight"] != 0:
        problems.append(
            ConfigProblem(source, entry, "weight", "a canary is watched, never optimised: leave weight out (or set it to 0)")
        )
    return canary, every, problems


def _gate_problems(rewards: list[WeightedReward], entries: list[Any], source: str, where: str) -> list[ConfigProblem]:
    """Gates must read rewards of the same set that the trainer scores, and never form a cycle."""
    index = {
        name: i
        for i, entry in enumerate(entries)
        if isinstance(entry, Mapping) and isinstance(name := entry.get("name", entry.get("use")), str)
    }
    by_name = {r.name: r for r in rewards}
    problems = []
    graph: dict[str, list[str]] = {}
    for reward in rewards:
        if reward.gate is None:
            continue
        entry = f"{where}[{index.get(reward.name, '?')}] (use = {reward.spec.name!r})"
        read = gates_mod.names_in(reward.gate)
        graph[reward.name] = [n for n in read if n in by_name]
        for name in read:
            if name not in by_name:
                close = difflib.get_close_matches(name, list(by_name), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; the set has {', '.join(map(repr, by_name))}"
                problems.append(ConfigProblem(source, entry, "when", f"names unknown reward {name!r}{hint}"))
            elif by_name[name].eval_only and not reward.eval_only:
                problems.append(
                    ConfigProblem(source, entry, "when", f"reads {name!r}, which is eval_only and so not scored during training")
                )
    for reward in rewards:
        if reward.gate is not None and reward.closed_value is None:
            low = reward.spec.value_range[0] if reward.spec.value_range else None
            problems.append(
                ConfigProblem(
                    source,
                    f"{where}[{index.get(reward.name, '?')}] (use = {reward.spec.name!r})",
                    "when",
                    f"{reward.spec.name!r} has {'no declared value range' if low is None else f'no lowest value ({low:g})'}, "
                    "so a closed gate has no worst score to give and failing the gate could pay more than passing "
                    "it: declare `closed = <number>` (a closed gate then gives the smaller of the score and that number), "
                    "or use a bounded form of the reward",
                )
            )
    cycle = gates_mod.find_cycle(graph)
    if cycle:
        first = by_name[cycle[0]]
        entry = f"{where}[{index.get(first.name, '?')}] (use = {first.spec.name!r})"
        problems.append(ConfigProblem(source, entry, "when", "gates form a cycle: " + " -> ".join(cycle)))
    return problems


def unknown_reward_message(use: str, registry: Registry, fallback: str) -> str:
    """Why ``use`` is not registered: its own registration failure, else the plugins that failed to
    load or whose ``register_rewards`` raised (the reward may be theirs), else ``fallback``."""
    why = [p for p in registry.problems if p.reward == use]
    if why:
        return f"reward {use!r} failed to register: {why[0]}"
    broken = [p for p in registry.problems if p.reward is None and _lost_rewards(p.message)]
    if broken:
        return f"unknown reward {use!r}; it may be in a plugin that failed to load: " + "; ".join(str(p) for p in broken)
    return fallback


def _lost_rewards(message: str) -> bool:
    """Whether a plugin problem may have cost rewards (an import or a hook that failed)."""
    return message.startswith(("failed to", "could not be registered", "implements unknown hook", "register_rewards failed"))


def _bind_paths(spec: RewardSpec, resolved: dict[str, Any], base_dir: Path) -> list[tuple[str, str]]:
    """Parameters declared ``role="path"``: relative to the reward-set file, made absolute in place;
    (key, message) for each file that does not exist."""
    problems = []
    for param in spec.params:
        value = resolved.get(param.name)
        if param.role != "path" or not isinstance(value, str) or not value:
            continue
        path = (base_dir / value).resolve()
        if not path.is_file():
            problems.append((param.name, f"no such file: {brief(value)} (relative to {base_dir})"))
        resolved[param.name] = str(path)
    return problems


def _certificate_keys(
    raw: Mapping[str, Any], spec: RewardSpec, base_dir: Path
) -> tuple[str | None, bool, dict[str, float], list[tuple[str, str]]]:
    """``certificate``, ``allow_uncertified`` and ``certificate_thresholds``: only for a reward that
    declares a :class:`~grpo_rewards.reward.Certification`. The file is read when training starts."""
    problems: list[tuple[str, str]] = []
    keys = [k for k in ("certificate", "allow_uncertified", "certificate_thresholds") if k in raw]
    if spec.certification is None:
        return None, False, {}, [(k, f"reward {spec.name!r} needs no certificate") for k in keys]
    path = raw.get("certificate")
    if path is not None and (not isinstance(path, str) or not path):
        problems.append(("certificate", f"expected the path of a certificate file, got {brief(path)}"))
        path = None
    allow = raw.get("allow_uncertified", False)
    if not isinstance(allow, bool):
        problems.append(("allow_uncertified", f"expected true or false, got {brief(allow)}"))
        allow = False
    given = raw.get("certificate_thresholds", {})
    thresholds: dict[str, float] = {}
    if not isinstance(given, Mapping):
        problems.append(("certificate_thresholds", f"expected a table of thresholds, got {type(given).__name__}"))
        given = {}
    for name, value in given.items():
        if name not in spec.certification.thresholds:
            known = ", ".join(spec.certification.thresholds)
            problems.append((f"certificate_thresholds.{name}", f"unknown threshold; {spec.name!r} has {known}"))
        elif as_finite_number(value) is None:
            problems.append((f"certificate_thresholds.{name}", f"expected a finite number, got {brief(value)}"))
        else:
            thresholds[name] = float(value)
    return (str((base_dir / path).resolve()) if path else None), allow, thresholds, problems


def _bind_references(spec: RewardSpec, resolved: dict[str, Any], registry: Registry) -> list[tuple[str, str]]:
    """Resolve parameters declared ``refers_to`` (extractor names...) in ``registry``, in place,
    so the reward uses the entries of the registry the set was parsed with; (key, message) for
    each unknown name."""
    problems = []
    for param in spec.params:
        value = resolved.get(param.name)
        if param.refers_to is None or value is None:
            continue
        names = value if isinstance(value, list) else [value]
        try:
            refs = registry.refs(param.refers_to, names)
        except UnknownNameError as exc:
            problems.append((param.name, str(exc)))
            continue
        if isinstance(value, list):
            resolved[param.name] = refs
    return problems


def plugin_paths(plugin_files: Any, source: str, base_dir: Path, root: Path | None = None) -> list[Path]:
    """The config's local plugin files, checked: they exist and lie inside ``root`` (default the
    config's folder; for a reward-set file that another config includes, the folder of the config
    the user named) unless ``GRPO_REWARDS_ALLOW_PLUGIN_PATHS=1``, before any of them is run."""
    if not isinstance(plugin_files, list) or not all(isinstance(p, str) and p for p in plugin_files):
        raise ConfigError.single(source, "plugins", None, "expected a list of paths to local plugin files")
    root = (root or base_dir).resolve()
    allow_outside = os.environ.get(ALLOW_PLUGIN_PATHS_ENV, "") == "1"
    problems = []
    paths = []
    for index, name in enumerate(plugin_files):
        path = (base_dir / name).resolve()
        if not allow_outside and not path.is_relative_to(root):
            problems.append(
                ConfigProblem(
                    source,
                    f"plugins[{index}]",
                    None,
                    f"{brief(name)} lies outside the "
                    f"config's folder {root}; plugin files run as code, so only files in that "
                    f"folder load (set {ALLOW_PLUGIN_PATHS_ENV}=1 to allow others)",
                )
            )
        elif not path.is_file():
            problems.append(ConfigProblem(source, f"plugins[{index}]", None, f"no such file: {brief(name)}"))
        paths.append(path)
    if problems:
        raise ConfigError(problems)
    return paths


def reward_set_from_config(
    config: Mapping[str, Any], source: str, base_dir: Path | None = None, _including: tuple[Path, ...] = ()
) -> RewardSet:
    """The reward set of a config mapping: inline ``rewards`` list, or a path to a reward-set file.

    ``plugins = ["my_rewards.py"]`` in the config loads local plugin files first (paths relative
    to the config file, inside the folder of the config the user named: an included reward-set
    file elsewhere may not bring code from its own folder). A ``rewards`` path that leads back to a
    file already being read is reported as a cycle.
    """
    base_dir = base_dir or Path(source).parent
    executor, ray, runtime_problems = _runtime_keys(config, source)
    try:
        reward_set = _reward_set_of(config, source, base_dir, _including)
    except ConfigError as exc:
        raise ConfigError(exc.problems + runtime_problems) from None
    if runtime_problems:
        raise ConfigError(runtime_problems)
    return _apply_runtime(reward_set, executor, ray)


def _reward_set_of(config: Mapping[str, Any], source: str, base_dir: Path, _including: tuple[Path, ...]) -> RewardSet:
    plugin_files = config.get("plugins", [])
    if plugin_files:
        root = _including[0].parent if _including else base_dir
        load_plugin_files(plugin_paths(plugin_files, source, base_dir, root))
    rewards = config.get("rewards")
    if rewards is None:
        raise ConfigError.single(
            source, "", "rewards", "missing: expected a list of [[rewards]] entries or a path to a reward-set file"
        )
    if isinstance(rewards, str):
        path = base_dir / rewards
        chain = _including or (Path(source).resolve(),)
        if path.resolve() in chain:
            cycle = " -> ".join(str(p) for p in (*chain, path.resolve()))
            raise ConfigError.single(source, "", "rewards", f"includes itself: {cycle}")
        if len(chain) > MAX_INCLUDE_DEPTH:
            raise ConfigError.single(
                source, "", "rewards", f"reward-set files include each other more than {MAX_INCLUDE_DEPTH} levels deep"
            )
        return _load(path, (*chain, path.resolve()))
    return parse_reward_set(rewards, source)


def load_reward_set(path: str | Path) -> RewardSet:
    """Load and validate a reward-set file (or a trainer/bench config holding one)."""
    path = Path(path)
    return _load(path, (path.resolve(),))


def _load(path: Path, chain: tuple[Path, ...]) -> RewardSet:
    return reward_set_from_config(load_config_file(path), str(path), path.parent, chain)
