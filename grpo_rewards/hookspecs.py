"""The hooks a grpo-rewards plugin can implement.

Each hook receives a ``register`` callback, as in simonw/llm: one plugin module can register as
many rewards (or extractors) as it likes, and new hooks can be added later without breaking any
existing plugin, because pluggy only calls the hooks a plugin implements.
"""

from __future__ import annotations

from typing import Callable

import pluggy

PROJECT = "grpo_rewards"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_rewards(register: Callable) -> None:
    """Register reward functions: call ``register(spec)`` with a :class:`RewardSpec` (or a
    function decorated with :func:`grpo_rewards.reward`) once per reward."""


@hookspec
def register_extractors(register: Callable) -> None:
    """Register answer extractors shared between rewards: call ``register(name, fn)`` where
    ``fn(text) -> str | None`` returns the final answer found in a completion, or None."""
