"""The trainer config: one file with ``model``, ``data``, ``rewards``, ``grpo`` and ``output``.

Everything that can be checked without loading a model is checked here, and every problem is
reported at once, each naming the file, the section and the key, so a typo costs seconds, not
a model load. ``grpo`` is passed to TRL's ``GRPOConfig``; its keys are checked against the
installed TRL's fields, so the check follows whatever TRL version is installed.
"""

from __future__ import annotations

import dataclasses
import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpo_rewards import certificates
from grpo_rewards.bench.drift import only_shaping
from grpo_rewards.config import ConfigError, ConfigProblem, check_keys, load_config_file, set_dotted
from grpo_rewards.params import did_you_mean
from grpo_rewards.rewardset import RewardSet, reward_set_from_config
from grpo_rewards.schema import Key, check_section

from .canary import ON_ALARM, CanarySettings
from .dynamic_sampling import DynamicSamplingSettings

# [bench] belongs to `grpo-rewards bench` (it validates it); the trainer accepts and ignores it, so one
# file can describe both the run and how to benchmark its reward set.
TOP_KEYS = ("model", "data", "rewards", "plugins", "grpo", "output", "bench", "dynamic_sampling", "canaries", "executor", "ray")

DEFAULT_MODEL = "builtin:smollm2"

# GRPOConfig fields the trainer sets from other sections: setting them in [grpo] would be ignored
# or contradict the config, so they are refused with a pointer to the right key.
OWNED_GRPO_FIELDS = {
    "output_dir": "output.dir",
    "reward_weights": "the 'weight' of each [[rewards]] entry",
    "report_to": "output.report_to",
    "logging_steps": "output.logging_steps",
    "save_steps": "output.save_steps",
    "save_total_limit": "output.save_total_limit",
    "log_completions": "output.log_completions",
    "max_prompt_length": "data.max_prompt_tokens (TRL 1.16 no longer truncates prompts)",
    "no_cuda": "grpo.use_cpu",
    "disable_tqdm": "output.progress",
}

# Defaults for a small run, applied where the config leaves a GRPOConfig field unset.
SMALL_RUN_DEFAULTS: dict[str, Any] = {
    "num_generations": 8,
    "per_device_train_batch_size": 8,
    "max_completion_length": 128,
    "max_steps": 100,
    "seed": 42,
    "save_strategy": "steps",
    "lr_scheduler_type": "constant_with_warmup",
    "warmup_steps": 0,
}
LORA_LEARNING_RATE = 2e-4
FULL_LEARNING_RATE = 1e-6


@dataclass
class ModelSettings:
    """``[model]``: what to fine-tune and how."""

    name: str = DEFAULT_MODEL  # HF id, local folder, .gguf file, or builtin:<name>
    dtype: str = "auto"
    chat_template: str | None = None  # a template string or a path to a .jinja file
    trust_remote_code: bool = False
    revision: str | None = None
    lora: dict[str, Any] | None = None  # peft LoraConfig fields (short aliases allowed)


@dataclass
class DataSettings:
    """``[data]``: where the prompts come from and how they are rendered."""

    source: str = ""
    subset: str | None = None
    split: str = "train"
    columns: dict[str, str] = field(default_factory=dict)  # new name -> source column
    prompt_column: str = "prompt"
    template: str | None = None
    format: str = "chat"
    system_prompt: str | None = None
    max_prompt_tokens: int | None = 512
    truncation_side: str = "right"
    limit: int | None = None
    eval_split: str | None = None
    eval_fraction: float | None = None
    eval_limit: int | None = None
    options: dict[str, Any] = field(default_factory=dict)  # passed to a builtin: dataset's loader

    def template_fields(self) -> list[str]:
        """Column names the template refers to (``{abstract}`` -> ``abstract``)."""
        if self.template is None:
            return [self.prompt_column]
        return [name for _, name, _, _ in string.Formatter().parse(self.template) if name]


@dataclass
class OutputSettings:
    """``[output]``: where results go and what is logged."""

    dir: str = ""
    logging_steps: int = 1
    save_steps: int = 50
    save_total_limit: int | None = 2
    report_to: list[str] = field(default_factory=list)
    log_completions: bool = False
    correlation_steps: int = 10
    samples_per_step: int = 4
    save_model: str = "adapter"  # LoRA runs: adapter, merged or both
    report: bool = True
    progress: str = "auto"  # auto, rich, lines, none


@dataclass
class TrainerConfig:
    """A validated trainer config. ``grpo`` holds the GRPOConfig keyword arguments to use."""

    source: str
    base_dir: Path
    raw: dict[str, Any]
    model: ModelSettings
    data: DataSettings
    reward_set: RewardSet
    grpo: dict[str, Any]
    output: OutputSettings
    warnings: list[str] = field(default_factory=list)  # printed before training starts
    dynamic_sampling: DynamicSamplingSettings = field(default_factory=DynamicSamplingSettings)
    canaries: CanarySettings = field(default_factory=CanarySettings)

    @property
    def output_dir(self) -> Path:
        return Path(self.output.dir)

    @property
    def uses_lora(self) -> bool:
        return self.model.lora is not None


MODEL_KEYS = {
    "name": Key((str,)),
    "dtype": Key((str,), choices=("auto", "float32", "bfloat16", "float16")),
    "chat_template": Key((str,), nullable=True),
    "trust_remote_code": Key((bool,)),
    "revision": Key((str,), nullable=True),
    "lora": Key((dict, bool), nullable=True),
}
DATA_KEYS = {
    "source": Key((str,)),
    "subset": Key((str,), nullable=True),
    "split": Key((str,)),
    "columns": Key((dict,)),
    "prompt_column": Key((str,)),
    "template": Key((str,), nullable=True),
    "format": Key((str,), choices=("chat", "plain")),
    "system_prompt": Key((str,), nullable=True),
    "max_prompt_tokens": Key((int,), min=1, nullable=True),
    "truncation_side": Key((str,), choices=("right", "left")),
    "limit": Key((int,), min=1, nullable=True),
    "eval_split": Key((str,), nullable=True),
    "eval_fraction": Key((float,), min=0, nullable=True),
    "eval_limit": Key((int,), min=1, nullable=True),
    "options": Key((dict,)),
}
OUTPUT_KEYS = {
    "dir": Key((str,)),
    "logging_steps": Key((int,), min=1),
    "save_steps": Key((int,), min=1),
    "save_total_limit": Key((int,), min=1, nullable=True),
    "report_to": Key((str, list)),
    "log_completions": Key((bool,)),
    "correlation_steps": Key((int,), min=1),
    "samples_per_step": Key((int,), min=0),
    "save_model": Key((str,), choices=("adapter", "merged", "both")),
    "report": Key((bool,)),
    "progress": Key((str,), choices=("auto", "rich", "lines", "none")),
}
# [dynamic_sampling]: ours, not TRL's (see trainer/dynamic_sampling.py)
DYNAMIC_SAMPLING_KEYS = {
    "enabled": Key((bool,)),
    "tolerance": Key((float,), min=0),
    "max_rounds": Key((int,), min=0),
}
# [canaries]: how the trainer watches the set's canary rewards (see trainer/canary.py)
CANARY_KEYS = {
    "window": Key((int,), min=2),
    "threshold": Key((float,), min=0),
    "on_alarm": Key((str,), choices=ON_ALARM),
}
LORA_ALIASES = {"alpha": "lora_alpha", "dropout": "lora_dropout"}
LORA_DEFAULTS = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": "all-linear"}
REPORT_BACKENDS = (
    "none",
    "tensorboard",
    "wandb",
    "trackio",
    "mlflow",
    "comet_ml",
    "clearml",
    "dvclive",
    "neptune",
    "swanlab",
    "azure_ml",
    "codecarbon",
    "all",
)


def load_trainer_config(
    path: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    output_dir: str | None = None,
) -> TrainerConfig:
    """Read, override (``--set a.b=v``) and validate a trainer config. Raises one ConfigError."""
    path = Path(path)
    raw = load_config_file(path)
    for assignment in overrides:
        set_dotted(raw, assignment)
    if output_dir is not None:
        raw.setdefault("output", {})
        if not isinstance(raw["output"], dict):
            raw["output"] = {}
        raw["output"]["dir"] = output_dir
    return validate_trainer_config(raw, str(path), path.parent)


def validate_trainer_config(raw: dict[str, Any], source: str, base_dir: Path) -> TrainerConfig:
    """Check every section of a parsed config; collect all problems, raise them together."""
    problems: list[ConfigProblem] = check_keys(raw, TOP_KEYS, source, "")
    model_raw = _section(raw, "model", source, problems)
    data_raw = _section(raw, "data", source, problems)
    grpo_raw = _section(raw, "grpo", source, problems)
    output_raw = _section(raw, "output", source, problems)
    dynamic_raw = _section(raw, "dynamic_sampling", source, problems)
    canary_raw = _section(raw, "canaries", source, problems)

    model = ModelSettings(**check_section(model_raw, MODEL_KEYS, source, "model", problems))
    if model.lora is True:
        model.lora = {}
    elif model.lora is False:
        model.lora = None
    if model.lora is not None:
        model.lora = _lora_settings(model.lora, source, problems)
    if model.chat_template and model.chat_template.endswith(".jinja"):
        template_path = _resolve(base_dir, model.chat_template)
        if not template_path.is_file():
            problems.append(ConfigProblem(source, "model", "chat_template", f"no such file: {template_path}"))

    data = DataSettings(**check_section(data_raw, DATA_KEYS, source, "data", problems))
    problems += _data_problems(data, data_raw, source)

    output = OutputSettings(
        **{k: v for k, v in check_section(output_raw, OUTPUT_KEYS, source, "output", problems).items() if k != "report_to"}
    )
    output.report_to = _report_to(output_raw.get("report_to", []), source, problems)
    output.dir = output.dir or str(Path("outputs") / Path(source).stem)

    reward_set = None
    try:
        reward_set = reward_set_from_config(raw, source, base_dir)
    except ConfigError as exc:
        problems += exc.problems

    grpo = _grpo_kwargs(grpo_raw, model, source, problems)
    dynamic = DynamicSamplingSettings(**check_section(dynamic_raw, DYNAMIC_SAMPLING_KEYS, source, "dynamic_sampling", problems))
    if dynamic.enabled:
        problems += _dynamic_sampling_problems(grpo, source)
    canaries = CanarySettings(**check_section(canary_raw, CANARY_KEYS, source, "canaries", problems))
    warnings: list[str] = []
    if canary_raw and reward_set is not None and not any(r.canary for r in reward_set.rewards) and not only_shaping(reward_set):
        # a set of shaping rewards gets the default canary, which these settings govern: no warning then
        warnings.append(
            f"{source}: [canaries] is set but no [[rewards]] entry has canary = true, and a reward of the set reads "
            "the content, so no default canary is added: nothing is watched"
        )
    if reward_set is not None:
        # fail closed: a judge (any reward declaring a Certification) without a valid certificate weighs 0
        reward_set, refused = certificates.enforce(reward_set)
        warnings += refused
        problems += schedule_problems(reward_set)
        warnings += schedule_warnings(reward_set, grpo.get("max_steps"))
    if grpo.get("eval_strategy", "no") != "no" and not (data.eval_split or data.eval_fraction):
        problems.append(
            ConfigProblem(
                source, "grpo", "eval_strategy", "evaluation needs held-out data: set data.eval_split or data.eval_fraction"
            )
        )
    if problems:
        raise ConfigError(problems)
    return TrainerConfig(source, base_dir, raw, model, data, reward_set, grpo, output, warnings, dynamic, canaries)


def schedule_problems(reward_set: RewardSet) -> list[ConfigProblem]:
    """A set with nothing to train on is a mistake."""
    if all(r.eval_only for r in reward_set.rewards):
        return [
            ConfigProblem(
                reward_set.source,
                "rewards",
                "eval_only",
                "every reward is eval_only: training needs at least one reward it scores",
            )
        ]
    return []


def schedule_warnings(reward_set: RewardSet, max_steps: Any) -> list[str]:
    """A weight schedule still changing when training stops: worth saying, not refusing, since a
    short smoke run (``--set grpo.max_steps=3``) of a real config is exactly that."""
    if not isinstance(max_steps, int) or max_steps <= 0:
        return []
    return [
        f"{reward_set.source}: rewards[{i}] (use = {r.spec.name!r}): the weight schedule runs to step "
        f"{r.schedule.end_step} but grpo.max_steps is {max_steps}: it will not finish (the last weight used is "
        f"{r.schedule.at(max_steps - 1):g}, not {r.schedule.final:g})"
        for i, r in enumerate(reward_set.rewards)
        if r.schedule and r.schedule.end_step > max_steps
    ]


def _dynamic_sampling_problems(grpo: Mapping[str, Any], source: str) -> list[ConfigProblem]:
    """Refills fill each process's share of the batch with whole groups: a group must not straddle
    two processes."""
    g, per_device = grpo.get("num_generations"), grpo.get("per_device_train_batch_size")
    if not isinstance(g, int) or not isinstance(per_device, int) or g < 1:
        return []
    processes = world_size()
    if isinstance(grpo.get("generation_batch_size"), int):
        local = grpo["generation_batch_size"] // processes
        how = f"generation_batch_size / processes = {grpo['generation_batch_size']} / {processes}"
    else:
        steps = grpo.get("steps_per_generation") or grpo.get("gradient_accumulation_steps", 1)
        local = per_device * steps
        how = f"per_device_train_batch_size x steps_per_generation = {per_device} x {steps}"
    if local % g == 0:
        return []
    return [
        ConfigProblem(
            source,
            "dynamic_sampling",
            "enabled",
            f"needs whole groups on each process: the generation batch per process ({how} = {local}) "
            f"is not divisible by grpo.num_generations = {g}",
        )
    ]


def _section(raw: Mapping[str, Any], name: str, source: str, problems: list[ConfigProblem]) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        problems.append(ConfigProblem(source, name, None, f"expected a table [{name}], got {type(value).__name__}"))
        return {}
    return value


def _resolve(base_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base_dir / path


def _lora_settings(given: dict[str, Any], source: str, problems: list[ConfigProblem]) -> dict[str, Any]:
    """peft ``LoraConfig`` keyword arguments, checked against the installed peft's fields."""
    from peft import LoraConfig

    allowed = {f.name for f in dataclasses.fields(LoraConfig) if f.init}
    settings = dict(LORA_DEFAULTS)
    for key, value in given.items():
        name = LORA_ALIASES.get(key, key)
        if name not in allowed:
            problems.append(
                ConfigProblem(
                    source,
                    "model.lora",
                    key,
                    f"not a peft LoraConfig field{did_you_mean(key, [*allowed, *LORA_ALIASES])}",
                )
            )
            continue
        settings[name] = value
    for key in ("r", "lora_alpha"):
        if isinstance(settings[key], bool) or not isinstance(settings[key], int) or settings[key] < 1:
            problems.append(ConfigProblem(source, "model.lora", key, f"expected a positive integer, got {settings[key]!r}"))
    dropout = settings["lora_dropout"]
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        problems.append(ConfigProblem(source, "model.lora", "dropout", f"expected a number in [0, 1), got {dropout!r}"))
    target = settings["target_modules"]
    if not (isinstance(target, str) or (isinstance(target, list) and all(isinstance(t, str) for t in target))):
        problems.append(
            ConfigProblem(
                source, "model.lora", "target_modules", f'expected "all-linear" or a list of module names, got {target!r}'
            )
        )
    return settings


def _data_problems(data: DataSettings, given: Mapping[str, Any], source: str) -> list[ConfigProblem]:
    problems = []
    if not data.source:
        problems.append(
            ConfigProblem(
                source, "data", "source", "missing: a local .jsonl/.csv/.parquet file, a hub dataset name, or builtin:<name>"
            )
        )
    bad_columns = {k: v for k, v in data.columns.items() if not isinstance(v, str)}
    for key, value in bad_columns.items():
        problems.append(ConfigProblem(source, "data.columns", key, f"expected the name of a source column, got {value!r}"))
    if data.template is not None:
        try:
            fields = data.template_fields()
        except ValueError as exc:
            problems.append(
                ConfigProblem(
                    source,
                    "data",
                    "template",
                    f"is not a valid template ({exc}); write {{column}} for a column and {{{{ }}}} for literal braces",
                )
            )
        else:
            if not fields:
                problems.append(ConfigProblem(source, "data", "template", 'names no column; write e.g. "Summarize: {text}"'))
            bad = [f for f in fields if not f.isidentifier()]
            if bad:
                problems.append(ConfigProblem(source, "data", "template", f"{{{bad[0]}}} is not a plain column name"))
    if data.system_prompt and data.format == "plain":
        problems.append(
            ConfigProblem(
                source, "data", "system_prompt", 'only applies to format = "chat"; put the text in the template instead'
            )
        )
    if data.eval_split and data.eval_fraction:
        problems.append(ConfigProblem(source, "data", "eval_fraction", "set eval_split or eval_fraction, not both"))
    if data.eval_fraction is not None and not 0 < data.eval_fraction < 1:
        problems.append(
            ConfigProblem(source, "data", "eval_fraction", f"expected a number in (0, 1), got {data.eval_fraction!r}")
        )
    return problems


def _report_to(value: Any, source: str, problems: list[ConfigProblem]) -> list[str]:
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, list) else []
    out = []
    for name in names:
        if not isinstance(name, str) or name not in REPORT_BACKENDS:
            problems.append(
                ConfigProblem(
                    source,
                    "output",
                    "report_to",
                    f"{name!r} is not a known backend{did_you_mean(str(name), REPORT_BACKENDS)}; "
                    f"expected some of {', '.join(REPORT_BACKENDS)}",
                )
            )
        elif name != "none":
            out.append(name)
    return out


def grpo_fields() -> dict[str, dataclasses.Field]:
    """The init fields of the installed TRL's GRPOConfig."""
    from trl import GRPOConfig

    return {f.name: f for f in dataclasses.fields(GRPOConfig) if f.init}


def _grpo_kwargs(given: Mapping[str, Any], model: ModelSettings, source: str, problems: list[ConfigProblem]) -> dict[str, Any]:
    """The GRPOConfig keyword arguments: small-run defaults overlaid with ``[grpo]``, checked."""
    fields = grpo_fields()
    kwargs: dict[str, Any] = {}
    for key, value in given.items():
        if key in OWNED_GRPO_FIELDS:
            problems.append(ConfigProblem(source, "grpo", key, f"is set by the trainer; use {OWNED_GRPO_FIELDS[key]}"))
        elif key not in fields:
            problems.append(
                ConfigProblem(
                    source,
                    "grpo",
                    key,
                    f"not a GRPOConfig field of the installed TRL{did_you_mean(key, fields)}",
                )
            )
        else:
            message = _field_type_problem(fields[key], value)
            if message:
                problems.append(ConfigProblem(source, "grpo", key, message))
            else:
                kwargs[key] = value
    for key, value in SMALL_RUN_DEFAULTS.items():
        kwargs.setdefault(key, value)
    kwargs.setdefault("learning_rate", LORA_LEARNING_RATE if model.lora is not None else FULL_LEARNING_RATE)
    if "gradient_checkpointing" not in kwargs:
        kwargs.setdefault("activation_checkpointing", False)
    problems += _batch_problems(kwargs, source)
    return kwargs


def _field_type_problem(f: dataclasses.Field, value: Any) -> str | None:
    """A type mismatch against the field's default (TRL's own checks run when GRPOConfig is built)."""
    default = f.default if f.default is not dataclasses.MISSING else None
    if default is None or value is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"expected true/false, got {value!r}"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else f"expected an integer, got {value!r}"
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"expected a number, got {value!r}"
    if isinstance(default, str):
        return None if isinstance(value, str) else f"expected a string, got {value!r}"
    return None


def world_size() -> int:
    """Processes taking part (``accelerate launch`` sets WORLD_SIZE)."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def _batch_problems(kwargs: Mapping[str, Any], source: str) -> list[ConfigProblem]:
    """The generation batch must hold whole groups: checked here, with the numbers spelled out."""
    problems = []
    g = kwargs.get("num_generations")
    per_device = kwargs.get("per_device_train_batch_size")
    if not isinstance(g, int) or not isinstance(per_device, int):
        return problems
    if g < 2:
        problems.append(
            ConfigProblem(source, "grpo", "num_generations", f"GRPO needs at least 2 completions per prompt, got {g}")
        )
        return problems
    processes = world_size()
    if kwargs.get("generation_batch_size") is not None and kwargs.get("steps_per_generation") is not None:
        problems.append(
            ConfigProblem(source, "grpo", "generation_batch_size", "set generation_batch_size or steps_per_generation, not both")
        )
        return problems
    if kwargs.get("generation_batch_size") is not None:
        batch = kwargs["generation_batch_size"]
        key, how = "generation_batch_size", f"generation_batch_size = {batch}"
        if isinstance(batch, int) and batch % (per_device * processes):
            problems.append(
                ConfigProblem(
                    source,
                    "grpo",
                    key,
                    f"{how} is not divisible by the global batch "
                    f"per_device_train_batch_size x processes = {per_device} x {processes}",
                )
            )
    else:
        steps = kwargs.get("steps_per_generation") or kwargs.get("gradient_accumulation_steps", 1)
        batch = per_device * processes * steps
        key = "per_device_train_batch_size"
        how = (
            f"the generation batch per_device_train_batch_size x processes x steps_per_generation = "
            f"{per_device} x {processes} x {steps} = {batch}"
        )
    if isinstance(batch, int) and batch % g:
        problems.append(
            ConfigProblem(
                source,
                "grpo",
                key,
                f"{how} is not divisible by num_generations = {g}; "
                "every prompt's group of completions must fit in one generation batch",
            )
        )
    return problems
