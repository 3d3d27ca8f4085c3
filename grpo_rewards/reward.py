"""The reward contract.

A plugin author writes a plain function that scores one :class:`Sample` (or, with
``batched=True``, a list of them) and declares it with :func:`reward`. The framework turns it into
a :class:`RewardFunction`: a picklable callable that follows TRL's convention
``f(prompts, completions, completion_ids=None, **kwargs) -> list[float | None]``, accepts plain and
chat completions. The runtime (:mod:`grpo_rewards.runtime`) runs it: per-item time limits, size
caps, executors, and a crash as a counted None. A scoring function may be ``async def``.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .params import Param, ParamSet
from .portable import FileFunction, portable

# Keyword arguments TRL passes that are not dataset columns.
TRL_EXTRAS = frozenset({"trainer_state", "log_extra", "log_metric", "environments"})

DEFAULT_TIMEOUT = 5.0
# The longest completion a reward is given, in characters, unless its declaration or the reward
# set says otherwise: a longer one is a counted error on its row, before the reward sees it.
DEFAULT_MAX_INPUT_CHARS = 2_000_000
ISOLATIONS = ("inline", "process")
# How a reward's rows run (grpo_rewards.runtime.executors); more can be registered there (Ray).
# A plugin's executor (Ray) joins this list when it registers (grpo_rewards.runtime.register_executor).
EXECUTORS = ["inline", "threads", "process", "asyncio"]
# executor -> (module it needs, how to install it): checked when a reward set names the executor.
EXECUTOR_REQUIRES: dict[str, tuple[str, str]] = {}
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
class Certification:
    """What a reward that must earn its weight declares (an LLM judge): training gives it weight only
    when a certificate file, named by its reward-set entry (``certificate = "cert.json"``), is fresh
    and good enough. The core reads the file and asks ``verify``; it never knows what a judge is.

    ``verify(params, certificate, thresholds) -> reasons``: why this certificate (the parsed JSON
    object) does not let the entry with these resolved parameters pay reward (stale: another model,
    endpoint or prompt; a figure below a threshold); empty when it does. ``thresholds`` holds every
    name of :attr:`thresholds`, the defaults overlaid with the entry's ``certificate_thresholds``.
    ``how`` says how a certificate is made, for the warning.
    """

    verify: Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, float]], list[str]]
    thresholds: Mapping[str, float]
    how: str


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
    executor: str | None = None  # None: from the function and ``isolation`` (default_executor)
    concurrency: int | None = None  # rows in flight at once on the threads and asyncio executors
    # False: identical rows of a batch are each scored (no de-duplication); a callable decides from the
    # resolved parameters (a judge that samples at temperature > 0 is not deterministic)
    deterministic: bool | Callable[[Mapping[str, Any]], bool] = True
    certification: Certification | None = None
    check_params: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None

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
        executor: str | None = None,
        executor_options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> RewardFunction:
        """Validate ``params`` and return the TRL-compatible callable.

        ``concurrent`` (default: the spec's own flag, and always for ``async def`` rewards) builds an
        :class:`AsyncRewardFunction`; ``executor``, ``isolation`` (its older alias: ``process`` is the
        process executor) and ``max_input_chars`` override the spec's own. ``executor_options``
        (executor name -> settings, such as the ``[ray]`` table) go with the reward to its executor.
        """
        resolved = self.params.resolve(params)
        if isolation:  # the reward set's older knob overrides the declaration
            own = default_executor(self.fn, isolation)
        else:
            own = self.executor or default_executor(self.fn, self.isolation)
        chosen = executor or own
        # what its rows run on inside a remote worker (Ray): its own executor, never the remote one again
        home = own if own != chosen else default_executor(self.fn, isolation or self.isolation)
        concurrent = (self.concurrent or chosen == "asyncio") if concurrent is None else concurrent
        return (AsyncRewardFunction if concurrent else RewardFunction)(
            fn=self.fn,
            params=resolved,
            name=name or self.name,
            batched=self.batched,
            timeout=self.default_timeout if isinstance(timeout, str) else timeout,
            max_input_chars=self.max_input_chars if isinstance(max_input_chars, str) else max_input_chars,
            executor=chosen,
            concurrency=self.concurrency,
            deterministic=bool(self.deterministic(resolved)) if callable(self.deterministic) else self.deterministic,
            columns=self.required_columns(resolved),
            home_executor=home,
            executor_options=(executor_options or {}).get(chosen),
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
    executor: str | None = None,
    concurrency: int | None = None,
    deterministic: bool | Callable[[Mapping[str, Any]], bool] = True,
    certification: Certification | None = None,
    check_params: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator declaring a scoring function as a reward; register it in ``register_rewards``.

    The function keeps working as a plain function; its spec is attached as ``fn.reward_spec``.
    ``isolation="process"`` declares that the reward needs a hard time limit (it may spend long in
    C code): it is then scored in a worker process killed at its deadline (see
    :mod:`grpo_rewards.isolation`). ``max_input_chars`` bounds the completion it is given.
    The function may be ``async def`` (awaited on the runtime's event loop, ``concurrency`` rows in
    flight, a time limit cancelling the awaiting coroutine). ``executor`` picks how rows run
    (``inline``, ``threads``, ``process``, ``asyncio``; ``isolation="process"`` is the same as
    ``executor="process"``). ``deterministic=False`` turns off the scoring of identical rows once; a callable given the
    resolved parameters decides per entry (e.g. a judge sampling at temperature > 0 is not).
    ``certification`` and ``check_params``: see :class:`RewardSpec`.
    """
    if isolation not in ISOLATIONS:
        raise ValueError(f"isolation must be one of {ISOLATIONS}, got {isolation!r}")
    if concurrency is not None and concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency!r}")

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
            executor=executor,
            concurrency=concurrency,
            deterministic=deterministic,
            certification=certification,
            check_params=check_params,
        )
        return fn

    return decorate


@dataclass
class CallStats:
    """What happened when a reward scored a batch: counts, time, the first error, and usage.

    It travels in the result of the call (:class:`RewardRun`, the runtime's ``ScoreBatch``), never
    on the callable, so two batches in flight never mix. ``calls``, ``tokens`` and ``cost`` stay 0
    unless the reward reports them (see :class:`Scored`); ``deduplicated`` counts rows that were
    copies of another row of the batch and were not scored again; ``blocked`` counts rows of an
    ``async def`` reward that held the event loop with sync work.
    """

    rows: int = 0
    nones: int = 0
    errors: int = 0
    timeouts: int = 0
    seconds: float = 0.0
    first_error: str | None = None
    oversized: int = 0  # completions over the reward's max_input_chars: None, never given to it
    deduplicated: int = 0
    blocked: int = 0
    calls: int = 0
    tokens: int = 0
    cost: float = 0.0

    def add(self, other: CallStats) -> None:
        self.rows += other.rows
        self.nones += other.nones
        self.errors += other.errors
        self.timeouts += other.timeouts
        self.oversized += other.oversized
        self.deduplicated += other.deduplicated
        self.blocked += other.blocked
        self.calls += other.calls
        self.tokens += other.tokens
        self.cost += other.cost
        self.seconds += other.seconds
        if self.first_error is None:
            self.first_error = other.first_error

    def add_counts(self, other: CallStats) -> None:
        """:meth:`add` without the time (parts of one batch that ran side by side)."""
        seconds = self.seconds
        self.add(other)
        self.seconds = seconds

    @property
    def latency_ms(self) -> float:
        """Mean wall time per row, in milliseconds."""
        return 1000.0 * self.seconds / self.rows if self.rows else 0.0


@dataclass
class Scored:
    """A reward's value with what it wants reported beside it (return it instead of a float).

    ``details`` (what the extractor read, a judge's per-criterion scores) lands in the batch's
    per-row, per-reward details; ``calls``, ``tokens`` and ``cost`` add up in its statistics.
    """

    value: float | None
    details: Mapping[str, Any] | None = None
    calls: int = 0
    tokens: int = 0
    cost: float = 0.0


@dataclass
class RewardRun:
    """One reward's values for one batch of samples, its statistics and optional per-row details."""

    values: list[float | None]
    stats: CallStats
    details: list[Mapping[str, Any] | None] | None = None


class Runtime:
    """What runs a built reward on samples (the :mod:`grpo_rewards.runtime` package installs it).

    The contract only declares the seam: the runtime knows reward declarations, never the other
    way round, and importing ``grpo_rewards`` installs the real one.
    """

    def run(self, fn: RewardFunction, samples: Sequence[Sample], extras: Mapping[str, Any] | None = None) -> RewardRun:
        raise NotImplementedError("grpo_rewards.runtime is not loaded")

    async def run_async(
        self, fn: RewardFunction, samples: Sequence[Sample], extras: Mapping[str, Any] | None = None
    ) -> RewardRun:
        raise NotImplementedError("grpo_rewards.runtime is not loaded")


_runtime: list[Runtime] = [Runtime()]


def install_runtime(runtime: Runtime) -> None:
    """Make ``runtime`` the one that every :class:`RewardFunction` submits to."""
    _runtime[0] = runtime


def samples_from_trl(
    prompts: Sequence[Any] | None,
    completions: Sequence[Any] | None,
    completion_ids: Sequence[Sequence[int]] | None,
    kwargs: Mapping[str, Any],
) -> list[Sample]:
    """TRL's call arguments as samples: one per completion, with the dataset columns of its row."""
    completions = list(completions or [])
    n = len(completions)
    prompts = list(prompts) if prompts is not None else [""] * n
    columns = {
        key: value
        for key, value in kwargs.items()
        if key not in TRL_EXTRAS and isinstance(value, Sequence) and not isinstance(value, str) and len(value) == n
    }
    return [
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


class RewardFunction:
    """A built reward: its declaration resolved, and a TRL reward function.

    Calling it (``f(prompts, completions, completion_ids=None, **kwargs)``) submits the batch to the
    runtime and waits; :meth:`run` returns the values with the batch's statistics. Picklable (a
    module-level function, or a reference to a local plugin file, and plain params), so it can
    cross into worker processes. ``__name__`` is the name TRL logs it under. ``executor`` names
    how its rows run (see :mod:`grpo_rewards.runtime.executors`).
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
        *,
        executor: str | None = None,
        concurrency: int | None = None,
        deterministic: bool = True,
        columns: Sequence[str] = (),
        home_executor: str | None = None,
        executor_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.fn = fn
        self.params = dict(params)
        self.__name__ = name
        self.batched = batched
        self.timeout = timeout
        self.max_input_chars = max_input_chars
        self.executor = executor or default_executor(fn, isolation)
        self.concurrency = concurrency
        self.deterministic = deterministic
        self.columns = tuple(columns)
        # a remote executor (Ray) runs the rows on this one inside its workers, with these settings
        self.home_executor = home_executor or default_executor(fn, isolation)
        self.executor_options = dict(executor_options or {})

    @property
    def isolation(self) -> str:
        """The old name of the knob: ``process`` for the killable worker processes, else ``inline``."""
        return "process" if self.executor == "process" else "inline"

    def __repr__(self) -> str:
        return f"RewardFunction({self.__name__!r}, params={self.params!r})"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["fn"] = portable(self.fn)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
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
        """Score a TRL-style batch synchronously (what ``__call__`` does, for sync and async kinds).

        TRL's ``log_metric`` / ``log_extra`` callbacks, when given, receive the batch's statistics
        and the per-row details the reward reported.
        """
        samples = samples_from_trl(prompts, completions, completion_ids, kwargs)
        run = _runtime[0].run(self, samples, extras(kwargs))
        return run.values

    def run_trl(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> RewardRun:
        """What ``__call__`` does, returning the batch's :class:`RewardRun` (values and statistics)."""
        samples = samples_from_trl(prompts, completions, completion_ids, kwargs)
        return _runtime[0].run(self, samples, extras(kwargs))

    def score_samples(self, samples: Sequence[Sample]) -> list[float | None]:
        """Values only (see :meth:`run` for the statistics)."""
        return self.run(samples).values

    def run(self, samples: Sequence[Sample]) -> RewardRun:
        """Score samples under the reward's limits: values, statistics and details of this batch.

        A crash, timeout or ``BaseException`` gives None and is counted; a completion over
        ``max_input_chars`` is None (counted in ``oversized``), never given to the reward.
        """
        return _runtime[0].run(self, samples)


class AsyncRewardFunction(RewardFunction):
    """A :class:`RewardFunction` whose ``__call__`` is a coroutine function.

    TRL 1.16 runs every sync reward in turn, then gathers all async rewards on its event loop
    (``trl.trainer.utils.is_async_callable`` checks ``__call__``): built this way, a reward that
    waits (a model forward, an HTTP endpoint) overlaps with the others in plain TRL too.
    """

    async def __call__(  # type: ignore[override]
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        samples = samples_from_trl(prompts, completions, completion_ids, kwargs)
        run = await _runtime[0].run_async(self, samples, extras(kwargs))
        return run.values


def extras(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """TRL's keyword arguments that are not dataset columns (``log_metric``, ``trainer_state``, ...)."""
    return {key: value for key, value in kwargs.items() if key in TRL_EXTRAS}


def default_executor(fn: Callable[..., Any], isolation: str | None = None) -> str:
    """The executor a reward runs on when its declaration names none: ``asyncio`` for ``async def``
    functions, ``process`` for ``isolation="process"``, else ``inline``."""
    if isolation == "process":
        return "process"
    target = fn.loaded() if isinstance(fn, FileFunction) else fn
    if inspect.iscoroutinefunction(target):
        return "asyncio"
    return "inline"
