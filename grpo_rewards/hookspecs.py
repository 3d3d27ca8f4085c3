"""The hooks a grpo-rewards plugin can implement.

Most hooks receive a ``register`` callback, as in simonw/llm: one plugin module can register as
many rewards (extractors, datasets, probes) as it likes, and new hooks can be added later without
breaking any existing plugin, because pluggy only calls the hooks a plugin implements. The
callbacks are typed below so that a plugin author's editor knows what each one takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    import click

    from .attack_types import AnswerDomain, Attack
    from .reward import RewardSpec

PROJECT = "grpo_rewards"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Extractor = Callable[[str], "str | None"]
DatasetLoader = Callable[["str | None", Mapping[str, Any]], Iterable[dict[str, Any]]]


class RegisterReward(Protocol):
    def __call__(self, spec: RewardSpec | Callable[..., Any], /) -> None: ...


class RegisterExtractor(Protocol):
    def __call__(self, name: str, fn: Extractor, /) -> None: ...


class RegisterDataset(Protocol):
    def __call__(self, name: str, loader: DatasetLoader, description: str, /) -> None: ...


class RegisterProbe(Protocol):
    def __call__(self, probe: Any, /) -> None: ...


class RegisterConfigSection(Protocol):
    def __call__(self, section: Any, /) -> None: ...


class RegisterAttack(Protocol):
    def __call__(self, item: Attack | AnswerDomain, /) -> None: ...


class RegisterBenchSection(Protocol):
    def __call__(self, section: Any, /) -> None: ...


@hookspec
def register_rewards(register: RegisterReward) -> None:
    """Register reward functions: call ``register(spec)`` with a :class:`RewardSpec` (or a
    function decorated with :func:`grpo_rewards.reward`) once per reward."""


@hookspec
def register_extractors(register: RegisterExtractor) -> None:
    """Register answer extractors shared between rewards: call ``register(name, fn)`` where
    ``fn(text) -> str | None`` returns the final answer found in a completion, or None."""


@hookspec
def register_datasets(register: RegisterDataset) -> None:
    """Register offline datasets addressable as ``builtin:NAME[:ARG]`` (in ``[data]`` and
    ``bench --prompts``): ``register(name, loader, description)`` where
    ``loader(arg, options) -> rows``; ``arg`` is the text after the second colon (a split, a task)
    or None, ``options`` the extra keys the user gave. Raise ``InputError`` for a bad arg/option."""


@hookspec
def register_probes(register: RegisterProbe) -> None:
    """Register hackability probes for ``grpo-rewards bench``: ``register(probe)`` with a
    :class:`grpo_rewards.bench.probes.Probe` (a degenerate completion built per prompt)."""


@hookspec
def register_attacks(register: RegisterAttack) -> None:
    """Register attack classes and answer domains for ``grpo-rewards attack`` and the bench:
    ``register(attack)`` with a :class:`grpo_rewards.attack.Attack` (completions a reward of the
    kinds and domains it names must not pay for, built per row), ``register(domain)`` with an
    :class:`grpo_rewards.attack.AnswerDomain` (plausible wrong answers for a gold answer), which a
    reward names in ``@reward(..., answer_domain=NAME)``."""


@hookspec
def register_bench_sections(register: RegisterBenchSection) -> None:
    """Add a section to ``grpo-rewards bench``'s report for the sets it applies to: ``register(section)``
    with a :class:`grpo_rewards.bench.sections.BenchSection` (its own ``[bench]`` keys, what it measures
    on the held-out rows, and its Markdown). The judge plugin's injection and certificate section is one."""


@hookspec
def register_config_sections(register: RegisterConfigSection) -> None:
    """Claim top-level tables of a config and check them before anything runs: ``register(section)``
    with a :class:`grpo_rewards.sections.ConfigSection` (the trainer claims ``model``, ``data``,
    ``grpo`` and ``output``). ``check`` and ``train --dry-run`` run every registered checker."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``grpo-rewards`` command line (``cli.add_command(...)``)."""


@hookspec(firstresult=True)
def bench_sampler() -> Any:
    """The sampler ``grpo-rewards bench`` uses to generate completions with a model (the trainer
    implements it); None where no plugin can sample. The first non-None answer is used."""
