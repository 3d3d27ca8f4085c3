"""``grpo-rewards bench``: the click command. Heavy imports happen only when a model is used."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option(
    "--prompts",
    required=True,
    metavar="FILE|builtin:NAME[:SPLIT]",
    help="Held-out rows: .jsonl/.json/.csv/.parquet with 'prompt' (or the trainer template's columns) and gold "
    "columns; rows with 'completion' are scored as they are. Or builtin:gsm8k (split test by default).",
)
@click.option(
    "--model",
    default=None,
    help="Sample completions from this model: a run folder, a saved model or LoRA "
    "adapter, a .gguf file, builtin:smollm2 or a hub id (default: the trainer config's model).",
)
@click.option(
    "--num-generations",
    "-g",
    type=click.IntRange(min=1),
    default=None,
    help="Completions per prompt (default: [bench] or the trainer config's grpo.num_generations).",
)
@click.option(
    "--compare",
    "compare_model",
    default=None,
    help="A second model to sample on the same prompts; reports B - A per reward with bootstrap confidence intervals.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Report folder (default: bench-reports/<config name>); an existing report is never overwritten: "
    "the next free NAME-2, NAME-3, ... is used.",
)
@click.option("--overwrite", is_flag=True, help="Replace the report in --output instead of writing a new numbered one.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use only the first N prompts.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Processes to score in (default 1).")
@click.option("--seed", type=int, default=None, help="Sampling and bootstrap seed (default: [bench] seed or 0).")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Generation cache (default: $GRPO_REWARDS_CACHE/bench, i.e. ~/.cache/grpo-rewards/bench).",
)
@click.option("--no-plots", is_flag=True, help="Skip the PNG plots.")
@click.option("--json", "as_json", is_flag=True, help="Print the report JSON to stdout instead of tables.")
@click.option(
    "--step",
    type=click.IntRange(min=0),
    default=None,
    help="Apply weight schedules at this TRL global step (default: the end of every schedule).",
)
@click.option(
    "--executor",
    default=None,
    metavar="NAME",
    help="Run every reward on this executor (inline, threads, process, asyncio, ray), whatever the config says.",
)
@click.option(
    "--fail-on",
    "fail_on",
    default=None,
    metavar="RULES",
    help="Exit non-zero, one line per failure, for CI: probes (a probe beats the real completions on the "
    "total), attacks (a correctness reward pays an attack class, see grpo-rewards attack), zero-spread=F (a reward has no spread in more than F of groups), none-rate=F (a reward "
    "returns None on more than F of rows). E.g. --fail-on probes,zero-spread=0.5,none-rate=0.2",
)
def bench(
    config: Path,
    prompts: str,
    model: str | None,
    num_generations: int | None,
    compare_model: str | None,
    output: Path | None,
    overwrite: bool,
    limit: int | None,
    workers: int | None,
    seed: int | None,
    cache_dir: Path | None,
    no_plots: bool,
    as_json: bool,
    step: int | None,
    executor: str | None,
    fail_on: str | None,
) -> None:
    """Benchmark the reward set of CONFIG on held-out prompts before training: per-reward statistics,
    within-group spread, agreement with gold labels, advantage shares, group-size guidance,
    hackability probes and (with --compare) before/after deltas. Writes a report folder."""
    from ..errors import ConfigError, GrpoRewardsError
    from ..terminal import console, fail, fail_config, labelled, out, say, warn_plugin_problems
    from .failon import FailOnError, failures, parse_fail_on
    from .report import choose_report_dir, ranked_weaknesses, terminal_tables, write_report
    from .run import run_bench

    try:
        rules = parse_fail_on(fail_on) if fail_on is not None else None
    except FailOnError as exc:
        raise click.BadParameter(str(exc), param_hint="--fail-on") from None
    target = output or Path("bench-reports") / config.stem
    try:
        folder = choose_report_dir(target, overwrite)
    except GrpoRewardsError as exc:
        fail(str(exc))

    try:
        result = run_bench(
            config,
            prompts,
            model=model,
            num_generations=num_generations,
            compare=compare_model,
            limit=limit,
            workers=workers,
            seed=seed,
            cache_dir=cache_dir,
            log=say,
            step=step,
            executor=executor,
        )
    except ConfigError as exc:
        fail_config(exc)
    except (GrpoRewardsError, FileNotFoundError) as exc:
        fail(str(exc))
    warn_plugin_problems()
    markdown = write_report(result, folder, plots=not no_plots)
    if as_json:
        click.echo(json.dumps(result.report, indent=2, default=str))
    else:
        for table in terminal_tables(result.report):
            out.print(table)
        for note in result.report["notes"]:
            labelled("note", "cyan", note["message"])
        for message in ranked_weaknesses(result.report):  # the one that matters first
            labelled("weakness", "bold yellow", message)
        recommendation = (result.report.get("aggregation") or {}).get("recommendation")
        if recommendation:
            console.print(
                f"recommended aggregation: {recommendation['reason']}\n{recommendation['grpo']}",
                highlight=False,
                soft_wrap=True,
                markup=False,
            )
    console.print(f"report: {markdown}", highlight=False, soft_wrap=True)
    if rules is not None:
        failed = failures(result.report, rules)
        for line in failed:
            click.echo(f"fail: {line}", err=True)
        if failed:
            raise SystemExit(1)
