"""Writing a benchmark: a report folder (report.json with every figure, report.md, PNG plots,
the scored completions) and rich tables for the terminal.

A run never overwrites an earlier report: when the folder holds one, the next free numbered
sibling (``NAME-2``, ``NAME-3``, ...) is used, unless ``--overwrite`` is given, which only ever
clears a folder that holds a bench report.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.table import Table

from ..errors import GrpoRewardsError
from ..rows import shareable_location, write_atomically
from . import aggregation as aggregation_mod
from . import drift
from .html import render_html
from .model import BenchReport, CompareRow
from .run import BenchResult
from .sections import markdown as sections_markdown
from .tables import COMPARE_COLUMNS, REWARD_COLUMNS, compare_rows, describe_flag, fmt, pct, reward_rows

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
OUR_FILES = (REPORT_JSON, "report.md", REPORT_HTML, "completions.jsonl", "probes.jsonl")


class ReportDirError(GrpoRewardsError, ValueError):
    """A report folder that cannot be used (a message for the user, no traceback)."""


def choose_report_dir(path: Path, overwrite: bool) -> Path:
    """``path`` when free; with ``overwrite`` the same folder (only if it holds a bench report);
    else the first free ``path-N``."""
    path = Path(path)
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        return path
    if not path.is_dir():
        raise ReportDirError(f"{path} exists and is not a folder")
    if overwrite:
        if not (path / REPORT_JSON).is_file():
            raise ReportDirError(
                f"--overwrite: {path} holds no {REPORT_JSON}; refusing to clear a folder a bench run did not write"
            )
        for child in path.iterdir():
            if child.is_file() and (child.name in OUR_FILES or child.suffix == ".png"):
                child.unlink()
        return path
    n = 2
    while True:
        candidate = path.with_name(f"{path.name}-{n}")
        if not candidate.exists() or (candidate.is_dir() and not any(candidate.iterdir())):
            return candidate
        n += 1


def write_report(result: BenchResult, folder: Path, plots: bool = True, html: bool = True) -> Path:
    """Write the report folder (report.json, report.md, report.html, the plots and the scored
    completions) from one typed model; returns the Markdown file."""
    folder.mkdir(parents=True, exist_ok=True)
    report = result.report
    report["files"] = {}
    if plots:
        from .plots import draw_all

        report["files"]["plots"] = draw_all(report, folder)
    if html:
        report["files"]["html"] = REPORT_HTML
    model = BenchReport.from_dict(report)
    write_atomically(folder / "completions.jsonl", "".join(_completion_lines(result)))
    write_atomically(folder / REPORT_JSON, json.dumps(model.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n")
    markdown = folder / "report.md"
    write_atomically(markdown, render_markdown(model))
    if html:
        write_atomically(folder / REPORT_HTML, render_html(model, result, folder))
    return markdown


def _completion_lines(result: BenchResult) -> Iterable[str]:
    from ..explain import explain_rows

    for side in result.sides:
        batch = side.scores.result
        names = batch.names
        totals = side.totals()
        flat = [(g, c) for g in side.groups for c in g.completions]
        # explain's fields, compact: what each reward read (extractor, answer, gold), why a None, a closed gate
        explained = explain_rows(result.config.reward_set, batch, list(range(len(flat))), batch.weights)
        for i, (group, completion) in enumerate(flat):
            row = {
                "side": side.label,
                "prompt_index": group.index,
                "prompt": group.prompt,
                "completion": completion.text,
                "rewards": {n: batch.values[n][i] for n in names},
                "total": totals[i],
            }
            if explained[i]:
                row["explain"] = explained[i]
            yield (
                json.dumps(
                    row,
                    ensure_ascii=False,
                    default=str,
                )
                + "\n"
            )


def ranked_weaknesses(report: dict[str, Any]) -> list[str]:
    """Every weakness line of a run, the one that matters first: a reward won without doing the task
    (measured on real completions), then the probes that fool the weighted total (ranked by
    :func:`~grpo_rewards.bench.probes.rank`), then the attacks a reward pays."""
    from .drift import weaknesses as drift_weaknesses

    lines = list(drift_weaknesses(report))
    lines += [describe_flag(flag) for flag in report["probes"]["flags"] if flag["target"] == "total"]
    lines += [f"attack {message}" for message in (report.get("attacks") or {}).get("findings", [])]
    return lines


def terminal_tables(report: dict[str, Any]) -> list[Table]:
    """The tables printed after a run."""
    tables = []
    data = report["data"]
    # Two narrow tables rather than one wide one: they stay readable in an 80-column terminal.
    table = Table(title=f"rewards on {data['prompts']} held-out prompts, {data['completions']} completions")
    for column in ("reward", "weight", "mean", "std", "spread", "share", "None", "failed"):
        table.add_column(column, justify="left" if column == "reward" else "right", no_wrap=True)
    for name, f in report["per_reward"].items():
        failed = (f["error_rate"] or 0) + (f["timeout_rate"] or 0) if f["error_rate"] is not None else None
        table.add_row(
            name,
            fmt(f["weight"]),
            fmt(f["mean"]),
            fmt(f["std"]),
            pct(f["spread"]),
            pct(f.get("share")),
            pct(f["none_rate"]),
            pct(failed),
        )
    total = report["total"]
    table.add_row("total", "", fmt(total["mean"]), fmt(total["std"]), pct(total["spread"]), "", "", "")
    tables.append(table)
    table = Table(title="reward latency")
    for column in ("reward", "p50 ms/row", "p99 ms/row", "rows/s", "first error"):
        table.add_column(
            column, justify="left" if column in ("reward", "first error") else "right", no_wrap=column != "first error"
        )
    for name, f in report["per_reward"].items():
        table.add_row(
            name, fmt(f["latency_ms_p50"]), fmt(f["latency_ms_p99"]), fmt(f["rows_per_s"], 4), (f["first_error"] or "")[:80]
        )
    tables.append(table)

    if report["group_size"]:
        table = Table(title="group-size guidance: groups whose weighted total has spread")
        for column in ("num_generations", "groups with spread", "gain"):
            table.add_column(column, justify="right")
        for row in report["group_size"]:
            table.add_row(str(row["g"]), pct(row["fraction_with_spread"]), f"{100 * row['gain']:+.0f} pts")
        tables.append(table)

    if report.get("aggregation"):
        tables.append(aggregation_mod.terminal_table(report["aggregation"], list(report["per_reward"])))

    if report["agreement"]:
        table = Table(title="agreement with gold labels")
        for column in ("reward", "label column", "n", "accuracy", "precision", "recall"):
            table.add_column(column)
        for name, a in report["agreement"].items():
            table.add_row(name, a["column"], str(a["n"]), pct(a["accuracy"]), pct(a["precision"]), pct(a["recall"]))
        tables.append(table)

    for name, variants in (report.get("extractor_variants") or {}).items():
        changed = [v for v in variants[1:] if v["changed"]]
        table = Table(
            title=f"{name}: mean score by answer-extractor order"
            + ("" if changed else f" (no other order changes any of the {report['data']['completions']} scores)")
        )
        for column in ("order", "mean", "rows changed", "label accuracy"):
            table.add_column(column, justify="left" if column == "order" else "right")
        for v in [variants[0], *changed]:
            table.add_row(v["order"], fmt(v["mean"]), str(v["changed"]), pct(v.get("agreement", {}).get("accuracy")))
        tables.append(table)

    flags = report["probes"]["flags"]
    table = Table(title="hackability probes: flagged (examples in report.md)" if flags else "hackability probes: nothing flagged")
    for column in ("target", "probe", "kind", "rule", "prompts"):
        table.add_column(column, no_wrap=True)
    for f in flags:
        table.add_row(f["target"], f["probe"], f["kind"], f["rule"], f"{pct(f['rate'])} of {f['evaluated']}")
    tables.append(table)

    if report.get("compare"):
        c = report["compare"]
        titled = [(f"compare  {c['a']}  vs  {c['b']}", c["rows"])]
        if c.get("unseen_rows"):
            titled.append((f"compare on the {c['unseen_rows'][0]['prompts']} prompts never trained on", c["unseen_rows"]))
        for title, rows in titled:
            table = Table(title=title)
            for column in ("metric", "A", "B", "B - A", "95% CI", ""):
                table.add_column(column, justify="left" if column == "metric" else "right")
            for r in rows:
                interval = "-" if r["low"] is None else f"[{fmt(r['low'])}, {fmt(r['high'])}]"
                table.add_row(r["metric"], fmt(r["a"]), fmt(r["b"]), fmt(r["delta"]), interval, "*" if r["significant"] else "")
            tables.append(table)
    return tables


def _md_table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |")
    return "\n".join(lines)


def _compare_table(rows: list[CompareRow]) -> str:
    return _md_table(list(COMPARE_COLUMNS), compare_rows(rows))


def render_markdown(report: BenchReport) -> str:
    """The human-readable report; every figure is also in report.json."""
    plots = set(report.plots)
    data = report.data
    out = [
        f"# Reward benchmark: {shareable_location(report.config)}",
        "",
        f"Held-out prompts: `{shareable_location(report.prompts)}` ({data.prompts} prompts, {data.completions} completions, "
        f"group sizes {data.group_sizes}). Created {report.created}.",
        "",
    ]
    gen = report.generation
    if gen:
        s = gen["sampling"]
        out += [
            f"Completions sampled from {shareable_location(gen['model'])}: {s['num_generations']} per prompt, temperature {s['temperature']}, "
            f"top_p {s['top_p']}, top_k {s['top_k']}, max {s['max_completion_length']} tokens, seed {s['seed']} "
            f"({gen['generated_prompts']} prompts sampled in {gen['seconds']:.1f} s, {gen['cached_prompts']} from the cache; "
            f"{pct(gen['truncated_rate'])} hit the length limit).",
            "",
        ]

    flags = report.flags
    out += ["## Findings", ""]
    if flags:
        out += [
            f"- {'**' if f.target == 'total' else ''}{describe_flag(f)}{'**' if f.target == 'total' else ''}. "
            f"Example: `{_short(f.example) or '(empty)'}`"
            for f in flags
        ]
        out += [
            "",
            "Flags on the weighted total (bold) are what training can exploit; a single-aspect reward "
            "(format, length) is expected to be fooled on its own and is safe only if the rest of the set outweighs it.",
        ]
    else:
        out.append("No probe fooled any reward or the weighted total.")
    out += ["", f"Rules: {report.probes.rule}.", ""]
    attack_findings = report.attack_findings
    if attack_findings:
        out += ["Attacks (`grpo-rewards attack`, quick set, on these prompts):", ""]
        out += [f"- **attack {line}**" for line in attack_findings] + [""]
    out += sections_markdown(report.extra.get("sections") or {})
    out += [f"- **weakness: {message}.**" for message in report.weaknesses]
    if report.weaknesses:
        out.append("")
    if report.notes:
        out += ["### Learning signal", ""] + [f"- {n.message}." for n in report.notes] + [""]

    out += drift.markdown(report.drift)
    out += [
        "## Rewards",
        "",
        _md_table(REWARD_COLUMNS, reward_rows(report)),
        "",
        "*spread*: share of prompts whose completions the reward separates (no spread, no GRPO signal). "
        "*share*: the reward's share of the advantage under the configured weights and aggregation mode "
        f"`{(report.contributions or {}).get('aggregation', 'sum_then_normalize/group')}` "
        "(sum over rows of the reward's component of the advantage times the advantage, over the sum of squared "
        "advantages; see docs/training.md).",
        "",
    ]
    errors = {n: f.first_error for n, f in report.per_reward.items() if f.first_error}
    for name, error in errors.items():
        out.append(f"- first error of `{name}`: `{error}`")
    if "histograms.png" in plots:
        out += ["", "![score distributions](histograms.png)", ""]

    c = report.contributions
    if c and c["groups_used"] < c["groups_total"]:
        out += [
            f"Shares and correlations use the {c['groups_used']} of {c['groups_total']} groups of size {c['group_size']}.",
            "",
        ]
    names = report.correlation["names"]
    if report.correlation["matrix"] and len(names) > 1:
        out += [
            "## Correlation between rewards",
            "",
            _md_table(["", *names], [[a, *[fmt(v, 2) for v in row]] for a, row in zip(names, report.correlation["matrix"])]),
            "",
            "Two rewards that always agree are one reward counted twice; a negative correlation is a tug of war.",
            "",
        ]
        if "correlation.png" in plots:
            out += ["![correlation](correlation.png)", ""]

    out += aggregation_mod.markdown_lines(
        report.aggregation, report.names, _md_table, "aggregation.png" in plots, (c or {}).get("gated_rate")
    )
    if report.group_size:
        out += [
            "## Group size",
            "",
            _md_table(
                ["num_generations", "groups with spread in the total", "gain"],
                [[r["g"], pct(r["fraction_with_spread"]), f"{100 * r['gain']:+.1f} pts"] for r in report.group_size],
            ),
            "",
            "Exact expectation over all subsets of each group's completions.",
            "",
        ]
        if "group_size.png" in plots:
            out += ["![group size](group_size.png)", ""]

    if report.agreement:
        out += [
            "## Agreement with gold labels",
            "",
            _md_table(
                ["reward", "column", "n", "accuracy", "precision", "recall", "F1", "tp/fp/tn/fn"],
                [
                    [
                        n,
                        a["column"],
                        a["n"],
                        pct(a["accuracy"]),
                        pct(a["precision"]),
                        pct(a["recall"]),
                        fmt(a["f1"]),
                        f"{a['tp']}/{a['fp']}/{a['tn']}/{a['fn']}",
                    ]
                    for n, a in report.agreement.items()
                ],
            ),
            "",
        ]
    for name, variants in (report.extractor_variants or {}).items():
        has_agreement = any("agreement" in v for v in variants)
        out += [
            f"## `{name}` by answer-extractor order",
            "",
            _md_table(
                ["order", "extractors", "mean", "rows changed", *(["label accuracy"] if has_agreement else [])],
                [
                    [
                        v["order"],
                        ", ".join(v["extractors"]),
                        fmt(v["mean"]),
                        v["changed"],
                        *([pct(v.get("agreement", {}).get("accuracy"))] if has_agreement else []),
                    ]
                    for v in variants
                ],
            ),
            "",
        ]

    probes = report.probes
    targets = [*report.names, "total"]
    keys = ["__reference__", *[p["name"] for p in probes.probes]]
    out += [
        "## Probes (mean score per prompt)",
        "",
        _md_table(
            ["probe", "kind", *targets],
            [
                [
                    ("reference" if k == "__reference__" else k),
                    ("" if k == "__reference__" else next(p["kind"] for p in probes.probes if p["name"] == k)),
                    *[fmt(probes.mean_scores[t][k]) for t in targets],
                ]
                for k in keys
            ],
        ),
        "",
        f"Gold answer from column `{probes.gold_column}`; tags `<{probes.tags[0]}>`/`<{probes.tags[1]}>`. "
        f"Reference example: `{_short(probes.reference_example or '')}`",
        "",
    ]

    out += ["## Per-prompt spread", ""]
    if "spread.png" in plots:
        out += ["![per-prompt spread](spread.png)", ""]
    flat = [p for p in report.per_prompt if (p["total_std"] or 0) <= 1e-9]
    out += [f"{len(flat)} of {len(report.per_prompt)} prompts have no spread in the weighted total.", ""]

    if report.compare:
        cmp = report.compare
        out += ["## Compare", "", f"{cmp.a}; {cmp.b}.", "", _compare_table(cmp.rows), ""]
        seen = data.seen_in_training
        if seen and seen["prompts"]:
            out += [f"{seen['prompts']} of {seen['of']} held-out prompts also occur in the training data ({seen['source']}).", ""]
            if cmp.unseen_rows:
                out += ["On the prompts never trained on:", "", _compare_table(cmp.unseen_rows), ""]
        out += ["Paired bootstrap over prompts (resampling prompts, not completions); * = the interval excludes 0.", ""]
        if "compare.png" in plots:
            out += ["![compare](compare.png)", ""]

    if report.examples:
        out += ["## Examples", ""]
        for e in report.examples:
            out += [
                f"**{e['which']}** (total {fmt(e['total'])}; " + ", ".join(f"{k} {fmt(v)}" for k, v in e["scores"].items()) + ")",
                "",
                "```text",
                e["completion"],
                "```",
                "",
            ]
    return "\n".join(out)


def _short(text: str, limit: int = 90) -> str:
    text = text.replace("\n", " ").replace("`", "'")
    return text if len(text) <= limit else text[:limit] + "..."
