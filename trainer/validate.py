"""The trainer's tables as ``check`` and ``train --dry-run`` see them: everything ``train`` refuses
before a model loads (sections, GRPOConfig fields and TRL's own argument checks, the data's columns
against the template and the rewards when the data is offline), plus what would run."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from grpo_rewards.aggregation import Aggregation
from grpo_rewards.datasets import is_builtin
from grpo_rewards.errors import ConfigError, ConfigProblem
from grpo_rewards.rewardset import RewardSet
from grpo_rewards.schema import check_section
from grpo_rewards.sections import ConfigSection, SectionCheck

from .config import (
    CANARY_KEYS,
    DATA_KEYS,
    DYNAMIC_SAMPLING_KEYS,
    MODEL_KEYS,
    OUTPUT_KEYS,
    SMALL_RUN_DEFAULTS,
    DataSettings,
    TrainerConfig,
    grpo_fields,
    schedule_warnings,
    validate_trainer_config,
)

TABLES = ("model", "data", "grpo", "output", "dynamic_sampling", "canaries")


def check_trainer_tables(raw: Mapping[str, Any], source: str, base_dir: Path, reward_set: RewardSet | None) -> SectionCheck:
    """Every problem ``train`` would raise before loading a model, in one pass."""
    result = SectionCheck()
    if not any(t in raw for t in TABLES):
        return result  # a reward-set or bench-only file
    try:
        import trl  # noqa: F401  (GRPOConfig's fields are the installed TRL's)
    except ImportError:
        result.warnings.append(
            f"{source}: [model], [data], [grpo], [output], [dynamic_sampling] and [canaries] were not checked: "
            "the [train] extra (TRL) is not installed"
        )
        return result
    config = None
    try:
        config = validate_trainer_config(dict(raw), source, base_dir)
    except ConfigError as exc:
        result.problems += exc.problems
    grpo = raw.get("grpo")
    max_steps = grpo.get("max_steps", SMALL_RUN_DEFAULTS["max_steps"]) if isinstance(grpo, Mapping) else None
    if reward_set is not None:
        result.warnings += schedule_warnings(reward_set, max_steps)
    result.problems += _data_problems(raw, source, base_dir, reward_set, result.summary)
    if config is not None:
        result.problems += _trl_problems(config)
        result.summary[:0] = _what_would_run(config)
    return result


def _data_problems(
    raw: Mapping[str, Any], source: str, base_dir: Path, reward_set: RewardSet | None, summary: list[str]
) -> list[ConfigProblem]:
    """The template's and the rewards' columns against the data, when the data can be read offline."""
    from .data import column_problems, load_data

    data_raw = raw.get("data")
    if not isinstance(data_raw, Mapping):
        return []
    data = DataSettings(**check_section(data_raw, DATA_KEYS, source, "data", []))  # its problems are reported already
    if not data.source:
        return []
    if not _offline(data.source, base_dir):
        summary.append(f"data: {data.source} is not local or builtin: its columns are checked when train loads it")
        return []
    try:
        data.template_fields()
    except ValueError:
        return []  # an invalid template is reported already
    import datasets

    datasets.disable_progress_bars()
    try:
        loaded = load_data(data, source, base_dir)
    except ConfigError as exc:
        return exc.problems
    summary.append(f"data: {loaded.description}; columns {', '.join(loaded.columns)}")
    return column_problems(data, loaded.columns, reward_set, source)


def _offline(name: str, base_dir: Path) -> bool:
    from .data import LOCAL_FORMATS

    if is_builtin(name):
        return True
    path = Path(name).expanduser()
    return path.exists() or (not path.is_absolute() and (base_dir / path).exists()) or path.suffix.lower() in LOCAL_FORMATS


def _trl_problems(config: TrainerConfig) -> list[ConfigProblem]:
    """TRL's own checks of the arguments, as ``train`` runs them before the model loads."""
    from .arguments import build_grpo_config
    from .device import choose_device

    try:
        device = choose_device(config.model.dtype, config.grpo)
        build_grpo_config(config, device, has_eval=bool(config.data.eval_split or config.data.eval_fraction))
    except ConfigError as exc:
        return exc.problems
    return []


def _what_would_run(config: TrainerConfig) -> list[str]:
    grpo = config.grpo
    lora = f"LoRA r={config.model.lora['r']}" if config.model.lora else "full fine-tuning"
    return [
        f"model: {config.model.name} ({lora}, dtype {config.model.dtype})",
        f"training: {grpo.get('max_steps')} steps, {grpo.get('num_generations')} completions per prompt, "
        f"batch {grpo.get('per_device_train_batch_size')}, learning rate {grpo.get('learning_rate'):g}, "
        f"at most {grpo.get('max_completion_length')} new tokens, {Aggregation.from_grpo(grpo).label}",
        f"output: {config.output.dir} (report {'on' if config.output.report else 'off'})",
    ]


def _keys() -> Mapping[str, Collection[str]]:
    try:
        grpo: Collection[str] = grpo_fields()
    except ImportError:  # no [train] extra: no hint for [grpo] keys
        grpo = ()
    return {
        "model": MODEL_KEYS,
        "data": DATA_KEYS,
        "output": OUTPUT_KEYS,
        "grpo": grpo,
        "dynamic_sampling": DYNAMIC_SAMPLING_KEYS,
        "canaries": CANARY_KEYS,
    }


SECTION = ConfigSection(TABLES, check_trainer_tables, keys_of=_keys)
