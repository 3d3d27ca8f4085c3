"""The ``grpo-rewards`` command line.

Commands import their heavy machinery (datasets, torch) inside the command, so ``--help`` and the
scoring commands stay fast and torch-free.
"""

from __future__ import annotations

import json
import re
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from .registry import get_registry
from .reward import RewardSpec
from .terminal import console, fail, fail_config, load_reward_set_or_fail, out, warn_plugin_problems  # noqa: F401


class PluginCommands(click.Group):
    """The built-in commands plus those plugins add through the ``register_commands`` hook.

    Plugin commands are added on first use (``--help`` or a command lookup), from the registry
    loaded at that moment, so the core never imports the trainer or a plugin to list them.
    """

    def _with_plugins(self) -> None:
        get_registry().add_commands(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._with_plugins()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        self._with_plugins()
        return super().get_command(ctx, name)


@click.group(cls=PluginCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="grpo-rewards")
def main() -> None:
    """Reward functions for GRPO as plugins: list them, compose weighted sets, score completions,
    train with TRL and benchmark reward sets."""


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List loaded plugins with their distribution, version, hooks and what they provide
    (rewards, extractors, datasets, probes, commands), then any loading problems."""
    registry = get_registry()
    registry.add_commands(main)
    rows = [vars(info) for info in registry.plugins.values()]
    if as_json:
        click.echo(json.dumps({"plugins": rows, "problems": [vars(p) for p in registry.problems]}, indent=2))
        return
    table = Table(title="grpo-rewards plugins")
    for column in ("plugin", "distribution", "version", "hooks", "provides"):
        table.add_column(column)
    for info in registry.plugins.values():
        provides = [
            *info.rewards,
            *(f"extractor:{n}" for n in info.extractors),
            *(f"dataset:{n}" for n in info.datasets),
            *(f"probe:{n}" for n in info.probes),
            *(f"attack:{n}" for n in info.attacks),
            *(f"command:{n}" for n in info.commands),
        ]
        table.add_row(info.name, info.distribution or info.source, info.version or "", ", ".join(info.hooks), ", ".join(provides))
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
        out.print(f"[bold]{escape(spec.name)}[/]  (plugin {escape(spec.plugin)})\n{escape(spec.description)}")
        out.print(
            f"columns: {', '.join(spec.columns) or 'none fixed'}; value range: {_range(spec.value_range)}; "
            f"time limit: {spec.default_timeout or 'none'}s per item",
            markup=False,
        )
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
            table.add_row(
                p.name,
                p.describe_type(),
                "required" if p.required else escape(repr(p.default)),
                escape(p.help + (f" ({'; '.join(extra)})" if extra else "")),
            )
        out.print(table)
        return
    table = Table(title="grpo-rewards rewards")
    for column in ("reward", "plugin", "range", "description"):
        table.add_column(column)
    for spec in specs:
        table.add_row(spec.name, spec.plugin, _range(spec.value_range), escape(_summary(spec.description)))
    out.print(table)
    warn_plugin_problems()


def _summary(description: str) -> str:
    """The first sentence: the listing is one line per reward; `rewards NAME` shows the rest."""
    head = re.split(r"(?<=[.?!])\s", description.strip(), maxsplit=1)[0]
    return head


def _range(value_range: tuple[float, float] | None) -> str:
    return "unbounded" if value_range is None else f"[{value_range[0]:g}, {value_range[1]:g}]"


def _spec_json(spec: RewardSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "plugin": spec.plugin,
        "description": spec.description,
        "columns": list(spec.columns),
        "value_range": list(spec.value_range) if spec.value_range else None,
        "timeout": spec.default_timeout,
        "params": [
            {
                "name": p.name,
                "type": p.describe_type(),
                "default": p.default,
                "help": p.help,
                "choices": list(p.choices) if p.choices else None,
                "min": p.min,
                "max": p.max,
                "column": p.column,
                "required": p.required,
            }
            for p in spec.params
        ],
    }


from .attack_command import attack  # noqa: E402
from .bench.cli import bench  # noqa: E402
from .check_command import check  # noqa: E402
from .explain_command import explain  # noqa: E402
from .score_command import score  # noqa: E402  (kept in its own module: it is the longest)

main.add_command(score)
main.add_command(bench)
main.add_command(attack)
main.add_command(check)
main.add_command(explain)
