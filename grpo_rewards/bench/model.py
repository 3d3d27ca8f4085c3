"""The bench report's typed model: what report.json holds, read by report.md and report.html alike.

``run_bench`` assembles the figures; ``BenchReport.from_dict`` types them once, and every writer
reads the model: ``to_dict`` gives report.json (the same keys in the same order as before the
model existed, plus the fields marked "new"), ``render_markdown`` and the HTML page read its
attributes. The sections whose shape belongs to one analysis module (aggregation, attacks,
drift, agreement, extractor variants, the group-size table) stay that module's plain dicts: those
modules write and render them, and typing them twice would let the two copies drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")


def _build(cls: type[T], raw: dict[str, Any]) -> T:
    """A dataclass from a dict, keeping the keys it does not name in ``extra`` (if it has one)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    known = {k: v for k, v in raw.items() if k in names and k != "extra"}
    obj = cls(**known)
    if "extra" in names:
        obj.extra = {k: v for k, v in raw.items() if k not in names}  # type: ignore[attr-defined]
    return obj


def _dump(obj: Any, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """A dataclass as the dict report.json holds: fields in order, ``optional`` ones only when set,
    ``extra`` keys last."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        if f.name == "extra":
            continue
        value = getattr(obj, f.name)
        if f.name in optional and value is None:
            continue
        out[f.name] = _plain(value)
    out.update(getattr(obj, "extra", {}) or {})
    return out


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass
class RewardEntry:
    """One reward of the set as the run used it."""

    name: str
    use: str
    weight: float
    params: dict[str, Any]
    value_range: list[float] | None

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)


@dataclass
class DataSummary:
    prompts: int
    completions: int
    group_sizes: dict[str, int]
    seen_in_training: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)


@dataclass
class RewardFigures:
    """A reward's statistics on side A (analysis.reward_summary, then spread, weight and share)."""

    rows: int
    scored: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    histogram: dict[str, Any]
    none_rate: float | None
    error_rate: float | None
    timeout_rate: float | None
    first_error: str | None
    latency_ms_mean: float | None
    latency_ms_p50: float | None
    latency_ms_p99: float | None
    rows_per_s: float | None
    spread: float | None = None
    weight: float | None = None
    share: float | None = None  # only when the groups allow a decomposition
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def failed_rate(self) -> float | None:
        """Errors and timeouts together."""
        return None if self.error_rate is None else self.error_rate + (self.timeout_rate or 0)

    def to_dict(self) -> dict[str, Any]:
        return _dump(self, optional=("share",))


@dataclass
class TotalFigures:
    mean: float | None
    std: float | None
    histogram: dict[str, Any]
    spread: float | None

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)


@dataclass
class ProbeFinding:
    """A probe rule that held for a target (a reward or ``total``); ``flagged`` at the set's fraction."""

    target: str
    probe: str
    kind: str
    rule: str  # fools, beats_typical, misses
    rate: float
    evaluated: int
    flagged: bool
    example: str = ""
    yardstick: str = "reference"
    prompts: list[int] = field(default_factory=list)  # new: the prompt positions where it held

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)


@dataclass
class ProbeSection:
    rule: str
    gold_readers: list[str]
    gold_column: str | None
    reasoning_column: str | None
    tags: list[str]
    reference_example: str | None
    probes: list[dict[str, Any]]
    mean_scores: dict[str, dict[str, float | None]]
    findings: list[ProbeFinding]
    flags: list[ProbeFinding]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ProbeSection:
        section = _build(cls, raw)
        section.findings = [_build(ProbeFinding, f) for f in raw["findings"]]
        section.flags = [_build(ProbeFinding, f) for f in raw["flags"]]
        return section

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)


@dataclass
class CompareRow:
    """B - A of one metric over prompts, with its paired bootstrap interval."""

    metric: str
    prompts: int
    a: float | None
    b: float | None
    delta: float | None
    low: float | None
    high: float | None
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)


@dataclass
class CompareSection:
    a: str
    b: str
    rows: list[CompareRow]
    unseen_rows: list[CompareRow] | None
    b_figures: dict[str, Any]
    generation: dict[str, Any] | None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CompareSection:
        section = _build(cls, raw)
        section.rows = [_build(CompareRow, r) for r in raw["rows"]]
        if raw.get("unseen_rows") is not None:
            section.unseen_rows = [_build(CompareRow, r) for r in raw["unseen_rows"]]
        return section

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)


@dataclass
class Note:
    kind: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)


@dataclass
class BenchReport:
    """Everything a bench run found; report.json is ``to_dict()``."""

    version: int
    created: str
    config: str
    prompts: str
    step: int | None
    rewards: list[RewardEntry]
    data: DataSummary
    generation: dict[str, Any] | None
    per_reward: dict[str, RewardFigures]
    total: TotalFigures
    contributions: dict[str, Any] | None
    correlation: dict[str, Any]
    group_size: list[dict[str, Any]]
    aggregation: dict[str, Any] | None
    agreement: dict[str, dict[str, Any]]
    per_prompt: list[dict[str, Any]]
    examples: list[dict[str, Any]]
    probes: ProbeSection
    attacks: dict[str, Any]
    compare: CompareSection | None
    drift: dict[str, Any] | None = None
    notes: list[Note] = field(default_factory=list)
    extractor_variants: dict[str, list[dict[str, Any]]] | None = None
    files: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # report.json's key order, as run_bench has always written it
    ORDER: ClassVar[tuple[str, ...]] = (
        "version",
        "created",
        "config",
        "prompts",
        "step",
        "rewards",
        "data",
        "generation",
        "per_reward",
        "total",
        "contributions",
        "correlation",
        "group_size",
        "aggregation",
        "agreement",
        "per_prompt",
        "examples",
        "extractor_variants",
        "probes",
        "attacks",
        "compare",
        "drift",
        "notes",
        "files",
    )

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BenchReport:
        report = _build(cls, raw)
        report.rewards = [_build(RewardEntry, r) for r in raw["rewards"]]
        report.data = _build(DataSummary, raw["data"])
        report.per_reward = {name: _build(RewardFigures, f) for name, f in raw["per_reward"].items()}
        report.total = _build(TotalFigures, raw["total"])
        report.probes = ProbeSection.from_dict(raw["probes"])
        report.compare = CompareSection.from_dict(raw["compare"]) if raw.get("compare") else None
        report.notes = [_build(Note, n) for n in raw.get("notes", [])]
        return report

    def to_dict(self) -> dict[str, Any]:
        out = {key: _plain(getattr(self, key)) for key in self.ORDER}
        for key in ("extractor_variants", "files"):
            if out[key] is None:
                del out[key]
        out.update(self.extra)
        return out

    @property
    def names(self) -> list[str]:
        """The rewards of the set, in its order."""
        return list(self.per_reward)

    @property
    def flags(self) -> list[ProbeFinding]:
        return self.probes.flags

    @property
    def plots(self) -> list[str]:
        return list((self.files or {}).get("plots", []))

    @property
    def attack_findings(self) -> list[str]:
        return list((self.attacks or {}).get("findings", []))

    @property
    def weaknesses(self) -> list[str]:
        """The drift weaknesses, as the terminal prints them after ``weakness:``."""
        return [w["message"] for w in (self.drift or {}).get("weaknesses", [])]
