"""Canary rewards: the alarm test on hand-made windows, the config keys, and two runs of the tiny
model with rewards written here that make the outcome deterministic: in the hacked run the
optimised reward rises by 1 a step while the canary falls by 0.2 a step (the alarm fires, and
``on_alarm = "stop"`` stops the run there); in the honest run the canary rises with the total (no
alarm). Each reward counts its own calls (one batched call a step), which is what makes the
trend certain with a random model; a checksum of the completion gives every group its spread.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
from grpo_rewards.trainer.canary import CanarySettings, CanaryWatch, change

from grpo_rewards.config import ConfigError

# ---------------------------------------------------------------- the alarm test, no model


def batch(step: int, total_slope: float, canary_slope: float, groups: int = 3, size: int = 2) -> np.ndarray:
    """groups x size rows of (optimised, canary) with a little spread within each group."""
    rows = []
    for g in range(groups):
        for i in range(size):
            jitter = 0.01 * (g + i)
            rows.append([total_slope * step + jitter, canary_slope * step - jitter])
    return np.array(rows)


def run_watch(total_slope: float, canary_slope: float, steps: int = 6, threshold: float = 0.05) -> list:
    watch = CanaryWatch(["task", "canary"], ["canary"], 2, CanarySettings(window=2, threshold=threshold))
    alarms = []
    for step in range(1, steps + 1):
        alarms += watch.add(step, batch(step, total_slope, canary_slope), [1.0, 0.0])
    return alarms


def test_an_alarm_needs_the_total_to_rise_and_the_canary_to_fall_beyond_the_threshold():
    alarms = run_watch(1.0, -0.2)
    # first possible at step 4 (two windows of 2 steps); then quiet for a window; again at step 6
    assert [a.step for a in alarms] == [4, 6]
    first = alarms[0]
    assert first.canary == "canary" and first.canary_change.delta == pytest.approx(-0.4, abs=0.02)
    assert first.canary_change.high < 0 < first.total_change.low
    assert "canary alarm at step 4: canary fell" in first.message()
    assert run_watch(1.0, 0.2) == []  # the canary rises with the total: the task is being done
    assert run_watch(0.0, -0.2) == []  # the canary falls but nothing is being optimised up
    assert run_watch(1.0, -0.2, steps=4, threshold=0.5) == []  # a fall (0.4) smaller than the threshold
    assert [a.step for a in run_watch(1.0, -0.2, threshold=0.5)] == [5]  # until it grows past it (0.6)


def test_the_interval_must_exclude_no_change():
    noisy_before = np.array([0.0, 1.0, 0.0, 1.0])
    noisy_after = np.array([0.1, 0.8, 0.0, 0.9])  # mean falls by 0.05, well inside the noise
    moved = change(noisy_before, noisy_after)
    assert moved.delta == pytest.approx(-0.05) and moved.low < 0 < moved.high
    assert np.isnan(change(np.array([1.0]), np.array([0.0, 1.0])).delta)  # too few groups: no verdict


# ---------------------------------------------------------------- config


def load(tmp_path: Path, rewards: str, extra: str = "") -> list[str]:
    pytest.importorskip("trl")
    from grpo_rewards.trainer.config import load_trainer_config

    path = tmp_path / "run.toml"
    path.write_text(f'[model]\nname = "x"\n[data]\nsource = "d.jsonl"\n{rewards}\n{extra}\n', encoding="utf-8")
    try:
        load_trainer_config(path)
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return []


TASK = '[[rewards]]\nuse = "length.overlong"\n'


def test_canary_entries_and_the_canaries_table_are_checked(tmp_path):
    ok = TASK + '[[rewards]]\nuse = "length.target"\nname = "watch"\ncanary = true\ncanary_every = 2\n'
    assert load(tmp_path, ok, '[canaries]\nwindow = 5\nthreshold = 0.1\non_alarm = "stop"') == []
    bad = "\n".join(
        load(
            tmp_path,
            TASK + '[[rewards]]\nuse = "length.target"\nname = "watch"\ncanary = "yes"\ncanary_every = 0\nweight = 1\n',
            '[canaries]\nwindow = 1\non_alarm = "halt"',
        )
    )
    assert "run.toml" in bad
    assert "canary" in bad and "expected true or false" in bad
    assert "canary_every" in bad and ">= 1" in bad
    assert "window" in bad and ">= 2" in bad
    assert "on_alarm" in bad and "'warn', 'checkpoint', 'stop'" in bad
    weighted = "\n".join(load(tmp_path, TASK + '[[rewards]]\nuse = "length.target"\ncanary = true\nweight = 0.5\n'))
    assert "weight" in weighted and "never optimised" in weighted
    stray = "\n".join(load(tmp_path, TASK + '[[rewards]]\nuse = "length.target"\ncanary_every = 3\n'))
    assert "canary_every" in stray and "canary = true" in stray


def test_canaries_settings_without_a_canary_warn_only_when_no_default_canary_is_added(tmp_path):
    """[canaries] on a set of shaping rewards tunes its default canary (the seed's
    examples/tldr-length.toml with --set canaries.on_alarm=checkpoint): no warning. On a set that
    reads the content, no canary is added and the table does nothing: a warning says so."""
    pytest.importorskip("trl")
    from grpo_rewards.trainer.config import load_trainer_config

    path = tmp_path / "run.toml"
    head = '[model]\nname = "x"\n[data]\nsource = "d.jsonl"\n'
    path.write_text(head + '[[rewards]]\nuse = "length.target"\n[canaries]\non_alarm = "checkpoint"\n', encoding="utf-8")
    assert not [w for w in load_trainer_config(path).warnings if "[canaries]" in w]
    path.write_text(head + '[[rewards]]\nuse = "math.correct"\n[canaries]\non_alarm = "checkpoint"\n', encoding="utf-8")
    said = [w for w in load_trainer_config(path).warnings if "[canaries]" in w]
    assert len(said) == 1 and "nothing is watched" in said[0]


# ---------------------------------------------------------------- training with the tiny model

HACK_SOURCE = textwrap.dedent("""
    import zlib

    from grpo_rewards import Sample, hookimpl, reward

    CALLS = {}


    def _step(name):
        CALLS[name] = CALLS.get(name, 0) + 1
        return CALLS[name]


    def _checksum(text):
        return (zlib.crc32(text.encode()) % 1000) / 1000


    @reward("hack.optimised", description="Rises by 1 a call (a step), plus spread.", batched=True)
    def optimised(samples):
        k = _step("optimised")
        return [k + 0.5 * _checksum(s.completion) for s in samples]


    @reward("hack.falling", description="Falls by 0.2 a call: the hacked run's canary.", batched=True)
    def falling(samples):
        k = _step("falling")
        return [-0.2 * k + 0.1 * _checksum(s.completion) for s in samples]


    @reward("hack.rising", description="Rises by 0.2 a call: the honest run's canary.", batched=True)
    def rising(samples):
        k = _step("rising")
        return [0.2 * k + 0.1 * _checksum(s.completion) for s in samples]


    @reward("hack.rising_too", description="hack.rising with a counter of its own.", batched=True)
    def rising_too(samples):
        k = _step("rising_too")
        return [0.2 * k + 0.1 * _checksum(s.completion) for s in samples]


    @hookimpl
    def register_rewards(register):
        for fn in (optimised, falling, rising, rising_too):
            register(fn)
""")


def rewards_with(canary: str, extra: str = "") -> str:
    return f"""
[[rewards]]
use = "hack.optimised"
name = "task"
weight = 1.0

[[rewards]]
use = "{canary}"
name = "watch"
canary = true
{extra}"""


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    pytest.importorskip("trl")
    from tests.trainer_support import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


def run(folder: Path, model: Path, canary: str, on_alarm: str, extra: str = ""):
    from grpo_rewards.trainer.run import train

    from tests.trainer_support import write_run_files

    config = write_run_files(
        folder, model, rewards=rewards_with(canary, extra), grpo="max_steps = 6", output="samples_per_step = 0"
    )
    (folder / "hack_rewards.py").write_text(HACK_SOURCE, encoding="utf-8")
    text = config.read_text(encoding="utf-8").replace('plugins = ["tiny_rewards.py"]', 'plugins = ["hack_rewards.py"]')
    config.write_text(text + f'\n[canaries]\nwindow = 2\nthreshold = 0.1\non_alarm = "{on_alarm}"\n', encoding="utf-8")
    lines: list[str] = []
    return train(config, log=lines.append), lines


def records(out: Path) -> list[dict]:
    return [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "reward" in r]


@pytest.mark.train
@pytest.mark.slow
def test_a_hacked_run_raises_the_alarm_and_stops(tiny_model, tmp_path):
    result, lines = run(tmp_path, tiny_model, "hack.falling", "stop")
    out = tmp_path / "out"
    assert result.status == "alarm" and result.global_step == 4  # the first step with two full windows
    warning = [line for line in lines if "canary alarm at step 4: watch fell" in line]
    assert len(warning) == 1 and warning[0].startswith("warning: ")
    assert [r["canary/watch/alarm"] for r in records(out)] == [0.0, 0.0, 0.0, 1.0]
    assert (out / "checkpoint-4").is_dir()  # saved at the alarm
    written = [json.loads(line) for line in (out / "alarms" / "step-4.jsonl").read_text().splitlines()]
    head, groups = written[0], written[1:]
    assert head["kind"] == "alarm" and head["canary"] == "watch" and head["groups"] == len(groups) == 2
    assert head["canary_after"] < head["canary_before"] and head["total_after"] > head["total_before"]
    assert head["canary_interval"][1] < 0 < head["total_interval"][0]
    for group in groups:
        assert group["prompt"].startswith("Summarize: Note")
        assert len(group["completions"]) == 4
        for row in group["completions"]:
            assert set(row["rewards"]) == {"task", "watch"}
            assert 4 <= row["rewards"]["task"] < 4.5 and -0.8 <= row["rewards"]["watch"] < -0.7
            assert row["total"] == pytest.approx(row["rewards"]["task"])  # the canary weighs 0
    report = (out / "report.md").read_text()
    assert "stopped by a canary alarm" in report and "## Canaries" in report and "alarms/step-4.jsonl" in report
    assert (out / "canaries.png").is_file()


@pytest.mark.train
@pytest.mark.slow
def test_an_honest_run_stays_silent(tiny_model, tmp_path):
    # a second canary scored every 2 steps only (global steps 0, 2, 4: the records of steps 1, 3, 5)
    sometimes = '[[rewards]]\nuse = "hack.rising_too"\nname = "sometimes"\ncanary = true\ncanary_every = 2\n'
    result, lines = run(tmp_path, tiny_model, "hack.rising", "stop", sometimes)
    out = tmp_path / "out"
    assert result.status == "finished" and result.global_step == 6
    assert not any("canary alarm" in line for line in lines)
    steps = records(out)
    assert [r["canary/watch/alarm"] for r in steps] == [0.0] * 6
    # scored on its steps only (it rises by 0.2 a call: called 3 times, not 6)
    means = [r["rewards/sometimes/mean"] for r in steps]
    assert means[1::2] == [None] * 3
    assert [round(m, 1) for m in means[0::2]] == pytest.approx([0.2, 0.4, 0.6], abs=0.11)
    assert [r["canary/sometimes/alarm"] for r in steps] == [0.0] * 6
    assert not (out / "alarms").exists()
    assert "No alarm" in (out / "report.md").read_text()


@pytest.mark.train
@pytest.mark.slow
def test_two_processes_raise_the_same_alarm_and_stop_together(tiny_model, tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    from tests.trainer_support import write_run_files

    if shutil.which("accelerate", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("accelerate's launcher is not installed next to this Python")
    # one group per process per step; the alarm's groups come from both processes
    config = write_run_files(
        tmp_path,
        tiny_model,
        rewards=rewards_with("hack.falling"),
        grpo="per_device_train_batch_size = 4\nmax_steps = 6",
        output="samples_per_step = 0",
    )
    (tmp_path / "hack_rewards.py").write_text(HACK_SOURCE, encoding="utf-8")
    text = config.read_text(encoding="utf-8").replace('plugins = ["tiny_rewards.py"]', 'plugins = ["hack_rewards.py"]')
    config.write_text(text + '\n[canaries]\nwindow = 2\nthreshold = 0.1\non_alarm = "stop"\n', encoding="utf-8")
    launcher = str(Path(sys.executable).parent / "accelerate")
    command = [launcher, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no"]
    command += ["--dynamo_backend", "no", "-m", "grpo_rewards", "train", str(config), "--progress", "none"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GRPO_REWARDS_PLUGINS": ""}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    # stopped by the alarm: each process exits 3, which the launcher reports (and exits 1)
    assert re.search(r"exitcode\s*:\s*3\b", result.stderr), result.stdout[-3000:] + result.stderr[-3000:]
    said = result.stdout + result.stderr
    assert said.count("canary alarm at step 4: watch fell") == 1  # said once, by the main process
    out = tmp_path / "out"
    assert [r["step"] for r in records(out)] == [1, 2, 3, 4]  # both processes stopped at the alarm
    written = [json.loads(line) for line in (out / "alarms" / "step-4.jsonl").read_text().splitlines()]
    assert written[0]["groups"] == 2
    prompts = [group["prompt"] for group in written[1:]]
    assert all(p and p.startswith("Summarize: Note") for p in prompts)
    assert all(row["completion"] is not None for group in written[1:] for row in group["completions"])


# ---------------------------------------------------------------- the default canary


def shaping_set(extra: str = "") -> object:
    from grpo_rewards.rewardset import reward_set_from_config

    return reward_set_from_config({"rewards": [{"use": "length.target"}, *([] if not extra else [{"use": extra}])]}, "x.toml")


def test_a_set_of_shaping_rewards_gets_the_on_topic_canary():
    pytest.importorskip("trl")
    from grpo_rewards.trainer.canary_default import default_canary

    from grpo_rewards.bench.drift import content_reward

    if content_reward() is None:
        pytest.skip("no content reward installed")
    canary = default_canary(shaping_set(), ["text"], ["text", "label"])
    assert canary is not None and canary.canary and canary.weight == 0.0 and canary.name == "on_topic"
    assert canary.spec.kind == "content" and canary.columns == ["text"]  # the prompt's source column
    assert default_canary(shaping_set(), ["text"], ["label"]) is None  # no source column to compare with
    assert default_canary(shaping_set("math.correct"), ["text"], ["text", "answer"]) is None  # a reward reads the content
    declared = shaping_set()
    declared.rewards[0].canary = True
    assert default_canary(declared, ["text"], ["text"]) is None  # a canary is declared


@pytest.mark.train
@pytest.mark.slow
def test_a_run_of_shaping_rewards_is_watched_by_the_default_canary(tiny_model, tmp_path):
    from grpo_rewards.trainer.run import train

    from grpo_rewards.bench.drift import content_reward
    from tests.trainer_support import write_run_files

    if content_reward() is None:
        pytest.skip("no content reward installed")
    rewards = '[[rewards]]\nuse = "length.target"\nname = "short"\nparams = { target = 20 }\n'
    config = write_run_files(tmp_path, tiny_model, rewards=rewards, grpo="max_steps = 2")
    lines: list[str] = []
    result = train(config, log=lines.append)
    assert result.status == "finished"
    said = [line for line in lines if line.startswith("canary: on_topic")]
    assert len(said) == 1 and "against column 'text'" in said[0] and "only the form" in said[0]
    out = tmp_path / "out"
    for record in records(out):
        assert isinstance(record["rewards/on_topic/mean"], float)  # scored every step
        assert record["rewards/on_topic/weight"] == 0.0 and record["canary/on_topic/alarm"] == 0.0
    entry = json.loads((out / "run_config.json").read_text())["rewards"][-1]
    assert entry["name"] == "on_topic" and entry["canary"] and entry["default"]
    assert "## Canaries" in (out / "report.md").read_text()
