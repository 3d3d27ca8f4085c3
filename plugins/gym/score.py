"""``gym.score``: a completion scored as its reasoning-gym task's audit decided.

The row says which task it came from (the ``source_dataset`` in its metadata column, as
``builtin:gym:<task>`` writes it); the answer is read with the project's extractors, through the
registry, so a third-party extractor works too. An answer too large for a scorer's arithmetic
scores 0 unread; then the task's own scorer (partial credit where it gives it) or, where that
scorer pays answers that solve nothing, exact match of the normalised answer (:mod:`.decisions`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from grpo_rewards import Param, Sample, Scored, reward
from grpo_rewards.timelimit import RewardTimeout, time_limit

from ..math.echo import without_echo
from ..math.extract import conclusions_after, extract_with_source, final_marker_position
from .decisions import FOLD_CASE
from .strict import same_answer, strict_score, unbounded
from .tasks import INSTALL, PACKAGE, decision, refusal, scorer

THINK_CLOSE = "</think>"


def answer_text(completion: str, after_think: bool) -> str | None:
    """Where the answer is read: after the last ``</think>`` whenever the block is closed (anything
    inside it is a draft, as for math.correct); else the whole text, or None under ``after_think``
    when ``<think>`` opens and never closes."""
    closed = completion.rfind(THINK_CLOSE)
    if closed >= 0:
        return completion[closed + len(THINK_CLOSE) :]
    return None if after_think and "<think>" in completion else completion


# Final-answer markers a completion may write, read or not by the reward's extractor order.
FINAL_MARKERS = ("boxed", "answer_tag", "gsm8k", "answer_is")
# The fallback that reads any number: it alone would read a number the completion copied from the
# question ("Solve the following multiplication: 1 * 7"), so for it the echoed question is blanked.
ANY_NUMBER = "last_number"


def stated_otherwise(text: str, extractor: str | None, answer: str) -> str | None:
    """Why ``answer`` is not the completion's one final answer, or None: a concluding statement after
    its marker gives another value ("The answer is 30. Checking once more, we finally get 31"), or
    a final-answer marker written after it states another ("The answer is 30. ... #### 31"), whether
    or not the reward's extractors read that marker. Two final answers are a hedge, whichever one an
    extractor order happens to read first."""
    position = final_marker_position(text, [extractor]) if extractor else None
    if position is None:
        return None
    if any(not same_answer(concluded, answer) for concluded in conclusions_after(text, position)):
        return "a concluding statement after the final answer gives another value"
    for marker in FINAL_MARKERS:
        later = final_marker_position(text, [marker])
        if later is not None and later > position:
            other = extract_with_source(text[later:], [marker])[0]
            if other is not None and not same_answer(other, answer):
                return f"a later final answer ({marker}) gives another value"
    return None


def entry_of(columns: Mapping[str, Any], answer_column: str, metadata_column: str) -> dict[str, Any] | None:
    """The reasoning-gym item a row was generated from, or None when the row carries no metadata."""
    raw = columns.get(metadata_column)
    if isinstance(raw, str):
        if not raw.strip():
            return None
        metadata = json.loads(raw)
    elif isinstance(raw, Mapping):
        metadata = dict(raw)
    else:
        return None
    if not isinstance(metadata, dict) or not metadata.get("source_dataset"):
        return None
    gold = columns.get(answer_column)
    return {"question": columns.get("question", ""), "answer": "" if gold is None else str(gold), "metadata": metadata}


@reward(
    "gym.score",
    description=(
        "The reasoning-gym task's score (in [0, 1]) of the answer the completion states, read with "
        "`extractors` after the last </think> when the completion closes one (a box inside the block is a draft): the task's own scorer where the audit "
        "found it pays no constant, hedge or junk (only a full score counts unless `partial_credit`), else exact "
        "match of the normalised answer "
        "(`grpo-rewards gym audit --decisions`). "
        "Rows come from builtin:gym:<task>; None for a row without task metadata. Needs the [gym] extra "
        f"({INSTALL}); `grpo-rewards gym list` shows the tasks."
    ),
    params=[
        Param("answer_column", str, "answer", "column with the gold answer", column=True),
        Param("metadata_column", str, "metadata", "column with the task metadata (JSON) that the scorer reads", column=True),
        Param(
            "extractors",
            list,
            ["answer_tag", "boxed"],
            "answer extractors to try, in order (answer_tag, boxed, whole, last_number, ... as plugins register them)",
            refers_to="extractor",
        ),
        Param("after_think", bool, False, "require a closed reasoning block: an unclosed <think> scores 0"),
        Param(
            "partial_credit",
            bool,
            False,
            "keep the partial credit (below 1) of tasks scored by their own scorer; by default only a full score "
            "counts, since partial credit pays constants and near misses (palindrome_generation pays '0' 0.05)",
        ),
        Param(
            "item_timeout",
            float,
            5.0,
            "seconds one task scorer may take on one completion (then None, counted as an error)",
            min=0.01,
        ),
    ],
    value_range=(0.0, 1.0),
    kind="correctness",
    answer_domain="gym",
    requires=((PACKAGE, INSTALL),),
    batched=True,  # so that reasoning-gym is imported once, outside the per-completion time limit
    timeout=None,
)
def gym_score(
    samples: list[Sample],
    answer_column: str,
    metadata_column: str,
    extractors: list[str],
    after_think: bool,
    partial_credit: bool,
    item_timeout: float,
) -> list[Scored | BaseException]:
    out: list[Scored | BaseException] = []
    for sample in samples:
        try:
            out.append(_score_one(sample, answer_column, metadata_column, extractors, after_think, partial_credit, item_timeout))
        except RewardTimeout:
            out.append(TimeoutError(f"the task scorer timed out after {item_timeout:g}s"))
        except Exception as exc:  # one bad row is a counted None, not a failed batch
            out.append(exc)
    return out


def _score_one(
    sample: Sample,
    answer_column: str,
    metadata_column: str,
    extractors: list[str],
    after_think: bool,
    partial_credit: bool,
    item_timeout: float,
) -> Scored:
    entry = entry_of(sample.columns, answer_column, metadata_column)
    if entry is None:
        return Scored(None, {"why": f"no task metadata in column {metadata_column!r}"})
    task = entry["metadata"]["source_dataset"]
    why = refusal(task)
    if why:
        raise ValueError(f"task {task!r} is not scored: {why}")
    completion = answer_text(sample.completion, after_think)
    # math.correct's reading: a look-alike minus is a minus, a refused marker ends the search
    answer, extractor = extract_with_source(completion, extractors) if completion is not None else (None, None)
    if extractor == ANY_NUMBER and completion is not None:  # a number read from the echoed question is no answer
        answer, extractor = extract_with_source(without_echo(completion, sample.prompt), extractors)
    details: dict[str, Any] = {"task": task, "extractor": extractor, "read": _shown(answer), "gold": _shown(entry["answer"])}
    if answer is None:
        reason = "after_think: the <think> block is never closed" if completion is None else "no extractor found an answer"
        return Scored(0.0, {**details, "why": reason})
    hedge = stated_otherwise(completion, extractor, answer) if completion is not None else None
    if hedge:
        return Scored(0.0, {**details, "why": hedge})
    if decision(task).kind == "strict":  # bounds its own number reading
        value = strict_score(answer, entry["answer"], fold_case=task in FOLD_CASE)
        return Scored(value, {**details, "scored_by": "exact match (the audit's decision)"})
    if unbounded(answer):  # too large for the task scorer's arithmetic: wrong, unread
        return Scored(0.0, {**details, "why": "a number too large for the task's scorer: wrong, unread"})
    score_answer = scorer(task)  # imports reasoning-gym on first use: not under the item's limit
    with time_limit(item_timeout):
        value = float(score_answer(answer=answer, entry=entry))
    details.update({"scored_by": "the task's own scorer", "task_score": value})
    if partial_credit:
        return Scored(0.0 if value <= PARTICIPATION_CREDIT else value, details)
    return Scored(1.0 if value >= 1.0 else 0.0, details)


def _shown(text: str | None, limit: int = 120) -> str | None:
    """Text bounded for details, which travel in every output row."""
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


# Many reasoning-gym scorers give 0.01 to any answer that is present but wrong: paid for answering
# anything, a constant beats an honest "I don't know". It is never kept.
PARTICIPATION_CREDIT = 0.01
