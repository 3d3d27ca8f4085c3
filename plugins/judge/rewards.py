"""``judge.rubric`` and ``judge.reference``: LLM-judge rewards over any OpenAI-compatible endpoint.

Both are ``async def`` rewards (the runtime awaits them on its event loop, ``concurrency`` rows in
flight) that fence the policy's text as data, read the verdict strictly (:mod:`.verdict`) and report
their usage through :class:`~grpo_rewards.Scored`. A failed call or an unreadable verdict is a
counted None (the reason in the row's details), never a 0; a completion that writes the fence syntax
is refused without a call and scored as the reward's lowest value (``on_fence``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from grpo_rewards import Param, Sample, Scored, reward

from . import cache
from .certificate import certification
from .client import Endpoint, Reply, chat
from .fence import imitates_fence
from .prompts import Prompt, reference_prompt, rubric_prompt, verdict_form
from .rubric import check_rubric_params, parse_criteria
from .verdict import VerdictError, read_yes_no, rubric_reader, verdict_payload, yes_probability

INSTALL = "pip install 'grpo-rewards[judge]'"
MAX_CHOICES = 4096  # the local server's bound too: a larger verdict space is sent unguided
_PLAIN_VERDICT = re.compile(r"VERDICT:\s*(.+)")

ENDPOINT_PARAMS = [
    Param(
        "base_url",
        str,
        "http://127.0.0.1:8000/v1",
        "The OpenAI-compatible API root (the part before /chat/completions); 'local': serve `model` on loopback in this process.",
    ),
    Param(
        "model",
        str,
        "",
        "The judge model's name as the endpoint knows it; with base_url = 'local': builtin:smollm2, a model folder or a .gguf file.",
        required=True,
    ),
    Param("api_key_env", str, "", "Name of the environment variable that holds the API key ('': send none)."),
    Param("max_concurrency", int, 8, "Calls in flight at once to this endpoint, per process.", min=1, max=1024),
    Param("retries", int, 4, "Retries on 429, 5xx and transport errors, with jittered back-off.", min=0, max=20),
    Param("deadline", float, 60.0, "Seconds one judge call may take in all, retries included.", min=0.1, max=3600),
    Param("request_timeout", float, 30.0, "Seconds one HTTP request may take.", min=0.1, max=3600),
    Param("temperature", float, 0.0, "Sampling temperature of the judge.", min=0.0, max=2.0),
    Param("max_tokens", int, 512, "Most tokens the judge may write.", min=1, max=32768),
    Param("price_input", float, 0.0, "Price per million prompt tokens, for the cost statistic.", min=0.0),
    Param("price_output", float, 0.0, "Price per million completion tokens, for the cost statistic.", min=0.0),
    Param(
        "on_fence",
        str,
        "lowest",
        "A completion that writes the fence syntax: 'lowest' (scored as the reward's lowest value) or 'none'.",
        choices=("lowest", "none"),
    ),
    Param(
        "defences", bool, True, "False builds the unfenced prompt and lax parser: only to measure what the defences are worth."
    ),
    Param(
        "guided",
        str,
        "auto",
        "'choice': send vLLM's guided_choice, every allowed verdict line (vLLM and the local server honour it); "
        "'off': free text; 'auto': 'choice' with base_url = 'local', else 'off'.",
        choices=("auto", "choice", "off"),
    ),
    Param(
        "cache",
        str,
        "auto",
        "Reuse a verdict for the same question, answer and settings: 'auto' (at temperature 0 only), 'on' or 'off'.",
        choices=("auto", "on", "off"),
    ),
    Param("device", str, "auto", "With base_url = 'local': where the model runs ('auto', 'cpu', 'cuda', 'cuda:N')."),
]


def deterministic(params: Mapping[str, Any]) -> bool:
    """A judge sampling at temperature > 0 gives each copy of a row its own draw: never merged."""
    return bool(params["temperature"] == 0)


async def endpoint_of(params: Mapping[str, Any]) -> Endpoint:
    """The endpoint to call; ``base_url = "local"`` becomes this process's loopback server (started,
    its model loaded, on first use, off the event loop)."""
    base_url = params["base_url"]
    concurrency = params["max_concurrency"]
    if base_url == "local":
        from .local_server import LOCAL_IN_FLIGHT, local_base_url

        base_url = await asyncio.to_thread(local_base_url, params["model"], params["device"])
        # the local server answers one request at a time: more in flight would only queue there,
        # inside each request's time limit, instead of here
        concurrency = min(concurrency, LOCAL_IN_FLIGHT)
    return Endpoint(
        base_url=base_url,
        model=params["model"],
        api_key_env=params["api_key_env"],
        max_concurrency=concurrency,
        retries=params["retries"],
        deadline=params["deadline"],
        request_timeout=params["request_timeout"],
        temperature=params["temperature"],
        max_tokens=params["max_tokens"],
        price_input=params["price_input"],
        price_output=params["price_output"],
    )


def _usage(replies: Sequence[Reply], endpoint: Endpoint) -> dict[str, Any]:
    return {
        "calls": sum(r.calls for r in replies),
        "tokens": sum(r.prompt_tokens + r.completion_tokens for r in replies),
        "cost": sum(r.cost(endpoint) for r in replies),
    }


def _payload(prompt: Prompt, reply: Reply, defences: bool) -> str:
    if defences:
        return verdict_payload(reply.text, prompt.fences.nonce, prompt.fences.boundary)
    found = _PLAIN_VERDICT.findall(reply.text)  # the usual lax reading: the last match anywhere
    if not found:
        raise VerdictError("no_verdict")
    return str(found[-1]).strip()


def guided(params: Mapping[str, Any]) -> bool:
    mode = params["guided"]
    return bool(mode == "choice" or (mode == "auto" and params["base_url"] == "local"))


def score_grid(names: Sequence[str], low: int, high: int) -> list[str] | None:
    """Every payload a scores verdict may hold (JSON objects, keys in order), or None when over MAX_CHOICES."""
    if (high - low + 1) ** len(names) > MAX_CHOICES:
        return None
    return [json.dumps(dict(zip(names, combo))) for combo in itertools.product(range(low, high + 1), repeat=len(names))]


def verdict_choices(prompt: Prompt, params: Mapping[str, Any], payloads: Sequence[str] | None) -> list[str] | None:
    """The allowed final lines, in the very format the strict parser reads, when guidance is on."""
    if payloads is None or not guided(params):
        return None
    head = verdict_form(prompt.fences, params["defences"])
    return [f"{head}: {payload}" for payload in payloads]


def cached(kind: str, parts: Sequence[Any], params: Mapping[str, Any]) -> tuple[str | None, Scored | None]:
    """``(cache key or None when the cache is off, the cached Scored on a hit)``."""
    if not cache.enabled(params):
        return None, None
    entry = cache.key(kind, list(parts), params)
    hit = cache.get(entry)
    return entry, (Scored(hit[0], details={**hit[1], "cached": 1}) if hit else None)


def remember(entry: str | None, value: float, details: Mapping[str, Any], usage: Mapping[str, Any]) -> Scored:
    if entry is not None:
        cache.put(entry, value, details)
    return Scored(value, details={**details, "cached": 0}, **usage)


def _refused(params: Mapping[str, Any], lowest: float) -> Scored:
    return Scored(lowest if params["on_fence"] == "lowest" else None, details={"refused": 1})


# What the pointwise judges (rubric, reference) declare alike: one HTTP call or two per row, many in
# flight, long prompts bounded before they are sent; de-duplicated only when not sampling.
POINTWISE_JUDGE: dict[str, Any] = {
    "answer_domain": "judge",
    "deterministic": deterministic,
    "timeout": 300.0,
    "concurrency": 64,
    "max_input_chars": 64_000,
    "requires": [("httpx", INSTALL)],
}


@reward(
    "judge.rubric",
    description="An LLM judge's weighted score of the completion on a rubric of criteria, in [0, 1] "
    "(OpenAI-compatible endpoint; the completion fenced as data; each criterion's score in the details).",
    params=[
        Param(
            "criteria",
            list,
            [],
            "The rubric: 'name[=weight]: description' per criterion (lower-case names; weight 1 by default); "
            "or leave it out and name a rubric_file.",
        ),
        Param(
            "rubric_file",
            str,
            "",
            "A TOML/YAML/JSON file of [[criteria]] tables (name, weight, description), relative to the reward-set file.",
            role="path",
        ),
        Param("scale_min", int, 1, "The lowest score of a criterion.", min=0, max=100),
        Param("scale_max", int, 5, "The highest score of a criterion.", min=1, max=100),
        *ENDPOINT_PARAMS,
    ],
    value_range=(0.0, 1.0),
    kind="content",
    **POINTWISE_JUDGE,
    certification=certification("judge.rubric"),
    check_params=check_rubric_params,
)
async def judge_rubric(
    sample: Sample, criteria: list[str], rubric_file: str, scale_min: int, scale_max: int, **params: Any
) -> Scored | None:
    rubric = parse_criteria(tuple(criteria))
    if scale_max <= scale_min:
        raise ValueError(f"scale_max ({scale_max}) must be above scale_min ({scale_min})")
    if params["defences"] and imitates_fence(sample.completion):
        return _refused(params, 0.0)
    entry, hit = cached("rubric", [sample.prompt, sample.completion, criteria, scale_min, scale_max], params)
    if hit is not None:
        return hit
    endpoint = await endpoint_of(params)
    prompt = rubric_prompt(sample.prompt, sample.completion, rubric, scale_min, scale_max, defences=params["defences"])
    grid = score_grid([c.name for c in rubric], scale_min, scale_max) if guided(params) else None
    reply = await chat(endpoint, prompt.messages, choices=verdict_choices(prompt, params, grid))
    usage = _usage([reply], endpoint)
    try:
        scores = rubric_reader([c.name for c in rubric], scale_min, scale_max)(_payload(prompt, reply, params["defences"]))
    except VerdictError as exc:
        return Scored(None, details={"unparsed": 1, "why": str(exc)}, **usage)
    span = scale_max - scale_min
    total = sum(c.weight for c in rubric)
    value = sum(c.weight * (scores[c.name] - scale_min) / span for c in rubric) / total
    return remember(entry, value, {**scores, "unparsed": 0, "refused": 0}, usage)


@reward(
    "judge.reference",
    description="1 when an LLM judge finds the completion's final answer equivalent to the reference "
    "column, asked in both orders by default (both must say yes); the yes-probability from log-probs "
    "where the endpoint gives them.",
    params=[
        Param("reference_column", str, "answer", "The column holding the reference answer.", column=True),
        Param(
            "orders",
            str,
            "both",
            "Which order the answer and the reference are shown in: 'both' (two calls; a flip between them "
            "is reported and only yes in both pays), 'answer_first' or 'reference_first'.",
            choices=("both", "answer_first", "reference_first"),
        ),
        Param(
            "score",
            str,
            "binary",
            "'binary' (1 or 0) or 'probability' (the lowest yes-probability over the orders; the binary "
            "verdict where the endpoint gives no log-probs).",
            choices=("binary", "probability"),
        ),
        *ENDPOINT_PARAMS,
    ],
    value_range=(0.0, 1.0),
    kind="correctness",
    **POINTWISE_JUDGE,
    certification=certification("judge.reference"),
)
async def judge_reference(sample: Sample, reference_column: str, orders: str, score: str, **params: Any) -> Scored | None:
    reference = sample.columns.get(reference_column)
    if reference is None or not str(reference).strip():
        return None  # no reference: the reward does not apply
    defences = params["defences"]
    if defences and (imitates_fence(sample.completion) or imitates_fence(str(reference))):
        return _refused(params, 0.0)
    entry, hit = cached("reference", [sample.prompt, sample.completion, str(reference), orders, score], params)
    if hit is not None:
        return hit
    endpoint = await endpoint_of(params)
    firsts = [True, False] if orders == "both" else [orders == "answer_first"]

    async def ask(answer_first: bool) -> tuple[Prompt, Reply]:
        prompt = reference_prompt(sample.prompt, sample.completion, str(reference), answer_first=answer_first, defences=defences)
        choices = verdict_choices(prompt, params, ["yes", "no"])
        return prompt, await chat(endpoint, prompt.messages, logprobs=score == "probability", choices=choices)

    asked = await asyncio.gather(*(ask(first) for first in firsts))
    usage = _usage([reply for _, reply in asked], endpoint)
    try:
        verdicts = [read_yes_no(_payload(prompt, reply, defences)) for prompt, reply in asked]
    except VerdictError as exc:
        return Scored(None, details={"unparsed": 1, "why": str(exc)}, **usage)
    details: dict[str, Any] = {"unparsed": 0, "refused": 0, "flip": int(len(set(verdicts)) > 1)}
    value = float(all(verdicts))
    if score == "probability":
        probabilities = [yes_probability(reply.logprobs) for _, reply in asked]
        if all(p is not None for p in probabilities):
            value = min(p for p in probabilities if p is not None)
            details["p_yes"] = value
    return remember(entry, value, details, usage)
