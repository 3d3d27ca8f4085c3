"""The ``grpo-rewards`` command line.

Commands import their heavy machinery (datasets, torch) inside the command, so ``--help`` and the
scoring commands stay fast and torch-free.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from .config import ConfigError
from .registry import get_registry
from .rewardset import RewardSet, load_reward_set

console = Console(stderr=True)
out = Console()


def fail(message: str) -> None:
    """Print a clear error and exit 2 (usage/config error), never a traceback."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(2)


def warn_plugin_problems() -> None:
    for problem in get_registry().problems:
        console.print(f"[yellow]warning:[/] {problem}", highlight=False, soft_wrap=True)


def fail_config(exc: ConfigError) -> None:
    """Every problem of a config at once, then exit 2."""
    fail(f"{len(exc.problems)} problem(s) in the config:\n{exc}")


def load_reward_set_or_fail(config: Path) -> RewardSet:
    """The reward set of ``config``, or a clear exit; plugin loading problems are shown as warnings."""
    try:
        reward_set = load_reward_set(config)
    except ConfigError as exc:
        fail_config(exc)
    warn_plugin_problems()
    return reward_set


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="grpo-rewards")
def main() -> None:
    """Reward functions for GRPO as plugins: list them, compose weighted sets, score completions,
    train with TRL and benchmark reward sets."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List loaded plugins with their distribution, version, hooks and rewards."""
    registry = get_registry()
    rows = [
        {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "source": info.source,
            "hooks": info.hooks,
            "rewards": info.rewards,
            "extractors": info.extractors,
        }
        for info in registry.plugins.values()
    ]
    if as_json:
        click.echo(json.dumps({"plugins": rows, "problems": [vars(p) for p in registry.problems]}, indent=2))
        return
    table = Table(title="grpo-rewards plugins")
    for column in ("plugin", "distribution", "version", "hooks", "rewards"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["name"], row["distribution"] or row["source"], row["version"] or "",
            ", ".join(row["hooks"]), ", ".join(row["rewards"] + [f"extractor:{e}" for e in row["extractors"]]),
        )
    out.print(table)
    warn_plugin_problems()


@main.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def rewards(name: str | None, as_json: bool) -> None:
    """List registered rewards, or show one reward's parameters and columns."""
    registry = get_registry()
    specs = [registry.rewards[n] for n in sorted(registry.rewards)]
    if name:
        try:
            specs = [registry.get(name)]
        except KeyError as exc:
            fail(str(exc))
    if as_json:
        click.echo(json.dumps([_spec_json(s) for s in specs], indent=2))
        return
    if name:
        spec = specs[0]
        out.print(f"[bold]{spec.name}[/]  (plugin {spec.plugin})\n{spec.description}")
        out.print(f"columns: {', '.join(spec.columns) or 'none fixed'}; value range: {_range(spec.value_range)}; "
                  f"time limit: {spec.default_timeout or 'none'}s per item")
        table = Table(title="parameters")
        for column in ("name", "type", "default", "help"):
            table.add_column(column)
        for p in spec.params:
            extra = []
            if p.choices:
                extra.append("one of " + ", ".join(map(str, p.choices)))
            if p.min is not None or p.max is not None:
                extra.append(f"range [{'' if p.min is None else p.min}, {'' if p.max is None else p.max}]")
            if p.column:
                extra.append("names a dataset column")
            table.add_row(p.name, p.describe_type(), "required" if p.required else repr(p.default), p.help + (f" ({'; '.join(extra)})" if extra else ""))
        out.print(table)
        return
    table = Table(title="grpo-rewards rewards")
    for column in ("reward", "plugin", "range", "description"):
        table.add_column(column)
    for spec in specs:
        table.add_row(spec.name, spec.plugin, _range(spec.value_range), _summary(spec.description))
    out.print(table)
    warn_plugin_problems()


def _summary(description: str) -> str:
    """The first sentence: the listing is one line per reward; `rewards NAME` shows the rest."""
    head = re.split(r"(?<=[.?!])\s", description.strip(), maxsplit=1)[0]
    return head


def _range(value_range) -> str:
    return "unbounded" if value_range is None else f"[{value_range[0]:g}, {value_range[1]:g}]"


def _spec_json(spec) -> dict:
    return {
        "name": spec.name,
        "plugin": spec.plugin,
        "description": spec.description,
        "columns": list(spec.columns),
        "value_range": list(spec.value_range) if spec.value_range else None,
        "timeout": spec.default_timeout,
        "params": [
            {"name": p.name, "type": p.describe_type(), "default": p.default, "help": p.help,
             "choices": list(p.choices) if p.choices else None, "min": p.min, "max": p.max, "column": p.column,
             "required": p.required}
            for p in spec.params
        ],
    }


@main.command()
@click.argument("config", type=click.Path(path_type=Path))
def check(config: Path) -> None:
    """Validate a reward-set config (or a trainer/bench config with a rewards section)."""
    reward_set = load_reward_set_or_fail(config)
    table = Table(title=f"reward set from {config}")
    for column in ("name", "reward", "weight", "columns", "params"):
        table.add_column(column)
    for entry in reward_set.rewards:
        table.add_row(entry.name, entry.spec.name, f"{entry.weight:g}", ", ".join(entry.columns),
                      ", ".join(f"{k}={v!r}" for k, v in entry.params.items()))
    out.print(table)
    out.print("[green]ok[/]: the reward set is valid")


from .score_command import score  # noqa: E402  (kept in its own module: it is the longest)

main.add_command(score)

# -- commands from other modules: one add_command line each, below ---------------------------
from grpo_rewards.trainer import cli as _trainer_cli  # noqa: E402  (click only: no torch at import)

main.add_command(_trainer_cli.train)
main.add_command(_trainer_cli.generate)
from grpo_rewards.plugins.reward_model.server import serve_rewards as _serve_rewards  # noqa: E402  (no torch at import)

main.add_command(_serve_rewards)
from grpo_rewards.bench.cli import bench as _bench  # noqa: E402  (no torch at import)

main.add_command(_bench)
