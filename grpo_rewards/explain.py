"""Why a completion got its score: per reward its value, what it read (the details it returned
with :class:`~grpo_rewards.reward.Scored`), why a None, the gate's state and why, the weight at the
step, and its contribution to the total. Built from one :class:`~grpo_rewards.runtime.ScoreBatch`,
so ``explain`` and ``score --explain`` say exactly what scoring did.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .gates import names_in
from .reward import CallStats
from .rewardset import RewardSet, WeightedReward
from .runtime import ScoreBatch

# Parameter names whose string values (or the environment variables they name) are secrets:
# they are blanked out of anything explain shows.
_SECRET_NAME = re.compile(r"key|token|secret|password|auth|credential", re.IGNORECASE)
REDACTED = "***"


def explain_batch(reward_set: RewardSet, batch: ScoreBatch, single: bool = False) -> list[dict[str, Any]]:
    """One explanation per row. ``single``: the batch is one row, so its statistics are that row's
    (a None is then attributed to its time-out, error or size cap exactly)."""
    gated = batch.matrix()
    opened = batch.gate_open
    totals = batch.total
    out = []
    for i in range(len(batch)):
        rewards: dict[str, Any] = {}
        for k, entry in enumerate(reward_set.rewards):
            name = entry.name
            value = batch.values[name][i]
            details = (batch.details.get(name) or [None] * len(batch))[i]
            weight = batch.weights[k]
            counted = gated[i, k]
            item: dict[str, Any] = {"value": value, "weight": weight}
            if details:
                item["read"] = _redacted(dict(details), entry)
            if value is None:
                item["why_none"] = _redacted(why_none(entry, batch.stats[name], details, single), entry)
            if entry.gate is not None and opened is not None:
                item["gate"] = _gate(entry, bool(opened[i, k]), batch.row(i), None if math.isnan(counted) else float(counted))
            item["contribution"] = 0.0 if math.isnan(counted) else weight * float(counted) + 0.0
            rewards[name] = item
        out.append({"rewards": rewards, "total": totals[i]})
    return out


def why_none(entry: WeightedReward, stats: CallStats, details: Mapping[str, Any] | None, single: bool) -> str:
    """Which limit or error made a value None, or the reward's own reason for not applying."""
    own = details.get("why") if details else None
    if single:
        if stats.oversized:
            return "the completion is longer than max_input_chars: it was never given to the reward"
        if stats.timeouts:
            limit = entry.timeout if entry.timeout is not None else entry.spec.default_timeout
            return f"timed out (time limit {limit:g} s)" if limit else "timed out"
        if stats.errors:
            return f"raised: {stats.first_error}"
        return f"does not apply: {own}" if own else "does not apply to this row (the reward returned None)"
    if own:
        return f"does not apply: {own}"
    if stats.errors or stats.timeouts or stats.oversized:
        return (
            f"an error, a time-out or the size cap, or it does not apply (this batch: {stats.errors} error(s), "
            f"{stats.timeouts} time-out(s), {stats.oversized} over max_input_chars; first error: {stats.first_error}); "
            "`grpo-rewards explain` on this row says which"
        )
    return "does not apply to this row (the reward returned None)"


def _gate(entry: WeightedReward, is_open: bool, row: Mapping[str, float | None], counted: float | None) -> dict[str, Any]:
    assert entry.gate is not None
    read = ", ".join(f"{n} = {_number(row.get(n))}" for n in names_in(entry.gate))
    gate: dict[str, Any] = {"when": entry.when, "open": is_open, "because": read}
    if not is_open:
        gate["gives"] = counted
        gate["closed_rule"] = entry.describe_closed()
    return gate


def _number(value: float | None) -> str:
    return "None" if value is None else f"{value:g}"


def _secrets(entry: WeightedReward) -> list[str]:
    found = []
    for key, value in entry.params.items():
        if not isinstance(value, str) or not _SECRET_NAME.search(key):
            continue
        if key.endswith("_env"):
            value = os.environ.get(value, "")
        if len(value) >= 4:
            found.append(value)
    return found


def _redacted(value: Any, entry: WeightedReward) -> Any:
    """``value`` with every secret of the entry's parameters blanked out, however deep."""
    secrets = _secrets(entry)
    if not secrets:
        return value

    def clean(item: Any) -> Any:
        if isinstance(item, str):
            for secret in secrets:
                item = item.replace(secret, REDACTED)
            return item
        if isinstance(item, dict):
            return {k: clean(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [clean(v) for v in item]
        return item

    return clean(value)


def compact(explained: Mapping[str, Any]) -> dict[str, Any]:
    """One row's explanation (an item of :func:`explain_batch`) as JSONL files keep it: per reward
    what it read, why a None and a closed gate; values, weights and contributions stay where the
    file already keeps them. Rewards with nothing to say are left out."""
    out: dict[str, Any] = {}
    for name, item in explained["rewards"].items():
        small = {key: item[key] for key in ("read", "why_none") if key in item}
        gate = item.get("gate")
        if gate and not gate["open"]:
            small["gate"] = f"closed: {gate['when']} ({gate['because']})"
        if small:
            out[name] = small
    return out


def explain_rows(reward_set: RewardSet, batch: ScoreBatch, rows: Sequence[int], weights: Sequence[float]) -> list[dict[str, Any]]:
    """:func:`compact` explanations of ``rows`` of a batch scored for ``reward_set`` (possibly
    without its weights or gates, as the trainer's scorer does), at ``weights``; ``{}`` for every row
    when the batch does not hold every reward of the set (a canary skipped at this step)."""
    if list(batch.names) != list(reward_set.names):
        return [{} for _ in rows]
    picked = ScoreBatch(
        list(batch.names),
        list(weights),
        {n: [batch.values[n][i] for i in rows] for n in batch.names},
        batch.stats,
        reward_set.gate,
        {n: (None if d is None else [d[i] for i in rows]) for n, d in batch.details.items()},
    )
    return [compact(item) for item in explain_batch(reward_set, picked)]
