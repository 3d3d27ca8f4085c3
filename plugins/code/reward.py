"""``code.tests`` and ``code.compiles``: run the completion's program against the row's tests."""

from __future__ import annotations

import time
from typing import Any

from grpo_rewards import Param, Sample, Scored, reward
from grpo_rewards.errors import RunError

from .backends import make_backend
from .execute import Outcome, run_tests
from .extract import MAX_PROGRAM_CHARS, compiles, extract_program
from .sandbox import Limits
from .testcases import FORMATS, parse_tests

EXTRACT_PARAMS = [
    Param("language", str, "python", "language of the fenced block to run", choices=["python"]),
    Param(
        "extract",
        str,
        "last",
        "'last' fenced block of the language (else the last untagged one), 'all' such blocks joined, or the 'whole' completion",
        choices=["last", "all", "whole"],
    ),
    Param("after_think", bool, False, "look only after the last </think> (none: no program)"),
]


@reward(
    "code.tests",
    description=(
        "Fraction (or all-or-nothing) of the row's tests the completion's program passes, run in a sandbox: "
        "HumanEval check(candidate) or assert statements (the tests run in a separate process and call the "
        "program's functions, which return plain values only), or stdin/stdout pairs (compared here, "
        "whitespace-tolerant, optional float tolerance). None when the row has no tests or the sandbox fails; "
        "0 for a program that does not compile. Backends: local (bubblewrap when available, else rlimits; the "
        "level is printed), sandboxfusion, piston."
    ),
    params=[
        *EXTRACT_PARAMS,
        Param(
            "tests_column", str, "test", "column holding the tests (Python source, or stdin/stdout pairs as JSON)", column=True
        ),
        Param(
            "entry_point_column", str, None, "column naming the function check(candidate) receives", column=True, nullable=True
        ),
        Param(
            "setup_column",
            str,
            None,
            "column of trusted code run before the tests and put before the program "
            "(HumanEval's prompt, which defines helpers such as poly)",
            column=True,
            nullable=True,
        ),
        Param(
            "test_format",
            str,
            "auto",
            "check, assert, stdio, or auto (stdio for JSON, check when the tests define check(), else assert)",
            choices=list(FORMATS),
        ),
        Param(
            "scoring",
            str,
            "fraction",
            "'fraction' of tests passed, or 'all' (1 only when every test passes)",
            choices=["fraction", "all"],
        ),
        Param("float_tol", float, 0.0, "stdio tests: numbers may differ by this much (absolute or relative)", min=0.0),
        Param(
            "backend",
            str,
            "local",
            "local sandbox, or an engine: sandboxfusion, piston",
            choices=["local", "sandboxfusion", "piston"],
        ),
        Param("url", str, None, "the engine's base URL (sandboxfusion, piston)", nullable=True),
        Param(
            "isolation",
            str,
            "auto",
            "local sandbox: bwrap, rlimits, or auto (the strongest that works; printed once)",
            choices=["auto", "bwrap", "rlimits"],
        ),
        Param("test_timeout", float, 5.0, "seconds per test (a stdio run, or one test statement)", min=0.1, max=600.0),
        Param("cpu_seconds", int, 10, "CPU seconds per candidate process", min=1, max=3600),
        Param("memory_mb", int, 1024, "address space per candidate process, MiB", min=64, max=1 << 20),
        Param(
            "disk_mb",
            int,
            64,
            "disk quota per run, MiB: what the program's files may hold in its work directory (local backend)",
            min=1,
            max=1 << 20,
        ),
        Param("max_files", int, 4096, "files and folders a run may create (local backend)", min=16, max=1 << 24),
        Param("workers", int, 2, "programs run at once", min=1, max=256),
        Param("total_timeout", float, 600.0, "bound on one call; rows not done by then are None", min=1.0),
        Param("request_timeout", float, 30.0, "engines: seconds to connect and per read", min=0.1),
        Param("retries", int, 2, "engines: retries of a request failed in transit or with 429/5xx", min=0, max=20),
    ],
    value_range=(0.0, 1.0),
    batched=True,
    concurrent=True,
    timeout=None,  # bounded by total_timeout
    kind="correctness",
    answer_domain="code",
)
def code_tests(
    samples: list[Sample],
    language: str,
    extract: str,
    after_think: bool,
    tests_column: str,
    entry_point_column: str | None,
    setup_column: str | None,
    test_format: str,
    scoring: str,
    float_tol: float,
    backend: str,
    url: str | None,
    isolation: str,
    test_timeout: float,
    cpu_seconds: int,
    memory_mb: int,
    disk_mb: int,
    max_files: int,
    workers: int,
    total_timeout: float,
    request_timeout: float,
    retries: int,
) -> list[Scored | None | Exception]:
    from grpo_rewards.plugins.reward_model.remote import _PENDING, run_bounded

    deadline = time.monotonic() + total_timeout
    limits = Limits(
        cpu_seconds=cpu_seconds, address_space=memory_mb * 1024 * 1024, disk_bytes=disk_mb * 1024 * 1024, disk_files=max_files
    )
    runner = make_backend(
        backend,
        url,
        isolation,
        limits,
        {"request_timeout": request_timeout, "retries": retries, "max_concurrency": workers, "memory_mb": memory_mb},
    )
    results: list[Any] = [None] * len(samples)
    tasks, where = [], []
    for index, sample in enumerate(samples):
        try:
            tests = parse_tests(sample.columns.get(tests_column), test_format)
        except ValueError as exc:
            results[index] = RunError(f"{tests_column}: {exc}")
            continue
        if tests is None:
            continue  # no tests: the reward does not apply
        program = extract_program(sample.completion, language, extract, after_think)
        if program is None:
            results[index] = Scored(0.0, {"why": f"no {language} program found ({extract!r} extraction)"})
            continue
        setup = str(sample.columns.get(setup_column) or "") if setup_column else ""
        entry = sample.columns.get(entry_point_column) if entry_point_column else None
        tasks.append(
            lambda program=program, tests=tests, setup=setup, entry=entry: run_tests(
                runner,
                program,
                tests,
                setup=setup,
                entry_point=str(entry) if entry else None,
                test_timeout=test_timeout,
                float_tol=float_tol,
            )
        )
        where.append(index)
    for index, outcome in zip(where, run_bounded(tasks, workers, deadline)):
        if outcome is _PENDING:
            outcome = RunError(f"not run within total_timeout={total_timeout:g}s")
        results[index] = _scored(outcome, scoring) if isinstance(outcome, Outcome) else outcome
    return results


def _scored(outcome: Outcome, scoring: str) -> Scored:
    """The score with what explain shows: tests passed, and the first failure (the runner's own
    words, bounded; never the per-run secret, which only the harness reads)."""
    details: dict[str, Any] = {"passed": outcome.passed, "tests": outcome.total}
    if outcome.failure:
        details["first_failure"] = outcome.failure[:300]
    return Scored(outcome.score(scoring), details)


@reward(
    "code.compiles",
    description="1 when the completion holds a program that compiles (parsed, never run), else 0: a cheap "
    "shaping term beside code.tests.",
    params=EXTRACT_PARAMS,
    value_range=(0.0, 1.0),
    kind="format",
)
def code_compiles(sample: Sample, language: str, extract: str, after_think: bool) -> Scored:
    program = extract_program(sample.completion, language, extract, after_think)
    if program is None:
        return Scored(0.0, {"why": f"no {language} program found ({extract!r} extraction)"})
    details: dict[str, Any] = {"extract": extract, "program_lines": program.count("\n") + 1}
    if len(program) > MAX_PROGRAM_CHARS:
        return Scored(0.0, {**details, "why": f"the program is longer than {MAX_PROGRAM_CHARS} characters"})
    if not compiles(program):
        return Scored(0.0, {**details, "why": "does not compile"})
    return Scored(1.0, {**details, "why": "compiles"})
