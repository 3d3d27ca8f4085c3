"""The ASGI app of ``serve-rewards`` (Starlette): the token, admission, body deadline and scoring.

It runs behind :mod:`.gate`, which has already bounded and checked each request's head, so here
every request is well framed. In order, a request

1. has passed the gate, which checked the bearer token from its headers (``Expect: 100-continue``
   gets its ``100`` from uvicorn only when the body is first read, after admission);
2. is routed (``POST /score``, ``GET /health``; else a JSON ``404``/``405``);
3. for ``/score``: has a ``Content-Length`` (``411``) within ``max_body_bytes`` (``413``, its body
   drained by the gate so the client reads it) and a JSON ``Content-Type`` (``415``);
4. takes one of ``threads`` scoring places, or waits for one in one of ``queue`` places until its
   request deadline; past that ``503`` with ``Retry-After`` (:class:`Admission`). Only then is its
   body read, so memory holds at most ``threads`` bodies;
5. has its body by the body deadline (else the connection is dropped), decoded strictly
   (:func:`.protocol.decode_request`: a 4xx for anything wrong), off the event loop when it is
   over 64 KiB;
6. is scored in chunks of rows (growing from one while they take little of the time left; as many
   rows as run at once when every reward is awaited with a time limit that fits in it) through the
   runtime's :meth:`~grpo_rewards.runtime.Scorer.score_async`:
   ``async def`` rewards are awaited on the runtime's event loop, holding no thread, and sync ones
   run in the server's threads or worker processes, never on this loop; at the request deadline it
   is answered with what was scored, ``null`` and ``"unfinished"`` for the rest.

Every answer of status 400 or more closes its connection. Deadlines count from the request's start
(the gate's: its connection's accept, or the previous answer).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from grpo_rewards.reward import Sample
from grpo_rewards.rewardset import RewardSet
from grpo_rewards.runtime import Scorer
from grpo_rewards.runtime.aio import DEFAULT_CONCURRENCY
from grpo_rewards.scoring import Row

from . import openrlhf
from .gate import Shared
from .limits import RETRY_AFTER_SECONDS, Limits
from .protocol import HEALTH_PATH, PROTOCOL_VERSION, SCORE_PATH, ProtocolError, ScoreRequest, decode_request, encode_response

FIRST_CHUNK_ROWS, MAX_CHUNK_ROWS = 1, 64  # rows scored between two looks at the request deadline
JSON_TYPES = ("application/json", "text/json")
INLINE_DECODE_BYTES = 64 * 1024  # bodies up to this are decoded on the loop, larger ones in a thread
Message = dict[str, Any]


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps({"error": message}), status, headers=headers, media_type="application/json")


@dataclass
class ScoringJob:
    """One request's rows, scored chunk by chunk until done or until its deadline (on the loop: no
    lock), and how its answer is written (``encode(values, totals, unfinished)``)."""

    samples: list[Sample]
    reward: str | None
    deadline: float  # time.monotonic()
    encode: Callable[[dict[str, list[float | None]], list[float | None], int], bytes]
    names: list[str]  # the rewards answered
    values: dict[str, list[float | None]] = field(default_factory=dict)
    totals: list[float | None] = field(default_factory=list)
    stop: bool = False

    def add(self, values: dict[str, list[float | None]], totals: list[float | None]) -> None:
        for name, chunk in values.items():
            self.values.setdefault(name, []).extend(chunk)
        self.totals.extend(totals)

    def snapshot(self) -> tuple[dict[str, list[float | None]], list[float | None], int]:
        """Values and totals so far, null for the rows not scored, and how many those are."""
        missing = len(self.samples) - len(self.totals)
        values = {n: self.values.get(n, []) + [None] * missing for n in self.names}
        return values, self.totals + [None] * missing, missing


class Admission:
    """``places`` requests read and scored at once, ``queue`` more waiting (bodies unread)."""

    def __init__(self, places: int, queue: int) -> None:
        self._places = asyncio.Semaphore(places)
        self._queue = queue
        self.waiting = 0

    async def enter(self, deadline: float) -> bool:
        """Take a place, or wait for one until ``deadline`` (time.monotonic); False: busy."""
        if not self._places.locked():
            await self._places.acquire()
            return True
        if self.waiting >= self._queue:
            return False
        self.waiting += 1
        try:
            await asyncio.wait_for(self._places.acquire(), max(0.0, deadline - time.monotonic()))
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            self.waiting -= 1

    def leave(self) -> None:
        self._places.release()


class Service:
    """One reward set behind the routes; its counters are read by tests and benchmarks."""

    def __init__(
        self, reward_set: RewardSet, limits: Limits, shared: Shared, verbose: bool, mapping: openrlhf.Mapping | None = None
    ) -> None:
        self.reward_set = reward_set
        self.openrlhf = openrlhf.plan(mapping or openrlhf.Mapping(), reward_set)
        self.limits = limits
        self.shared = shared
        self.verbose = verbose
        self.unfinished = 0  # rows answered null because their request's deadline passed
        self._admission: Admission | None = None  # made on the server's loop
        self._scorers: dict[str | None, Scorer] = {}
        self._needed = {c for cols in reward_set.required_columns().values() for c in cols}
        routes = [
            Route(SCORE_PATH, self.score, methods=["POST"]),
            Route(openrlhf.OPENRLHF_PATH, self.score_openrlhf, methods=["POST"]),
            Route(HEALTH_PATH, self.health, methods=["GET"]),
        ]
        self.app = Guard(Starlette(routes=routes, exception_handlers={HTTPException: self.http_error}), self)

    # ---- routes -----------------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        if int(request.headers.get("content-length") or 0):
            return error(400, f"GET {HEALTH_PATH} takes no body")
        body = {
            "protocol": PROTOCOL_VERSION,
            "source": self.reward_set.source,
            "rewards": self.reward_set.names,
            "weights": self.reward_set.weights,
            "columns": self.reward_set.required_columns(),
        }
        return Response(json.dumps(body), media_type="application/json")

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's 404 and 405, as JSON that says what the server takes."""
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            allow = (exc.headers or {}).get("Allow", "")
            return error(405, f"{request.url.path} takes {allow.replace(', HEAD', '')}", headers={"Allow": allow})
        if exc.status_code == 404:
            where = f"POST {SCORE_PATH} (or {openrlhf.OPENRLHF_PATH}) or GET {HEALTH_PATH}"
            return error(404, f"no such path {request.url.path!r}; {where}")
        return error(exc.status_code, exc.detail)

    async def score(self, request: Request) -> Response:
        """POST /score: the reward-endpoint protocol (:mod:`.protocol`)."""
        return await self._serve(request, self.job)

    async def score_openrlhf(self, request: Request) -> Response:
        """POST /openrlhf: OpenRLHF's remote-reward shape (:mod:`.openrlhf`)."""
        return await self._serve(request, self.openrlhf_job)

    async def _serve(self, request: Request, make_job: Callable[[bytes, float], ScoringJob]) -> Response:
        gate = self.shared.lookup(request.scope.get("client"))
        started = gate.started if gate is not None else time.monotonic()
        declared = request.headers.get("content-length")
        if declared is None:
            return error(411, "a Content-Length header is required (chunked bodies are not supported)")
        length = int(declared)  # the gate let through one length of plain digits only
        if length > self.limits.max_body_bytes:
            if gate is not None:
                gate.drain_body(started + self.limits.body_deadline)
            return error(413, f"request body of {length} bytes is over this server's limit of {self.limits.max_body_bytes}")
        problem = content_problem(request)
        if problem:
            return error(415, problem)
        deadline = started + self.limits.request_timeout
        admission = self._admit()
        if not await admission.enter(deadline):
            return error(503, "the server is busy; retry shortly", {"Retry-After": str(RETRY_AFTER_SECONDS)})
        task: asyncio.Task[None] | None = None
        try:
            body = await read_body(request, length, started + self.limits.body_deadline)
            if body is None:  # the body deadline passed or the client left: nothing more to say
                if gate is not None:
                    gate.abort()
                return error(408, "the request body did not arrive in time")
            try:
                if len(body) <= INLINE_DECODE_BYTES:  # well under a millisecond: not worth a thread
                    job = make_job(body, deadline)
                else:  # a 16 MB body decodes for a while: off the loop
                    job = await asyncio.to_thread(make_job, body, deadline)
            except ProtocolError as exc:
                return error(exc.status, str(exc))
            task = asyncio.get_running_loop().create_task(self._run(job))
            task.add_done_callback(lambda _: admission.leave())  # the place is held until scoring stops
        finally:
            if task is None:
                admission.leave()
        try:
            await asyncio.wait_for(asyncio.shield(task), max(0.0, job.deadline - time.monotonic()))
        except asyncio.TimeoutError:
            job.stop = True  # scoring stops at its next chunk
        if task.done() and task.exception() is not None:  # the rewards isolate their own failures: a bug
            exc = task.exception()
            return error(500, f"scoring failed: {type(exc).__name__}: {exc}")
        return Response(self.answer(job), media_type="application/json")

    # ---- scoring ------------------------------------------------------------------------------------
    def _admit(self) -> Admission:
        if self._admission is None:
            self._admission = Admission(self.limits.threads, self.limits.queue)
        return self._admission

    def job(self, body: bytes, deadline: float) -> ScoringJob:
        """The rows of a request body, checked against the reward set (ProtocolError if wrong)."""
        request: ScoreRequest = decode_request(body, self.limits.max_rows)
        del body
        names = self.reward_set.names
        if request.reward is not None and request.reward not in names:
            raise ProtocolError(f"unknown reward {request.reward!r}; this server has {', '.join(map(repr, names))}")
        needs = {r.name: r.columns for r in self.reward_set.rewards if r.columns and request.reward in (None, r.name)}
        problems = [
            f"reward {name!r} needs column(s) {', '.join(repr(c) for c in cols if c not in request.columns)}"
            for name, cols in needs.items()
            if any(c not in request.columns for c in cols)
        ]
        if problems:
            sent = ", ".join(map(repr, request.columns)) or "none"
            raise ProtocolError("; ".join(problems) + f" (the request's columns: {sent})")
        columns = {name: values for name, values in request.columns.items() if name in self._needed}
        samples = [
            Row(completion, prompt, {name: values[i] for name, values in columns.items()}).sample()
            for i, (prompt, completion) in enumerate(zip(request.prompts, request.completions))
        ]
        reward, per_reward = request.reward, request.per_reward  # not the request: its rows are in the samples

        def encode(values: dict[str, list[float | None]], totals: list[float | None], missing: int) -> bytes:
            scores = values[reward] if reward is not None else totals
            return encode_response(scores, values if per_reward else None, unfinished=missing)

        return ScoringJob(samples, reward, deadline, encode, [reward] if reward is not None else names)

    def openrlhf_job(self, body: bytes, deadline: float) -> ScoringJob:
        """The rows of an OpenRLHF request (ProtocolError if it is not that shape)."""
        decoded = openrlhf.decode(body, self.limits.max_rows, self.openrlhf, self._needed)
        names = self.reward_set.names
        encode = openrlhf.encoder(decoded, self.openrlhf, names)
        return ScoringJob(decoded.samples, None, deadline, lambda values, totals, _: encode(values, totals), names)

    def _scorer(self, reward: str | None) -> Scorer:
        """One Scorer per reward a request may name (None: the whole set), shared by every request:
        each batch carries its own statistics."""
        if reward not in self._scorers:
            if reward is None:
                self._scorers[reward] = Scorer(self.reward_set)
            else:
                entries = [r for r in self.reward_set.rewards if r.name == reward]
                self._scorers[reward] = Scorer(RewardSet(entries, self.reward_set.source))
        return self._scorers[reward]

    async def _run(self, job: ScoringJob) -> None:
        """Chunks of rows until all are scored, the deadline passes or the answer has gone; a chunk
        grows while it takes little of the time left and shrinks when it does not."""
        scorer = self._scorer(job.reward)
        wide = concurrent_width(scorer)
        done, size = 0, FIRST_CHUNK_ROWS
        while done < len(job.samples) and not job.stop and time.monotonic() < job.deadline:
            if wide is not None and wide[1] < job.deadline - time.monotonic():
                size = max(size, wide[0])  # every row ends by its own limit, all at once: no reason to wait
            start = time.monotonic()
            chunk = job.samples[done : done + size]
            batch = await scorer.score_async(chunk)
            job.add(batch.values, batch.total)
            done += len(chunk)
            took, left = time.monotonic() - start, job.deadline - time.monotonic()
            size = min(MAX_CHUNK_ROWS, size * 2) if 4 * took < left else max(1, size // 2)

    def answer(self, job: ScoringJob) -> bytes:
        """The response body: what was scored, null for the rest."""
        values, totals, missing = job.snapshot()
        self.unfinished += missing
        return job.encode(values, totals, missing)


def concurrent_width(scorer: Scorer) -> tuple[int, float] | None:
    """(rows, seconds) when every reward is awaited on the asyncio executor with a time limit: that
    many rows run at once and each ends by then (None: rows take turns, or may run unbounded)."""
    functions = scorer.functions
    if not functions or any(fn.executor != "asyncio" or fn.timeout is None or fn.batched for fn in functions):
        return None
    rows = min(min(fn.concurrency or DEFAULT_CONCURRENCY for fn in functions), MAX_CHUNK_ROWS)
    return rows, max(fn.timeout or 0.0 for fn in functions) + 0.5


def content_problem(request: Request) -> str | None:
    """Why the body is not JSON we read, from its headers (a form or text/plain POST is also what a
    web page can send across origins without asking first)."""
    kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if kind and kind not in JSON_TYPES and not kind.endswith("+json"):
        return f"Content-Type {kind[:60]!r} is not JSON; send application/json"
    coding = (request.headers.get("content-encoding") or "identity").strip().lower()
    if coding != "identity":
        return f"Content-Encoding {coding[:60]!r} is not supported; send the body as it is"
    return None


async def read_body(request: Request, length: int, until: float) -> bytes | None:
    """The body (``length`` bytes, which httptools never exceeds) by ``until`` (time.monotonic), or
    None when the deadline passed or the client left first."""
    body = bytearray()

    async def pull() -> None:
        async for chunk in request.stream():
            body.extend(chunk)

    try:
        await asyncio.wait_for(pull(), max(0.0, until - time.monotonic()))
    except (asyncio.TimeoutError, ClientDisconnect):
        return None
    return bytes(body) if len(body) == length else None


class Guard:
    """Wraps the whole app (Starlette's own error pages included): a
    ``Connection: close`` on every answer of status 400 or more, a write deadline, and the gate
    told when a keep-alive answer has gone (the next request's deadlines start then)."""

    def __init__(self, app: Any, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        service = self.service
        gate = service.shared.lookup(scope.get("client"))
        status = 0

        async def guarded(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if status >= 400:
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
                if service.verbose:
                    sys.stderr.write(f"{(scope.get('client') or ('?',))[0]} - {scope['method']} {scope['path']} {status}\n")
            try:  # a client that does not read its answer is dropped
                await asyncio.wait_for(send(message), service.limits.header_timeout)
            except asyncio.TimeoutError:
                if gate is not None:
                    gate.abort()
                return
            if message["type"] == "http.response.body" and not message.get("more_body") and status < 400 and gate:
                gate.answered()

        await self.app(scope, receive, guarded)
