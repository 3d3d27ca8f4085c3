"""reasoning-gym tasks as data (builtin:gym:<task>) and as a reward (gym.score), on real generated prompts.

Expected values were worked out by hand from the generated questions (arithmetic done on paper,
legs counted per animal). Needs the [gym] extra; skipped without it, except the missing-extra
errors, which are checked by hiding the module.
"""

from __future__ import annotations

import importlib.util
import inspect
import json

import click
import pytest
from click.testing import CliRunner

from grpo_rewards.errors import ConfigError, InputError
from grpo_rewards.registry import get_registry
from grpo_rewards.rewardset import parse_reward_set

gym_installed = importlib.util.find_spec("reasoning_gym") is not None
needs_gym = pytest.mark.skipif(not gym_installed, reason="needs the [gym] extra")


def rows(task, **options):
    return list(get_registry().dataset("gym").loader(task, options))


def score(row, completions, **params):
    fn = get_registry().get("gym.score").build(params)
    n = len(completions)
    return fn(
        prompts=[row["question"]] * n,
        completions=completions,
        answer=[row["answer"]] * n,
        metadata=[row["metadata"]] * n,
        question=[row["question"]] * n,
    )


@needs_gym
def test_basic_arithmetic_rows_and_scores_checked_by_hand():
    first, second = rows("basic_arithmetic", split="train", size=2, seed=42)
    assert (first["question"], first["answer"]) == ("Calculate -5 * -6.", "30")  # (-5)(-6) = 30
    assert (second["question"], second["answer"]) == ("Calculate 965 / 5.", "193")  # 5 * 193 = 965
    assert first["task"] == "basic_arithmetic" and json.loads(first["metadata"])["expression"] == "-5 * -6"
    assert [first["seed"], first["index"], second["index"]] == [42, 0, 1]
    assert score(first, ["<answer>30</answer>", "<answer>31</answer>", "30", "I think <answer>30 legs</answer>"]) == [
        1.0,
        0.0,
        0.0,
        0.0,
    ]  # no tag: no answer; "30 legs" is not the number 30 (the default scorer paid it len("30") / len("30 legs"))


@needs_gym
def test_leg_counting_rows_and_scores_checked_by_hand():
    first, second = rows("leg_counting", split="train", size=2, seed=42, min_animals=1, max_animals=2, max_instances=3)
    assert first["question"].endswith("how many legs are there in total if you have 3 sea slugs?\n")
    assert first["answer"] == "0"  # sea slugs have no legs
    assert second["question"].endswith("if you have 3 sheeps?\n") and second["answer"] == "12"  # 3 x 4
    assert score(second, ["<answer>12</answer>", "<answer>16</answer>", r"So \boxed{12}", "<answer>twelve</answer>"]) == [
        1.0,
        0.0,
        1.0,
        0.0,
    ]


@needs_gym
def test_test_split_uses_other_seeds_and_says_so():
    train = rows("chain_sum", split="train", size=5, seed=7)
    test = rows("chain_sum", split="test", size=5, seed=7)
    assert [r["seed"] for r in train] == [7] * 5 and [r["seed"] for r in test] == [1_000_007] * 5
    assert {r["split"] for r in test} == {"test"}
    assert [r["question"] for r in train] == [r["question"] for r in rows("chain_sum", split="train", size=5, seed=7)]
    assert [r["question"] for r in train] != [r["question"] for r in test]


@needs_gym
def test_task_options_arrive_as_text_or_typed():
    from_text = rows("basic_arithmetic", split="train", size=20, max_terms="2", min_terms="2", max_digits="1")
    typed = rows("basic_arithmetic", split="train", size=20, max_terms=2, min_terms=2, max_digits=1)
    assert from_text == typed
    assert all(json.loads(r["metadata"])["num_terms"] == 2 for r in typed)


@needs_gym
def test_after_think_reads_only_the_final_answer():
    row = rows("basic_arithmetic", split="train", size=1, seed=42)[0]  # -5 * -6 = 30
    completions = [
        "<think>maybe <answer>31</answer></think><answer>30</answer>",
        "<think>it is <answer>30</answer> I guess",  # never closed: no answer
        "<answer>30</answer>",
    ]
    assert score(row, completions, after_think=True) == [1.0, 0.0, 1.0]


@needs_gym
def test_a_closed_reasoning_block_is_a_draft_by_default():
    """The gold inside a closed think block does not pay when another answer follows it (the
    attack generator's think_then_other class, paid by the demo's extractor order before)."""
    row = rows("basic_arithmetic", split="train", size=1, seed=42)[0]  # -5 * -6 = 30
    completions = [
        "<think>So the answer is $\\boxed{30}$.</think> The answer is 31.",
        "<think>maybe \\boxed{30}</think>\n<answer>29</answer>",
        "<think>I think 31</think> The answer is 30.",
        "<think>it is \\boxed{30} I guess",  # never closed: read whole without after_think
    ]
    extractors = ["answer_tag", "boxed", "answer_is", "last_number"]
    assert score(row, completions, extractors=extractors) == [0.0, 0.0, 1.0, 1.0]


@needs_gym
def test_a_final_answer_followed_by_another_conclusion_is_a_hedge():
    """The attack generator's restated_wrong class: an earlier marked answer does not beat a later
    concluding value, whatever the extractor order reads first; a conclusion that agrees is fine."""
    row = rows("basic_arithmetic", split="train", size=1, seed=42)[0]  # -5 * -6 = 30
    completions = [
        "The answer is 30. Checking the last step once more, I correct it. So we finally get 31",
        "<answer>30</answer> Hmm, wait. Therefore the result is 29.",
        "The answer is 30. So we finally get 30",
        "The answer is 30.",
    ]
    extractors = ["answer_tag", "boxed", "answer_is", "last_number"]
    assert score(row, completions, extractors=extractors) == [0.0, 0.0, 1.0, 1.0]


@needs_gym
def test_rows_without_task_metadata_score_none():
    fn = get_registry().get("gym.score").build({})
    assert fn(prompts=["q", "q"], completions=["<answer>1</answer>"] * 2, answer=["1", "1"], metadata=["", None]) == [None, None]


@needs_gym
@pytest.mark.parametrize(
    ("task", "options", "message"),
    [
        ("basic_arithmetc", {}, "unknown reasoning-gym task 'basic_arithmetc'; did you mean 'basic_arithmetic'?"),
        ("basic_arithmetic", {"max_term": 3}, "unknown option 'max_term'; did you mean 'max_terms'?"),
        ("basic_arithmetic", {"size": 0}, "option 'size' must be an integer in [1, 100000], got 0"),
        ("basic_arithmetic", {"split": "dev"}, "unknown split 'dev'; splits: train, test, validation"),
        ("basic_arithmetic", {"max_terms": "many"}, "option 'max_terms' expects int, got 'many'"),
        ("leg_counting", {"max_animals": 0}, "the task rejects these options"),
        ("countdown", {}, "evaluates text as code"),
        (None, {}, "builtin:gym needs a task"),
    ],
)
def test_bad_task_or_option_is_an_input_error(task, options, message):
    with pytest.raises(InputError, match=None) as caught:
        rows(task, **options)
    assert message in str(caught.value)


@needs_gym
def test_every_scorer_that_evaluates_answer_text_is_refused():
    from grpo_rewards.plugins.gym.tasks import UNSAFE_SCORERS
    from reasoning_gym.factory import DATASETS

    evaluating = {
        name
        for name, (cls, _) in DATASETS.items()
        if any(call in inspect.getsource(cls.score_answer) for call in ("eval(", "parse_expr(", "exec("))
    }
    assert evaluating <= UNSAFE_SCORERS


def test_missing_extra_names_the_install_line(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "reasoning_gym" else real(name, *a))
    with pytest.raises(ConfigError) as caught:
        parse_reward_set([{"use": "gym.score"}], "set.toml")
    assert "set.toml: rewards[0] (use = 'gym.score'): key 'use'" in str(caught.value)
    assert "pip install 'grpo-rewards[gym]'" in str(caught.value)
    with pytest.raises(InputError, match=r"need the \[gym\] extra: pip install 'grpo-rewards\[gym\]'"):
        rows("basic_arithmetic")


@needs_gym
def test_gym_list_command_through_the_hook():
    cli = click.Group("grpo-rewards")
    get_registry().pm.hook.register_commands(cli=cli)
    runner = CliRunner()
    listing = runner.invoke(cli, ["gym", "list"])
    assert listing.exit_code == 0
    assert "  basic_arithmetic\n" in listing.output and "  leg_counting\n" in listing.output
    assert "countdown: its scorer evaluates text as code" in listing.output
    options = runner.invoke(cli, ["gym", "list", "leg_counting"])
    assert options.exit_code == 0 and "  max_animals = " in options.output
    unknown = runner.invoke(cli, ["gym", "list", "leg_countin"])
    assert unknown.exit_code != 0 and "did you mean 'leg_counting'" in unknown.output


@needs_gym
def test_a_scorer_that_hangs_is_a_counted_none_and_the_rest_still_score(monkeypatch):
    import time

    from grpo_rewards.plugins.gym import score as score_module

    real = score_module.scorer

    def slow_scorer(task):
        def score_answer(answer, entry):
            if answer == "slow":
                time.sleep(30)
            return real(task)(answer=answer, entry=entry)

        return score_answer

    monkeypatch.setattr(score_module, "scorer", slow_scorer)
    row = rows("dice", split="train", size=1, seed=42)[0]  # scored by the task's own scorer
    fn = get_registry().get("gym.score").build({"item_timeout": 0.2})
    run = fn.run_trl(
        prompts=["q"] * 2,
        completions=["<answer>slow</answer>", f"<answer>{row['answer']}</answer>"],
        answer=[row["answer"]] * 2,
        metadata=[row["metadata"]] * 2,
    )
    values = run.values
    assert values == [None, 1.0]
    assert run.stats.errors == 1 and "timed out after 0.2s" in run.stats.first_error


@needs_gym
def test_a_lookalike_minus_is_a_minus_and_a_refused_marker_ends_the_search():
    """The attack generator's lookalike class through a lenient extractor order: a Unicode minus or
    a figure dash before the gold states its negative; a box whose content is refused is not
    replaced by a stray number after it."""
    row = rows("basic_arithmetic", split="train", size=1, seed=42)[0]  # -5 * -6 = 30
    completions = [
        "Let me work through it. #### \u221230",
        "So the result is \u201230",
        "\\boxed{} and then 30",
        "#### 30",
    ]
    extractors = ["answer_tag", "boxed", "answer_is", "last_number"]
    assert score(row, completions, extractors=extractors) == [0.0, 0.0, 0.0, 1.0]


@needs_gym
def test_a_later_final_marker_with_another_value_is_a_hedge():
    """restated_wrong in a form the extractor order does not read: 'The answer is G. ... #### W'."""
    row = rows("basic_arithmetic", split="train", size=1, seed=42)[0]  # -5 * -6 = 30
    completions = [
        "The answer is 30. Checking the last step once more, I correct it. #### 31",
        "The answer is 30. Let me box it differently: \\boxed{29}",
        "\\boxed{31} was my draft. The answer is 30. #### 30",
        "<answer>30</answer> #### 30",
    ]
    extractors = ["answer_tag", "boxed", "answer_is", "last_number"]
    assert score(row, completions, extractors=extractors) == [0.0, 0.0, 1.0, 1.0]


@needs_gym
def test_the_echoed_question_is_no_answer_for_the_last_number_reader():
    """prompt_echo through last_number: the question copied back states its own numbers, and 1 * 7
    holds the answer. Only the any-number fallback skips the echo: a marked answer is read as written."""
    row = rows("products", split="train", size=40, seed=0, min_terms=2, max_terms=2, min_digits=1, max_digits=1)
    one = next(r for r in row if json.loads(r["metadata"])["expression"].startswith("1 *"))
    question, gold = one["question"], one["answer"]
    completions = [question, f"Sure. {question}", f"{question} The result is {gold}.", f"{question} <answer>{gold}</answer>"]
    extractors = ["answer_tag", "boxed", "answer_is", "last_number"]
    assert score(one, completions, extractors=extractors) == [0.0, 0.0, 1.0, 1.0]
