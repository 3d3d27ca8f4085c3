"""From a reward set and rows to the attack completions: which attacks each reward gets, built per row.

Seeded and deterministic: every (row, reward, attack) has its own generator, seeded from the run's
seed, so adding a row, a reward or an attack class changes nothing else.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..answers import as_written
from ..attack_types import AnswerDomain, AnswerForm, Attack, AttackContext
from ..registry import Registry, get_registry
from ..reward import message_text
from ..rewardset import RewardSet, WeightedReward
from .domains import CORE_DOMAINS, resolve_domain
from .forms import format_tags, reader_chain, split_forms
from .generic import CORE_ATTACKS, UNREAD_FORM

JUDGED_KINDS = ("correctness",)  # paid = above the wrong score; other kinds: the shaping rule, report-only
WRONG_SCORE_ROLE = "wrong_score"


@dataclass
class Target:
    """One reward under attack, with what the generator knows of it."""

    entry: WeightedReward
    domain: AnswerDomain
    attacks: list[Attack]
    reader: Callable[[str], str | None] | None
    gold_column: str | None

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def kind(self) -> str:
        return self.entry.spec.kind

    @property
    def judged(self) -> bool:
        """Paid is decided against the reward's wrong score (and gates ``--fail-on``)."""
        return self.kind in JUDGED_KINDS

    @property
    def wrong_score(self) -> float:
        """The score of a wrong answer: a parameter declared with ``role="wrong_score"``, else the low
        end of the reward's value range, else 0."""
        for param in self.entry.spec.params:
            if param.role == WRONG_SCORE_ROLE and isinstance(self.entry.params.get(param.name), (int, float)):
                return float(self.entry.params[param.name])
        value_range = self.entry.spec.value_range
        return float(value_range[0]) if value_range else 0.0

    @property
    def rule(self) -> str:
        if self.judged:
            text = f"paid: score > {self.wrong_score:g} (the reward's wrong score)"
            if self.domain.baseline:
                text += ", and above a plainly wrong completion's score on the row, or None where that one was scored"
            return text
        return "paid (report-only): score >= the gold reference's on the row, and above the reward's lowest value"


@dataclass
class Case:
    """One attack completion for one reward on one row."""

    target: str
    attack: str
    family: str
    row: int
    text: str


@dataclass
class Plan:
    targets: list[Target]
    cases: list[Case]
    references: dict[str, dict[int, str]] = field(default_factory=dict)  # shaping targets: row -> reference
    baselines: dict[str, dict[int, str]] = field(default_factory=dict)  # judged targets: row -> plainly wrong completion
    skipped: dict[str, str] = field(default_factory=dict)  # reward -> why it was not attacked

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.targets]


def all_attacks(registry: Registry) -> dict[str, Attack]:
    """The core's attack classes, then every plugin's (a plugin cannot replace a core class)."""
    return {**{k: v for k, v in registry.attacks.items() if k not in CORE_ATTACKS}, **CORE_ATTACKS, UNREAD_FORM.name: UNREAD_FORM}


def all_domains(registry: Registry) -> dict[str, AnswerDomain]:
    return {**registry.domains, **CORE_DOMAINS}


def _gold_column(entry: WeightedReward, present: set[str], configured: str | None) -> str | None:
    if configured:
        return configured if configured in present else None
    for column in [*entry.columns, "answer"]:
        if column in present:
            return column
    return None


def plan_targets(
    reward_set: RewardSet,
    rows: Sequence[Mapping[str, Any]],
    *,
    quick: bool = False,
    gold_column: str | None = None,
    registry: Registry | None = None,
) -> tuple[list[Target], dict[str, str]]:
    """Every reward of the set with its domain and attack classes; rewards that cannot be attacked
    (a column they need is missing from every row, an unknown domain) with the reason."""
    registry = registry or get_registry()
    attacks = all_attacks(registry)
    domains = all_domains(registry)
    present = set().union(*(set(r) for r in rows)) if rows else set()
    targets, skipped = [], {}
    for entry in reward_set.rewards:
        missing = [c for c in entry.columns if c not in present]
        if missing:
            skipped[entry.name] = f"the rows have no column {', '.join(map(repr, missing))}"
            continue
        try:
            domain = resolve_domain(entry.spec.answer_domain, domains, entry.spec.name)
        except ValueError as exc:
            skipped[entry.name] = str(exc)
            continue
        chosen = [a for a in attacks.values() if a.applies(entry.spec.kind, domain) and not (quick and a.heavy)]
        targets.append(Target(entry, domain, chosen, reader_chain(entry, registry), _gold_column(entry, present, gold_column)))
    return targets, skipped


def build_plan(
    reward_set: RewardSet,
    rows: Sequence[Mapping[str, Any]],
    *,
    seed: int = 0,
    quick: bool = False,
    all_forms: bool = False,
    gold_column: str | None = None,
    registry: Registry | None = None,
) -> Plan:
    """Every attack completion for every reward of the set on every row it applies to."""
    targets, skipped = plan_targets(reward_set, rows, quick=quick, gold_column=gold_column, registry=registry)
    think, answer = format_tags(reward_set)
    plan = Plan(targets, [], skipped=skipped)
    for target in targets:
        references: dict[int, str] = {}
        baselines: dict[int, str] = {}
        read_gold = target.entry.spec.gold_reader or as_written  # the gold as this reward reads it
        for index, row in enumerate(rows):
            if any(c not in row for c in target.entry.columns):
                continue
            gold = read_gold(row.get(target.gold_column)) if target.gold_column else None
            prompt = message_text(row.get("prompt", ""))

            def context(name: str, forms: Sequence[AnswerForm] = (), unread: Sequence[AnswerForm] = ()) -> AttackContext:
                return AttackContext(
                    prompt,
                    gold,
                    None,
                    row,
                    forms,
                    wrong,
                    random.Random(f"{seed}|{index}|{target.name}|{name}"),
                    think,
                    answer,
                    all_forms,
                    unread,
                )

            wrong: Mapping[str, Sequence[str]] = {}
            read, unread = split_forms(target.reader, gold, lambda forms: context("forms", forms))
            wrong = target.domain.wrong_answers(gold, row) if target.judged else {}
            if not target.judged and gold is not None:
                references[index] = context("reference").tagged(f"Working through the problem, the result is {gold}.", gold)
            if target.judged and target.domain.baseline is not None:
                text = target.domain.baseline(context("baseline", read))
                if text is not None:
                    baselines[index] = text
            if target.judged and target.domain.textual:
                for name, answers in wrong.items():
                    ctx = context(name, read)
                    for text in (t for w in answers for t in ctx.written(w)):
                        plan.cases.append(Case(target.name, name, target.domain.families.get(name, "near_miss"), index, text))
            for attack in target.attacks:
                ctx = context(attack.name, read, unread)
                for text in attack.build(ctx):
                    plan.cases.append(Case(target.name, attack.name, attack.family, index, text))
        if references:
            plan.references[target.name] = references
        if baselines:
            plan.baselines[target.name] = baselines
    return plan


def sample_rows(rows: Sequence[Mapping[str, Any]], limit: int | None, seed: int) -> list[Mapping[str, Any]]:
    """``limit`` rows drawn with the seed, in their original order (all rows without a limit)."""
    if limit is None or limit >= len(rows):
        return list(rows)
    chosen = sorted(random.Random(f"rows|{seed}").sample(range(len(rows)), limit))
    return [rows[i] for i in chosen]


def first_wrong_answer(
    reward_set: RewardSet, gold: str | None, columns: Mapping[str, Any], registry: Registry | None = None
) -> str | None:
    """The most plausible wrong answer for ``gold`` in the answer domain of the set's first
    correctness reward with a textual domain (the bench's wrong-answer probe); None without one."""
    if gold is None:
        return None
    registry = registry or get_registry()
    domains = all_domains(registry)
    for entry in reward_set.rewards:
        if entry.spec.kind not in JUDGED_KINDS:
            continue
        try:
            domain = resolve_domain(entry.spec.answer_domain, domains, entry.spec.name)
        except ValueError:
            continue
        if domain.textual:
            for answers in domain.wrong_answers(gold, columns).values():
                return answers[0]
    return None
