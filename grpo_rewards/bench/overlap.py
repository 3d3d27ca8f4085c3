"""Held-out prompts that the model was trained on: a rise on them may be memory, not skill.

A task with a small question space (one-digit products have 100 questions) draws the same
questions for its test seed as for its training seed, and a public benchmark may sit inside a
training mix. When the config is a trainer config, the bench asks the sampler plugin for the
training rows and marks each held-out prompt whose identity (the prompt, or the columns the
template renders, as :func:`.data.row_identity` reads them) occurs among them. ``--compare`` then
also reports its deltas on the prompts that were never trained on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .data import PromptGroup, row_identity


def seen_positions(groups: Sequence[PromptGroup], training_rows: Iterable[dict[str, Any]], fields: Sequence[str]) -> list[int]:
    """Positions of the groups whose prompt identity occurs in ``training_rows``."""
    trained = {row_identity(row, fields) for row in training_rows}
    trained.discard(None)
    return [position for position, group in enumerate(groups) if row_identity(group.columns, fields) in trained]


def summary(seen: Sequence[int], prompts: int, training_rows: int, description: str) -> dict[str, Any]:
    """The report's ``data.seen_in_training`` entry."""
    return {"prompts": len(seen), "of": prompts, "positions": list(seen), "training_rows": training_rows, "source": description}


def unseen_only(grouped: Sequence[Sequence[float | None]], seen: Sequence[int]) -> list[Sequence[float | None]]:
    """The per-group scores of the groups not in ``seen``."""
    skip = set(seen)
    return [values for position, values in enumerate(grouped) if position not in skip]


def note(entry: dict[str, Any] | None, unseen_rows: Sequence[dict[str, Any]] | None) -> list[dict[str, str]]:
    """A ``seen_in_training`` note when any held-out prompt was also a training prompt."""
    if not entry or not entry["prompts"]:
        return []
    message = (
        f"{entry['prompts']} of {entry['of']} held-out prompts also occur in the training data ({entry['source']}): "
        "a rise on them may be memory rather than skill"
    )
    if unseen_rows:
        figures = "; ".join(
            f"{r['metric']} {r['delta']:+.3g} [{r['low']:.3g}, {r['high']:.3g}]" for r in unseen_rows if r["delta"] is not None
        )
        message += f". On the {unseen_rows[0]['prompts']} never trained on: {figures}"
    elif entry["prompts"] == entry["of"]:
        message += ". None of them is unseen: hold out other questions (another seed, split or option) to measure skill"
    return [{"kind": "seen_in_training", "message": message}]
