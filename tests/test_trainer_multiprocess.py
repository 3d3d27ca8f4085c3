"""Two training processes on the CPU (gloo), launched the way users launch multi-GPU runs.

Per-reward metrics must cover the rows of both processes: a reward that returns the process
rank has mean 0.5 only when both processes' rows are in the figures, a reward that fails in
rank 1 only has an error rate of 0.5 only when the call statistics are summed over processes.

Note: ``accelerate launch --cpu --num_processes 2`` starts ONE process in accelerate 1.x
(multi-CPU needs an MPI hostfile); on a machine without GPUs ``--multi_gpu`` starts two
torchrun workers that use gloo, which is what this test does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("trl")

from grpo_rewards.contributions import compute_contributions  # noqa: E402
from tests.trainer_support import build_tiny_model, write_run_files  # noqa: E402

pytestmark = pytest.mark.train

REWARDS = """
[[rewards]]
use = "tiny.chars"
name = "chars"
weight = 1.0

[[rewards]]
use = "tiny.rank"
name = "rank"
weight = 1.0

[[rewards]]
use = "tiny.rank_fails"
name = "rank_fails"
weight = 0.5
"""


def test_two_processes_aggregate_per_reward_metrics(tmp_path):
    import pandas as pd

    if shutil.which("accelerate", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("accelerate's launcher is not installed next to this Python")
    model_dir = build_tiny_model(tmp_path / "tiny")
    # 4 completions per process, groups of 4: each process holds one group of each step's 8 rows
    config = write_run_files(
        tmp_path,
        model_dir,
        rewards=REWARDS,
        grpo="per_device_train_batch_size = 4\nmax_steps = 2",
        output="log_completions = true\nsamples_per_step = 2",
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
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "reward" in r]
    assert [r["step"] for r in steps] == [1, 2]  # written once, by the main process
    for record in steps:
        table = pd.read_parquet(out / "completions" / f"completions_{record['step']:05d}.parquet")
        assert len(table) == 8  # both processes' rows, as TRL gathered them
        assert sorted(table["rank"].tolist()) == [0.0] * 4 + [1.0] * 4
        # scores from both processes
        assert record["rewards/rank/mean"] == pytest.approx(0.5)
        assert record["rewards/rank/weighted_mean"] == pytest.approx(0.5)
        # call statistics summed over processes: rank 1 fails all 4 of its rows, rank 0 none of 4
        assert record["rewards/rank_fails/error_rate"] == pytest.approx(0.5)
        assert record["rewards/rank_fails/none_rate"] == pytest.approx(0.5)
        assert record["rewards/chars/error_rate"] == 0.0 and record["rewards/chars/latency_ms"] > 0
        # the contribution figures are those of the gathered matrix TRL normalised
        values = table[["chars", "rank", "rank_fails"]].to_numpy(dtype=float)
        expected = compute_contributions(values, [1.0, 1.0, 0.5], 4, ["chars", "rank", "rank_fails"])
        for name in ("chars", "rank", "rank_fails"):
            assert record[f"rewards/{name}/share"] == pytest.approx(expected.share[name], abs=1e-9)
            assert record[f"rewards/{name}/zero_spread"] == pytest.approx(expected.zero_spread[name])
        # a process-constant reward drives none of the within-group signal
        assert record["rewards/rank/share"] == pytest.approx(0.0, abs=1e-9)
        assert record["rewards/chars/share"] == pytest.approx(1.0)
        assert np.isclose(sum(record[f"rewards/{n}/share"] for n in ("chars", "rank", "rank_fails")), 1.0)

    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert [s["step"] for s in samples] == [1, 1, 2, 2]
    assert (out / "report.md").is_file() and (out / "final" / "config.json").is_file()
