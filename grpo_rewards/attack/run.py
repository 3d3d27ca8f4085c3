"""Score the attack completions and say, per reward and attack class, what share was paid.

Every score goes through :func:`score_completions`, the one place that calls the scoring engine
(swap it for the runtime's Scorer there). "Paid" per reward kind: see :attr:`plan.Target.rule`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..registry import Registry
from ..rewardset import RewardSet, WeightedReward
from ..scoring import Row, score_rows
from .plan import Case, Plan, Target, build_plan

TOL = 1e-9
Z95 = 1.959963984540054
EXAMPLES = 2
EXAMPLE_CHARS = 400
CHUNK = 32  # rows per scoring call: how often progress moves


def wilson(paid: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion (95% by default); (0, 1) with no trials."""
    if n == 0:
        return 0.0, 1.0
    p = paid / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def score_completions(
    entry: WeightedReward, rows: Sequence[Row], *, workers: int = 1, progress: Callable[[int], None] | None = None
) -> list[float | None]:
    """One reward's scores for ``rows``: the one scoring call of the attack generator."""
    result = score_rows(RewardSet([entry]), rows, workers=workers, chunk_size=CHUNK, progress=progress)
    return result.values[entry.name]


@dataclass
class AttackRun:
    """The plan, the scores and the report (JSON-ready)."""

    plan: Plan
    scores: dict[str, list[float | None]]  # reward -> score per case of that reward, in plan order
    report: dict[str, Any]


def run_attacks(
    reward_set: RewardSet,
    rows: Sequence[Mapping[str, Any]],
    *,
    seed: int = 0,
    quick: bool = False,
    all_forms: bool = False,
    gold_column: str | None = None,
    workers: int = 1,
    registry: Registry | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AttackRun:
    """Build every attack for every reward on ``rows``, score them and summarise.

    ``progress(done, total)`` is called as completions are scored.
    """
    plan = build_plan(reward_set, rows, seed=seed, quick=quick, all_forms=all_forms, gold_column=gold_column, registry=registry)
    extras = {name: {**plan.references.get(name, {}), **plan.baselines.get(name, {})} for name in plan.names}
    total = len(plan.cases) + sum(len(r) for r in extras.values())
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, total)

    scores: dict[str, list[float | None]] = {}
    yardsticks: dict[str, dict[int, float | None]] = {}  # the reference (shaping) or the baseline (judged) per row
    for target in plan.targets:
        cases = [c for c in plan.cases if c.target == target.name]
        extra = extras[target.name]
        batch = [_row(rows[c.row], c.text) for c in cases] + [_row(rows[i], text) for i, text in extra.items()]
        values = score_completions(target.entry, batch, workers=workers, progress=step) if batch else []
        scores[target.name] = values[: len(cases)]
        yardsticks[target.name] = dict(zip(extra, values[len(cases) :]))
    return AttackRun(plan, scores, summarise(plan, scores, yardsticks, seed, len(rows)))


def _row(row: Mapping[str, Any], text: str) -> Row:
    prompt = row.get("prompt", "")
    completion: Any = [{"role": "assistant", "content": text}] if isinstance(prompt, list) else text
    return Row(completion, prompt, {k: v for k, v in row.items() if k not in ("prompt", "completion")})


def is_paid(target: Target, score: float | None, reference: float | None) -> bool | None:
    """True / False, or None when it cannot be judged (no score; a shaping reward without a reference).

    ``reference``: for a judged reward, the score of the domain's plainly wrong completion on the row
    (when the domain has one: then a None where that baseline was scored counts as paid, the wrong
    work escaped its score); for a shaping reward, the gold reference's score."""
    if score is None:
        # a domain with a baseline (code): a wrong program that turns its scored 0 into None escapes it
        return True if target.judged and target.domain.baseline is not None and reference is not None else None
    if target.judged:
        return score > max(target.wrong_score, reference if reference is not None else -math.inf) + TOL
    if reference is None:
        return None
    low = target.entry.spec.value_range[0] if target.entry.spec.value_range else -math.inf
    return score >= reference - TOL and score > low + TOL


def summarise(
    plan: Plan,
    scores: Mapping[str, Sequence[float | None]],
    yardsticks: Mapping[str, Mapping[int, float | None]],
    seed: int,
    rows: int,
) -> dict[str, Any]:
    """Per reward and attack class: completions, paid, share with its 95% Wilson interval, unscored
    (None: the reward did not apply, failed or timed out) and examples of paid completions."""
    rewards: dict[str, Any] = {}
    for target in plan.targets:
        cases = [c for c in plan.cases if c.target == target.name]
        classes: dict[str, dict[str, Any]] = {}
        for case, score in zip(cases, scores.get(target.name, [])):
            entry = classes.setdefault(
                case.attack, {"family": case.family, "n": 0, "paid": 0, "unscored": 0, "rows": set(), "examples": []}
            )
            verdict = is_paid(target, score, yardsticks.get(target.name, {}).get(case.row))
            entry["rows"].add(case.row)
            if verdict is None:
                entry["unscored"] += 1
                continue
            entry["n"] += 1
            if verdict:
                entry["paid"] += 1
                if len(entry["examples"]) < EXAMPLES:
                    entry["examples"].append(_example(case, score))
        for entry in classes.values():
            entry["rows"] = len(entry["rows"])
            entry["share"] = entry["paid"] / entry["n"] if entry["n"] else None
            entry["low"], entry["high"] = wilson(entry["paid"], entry["n"])
        rewards[target.name] = {
            "use": target.entry.spec.name,
            "kind": target.kind,
            "domain": target.domain.name,
            "gold_column": target.gold_column,
            "judged": target.judged,
            "rule": target.rule,
            "classes": dict(sorted(classes.items(), key=lambda kv: (-(kv[1]["share"] or 0), kv[0]))),
        }
    return {"seed": seed, "rows": rows, "completions": len(plan.cases), "rewards": rewards, "skipped": dict(plan.skipped)}


def _example(case: Case, score: float | None) -> dict[str, Any]:
    return {"row": case.row, "score": score, "completion": case.text[:EXAMPLE_CHARS]}


def paid_failures(report: Mapping[str, Any], threshold: float = 0.0, unscored: float | None = None) -> list[str]:
    """``--fail-on``: one line per (judged reward, class) whose paid share exceeds ``threshold`` (and,
    with ``unscored``, whose share of None exceeds it). Shaping rewards are report-only."""
    out = []
    for name, reward in report["rewards"].items():
        if not reward["judged"]:
            continue
        for cls, figures in reward["classes"].items():
            if figures["share"] is not None and figures["share"] > threshold:
                out.append(
                    f"paid: {name!r} pays {figures['paid']} of {figures['n']} {cls!r} attacks "
                    f"({figures['share']:.0%}, 95% CI {figures['low']:.0%}-{figures['high']:.0%})"
                )
            total = figures["n"] + figures["unscored"]
            if unscored is not None and total and figures["unscored"] / total > unscored:
                out.append(f"unscored: {name!r} returns None on {figures['unscored']} of {total} {cls!r} attacks")
    return out


def bench_section(reward_set: RewardSet, rows: Sequence[Mapping[str, Any]], seed: int, workers: int) -> dict[str, Any]:
    """The bench's attack section: the quick attacks on the held-out rows, and one line per paid
    class of a correctness reward (``findings``)."""
    report = run_attacks(reward_set, rows, seed=seed, quick=True, workers=workers).report
    return {**report, "findings": paid_failures(report)}
