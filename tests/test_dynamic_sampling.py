"""Dynamic sampling: which groups are kept (on TRL's advantage under every mode), the refill limit,
and the contribution figures of the kept groups, in one process and in two.

The training tests use rewards written here so that which groups teach nothing is known in
advance: on a prompt with label 0 the two rewards cancel (``signal = c``, ``cancel = -c``, the
total is 0 for every completion), on a prompt with label 1 ``cancel`` is 0 and the total is ``c``
(a checksum of the completion, different for different completions). A kept batch therefore holds
only label-1 groups, where ``cancel`` is 0: its weighted mean is 0 on the kept groups, and about
-0.25 over everything generated.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from grpo_rewards.trainer.dynamic_sampling import GroupSelector, Pick, kept_rows

from grpo_rewards.aggregation import Aggregation, all_aggregations
from grpo_rewards.config import ConfigError

NAN = float("nan")

# ---------------------------------------------------------------- selection, no model


def selector(processes: int = 2, groups: int = 1, aggregation: Aggregation = Aggregation(), tolerance: float = 1e-3):
    return GroupSelector(processes, groups, 2, aggregation, tolerance)


# groups of 2 rows, 2 rewards at weights 1, 1
FLAT = [[1.0, 0.0], [1.0, 0.0]]  # same total
CANCEL = [[0.3, -0.3], [0.7, -0.7]]  # rewards move, total does not
SPREAD = [[1.0, 0.0], [0.0, 0.0]]
TINY = [[1.0, 0.0], [1.0 + 1e-9, 0.0]]  # spread far below the tolerance under every mode
UNSCORABLE = [[NAN, NAN], [1.0, 0.0]]  # one scorable row: no spread


@pytest.mark.parametrize("aggregation", all_aggregations(), ids=lambda a: a.label)
def test_a_group_is_dropped_when_its_advantage_has_no_spread_under_every_mode(aggregation):
    chosen = selector(processes=1, groups=5, aggregation=aggregation)
    keep = chosen.add_round(np.array(FLAT + CANCEL + SPREAD + TINY + UNSCORABLE), [1.0, 1.0])
    assert keep.tolist() == [False, False, True, False, False]
    assert chosen.groups_dropped == 4 and not chosen.full


def test_the_weights_of_the_step_decide():
    # at weights (1, 1) the rewards cancel; with the second reward scheduled to 0 the group has spread
    assert selector(1).add_round(np.array(CANCEL), [1.0, 1.0]).tolist() == [False]
    assert selector(1).add_round(np.array(CANCEL), [1.0, 0.0]).tolist() == [True]


def test_tolerance_is_on_the_advantage_trl_uses():
    # unscaled advantages (scale_rewards = none) of [1, 1.002] are -0.001, +0.001: spread 0.002
    group = np.array([[1.0, 0.0], [1.002, 0.0]])
    none = Aggregation("sum_then_normalize", "none")
    assert selector(1, aggregation=none, tolerance=0.001).add_round(group, [1.0, 1.0]).tolist() == [True]
    assert selector(1, aggregation=none, tolerance=0.003).add_round(group, [1.0, 1.0]).tolist() == [False]
    # scaled by the group's std, the same group's advantages are about -0.66, +0.66: kept at 0.003
    assert selector(1, tolerance=0.003).add_round(group, [1.0, 1.0]).tolist() == [True]


def test_each_process_fills_its_share_over_rounds_then_fillers_take_the_rest():
    chosen = selector(processes=2, groups=2)
    # round 0: process 0 gets one group with spread, process 1 none
    chosen.add_round(np.array(SPREAD + FLAT + FLAT + CANCEL), [1.0, 1.0])
    assert not chosen.full
    # round 1: process 0 gets its second group and a spare; process 1 one group
    chosen.add_round(np.array(SPREAD + SPREAD + FLAT + SPREAD), [1.0, 1.0])
    assert not chosen.full and chosen.spare == 1 and chosen.groups_dropped == 4
    picks = chosen.picks()
    assert picks[0] == [Pick(0, 0), Pick(1, 0)]
    # process 1 keeps its one group, and the first group it dropped fills the last slot
    assert picks[1] == [Pick(1, 3), Pick(0, 2, filler=True)]
    assert chosen.filled == 1 and chosen.rounds == 2
    rows = kept_rows(picks, 2)
    assert [(r, idx.tolist()) for r, idx in rows] == [(0, [0, 1]), (1, [0, 1]), (1, [6, 7])]


def test_a_full_round_needs_no_refill():
    chosen = selector(processes=2, groups=1)
    chosen.add_round(np.array(SPREAD + SPREAD), [1.0, 1.0])
    assert chosen.full and chosen.filled == 0 and chosen.picks() == [[Pick(0, 0)], [Pick(0, 1)]]


# ---------------------------------------------------------------- config


def config_problems(tmp_path: Path, table: str, grpo: str = "") -> list[str]:
    pytest.importorskip("trl")
    from grpo_rewards.trainer.config import load_trainer_config

    path = tmp_path / "run.toml"
    path.write_text(
        f'[model]\nname = "x"\n[data]\nsource = "d.jsonl"\n[[rewards]]\nuse = "length.overlong"\n[grpo]\n{grpo}\n{table}\n',
        encoding="utf-8",
    )
    try:
        load_trainer_config(path)
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_config_keys_are_checked_with_file_key_and_expected_value(tmp_path):
    problems = config_problems(tmp_path, "[dynamic_sampling]\nenabled = 1\ntolerance = -0.1\nmax_round = 2")
    text = "\n".join(problems)
    assert "run.toml" in text and "dynamic_sampling" in text
    assert "enabled" in text and "true/false" in text
    assert "tolerance" in text and ">= 0" in text
    assert "max_round" in text and "max_rounds" in text  # did you mean
    assert config_problems(tmp_path, "[dynamic_sampling]\nenabled = true\ntolerance = 0.01\nmax_rounds = 3") == []


def test_groups_that_would_straddle_processes_are_refused(tmp_path):
    problems = config_problems(
        tmp_path, "[dynamic_sampling]\nenabled = true", "num_generations = 4\nper_device_train_batch_size = 6"
    )
    assert any("dynamic_sampling" in p and "not divisible by grpo.num_generations = 4" in p for p in problems)
    # the same batch is fine without dynamic sampling (6 x 2 steps holds 3 groups on one process)
    assert (
        config_problems(tmp_path, "", "num_generations = 4\nper_device_train_batch_size = 6\ngradient_accumulation_steps = 2")
        == []
    )


# ---------------------------------------------------------------- training with the tiny model

REWARDS_SOURCE = textwrap.dedent("""
    import zlib

    from grpo_rewards import Sample, hookimpl, reward


    def _checksum(text: str) -> float:
        return (zlib.crc32(text.encode()) % 1000 + 1) / 1000


    @reward("ds.signal", description="A checksum of the completion in (0, 1].")
    def signal(sample: Sample) -> float:
        return _checksum(sample.completion)


    @reward("ds.cancel", description="Minus ds.signal on label-0 prompts (the total cancels), else 0.")
    def cancel(sample: Sample) -> float:
        return -_checksum(sample.completion) if int(sample.columns["label"]) == 0 else 0.0


    @reward("ds.flat", description="1 everywhere: no group has spread.")
    def flat(sample: Sample) -> float:
        return 1.0


    @hookimpl
    def register_rewards(register):
        for fn in (signal, cancel, flat):
            register(fn)
""")

CANCELLING = """
[[rewards]]
use = "ds.signal"
name = "signal"
weight = 1.0

[[rewards]]
use = "ds.cancel"
name = "cancel"
weight = 1.0
"""


def write_config(folder: Path, model_dir: Path, rewards: str, grpo: str, dynamic: str) -> Path:
    from tests.trainer_support import write_run_files

    config = write_run_files(folder, model_dir, rewards=rewards, grpo=grpo, output="samples_per_step = 64")
    (folder / "ds_rewards.py").write_text(REWARDS_SOURCE, encoding="utf-8")
    text = config.read_text(encoding="utf-8").replace(
        'plugins = ["tiny_rewards.py"]', 'plugins = ["tiny_rewards.py", "ds_rewards.py"]'
    )
    config.write_text(text + f"\n[dynamic_sampling]\n{dynamic}\n", encoding="utf-8")
    return config


def step_records(out: Path) -> list[dict]:
    return [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "reward" in r]


def label_of(prompt: str) -> int:
    """The data rows are 'Note {i}: ...' with label i % 2."""
    return int(prompt.split("Note ", 1)[1].split(":", 1)[0]) % 2


def check_kept_batches(out: Path, groups_per_step: int, group_size: int = 4, samples_complete: bool = True) -> None:
    from grpo_rewards.contributions import compute_contributions

    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert all(isinstance(s.get("explain"), dict) for s in samples)  # the explain fields of the kept rows
    for record in step_records(out):
        filled = record["dynamic_sampling/filled_groups"]
        kept_groups = groups_per_step - filled
        assert record["dynamic_sampling/effective_batch"] == kept_groups * group_size
        assert 0 <= record["dynamic_sampling/extra_rounds"] <= 3
        if record["dynamic_sampling/extra_rounds"] == 0:
            assert record["dynamic_sampling/extra_seconds"] == 0.0
        else:
            assert record["dynamic_sampling/extra_seconds"] > 0.0
        # the figures are those of the kept groups: there `cancel` is 0 on every row
        assert record["rewards/cancel/weighted_mean"] == pytest.approx(0.0, abs=1e-12)
        assert record["rewards/signal/share"] == pytest.approx(1.0)
        assert record["rewards/cancel/share"] == pytest.approx(0.0, abs=1e-12)
        kept = [s for s in samples if s["step"] == record["step"]]
        assert kept and all(label_of(s["prompt"]) == 1 for s in kept)  # no dropped group is kept
        if samples_complete:
            assert len(kept) == kept_groups * group_size
            values = np.array([[s["rewards"]["signal"], s["rewards"]["cancel"]] for s in kept])
            expected = compute_contributions(values, [1.0, 1.0], group_size, ["signal", "cancel"])
            assert record["rewards/signal/zero_spread"] == pytest.approx(expected.zero_spread["signal"])
            assert record["rewards/signal/weighted_mean"] == pytest.approx(expected.weighted_mean["signal"])


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    pytest.importorskip("trl")
    from tests.trainer_support import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


def checksum(text: str) -> float:
    import zlib

    return (zlib.crc32(text.encode()) % 1000 + 1) / 1000


@pytest.mark.train
@pytest.mark.parametrize(
    "mode, scale", [("sum_then_normalize", "group"), ("sum_then_normalize", "batch"), ("normalize_then_sum", "group")]
)
def test_the_assembled_batch_holds_the_kept_rows_with_their_advantages(tiny_model, tmp_path, mode, scale):
    """TRL's own generation and scoring, our selection: every row of the batch handed to the loss
    is checked against the completion it holds (decoded again and rescored here)."""
    from datasets import Dataset
    from grpo_rewards.trainer.dynamic_sampling import DynamicSamplingSettings, generate_step
    from grpo_rewards.trainer.metrics import make_trainer_class
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    from grpo_rewards.aggregation import compute_advantages

    def signal(prompts, completions, **kwargs):
        return [checksum(c) for c in completions]

    def cancel(prompts, completions, label, **kwargs):
        return [-checksum(c) if lab == 0 else 0.0 for c, lab in zip(completions, label)]

    rows = [{"prompt": f"Note {i}: say something.", "label": i % 2} for i in range(8)]
    args = GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=6,
        use_cpu=True,
        bf16=False,
        report_to="none",
        reward_weights=[1.0, 1.0],
        multi_objective_aggregation=mode,
        scale_rewards=scale,
        max_steps=1,
        seed=3,
    )
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    trainer = make_trainer_class()(
        model=AutoModelForCausalLM.from_pretrained(tiny_model),
        reward_funcs=[signal, cancel],
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        dynamic_sampling=DynamicSamplingSettings(enabled=True, max_rounds=3),
    )
    trainer.model.train()
    out = generate_step(trainer, [rows[0]] * 4 + [rows[1]] * 4)  # a group that cancels, one with spread

    mask = out["completion_mask"]
    assert len(mask) == 8 and out["advantages"].shape == (8,)
    filler = (mask.sum(dim=1) == 0).tolist()
    labels, values = [], []
    for i in range(8):
        prompt = tokenizer.decode(out["prompt_ids"][i][out["prompt_mask"][i].bool()], skip_special_tokens=True)
        labels.append(label_of(prompt))
        text = tokenizer.decode(out["completion_ids"][i][mask[i].bool()], skip_special_tokens=True)
        values.append([checksum(text), -checksum(text) if labels[-1] == 0 else 0.0])
    kept = [i for i in range(8) if not filler[i]]
    assert kept[:4] == [0, 1, 2, 3]  # round 0's group with spread comes first
    assert all(labels[i] == 1 for i in kept)  # a cancelling group is never trained on
    assert all(labels[i] == labels[i - i % 4] for i in range(8))  # whole groups
    advantages = out["advantages"].double().numpy()
    expected = compute_advantages(np.array([values[i] for i in kept]), [1.0, 1.0], 4, Aggregation(mode, scale)).advantages
    assert advantages[kept] == pytest.approx(expected, abs=1e-5)
    assert np.all(advantages[[i for i in range(8) if filler[i]]] == 0.0)
    assert int(out["num_items_in_batch"]) == int(mask.sum())
    metrics = trainer._metrics["train"]
    assert metrics["dynamic_sampling/effective_batch"] == [float(len(kept))]
    assert metrics["dynamic_sampling/filled_groups"] == [float(8 - len(kept)) / 4]
    assert metrics["dynamic_sampling/groups_dropped"][0] >= 1
    figures = trainer.reward_metrics["train"].flush(1)
    assert figures["rewards/cancel/weighted_mean"] == 0.0 and figures["rewards/signal/share"] == pytest.approx(1.0)


@pytest.mark.train
@pytest.mark.slow
def test_one_process_with_gradient_accumulation_keeps_only_groups_with_spread(tiny_model, tmp_path):
    from grpo_rewards.trainer.run import train

    # 2 groups per generation batch, trained in 2 accumulation steps of 4 rows
    config = write_config(
        tmp_path,
        tiny_model,
        CANCELLING,
        "per_device_train_batch_size = 4\ngradient_accumulation_steps = 2\nmax_steps = 3",
        "enabled = true\nmax_rounds = 3",
    )
    result = train(config)
    assert result.status == "finished" and result.global_step == 3
    out = tmp_path / "out"
    records = step_records(out)
    assert [r["step"] for r in records] == [1, 2, 3]
    check_kept_batches(out, groups_per_step=2)
    # half the prompts are label 0: over 3 steps some group was dropped and refilled
    assert sum(r["dynamic_sampling/groups_dropped"] for r in records) > 0
    assert sum(r["dynamic_sampling/extra_rounds"] for r in records) > 0
    run_config = json.loads((out / "run_config.json").read_text())
    assert run_config["dynamic_sampling"] == {"enabled": True, "tolerance": 1e-3, "max_rounds": 3}


@pytest.mark.train
@pytest.mark.slow
def test_the_refill_limit_is_reached_when_no_group_has_spread(tiny_model, tmp_path):
    from grpo_rewards.trainer.run import train

    flat = '[[rewards]]\nuse = "ds.flat"\nname = "flat"\nweight = 1.0\n'
    config = write_config(tmp_path, tiny_model, flat, "max_steps = 2", "enabled = true\nmax_rounds = 2")
    result = train(config)
    assert result.status == "finished"
    for record in step_records(tmp_path / "out"):
        assert record["dynamic_sampling/extra_rounds"] == 2  # the limit, then train on what there is
        assert record["dynamic_sampling/groups_dropped"] == 2 * 3  # 2 groups a round, 3 rounds
        assert record["dynamic_sampling/filled_groups"] == 2
        assert record["dynamic_sampling/effective_batch"] == 0
        assert record["loss"] == pytest.approx(0.0, abs=1e-9)  # the fillers are masked out of the loss
    assert not (tmp_path / "out" / "samples.jsonl").exists()
    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Dynamic sampling" in report and "groups dropped: 12 over 2 logged steps" in report
    assert "short of a full batch: 2" in report and (tmp_path / "out" / "sampling.png").is_file()


@pytest.mark.train
@pytest.mark.slow
def test_two_processes_agree_on_what_is_kept(tiny_model, tmp_path):
    if shutil.which("accelerate", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("accelerate's launcher is not installed next to this Python")
    # one group per process per step: each process fills its own share from its own refills
    config = write_config(
        tmp_path, tiny_model, CANCELLING, "per_device_train_batch_size = 4\nmax_steps = 2", "enabled = true\nmax_rounds = 3"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GRPO_REWARDS_PLUGINS": ""}
    command = [
        str(Path(sys.executable).parent / "accelerate"),
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "-m",
        "grpo_rewards",
        "train",
        str(config),
        "--progress",
        "none",
    ]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = tmp_path / "out"
    records = step_records(out)
    assert [r["step"] for r in records] == [1, 2]
    # samples come from the main process only: its one kept group per step
    check_kept_batches(out, groups_per_step=2, samples_complete=False)
    assert sum(r["dynamic_sampling/groups_dropped"] for r in records) > 0  # refills happened
