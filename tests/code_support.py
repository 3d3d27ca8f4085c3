"""Shared pieces of the code-reward tests: HumanEval rows and building code.tests."""

from __future__ import annotations

import functools
from typing import Any

from grpo_rewards.registry import get_registry
from grpo_rewards.reward import Sample


@functools.lru_cache(maxsize=1)
def humaneval_rows() -> tuple[dict[str, Any], ...]:
    return tuple(get_registry().dataset("humaneval").loader(None, {"split": "test"}))


def code_tests(**params: Any):
    base = {"entry_point_column": "entry_point", "setup_column": "code_prompt", "test_timeout": 2.0, "workers": 2}
    return get_registry().get("code.tests").build({**base, **params})


def score(fn, completions: list[str], rows: list[dict[str, Any]]) -> list[float | None]:
    return run_rows(fn, completions, rows).values


def run_rows(fn, completions: list[str], rows: list[dict[str, Any]]):
    """The reward's run on these rows: values and the batch's statistics."""
    return fn.run([Sample(completion=c, columns=r) for c, r in zip(completions, rows)])
