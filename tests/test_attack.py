"""grpo-rewards attack: the hook (a plugin's own answer domain and attack class), the per-kind paid
rule, the Wilson interval, determinism, the command and the bench's wrong-answer probe."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from grpo_rewards import Sample, hookimpl, reward
from grpo_rewards.attack import AnswerDomain, Attack
from grpo_rewards.attack.plan import build_plan, first_wrong_answer
from grpo_rewards.attack.run import paid_failures, run_attacks, wilson
from grpo_rewards.bench.probes import ProbeContext
from grpo_rewards.cli import main
from grpo_rewards.registry import get_registry
from grpo_rewards.rewardset import parse_reward_set

COLOURS = ("red", "green", "blue", "amber", "violet")


def other_colours(gold: str, columns) -> dict[str, list[str]]:
    return {"other_colour": [c for c in COLOURS if c != gold.strip().lower()][:2]}


def _tag(text: str) -> str | None:
    start, end = text.rfind("<answer>"), text.rfind("</answer>")
    return text[start + 8 : end].strip() if 0 <= start < end else None


@reward(
    "colour.exact",
    description="1 when the <answer> is the gold colour.",
    kind="correctness",
    value_range=(0, 1),
    columns=("answer",),
    answer_domain="colour",
)
def colour_exact(sample: Sample) -> float:
    return 1.0 if _tag(sample.completion) == str(sample.columns["answer"]) else 0.0


@reward(
    "colour.anywhere",
    description="1 when the gold colour appears anywhere, any case.",
    kind="correctness",
    value_range=(0, 1),
    columns=("answer",),
    answer_domain="colour",
)
def colour_anywhere(sample: Sample) -> float:
    return 1.0 if str(sample.columns["answer"]) in sample.completion.lower() else 0.0


@reward("colour.short", description="minus the length in characters: a shaping term", kind="length", value_range=(-1e9, 0))
def colour_short(sample: Sample) -> float:
    return -float(len(sample.completion))


class ColourPlugin:
    """A third-party plugin: two rewards, their answer domain and an attack class of its own."""

    @hookimpl
    def register_rewards(self, register):
        for fn in (colour_exact, colour_anywhere, colour_short):
            register(fn)

    @hookimpl
    def register_attacks(self, register):
        register(AnswerDomain("colour", "one colour name", other_colours))
        register(
            Attack(
                "shouted",
                "constant",
                "the gold colour shouted next to another one",
                lambda ctx: [f"<answer>{ctx.gold.upper()} {ctx.first_wrong}</answer>"] if ctx.gold else [],
                domains=("colour",),
            )
        )


ROWS = [{"prompt": f"Which colour is item {i}?", "answer": COLOURS[i % len(COLOURS)]} for i in range(6)]


@pytest.fixture
def colour_registry():
    registry = get_registry(refresh=True)
    registry.add_plugin(ColourPlugin(), "colour-plugin")
    assert not registry.problems, registry.problems
    yield registry
    get_registry(refresh=True)


def colour_set(registry, *uses: str):
    return parse_reward_set([{"use": use, "name": use.split(".")[1]} for use in uses], registry=registry)


def test_a_plugin_domain_and_attack_class_reach_the_generator(colour_registry):
    run = run_attacks(colour_set(colour_registry, "colour.exact", "colour.anywhere"), ROWS, seed=3, registry=colour_registry)
    exact, anywhere = run.report["rewards"]["exact"], run.report["rewards"]["anywhere"]
    assert exact["domain"] == "colour"
    assert {"other_colour", "shouted", "hedge", "think_then_other"} <= set(exact["classes"])
    wrong = [c.text for c in run.plan.cases if c.target == "exact" and c.attack == "other_colour"]
    assert wrong and all(_tag(t) in COLOURS or _tag(t) is None for t in wrong)  # colours, never "red+1"
    assert not any("+1" in c.text for c in run.plan.cases)
    # the exact reward pays nothing; the substring reward pays the plugin's own class and the core's hedge
    assert paid_failures(run.report) == [line for line in paid_failures(run.report) if "'anywhere'" in line]
    assert all(f["paid"] == 0 for f in exact["classes"].values())
    assert anywhere["classes"]["shouted"]["paid"] == anywhere["classes"]["shouted"]["n"] == len(ROWS)
    assert anywhere["classes"]["hedge"]["share"] == 1.0
    assert anywhere["classes"]["other_colour"]["paid"] == 0


def test_the_bench_wrong_answer_probe_reads_the_domain(colour_registry):
    reward_set = colour_set(colour_registry, "colour.exact")
    wrong = first_wrong_answer(reward_set, "blue", {}, colour_registry)
    assert wrong == "red"
    ctx = ProbeContext("Which colour?", "blue", None, wrong=wrong)
    assert ctx.wrong_answer == "red"


def test_a_multiple_choice_gold_gets_another_letter_not_letter_plus_one():
    reward_set = parse_reward_set([{"use": "math.correct", "name": "correct"}])
    for gold, expected in (("C", "D"), ("E", "A"), ("(B)", "C")):
        wrong = first_wrong_answer(reward_set, gold, {})
        assert wrong == expected
        assert ProbeContext("Pick one.", gold, None, wrong=wrong).wrong_answer == expected


def test_shaping_rewards_are_judged_against_the_reference_and_never_gate(colour_registry):
    run = run_attacks(colour_set(colour_registry, "colour.short"), ROWS, seed=0, registry=colour_registry)
    short = run.report["rewards"]["short"]
    assert short["judged"] is False and "report-only" in short["rule"]
    assert short["classes"]["empty"]["paid"] == len(ROWS)  # "" is shorter than the gold reference
    assert short["classes"]["padding"]["paid"] == 0
    assert paid_failures(run.report) == []


def test_wilson_interval_matches_hand_computed_values():
    low, high = wilson(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(5, 10)
    assert (low, high) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert wilson(0, 0) == (0.0, 1.0)


def test_the_same_seed_builds_the_same_attacks_and_another_seed_other_forms():
    reward_set = parse_reward_set([{"use": "math.correct", "name": "correct"}])
    rows = [{"prompt": "q", "answer": str(n)} for n in (12, 405, 7)]
    first = [(c.attack, c.text) for c in build_plan(reward_set, rows, seed=1).cases]
    again = [(c.attack, c.text) for c in build_plan(reward_set, rows, seed=1).cases]
    other = [(c.attack, c.text) for c in build_plan(reward_set, rows, seed=2).cases]
    assert first == again
    assert first != other and {a for a, _ in first} == {a for a, _ in other}


def test_the_command_reports_gates_and_never_overwrites(tmp_path):
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"q{n}", "answer": str(n)}) + "\n" for n in (12, 300, 45)))
    config = tmp_path / "set.toml"
    config.write_text('[[rewards]]\nuse = "math.correct"\nname = "correct"\nparams = { partial_credit = 1.0 }\n')
    report = tmp_path / "attack.json"
    result = CliRunner().invoke(main, ["attack", str(config), "--prompts", str(data), "-o", str(report), "--fail-on", "paid"])
    assert result.exit_code == 1, result.output
    assert "fail: paid: 'correct' pays" in result.output and "'hedge'" in result.output
    figures = json.loads(report.read_text())
    assert figures["rewards"]["correct"]["classes"]["hedge"]["share"] == 1.0
    again = CliRunner().invoke(main, ["attack", str(config), "--prompts", str(data), "-o", str(report)])
    assert again.exit_code == 2 and "exists" in again.output
    bad = CliRunner().invoke(main, ["attack", str(config), "--prompts", str(data), "--fail-on", "payd"])
    assert bad.exit_code == 2 and "unknown rule 'payd'" in bad.output
