"""``grpo-rewards gym list`` and ``gym audit``: the tasks, their options, which are refused, and
the audit that decides how each is scored."""

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


@gym_group.command("audit")
@click.argument("task_names", nargs=-1)
@click.option("--size", default=8, show_default=True, help="rows per task (test split)")
@click.option("--seed", default=0, show_default=True, help="base seed of the rows")
@click.option("--before", is_flag=True, help="also score the attacks with each task's own scorer, as before the audit")
@click.option("--decisions", is_flag=True, help="print only the table of strict and refused tasks (the README's)")
def audit_tasks(task_names: tuple[str, ...], size: int, seed: int, before: bool, decisions: bool) -> None:
    """Score every offered task (or TASK_NAMES) on constants, hedges, junk and the opposite verdict;
    exit 1 when any attack is paid more than a wrong answer."""
    from . import audit

    try:
        if decisions:
            click.echo(audit.decisions_markdown())
            return
        for name in task_names:
            tasks.check_task(name)
        results = audit.run(list(task_names) or None, size=size, seed=seed, before=before)
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(audit.markdown(results, before))
    failed = [r.task for r in results if r.failures]
    seconds = sum(r.seconds for r in results)
    click.echo(
        f"\n{len(results)} tasks, {size} rows each, {seconds:.1f} s: "
        + (f"{len(failed)} pay an attack" if failed else "none pays an attack")
    )
    if failed:
        raise SystemExit(1)
