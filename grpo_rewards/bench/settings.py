"""The benchmark's config: a reward-set file or a trainer config, plus an optional ``[bench]`` table.

::

    [bench]
    num_generations = 8          # completions per prompt (else the trainer's grpo.num_generations)
    temperature = 1.0            # sampling overrides; else the trainer config's [grpo], else TRL's defaults
    gold_column = "answer"       # where the gold answer is (default: the first column a reward reads)
    labels = { correct = "is_correct" }   # reward name -> column of gold true/false labels
    flag_fraction = 0.5          # a probe must fool a reward on at least this share of prompts
    topic_column = "abstract"    # what completions must stay on-topic with (default: the template's columns; "" = off)

    [[bench.probes]]             # your own degenerate completions (see probes.py for the fields)
    name = "apology"
    template = "Sorry, I cannot do that. <answer>{answer}</answer>"

Everything is validated up front and every problem is reported at once, like the other configs.
Only the reward set is built here; a trainer config's model/data/grpo sections are validated by
the trainer's own code when a model is actually used (see :mod:`.generate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..config import ConfigError, ConfigProblem, check_keys, load_config_file
from ..rewardset import RewardSet, reward_set_from_config

TRAINER_SECTIONS = ("model", "data", "grpo", "output")
TOP_KEYS = ("rewards", "plugins", "bench", *TRAINER_SECTIONS)

# key -> (accepted python types, lower bound or None, description for messages)
SAMPLING_KEYS: dict[str, tuple[tuple[type, ...], float | None]] = {
    "num_generations": ((int,), 1),
    "max_completion_length": ((int,), 1),
    "temperature": ((int, float), 0),
    "top_p": ((int, float), 0),
    "top_k": ((int,), 0),
    "min_p": ((int, float), 0),
    "repetition_penalty": ((int, float), 0),
}
OTHER_KEYS: dict[str, tuple[tuple[type, ...], float | None]] = {
    "batch_size": ((int,), 1),
    "seed": ((int,), 0),
    "workers": ((int,), 1),
    "gold_column": ((str,), None),
    "reasoning_column": ((str,), None),
    "reference": ((str,), None),
    "topic_column": ((str,), None),
    "flag_fraction": ((int, float), 0),
    "bootstrap": ((int,), 100),
    "system_prompt": ((str,), None),
    "builtin_probes": ((list,), None),
    "labels": ((dict,), None),
    "probes": ((list,), None),
}
BENCH_KEYS = {**SAMPLING_KEYS, **OTHER_KEYS}


@dataclass
class BenchConfig:
    """A validated benchmark config."""

    source: str
    base_dir: Path
    raw: dict[str, Any]
    reward_set: RewardSet
    is_trainer_config: bool
    sampling: dict[str, Any] = field(default_factory=dict)  # overrides from [bench]
    batch_size: int = 8
    seed: int = 0
    workers: int = 1
    gold_column: str | None = None
    reasoning_column: str | None = None
    reference: str | None = None
    topic_column: str | None = None  # the on-topic check's reference ("" turns it off); see drift.py
    flag_fraction: float = 0.5
    bootstrap: int = 2000
    system_prompt: str | None = None
    builtin_probes: list[str] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    probes: list[Any] = field(default_factory=list)  # probes.Probe, parsed from [[bench.probes]]

    @property
    def trainer_raw(self) -> dict[str, Any]:
        """The config without ``[bench]``, for the trainer's own validation."""
        return {k: v for k, v in self.raw.items() if k != "bench"}

    @property
    def grpo_section(self) -> Mapping[str, Any]:
        grpo = self.raw.get("grpo", {})
        return grpo if isinstance(grpo, Mapping) else {}


def load_bench_config(path: str | Path) -> BenchConfig:
    """Read and validate CONFIG; raises one ConfigError listing every problem."""
    from .probes import BUILTIN_PROBES, parse_user_probes

    path = Path(path)
    raw = load_config_file(path)
    source = str(path)
    problems: list[ConfigProblem] = check_keys(raw, TOP_KEYS, source, "")
    reward_set = None
    try:
        reward_set = reward_set_from_config(raw, source, path.parent)
    except ConfigError as exc:
        problems += exc.problems

    bench = raw.get("bench", {})
    if not isinstance(bench, Mapping):
        problems.append(ConfigProblem(source, "bench", None, f"expected a table [bench], got {type(bench).__name__}"))
        bench = {}
    problems += check_keys(bench, BENCH_KEYS, source, "bench")
    values = {}
    for key, value in bench.items():
        if key not in BENCH_KEYS:
            continue
        message = _type_problem(value, *BENCH_KEYS[key])
        if message:
            problems.append(ConfigProblem(source, "bench", key, message))
        else:
            values[key] = value
    if "flag_fraction" in values and not 0 < values["flag_fraction"] <= 1:
        problems.append(ConfigProblem(source, "bench", "flag_fraction", f"expected a number in (0, 1], got {values['flag_fraction']!r}"))
        values.pop("flag_fraction")
    for key in ("top_p", "min_p"):
        if key in values and values[key] > 1:
            problems.append(ConfigProblem(source, "bench", key, f"expected a number in [0, 1], got {values[key]!r}"))
    names = reward_set.names if reward_set else []
    labels = values.get("labels", {})
    for reward_name, column in labels.items():
        if reward_set and reward_name not in names:
            problems.append(ConfigProblem(source, "bench.labels", reward_name,
                                          f"is not a reward of this set; rewards: {', '.join(names)}"))
        if not isinstance(column, str) or not column:
            problems.append(ConfigProblem(source, "bench.labels", reward_name, f"expected a column name, got {column!r}"))
    chosen = values.get("builtin_probes")
    if chosen is not None:
        unknown = [p for p in chosen if p not in BUILTIN_PROBES]
        if unknown:
            problems.append(ConfigProblem(source, "bench", "builtin_probes",
                                          f"unknown probe(s) {', '.join(map(repr, unknown))}; built-ins: {', '.join(BUILTIN_PROBES)}"))
    user_probes, probe_problems = parse_user_probes(values.get("probes", []), source)
    problems += probe_problems
    if problems:
        raise ConfigError(problems)
    return BenchConfig(
        source=source,
        base_dir=path.parent,
        raw=raw,
        reward_set=reward_set,
        is_trainer_config=any(k in raw for k in TRAINER_SECTIONS),
        sampling={k: v for k, v in values.items() if k in SAMPLING_KEYS},
        batch_size=values.get("batch_size", 8),
        seed=values.get("seed", 0),
        workers=values.get("workers", 1),
        gold_column=values.get("gold_column"),
        reasoning_column=values.get("reasoning_column"),
        reference=values.get("reference"),
        topic_column=values.get("topic_column"),
        flag_fraction=float(values.get("flag_fraction", 0.5)),
        bootstrap=values.get("bootstrap", 2000),
        system_prompt=values.get("system_prompt"),
        builtin_probes=chosen,
        labels=dict(labels),
        probes=user_probes,
    )


def _type_problem(value: Any, types: tuple[type, ...], minimum: float | None) -> str | None:
    if isinstance(value, bool) or not isinstance(value, types):
        kinds = " or ".join({int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a table"}[t]
                            for t in types if not (t is int and float in types))
        return f"expected {kinds}, got {type(value).__name__} {value!r}"
    if minimum is not None and isinstance(value, (int, float)) and value < minimum:
        return f"must be >= {minimum:g}, got {value!r}"
    return None
