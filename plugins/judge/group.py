"""``judge.group``: the completions of one GRPO group scored together (RULER-style), each seen in two
positions so position bias averages out and is measured.

Group boundaries: a group is every row of the batch with the same prompt and the same columns (TRL
puts a prompt's ``num_generations`` completions in one batch). With ``group_size`` set, a group of
any other size is refused (its rows are None, ``why = "split_group"``): that happens when a group is
split across processes or scoring chunks (TRL needs only the global batch to be divisible by the
group size), or when a row was refused as oversized. Ranking a partial group would pay a completion
for the company it happened to be in.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
from collections.abc import Sequence
from typing import Any

from grpo_rewards import Param, Sample, Scored, reward

from .certificate import certification
from .client import chat
from .fence import imitates_fence
from .prompts import group_prompt
from .rewards import ENDPOINT_PARAMS, INSTALL, _payload, _usage, endpoint_of, guided, score_grid, verdict_choices
from .rubric import check_scale
from .verdict import VerdictError, rubric_reader


def group_key(sample: Sample) -> str:
    return json.dumps([sample.prompt, sorted((k, str(v)) for k, v in sample.columns.items())])


def orders(n: int, rng: random.Random) -> list[list[int]]:
    """A shuffled order and the same rotated by n // 2: every completion in two different positions."""
    first = list(range(n))
    rng.shuffle(first)
    shift = max(1, n // 2)
    return [first, first[shift:] + first[:shift]]


@reward(
    "judge.group",
    description="An LLM judge scores a GRPO group's completions together, in two shuffled orders (every "
    "completion in two positions); the reward is its mean score in [0, 1], the position effect in the details.",
    params=[
        Param("instruction", str, "Prefer correct, complete and clear answers.", "What the judge compares the answers on."),
        Param("scale_min", int, 0, "The lowest score.", min=0, max=100),
        Param("scale_max", int, 10, "The highest score.", min=1, max=100),
        Param("group_size", int, 0, "The GRPO group size: a group of another size is refused (0: no check).", min=0),
        Param("max_group", int, 16, "Most completions judged in one call; larger groups are refused.", min=2, max=64),
        *ENDPOINT_PARAMS,
    ],
    value_range=(0.0, 1.0),
    kind="content",
    answer_domain="judge",
    batched=True,
    deterministic=False,  # a group's copies are its members: never merge them
    timeout=300.0,
    max_input_chars=16_000,
    requires=[("httpx", INSTALL)],
    certification=certification("judge.group"),
    check_params=check_scale,
)
async def judge_group(
    samples: Sequence[Sample], instruction: str, scale_min: int, scale_max: int, group_size: int, max_group: int, **params: Any
) -> list[Scored | None]:
    if scale_max <= scale_min:
        raise ValueError(f"scale_max ({scale_max}) must be above scale_min ({scale_min})")
    groups: dict[str, list[int]] = {}
    for index, sample in enumerate(samples):
        groups.setdefault(group_key(sample), []).append(index)
    out: list[Scored | None] = [None] * len(samples)
    endpoint = await endpoint_of(params)
    defences = params["defences"]
    rng = random.Random(secrets.randbits(64))

    async def judge_one(rows: list[int]) -> None:
        if (group_size and len(rows) != group_size) or len(rows) > max_group:
            for i in rows:
                out[i] = Scored(
                    None, details={"unparsed": 1, "why": "split_group" if len(rows) <= max_group else "group_too_large"}
                )
            return
        judged = [i for i in rows if not (defences and imitates_fence(samples[i].completion))]
        for i in set(rows) - set(judged):
            out[i] = Scored(0.0 if params["on_fence"] == "lowest" else None, details={"refused": 1})
        if len(judged) < 2:
            for i in judged:
                out[i] = Scored(None, details={"unparsed": 1, "why": "group_too_small"})
            return
        rounds = orders(len(judged), rng)

        async def ask(order: list[int]) -> tuple[Any, Any]:
            shown = [samples[judged[k]].completion for k in order]
            prompt = group_prompt(samples[judged[0]].prompt, shown, instruction, scale_min, scale_max, defences=defences)
            grid = score_grid([f"candidate_{p + 1}" for p in range(len(shown))], scale_min, scale_max) if guided(params) else None
            return prompt, await chat(endpoint, prompt.messages, choices=verdict_choices(prompt, params, grid))

        asked = await asyncio.gather(*(ask(order) for order in rounds))
        usage = _usage([reply for _, reply in asked], endpoint)
        nothing = {"calls": 0, "tokens": 0, "cost": 0.0}

        def share(k: int) -> dict[str, Any]:  # the group's usage is reported once, on its first row
            return usage if k == 0 else nothing

        names = [f"candidate_{p + 1}" for p in range(len(judged))]
        try:
            verdicts = [rubric_reader(names, scale_min, scale_max)(_payload(p, r, defences)) for p, r in asked]
        except VerdictError as exc:
            for k, i in enumerate(judged):
                out[i] = Scored(None, details={"unparsed": 1, "why": str(exc)}, **share(k))
            return
        span = scale_max - scale_min
        for k, i in enumerate(judged):
            scores = [(verdict[f"candidate_{order.index(k) + 1}"] - scale_min) / span for order, verdict in zip(rounds, verdicts)]
            details = {"unparsed": 0, "refused": 0, "position_delta": max(scores) - min(scores)}
            out[i] = Scored(sum(scores) / len(scores), details=details, **share(k))

    await asyncio.gather(*(judge_one(rows) for rows in groups.values()))
    return out
