"""Every error a user can see, under one base class.

A command catches :class:`GrpoRewardsError` and prints its message; anything else is a bug and
keeps its traceback. Each error names where the problem is (file, line or entry, key).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class GrpoRewardsError(Exception):
    """Base of every user-facing error of grpo-rewards."""


@dataclass(frozen=True)
class ConfigProblem:
    """One mistake in a config: where it is and what was expected."""

    source: str
    entry: str
    key: str | None
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.entry:
            where += f": {self.entry}"
        if self.key:
            where += f": key {self.key!r}"
        return f"{where}: {self.message}"


class ConfigError(GrpoRewardsError, ValueError):
    """One or more :class:`ConfigProblem`; its message lists them all, one per line."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, source: str, entry: str, key: str | None, message: str) -> ConfigError:
        return cls([ConfigProblem(source, entry, key, message)])


class ParamError(GrpoRewardsError, ValueError):
    """A parameter value that does not fit its declaration. ``key`` names the parameter."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


class ParamErrors(GrpoRewardsError, ValueError):
    """Several ParamError at once."""

    def __init__(self, errors: list[ParamError]) -> None:
        super().__init__("; ".join(f"{e.key}: {e.message}" for e in errors))
        self.errors = errors


class InputError(GrpoRewardsError, ValueError):
    """Problems in an input file, each with its line (or row) number."""


class UnknownNameError(GrpoRewardsError, KeyError):
    """A reward, extractor or dataset name that is not registered (with a did-you-mean)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


UnknownRewardError = UnknownNameError  # the name used before there were other registries


class RunError(GrpoRewardsError, RuntimeError):
    """A run (training, sampling) that cannot start or go on, with the reason."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A ``"; did you mean 'x'?"`` suffix, or an empty string when nothing is close."""
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.75)
    if not close:
        return ""
    return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
