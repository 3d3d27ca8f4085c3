"""Is the model still doing the task? An on-topic score for completions, and a drift check.

A reward can rise while the completions stop being about the prompt: the seed's length reward is
won by short sentences about nothing in the abstract. This module scores how on-topic completions
are, against a reference text per prompt, and flags a trained model (``--compare``) whose on-topic
score falls while its reward rises, or whose completions turn into repeated keywords (which win an
embedding similarity, so the on-topic score cannot see them).

Where the score comes from, in order (declared metadata only, never a reward's name):

1. a reward of ``kind="content"`` in the set: its own scores are the on-topic score, unless
   ``[bench] topic_column`` is set (a reward that was trained on is no independent judge of itself);
2. otherwise the first registered ``kind="content"`` reward that reads a reference column and whose
   requirements are installed (``reward_model.similarity`` with the offline MiniLM, in our plugins),
   built with its defaults and pointed at the reference text.

The reference is ``[bench] topic_column``, else the columns a trainer config's template renders the
prompt from (the prompt's source text, e.g. the abstract). With neither, there is no check.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..registry import get_registry
from ..reward import RewardFunction, RewardSpec, Sample
from ..rewardset import RewardSet
from ..runtime import Scorer
from .compare import bootstrap_delta, prompt_means

SHAPING_KINDS = ("format", "length", "style")  # kinds that say the reward reads only the form
REFERENCE_COLUMN = "__topic_reference__"
REPEAT_RISE = 0.1  # a rise in the share of repeated words worth a weakness line (10 points)


@dataclass
class TopicPlan:
    """How on-topic scores are obtained for one bench run."""

    reference: str  # what the completions are compared with, for the report
    reward_name: str | None = None  # a content reward of the set: read its scores
    scorer: RewardFunction | None = None  # else a registered content reward, built here
    scorer_name: str | None = None
    columns: tuple[str, ...] = ()  # the columns joined into the reference text for the scorer


def only_shaping(reward_set: RewardSet) -> bool:
    """Whether every weighted term of the set declares that it reads only the form (length, format,
    style). A reward of kind ``other`` may read anything, so it is not counted as shaping."""
    weighted = [r for r in reward_set.rewards if r.weight != 0]
    return bool(weighted) and all(r.spec.kind in SHAPING_KINDS for r in weighted)


def content_note(reward_set: RewardSet) -> dict[str, str] | None:
    """A note when no reward of the set reads the content: every weighted term is a shaping term."""
    if not only_shaping(reward_set):
        return None
    kinds = ", ".join(f"{r.name} ({r.spec.kind})" for r in reward_set.rewards if r.weight != 0)
    return {
        "kind": "no_content",
        "message": f"no reward in the set reads the content of the completions, only their "
        f"form: {kinds}; a model can raise the reward while abandoning the task: add a correctness or content "
        "reward (e.g. reward_model.similarity against a reference column)",
    }


def plan(
    reward_set: RewardSet, topic_column: str | None, template_fields: Sequence[str], available: set[str]
) -> TopicPlan | None:
    """Choose the reference and the scorer, or None when no on-topic check applies."""
    if topic_column == "":
        return None
    columns = [topic_column] if topic_column else [f for f in template_fields if f in available]
    for entry in reward_set.rewards:
        if entry.spec.kind == "content" and not topic_column:  # a topic_column asked for is an independent check
            read = entry.spec.params.columns(entry.params)
            return TopicPlan(
                reference=f"the reference column(s) {', '.join(map(repr, read)) or '(none)'} of reward {entry.name!r}",
                reward_name=entry.name,
            )
    if not columns:
        return None
    built = _registered_scorer()
    source = "[bench] topic_column" if topic_column else "the prompt's source text (template columns)"
    reference = f"column(s) {', '.join(map(repr, columns))}: {source}"
    if built is None:
        return TopicPlan(reference=reference, columns=tuple(columns))
    spec, scorer = built
    return TopicPlan(reference=reference, scorer=scorer, scorer_name=f"{spec.name} (kind content)", columns=tuple(columns))


def content_reward() -> tuple[RewardSpec, str] | None:
    """The first registered ``kind="content"`` reward that reads one reference column and whose
    requirements are installed, with the name of that column parameter (the on-topic check's
    scorer, here and as the trainer's default canary)."""
    for spec in get_registry().rewards.values():
        column_params = [p for p in spec.params if p.column]
        if spec.kind != "content" or len(column_params) != 1 or spec.missing_requirements():
            continue
        return spec, column_params[0].name
    return None


def _registered_scorer() -> tuple[RewardSpec, RewardFunction] | None:
    found = content_reward()
    if found is None:
        return None
    spec, column = found
    return spec, spec.build({column: REFERENCE_COLUMN}, timeout=None, concurrent=False)


def side_scores(
    topic: TopicPlan, groups: Sequence[Any], grouped: Callable[[str], list[list[float | None]]]
) -> tuple[list[list[float | None]], str | None]:
    """On-topic scores per prompt group of one side, and the scorer's first error if any."""
    if topic.reward_name is not None:
        return grouped(topic.reward_name), None
    if topic.scorer is None:
        return [[] for _ in groups], "no content reward is installed (the similarity reward needs the [train] extra)"
    samples, owner = [], []
    for position, group in enumerate(groups):
        reference = "\n".join(str(group.columns.get(c) or "") for c in topic.columns).strip()
        for completion in group.completions:
            samples.append(Sample(completion.text, group.prompt_text, {REFERENCE_COLUMN: reference}))
            owner.append(position)
    run = Scorer([topic.scorer]).score(samples) if samples else None
    values = run.values[topic.scorer.__name__] if run is not None else []
    out: list[list[float | None]] = [[] for _ in groups]
    for position, value in zip(owner, values):
        out[position].append(value)
    return out, run.stats[topic.scorer.__name__].first_error if run is not None else None


def _mean(groups: list[list[float | None]]) -> float | None:
    present = [v for g in groups for v in g if v is not None]
    return statistics.fmean(present) if present else None


def _prompt_means(groups: list[list[float | None]]) -> list[float | None]:
    """The on-topic mean of each prompt (None where nothing was scored): the HTML report's drift flags."""
    return [None if m != m else float(m) for m in prompt_means(groups)]


def analyse(
    topic: TopicPlan | None, reward_set: RewardSet, sides: Sequence[Any], resamples: int, seed: int
) -> dict[str, Any] | None:
    """The report's ``drift`` section: on-topic means per side and, with two sides, the check.

    ``sides`` are the bench's scored sides (``groups``, ``label``, ``grouped(name)``). The flag:
    the on-topic score of B falls (its 95% interval lies below 0) while B's weighted total rises,
    and no correctness reward of the set rose significantly (terse right answers drift by design).
    """
    if topic is None:
        return None
    scores, errors = [], []
    for side in sides:
        values, error = side_scores(topic, side.groups, side.grouped)
        scores.append(values)
        errors.append(error)
    out: dict[str, Any] = {
        "reference": topic.reference,
        "scorer": f"reward {topic.reward_name!r} of the set" if topic.reward_name else topic.scorer_name,
        "sides": [
            {"label": s.label, "mean": _mean(v), "error": e, "per_prompt": _prompt_means(v)}
            for s, v, e in zip(sides, scores, errors)
        ],
        "compare": None,
        "weaknesses": [],
        "notes": [],
    }
    if len(sides) < 2 or _mean(scores[0]) is None or _mean(scores[1]) is None:
        return out
    a, b = sides[0], sides[1]
    on_topic = bootstrap_delta(prompt_means(scores[0]), prompt_means(scores[1]), resamples, seed=seed)
    total = bootstrap_delta(prompt_means(a.grouped("total")), prompt_means(b.grouped("total")), resamples, seed=seed)
    repeats = bootstrap_delta(
        prompt_means(a.grouped("repeated_words")), prompt_means(b.grouped("repeated_words")), resamples, seed=seed
    )
    out["compare"] = {"on_topic": on_topic, "total": total, "repeated_words": repeats}
    falls = on_topic["high"] is not None and on_topic["high"] < 0
    rises = total["delta"] is not None and total["delta"] > 0
    flagged_repeats = rises and repeats["low"] is not None and repeats["low"] > 0 and repeats["delta"] >= REPEAT_RISE
    if not (flagged_repeats or (falls and rises)):
        return out
    correctness_rose = [  # bootstraps per correctness reward: only once something is to be flagged
        r.name
        for r in reward_set.rewards
        if r.spec.kind == "correctness" and _rose(a.grouped(r.name), b.grouped(r.name), resamples, seed)
    ]
    if flagged_repeats:
        message = (
            f"the compared model's reward rises while its completions repeat themselves: "
            f"{100 * repeats['a']:.0f}% -> {100 * repeats['b']:.0f}% of words repeat an earlier word "
            f"(95% CI of the change [{100 * repeats['low']:+.0f}, {100 * repeats['high']:+.0f}] points)"
        )
        if correctness_rose:
            out["notes"].append(
                {"kind": "repetition", "message": message + f"; correctness ({', '.join(correctness_rose)}) rose too"}
            )
        else:
            out["weaknesses"].append(
                {
                    "kind": "repetition",
                    "message": message + ": keyword lists can win a similarity reward and the on-topic score alike",
                }
            )
    if not (falls and rises):
        return out
    message = (
        f"the compared model's reward rises ({total['a']:.3g} -> {total['b']:.3g}, {total['delta']:+.3g}) while "
        f"its completions drift off-topic: on-topic score {on_topic['a']:.3f} -> {on_topic['b']:.3f} "
        f"({on_topic['delta']:+.3f}, 95% CI [{on_topic['low']:.3f}, {on_topic['high']:.3f}]; "
        f"{out['scorer']} against {topic.reference}): the reward is being won without doing the task"
    )
    if correctness_rose:
        out["notes"].append(
            {
                "kind": "drift",
                "message": message.replace(": the reward is being won without doing the task", "")
                + f"; correctness ({', '.join(correctness_rose)}) rose too, so terser answers are likely",
            }
        )
    else:
        out["weaknesses"].append({"kind": "drift", "message": message})
    return out


def _rose(a: list[list[float | None]], b: list[list[float | None]], resamples: int, seed: int) -> bool:
    row = bootstrap_delta(prompt_means(a), prompt_means(b), resamples, seed=seed)
    return row["low"] is not None and row["low"] > 0


def markdown(drift: dict[str, Any] | None) -> list[str]:
    """The report.md section on how on-topic the completions are."""
    if not drift:
        return []
    out = ["## On-topic check", "", f"Completions compared with {drift['reference']}, scored by {drift['scorer']}.", ""]
    for side in drift["sides"]:
        mean = "n/a" if side["mean"] is None else f"{side['mean']:.3f}"
        out.append(
            f"- {side['label']}: mean on-topic score {mean}" + (f" (first error: `{side['error']}`)" if side["error"] else "")
        )
    c = drift.get("compare")
    if c:
        t = c["on_topic"]
        out.append(f"- B - A: {t['delta']:+.3f} (95% CI [{t['low']:.3f}, {t['high']:.3f}], {t['prompts']} prompts)")
    out += [f"- **weakness: {w['message']}.**" for w in drift["weaknesses"]]
    out += [f"- {n['message']}." for n in drift["notes"]]
    return out + [""]


def notes(drift: dict[str, Any] | None, reward_set: RewardSet) -> list[dict[str, str]]:
    """The drift check's notes for ``report["notes"]``: no content term, a drift explained by correctness."""
    note = content_note(reward_set)
    return ([note] if note else []) + (list(drift["notes"]) if drift else [])


def weaknesses(report: dict[str, Any]) -> list[str]:
    """The drift weaknesses of a report, as the terminal prints them after ``weakness:``."""
    drift = report.get("drift") or {}
    return [w["message"] for w in drift.get("weaknesses", [])]
