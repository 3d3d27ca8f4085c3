"""Repetition penalty: completions that loop ("and then and then and then ...") lose reward.

The penalty is ``max_penalty * (1 - unique n-grams / total n-grams)``: 0 for a completion with no
repeated n-gram, approaching ``max_penalty`` as one n-gram fills it (the open-r1 shape).
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator

import numpy as np

from grpo_rewards import Param, Sample, Scored, hookimpl, reward

_WORD = re.compile(r"\S+")
SMALL = 1 << 16  # n-grams x n up to which a set of tuples is used (at most a few MB)


def repeated_fraction(items: Iterable[Hashable], n: int) -> float:
    """1 - unique/total over the n-grams of ``items``; 0.0 when there is no n-gram at all.

    Bounded in memory whatever ``n`` (a few 8-byte integers per item): each item becomes its
    ``hash`` (token ids are their own hash, exact; a word's hash is keyed per process, so a
    collision, which would only raise the penalty, can neither be crafted nor expected), and
    distinct n-grams are counted by ranking, never stored as tuples (a set of 64-item tuples over
    a 2 MB completion took 713 MB). See :func:`distinct_ngrams`. Below ``SMALL`` n-gram items a
    set of tuples is used: bounded by that constant, and quicker on a typical completion.
    """
    hashes = np.fromiter((hash(item) for item in items), dtype=np.int64)
    total = len(hashes) - n + 1
    if total <= 0:
        return 0.0
    if total * n <= SMALL:  # a typical completion: the tuples are few, and faster than sorting
        values = hashes.tolist()
        return 1.0 - len({tuple(values[i : i + n]) for i in range(total)}) / total
    ids = np.unique(hashes, return_inverse=True)[1].reshape(-1)
    del hashes
    return 1.0 - distinct_ngrams(ids, n) / total


def distinct_ngrams(ids: np.ndarray, n: int) -> int:
    """How many distinct n-grams ``ids`` (dense integer ids, at least ``n`` of them) holds.

    Prefix doubling, as in suffix-array construction: the rank of a 2k-gram is the rank of the
    pair (rank of its first k-gram, rank of its last k-gram), and an n-gram is the pair of its
    two overlapping k-grams for the largest power of two k <= n. About log2(n) sorts of arrays
    of len(ids) integers: no hashing (so no collisions to craft), no tuples.
    """
    rank = ids
    width = 1
    while width * 2 <= n:
        rank = _pair_rank(rank[:-width], rank[width:])
        width *= 2
    if width < n:
        shift = n - width
        rank = _pair_rank(rank[:-shift], rank[shift:])
    return int(np.unique(rank).size)


def _pair_rank(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Dense ranks of the pairs (first[i], second[i]); both hold ranks below len(first) + n."""
    key = first * (int(second.max()) + 1) + second  # < 2**44 for any completion under the size cap
    return np.unique(key, return_inverse=True)[1].reshape(-1)


def words(text: str) -> Iterator[str]:
    """Case-folded whitespace-separated words, one at a time (no list of a whole completion)."""
    return (m.group(0).casefold() for m in _WORD.finditer(text))


@reward(
    "repetition.ngram",
    kind="style",
    description=(
        "n-gram repetition penalty in [max_penalty, 0]: max_penalty * (1 - unique/total n-grams). "
        "0 for completions shorter than n. Words are case-folded and split on whitespace."
    ),
    params=[
        Param("n", int, 3, "n-gram size", min=1, max=64),
        Param(
            "unit",
            str,
            "words",
            "'words' (case-folded, whitespace-separated) or 'tokens' (completion_ids; None when no ids are given)",
            choices=["words", "tokens"],
        ),
        Param("max_penalty", float, -1.0, "the score of a completion made of one repeated n-gram (<= 0)", min=-100.0, max=0.0),
    ],
    value_range=(float("-inf"), 0.0),
)
def ngram_repetition(sample: Sample, n: int, unit: str, max_penalty: float) -> Scored:
    if unit == "tokens":
        if sample.completion_ids is None:
            return Scored(None, {"why": "unit = 'tokens' but no completion token ids were given"})
        items: Iterable[Hashable] = sample.completion_ids
        count = len(sample.completion_ids)
    else:
        items = words(sample.completion)
        count = sum(1 for _ in _WORD.finditer(sample.completion))
    fraction = repeated_fraction(items, n)
    details = {"n": n, "unit": unit, "ngrams": max(0, count - n + 1), "repeated_fraction": round(fraction, 4)}
    return Scored(max_penalty * fraction + 0.0, details)  # + 0.0: never -0.0


@hookimpl
def register_rewards(register):
    register(ngram_repetition)
