"""Reward weights that change during training, as functions of TRL's global step.

A weight is a number or a table::

    weight = { schedule = "linear",  start = 0.0, end = 0.5, steps = 200 }
    weight = { schedule = "cosine",  start = 1.0, end = 0.1, steps = 200 }   # half-cosine ease
    weight = { schedule = "warmup",  end = 0.5, steps = 50 }                 # linear from 0
    weight = { schedule = "piecewise", points = [[0, 0.0], [100, 0.5], [300, 0.5], [400, 1.0]] }

The step is ``trainer_state.global_step`` when the batch is scored: 0 for the first batch. Before
the first point and after the last the weight holds its end value. Being a function of the
step alone, a schedule gives the same weights after ``--resume``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import as_finite_number, brief

# |weight| at most this, at every step of a schedule too: with scores of any real size the
# weighted total stays a finite float.
MAX_WEIGHT = 1e6
KINDS = ("linear", "cosine", "warmup", "piecewise")
_KEYS = {
    "linear": ("schedule", "start", "end", "steps"),
    "cosine": ("schedule", "start", "end", "steps"),
    "warmup": ("schedule", "end", "steps"),
    "piecewise": ("schedule", "points"),
}


class ScheduleError(ValueError):
    """A weight table that is not a valid schedule; ``key`` names the offending key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key, self.message = key, message


@dataclass(frozen=True)
class Schedule:
    """A weight as a function of the global step: piecewise-linear or half-cosine between points."""

    kind: str
    points: tuple[tuple[int, float], ...]  # (step, weight), steps strictly increasing

    @property
    def end_step(self) -> int:
        """The step from which the weight stays at its final value."""
        return self.points[-1][0]

    @property
    def final(self) -> float:
        return self.points[-1][1]

    def at(self, step: int | None) -> float:
        """The weight at global step ``step`` (None: the end of the schedule)."""
        if step is None or step >= self.end_step:
            return self.final
        if step <= self.points[0][0]:
            return self.points[0][1]
        for (s0, w0), (s1, w1) in zip(self.points, self.points[1:]):
            if s0 <= step <= s1:
                t = (step - s0) / (s1 - s0)
                if self.kind == "cosine":
                    t = (1 - math.cos(math.pi * t)) / 2
                return w0 + (w1 - w0) * t
        return self.final  # unreachable: the points cover [first, end_step]

    def describe(self) -> str:
        if self.kind == "piecewise":
            return "piecewise " + " ".join(f"{s}:{w:g}" for s, w in self.points)
        (s0, w0), (s1, w1) = self.points
        return f"{self.kind} {w0:g} -> {w1:g} over {s1 - s0} steps"


def weight_problem(value: Any) -> str | None:
    """Why ``value`` is not a usable weight (a finite number within +-MAX_WEIGHT), or None."""
    number = as_finite_number(value)
    if number is None:
        return f"expected a finite number, got {brief(value)}"
    if abs(number) > MAX_WEIGHT:
        return (
            f"expected a weight between {-MAX_WEIGHT:g} and {MAX_WEIGHT:g} (so that weighted totals stay finite), got {number:g}"
        )
    return None


def parse_schedule(raw: Mapping[str, Any]) -> Schedule:
    """A Schedule from a ``weight = {...}`` table, or ScheduleError naming the key at fault."""
    kind = raw.get("schedule")
    if kind not in KINDS:
        raise ScheduleError("schedule", f"expected one of {', '.join(KINDS)}, got {kind!r}")
    unknown = [k for k in raw if k not in _KEYS[kind]]
    if unknown:
        raise ScheduleError(unknown[0], f"unknown key for a {kind} schedule; expected {', '.join(_KEYS[kind][1:])}")
    if kind == "piecewise":
        return Schedule(kind, _points(raw.get("points")))
    steps = raw.get("steps")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ScheduleError("steps", f"expected a whole number of steps >= 1, got {steps!r}")
    values = {}
    for key in ("start", "end"):
        if key == "start" and kind == "warmup":
            values[key] = 0.0
            continue
        if key not in raw:
            raise ScheduleError(key, f"missing: a {kind} schedule needs {', '.join(_KEYS[kind][1:])}")
        problem = weight_problem(raw[key])
        if problem:
            raise ScheduleError(key, problem)
        values[key] = float(raw[key])
    return Schedule(
        "cosine" if kind == "cosine" else "linear" if kind == "linear" else "warmup",
        ((0, values["start"]), (steps, values["end"])),
    )


def _points(raw: Any) -> tuple[tuple[int, float], ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise ScheduleError("points", "expected a list of at least two [step, weight] pairs")
    points: list[tuple[int, float]] = []
    for i, pair in enumerate(raw):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ScheduleError(f"points[{i}]", f"expected a [step, weight] pair, got {pair!r}")
        step, weight = pair
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ScheduleError(f"points[{i}]", f"expected a whole step number >= 0, got {step!r}")
        problem = weight_problem(weight)
        if problem:
            raise ScheduleError(f"points[{i}]", problem)
        if points and step <= points[-1][0]:
            raise ScheduleError(f"points[{i}]", f"steps must increase: {step} follows {points[-1][0]}")
        points.append((step, float(weight)))
    return tuple(points)
