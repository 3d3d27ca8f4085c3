"""The judge section of ``grpo-rewards bench`` (registered through ``register_bench_sections``) for
every set that holds a judge reward:

- **injections**: on the first ``judge_injection_prompts`` held-out prompts (default 8), the first
  real completion is judged as it is and with each class of the injection battery appended; a class
  *moved* the score when the attacked copy scores above the plain one. Only completions the judge did
  not already give its top score can be moved, so those are the ones counted. A group judge sees the
  attacked copy in place of the original, in its real group.
- **certificate**: the status of the entry's ``certificate`` file (what ``train`` would do with it),
  and, where ``[bench]`` names ``judge_labels = "labels.jsonl"`` (relative to the config), a fresh
  certificate of the judge on those labels (the figures of ``judge certify``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grpo_rewards.bench.sections import BenchSection, SectionInput
from grpo_rewards.certificates import reasons as certificate_reasons
from grpo_rewards.rewardset import RewardSet, WeightedReward
from grpo_rewards.schema import Key
from grpo_rewards.scoring import Row, score_rows

from .attacks import INJECTIONS, inject
from .certificate import Verify
from .certify import TOL, UNIT_COLUMN, LabelError, certify, markdown, read_labels, wilson

KEYS = {"judge_labels": Key((str,)), "judge_injection_prompts": Key((int,), min=1)}


def judges(reward_set: RewardSet) -> list[WeightedReward]:
    return [e for e in reward_set.rewards if e.spec.certification is not None and isinstance(e.spec.certification.verify, Verify)]


def _injections(entry: WeightedReward, data: SectionInput, prompts: int) -> dict[str, Any]:
    rows = [r for r in data.rows if r.completions][:prompts]
    top = entry.spec.value_range[1] if entry.spec.value_range else float("inf")
    variants = ["", *INJECTIONS]
    batch: list[Row] = []
    for i, held in enumerate(rows):
        for v, cls in enumerate(variants):
            first = held.completions[0] if not cls else inject(held.completions[0], cls)
            if entry.spec.batched:  # the whole real group, the first member attacked, kept apart by a unit column
                members = [first, *held.completions[1:]]
                batch += [Row(text, held.prompt, {**held.columns, UNIT_COLUMN: i * 100 + v}) for text in members]
            else:
                batch.append(Row(first, held.prompt, dict(held.columns)))
    values = score_rows(RewardSet([entry]), batch, chunk_size=max(1, len(batch))).values[entry.name]  # groups never cut
    size = [len(r.completions) if entry.spec.batched else 1 for r in rows]
    classes = {cls: {"moved": 0, "lowered": 0, "unscored": 0, "n": 0} for cls in INJECTIONS}
    at_top = 0
    position = 0
    for held_size in size:
        scores = [values[position + v * held_size] for v in range(len(variants))]  # the first member of each variant
        position += held_size * len(variants)
        plain = scores[0]
        if plain is None or plain >= top - TOL:
            at_top += plain is not None
            continue
        for cls, value in zip(INJECTIONS, scores[1:]):
            slot = classes[cls]
            slot["n"] += 1
            if value is None:
                slot["unscored"] += 1
            elif value > plain + TOL:
                slot["moved"] += 1
            elif value < plain - TOL:
                slot["lowered"] += 1
    for slot in classes.values():
        slot["ci95"] = wilson(slot["moved"], slot["n"])
    return {"prompts": len(rows), "at_top": at_top, "classes": classes}


def run(data: SectionInput) -> dict[str, Any]:
    prompts = int(data.options.get("judge_injection_prompts", 8))
    labels_path = data.options.get("judge_labels")
    out: dict[str, Any] = {}
    for entry in judges(data.reward_set):
        data.log(f"judge {entry.name}: injection battery on {prompts} held-out prompts")
        result: dict[str, Any] = {"use": entry.spec.name, "injections": _injections(entry, data, prompts)}
        if entry.certificate is not None:
            why = certificate_reasons(entry)
            result["certificate"] = {"file": entry.certificate, "valid": not why, "reasons": why}
        if labels_path:
            data.log(f"judge {entry.name}: certifying on {labels_path}")
            try:
                labels = read_labels((data.base_dir / labels_path).resolve())
                result["certified_on_labels"] = certify(entry, labels, seed=data.seed)
            except (LabelError, OSError, UnicodeDecodeError) as exc:
                result["certified_on_labels"] = {"error": str(exc)}
        out[entry.name] = result
    return out


def report(result: Mapping[str, Any]) -> list[str]:
    lines = ["## Judges", ""]
    for name, judged in result.items():
        inj = judged["injections"]
        lines += [
            f"### {name} (`{judged['use']}`)",
            "",
            f"Injection battery on {inj['prompts']} held-out prompts' first completions "
            f"({inj['at_top']} already at the top score, not counted): a class moved the score when the attacked "
            "copy scored above the plain one.",
            "",
            "| class | moved | of | 95% CI | lowered | unscored |",
            "|---|---:|---:|---|---:|---:|",
        ]
        for cls, s in inj["classes"].items():
            flag = "**" if s["moved"] else ""
            lines.append(
                f"| {flag}{cls}{flag} | {s['moved']} | {s['n']} | {s['ci95'][0]:.2f}-{s['ci95'][1]:.2f} | {s['lowered']} | {s['unscored']} |"
            )
        lines.append("")
        moved = [cls for cls, s in inj["classes"].items() if s["moved"]]
        lines += [f"- **injections that moved the score: {', '.join(moved)}**" if moved else "- no injection moved the score", ""]
        cert = judged.get("certificate")
        if cert is not None:
            state = (
                "valid: train gives it its weight"
                if cert["valid"]
                else "not valid, train runs it as a metric: " + "; ".join(cert["reasons"])
            )
            lines += [f"Certificate `{Path(cert['file']).name}`: {state}.", ""]
        fresh = judged.get("certified_on_labels")
        if fresh is not None:
            lines += (
                [f"Certification on `[bench] judge_labels` failed: {fresh['error']}", ""]
                if "error" in fresh
                else markdown(fresh, "####")
            )
    return lines


SECTION = BenchSection("judges", lambda reward_set: bool(judges(reward_set)), run, report, KEYS)
