"""gym.score attacked: constants, opposite verdicts, hedges, junk and numbers too large to parse.

Written as a policy would attack it: each case is an answer that solves nothing (checked by hand
against the generated question), which the task's own scorer paid before the audit. The audit
itself runs over every offered task here, so a task that starts paying an attack fails the suite.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from grpo_rewards.registry import get_registry

from .test_gym import score  # the TRL call: one value per completion, None for an error or a timeout

gym_installed = importlib.util.find_spec("reasoning_gym") is not None
pytestmark = pytest.mark.skipif(not gym_installed, reason="needs the [gym] extra")

README = Path(__file__).resolve().parents[1] / "README.md"
LENIENT = ["answer_tag", "boxed", "answer_is", "last_number"]  # examples/products-reasoning.toml


def first_row(task, **options):
    return list(get_registry().dataset("gym").loader(task, {"split": "test", "size": 1, "seed": 0, **options}))[0]


def test_every_offered_task_pays_no_attack():
    from grpo_rewards.plugins.gym import audit

    results = audit.run()
    assert len(results) == len(audit.offered()) > 70
    failures = [f"{r.task}: {f}" for r in results for f in r.failures[:2]]
    assert failures == []


def test_readme_lists_the_strict_and_refused_tasks_as_the_audit_decides():
    from grpo_rewards.plugins.gym.audit import decisions_markdown

    text = README.read_text(encoding="utf-8")
    start, end = "<!-- gym-decisions:start -->\n", "<!-- gym-decisions:end -->"
    assert text[text.index(start) + len(start) : text.index(end)].strip() == decisions_markdown()


# Class 14: answers that solve nothing. game_of_life_halting's scorer compares bool(answer) with
# bool(gold), so any non-empty text was right.
def test_game_of_life_halting_pays_neither_the_opposite_verdict_nor_any_word():
    row = first_row("game_of_life_halting")
    assert row["answer"] == "False"  # the question's board halts? the generator says it does not
    values = score(row, ["<answer>True</answer>", "<answer>banana</answer>", "<answer>0</answer>", "<answer>false</answer>"])
    assert values == [0.0, 0.0, 0.0, 1.0]


# Two instances not in the issue: a hedge of two times, and a constant near typical counts.
def test_time_intervals_pays_no_hedge_of_two_durations():
    row = list(get_registry().dataset("gym").loader("time_intervals", {"split": "test", "size": 5, "seed": 0}))[4]
    assert row["question"].endswith(
        "started at December 05, 2121 and ended at January 19, 2122. How long was the meeting? Answer in D days."
    )
    assert row["answer"] == "45 days"  # 26 days left in December + 19 in January
    completions = [
        "<answer>45 days or 46 days</answer>",
        "<answer>45 46</answer>",
        "<answer>45 days, maybe 44</answer>",
        "<answer>45 days</answer>",
    ]
    values = score(row, completions)
    assert values == [0.0, 0.0, 0.0, 1.0]  # the task's own scorer read the first number: 1.0 for each hedge


def test_rectangle_count_pays_no_constant_count():
    row = first_row("rectangle_count")
    assert row["answer"] == "2"
    values = score(row, ["<answer>0</answer>", "<answer>1</answer>", "<answer>-1</answer>", "<answer>2</answer>"])
    assert values == [0.0, 0.0, 0.0, 1.0]  # the task's own scorer paid 0.64, 0.64, 0.48 for being near


# The default substring scorer on the demo's task, read leniently as the demo reads it.
def test_products_pays_no_hedge_with_the_demos_extractors():
    row = first_row("products", min_terms=2, max_terms=2, min_digits=1, max_digits=1)
    product = int(row["answer"])
    factors = row["question"].split("multiplication: ")[1].split(".")[0].split(" * ")
    assert int(factors[0]) * int(factors[1]) == product
    completions = [
        f"<answer>{product} {product + 1}</answer>",
        f"<answer>{product + 1}, {product}</answer>",
        f"The answer is {product} or {product + 1}",
        f"<answer>{product} apples</answer>",
        f"<answer>{product}</answer>",
        f"The answer is {product}.",
        f"<answer>{product}.0</answer>",
        f'The answer is "{product}"',
    ]
    values = score(row, completions, extractors=LENIENT)
    assert values == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]


# Class 15: the scorer's arithmetic on model text. coin_flip runs Fraction(answer): 1e20000000
# builds a 20-million-digit integer in one C call (28.8 s) that no time limit interrupts.
@pytest.mark.parametrize(
    "huge",
    [
        "1e20000000",  # the case
        "1e2,000,000,0",  # the scorer strips commas first: the same number in disguise
        "-1e-20000000",  # a negative exponent builds the same denominator
    ],
)
def test_coin_flip_never_hands_a_huge_number_to_the_scorer(huge):
    row = first_row("coin_flip")
    assert row["answer"] == "0.0625"  # exactly 0 heads in 4 fair flips: 1/16
    values = score(row, [f"<answer>{huge}</answer>", "<answer>1/16</answer>"], item_timeout=0.5)
    assert values == [0.0, 1.0]  # a wrong answer scored 0, not a timeout or an error (None)


def test_a_task_scored_by_its_own_scorer_never_sees_a_huge_number():
    row = first_row("power_function")  # its scorer runs Decimal(answer) and formats it
    assert row["question"].startswith("Your task is to compute an exponentiation of a number.\n\nCompute 848.2816^2.")
    values = score(row, ["<answer>1e20000000</answer>", "<answer>7.20e+5</answer>"])
    assert values == [0.0, 1.0]  # the scorer paid the huge number 0.01 format credit; now it is not read


def test_numbers_are_read_as_numbers_within_bounds():
    from grpo_rewards.plugins.gym.strict import same_answer, unbounded

    assert same_answer("+054", "54") and same_answer("1,234", "1234") and same_answer(r"\frac{1}{16}", "0.0625")
    assert not same_answer("54 55", "54") and not same_answer("5.4", "54") and not same_answer("54%", "54")
    assert same_answer("-6 - 9i", "-6.0 - 9.0i") and same_answer("-6-9j", "-6.0 - 9.0i") and same_answer("-i", "-1.0i")
    assert not same_answer("-6 + 9i", "-6.0 - 9.0i") and not same_answer("-6.0 - 9.0i or 1", "-6.0 - 9.0i")
    assert same_answer("11/34", r"$\frac{11}{34}$") and not same_answer("22/68", "11/34")  # a fraction as written
    assert same_answer("(-8.250,0.000)", "(-8.250, 0.000)") and not same_answer("(-8.25, 0)", "(-8.250, 0.000)")
    assert same_answer("3e987", "3e987") and not same_answer("3e987 3e988", "3e987")  # text (a hex number) stays text
    assert unbounded("1" + "0" * 401) and unbounded("2e401") and unbounded("3E-0500")
    assert unbounded("1" + "0" * 399) is None and unbounded("2e400") is None and unbounded("the 2024 answer") is None


# Found by the attack generator after the audit: an own scorer's small credit for any answer. The
# audit compared attacks with other rows' golds, which earned that credit too.
def test_a_wrong_answer_earns_no_participation_credit():
    cube = first_row("color_cube_rotation")
    wrong = [f"<answer>{a}</answer>" for a in ("0", "1", f"{cube['answer']} or 0", "purple")]
    assert score(cube, wrong) == [0.0, 0.0, 0.0, 0.0]  # its scorer gives 0.01 to any answer
    assert score(cube, wrong, partial_credit=True) == [0.0, 0.0, 0.0, 0.0]  # never kept, even when opted in
    assert score(cube, [f"<answer>{cube['answer']}</answer>"]) == [1.0]


def test_partial_credit_is_opt_in():
    row = first_row("palindrome_generation")
    constant, gold = "<answer>0</answer>", f"<answer>{row['answer']}</answer>"
    assert score(row, [constant, gold]) == [0.0, 1.0]  # by default only a full score counts
    opted = score(row, [constant, gold], partial_credit=True)
    assert 0.0 < opted[0] < 1.0 and opted[1] == 1.0  # its own scorer pays a palindrome of other letters
