"""A worked correctness plugin: multiple-choice answers (one letter), written as a plugin author would.

It shows each piece a correctness reward declares so that the tools treat it like a built-in:

- ``kind="correctness"``: it reads a gold answer, so ``bench`` measures its agreement with gold labels
  and tries wrong answers on it, and ``attack`` attacks it;
- ``Param(..., column=True)``: the gold column, checked against the data before anything runs;
- ``Param(..., refers_to="extractor")``: an extractor list the config may reorder or extend with any
  registered extractor (this plugin adds ``choice_letter``). The reward receives it bound: each item is
  the extractor itself (call it) and still its name (compare or print it);
- ``Param(..., role="wrong_score")``: the score of a wrong answer, so ``attack`` knows what "paid" means;
- ``answer_domain="choices"``: a plausible wrong answer is another letter (the bench's wrong-answer
  probe and ``attack`` use it), never a number;
- ``gold_reader``: how it reads the gold column ("C", "(C)", "Answer: C"), which the bench also uses;
- ``Scored(value, details)``: what ``explain`` and every JSONL show beside the score.

Load it with ``plugins = ["letter_answer.py"]`` in a reward-set config (``letter-answer.toml``).
"""

from __future__ import annotations

import re

from grpo_rewards import Param, Sample, Scored, hookimpl, reward

LETTERS = "ABCDE"
# One letter alone, or in brackets, or with a closing bracket or full stop: "C", "(C)", "C)", "c." (no
# option text after it: "C or D" and "C) or D)" are hedges, not answers)
_ONE_LETTER = re.compile(r"^[(\[]?([A-Za-z])[)\].]?$")
# "the answer is (C)", "Answer: C": what follows the last such marker, to the end of its line
_STATED = re.compile(r"(?i:the\s+(?:correct\s+)?answer\s+is|answer\s*:)")
# a capital letter standing alone after the marker: upper-case only, so "the answer is a guess" names no letter
_LEAD = re.compile(r"[(\[]?([A-Z])[)\]]?(?=[\s.,;:!?]|$)")
_OTHER_LETTER = re.compile(r"(?<![\w'])[A-J](?![\w'])")


def choice_letter(text: str) -> str | None:
    """An extractor: the capital letter after the last "the answer is" / "Answer:"; None without the
    marker, "" when no capital letter follows it. When the rest of that sentence names another letter
    ("the answer is C or D", "C, not D") it returns the whole line, which no letter reading accepts:
    a hedge is no answer."""
    markers = list(_STATED.finditer(text))
    if not markers:
        return None
    rest = text[markers[-1].end() :].split("\n", 1)[0].strip()
    lead = _LEAD.match(rest)
    if lead is None:  # no capital letter after the marker ("the answer is a guess", "answer: c"): no answer
        return ""
    sentence = re.split(r"[.!?](?:\s|$)", rest[lead.end() :], maxsplit=1)[0]
    return rest if _OTHER_LETTER.search(sentence) else lead.group(0)


def read_letter(text: str | None, letters: str = LETTERS) -> str | None:
    """The single letter an answer names, upper-cased, or None: "A or C", "A, C" and "E" when the
    choices are A-D are no letter (a hedge, or an option that does not exist)."""
    if text is None:
        return None
    match = _ONE_LETTER.match(text.strip())
    if match is None:
        return None
    letter = match.group(1).upper()
    return letter if letter in letters else None


def gold_letter(raw: object) -> str | None:
    """The gold column as a letter: "C", "(C)", "Answer: C"."""
    if not isinstance(raw, str):
        return None
    return read_letter(choice_letter(raw) or raw, "ABCDEFGHIJ")


@reward(
    "letters.correct",
    kind="correctness",
    description="1 when the completion's final choice is the gold letter; a hedge ('A or C'), a letter "
    "that is not an option, or no answer scores wrong_score.",
    params=[
        Param("answer_column", str, "answer", "column holding the gold letter", column=True),
        Param("letters", str, "ABCD", "the options a question has"),
        Param(
            "extractors",
            list,
            ["answer_tag", "choice_letter"],
            "extractors to try, in order (any registered extractor)",
            refers_to="extractor",
        ),
        Param("wrong_score", float, 0.0, "score of a wrong or missing answer", min=0.0, max=1.0, role="wrong_score"),
    ],
    value_range=(0.0, 1.0),
    gold_reader=gold_letter,
    answer_domain="choices",
)
def letters_correct(sample: Sample, answer_column: str, letters: str, extractors: list, wrong_score: float) -> Scored:
    gold = gold_letter(sample.columns.get(answer_column))
    if gold is None:
        return Scored(None, {"why": f"no gold letter in column {answer_column!r}"})
    for extract in extractors:  # each item is the extractor, and also its name
        found = extract(sample.completion)
        if found is not None and found.strip():
            break
    else:
        return Scored(wrong_score, {"extractor": None, "gold": gold, "why": "no extractor found an answer"})
    letter = read_letter(found, letters.upper())
    details = {"extractor": str(extract), "read": found.strip()[:80], "gold": gold}
    if letter is None:
        return Scored(wrong_score, {**details, "why": f"not one of the letters {letters}"})
    if letter != gold:
        return Scored(wrong_score, {**details, "why": "another letter"})
    return Scored(1.0, {**details, "why": "the gold letter"})


@hookimpl
def register_rewards(register):
    register(letters_correct)


@hookimpl
def register_extractors(register):
    register("choice_letter", choice_letter)
