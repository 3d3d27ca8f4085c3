"""``grpo-rewards attack``: the click command, its progress bar and its tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def parse_fail_on(text: str) -> dict[str, float]:
    """``paid`` (any paid attack), ``paid=F`` (a share above F), ``unscored=F`` -> thresholds."""
    rules: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in ("paid", "unscored"):
            raise click.BadParameter(f"unknown rule {name!r}; expected paid, paid=F or unscored=F", param_hint="--fail-on")
        if not value and name == "unscored":
            raise click.BadParameter("unscored needs a fraction, e.g. unscored=0.1", param_hint="--fail-on")
        try:
            threshold = float(value) if value else 0.0
        except ValueError:
            raise click.BadParameter(f"{name} needs a fraction between 0 and 1, got {value!r}", param_hint="--fail-on") from None
        if not 0.0 <= threshold <= 1.0:
            raise click.BadParameter(f"{name} needs a fraction between 0 and 1, got {threshold:g}", param_hint="--fail-on")
        rules[name] = threshold
    if not rules:
        raise click.BadParameter("no rule given; expected paid, paid=F or unscored=F", param_hint="--fail-on")
    return rules


def load_rows(sources: tuple[str, ...], limit: int | None, seed: int) -> list[dict[str, Any]]:
    """Rows of every ``--prompts`` source (as ``bench --prompts`` reads them), ``limit`` of each drawn with the seed."""
    from .attack.plan import sample_rows
    from .bench.data import read_prompt_rows

    rows: list[dict[str, Any]] = []
    for source in sources:
        found, _ = read_prompt_rows(source)
        for row in sample_rows(found, limit, seed):
            rows.append({k: v for k, v in row.items() if k != "__line__"})
    return rows


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option(
    "--prompts",
    "sources",
    multiple=True,
    required=True,
    metavar="FILE|builtin:NAME[:ARG]",
    help="Rows with the gold columns the rewards read, as bench --prompts takes them (a file, or builtin:gsm8k, "
    "builtin:math, builtin:humaneval, builtin:gym:<task>, ...); repeat for several sources.",
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Rows per source, drawn with the seed (default: all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the row sample and of every attack's choices.")
@click.option("--quick", is_flag=True, help="Leave out the attacks that cost seconds per row (loops, bombs, filesystem walks).")
@click.option(
    "--all-forms", is_flag=True, help="Write every wrong answer in every answer form the reward reads (default: one, seeded)."
)
@click.option(
    "--gold-column", default=None, help="Column of the gold answer (default: the first column each reward reads, else 'answer')."
)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True, help="Scoring processes.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None, help="Write the report as JSON to this file.")
@click.option("--overwrite", is_flag=True, help="Replace --output if it exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the report JSON instead of tables.")
@click.option(
    "--fail-on",
    "fail_on",
    default=None,
    metavar="RULES",
    help="Exit 1, one line per failure, when a correctness reward pays an attack class: paid (any), paid=F "
    "(a share above F), unscored=F (None on more than F of a class). Shaping rewards are report-only.",
)
def attack(
    config: Path,
    sources: tuple[str, ...],
    limit: int | None,
    seed: int,
    quick: bool,
    all_forms: bool,
    gold_column: str | None,
    workers: int,
    output: Path | None,
    overwrite: bool,
    as_json: bool,
    fail_on: str | None,
) -> None:
    """Attack every reward of CONFIG with completions it must not pay for, built from each row's gold and
    each reward's kind and answer domain (near-miss wrong answers, hedges, forged verdicts, constants,
    degenerate shapes), and report per reward and attack class the share paid with a 95% interval."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from .attack.report import tables
    from .attack.run import paid_failures, run_attacks
    from .errors import GrpoRewardsError
    from .terminal import console, fail, load_reward_set_or_fail, out

    rules = parse_fail_on(fail_on) if fail_on is not None else None
    if output is not None and output.exists() and not overwrite:
        fail(f"{output} exists; pass --overwrite to replace it")
    reward_set = load_reward_set_or_fail(config)
    try:
        rows = load_rows(sources, limit, seed)
    except (GrpoRewardsError, FileNotFoundError) as exc:
        fail(str(exc))
    columns = [
        TextColumn("scoring attacks"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("attack", total=None)

        def moved(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = run_attacks(
            reward_set,
            rows,
            seed=seed,
            quick=quick,
            all_forms=all_forms,
            gold_column=gold_column,
            workers=workers,
            progress=moved,
        )
    report = {"config": str(config), "prompts": list(sources), "limit": limit, "quick": quick, **result.report}
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, indent=2, default=str))
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        for table in tables(report):
            out.print(table)
        for name, why in report["skipped"].items():
            console.print(f"not attacked: {name}: {why}", markup=False, highlight=False)
    if rules is not None:
        failed = paid_failures(report, rules.get("paid", 1.0) if "paid" in rules else 1.0, rules.get("unscored"))
        for line in failed:
            click.echo(f"fail: {line}", err=True)
        if failed:
            raise SystemExit(1)
