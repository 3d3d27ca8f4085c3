"""grpo-rewards: trustworthy reward functions for GRPO, as plugins.

The public API for plugin authors and users. Importing this package never imports torch.
"""

from .config import load_config_file
from .errors import ConfigError, ConfigProblem, GrpoRewardsError, InputError, RunError
from .hookspecs import hookimpl
from .params import Param
from .registry import get_registry
from .reward import CallStats, Certification, RewardFunction, RewardSpec, Sample, Scored, message_text, reward
from .rewardset import RewardSet, WeightedReward, load_reward_set, parse_reward_set
from .runtime import ScoreBatch, Scorer
from .scoring import Row, ScoreResult, score_rows
from .timelimit import RewardTimeout, time_limit

__version__ = "0.1.0"

__all__ = [
    "CallStats",
    "Certification",
    "ConfigError",
    "ConfigProblem",
    "GrpoRewardsError",
    "InputError",
    "Param",
    "RewardFunction",
    "RewardSet",
    "RewardSpec",
    "RewardTimeout",
    "RunError",
    "Row",
    "Sample",
    "ScoreBatch",
    "ScoreResult",
    "Scored",
    "Scorer",
    "WeightedReward",
    "get_registry",
    "hookimpl",
    "load_config_file",
    "load_reward_set",
    "message_text",
    "parse_reward_set",
    "reward",
    "score_rows",
    "time_limit",
]
