"""reasoning-gym tasks as data and as a reward (the optional ``[gym]`` extra).

- ``builtin:gym:<task>`` in ``[data] source`` or ``bench --prompts``: prompts generated offline
  from a seed, with the gold answer and the task metadata its scorer needs (see :mod:`.tasks`).
- ``gym.score``: the task's own scorer on the answer the completion states (see :mod:`.score`).
- ``grpo-rewards gym list``: the tasks and their options.

Importing this package never imports reasoning_gym: a missing extra is reported when a config or a
dataset asks for it, with the install line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from grpo_rewards import hookimpl

from .score import gym_score
from .tasks import generate

__all__ = ["gym_score", "load_rows"]


def load_rows(arg: str | None, options: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """The ``builtin:gym:<task>`` loader: ``arg`` is the task."""
    return generate(arg, options)


@hookimpl
def register_rewards(register):
    register(gym_score)


@hookimpl
def register_datasets(register):
    register(
        "gym",
        load_rows,
        "reasoning-gym tasks (builtin:gym:<task>; options size, seed and the task's own; "
        "test rows use seeds 1,000,000 above train rows); needs the [gym] extra",
    )


@hookimpl
def register_attacks(register):
    from .attacks import GYM_DOMAIN

    register(GYM_DOMAIN)


@hookimpl
def register_commands(cli):
    from .commands import gym_group

    cli.add_command(gym_group)
