"""Small output fixes of issue 25: no "nan%", no markup eaten from reward texts, no absolute local
paths in shared reports, our model card instead of TRL's stock one."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from grpo_rewards.bench.report import pct
from grpo_rewards.cli import main
from grpo_rewards.rows import shareable_location


def test_a_share_that_could_not_be_measured_is_a_dash_not_nan_percent():
    assert pct(float("nan")) == "-" and pct(None) == "-" and pct(0.25) == "25%"


def test_rewards_shows_brackets_in_descriptions_and_help_as_text(registry):
    result = CliRunner().invoke(main, ["rewards", "repetition.ngram"])
    assert result.exit_code == 0
    assert "penalty in [max_penalty, 0]" in result.output
    assert "(range [1, 64])" in result.output


def test_absolute_local_paths_are_shown_by_their_last_part():
    assert shareable_location("/home/me/models/tiny-llama") == "…/tiny-llama"
    assert shareable_location("builtin:smollm2") == "builtin:smollm2"
    assert shareable_location("data/rows.jsonl") == "data/rows.jsonl"


def test_the_training_report_and_model_card_name_no_local_path(tmp_path):
    from grpo_rewards.trainer.modelcard import write_model_card
    from grpo_rewards.trainer.report import write_report
    from grpo_rewards.trainer.runfiles import RUN_CONFIG_FILE

    out = tmp_path / "run"
    out.mkdir()
    secret = str(tmp_path / "private" / "tiny-llama")
    config = {
        "model": {"name": secret},
        "data": {"source": str(tmp_path / "rows.jsonl")},
        "rewards": [{"name": "a", "use": "x.a"}],
    }
    (out / RUN_CONFIG_FILE).write_text(json.dumps(config))
    records = [{"step": s, "reward": 0.1 * s, "rewards/a/mean": 0.1 * s} for s in (1, 2, 3)]
    (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    report = Path(write_report(out)).read_text()
    assert str(tmp_path) not in report and "`…/tiny-llama`" in report and "`…/rows.jsonl`" in report
    card = write_model_card(out).read_text()
    assert (
        str(tmp_path) not in card and "fine-tuned version of [None]" not in card and "`report.md`" in card and "`a` (x.a)" in card
    )
