"""``grpo-rewards score``: score pre-generated completions with a reward set.

Input problems (a malformed line, a row without ``completion``, a row missing a column a reward
needs) are all reported with line numbers before anything is scored. The output is written to a
temporary file beside the target and renamed into place at the end, so an interrupted run never
leaves a half-written file posing as a complete one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .errors import InputError
from .rewardset import RewardSet
from .scoring import Row, ScoreResult, score_rows

MAX_REPORTED = 20


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL/JSON file (read here, for line numbers) or CSV/parquet (via ``datasets``)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if suffix in (".jsonl", ".ndjson"):
        return list(_read_jsonl(path))
    if suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise InputError(f"{path}: expected a JSON list of objects")
        return data
    if suffix in (".csv", ".parquet"):
        try:
            from datasets import load_dataset
        except ImportError:  # pragma: no cover - datasets comes with the [train] extra
            raise InputError(f"{path}: reading {suffix} needs the `datasets` package (pip install 'grpo-rewards[train]')") from None
        dataset = load_dataset(suffix.lstrip("."), data_files=str(path), split="train")
        return [dict(r) for r in dataset]
    raise InputError(f"{path}: unsupported input format {suffix!r}; use .jsonl, .json, .csv or .parquet")


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    problems = []
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"{path}:{number}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(row, dict):
                problems.append(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
                continue
            row["__line__"] = number
            rows.append(row)
    if problems:
        raise InputError(_summarise(problems))
    return iter(rows)


def _summarise(problems: list[str]) -> str:
    shown = problems[:MAX_REPORTED]
    more = len(problems) - len(shown)
    return "\n".join(shown + ([f"... and {more} more"] if more else []))


def rows_for_scoring(rows: list[dict[str, Any]], reward_set: RewardSet, source: Path) -> list[Row]:
    """Check every row before scoring; raise InputError listing the bad ones by line."""
    needed = reward_set.required_columns()
    problems = []
    out = []
    for index, row in enumerate(rows):
        where = f"{source}:{row.get('__line__', index + 1)}"
        if "completion" not in row:
            problems.append(f"{where}: no 'completion' field")
            continue
        for name, columns in needed.items():
            missing = [c for c in columns if c not in row]
            if missing:
                problems.append(f"{where}: reward {name!r} needs column(s) {', '.join(map(repr, missing))}, missing from this row")
        columns = {k: v for k, v in row.items() if k not in ("prompt", "completion", "completion_ids", "__line__")}
        out.append(Row(row["completion"], row.get("prompt", ""), columns, row.get("completion_ids")))
    if problems:
        raise InputError(_summarise(problems))
    return out


def write_atomically(path: Path, lines: Iterator[str]) -> None:
    """Write to a temporary file in the same folder and rename it over ``path`` when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def summary_table(result: ScoreResult) -> Table:
    table = Table(title="scores")
    for column in ("reward", "weight", "mean", "std", "None", "errors", "timeouts", "ms/row"):
        table.add_column(column, justify="right" if column != "reward" else "left")
    import statistics

    for name, weight in zip(result.names, result.weights):
        values = [v for v in result.values[name] if v is not None]
        stats = result.stats[name]
        table.add_row(
            name, f"{weight:g}",
            f"{statistics.fmean(values):.4g}" if values else "-",
            f"{statistics.pstdev(values):.4g}" if len(values) > 1 else "-",
            str(stats.nones), str(stats.errors), str(stats.timeouts), f"{stats.latency_ms:.3f}",
        )
    totals = [t for t in result.total if t is not None]
    table.add_row("[bold]total[/]", "", f"{statistics.fmean(totals):.4g}" if totals else "-",
                  f"{statistics.pstdev(totals):.4g}" if len(totals) > 1 else "-", "", "", "", "")
    return table


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--input", "-i", "input_path", required=True, type=click.Path(path_type=Path),
              help="Rows with 'completion' (and 'prompt', gold columns): .jsonl, .json, .csv or .parquet.")
@click.option("--output", "-o", "output_path", required=True, type=click.Path(path_type=Path),
              help="Where to write the scored rows (JSONL).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes to score in (worth it for CPU-heavy rewards).")
@click.option("--step", type=click.IntRange(min=0), default=None,
              help="Apply weight schedules at this TRL global step (default: the end of every schedule).")
def score(config: Path, input_path: Path, output_path: Path, force: bool, workers: int, step: int | None) -> None:
    """Score pre-generated completions with the reward set in CONFIG."""
    from .cli import console, fail, load_reward_set_or_fail, out

    if output_path.exists() and not force:
        fail(f"{output_path} exists; pass --force to overwrite it")
    reward_set = load_reward_set_or_fail(config)
    reward_set.step = step  # weights of every schedule at this step; gates always apply
    try:
        raw_rows = read_rows(input_path)
        rows = rows_for_scoring(raw_rows, reward_set, input_path)
    except InputError as exc:
        fail(str(exc))
    with Progress(TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True, disable=len(rows) < 500) as bar:
        task = bar.add_task("score", total=len(rows))
        result = score_rows(reward_set, rows, workers=workers, progress=lambda n: bar.advance(task, n))

    def lines() -> Iterator[str]:
        for i, row in enumerate(raw_rows):
            row = {k: v for k, v in row.items() if k != "__line__"}
            row["rewards"] = result.row(i)
            row["reward"] = result.total[i]
            yield json.dumps(row, ensure_ascii=False) + "\n"

    write_atomically(output_path, lines())
    out.print(summary_table(result))
    for name in result.names:
        if result.stats[name].first_error:
            console.print(f"[yellow]{name}[/]: first error: {result.stats[name].first_error}", highlight=False, soft_wrap=True)
    console.print(f"wrote {len(rows)} scored rows to {output_path}")
