"""The training report's findings: on records written here for each finding, and on a real run of
the tiny random model built so that nothing can be learned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from grpo_rewards.trainer.findings import findings  # noqa: E402
from grpo_rewards.trainer.history import History  # noqa: E402

from tests.trainer_support import build_tiny_model, write_run_files  # noqa: E402


def history(steps: list[dict], names: tuple[str, ...] = ("a",)) -> History:
    return History([{"step": i + 1, **s} for i, s in enumerate(steps)], list(names), [], {})


def kinds(h: History) -> list[str]:
    return [f.kind for f in findings(h)]


def test_a_healthy_run_has_no_findings():
    steps = [
        {"reward": 0.1 * i, "frac_reward_zero_std": 0.25, "rewards/a/mean": 0.1 * i, "rewards/a/none_rate": 0.1}
        for i in range(10)
    ]
    assert kinds(history(steps)) == []


def test_no_group_with_spread_at_any_step_is_nothing_learned():
    steps = [{"reward": 0.5, "frac_reward_zero_std": 1.0, "loss": 0.0, "grad_norm": 0.0} for _ in range(5)]
    (finding,) = findings(history(steps))
    assert finding.kind == "nothing_learned" and "any of the 5 logged steps" in finding.message
    assert "loss and grad_norm were 0" in finding.message


def test_a_stretch_without_spread_is_named_with_its_steps():
    spread = [0.5, 0.5, 1.0, 1.0, 1.0, 1.0, 0.5]
    found = findings(history([{"reward": 0.1, "frac_reward_zero_std": v} for v in spread]))
    assert [f.kind for f in found] == ["no_spread"] and "4 logged steps in a row (steps 3-6)" in found[0].message
    assert kinds(history([{"reward": 0.1, "frac_reward_zero_std": v} for v in [1.0, 1.0, 0.5, 0.5]])) == []


def test_a_gate_closed_on_every_row():
    steps = [{"reward": 0.1, "rewards/a/gated_rate": 1.0}, {"reward": 0.1, "rewards/a/gated_rate": 1.0}]
    assert kinds(history(steps)) == ["gate_always_closed"]
    steps[1]["rewards/a/gated_rate"] = 0.9
    assert kinds(history(steps)) == []


def test_a_reward_always_none_says_whether_it_raised():
    steps = [{"reward": 0.0, "rewards/a/none_rate": 1.0, "rewards/a/error_rate": 1.0}] * 3
    (finding,) = findings(history(steps))
    assert finding.kind == "always_none" and "errors on 100% of rows" in finding.message
    quiet = [{"reward": 0.0, "rewards/a/none_rate": 1.0, "rewards/a/error_rate": 0.0}] * 3
    assert "no error was raised" in findings(history(quiet))[0].message


def test_the_total_moved_only_by_a_weight_schedule():
    # a scores 1 throughout; its weight rises 0 -> 1: the total rises with no better completion
    steps = [{"reward": w, "rewards/a/mean": 1.0, "rewards/a/weight": w} for w in (0.0, 0.25, 0.5, 0.75, 1.0)]
    (finding,) = findings(history(steps))
    assert finding.kind == "moved_by_weights" and "from 0 to 1" in finding.message and "a 0 -> 1" in finding.message
    # the same schedule while the score itself doubles: the scores moved the total too, no finding
    better = [
        {"reward": w * m, "rewards/a/mean": m, "rewards/a/weight": w}
        for w, m in ((0.5, 0.5), (0.6, 0.6), (0.7, 0.7), (0.8, 0.9), (1.0, 1.0))
    ]
    assert kinds(history(better)) == []


def test_truncation_and_clipping_dominating():
    steps = [{"reward": 0.1, "completions/clipped_ratio": 0.9, "clip_ratio/region_mean": 0.4}] * 5
    assert sorted(kinds(history(steps))) == ["clipping", "truncation"]
    calm = [{"reward": 0.1, "completions/clipped_ratio": 0.1, "clip_ratio/region_mean": 0.01}] * 5
    assert kinds(history(calm)) == []


NEVER = """
@reward("tiny.never", description="None on every row: it never applies.")
def never(sample):
    return None


@hookimpl
def register_rewards(register):
    for fn in (chars, label, rank, rank_fails, interrupt, never):"""

LEARNS_NOTHING = """
[[rewards]]
use = "tiny.rank_fails"
name = "one"
weight = { schedule = "linear", start = 0.0, end = 1.0, steps = 3 }

[[rewards]]
use = "tiny.never"
name = "never"

[[rewards]]
use = "tiny.chars"
name = "gated"
when = "one < 0"
closed = 0
"""


@pytest.mark.train
@pytest.mark.slow
def test_a_run_built_to_learn_nothing_says_so(tmp_path):
    """One reward is 1 on every row (its weight scheduled 0 -> 1), one is always None, one is gated
    shut: no group has spread, nothing is learned, and the total still rises."""
    model = build_tiny_model(tmp_path / "tiny")
    config = write_run_files(tmp_path, model, rewards=LEARNS_NOTHING)
    plugin = tmp_path / "tiny_rewards.py"
    source = plugin.read_text()
    head = source.index("@hookimpl\ndef register_rewards")
    tail = source.index("\n", source.index("for fn in (", head))
    # under its own file name: the registry knows a local plugin file by its name, and another
    # test of this process may have loaded the tiny model's own tiny_rewards.py already
    (tmp_path / "tiny_rewards_never.py").write_text(source[:head] + NEVER + source[tail:])
    config.write_text(config.read_text().replace('"tiny_rewards.py"', '"tiny_rewards_never.py"'))
    from grpo_rewards.trainer.run import train

    result = train(config, log=lambda message: None)
    report = Path(result.report).read_text()
    section = report.split("## Findings", 1)[1].split("## Rewards", 1)[0]
    for kind in ("nothing learned", "gate always closed", "always none", "moved by weights", "truncation"):
        assert f"**{kind}**" in section, section
    assert section.index("nothing learned") < section.index("truncation")
    card = (tmp_path / "out" / "README.md").read_text()  # written at the checkpoint, ours not TRL's
    assert "fine-tuned version of" not in card and "report.md" in card
    steps = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["frac_reward_zero_std"] == 1.0 for r in steps if "reward" in r)
