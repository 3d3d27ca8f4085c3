"""LLM judges as rewards: ``judge.rubric`` and ``judge.reference`` over any OpenAI-compatible
chat-completions endpoint, the injection battery for ``grpo-rewards attack`` and the
``grpo-rewards judge certify`` command.

- :mod:`.client`: one shared HTTP client per process, bounded concurrency, retries, the API key;
- :mod:`.fence`, :mod:`.prompts`, :mod:`.verdict`: the policy's text fenced as data, the verdict read strictly;
- :mod:`.rewards`: the two rewards; :mod:`.attacks`: the injection classes; :mod:`.certify`: agreement and resistance.

Importing this package never imports httpx: the rewards do, when they first run.
"""

from __future__ import annotations

from grpo_rewards import hookimpl


@hookimpl
def register_rewards(register):
    from .rewards import judge_reference, judge_rubric

    register(judge_rubric)
    register(judge_reference)


@hookimpl
def register_attacks(register):
    from .attacks import JUDGE_DOMAIN, injection_attacks

    register(JUDGE_DOMAIN)
    for attack in injection_attacks():
        register(attack)


@hookimpl
def register_commands(cli):
    from .certify_command import judge

    cli.add_command(judge)
