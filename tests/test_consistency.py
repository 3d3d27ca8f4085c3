"""Consistency rewards: the final answer against the reasoning's conclusion, and the arithmetic
steps of the reasoning checked exactly (no eval) on real-looking, broken and hostile text."""

from __future__ import annotations

from fractions import Fraction

import pytest
from grpo_rewards.plugins.arithmetic import MAX_STEPS, _runs, evaluate, find_steps, normalise

from grpo_rewards import Sample
from grpo_rewards.registry import get_registry


def score(name: str, completion: str, **params) -> float | None:
    fn = get_registry().get(name).build(params)
    run = fn.run([Sample(completion)])
    [value] = run.values
    assert run.stats.errors == 0 and run.stats.timeouts == 0, run.stats.first_error
    return value


def steps(text: str, rounding: bool = True) -> list[tuple[str, str, str, bool]]:
    return [(s.left, s.relation, s.right, s.correct) for s in find_steps(text, rounding)]


# ---- consistency.arithmetic ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "completion, expected",
    [
        (
            "<think>\nNatalia sold 48 / 2 = 24 clips in May.\nSo in total she sold 48 + 24 = 72 clips.\n</think>\n"
            "<answer>72</answer>",
            1.0,
        ),
        (
            "<think>Each box has 12 eggs and there are 7 boxes, so 12 * 7 = 88 eggs. She used 10, so "
            "88 - 10 = 78.</think><answer>78</answer>",
            0.5,
        ),
        (
            "<think>The area is $12 \\times 7 = 84$ square meters, half of it is $84 \\div 2 = 42$, and "
            "\\(42 \\cdot 3 = 126\\).</think><answer>\\boxed{126}</answer>",
            1.0,
        ),
        ("<think>Running total: 2 + 3 = 5 + 1 = 6</think><answer>6</answer>", 0.5),
        ("She earns $1,250 × 4 = $5,000 per month, so 5,000 × 12 = 60,000 a year. Tax: 60,000 * 0.2 = 12,000.5", 2 / 3),
        ("A 20% discount: 50 * 20% = 10, so she pays 50 - 10 = 40 dollars.", 1.0),
        ("10 − 4 = 6 and (3 + 4) x 2 = 14 and 3x4=12", 1.0),
        ("Pi is about 22 / 7 ≈ 3.14, roughly 22/7 \\approx 3.", 1.0),
        ("Let's see: <<48/2=24>>24 and <<48+24=71>>71", 0.5),  # GSM8K calculator annotations
        ("Step 1: 15 / 0 = 0 because nothing fits.", 0.0),  # division by zero states something false
    ],
)
def test_fraction_of_correct_calculations(completion, expected):
    assert score("consistency.arithmetic", completion) == pytest.approx(expected)


@pytest.mark.parametrize(
    "completion",
    [
        "<think>I just know it.</think><answer>5</answer>",
        "Solve 2x + 3 = 7, so x = 2.",  # algebra, not arithmetic
        "20% of 50 = 10",  # a bare number after a word: the left side is "20% of 50"
        "2^10 = 1024 and 5! = 120 and a_1 + 2 = 3",  # glued to things we do not evaluate
        "48 clips / 2 = 24 clips",
        "",
        "٣ + ٤ = ٧",  # only ASCII digits are read
        "x = 5 and y = 72",
    ],
)
def test_no_checkable_calculation_gives_none(completion):
    assert score("consistency.arithmetic", completion) is None


def test_rounding_option():
    assert steps("10 / 3 = 3.33") == [("10 / 3", "=", "3.33", True)]
    assert steps("10 / 3 = 3.33", rounding=False) == [("10 / 3", "=", "3.33", False)]
    assert steps("10 / 3 = 3.34") == [("10 / 3", "=", "3.34", False)]
    assert steps("10 / 3 = 3") == [("10 / 3", "=", "3", False)]  # '=' never rounds to an integer
    assert steps("10 / 3 ≈ 3") == [("10 / 3", "~", "3", True)]
    assert steps("9 / 27 * 100% = 33.333%") == [("9 / 27 * 100%", "=", "33.333%", True)]
    assert score("consistency.arithmetic", "2 / 3 = 0.67", rounding=False) == 0.0


def test_scopes_and_min_steps():
    completion = "<think>2 + 2 = 4</think> Double-check: 3 + 3 = 7 <answer>4</answer>"
    assert score("consistency.arithmetic", completion) == 1.0  # only <think>
    assert score("consistency.arithmetic", completion, scope="completion") == 0.5
    assert score("consistency.arithmetic", "3 + 3 = 6", scope="think") is None  # no <think>
    assert score("consistency.arithmetic", "3 + 3 = 6", scope="reasoning") == 1.0  # falls back to all
    assert score("consistency.arithmetic", completion, scope="completion", min_steps=3) is None


def test_step_detection_details():
    assert steps("Total = 3 + 4 = 7.") == [("3 + 4", "=", "7", True)]
    assert steps("So -3 + 5 = 2") == [("- 3 + 5", "=", "2", True)]
    assert steps("3 + 4 = 7x") == []  # the right side is the term 7x
    assert steps("1,000, 2,000 + 1 = 2,001") == [("2,000 + 1", "=", "2,001", True)]
    assert steps("0.5 + .25 = 0.75") == [("0.5 + .25", "=", "0.75", True)]
    assert steps("$\\left(3 + 4\\right) \\times 2 = 14$") == [("( 3 + 4 ) * 2", "=", "14", True)]
    assert steps("3 + 4\n= 7") == []  # a calculation stays on one line
    assert normalise("1\\,000 \\div 4") == "1000 / 4"


def test_evaluator_is_exact_and_safe():
    def value(text):
        return evaluate(next(_runs(text))[0])

    assert value("0.1 + 0.2") == Fraction(3, 10)  # exact, unlike floats
    assert value("2 * (3 + 4) - 10 / 4") == Fraction(23, 2)
    assert value("-(-3)") == 3
    assert value("3 +") is None
    assert value("(3 + 4") is None
    assert value("3 4") is None
    assert value("9" * 31) is None  # numbers over 30 digits are not evaluated


@pytest.mark.parametrize(
    "hostile",
    [
        "__import__('os').system('touch /tmp/pwned') = 0",
        "1" + " * 999999999" * 5000 + " = 1",
        "9" * 100_000 + " + 1 = 1",
        "(" * 50_000 + "1" + ")" * 50_000 + " = 1",
        "-" * 100_000 + "1 = 1",
        "1 = " * 50_000,
        "\\times" * 50_000 + "= 2",
        "$" * 100_000,
    ],
)
def test_hostile_inputs_give_none_quickly(hostile):
    assert score("consistency.arithmetic", hostile, scope="completion") is None


def test_step_count_is_bounded():
    assert len(find_steps("1 + 1 = 2. " * 5000)) == MAX_STEPS
    assert score("consistency.arithmetic", "1 + 1 = 2. " * 5000) == 1.0
    assert score("consistency.arithmetic", "1 + 1 = 3. " * 5000) == 0.0


def test_arithmetic_through_the_trl_convention():
    fn = get_registry().get("consistency.arithmetic").build({})
    completions = [
        [{"role": "assistant", "content": "<think>12 * 7 = 84</think><answer>84</answer>"}],
        [{"role": "assistant", "content": "<think>12 * 7 = 88</think><answer>88</answer>"}],
        [{"role": "assistant", "content": "<think>no maths here</think><answer>84</answer>"}],
    ]
    assert fn(prompts=[[{"role": "user", "content": "12 * 7?"}]] * 3, completions=completions, answer=["84"] * 3) == [
        1.0,
        0.0,
        None,
    ]


# ---- consistency.answer --------------------------------------------------------------------------

GSM_REASONING = "Natalia sold 48 / 2 = 24 clips in May.\nAltogether she sold 48 + 24 = 72 clips in April and May."


@pytest.mark.parametrize(
    "completion, expected",
    [
        (f"<think>\n{GSM_REASONING}\n</think>\n<answer>72</answer>", 1.0),
        (f"<think>\n{GSM_REASONING}\n</think>\n<answer>70</answer>", 0.0),  # answer ignores the reasoning
        (f"<think>\n{GSM_REASONING}\n</think>\n<answer>72 clips</answer>", 1.0),
        (f"<think>\n{GSM_REASONING}\n</think>\n<answer>$\\boxed{{72}}$</answer>", 1.0),
        ("<think>48 + 24 = 72 clips, which is 3 more than 69.</think><answer>72</answer>", 1.0),  # the '=' result
        ("<think>The area is $\\frac{1}{2} \\cdot 3 \\cdot 4 = 6$. Let me double check.</think><answer>6</answer>", 1.0),
        ("<think>So the probability is \\frac{3}{4} of the time.</think>\n<answer>0.75</answer>", 1.0),
        ("<think>The answer is 12.</think><answer>\\boxed{13}</answer>", 0.0),
        ("<think>Let me compute. I get \\boxed{1/2} here.</think> <answer>0.5</answer>", 1.0),
        ("First, 12 * 7 = 84. Then half of that is 42.\n\nSo the answer is $\\boxed{42}$.", 1.0),  # no tags
        ("First, 12 * 7 = 84. Then half of that is 41. So the answer is $\\boxed{42}$.", 0.0),
        ("The total is 12 * 7 = 84 <answer>84</answer>", 1.0),
        ("<think>所以总数是 48 + 24 = 72。</think><answer>72</answer>", 1.0),  # unicode around the maths
    ],
)
def test_answer_agrees_with_the_reasoning(completion, expected):
    assert score("consistency.answer", completion) == expected


@pytest.mark.parametrize(
    "completion",
    [
        "<think>I will just guess.</think><answer>6</answer>",  # no result in the reasoning
        f"<think>{GSM_REASONING}</think>",  # no final answer
        f"<think>{GSM_REASONING}</think><answer>72",  # truncated: the answer is not closed
        "\\boxed{42}",  # nothing before the answer
        "<answer>42</answer>",
        "The answer is 72.",  # neither <answer> nor \boxed
        "",
        '<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]><think>1 + 1 = 2</think><answer>&x;</answer>',
    ],
)
def test_nothing_to_compare_gives_none(completion):
    assert score("consistency.answer", completion) is None


def test_a_boxed_value_inside_the_reasoning_is_not_the_final_answer():
    # The only \boxed is inside <think>: it is the conclusion, and there is no final answer.
    assert score("consistency.answer", "<think>So \\boxed{72}.</think>") is None
    assert score("consistency.answer", "<think>So \\boxed{72}.</think> Final: \\boxed{71}") == 0.0


def test_require_think_and_custom_tags():
    plain = "First, 12 * 7 = 84. So the answer is $\\boxed{84}$."
    assert score("consistency.answer", plain) == 1.0
    assert score("consistency.answer", plain, require_think=True) is None
    custom = "<reasoning>12 * 7 = 84</reasoning><final>84</final>"
    assert score("consistency.answer", custom, think_tag="reasoning", answer_tag="final") == 1.0
    assert score("consistency.answer", custom) is None


def test_rel_tol():
    completion = "<think>So the speed is 100 / 3 = 33.333 km/h.</think><answer>33.3333</answer>"
    assert score("consistency.answer", completion) == 0.0
    assert score("consistency.answer", completion, rel_tol=1e-4) == 1.0


def test_hostile_reasoning_is_bounded():
    huge = "<think>" + "1 + 1 = 2. " * 15_000 + "</think><answer>2</answer>"
    assert score("consistency.answer", huge) == 1.0
    too_big = "<think>" + "1 + 1 = 2. " * 20_000 + "</think><answer>2</answer>"  # past the parse bound
    assert score("consistency.answer", too_big) is None
    braces = "<think>" + "{" * 50_000 + "</think><answer>\\boxed{" + "{" * 50_000 + "}</answer>"
    assert score("consistency.answer", braces) is None
    injection = "<think>so x = __import__('os').system('id')</think><answer>__import__('os')</answer>"
    assert score("consistency.answer", injection) is None  # the conclusion is no value: never evaluated


def test_answer_through_the_trl_convention():
    fn = get_registry().get("consistency.answer").build({})
    completions = [
        [{"role": "assistant", "content": f"<think>{GSM_REASONING}</think><answer>72</answer>"}],
        [{"role": "assistant", "content": f"<think>{GSM_REASONING}</think><answer>70</answer>"}],
        [{"role": "assistant", "content": "<answer>72</answer>"}],
    ]
    out = fn(prompts=[[{"role": "user", "content": "How many clips?"}]] * 3, completions=completions, answer=["70"] * 3)
    assert out == [1.0, 0.0, None]  # the gold answer plays no part: this is about honesty
