"""``grpo-rewards gym list``: the reasoning-gym tasks, their options and which are refused."""

from __future__ import annotations

import click

from grpo_rewards.errors import InputError

from . import tasks


@click.group("gym")
def gym_group() -> None:
    """reasoning-gym tasks (the [gym] extra): builtin:gym:<task> data and the gym.score reward."""


@gym_group.command("list")
@click.argument("task", required=False)
def list_tasks(task: str | None) -> None:
    """List the tasks usable as builtin:gym:<task>, or TASK's options with their defaults."""
    try:
        if task:
            options = tasks.task_options(task)
            click.echo(f"builtin:gym:{task}  options (besides size={tasks.DEFAULT_SIZE}, seed={tasks.DEFAULT_SEED}):")
            for name, field in options.items():
                click.echo(f"  {name} = {tasks.option_default(field)!r}")
            return
        names = tasks.all_tasks()
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    usable = [n for n in names if tasks.refusal(n) is None]
    click.echo(f"{len(usable)} reasoning-gym tasks, as builtin:gym:<task> (score with gym.score):")
    for name in usable:
        click.echo(f"  {name}")
    refused = [n for n in names if tasks.refusal(n) is not None]
    if refused:
        click.echo("not offered:")
        for name in refused:
            click.echo(f"  {name}: {tasks.refusal(name)}")
