"""Where programs run: the local sandbox, or an engine a team already runs (SandboxFusion, Piston).

Every backend does two things with the same meaning:

- ``stdio(program, stdin, timeout)``: run the candidate's program on ``stdin``; its output.
- ``job(job, timeout)``: run the trusted test runner (``_runner.py``) with ``job`` on its stdin;
  the runner starts the candidate's process itself and prints the verdict after the job's secret
  (the runner's own output comes back).

Locally the runner stays outside the candidate's sandbox. On a remote engine both run in the
engine's sandbox, the candidate in a child process of the runner (as ``nobody`` where the engine
runs code as root and allows the switch), and the job (tests, secret) travels on stdin, never in
a file the candidate could open. A request that fails in transit is retried; an engine that still
fails raises RunError, which the reward counts as a None.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from grpo_rewards.errors import RunError

from .sandbox import Execution, Isolation, Limits, run_job, run_stdio, script

MAX_RESPONSE_BYTES = 16 * 1024 * 1024
RETRY_STATUSES = (429, 500, 502, 503, 504)


class Backend(Protocol):
    label: str

    def stdio(self, program: str, stdin: str, timeout: float) -> Execution: ...

    def job(self, job: dict[str, Any], timeout: float) -> Execution: ...


@dataclass(frozen=True)
class LocalBackend:
    isolation: Isolation
    limits: Limits

    @property
    def label(self) -> str:
        return f"local/{self.isolation.level}"

    def stdio(self, program: str, stdin: str, timeout: float) -> Execution:
        return run_stdio(program, stdin, timeout, self.limits, self.isolation)

    def job(self, job: dict[str, Any], timeout: float) -> Execution:
        return run_job({**job, "limits": self.limits.as_dict()}, timeout, self.isolation)


@dataclass(frozen=True)
class HttpSettings:
    url: str
    request_timeout: float = 30.0
    retries: int = 2
    backoff: float = 0.5
    max_concurrency: int = 8
    memory_mb: int = 1024


def post_json(settings: HttpSettings, url: str, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
    """POST ``payload`` with retries on transit failures and 429/5xx; the JSON answer, or RunError."""
    import urllib3
    from grpo_rewards.plugins.reward_model.remote import connection_pool

    pool = connection_pool(settings.max_concurrency)
    retry = urllib3.Retry(
        total=settings.retries,
        redirect=0,
        allowed_methods=None,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=settings.backoff,
        backoff_max=10.0,
        respect_retry_after_header=False,
        raise_on_status=False,
    )
    wait = max(settings.request_timeout, timeout + 5.0)
    try:
        response = pool.request(
            "POST",
            url,
            body=json.dumps(payload).encode(),
            retries=retry,
            headers={"Content-Type": "application/json"},
            timeout=urllib3.Timeout(connect=settings.request_timeout, read=wait),
            preload_content=False,
        )
        try:
            data = response.read(MAX_RESPONSE_BYTES + 1)
        finally:
            response.release_conn()
    except urllib3.exceptions.MaxRetryError as exc:
        raise RunError(f"POST {url} failed after {settings.retries} retries: {exc.reason}") from None
    except urllib3.exceptions.HTTPError as exc:
        raise RunError(f"POST {url} failed: {type(exc).__name__}: {exc}") from None
    if response.status != 200:
        raise RunError(f"POST {url} answered HTTP {response.status}: {data[:200].decode('utf-8', 'replace')}")
    try:
        answer = json.loads(data) if len(data) <= MAX_RESPONSE_BYTES else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise RunError(f"POST {url}: the answer is not a JSON object")
    return answer


def remote_job(job: dict[str, Any], limits: Limits) -> str:
    """The runner's stdin for a remote engine: the job, with the stub to start under the engine's Python."""
    return json.dumps({**job, "limits": limits.as_dict(), "python": None, "prefix": [], "workdir": None, "drop_root": "try"})


class RemoteBackend:
    """A code-execution server: a program runs as it is, and a test job runs as our runner script
    with the job on its stdin; subclasses say how one program is sent (``_run``)."""

    limits: Limits

    def _run(self, code: str, stdin: str, timeout: float) -> Execution:
        raise NotImplementedError

    def stdio(self, program: str, stdin: str, timeout: float) -> Execution:
        return self._run(program, stdin, timeout)

    def job(self, job: dict[str, Any], timeout: float) -> Execution:
        return self._run(script("runner"), remote_job(job, self.limits), timeout)


@dataclass(frozen=True)
class SandboxFusionBackend(RemoteBackend):
    """SandboxFusion (verl): ``POST {url}/run_code`` with code, language, stdin and timeouts."""

    settings: HttpSettings
    limits: Limits
    label: str = "sandboxfusion"

    def _run(self, code: str, stdin: str, timeout: float) -> Execution:
        answer = post_json(
            self.settings,
            self.settings.url.rstrip("/") + "/run_code",
            {
                "code": code,
                "language": "python",
                "stdin": stdin,
                "run_timeout": timeout,
                "compile_timeout": 10,
                "memory_limit_MB": self.settings.memory_mb,
                "files": {},
                "fetch_files": [],
            },
            timeout,
        )
        status = answer.get("status")
        result = answer.get("run_result")
        if status == "SandboxError" or not isinstance(result, dict):
            raise RunError(f"SandboxFusion: {status or 'no status'}: {str(answer.get('message') or '')[:200]}")
        return Execution(
            stdout=str(result.get("stdout") or ""),
            stderr=str(result.get("stderr") or ""),
            exit_code=result.get("return_code"),
            timed_out=result.get("status") == "TimeLimitExceeded",
        )


@dataclass(frozen=True)
class PistonBackend(RemoteBackend):
    """Piston (open-r1): ``POST {url}/api/v2/execute`` with language, version, files and stdin."""

    settings: HttpSettings
    limits: Limits
    version: str = "*"
    label: str = "piston"

    def _run(self, code: str, stdin: str, timeout: float) -> Execution:
        answer = post_json(
            self.settings,
            self.settings.url.rstrip("/") + "/api/v2/execute",
            {
                "language": "python",
                "version": self.version,
                "files": [{"name": "main.py", "content": code}],
                "stdin": stdin,
                "run_timeout": int(timeout * 1000),
                "compile_timeout": 10000,
                "run_memory_limit": self.settings.memory_mb * 1024 * 1024,
            },
            timeout,
        )
        run = answer.get("run")
        if not isinstance(run, dict):
            raise RunError(f"Piston: no run result: {str(answer.get('message') or answer)[:200]}")
        return Execution(
            stdout=str(run.get("stdout") or ""),
            stderr=str(run.get("stderr") or ""),
            exit_code=run.get("code"),
            timed_out=run.get("signal") == "SIGKILL",
        )


def make_backend(name: str, url: str | None, isolation: str, limits: Limits, settings: dict[str, Any]) -> Backend:
    """The backend a reward's parameters describe."""
    if name == "local":
        from .sandbox import isolation as detect

        return LocalBackend(detect(isolation), limits)
    if not url:
        raise RunError(f"backend {name!r} needs a url")
    http = HttpSettings(url=url, **settings)
    if name == "sandboxfusion":
        return SandboxFusionBackend(http, limits)
    if name == "piston":
        return PistonBackend(http, limits)
    raise RunError(f"unknown backend {name!r}")
