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

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import check_keys, load_config_file
from ..errors import ConfigError, ConfigProblem
from ..registry import get_registry
from ..rewardset import RewardSet, reward_set_from_config
from ..schema import Key, check_section

TRAINER_SECTIONS = ("model", "data", "grpo", "output")
TOP_KEYS = ("rewards", "plugins", "bench", "executor", "ray", *TRAINER_SECTIONS)

SAMPLING_KEYS = {
    "num_generations": Key((int,), min=1),
    "max_completion_length": Key((int,), min=1),
    "temperature": Key((float,), min=0),
    "top_p": Key((float,), min=0, max=1),
    "top_k": Key((int,), min=0),
    "min_p": Key((float,), min=0, max=1),
    "repetition_penalty": Key((float,), min=0),
}
OTHER_KEYS = {
    "batch_size": Key((int,), min=1),
    "seed": Key((int,), min=0),
    "workers": Key((int,), min=1),
    "gold_column": Key((str,)),
    "reasoning_column": Key((str,)),
    "reference": Key((str,)),
    "topic_column": Key((str,)),
    "flag_fraction": Key((float,), min=0, max=1),
    "bootstrap": Key((int,), min=100),
    "system_prompt": Key((str,)),
    "builtin_probes": Key((list,)),
    "labels": Key((dict,)),
    "probes": Key((list,)),
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
    section_options: dict[str, Any] = field(default_factory=dict)  # [bench] keys that plugins' sections own

    @property
    def trainer_raw(self) -> dict[str, Any]:
        """The config without ``[bench]``, for the trainer's own validation."""
        return {k: v for k, v in self.raw.items() if k != "bench"}

    @property
    def grpo_section(self) -> Mapping[str, Any]:
        grpo = self.raw.get("grpo", {})
        return grpo if isinstance(grpo, Mapping) else {}


def top_keys() -> tuple[str, ...]:
    """The tables a config may have as the bench reads it: its own, the trainer's core ones, and
    every table a plugin claims (``register_config_sections``: the trainer's ``[dynamic_sampling]``
    and ``[canaries]``), so a training config that uses them can be benched as it is."""
    claimed = (t for section in get_registry().sections for t in section.tables)
    return tuple(dict.fromkeys((*TOP_KEYS, *claimed)))


def load_bench_config(path: str | Path) -> BenchConfig:
    """Read and validate CONFIG; raises one ConfigError listing every problem."""
    path = Path(path)
    return bench_config_from(load_config_file(path), str(path), path.parent)


def bench_config_from(raw: dict[str, Any], source: str, base_dir: Path) -> BenchConfig:
    """Validate a parsed config as the bench reads it; raises one ConfigError listing every problem."""
    from .probes import BUILTIN_PROBES, parse_user_probes

    problems: list[ConfigProblem] = check_keys(raw, top_keys(), source, "")
    reward_set = None
    try:
        reward_set = reward_set_from_config(raw, source, base_dir)
    except ConfigError as exc:
        problems += exc.problems

    bench = raw.get("bench", {})
    if not isinstance(bench, Mapping):
        problems.append(ConfigProblem(source, "bench", None, f"expected a table [bench], got {type(bench).__name__}"))
        bench = {}
    from .sections import section_keys

    owned = section_keys()  # keys of report sections that plugins add (the judge's judge_labels)
    values = check_section(bench, {**BENCH_KEYS, **owned}, source, "bench", problems)
    if values.get("flag_fraction") == 0:
        problems.append(ConfigProblem(source, "bench", "flag_fraction", "expected a number in (0, 1], got 0"))
        values.pop("flag_fraction")
    names = reward_set.names if reward_set else []
    labels = values.get("labels", {})
    for reward_name, column in labels.items():
        if reward_set and reward_name not in names:
            problems.append(
                ConfigProblem(source, "bench.labels", reward_name, f"is not a reward of this set; rewards: {', '.join(names)}")
            )
        if not isinstance(column, str) or not column:
            problems.append(ConfigProblem(source, "bench.labels", reward_name, f"expected a column name, got {column!r}"))
    chosen = values.get("builtin_probes")
    if chosen is not None:
        unknown = [p for p in chosen if p not in BUILTIN_PROBES]
        if unknown:
            problems.append(
                ConfigProblem(
                    source,
                    "bench",
                    "builtin_probes",
                    f"unknown probe(s) {', '.join(map(repr, unknown))}; built-ins: {', '.join(BUILTIN_PROBES)}",
                )
            )
    user_probes, probe_problems = parse_user_probes(values.get("probes", []), source)
    problems += probe_problems
    if problems or reward_set is None:
        raise ConfigError(problems)
    return BenchConfig(
        source=source,
        base_dir=base_dir,
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
        section_options={k: v for k, v in values.items() if k in owned},
    )
