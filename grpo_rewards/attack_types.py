"""What an attack is: a named class of completions built from one row, and the answer domain that
tells the generator what a plausible wrong answer looks like.

Plugins register both through the ``register_attacks`` hook (:mod:`grpo_rewards.hookspecs`); a
reward points at its domain with ``@reward(..., answer_domain=...)``. Nothing here knows a reward
or a plugin by name: an attack says which reward kinds and answer domains it is for.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Attack families, as the report groups them.
FAMILIES = ("near_miss", "structure", "forgery", "constant", "shape")
NEUTRAL_REASONING = "Let me work through the problem step by step and check each step."
ALL_KINDS = ("correctness", "content", "format", "length", "style", "other")


@dataclass(frozen=True)
class AttackContext:
    """One row as an attack sees it: the prompt, the gold answer, the reward's answer forms.

    ``forms`` are the answer forms the reward under attack reads (functions ``answer -> completion``,
    e.g. a ``\\boxed{}`` after a line of reasoning), ``wrong`` the domain's plausible wrong answers
    by class, ``rng`` a generator seeded from the run's seed, the row, the reward and the attack.
    """

    prompt: str
    gold: str | None
    reasoning: str | None
    columns: Mapping[str, Any]
    forms: Sequence[AnswerForm]
    wrong: Mapping[str, Sequence[str]]
    rng: random.Random
    think_tag: str = "think"
    answer_tag: str = "answer"
    all_forms: bool = False
    unread_forms: Sequence[AnswerForm] = ()  # forms the reward's declared extractors do not read

    @property
    def first_wrong(self) -> str | None:
        """The domain's most plausible wrong answer (its first), or None when it has none."""
        for answers in self.wrong.values():
            if answers:
                return answers[0]
        return None

    def written(self, answer: str, reasoning: str | None = None) -> list[str]:
        """``answer`` in the forms the reward reads: one chosen by ``rng`` (all with ``all_forms``)."""
        return [form.write(answer, self, reasoning) for form in self.chosen_forms()]

    def chosen_forms(self, forms: Sequence[AnswerForm] | None = None) -> list[AnswerForm]:
        pool = list(self.forms if forms is None else forms)
        if not pool:
            return []
        return pool if self.all_forms else [self.rng.choice(pool)]

    def tagged(self, reasoning: str, answer: str) -> str:
        return f"<{self.think_tag}>\n{reasoning}\n</{self.think_tag}>\n<{self.answer_tag}>{answer}</{self.answer_tag}>"


@dataclass(frozen=True)
class AnswerForm:
    """One way a completion states its final answer (``\\boxed{}``, an answer tag, "The answer is")."""

    name: str
    template: Callable[[str, AttackContext, str], str]
    wraps_reasoning: bool = False  # the form puts the reasoning inside the think tags itself

    def write(self, answer: str, ctx: AttackContext, reasoning: str | None = None) -> str:
        """The completion: ``reasoning`` (a neutral line by default) then ``answer`` in this form."""
        return self.template(answer, ctx, NEUTRAL_REASONING if reasoning is None else reasoning)


@dataclass(frozen=True)
class Attack:
    """A class of completions a reward must not pay for, built per row.

    ``build(ctx)`` returns the completions of the class for one row (none where it does not apply).
    ``kinds``: the reward kinds it is tried on; ``domains``: the answer domains (None: every domain;
    ``textual_only``: only domains whose answers are short texts, not programs). ``heavy`` marks an
    attack that costs seconds per row (a loop until the time limit, a filesystem walk): ``--quick``
    leaves it out.
    """

    name: str
    family: str
    description: str
    build: Callable[[AttackContext], Sequence[str]]
    kinds: tuple[str, ...] = ("correctness",)
    domains: tuple[str, ...] | None = None
    textual_only: bool = False
    heavy: bool = False

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"attack {self.name!r}: family must be one of {', '.join(FAMILIES)}, got {self.family!r}")

    def applies(self, kind: str, domain: AnswerDomain | None) -> bool:
        if kind not in self.kinds:
            return False
        if self.textual_only and (domain is None or not domain.textual):
            return False
        return self.domains is None or (domain is not None and domain.name in self.domains)


WrongAnswers = Callable[[str, Mapping[str, Any]], Mapping[str, Sequence[str]]]


@dataclass(frozen=True)
class AnswerDomain:
    """What a correctness reward's answers are: choices, integers, expressions, code, a task's verdicts.

    ``wrong(gold, columns)`` gives plausible wrong answers for a gold answer, by class name (``sign``,
    ``off_by_one``, ``other_choice``...): each class becomes an attack, written in every answer form
    the reward reads. Every answer it returns must be wrong for that row. ``textual``: answers are
    short texts (False for programs, where only the domain's own attacks apply). ``baseline(ctx)``: a
    plainly wrong completion for the row, for domains where honest wrong work earns partial credit
    (a wrong program passes a test that never calls it): an attack is then paid only above it.
    """

    name: str
    description: str
    wrong: WrongAnswers = field(default=lambda gold, columns: {})
    textual: bool = True
    families: Mapping[str, str] = field(default_factory=dict)  # class -> family (default near_miss)
    baseline: Callable[[AttackContext], str | None] | None = None

    def wrong_answers(self, gold: str | None, columns: Mapping[str, Any]) -> dict[str, list[str]]:
        """The domain's wrong answers for ``gold``, each class's answers de-duplicated, the gold
        itself and empty strings left out."""
        if gold is None:
            return {}
        out: dict[str, list[str]] = {}
        for name, answers in self.wrong(gold, columns).items():
            kept = [a for a in dict.fromkeys(answers) if a and a.strip() and a.strip() != gold.strip()]
            if kept:
                out[name] = kept
        return out
