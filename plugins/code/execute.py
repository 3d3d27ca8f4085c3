"""Running one program against its tests on a backend, with a cache keyed by (program, tests).

Verdicts come from outside the candidate's reach: for stdin/stdout tests the comparison is made
here, on the output the backend returned; for function tests it is the runner's verdict line,
accepted only after the per-run secret the candidate never sees. A program's own failures
(it does not compile, crashes, overruns, prints the wrong thing) are results; a sandbox or engine
that fails is RunError, which the reward turns into a counted None.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

from grpo_rewards.errors import RunError

from .backends import Backend
from .extract import compiles
from .sandbox import script
from .testcases import Tests, outputs_match

CACHE_SIZE = 4096
START_SECONDS = 10.0


@dataclass(frozen=True)
class Outcome:
    passed: int
    total: int
    failure: str | None = None

    def score(self, scoring: str) -> float:
        if scoring == "all":
            return 1.0 if self.total and self.passed == self.total else 0.0
        return self.passed / self.total if self.total else 0.0


class OutcomeCache:
    """A bounded, thread-safe LRU of outcomes (deterministic results only, never sandbox failures)."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.items: OrderedDict[str, Outcome] = OrderedDict()
        self.lock = threading.Lock()
        self.hits = 0

    def get(self, key: str) -> Outcome | None:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
                self.hits += 1
            return value

    def put(self, key: str, value: Outcome) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


CACHE = OutcomeCache()


def cache_key(
    backend: Backend, program: str, tests: Tests, setup: str, entry_point: str | None, test_timeout: float, float_tol: float
) -> str:
    parts = [backend.label, program, tests.key(), setup, entry_point or "", repr(test_timeout), repr(float_tol)]
    return hashlib.sha256("\0\1".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def run_tests(
    backend: Backend,
    program: str,
    tests: Tests,
    *,
    setup: str = "",
    entry_point: str | None = None,
    test_timeout: float = 5.0,
    float_tol: float = 0.0,
    use_cache: bool = True,
) -> Outcome:
    """Run ``program`` against ``tests``; how many passed. RunError when the sandbox failed."""
    key = cache_key(backend, program, tests, setup, entry_point, test_timeout, float_tol)
    cached = CACHE.get(key) if use_cache else None
    if cached is not None:
        return cached
    full = f"{setup}\n\n{program}" if setup else program
    total = len(tests.cases) if tests.style == "stdio" else None
    if not compiles(full):
        outcome = Outcome(0, total or 1, "does not compile")
    elif tests.style == "stdio":
        outcome = _stdio(backend, full, tests, test_timeout, float_tol)
    else:
        outcome = _functions(backend, full, tests, setup, entry_point, test_timeout)
    if use_cache:
        CACHE.put(key, outcome)
    return outcome


def _stdio(backend: Backend, program: str, tests: Tests, test_timeout: float, float_tol: float) -> Outcome:
    passed, failure = 0, None
    for index, case in enumerate(tests.cases):
        result = backend.stdio(program, case.stdin, test_timeout)
        if not result.timed_out and outputs_match(result.stdout, case.expected, float_tol):
            passed += 1
        elif failure is None:
            failure = f"test {index + 1}: " + (
                "time limit exceeded"
                if result.timed_out
                else f"wrong output (exit {result.exit_code}): {result.stderr.strip()[-200:]}"
            )
    return Outcome(passed, len(tests.cases), failure)


def _functions(backend: Backend, program: str, tests: Tests, setup: str, entry_point: str | None, test_timeout: float) -> Outcome:
    if tests.style == "check" and not entry_point:
        raise RunError("check(candidate) tests need the row's entry point (entry_point_column)")
    secret = secrets.token_hex(16)
    job = {
        "secret": secret,
        "program": program,
        "stub_source": script("stub"),
        "setup": setup,
        "test": tests.code,
        "style": tests.style,
        "entry_point": entry_point,
        "per_test_timeout": test_timeout,
        "start_timeout": START_SECONDS,
    }
    wall = START_SECONDS * 2 + test_timeout * (2 + tests.code.count("assert"))
    result = backend.job(job, wall)
    verdict = None
    for line in reversed(result.stdout.splitlines()):
        if line.startswith(secret):
            try:
                verdict = json.loads(line[len(secret) :])
            except ValueError:
                verdict = None
            break
    if verdict is None:
        if result.timed_out:
            return Outcome(0, 1, f"the whole run exceeded {wall:g}s")
        raise RunError(f"the test runner gave no verdict: {(result.stderr or result.stdout).strip()[-300:]}")
    for key in ("sandbox_error", "runner_error"):
        if verdict.get(key):
            raise RunError(str(verdict[key]))
    return Outcome(int(verdict["passed"]), int(verdict["total"]), verdict.get("failure"))
