"""A loopback OpenAI-compatible chat-completions server around :class:`.local_model.LocalModel`.

It answers the subset of the API the judge client speaks, the way vLLM does: ``POST
/v1/chat/completions`` (``model``, ``messages``, ``temperature``, ``max_tokens``, ``seed``,
``logprobs`` / ``top_logprobs``, and vLLM's ``guided_choice`` or ``structured_outputs.choice``),
``GET /v1/models`` and ``GET /health``. Requests are checked strictly (a 400 that says which field is
wrong); the body is bounded before it is parsed.

``base_url = "local"`` in a judge entry starts one of these in the scoring process (:func:`local_base_url`):
uvicorn on a thread of its own, bound to 127.0.0.1 on a free port, the model loaded once per
(model, device) and process. The judge client then calls it over HTTP like any remote endpoint.
``grpo-rewards judge serve MODEL`` runs the same server in the foreground.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from .local_model import MAX_CHOICES, LocalModel, LocalModelError

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse

MAX_BODY_BYTES = 8 * 1024 * 1024
MAX_NEW_TOKENS = 4096
LOCAL = "local"


class BadRequest(ValueError):
    pass


def _field(body: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any, low: float, high: float) -> Any:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        raise BadRequest(f"'{key}' must be a number from {low:g} to {high:g}")
    return value


def parse_request(body: Any, served: str) -> dict[str, Any]:
    """The answer's arguments from a request body, or :class:`BadRequest` naming the field."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    if body.get("model") != served:
        raise BadRequest(f"'model' must be {served!r}, the model this server serves")
    if body.get("stream"):
        raise BadRequest("'stream' is not supported")
    if _field(body, "n", int, 1, 1, 1) != 1:
        raise BadRequest("'n' must be 1")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list")
    for m in messages:
        if not (isinstance(m, dict) and m.get("role") in ("system", "user", "assistant") and isinstance(m.get("content"), str)):
            raise BadRequest("each message must be {'role': system|user|assistant, 'content': string}")
    choices = body.get("guided_choice")
    structured = body.get("structured_outputs")
    if choices is None and isinstance(structured, dict):
        choices = structured.get("choice")
    if choices is not None and not (
        isinstance(choices, list)
        and 0 < len(choices) <= MAX_CHOICES
        and all(isinstance(c, str) and 0 < len(c) <= 4096 for c in choices)
    ):
        raise BadRequest(f"'guided_choice' must be a list of 1 to {MAX_CHOICES} non-empty strings")
    top = None
    if body.get("logprobs"):
        top = _field(body, "top_logprobs", int, 0, 0, 20)
    return {
        "messages": [{"role": m["role"], "content": m["content"]} for m in messages],
        "max_tokens": _field(body, "max_tokens", int, 512, 1, MAX_NEW_TOKENS),
        "temperature": float(_field(body, "temperature", (int, float), 1.0, 0.0, 2.0)),
        "seed": _field(body, "seed", int, None, 0, 2**63 - 1),
        "choices": choices,
        "top_logprobs": top,
    }


def make_app(model: LocalModel, served: str) -> Starlette:
    """The ASGI app: the model answers in a worker thread, one request at a time (its lock)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse(
            {"error": {"message": message, "type": "invalid_request_error" if status < 500 else "server_error"}}, status
        )

    async def completions(request: Request) -> JSONResponse:
        length = request.headers.get("content-length", "")
        if not length.isdigit():
            return error(411, "a Content-Length is required")
        if int(length) > MAX_BODY_BYTES:
            return error(413, f"the body is over {MAX_BODY_BYTES} bytes")
        try:
            args = parse_request(await request.json(), served)
        except BadRequest as exc:
            return error(400, str(exc))
        except ValueError:
            return error(400, "the body is not JSON")
        try:
            answer = await run_in_threadpool(model.answer, **args)
        except LocalModelError as exc:
            return error(400, str(exc))
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": answer.text},
            "finish_reason": answer.finish_reason,
        }
        if answer.logprobs is not None:
            choice["logprobs"] = {"content": answer.logprobs}
        usage = {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "total_tokens": answer.prompt_tokens + answer.completion_tokens,
        }
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": served,
                "choices": [choice],
                "usage": usage,
            }
        )

    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": served, "object": "model", "owned_by": "grpo-rewards"}]})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ]
    )


class LocalServer:
    """uvicorn serving :func:`make_app` on 127.0.0.1 from a daemon thread; :meth:`stop` shuts it down."""

    def __init__(self, model: LocalModel, served: str, port: int = 0) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(make_app(model, served), log_level="warning", lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name=f"judge-local-{self.port}", daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve(sockets=[self.sock]))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, wait: float = 30.0) -> LocalServer:
        self.thread.start()
        deadline = time.monotonic() + wait
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the local judge server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


_servers: dict[tuple[int, str, str], LocalServer] = {}
_lock = threading.Lock()


def local_base_url(model: str, device: str = "auto") -> str:
    """The base URL of this process's local server for ``model`` (loaded and started on first use)."""
    key = (os.getpid(), model, device)  # a forked child has no server thread: it starts its own
    with _lock:
        server = _servers.get(key)
        if server is None or not server.thread.is_alive():
            server = _servers[key] = LocalServer(LocalModel(model, device), model).start()
    return server.base_url


def stop_local_servers() -> None:
    """Stop every local server of this process (the next judge call starts a fresh one)."""
    with _lock:
        for key, server in list(_servers.items()):
            if key[0] == os.getpid():
                server.stop()
            del _servers[key]
