"""The attack report as terminal tables: one per reward, one row per attack class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.markup import escape
from rich.table import Table

EXAMPLE_CHARS = 70


def share_text(figures: Mapping[str, Any]) -> str:
    if figures["share"] is None:
        return "-"
    return f"{figures['share']:.0%} [{figures['low']:.0%}, {figures['high']:.0%}]"


def tables(report: Mapping[str, Any]) -> list[Table]:
    out = []
    for name, reward in report["rewards"].items():
        table = Table(
            title=escape(f"{name} ({reward['use']}, {reward['kind']}, domain {reward['domain']}): {reward['rule']}"),
            title_justify="left",
        )
        for column in ("class", "family", "rows", "n", "paid", "share [95% CI]", "unscored", "a paid example"):
            table.add_column(column)
        for cls, figures in reward["classes"].items():
            example = figures["examples"][0]["completion"] if figures["examples"] else ""
            example = " ".join(example.split())
            example = example if len(example) <= EXAMPLE_CHARS else "..." + example[-EXAMPLE_CHARS:]
            style = "bold red" if figures["paid"] and reward["judged"] else None
            table.add_row(
                escape(cls),
                figures["family"],
                str(figures["rows"]),
                str(figures["n"]),
                str(figures["paid"]),
                share_text(figures),
                str(figures["unscored"]),
                escape(example),
                style=style,
            )
        out.append(table)
    return out
