"""Length rewards: the seed's target reward and its normalised forms, DAPO's overlong punishment,
and the cosine length reward with correctness from a column or from the math check."""

from __future__ import annotations

import math

import pytest
from grpo_rewards.plugins.length import cosine_length_score

from grpo_rewards import Sample
from grpo_rewards.registry import get_registry

SUMMARY = "We propose a sparse attention method that halves memory use at equal BLEU!!"  # 75 chars, 13 words


def score(name: str, completion: str, ids=None, columns=None, **params) -> float | None:
    fn = get_registry().get(name).build(params)
    return fn.score_samples([Sample(completion, columns=columns or {}, completion_ids=ids)])[0]


# ---- length.target -----------------------------------------------------------------------------


def test_seed_reward_in_characters():
    assert len(SUMMARY) == 75
    assert score("length.target", SUMMARY) == -25.0  # -abs(50 - 75)
    assert score("length.target", "Short.") == -44.0
    assert score("length.target", "x" * 50) == 0.0
    assert score("length.target", "") == -50.0
    assert score("length.target", "é" * 50) == 0.0  # code points, not bytes
    assert score("length.target", "x" * 1_000_000) == -999_950.0


def test_words_and_tokens():
    assert score("length.target", SUMMARY, unit="words", target=10) == -3.0
    assert score("length.target", "  lots   of\n\tspace  ", unit="words", target=3) == 0.0
    assert score("length.target", SUMMARY, ids=list(range(17)), unit="tokens", target=20) == -3.0
    assert score("length.target", SUMMARY, unit="tokens", target=20) is None  # no ids, no guess


def test_tolerance_band_and_normalised_forms():
    text = "x" * 65  # 15 past the target of 50
    assert score("length.target", text, tolerance=10) == -5.0
    assert score("length.target", text, tolerance=10, form="positive") == pytest.approx(0.9)  # 1 - 5/50
    assert score("length.target", text, tolerance=10, form="negative") == pytest.approx(-0.1)
    assert score("length.target", text, tolerance=10, form="positive", scale=20) == 0.75
    assert score("length.target", "x" * 45, tolerance=10, form="positive") == 1.0  # inside the band
    assert score("length.target", "x" * 45, tolerance=10, form="negative") == 0.0
    assert score("length.target", "x" * 500, form="positive") == 0.0  # floored
    assert score("length.target", "x" * 500, form="negative") == -1.0
    assert score("length.target", "", form="positive") == 0.0  # 50 short of 50: the full distance


def test_target_zero():
    assert score("length.target", "", target=0, form="positive") == 1.0
    assert score("length.target", "abc", target=0) == -3.0
    assert score("length.target", "abc", target=0, form="positive") == 0.0  # scale defaults to 1


def test_target_params_are_validated():
    spec = get_registry().get("length.target")
    for bad in ({"target": -1}, {"unit": "bytes"}, {"form": "sigmoid"}, {"scale": 0}, {"tolerance": 1.5}):
        with pytest.raises(ValueError):
            spec.build(bad)


# ---- length.overlong ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "length, buffer, expected",
    [
        (0, 20, 0.0),
        (80, 20, 0.0),
        (81, 20, -0.05),
        (90, 20, -0.5),
        (99, 20, -0.95),
        (100, 20, -1.0),
        (5000, 20, -1.0),
        (100, 0, 0.0),
        (101, 0, -1.0),
        (50, 200, -0.5),
    ],
)
def test_overlong_ramp(length, buffer, expected):
    value = score("length.overlong", "text", ids=[0] * length, max_length=100, buffer=buffer)
    assert value == pytest.approx(expected)


def test_overlong_units():
    assert score("length.overlong", "text") is None  # tokens by default, and no ids given
    assert score("length.overlong", "a b c d e f", unit="words", max_length=5, buffer=2) == -1.0
    assert score("length.overlong", "a b c d", unit="words", max_length=5, buffer=2) == -0.5
    assert score("length.overlong", "x" * 1024, unit="chars") == -1.0


# ---- length.cosine -----------------------------------------------------------------------------


def test_cosine_shape():
    kw = dict(max_length=1000, min_value_correct=0.5, max_value_correct=1.0, min_value_wrong=-1.0, max_value_wrong=-0.5)
    assert cosine_length_score(0, True, **kw) == 1.0
    assert cosine_length_score(500, True, **kw) == 0.75
    assert cosine_length_score(1000, True, **kw) == 0.5
    assert cosine_length_score(9000, True, **kw) == 0.5  # clamped
    assert cosine_length_score(0, False, **kw) == -1.0
    assert cosine_length_score(500, False, **kw) == -0.75
    assert cosine_length_score(1000, False, **kw) == -0.5
    assert cosine_length_score(250, True, **kw) == pytest.approx(0.5 + 0.25 * (1 + math.cos(math.pi / 4)))
    values = [cosine_length_score(n, True, **kw) for n in range(0, 1001, 50)]
    assert values == sorted(values, reverse=True)  # shorter correct is better
    values = [cosine_length_score(n, False, **kw) for n in range(0, 1001, 50)]
    assert values == sorted(values)  # longer wrong is punished less


@pytest.mark.parametrize(
    "value, expected",
    [
        (True, 0.75),
        (False, -0.75),
        (1, 0.75),
        (0, -0.75),
        (1.0, 0.75),
        (0.0, -0.75),
        ("true", 0.75),
        ("False", -0.75),
        ("yes", 0.75),
        (None, None),
        ("maybe", None),
        (float("nan"), None),
    ],
)
def test_cosine_with_a_correctness_column(value, expected):
    assert score("length.cosine", "x" * 500, columns={"ok": value}, correct_column="ok", answer_column=None) == expected


def test_cosine_missing_column_and_tokens():
    assert score("length.cosine", "x" * 10, correct_column="ok") is None
    assert score("length.cosine", "x", ids=[1] * 500, columns={"ok": True}, correct_column="ok", unit="tokens") == 0.75
    assert score("length.cosine", "x", columns={"ok": True}, correct_column="ok", unit="tokens") is None


def test_cosine_required_columns_follow_the_params():
    spec = get_registry().get("length.cosine")
    assert spec.required_columns(spec.params.resolve({})) == ["answer"]
    assert spec.required_columns(spec.params.resolve({"correct_column": "ok", "answer_column": None})) == ["ok"]
    with pytest.raises(ValueError):
        spec.build({"max_value_correct": 2.0})


GSM8K_GOLD = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether.\n#### 72"


@pytest.mark.parametrize(
    "completion, gold, expected",
    [
        ("<think>48 / 2 = 24 in May, 48 + 24 = 72 in total.</think>\n<answer>72</answer>", GSM8K_GOLD, 0.75),
        ("<think>48 / 2 = 24 in May, 48 + 24 = 70 in total.</think>\n<answer>70</answer>", GSM8K_GOLD, -0.75),
        ("Hmm, I am not sure how to solve this one.", GSM8K_GOLD, -0.75),  # no answer at all: wrong
        ("Half of one is a half, so $\\boxed{0.5}$.", "\\frac{1}{2}", 0.75),  # MATH-style gold
        ("Half of one is a half, so $\\boxed{0.5}$.", 0.5, 0.75),  # a numeric gold column
        ("<answer>72</answer>", None, None),  # no gold: cannot decide
        ("<answer>72</answer>", "", None),
    ],
)
def test_cosine_with_the_math_check(completion, gold, expected):
    # max_length twice the completion's length puts it half-way: exactly +-0.75
    value = score("length.cosine", completion, columns={"answer": gold}, max_length=2 * len(completion))
    assert value == expected


def test_cosine_math_check_reads_the_named_column():
    completion = "So \\boxed{72}"
    value = score(
        "length.cosine",
        completion,
        columns={"gold": "#### 72", "answer": "#### 1"},
        answer_column="gold",
        max_length=len(completion),
    )
    assert value == 0.5  # correct, at max_length


def test_trl_convention():
    fn = get_registry().get("length.target").build({"target": 10, "unit": "tokens"})
    out = fn(
        prompts=[[{"role": "user", "content": "Summarise."}]] * 2,
        completions=[[{"role": "assistant", "content": SUMMARY}], [{"role": "assistant", "content": "Ok."}]],
        completion_ids=[list(range(17)), [1, 2]],
        answer=["a", "b"],
    )
    assert out == [-7.0, -8.0]
    cosine = get_registry().get("length.cosine").build({"correct_column": "solved", "answer_column": None})
    out = cosine(prompts=["q", "q"], completions=[[{"role": "assistant", "content": ""}]] * 2, solved=[True, 0])
    assert out == [1.0, -1.0]


def test_cosine_math_check_through_the_trl_convention():
    fn = get_registry().get("length.cosine").build({"max_length": 40})
    right = "<think>48 + 24 = 72</think><answer>72</answer>"  # 46 chars: past max_length
    out = fn(
        prompts=[[{"role": "user", "content": "How many clips?"}]] * 3,
        completions=[[{"role": "assistant", "content": c}] for c in (right, right.replace("72<", "71<"), "")],
        answer=[GSM8K_GOLD] * 3,
    )
    assert out == [0.5, -0.5, -1.0]
