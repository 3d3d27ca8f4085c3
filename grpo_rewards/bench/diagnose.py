"""Plain-language notes on a report's figures: where GRPO will get no signal, one reward
dominating the advantage, rewards counted twice or fighting, truncated completions.

The thresholds are rules of thumb, stated in each note, so a reader can judge them.
"""

from __future__ import annotations

from typing import Any

DOMINANT_SHARE = 0.9
DUPLICATE_CORRELATION = 0.95
FIGHT_CORRELATION = -0.5
LOW_TOTAL_SPREAD = 0.5
TRUNCATED = 0.5


def notes(report: dict[str, Any]) -> list[dict[str, str]]:
    """Notes of kinds: no_signal, dominant, duplicate, tug_of_war, low_spread, truncated."""
    out: list[dict[str, str]] = []
    per_reward = report["per_reward"]
    for name, f in per_reward.items():
        if f["spread"] == 0 and f["weight"] != 0:
            why = "it scores every completion None" if f["none_rate"] == 1 else "it scores all completions of every prompt alike"
            out.append({"kind": "no_signal", "message": f"reward {name!r} gives GRPO no signal on these prompts: {why}"})
    if len(per_reward) > 1:
        for name, f in per_reward.items():
            share = f.get("share")
            if share is not None and share >= DOMINANT_SHARE:
                out.append(
                    {
                        "kind": "dominant",
                        "message": f"reward {name!r} drives {100 * share:.0f}% of the advantage "
                        f"(>= {100 * DOMINANT_SHARE:.0f}%): the other rewards barely steer training",
                    }
                )
    names = report["correlation"]["names"]
    matrix = report["correlation"]["matrix"] or []
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            value = matrix[i][j] if matrix else None
            if value is None:
                continue
            if value >= DUPLICATE_CORRELATION:
                out.append(
                    {"kind": "duplicate", "message": f"{a!r} and {names[j]!r} correlate at {value:.2f}: one reward counted twice"}
                )
            elif value <= FIGHT_CORRELATION:
                out.append(
                    {
                        "kind": "tug_of_war",
                        "message": f"{a!r} and {names[j]!r} correlate at {value:.2f}: they pull in opposite directions",
                    }
                )
    spread = report["total"]["spread"]
    if spread is not None and spread < LOW_TOTAL_SPREAD and report["group_size"]:
        g = report["group_size"][-1]["g"]
        out.append(
            {
                "kind": "low_spread",
                "message": f"only {100 * spread:.0f}% of prompts have any spread in the "
                f"weighted total with {g} completions each: the rest give zero advantage (see the group-size table)",
            }
        )
    generation = report.get("generation")
    rate = generation.get("truncated_rate") if generation else None
    if generation and rate is not None and rate >= TRUNCATED:
        out.append(
            {
                "kind": "truncated",
                "message": f"{100 * rate:.0f}% of completions hit max_completion_length "
                f"({generation['sampling']['max_completion_length']} tokens): the rewards judge cut-off text",
            }
        )
    return out
