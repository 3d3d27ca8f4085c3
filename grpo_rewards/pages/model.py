"""The group browser's typed model: prompts, their completions per side, and what flags them.

A group is one prompt; a side is one model's completions for it (the bench's A and B under
``--compare``, or one logged training step). The page's script reads this model as JSON, so
everything here is plain data: strings, numbers, lists and dicts of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

MAX_GROUPS = 300  # groups kept in one page; a larger run is sampled (the page says so)
MAX_TEXT = 4000  # characters of a completion or prompt kept in the page
MAX_FIELD = 400  # characters of one explain field
MAX_PAGE_TEXT = 8_000_000  # characters of prompts and completions in one page (large groups, many sides)


def clip_text(text: str, limit: int = MAX_TEXT) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters, and whether it was cut."""
    return (text, False) if len(text) <= limit else (text[:limit], True)


def _number(value: Any) -> float | None:
    """A JSON-safe number: NaN and infinities become None (JSON has no NaN)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _plain(value: Any) -> Any:
    """An explain field as the page shows it: short strings, finite numbers, nested plain data."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value][:50]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return _number(value)
    return clip_text(str(value), MAX_FIELD)[0]


@dataclass
class CompletionView:
    """One completion with every figure the browser shows for it."""

    text: str
    values: dict[str, float | None]  # reward -> raw value (None: no score)
    total: float | None  # the weighted total, gates applied
    advantage: float | None = None  # inside its group, under the configured aggregation
    parts: dict[str, float] = field(default_factory=dict)  # reward -> its component of the advantage
    closed: list[str] = field(default_factory=list)  # rewards whose gate was closed on this row
    explain: dict[str, Any] = field(default_factory=dict)  # reward -> what it read (explain's fields)
    kind: str = "completion"  # completion, or attack: a wrong answer built by the attack generator
    tags: list[str] = field(default_factory=list)  # e.g. "paid but wrong: correct (hedge)"
    clipped: bool = False  # the text was cut to MAX_TEXT

    @classmethod
    def build(
        cls,
        text: str,
        values: dict[str, Any],
        total: Any,
        *,
        advantage: Any = None,
        parts: dict[str, Any] | None = None,
        closed: Sequence[str] = (),
        explain: dict[str, Any] | None = None,
        kind: str = "completion",
        tags: Sequence[str] = (),
    ) -> CompletionView:
        """A view with its text bounded and its numbers JSON-safe."""
        clipped, cut = clip_text(text)
        return cls(
            clipped,
            {k: _number(v) for k, v in values.items()},
            _number(total),
            _number(advantage),
            {k: n for k, v in (parts or {}).items() if (n := _number(v)) is not None},
            list(closed),
            _plain(explain or {}),
            kind,
            list(tags),
            cut,
        )


@dataclass
class SideView:
    """One model's (or one step's) completions of a prompt, sorted by total, best first."""

    label: str
    completions: list[CompletionView]

    def __post_init__(self) -> None:
        self.completions.sort(key=lambda c: (c.kind != "completion", -(c.total if c.total is not None else -math.inf)))

    def spread(self, reward: str) -> bool:
        """Whether ``reward`` (or ``total``) takes more than one value among these completions."""
        got = {c.total if reward == "total" else c.values.get(reward) for c in self.completions if c.kind == "completion"}
        got.discard(None)
        return len(got) > 1


@dataclass
class GroupView:
    """One prompt and its sides, with the flags the filters use."""

    key: str  # unique in the page
    prompt: str
    sides: list[SideView]
    flags: list[str] = field(default_factory=list)  # "kind: text", e.g. "probe: total fooled by stuffed_tagged"
    step: int | None = None

    def spread(self, reward: str) -> bool:
        """Whether ``reward`` (or ``total``) has spread on some side."""
        return any(side.spread(reward) for side in self.sides)

    def no_spread_flags(self, names: Sequence[str]) -> list[str]:
        """``no spread: NAME`` per reward and the total without spread, the side named when there are several."""
        out = []
        for side in self.sides:
            which = f" ({side.label.split(':', 1)[0]})" if len(self.sides) > 1 else ""
            out += [f"no spread: {name}{which}" for name in [*names, "total"] if not side.spread(name)]
        return out


@dataclass
class Browser:
    """Every group the page lists, and how the list was bounded."""

    rewards: list[str]
    groups: list[GroupView]
    total_groups: int  # groups in the run, before bounding
    note: str = ""  # how the groups were chosen when not all are shown

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "flags": sorted({f.split(":", 1)[0] for g in self.groups for f in g.flags})}


def _text_size(group: GroupView) -> int:
    return len(group.prompt) + sum(len(c.text) for side in group.sides for c in side.completions)


def bound_groups(groups: list[GroupView], limit: int = MAX_GROUPS, budget: int = MAX_PAGE_TEXT) -> tuple[list[GroupView], str]:
    """At most ``limit`` groups and about ``budget`` characters of text: every flagged group first
    (up to the limit), then an even sample of the rest, in their original order; and a sentence
    saying what was kept."""
    sizes = [_text_size(g) for g in groups]
    average = sum(sizes) / len(sizes) if sizes else 0
    if average * limit > budget:  # big groups: fewer of them
        limit = max(1, int(budget / average))
    if len(groups) <= limit:
        return groups, ""
    flagged = [i for i, g in enumerate(groups) if g.flags][:limit]
    rest = [i for i, g in enumerate(groups) if not g.flags]
    room = limit - len(flagged)
    stride = len(rest) / room if room else 0
    sampled = [rest[int(j * stride)] for j in range(room)] if room else []
    keep = sorted({*flagged, *sampled})
    note = (
        f"{len(keep)} of {len(groups)} groups are shown: the {len(flagged)} flagged ones first, then an even "
        f"sample of the others (one in {stride:.3g}). Every group is in completions.jsonl / samples.jsonl."
        if room
        else f"{len(keep)} of {len(groups)} groups are shown: flagged ones only, as many as the page holds. "
        "Every group is in completions.jsonl / samples.jsonl."
    )
    return [groups[i] for i in keep], note
