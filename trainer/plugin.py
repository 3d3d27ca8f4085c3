"""The trainer as a grpo-rewards plugin: its commands and the bench's sampler come in through hooks.

Registered under our own entry point like every built-in; importing it loads neither torch nor
TRL (the commands and the sampler import them when they run).
"""

from __future__ import annotations

from typing import Any

import click

from grpo_rewards import hookimpl


@hookimpl
def register_commands(cli: click.Group) -> None:
    from .cli import generate, train

    cli.add_command(train)
    cli.add_command(generate)


@hookimpl
def bench_sampler() -> Any:
    from .bench_sampling import SAMPLER

    return SAMPLER


@hookimpl
def register_config_sections(register: Any) -> None:
    from .validate import SECTION

    register(SECTION)
