"""The scoring runtime: the Scorer, its ScoreBatch, and the executors rewards run on.

Importing it installs :class:`~grpo_rewards.runtime.run.LocalRuntime` as the runtime every
:class:`~grpo_rewards.reward.RewardFunction` submits to (``grpo_rewards`` imports it first thing).
"""

from ..reward import install_runtime
from .executors import executor_names, get_executor, register_executor
from .job import Executor, Job
from .ray_executor import RayExecutor
from .run import DEDUP, LocalRuntime, run_reward, submit_reward
from .scorer import ScoreBatch, Scorer

install_runtime(LocalRuntime())
register_executor("ray", RayExecutor, requires=("ray", "pip install 'grpo-rewards[ray]'"))

__all__ = [
    "DEDUP",
    "Executor",
    "Job",
    "ScoreBatch",
    "Scorer",
    "executor_names",
    "get_executor",
    "register_executor",
    "run_reward",
    "submit_reward",
]
