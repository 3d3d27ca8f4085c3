"""Which of TRL's aggregation modes suits this reward set: the same held-out groups under each.

For sum-then-normalise with group / batch / no scaling, and for GDPO (normalize_then_sum), the
advantages of the sampled groups (all groups taken as one batch) are formed by
:func:`grpo_rewards.aggregation.compute_advantages`, and per mode the bench reports:

- the per-reward shares of the advantage;
- *collapse*: among pairs of completions of one prompt whose (gated) reward vectors differ, the
  fraction that get the same advantage: information the sum threw away, which GDPO was made to keep;
- *sign conflict*: the fraction of scored rows in which one reward pushes the advantage up and
  another pushes it down (a tug of war inside the row);
- *amplified* (GDPO): per reward, the fraction of groups where its spread is near zero yet
  standardisation blows it up to full size (see ``aggregation.amplified_groups``).

It ends with a recommended ``[grpo]`` block and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..aggregation import (
    AMPLIFY_STD,
    Aggregation,
    all_aggregations,
    amplified_groups,
    close_gates,
    compute_advantages,
    share_terms,
    shares,
)
from .analysis import common_size_groups

SAME = 1e-6  # advantages closer than this are the same
COLLAPSE_WORTH_FIXING = 0.10  # GDPO is worth it when the default collapses at least this share of pairs...
AMPLIFY_TOLERATED = 0.10  # ...and blows no reward up in more than this share of its groups


def _distinct_pairs(rows: np.ndarray, advantages: np.ndarray) -> tuple[int, int]:
    """(pairs with different reward vectors, of those the pairs with the same advantage) in one group.

    ``rows`` holds only the rewards that enter the advantage (a weight-0 reward never can)."""
    distinct = same = 0
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            a, b = rows[i], rows[j]
            differ = bool(np.any(np.isnan(a) != np.isnan(b)) or np.any(np.abs(np.nan_to_num(a) - np.nan_to_num(b)) > SAME))
            if differ:
                distinct += 1
                same += abs(advantages[i] - advantages[j]) <= SAME
    return distinct, same


def compare_modes(matrix: np.ndarray, weights: Sequence[float], group_size: int, names: Sequence[str]) -> dict[str, Any]:
    """The figures of every mode for the N x K (gated) score matrix in groups of ``group_size``."""
    matrix = np.asarray(matrix, dtype=float).reshape(-1, len(names))
    n = matrix.shape[0]
    groups = n // group_size
    modes = []
    for aggregation in all_aggregations():
        result = compute_advantages(matrix, weights, group_size, aggregation)
        share = shares(*share_terms(result))
        distinct = same = 0
        trained = np.asarray(weights, dtype=float) != 0
        for g in range(groups):
            block = slice(g * group_size, (g + 1) * group_size)
            d, s = _distinct_pairs(matrix[block][:, trained], result.advantages[block])
            distinct, same = distinct + d, same + s
        scored = ~result.unscorable
        c = result.components[scored]
        conflict = float(np.mean((c > SAME).any(axis=1) & (c < -SAME).any(axis=1))) if len(c) else None
        amplified, counted = amplified_groups(result)
        modes.append(
            {
                "mode": aggregation.mode,
                "scale_rewards": aggregation.scale_rewards if not aggregation.is_gdpo else None,
                "label": aggregation.label,
                "share": {name: None if np.isnan(share[i]) else float(share[i]) for i, name in enumerate(names)},
                "distinct_pairs": distinct,
                "collapse": same / distinct if distinct else None,
                "sign_conflict": conflict,
                "amplified": {
                    name: float(amplified[i] / counted[i])
                    for i, name in enumerate(names)
                    if aggregation.is_gdpo and counted[i] and amplified[i]
                },
            }
        )
    out = {"group_size": group_size, "groups": groups, "amplify_std": AMPLIFY_STD, "modes": modes}
    out["recommendation"] = recommend(modes)
    return out


def configured(raw_config: dict[str, Any]) -> Aggregation:
    """The mode a trainer config's ``[grpo]`` sets (TRL's default for a reward-set file)."""
    grpo = raw_config.get("grpo", {})
    return Aggregation.from_grpo(grpo if isinstance(grpo, dict) else {})


def open_by_group(gate_open: np.ndarray | None, owner: Sequence[int], groups: int, k: int) -> list[list[list[bool]]]:
    """Rows x rewards gate flags per group, in the layout of the bench's grouped scores."""
    out: list[list[list[bool]]] = [[] for _ in range(groups)]
    for i, position in enumerate(owner):
        out[position].append([True] * k if gate_open is None else [bool(v) for v in gate_open[i]])
    return out


def from_groups(
    groups: Sequence[Sequence[Sequence[float | None]]],
    open_groups: Sequence[Sequence[Sequence[bool]]],
    weights: Sequence[float],
    names: Sequence[str],
    closed: Sequence[float] | None = None,
) -> dict[str, Any] | None:
    """compare_modes on the groups of the most common size, gates applied (aggregation.close_gates: ``closed``
    is what a closed gate gives per reward; None: no reward is gated)."""
    common = common_size_groups(groups)
    if common is None:
        return None
    size, used = common
    matrix = np.array([[np.nan if v is None else float(v) for v in row] for i in used for row in groups[i]], dtype=float)
    gate_open = np.array([row for i in used for row in open_groups[i]], dtype=bool)
    return compare_modes(close_gates(matrix, gate_open, closed), weights, size, names)


def recommend(modes: list[dict[str, Any]]) -> dict[str, Any]:
    """A ``[grpo]`` block and why: GDPO when the default sum collapses many distinct rows and GDPO
    keeps them apart without blowing a near-constant reward up; else TRL's default."""
    by_label = {m["label"]: m for m in modes}
    default, gdpo = by_label["sum_then_normalize/group"], by_label["normalize_then_sum"]
    worst_amplified = max(gdpo["amplified"].items(), key=lambda kv: kv[1], default=(None, 0.0))
    collapse, gdpo_collapse = default["collapse"], gdpo["collapse"]
    if collapse is None:
        choice, reason = default, "no two completions of a prompt differ in their rewards: nothing to choose between"
    elif (
        collapse >= COLLAPSE_WORTH_FIXING
        and gdpo_collapse is not None
        and gdpo_collapse <= collapse / 2
        and worst_amplified[1] <= AMPLIFY_TOLERATED
    ):
        choice = gdpo
        reason = (
            f"summing first gives the same advantage to {collapse:.0%} of the pairs of completions whose rewards "
            f"differ; GDPO to {gdpo_collapse:.0%}, and it amplifies no near-constant reward in more than "
            f"{AMPLIFY_TOLERATED:.0%} of groups"
        )
    elif collapse >= COLLAPSE_WORTH_FIXING and worst_amplified[1] > AMPLIFY_TOLERATED:
        choice = default
        reason = (
            f"summing first collapses {collapse:.0%} of distinct pairs, but GDPO would blow {worst_amplified[0]!r} "
            f"up to full size in {worst_amplified[1]:.0%} of its groups (spread below {AMPLIFY_STD:g}); "
            f"rescale or gate that reward before switching"
        )
    elif collapse >= COLLAPSE_WORTH_FIXING:
        choice = default
        reason = (
            f"summing first collapses {collapse:.0%} of the pairs whose rewards differ, but GDPO still collapses "
            f"{gdpo_collapse:.0%}: it would not help; TRL's default keeps the weights' meaning"
        )
    else:
        choice = default
        reason = (
            f"summing first collapses only {collapse:.0%} of the pairs whose rewards differ"
            + (f" (GDPO: {gdpo_collapse:.0%})" if gdpo_collapse is not None else "")
            + "; TRL's default keeps the weights' meaning"
        )
    block = f'[grpo]\nmulti_objective_aggregation = "{choice["mode"]}"'
    if choice["scale_rewards"]:
        block += f'\nscale_rewards = "{choice["scale_rewards"]}"'
    return {"label": choice["label"], "grpo": block, "reason": reason}


# -- presentation (used by report.py; the plot is plots.aggregation) --------------------------------------------------
def _pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{100 * value:.0f}%"


def short_label(label: str) -> str:
    return label.replace("sum_then_normalize/", "sum/").replace("normalize_then_sum", "GDPO")


def table_rows(section: dict[str, Any], names: Sequence[str], short: bool = False) -> tuple[list[str], list[list[str]]]:
    header = ["mode", *[f"share {n}" for n in names], "collapse", "sign conflict", "amplified"]
    rows = []
    for m in section["modes"]:
        amplified = ", ".join(f"{n} {_pct(v)}" for n, v in m["amplified"].items()) or (
            "none" if m["scale_rewards"] is None else ""
        )
        rows.append(
            [
                short_label(m["label"]) if short else m["label"],
                *[("n/a" if m["share"][n] is None else f"{m['share'][n]:.2f}") for n in names],
                _pct(m["collapse"]),
                _pct(m["sign_conflict"]),
                amplified,
            ]
        )
    return header, rows


def markdown_lines(
    section: dict[str, Any] | None, names: Sequence[str], table: Any, has_plot: bool, gated_rate: dict[str, float] | None = None
) -> list[str]:
    """The report's "Aggregation" section; ``table(header, rows)`` renders a markdown table."""
    if not section:
        return []
    header, rows = table_rows(section, names)
    rec = section["recommendation"]
    gates = [f"`{name}` closed on {_pct(rate)} of rows" for name, rate in (gated_rate or {}).items()]
    out = [
        "## Aggregation: which mode to train with",
        "",
        f"The advantages of the {section['groups']} groups of {section['group_size']} under each of TRL's modes "
        "(all groups as one batch)" + (f"; gates applied ({', '.join(gates)})" if gates else "") + ".",
        "",
        table(header, rows),
        "",
        "*collapse*: pairs of completions of one prompt whose rewards differ but whose advantage is the same. "
        "*sign conflict*: rows where one reward pushes the advantage up and another down. *amplified*: groups in "
        f"which GDPO standardises a reward whose spread is below {section['amplify_std']:g} to full size.",
        "",
        f"Recommended ({rec['reason']}):",
        "",
        "```toml",
        rec["grpo"],
        "```",
        "",
    ]
    if has_plot:
        out += ["![aggregation modes](aggregation.png)", ""]
    return out


def terminal_table(section: dict[str, Any], names: Sequence[str]) -> Any:
    """The comparison as a rich Table (the command prints the recommendation below it)."""
    from rich.table import Table

    header, rows = table_rows(section, names, short=True)
    table = Table(title=f"aggregation modes on {section['groups']} groups of {section['group_size']}")
    for column in header:
        table.add_column(column, justify="left" if column in ("mode", "amplified") else "right", no_wrap=column == "mode")
    for row in rows:
        table.add_row(*row)
    return table
