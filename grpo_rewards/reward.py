"""The reward contract.

A plugin author writes a plain function that scores one :class:`Sample` (or, with
``batched=True``, a list of them) and declares it with :func:`reward`. The framework turns it into
a :class:`RewardFunction`: a picklable callable that follows TRL's convention
``f(prompts, completions, completion_ids=None, **kwargs) -> list[float | None]``, accepts plain and
chat completions, applies a per-item time limit and turns a crash into a counted None.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .guard import as_score, call_guarded, install_sigint_marker, note_error
from .params import Param, ParamSet
from .portable import FileFunction, portable

# Keyword arguments TRL passes that are not dataset columns.
_TRL_EXTRAS = frozenset({"trainer_state", "log_extra", "log_metric", "environments"})

DEFAULT_TIMEOUT = 5.0
# The longest completion a reward is given, in characters, unless its declaration or the reward
# set says otherwise: a longer one is a counted error on its row, before the reward sees it.
DEFAULT_MAX_INPUT_CHARS = 2_000_000
ISOLATIONS = ("inline", "process")
KINDS = ("correctness", "content", "format", "length", "style", "other")


def message_text(value: Any) -> str:
    """Text of a completion or prompt, plain or chat-style.

    Chat completions arrive as ``[{"role": "assistant", "content": ...}]``; for chat prompts the
    last user message is the text a reward usually wants.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return _content_text(value.get("content"))
    if isinstance(value, Sequence):
        messages = [m for m in value if isinstance(m, Mapping)]
        if not messages:
            return ""
        assistant = [m for m in messages if m.get("role") == "assistant"]
        if assistant:
            return "".join(_content_text(m.get("content")) for m in assistant)
        user = [m for m in messages if m.get("role") == "user"]
        return _content_text((user or messages)[-1].get("content"))
    return str(value)


def conversation(prompt: Any, completion: Any) -> list[dict[str, Any]] | None:
    """The whole chat, prompt messages then completion messages, when either side is chat-style.

    None for plain-text rows. Rewards that must see the conversation as the policy saw it (a reward
    model applying its chat template, with the system prompt and earlier turns) read this; the
    flattened ``Sample.prompt`` keeps only the last user message.
    """
    if not (_is_chat(prompt) or _is_chat(completion)):
        return None
    return _as_messages(prompt, "user") + _as_messages(completion, "assistant")


def _is_chat(value: Any) -> bool:
    if isinstance(value, Mapping):
        return "role" in value
    return (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and bool(value)
        and all(isinstance(m, Mapping) and "role" in m for m in value)
    )


def _as_messages(value: Any, role: str) -> list[dict[str, Any]]:
    if _is_chat(value):
        return [dict(m) for m in ([value] if isinstance(value, Mapping) else value)]
    text = message_text(value)
    return [{"role": role, "content": text}] if text else []


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal content parts
        texts = (p.get("text") for p in content if isinstance(p, Mapping))
        return "".join(t for t in texts if isinstance(t, str))
    return str(content)


@dataclass
class Sample:
    """One completion to score, with its prompt and the dataset columns of its row.

    ``raw_prompt`` / ``raw_completion`` keep the values as the caller gave them (plain strings or
    chat message lists) for rewards that need the structure: a reward model's chat template, a
    remote endpoint. ``messages`` is the whole conversation for chat-style rows, else None.
    """

    completion: str
    prompt: str = ""
    columns: Mapping[str, Any] = field(default_factory=dict)
    completion_ids: Sequence[int] | None = None
    raw_prompt: Any = None
    raw_completion: Any = None

    @property
    def messages(self) -> list[dict[str, Any]] | None:
        return conversation(self.raw_prompt, self.raw_completion)


@dataclass(frozen=True)
class RewardSpec:
    """What a plugin registers: a named, documented, parameterised scoring function.

    ``fn(sample, **params) -> float | None`` scores one sample; with ``batched=True`` it is
    ``fn(samples, **params) -> list[float | None]`` (for models that score a batch at once).
    ``value_range`` is the range of the score when known, for reports and sanity checks.
    ``concurrent=True`` marks a reward that mostly waits (a model forward, an HTTP call): it is
    built as an :class:`AsyncRewardFunction` so that TRL gathers it with the other rewards.
    ``kind`` says what the reward measures, so that tools treat a third-party reward like ours
    without matching names: one of :data:`KINDS` (``correctness`` rewards read a gold answer and get
    gold-label agreement and wrong-answer probes in the bench; ``content`` rewards read what the
    completion is about; ``format``, ``length`` and ``style`` are shaping terms).
    ``requires`` lists ``(module, install line)`` pairs for an optional dependency: a config using
    the reward is rejected before anything runs when a module is missing, with that install line.
    ``gold_reader`` (``raw gold -> answer text | None``) says how a correctness reward reads its
    gold column (a whole solution, ``$..$``, a box): tools that build from the gold, such as the
    bench's probes and labels, ask it rather than reading the gold their own way.
    ``answer_domain`` (correctness rewards) says what a plausible wrong answer looks like, for
    ``grpo-rewards attack`` and the bench's probes: a domain name registered through the
    ``register_attacks`` hook (the core's ``choices``, ``integer``, ``number``, ``text``; a plugin's),
    an :class:`~grpo_rewards.attack.AnswerDomain`, or a function ``(gold, columns) -> {class: [wrong
    answers]}``; None reads it off each row's gold.
    """

    name: str
    fn: Callable[..., Any]
    description: str
    params: ParamSet = field(default_factory=ParamSet)
    columns: tuple[str, ...] = ()
    value_range: tuple[float, float] | None = None
    batched: bool = False
    default_timeout: float | None = DEFAULT_TIMEOUT
    plugin: str = ""  # filled in by the registry: which plugin registered it
    concurrent: bool = False
    kind: str = "other"
    isolation: str = "inline"
    max_input_chars: int | None = DEFAULT_MAX_INPUT_CHARS
    requires: tuple[tuple[str, str], ...] = ()
    gold_reader: Callable[[Any], str | None] | None = None
    answer_domain: Any = None

    def missing_requirements(self) -> list[str]:
        """One message per optional module that is not installed, with its install line."""
        return [
            f"needs the {module!r} module: {install}"
            for module, install in self.requires
            if importlib.util.find_spec(module) is None
        ]

    def required_columns(self, resolved_params: Mapping[str, Any]) -> list[str]:
        """Fixed columns plus those named by column parameters."""
        return list(dict.fromkeys([*self.columns, *self.params.columns(resolved_params)]))

    def build(
        self,
        params: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        timeout: float | None | str = "default",
        concurrent: bool | None = None,
        isolation: str | None = None,
        max_input_chars: int | None | str = "default",
    ) -> RewardFunction:
        """Validate ``params`` and return the TRL-compatible callable.

        ``concurrent`` (default: the spec's own flag) builds an :class:`AsyncRewardFunction`;
        ``isolation`` and ``max_input_chars`` override the spec's own.
        """
        resolved = self.params.resolve(params)
        concurrent = self.concurrent if concurrent is None else concurrent
        return (AsyncRewardFunction if concurrent else RewardFunction)(
            fn=self.fn,
            params=resolved,
            name=name or self.name,
            batched=self.batched,
            timeout=self.default_timeout if isinstance(timeout, str) else timeout,
            isolation=isolation or self.isolation,
            max_input_chars=self.max_input_chars if isinstance(max_input_chars, str) else max_input_chars,
        )


def reward(
    name: str,
    *,
    description: str,
    params: Sequence[Param] = (),
    columns: Sequence[str] = (),
    value_range: tuple[float, float] | None = None,
    batched: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    concurrent: bool = False,
    kind: str = "other",
    isolation: str = "inline",
    max_input_chars: int | None = DEFAULT_MAX_INPUT_CHARS,
    requires: Sequence[tuple[str, str]] = (),
    gold_reader: Callable[[Any], str | None] | None = None,
    answer_domain: Any = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator declaring a scoring function as a reward; register it in ``register_rewards``.

    The function keeps working as a plain function; its spec is attached as ``fn.reward_spec``.
    ``isolation="process"`` declares that the reward needs a hard time limit (it may spend long in
    C code): it is then scored in a worker process killed at its deadline (see
    :mod:`grpo_rewards.isolation`). ``max_input_chars`` bounds the completion it is given.
    """
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn.reward_spec = RewardSpec(  # type: ignore[attr-defined]
            name=name,
            fn=fn,
            description=description,
            params=ParamSet(tuple(params)),
            columns=tuple(columns),
            value_range=value_range,
            batched=batched,
            default_timeout=timeout,
            concurrent=concurrent,
            kind=kind,
            isolation=isolation,
            max_input_chars=max_input_chars,
            requires=tuple(requires),
            gold_reader=gold_reader,
            answer_domain=answer_domain,
        )
        return fn

    return decorate


@dataclass
class CallStats:
    """What happened in one or more calls of a reward: counts, time and the first error."""

    rows: int = 0
    nones: int = 0
    errors: int = 0
    timeouts: int = 0
    seconds: float = 0.0
    first_error: str | None = None
    oversized: int = 0  # completions over the reward's max_input_chars: None, never given to it

    def add(self, other: CallStats) -> None:
        self.rows += other.rows
        self.nones += other.nones
        self.errors += other.errors
        self.timeouts += other.timeouts
        self.oversized += other.oversized
        self.seconds += other.seconds
        if self.first_error is None:
            self.first_error = other.first_error

    @property
    def latency_ms(self) -> float:
        """Mean wall time per row, in milliseconds."""
        return 1000.0 * self.seconds / self.rows if self.rows else 0.0


class RewardFunction:
    """A built reward, ready for TRL's ``reward_funcs`` or the scoring engine.

    Picklable (it holds a module-level function, or a reference to a local plugin file, and plain
    params), so it can cross into worker processes. ``__name__`` is the name TRL logs it under.
    ``last_stats`` describes the latest call; ``total_stats`` accumulates over the object's life in
    this process. ``isolation="process"`` scores it in a killable worker process.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        params: Mapping[str, Any],
        name: str,
        batched: bool = False,
        timeout: float | None = DEFAULT_TIMEOUT,
        isolation: str = "inline",
        max_input_chars: int | None = DEFAULT_MAX_INPUT_CHARS,
    ) -> None:
        self.fn = fn
        self.params = dict(params)
        self.__name__ = name
        self.batched = batched
        self.timeout = timeout
        self.isolation = isolation
        self.max_input_chars = max_input_chars
        self.last_stats = CallStats()
        self.total_stats = CallStats()
        if isolation == "process":
            from .isolation import announce

            announce(fn)

    def __repr__(self) -> str:
        return f"RewardFunction({self.__name__!r}, params={self.params!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["fn"] = portable(self.fn)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("isolation", "inline")
        self.__dict__.setdefault("max_input_chars", DEFAULT_MAX_INPUT_CHARS)
        fn = self.__dict__.get("fn")
        if isinstance(fn, FileFunction):  # load the plugin file now, not inside the first row's time limit
            try:
                self.fn = fn.resolve()
            except Exception:  # it fails again on each call: counted as an error per row
                pass

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        return self.score(prompts, completions, completion_ids, **kwargs)

    def score(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        """Score a TRL-style batch synchronously (what ``__call__`` does, for sync and async kinds)."""
        completions = list(completions or [])
        n = len(completions)
        prompts = list(prompts) if prompts is not None else [""] * n
        columns = {
            key: value
            for key, value in kwargs.items()
            if key not in _TRL_EXTRAS and isinstance(value, Sequence) and not isinstance(value, str) and len(value) == n
        }
        samples = [
            Sample(
                completion=message_text(completions[i]),
                prompt=message_text(prompts[i]) if i < len(prompts) else "",
                columns={key: values[i] for key, values in columns.items()},
                completion_ids=completion_ids[i] if completion_ids is not None else None,
                raw_prompt=prompts[i] if i < len(prompts) else None,
                raw_completion=completions[i],
            )
            for i in range(n)
        ]
        return self.score_samples(samples)

    def score_samples(self, samples: Sequence[Sample]) -> list[float | None]:
        """Score samples under the time limit; a crash or timeout gives None and is counted.

        A completion over ``max_input_chars`` is None (counted in ``oversized``), never given to the reward.
        """
        install_sigint_marker()
        stats = CallStats(rows=len(samples))
        start = time.perf_counter()
        cap = self.max_input_chars
        keep = list(range(len(samples)))
        if cap is not None:
            keep = []
            for i, sample in enumerate(samples):
                if len(sample.completion) <= cap:
                    keep.append(i)
                else:
                    stats.oversized += 1
        chosen = samples if len(keep) == len(samples) else [samples[i] for i in keep]
        scored = self._score_batch(chosen, stats) if self.batched else self._score_each(chosen, stats)
        values: list[float | None] = [None] * len(samples)
        for i, v in zip(keep, scored):
            values[i] = v if v is None or v.__class__ is float else as_score(v, stats)
        stats.nones = sum(v is None for v in values)
        stats.seconds = time.perf_counter() - start
        self.last_stats = stats
        self.total_stats.add(stats)
        return values

    def _process_pool(self, stats: CallStats) -> Any:
        from .isolation import can_isolate, worker_pool

        if can_isolate():
            return worker_pool()
        if stats.first_error is None:
            stats.first_error = "note: ran in-process (a daemonic process cannot start a worker)"
        return None

    def _score_batch(self, samples: Sequence[Sample], stats: CallStats) -> list[Any]:
        pool = self._process_pool(stats) if self.isolation == "process" and samples else None
        if pool is not None:
            try:
                values = pool.score_batch(portable(self.fn), self.params, samples, self.timeout, stats)
            except Exception as exc:
                note_error(stats, f"could not run in a worker process: {type(exc).__name__}: {exc}")
                values = None
        else:
            fn, params = self.fn, self.params
            values = call_guarded(lambda: list(fn(list(samples), **params)), self.timeout, stats)
            if values is not None and len(values) != len(samples):
                note_error(stats, f"returned {len(values)} scores for {len(samples)} samples")
                values = None
        return [None] * len(samples) if values is None else [as_score(v, stats) for v in values]

    def _score_each(self, samples: Sequence[Sample], stats: CallStats) -> list[Any]:
        pool = self._process_pool(stats) if self.isolation == "process" and samples else None
        if pool is not None:
            try:
                return list(pool.score_rows(portable(self.fn), self.params, samples, self.timeout, stats))
            except Exception as exc:
                for _ in samples:
                    note_error(stats, f"could not run in a worker process: {type(exc).__name__}: {exc}")
                return [None] * len(samples)
        fn, params, seconds = self.fn, self.params, self.timeout
        return [as_score(call_guarded(lambda: fn(sample, **params), seconds, stats), stats) for sample in samples]


class AsyncRewardFunction(RewardFunction):
    """A :class:`RewardFunction` whose ``__call__`` is a coroutine function.

    TRL 1.16 runs every sync reward in turn, then gathers all async rewards on its event loop
    (``trl.trainer.utils.is_async_callable`` checks ``__call__``). The scoring itself still runs
    synchronously, in a worker thread (``asyncio.to_thread``), so the loop stays free and rewards
    that wait on a model forward or an HTTP endpoint overlap with each other and with rule-based
    rewards built the same way. Time limits hold off the main thread too (see ``timelimit``).
    """

    async def __call__(  # type: ignore[override]
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        return await asyncio.to_thread(self.score, prompts, completions, completion_ids, **kwargs)
