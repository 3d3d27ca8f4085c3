"""Canary rewards: raise the alarm while a reward is being won without doing the task.

A canary is a reward-set entry with ``canary = true``: scored during training with weight 0, so it
never enters the advantage, and watched here against the optimised total. Every generation batch
adds, per group, the group's mean total (the weighted sum TRL optimises) and each canary's group
mean. Once the run has ``2 x window`` steps, the groups of the last ``window`` steps are compared
with those of the first ``window`` steps (the baseline): when the total has risen and the canary
has fallen by more than ``threshold``, both with a 95% bootstrap interval (over groups) that
excludes no change, the canary raises an alarm. After an alarm the same canary stays quiet for a
window, so a lasting hack is reported once a window, not every step.

Every process holds the same gathered matrices and the bootstrap is seeded, so every process
reaches the same decision at the same step (``on_alarm = "stop"`` stops them all together).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from grpo_rewards.aggregation import weighted_total

ON_ALARM = ("warn", "checkpoint", "stop")
RESAMPLES = 2000
LEVEL = 0.95


@dataclass
class CanarySettings:
    """``[canaries]`` of the trainer config."""

    window: int = 10  # steps per window: the baseline is the first window, compared with the last
    threshold: float = 0.05  # the least fall of a canary's mean (its own units) that raises an alarm
    on_alarm: str = "warn"  # warn, checkpoint (save one at that step) or stop (save and stop)


@dataclass(frozen=True)
class Change:
    """The change of a mean between two windows of group means, with its bootstrap interval."""

    before: float
    after: float
    low: float
    high: float

    @property
    def delta(self) -> float:
        return self.after - self.before


def change(before: np.ndarray, after: np.ndarray, seed: int = 0) -> Change:
    """Difference of means (after - before) and its percentile bootstrap interval, resampling the
    groups of each window; NaN groups (a canary not scored) are left out."""
    before = before[~np.isnan(before)]
    after = after[~np.isnan(after)]
    if len(before) < 2 or len(after) < 2:
        nan = float("nan")
        return Change(nan, nan, nan, nan)
    rng = np.random.default_rng(seed)
    a = rng.choice(before, size=(RESAMPLES, len(before))).mean(axis=1)
    b = rng.choice(after, size=(RESAMPLES, len(after))).mean(axis=1)
    low, high = np.quantile(b - a, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return Change(float(before.mean()), float(after.mean()), float(low), float(high))


@dataclass(frozen=True)
class Alarm:
    step: int
    canary: str
    canary_change: Change
    total_change: Change

    def message(self) -> str:
        c, t = self.canary_change, self.total_change
        return (
            f"canary alarm at step {self.step}: {self.canary} fell from {c.before:.4g} to {c.after:.4g} "
            f"(change {c.delta:+.4g}, 95% interval [{c.low:+.4g}, {c.high:+.4g}]) while the optimised total rose "
            f"from {t.before:.4g} to {t.after:.4g} ({t.delta:+.4g}, [{t.low:+.4g}, {t.high:+.4g}])"
        )


@dataclass
class CanaryWatch:
    """Group means per step, and the alarm test."""

    names: list[str]  # every reward of the matrix, in order
    canaries: list[str]
    group_size: int
    settings: CanarySettings
    _steps: list[int] = field(default_factory=list)
    _totals: list[np.ndarray] = field(default_factory=list)
    _canary_means: list[np.ndarray] = field(default_factory=list)  # groups x canaries per batch
    _quiet_until: dict[str, int] = field(default_factory=dict)

    def add(self, step: int, values: np.ndarray, weights: Sequence[float]) -> list[Alarm]:
        """One batch (N x K, what TRL receives) at ``step``; returns the alarms it raises."""
        values = np.asarray(values, dtype=float)
        groups = len(values) // self.group_size
        total = weighted_total(values, weights).reshape(groups, self.group_size)
        columns = [self.names.index(c) for c in self.canaries]
        canary = values[:, columns].reshape(groups, self.group_size, len(columns))
        self._totals.append(_nanmean(total, axis=1))
        self._canary_means.append(_nanmean(canary, axis=1))
        self._steps.append(step)
        return self.check(step)

    def windows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """(baseline totals, baseline canaries, current totals, current canaries), by group."""
        steps = sorted(set(self._steps))
        w = self.settings.window
        if len(steps) < 2 * w:
            return None
        first, last = set(steps[:w]), set(steps[-w:])
        pick = lambda chosen, parts: np.concatenate([p for s, p in zip(self._steps, parts) if s in chosen])  # noqa: E731
        return (
            pick(first, self._totals),
            pick(first, self._canary_means),
            pick(last, self._totals),
            pick(last, self._canary_means),
        )

    def check(self, step: int) -> list[Alarm]:
        found = self.windows()
        if found is None:
            return []
        base_total, base_canary, cur_total, cur_canary = found
        total = change(base_total, cur_total, seed=step)
        if not total.low > 0:
            return []
        alarms = []
        for k, name in enumerate(self.canaries):
            if step < self._quiet_until.get(name, 0):
                continue
            moved = change(base_canary[:, k], cur_canary[:, k], seed=step + k + 1)
            if moved.high < 0 and moved.delta < -self.settings.threshold:
                alarms.append(Alarm(step, name, moved, total))
                self._quiet_until[name] = step + self.settings.window
        return alarms

    def baseline(self) -> tuple[float, np.ndarray] | None:
        """Mean total and mean of each canary over the baseline window (for choosing the groups that show an alarm)."""
        found = self.windows()
        if found is None:
            return None
        return float(_nanmean(found[0])), _nanmean(found[1], axis=0)


def showing_groups(
    values: np.ndarray, weights: Sequence[float], group_size: int, canary_column: int, base_total: float, base_canary: float
) -> list[int]:
    """Groups of a batch that show the alarm: total above the baseline's, canary below, the
    steepest canary fall first."""
    values = np.asarray(values, dtype=float)
    groups = len(values) // group_size
    total = _nanmean(weighted_total(values, weights).reshape(groups, group_size), axis=1)
    canary = _nanmean(values[:, canary_column].reshape(groups, group_size), axis=1)
    chosen = [g for g in range(groups) if total[g] > base_total and canary[g] < base_canary]
    return sorted(chosen, key=lambda g: canary[g])


def _nanmean(values: np.ndarray, axis: int | None = None) -> np.ndarray:
    """nanmean without the warning for an all-NaN slice (a canary not scored: NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmean(values, axis=axis))
