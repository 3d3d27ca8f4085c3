"""Training runs on a tiny random Llama: the reward-set bridge, the contribution metrics against
TRL's own logged completions, the run files and report, Ctrl-C and --resume, LoRA saving and
generation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("trl")

from grpo_rewards.trainer.run import train  # noqa: E402

from grpo_rewards.cli import main  # noqa: E402
from grpo_rewards.contributions import compute_contributions  # noqa: E402
from tests.trainer_support import CHARS_AND_LABEL as REWARDS  # noqa: E402
from tests.trainer_support import build_tiny_model, write_run_files  # noqa: E402

pytestmark = pytest.mark.train

FIGURES = ("mean", "std", "weighted_mean", "share", "zero_spread", "none_rate", "error_rate", "timeout_rate", "latency_ms")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


def read_metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def step_records(out: Path) -> list[dict]:
    return [r for r in read_metrics(out) if "reward" in r]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_model):
    """One 3-step run shared by the tests that only read its files."""
    folder = tmp_path_factory.mktemp("finished-run")
    config = write_run_files(folder, tiny_model, rewards=REWARDS, output="log_completions = true")
    return train(config), folder


def test_rewards_reach_trl_and_contributions_match_the_values_trl_used(finished_run):
    import pandas as pd

    result, folder = finished_run
    out = folder / "out"
    assert result.status == "finished" and result.global_step == 3

    records = step_records(out)
    assert [r["step"] for r in records] == [1, 2, 3]
    for record in records:
        for name in ("chars", "label"):
            for figure in FIGURES:
                assert f"rewards/{name}/{figure}" in record, (name, figure)
        # TRL logged exactly these completions and raw scores for this step (all 8 rows, 2 groups)
        table = pd.read_parquet(out / "completions" / f"completions_{record['step']:05d}.parquet")
        assert len(table) == 8
        values = table[["chars", "label"]].to_numpy(dtype=float)
        # the weights reached TRL: its logged total is the weighted sum of the raw scores
        assert record["reward"] == pytest.approx(np.mean(values[:, 0] + 0.5 * np.nan_to_num(values[:, 1])), rel=1e-5)
        expected = compute_contributions(values, [1.0, 0.5], 4, ["chars", "label"])
        for name in ("chars", "label"):
            assert record[f"rewards/{name}/none_rate"] == pytest.approx(expected.none_rate[name])
            assert record[f"rewards/{name}/zero_spread"] == pytest.approx(expected.zero_spread[name])
            assert record[f"rewards/{name}/weighted_mean"] == pytest.approx(expected.weighted_mean[name])
            share = expected.share[name]
            assert (
                (record[f"rewards/{name}/share"] is None)
                if math.isnan(share)
                else record[f"rewards/{name}/share"] == pytest.approx(share)
            )
            assert record[f"rewards/{name}/error_rate"] == 0.0
            assert record[f"rewards/{name}/latency_ms"] > 0
        # the label is the same for a whole group: it never has spread, chars always has
        assert record["rewards/label/zero_spread"] == 1.0 and record["rewards/chars/zero_spread"] == 0.0
        assert record["rewards/label/none_rate"] == pytest.approx(np.isnan(values[:, 1]).mean())


def test_report_samples_and_final_model(finished_run, tmp_path):
    result, folder = finished_run
    out = folder / "out"
    records = step_records(out)

    report = (out / "report.md").read_text()
    assert result.report == out / "report.md"
    assert "Status: finished at step 3." in report
    rows = {line.split("|")[1].strip(): line for line in report.splitlines() if line.startswith("| ")}
    # start/end columns are the first/last logged means (3 steps: 20% windows of one step)
    assert f"| {records[0]['rewards/chars/mean']:.3g} | {records[-1]['rewards/chars/mean']:.3g} |" in rows["chars"]
    assert "label" in rows and "**total**" in rows
    for image in ("reward.png", "shares.png", "length.png"):
        data = (out / image).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000, image
        assert f"]({image})" in report

    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert sorted({s["step"] for s in samples}) == [1, 2, 3]
    assert all(set(s["rewards"]) == {"chars", "label"} for s in samples)
    assert all(s["rewards"]["chars"] == pytest.approx(len(s["completion"]) / 10, rel=1e-6) for s in samples)
    # the explain fields travel with each kept sample: here a None's reason (tiny.label returns None
    # on odd lengths, and reports no details of its own)
    assert all("explain" in s for s in samples)
    for s in samples:
        why = s["explain"].get("label", {}).get("why_none")
        assert (why == "does not apply to this row (the reward returned None)") == (s["rewards"]["label"] is None)
    assert "### Step 1 (first)" in report and "### Step 3 (last)" in report

    assert (out / "final" / "config.json").is_file() and (out / "final" / "tokenizer.json").is_file()
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "Summarize: a fox."}\n"Hello"\n')
    cli = CliRunner().invoke(main, ["generate", str(out), "--prompts", str(prompts), "--max-new-tokens", "5", "--json"])
    assert cli.exit_code == 0, cli.output
    lines = [json.loads(line) for line in cli.output.splitlines() if line.startswith("{")]
    assert [line["prompt"] for line in lines] == ["Summarize: a fox.", "Hello"]
    assert all(isinstance(line["completion"], str) and line["completion"] for line in lines)


INTERRUPTIBLE = (
    REWARDS
    + """
[[rewards]]
use = "tiny.interrupt"
name = "interrupt"
weight = 0.0
params = { countdown_file = "COUNTDOWN" }
"""
)


def test_ctrl_c_leaves_a_checkpoint_and_report_and_resume_continues_exactly(tmp_path, tiny_model):
    compared = ("loss", "reward", "rewards/chars/mean", "rewards/chars/share", "completions/mean_length", "grad_norm")

    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    rewards = INTERRUPTIBLE.replace("COUNTDOWN", str(tmp_path / "countdown"))
    reference = write_run_files(reference_dir, tiny_model, rewards=rewards)
    train(reference)
    expected = step_records(reference_dir / "out")

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    config = write_run_files(run_dir, tiny_model, rewards=rewards)
    (tmp_path / "countdown").write_text("2")  # Ctrl-C arrives while step 2 is being scored
    stopped = train(config)
    out = run_dir / "out"
    assert stopped.status == "stopped" and stopped.global_step == 2
    assert (out / "checkpoint-2" / "optimizer.pt").is_file() and (out / "checkpoint-2" / "rng_state.pth").is_file()
    assert not (out / "final").exists()
    assert "stopped early by Ctrl-C" in (out / "report.md").read_text()
    assert [r["step"] for r in step_records(out)] == [1, 2]

    resumed = train(config, resume=True)
    assert resumed.status == "finished" and resumed.global_step == 3
    assert resumed.checkpoint.endswith("checkpoint-2")
    records = step_records(out)
    assert [r["step"] for r in records] == [1, 2, 3]
    # optimizer, scheduler, RNG and data order restored: the same numbers as the uninterrupted run
    for got, want in zip(records, expected):
        for key in compared:
            assert got[key] == pytest.approx(want[key], rel=1e-4, abs=1e-7), (got["step"], key)
    assert "Status: finished at step 3." in (out / "report.md").read_text()


def test_lora_run_with_held_out_evaluation_saves_adapter_and_merged_model(tmp_path, tiny_model):
    config = write_run_files(
        tmp_path,
        tiny_model,
        rewards=REWARDS,
        grpo="max_steps = 2\neval_steps = 2",
        model_extra="[model.lora]\nr = 4\nalpha = 8\ntarget_modules = ['q_proj', 'v_proj']",
        output='save_model = "both"',
        data_extra="eval_fraction = 0.25",
    )
    result = train(config)
    out = tmp_path / "out"

    # the held-out prompts (4 of 16, x 4 completions) are scored with the same contribution figures
    evals = [r for r in read_metrics(out) if "eval_reward" in r]
    assert [r["step"] for r in evals] == [2]
    for name in ("chars", "label"):
        for figure in ("mean", "weighted_mean", "share", "zero_spread", "none_rate", "error_rate", "latency_ms"):
            assert f"eval_rewards/{name}/{figure}" in evals[0], (name, figure)
    assert evals[0]["eval_rewards/label/zero_spread"] == 1.0
    assert result.model_dirs == {"adapter": out / "adapter", "merged model": out / "final"}
    adapter = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert adapter["r"] == 4 and sorted(adapter["target_modules"]) == ["q_proj", "v_proj"]
    assert (out / "final" / "config.json").is_file() and not (out / "final" / "adapter_config.json").exists()

    from grpo_rewards.trainer.generate import generate, load_for_generation

    texts = ["Summarize: the lazy dog.", "Say hi"]
    merged = generate(*load_for_generation(out / "final"), texts, max_new_tokens=6)
    with_adapter = generate(*load_for_generation(out / "adapter"), texts, max_new_tokens=6)
    assert merged == with_adapter  # merge_and_unload gives the same greedy completions

    # the last step is checkpointed, so a finished LoRA run can be extended
    extended = train(config, ["grpo.max_steps=3"], resume=True)
    assert extended.checkpoint.endswith("checkpoint-2") and extended.global_step == 3
    assert [r["step"] for r in step_records(out)] == [1, 2, 3]
