"""``math.correct`` end to end: completions as a model writes them, each with its exact score."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from grpo_rewards.registry import get_registry

GSM8K_GOLD = (
    "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n"
    "She makes 9 * 2 = $<<9*2=18>>18 every day at the farmer\u2019s market.\n#### 18"
)


def build(**params):
    return get_registry().get("math.correct").build(params)


def score(completion, gold, **params):
    fn = build(**params)
    [value] = fn(prompts=["q"], completions=[completion], answer=[gold])
    return value


@pytest.mark.parametrize(
    "completion, expected",
    [
        (
            "Janet's ducks lay 16 eggs. She eats 3 and bakes with 4, so 16 - 3 - 4 = 9 are left.\n"
            "She sells them for $2 each: 9 * 2 = $18.\n#### 18",
            1.0,
        ),
        (
            "Let's think step by step. 16 - 3 - 4 = 9 eggs. 9 x $2 = $18.\n"
            "So she makes $\\boxed{18}$ dollars every day. I hope this helps!",
            1.0,
        ),
        ("<think>\n16 - 3 - 4 = 9, and 9 * 2 = 18\n</think>\n<answer>\n$18\n</answer>", 1.0),
        ("<think>16-3-4=9 eggs, 9*2=18</think><answer>18 dollars", 1.0),  # truncated: no closer
        ("She has 9 eggs left and earns 2 dollars each, so she makes 18 dollars.", 1.0),
        ("The answer is: **18**", 1.0),
        ("She makes 9 * 2 = 20 dollars.\nThe answer is 20.", 0.0),
        ("I'm not sure how to solve this.", 0.0),
        ("", 0.0),
        ("\\boxed{18.0}", 1.0),
        ("\\boxed{\\frac{36}{2}}", 1.0),
        ("\\boxed{-18}", 0.0),
    ],
)
def test_gsm8k_completions(completion, expected):
    assert score(completion, GSM8K_GOLD) == expected


@pytest.mark.parametrize(
    "completion, gold, expected",
    [
        (
            "We have $r = \\sqrt{0^2 + 3^2} = 3$ and the angle is $\\frac{\\pi}{2}$, so the polar "
            "coordinates are $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$",
            "\\left( 3, \\frac{\\pi}{2} \\right)",
            1.0,
        ),
        ("so the point is $\\boxed{(3, \\pi/2)}$", "\\left( 3, \\frac{\\pi}{2} \\right)", 1.0),
        ("so the point is $\\boxed{(3, \\pi)}$", "\\left( 3, \\frac{\\pi}{2} \\right)", 0.0),
        ("Solving the inequality gives $x \\in \\boxed{(3, 4]}$.", "(3,4]", 1.0),
        ("Solving the inequality gives $\\boxed{[3, 4]}$.", "(3,4]", 0.0),
        (
            "The roots are $x = 1 + \\sqrt{19}$ and $x = 1 - \\sqrt{19}$, so the answer is $1 + \\sqrt{19}, 1 - \\sqrt{19}$.",
            "1 \\pm \\sqrt{19}",
            1.0,
        ),
        ("Final Answer: The final answer is $\\dfrac{14}{3}$. I hope it is correct.", "\\frac{14}{3}", 1.0),
        ("Final Answer: The final answer is $4.67$. I hope it is correct.", "\\frac{14}{3}", 0.0),
        ("The angle measures $\\boxed{90^\\circ}$.", "90", 1.0),
        ("the largest is $\\boxed{\\text{Evelyn}}$", "\\text{Evelyn}", 1.0),
        ("The answer is (C).", "\\text{(C)}", 1.0),
        ("The answer is (D).", "\\text{(C)}", 0.0),
        ("In base 8 that is $\\boxed{52_8}$.", "52_8", 1.0),
        ("Simplifying, $\\boxed{2k + 2}$.", "2k+2", 1.0),
        ("Simplifying, $\\boxed{2(k + 1)}$.", "2k+2", 1.0),
        ("The discount is \u221225%... so \\boxed{25\\%}", "25", 1.0),
        ("it costs \u20ac3,50 in total. The answer is \u20ac3,50.", "3.5", 1.0),
        ("The length is \u00bd meter, i.e. \\boxed{\u00bd}", "0.5", 1.0),
        ("The answer is $\\boxed{x=5}$", "5", 1.0),
        ("\\boxed{\\frac{1}{2", "\\frac12", 0.0),  # cut off mid-answer: the last number is 2
    ],
)
def test_math_completions(completion, gold, expected):
    assert score(completion, gold) == expected


def test_gold_forms():
    completion = "Adding it up we get $\\boxed{70,000}$ dollars."
    for gold in ("70000", "$70000$", "\\boxed{70,000}", "The profit is 70000.\n#### 70000", 70000, 70000.0):
        assert score(completion, gold) == 1.0, gold


def test_missing_or_unparseable_gold_gives_none():
    fn = build()
    run = fn.run_trl(completions=["\\boxed{1}"] * 4, answer=[None, "", "\\begin{tabular}{c}1\\end{tabular}", "1"])
    scores = run.values
    assert scores == [None, None, None, 1.0]
    assert run.stats.errors == 0 and run.stats.nones == 3


def test_chat_completions_and_other_columns():
    fn = build(answer_column="solution")
    prompts = [[{"role": "user", "content": "What is 6 * 7?"}]] * 2
    completions = [
        [{"role": "assistant", "content": "6 * 7 = 42, so the answer is $\\boxed{42}$."}],
        [{"role": "assistant", "content": "6 * 7 = 48, so the answer is $\\boxed{48}$."}],
    ]
    assert fn(prompts=prompts, completions=completions, solution=["#### 42", "#### 42"]) == [1.0, 0.0]
    assert get_registry().get("math.correct").required_columns({"answer_column": "solution"}) == ["solution"]


def test_extractors_param_limits_where_the_answer_is_read():
    text = "I think it is \\boxed{18} but let me format it: <answer>20</answer>"
    # two final markers that disagree are a hedge when both are read; narrowed, one is read
    assert score(text, "18") == score(text, "20") == 0.0
    assert score(text, "20", extractors=["answer_tag", "boxed"]) == 0.0
    assert score(text, "18", extractors=["answer_tag"]) == 0.0
    assert score(text, "20", extractors=["answer_tag"]) == 1.0
    assert score(text, "18", extractors=["boxed"]) == 1.0
    assert score("18", "18", extractors=["boxed"]) == 0.0


def test_unknown_extractor_is_a_counted_error():
    fn = build(extractors=["boxd"])
    run = fn.run_trl(completions=["\\boxed{1}"], answer=["1"])
    assert run.values == [None]
    assert run.stats.errors == 1
    assert "unknown extractor 'boxd'" in run.stats.first_error


def test_partial_credit_for_the_right_answer_in_the_wrong_place():
    text = "16 - 3 - 4 = 9 eggs, 9 * 2 = 18 dollars. Hmm, maybe I double count.\nThe answer is 20."
    assert score(text, GSM8K_GOLD) == 0.0
    assert score(text, GSM8K_GOLD, partial_credit=0.5) == 0.5
    assert score("\\boxed{18}", GSM8K_GOLD, partial_credit=0.5) == 1.0
    assert score("It is 20.", GSM8K_GOLD, partial_credit=0.5) == 0.0
    assert score("It is 20.", GSM8K_GOLD, partial_credit=0.5, wrong_score=0.1) == 0.1


def test_rel_tol_param():
    assert score("\\boxed{\\pi}", "3.14159") == 1.0
    assert score("\\boxed{\\pi}", "3.14159", rel_tol=1e-9) == 0.0


def test_param_validation():
    from grpo_rewards.params import ParamErrors

    with pytest.raises(ParamErrors, match="partial_credit"):
        build(partial_credit=2.0)
    with pytest.raises(ParamErrors, match="extractors"):
        build(extractors="boxed")


def test_huge_and_unicode_completions():
    huge = "Let me think. " + "We keep adding numbers 1 2 3. " * 35_000 + "So the answer is \\boxed{42}."
    assert len(huge) > 1_000_000
    assert score(huge, "42") == 1.0
    assert score("La r\u00e9ponse est \u00ab 42 \u00bb \U0001f600", "42") == 1.0
    assert score("\u7b54\u3048\u306f \\boxed{\u221a2} \u3067\u3059", "\\sqrt{2}") == 1.0


ADVERSARIAL = [
    "\\boxed{__import__('os').system('touch {marker}')}",
    "The answer is __import__('os').system('touch {marker}')",
    "<answer>exec(\"open('{marker}', 'w')\")</answer>",
    "\\boxed{lambda: open('{marker}', 'w')}",
    "\\boxed{9**9**9**9}",
    "\\boxed{9^{9^{9^{9}}}}",
    "\\boxed{1000000!}",
    "\\boxed{(10^{10^{10}})!}",
    "\\boxed{\\binom{10^{9}}{5 \\cdot 10^{8}}}",
    "\\boxed{" + "{" * 20_000 + "1" + "}" * 20_000 + "}",
    "\\boxed{" + "(" * 20_000 + "1" + ")" * 20_000 + "}",
    "\\boxed{" + "\\sqrt{" * 5_000 + "2" + "}" * 5_000 + "}",
    "\\boxed{" + "1" * 100_000 + "}",
    "\\boxed{" + "x" * 1_000_000 + "}",
    "The answer is " + "9" * 1_000_000,
    "\\boxed{\\frac{1}{0}}",
    "\\boxed{\\left(\\left(\\left(}",
    "\\boxed{x^{x^{x^{x^{x^{x^{x^{x}}}}}}}}",
    "\\boxed{(1+x)^{99999} - (x+1)^{99999}}",
]


@pytest.mark.parametrize("template", ADVERSARIAL)
def test_adversarial_completions_score_zero_within_the_time_limit(template, tmp_path):
    marker = tmp_path / "pwned"
    completion = template.replace("{marker}", str(marker))
    fn = build()
    run = fn.run_trl(completions=[completion], answer=["42"])
    assert run.values == [0.0]
    assert run.stats.timeouts == 0 and run.stats.errors == 0
    assert not marker.exists()


def test_adversarial_gold_is_none_not_a_crash():
    fn = build()
    golds = ["9^9^9^9", "1000000!", "(" * 10_000, "__import__('os')", "x" * 1_000_000]
    run = fn.run_trl(completions=["\\boxed{1}"] * len(golds), answer=golds)
    assert run.values == [None] * len(golds)
    assert run.stats.errors == 0 and run.stats.timeouts == 0


# Huge exact numbers under roots and logs: sympy would factor them inside one C call that no time
# limit can interrupt, so the parser must refuse or leave them unevaluated. Run in a child process
# so that a regression fails this test instead of hanging the suite.
UNINTERRUPTIBLE = [
    "\\sqrt{10^{12000}+1}",
    "(10^{12000}+1)^{1/7}",
    "(10^{12000}+1)^{0.5}",
    "\\sqrt[3]{7^{14000}+2}",
    "\\ln(10^{12000}+3)",
    "\\log_{10^{12000}+1}(7)",
    "\\sqrt{10^{12000}+1} \\cdot \\sqrt{10^{12000}+3}",
    "\\frac{1}{\\sqrt{10^{3000}+1}}",
    "sqrt(10^{12000}+1)",
    "\\exp(10^{1000})",
]


def test_huge_numbers_never_reach_uninterruptible_sympy_calls():
    script = (
        "import json, sys\n"
        "from grpo_rewards.registry import get_registry\n"
        "fn = get_registry().get('math.correct').build()\n"
        "answers = json.loads(sys.argv[1])\n"
        "scores = fn.run_trl(completions=['\\\\boxed{' + a + '}' for a in answers], answer=['7'] * len(answers))\n"
        "gold = fn.run_trl(completions=['\\\\boxed{7}'] * len(answers), answer=answers)\n"
        "print(json.dumps([scores.values, gold.values, scores.stats.timeouts + gold.stats.timeouts]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(UNINTERRUPTIBLE)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    scores, gold, timeouts = json.loads(done.stdout)
    assert scores == [0.0] * len(UNINTERRUPTIBLE)
    assert all(g in (None, 0.0) for g in gold)
    assert timeouts == 0


def test_picklable_and_scores_off_the_main_thread():
    import pickle
    import threading

    fn = pickle.loads(pickle.dumps(build(partial_credit=0.25)))
    out: list = []
    worker = threading.Thread(
        target=lambda: out.append(
            fn(completions=["\\boxed{\\sqrt{2}/2}", "maybe 3, or 4. The answer is 4"], answer=["\\frac{1}{\\sqrt2}", "3"])
        )
    )
    worker.start()
    worker.join()
    assert out == [[1.0, 0.25]]
