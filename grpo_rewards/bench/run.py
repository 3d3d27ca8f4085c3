"""One benchmark run, from a config and held-out prompts to a report dictionary.

The order matters for the user's time: the config, the prompts and the columns the rewards need
are all checked before a model is loaded; generation (the slow part) is cached.
"""

from __future__ import annotations

import copy
import datetime
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..attack.plan import first_wrong_answer
from ..attack.run import bench_section
from ..errors import RunError
from ..registry import Registry, get_registry
from ..rows import shareable_location
from ..scoring import score_rows
from . import aggregation as aggregation_mod
from . import analysis, diagnose, drift, overlap
from . import compare as compare_mod
from . import probes as probes_mod
from . import sections as sections_mod
from .data import PromptGroup, gold_column, gold_reasoning, group_rows, read_prompt_rows
from .engine import TimedScores, make_row, score_timed
from .settings import BenchConfig, load_bench_config
from .variants import extractor_variants

REPORT_VERSION = 1
EXAMPLE_CHARS = 600


@dataclass
class Side:
    """One model's completions (or the given ones) with their scores."""

    label: str
    groups: list[PromptGroup]
    scores: TimedScores
    generation: dict[str, Any] | None = None
    owner: list[int] = field(default_factory=list)  # row -> group position

    def grouped(self, name: str) -> list[list[float | None]]:
        """A reward's scores (or ``total``, or one of the text metrics) per group."""
        if name == "total":
            values = self.totals()
        elif name in analysis.TEXT_METRICS:
            measure = analysis.TEXT_METRICS[name]
            values = [measure(c.text) for g in self.groups for c in g.completions]
        else:
            values = self.scores.result.values[name]
        out: list[list[float | None]] = [[] for _ in self.groups]
        for position, value in zip(self.owner, values):
            out[position].append(value)
        return out

    def totals(self) -> list[float | None]:
        return self.scores.result.total  # weights at --step, gates applied: scoring's one total


@dataclass
class BenchResult:
    """The report (JSON-ready) and the scored sides behind it."""

    report: dict[str, Any]
    sides: list[Side]
    config: BenchConfig

    @property
    def flags(self) -> list[dict[str, Any]]:
        flags: list[dict[str, Any]] = self.report["probes"]["flags"]
        return flags


def run_bench(
    config_path: str | Path,
    prompts: str,
    *,
    model: str | None = None,
    num_generations: int | None = None,
    compare: str | None = None,
    limit: int | None = None,
    workers: int | None = None,
    seed: int | None = None,
    cache_dir: str | Path | None = None,
    log: Callable[[str], None] = print,
    step: int | None = None,
    executor: str | None = None,
) -> BenchResult:
    """Benchmark the reward set of ``config_path`` on ``prompts``. Raises ConfigError / InputError
    for problems in the config or the prompts, before any model is loaded."""
    cfg = load_bench_config(config_path)
    cfg.reward_set.step = step  # weights at this TRL global step (None: the end of every schedule)
    if executor is not None:
        cfg.reward_set.use_executor(executor)  # every reward on it (--executor); ConfigError when unknown
    workers = workers or cfg.workers
    seed = cfg.seed if seed is None else seed
    factory = sampler_factory()
    rows, source = read_prompt_rows(prompts, None, factory.data_options(cfg, prompts) if factory is not None else None)
    fields = factory.prompt_fields(cfg) if factory is not None else []
    groups = group_rows(rows, source, fields, limit)
    available = set().union(*(g.columns for g in groups)) | {"prompt"}
    cfg.reward_set.check_columns(available, f"--prompts {source}")
    topic = drift.plan(cfg.reward_set, cfg.topic_column, fields, available)

    missing = [g for g in groups if not g.completions]
    if (missing or compare) and factory is None:
        raise RunError(
            f"{len(missing)} of {len(groups)} prompts have no completions and no plugin can sample them: "
            "install the trainer (pip install 'grpo-rewards[train]') or give rows with a 'completion'"
        )
    model_name = model
    if missing and model_name is None:
        model_name = factory.default_model(cfg)
        log(f"{len(missing)} of {len(groups)} prompts have no completions: sampling them with {model_name}")
    if model is not None and not missing:
        log("every prompt carries completions: they are scored as they are and --model is not used")
    generator = factory.open(cfg, cache_dir, num_generations, seed, log) if (missing or compare) else None
    if generator is not None:
        generator.check_fields(groups if compare else missing)

    training = factory.training_rows(cfg, log) if factory is not None else None
    seen: list[int] = []
    seen_entry = None
    if training is not None:
        training_rows, description = training
        seen = overlap.seen_positions(groups, training_rows, fields)
        seen_entry = overlap.summary(seen, len(groups), len(training_rows), description)

    pristine = copy.deepcopy(groups)
    generation = generator.run(model_name, missing) if generator is not None and missing else None
    side_a = _score_side(cfg, side_label("A", model_name), groups, generation, workers)
    figures = _analyse(cfg, side_a)
    probe_report = _probe(cfg, side_a, workers)

    sides = [side_a]
    compare_report: dict[str, Any] | None = None
    if compare:
        groups_b = copy.deepcopy(pristine)
        for g in groups_b:
            g.completions = []
        generation_b = generator.run(compare, groups_b) if generator is not None else None
        side_b = _score_side(cfg, side_label("B", compare), groups_b, generation_b, workers)
        sides.append(side_b)
        metrics = [*cfg.reward_set.names, "total", *analysis.TEXT_METRICS]
        a_scores = {m: side_a.grouped(m) for m in metrics}
        b_scores = {m: side_b.grouped(m) for m in metrics}
        compare_report = {
            "a": side_a.label,
            "b": side_b.label,
            "rows": compare_mod.compare_sides(metrics, a_scores, b_scores, cfg.bootstrap, seed),
            "unseen_rows": None,
            "b_figures": _analyse(cfg, side_b, variants=False),
            "generation": generation_b,
        }
        if seen and len(seen) < len(groups):
            compare_report["unseen_rows"] = compare_mod.compare_sides(
                metrics,
                {m: overlap.unseen_only(v, seen) for m, v in a_scores.items()},
                {m: overlap.unseen_only(v, seen) for m, v in b_scores.items()},
                cfg.bootstrap,
                seed,
            )

    report = {
        "version": REPORT_VERSION,
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "config": cfg.source,
        "prompts": source,
        "step": step,
        "rewards": [
            {
                "name": r.name,
                "use": r.spec.name,
                "weight": r.weight_at(step),
                "params": r.params,
                "value_range": list(r.spec.value_range) if r.spec.value_range else None,
            }
            for r in cfg.reward_set.rewards
        ],
        "data": {
            "prompts": len(groups),
            "completions": len(side_a.owner),
            "group_sizes": _counts(len(g.completions) for g in groups),
            "seen_in_training": seen_entry,
        },
        "generation": generation,
        **figures,
        "probes": probe_report,
        "attacks": bench_section(cfg.reward_set, [{**g.columns, "prompt": g.prompt} for g in groups], seed, workers),
        "sections": sections_mod.run_sections(
            cfg.reward_set,
            [sections_mod.HeldOut(g.prompt, g.columns, [c.text for c in g.completions]) for g in groups],
            cfg.section_options,
            cfg.base_dir,
            seed,
            log,
        ),
        "compare": compare_report,
    }
    report["drift"] = drift.analyse(topic, cfg.reward_set, sides, cfg.bootstrap, seed)
    report["notes"] = (
        diagnose.notes(report)
        + drift.notes(report["drift"], cfg.reward_set)
        + overlap.note(seen_entry, compare_report["unseen_rows"] if compare_report else None)
        + ([{"kind": "reference", "message": probe_report["reference_dropped"]}] if probe_report.get("reference_dropped") else [])
    )
    return BenchResult(report, sides, cfg)


# -- the sampler, from whichever plugin provides one (the trainer does) ---------------------------
def sampler_factory(registry: Registry | None = None) -> Any:
    """The ``bench_sampler`` hook's answer, or None when no plugin can sample."""
    return (registry or get_registry()).pm.hook.bench_sampler()


def _counts(values: Iterable[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[str(v)] = out.get(str(v), 0) + 1
    return out


# -- scoring and figures --------------------------------------------------------------------------
def side_label(letter: str, model: str | None) -> str:
    """``A: …/final``: a side as reports name it, a local folder by its last part (reports are shared)."""
    return f"{letter}: {shareable_location(model) if model else 'given completions'}"


def _score_side(cfg: BenchConfig, label: str, groups: list[PromptGroup], generation: dict[str, Any] | None, workers: int) -> Side:
    rows, owner = [], []
    for position, group in enumerate(groups):
        for completion in group.completions:
            rows.append(make_row(group.prompt, completion.text, completion.columns, completion.completion_ids))
            owner.append(position)
    scores = score_timed(cfg.reward_set, rows, workers=workers)
    return Side(label, groups, scores, generation, owner)


def _labels(cfg: BenchConfig, side: Side) -> dict[str, str]:
    """Reward -> gold label column: configured, or ``correct`` for rewards of kind ``correctness``
    when the data has it."""
    present = set().union(*(c.columns for g in side.groups for c in g.completions)) if side.owner else set()
    labels = {name: column for name, column in cfg.labels.items() if column in present}
    if "correct" in present:
        for entry in cfg.reward_set.rewards:
            if entry.spec.kind == "correctness" and entry.name not in labels:
                labels[entry.name] = "correct"
    return labels


def _analyse(cfg: BenchConfig, side: Side, variants: bool = True) -> dict[str, Any]:
    reward_set = cfg.reward_set
    result = side.scores.result
    names = reward_set.names
    per_reward: dict[str, Any] = {}
    grouped = {name: side.grouped(name) for name in [*names, "total"]}
    for entry in reward_set.rewards:
        summary = analysis.reward_summary(
            result.values[entry.name], result.stats[entry.name], side.scores.latency_ms.get(entry.name, [])
        )
        summary["spread"] = analysis.spread_fraction(grouped[entry.name])
        summary["weight"] = entry.weight_at(reward_set.step)
        per_reward[entry.name] = summary
    totals = side.totals()
    scored = [t for t in totals if t is not None]
    total = {
        "mean": statistics.fmean(scored) if scored else None,
        "std": statistics.pstdev(scored) if len(scored) > 1 else None,
        "histogram": analysis.histogram(totals),
        "spread": analysis.spread_fraction(grouped["total"]),
    }
    rows_by_group: list[list[list[float | None]]] = [[] for _ in side.groups]
    for i, position in enumerate(side.owner):
        rows_by_group[position].append([result.values[n][i] for n in names])
    open_by_group = aggregation_mod.open_by_group(result.gate_open, side.owner, len(side.groups), len(names))
    mode = aggregation_mod.configured(cfg.raw)
    gated = [r.name for r in reward_set.rewards if r.gate is not None]
    closed = reward_set.closed_values
    contributions = analysis.contributions(rows_by_group, reward_set.weights, names, mode, open_by_group, gated, closed)
    if contributions:
        for name in names:
            per_reward[name]["share"] = contributions["share"][name]
    labels = _labels(cfg, side)
    label_values = {name: [c.columns.get(column) for g in side.groups for c in g.completions] for name, column in labels.items()}
    specs = {entry.name: entry.spec for entry in reward_set.rewards}
    agreement = {
        name: {
            "column": labels[name],
            **analysis.agreement(result.values[name], values, analysis.label_threshold(specs[name].value_range)),
        }
        for name, values in label_values.items()
    }
    figures: dict[str, Any] = {
        "per_reward": per_reward,
        "total": total,
        "contributions": contributions,
        "correlation": {"names": names, "matrix": contributions["correlation"] if contributions else None},
        "group_size": analysis.group_size_guidance([[t for t in g if t is not None] for g in grouped["total"]]),
        "aggregation": aggregation_mod.from_groups(rows_by_group, open_by_group, reward_set.weights, names, closed),
        "agreement": agreement,
        "per_prompt": _per_prompt(side, grouped, names),
        "examples": _examples(side, totals, names),
    }
    if variants:
        rows = [make_row(g.prompt, c.text, c.columns, c.completion_ids) for g in side.groups for c in g.completions]
        figures["extractor_variants"] = extractor_variants(reward_set, rows, dict(label_values))
    return figures


def _per_prompt(side: Side, grouped: dict[str, list[list[float | None]]], names: list[str]) -> list[dict[str, Any]]:
    out = []
    for position, group in enumerate(side.groups):
        totals = [t for t in grouped["total"][position] if t is not None]
        out.append(
            {
                "index": group.index,
                "prompt": group.prompt_text[:200],
                "completions": len(group.completions),
                "total_mean": statistics.fmean(totals) if totals else None,
                "total_std": statistics.pstdev(totals) if len(totals) > 1 else None,
                "range": {name: analysis.group_range(grouped[name][position]) for name in names},
            }
        )
    return out


def _examples(side: Side, totals: Sequence[float | None], names: list[str]) -> list[dict[str, Any]]:
    """The best and the worst completion by weighted total, with every score."""
    scored = {i: t for i, t in enumerate(totals) if t is not None}
    if not scored:
        return []
    flat = [(g, c) for g in side.groups for c in g.completions]
    picks = {"best": max(scored, key=scored.__getitem__), "worst": min(scored, key=scored.__getitem__)}
    out = []
    for label, i in picks.items():
        group, completion = flat[i]
        out.append(
            {
                "which": label,
                "prompt": group.prompt_text[:EXAMPLE_CHARS],
                "completion": completion.text[:EXAMPLE_CHARS],
                "total": totals[i],
                "scores": side.scores.result.row(i),
            }
        )
    return out


# -- probes ---------------------------------------------------------------------------------------
def unfair_reference(reference: Sequence[float | None], real: Sequence[Sequence[float | None]]) -> str | None:
    """Why the gold reference is no fair yardstick for a free-text set, or None: on most prompts the
    set's total scores it below the median of the prompt's own completions (a human summary longer
    than the set's length target), so a probe "as high as the reference" says nothing."""
    below = [
        ref < statistics.median(values)
        for ref, row in zip(reference, real)
        if ref is not None and (values := [v for v in row if v is not None])
    ]
    if not below or sum(below) / len(below) < 0.5:
        return None
    return (
        f"the set's total scores the gold text below the prompt's typical completion on {sum(below)} of {len(below)} "
        "prompts, so the probes are measured against the typical completion instead"
    )


def _probe(cfg: BenchConfig, side: Side, workers: int) -> dict[str, Any]:
    reward_set = cfg.reward_set
    names = reward_set.names
    groups = side.groups
    gold_col = gold_column(groups, [c for cols in reward_set.required_columns().values() for c in cols], cfg.gold_column)
    present = set().union(*(g.columns for g in groups))
    reasoning_col = cfg.reasoning_column or ("solution" if "solution" in present else None)
    think, answer_tag = probes_mod.format_tags(reward_set)
    read_gold = probes_mod.gold_reader(reward_set, gold_col)
    contexts = []
    for position, group in enumerate(groups):
        raw_gold = group.columns.get(gold_col) if gold_col else None
        reasoning = gold_reasoning(group.columns.get(reasoning_col)) if reasoning_col else None
        if reasoning is None and isinstance(raw_gold, str) and "####" in raw_gold:
            reasoning = gold_reasoning(raw_gold)
        gold = read_gold(raw_gold)
        wrong = first_wrong_answer(reward_set, gold, group.columns)
        contexts.append(
            probes_mod.ProbeContext(group.prompt_text, gold, reasoning, position, think, answer_tag, group.columns, wrong)
        )
    shape = probes_mod.task_shape(reward_set)
    chosen = probes_mod.select_probes(cfg.builtin_probes, cfg.probes, probes_mod.plugin_probes(reward_set), shape)
    texts, references = probes_mod.build_texts(contexts, chosen, cfg.reference, tags="tags" in shape)

    # One scoring call for every probe and reference of every prompt.
    rows, where = [], []
    for key, column in [*texts.items(), ("__reference__", references)]:
        for position, text in enumerate(column):
            if text is not None:
                rows.append(make_row(groups[position].prompt, text, groups[position].columns))
                where.append((key, position))
    result = score_rows(reward_set, rows, workers=workers)
    totals = result.total
    table: dict[str, dict[str, list[float | None]]] = {
        t: {k: [None] * len(groups) for k in [*texts, "__reference__"]} for t in [*names, "total"]
    }
    for i, (key, position) in enumerate(where):
        for name in names:
            table[name][key][position] = result.values[name][i]
        table["total"][key][position] = totals[i]

    reference_note = None
    if "answers" not in shape:
        reference_note = unfair_reference(table["total"]["__reference__"], side.grouped("total"))
        if reference_note:  # a yardstick the set cannot score fairly: measure against typical completions
            for by_probe in table.values():
                by_probe["__reference__"] = [None] * len(groups)

    readers = {name for name, columns in reward_set.required_columns().items() if gold_col in columns}
    findings = []
    for target in [*names, "total"]:
        real = side.grouped(target)
        scores = {k: v for k, v in table[target].items() if k != "__reference__"}
        findings += probes_mod.evaluate(
            target,
            scores,
            table[target]["__reference__"],
            real,
            chosen,
            texts,
            cfg.flag_fraction,
            is_total=target == "total",
            checks_answer=target in readers or (target == "total" and bool(readers)),
        )
    flags = probes_mod.rank(probes_mod.strongest(findings), dict(zip(names, reward_set.weights)))

    def mean(values: list[float | None]) -> float | None:
        present_values = [v for v in values if v is not None]
        return statistics.fmean(present_values) if present_values else None

    return {
        "rule": "fools: a degenerate probe (or, for rewards reading the gold answer, a wrong final answer) scores >= the "
        "gold reference on a prompt where the reference is above the lowest score seen; beats_typical: a degenerate "
        "probe scores >= the median real completion (when that is above the lowest); misses: a gold-reading reward "
        f"scores the gold answer in another correct form below the reference; the rate is over the prompts with both "
        f"scores, flagged at >= {cfg.flag_fraction:g}",
        "gold_readers": sorted(readers),
        "gold_column": gold_col,
        "reasoning_column": reasoning_col,
        "tags": [think, answer_tag],
        "task": sorted(shape),  # what the set's rewards declare: which probes fit (probes.task_shape)
        "reference_example": next((r for r in references if r), None),
        "reference_dropped": reference_note,
        "probes": [
            {
                "name": p.name,
                "kind": p.kind,
                "description": p.description,
                "example": next((t for t in texts[p.name] if t is not None), None),
            }
            for p in chosen.values()
        ],
        "mean_scores": {target: {key: mean(values) for key, values in by_probe.items()} for target, by_probe in table.items()},
        "findings": [f.as_dict() for f in findings],
        "flags": [f.as_dict() for f in flags],
    }
