"""The answer forms attacks are written in, and which of them a reward reads.

A reward that declares an extractor list (a parameter with ``refers_to="extractor"``) reads the
forms its extractors give the gold back from, tried here on the gold itself: no extractor or reward
is known by name. A reward without such a parameter is assumed to read every form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..attack_types import AnswerForm
from ..registry import Registry
from ..rewardset import RewardSet, WeightedReward

FORMS: tuple[AnswerForm, ...] = (
    AnswerForm("boxed", lambda a, ctx, r: f"{r}\nThe final answer is $\\boxed{{{a}}}$."),
    AnswerForm("answer_tag", lambda a, ctx, r: ctx.tagged(r, a), wraps_reasoning=True),
    AnswerForm("answer_is", lambda a, ctx, r: f"{r}\nThe answer is {a}."),
    AnswerForm("hashes", lambda a, ctx, r: f"{r}\n#### {a}"),
    AnswerForm("last_number", lambda a, ctx, r: f"{r} Putting it together, we finally get {a}"),
)


def format_tags(reward_set: RewardSet) -> tuple[str, str]:
    """(reasoning tag, answer tag) the set expects, from the parameters its rewards declare with a
    tag ``role``: a list of elements first (reasoning first, answer last), then a think/answer pair;
    else think/answer."""
    declared = [{p.role: entry.params.get(p.name) for p in entry.spec.params if p.role} for entry in reward_set.rewards]
    for roles in declared:
        tags = roles.get("tags")
        if isinstance(tags, list) and tags:
            return (str(tags[0]) if len(tags) > 1 else "think"), str(tags[-1])
    for roles in declared:
        if roles.get("think_tag") and roles.get("answer_tag"):
            return str(roles["think_tag"]), str(roles["answer_tag"])
    return "think", "answer"


def reader_chain(entry: WeightedReward, registry: Registry) -> Callable[[str], str | None] | None:
    """The reward's answer reader (its extractors in order, first answer wins), or None when it
    declares no extractor list."""
    names: list[str] | None = None
    for param in entry.spec.params:
        if param.refers_to == "extractor" and isinstance(entry.params.get(param.name), list):
            names = [str(n) for n in entry.params[param.name]]
    if names is None:
        return None
    functions = [registry.extractor(n) for n in names if n in registry.extractors]

    def read(text: str) -> str | None:
        for fn in functions:
            try:
                found = fn(text)
            except Exception:
                found = None
            if found is not None and found.strip():
                return found
        return None

    return read


def split_forms(
    reader: Callable[[str], str | None] | None, gold: str | None, ctx_for: Callable[[Sequence[AnswerForm]], Any]
) -> tuple[list[AnswerForm], list[AnswerForm]]:
    """(forms the reward reads an answer from, forms it reads nothing from), tried on this row's gold.

    Without a reader every form counts as read and none as unread; a form read as something other
    than the gold still counts as read (the reward compares values, not text)."""
    if reader is None or gold is None:
        return list(FORMS), []
    ctx = ctx_for(FORMS)
    read: list[AnswerForm] = []
    unread: list[AnswerForm] = []
    for form in FORMS:
        (read if reader(form.write(gold, ctx)) is not None else unread).append(form)
    return (read or list(FORMS)), (unread if read else [])
