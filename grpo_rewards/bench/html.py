"""report.html for a bench run: the summary, the plots inline, and a browser of every prompt group
(side by side under ``--compare``) with each completion's scores, advantage, gates, explain fields,
and the probe, attack and drift flags of its prompt.

Built from the typed model (model.BenchReport) and the scored sides; the page pieces are the
core's (grpo_rewards/pages), which the trainer's report shares.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..aggregation import close_gates, compute_advantages
from ..pages import Browser, CompletionView, GroupView, SideView, bound_groups, figure, page, table
from ..pages.page import h
from ..rows import shareable_location
from . import aggregation as aggregation_mod
from .analysis import repeated_words
from .drift import REPEAT_RISE
from .model import BenchReport
from .run import BenchResult, Side
from .tables import COMPARE_COLUMNS, REWARD_COLUMNS, compare_rows, describe_flag, pct, reward_rows

ON_TOPIC_FALL = 0.1  # a prompt whose on-topic mean falls by this much under B is flagged
CAPTIONS = {
    "histograms.png": "score distributions",
    "correlation.png": "correlation between rewards",
    "spread.png": "per-prompt spread",
    "group_size.png": "group-size guidance",
    "aggregation.png": "aggregation modes",
    "compare.png": "A vs B",
}


def render_html(report: BenchReport, result: BenchResult, folder: Path) -> str:
    """The whole page."""
    title = f"Reward benchmark: {shareable_location(report.config)}"
    return page(title, summary(report, folder), browser(report, result))


def summary(report: BenchReport, folder: Path) -> str:
    data = report.data
    out = [
        f"<p>Held-out prompts <code>{h(shareable_location(report.prompts))}</code>: {data.prompts} prompts, "
        f"{data.completions} completions. Created {h(report.created)}.</p>",
        "<h2>Findings</h2><ul>",
    ]
    items = [(f.target == "total", describe_flag(f)) for f in report.flags]
    items += [(True, f"attack {line}") for line in report.attack_findings]
    items += [(True, f"weakness: {w}") for w in report.weaknesses]
    items += [(False, n.message) for n in report.notes]
    out += [f'<li class="{"bad" if bad else ""}">{h(text)}</li>' for bad, text in items] or ["<li>Nothing flagged.</li>"]
    out += ["</ul>", "<h2>Rewards</h2>", table(REWARD_COLUMNS, reward_rows(report))]
    if report.compare:
        c = report.compare
        out += [
            "<h2>Compare</h2>",
            f"<p>{h(side_label(c.a))}; {h(side_label(c.b))}. Paired bootstrap over prompts; * = the 95% interval excludes 0.</p>",
            table(COMPARE_COLUMNS, compare_rows(c.rows)),
        ]
    if report.agreement:
        out += [
            "<h2>Agreement with gold labels</h2>",
            table(
                ["reward", "column", "n", "accuracy", "precision", "recall"],
                [
                    [n, a["column"], a["n"], pct(a["accuracy"]), pct(a["precision"]), pct(a["recall"])]
                    for n, a in report.agreement.items()
                ],
            ),
        ]
    plots = [figure(folder / name, CAPTIONS.get(name, name)) for name in report.plots]
    if any(plots):
        out += ["<h2>Plots</h2>", "<div>", *plots, "</div>"]
    out.append("<p>Every figure is also in report.json; report.md has the full tables.</p>")
    return "".join(out)


# -- the group browser --------------------------------------------------------------------------
def browser(report: BenchReport, result: BenchResult) -> Browser:
    names = report.names
    sides = [_side_views(report, result, side) for side in result.sides]
    flags = _group_flags(report, result)
    groups = []
    for position, group in enumerate(result.sides[0].groups):
        views = [views_of_side[position] for views_of_side in sides]
        view = GroupView(f"prompt {group.index}", group.prompt_text, views, flags[position])
        view.flags += view.no_spread_flags(names)
        groups.append(view)
    kept, note = bound_groups(groups)
    return Browser(names, kept, len(groups), note)


def _side_views(report: BenchReport, result: BenchResult, side: Side) -> list[SideView]:
    """Each group's completions of one side, with advantage, parts, gates and explain fields."""
    reward_set = result.config.reward_set
    names = reward_set.names
    scores = side.scores.result
    totals = side.totals()
    advantages, parts = _advantages(result, side)
    gate_open = scores.gate_open
    per_group: list[list[CompletionView]] = [[] for _ in side.groups]
    flat = [c for g in side.groups for c in g.completions]
    for i, (position, completion) in enumerate(zip(side.owner, flat)):
        closed = [] if gate_open is None else [n for k, n in enumerate(names) if not gate_open[i][k]]
        explain = {n: d[i] for n, d in scores.details.items() if d and i < len(d) and d[i]}
        per_group[position].append(
            CompletionView.build(
                completion.text,
                {n: scores.values[n][i] for n in names},
                totals[i],
                advantage=advantages[i] if advantages is not None else None,
                parts=dict(zip(names, parts[i])) if parts is not None else None,
                closed=closed,
                explain=explain,
            )
        )
    if side is result.sides[0]:
        for position, view in _attack_views(report, len(side.groups)):
            per_group[position].append(view)
    return [SideView(side_label(side.label), completions) for completions in per_group]


def side_label(label: str) -> str:
    """``A: /home/me/models/x`` as a shared page shows it: ``A: …/x``."""
    side, _, model = label.partition(": ")
    return f"{side}: {shareable_location(model)}" if model else label


def _advantages(result: BenchResult, side: Side) -> tuple[list[float] | None, list[list[float]] | None]:
    """Each row's advantage and its parts by reward, as TRL would compute them for these groups
    under the configured aggregation (gates applied). Groups of different sizes are computed one
    by one, which is exact only where the normalisation stays inside a group (sum_then_normalize
    with scale_rewards group or none); otherwise None."""
    if not side.owner:
        return None, None
    reward_set = result.config.reward_set
    mode = aggregation_mod.configured(result.config.raw)
    scores = side.scores.result
    matrix = np.array([[np.nan if v is None else float(v) for v in row] for row in zip(*scores.values.values())], dtype=float)
    matrix = close_gates(matrix.reshape(len(side.owner), len(reward_set.names)), scores.gate_open, reward_set.closed_values)
    owner = np.array(side.owner)
    sizes = {len(g.completions) for g in side.groups if g.completions}
    batches = (
        [np.argsort(owner, kind="stable")] if len(sizes) == 1 else [np.flatnonzero(owner == p) for p in range(len(side.groups))]
    )
    if len(batches) > 1 and (mode.is_gdpo or mode.scale_rewards == "batch"):
        return None, None
    advantages = np.zeros(len(owner))
    parts = np.zeros(matrix.shape)
    for rows in batches:
        if len(rows):
            size = len(rows) if len(batches) > 1 else sizes.pop()
            got = compute_advantages(matrix[rows], reward_set.weights, size, mode)
            advantages[rows] = got.advantages
            parts[rows] = got.components
    return [float(a) for a in advantages], [[float(v) for v in row] for row in parts]


def _attack_views(report: BenchReport, groups: int) -> list[tuple[int, CompletionView]]:
    """The attack generator's paid examples (wrong answers a correctness reward paid), by prompt."""
    out = []
    for name, entry in ((report.attacks or {}).get("rewards") or {}).items():
        if not entry.get("judged"):
            continue
        for cls, found in (entry.get("classes") or {}).items():
            if not found.get("paid"):
                continue
            for example in found.get("examples", []):
                row = example.get("row")
                if isinstance(row, int) and 0 <= row < groups:
                    view = CompletionView.build(
                        str(example.get("completion", "")),
                        {name: example.get("score")},
                        None,
                        kind="attack",
                        tags=[f"paid but wrong: {name} ({cls})"],
                    )
                    out.append((row, view))
    return out


def _group_flags(report: BenchReport, result: BenchResult) -> list[list[str]]:
    """Per prompt position: probe hits, paid attacks and drift."""
    n = len(result.sides[0].groups)
    flags: list[list[str]] = [[] for _ in range(n)]
    for f in report.flags:
        for position in f.prompts:
            if position < n:
                flags[position].append(f"probe: {f.probe} {f.rule.replace('_', ' ')} {f.target}")
    for position, view in _attack_views(report, n):
        flag = "attack: " + view.tags[0].removeprefix("paid but wrong: ")
        if flag not in flags[position]:
            flags[position].append(flag)
    if len(result.sides) > 1:
        for position, message in _drift_flags(report, result):
            flags[position].append(f"drift: {message}")
    return flags


def _drift_flags(report: BenchReport, result: BenchResult) -> list[tuple[int, str]]:
    """Prompts whose on-topic score fell under B, or whose B completions repeat themselves more."""
    out = []
    sides = (report.drift or {}).get("sides") or []
    if len(sides) > 1:
        a, b = sides[0].get("per_prompt") or [], sides[1].get("per_prompt") or []
        for position, (x, y) in enumerate(zip(a, b)):
            if x is not None and y is not None and y <= x - ON_TOPIC_FALL:
                out.append((position, f"on-topic {x:.2f} -> {y:.2f}"))
    side_a, side_b = result.sides[0], result.sides[1]
    for position, (ga, gb) in enumerate(zip(side_a.groups, side_b.groups)):
        ra = [repeated_words(c.text) for c in ga.completions]
        rb = [repeated_words(c.text) for c in gb.completions]
        if ra and rb and sum(rb) / len(rb) - sum(ra) / len(ra) >= REPEAT_RISE:
            out.append((position, f"repeated words {sum(ra) / len(ra):.0%} -> {sum(rb) / len(rb):.0%}"))
    return out
