"""code.tests and code.compiles inside a real GRPO run (tiny random model: plumbing, not learning)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from grpo_rewards.trainer.run import train  # noqa: E402

from tests.trainer_support import build_tiny_model  # noqa: E402

from .code_support import humaneval_rows  # noqa: E402

pytestmark = pytest.mark.train


def test_two_steps_on_humaneval_rows(tmp_path: Path):
    model = build_tiny_model(tmp_path / "tiny")
    with (tmp_path / "humaneval.jsonl").open("w") as handle:
        for row in humaneval_rows()[:8]:
            handle.write(json.dumps(row) + "\n")
    config = tmp_path / "config.toml"
    config.write_text(f'''
[model]
name = "{model}"

[data]
source = "humaneval.jsonl"
template = "{{question}}"
max_prompt_tokens = 64

[[rewards]]
use = "code.tests"
name = "tests"
weight = 1.0
params = {{ entry_point_column = "entry_point", setup_column = "code_prompt", test_timeout = 1.0 }}

[[rewards]]
use = "code.compiles"
name = "compiles"
weight = 0.2

[grpo]
num_generations = 4
per_device_train_batch_size = 4
max_completion_length = 12
max_steps = 2
learning_rate = 1e-3

[output]
dir = "{tmp_path / "out"}"
progress = "none"
''')
    train(config)
    steps = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    steps = [s for s in steps if "reward" in s]
    assert len(steps) == 2
    # A random model writes no fenced block: every row has tests, so every score is a real 0, not None.
    for name in ("tests", "compiles"):
        assert steps[-1][f"rewards/{name}/mean"] == 0.0
        assert steps[-1].get(f"rewards/{name}/error_rate", 0.0) == 0.0
