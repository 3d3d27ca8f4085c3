"""``grpo-rewards check``: every problem ``train`` and ``bench`` would find, before anything runs,
and the resolved reward set with its schedules and gates."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .rewardset import RewardSet
from .terminal import fail, labelled, out, say, warn_plugin_problems
from .validate import Validation, validate_config


def report_validation(validation: Validation) -> RewardSet:
    """Print warnings, then exit 2 with every problem, or print the set and what would run."""
    warn_plugin_problems()
    for warning in validation.warnings:
        labelled("warning", "yellow", warning)
    if validation.problems or validation.reward_set is None:
        fail(f"{len(validation.problems)} problem(s) in the config:\n" + "\n".join(map(str, validation.problems)))
    reward_set = validation.reward_set
    out.print(reward_set_table(reward_set, validation.source))
    for line in validation.summary:
        say(line)
    return reward_set


def reward_set_table(reward_set: RewardSet, source: str) -> Table:
    """Each reward with its weight (or schedule), columns, parameters, gate and closed value."""
    table = Table(title=f"reward set from {source}")
    gated = reward_set.has_gates
    for column in ("name", "reward", "weight", "columns", "params", *(("gate", "closed gate gives") if gated else ())):
        table.add_column(column)
    for entry in reward_set.rewards:
        if entry.eval_only:
            weight = "eval only"
        elif entry.uncertified:
            weight = "0 (uncertified: metric only)"
        elif entry.schedule is not None:
            weight = entry.schedule.describe()
        else:
            weight = f"{entry.weight:g}"
        table.add_row(
            entry.name,
            entry.spec.name,
            weight,
            ", ".join(entry.columns),
            ", ".join(f"{k}={v!r}" for k, v in entry.params.items()),
            *((entry.when or "", entry.describe_closed() if entry.when else "") if gated else ()),
        )
    return table


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
def check(config: Path) -> None:
    """Validate a reward-set, trainer or bench config as `train` and `bench` would, before any model
    loads: every problem at once, with file, line, entry and key."""
    reward_set = report_validation(validate_config(config))
    for entry in reward_set.rewards:
        if entry.gate is not None:
            out.print(
                f"gate: {entry.name} counts when `{entry.when}`; where closed it gives {entry.describe_closed()}, "
                "so failing the gate never pays more than passing it",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    out.print("[green]ok[/]: the reward set is valid")
