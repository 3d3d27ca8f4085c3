"""Test-suite guards: only our own plugins load, and no model hub is ever contacted."""

from __future__ import annotations

import os

# The guard: whatever else is installed on this machine must not change test results.
os.environ["GRPO_REWARDS_PLUGINS"] = ""
os.environ.pop("GRPO_REWARDS_LOCAL_PLUGINS", None)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402

from grpo_rewards.registry import get_registry  # noqa: E402


@pytest.fixture
def registry():
    """A freshly loaded registry with the test rewards of ``tests/sample_rewards.py`` added;
    the process-wide registry is reloaded afterwards so tests do not leak plugins."""
    from tests import sample_rewards

    reg = get_registry(refresh=True)
    reg.add_plugin(sample_rewards, "sample-rewards")
    yield reg
    get_registry(refresh=True)
