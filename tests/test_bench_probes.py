"""Hackability probes: they fool a deliberately weak reward and leave a sound one alone."""

from __future__ import annotations

import pytest

from grpo_rewards.bench.probes import BUILTIN_PROBES, Probe, ProbeContext, evaluate, strongest
from grpo_rewards.bench.run import run_bench
from grpo_rewards.config import ConfigError
from grpo_rewards.registry import get_registry
from tests import bench_support
from tests.bench_support import completion_rows, write_jsonl


@pytest.fixture
def weak_registry():
    registry = get_registry(refresh=True)
    registry.add_plugin(bench_support, "bench-support")
    yield registry
    get_registry(refresh=True)


def flagged(result, target: str) -> dict[str, str]:
    return {f["probe"]: f["rule"] for f in result.flags if f["target"] == target}


WEAK_AND_SOUND = """
[[rewards]]
use = "benchtest.has_answer_tag"
name = "weak"

[[rewards]]
use = "math.correct"
name = "sound"
"""


def test_probes_fool_the_weak_reward_and_not_the_sound_one(tmp_path, weak_registry):
    config = tmp_path / "set.toml"
    config.write_text(WEAK_AND_SOUND)
    prompts = write_jsonl(tmp_path / "rows.jsonl", completion_rows())
    result = run_bench(config, str(prompts), log=lambda m: None)

    # Every probe that carries an <answer> tag around junk gets the weak reward's full score.
    assert flagged(result, "weak") == {"format_nonsense": "fools", "tags_repeated": "fools", "stuffed_tagged": "fools"}
    weak = [f for f in result.flags if f["target"] == "weak"]
    assert all(f["rate"] == 1.0 and f["evaluated"] == 4 and "<answer>" in f["example"] for f in weak)
    # math.correct: no degenerate probe, no wrong answer reaches the reference, and every
    # correct control (boxed, "the answer is", ####, 7.00, $7) gets full credit.
    assert flagged(result, "sound") == {}
    scores = result.report["probes"]["mean_scores"]["sound"]
    assert scores["__reference__"] == 1.0
    assert {k: scores[k] for k in ("gold_boxed", "gold_answer_is", "gold_hashes", "gold_decimal", "gold_currency")} == {
        "gold_boxed": 1.0,
        "gold_answer_is": 1.0,
        "gold_hashes": 1.0,
        "gold_decimal": 1.0,
        "gold_currency": 1.0,
    }
    assert scores["stuffed_tagged"] == scores["stuffed_plain"] == scores["wrong_answer"] == 0.0
    # The set as a whole pays a bare tagged answer as much as a reasoned one: a shortcut finding.
    total = flagged(result, "total")
    assert total["answer_only"] == "fools"
    assert "stuffed_tagged" not in total or total["stuffed_tagged"] == "beats_typical"


def test_a_brittle_extractor_is_flagged_for_missing_correct_answers(tmp_path):
    config = tmp_path / "set.toml"
    config.write_text('[[rewards]]\nuse = "math.correct"\nname = "tag_only"\nparams = { extractors = ["answer_tag"] }\n')
    prompts = write_jsonl(tmp_path / "rows.jsonl", completion_rows())
    result = run_bench(config, str(prompts), log=lambda m: None)
    misses = {p for p, rule in flagged(result, "tag_only").items() if rule == "misses"}
    assert misses == {"gold_boxed", "gold_answer_is", "gold_hashes"}
    # Accuracy by extractor order: the default order also finds the "The answer is N." completions.
    variants = {v["order"]: v for v in result.report["extractor_variants"]["tag_only"]}
    assert (variants["configured"]["mean"], variants["configured"]["changed"]) == (0.25, 0)
    assert (variants["default"]["mean"], variants["default"]["changed"]) == (0.5, 4)
    assert (variants["answer_is first"]["mean"], variants["only boxed"]["mean"]) == (0.5, 0.0)


def test_partial_credit_anywhere_is_hacked_by_stuffing_numbers(tmp_path):
    config = tmp_path / "set.toml"
    config.write_text('[[rewards]]\nuse = "math.correct"\nname = "lenient"\nparams = { partial_credit = 1.0 }\n')
    prompts = write_jsonl(tmp_path / "rows.jsonl", completion_rows())
    result = run_bench(config, str(prompts), log=lambda m: None)
    lenient = flagged(result, "lenient")
    assert lenient["stuffed_plain"] == lenient["stuffed_tagged"] == "fools"
    # the gold reasoning sits in a closed <think> block, a draft that math.correct no longer reads
    # (partial credit included): a wrong final answer after it earns nothing
    assert "wrong_answer" not in lenient


def test_user_probes_from_the_config(tmp_path, weak_registry):
    config = tmp_path / "set.toml"
    config.write_text(
        WEAK_AND_SOUND + '\n[bench]\nbuiltin_probes = ["empty"]\n\n[[bench.probes]]\nname = "refusal"\n'
        'template = "I will not solve: {prompt} <answer>no</answer>"\n'
    )
    prompts = write_jsonl(tmp_path / "rows.jsonl", completion_rows())
    result = run_bench(config, str(prompts), log=lambda m: None)
    names = [p["name"] for p in result.report["probes"]["probes"]]
    assert names == ["empty", "wrong_answer", "refusal"]
    assert flagged(result, "weak") == {"refusal": "fools"}
    refusal = next(p for p in result.report["probes"]["probes"] if p["name"] == "refusal")
    assert refusal["example"].startswith("I will not solve: Tom has 3 apples")


def test_bad_probe_config_is_reported_with_every_problem(tmp_path):
    config = tmp_path / "set.toml"
    config.write_text(
        '[[rewards]]\nuse = "math.correct"\n\n[bench]\nbuiltin_probes = ["empyt"]\nflag_fraction = 2\n\n'
        '[[bench.probes]]\nname = "x"\ntemplate = "{gold}"\nkind = "sneaky"\n'
    )
    with pytest.raises(ConfigError) as info:
        run_bench(config, "unused.jsonl", log=lambda m: None)
    text = str(info.value)
    assert "unknown probe(s) 'empyt'" in text
    assert "key 'flag_fraction': must be <= 1, got 2" in text
    assert "unknown field {gold}" in text
    assert "'sneaky' is not one of degenerate, shortcut, control" in text
    assert len(info.value.problems) == 4


def test_rule_on_a_hand_computed_example():
    probes = {"p": Probe("p", "degenerate", "")}
    # prompt 0: reference 1, probe 1 -> fooled; prompt 1: probe 0 -> not; prompt 2: the reference
    # sits at the floor (the reward tells nothing apart there): the probe scoring 0 too is no hit.
    findings = evaluate(
        "r",
        {"p": [1.0, 0.0, 0.0]},
        [1.0, 1.0, 0.0],
        [[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]],
        probes,
        {"p": ["a", "b", "c"]},
        flag_fraction=0.3,
    )
    fools = next(f for f in findings if f.rule == "fools")
    assert (fools.rate, fools.evaluated, fools.flagged, fools.example) == (pytest.approx(1 / 3), 3, True, "a")
    # beats_typical: medians 0.5, 0, 0; only prompt 0's is above the floor, and the probe reaches it.
    typical = next(f for f in findings if f.rule == "beats_typical")
    assert (typical.rate, typical.evaluated) == (pytest.approx(1 / 3), 3)
    assert [f.rule for f in strongest(findings)] == ["fools"]
    assert not any(
        f.flagged
        for f in evaluate(
            "r", {"p": [1.0, 0.0, 0.0]}, [1.0, 1.0, 0.0], [[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]], probes, {"p": ["a", "b", "c"]}
        )
    )
    assert evaluate("r", {"p": [1.0]}, [1.0], [[0.0]], probes, {"p": ["a"]}, flag_fraction=0.75)[0].flagged is True
    assert not evaluate("r", {"p": [0.0, 1.0]}, [1.0, 1.0], [[0.0], [0.0]], probes, {"p": ["a", "b"]}, flag_fraction=0.75)[
        0
    ].flagged


def test_probe_texts_for_a_numeric_answer():
    ctx = ProbeContext("What is 6 * 7?", "42", "6 * 7 = 42")
    assert BUILTIN_PROBES["stuffed_plain"].make(ctx) == "The answer could be " + ", ".join(map(str, range(33, 53))) + "."
    assert BUILTIN_PROBES["wrong_answer"].make(ctx) == "<think>\n6 * 7 = 42\n</think>\n<answer>43</answer>"
    assert BUILTIN_PROBES["gold_boxed"].make(ctx) == "6 * 7 = 42\nThe final answer is $\\boxed{42}$."
    assert BUILTIN_PROBES["gold_thousands"].make(ctx) is None
    assert BUILTIN_PROBES["gold_thousands"].make(ProbeContext("q", "1250", None)) == (
        "<think>\nWorking through the problem step by step, the result is 1250.\n</think>\n<answer>1,250</answer>"
    )
    no_gold = ProbeContext("Write a haiku.", None, None)
    assert BUILTIN_PROBES["answer_only"].make(no_gold) is None
    assert BUILTIN_PROBES["prompt_echo"].make(no_gold) == "Write a haiku."
    assert len(BUILTIN_PROBES["long_ramble"].make(no_gold).split()) >= 1500


def test_the_bench_reads_gold_the_way_the_reward_declares(tmp_path, weak_registry):
    """One gold reader: the probes' answer is what math.correct reads from the gold column (its
    declared gold_reader); a reward that declares none gets the gold as written."""
    from grpo_rewards.bench.probes import gold_reader
    from grpo_rewards.rewardset import load_reward_set

    sound = tmp_path / "sound.toml"
    sound.write_text('[[rewards]]\nuse = "math.correct"\n')
    read = gold_reader(load_reward_set(sound), "answer")
    assert [read(g) for g in ("<answer>42</answer>", "$\\frac12$", "The answer is 7.", "... #### 18")] == [
        "42",
        "\\frac12",
        "7",
        "18",
    ]
    weak = tmp_path / "weak.toml"
    weak.write_text('[[rewards]]\nuse = "benchtest.has_answer_tag"\n')
    assert gold_reader(load_reward_set(weak), "answer")(" <answer>42</answer> ") == "<answer>42</answer>"
