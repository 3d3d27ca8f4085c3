"""OpenRLHF's remote-reward shape, so that ``serve-rewards`` is a drop-in ``--reward.remote_url``.

OpenRLHF 0.11.2 (``openrlhf/utils/agent.py``: ``SingleTurnAgentExecutor._fetch_rewards_via_http``;
Apache-2.0; the flag was ``--remote_rm_url`` before 0.11, the body the same) POSTs, per rollout::

    {"query": [text, ...], "prompts": [prompt, ...], "labels": [label, ...]}

``query`` is the prompt and the response decoded together, special tokens included; ``prompts`` the
prompt text as it was tokenized; ``labels`` the dataset's ``--label_key`` values. It reads back
``rewards`` (the training reward), ``scores`` (for dynamic filtering; ``rewards`` when absent) and
``extra_logs`` (each key logged), one value per query, and turns each into a tensor: every value
must be a number, so a null cannot be sent. OpenRLHF's own ``serve_rm`` answers lists; so do we.

How a request becomes rows of the reward set (:class:`Mapping`, set on the command line):

- the completion is the query with its prompt cut off the front, then trailing end-of-sequence
  markers removed (``strip``). A query that does not start with its prompt (a prompt OpenRLHF
  truncated, a tokenizer whose decode does not give the text back) is not scored: the prompt's text
  must never be paid for as if the policy wrote it;
- the prompt is ``prompts[i]``;
- ``labels[i]`` goes to the column ``label_column`` (default: the one column the reward set reads;
  ignored when it reads none); a label that is a JSON object gives its keys as columns instead
  (several columns per row);
- a row no reward scored (all null, or not scored) is answered ``null_reward``: by default the
  lowest total the rewards' declared value ranges allow (never a made-up 0 a policy could prefer
  to a real score); a set with a reward unbounded below must set it. ``extra_logs`` holds each
  reward's value (0 where null) and ``<name>/scored`` (1 or 0), so OpenRLHF logs both.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grpo_rewards.reward import Sample
from grpo_rewards.rewardset import RewardSet
from grpo_rewards.scoring import Row

from .protocol import ProtocolError, parse_body

OPENRLHF_PATH = "/openrlhf"
DEFAULT_STRIP = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "<end_of_turn>", "</s>", "<eos>")


@dataclass(frozen=True)
class Mapping:
    """How OpenRLHF's fields map onto the reward set (see the module docstring)."""

    label_column: str | None = None
    strip: tuple[str, ...] = DEFAULT_STRIP
    null_reward: float | None = None


@dataclass(frozen=True)
class Plan:
    """A mapping checked against one reward set: the label's column and the null reward, or why not."""

    label_column: str | None  # None: the one column the set reads, if it reads one
    null_reward: float | None
    strip: tuple[str, ...]
    problem: str | None = None  # why /openrlhf cannot answer for this set


def plan(mapping: Mapping, reward_set: RewardSet) -> Plan:
    """Resolve the defaults against the reward set; ``problem`` says what must be set when one cannot be."""
    null = mapping.null_reward if mapping.null_reward is not None else lowest_total(reward_set)
    problem = None
    if null is None:
        problem = (
            "a reward of the set declares no finite lowest value, so a row no reward scored has no safe "
            "reward to send OpenRLHF (which cannot take a null): set --openrlhf-null-reward"
        )
    needed = list(dict.fromkeys(c for cols in reward_set.required_columns().values() for c in cols))
    column = mapping.label_column or (needed[0] if len(needed) == 1 else None)
    return Plan(column, null, mapping.strip, problem)


def lowest_total(reward_set: RewardSet) -> float | None:
    """The lowest weighted total the rewards' declared value ranges allow (None: one is unbounded)."""
    total = 0.0
    for entry, weight in zip(reward_set.rewards, reward_set.weights):
        if weight == 0:
            continue
        if entry.spec.value_range is None:
            return None
        low, high = entry.spec.value_range
        if not (math.isfinite(low) and math.isfinite(high)):
            return None
        total += min(weight * low, weight * high)
    return total


@dataclass
class Decoded:
    """A request's rows that can be scored, where each sits in the request, and the request's size."""

    samples: list[Sample]
    positions: list[int]
    rows: int


def decode(body: bytes, max_rows: int, chosen: Plan, needed: set[str]) -> Decoded:
    """OpenRLHF's request body as rows of the reward set; ProtocolError (4xx) when it is not that shape."""
    if chosen.problem:
        raise ProtocolError(f"POST {OPENRLHF_PATH} cannot serve this reward set: {chosen.problem}")
    payload = parse_body(body)
    if not isinstance(payload, dict):
        raise ProtocolError(f"expected a JSON object with 'query', 'prompts' and 'labels', got {type(payload).__name__}")
    unknown = sorted(set(payload) - {"query", "prompts", "labels"})
    if unknown:
        raise ProtocolError(f"unknown field(s) {', '.join(map(repr, unknown))}; OpenRLHF sends query, prompts, labels")
    queries = payload.get("query")
    if not isinstance(queries, list) or not all(isinstance(q, str) for q in queries):
        raise ProtocolError("'query' must be a list of strings (prompt and response, decoded together)")
    n = len(queries)
    if n > max_rows:
        raise ProtocolError(f"{n} rows in one request; this server takes at most {max_rows}", status=413)
    prompts = payload.get("prompts", [""] * n)
    if not isinstance(prompts, list) or len(prompts) != n or not all(isinstance(p, str) for p in prompts):
        raise ProtocolError(f"'prompts' must be a list of {n} strings, one per query")
    labels = payload.get("labels", [None] * n)
    if not isinstance(labels, list) or len(labels) != n:
        raise ProtocolError(f"'labels' must be a list of {n} values, one per query")
    samples, positions = [], []
    for i, (query, prompt, label) in enumerate(zip(queries, prompts, labels)):
        if not query.startswith(prompt):
            continue  # not scored: answered as the null reward
        columns = _columns(label, chosen.label_column, needed, i)
        samples.append(Row(_strip(query[len(prompt) :], chosen.strip), prompt, columns).sample())
        positions.append(i)
    return Decoded(samples, positions, n)


def _columns(label: Any, column: str | None, needed: set[str], row: int) -> dict[str, Any]:
    """The row's columns from its label: an object's keys, or the one value in the label's column."""
    if isinstance(label, dict):
        return {key: value for key, value in label.items() if key in needed}
    if label is None or not needed:  # OpenRLHF sends "" when it has no --data.label_key
        return {}
    if not isinstance(label, (str, int, float, bool)):
        raise ProtocolError(f"labels[{row}] must be a string, a number or an object of columns")
    if column is None:
        wanted = ", ".join(map(repr, sorted(needed))) or "none"
        raise ProtocolError(
            f"labels[{row}] is one value but the reward set reads columns {wanted}: send each label as an "
            "object of columns, or start serve-rewards with --openrlhf-label-column"
        )
    return {column: label}


def _strip(completion: str, markers: tuple[str, ...]) -> str:
    """The completion without the end-of-sequence markers (and padding) at its very end."""
    changed = True
    while changed:
        changed = False
        for marker in markers:
            if marker and completion.endswith(marker):
                completion = completion[: -len(marker)]
                changed = True
    return completion


Encode = Callable[[dict[str, list[float | None]], list[float | None]], bytes]


def encoder(decoded: Decoded, chosen: Plan, names: list[str]) -> Encode:
    """How to answer once scored, from the values and totals of the scored rows (null where unfinished)."""

    def encode(values: dict[str, list[float | None]], totals: list[float | None]) -> bytes:
        null = chosen.null_reward if chosen.null_reward is not None else 0.0
        rewards = [null] * decoded.rows
        logs: dict[str, list[float]] = {}
        for name in names:
            logs[name] = [0.0] * decoded.rows
            logs[f"{name}/scored"] = [0.0] * decoded.rows
        for slot, position in enumerate(decoded.positions):
            total = totals[slot]
            if total is not None and math.isfinite(total):
                rewards[position] = total
            for name in names:
                value = values[name][slot]
                if value is not None and math.isfinite(value):
                    logs[name][position] = value
                    logs[f"{name}/scored"][position] = 1.0
        return json.dumps({"rewards": rewards, "scores": rewards, "extra_logs": logs}, allow_nan=False).encode()

    return encode
