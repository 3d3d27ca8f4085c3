"""End to end on the real offline SmolLM2-135M-Instruct: a few GRPO steps of the length case
study move the policy the way the length reward asks (minutes on a CPU: marked slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("trl")

pytestmark = [pytest.mark.slow, pytest.mark.train]

ROOT = Path(__file__).resolve().parent.parent


def distance_to_target(texts: list[str], target: int = 50) -> float:
    return sum(abs(len(t) - target) for t in texts) / len(texts)


def test_length_case_study_moves_completions_towards_the_target(tmp_path):
    from grpo_rewards.trainer.generate import generate, load_for_generation
    from grpo_rewards.trainer.model import load_model, load_tokenizer
    from grpo_rewards.trainer.run import train

    from tests.test_trainer_run import step_records

    out = tmp_path / "out"
    result = train(
        ROOT / "examples" / "tldr-length.toml",
        ["grpo.max_steps=8", "output.save_steps=100"],
        output_dir=str(out),
        progress="none",
    )
    assert result.status == "finished" and result.global_step == 8

    records = step_records(out)
    lengths = [r["rewards/length/mean"] for r in records]
    assert max(lengths[-2:]) > min(lengths[:2])  # the logged reward climbs

    # greedy completions of the same prompts, before and after training
    from grpo_rewards.plugins.datasets import builtin_rows

    abstracts = [row["abstract"] for row in builtin_rows("aclsum", "val")][:6]
    prompts = [f"Summarize this in one short sentence:\n\n{a}" for a in abstracts]
    import json

    base_dir = json.loads((out / "run_config.json").read_text())["model"]["location"]
    base = generate(load_model(base_dir), load_tokenizer(base_dir), prompts, max_new_tokens=32)
    trained = generate(*load_for_generation(out / "final"), prompts, max_new_tokens=32)
    assert distance_to_target(trained) < 0.75 * distance_to_target(base), (base, trained)
    assert (out / "report.md").is_file() and (out / "final" / "adapter_config.json").is_file()
