"""One OpenAI-compatible chat-completions client per process and event loop, shared by every judge row.

It speaks the real ``POST {base_url}/chat/completions`` API (vLLM, SGLang, TGI, llama.cpp's server,
hosted APIs): bounded concurrency per endpoint, retries with jittered back-off on 429, 5xx and
transport errors inside one total deadline, and the API key read from the environment variable the
config names. The key goes into the ``Authorization`` header and nowhere else: every message this
module builds is passed through :func:`redact` first, so it cannot reach logs, details or errors.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # a judge answer is a few KB; refuse anything absurd

_clients: dict[int, httpx.AsyncClient] = {}
_gates: dict[tuple[int, str], asyncio.Semaphore] = {}


class JudgeCallError(RuntimeError):
    """The endpoint could not give an answer (status, transport, deadline, malformed body)."""


@dataclass(frozen=True)
class Endpoint:
    """Where and how to call the judge model; built from a reward-set entry's parameters."""

    base_url: str
    model: str
    api_key_env: str = ""
    max_concurrency: int = 8
    retries: int = 4
    deadline: float = 60.0  # seconds for the whole call, retries included
    request_timeout: float = 30.0
    temperature: float = 0.0
    max_tokens: int = 512
    price_input: float = 0.0  # per million prompt tokens
    price_output: float = 0.0  # per million completion tokens

    def api_key(self) -> str:
        """The key from the named environment variable ('' when none is named or it is unset)."""
        return os.environ.get(self.api_key_env, "") if self.api_key_env else ""

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/") + "/chat/completions"


@dataclass
class Reply:
    """One answer: its text, the verdict-position log-probs when asked for, and usage."""

    text: str
    logprobs: Sequence[Mapping[str, Any]] | None
    prompt_tokens: int
    completion_tokens: int
    calls: int  # HTTP requests made, retries included

    def cost(self, endpoint: Endpoint) -> float:
        return (self.prompt_tokens * endpoint.price_input + self.completion_tokens * endpoint.price_output) / 1e6


_USERINFO = re.compile(r"(//)[^/@\s]+@")


def redact(text: str, endpoint: Endpoint) -> str:
    """``text`` with the API key and any credentials in a URL (``//user:pass@``) replaced."""
    key = endpoint.api_key()
    text = _USERINFO.sub(r"\1***@", text)
    return text.replace(key, "***") if key else text


def client() -> httpx.AsyncClient:
    """This event loop's client: pooled connections, never one per row."""
    import httpx

    loop = id(asyncio.get_running_loop())
    if loop not in _clients:
        _clients[loop] = httpx.AsyncClient(limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
    return _clients[loop]


def gate(endpoint: Endpoint) -> asyncio.Semaphore:
    """How many calls may be in flight to this endpoint from this event loop."""
    key = (id(asyncio.get_running_loop()), f"{endpoint.url}|{endpoint.max_concurrency}")
    if key not in _gates:
        _gates[key] = asyncio.Semaphore(endpoint.max_concurrency)
    return _gates[key]


async def chat(
    endpoint: Endpoint, messages: Sequence[Mapping[str, str]], *, logprobs: bool = False, choices: Sequence[str] | None = None
) -> Reply:
    """One chat completion, retried on 429/5xx/transport errors until ``endpoint.deadline``.

    ``choices`` is sent as ``guided_choice`` (vLLM's extra parameter, which the local server honours
    too): the answer is then one of those strings.

    Raises :class:`JudgeCallError` (its message redacted) when no usable answer came back.
    """
    import httpx

    body: dict[str, Any] = {
        "model": endpoint.model,
        "messages": list(messages),
        "temperature": endpoint.temperature,
        "max_tokens": endpoint.max_tokens,
    }
    if logprobs:
        body.update(logprobs=True, top_logprobs=5)
    if choices:
        body["guided_choice"] = list(choices)
    headers = {"Authorization": f"Bearer {endpoint.api_key()}"} if endpoint.api_key() else {}
    start = time.monotonic()
    calls = 0
    last = "no attempt"
    for attempt in range(endpoint.retries + 1):
        left = endpoint.deadline - (time.monotonic() - start)
        if left <= 0:
            break
        calls += 1
        try:
            async with gate(endpoint):
                response = await client().post(
                    endpoint.url, json=body, headers=headers, timeout=min(endpoint.request_timeout, left)
                )
        except httpx.TransportError as exc:  # connection refused, reset, read timeout
            last = f"transport error: {type(exc).__name__}"
        else:
            if response.status_code == 200:
                return _reply(response, calls, endpoint)
            last = f"HTTP {response.status_code}"
            if response.status_code not in RETRY_STATUSES:
                break
        if attempt < endpoint.retries:
            pause = min(8.0, 0.2 * 2**attempt) * (0.5 + random.random())
            left = endpoint.deadline - (time.monotonic() - start)
            if pause >= left:
                break
            await asyncio.sleep(pause)
    raise JudgeCallError(redact(f"judge endpoint {endpoint.url}: {last} after {calls} request(s)", endpoint))


def _reply(response: httpx.Response, calls: int, endpoint: Endpoint) -> Reply:
    if len(response.content) > MAX_RESPONSE_BYTES:
        raise JudgeCallError(f"judge endpoint {endpoint.url}: answer of {len(response.content)} bytes refused")
    try:
        data = response.json()
        choice = data["choices"][0]
        text = choice["message"]["content"]
        if not isinstance(text, str):
            raise TypeError("content is not a string")
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise JudgeCallError(redact(f"judge endpoint {endpoint.url}: not a chat completion ({exc})", endpoint)) from None
    usage = data.get("usage") or {}
    content = (choice.get("logprobs") or {}).get("content") if isinstance(choice.get("logprobs"), dict) else None
    return Reply(
        text,
        content if isinstance(content, list) else None,
        _count(usage.get("prompt_tokens")),
        _count(usage.get("completion_tokens")),
        calls,
    )


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
