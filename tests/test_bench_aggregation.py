"""The bench's aggregation comparison and ``--fail-on``, by hand and as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from grpo_rewards.bench.aggregation import compare_modes
from grpo_rewards.bench.failon import FailOnError, failures, parse_fail_on
from grpo_rewards.cli import main
from tests.bench_support import completion_rows, write_jsonl

# One group of four. a = [1, 0, 1, 0] (weight 1), b = [0, 2, 0, 2] (weight .5): every total is 1,
# so summing first gives all four the advantage 0, although rows 0/1, 0/3, 2/1, 2/3 differ (4 pairs).
# GDPO standardises each first: z_a = +-.5/(std .577 + 1e-4), z_b = -+1/(1.155 + 1e-4), and
# z_a + .5 z_b = +-.433 != 0: the pairs are kept apart.
TUG = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, 2.0]])


def by_label(section):
    return {m["label"]: m for m in section["modes"]}


def test_summing_collapses_distinct_rows_that_gdpo_keeps_apart():
    section = compare_modes(TUG, [1.0, 0.5], 4, ["a", "b"])
    modes = by_label(section)
    for label in ("sum_then_normalize/group", "sum_then_normalize/batch", "sum_then_normalize/none"):
        assert modes[label]["distinct_pairs"] == 4 and modes[label]["collapse"] == 1.0
        assert modes[label]["sign_conflict"] == 1.0  # a pushes up where b pushes down, in every row
    gdpo = modes["normalize_then_sum"]
    assert gdpo["collapse"] == 0.0 and gdpo["amplified"] == {}
    # z_a alone would be 2x the advantage; b pulls back 1x (up to TRL's 1e-4 in the stds)
    assert gdpo["share"]["a"] == pytest.approx(2.0, rel=1e-3)
    assert gdpo["share"]["b"] == pytest.approx(-1.0, rel=1e-3)
    rec = section["recommendation"]
    assert rec["label"] == "normalize_then_sum"
    assert rec["grpo"] == '[grpo]\nmulti_objective_aggregation = "normalize_then_sum"'
    assert "100% of the pairs" in rec["reason"] and "GDPO to 0%" in rec["reason"]


def test_a_near_constant_reward_that_gdpo_would_amplify_keeps_the_default():
    tiny = np.array([[0.001], [0.0], [0.0], [0.0]])  # group std 5e-4: above 1e-4, below 0.01
    section = compare_modes(np.hstack([TUG, tiny]), [1.0, 0.5, 0.1], 4, ["a", "b", "tiny"])
    modes = by_label(section)
    assert modes["normalize_then_sum"]["amplified"] == {"tiny": 1.0}
    rec = section["recommendation"]
    assert rec["label"] == "sum_then_normalize/group"
    assert "'tiny'" in rec["reason"] and "100% of its groups" in rec["reason"]
    assert rec["grpo"].endswith('scale_rewards = "group"')


def test_rows_that_differ_only_in_a_weight_0_reward_are_not_distinct():
    watch = np.array([[0.1], [0.2], [0.3], [0.4]])
    flat = np.array([[1.0], [1.0], [1.0], [1.0]])
    section = compare_modes(np.hstack([flat, watch]), [1.0, 0.0], 4, ["a", "watch"])
    assert all(m["distinct_pairs"] == 0 and m["collapse"] is None for m in section["modes"])
    assert "nothing to choose between" in section["recommendation"]["reason"]


def test_when_gdpo_collapses_as_much_the_default_stays_and_says_why():
    # a and b differ between rows 0 and 1 but are mirror images: equal weights cancel in both modes
    values = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    rec = compare_modes(values, [1.0, 1.0], 4, ["a", "b"])["recommendation"]
    assert rec["label"] == "sum_then_normalize/group"
    assert rec["reason"].startswith(
        "summing first collapses 100% of the pairs whose rewards differ, but GDPO still collapses 100%: it would not help"
    )


def test_no_collapse_keeps_trls_default():
    values = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 1.0]])  # totals 1, 0, 1.5, .5: all distinct
    rec = compare_modes(values, [1.0, 0.5], 4, ["a", "b"])["recommendation"]
    assert rec["label"] == "sum_then_normalize/group" and "only 0%" in rec["reason"]


def test_fail_on_parsing():
    assert parse_fail_on("probes, zero-spread=0.5,none-rate=0.2") == {"probes": None, "zero-spread": 0.5, "none-rate": 0.2}
    for bad, message in (
        ("probe", "unknown rule 'probe'"),
        ("zero-spread", "needs a fraction"),
        ("none-rate=2", "between 0 and 1"),
        ("probes=1", "takes no value"),
        ("", "no rule"),
    ):
        with pytest.raises(FailOnError, match=message):
            parse_fail_on(bad)


def test_fail_on_rules_against_a_report():
    report = {
        "probes": {
            "flags": [
                {
                    "target": "total",
                    "rule": "beats_typical",
                    "kind": "degenerate",
                    "probe": "empty",
                    "rate": 0.75,
                    "evaluated": 4,
                },
                {"target": "format", "rule": "fools", "kind": "degenerate", "probe": "tags", "rate": 1.0, "evaluated": 4},
                {"target": "total", "rule": "misses", "kind": "calibration", "probe": "other_form", "rate": 1.0, "evaluated": 4},
            ]
        },
        "per_reward": {"correct": {"spread": 0.25, "none_rate": 0.5}, "format": {"spread": 1.0, "none_rate": 0.0}},
    }
    lines = failures(report, parse_fail_on("probes,zero-spread=0.5,none-rate=0.2"))
    assert lines == [
        "probes: the weighted total scores the degenerate probe 'empty' as high as a typical real completion on 75% of 4 prompts",
        "zero-spread: 'correct' has no spread in 75% of groups (limit 50%)",
        "none-rate: 'correct' returns None on 50% of rows (limit 20%)",
    ]
    assert failures(report, parse_fail_on("zero-spread=0.8,none-rate=0.5")) == []


GATED = """
[[rewards]]
use = "xml.format"
name = "format"
weight = { schedule = "linear", start = 1.0, end = 0.0, steps = 100 }

[[rewards]]
use = "math.correct"
name = "correct"

[[rewards]]
use = "length.target"
name = "short"
weight = 0.01
when = "correct >= 1"
closed = 0.0  # the lowest score of the positive form: a closed gate gives 0
params = { target = 20, form = "positive" }
"""


def test_bench_cli_prints_the_comparison_applies_step_and_fails_on_request(tmp_path):
    config = tmp_path / "gated.toml"
    config.write_text(GATED)
    prompts = write_jsonl(tmp_path / "rows.jsonl", completion_rows())
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main,
        [
            "bench",
            str(config),
            "--prompts",
            str(prompts),
            "--output",
            str(out),
            "--no-plots",
            "--step",
            "50",
            "--fail-on",
            "zero-spread=0.0,none-rate=1",
        ],
        catch_exceptions=False,
    )
    report = json.loads((out / "report.json").read_text())
    assert report["step"] == 50
    assert report["per_reward"]["format"]["weight"] == pytest.approx(0.5)
    assert "aggregation modes on 4 groups of 4" in result.output
    assert "recommended aggregation:" in result.output and "[grpo]" in result.output
    labels = [m["label"] for m in report["aggregation"]["modes"]]
    assert labels == ["sum_then_normalize/group", "sum_then_normalize/batch", "sum_then_normalize/none", "normalize_then_sum"]
    # the gate: 'short' counts only on the 8 correct completions of 16
    assert report["contributions"]["gated_rate"] == {"short": 0.5}
    assert "gates applied (`short` closed on 50% of rows)" in (out / "report.md").read_text()
    # zero-spread=0: a reward without spread in any group fails the command, one line each
    failed = [line for line in result.output.splitlines() if line.startswith("fail: ")]
    assert result.exit_code == (1 if failed else 0)
    spreads = {name: f["spread"] for name, f in report["per_reward"].items()}
    assert sorted(line.split("'")[1] for line in failed) == sorted(n for n, s in spreads.items() if s < 1.0)

    again = CliRunner().invoke(
        main,
        [
            "bench",
            str(config),
            "--prompts",
            str(prompts),
            "--output",
            str(tmp_path / "r2"),
            "--no-plots",
            "--fail-on",
            "zero-sprad=1",
        ],
    )
    assert again.exit_code == 2 and "unknown rule 'zero-sprad'" in again.output


def test_score_applies_the_schedule_at_step_and_gates_always(tmp_path):
    config = tmp_path / "gated.toml"
    config.write_text(GATED)
    rows = write_jsonl(tmp_path / "rows.jsonl", completion_rows()[:4])
    totals = {}
    for step in ("0", "100"):
        out = tmp_path / f"scored-{step}.jsonl"
        result = CliRunner().invoke(
            main, ["score", str(config), "-i", str(rows), "-o", str(out), "--step", step], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        totals[step] = [json.loads(line) for line in out.read_text().splitlines()]
    for at0, at100 in zip(totals["0"], totals["100"]):
        r = at0["rewards"]
        gate = r["correct"] is not None and r["correct"] >= 1
        short = 0.01 * r["short"] if gate else 0.0
        assert at0["reward"] == pytest.approx(1.0 * r["format"] + r["correct"] + short)
        assert at100["reward"] == pytest.approx(r["correct"] + short)  # format's weight has run down to 0
        assert at100["rewards"] == r  # raw values are kept, gated or not
