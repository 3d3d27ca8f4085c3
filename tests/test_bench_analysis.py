"""Benchmark figures against hand-computed examples."""

from __future__ import annotations

import pytest

from grpo_rewards.bench import analysis
from grpo_rewards.bench.compare import bootstrap_delta, prompt_means
from grpo_rewards.bench.run import run_bench
from grpo_rewards.contributions import compute_contributions
from tests.bench_support import completion_rows, write_jsonl


def test_spread_fraction_counts_prompts_whose_completions_differ():
    groups = [
        [1.0, 1.0, 1.0],  # no spread
        [0.0, 1.0, None],  # spread among the present scores
        [None, None, 1.0],  # one present score: nothing to compare
        [2.0],  # a single completion is not a group
    ]
    assert analysis.spread_fraction(groups) == pytest.approx(1 / 3)
    assert [analysis.group_range(g) for g in groups] == [0.0, 1.0, None, None]
    assert analysis.spread_fraction([[0.5]]) is None


def test_spread_matches_the_contribution_metrics_on_equal_groups():
    values = [[1.0, 0.0], [1.0, 1.0], [0.0, 0.5], [0.0, 0.5]]  # two groups of two, two rewards
    contributions = compute_contributions(values, [1.0, 1.0], 2, ["a", "b"])
    for k, name in enumerate(["a", "b"]):
        groups = [[values[0][k], values[1][k]], [values[2][k], values[3][k]]]
        assert analysis.spread_fraction(groups) == 1 - contributions.zero_spread[name]


def test_spread_probability_is_exact():
    # {0, 0, 1, 1}: of the 6 pairs, 2 are equal -> 4/6; every triple mixes -> 1.
    assert analysis.spread_probability([0, 0, 1, 1], 2) == pytest.approx(4 / 6)
    assert analysis.spread_probability([0, 0, 1, 1], 3) == 1.0
    # {0, 0, 0, 1}: 3 of 6 pairs equal -> 1/2; 1 of 4 triples equal -> 3/4.
    assert analysis.spread_probability([0, 0, 0, 1], 2) == pytest.approx(0.5)
    assert analysis.spread_probability([0, 0, 0, 1], 3) == pytest.approx(0.75)
    assert analysis.spread_probability([1, 1, 1, 1], 4) == 0.0
    assert analysis.spread_probability([0.3, 0.3 + 1e-12], 2) == 0.0  # equal within tolerance


def test_group_size_guidance_on_a_hand_computed_example():
    totals = [[0, 0, 1, 1], [0, 0, 0, 1], [1, 1, 1, 1]]
    rows = analysis.group_size_guidance(totals)
    assert [r["g"] for r in rows] == [2, 3, 4]
    expected = [(4 / 6 + 1 / 2 + 0) / 3, (1 + 3 / 4 + 0) / 3, (1 + 1 + 0) / 3]
    assert [r["fraction_with_spread"] for r in rows] == pytest.approx(expected)
    assert [r["gain"] for r in rows] == pytest.approx([expected[0], expected[1] - expected[0], expected[2] - expected[1]])
    # Groups smaller than g are left out of that size's average.
    uneven = analysis.group_size_guidance([[0, 1, 1], [0, 1]])
    assert [(r["g"], r["groups"]) for r in uneven] == [(2, 2), (3, 1)]
    assert uneven[0]["fraction_with_spread"] == pytest.approx((2 / 3 + 1) / 2)


def test_agreement_with_gold_labels():
    scores = [1.0, 0.0, 1.0, None, 0.4, 0.6, 1.0]
    labels = [True, False, "no", True, "yes", 0, "maybe"]
    result = analysis.agreement(scores, labels, threshold=0.5)
    assert (result["tp"], result["fp"], result["tn"], result["fn"]) == (1, 2, 1, 1)
    assert (result["n"], result["no_score"], result["no_label"]) == (5, 1, 1)
    assert result["accuracy"] == pytest.approx(2 / 5)
    assert result["precision"] == pytest.approx(1 / 3)
    assert result["recall"] == pytest.approx(1 / 2)
    assert analysis.label_threshold((0, 1)) == 0.5
    assert analysis.label_threshold((-1, 0)) == -0.5
    assert analysis.label_threshold((float("-inf"), 0)) == 0.5


def test_histogram_counts_values_or_bins():
    assert analysis.histogram([0.0, 1.0, 1.0, None]) == {"kind": "values", "values": [0.0, 1.0], "counts": [1, 2]}
    many = analysis.histogram([float(i) for i in range(100)], bins=4)
    assert many["kind"] == "bins" and many["counts"] == [25, 25, 25, 25]
    assert analysis.histogram([None]) == {"kind": "empty"}


def test_weighted_totals_leave_none_out_and_have_no_total_for_an_all_none_row():
    # as TRL 1.16: a None adds nothing; a row where every reward is None is left out (no total)
    assert analysis.weighted_totals([[1.0, None], [None, None], [0.5, 2.0]], [2.0, -1.0]) == [2.0, None, -1.0]


def test_bootstrap_delta_is_paired_over_prompts():
    a = prompt_means([[0.0, 1.0], [0.0, 0.0], [1.0, None], [None]])
    b = prompt_means([[1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [1.0]])
    result = bootstrap_delta(a, b, resamples=500, seed=1)
    # per-prompt differences 0.5, 0.5, 0; the fourth prompt has no A score and is left out
    assert result["prompts"] == 3
    assert result["delta"] == pytest.approx(1 / 3)
    assert 0 <= result["low"] <= result["delta"] <= result["high"] <= 0.5
    same = bootstrap_delta(a, a, resamples=200)
    assert (same["delta"], same["low"], same["high"], same["significant"]) == (0.0, 0.0, 0.0, False)


BOTH = '[[rewards]]\nuse = "math.correct"\nname = "correct"\n\n[[rewards]]\nuse = "xml.format"\nname = "format"\nweight = 0.5\n'


def test_figures_of_a_run_on_pre_generated_completions(tmp_path):
    config = tmp_path / "set.toml"
    config.write_text(BOTH)
    rows = completion_rows()
    prompts = write_jsonl(tmp_path / "rows.jsonl", rows)
    report = run_bench(config, str(prompts), log=lambda m: None).report
    assert report["data"] == {"prompts": 4, "completions": 16, "group_sizes": {"4": 4}, "seen_in_training": None}
    correct, fmt = report["per_reward"]["correct"], report["per_reward"]["format"]
    # per prompt: right+tagged, wrong+tagged, "The answer is N." (right), "Hmm, maybe N+2." (wrong)
    assert correct["mean"] == 0.5 and correct["spread"] == 1.0
    assert correct["histogram"] == {"kind": "values", "values": [0.0, 1.0], "counts": [8, 8]}
    assert fmt["mean"] == 0.5 and fmt["spread"] == 1.0
    assert correct["none_rate"] == correct["error_rate"] == correct["timeout_rate"] == 0.0
    assert correct["rows_per_s"] > 0 and correct["latency_ms_p50"] <= correct["latency_ms_p99"]
    # totals per prompt: 1.5, 0.5, 1, 0 -> spread everywhere; every pair differs
    assert report["total"]["mean"] == pytest.approx(0.75)
    assert [r["fraction_with_spread"] for r in report["group_size"]] == [1.0, 1.0, 1.0]
    # shares: Cov(w_k r_k, r) / Var(r) per group: correct (0.25) and format (0.0625) of Var 0.3125
    assert report["contributions"]["share"] == pytest.approx({"correct": 0.8, "format": 0.2})
    assert correct["share"] == pytest.approx(0.8)
    assert report["correlation"]["matrix"][0][1] == pytest.approx(0.0)
    # the rows carry a `correct` label column: math rewards are checked against it
    agreement = report["agreement"]["correct"]
    assert (agreement["column"], agreement["n"], agreement["accuracy"]) == ("correct", 16, 1.0)
    assert [p["total_std"] for p in report["per_prompt"]] == pytest.approx([0.5590169943749475] * 4)
    assert report["examples"][0]["which"] == "best" and report["examples"][0]["total"] == 1.5
    assert report["notes"] == []  # both rewards separate every prompt, neither dominates, no correlation


def test_notes_name_what_gives_grpo_no_signal():
    from grpo_rewards.bench.diagnose import notes

    report = {
        "per_reward": {
            "correct": {"spread": 0.0, "weight": 1.0, "none_rate": 0.0, "share": 0.0},
            "consistent": {"spread": 0.0, "weight": 0.5, "none_rate": 1.0, "share": 0.0},
            "overlong": {"spread": 0.5, "weight": 0.5, "none_rate": 0.0, "share": 1.0},
            "copy": {"spread": 0.5, "weight": 0.0, "none_rate": 0.0, "share": 0.0},
        },
        "correlation": {
            "names": ["correct", "consistent", "overlong", "copy"],
            "matrix": [[1, None, None, None], [None, 1, None, None], [None, None, 1, 0.97], [None, None, 0.97, 1]],
        },
        "total": {"spread": 0.25},
        "group_size": [{"g": 2}, {"g": 8}],
        "generation": {"truncated_rate": 0.86, "sampling": {"max_completion_length": 128}},
    }
    assert [(n["kind"], n["message"]) for n in notes(report)] == [
        ("no_signal", "reward 'correct' gives GRPO no signal on these prompts: it scores all completions of every prompt alike"),
        ("no_signal", "reward 'consistent' gives GRPO no signal on these prompts: it scores every completion None"),
        ("dominant", "reward 'overlong' drives 100% of the advantage (>= 90%): the other rewards barely steer training"),
        ("duplicate", "'overlong' and 'copy' correlate at 0.97: one reward counted twice"),
        (
            "low_spread",
            "only 25% of prompts have any spread in the weighted total with 8 completions each: "
            "the rest give zero advantage (see the group-size table)",
        ),
        ("truncated", "86% of completions hit max_completion_length (128 tokens): the rewards judge cut-off text"),
    ]


def test_overlap_matches_the_template_columns_and_says_when_nothing_is_unseen():
    from grpo_rewards.bench import overlap
    from grpo_rewards.bench.data import group_rows

    held_out = group_rows([{"question": "2 * 3", "prompt": "2 * 3"}, {"question": "4 * 5", "prompt": "4 * 5"}], "h", ["question"])
    training = [{"question": "4 * 5", "answer": "20"}, {"question": "6 * 7"}, {"other": 1}]
    assert overlap.seen_positions(held_out, training, ["question"]) == [1]
    assert overlap.unseen_only([[1.0], [0.0, 1.0]], [1]) == [[1.0]]
    entry = overlap.summary([0, 1], 2, 3, "train.jsonl")
    (note,) = overlap.note(entry, None)
    assert "2 of 2 held-out prompts" in note["message"] and "None of them is unseen" in note["message"]
    assert overlap.note(overlap.summary([], 2, 3, "train.jsonl"), None) == []
