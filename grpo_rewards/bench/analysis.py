"""The figures of a benchmark: per-reward statistics, within-group spread, agreement with gold
labels, contributions to the advantage and group-size guidance.

Inputs are plain lists grouped by prompt (``values[k]`` = one reward's scores of one group's
completions, None for no score), so every figure can be checked by hand on a small example.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from math import comb
from typing import Any

import numpy as np

from ..aggregation import Aggregation, as_matrix, weighted_total
from ..contributions import compute_contributions
from ..reward import CallStats

TOL = 1e-9
DISCRETE_MAX = 12  # at most this many distinct values: report counts per value, not bins
_WORD = re.compile(r"[^\W\d_]+")  # runs of letters (numbers restated in a calculation are not keywords); linear time


def repeated_words(text: str) -> float:
    """The fraction of a completion's words (letters only) that repeat an earlier one (0 for fewer
    than 2 words): keyword lists that win an embedding-similarity reward ("Translation Grammar
    Grammar ...") show up here, where no length or similarity figure sees them."""
    words = [w.lower() for w in _WORD.findall(text)]
    return 1 - len(set(words)) / len(words) if len(words) > 1 else 0.0


# Figures read from a completion's text beside the rewards (in --compare): name -> how.
TEXT_METRICS: dict[str, Callable[[str], float]] = {
    "length_chars": lambda text: float(len(text)),
    "repeated_words": repeated_words,
}


def _present(values: Sequence[float | None]) -> np.ndarray:
    return np.array([v for v in values if v is not None], dtype=float)


def histogram(values: Sequence[float | None], bins: int = 20) -> dict[str, Any]:
    """Counts per distinct value when there are few, else ``bins`` equal-width bins."""
    arr = _present(values)
    if not len(arr):
        return {"kind": "empty"}
    distinct, counts = np.unique(arr, return_counts=True)
    if len(distinct) <= DISCRETE_MAX:
        return {"kind": "values", "values": distinct.tolist(), "counts": counts.tolist()}
    counts, edges = np.histogram(arr, bins=bins)
    return {"kind": "bins", "edges": edges.tolist(), "counts": counts.tolist()}


def reward_summary(values: Sequence[float | None], stats: CallStats, latency_ms: Sequence[float]) -> dict[str, Any]:
    """Mean, std, range, histogram, None/error/timeout rates, latency p50/p99 and rows/s of one reward."""
    arr = _present(values)
    rows = stats.rows or len(values)
    mean_latency = stats.latency_ms
    return {
        "rows": rows,
        "scored": int(len(arr)),
        "mean": float(arr.mean()) if len(arr) else None,
        "std": float(arr.std()) if len(arr) else None,
        "min": float(arr.min()) if len(arr) else None,
        "max": float(arr.max()) if len(arr) else None,
        "histogram": histogram(values),
        "none_rate": stats.nones / rows if rows else None,
        "error_rate": stats.errors / rows if rows else None,
        "timeout_rate": stats.timeouts / rows if rows else None,
        "first_error": stats.first_error,
        "latency_ms_mean": mean_latency,
        "latency_ms_p50": float(np.percentile(latency_ms, 50)) if len(latency_ms) else mean_latency,
        "latency_ms_p99": float(np.percentile(latency_ms, 99)) if len(latency_ms) else None,
        "rows_per_s": rows / stats.seconds if stats.seconds > 0 else None,
    }


def group_range(values: Sequence[float | None]) -> float | None:
    """max - min of a group's scores (None ignored); None when fewer than two are present."""
    arr = _present(values)
    return float(arr.max() - arr.min()) if len(arr) >= 2 else None


def spread_fraction(groups: Sequence[Sequence[float | None]]) -> float | None:
    """The fraction of prompts whose completions the reward separates (some pair differs).

    Only groups of two or more completions count; a group whose present scores are all equal,
    or with fewer than two present, gives GRPO nothing to learn from.
    """
    counted = [g for g in groups if len(g) >= 2]
    if not counted:
        return None
    return sum((r := group_range(g)) is not None and r > TOL for g in counted) / len(counted)


def weighted_totals(values: Sequence[Sequence[float | None]], weights: Sequence[float]) -> list[float | None]:
    """``sum_k w_k r_k`` per row (rows x rewards input) as TRL forms it (``aggregation.weighted_total``):
    a None adds nothing, and a row where every reward is None has no total (None)."""
    if not len(values):
        return []
    totals = weighted_total(as_matrix(values, len(weights)), weights)
    return [None if math.isnan(t) else float(t) for t in totals]


def spread_probability(values: Sequence[float], g: int) -> float:
    """The probability that ``g`` of a group's completions, drawn without replacement, differ.

    Exact: one minus the share of size-``g`` subsets whose values are all equal, which is
    ``sum over distinct values v of C(n_v, g) / C(n, g)``.
    """
    n = len(values)
    if g < 2 or g > n:
        return 0.0
    ordered = sorted(values)
    sizes, run = [], 1
    for a, b in zip(ordered, ordered[1:]):
        if b - a <= TOL * max(1.0, abs(a)):
            run += 1
        else:
            sizes.append(run)
            run = 1
    sizes.append(run)
    return 1.0 - sum(comb(s, g) for s in sizes) / comb(n, g)


def group_size_guidance(totals_by_group: Sequence[Sequence[float]]) -> list[dict[str, Any]]:
    """For each group size g from 2 to the largest group: the expected fraction of groups in
    which the weighted total has spread, if only g of the completions had been sampled.

    Averages the exact subsampling probability over groups that have at least g completions;
    ``gain`` is what the g-th completion adds over g-1.
    """
    largest = max((len(t) for t in totals_by_group), default=0)
    out: list[dict[str, Any]] = []
    previous = 0.0
    for g in range(2, largest + 1):
        eligible = [t for t in totals_by_group if len(t) >= g]
        fraction = float(np.mean([spread_probability(t, g) for t in eligible]))
        out.append({"g": g, "groups": len(eligible), "fraction_with_spread": fraction, "gain": fraction - previous})
        previous = fraction
    return out


def as_label(value: Any) -> bool | None:
    """A gold label as True/False: booleans, 1/0, and yes/no/true/false/correct/incorrect strings."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
        return {1: True, 0: False}.get(int(value)) if value in (0, 1) else None
    if isinstance(value, str):
        return {
            "true": True,
            "yes": True,
            "1": True,
            "correct": True,
            "false": False,
            "no": False,
            "0": False,
            "incorrect": False,
            "wrong": False,
        }.get(value.strip().lower())
    return None


def label_threshold(value_range: tuple[float, float] | None) -> float:
    """A score counts as a pass at the middle of a bounded range, else at 0.5."""
    if value_range and all(math.isfinite(v) for v in value_range):
        return (value_range[0] + value_range[1]) / 2
    return 0.5


def agreement(scores: Sequence[float | None], labels: Sequence[Any], threshold: float = 0.5) -> dict[str, Any]:
    """How a reward's pass/fail (score >= threshold) agrees with gold true/false labels.

    Rows without a score or without a readable label are left out and counted.
    """
    tp = fp = tn = fn = 0
    no_score = no_label = 0
    for score, raw in zip(scores, labels):
        label = as_label(raw)
        if label is None:
            no_label += 1
            continue
        if score is None:
            no_score += 1
            continue
        passed = score >= threshold
        tp += passed and label
        fp += passed and not label
        tn += (not passed) and (not label)
        fn += (not passed) and label
    n = tp + fp + tn + fn
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
    return {
        "n": n,
        "threshold": threshold,
        "accuracy": (tp + tn) / n if n else None,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
        "no_score": no_score,
        "no_label": no_label,
    }


def common_size_groups(groups: Sequence[Sequence[Any]]) -> tuple[int, list[int]] | None:
    """The most common group size (of groups of two or more) and the positions of those groups:
    advantages need groups of one size, as TRL samples them."""
    sizes = [len(g) for g in groups if len(g) >= 2]
    if not sizes:
        return None
    size = max(set(sizes), key=lambda s: (sizes.count(s), s))
    return size, [i for i, g in enumerate(groups) if len(g) == size]


def contributions(
    groups: Sequence[Sequence[Sequence[float | None]]],
    weights: Sequence[float],
    names: Sequence[str],
    aggregation: Aggregation = Aggregation(),
    open_groups: Sequence[Sequence[Sequence[bool]]] | None = None,
    gated: Sequence[str] = (),
    closed: Sequence[float] | None = None,
) -> dict[str, Any] | None:
    """Shares of the advantage (of ``aggregation``), zero-spread and gated rates and correlations
    via compute_contributions; ``open_groups`` says per row where each reward's gate was open,
    ``closed`` what a closed gate gives (RewardSet.closed_values).

    ``groups[i]`` is rows x rewards for prompt i. Groups must be of one size there; with uneven
    groups the most common size is used (and said so in ``groups_used``).
    """
    common = common_size_groups(groups)
    if common is None:
        return None
    size, used = common
    matrix = [row for i in used for row in groups[i]]
    gate_open = np.array([row for i in used for row in open_groups[i]], dtype=bool) if open_groups is not None else None
    result = compute_contributions(matrix, weights, size, names, aggregation, gate_open, gated, closed_values=closed)
    return {
        "group_size": size,
        "groups_used": len(used),
        "groups_total": len(groups),
        "aggregation": aggregation.label,
        "share": result.share,
        "weighted_mean": result.weighted_mean,
        "zero_spread": result.zero_spread,
        "none_rate": result.none_rate,
        "gated_rate": result.gated_rate,
        "total_zero_spread": result.total_zero_spread,
        "correlation": [[None if math.isnan(v) else float(v) for v in row] for row in result.correlation],
    }
