"""Fail closed: a reward that declares it needs a certificate (an LLM judge, see
:class:`~grpo_rewards.reward.Certification`) pays reward in training only with a valid one.

``train`` (at start) and ``check`` / ``train --dry-run`` (before any model loads) call
:func:`enforce`: an entry whose certificate file is missing, unreadable, stale (the reward's own
``verify`` compares model, endpoint and prompt) or below its thresholds keeps its place in the set
but runs as a metric only (weight 0, no schedule), and a warning says why. ``allow_uncertified =
true`` on the entry keeps its weight (with a warning too). An entry that pays nothing anyway
(weight 0, ``eval_only``, a canary) needs no certificate.

Why here and not in the reward: the reward cannot refuse its own weight, and the trainer must not
match reward names; the declaration says *that* a certificate is needed, the reward says *what*
makes one valid.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from .rewardset import RewardSet, WeightedReward


def _pays(entry: WeightedReward) -> bool:
    return not entry.eval_only and not entry.canary and (entry.schedule is not None or entry.weight != 0)


def reasons(entry: WeightedReward) -> list[str]:
    """Why ``entry`` may not pay reward (empty: it may, or it needs no certificate)."""
    declared = entry.spec.certification
    if declared is None:
        return []
    if entry.certificate is None:
        return [f'no certificate: name one with certificate = "cert.json" ({declared.how})']
    path = Path(entry.certificate)
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return [f"certificate {path} does not exist ({declared.how})"]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"certificate {path} cannot be read: {type(exc).__name__}"]
    if not isinstance(data, dict):
        return [f"certificate {path} is not a JSON object"]
    thresholds = {**declared.thresholds, **entry.certificate_thresholds}
    try:
        found = declared.verify(entry.params, data, thresholds)
    except Exception as exc:  # a malformed certificate must refuse, never crash the run
        return [f"certificate {path} is malformed: {type(exc).__name__}: {str(exc)[:200]}"]
    return [f"certificate {path}: {reason}" for reason in found]


def enforce(reward_set: RewardSet) -> tuple[RewardSet, list[str]]:
    """The set as training runs it, and one warning per entry that needs a certificate and has no
    valid one. The set is a new one when anything changed (the caller's is left alone)."""
    warnings: list[str] = []
    entries: list[WeightedReward] = []
    changed = False
    for index, entry in enumerate(reward_set.rewards):
        found = reasons(entry) if _pays(entry) else []
        where = f"{reward_set.source}: rewards[{index}] ({entry.name})"
        if found and entry.allow_uncertified:
            warnings.append(f"{where}: trains uncertified (allow_uncertified = true): {'; '.join(found)}")
        elif found:
            warnings.append(
                f"{where}: runs as a metric only (weight 0), refused weight because: {'; '.join(found)}; "
                "set allow_uncertified = true to train on it anyway"
            )
            entry = replace(entry, weight=0.0, schedule=None, uncertified="; ".join(found))
            changed = True
        entries.append(entry)
    if not changed:
        return reward_set, warnings
    return RewardSet(entries, reward_set.source, reward_set.step), warnings
