"""Every shipped example config is valid as the trainer (and the bench) read it, so a README command
never starts with a config error."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("trl")

from grpo_rewards.trainer.config import validate_trainer_config  # noqa: E402

from grpo_rewards.bench.settings import load_bench_config  # noqa: E402

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_config_is_valid(path):
    cfg = load_bench_config(path)  # the reward set, [bench] and every key
    assert cfg.reward_set.names
    if cfg.is_trainer_config:
        trainer = validate_trainer_config(cfg.trainer_raw, str(path), path.parent)
        assert trainer.grpo["max_steps"] > 0
