"""The one place where a reward set's total and GRPO's advantage are formed, as TRL 1.16 forms them.

TRL's ``GRPOTrainer._generate_and_score_completions`` turns the N x K matrix of raw scores (NaN for
None; rows in consecutive groups of ``num_generations``) into advantages in one of two ways:

``sum_then_normalize`` (default)
    ``r = nansum_k(w_k r_k)``; a row where every reward is None is *unscorable*: NaN, left out of
    its group's mean and std. ``A = r - nanmean_g(r)``, divided by ``std + 1e-4`` unless
    ``scale_rewards = "none"``; the std is the group's (``"group"``) or the batch's (``"batch"``),
    with Bessel's correction over the present values (NaN with fewer than two).
``normalize_then_sum`` (GDPO)
    each reward is standardised in its group first, ``z_k = (r_k - nanmean_g) / (nanstd_g + 1e-4)``,
    then ``R = nansum_k(w_k z_k)`` (unscorable rows NaN) is standardised over the whole batch;
    ``scale_rewards`` is ignored.

Either way a NaN advantage (unscorable rows, a group with one scorable row) becomes 0. Beside the
advantage this module returns its decomposition into one column per reward (``components``, summing
to the advantage row by row), from which the shares follow, and the per-reward group spreads GDPO
divides by. numpy only: the core, the bench and the trainer (on TRL's gathered matrix) share it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MODES = ("sum_then_normalize", "normalize_then_sum")
SCALES = ("group", "batch", "none")
EPS = 1e-4  # TRL's constant in both branches
AMPLIFY_STD = 0.01  # a group spread below this (raw scale) that GDPO still standardises to unit size
_ZERO = 1e-8


@dataclass(frozen=True)
class Aggregation:
    """TRL's ``multi_objective_aggregation`` and ``scale_rewards``, validated."""

    mode: str = "sum_then_normalize"
    scale_rewards: str = "group"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"multi_objective_aggregation must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.scale_rewards not in SCALES:
            raise ValueError(f"scale_rewards must be one of {', '.join(SCALES)}, got {self.scale_rewards!r}")

    @classmethod
    def from_grpo(cls, grpo: Mapping[str, Any]) -> Aggregation:
        """From ``[grpo]`` keys or GRPOConfig attributes; ``scale_rewards`` True/False as TRL reads them."""
        scale = grpo.get("scale_rewards", "group")
        scale = {True: "group", False: "none"}.get(scale, scale) if isinstance(scale, bool) else scale
        return cls(grpo.get("multi_objective_aggregation", "sum_then_normalize"), scale)

    @property
    def is_gdpo(self) -> bool:
        return self.mode == "normalize_then_sum"

    @property
    def label(self) -> str:
        """``sum_then_normalize/group``; GDPO ignores scale_rewards, so just ``normalize_then_sum``."""
        return self.mode if self.is_gdpo else f"{self.mode}/{self.scale_rewards}"


def all_aggregations() -> list[Aggregation]:
    """The distinct modes TRL offers: three scalings of sum-then-normalise, and GDPO."""
    return [Aggregation("sum_then_normalize", s) for s in SCALES] + [Aggregation("normalize_then_sum", "group")]


@dataclass
class Advantages:
    """What TRL computes from one batch, and its decomposition by reward."""

    total: np.ndarray  # N: the quantity that is normalised (r, or GDPO's sum of w_k z_k); NaN if unscorable
    advantages: np.ndarray  # N, NaN turned into 0 as TRL does
    components: np.ndarray  # N x K; each row sums to its advantage
    std: np.ndarray  # N: the std each row's advantage was divided by (NaN where undefined)
    unscorable: np.ndarray  # N bool: every reward None
    reward_std: np.ndarray | None  # groups x K per-reward group std (GDPO only)


def nanstd(values: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    """TRL's ``nanstd``: Bessel-corrected over the present values, NaN with fewer than two."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        count = np.sum(~np.isnan(values), axis=axis, keepdims=keepdims)
        variance = np.nanmean((values - np.nanmean(values, axis=axis, keepdims=True)) ** 2, axis=axis, keepdims=keepdims)
        variance = np.where(count > 1, variance * count / np.maximum(count - 1, 1), np.nan)
    return np.sqrt(variance)


def _nanmean(values: np.ndarray, axis: int | None = None, keepdims: bool = False) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.asarray(np.nanmean(values, axis=axis, keepdims=keepdims))


def as_matrix(values: np.ndarray | Sequence[Sequence[float | None]], columns: int) -> np.ndarray:
    """An N x K float array with NaN for None."""
    if isinstance(values, np.ndarray):
        return values.astype(float).reshape(-1, columns)
    rows = [[np.nan if v is None else float(v) for v in row] for row in values]
    return np.array(rows, dtype=float).reshape(-1, columns)


def _weights(weights: Sequence[float] | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.broadcast_to(w if w.ndim == 2 else w.reshape(1, -1), shape)


def weighted_total(matrix: np.ndarray, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """``nansum_k(w_k r_k)`` per row, NaN for a row where every reward is None (TRL leaves it out)
    and for a row whose sum overflows a float (huge scores times a large weight): no total, never
    an infinite one.

    ``weights`` is K, or N x K when rows were scored at different weights (a schedule).
    """
    matrix = np.asarray(matrix, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        weighted = matrix * _weights(weights, matrix.shape)
        total = np.nansum(weighted, axis=1)
    total[np.isnan(matrix).all(axis=1) | ~np.isfinite(total)] = np.nan
    return np.asarray(total)


def compute_advantages(
    values: np.ndarray | Sequence[Sequence[float | None]],
    weights: Sequence[float] | np.ndarray,
    group_size: int,
    aggregation: Aggregation = Aggregation(),
) -> Advantages:
    """TRL's advantages for one batch of rows (``values`` N x K, None/NaN for no score)."""
    k = int(np.shape(weights)[-1])
    matrix = as_matrix(values, k)
    n = matrix.shape[0]
    if group_size < 1 or n % group_size:
        raise ValueError(f"{n} rows do not split into groups of {group_size}")
    w = _weights(weights, matrix.shape)
    unscorable = np.isnan(matrix).all(axis=1)
    groups = n // group_size
    reward_std = None
    if aggregation.is_gdpo:
        grouped = matrix.reshape(groups, group_size, k)
        mean_k = _nanmean(grouped, axis=1, keepdims=True)
        std_k = nanstd(grouped, axis=1, keepdims=True) if group_size > 1 else np.zeros_like(mean_k)
        reward_std = std_k.reshape(groups, k)
        parts = ((grouped - mean_k) / (std_k + EPS)).reshape(n, k) * w
        total = np.nansum(parts, axis=1)
        total[unscorable] = np.nan
        std = np.broadcast_to(nanstd(total) if n > 1 else np.float64(0.0), (n,)).astype(float)
        baseline = np.broadcast_to(_nanmean(total), (n,))
        scaled = True
        part_baseline = np.broadcast_to(
            _nanmean(np.where(unscorable[:, None], np.nan, np.nan_to_num(parts, nan=0.0)), axis=0, keepdims=True), (n, k)
        )
    else:
        parts = matrix * w
        total = np.nansum(parts, axis=1)
        total[unscorable] = np.nan
        by_group = total.reshape(groups, group_size)
        baseline = np.repeat(_nanmean(by_group, axis=1), group_size)
        if aggregation.scale_rewards in ("group", "none"):
            std = np.repeat(nanstd(by_group, axis=1), group_size) if group_size > 1 else np.zeros(n)
        else:
            std = np.broadcast_to(nanstd(total) if n > 1 else np.float64(0.0), (n,)).astype(float)
        scaled = aggregation.scale_rewards != "none"
        present_parts = np.where(unscorable[:, None], np.nan, np.nan_to_num(parts, nan=0.0))
        part_baseline = np.repeat(_nanmean(present_parts.reshape(groups, group_size, k), axis=1), group_size, axis=0)
    advantages = total - baseline
    components = np.nan_to_num(parts, nan=0.0) - part_baseline
    if scaled:
        advantages = advantages / (std + EPS)
        components = components / (std + EPS)[:, None]
    advantages = np.nan_to_num(advantages, nan=0.0)
    # A row whose advantage TRL turned into 0 (unscorable, or a NaN spread) contributes nothing.
    components = np.where(np.isnan(components).any(axis=1, keepdims=True) | unscorable[:, None], 0.0, components)
    return Advantages(total, advantages, components, np.asarray(std, dtype=float), unscorable, reward_std)


def share_terms(result: Advantages) -> tuple[np.ndarray, float]:
    """Numerators (K) and the denominator of the shares: ``sum_i c_ik A_i`` and ``sum_i A_i^2``.

    Kept separate so that several batches pool into one share (ratio of sums).
    """
    a = result.advantages
    return (result.components * a[:, None]).sum(axis=0), float((a**2).sum())


def shares(numerators: np.ndarray, denominator: float) -> np.ndarray:
    """How much of the advantage each reward drives; sums to 1, NaN when there is no advantage at all."""
    if denominator <= _ZERO:
        return np.full(len(numerators), np.nan)
    return np.asarray(numerators, dtype=float) / denominator


def amplified_groups(result: Advantages, threshold: float = AMPLIFY_STD) -> tuple[np.ndarray, np.ndarray]:
    """Per reward: groups where GDPO blows a near-constant reward up to full size, and groups counted.

    Amplified: the reward's group std is at least TRL's eps (so its standardised values reach at
    least half of unit size) yet below ``threshold`` on the raw scale. Counted: groups where the
    std is defined (two or more present values). Zeros when not GDPO.
    """
    if result.reward_std is None:
        k = result.components.shape[1]
        return np.zeros(k), np.zeros(k)
    std = result.reward_std
    defined = ~np.isnan(std)
    amplified = defined & (std >= EPS) & (std < threshold)
    return amplified.sum(axis=0).astype(float), defined.sum(axis=0).astype(float)


def close_gates(matrix: np.ndarray, open_: np.ndarray | None, closed: Sequence[float] | np.ndarray | None) -> np.ndarray:
    """``matrix`` (N x K raw scores, NaN for None) with every closed gate applied: where ``open_``
    is False the score becomes ``min(score, closed[k])`` (NaN stays NaN). ``closed`` is K values
    (NaN for an ungated reward, never read); ``open_`` None: no gates."""
    matrix = np.asarray(matrix, dtype=float)
    if open_ is None:
        return matrix
    if closed is None:
        if not np.all(open_):
            raise ValueError("closed gates need the closed values (RewardSet.closed_values)")
        return matrix
    bound = np.broadcast_to(np.asarray(closed, dtype=float).reshape(1, -1), matrix.shape)
    return np.where(open_, matrix, np.minimum(matrix, bound))


def group_spread(advantages: np.ndarray, group_size: int) -> np.ndarray:
    """Per group, how far apart its advantages lie (max - min): 0 for a group that teaches nothing
    (every completion pushed the same way, or not at all). ``advantages`` as ``compute_advantages``
    returns them, rows in consecutive groups of ``group_size``."""
    a = np.asarray(advantages, dtype=float)
    if group_size < 1 or a.size % group_size:
        raise ValueError(f"{a.size} advantages do not split into groups of {group_size}")
    grouped = a.reshape(-1, group_size)
    return np.asarray(grouped.max(axis=1) - grouped.min(axis=1)) if grouped.size else np.zeros(0)
