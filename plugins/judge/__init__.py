"""LLM judges as rewards: ``judge.rubric``, ``judge.reference`` and ``judge.group`` over any OpenAI-compatible
chat-completions endpoint, the injection battery for ``grpo-rewards attack``, the
``grpo-rewards judge certify`` command and the judge section of ``grpo-rewards bench``.

- :mod:`.client`: one shared HTTP client per process, bounded concurrency, retries, the API key;
- :mod:`.fence`, :mod:`.prompts`, :mod:`.verdict`: the policy's text fenced as data, the verdict read strictly;
- :mod:`.rewards`: the rubric and reference judges; :mod:`.group`: a GRPO group judged together; :mod:`.attacks`: the injection classes; :mod:`.certify`: agreement and resistance;
- :mod:`.certificate`: what a certificate is bound to and ``train``'s check of it; :mod:`.rubric`: rubric files;
- :mod:`.bench_section`: injections and certificates in the bench report.
- :mod:`.cache`: verdicts reused for the same question, answer and settings;
- :mod:`.local_model`, :mod:`.local_server`: ``base_url = "local"``, a transformers model behind a
  loopback OpenAI-compatible server in this process (``grpo-rewards judge serve`` runs it alone).

Importing this package never imports httpx, torch or starlette: the rewards do, when they first run.
"""

from __future__ import annotations

from grpo_rewards import hookimpl


@hookimpl
def register_rewards(register):
    from .group import judge_group
    from .rewards import judge_reference, judge_rubric

    register(judge_rubric)
    register(judge_reference)
    register(judge_group)


@hookimpl
def register_attacks(register):
    from .attacks import JUDGE_DOMAIN, injection_attacks

    register(JUDGE_DOMAIN)
    for attack in injection_attacks():
        register(attack)


@hookimpl
def register_bench_sections(register):
    from .bench_section import SECTION

    register(SECTION)


@hookimpl
def register_commands(cli):
    from .certify_command import judge
    from .serve_command import serve

    judge.add_command(serve)
    cli.add_command(judge)
