"""``bench --fail-on``: a pre-flight gate for CI that keeps a broken reward set out of training.

``--fail-on probes,zero-spread=0.5,none-rate=0.2`` fails the command (exit status 1) with one line
per failure when:

- ``probes``: a hackability probe scores as high as the real completions (or the gold reference)
  on the weighted total, i.e. a flag training could exploit;
- ``attacks``: a correctness reward pays an attack class of ``grpo-rewards attack`` (quick set);
- ``zero-spread=F``: a reward has no spread in more than the fraction F of the groups;
- ``none-rate=F``: a reward returns None (or fails) on more than the fraction F of the rows.
"""

from __future__ import annotations

from typing import Any

RULES = ("probes", "attacks", "zero-spread", "none-rate")


class FailOnError(ValueError):
    """A ``--fail-on`` value that cannot be read."""


def parse_fail_on(text: str) -> dict[str, float | None]:
    """``"probes,zero-spread=0.5"`` -> ``{"probes": None, "zero-spread": 0.5}``."""
    rules: dict[str, float | None] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in RULES:
            raise FailOnError(f"unknown rule {name!r}; expected {', '.join(RULES)} (e.g. probes,zero-spread=0.5,none-rate=0.2)")
        if name in ("probes", "attacks"):
            if value:
                raise FailOnError(f"{name} takes no value")
            rules[name] = None
            continue
        try:
            threshold = float(value)
        except ValueError:
            raise FailOnError(f"{name} needs a fraction between 0 and 1, e.g. {name}=0.5; got {value!r}") from None
        if not 0.0 <= threshold <= 1.0:
            raise FailOnError(f"{name} needs a fraction between 0 and 1, got {threshold:g}")
        rules[name] = threshold
    if not rules:
        raise FailOnError(f"no rule given; expected some of {', '.join(RULES)}")
    return rules


def failures(report: dict[str, Any], rules: dict[str, float | None]) -> list[str]:
    """One line per failed rule and reward, from a bench report."""
    out = []
    if "probes" in rules:
        for flag in report["probes"]["flags"]:
            if flag["target"] == "total" and flag["rule"] in ("fools", "beats_typical"):
                yardstick = (
                    "the gold reference"
                    if flag["rule"] == "fools" and flag.get("yardstick") != "typical"
                    else "a typical real completion"
                )
                out.append(
                    f"probes: the weighted total scores the {flag['kind']} probe {flag['probe']!r} as high as "
                    f"{yardstick} on {flag['rate']:.0%} of {flag['evaluated']} prompts"
                )
    if "attacks" in rules:
        out += [f"attacks: {line}" for line in (report.get("attacks") or {}).get("findings", [])]
    for name, figures in report["per_reward"].items():
        limit = rules.get("zero-spread")
        if "zero-spread" in rules and figures.get("spread") is not None and 1 - figures["spread"] > limit:
            out.append(f"zero-spread: {name!r} has no spread in {1 - figures['spread']:.0%} of groups (limit {limit:.0%})")
        limit = rules.get("none-rate")
        if "none-rate" in rules and figures.get("none_rate") is not None and figures["none_rate"] > limit:
            out.append(f"none-rate: {name!r} returns None on {figures['none_rate']:.0%} of rows (limit {limit:.0%})")
    return out
