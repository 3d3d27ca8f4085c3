"""``math.correct`` on the answer forms of real data: relations, matrices, several answers,
labelled answers, numbers as people write them, worked-solution golds, reasoning-model output,
extraction discipline and hostile powers. Each case is a completion as a model writes it, with
its exact score; the expected values are worked out by hand."""

from __future__ import annotations

import pytest

from grpo_rewards import Sample
from grpo_rewards.registry import get_registry


def score(completion: str, gold: object, **params) -> float | None:
    fn = get_registry().get("math.correct").build(params)
    run = fn.run_trl(prompts=["q"], completions=[completion], answer=[gold])
    [value] = run.values
    assert run.stats.errors == 0 and run.stats.timeouts == 0, run.stats.first_error
    return value


def check(completion: str, gold: object, expected: float | None, **params) -> None:
    assert score(completion, gold, **params) == expected, (completion, gold)


# 1. relations and inequalities ---------------------------------------------------------------


@pytest.mark.parametrize(
    "completion, gold, expected",
    [
        ("Solving the inequality gives $x \\geq 5$.", "x >= 5", 1.0),
        ("So $x \\lt 3$.", "$x < 3$", 1.0),
        ("Hence \\boxed{x \\le 2}", "x <= 2", 1.0),
        ("Therefore $x \\neq 3$.", "x != 3", 1.0),
        ("The solution set is \\boxed{-x > -1}.", "x < 1", 1.0),
        ("The solution set is \\boxed{x > -1}.", "x < 1", 0.0),
        ("We need \\boxed{-2 \\le x \\le 7}.", "x \\in [-2, 7]", 1.0),
        ("We need \\boxed{-2 \\le x < 7}.", "x \\in [-2, 7]", 0.0),
        ("So $z \\in \\left[-\\frac{3}{2}, -1\\right] \\cup \\left[1, \\frac{3}{2}\\right]$.", "1 \\le |z| \\le 3/2", 1.0),
        ("So $z \\in [-2, -1] \\cup [1, 2]$.", "1 \\le |z| \\le 3/2", 0.0),
        # a pair in round brackets may be a point; an inequality or x \\in (..) is a set of numbers
        ("The range of $a$ is \\boxed{(-793, 10)}.", "-793 < a < 10", 0.0),
        ("The range of $a$ is \\boxed{a \\in (-793, 10)}.", "-793 < a < 10", 1.0),
        ("The range is \\boxed{(0, 1)}.", "0 < f(x) < 1", 0.0),
        ("The range is \\boxed{0 < f(x) < 1}.", "(0, 1)", 0.0),
        ("The range is \\boxed{(0, 1]}.", "0 < f(x) < 1", 0.0),
        ("so \\boxed{k \\ge 2}", "[2, \\infty)", 1.0),
    ],
)
def test_relations_and_inequalities(completion, gold, expected):
    check(completion, gold, expected)


# 2. matrices and vectors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "completion, gold, expected",
    [
        (
            "The matrix is $\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}$.",
            "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
            1.0,
        ),
        (
            "$\\left[\\begin{array}{cc} 1 & 2 \\\\ 3 & 4 \\end{array}\\right]$",
            "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
            1.0,
        ),
        (
            "\\boxed{\\begin{pmatrix} 0.5 & \\frac{3}{4} \\end{pmatrix}}",
            "\\begin{pmatrix} \\frac{1}{2} & 0.75 \\end{pmatrix}",
            1.0,
        ),
        ("\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 & 5 \\end{pmatrix}}", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", 0.0),
        ("The vector is $(3, 2, -6)$.", "\\begin{pmatrix} 3 \\\\ 2 \\\\ -6 \\end{pmatrix}", 1.0),
        ("The vector is $(3, -6, 2)$.", "\\begin{pmatrix} 3 \\\\ 2 \\\\ -6 \\end{pmatrix}", 0.0),
        (
            "The sum is $\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}$",
            "\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}",
            1.0,
        ),
        ("$\\frac{1}{2}\\begin{pmatrix} 2 \\\\ 4 \\end{pmatrix}$", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", 1.0),
    ],
)
def test_matrices_and_vectors(completion, gold, expected):
    check(completion, gold, expected)


# 3. several answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "completion, gold, expected",
    [
        ("The roots are \\boxed{1}, \\boxed{2}.", "\\{1, 2\\}", 1.0),
        ("The roots are \\boxed{2} and \\boxed{1}.", "1, 2", 1.0),
        ("The roots are 1 and 2, so \\boxed{1,2}.", "$\\boxed{1}\\boxed{2}$", 1.0),
        ("So the pairs are $\\boxed{(2,2)} \\quad \\text{and} \\quad \\boxed{(6,2)}$.", "(2, 2), (6, 2)", 1.0),
        ("So the pairs are $\\boxed{(2,2)} \\quad \\text{and} \\quad \\boxed{(2,6)}$.", "(2, 2), (6, 2)", 0.0),
        ("The answer is x = 2 or x = 3.", "\\{2, 3\\}", 1.0),
        ("The point is \\boxed{(2, 3)}.", "(3, 2)", 0.0),  # a tuple keeps its order
        ("First try \\boxed{1}; after checking the cases again we find \\boxed{2}.", "2", 1.0),
        ("\\boxed{1} no no no no no \\boxed{2}", "1, 2", 0.0),
        # one value boxed twice in two forms is that value, not a list of two answers
        ("The length is $\\boxed{15\\frac{39}{40}}$, or $\\boxed{\\frac{639}{40}}$ inches.", "\\frac{639}{40}", 1.0),
        ("The length is $\\boxed{15\\frac{39}{40}}$, or $\\boxed{\\frac{640}{40}}$ inches.", "\\frac{639}{40}", 0.0),
    ],
)
def test_several_answers(completion, gold, expected):
    check(completion, gold, expected)


# 4. labelled answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "completion, gold, expected",
    [
        ("\\boxed{(3, 2)}", "(p,q)=(3,2)", 1.0),
        ("\\boxed{(p, q) = (3, 2)}", "(3, 2)", 1.0),
        ("\\boxed{4, 5}", "AB=4, CD=5", 1.0),
        ("\\boxed{11:21}", "V_1:V_2=11:21", 1.0),
        ("\\boxed{11:20}", "V_1:V_2=11:21", 0.0),
        ("The minimum is \\boxed{1}.", "f(x)=1", 1.0),
        ("$\\boxed{k = 45} \\quad \\text{and} \\quad \\boxed{n = 2}$", "k = 45, n = 2", 1.0),
        ("$\\boxed{k = 2} \\quad \\text{and} \\quad \\boxed{n = 45}$", "k = 45, n = 2", 0.0),
        (
            "$\\boxed{\\frac{108 + 31\\sqrt{5}}{216}}$ and $\\boxed{\\frac{108 - 31\\sqrt{5}}{216}}$",
            "x_{1}=\\frac{1}{2}+\\frac{31\\sqrt{5}}{216}, x_{2}=\\frac{1}{2}-\\frac{31\\sqrt{5}}{216}",
            1.0,
        ),
        ("\\boxed{0}", "a + 3z = 0", 0.0),  # an equation is not a label
        ("\\boxed{11a + c}", "7 = 11a + c", 0.0),
    ],
)
def test_labelled_answers(completion, gold, expected):
    check(completion, gold, expected)


# 5. numbers as people write them -------------------------------------------------------------


@pytest.mark.parametrize(
    "completion, gold, expected",
    [
        ("The population is 1 000.", "1000", 1.0),
        ("\\boxed{1\\,000}", "1000", 1.0),
        ("The total is 1000,99.", "1000.99", 1.0),
        ("\\boxed{0.111}", "0,111", 1.0),
        ("Soucis : 2,74 $ a..", "2.74", 1.0),
        ("\\boxed{\\text{13}}", "13", 1.0),
        ("So $x = \\frac{1}{3} \\approx 0.33$.", "1/3", 1.0),
        ("$x = 5 + 5 + 1 = 11$", "11", 1.0),
        ("The answer is forty two.", "42", 1.0),
        ("The answer is forty-two.", "42", 1.0),
        ("\\boxed{42}", "forty two", 1.0),
        ("She ate three quarters of the pie, so the answer is three quarters.", "3/4", 1.0),
        ("The answer is forty three.", "42", 0.0),
        ("\\boxed{82085199}", "82085198.0", 0.0),  # a decimal's precision bounds the tolerance
        ("\\boxed{1.325e-28}", "1.325e-27", 0.0),
        ("\\boxed{0.0833333333333333}", "\\frac{1}{12}", 1.0),
    ],
)
def test_numbers_as_people_write_them(completion, gold, expected):
    check(completion, gold, expected)


# 6. gold that is a whole solution ------------------------------------------------------------

MATH_SOLUTION = "The roots of $x^2 - 3x + 2$ are $1$ and $2$, and their product is $\\boxed{2}$."


@pytest.mark.parametrize(
    "completion, gold, expected",
    [
        ("The product is \\boxed{2}.", MATH_SOLUTION, 1.0),
        ("The product is \\boxed{3}.", MATH_SOLUTION, 0.0),
        ("Answer is forty two.", "Answer is forty two.", 1.0),  # TRL's unparseable-gold example
        ("\\boxed{43}", "Answer is forty three.", 1.0),
        ("So the answer is 7.", "Adding them up, the final answer is $7$ apples.", 1.0),
        ("\\boxed{1}", "9^9^9^9", None),  # a gold that cannot be read: the row is skipped
        ("\\boxed{1}", "\\begin{tabular}{c}1\\end{tabular}", None),
    ],
)
def test_gold_that_is_a_whole_solution(completion, gold, expected):
    check(completion, gold, expected)


# 7. reasoning-model output -------------------------------------------------------------------


@pytest.mark.parametrize(
    "completion, expected",
    [
        ("<think> Reasoning content </think> \\boxed{\\frac{63}{400}}", 1.0),
        ("Reasoning content </think> \\boxed{\\frac{63}{400}}", 1.0),
        ("<think> Reasoning content </think> \\boxed{\\frac{64}{400}}", 0.0),
        ("<think> My answer is \\boxed{\\frac{63}{400}} </think> Some other text.", 0.0),
        ("<think> The answer is \\boxed{\\frac{63}{400}} </think> Here's a wrong answer: \\boxed{43}.", 0.0),
        ("<think> Incomplete reasoning without closing tag \\boxed{\\frac{63}{400}}", 0.0),
        ("Correct answer \\frac{63}{400} but no reasoning block at all", 0.0),
    ],
)
def test_after_think(completion, expected):
    check(completion, "\\frac{63}{400}", expected, after_think=True)


def test_a_closed_think_block_is_a_draft_by_default():
    """The answer is what follows </think>; only the strict form refuses an unclosed block."""
    check("<think> My answer is \\boxed{42} </think> Some other text.", "42", 0.0)
    check("<think>\\boxed{42}</think><answer>7</answer>", "42", 0.0)
    check("<think>\\boxed{42}</think><answer>7</answer>", "7", 1.0)
    check("<think> unfinished, but \\boxed{42}", "42", 1.0)


def test_unclosed_think_scores_wrong_score():
    check("<think> still thinking \\boxed{42}", "42", 0.25, after_think=True, wrong_score=0.25)


# 8. extraction discipline --------------------------------------------------------------------


@pytest.mark.parametrize(
    "completion, gold, expected",
    [
        ("\\boxed{" + "x*" * 20_000 + "1}", "1", 0.0),  # the box is refused: no stray last number
        ("$-[0,1)$", "1", 0.0),  # the only formula does not parse: no stray 1
        ("Let me compute 12 and then \\boxed{}", "12", 0.0),  # an empty box is a refusal
        ("\\boxed{12} and then \\boxed{\\frac{1}{2", "12", 1.0),  # a truncated last box: the one before
        ("Therefore $x \\geq 5$ is the solution.", "5", 0.0),  # the formula, not its number
    ],
)
def test_extraction_discipline(completion, gold, expected):
    check(completion, gold, expected)


# issue 13: powers that would build huge exact numbers are refused before sympy sees them -----


@pytest.mark.parametrize(
    "answer",
    [
        "(\\sqrt{3}^{9999})^{9999}",
        "\\sqrt{2}^{10^9}",
        "((2^{100})^{100})^{100}",
        "2^{2^{2^{2^{2^{2}}}}}",
        "(3000!)!",
        "\\sqrt{3}^{99999}\\cdot\\sqrt{5}^{99999}",
        "(\\frac{1}{2}+\\frac{\\sqrt{3}}{2}i)^{10^{9}}",
        "\\binom{5000}{2500}^{5000}",
    ],
)
def test_hostile_powers_score_zero_as_completion_and_none_as_gold(answer):
    check("\\boxed{" + answer + "}", "1", 0.0)
    check("\\boxed{1}", answer, None)


# the rewards that share the equivalence inherit every fix ------------------------------------


def test_consistency_answer_inherits_number_words_and_relations():
    fn = get_registry().get("consistency.answer").build({})
    agree = "<think>Adding the parts, the answer is forty-two.</think><answer>42</answer>"
    disagree = "<think>Adding the parts, the answer is forty-three.</think><answer>42</answer>"
    relation = "<think>Dividing by -1 flips the sign, so the answer is $-x > -1$.</think><answer>$x < 1$</answer>"
    assert fn.score_samples([Sample(agree), Sample(disagree), Sample(relation)]) == [1.0, 0.0, 1.0]


def test_length_cosine_inherits_labels_and_several_answers():
    fn = get_registry().get("length.cosine").build({"max_length": 1000})
    right = "So the pairs are $\\boxed{(2,2)} \\quad \\text{and} \\quad \\boxed{(6,2)}$."
    wrong = "So the pairs are $\\boxed{(2,2)} \\quad \\text{and} \\quad \\boxed{(2,6)}$."
    labelled = "\\boxed{(3, 2)}"
    scores = fn(
        prompts=["q"] * 3, completions=[right, wrong, labelled], answer=["(2, 2), (6, 2)", "(2, 2), (6, 2)", "(p,q)=(3,2)"]
    )
    assert scores[0] > 0.9 and scores[1] < -0.9 and scores[2] > 0.9


def test_length_cosine_after_think():
    fn = get_registry().get("length.cosine").build({"max_length": 1000, "after_think": True})
    closed = "<think>draft \\boxed{41}</think> \\boxed{42}"
    inside_only = "<think>the answer is \\boxed{42}</think> no answer here"
    unclosed = "<think>still going \\boxed{42}"
    scores = fn(prompts=["q"] * 3, completions=[closed, inside_only, unclosed], answer=["42"] * 3)
    assert scores[0] > 0.9 and scores[1] < -0.9 and scores[2] < -0.9
