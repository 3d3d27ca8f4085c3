"""The default canary: a set whose every weighted reward reads only the form (length, format,
style) can be won by abandoning the task, so without a declared canary the trainer watches the
bench's on-topic check (the registered content reward, against the prompt's source column)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from grpo_rewards.bench.drift import content_reward, only_shaping
from grpo_rewards.rewardset import RewardSet, WeightedReward

DEFAULT_NAME = "on_topic"


def default_canary(reward_set: RewardSet, template_fields: Sequence[str], columns: Collection[str]) -> WeightedReward | None:
    """The canary to add, or None: a canary is declared, a reward reads the content, the prompt has
    no source column, or no content reward is installed."""
    if any(r.canary for r in reward_set.rewards) or not only_shaping(reward_set):
        return None
    column = next((f for f in template_fields if f in columns), None)
    found = content_reward()
    if column is None or found is None:
        return None
    spec, param = found
    name = DEFAULT_NAME
    while name in reward_set.names:
        name = f"{name}_"
    return WeightedReward(name, spec, spec.params.resolve({param: column}), weight=0.0, canary=True)


def with_default_canary(
    reward_set: RewardSet, template_fields: Sequence[str], columns: Collection[str]
) -> tuple[RewardSet, WeightedReward | None]:
    canary = default_canary(reward_set, template_fields, columns)
    if canary is None:
        return reward_set, None
    return RewardSet([*reward_set.rewards, canary], reward_set.source), canary
