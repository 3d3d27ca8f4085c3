"""Building TRL's GRPOConfig from a validated trainer config and the chosen device.

TRL's own checks run in GRPOConfig's constructor; they run here, before the model is loaded,
and their messages come back as a ConfigError about the ``[grpo]`` section.
"""

from __future__ import annotations

from typing import Any

from grpo_rewards.config import ConfigError

from .config import TrainerConfig
from .device import DeviceChoice


def grpo_kwargs(config: TrainerConfig, device: DeviceChoice, has_eval: bool) -> dict[str, Any]:
    """Every GRPOConfig keyword: ``[grpo]`` plus what the other sections and the device decide."""
    kwargs = dict(config.grpo)
    out = config.output
    for key, value in device.training_kwargs().items():
        kwargs.setdefault(key, value)
    kwargs.update(
        output_dir=str(config.output_dir),
        reward_weights=config.reward_set.training_set().weights_at(0),
        report_to=out.report_to or "none",
        logging_steps=out.logging_steps,
        save_steps=out.save_steps,
        save_total_limit=out.save_total_limit,
        log_completions=out.log_completions,
        disable_tqdm=True,
    )
    if has_eval:
        kwargs.setdefault("eval_strategy", "steps")
        kwargs.setdefault("eval_steps", out.save_steps)
        kwargs.setdefault("per_device_eval_batch_size", kwargs["per_device_train_batch_size"])
    return kwargs


def build_grpo_config(config: TrainerConfig, device: DeviceChoice, has_eval: bool = False):
    """The GRPOConfig, or a ConfigError carrying TRL's own message."""
    from trl import GRPOConfig

    try:
        return GRPOConfig(**grpo_kwargs(config, device, has_eval))
    except (ValueError, TypeError) as exc:
        raise ConfigError.single(config.source, "grpo", None, f"TRL rejects these settings: {exc}") from None
