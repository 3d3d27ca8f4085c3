"""Issue 25's smaller run-output fixes: bench sampling shows progress with the time left,
TensorBoard gets no None-valued metric (so it prints no warning), empty plots say "no data", the
README names one `make demo`, and tables off a terminal are not cut to 80 columns."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_bench_sampling_progress_prints_each_batch_with_the_time_left():
    pytest.importorskip("transformers")
    from grpo_rewards.trainer.progress import CountProgress
    from rich.console import Console

    now = [0.0]
    lines: list[str] = []
    bar = CountProgress(24, "prompts sampled", lines.append, Console(file=io.StringIO()), clock=lambda: now[0])
    assert bar.mode == "lines"  # not a terminal: one line per batch
    for _ in range(3):
        now[0] += 10.0
        bar.advance(8)
    bar.close()
    assert lines == [
        "  8 of 24 prompts sampled (10s, about 20s left)",
        "  16 of 24 prompts sampled (20s, about 10s left)",
        "  24 of 24 prompts sampled (30s)",
    ]


def test_tensorboard_logs_no_none_and_warns_of_nothing(tmp_path, caplog, monkeypatch):
    pytest.importorskip("tensorboard")
    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(tmp_path / "tb"))
    from grpo_rewards.trainer.callbacks import NoneFreeTensorBoard
    from transformers import TrainerControl, TrainerState, TrainingArguments

    args = TrainingArguments(output_dir=str(tmp_path / "out"), report_to=[], use_cpu=True)
    state = TrainerState()
    state.global_step = 1
    board = NoneFreeTensorBoard()
    with caplog.at_level(logging.WARNING):
        board.on_log(args, state, TrainerControl(), logs={"reward": 0.5, "rewards/a/share": None, "rewards/b/share": None})
    board.on_train_end(args, state, TrainerControl())
    assert not [r for r in caplog.records if "attempting to log a value" in r.getMessage()]
    assert list((tmp_path / "tb").rglob("events.out.tfevents*"))  # the real writer wrote the scalar


def texts_of_saved_figures(monkeypatch) -> list[list[str]]:
    """Every text drawn on each figure the code under test saves (the PNG itself is pixels)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    saved: list[list[str]] = []
    original = Figure.savefig

    def spy(self, *args, **kwargs):
        saved.append([t.get_text() for ax in self.axes for t in ax.texts])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    return saved


def test_empty_training_plots_say_no_data(tmp_path, monkeypatch):
    pytest.importorskip("transformers")
    from grpo_rewards.trainer.history import History
    from grpo_rewards.trainer.report_canary import plot_canaries
    from grpo_rewards.trainer.report_sampling import plot_sampling

    saved = texts_of_saved_figures(monkeypatch)
    # three logged steps: a total and an effective batch, but no canary score and no dropped group
    steps = [{"step": s, "reward": 0.1 * s, "dynamic_sampling/effective_batch": 8.0} for s in (1, 2, 3)]
    history = History(steps, ["a"], [], {})
    assert plot_sampling(history, tmp_path) is not None
    assert plot_canaries(history, tmp_path, ["a"]) is not None
    sampling, canary = saved
    assert sampling == ["no data logged"]  # the top panel: no dropped groups logged; the bottom has its curve
    assert canary == ["no data logged"]


def test_an_empty_bench_plot_says_no_data(tmp_path, monkeypatch):
    from grpo_rewards.bench.plots import aggregation, histograms

    saved = texts_of_saved_figures(monkeypatch)
    report = {
        "per_reward": {"a": {"histogram": {"kind": "empty"}}},
        "total": {"histogram": {"kind": "empty"}},
        "aggregation": {"modes": [{"label": "sum_then_normalize/group", "share": {"a": None}, "collapse": None}]},
    }
    assert histograms(report, tmp_path / "h.png") and aggregation(report, tmp_path / "a.png")
    assert saved[0] == ["no data: no scores", "no data: no scores"]
    assert "no data: no group has spread under any mode" in saved[1] and "no data" in saved[1]


def test_the_readme_names_one_make_demo():
    makefile = (ROOT / "Makefile").read_text()
    demo = re.search(r"^DEMO_CONFIG \?= (\S+)", makefile, re.MULTILINE).group(1)
    readme = (ROOT / "README.md").read_text()
    named = re.findall(r"`make demo`(?:, i\.e\.| runs| \(i\.e\.)\s*`(examples/[^`]+)`", readme)
    named += re.findall(r"`(examples/[^`]+)` \(what `make demo` runs\)", readme)
    assert named and set(named) == {demo}
    assert not re.search(r"\(`make demo`, i\.e\.", readme)


def test_tables_off_a_terminal_are_not_cut_to_80_columns():
    from click.testing import CliRunner

    from grpo_rewards.cli import main

    result = CliRunner().invoke(main, ["rewards"])
    assert result.exit_code == 0 and max(len(line) for line in result.output.splitlines()) > 80
    assert "…" not in result.output
