"""The figures of a bench report as table cells and sentences, shared by report.md, report.html and
the terminal: one wording of a number or a flag wherever it is shown."""

from __future__ import annotations

from typing import Any

from .model import BenchReport, CompareRow, ProbeFinding


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def pct(value: float | None) -> str:
    # NaN: no group to measure (one completion per prompt, every value None); never "nan%"
    return "-" if value is None or value != value else f"{100 * value:.0f}%"


def describe_flag(flag: dict[str, Any] | ProbeFinding) -> str:
    if isinstance(flag, ProbeFinding):
        flag = flag.to_dict()
    who = "the weighted total" if flag["target"] == "total" else f"reward {flag['target']!r}"
    rule = {
        "fools": "as high as the gold reference",
        "beats_typical": "as high as a typical real completion",
        "misses": "below the gold reference although it is a correct answer",
    }[flag["rule"]]
    if flag["rule"] == "fools" and flag.get("yardstick") == "typical":
        rule = "as high as a typical real completion (there is no gold answer to build a reference from)"
    return f"{who} scores the {flag['kind']} probe {flag['probe']!r} {rule} on {pct(flag['rate'])} of {flag['evaluated']} prompts"


REWARD_COLUMNS = (
    "reward",
    "weight",
    "mean",
    "std",
    "None",
    "errors",
    "timeouts",
    "spread",
    "share",
    "p50 ms",
    "p99 ms",
    "rows/s",
)


def reward_rows(report: BenchReport) -> list[list[str]]:
    rows = []
    for name, f in report.per_reward.items():
        rows.append(
            [
                name,
                fmt(f.weight),
                fmt(f.mean),
                fmt(f.std),
                pct(f.none_rate),
                pct(f.error_rate),
                pct(f.timeout_rate),
                pct(f.spread),
                pct(f.share),
                fmt(f.latency_ms_p50),
                fmt(f.latency_ms_p99),
                fmt(f.rows_per_s, 4),
            ]
        )
    total = report.total
    rows.append(["total", "", fmt(total.mean), fmt(total.std), "", "", "", pct(total.spread), "", "", "", ""])
    return rows


COMPARE_COLUMNS = ("metric", "A", "B", "B - A", "95% CI", "prompts")


def compare_rows(rows: list[CompareRow]) -> list[list[str]]:
    """The --compare table's cells (* marks an interval that excludes 0)."""
    return [
        [
            r.metric,
            fmt(r.a),
            fmt(r.b),
            fmt(r.delta),
            "-" if r.low is None else f"[{fmt(r.low)}, {fmt(r.high)}]{' *' if r.significant else ''}",
            str(r.prompts),
        ]
        for r in rows
    ]
