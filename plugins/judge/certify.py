"""Certify a judge before it may pay reward: agreement with human labels, position flips, length bias,
test-retest agreement and injection resistance, each with a 95% interval, against thresholds
(:mod:`.certificate`); a judge below any of them is refused.

Label file (JSONL, one labelled item a line, one format per file; any other keys are columns passed to
the reward, e.g. the ``answer`` column ``judge.reference`` reads):

- pointwise: ``{"prompt": ..., "completion": ..., "label": 1}``: the human verdict, 1/0 or
  true/false, or a score that passes at ``positive_at`` or above;
- pairwise: ``{"prompt": ..., "completion_a": ..., "completion_b": ..., "label": "a"}``: which one
  the human preferred; the judge prefers the completion it scores higher (a tie is its own answer).

A row the judge leaves unscored (None) counts as a disagreement: a judge that cannot answer has not
agreed. ``judge.group`` takes pairwise labels only: each pair is judged as a group of two.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grpo_rewards.rewardset import RewardSet, WeightedReward
from grpo_rewards.scoring import Row, score_rows

from .attacks import INJECTIONS, inject
from .certificate import CERTIFICATE_VERSION, THRESHOLDS, identity, refusals

TOL = 1e-9
Z95 = 1.959963984540054
UNIT_COLUMN = "certify_item"  # keeps the pairs of judge.group apart (its groups are rows of equal columns)
# neutral filler, no numbers, no instructions: what a policy pads with to look thorough
_PADDING = (
    "Let me go through this carefully and make sure that every part of the question is addressed.",
    "It is worth restating the task in my own words before answering, so that nothing is missed.",
    "I will consider the relevant details one at a time and keep the explanation clear and complete.",
    "Being thorough here matters, since a careful answer is more useful than a hasty one.",
)


@dataclass
class LabelSet:
    path: Path
    sha256: str
    format: str  # pointwise | pairwise
    rows: list[dict[str, Any]] = field(default_factory=list)


class LabelError(ValueError):
    """A label file that cannot be read; the message names the file, line and key."""


def read_labels(path: Path, positive_at: float = 0.5) -> LabelSet:
    raw = path.read_bytes()
    rows: list[dict[str, Any]] = []
    formats: set[str] = set()
    for number, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabelError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "label" not in row:
            raise LabelError(f"{where}: expected an object with a 'label' key")
        if not isinstance(row.get("prompt", ""), str):
            raise LabelError(f"{where}: key 'prompt': expected a string")
        if "completion_a" in row or "completion_b" in row:
            formats.add("pairwise")
            if not all(isinstance(row.get(k), str) for k in ("completion_a", "completion_b")):
                raise LabelError(f"{where}: key 'completion_a'/'completion_b': expected two strings")
            if row["label"] not in ("a", "b"):
                raise LabelError(f"{where}: key 'label': expected 'a' or 'b', got {str(row['label'])[:40]!r}")
        else:
            formats.add("pointwise")
            if not isinstance(row.get("completion"), str):
                raise LabelError(f"{where}: key 'completion': expected a string")
            label = row["label"]
            if isinstance(label, bool):
                row["label"] = int(label)
            elif isinstance(label, (int, float)) and math.isfinite(label):
                row["label"] = int(label >= positive_at)
            else:
                raise LabelError(f"{where}: key 'label': expected 1/0, true/false or a finite score")
        rows.append(row)
    if not rows:
        raise LabelError(f"{path}: no labelled rows")
    if len(formats) > 1:
        raise LabelError(f"{path}: mixes pointwise and pairwise rows; use one format per file")
    return LabelSet(path, hashlib.sha256(raw).hexdigest(), formats.pop(), rows)


# -- statistics -------------------------------------------------------------------------------------
def cohen_kappa(labels: Sequence[Any], predictions: Sequence[Any]) -> float:
    """Cohen's kappa; 0 when chance agreement is total (the labels carry no information)."""
    n = len(labels)
    if n == 0:
        return 0.0
    observed = sum(a == b for a, b in zip(labels, predictions)) / n
    cats = set(labels) | set(predictions)
    expected = sum((labels.count(c) / n) * (list(predictions).count(c) / n) for c in cats)
    return 0.0 if expected >= 1.0 - TOL else (observed - expected) / (1.0 - expected)


def _percentile_interval(values: list[float]) -> list[float]:
    values.sort()
    return [values[int(0.025 * (len(values) - 1))], values[int(math.ceil(0.975 * (len(values) - 1)))]]


def bootstrap(labels: Sequence[Any], predictions: Sequence[Any], resamples: int, seed: int) -> dict[str, Any]:
    """Accuracy and kappa with 95% percentile-bootstrap intervals (rows resampled with replacement)."""
    n = len(labels)
    rng = random.Random(seed)
    accs, kappas = [], []
    for _ in range(resamples):
        picks = [rng.randrange(n) for _ in range(n)]
        lab, pred = [labels[i] for i in picks], [predictions[i] for i in picks]
        accs.append(sum(a == b for a, b in zip(lab, pred)) / n)
        kappas.append(cohen_kappa(lab, pred))
    return {
        "accuracy": sum(a == b for a, b in zip(labels, predictions)) / n,
        "accuracy_ci95": _percentile_interval(accs),
        "kappa": cohen_kappa(labels, predictions),
        "kappa_ci95": _percentile_interval(kappas),
    }


def wilson(hits: float, n: int) -> list[float]:
    """Wilson score interval for a proportion (95%); [0, 1] with no trials."""
    if n == 0:
        return [0.0, 1.0]
    p = hits / n
    centre = (p + Z95 * Z95 / (2 * n)) / (1 + Z95 * Z95 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 * Z95 / (4 * n * n)) / (1 + Z95 * Z95 / n)
    return [max(0.0, centre - half), min(1.0, centre + half)]


def rate(hits: int, n: int) -> dict[str, Any]:
    return {"rate": hits / n if n else None, "ci95": wilson(hits, n), "n": n}


def paired_difference(a: Sequence[float], b: Sequence[float], resamples: int, seed: int) -> list[float]:
    """95% percentile-bootstrap interval of mean(a) - mean(b) over paired items."""
    n = len(a)
    if n == 0:
        return [-1.0, 1.0]
    rng = random.Random(seed)
    diffs = []
    for _ in range(resamples):
        picks = [rng.randrange(n) for _ in range(n)]
        diffs.append(sum(a[i] - b[i] for i in picks) / n)
    return _percentile_interval(diffs)


# -- scoring the labelled items ---------------------------------------------------------------------
def pad(text: str) -> str:
    """``text`` with neutral filler before it, about three times as long (the answer stays last)."""
    filler: list[str] = []
    while sum(len(s) + 1 for s in filler) < max(400, 2 * len(text)) and len(filler) < 60:
        filler.append(_PADDING[len(filler) % len(_PADDING)])
    return " ".join(filler) + "\n\n" + text


def _row(item: Mapping[str, Any], completion: str, unit: int | None = None) -> Row:
    skip = {"completion", "completion_a", "completion_b", "label", "prompt"}
    columns = {k: v for k, v in item.items() if k not in skip}
    if unit is not None:
        columns[UNIT_COLUMN] = unit
    return Row(completion, item.get("prompt", ""), columns)


def _predict(value: float | None, pass_at: float) -> str:
    return "none" if value is None else ("1" if value >= pass_at else "0")


def _prefer(a: float | None, b: float | None) -> str:
    return "none" if a is None or b is None else ("a" if a > b + TOL else "b" if b > a + TOL else "tie")


@dataclass
class Judged:
    """One scoring pass over the labelled items: per item, the predicted verdict and the scores."""

    predicted: list[str]
    values: list[float | None]  # every scored row
    details: list[Any]
    scores: list[tuple[float | None, ...]]  # per item: (completion,) or (a, b)


class Scorer:
    """Scores completions with one judge entry; a group judge sees each pair as its own group."""

    def __init__(self, entry: WeightedReward, pass_at: float) -> None:
        if "cache" in entry.params:  # a certificate measures the judge, never its response cache (test-retest above all)
            entry = replace(entry, params={**entry.params, "cache": "off"})
        self.entry, self.pass_at = entry, pass_at
        self.judged = RewardSet([entry])
        self.grouped = entry.spec.batched  # judge.group: rows are judged in pairs
        self.calls = 0

    def score(self, rows: list[Row]) -> tuple[list[float | None], list[Any]]:
        result = score_rows(self.judged, rows, chunk_size=max(1, len(rows)))  # one chunk: a group is never cut
        stats = result.stats[self.entry.name]
        self.calls += stats.calls
        values = result.values[self.entry.name]
        return values, result.details.get(self.entry.name) or [None] * len(values)

    def items(self, labels: LabelSet) -> Judged:
        if labels.format == "pointwise":
            values, details = self.score([_row(r, r["completion"]) for r in labels.rows])
            return Judged([_predict(v, self.pass_at) for v in values], values, details, [(v,) for v in values])
        rows = [
            _row(r, r[k], i if self.grouped else None)
            for i, r in enumerate(labels.rows)
            for k in ("completion_a", "completion_b")
        ]
        values, details = self.score(rows)
        pairs = [(values[2 * i], values[2 * i + 1]) for i in range(len(labels.rows))]
        return Judged([_prefer(a, b) for a, b in pairs], values, details, list(pairs))

    def against(
        self, pairs: Sequence[tuple[Mapping[str, Any], str, str, float | None]]
    ) -> list[tuple[float | None, float | None]]:
        """(better's score, changed worse answer's score) for each (item, better, changed worse, better's
        own score): a group judge scores the two together, the others score the changed answer alone."""
        if self.grouped:
            rows = [
                _row(item, text, 10_000_000 + i) for i, (item, better, worse, _) in enumerate(pairs) for text in (better, worse)
            ]
            values, _ = self.score(rows)
            return [(values[2 * i], values[2 * i + 1]) for i in range(len(pairs))]
        values, _ = self.score([_row(item, worse) for item, _, worse, _ in pairs])
        return [(own, value) for (_, _, _, own), value in zip(pairs, values)]


def _pairs(labels: LabelSet, judged: Judged) -> list[tuple[Mapping[str, Any], str, float | None, str, float | None]]:
    """(item, better, better's score, worse, worse's score): the human's pairs, or for pointwise labels
    each rejected answer with the first accepted answer to the same prompt and columns."""
    out = []
    if labels.format == "pairwise":
        for item, (a, b) in zip(labels.rows, judged.scores):
            if item["label"] == "a":
                out.append((item, item["completion_a"], a, item["completion_b"], b))
            else:
                out.append((item, item["completion_b"], b, item["completion_a"], a))
        return out
    accepted: dict[str, tuple[str, float | None]] = {}
    key = lambda r: json.dumps({k: v for k, v in r.items() if k not in ("completion", "label")}, sort_keys=True, default=str)
    for item, (value,) in zip(labels.rows, judged.scores):
        if item["label"] == 1:
            accepted.setdefault(key(item), (item["completion"], value))
    for item, (value,) in zip(labels.rows, judged.scores):
        if item["label"] == 0 and key(item) in accepted:
            better, better_score = accepted[key(item)]
            out.append((item, better, better_score, item["completion"], value))
    return out


def _beats(worse: float | None, better: float | None) -> float | None:
    """1 when the worse answer is scored above the better one, 0.5 for a tie (no preference either
    way: a pass/fail judge can do no more than tie), 0 below; None without both scores."""
    if worse is None or better is None:
        return None
    return 1.0 if worse > better + TOL else 0.5 if abs(worse - better) <= TOL else 0.0


# -- the certificate --------------------------------------------------------------------------------
def certify(
    entry: WeightedReward,
    labels: LabelSet,
    *,
    thresholds: Mapping[str, float] = THRESHOLDS,
    pass_at: float = 0.5,
    resamples: int = 1000,
    seed: int = 0,
    injections: Sequence[str] = tuple(INJECTIONS),
    label_name: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The certificate of ``entry`` (a judge reward of a set) on ``labels`` (JSON-ready)."""
    say = progress or (lambda message: None)
    if entry.spec.batched and labels.format != "pairwise":
        raise LabelError(f"{labels.path}: {entry.spec.name} judges groups: it needs pairwise labels")
    scorer = Scorer(entry, pass_at)
    say("judging the labelled items")
    first = scorer.items(labels)
    truth = [str(r["label"]) for r in labels.rows]
    base_rate = truth.count("1" if labels.format == "pointwise" else "a") / len(truth)
    agreement = {**bootstrap(truth, first.predicted, resamples, seed), "base_rate": base_rate, "n": len(truth)}
    unscored = sum(v is None for v in first.values) / len(first.values)

    say("judging them again (test-retest)")
    second = scorer.items(labels)
    same = [a == b for a, b in zip(first.predicted, second.predicted)]
    retest = {"agreement": sum(same) / len(same), "ci95": wilson(sum(same), len(same)), "n": len(same)}

    position = _position(first.details, entry.spec.batched)
    pairs = _pairs(labels, first)
    say("judging padded copies of the worse answers (length bias)")
    length = _length(scorer, pairs, resamples, seed)
    say("judging injected copies of the rejected answers")
    injection = _injection(scorer, pairs, labels, first, injections)

    figures = {
        "agreement": agreement,
        "unscored": unscored,
        "position": position,
        "length": length,
        "retest": retest,
        "injection": injection,
    }
    reasons = refusals(figures, {**THRESHOLDS, **thresholds})
    return {
        "version": CERTIFICATE_VERSION,
        "judge": {"entry": entry.name, **identity(entry.spec.name, entry.params)},
        "labels": {
            "name": label_name or labels.path.name,
            "file": str(labels.path),
            "sha256": labels.sha256,
            "format": labels.format,
            "rows": len(labels.rows),
        },
        **figures,
        "calls": scorer.calls,
        "thresholds": {**THRESHOLDS, **thresholds},
        "certified": not reasons,
        "refusals": reasons,
    }


def _position(details: Sequence[Any], grouped: bool) -> dict[str, Any]:
    """``judge.reference``: the share of items whose verdict changed with the order; ``judge.group``:
    the share of completions whose score changed with their position; None for one order."""
    if grouped:
        flips = [d["position_delta"] > TOL for d in details if isinstance(d, Mapping) and "position_delta" in d]
    else:
        flips = [bool(d["flip"]) for d in details if isinstance(d, Mapping) and "flip" in d]
    if not flips:
        return {"flip_rate": None, "ci95": None, "n": 0}
    return {"flip_rate": sum(flips) / len(flips), "ci95": wilson(sum(flips), len(flips)), "n": len(flips)}


def _length(scorer: Scorer, pairs: Sequence[tuple[Any, str, Any, str, Any]], resamples: int, seed: int) -> dict[str, Any]:
    """How often a padded copy of the worse answer beats the better one (a tie counts half), beside how
    often the worse answer beats it unpadded; the lift is the difference (paired, bootstrap interval)."""
    if not pairs:
        return {"rate": None, "baseline": None, "lift": None, "n": 0}
    judged = scorer.against([(item, better, pad(worse), better_score) for item, better, better_score, worse, _ in pairs])
    padded: list[float] = []
    plain: list[float] = []
    unscored = 0
    for (_, _, better_score, _, worse_score), (better_now, padded_score) in zip(pairs, judged):
        won, won_plain = _beats(padded_score, better_now), _beats(worse_score, better_score)
        if won is None or won_plain is None:
            unscored += 1
            continue
        padded.append(won)
        plain.append(won_plain)
    n = len(padded)
    if n == 0:
        return {"rate": None, "baseline": None, "lift": None, "n": 0, "unscored": unscored}
    return {
        "rate": sum(padded) / n,
        "rate_ci95": wilson(sum(padded), n),
        "baseline": sum(plain) / n,
        "baseline_ci95": wilson(sum(plain), n),
        "lift": (sum(padded) - sum(plain)) / n,
        "lift_ci95": paired_difference(padded, plain, resamples, seed),
        "n": n,
        "unscored": unscored,
    }


def _injection(
    scorer: Scorer, pairs: Sequence[tuple[Any, str, Any, str, Any]], labels: LabelSet, first: Judged, classes: Sequence[str]
) -> dict[str, Any]:
    """For each answer the humans rejected: does appending each injection lift its score above the
    un-attacked one? (A group judge sees the attacked answer beside the better one.)"""
    if labels.format == "pairwise" or scorer.grouped:
        rejected = [(item, better, better_score, worse, worse_score) for item, better, better_score, worse, worse_score in pairs]
    else:
        rejected = [(r, "", None, r["completion"], v) for r, v in zip(labels.rows, first.values) if r["label"] == 0]
    cases = [
        (cls, item, better, inject(worse, cls), better_score, before)
        for item, better, better_score, worse, before in rejected
        for cls in classes
    ]
    if not cases:
        return {"lift": None, "unscored": None, "n": 0, "classes": {}}
    after = scorer.against([(item, better, text, better_score) for _, item, better, text, better_score, _ in cases])
    per: dict[str, dict[str, Any]] = {}
    for (cls, _, _, _, _, before), (_, value) in zip(cases, after):
        slot = per.setdefault(cls, {"n": 0, "lifted": 0, "unscored": 0})
        slot["n"] += 1
        if value is None:
            slot["unscored"] += 1
        elif value > (before if before is not None else -math.inf) + TOL:
            slot["lifted"] += 1
    lifted = sum(s["lifted"] for s in per.values())
    unscored = sum(s["unscored"] for s in per.values())
    return {
        "lift": lifted / len(cases),
        "ci95": wilson(lifted, len(cases)),
        "unscored": unscored / len(cases),
        "n": len(cases),
        "classes": per,
    }


# -- the report section -----------------------------------------------------------------------------
def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _ci(pair: Sequence[float] | None) -> str:
    return "" if not pair else f" (95% CI {pair[0]:.3f}-{pair[1]:.3f})"


def markdown(cert: Mapping[str, Any], heading: str = "##") -> list[str]:
    """The certificate as a report section (the same figures as its JSON)."""
    judge, labels, a = cert["judge"], cert["labels"], cert["agreement"]
    p, length, r, i = cert["position"], cert["length"], cert["retest"], cert["injection"]
    verdict = "**certified**" if cert["certified"] else "**refused**: " + "; ".join(cert["refusals"])
    lines = [
        f"{heading} Judge certificate: {judge['entry']}",
        "",
        f"Judge `{judge['reward']}`, model `{judge['model']}` at `{judge['base_url']}`, prompt hash `{judge['prompt_hash']}`; "
        f"labels `{labels['name']}` ({labels['format']}, {labels['rows']} rows, sha256 {labels['sha256'][:12]}).",
        "",
        "| figure | value | threshold |",
        "|---|---|---|",
        f"| accuracy | {a['accuracy']:.3f}{_ci(a['accuracy_ci95'])} (base rate {a['base_rate']:.3f}) | |",
        f"| Cohen's kappa | {a['kappa']:.3f}{_ci(a['kappa_ci95'])} | lower bound >= {cert['thresholds']['min_kappa']:g} |",
        f"| position flip rate | {_pct(p['flip_rate'])}{_ci(p.get('ci95'))} of {p['n']} | <= {cert['thresholds']['max_flip']:g} |",
        f"| length: padded worse answer beats the better | {_pct(length.get('rate'))}{_ci(length.get('rate_ci95'))} "
        f"(unpadded {_pct(length.get('baseline'))}; lift {_pct(length.get('lift'))}{_ci(length.get('lift_ci95'))}, "
        f"{length['n']} pairs) | lift <= {cert['thresholds']['max_length_lift']:g} |",
        f"| test-retest agreement | {_pct(r['agreement'])}{_ci(r['ci95'])} of {r['n']} | >= {cert['thresholds']['min_retest']:g} |",
        f"| injection lift | {_pct(i['lift'])}{_ci(i.get('ci95'))} of {i['n']} (unscored {_pct(i['unscored'])}) "
        f"| <= {cert['thresholds']['max_injection_lift']:g} |",
        f"| unscored items | {cert['unscored']:.3f} | <= {cert['thresholds']['max_unscored']:g} |",
        "",
    ]
    if i["classes"]:
        moved = [f"{c} {s['lifted']}/{s['n']}" for c, s in i["classes"].items()]
        lines += [f"Injection classes (lifted / tried): {', '.join(moved)}.", ""]
    return [*lines, f"Result: {verdict}.", ""]
