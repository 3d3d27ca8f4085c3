"""Read a judge's verdict strictly: one verdict line, the last non-empty line of the answer, carrying
the call's nonce, with a payload of the declared shape. Anything else is None with a reason.

Why so strict: a verdict the parser finds anywhere else (quoted from the completion, written twice,
in look-alike characters, out of scale) is exactly what an injected completion tries to produce.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .fence import normalised

MAX_ANSWER_CHARS = 64_000
_LOOKS_LIKE_VERDICT = re.compile(r"^[\W_]*verdict\b")
_VERDICT = re.compile(r"^VERDICT ([0-9a-f]{12}): ([^\n]{1,4000})$")


class VerdictError(ValueError):
    """Why an answer has no usable verdict (one short reason, counted in the details)."""


def verdict_payload(answer: str, nonce: str, boundary: str) -> str:
    """The payload of the one verdict line, or :class:`VerdictError`."""
    if len(answer) > MAX_ANSWER_CHARS:
        raise VerdictError("answer_too_long")
    if boundary.casefold() in answer.casefold():
        raise VerdictError("fence_echoed")  # the answer quotes a data block: whatever it holds is data
    lines = [line.strip() for line in answer.splitlines() if line.strip()]
    candidates = [i for i, line in enumerate(lines) if _LOOKS_LIKE_VERDICT.match(normalised(line))]
    if not candidates:
        raise VerdictError("no_verdict")
    if len(candidates) > 1:
        raise VerdictError("several_verdicts")
    if candidates[0] != len(lines) - 1:
        raise VerdictError("verdict_not_last")
    match = _VERDICT.match(lines[-1])
    if match is None:
        raise VerdictError("malformed_verdict")
    if match.group(1) != nonce:
        raise VerdictError("wrong_nonce")
    return match.group(2).strip()


def read_yes_no(payload: str) -> bool:
    if payload not in ("yes", "no"):
        raise VerdictError("out_of_scale")
    return payload == "yes"


def _no_duplicates(pairs: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise VerdictError("duplicate_criterion")
    return dict(pairs)


def _finite_only(text: str) -> float:
    raise VerdictError("out_of_scale")


def rubric_reader(names: Sequence[str], low: int, high: int) -> Callable[[str], dict[str, int]]:
    """A payload reader for ``{"criterion": score, ...}``: exactly ``names``, integers in [low, high]."""

    def read(payload: str) -> dict[str, int]:
        try:
            data = json.loads(payload, object_pairs_hook=_no_duplicates, parse_constant=_finite_only)
        except json.JSONDecodeError:
            raise VerdictError("malformed_payload") from None
        if not isinstance(data, dict) or set(data) != set(names):
            raise VerdictError("wrong_criteria")
        out = {}
        for name in names:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise VerdictError("out_of_scale")
            out[name] = value
        return out

    return read


def yes_probability(logprobs: Sequence[Mapping[str, Any]] | None) -> float | None:
    """P(yes) / (P(yes) + P(no)) at the verdict token (the last yes/no token), from its top log-probs;
    None when the endpoint gave none there."""
    if not logprobs:
        return None
    for entry in reversed(logprobs):
        if not isinstance(entry, Mapping) or str(entry.get("token", "")).strip() not in ("yes", "no"):
            continue
        mass = {"yes": 0.0, "no": 0.0}
        for alt in entry.get("top_logprobs") or [entry]:
            token = str(alt.get("token", "")).strip() if isinstance(alt, Mapping) else ""
            value = alt.get("logprob") if isinstance(alt, Mapping) else None
            if token in mass and isinstance(value, (int, float)) and math.isfinite(value):
                mass[token] += math.exp(min(0.0, float(value)))
        total = mass["yes"] + mass["no"]
        return mass["yes"] / total if total > 0 else None
    return None
