"""report.html for a training run: the summary and findings, curves per reward (raw mean, share of
the advantage, effective weight, gated rate) as inline SVG, the run's PNG plots inline, and the
sample completions of every logged step in the core's group browser.

Built from the same typed model as report.md (report_model.TrainReport), with the core's page
pieces (grpo_rewards.pages), so a bench report and a run report look and filter alike.
"""

from __future__ import annotations

from pathlib import Path

from grpo_rewards.pages import Browser, bound_groups, figure, page, svg_curves, table
from grpo_rewards.pages.page import h
from grpo_rewards.rows import shareable_location

from .report_model import TrainReport
from .report_tables import PLOT_TITLES, REWARD_HEADER, grpo_line, reward_extras, reward_table

EXTRA_PLOTS = {"canaries": "Canaries", "sampling": "Dynamic sampling"}


def render_html(report: TrainReport, plots: dict[str, Path]) -> str:
    return page(f"GRPO run report: {report.name}", _summary(report, plots), _browser(report))


def _summary(report: TrainReport, plots: dict[str, Path]) -> str:
    config = report.config
    items = [f"status: {report.status}", f"steps logged: {report.steps_logged} (last step {report.last_step})"]
    if config:
        model = config.get("model", {})
        items += [
            f"model: {shareable_location(model.get('name', '?'))}" + (" with LoRA" if model.get("lora") else ""),
            f"data: {shareable_location(config.get('data', {}).get('source', '?'))}",
            f"grpo: {grpo_line(config)}",
            f"aggregation: {config.get('aggregation', 'sum_then_normalize/group')}",
        ]
        items += [f"{name}: {'; '.join(extras)}" for name, extras in reward_extras(config)]
    if report.train_runtime is not None:
        items.append(f"train time: {report.train_runtime:.0f} s this session")
    out = ["<ul>", *(f"<li>{h(i)}</li>" for i in items), "</ul>", "<h2>Findings</h2><ul>"]
    out += [f'<li class="bad">{h(f.kind.replace("_", " "))}: {h(f.message)}.</li>' for f in report.findings] or [
        "<li>Nothing found in the logs.</li>"
    ]
    out += [
        "</ul><h2>Rewards</h2><p>First and last 20% of logged steps; contribution figures averaged over the run.</p>",
        table(REWARD_HEADER, reward_table(report)),
        "<h2>Curves per reward</h2><div class='charts'>",
        svg_curves("total reward (weighted sum)", {"total": report.total_curve}),
    ]
    for c in report.curves:
        out += [
            svg_curves(f"{c.name}: mean raw score", {c.name: c.mean}),
            svg_curves(f"{c.name}: share of the advantage", {c.name: c.share}),
            svg_curves(f"{c.name}: effective weight", {c.name: c.weight}),
            svg_curves(f"{c.name}: gated rate", {c.name: c.gated_rate}),
        ]
    out.append("</div>")
    pictures = [figure(path, {**PLOT_TITLES, **EXTRA_PLOTS}.get(key, key)) for key, path in plots.items()]
    if any(pictures):
        out += ["<h2>Plots</h2><div>", *pictures, "</div>"]
    out.append(
        "<p>Samples: the completions kept per logged step (samples.jsonl). Their total uses the weights logged at "
        "that step; the advantage is (total - mean) / (std + 1e-4) among the samples kept for that step and prompt, "
        "which is TRL's own only when a whole group was kept.</p>"
    )
    return "".join(out)


def _browser(report: TrainReport) -> Browser:
    kept, note = bound_groups(report.samples)
    return Browser([c.name for c in report.curves], kept, len(report.samples), note)
