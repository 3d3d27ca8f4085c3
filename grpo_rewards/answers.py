"""The last ``\\boxed{}`` of a worked solution, for data loaders (a MATH row's answer).

How a reward reads its gold column is the reward's own: it declares a ``gold_reader`` (see
:class:`grpo_rewards.reward.RewardSpec`), which the bench asks."""

from __future__ import annotations


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (balanced braces), or None."""
    start = text.rfind("\\boxed")
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j]
    return None


def as_written(raw_gold: object) -> str | None:
    """A gold value read as it is written (stripped text): for rewards that declare no reader."""
    if raw_gold is None:
        return None
    text = str(raw_gold).strip()
    return text or None
