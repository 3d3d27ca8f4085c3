"""The ``grpo-rewards`` command line.

Commands import their heavy machinery (datasets, torch) inside the command, so ``--help`` and the
scoring commands stay fast and torch-free.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
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
@click.option(
    "--config",
    type=click.Path(path_type=Path),
    help="Also load the local plugin files this reward-set config names (its `plugins` key).",
)
def rewards(name: str | None, as_json: bool, config: Path | None) -> None:
    """List registered rewards, or show everything one reward declares: its kind, parameters (columns,
    extractor lists, roles), answer domain, gold reader, isolation, executor, limits and requirements."""
    registry = get_registry()
    if config is not None:
        _load_config_plugins(config)
    specs = [registry.rewards[n] for n in sorted(registry.rewards)]
    if name:
        try:
            specs = [registry.get(name)]
        except KeyError as exc:
            from .rewardset import unknown_reward_message

            fail(unknown_reward_message(name, registry, str(exc).strip('"')))
    if as_json:
        click.echo(json.dumps([_spec_json(s) for s in specs], indent=2, default=str))
        return
    if name:
        spec = specs[0]
        declared = _spec_json(spec)
        out.print(f"[bold]{escape(spec.name)}[/]  (plugin {escape(spec.plugin)})\n{escape(spec.description)}")
        facts = Table(title="declared", show_header=False)
        facts.add_column("key", style="bold")
        facts.add_column("value")
        for key in _FACTS:
            value = _range(spec.value_range) if key == "value_range" else _shown(declared[key])
            facts.add_row("columns" if key == "reads_columns" else key, escape(value))
        out.print(facts)
        table = Table(title="parameters")
        for column in ("name", "type", "default", "help"):
            table.add_column(column)
        for p, item in zip(spec.params, declared["params"]):
            extra = []
            if p.choices:
                extra.append("one of " + ", ".join(map(str, p.choices)))
            if p.min is not None or p.max is not None:
                extra.append(f"range [{'' if p.min is None else p.min}, {'' if p.max is None else p.max}]")
            if p.column:
                extra.append("names a dataset column")
            if p.refers_to:
                extra.append(f"names registered {p.refers_to}s, received as callables (grpo_rewards.registry.Refs)")
            if p.role:
                extra.append(f"role {p.role}")
            table.add_row(
                p.name,
                p.describe_type(),
                "required" if p.required else escape(repr(item["default"])),
                escape(p.help + (f" ({'; '.join(extra)})" if extra else "")),
            )
        out.print(table)
        return
    table = Table(title="grpo-rewards rewards")
    for column in ("reward", "plugin", "kind", "range", "description"):
        table.add_column(column)
    for spec in specs:
        table.add_row(spec.name, spec.plugin, spec.kind, _range(spec.value_range), escape(_summary(spec.description)))
    out.print(table)
    warn_plugin_problems()


# What `rewards NAME` shows of a declaration, in this order (the parameters follow in their own table).
_FACTS = (
    "kind",
    "reads_columns",
    "value_range",
    "answer_domain",
    "gold_reader",
    "isolation",
    "executor",
    "deterministic",
    "batched",
    "concurrent",
    "concurrency",
    "timeout",
    "max_input_chars",
    "requires",
)


def _load_config_plugins(config: Path) -> None:
    """The local plugin files a config names, loaded (their problems are warnings of the listing)."""
    from .config import load_config_file
    from .errors import ConfigError
    from .registry import load_plugin_files
    from .rewardset import plugin_paths

    try:
        raw = load_config_file(config)
        files = raw.get("plugins") or []
        load_plugin_files(plugin_paths(files, str(config), config.parent) if files else [])
    except ConfigError as exc:
        fail_config(exc)


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def _summary(description: str) -> str:
    """The first sentence: the listing is one line per reward; `rewards NAME` shows the rest."""
    head = re.split(r"(?<=[.?!])\s", description.strip(), maxsplit=1)[0]
    return head


def _range(value_range: tuple[float, float] | None) -> str:
    return "unbounded" if value_range is None else f"[{value_range[0]:g}, {value_range[1]:g}]"


def _domain(spec: RewardSpec) -> str | None:
    """The answer domain a reward declares, as its name and description (or why it is unknown)."""
    from .attack.domains import resolve_domain
    from .attack.plan import all_domains

    if spec.answer_domain is None:
        return "none declared (read off each row's gold)" if spec.kind == "correctness" else None
    try:
        domain = resolve_domain(spec.answer_domain, all_domains(get_registry()), spec.name)
    except ValueError as exc:
        return str(exc)
    return f"{domain.name}: {domain.description}"


def _spec_json(spec: RewardSpec) -> dict[str, Any]:
    from .reward import default_executor

    reader = spec.gold_reader
    return {
        "name": spec.name,
        "plugin": spec.plugin,
        "description": spec.description,
        "kind": spec.kind,
        "columns": list(spec.columns),  # fixed ones
        "reads_columns": spec.required_columns({p.name: p.default for p in spec.params}),  # with the defaults
        "value_range": list(spec.value_range) if spec.value_range else None,
        "answer_domain": _domain(spec),
        "gold_reader": None if reader is None else _where(reader),
        "isolation": spec.isolation,
        "executor": spec.executor or default_executor(spec.fn, spec.isolation),
        # a callable decides from the resolved parameters (a judge sampling at temperature > 0 is not)
        "deterministic": spec.deterministic
        if isinstance(spec.deterministic, bool)
        else f"depends on the parameters ({_where(spec.deterministic)})",
        "batched": spec.batched,
        "concurrent": spec.concurrent,
        "concurrency": spec.concurrency,
        "timeout": spec.default_timeout,
        "max_input_chars": spec.max_input_chars,
        "requires": [
            f"{module} ({'missing: ' + install if problem else 'installed'})"
            for (module, install), problem in zip(spec.requires, _missing(spec))
        ],
        "params": [
            {
                "name": p.name,
                "type": p.describe_type(),
                "default": list(p.default) if isinstance(p.default, (list, tuple)) else p.default,
                "help": p.help,
                "choices": list(p.choices) if p.choices else None,
                "min": p.min,
                "max": p.max,
                "column": p.column,
                "required": p.required,
                "nullable": p.nullable,
                "refers_to": p.refers_to,
                "role": p.role,
            }
            for p in spec.params
        ],
    }


def _where(fn: Any) -> str:
    """``module.function``, or ``function (file.py)`` for a local plugin file's function."""
    import inspect

    name = getattr(fn, "__qualname__", repr(fn))
    module = getattr(fn, "__module__", "") or ""
    if module.startswith("grpo_rewards_local_"):
        try:
            return f"{name} ({Path(inspect.getsourcefile(fn) or '').name})"
        except TypeError:
            return name
    return f"{module}.{name}" if module else name


def _missing(spec: RewardSpec) -> list[bool]:
    import importlib.util

    return [importlib.util.find_spec(module) is None for module, _ in spec.requires]


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
