"""Answer extraction: each named extractor, the default order, gold answers, the registry."""

from __future__ import annotations

import pytest
from grpo_rewards.plugins.math import DEFAULT_ORDER, extract_answer, gold_answer
from grpo_rewards.plugins.math.extract import answer_is, answer_tag, boxed, gsm8k, last_number, whole

from grpo_rewards.registry import UnknownRewardError, get_registry


def test_boxed_takes_the_last_and_keeps_nested_braces():
    text = "First $\\boxed{1}$, then after checking: $\\boxed{\\frac{\\sqrt{3}}{2}}$."
    assert boxed(text) == "\\frac{\\sqrt{3}}{2}"
    assert boxed("so \\fbox{x^{2}} it is") == "x^{2}"
    assert boxed("\\boxed 5.") == "5."
    assert boxed("no box here") is None


def test_boxed_skips_a_broken_last_box():
    assert boxed("\\boxed{12} and then \\boxed{\\frac{1}{2") == "12"
    assert boxed("\\boxed{\\{1, 2\\}}") == "\\{1, 2\\}"


def test_answer_tag():
    assert answer_tag("<think>2+2</think>\n<answer> 4 </answer>") == "4"
    assert answer_tag("<answer>1</answer> <ANSWER>$-3$</ANSWER>") == "-3"
    assert answer_tag("<think>...</think><answer>42") == "42"  # truncated, never closed
    assert answer_tag("<answer></answer>") is None
    assert answer_tag("no tags") is None


def test_gsm8k_marker():
    assert gsm8k("She makes 9 * 2 = $<<9*2=18>>18 every day.\n#### 18") == "18"
    assert gsm8k("#### 1,600\n") == "1,600"
    assert gsm8k("#### $-3.5") == "$-3.5"
    assert gsm8k("no marker") is None


def test_markdown_headings_are_not_gsm8k_markers():
    text = "#### Step 1: count the eggs\n16 - 3 - 4 = 9\n#### Step 2: sell them\nThe answer is 18."
    assert gsm8k(text) is None
    assert extract_answer(text) == "18"
    assert gsm8k("#### 18\n#### Check\nok") == "18"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("So the answer is 42.", "42"),
        ("Therefore, the final answer is $\\frac{1}{2}$. I hope it is correct.", "\\frac{1}{2}"),
        ("**Final Answer:** 3.5", "3.5"),
        ("The answer is: $\\$32,\\!348$.", "\\$32,\\!348"),
        ("Answer: x = 7\nDone", "x = 7"),
        ("The answer is 3.14.", "3.14"),
        ("I think the answer is 5! Great.", "5"),
        ("the answer is \\(\\sqrt{2}\\) here", "\\sqrt{2}"),
        ("The answer is 18. Let me double-check: yes, the answer is correct.", "18"),
        ("So the answer is 7. In short, the final answer is that we need 7 more.", "7"),
        ("Is it a name? The answer is Evelyn.", "Evelyn"),
        ("Can it be done? The answer is yes.", "yes"),
        ("no phrase at all", None),
    ],
)
def test_answer_is(text, expected):
    assert answer_is(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I bought 3 apples for $1,250.50 total", "1,250.50"),
        ("temperature fell to -5 degrees", "-5 degrees"),  # the unit is part of the value
        ("from 2023-2024", "2024"),
        ("half of it: 3/4", "3/4"),
        ("a share of 20%", "20%"),
        ("we get $\\frac{3}{8}$", "\\frac{3}{8}"),
        ("just .5", ".5"),
        ("no digits", None),
    ],
)
def test_last_number(text, expected):
    assert last_number(text) == expected


def test_whole_is_only_a_bare_answer():
    assert whole("  $3\\sqrt{13}$ ") == "3\\sqrt{13}"
    assert whole("(3, 4]") == "(3, 4]"
    assert whole("5 cm") == "5 cm"
    assert whole("Adding everything up, the total comes to 12") is None
    assert whole("12\n13") is None


def test_default_order_prefers_the_explicit_answer():
    assert DEFAULT_ORDER == ("boxed", "answer_tag", "gsm8k", "answer_is", "whole", "last_math", "last_number")
    text = "<answer>7</answer> the answer is 8, 9 \\boxed{10} and 11"
    assert extract_answer(text) == "10"
    assert extract_answer(text, ["answer_tag"]) == "7"
    assert extract_answer(text, ["answer_is"]) == "8, 9 \\boxed{10} and 11"
    assert extract_answer(text, ["gsm8k", "last_number"]) == "11"
    assert extract_answer("no answer here", ["boxed", "gsm8k"]) is None
    assert extract_answer("") is None


def test_extractors_are_registered_and_resolved_through_the_registry(registry):
    assert set(DEFAULT_ORDER) <= set(registry.extractors)
    assert registry.plugins["math"].extractors == list(DEFAULT_ORDER)
    assert registry.extractor("boxed")("\\boxed{2}") == "2"
    with pytest.raises(UnknownRewardError, match="unknown extractor 'boxd'; did you mean 'boxed'"):
        extract_answer("x", ["boxd"])


def test_a_third_party_extractor_works_by_name(registry):
    from grpo_rewards import hookimpl

    class ArrowPlugin:
        @hookimpl
        def register_extractors(self, register):
            register("after_arrow", lambda text: text.rsplit("=>", 1)[-1] if "=>" in text else None)

    registry.add_plugin(ArrowPlugin(), "arrow")
    assert get_registry() is registry
    assert extract_answer("work... => 12", ["after_arrow"]) == "12"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("18", "18"),
        ("$\\frac{1}{2}$", "\\frac{1}{2}"),
        ("\\boxed{(3, 4]}", "(3, 4]"),
        ("He runs 3*60=<<3*60=180>>180 meters.\n#### 540", "540"),
        ("Therefore the area is $\\boxed{12\\pi}$.", "12\\pi"),
        ("<answer>7</answer>", "7"),
        (12, "12"),
        (0.5, "0.5"),
        (float("nan"), None),
        (True, None),
        (None, None),
        ("   ", None),
        (["18"], None),
    ],
)
def test_gold_answer(raw, expected):
    assert gold_answer(raw) == expected


def test_extraction_is_linear_on_a_megabyte():
    text = ("blah \\boxed{" * 20_000) + "x" * 500_000 + " the answer is 7"
    # the model boxed its answer but no box can be read: that refusal is the answer (no weaker
    # extractor may pick "7" instead)
    assert extract_answer(text) is None
    assert last_number("9 " + "word " * 200_000) == "9"
