"""The reward-endpoint protocol, shared by the ``reward_model.remote`` client and ``serve-rewards``.

One JSON POST scores a batch::

    request   {"prompts": [P, ...], "completions": [C, ...],
               "columns": {"answer": [v, ...], ...},       # optional; one value per row
               "reward": "name"}                           # optional; see below
    response  {"scores": [float | null, ...]}             # one per row, in order

P and C are strings or chat message lists (``[{"role": ..., "content": ...}]``). ``scores`` is the
server's weighted total per row, or, when the request names a ``reward``, that reward's own
(unweighted) values. ``"per_reward": true`` adds ``"rewards": {name: [float | null, ...]}``. null
means "no score for this row" (the reward does not apply, or it failed on that row). A server
that stops scoring at its request deadline answers the rows it finished, null for the rest, and
``"unfinished": n``: the last n rows were not scored (the client counts them as failures). Errors come back as a 4xx/5xx status
with ``{"error": "message"}``. ``GET /health`` describes the reward set.
Scoring must be idempotent: the client retries a request that failed in transit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = 1
SCORE_PATH = "/score"
HEALTH_PATH = "/health"
MAX_DEPTH = 64  # nesting a request may have: a chat message's content parts sit at depth 5
MAX_INT_DIGITS = 1000


class ProtocolError(ValueError):
    """A request or response that does not follow the protocol; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ScoreRequest:
    prompts: list[Any]
    completions: list[Any]
    columns: dict[str, list[Any]] = field(default_factory=dict)
    reward: str | None = None
    per_reward: bool = False


def encode_request(
    prompts: Sequence[Any],
    completions: Sequence[Any],
    columns: Mapping[str, Sequence[Any]] | None = None,
    reward: str | None = None,
) -> bytes:
    """The request body. Values JSON cannot hold (numpy scalars, dates) are sent as strings."""
    payload: dict[str, Any] = {
        "prompts": list(prompts),
        "completions": list(completions),
        "columns": {k: list(v) for k, v in (columns or {}).items()},
    }
    if reward is not None:
        payload["reward"] = reward
    return json.dumps(payload, ensure_ascii=False, default=_jsonable).encode("utf-8")


def _jsonable(value: Any) -> Any:
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(value)


def _refuse_constant(name: str) -> Any:
    raise ProtocolError(f"request body holds {name}, which is not JSON")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ProtocolError(f"request body holds an integer of {len(digits)} digits; at most {MAX_INT_DIGITS} are accepted")
    return int(digits)


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests lists and objects more than MAX_DEPTH levels (an iterative walk)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                return True
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
    return False


def parse_body(body: bytes) -> Any:
    """JSON from a request body, strictly: UTF-8, no NaN or Infinity, integers of at most
    MAX_INT_DIGITS digits (converted only then: a long one costs quadratic time in C), nesting of
    at most MAX_DEPTH levels (the C parser's own recursion ends at the interpreter's limit first)."""
    try:
        payload = json.loads(body.decode("utf-8"), parse_int=_bounded_int, parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            f"request body is not UTF-8 (byte 0x{body[exc.start : exc.start + 1].hex()} at {exc.start})"
        ) from None
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"request body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise ProtocolError(f"request body nests more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:  # a number Python will not convert
        raise ProtocolError(f"request body holds an unusable number ({str(exc)[:100]})") from None
    if _too_deep(payload):
        raise ProtocolError(f"request body nests more than {MAX_DEPTH} levels deep")
    return payload


def decode_request(body: bytes, max_rows: int) -> ScoreRequest:
    """Parse and check a request body; every problem is a ProtocolError with a clear message."""
    payload = parse_body(body)
    if not isinstance(payload, dict):
        raise ProtocolError(f"expected a JSON object with 'prompts' and 'completions', got {type(payload).__name__}")
    unknown = sorted(set(payload) - {"prompts", "completions", "columns", "reward", "per_reward"})
    if unknown:
        raise ProtocolError(
            f"unknown field(s) {', '.join(map(repr, unknown))}; expected prompts, completions, columns, reward, per_reward"
        )
    completions = payload.get("completions")
    if not isinstance(completions, list):
        raise ProtocolError("'completions' must be a list (one completion per row)")
    n = len(completions)
    if n > max_rows:
        raise ProtocolError(f"{n} rows in one request; this server takes at most {max_rows}", status=413)
    prompts = payload.get("prompts", [""] * n)
    if not isinstance(prompts, list) or len(prompts) != n:
        raise ProtocolError(f"'prompts' must be a list as long as 'completions' ({n})")
    for name, values in (("prompts", prompts), ("completions", completions)):
        for i, value in enumerate(values):
            if not _is_message_value(value):
                raise ProtocolError(f"{name}[{i}] must be a string or a list of {{'role', 'content'}} messages")
    columns = payload.get("columns", {})
    if not isinstance(columns, dict):
        raise ProtocolError("'columns' must be an object mapping column names to lists")
    for name, values in columns.items():
        if not isinstance(values, list) or len(values) != n:
            raise ProtocolError(f"column {name!r} must be a list with one value per row ({n})")
    reward = payload.get("reward")
    if reward is not None and not isinstance(reward, str):
        raise ProtocolError("'reward' must be the name of one reward of the server's set, or absent")
    per_reward = payload.get("per_reward", False)
    if not isinstance(per_reward, bool):
        raise ProtocolError("'per_reward' must be true or false")
    return ScoreRequest(prompts, completions, columns, reward, per_reward)


def _is_message_value(value: Any) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, list) and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and "content" in m for m in value
    )


def encode_response(
    scores: Sequence[float | None], rewards: Mapping[str, Sequence[float | None]] | None = None, unfinished: int = 0
) -> bytes:
    payload: dict[str, Any] = {"scores": [_finite(v) for v in scores]}
    if rewards is not None:
        payload["rewards"] = {name: [_finite(v) for v in values] for name, values in rewards.items()}
    if unfinished:
        payload["unfinished"] = unfinished
    return json.dumps(payload, allow_nan=False).encode("utf-8")


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


class Unfinished(ProtocolError):
    """A row the server did not score by its request deadline: a counted failure on that row."""


def decode_response(body: bytes, rows: int) -> list[float | None | ProtocolError]:
    """The scores of a response body (an :class:`Unfinished` in place of each row the server did not
    score in time: the last ``"unfinished"`` ones); ProtocolError when it is not what the protocol
    promises."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        excerpt = body[:80].decode("utf-8", "replace")
        raise ProtocolError(f"malformed response, not JSON ({exc}): {excerpt!r}") from None
    scores = payload.get("scores") if isinstance(payload, dict) else None
    if not isinstance(scores, list):
        raise ProtocolError("malformed response: expected an object with a 'scores' list")
    if len(scores) != rows:
        raise ProtocolError(f"malformed response: {len(scores)} scores for {rows} rows")
    unfinished = payload.get("unfinished", 0)
    if not isinstance(unfinished, int) or isinstance(unfinished, bool) or not 0 <= unfinished <= rows:
        raise ProtocolError(f"malformed response: 'unfinished' {unfinished!r} is not a number of rows up to {rows}")
    out: list[float | None | ProtocolError] = []
    for value in scores:
        if value is None:
            out.append(None)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out.append(float(value))
        else:
            raise ProtocolError(f"malformed response: score {value!r} is not a number or null")
    for i in range(rows - unfinished, rows):
        out[i] = Unfinished("the server's request deadline passed before this row was scored")
    return out
