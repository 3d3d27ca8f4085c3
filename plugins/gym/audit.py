"""The gym audit: every offered task scored on answers that solve nothing.

For each task, seeded rows of the test split are scored through ``gym.score`` (its defaults, the
answer in ``<answer>`` tags) on attack answers built from the row's gold: constants, the opposite
verdict, a hedge of the gold with a near miss (both orders, several separators), the empty answer,
the gold with junk around it, the gold's shape filled with one digit or letter, and numbers too
large to parse. An attack *pays* when it scores more than the row's wrong answers do (the least
score of the other rows' golds on this row: a task that gives 0.01 for any well-formed answer may
give it to an attack too). The gold itself must keep its score. ``before`` is the task's own scorer
on the same answer, as gym.score read it before the audit (the numbers attack is left out there:
it runs for minutes in one C call).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from grpo_rewards.registry import get_registry

from . import tasks
from .strict import MAX_ANSWER_CHARS, VERDICTS, form_of, number, same_answer

CONSTANTS = (
    "0", "1", "-1", "2", "10", "yes", "no", "Yes", "No", "true", "false", "True", "False", "A", "B", "a", "x",
    "none", "None", "null", "[]", "{}", "the", "answer", "unknown", "?", ".",
)  # fmt: skip
JUNK = "junk"
HUGE = ("1e20000000", "1" + "0" * 500, "1e2,000,000,0")
EPSILON = 1e-9
MAX_PROMPT_NUMBERS = 12
_PROMPT_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
DEFAULT_SIZE = 8
DEFAULT_SEED = 0


@dataclass
class TaskAudit:
    """One task's audit: per attack class, the most any attack of the class paid, after and before."""

    task: str
    decision: str
    paid: dict[str, float] = field(default_factory=dict)
    paid_before: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def near_miss(gold: str, others: list[str]) -> str:
    """A wrong answer of the gold's form: gold + 1 for an integer, else another row's gold."""
    value = number(gold) if form_of(gold) == "number" else None
    if value is not None and value.denominator == 1:
        return str(value.numerator + 1)
    return next((o for o in others if not same_answer(o, gold)), gold + "x")


def shapes(gold: str) -> list[str]:
    """The gold's shape filled with one symbol: every digit 0, every digit 1, every letter a."""
    return [
        "".join("0" if c.isdigit() else c for c in gold),
        "".join("1" if c.isdigit() else c for c in gold),
        "".join("a" if c.isalpha() else c for c in gold),
    ]


def prompt_numbers(question: str) -> list[str]:
    """The numbers the question states, each once (an answer that copies one solves nothing)."""
    return list(dict.fromkeys(_PROMPT_NUMBER.findall(question)))[:MAX_PROMPT_NUMBERS]


def attacks(gold: str, others: list[str], question: str = "") -> dict[str, list[str]]:
    """Attack class -> answers that solve nothing, built from the row's gold, its near miss and
    the question's own numbers."""
    miss = near_miss(gold, others)
    out: dict[str, list[str]] = {
        "constant": list(CONSTANTS),
        "hedge": [f"{a}{sep}{b}" for a, b in ((gold, miss), (miss, gold)) for sep in (" ", ", ", " or ", "\n", "; ")],
        "empty": ["", "   "],
        "junk": [f"{gold} {JUNK}", f"{JUNK} {gold}", f"{gold}{gold}", f"{gold} {gold}", f"{gold}!!"],
        "shape": shapes(gold),
        "huge number": list(HUGE),
        "prompt number": prompt_numbers(question),
    }
    verdict = gold.strip().casefold()
    if verdict in VERDICTS:
        opposite = VERDICTS[verdict]
        out["opposite verdict"] = [opposite, opposite.title(), opposite.upper()]
    return out


def _rows(task: str, size: int, seed: int) -> list[dict[str, Any]]:
    with contextlib.redirect_stdout(io.StringIO()):  # some generators print progress dots
        return tasks.generate(task, {"size": size, "seed": seed, "split": "test"})


def _scorer_after():
    return get_registry().get("gym.score").build({})


def _after(fn: Any, row: dict[str, Any], answers: list[str]) -> list[float]:
    n = len(answers)
    values = fn(
        prompts=[row["question"]] * n,
        completions=[f"<answer>{a}</answer>" for a in answers],
        answer=[row["answer"]] * n,
        metadata=[row["metadata"]] * n,
        question=[row["question"]] * n,
    )
    return [0.0 if v is None else float(v) for v in values]  # a crash pays nothing


def _before(task: str, row: dict[str, Any], answer: str) -> float:
    """What gym.score paid before the audit: the task's own scorer on the stripped answer."""
    answer = answer.strip()
    if not answer or len(answer) > MAX_ANSWER_CHARS:
        return 0.0
    entry = {"question": row["question"], "answer": row["answer"], "metadata": json.loads(row["metadata"])}
    try:
        return float(tasks.scorer(task)(answer=answer, entry=entry))
    except Exception:
        return 0.0


def audit_task(task: str, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED, before: bool = False) -> TaskAudit:
    """Score the task's seeded rows on every attack; a failure names the row, attack and pay."""
    started = time.perf_counter()
    result = TaskAudit(task, tasks.decision(task).kind)
    rows = _rows(task, size, seed)
    golds = [r["answer"] for r in rows]
    fn = _scorer_after()
    for index, row in enumerate(rows):
        gold = row["answer"]
        others = [g for g in golds[index + 1 :] + golds[:index] if not same_answer(g, gold)]
        by_class = {
            name: [a for a in answers if not same_answer(a, gold)]
            for name, answers in attacks(gold, others, row["question"]).items()
        }
        flat = [a for answers in by_class.values() for a in answers]
        values = _after(fn, row, [gold, *others, *flat])
        gold_score, wrong_scores, attack_scores = values[0], values[1 : 1 + len(others)], iter(values[1 + len(others) :])
        if gold_score < 1.0:
            result.failures.append(f"row {index}: the gold {gold[:40]!r} scores {gold_score:g}")
        for other, value in zip(others, wrong_scores):
            _record(result.paid, "other gold", value)
            if value >= gold_score - EPSILON:
                result.failures.append(f"row {index}: another row's gold {other[:40]!r} scores {value:.2f}, as the gold")
        floor = min(wrong_scores, default=0.0)
        for name, answers in by_class.items():
            for answer in answers:
                value = next(attack_scores)
                _record(result.paid, name, value - floor)
                if value > floor + EPSILON:
                    result.failures.append(f"row {index}: {name} {answer[:40]!r} scores {value:.2f} > {floor:.2f}")
        if before:
            _audit_before(task, row, others, by_class, result.paid_before)
    result.seconds = time.perf_counter() - started
    return result


def _record(paid: dict[str, float], name: str, value: float) -> None:
    paid[name] = max(paid.get(name, 0.0), value)


def _audit_before(
    task: str, row: dict[str, Any], others: list[str], by_class: dict[str, list[str]], paid: dict[str, float]
) -> None:
    """The same attacks on the task's own scorer (the huge numbers left out: minutes in one C call)."""
    wrong = [_before(task, row, o) for o in others]
    for value in wrong:
        _record(paid, "other gold", value)
    floor = min(wrong, default=0.0)
    for name, answers in by_class.items():
        if name != "huge number":
            for answer in answers:
                _record(paid, name, _before(task, row, answer) - floor)


def offered() -> list[str]:
    return [t for t in tasks.all_tasks() if tasks.refusal(t) is None]


def run(
    task_names: Iterable[str] | None = None, size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED, before: bool = False
) -> list[TaskAudit]:
    return [audit_task(t, size, seed, before) for t in (task_names or offered())]


def _paid(paid: dict[str, float]) -> str:
    """Attack classes paid above a wrong answer; and a wrong answer itself where it was paid 0.5 or
    more (then attacks may pay no *more* than it, yet the task pays for wrong work)."""
    shown = [f"{name} {value:.2f}" for name, value in sorted(paid.items()) if value > EPSILON and name != "other gold"]
    if paid.get("other gold", 0.0) >= 0.5:
        shown.insert(0, f"a wrong answer itself {paid['other gold']:.2f}")
    return ", ".join(shown) or "-"


def markdown(results: list[TaskAudit], before: bool) -> str:
    """The audit table: per task, how it is scored and the most each attack class was paid above
    a wrong answer, before (the task's own scorer) and after (gym.score)."""
    lines = ["| task | scoring | paid before (above a wrong answer) | paid now | result |", "|---|---|---|---|---|"]
    for r in results:
        was = _paid(r.paid_before) if before else "not measured"
        verdict = f"FAIL: {r.failures[0]}" if r.failures else "pass"
        lines.append(f"| `{r.task}` | {r.decision} | {was} | {_paid(r.paid)} | {verdict} |")
    return "\n".join(lines)


def decisions_markdown() -> str:
    """The README's table of the tasks not scored by their own scorer, and why."""
    lines = ["| task | scoring | why |", "|---|---|---|"]
    for task in tasks.all_tasks():
        found = tasks.decision(task)
        if found.kind != "task":
            lines.append(f"| `{task}` | {found.kind} | {found.reason} |")
    return "\n".join(lines)
