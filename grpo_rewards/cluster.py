"""The ``[ray]`` table: which Ray cluster the ``ray`` executor uses, checked like every other key.

::

    executor = "ray"        # optional, top level: every reward of the set runs on Ray (an entry's own wins)
    [ray]
    address = "auto"        # "local" (default: a private cluster on this machine), "auto" (the cluster
                            # `ray start` made on this node) or "host:port" / "ray://host:port"
    num_cpus = 4            # local cluster only: CPUs it may use (default: this machine's)
    chunk_rows = 256        # rows per Ray task (a batched reward's batch always goes whole)

The table is plain data: it travels with every built reward (``RewardFunction.executor_options``)
so the executor sees it wherever the reward is called from (score, bench, TRL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .config import brief
from .errors import ConfigProblem
from .schema import Key, check_section

LOCAL = "local"
DEFAULT_CHUNK_ROWS = 256
RAY_KEYS = {
    "address": Key((str,)),
    "num_cpus": Key((int,), min=1, max=4096),
    "chunk_rows": Key((int,), min=1, max=1_000_000),
}
_HOST_PORT = re.compile(r"^(ray://)?[A-Za-z0-9._\-\[\]:]+:(\d{1,5})$")


def address_problem(address: str) -> str | None:
    """Why ``address`` is not one Ray can join, or None."""
    if address in (LOCAL, "auto"):
        return None
    match = _HOST_PORT.match(address)
    if match is None or not 0 < int(match.group(2)) < 65536:
        return f"expected 'local', 'auto', 'host:port' or 'ray://host:port', got {brief(address)}"
    return None


def ray_options(raw: Any, source: str) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """The checked ``[ray]`` table (empty when absent) and the problems found in it."""
    problems: list[ConfigProblem] = []
    if raw is None:
        return {}, problems
    if not isinstance(raw, Mapping):
        return {}, [ConfigProblem(source, "ray", None, f"expected a table of Ray settings, got {type(raw).__name__}")]
    options = check_section(raw, RAY_KEYS, source, "ray", problems)
    address = options.get("address")
    if isinstance(address, str):
        problem = address_problem(address)
        if problem:
            problems.append(ConfigProblem(source, "ray", "address", problem))
            options.pop("address")
    if "num_cpus" in options and options.get("address", LOCAL) != LOCAL:
        problems.append(
            ConfigProblem(source, "ray", "num_cpus", "sizes a local cluster only; a cluster you join has its own CPUs")
        )
    return options, problems
