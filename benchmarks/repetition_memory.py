"""Peak memory of ``repetition.ngram`` on one long completion: the tuple set it used to keep (as
of 77be7b5) beside the ranking it uses now, measured side by side with tracemalloc (numpy reports
its buffers to it). A benchmark, not a test: the figures go in the README.

    python benchmarks/repetition_memory.py            # 2 MB of words, n = 64 and n = 3
    python benchmarks/repetition_memory.py --chars 500000 --n 8
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from collections import deque
from collections.abc import Callable, Iterable

from grpo_rewards.plugins.repetition import repeated_fraction, words


def tuple_set_fraction(items: Iterable[object], n: int) -> float:
    """The implementation of 77be7b5: a set of n-tuples (kept here only to be measured)."""
    window: deque[object] = deque(maxlen=n)
    seen: set[tuple[object, ...]] = set()
    total = 0
    for item in items:
        window.append(item)
        if len(window) == n:
            total += 1
            seen.add(tuple(window))
    return 1.0 - len(seen) / total if total else 0.0


def completion(chars: int, seed: int = 0) -> str:
    """Words drawn from a 5,000-word vocabulary: few n-grams repeat, the worst case for a set."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(5000)]
    parts, size = [], 0
    while size < chars:
        word = rng.choice(vocabulary)
        parts.append(word)
        size += len(word) + 1
    return " ".join(parts)[:chars]


def measure(fn: Callable[[Iterable[object], int], float], text: str, n: int) -> tuple[float, float, float]:
    tracemalloc.start()
    start = time.perf_counter()
    value = fn(words(text), n)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return value, peak / 2**20, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chars", type=int, default=2_000_000)
    parser.add_argument("--n", type=int, nargs="*", default=[64, 3])
    args = parser.parse_args()
    text = completion(args.chars)
    print(f"{len(text):,} characters, {sum(1 for _ in words(text)):,} words")
    print("| n | tuple set (77be7b5): peak MiB, s | ranking (now): peak MiB, s | same value |")
    print("|---:|---:|---:|:---:|")
    for n in args.n:
        old_value, old_peak, old_seconds = measure(tuple_set_fraction, text, n)
        new_value, new_peak, new_seconds = measure(repeated_fraction, text, n)
        same = "yes" if abs(old_value - new_value) < 1e-12 else f"NO ({old_value} vs {new_value})"
        print(f"| {n} | {old_peak:,.1f}, {old_seconds:.2f} | {new_peak:,.1f}, {new_seconds:.2f} | {same} |")


if __name__ == "__main__":
    main()
