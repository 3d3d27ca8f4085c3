"""``--compare``: did training improve the held-out task, not only the training reward?

Both models answer the same held-out prompts. For each reward (and the weighted total) the
figure is the mean over prompts of the per-prompt mean score, and the delta is B - A. Completions
of one prompt are not independent, so the confidence interval resamples *prompts* (a paired,
clustered percentile bootstrap): each resample draws prompts with replacement and recomputes
the mean of the per-prompt differences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def prompt_means(groups: Sequence[Sequence[float | None]]) -> np.ndarray:
    """The mean present score of each prompt's completions (NaN when none is present)."""
    out = np.full(len(groups), np.nan)
    for i, values in enumerate(groups):
        present = [v for v in values if v is not None]
        if present:
            out[i] = float(np.mean(present))
    return out


def bootstrap_delta(a: np.ndarray, b: np.ndarray, resamples: int = 2000, level: float = 0.95, seed: int = 0) -> dict[str, Any]:
    """Mean of ``b - a`` over prompts where both are present, with a percentile bootstrap interval."""
    both = ~np.isnan(a) & ~np.isnan(b)
    diff = (b - a)[both]
    n = int(both.sum())
    if not n:
        return {"prompts": 0, "a": None, "b": None, "delta": None, "low": None, "high": None, "significant": False}
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(resamples, n))
    means = diff[draws].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return {
        "prompts": n,
        "a": float(a[both].mean()),
        "b": float(b[both].mean()),
        "delta": float(diff.mean()),
        "low": float(low),
        "high": float(high),
        "significant": bool(low > 0 or high < 0),
    }


def compare_sides(
    names: Sequence[str],
    a: Mapping[str, Sequence[Sequence[float | None]]],
    b: Mapping[str, Sequence[Sequence[float | None]]],
    resamples: int = 2000,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """One row per metric in ``names``: the values are groups of scores, aligned by prompt."""
    rows = []
    for name in names:
        row = bootstrap_delta(prompt_means(a[name]), prompt_means(b[name]), resamples=resamples, seed=seed)
        rows.append({"metric": name, **row})
    return rows
