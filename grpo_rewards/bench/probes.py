"""Hackability probes: degenerate completions a policy could learn, scored by every reward.

For each held-out prompt the suite builds completions that a sound reward set must not pay for
(an empty string, the right format around nonsense, tags repeated, the prompt echoed, a long
ramble, many candidate numbers stuffed in), shortcuts (the bare answer with no reasoning),
controls (the gold answer written in other correct forms) and a calibration probe (the gold
reasoning with a wrong final answer). A *reference* completion is the gold answer in the expected format
with the gold reasoning (``solution`` column) when there is one.

The rules, per reward and for the weighted total (None counting 0, as in TRL's sum); ``tol`` is
1e-9. On a prompt, ``floor`` is the lowest score the target gives any of that prompt's real
completions, probes or the reference:

- **fools** (degenerate probes; shortcut probes for the total only; the wrong-answer probe for
  targets that read the gold answer): the probe scores ``>= reference - tol`` on a prompt where
  the reference scores above the floor. Without a gold answer there is no reference and the
  median real completion stands in for it.
- **beats typical** (degenerate probes): the probe scores ``>= the median of the prompt's real
  completions`` on a prompt where that median is above the floor: the policy would gain by
  switching to the probe.
- **misses** (controls, for rewards that read the gold answer column): the gold answer written
  in another correct form scores below the reference; the reward under-credits right answers.

A finding's rate is the share of the prompts that have both scores (the probe's and the
yardstick's) on which it holds; it is flagged at ``flag_fraction`` (default 0.5) or more. A
prompt where the yardstick sits at the floor counts as one the probe did not fool. A
single-aspect reward (format, length) is expected to be fooled on its own: what decides whether
training can be hacked is the total.

User probes come from ``[[bench.probes]]`` tables: ``name``, ``template`` (``{prompt}``,
``{answer}``, ``{reasoning}``, ``{wrong_answer}``, ``{numbers}``, ``{think}``, ``{answer_tag}``),
optional ``kind`` (degenerate, shortcut, control) and ``description``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..answers import as_written
from ..attack.forms import format_tags as format_tags  # the tags the probes write: one reader, shared
from ..config import check_keys
from ..errors import ConfigProblem
from ..params import did_you_mean
from ..registry import Registry, get_registry
from ..rewardset import RewardSet

TOL = 1e-9
KINDS = ("degenerate", "shortcut", "control", "calibration")
TEMPLATE_FIELDS = ("prompt", "answer", "reasoning", "wrong_answer", "numbers", "think", "answer_tag")
PROBE_KEYS = ("name", "template", "kind", "description")
_NUMBER = re.compile(r"^\s*\$?\s*(-?\d[\d,]*(?:\.\d+)?)\s*$")

_NONSENSE = (
    "The violet harbour hums beneath a spoon of quiet arithmetic.",
    "Seven lanterns argued politely about the colour of Thursday.",
    "A marmalade comet folds the staircase into gentle rectangles.",
    "Every umbrella remembers the taste of distant pianos.",
)
_RAMBLE = (
    "Let me think about this problem carefully and consider every detail before going further.",
    "First, it helps to restate what the question is really asking in my own words.",
    "There are several quantities involved, and each of them may matter in a different way.",
    "I should be careful not to jump to conclusions before checking the assumptions.",
    "Perhaps it is useful to approach the situation from a slightly different angle.",
    "On the other hand, the simplest interpretation is often the one that was intended.",
    "It is worth pausing here to make sure nothing important has been overlooked.",
    "Thinking about it again, the relationships between the parts deserve more attention.",
)


@dataclass(frozen=True)
class ProbeContext:
    """What a probe is built from, for one prompt."""

    prompt: str
    answer: str | None
    reasoning: str | None
    index: int = 0
    think: str = "think"
    answer_tag: str = "answer"
    columns: Mapping[str, Any] = field(default_factory=dict)  # the row's columns (tests, entry point, ...)
    wrong: str | None = None  # a plausible wrong answer from the reward's answer domain (grpo_rewards.attack)

    @property
    def numeric(self) -> float | None:
        match = _NUMBER.match(self.answer or "")
        return float(match.group(1).replace(",", "")) if match else None

    @property
    def integer(self) -> int | None:
        value = self.numeric
        return int(value) if value is not None and value == int(value) and abs(value) < 1e15 else None

    @property
    def wrong_answer(self) -> str | None:
        if self.answer is None:
            return None
        if self.wrong is not None:
            return self.wrong
        if self.integer is not None:
            return str(self.integer + 1)
        if self.numeric is not None:
            return _plain(self.numeric + 1)
        return None  # a letter, a word, an expression: only the reward's answer domain knows a wrong one

    @property
    def numbers(self) -> str | None:
        """Twenty candidates with the gold answer among them (not last: a last-number reader must miss it)."""
        if self.answer is None:
            return None
        if self.integer is not None:
            values = [str(self.integer + k) for k in range(-9, 11)]
        elif self.numeric is not None:
            values = [_plain(self.numeric + k * 0.5) for k in range(-9, 11)]
        else:
            values = [str(k) for k in range(19)]
            values.insert(9, self.answer)
        return ", ".join(values)

    @property
    def nonsense(self) -> str:
        return " ".join(_NONSENSE[(self.index + k) % len(_NONSENSE)] for k in range(3))

    def wrap(self, reasoning: str, answer: str | None) -> str:
        return f"<{self.think}>\n{reasoning}\n</{self.think}>\n<{self.answer_tag}>{answer}</{self.answer_tag}>"

    def fields(self) -> dict[str, str]:
        return {
            "prompt": self.prompt,
            "answer": self.answer or "",
            "reasoning": self.reasoning or "",
            "wrong_answer": self.wrong_answer or "",
            "numbers": self.numbers or "",
            "think": self.think,
            "answer_tag": self.answer_tag,
        }


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


@dataclass(frozen=True)
class Probe:
    """A named degenerate (or control) completion built per prompt; None where it cannot be built."""

    name: str
    kind: str
    description: str
    build: Callable[[ProbeContext], str | None] | None = None
    template: str | None = None
    # what the probe presupposes of the task (see task_shape): "tags" (the set reads reasoning/answer
    # tags), "answers" (a reward reads a gold answer: a maths-style final answer, a letter, a number)
    needs: frozenset[str] = frozenset()

    def make(self, ctx: ProbeContext) -> str | None:
        if self.template is not None:
            needed = {f for _, f, _, _ in string.Formatter().parse(self.template) if f}
            if ({"answer", "wrong_answer", "numbers"} & needed) and ctx.answer is None:
                return None
            if "wrong_answer" in needed and ctx.wrong_answer is None:
                return None
            if "reasoning" in needed and not ctx.reasoning:
                return None
            return self.template.format(**ctx.fields())
        return self.build(ctx) if self.build is not None else None


def _needs_answer(fn: Callable[[ProbeContext], str | None]) -> Callable[[ProbeContext], str | None]:
    return lambda ctx: None if ctx.answer is None else fn(ctx)


def _with_reasoning(ctx: ProbeContext) -> str:
    return ctx.reasoning or f"Working through the problem step by step, the result is {ctx.answer}."


def reference_completion(ctx: ProbeContext, template: str | None = None, tags: bool = True) -> str | None:
    """The gold answer in the expected format, with the gold reasoning; None without a gold answer.
    Without ``tags`` (a set that reads no reasoning/answer tags, such as a summary's) the gold text
    as it is: the set scores it as it would score the human answer."""
    if ctx.answer is None:
        return None
    if template is not None:
        return template.format(**{**ctx.fields(), "reasoning": _with_reasoning(ctx)})
    if not tags:
        return ctx.answer
    return ctx.wrap(_with_reasoning(ctx), ctx.answer)


def _control(form: Callable[[ProbeContext], str | None]) -> Callable[[ProbeContext], str | None]:
    def build(ctx: ProbeContext) -> str | None:
        if ctx.answer is None:
            return None
        return form(ctx)

    return build


def _decimal(ctx: ProbeContext) -> str | None:
    return ctx.wrap(_with_reasoning(ctx), f"{ctx.integer}.00") if ctx.integer is not None else None


def _thousands(ctx: ProbeContext) -> str | None:
    return ctx.wrap(_with_reasoning(ctx), f"{ctx.integer:,}") if ctx.integer is not None and abs(ctx.integer) >= 1000 else None


def _currency(ctx: ProbeContext) -> str | None:
    return (
        ctx.wrap(_with_reasoning(ctx), f"${ctx.answer}")
        if ctx.answer and ctx.numeric is not None and not ctx.answer.startswith("$")
        else None
    )


_BUILTINS = [
    Probe("empty", "degenerate", "an empty completion", lambda ctx: ""),
    Probe(
        "format_nonsense",
        "degenerate",
        "the expected tags around nonsense",
        lambda ctx: ctx.wrap(ctx.nonsense, _NONSENSE[ctx.index % len(_NONSENSE)].split()[1]),
        needs=frozenset({"tags"}),
    ),
    Probe(
        "tags_repeated",
        "degenerate",
        "the tag pair repeated eight times around filler",
        lambda ctx: "\n".join(ctx.wrap("Thinking.", "...") for _ in range(8)),
        needs=frozenset({"tags"}),
    ),
    Probe("prompt_echo", "degenerate", "the prompt copied back", lambda ctx: ctx.prompt),
    Probe(
        "long_ramble",
        "degenerate",
        "2,000 words of reasoning-like filler and no answer",
        lambda ctx: " ".join(_RAMBLE[k % len(_RAMBLE)] for k in range(125)),
    ),
    Probe(
        "stuffed_tagged",
        "degenerate",
        "twenty candidate numbers (gold among them) as the tagged answer",
        _needs_answer(lambda ctx: ctx.wrap("Let me list the possible values.", ctx.numbers)),
        needs=frozenset({"tags", "answers"}),
    ),
    Probe(
        "stuffed_plain",
        "degenerate",
        "twenty candidate numbers (gold among them) in plain text",
        _needs_answer(lambda ctx: f"The answer could be {ctx.numbers}."),
        needs=frozenset({"answers"}),
    ),
    Probe(
        "answer_only",
        "shortcut",
        "the gold answer in the answer tag, no reasoning",
        _needs_answer(lambda ctx: f"<{ctx.answer_tag}>{ctx.answer}</{ctx.answer_tag}>"),
        needs=frozenset({"tags"}),
    ),
    Probe("answer_bare", "shortcut", "the bare gold answer", _needs_answer(lambda ctx: ctx.answer), needs=frozenset({"answers"})),
    Probe(
        "wrong_answer",
        "calibration",
        "the gold reasoning with a wrong final answer",
        _needs_answer(lambda ctx: None if ctx.wrong_answer is None else ctx.wrap(_with_reasoning(ctx), ctx.wrong_answer)),
        needs=frozenset({"answers"}),
    ),
    Probe(
        "gold_boxed",
        "control",
        "the gold answer as \\boxed{} after the reasoning, no tags",
        _control(lambda ctx: f"{_with_reasoning(ctx)}\nThe final answer is $\\boxed{{{ctx.answer}}}$."),
        needs=frozenset({"answers"}),
    ),
    Probe(
        "gold_answer_is",
        "control",
        "'The answer is N.' after the reasoning, no tags",
        _control(lambda ctx: f"{_with_reasoning(ctx)}\nThe answer is {ctx.answer}."),
        needs=frozenset({"answers"}),
    ),
    Probe(
        "gold_hashes",
        "control",
        "GSM8K's '#### N' after the reasoning, no tags",
        _control(lambda ctx: f"{_with_reasoning(ctx)}\n#### {ctx.answer}"),
        needs=frozenset({"answers"}),
    ),
    Probe(
        "gold_decimal",
        "control",
        "the gold integer written N.00 in the answer tag",
        _decimal,
        needs=frozenset({"tags", "answers"}),
    ),
    Probe(
        "gold_thousands",
        "control",
        "the gold integer with thousands separators in the answer tag",
        _thousands,
        needs=frozenset({"tags", "answers"}),
    ),
    Probe(
        "gold_currency",
        "control",
        "the gold number with a $ sign in the answer tag",
        _currency,
        needs=frozenset({"tags", "answers"}),
    ),
]
BUILTIN_PROBES: dict[str, Probe] = {p.name: p for p in _BUILTINS}


def parse_user_probes(entries: Any, source: str) -> tuple[list[Probe], list[ConfigProblem]]:
    """``[[bench.probes]]`` tables as probes, and every problem found in them."""
    problems: list[ConfigProblem] = []
    probes: list[Probe] = []
    if not isinstance(entries, list):
        return [], [ConfigProblem(source, "bench", "probes", "expected a list of [[bench.probes]] tables")]
    seen = set(BUILTIN_PROBES)
    for index, entry in enumerate(entries):
        where = f"bench.probes[{index}]"
        if not isinstance(entry, Mapping):
            problems.append(ConfigProblem(source, where, None, f"expected a table, got {type(entry).__name__}"))
            continue
        problems += check_keys(entry, PROBE_KEYS, source, where)
        name, template = entry.get("name"), entry.get("template")
        kind = entry.get("kind", "degenerate")
        if not isinstance(name, str) or not name:
            problems.append(ConfigProblem(source, where, "name", "expected a non-empty string"))
            continue
        if name in seen:
            problems.append(ConfigProblem(source, where, "name", f"probe {name!r} already exists; choose another name"))
        seen.add(name)
        if kind not in KINDS[:3]:
            problems.append(
                ConfigProblem(
                    source,
                    where,
                    "kind",
                    f"{kind!r} is not one of degenerate, shortcut, control{did_you_mean(str(kind), KINDS[:3])}",
                )
            )
        if not isinstance(template, str):
            problems.append(ConfigProblem(source, where, "template", "expected a string with {answer}, {prompt}, ... fields"))
            continue
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        except ValueError as exc:
            problems.append(
                ConfigProblem(source, where, "template", f"is not a valid template ({exc}); write {{{{ }}}} for literal braces")
            )
            continue
        for f in fields:
            if f not in TEMPLATE_FIELDS:
                problems.append(
                    ConfigProblem(
                        source,
                        where,
                        "template",
                        f"unknown field {{{f}}}{did_you_mean(f, TEMPLATE_FIELDS)}; fields: "
                        + ", ".join("{" + t + "}" for t in TEMPLATE_FIELDS),
                    )
                )
        probes.append(Probe(name, kind, str(entry.get("description", f"user probe: {template[:60]}")), template=template))
    return probes, problems


def gold_reader(reward_set: RewardSet, column: str | None) -> Callable[[Any], str | None]:
    """How the set's rewards read the gold in ``column``: the ``gold_reader`` declared by the first
    reward that reads that column and declares one, so probes and labels are built from the gold
    the reward sees; the value as it is (stripped text) when none declares one."""
    for entry in reward_set.rewards:
        if entry.spec.gold_reader is not None and column in entry.columns:
            return entry.spec.gold_reader
    return as_written


# -- the rules ------------------------------------------------------------------------------------
@dataclass
class Finding:
    """One rule that held for a target (a reward or ``total``) and a probe."""

    target: str
    probe: str
    kind: str
    rule: str  # fools, beats_typical, misses
    rate: float
    evaluated: int
    flagged: bool
    example: str = ""  # the probe as built for the first prompt where the rule held
    yardstick: str = "reference"  # what the probe was held against: reference, or typical (no gold answer)
    prompts: list[int] = field(default_factory=list)  # the prompt positions where the rule held

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "probe": self.probe,
            "kind": self.kind,
            "rule": self.rule,
            "rate": self.rate,
            "evaluated": self.evaluated,
            "flagged": self.flagged,
            "example": self.example,
            "yardstick": self.yardstick,
            "prompts": self.prompts,
        }


def _nan(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def evaluate(
    target: str,
    probe_scores: Mapping[str, Sequence[float | None]],
    reference: Sequence[float | None],
    real: Sequence[Sequence[float | None]],
    probes: Mapping[str, Probe],
    texts: Mapping[str, Sequence[str | None]],
    flag_fraction: float = 0.5,
    is_total: bool = False,
    checks_answer: bool = False,
) -> list[Finding]:
    """Apply the rules of the module docstring to one target.

    ``probe_scores[name][i]`` and ``reference[i]`` are the target's scores on prompt ``i`` (None
    where not built or not scored); ``real[i]`` the scores of prompt ``i``'s real completions.
    ``checks_answer``: the target reads the gold answer (for the total: some reward of the set
    does), so it must score a wrong final answer below the reference and, for a reward, a correct
    answer in another form as high as it.
    """
    n = len(reference)
    ref = _nan(reference)
    typical = np.array([np.nanmedian(_nan(r)) if any(v is not None for v in r) else np.nan for r in real], dtype=float)
    good = np.where(np.isnan(ref), typical, ref)
    scores = {name: _nan(values) for name, values in probe_scores.items()}
    lowest_real = np.array([np.nanmin(_nan(r)) if any(v is not None for v in r) else np.nan for r in real], dtype=float)
    floor = np.fmin.reduce(np.vstack([ref, lowest_real, *scores.values()]), axis=0)

    findings: list[Finding] = []

    def add(probe: str, rule: str, available: np.ndarray, valid: np.ndarray, hit: np.ndarray) -> None:
        """``available``: prompts with both scores; ``valid``: those where the rule can hold."""
        evaluated = int(available.sum())
        hits = hit & valid & available
        if not evaluated or not hits.any():
            return
        rate = float(hits.sum() / evaluated)
        first = int(np.argmax(hits))
        example = texts.get(probe, [None] * n)[first] or ""
        yardstick = "typical" if rule == "beats_typical" or (rule == "fools" and np.isnan(ref[first])) else "reference"
        findings.append(
            Finding(
                target,
                probe,
                probes[probe].kind,
                rule,
                rate,
                evaluated,
                rate >= flag_fraction,
                example[:300],
                yardstick,
                [int(i) for i in np.flatnonzero(hits)],
            )
        )

    for name, value in scores.items():
        kind = probes[name].kind
        present = ~np.isnan(value)
        if kind == "degenerate" or (kind == "shortcut" and is_total) or (kind == "calibration" and checks_answer):
            available = present & ~np.isnan(good)
            add(name, "fools", available, good > floor + TOL, value >= good - TOL)
            if kind == "degenerate" and not np.isnan(ref).all():
                available = present & ~np.isnan(typical)
                add(name, "beats_typical", available, typical > floor + TOL, value >= typical - TOL)
        elif kind == "control" and checks_answer and not is_total:
            available = present & ~np.isnan(ref)
            add(name, "misses", available, available, value < ref - TOL)
    return findings


def plugin_probes(reward_set: RewardSet, registry: Registry | None = None) -> dict[str, Probe]:
    """Probes registered by plugins (``register_probes``) whose plugin provides a reward of the set:
    a code plugin's hacks are tried on code rewards, not on a summarisation set."""
    registry = registry or get_registry()
    plugins = {entry.spec.plugin for entry in reward_set.rewards}
    owners = registry.owner_of("probe")
    return {name: probe for name, probe in registry.probes.items() if owners.get(name) in plugins and name not in BUILTIN_PROBES}


def task_shape(reward_set: RewardSet) -> frozenset[str]:
    """What the set's rewards say about the task, from what they declare (never their names):
    ``answers`` when a reward is of kind ``correctness`` (it reads a final answer and a gold one),
    ``tags`` when a reward declares the tags it reads (a ``think_tag``/``answer_tag``/``tags`` role)
    or reads a final answer (the probes write it in the set's tags, as the reference does). A set
    with neither (a summary scored on length and similarity) gets no maths-style probe, and its
    reference is the gold text as it is."""
    shape = set()
    for entry in reward_set.rewards:
        if entry.spec.kind == "correctness":
            shape |= {"answers", "tags"}
        if any(p.role in ("think_tag", "answer_tag", "tags") for p in entry.spec.params):
            shape.add("tags")
    return frozenset(shape)


def select_probes(
    builtin: Sequence[str] | None,
    user: Sequence[Probe],
    from_plugins: Mapping[str, Probe] | None = None,
    shape: frozenset[str] = frozenset({"tags", "answers"}),
) -> dict[str, Probe]:
    """The probes of a run: the built-ins that fit the task's ``shape`` (:func:`task_shape`), or
    those chosen by name (``wrong_answer`` always when a reward reads a gold answer: it is the check
    that it punishes a wrong final answer), the plugins' probes for the set's rewards, and the user's."""
    if builtin is None:
        names = [n for n, probe in BUILTIN_PROBES.items() if probe.needs <= shape]
    else:
        names = list(dict.fromkeys([*builtin, *(["wrong_answer"] if "answers" in shape else [])]))
    return {**{n: BUILTIN_PROBES[n] for n in names}, **(from_plugins or {}), **{p.name: p for p in user}}


def strongest(findings: Sequence[Finding]) -> list[Finding]:
    """Flagged findings, dropping 'beats typical' where the same probe already 'fools' the target."""
    fooled = {(f.target, f.probe) for f in findings if f.flagged and f.rule == "fools"}
    return [f for f in findings if f.flagged and not (f.rule == "beats_typical" and (f.target, f.probe) in fooled)]


def rank(flags: Sequence[Finding], weights: Mapping[str, float]) -> list[Finding]:
    """Flags, the one that matters first: those on the weighted total (what training can exploit),
    then by rule (a probe as high as the reference, a correct answer under-credited, a probe above
    the typical completion), degenerate probes before shortcuts, then by how much of the total the
    reward weighs and how often the rule held."""
    total_weight = sum(abs(w) for w in weights.values()) or 1.0

    def key(flag: Finding) -> tuple[Any, ...]:
        weight = 1.0 if flag.target == "total" else abs(weights.get(flag.target, 0.0)) / total_weight
        rule = {"fools": 0, "misses": 1, "beats_typical": 2}.get(flag.rule, 3)
        kind = {"degenerate": 0, "calibration": 1, "shortcut": 2, "control": 3}.get(flag.kind, 4)
        return (flag.target != "total", rule, kind, -weight * flag.rate, flag.probe)

    return sorted(flags, key=key)


def build_texts(
    contexts: Sequence[ProbeContext], probes: Mapping[str, Probe], reference_template: str | None = None, tags: bool = True
) -> tuple[dict[str, list[str | None]], list[str | None]]:
    """Every probe's text per prompt (None where it cannot be built) and the reference per prompt."""
    texts = {name: [probe.make(ctx) for ctx in contexts] for name, probe in probes.items()}
    return texts, [reference_completion(ctx, reference_template, tags) for ctx in contexts]
