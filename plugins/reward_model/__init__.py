"""Model-based rewards: a reward model, embedding similarity, and a remote reward endpoint.

- ``reward_model.classifier``: any ``AutoModelForSequenceClassification`` scoring prompt + completion.
- ``reward_model.similarity``: cosine similarity to a reference column with a sentence-embedding
  model (all-MiniLM-L6-v2 offline by default).
- ``reward_model.remote``: an HTTP reward endpoint (see :mod:`.protocol`); ``grpo-rewards
  serve-rewards`` serves any reward set over the same protocol.

Importing this package never imports torch or transformers: the models load on first use, once
per process, inside the scoring functions. All three are ``concurrent`` (async for TRL).
"""

from __future__ import annotations

from grpo_rewards import hookimpl

from .classifier import classifier_reward
from .remote import remote_reward
from .similarity import similarity_reward

__all__ = ["classifier_reward", "remote_reward", "similarity_reward"]


@hookimpl
def register_rewards(register):
    for fn in (classifier_reward, similarity_reward, remote_reward):
        register(fn)


@hookimpl
def register_commands(cli):
    from .command import serve_rewards

    cli.add_command(serve_rewards)
