"""The safe answer parser: what each written form parses to, and what it refuses."""

from __future__ import annotations

import builtins

import pytest
import sympy
from grpo_rewards.plugins.math import parse_answer
from grpo_rewards.plugins.math.parse import clear_parse_cache
from grpo_rewards.plugins.math.values import (
    BaseNumber,
    Bracketed,
    Choice,
    Collection,
    Matrix,
    Relation,
    Scalar,
    Text,
)

x, y = sympy.symbols("x y")
R = sympy.Rational


@pytest.mark.parametrize(
    "text, value",
    [
        ("42", 42),
        ("-7", -7),
        ("0.15", R(3, 20)),
        (".35625", R(35625, 100000)),
        ("\\frac{14}{3}", R(14, 3)),
        ("\\dfrac{3}{4}", R(3, 4)),
        ("\\tfrac34", R(3, 4)),
        ("\\frac12", R(1, 2)),
        ("\\frac 59", R(5, 9)),
        ("\\frac{270}7\\text{ degrees}", R(270, 7)),
        ("2\\frac{1}{2}", R(5, 2)),
        ("-2\\frac12", R(-5, 2)),
        ("137 \\frac{1}{2}", R(275, 2)),
        ("2 1/2", R(5, 2)),
        ("1,234,567", 1234567),
        ("10,\\!080", 10080),
        ("11,\\! 111,\\! 111,\\! 100", 11111111100),
        ("1\\,000", 1000),
        ("\\$32,\\!348", 32348),
        ("$70,000", 70000),
        ("18 dollars", 18),
        ("\u20ac3,50", R(7, 2)),
        ("3{,}5", R(7, 2)),
        ("5.4 \\text{ cents}", R(27, 5)),
        ("864 \\mbox{ inches}^2", 864),
        ("15\\mbox{ cm}^2", 15),
        ("90^\\circ", 90),
        ("90\u00b0", 90),
        ("1.5e3", 1500),
        ("3 \\times 10^{-2}", R(3, 100)),
        ("2\\cdot 3", 6),
        ("6 \\div 4", R(3, 2)),
        ("\\sqrt{16}", 4),
        ("\\sqrt[3]{8}", 2),
        ("11\\sqrt2", 11 * sympy.sqrt(2)),
        ("\\frac{3\\sqrt{3}}{4}", 3 * sympy.sqrt(3) / 4),
        ("2\\pi", 2 * sympy.pi),
        ("\\left( \\frac{\\pi}{2} \\right)", sympy.pi / 2),
        ("i^2", -1),
        ("6 - 5i", 6 - 5 * sympy.I),
        ("e^{i\\pi}", -1),
        ("\\log_2 8", 3),
        ("\\ln e", 1),
        ("|{-3}|", 3),
        ("\\lfloor 3.7 \\rfloor", 3),
        ("5!", 120),
        ("\\binom{5}{2}", 10),
        ("3x", 3 * x),
        ("x^3+3x-6", x**3 + 3 * x - 6),
        ("(a+5)(b+2)", (sympy.Symbol("a") + 5) * (sympy.Symbol("b") + 2)),
        ("2^{10}", 1024),
        ("2^3^2", 512),
        ("\\infty", sympy.oo),
        ("-\\infty", -sympy.oo),
        ("\u22125", -5),
        ("\u00bd", R(1, 2)),
        ("3\u221a2", 3 * sympy.sqrt(2)),
        ("\u03c0/2", sympy.pi / 2),
        ("3:1", 3),
        ("\\text{approximately } 12", 12),
    ],
)
def test_scalar_values(text, value):
    parsed = parse_answer(text)
    assert isinstance(parsed, Scalar), parsed
    assert parsed.expr == value or sympy.simplify(parsed.expr - value) == 0


def test_decimals_are_exact_but_marked_inexact():
    assert parse_answer("0.5") == Scalar(R(1, 2), inexact=True, digits=1)
    assert parse_answer("1/2") == Scalar(R(1, 2), inexact=False)
    # the precision written is remembered: the tolerance never exceeds half its last place
    assert parse_answer("82085198.0").digits == 9
    assert parse_answer("0.0833").digits == 3


def test_percent_is_remembered():
    assert parse_answer("50\\%") == Scalar(R(1, 2), percent=True)
    assert parse_answer("12,5%") == Scalar(R(1, 8), inexact=True, percent=True, digits=3)


def test_structures():
    assert parse_answer("(3,4]") == Bracketed((Scalar(3), Scalar(4)), "(", "]")
    assert parse_answer("[2, \\infty)") == Bracketed((Scalar(2), Scalar(sympy.oo)), "[", ")", interval=True)
    assert parse_answer("x \\in [-2,7]") == Bracketed((Scalar(-2), Scalar(7)), "[", "]", interval=True)
    assert parse_answer("\\{1,2\\}") == Collection((Scalar(1), Scalar(2)), "set")
    assert parse_answer("3, 5, 7") == Collection((Scalar(3), Scalar(5), Scalar(7)), "list")
    assert parse_answer("1 \\text{ and } 2") == Collection((Scalar(1), Scalar(2)), "list")
    assert parse_answer("7, -2, \\text{ and } -5") == Collection((Scalar(7), Scalar(-2), Scalar(-5)), "list")
    assert parse_answer("1 \\pm \\sqrt{19}") == Collection((Scalar(1 + sympy.sqrt(19)), Scalar(1 - sympy.sqrt(19))), "list")
    union = parse_answer("(-\\infty, 2) \\cup (3, \\infty)")
    assert isinstance(union, Collection) and union.kind == "union" and len(union.items) == 2
    assert parse_answer("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}") == Matrix(
        ((Scalar(1), Scalar(2)), (Scalar(3), Scalar(4)))
    )


def test_relations():
    assert parse_answer("x = 5") == Relation(x, "=", sympy.Integer(5))
    assert parse_answer("y = 2x + 3") == Relation(y, "=", 2 * x + 3)
    assert parse_answer("x = 2 + 3 = 5") == Relation(x, "=", sympy.Integer(5))
    assert parse_answer("x > 3") == Bracketed((Scalar(sympy.Integer(3)), Scalar(sympy.oo)), "(", ")", interval=True)
    assert parse_answer("1 < x \\le 3") == Bracketed(
        (Scalar(sympy.Integer(1)), Scalar(sympy.Integer(3))), "(", "]", interval=True
    )
    chain = parse_answer("f(2) < f(1) < f(4)")  # no one quantity bounded by numbers: the facts
    assert isinstance(chain, Collection) and chain.kind == "chain" and len(chain.items) == 2


def test_words_letters_and_bases():
    assert parse_answer("\\text{Evelyn}") == Text("evelyn")
    assert parse_answer("east") == Text("east")
    assert parse_answer("\\text{(C)}") == Choice("C")
    assert parse_answer("(B)") == Choice("B")
    assert parse_answer("D") == Choice("D")
    assert parse_answer("52_8") == BaseNumber("52", 8)
    assert parse_answer("4210_{5}") == BaseNumber("4210", 5)
    assert parse_answer("-221_3") == BaseNumber("-221", 3)
    assert parse_answer("\\text{1:03 PM}") == Text("1:03pm")
    assert parse_answer("9\\text{ a.m.}") == Text("9:00am")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "$$",
        "\\undefinedcommand{3}",
        "2 3",
        "(1, 2",
        "1/0",
        "\\frac{1}{0}",
        "0^{-1}",
        "\\begin{tabular}{c} 1 \\end{tabular}",
        "__import__('os').system('echo pwned')",
        "lambda: 1",
        "eval('1+1')",
        'os.system("rm -rf /")',
        "().__class__.__bases__[0]",
        "9**9**9**9",
        "9^9^9^9",
        "2^{2^{2^{2^{2}}}}",
        "10^{10^{10}}",
        "1000000!",
        "10!!!",
        "\\binom{100000}{50000}",
        "1e999999",
        "9" * 5000,
        "(" * 5000 + "1" + ")" * 5000,
        "{" * 5000 + "1" + "}" * 5000,
        "\\sqrt{" * 3000 + "2" + "}" * 3000,
        "1+" * 400 + "1",
        "x" * 1_000_000,
    ],
)
def test_refused(text):
    assert parse_answer(text) is None


def test_big_but_reasonable_numbers_are_kept():
    assert parse_answer("2^{1000}") == Scalar(sympy.Integer(2) ** 1000)
    assert parse_answer("\\frac{1}{2004!}") == Scalar(1 / sympy.factorial(2004))
    assert parse_answer("10^{100}") == Scalar(sympy.Integer(10) ** 100)


def test_never_evaluates_text(monkeypatch):
    """No string reaches eval/exec/compile (sympify and parse_expr would): a guard raises a
    BaseException that no ``except Exception`` in the parser can swallow."""

    class StringEvaluated(BaseException):
        pass

    real_exec, real_compile = builtins.exec, builtins.compile

    def no_eval(*args, **kwargs):
        raise StringEvaluated("eval")

    def guarded_exec(source, *args, **kwargs):
        if isinstance(source, str):
            raise StringEvaluated("exec")
        return real_exec(source, *args, **kwargs)

    def guarded_compile(source, filename, *args, **kwargs):
        if filename == "<string>":
            raise StringEvaluated("compile")
        return real_compile(source, filename, *args, **kwargs)

    texts = [
        "\\frac{\\sqrt3}{3}",
        "x^2+2x+1",
        "(1,2]",
        "\\sin^2 x+\\cos^2 x",
        "\\log_2 8",
        "5!",
        "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
        "e^{i\\pi}",
        "\\cot 30^\\circ",
        "\\gcd(12, 18)",
        "__import__('os').system('x')",
        "lambda x: x",
        "exec('1')",
    ]
    for text in texts:  # warm sympy's lazy imports, which legitimately exec module code
        parse_answer(text)
    clear_parse_cache()
    monkeypatch.setattr(builtins, "eval", no_eval)
    monkeypatch.setattr(builtins, "exec", guarded_exec)
    monkeypatch.setattr(builtins, "compile", guarded_compile)
    results = [parse_answer(text) for text in texts]
    monkeypatch.undo()
    assert results[0] == Scalar(sympy.sqrt(3) / 3)
    assert results[4] == Scalar(sympy.Integer(3))
    assert results[9] == Scalar(sympy.Integer(6))
    assert results[-3] is None and results[-1] is None  # "lambda x: x" reads as the ratio x:x = 1
    with pytest.raises(StringEvaluated):  # the guard itself works: sympify on a string trips it
        monkeypatch.setattr(builtins, "exec", guarded_exec)
        sympy.sympify("x + 1")


def test_non_strings_are_refused():
    assert parse_answer(None) is None  # type: ignore[arg-type]
    assert parse_answer(42) is None  # type: ignore[arg-type]


def test_every_whitelisted_function_is_understood():
    from grpo_rewards.plugins.math.lexer import FUNCTIONS

    for name in sorted(FUNCTIONS):
        args = "(4, 6)" if name in ("gcd", "lcm", "max", "min") else "(x)"
        assert isinstance(parse_answer(f"\\{name}{args}"), Scalar), name
        assert isinstance(parse_answer(f"{name}{args}"), Scalar), name
    assert parse_answer("\\sqrt(16)") == Scalar(sympy.Integer(4))
    assert parse_answer("\\sin^{-1}(1)") == Scalar(sympy.pi / 2)
    assert parse_answer("\\cos -58^\\circ") == parse_answer("\\cos 58^\\circ")
