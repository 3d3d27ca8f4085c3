"""What a training run's logs say went wrong, as the bench says it for a reward set: findings that
``report.md`` puts first, so a run that learned nothing says so instead of showing a rising curve.

Each finding is read from ``metrics.jsonl`` alone (one record per logged step), so a report rebuilt
from the files states the same findings as the one written at the end of the run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .history import History, window_means

ALL = 0.999  # "every row": a rate logged as a float mean of 0/1 values
NO_SPREAD_STEPS = 3  # consecutive logged steps without a group with spread worth a finding
TRUNCATED = 0.5  # share of completions cut at max_completion_length
CLIPPED = 0.2  # share of tokens whose policy ratio was clipped


@dataclass(frozen=True)
class Finding:
    """One thing the run's logs show, with why it matters; ``rank`` orders them (0 first)."""

    rank: int
    kind: str
    message: str


def findings(history: History) -> list[Finding]:
    """Every finding of the run, the one that matters most first."""
    found = [
        *_no_spread(history),
        *_always_gated(history),
        *_always_none(history),
        *_moved_by_weights(history),
        *_truncation(history),
        *_clipping(history),
    ]
    return sorted(found, key=lambda f: f.rank)


def _values(history: History, key: str) -> list[float]:
    return history.series(key)[1]


def _no_spread(history: History) -> list[Finding]:
    xs, ys = history.series("frac_reward_zero_std")
    run: list[int] = []
    longest: list[int] = []
    for step, value in zip(xs, ys):
        run = [*run, step] if value >= ALL else []
        if len(run) > len(longest):
            longest = run
    if not longest or len(longest) < min(NO_SPREAD_STEPS, len(xs)):
        return []
    if len(longest) == len(xs):
        return [
            Finding(
                0,
                "nothing_learned",
                f"nothing was learned: no group had any spread in its total reward at any of the {len(xs)} logged steps, "
                "so every advantage was 0 and the policy was not updated"
                f"{_loss_note(history)}. Every completion of a prompt scored the same: give the set a reward that "
                "tells completions apart (or check that its rewards can read this data)",
            )
        ]
    return [
        Finding(
            1,
            "no_spread",
            f"no group had any spread in its total reward for {len(longest)} logged steps in a row "
            f"(steps {longest[0]}-{longest[-1]}): those steps gave no learning signal",
        )
    ]


def _loss_note(history: History) -> str:
    loss, grad = _values(history, "loss"), _values(history, "grad_norm")
    if loss and grad and all(v == 0 for v in loss) and all(v == 0 for v in grad):
        return " (loss and grad_norm were 0 throughout)"
    return ""


def _always_gated(history: History) -> list[Finding]:
    out = []
    for name in history.names:
        rates = _values(history, f"rewards/{name}/gated_rate")
        if rates and min(rates) >= ALL:
            out.append(
                Finding(
                    2,
                    "gate_always_closed",
                    f"{name}: its gate was closed on every row at every logged step, so it only ever gave its closed "
                    "value and never told completions apart; check its `when` condition",
                )
            )
    return out


def _always_none(history: History) -> list[Finding]:
    out = []
    for name in history.names:
        rates = _values(history, f"rewards/{name}/none_rate")
        if rates and min(rates) >= ALL:
            errors = _values(history, f"rewards/{name}/error_rate")
            timeouts = _values(history, f"rewards/{name}/timeout_rate")
            why = []
            if errors and max(errors) > 0:
                why.append(f"errors on {_pct(sum(errors) / len(errors))} of rows")
            if timeouts and max(timeouts) > 0:
                why.append(f"time-outs on {_pct(sum(timeouts) / len(timeouts))}")
            cause = "; ".join(why) if why else "no error was raised: it found nothing to score (its columns or params?)"
            out.append(Finding(2, "always_none", f"{name}: None on every row at every logged step ({cause}); it never counted"))
    return out


def _moved_by_weights(history: History) -> list[Finding]:
    """The total's change split exactly into what the weights did and what the scores did:
    w1*m1 - w0*m0 = (w1 - w0)*m0 + w1*(m1 - m0), summed over the rewards, m the mean that entered
    the total (a closed gate's value, not the raw score)."""
    start, end = window_means(_values(history, "reward"))
    if not (math.isfinite(start) and math.isfinite(end)):
        return []
    by_weights = by_scores = 0.0
    scheduled = []
    for name in history.names:
        weights = _values(history, f"rewards/{name}/weight")
        m0, m1 = window_means(_effective(history, name))
        if not weights or not (math.isfinite(m0) and math.isfinite(m1)):
            continue
        w0, w1 = window_means(weights)
        by_weights += (w1 - w0) * m0
        by_scores += w1 * (m1 - m0)
        if w0 != w1:
            scheduled.append(f"{name} {w0:.3g} -> {w1:.3g}")
    if not scheduled or abs(by_weights) < 0.01 or abs(by_scores) > 0.2 * abs(by_weights):
        return []
    return [
        Finding(
            1,
            "moved_by_weights",
            f"the total reward went from {start:.3g} to {end:.3g}, but the rewards' raw scores did not move it "
            f"({by_scores:+.3g}): the change is the weight schedules' ({by_weights:+.3g}; {', '.join(scheduled)}). "
            "Judge progress by each reward's raw mean, not by the total",
        )
    ]


def _effective(history: History, name: str) -> list[float]:
    """The reward's mean as it entered the total (closed gates applied): weighted_mean / weight
    where the weight is not 0, else the raw mean (a gated reward's is then unknown)."""
    out = []
    for record in history.steps:
        weight, weighted = record.get(f"rewards/{name}/weight"), record.get(f"rewards/{name}/weighted_mean")
        raw, gated = record.get(f"rewards/{name}/mean"), f"rewards/{name}/gated_rate" in record
        value = None
        if isinstance(weight, (int, float)) and weight != 0 and isinstance(weighted, (int, float)):
            value = weighted / weight
        elif not gated and isinstance(raw, (int, float)):
            value = raw
        if value is not None and math.isfinite(value):
            out.append(float(value))
    return out


def _truncation(history: History) -> list[Finding]:
    _, end = window_means(_values(history, "completions/clipped_ratio"))
    if not math.isfinite(end) or end < TRUNCATED:
        return []
    return [
        Finding(
            3,
            "truncation",
            f"{_pct(end)} of completions were cut at max_completion_length at the end of the run: their rewards "
            "judged unfinished text; raise max_completion_length or reward shorter answers",
        )
    ]


def _clipping(history: History) -> list[Finding]:
    _, end = window_means(_values(history, "clip_ratio/region_mean"))
    if not math.isfinite(end) or end < CLIPPED:
        return []
    return [
        Finding(
            3,
            "clipping",
            f"the policy ratio was clipped on {_pct(end)} of tokens at the end of the run: most of each update was cut "
            "off; lower the learning rate or take fewer steps per generation",
        )
    ]


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def markdown(found: Sequence[Finding]) -> list[str]:
    """The report's "Findings" section (empty when there is nothing to say)."""
    if not found:
        return []
    return ["## Findings", "", *(f"- **{f.kind.replace('_', ' ')}**: {f.message}." for f in found), ""]
