"""A grpo-rewards reward set as verl's ``custom_reward_function`` (see docs/verl.md).

verl loads a function by path and name and calls it with ``data_source``, ``solution_str``,
``ground_truth`` and ``extra_info``, merged with ``custom_reward_function.reward_kwargs``: from 0.7
on in the reward loop's ``RewardLoopWorker`` (``naive``, ``dapo``, ``remote`` managers; an ``async
def`` function is awaited, a ``pkg://`` path imported), in 0.4 to 0.6 by file path, sync only, and
in the legacy ``batch`` manager with lists. In verl 0.9's config::

    reward:
      custom_reward_function:
        path: pkg://grpo_rewards.plugins.verl     # or this file's path, for verl before 0.7
        name: compute_score                        # compute_score_async on the reward loop
        reward_kwargs:
          reward_set: /abs/path/to/rewards.toml

Each call returns ``{"score": weighted total, "rewards/<name>": each reward's raw value, ...}``
(:mod:`.scoring` says which keys and why). Nothing here imports verl; imports are absolute so
that verl may also execute this file by its path and still share the one loaded set per process.
"""

from __future__ import annotations

from typing import Any

from grpo_rewards.plugins.verl.options import SET_ENV, VerlOptions
from grpo_rewards.plugins.verl.scoring import NO_TOTAL, PREFIX, PROBLEM, loaded_set, problem_counts, score_async

__all__ = [
    "NO_TOTAL",
    "PREFIX",
    "PROBLEM",
    "SET_ENV",
    "VerlOptions",
    "compute_score",
    "compute_score_async",
    "compute_score_batch",
    "load",
    "problem_counts",
]


def compute_score(
    data_source: Any = None, solution_str: Any = None, ground_truth: Any = None, extra_info: Any = None, **kwargs: Any
) -> Any:
    """One row's result dict; called with verl's batch keywords (``solution_strs`` ...), a list of them."""
    if "solution_strs" in kwargs:
        return compute_score_batch(**kwargs)
    return loaded_set(kwargs).score([(data_source, solution_str, ground_truth, extra_info)])[0]


def compute_score_batch(
    data_sources: Any = None, solution_strs: Any = None, ground_truths: Any = None, extra_infos: Any = None, **kwargs: Any
) -> list[dict[str, Any]]:
    """The shape of verl's ``batch`` reward manager: lists in, one result dict per row out, one batch."""
    if solution_strs is None:
        raise TypeError("compute_score_batch needs solution_strs (verl's batch reward manager passes it)")
    n = len(solution_strs)
    columns = [data_sources, ground_truths, extra_infos]
    for name, values in zip(("data_sources", "ground_truths", "extra_infos"), columns):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has {len(values)} entries for {n} solution_strs")

    def at(values: Any, i: int) -> Any:
        return None if values is None else values[i]

    rows = [(at(data_sources, i), solution_strs[i], at(ground_truths, i), at(extra_infos, i)) for i in range(n)]
    return loaded_set(kwargs).score(rows)


async def compute_score_async(
    data_source: Any = None, solution_str: Any = None, ground_truth: Any = None, extra_info: Any = None, **kwargs: Any
) -> dict[str, Any]:
    """The async form for verl's reward loop: rows arriving together on one event loop are scored as one batch."""
    return await score_async(kwargs, (data_source, solution_str, ground_truth, extra_info))


def load(**kwargs: Any) -> Any:
    """Load (and validate) the set these reward_kwargs name now, e.g. in a driver before training starts."""
    return loaded_set(kwargs)
