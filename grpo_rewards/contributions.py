"""What each reward contributes to GRPO's learning signal.

GRPO learns from the spread of the total reward ``r = sum_k w_k r_k`` inside each group of
completions of one prompt. A reward's mean says how big it is, not what it does. Its *share* says
how much of the advantage signal it drives::

    share_k = sum_g Cov_g(w_k r_k, r) / sum_g Var_g(r)

The shares sum to 1 over the rewards (covariance is linear in its first argument). A None score
(NaN here) counts as 0 in both terms, exactly as TRL's ``nansum`` leaves it out of the total.
Beside the share: the fraction of groups in which a reward has no spread (gives no signal), its
None rate, and the correlation between rewards (two that always agree are one reward counted
twice; a negative one is a tug of war).

Pure numpy, so the trainer (on TRL's gathered tensors) and the benchmark share it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

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

    def as_metrics(self, prefix: str = "rewards") -> dict[str, float]:
        """Flat ``rewards/<name>/<figure>`` keys, beside TRL's ``rewards/<name>/mean``."""
        out: dict[str, float] = {}
        for name in self.names:
            out[f"{prefix}/{name}/weighted_mean"] = self.weighted_mean[name]
            out[f"{prefix}/{name}/share"] = self.share[name]
            out[f"{prefix}/{name}/zero_spread"] = self.zero_spread[name]
            out[f"{prefix}/{name}/none_rate"] = self.none_rate[name]
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
    weights: Sequence[float],
    group_size: int,
    names: Sequence[str],
) -> Contributions:
    """Contribution figures from raw scores.

    ``values`` is N x K (rows x rewards), None/NaN for a missing score, rows ordered so that each
    consecutive block of ``group_size`` rows is one prompt's group (TRL's layout).
    """
    matrix = as_matrix(values, len(names))
    n, k = matrix.shape
    if k != len(names) or len(weights) != k:
        raise ValueError(f"got {k} reward columns, {len(names)} names and {len(weights)} weights")
    if group_size < 1 or n % group_size:
        raise ValueError(f"{n} rows do not split into groups of {group_size}")
    w = np.asarray(weights, dtype=float)
    missing = np.isnan(matrix)
    weighted = np.where(missing, 0.0, matrix) * w  # N x K, None -> 0 as in TRL's nansum
    total = weighted.sum(axis=1)

    groups = n // group_size
    weighted_g = weighted.reshape(groups, group_size, k)
    total_g = total.reshape(groups, group_size)
    centred_total = total_g - total_g.mean(axis=1, keepdims=True)
    centred_parts = weighted_g - weighted_g.mean(axis=1, keepdims=True)
    covariance = (centred_parts * centred_total[:, :, None]).mean(axis=1).sum(axis=0)  # K
    variance = (centred_total**2).mean(axis=1).sum()
    shares = covariance / variance if variance > _SPREAD_EPS else np.full(k, np.nan)

    raw_g = matrix.reshape(groups, group_size, k)
    with warnings.catch_warnings():  # all-None groups/columns give NaN on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        spread = np.nanmax(raw_g, axis=1) - np.nanmin(raw_g, axis=1)
        weighted_mean = np.nanmean(matrix * w, axis=0) if n else np.full(k, np.nan)
    # A group where a reward is None everywhere gives no signal either.
    zero_spread = np.where(np.isnan(spread), True, spread <= _SPREAD_EPS).mean(axis=0) if groups else np.full(k, np.nan)
    total_spread = total_g.max(axis=1) - total_g.min(axis=1) if groups else np.zeros(0)
    return Contributions(
        names=list(names),
        weighted_mean={name: float(weighted_mean[i]) for i, name in enumerate(names)},
        share={name: float(shares[i]) for i, name in enumerate(names)},
        zero_spread={name: float(zero_spread[i]) for i, name in enumerate(names)},
        none_rate={name: float(missing[:, i].mean()) if n else float("nan") for i, name in enumerate(names)},
        correlation=correlation_matrix(matrix),
        total_zero_spread=float((total_spread <= _SPREAD_EPS).mean()) if groups else float("nan"),
    )


def as_matrix(values: np.ndarray | Sequence[Sequence[float | None]], columns: int) -> np.ndarray:
    """An N x K float array with NaN for None."""
    if isinstance(values, np.ndarray):
        return values.astype(float).reshape(-1, columns)
    rows = [[np.nan if v is None else float(v) for v in row] for row in values]
    return np.array(rows, dtype=float).reshape(-1, columns)


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

