"""Loading plugins: entry points, local plugin files, and clear reports of what went wrong.

Every plugin, ours included, arrives through the ``grpo_rewards`` entry-point group. Loading is
forgiving: a plugin that fails to import, implements a hook that does not exist, or registers a
reward name already taken is recorded as a :class:`PluginProblem` naming the plugin and its
distribution, and the other plugins still load.

``GRPO_REWARDS_PLUGINS`` chooses which external plugins load: unset loads all, an empty string
loads none, ``a,b`` loads those (entry-point or distribution names). Our own built-in rewards
always load. The test suite sets it to the empty string so that whatever else is installed on a
machine cannot change test results.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .attack_types import AnswerDomain, Attack
from .errors import UnknownNameError, UnknownRewardError
from .portable import FileFunction, install_file_loader, portable
from .reward import RewardSpec

ENTRY_POINT_GROUP = "grpo_rewards"
ENV_PLUGINS = "GRPO_REWARDS_PLUGINS"
ENV_LOCAL = "GRPO_REWARDS_LOCAL_PLUGINS"
LOCAL_PLUGIN_FILE = "grpo_rewards_plugins.py"
OWN_DISTRIBUTION = "grpo-rewards"
SHIPPED_DIR = "grpo-rewards-shipped"  # under the temporary folder: local plugin files sent by another process


@dataclass
class PluginInfo:
    """One loaded plugin, as ``grpo-rewards plugins`` shows it."""

    name: str
    distribution: str | None
    version: str | None
    hooks: list[str] = field(default_factory=list)
    rewards: list[str] = field(default_factory=list)
    extractors: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    probes: list[str] = field(default_factory=list)
    attacks: list[str] = field(default_factory=list)  # attack classes and answer domains
    commands: list[str] = field(default_factory=list)
    source: str = "entry point"  # or "local file"


@dataclass(frozen=True)
class DatasetSpec:
    """An offline dataset a plugin provides as ``builtin:NAME[:ARG]``."""

    name: str
    loader: Callable[[str | None, Mapping[str, Any]], Iterable[dict[str, Any]]]
    description: str
    plugin: str


@dataclass
class PluginProblem:
    """Something that went wrong while loading a plugin; never a bare traceback."""

    plugin: str
    distribution: str | None
    message: str
    reward: str | None = None  # the reward it failed to register, so "unknown reward" can say why

    def __str__(self) -> str:
        where = f"plugin {self.plugin!r}"
        if self.distribution:
            where += f" (distribution {self.distribution})"
        return f"{where}: {self.message}"


class Registry:
    """The rewards, extractors and plugins known to this process."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.problems: list[PluginProblem] = []
        self.rewards: dict[str, RewardSpec] = {}
        self.extractors: dict[str, Callable[[str], str | None]] = {}
        self.datasets: dict[str, DatasetSpec] = {}
        self.probes: dict[str, Any] = {}  # name -> grpo_rewards.bench.probes.Probe
        self.attacks: dict[str, Attack] = {}
        self.domains: dict[str, AnswerDomain] = {}
        self.sections: list[Any] = []  # grpo_rewards.sections.ConfigSection, from register_config_sections
        self.bench_sections: list[Any] = []  # grpo_rewards.bench.sections.BenchSection, from register_bench_sections
        self._owners: dict[str, dict[str, str]] = {}  # kind -> name -> plugin
        self._command_groups: set[int] = set()
        self.local_files: dict[str, str] = {}  # resolved path (or the key it was shipped under) -> plugin name
        self.local_sources: dict[str, str] = {}  # the same key -> the source text that was loaded

    # -- loading -------------------------------------------------------------------------
    def load_entry_points(self, allowed: set[str] | None) -> None:
        # Built-ins first, so that a third-party name clash never displaces one of ours.
        def own(ep: EntryPoint) -> bool:
            return ep.dist is not None and _canonical(ep.dist.name) == OWN_DISTRIBUTION

        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (not own(e), e.name)):
            dist = ep.dist.name if ep.dist else None
            builtin = dist is not None and _canonical(dist) == OWN_DISTRIBUTION
            if not builtin and allowed is not None and not ({ep.name, _canonical(dist or "")} & allowed):
                continue
            if ep.name in self.plugins:
                self.problems.append(PluginProblem(ep.name, dist, "an entry point of this name was already loaded; skipped"))
                continue
            try:
                module = ep.load()
            except Exception as exc:
                self.problems.append(PluginProblem(ep.name, dist, f"failed to import {ep.value!r}: {type(exc).__name__}: {exc}"))
                continue
            self.add_plugin(module, ep.name, dist, ep.dist.version if ep.dist else None)

    def load_file(self, path: str | os.PathLike[str], *, key: str | None = None) -> None:
        """Load a local plugin file (like pytest's conftest.py): no packaging needed.

        A file is known by its resolved path (``key``, when given: the path it had where it was
        first loaded, for a copy shipped to a worker on another machine), so two files of the same
        name in different folders are two plugins. Its plugin name is ``local:<file name>``, or
        ``local:<path>`` when another local file already took that name. A copy (same file name,
        same source) of a file loaded already is that plugin again, not a second one whose rewards
        would clash with the first's.
        """
        path = Path(path).resolve()
        key = key or str(path)
        if key in self.local_files:
            return
        name = f"local:{path.name}"
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            source = None
        for other, text in self.local_sources.items():
            if text == source and Path(other).name == path.name and self.local_files[other] in self.plugins:
                self.local_files[key], self.local_sources[key] = self.local_files[other], text
                return
        if name in self.plugins or any(p.plugin == name for p in self.problems):
            name = f"local:{key}"
        self.local_files[key] = name
        try:
            if source is None:
                raise OSError(f"cannot read {path} as UTF-8 text")
            self.local_sources[key] = source
            spec = importlib.util.spec_from_file_location(f"grpo_rewards_local_{abs(hash(key))}", path)
            if spec is None or spec.loader is None:
                raise ImportError("not a Python file")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        except Exception as exc:
            self.problems.append(PluginProblem(name, None, f"failed to load {path}: {type(exc).__name__}: {exc}"))
            return
        self.add_plugin(module, name, None, None, source=f"local file {path}")

    def local_file_sources(self) -> list[tuple[str, str]]:
        """(key, source) of every local plugin file loaded here: what a worker process or a Ray
        worker on another machine loads first (:meth:`load_shipped`)."""
        return [(key, text) for key, text in self.local_sources.items() if self.local_files.get(key) in self.plugins]

    def load_shipped(self, files: Iterable[tuple[str, str]]) -> None:
        """Load another process's local plugin files, each known by the key it had there: from its
        path when that file here holds the same source, else from a private copy of the source
        (the file is missing on this machine, or was edited since)."""
        for key, source in files:
            if key in self.local_files:
                continue
            path = Path(key)
            try:
                same = path.is_file() and path.read_text(encoding="utf-8") == source
            except (OSError, UnicodeDecodeError):
                same = False
            if not same:
                folder = Path(tempfile.gettempdir()) / SHIPPED_DIR / hashlib.sha256(source.encode()).hexdigest()[:20]
                path = folder / Path(key).name
                if not path.is_file():
                    folder.mkdir(parents=True, exist_ok=True)
                    partial = folder / f".{path.name}.{os.getpid()}"
                    partial.write_text(source, encoding="utf-8")
                    partial.replace(path)
            self.load_file(path, key=key)

    def local_plugin(self, key: str | os.PathLike[str]) -> Any:
        """The loaded module of the local plugin file known as ``key`` (its resolved path), or None."""
        name = self.local_files.get(str(key)) or self.local_files.get(str(Path(key).resolve()))
        return None if name is None else self.pm.get_plugin(name)

    def add_plugin(
        self,
        plugin: ModuleType | object,
        name: str,
        distribution: str | None = None,
        version: str | None = None,
        source: str = "entry point",
    ) -> None:
        """Register a plugin object (usually a module) and collect what its hooks register."""
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            self.problems.append(PluginProblem(name, distribution, f"could not be registered: {exc}"))
            return
        callers = self.pm.get_hookcallers(plugin) or []
        unknown = sorted(c.name for c in callers if c.spec is None)
        if unknown:
            self.pm.unregister(plugin)
            known = ", ".join(sorted(c for c in vars(self.pm.hook) if not c.startswith("_") and getattr(self.pm.hook, c).spec))
            self.problems.append(
                PluginProblem(name, distribution, f"implements unknown hook(s) {', '.join(unknown)}; known hooks: {known}")
            )
            return
        info = PluginInfo(name, distribution, version, hooks=sorted(c.name for c in callers), source=source)
        self.plugins[name] = info
        self._collect(name, info)

    def _collect(self, plugin_name: str, info: PluginInfo) -> None:
        """Call this plugin's hooks with register callbacks that know who is registering."""

        def register_reward(spec: RewardSpec | Callable[..., Any]) -> None:
            spec = getattr(spec, "reward_spec", spec)
            if not isinstance(spec, RewardSpec):
                raise TypeError(f"register() takes a RewardSpec or a function decorated with @reward, got {spec!r}")
            problem = declaration_problem(spec)
            if problem:
                self.problems.append(
                    PluginProblem(
                        info.name, info.distribution, f"reward {spec.name!r} not registered: {problem}", reward=spec.name
                    )
                )
                return
            existing = self.rewards.get(spec.name)
            if existing is not None:
                owner = self.plugins.get(existing.plugin)
                self.problems.append(
                    PluginProblem(
                        info.name,
                        info.distribution,
                        f"registers reward {spec.name!r}, already registered by plugin {existing.plugin!r}"
                        + (f" (distribution {owner.distribution})" if owner and owner.distribution else "")
                        + "; kept the first",
                    )
                )
                return
            self.rewards[spec.name] = replace(spec, plugin=info.name)
            info.rewards.append(spec.name)

        def named(kind: str, table: dict[str, Any], owners: dict[str, str], listed: list[str]) -> Callable[[str, Any], None]:
            def register(name: str, value: Any) -> None:
                if name in table:
                    self.problems.append(
                        PluginProblem(
                            info.name,
                            info.distribution,
                            f"registers {kind} {name!r}, already registered by plugin {owners[name]!r}; kept the first",
                        )
                    )
                    return
                table[name] = value
                owners[name] = info.name
                listed.append(name)

            return register

        register_extractor = named("extractor", self.extractors, self._owners.setdefault("extractor", {}), info.extractors)
        add_dataset = named("dataset", self.datasets, self._owners.setdefault("dataset", {}), info.datasets)
        add_probe = named("probe", self.probes, self._owners.setdefault("probe", {}), info.probes)

        def register_dataset(name: str, loader: Callable[..., Any], description: str) -> None:
            add_dataset(name, DatasetSpec(name, loader, description, info.name))

        def register_probe(probe: Any) -> None:
            add_probe(probe.name, probe)

        add_attack = named("attack", self.attacks, self._owners.setdefault("attack", {}), info.attacks)
        add_domain = named("answer domain", self.domains, self._owners.setdefault("domain", {}), info.attacks)

        def register_attack(item: Attack | AnswerDomain) -> None:
            if isinstance(item, Attack):
                add_attack(item.name, item)
            elif isinstance(item, AnswerDomain):
                add_domain(item.name, item)
            else:
                raise TypeError(f"register() takes an Attack or an AnswerDomain, got {item!r}")

        def register_section(section: Any) -> None:
            self.sections.append(replace(section, plugin=info.name))

        def register_bench_section(section: Any) -> None:
            self.bench_sections.append(replace(section, plugin=info.name))

        for caller, register in (
            (self.pm.hook.register_rewards, register_reward),
            (self.pm.hook.register_config_sections, register_section),
            (self.pm.hook.register_extractors, register_extractor),
            (self.pm.hook.register_datasets, register_dataset),
            (self.pm.hook.register_probes, register_probe),
            (self.pm.hook.register_attacks, register_attack),
            (self.pm.hook.register_bench_sections, register_bench_section),
        ):
            for impl in caller.get_hookimpls():
                if impl.plugin_name != plugin_name:
                    continue
                try:
                    impl.function(register=register)
                except Exception as exc:
                    self.problems.append(
                        PluginProblem(info.name, info.distribution, f"{caller.name} failed: {type(exc).__name__}: {exc}")
                    )

    def add_commands(self, group: Any) -> None:
        """Let every plugin add its commands to ``group`` (a click.Group), once per group.

        Each plugin's commands are recorded in its :class:`PluginInfo`; a command name already
        taken (by us or an earlier plugin) is a problem and the first one is kept.
        """
        if id(group) in self._command_groups:
            return
        self._command_groups.add(id(group))
        for impl in self.pm.hook.register_commands.get_hookimpls():
            info = self.plugins.get(impl.plugin_name)
            if info is None:
                continue
            staging = type(group)(name=group.name)
            try:
                impl.function(cli=staging)
            except Exception as exc:
                self.problems.append(
                    PluginProblem(info.name, info.distribution, f"register_commands failed: {type(exc).__name__}: {exc}")
                )
                continue
            for name, command in staging.commands.items():
                if group.commands.get(name) is command:  # added before, from an earlier registry
                    info.commands.append(name)
                    continue
                if name in group.commands:
                    self.problems.append(
                        PluginProblem(
                            info.name, info.distribution, f"adds command {name!r}, which already exists; kept the first"
                        )
                    )
                    continue
                group.add_command(command, name)
                info.commands.append(name)

    # -- lookup --------------------------------------------------------------------------
    def get(self, name: str) -> RewardSpec:
        try:
            return self.rewards[name]
        except KeyError:
            from .params import did_you_mean

            hint = did_you_mean(name, self.rewards) or (
                f"; known rewards: {', '.join(sorted(self.rewards))}" if self.rewards else "; no rewards are registered"
            )
            raise UnknownRewardError(f"unknown reward {name!r}{hint}") from None

    def table(self, kind: str) -> Mapping[str, Any]:
        """The entries of one kind: ``reward``, ``extractor``, ``dataset`` or ``probe``."""
        tables: dict[str, Mapping[str, Any]] = {
            "reward": self.rewards,
            "extractor": self.extractors,
            "dataset": self.datasets,
            "probe": self.probes,
        }
        return tables[kind]

    def refs(self, kind: str, names: Iterable[str]) -> Refs:
        """Names resolved to entries of ``kind`` (raises UnknownNameError with a suggestion)."""
        names = list(names)
        return Refs(kind, names, [_lookup(kind, name, self.table(kind)) for name in names])

    def owner_of(self, kind: str) -> dict[str, str]:
        """Name -> registering plugin, for ``extractor``, ``dataset``, ``probe``, ``attack`` or ``domain`` entries."""
        return dict(self._owners.get(kind, {}))

    def extractor(self, name: str) -> Callable[[str], str | None]:
        found: Callable[[str], str | None] = _lookup("extractor", name, self.extractors)
        return found

    def dataset(self, name: str) -> DatasetSpec:
        found: DatasetSpec = _lookup("dataset", name, self.datasets, prefix="builtin:")
        return found


def _lookup(kind: str, name: str, table: Mapping[str, Any], prefix: str = "") -> Any:
    try:
        return table[name]
    except KeyError:
        from .params import did_you_mean

        hint = did_you_mean(name, table) or (
            f"; known: {', '.join(prefix + n for n in sorted(table))}" if table else f"; no {kind}s are registered"
        )
        raise UnknownNameError(f"unknown {kind} {prefix + name!r}{hint}") from None


def declaration_problem(spec: RewardSpec) -> str | None:
    """Why a reward's declaration cannot work, checked once at registration instead of failing on
    every row: parameters that do not match the function's signature, an unknown ``kind``."""
    from .params import did_you_mean
    from .reward import KINDS

    if spec.kind not in KINDS:
        return f"kind {spec.kind!r} is not one of {', '.join(KINDS)}"
    try:
        signature = inspect.signature(spec.fn)
    except (TypeError, ValueError):
        return None  # a builtin or C callable: nothing to compare
    arguments = list(signature.parameters.values())[1:]  # the first receives the sample(s)
    if any(a.kind is inspect.Parameter.VAR_KEYWORD for a in arguments):
        return None
    accepted = [a.name for a in arguments if a.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    declared = spec.params.names()
    for name in declared:
        if name not in accepted:
            return (
                f"parameter {name!r} is declared but {spec.fn.__qualname__}() takes no such argument"
                f"{did_you_mean(name, accepted)}"
            )
    for argument in arguments:
        if (
            argument.default is inspect.Parameter.empty
            and argument.name not in declared
            and argument.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        ):
            return f"{spec.fn.__qualname__}() needs argument {argument.name!r}, which is not a declared Param"
    return None


class Ref(str):
    """One name of a :class:`Refs` list that is also the entry it names: ``ref(text)`` calls the
    extractor, ``ref == "boxed"`` still compares the name, and ``str(ref)`` is the plain name."""

    kind: str
    entry: Any

    def __new__(cls, kind: str, name: str, entry: Any) -> Ref:
        made = super().__new__(cls, name)
        made.kind, made.entry = kind, entry
        return made

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.entry(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return _ref_again, (self.kind, str(self), portable(self.entry))


class Refs(list[str]):
    """What a reward receives for a parameter declared ``refers_to`` (an extractor list): the names
    as the config wrote them, each a :class:`Ref` that calls its entry, resolved in the registry
    the reward set was parsed with. So ``for extract in extractors: extract(text)`` and
    ``for name, extract in extractors.items()`` both work; ``.entries`` lists the entries alone.
    Pickled (to a worker process) it travels as names and resolves again there, where the same
    plugins are loaded."""

    def __init__(self, kind: str, names: Iterable[str], entries: Iterable[Any]) -> None:
        names = list(names)
        entries = list(entries)
        super().__init__(Ref(kind, str(n), e) for n, e in zip(names, entries))
        self.kind = kind
        self.entries = entries

    def items(self) -> list[tuple[str, Any]]:
        """(name, entry) pairs, in the config's order."""
        return [(str(name), entry) for name, entry in zip(self, self.entries)]

    def __reduce__(self) -> tuple[Any, ...]:
        return _refs_again, (self.kind, [str(n) for n in self], [portable(e) for e in self.entries])


def _load_carried(entries: Iterable[Any]) -> None:
    """Load the local plugin files that defined carried entries (an extractor of ``my_rewards.py``),
    so that they are registered in this process before the names are looked up."""
    for entry in entries:
        if isinstance(entry, FileFunction):  # the file, not the function: an extractor may be a lambda
            get_registry().load_file(entry.path)


def _refs_again(kind: str, names: list[str], carried: Iterable[Any] = ()) -> Refs:
    _load_carried(carried)
    return get_registry().refs(kind, names)


def _ref_again(kind: str, name: str, carried: Any = None) -> Ref:
    _load_carried([carried])
    return Ref(kind, name, _lookup(kind, name, get_registry().table(kind)))


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _allowed_from_env() -> set[str] | None:
    value = os.environ.get(ENV_PLUGINS)
    if value is None:
        return None
    return {_canonical(v.strip()) for v in value.split(",") if v.strip()} | {v.strip() for v in value.split(",") if v.strip()}


def _local_files() -> list[Path]:
    files = [Path(p) for p in os.environ.get(ENV_LOCAL, "").split(os.pathsep) if p]
    candidate = Path.cwd() / LOCAL_PLUGIN_FILE
    if candidate.is_file():
        files.append(candidate)
    return files


_registry: Registry | None = None


def get_registry(refresh: bool = False) -> Registry:
    """The process-wide registry, loaded on first use.

    Loads entry points (filtered by ``GRPO_REWARDS_PLUGINS``), then any local plugin files: those
    listed in ``GRPO_REWARDS_LOCAL_PLUGINS`` (os.pathsep-separated) and ``grpo_rewards_plugins.py``
    in the current directory.
    """
    global _registry
    if _registry is None or refresh:
        registry = Registry()
        registry.load_entry_points(_allowed_from_env())
        for path in _local_files():
            registry.load_file(path)
        _registry = registry
    return _registry


def load_plugin_files(paths: Iterable[str | os.PathLike[str]]) -> Registry:
    """Add local plugin files (e.g. named in a config's ``plugins`` key) to the registry."""
    registry = get_registry()
    for path in paths:
        registry.load_file(path)
    return registry


def _load_file_function(path: str, qualname: str) -> Callable[..., Any]:
    """A function of a local plugin file, loaded through this process's registry (so the file's
    other hooks, such as extractors, are registered here too): how a worker process finds it."""
    registry = get_registry()
    registry.load_file(path)
    target: Any = registry.local_plugin(path)
    if target is None:
        raise ImportError(f"could not load plugin file {path} in this process")
    for part in qualname.split("."):
        target = getattr(target, part)
    return target  # type: ignore[no-any-return]


install_file_loader(_load_file_function)
