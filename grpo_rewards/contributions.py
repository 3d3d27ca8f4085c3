"""What each reward contributes to GRPO's learning signal.

GRPO learns from the advantage, and :mod:`grpo_rewards.aggregation` splits the advantage TRL
computed into one component per reward (``c_ik``, summing to ``A_i``). A reward's *share* is the
part of the advantage's energy it drives::

    share_k = sum_i c_ik A_i / sum_i A_i^2

The shares sum to 1 over the rewards. Under TRL's default ``sum_then_normalize`` with
``scale_rewards = "none"`` this is ``sum_g Cov_g(w_k r_k, r) / sum_g Var_g(r)``; with ``"group"``
each group counts by the inverse of its spread, as in the advantage; under GDPO the components
are the weighted, group-standardised rewards before the batch normalisation. A None score, or a
closed gate, adds nothing (TRL's nansum). Beside the share: the fraction of groups in which a reward
has no spread (gives no signal), its None rate, how often its gate is closed, under GDPO how often
standardisation blows a near-constant reward up to full size, and the correlation between rewards
(two that always agree are one reward counted twice; a negative one is a tug of war).

Pure numpy, so the trainer (on TRL's gathered tensors) and the benchmark share it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .aggregation import (
    Aggregation,
    amplified_groups,
    as_matrix,
    close_gates,
    compute_advantages,
    share_terms,
    shares,
    weighted_total,
)

_SPREAD_EPS = 1e-9


@dataclass
class Contributions:
    """Per-reward contribution figures for one batch (or a whole benchmark)."""

    names: list[str]
    weighted_mean: dict[str, float]
    share: dict[str, float]
    zero_spread: dict[str, float]
    none_rate: dict[str, float]
    correlation: np.ndarray  # K x K Pearson correlation of the raw scores (NaN where undefined)
    total_zero_spread: float  # fraction of groups where the weighted total has no spread
    aggregation: Aggregation = field(default_factory=Aggregation)
    gated_rate: dict[str, float] = field(default_factory=dict)  # gated rewards only
    amplified: dict[str, float] = field(default_factory=dict)  # GDPO only

    def as_metrics(self, prefix: str = "rewards") -> dict[str, float]:
        """Flat ``rewards/<name>/<figure>`` keys, beside TRL's ``rewards/<name>/mean``."""
        out: dict[str, float] = {}
        for name in self.names:
            out[f"{prefix}/{name}/weighted_mean"] = self.weighted_mean[name]
            out[f"{prefix}/{name}/share"] = self.share[name]
            out[f"{prefix}/{name}/zero_spread"] = self.zero_spread[name]
            out[f"{prefix}/{name}/none_rate"] = self.none_rate[name]
            if name in self.gated_rate:
                out[f"{prefix}/{name}/gated_rate"] = self.gated_rate[name]
            if name in self.amplified:
                out[f"{prefix}/{name}/amplified"] = self.amplified[name]
        return out

    def correlation_pairs(self, prefix: str = "rewards/corr") -> dict[str, float]:
        """``rewards/corr/<a>~<b>`` for each pair of rewards."""
        pairs = {}
        for i, a in enumerate(self.names):
            for j in range(i + 1, len(self.names)):
                pairs[f"{prefix}/{a}~{self.names[j]}"] = float(self.correlation[i, j])
        return pairs


def compute_contributions(
    values: np.ndarray | Sequence[Sequence[float | None]],
    weights: Sequence[float] | np.ndarray,
    group_size: int,
    names: Sequence[str],
    aggregation: Aggregation = Aggregation(),
    gate_open: np.ndarray | None = None,
    gated: Sequence[str] = (),
    batch_size: int | None = None,
    closed_values: Sequence[float] | None = None,
) -> Contributions:
    """Contribution figures from raw scores.

    ``values`` is N x K (rows x rewards), None/NaN for a missing score, rows ordered so that each
    consecutive block of ``group_size`` rows is one prompt's group (TRL's layout). ``weights`` is
    K, or N x K when batches were scored at different weights. ``gate_open`` (N x K) says where
    gates were open and ``closed_values`` (K) what a closed one gives (aggregation.close_gates); ``gated`` names the
    rewards that have a gate. The advantage is formed per
    consecutive block of ``batch_size`` rows (one generation batch; default: all rows), as TRL's
    batch scaling and GDPO's batch normalisation see them.
    """
    matrix = as_matrix(values, len(names))
    n, k = matrix.shape
    w = np.asarray(weights, dtype=float)
    if k != len(names) or w.shape[-1] != k:
        raise ValueError(f"got {k} reward columns, {len(names)} names and {w.shape[-1]} weights")
    if group_size < 1 or n % group_size:
        raise ValueError(f"{n} rows do not split into groups of {group_size}")
    w = np.broadcast_to(w if w.ndim == 2 else w.reshape(1, -1), (n, k))
    if gate_open is not None and closed_values is None:
        raise ValueError("gate_open needs closed_values: what a closed gate gives (RewardSet.closed_values)")
    scored = close_gates(matrix, gate_open, closed_values)
    batch_size = batch_size or n or group_size
    numerators, denominator = np.zeros(k), 0.0
    amplified, counted = np.zeros(k), np.zeros(k)
    for start in range(0, n, batch_size):
        block = slice(start, start + batch_size)
        result = compute_advantages(scored[block], w[block], group_size, aggregation)
        num, den = share_terms(result)
        numerators, denominator = numerators + num, denominator + den
        a, c = amplified_groups(result)
        amplified, counted = amplified + a, counted + c
    share = shares(numerators, denominator)

    groups = n // group_size
    total_g = weighted_total(scored, w).reshape(groups, group_size)
    raw_g = matrix.reshape(groups, group_size, k)
    with warnings.catch_warnings():  # all-None groups/columns give NaN on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = np.nanmax(raw_g, axis=1) - np.nanmin(raw_g, axis=1)
        weighted_mean = np.nanmean(scored * w, axis=0) if n else np.full(k, np.nan)
        total_spread = np.nanmax(total_g, axis=1) - np.nanmin(total_g, axis=1) if groups else np.zeros(0)
    # A group where a reward is None everywhere gives no signal either.
    zero_spread = np.where(np.isnan(spread), True, spread <= _SPREAD_EPS).mean(axis=0) if groups else np.full(k, np.nan)
    missing = np.isnan(matrix)
    closed = ~gate_open if gate_open is not None else np.zeros_like(missing)
    return Contributions(
        names=list(names),
        weighted_mean={name: float(weighted_mean[i]) for i, name in enumerate(names)},
        share={name: float(share[i]) for i, name in enumerate(names)},
        zero_spread={name: float(zero_spread[i]) for i, name in enumerate(names)},
        none_rate={name: float(missing[:, i].mean()) if n else float("nan") for i, name in enumerate(names)},
        correlation=correlation_matrix(matrix),
        total_zero_spread=float(np.where(np.isnan(total_spread), True, total_spread <= _SPREAD_EPS).mean())
        if groups
        else float("nan"),
        aggregation=aggregation,
        gated_rate={name: float(closed[:, i].mean()) if n else float("nan") for i, name in enumerate(names) if name in gated},
        amplified={name: float(amplified[i] / counted[i]) if counted[i] else float("nan") for i, name in enumerate(names)}
        if aggregation.is_gdpo
        else {},
    )


def correlation_matrix(matrix: np.ndarray) -> np.ndarray:
    """Pearson correlation between reward columns over rows where both are present.

    NaN where a column has no variance over the shared rows (correlation is undefined there).
    """
    k = matrix.shape[1] if matrix.ndim == 2 else 0
    out = np.full((k, k), np.nan)
    for i in range(k):
        for j in range(i, k):
            both = ~np.isnan(matrix[:, i]) & ~np.isnan(matrix[:, j])
            a, b = matrix[both, i], matrix[both, j]
            if len(a) > 1 and a.std() > _SPREAD_EPS and b.std() > _SPREAD_EPS:
                out[i, j] = out[j, i] = float(np.corrcoef(a, b)[0, 1])
    return out
