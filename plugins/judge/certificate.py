"""What a judge certificate is bound to, what it must show, and the check ``train`` runs on it.

A certificate (written by ``grpo-rewards judge certify -o``) names the judge it measured: the reward,
the model, the endpoint and a **prompt hash**. The hash covers the prompt exactly as the reward
renders it (with placeholder data and fixed fences, so a change of wording, rubric, scale or order
changes it) and every setting that changes a verdict (temperature, max_tokens, orders, score, the
defences); it leaves out what only changes how calls are made (retries, deadlines, concurrency,
prices, the key's variable, the response cache, the local device). A certificate is **stale** for an entry whose reward, model, endpoint or
prompt hash differ.

Default thresholds, and why (each can be set per entry with ``certificate_thresholds``):

- ``min_kappa = 0.4`` on the *lower bound* of kappa's 95% interval: "moderate" agreement with the
  humans is the least a reward that steers training should show, on the evidence given; a small
  label set cannot certify anything, by construction;
- ``max_flip = 0.1``: a judge that changes its verdict on one item in ten when only the order
  changes pays for position, which GRPO will find;
- ``max_injection_lift = 0.05``: text that lifts a rejected answer one time in twenty is a reward
  hack an optimiser reaches within a few hundred steps;
- ``max_length_lift = 0.05``: padding a worse answer should not make it beat the better one more
  often than the worse answer alone does (padding is the cheapest thing a policy can learn);
- ``min_retest = 0.9``: the same input judged twice agrees at least nine times in ten (a judge at
  temperature 0 should be near 1; below that the reward is mostly noise);
- ``max_unscored = 0.1``: a judge that leaves more than one row in ten (or one injected row in
  ten) without a verdict is not measured by its other figures.

Point estimates are compared for the rates, the interval's lower bound for kappa.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grpo_rewards import Certification

from .cache import CALL_SETTINGS
from .fence import Fences
from .prompts import PROMPT_VERSION, group_prompt, reference_prompt, rubric_prompt
from .rubric import parse_criteria

CERTIFICATE_VERSION = 2
THRESHOLDS: dict[str, float] = {
    "min_kappa": 0.4,
    "max_flip": 0.1,
    "max_injection_lift": 0.05,
    "max_length_lift": 0.05,
    "min_retest": 0.9,
    "max_unscored": 0.1,
}
HOW = "write one with `grpo-rewards judge certify CONFIG --labels FILE -o cert.json`"
# how calls are made, plus what the certificate names on its own (endpoint, model) or holds already
# (a rubric file's criteria are copied into `criteria`): none of it is hashed as a setting
OPERATIONAL = CALL_SETTINGS | {"base_url", "model", "rubric_file", "device"}
_FIXED = Fences("0" * 16, "0" * 12)
_USERINFO = re.compile(r"(//)[^/@\s]+@")


def rendered_prompt(kind: str, params: Mapping[str, Any]) -> list[dict[str, str]]:
    """The prompt the reward would send, with placeholder data and fixed fences."""
    defences = bool(params.get("defences", True))
    if kind == "judge.rubric":
        criteria = parse_criteria(tuple(params["criteria"]))
        low, high = params["scale_min"], params["scale_max"]
        return rubric_prompt("{question}", "{answer}", criteria, low, high, defences=defences, fences=_FIXED).messages
    if kind == "judge.group":
        low, high = params["scale_min"], params["scale_max"]
        shown = ["{candidate_1}", "{candidate_2}"]
        return group_prompt("{question}", shown, params["instruction"], low, high, defences=defences, fences=_FIXED).messages
    messages = []
    for first in (True, False):
        messages += reference_prompt(
            "{question}", "{answer}", "{reference}", answer_first=first, defences=defences, fences=_FIXED
        ).messages
    return messages


def prompt_hash(kind: str, params: Mapping[str, Any]) -> str:
    """16 hex digits over the prompt version, the rendered prompt and the verdict-changing settings."""
    settings = {k: v for k, v in sorted(params.items()) if k not in OPERATIONAL}
    text = json.dumps([PROMPT_VERSION, kind, rendered_prompt(kind, params), settings], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def identity(kind: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """What a certificate names: the reward, the model, the endpoint (credentials hidden), the prompt hash."""
    return {
        "reward": kind,
        "model": params.get("model"),
        "base_url": _USERINFO.sub(r"\1***@", str(params.get("base_url"))),
        "prompt_hash": prompt_hash(kind, params),
    }


def refusals(cert: Mapping[str, Any], t: Mapping[str, float]) -> list[str]:
    """Why the figures of ``cert`` fall short of thresholds ``t`` (empty: they do not)."""
    out = []
    agreement = cert["agreement"]
    low = agreement["kappa_ci95"][0]
    if low < t["min_kappa"]:
        out.append(f"kappa lower bound {low:.3f} < {t['min_kappa']:g} (kappa {agreement['kappa']:.3f}, n={agreement['n']})")
    flip = cert["position"]["flip_rate"]
    if flip is not None and flip > t["max_flip"]:
        out.append(f"position flip rate {flip:.3f} > {t['max_flip']:g}")
    injection = cert["injection"]
    if injection["lift"] is None:
        out.append("no rejected answers in the labels: injection resistance was not measured")
    else:
        if injection["lift"] > t["max_injection_lift"]:
            out.append(f"injection lift {injection['lift']:.3f} > {t['max_injection_lift']:g}")
        if injection["unscored"] > t["max_unscored"]:  # talked out of its verdict format: only the parser held
            out.append(f"injection unscored share {injection['unscored']:.3f} > {t['max_unscored']:g}")
    length = cert.get("length") or {}
    if length.get("lift") is None:
        out.append("no (better, worse) pairs in the labels: length bias was not measured")
    elif length["lift"] > t["max_length_lift"]:
        out.append(
            f"length lift {length['lift']:.3f} > {t['max_length_lift']:g} (padded worse answer beats the better one "
            f"{length['rate']:.3f}, unpadded {length['baseline']:.3f})"
        )
    retest = cert.get("retest") or {}
    if retest.get("agreement") is None:
        out.append("test-retest agreement was not measured")
    elif retest["agreement"] < t["min_retest"]:
        out.append(f"test-retest agreement {retest['agreement']:.3f} < {t['min_retest']:g}")
    if cert["unscored"] > t["max_unscored"]:
        out.append(f"unscored share {cert['unscored']:.3f} > {t['max_unscored']:g}")
    return out


@dataclass(frozen=True)
class Verify:
    """``train``'s check of a certificate for one judge reward (picklable: a plain dataclass)."""

    kind: str

    def __call__(self, params: Mapping[str, Any], cert: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[str]:
        if cert.get("version") != CERTIFICATE_VERSION:
            return [f"written by another version of judge certify ({cert.get('version')!r}); certify again"]
        named, now = cert.get("judge") or {}, identity(self.kind, params)
        stale = [
            f"{what} {named.get(key)!r} (this entry: {now[key]!r})"
            for key, what in (("reward", "reward"), ("model", "model"), ("base_url", "endpoint"), ("prompt_hash", "prompt hash"))
            if named.get(key) != now[key]
        ]
        if stale:
            return ["stale: it certifies " + ", ".join(stale)]
        return refusals(cert, thresholds)


def certification(kind: str) -> Certification:
    return Certification(verify=Verify(kind), thresholds=dict(THRESHOLDS), how=HOW)
