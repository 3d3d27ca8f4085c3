"""``math.correct`` attacked: wrong completions a policy could drift into, one class per test.

Each class has the case it was found with and two instances that were not shown; every case here
was credited (or, for the refusals, refused) by ``math.correct`` before its class was fixed.
"""

from __future__ import annotations

import pytest

from grpo_rewards.registry import get_registry


def score(completion: str, gold: str, **params) -> float | None:
    fn = get_registry().get("math.correct").build(params)
    [value] = fn(prompts=["q"], completions=[completion], answer=[gold])
    return value


def refused(*cases: tuple[str, str]):
    return pytest.mark.parametrize("completion, gold", list(cases))


# 1. order: a bare list against a gold that names each value
@refused(
    ("\\boxed{2, 3}", "x = 3, y = 2"),
    ("\\boxed{2, 1}", "a = 1, b = 2"),
    ("The answer is $-1, 4$.", "m = 4, n = -1"),
)
def test_a_labelled_gold_keeps_its_order(completion, gold):
    assert score(completion, gold) == 0.0


def test_solutions_and_named_values_still_match():
    assert score("\\boxed{3, 2}", "x = 3, y = 2") == 1.0
    assert score("\\boxed{y = 2, x = 3}", "x = 3, y = 2") == 1.0
    assert score("\\boxed{-2} and \\boxed{1}", "1,-2") == 1.0  # a bare list of solutions: any order
    assert score("\\boxed{x = 3 \\text{ or } x = 2}", "x = 2 \\text{ or } x = 3") == 1.0


# 2. a worked gold, or an answer phrase, read up to its first formula
@refused(
    ("\\boxed{2}", "The answer is $x=2$ or $x=3$."),
    ("\\boxed{4}", "The roots are $x=-1$ and $x=4$."),
    ("The answer is $3$ or $4$.", "3"),  # the same reading on the completion's side: a hedge
)
def test_a_run_of_formulas_is_read_whole(completion, gold):
    assert score(completion, gold) == 0.0


def test_the_whole_run_is_the_answer():
    assert score("\\boxed{2, 3}", "The answer is $x=2$ or $x=3$.") == 1.0
    assert score("\\boxed{4, -1}", "The roots are $x=-1$ and $x=4$.") == 1.0


# 3. symbolic equality sampled at positive points only
@refused(
    ("\\boxed{x}", "|x|"),
    ("\\boxed{x}", "\\sqrt{x^2}"),
    ("\\boxed{1}", "\\frac{x}{|x|}"),
    ("\\boxed{xy}", "\\sqrt{x^2 y^2}"),
)
def test_expressions_are_compared_at_points_of_both_signs(completion, gold):
    assert score(completion, gold) == 0.0


def test_identities_still_hold():
    assert score("\\boxed{|x|}", "\\sqrt{x^2}") == 1.0
    assert score("\\boxed{(x+1)^2}", "x^2 + 2x + 1") == 1.0


# 4. a number and its own word multiplied; adjacent number words summed
@pytest.mark.parametrize(
    "completion, gold",
    [
        ("\\boxed{12 (twelve)}", "144"),
        ("The answer is three (3).", "9"),
        ("\\boxed{seven (7)}", "49"),
        ("The answer is twelve thirteen.", "25"),
        ("The answer is forty fifty.", "90"),
        ("The answer is two three.", "5"),
    ],
)
def test_number_words_are_one_number(completion, gold):
    assert score(completion, gold) == 0.0


def test_a_gloss_is_its_number():
    assert score("\\boxed{12 (twelve)}", "12") == 1.0
    assert score("The answer is forty-two.", "42") == 1.0
    assert score("The answer is twelve hundred.", "1200") == 1.0


# 5. forms read as other forms
@refused(
    ("\\boxed{2:30}", "1:15"),
    ("\\boxed{4:20}", "2:10"),
    ("\\boxed{10:30}", "7:21"),
)
def test_a_clock_time_is_not_its_ratio(completion, gold):
    assert score(completion, gold) == 0.0


@refused(
    ("\\boxed{0.5}", "0.5\\%"),
    ("\\boxed{0.25\\%}", "0.25"),
    ("The answer is 0.8%.", "0.8"),
)
def test_a_proportion_is_not_a_number_of_percent(completion, gold):
    assert score(completion, gold) == 0.0


@refused(
    ("\\boxed{0,111}", "111"),
    ("\\boxed{0,250}", "250"),
    ("The answer is 0,500.", "500"),
)
def test_a_leading_zero_is_no_thousands_group(completion, gold):
    assert score(completion, gold) == 0.0


@refused(
    ("\\boxed{42_3}", "42"),
    ("\\boxed{52}", "52_8"),
    ("\\boxed{101}", "101_2"),
)
def test_the_base_is_part_of_the_value(completion, gold):
    assert score(completion, gold) == 0.0


@refused(
    ("\\boxed{5 \\text{ cm}}", "5 \\text{ m}"),
    ("The answer is 3 kg.", "3 g"),
    ("\\boxed{12 \\text{ minutes}}", "12 \\text{ hours}"),
)
def test_a_unit_is_part_of_the_value(completion, gold):
    assert score(completion, gold) == 0.0


@refused(
    ("\\boxed{(1, 2)}", "1 < x < 2"),
    ("\\boxed{(-3, 5)}", "-3 < t < 5"),
    ("\\boxed{(0, 4)}", "x \\in (0, 4)"),
)
def test_a_point_is_not_an_interval(completion, gold):
    assert score(completion, gold) == 0.0


@refused(
    ("\\boxed{\\begin{vmatrix} 1 & 2 \\\\ 3 & 4 \\end{vmatrix}}", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}"),
    ("\\boxed{\\begin{vmatrix} 2 & 0 \\\\ 0 & 3 \\end{vmatrix}}", "\\begin{bmatrix} 2 & 0 \\\\ 0 & 3 \\end{bmatrix}"),
    ("\\boxed{\\begin{vmatrix} 1 & 0 \\\\ 0 & 1 \\end{vmatrix}}", "\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}"),
)
def test_a_determinant_is_not_a_matrix(completion, gold):
    assert score(completion, gold) == 0.0


def test_forms_that_still_match():
    assert score("\\boxed{6:00}", "6 : 00") == 1.0
    assert score("\\boxed{11:21}", "V_1 : V_2 = 11 : 21") == 1.0
    assert score("\\boxed{50\\%}", "0.5") == 1.0
    assert score("\\boxed{28\\%}", "28") == 1.0
    assert score("\\boxed{5 \\text{ meters}}", "5 \\text{ m}") == 1.0
    assert score("\\boxed{5}", "5 \\text{ m}") == 1.0
    assert score("\\boxed{52_8}", "52_8") == 1.0
    assert score("\\boxed{x \\in (1, 2)}", "1 < x < 2") == 1.0
    assert score("\\boxed{\\begin{vmatrix} 1 & 2 \\\\ 3 & 4 \\end{vmatrix}}", "-2") == 1.0


# 6. a tolerance looser than half a unit of the last digit written
@pytest.mark.parametrize(
    "completion, gold, rel_tol",
    [
        ("\\boxed{999999.5}", "1000000", 1e-6),
        ("\\boxed{9999999.5}", "10000000", 1e-6),
        ("\\boxed{99.95}", "100", 1e-3),
    ],
)
def test_tolerance_is_half_a_unit_of_the_last_place(completion, gold, rel_tol):
    assert score(completion, gold, rel_tol=rel_tol) == 0.0


def test_a_correctly_rounded_decimal_still_matches():
    assert score("\\boxed{1000000.0}", "1000000") == 1.0
    assert score("\\boxed{0.29}", "0.2902435", rel_tol=0.01) == 1.0


# 7. a look-alike minus dropped by the last-number reader
@refused(
    ("... we finally get \u221242", "42"),
    ("so the total change is \u20137", "7"),
    ("and the result is \uff0d15", "15"),
)
def test_a_lookalike_minus_is_a_minus(completion, gold):
    assert score(completion, gold) == 0.0


def test_a_lookalike_minus_states_the_negative():
    assert score("... we finally get \u221242", "-42") == 1.0


# 8. a draft inside a closed think block
@refused(
    ("<think>\\boxed{42}</think><answer>7</answer>", "42"),
    ("<think>so \\boxed{18}</think>\nSo I get 20.", "18"),
    ("<think>The answer is \\boxed{5}.</think>\n$6$", "5"),
)
def test_a_closed_think_block_is_a_draft(completion, gold):
    assert score(completion, gold) == 0.0


def test_the_answer_after_the_think_block_counts():
    assert score("<think>\\boxed{42}</think><answer>7</answer>", "7") == 1.0
    assert score("<think>still thinking \\boxed{42}", "42") == 1.0  # never closed: read it all
    assert score("<think>still thinking \\boxed{42}", "42", after_think=True) == 0.0


# found here: two final markers that disagree are a hedge across formats
@refused(
    ("\\boxed{42} <answer>7</answer>", "42"),
    ("<answer>7</answer> so \\boxed{42}", "42"),
    ("\\boxed{42}\n#### 7", "42"),
)
def test_two_final_answers_that_disagree_are_no_answer(completion, gold):
    assert score(completion, gold) == 0.0


def test_final_markers_that_agree_or_are_overridden():
    assert score("\\boxed{42} <answer>42</answer>", "42") == 1.0
    assert score("\\boxed{255}. So she has $10,455. Final Answer: The final answer is $10,455$.", "10455") == 1.0


# reverse: correct answers refused
@pytest.mark.parametrize(
    "completion, gold",
    [
        ("\\boxed{x < -3 \\text{ or } x > 3}", "(-\\infty, -3) \\cup (3, \\infty)"),
        ("\\boxed{t \\le 0 \\text{ or } t \\ge 2}", "(-\\infty, 0] \\cup [2, \\infty)"),
        ("$x < 1$ or $x > 4$", "(-\\infty, 1) \\cup (4, \\infty)"),
        ("$(5,2),(7,2)$", "p=5,q=2;p=7,q=2"),
        ("\\boxed{(1, 3), (2, 5)}", "x=1, y=3; x=2, y=5"),
        ("\\boxed{(3, 0), (2, 1)}", "a=2, b=1; a=3, b=0"),
    ],
)
def test_unions_and_groups_are_read(completion, gold):
    assert score(completion, gold) == 1.0


def test_rounded_decimals_follow_rel_tol_in_every_structure():
    """A rounded decimal is judged by ``rel_tol`` alone, the same in a number, an interval and a
    matrix: refused at the default 1e-6, accepted at 1e-4."""
    cases = [
        ("\\boxed{2.6667}", "8/3"),
        ("\\boxed{(0.6, 2.6667]}", "(3/5, 8/3]"),
        ("\\boxed{\\begin{pmatrix} 0.5 & 0.3333 \\end{pmatrix}}", "\\begin{pmatrix} 1/2 & 1/3 \\end{pmatrix}"),
    ]
    assert [score(c, g) for c, g in cases] == [0.0, 0.0, 0.0]
    assert [score(c, g, rel_tol=1e-4) for c, g in cases] == [1.0, 1.0, 1.0]


# Found by `grpo-rewards attack` (issue 21) after the classes above were closed.
def score_after(prompt: str, completion: str, gold: str, **params) -> float | None:
    fn = get_registry().get("math.correct").build(params)
    [value] = fn(prompts=[prompt], completions=[completion], answer=[gold])
    return value


# 9. a final answer, then a concluding statement that gives another value
@refused(
    ("The answer is 163. Checking the last step once more, I correct it. Putting it together, we finally get 164", "163"),
    ("So the answer is \\boxed{42}. Wait, I dropped a carry: so the total is 45.", "42"),
    ("#### 18\nOn reflection, therefore, she sells 20 eggs.", "18"),
    ("<answer>7</answer>\nActually the last step was off, thus we get 9", "7"),
    (
        "The answer is \\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}. Correcting it, we finally get "
        "\\begin{vmatrix} 1 \\\\ 2 \\end{vmatrix}",
        "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
    ),
)
def test_a_final_answer_then_another_conclusion_is_no_answer(completion, gold):
    assert score(completion, gold) == 0.0


def test_a_conclusion_that_agrees_keeps_the_answer():
    assert score("\\boxed{5}. So the answer is 5 apples.", "5") == 1.0
    assert score("The answer is 12. Thus 3 + 9 = 12.", "12") == 1.0
    assert score("The answer is 12. We have used that 3 + 4 = 7 along the way.", "12") == 1.0


# 10. the question copied back: its numbers are the prompt's, not an answer
ERIN = (
    "The ice cream parlor was offering a deal, buy 2 scoops of ice cream, get 1 scoop free.  Each scoop cost $1.50.  "
    "If Erin had  $6.00, how many scoops of ice cream should she buy?"
)
COWS = "A farmer keeps 14 cows and sells 2 of them each week until he has 6 left. How many weeks does it take?"


@pytest.mark.parametrize(
    "prompt, completion, gold",
    [
        (ERIN, ERIN, "6"),
        ("What is $\\sqrt{16}$?", "What is $\\sqrt{16}$?", "4"),
        ("Compute $\\dbinom{7}{7}$.", "Compute $\\dbinom{7}{7}$.", "1"),
        (COWS, "Let me restate it. A farmer keeps 14 cows and sells 2 of them each week until he has 6 left", "6"),
    ],
)
def test_the_echoed_prompt_is_no_answer(prompt, completion, gold):
    assert score_after(prompt, completion, gold) == 0.0


def test_an_answer_after_the_restated_question_counts():
    restated = "If Erin had $6.00, how many scoops of ice cream should she buy? Two scoops cost $3.00 and a third is free, so 6."
    assert score_after(ERIN, restated, "6") == 1.0
    assert score_after(ERIN, ERIN, "6", read_prompt_echo=True) == 1.0  # the looser reading, opted into


# 11. a final value offered as alternatives
@refused(
    ("Putting it together, we finally get 1431 or 1430", "1430"),
    ("so the total must be 12, or maybe 13", "13"),
    ("Hence it is either -106^\\circ or 106^\\circ", "106^\\circ"),
    ("she pays \\$30 or \\$35", "35"),
    ("#### 24, -3 or 24", "24, -3"),
    ("<answer>\\frac{1}{2}, 1, 2 or \\frac{1}{2}, 1</answer>", "\\frac{1}{2}, 1, 2"),
)
def test_alternatives_are_a_hedge(completion, gold):
    assert score(completion, gold) == 0.0


def test_a_list_of_solutions_is_read_whole():
    assert score("we finally get 2 or -1", "2, -1") == 1.0  # refused before: the last number alone
    assert score("\\boxed{(3, 17), (3, 17), (5, 2)}", "(3, 17), (5, 2)") == 1.0  # a repeat without "or"


# 12. a sign before currency markup
@refused(
    ("Putting it together, we finally get -\\$1.25", "\\$1.25"),
    ("so the balance ends at -\\text{\\$}7.25", "7.25"),
    ("the net change comes to \u2212$12", "12"),
    ("so the profit is -\u20ac3", "3"),
)
def test_a_sign_before_currency_is_kept(completion, gold):
    assert score(completion, gold) == 0.0


def test_a_negative_amount_states_the_negative():
    assert score("we finally get -\\$1.25", "-1.25") == 1.0


# 13. a unit after the last number, degrees against radians, inches in text markup
@refused(
    ("we finally get 312\\text{ cents}", "312 \\text{ dollars}"),
    ("The final answer is $\\boxed{69\\text{ radians}}$.", "69\\text{ degrees}"),
    ("so the angle is 30 radians.", "30^\\circ"),
    ("\\boxed{25\\text{ in}}", "25 \\text{ ft}"),
)
def test_the_unit_after_the_last_number_is_read(completion, gold):
    assert score(completion, gold) == 0.0


def test_units_that_agree_still_match():
    assert score("so the angle is 30 degrees.", "30^\\circ") == 1.0
    assert score("\\boxed{12 \\text{ in}}", "12 \\text{ inches}") == 1.0
    assert score("we get 5 in total", "5") == 1.0


# 14. a trailing zero written as a letter O; a full stop before "or" does not end the answer
@refused(
    ("Putting it together, we finally get \\$0.2O", "\\$0.20"),
    ("we finally get 4.5O", "4.50"),
    ("so each costs \\$1.2O", "\\$1.20"),
)
def test_a_letter_glued_to_the_last_number_is_no_number(completion, gold):
    assert score(completion, gold) == 0.0


@refused(
    ("The answer is \\frac{7}{5} + \\frac{1}{5} i. or -(\\frac{7}{5} + \\frac{1}{5} i.).", "\\frac{7}{5} + \\frac{1}{5} i"),
    ("The answer is 3. or 4.", "3"),
    ("The answer is 2x + 1. or maybe 2x - 1.", "2x + 1"),
)
def test_a_full_stop_before_or_does_not_end_the_answer(completion, gold):
    assert score(completion, gold) == 0.0


def test_sentences_and_units_after_a_number_still_read():
    assert score("The answer is 5. And that is all.", "5") == 1.0
    assert score("we finally get 12 Ohms", "12") == 1.0


# 15. an area or a volume in "units" is not a length in units
@refused(
    ("#### 18\\text{ square units}", "18\\text{ units}"),
    ("The area is 24 sq units.", "24 \\text{ units}"),
    ("\\boxed{64 \\text{ cubic units}}", "64 \\text{ units}"),
)
def test_square_units_are_not_units(completion, gold):
    assert score(completion, gold) == 0.0


def test_units_that_name_the_same_measure_match():
    assert score("\\boxed{18 \\text{ square units}}", "18 \\text{ square units}") == 1.0
    assert score("The area is 18 square units.", "18") == 1.0
    assert score("\\boxed{7 \\text{ units}}", "7") == 1.0


# 16. alternatives written in text markup are a hedge
@refused(
    ("we finally get \\text{13} or -\\text{13}", "\\text{13}"),
    ("we finally get \\text{7} or \\text{8}", "\\text{8}"),
    ("Putting it together, we finally get \\text{May 4} or \\text{May 5}", "\\text{May 5}"),
)
def test_alternatives_in_text_markup_are_a_hedge(completion, gold):
    assert score(completion, gold) == 0.0


def test_one_value_in_text_markup_still_reads():
    assert score("we finally get \\text{13}", "13") == 1.0
    assert score("so the year is \\text{1999}.", "1999") == 1.0


# 17. a final answer, then a concluding formula with letters that differs
@refused(
    (
        "The answer is 3qr + 6q - 15r -30. Checking once more, I correct it. Putting it together, "
        "we finally get -(3qr + 6q - 15r -30)",
        "3qr + 6q - 15r -30",
    ),
    ("The answer is 2ab + 1. Checking again, we finally get 2ab - 1", "2ab + 1"),
    ("The answer is pq. Checking again, we finally get -pq", "pq"),
)
def test_a_concluding_formula_with_letters_is_a_second_answer(completion, gold):
    assert score(completion, gold) == 0.0


def test_a_concluding_formula_that_agrees_keeps_the_answer():
    assert score("The answer is 2ab + 1. Checking again, we finally get 1 + 2ab", "2ab + 1") == 1.0


# 18. several digits written as letters before a percent sign
@refused(
    ("we finally get 1OO\\%", "100\\%"),
    ("so the rate is 2OO%", "200\\%"),
    ("we finally get 5OO\\%", "500\\%"),
)
def test_letters_glued_to_a_number_before_a_percent_are_no_number(completion, gold):
    assert score(completion, gold) == 0.0


def test_a_percent_written_in_digits_still_reads():
    assert score("we finally get 100\\%", "100\\%") == 1.0
    assert score("so it weighs 10 lb", "10") == 1.0
