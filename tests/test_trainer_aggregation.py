"""The one advantage function against TRL's own computation, and schedules and gates in a real run.

TRL 1.16 forms advantages inline in ``GRPOTrainer._generate_and_score_completions``; the first test
runs that very method on a fixed reward matrix (``_calculate_rewards`` replaced on the instance) for
every ``multi_objective_aggregation`` x ``scale_rewards``, with an unscorable row, Nones, a group
whose total has no spread and a near-constant reward.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")

from grpo_rewards.trainer.run import train  # noqa: E402

from grpo_rewards.aggregation import Aggregation, compute_advantages  # noqa: E402
from grpo_rewards.contributions import compute_contributions  # noqa: E402
from tests.trainer_support import build_tiny_model, write_run_files  # noqa: E402

pytestmark = pytest.mark.train

NAN = float("nan")
WEIGHTS = [1.0, 0.5, 0.5]
MATRIX = np.array(
    [
        # group 1: a None, an unscorable row, a near-constant third reward
        [1.0, 0.5, 0.001],
        [0.0, NAN, 0.0],
        [NAN, NAN, NAN],
        [1.0, 0.25, 0.002],
        # group 2: every total is 1.25 (no spread) though the first two rewards disagree row by row
        [1.0, 0.0, 0.5],
        [0.0, 2.0, 0.5],
        [1.0, 0.0, 0.5],
        [0.0, 2.0, 0.5],
    ]
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.mark.parametrize(
    "mode, scale", [(m, s) for m in ("sum_then_normalize", "normalize_then_sum") for s in ("group", "batch", "none")]
)
def test_advantages_match_trls_own_computation(tiny_model, tmp_path, mode, scale):
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer  # TRL's own trainer: its advantage code, not ours

    args = GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=4,
        use_cpu=True,
        bf16=False,
        report_to="none",
        reward_weights=WEIGHTS,
        multi_objective_aggregation=mode,
        scale_rewards=scale,
        max_steps=1,
    )
    funcs = []
    for name in ("a", "b", "c"):

        def func(prompts, completions, **kwargs):
            return [0.0] * len(completions)

        func.__name__ = name
        funcs.append(func)
    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_model),
        reward_funcs=funcs,
        args=args,
        train_dataset=Dataset.from_list([{"prompt": "Say hi."}] * 8),
        processing_class=AutoTokenizer.from_pretrained(tiny_model),
    )
    trainer._calculate_rewards = lambda *a, **k: torch.tensor(MATRIX, dtype=torch.float32)
    trainer.model.train()
    output = trainer._generate_and_score_completions([{"prompt": "Say hi."}] * 8)
    theirs = output["advantages"].double().cpu().numpy()

    ours = compute_advantages(MATRIX, WEIGHTS, 4, Aggregation(mode, scale))
    assert ours.advantages == pytest.approx(theirs, abs=2e-4)
    assert ours.advantages[2] == 0.0  # the unscorable row
    assert ours.components.sum(axis=1) == pytest.approx(ours.advantages)
    if mode == "sum_then_normalize":
        assert np.all(ours.advantages[4:] == 0.0)  # no spread in the total: no signal
    else:
        assert np.abs(ours.advantages[4:]).max() > 0.1  # GDPO separates what the sum collapsed


SCHEDULED_AND_GATED = """
[[rewards]]
use = "tiny.chars"
name = "chars"
weight = { schedule = "linear", start = 0.0, end = 1.0, steps = 2 }

[[rewards]]
use = "tiny.label"
name = "label"
weight = 0.5
when = "chars >= 3"
closed = 0.0

[[rewards]]
use = "tiny.rank"
name = "watch"
weight = 0
"""


def test_a_run_applies_schedules_and_gates_and_logs_them(tiny_model, tmp_path):
    import pandas as pd

    config = write_run_files(
        tmp_path,
        tiny_model,
        rewards=SCHEDULED_AND_GATED,
        grpo='multi_objective_aggregation = "normalize_then_sum"',
        output="log_completions = true",
    )
    result = train(config)
    out = tmp_path / "out"
    assert result.status == "finished" and result.global_step == 3
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    records = [r for r in records if "reward" in r]
    schedule = {0: 0.0, 1: 0.5, 2: 1.0}
    for record in records:
        step = record["step"]
        weight = schedule[step - 1]  # the batch of step s is scored at global step s - 1
        assert record["rewards/chars/weight"] == weight
        assert record["rewards/label/weight"] == 0.5 and record["rewards/watch/weight"] == 0.0
        table = pd.read_parquet(out / "completions" / f"completions_{step:05d}.parquet")
        chars = table["chars"].to_numpy(dtype=float)
        label = table["label"].to_numpy(dtype=float)  # what TRL received: min(label, 0) where the gate was closed
        closed = ~(chars >= 3)
        assert np.all(np.isnan(label[closed]) | (label[closed] == 0.0))  # a None stays None
        assert record["rewards/label/gated_rate"] == pytest.approx(closed.mean())
        assert "rewards/chars/gated_rate" not in record
        # TRL's total used the scheduled weight and the closed gates' values
        expected_total = np.nanmean(weight * chars + 0.5 * np.nan_to_num(label))
        assert record["reward"] == pytest.approx(expected_total, rel=1e-5, abs=1e-6)
        # the shares decompose GDPO's advantage of the values TRL used
        values = table[["chars", "label", "watch"]].to_numpy(dtype=float)
        expected = compute_contributions(
            values, [weight, 0.5, 0.0], 4, ["chars", "label", "watch"], Aggregation("normalize_then_sum")
        )
        for name in ("chars", "label", "watch"):
            share = expected.share[name]
            assert (
                (record[f"rewards/{name}/share"] is None)
                if math.isnan(share)
                else record[f"rewards/{name}/share"] == pytest.approx(share, abs=1e-4)
            )
            assert f"rewards/{name}/amplified" in record
        assert record["rewards/watch/share"] in (None, 0.0)
    run_config = json.loads((out / "run_config.json").read_text())
    assert run_config["aggregation"] == "normalize_then_sum"
    report = (out / "report.md").read_text()
    assert "normalize_then_sum" in report and "gated" in report and "weights.png" in report


def test_a_schedule_longer_than_max_steps_is_a_warning_not_an_error(tmp_path):
    from grpo_rewards.trainer.config import load_trainer_config

    config = write_run_files(tmp_path, tmp_path / "no-model-here", rewards=SCHEDULED_AND_GATED.replace("steps = 2", "steps = 50"))
    loaded = load_trainer_config(config)  # grpo.max_steps = 3: a smoke run of a longer schedule
    assert loaded.warnings == [
        f"{config}: rewards[0] (use = 'tiny.chars'): the weight schedule runs to step 50 but grpo.max_steps is 3: "
        "it will not finish (the last weight used is 0.04, not 1)"
    ]


def test_scheduled_weights_continue_where_they_were_after_resume(tiny_model, tmp_path):
    config = write_run_files(tmp_path, tiny_model, rewards=SCHEDULED_AND_GATED, grpo="max_steps = 2")
    assert train(config).global_step == 2
    resumed = train(config, ["grpo.max_steps=3"], resume=True)
    assert resumed.global_step == 3
    records = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    weights = {r["step"]: r["rewards/chars/weight"] for r in records if "reward" in r}
    # the same as the uninterrupted 3-step run above: linear 0 -> 1 over 2 steps, then held
    assert weights == {1: 0.0, 2: 0.5, 3: 1.0}
