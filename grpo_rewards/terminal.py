"""Terminal output and failure for every command, ours and plugins': one wording, one exit code.

Commands print results on stdout (``out``) and messages on stderr (``console``); a user-facing
problem (any :class:`GrpoRewardsError`) ends the command with ``error: ...`` and exit code 2,
never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

from .errors import ConfigError
from .registry import get_registry
from .rewardset import RewardSet, load_reward_set

# Off a terminal (a pipe, a file, CI logs) rich assumes 80 columns and cuts table cells to "…";
# a log is read whole, so tables there may be as wide as their content.
OFF_TTY_WIDTH = 240
console = Console(stderr=True, width=None if sys.stderr.isatty() else OFF_TTY_WIDTH)
out = Console(width=None if sys.stdout.isatty() else OFF_TTY_WIDTH)


def labelled(label: str, style: str, message: str) -> None:
    """``label: message`` on stderr with the label styled and the message as it is: a ``[data]``
    or ``[train]`` in a message is text, not rich markup."""
    console.print(f"[{style}]{label}:[/] {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a clear error and exit (2: usage, config or input error), never a traceback."""
    labelled("error", "bold red", message)
    sys.exit(code)


def fail_config(exc: ConfigError) -> NoReturn:
    """Every problem of a config at once, then exit 2."""
    fail(f"{len(exc.problems)} problem(s) in the config:\n{exc}")


def say(message: str) -> None:
    """A progress or status line on stderr, printed as it is (no markup)."""
    console.print(message, highlight=False, markup=False, soft_wrap=True)


def warn_plugin_problems() -> None:
    for problem in get_registry().problems:
        labelled("warning", "yellow", str(problem))


def load_reward_set_or_fail(config: Path) -> RewardSet:
    """The reward set of ``config``, or a clear exit; plugin loading problems are shown as warnings."""
    try:
        reward_set = load_reward_set(config)
    except ConfigError as exc:
        fail_config(exc)
    warn_plugin_problems()
    return reward_set
