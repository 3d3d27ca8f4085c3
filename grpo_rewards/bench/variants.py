"""How a reward's accuracy changes with a different answer-extractor order.

A reward with a list parameter declared ``refers_to="extractor"`` (``math.correct``'s
``extractors``) is re-scored on the same completions with other orders: its default order, each
extractor alone, and each put in front of the default order. A large change says the reported accuracy hangs on where the model
happens to write its answer, and which order to configure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..registry import get_registry
from ..rewardset import RewardSet, WeightedReward
from ..runtime import Scorer
from ..scoring import Row
from .analysis import agreement, label_threshold


def extractor_param(entry: WeightedReward) -> str | None:
    """The name of the entry's list parameter declared with ``refers_to="extractor"``, if any."""
    return next((p.name for p in entry.spec.params if p.refers_to == "extractor" and p.type is list), None)


def orders(current: Sequence[str], default: Sequence[str], available: Sequence[str]) -> list[tuple[str, list[str]]]:
    """The configured order, the reward's default, each extractor alone, and each put in front of
    the default order; no duplicates."""
    out: list[tuple[str, list[str]]] = [("configured", list(current)), ("default", list(default))]
    for name in available:
        out.append((f"only {name}", [name]))
    for name in available:
        out.append((f"{name} first", [name, *[n for n in default if n != name]]))
    seen: set[tuple[str, ...]] = set()
    unique = []
    for label, order in out:
        if tuple(order) not in seen:
            seen.add(tuple(order))
            unique.append((label, order))
    return unique


def extractor_variants(
    reward_set: RewardSet,
    rows: Sequence[Row],
    labels: Mapping[str, Sequence[Any]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Per reward with an extractor parameter: mean score (accuracy for 0/1 rewards), rows whose
    score changed against the configured order, and agreement with its gold labels if any."""
    registry = get_registry()
    available = list(registry.extractors)
    samples = [r.sample() for r in rows]
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in reward_set.rewards:
        param = extractor_param(entry)
        if param is None or not samples:
            continue
        results = []
        baseline: list[float | None] | None = None
        default = next(p.default for p in entry.spec.params if p.name == param)
        for label, order in orders(entry.params[param], default, available):
            fn = entry.spec.build(
                {**entry.params, param: registry.refs("extractor", order)}, name=entry.name, timeout=entry.timeout
            )
            scores = Scorer([fn]).score(samples).values[fn.__name__]
            baseline = scores if baseline is None else baseline
            present = [s for s in scores if s is not None]
            result: dict[str, Any] = {
                "order": label,
                "extractors": order,
                "mean": sum(present) / len(present) if present else None,
                "changed": sum(a != b for a, b in zip(scores, baseline)),
            }
            if labels and entry.name in labels:
                result["agreement"] = agreement(scores, labels[entry.name], label_threshold(entry.spec.value_range))
            results.append(result)
        out[entry.name] = results
    return out
