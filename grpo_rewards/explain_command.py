"""``grpo-rewards explain``: why one completion gets its score from a reward set."""

from __future__ import annotations

import asyncio
import inspect
import json
import traceback
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from .explain import _redacted, explain_batch
from .rewardset import RewardSet, WeightedReward
from .runtime import Scorer
from .scoring import Row


def _columns(pairs: tuple[str, ...]) -> dict[str, str]:
    from .terminal import fail

    columns = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            fail(f"--column {pair!r}: expected KEY=VALUE, e.g. --column answer=42")
        columns[key.strip()] = value
    return columns


def _traceback(entry: WeightedReward, row: Row) -> str:
    """The reward's own traceback on this row, from a direct call in this process (outside the
    runtime's time limit and isolation, which keep only the error's message)."""
    fn = entry.build()
    sample = row.sample()
    try:
        result = fn.fn([sample] if entry.spec.batched else sample, **fn.params)
        if inspect.isawaitable(result):
            asyncio.run(_awaited(result))
    except BaseException:
        return str(_redacted(traceback.format_exc(), entry))
    return "(the direct call did not raise: the failure came from the runtime: a time limit, the size cap, a worker)"


async def _awaited(result: Any) -> Any:
    return await result


def explanation_table(reward_set: RewardSet, explained: dict[str, Any]) -> Table:
    table = Table(title="why this score")
    for column in ("reward", "value", "weight", "gate", "contribution", "why"):
        table.add_column(column, justify="right" if column in ("value", "weight", "contribution") else "left")
    for entry in reward_set.rewards:
        item = explained["rewards"][entry.name]
        gate = item.get("gate")
        gate_text = ""
        if gate:
            gate_text = f"{'open' if gate['open'] else 'closed'}: {gate['when']} ({gate['because']})"
            if not gate["open"]:
                gate_text += f"; gives {gate['closed_rule']}"
        read = item.get("read") or {}
        why = item.get("why_none") or read.get("why") or ""
        value = item["value"]
        table.add_row(
            escape(entry.name),
            "None" if value is None else f"{value:.4g}",
            f"{item['weight']:g}",
            escape(gate_text),
            f"{item['contribution']:.4g}",
            escape(str(why)),
        )
    total = explained["total"]
    table.add_row("[bold]total[/]", "", "", "", "None" if total is None else f"{total:.4g}", "")
    return table


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--completion", required=True, help="The completion to explain.")
@click.option("--prompt", default="", help="Its prompt.")
@click.option("--column", "columns", multiple=True, metavar="KEY=VALUE", help="A dataset column (repeatable), e.g. answer=42.")
@click.option(
    "--step",
    type=click.IntRange(min=0),
    default=None,
    help="Weights of every schedule at this TRL global step (default: their end).",
)
@click.option("--traceback", "show_traceback", is_flag=True, help="Show the traceback of a reward that raised.")
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
def explain(
    config: Path, completion: str, prompt: str, columns: tuple[str, ...], step: int | None, show_traceback: bool, as_json: bool
) -> None:
    """Why COMPLETION gets its score from the reward set in CONFIG: per reward its value, what it
    read (extractor, answer, gold), why a None, the gate's state, the weight at the step and its
    contribution to the total."""
    from .terminal import fail, load_reward_set_or_fail, out

    reward_set = load_reward_set_or_fail(config)
    given = _columns(columns)
    missing = {n: [c for c in cols if c not in given] for n, cols in reward_set.required_columns().items()}
    missing = {n: cols for n, cols in missing.items() if cols}
    if missing:
        fail(
            "give the columns the rewards read: "
            + "; ".join(f"{n} needs {', '.join(repr(c) for c in cols)}" for n, cols in missing.items())
            + " (--column NAME=VALUE)"
        )
    row = Row(completion, prompt, given)
    batch = Scorer(reward_set, weights=reward_set.weights_at(step)).score([row.sample()])
    [explained] = explain_batch(reward_set, batch, single=True)
    if show_traceback:
        for entry in reward_set.rewards:
            if batch.stats[entry.name].errors:
                explained["rewards"][entry.name]["traceback"] = _traceback(entry, row)
    if as_json:
        click.echo(json.dumps(explained, indent=2, ensure_ascii=False, allow_nan=False))
        return
    out.print(explanation_table(reward_set, explained))
    for entry in reward_set.rewards:
        item = explained["rewards"][entry.name]
        read = {k: v for k, v in (item.get("read") or {}).items() if k != "why"}
        if read:
            out.print(f"{entry.name} read: " + ", ".join(f"{k} = {v!r}" for k, v in read.items()), markup=False, highlight=False)
        if item.get("traceback"):
            out.print(f"{entry.name} traceback:\n{item['traceback']}", markup=False, highlight=False)
