"""``grpo-rewards score``: score pre-generated completions with a reward set.

Input problems (a malformed line, a row without ``completion``, a row missing a column a reward
needs) are all reported with line numbers before anything is scored. The output is written to a
temporary file beside the target and renamed into place at the end, so an interrupted run never
leaves a half-written file posing as a complete one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .errors import ConfigError, InputError
from .explain import explain_batch
from .rewardset import RewardSet
from .rows import LINE_KEY, check_writable, completion_ids_problem, read_rows, summarise, write_atomically
from .scoring import Row, ScoreResult, score_rows

__all__ = ["read_rows", "rows_for_scoring", "score", "summary_table", "write_atomically"]

OUTPUT_COLUMNS = ("reward", "rewards")  # what score adds to each row: an input column of that name is refused


def message_problem(value: Any, key: str) -> str | None:
    """Why ``value`` is not a usable prompt/completion (a string or chat messages), or None."""
    if value is None or isinstance(value, (str, int, float)):  # CSV gives numbers for numeric cells
        return None
    messages = [value] if isinstance(value, Mapping) else value
    if not isinstance(messages, list):
        return f"'{key}' must be a string or a list of chat messages, got {type(value).__name__}"
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping):
            return f"'{key}'[{index}] must be a chat message object, got {type(message).__name__}"
        content = message.get("content")
        if content is None or isinstance(content, str):
            continue
        if not isinstance(content, list):
            return f"'{key}'[{index}].content must be a string or a list of parts, got {type(content).__name__}"
        for part_index, part in enumerate(content):
            text = part.get("text", "") if isinstance(part, Mapping) else None
            if not isinstance(text, str):
                return (
                    f"'{key}'[{index}].content[{part_index}] must be an object whose 'text' is a string, "
                    f"got {type(text).__name__ if isinstance(part, Mapping) else type(part).__name__}"
                )
    return None


def rows_for_scoring(rows: list[dict[str, Any]], reward_set: RewardSet, source: Path) -> list[Row]:
    """Check every row before scoring; raise InputError listing the bad ones by line."""
    needed = reward_set.required_columns()
    problems = []
    out = []
    for index, row in enumerate(rows):
        where = f"{source}:{row.get(LINE_KEY, index + 1)}"
        if "completion" not in row:
            problems.append(f"{where}: no 'completion' field")
            continue
        for key in ("completion", "prompt"):
            problem = message_problem(row[key], key) if key in row else None
            if problem:
                problems.append(f"{where}: {problem}")
        problem = completion_ids_problem(row.get("completion_ids"))
        if problem:
            problems.append(f"{where}: {problem}")
        taken = [c for c in OUTPUT_COLUMNS if c in row]
        if taken:
            problems.append(
                f"{where}: has column(s) {', '.join(map(repr, taken))}, where score writes its results; "
                "rename or drop them (a scored file's old scores, for instance) so nothing you wrote is overwritten"
            )
        for name, wanted in needed.items():
            missing = [c for c in wanted if c not in row]
            if missing:
                problems.append(
                    f"{where}: reward {name!r} needs column(s) {', '.join(map(repr, missing))}, missing from this row"
                )
        columns = {k: v for k, v in row.items() if k not in ("prompt", "completion", "completion_ids", LINE_KEY)}
        out.append(Row(row["completion"], row.get("prompt", ""), columns, row.get("completion_ids")))
    if problems:
        raise InputError(summarise(problems))
    return out


def detail_metrics(details: Any) -> dict[str, list[float]]:
    """The numeric values of each key a reward reported in its per-row details (a rubric's criteria):
    the same ``<reward>/<key>`` metrics ``train`` logs through TRL's ``log_metric``."""
    out: dict[str, list[float]] = {}
    for row in details or []:
        for key, value in (row or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out.setdefault(str(key), []).append(float(value))
    return out


def summary_table(result: ScoreResult) -> Table:
    table = Table(title="scores")
    for column in ("reward", "weight", "mean", "std", "None", "errors", "timeouts", "ms/row"):
        table.add_column(column, justify="right" if column != "reward" else "left")
    import statistics

    for name, weight in zip(result.names, result.weights):
        values = [v for v in result.values[name] if v is not None]
        stats = result.stats[name]
        table.add_row(
            name,
            f"{weight:g}",
            f"{statistics.fmean(values):.4g}" if values else "-",
            f"{statistics.pstdev(values):.4g}" if len(values) > 1 else "-",
            str(stats.nones),
            str(stats.errors),
            str(stats.timeouts),
            f"{stats.latency_ms:.3f}",
        )
        for key, numbers in detail_metrics(result.details.get(name)).items():  # a judge's criteria, as train logs them
            table.add_row(
                f"  {name}/{key}",
                "",
                f"{statistics.fmean(numbers):.4g}",
                f"{statistics.pstdev(numbers):.4g}" if len(numbers) > 1 else "-",
                "",
                "",
                "",
                "",
            )
    totals = [t for t in result.total if t is not None]
    table.add_row(
        "[bold]total[/]",
        "",
        f"{statistics.fmean(totals):.4g}" if totals else "-",
        f"{statistics.pstdev(totals):.4g}" if len(totals) > 1 else "-",
        "",
        "",
        "",
        "",
    )
    return table


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option(
    "--input",
    "-i",
    "input_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Rows with 'completion' (and 'prompt', gold columns): .jsonl, .json, .csv or .parquet.",
)
@click.option(
    "--output",
    "-o",
    "output_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Where to write the scored rows (JSONL).",
)
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes to score in (worth it for CPU-heavy rewards).",
)
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
    "--explain",
    "with_explain",
    is_flag=True,
    help="Add 'explain' to each row: per reward what it read, why a None, its gate, weight and contribution.",
)
def score(
    config: Path,
    input_path: Path,
    output_path: Path,
    force: bool,
    workers: int,
    step: int | None,
    executor: str | None,
    with_explain: bool,
) -> None:
    """Score pre-generated completions with the reward set in CONFIG."""
    from .terminal import console, fail, labelled, load_reward_set_or_fail, out

    try:
        check_writable(output_path)  # a link, FIFO or device is refused even with --force
    except InputError as exc:
        fail(str(exc))
    if output_path.exists() and not force:
        fail(f"{output_path} exists; pass --force to overwrite it")
    reward_set = load_reward_set_or_fail(config)
    reward_set.step = step  # weights of every schedule at this step; gates always apply
    if executor is not None:
        try:
            reward_set.use_executor(executor)
        except ConfigError as exc:
            fail(f"--executor: {exc.problems[0].message}")
    try:
        raw_rows = read_rows(input_path)
        rows = rows_for_scoring(raw_rows, reward_set, input_path)
    except InputError as exc:
        fail(str(exc))
    if with_explain and any("explain" in row for row in raw_rows):
        fail(f"{input_path}: a row has an 'explain' column, where --explain writes; rename or drop it")
    with Progress(
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=len(rows) < 500,
    ) as bar:
        task = bar.add_task("score", total=len(rows))
        result = score_rows(reward_set, rows, workers=workers, progress=lambda n: bar.advance(task, n))

    totals = result.total  # None where every reward is None, or where the weighted sum overflows a float
    explained = explain_batch(reward_set, result) if with_explain else None

    def lines() -> Iterator[str]:
        for i, row in enumerate(raw_rows):
            row = {k: v for k, v in row.items() if k != LINE_KEY}
            row["rewards"] = result.row(i)
            row["reward"] = totals[i]
            if explained is not None:
                row["explain"] = explained[i]["rewards"]
            yield json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n"  # never Infinity/NaN

    write_atomically(output_path, lines())
    out.print(summary_table(result))
    plugin_of = {entry.name: entry.spec.plugin for entry in reward_set.rewards}
    for name in result.names:
        stats = result.stats[name]
        if stats.first_error:  # which plugin's code raised, and where (`explain --traceback` shows the rest)
            labelled(escape(f"{name} (plugin {plugin_of.get(name, '?')})"), "yellow", f"first error: {stats.first_error}")
        if stats.oversized:
            console.print(
                f"[yellow]{name}[/]: {stats.oversized} completion(s) over its max_input_chars were not scored (None)",
                highlight=False,
                soft_wrap=True,
            )
    console.print(f"wrote {len(rows)} scored rows to {output_path}")
