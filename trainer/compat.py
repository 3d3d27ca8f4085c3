"""Which TRL this trainer works with, checked at start instead of failing mid-run.

We rely on two non-public pieces of TRL's GRPOTrainer (see :mod:`.metrics` for why): the
``_calculate_rewards`` method and the ``_metrics`` dict that ``log`` averages. Both exist with the
shapes below in the TRL versions we test (``SUPPORTED_TRL``, the same range as pyproject.toml).
"""

from __future__ import annotations

import inspect
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from grpo_rewards.errors import RunError

SUPPORTED_TRL = ">=1.16,<1.17"
# method -> the parameter names (after self) our override and calls use
REQUIRED_METHODS = {
    "_calculate_rewards": ("inputs", "prompts", "completions", "completion_ids_list"),
    "log": ("logs", "start_time"),
}


def installed_trl() -> str:
    try:
        return version("trl")
    except PackageNotFoundError:
        return "not installed"


def check_trl(trainer_class: Any, trl_version: str | None = None) -> None:
    """Raise RunError naming the installed and the supported TRL when ``trainer_class`` lacks a
    method we override, or has it with other parameters."""
    found = trl_version or installed_trl()
    for method, expected in REQUIRED_METHODS.items():
        function = getattr(trainer_class, method, None)
        if function is None:
            problem = f"GRPOTrainer.{method} does not exist"
        else:
            names = tuple(inspect.signature(function).parameters)[1:]
            if names == expected:
                continue
            problem = f"GRPOTrainer.{method} takes ({', '.join(names)}), expected ({', '.join(expected)})"
        raise RunError(
            f"the installed TRL {found} is not supported ({problem}); grpo-rewards works with "
            f"trl{SUPPORTED_TRL}: pip install 'trl{SUPPORTED_TRL}'"
        )
