"""repetition.ngram: exact penalties for looping completions, on words and on token ids."""

from __future__ import annotations

import pytest
from grpo_rewards.plugins.repetition import repeated_fraction, words

from grpo_rewards import Sample
from grpo_rewards.registry import get_registry


def score(completion: str, ids=None, **params) -> float | None:
    fn = get_registry().get("repetition.ngram").build(params)
    return fn.score_samples([Sample(completion, completion_ids=ids)])[0]


@pytest.mark.parametrize(
    "completion, n, expected",
    [
        ("The cat sat on the mat.", 3, 0.0),
        ("and then and then and then and then", 3, -(1 - 2 / 6)),
        ("I think the answer is 5. I think the answer is 5. I think the answer is 5.", 3, -(1 - 6 / 16)),
        ("The the THE tHe", 1, -0.75),  # case-folded
        ("The the THE tHe", 2, -(1 - 1 / 3)),
        ("Natalia sold 48 clips.", 5, 0.0),  # shorter than n: nothing to repeat
        ("", 3, 0.0),
        ("   \n ", 1, 0.0),
        ("日本 日本 日本", 1, -(1 - 1 / 3)),
        ("Wait, let me re-check.\nWait, let me re-check.", 4, -(1 - 4 / 5)),
    ],
)
def test_word_ngrams(completion, n, expected):
    assert score(completion, n=n) == pytest.approx(expected, abs=1e-12)
    assert score(completion, n=n, max_penalty=-0.5) == pytest.approx(expected / 2, abs=1e-12)


def test_no_repetition_is_exactly_zero_not_negative_zero():
    value = score("every word here is different")
    assert value == 0.0 and str(value) == "0.0"


def test_huge_looping_completion():
    assert score("word " * 200_000) == pytest.approx(-(1 - 1 / 199_998))


def test_token_ids():
    assert score("ignored", ids=[1, 2, 3, 1, 2, 3], n=2, unit="tokens") == pytest.approx(-0.4)
    assert score("ignored", ids=[7, 8, 9], n=2, unit="tokens") == 0.0
    assert score("ignored", ids=[], n=2, unit="tokens") == 0.0
    assert score("has words but no ids", n=2, unit="tokens") is None


def test_repeated_fraction():
    assert repeated_fraction([], 1) == 0.0
    assert repeated_fraction(["a"] * 10, 1) == 0.9
    assert repeated_fraction(list("abcabc"), 3) == 0.25


def test_params_are_validated():
    spec = get_registry().get("repetition.ngram")
    for bad in ({"max_penalty": 0.5}, {"n": 0}, {"unit": "chars"}):
        with pytest.raises(ValueError):
            spec.build(bad)


def test_trl_convention_with_chat_completions_and_token_ids():
    fn = get_registry().get("repetition.ngram").build({"n": 2, "unit": "tokens"})
    out = fn(
        prompts=[[{"role": "user", "content": "Count."}]] * 2,
        completions=[[{"role": "assistant", "content": "1 2 1 2"}], [{"role": "assistant", "content": "1 2 3"}]],
        completion_ids=[[5, 6, 5, 6], [5, 6, 7]],
        answer=["x", "y"],
    )
    assert out == [pytest.approx(-(1 - 2 / 3)), 0.0]
    words = get_registry().get("repetition.ngram").build({"n": 1})
    assert words(prompts=["p"], completions=[[{"role": "assistant", "content": "no no no no"}]]) == [-0.75]


def _brute_force(items, n):
    grams = [tuple(items[i : i + n]) for i in range(len(items) - n + 1)]
    return 1.0 - len(set(grams)) / len(grams) if grams else 0.0


@pytest.mark.parametrize("small", [0, 1 << 16])  # 0: every input goes through the ranking
def test_the_ranked_count_is_exact_against_a_brute_force_count(monkeypatch, small):
    import random

    from grpo_rewards.plugins import repetition

    monkeypatch.setattr(repetition, "SMALL", small)
    rng = random.Random(7)
    for _ in range(300):
        alphabet = rng.randint(1, 6)
        items = [rng.randrange(alphabet) for _ in range(rng.randint(0, 90))]
        n = rng.randint(1, 64)
        assert repeated_fraction(items, n) == pytest.approx(_brute_force(items, n), abs=1e-12), (items, n)


def _distinct_words(count: int) -> str:
    return " ".join(f"w{i}" for i in range(count))


@pytest.mark.parametrize(
    "n, unit",
    [(64, "words"), (16, "words"), (64, "tokens")],  # the case (n = 64 on a long completion), and two more
)
def test_memory_per_ngram_stays_small_whatever_n(n, unit):
    """Memory, not time: tracemalloc's peak is deterministic for a given input. A set of n-tuples
    took ~650 bytes per 64-gram (713 MB on a 2 MB completion); the ranking takes under 100."""
    import random
    import tracemalloc

    count = 50_000
    if unit == "words":
        items = None
        text = _distinct_words(count)
    else:
        rng = random.Random(3)
        items = [rng.randrange(1_000_000) for _ in range(count)]
    tracemalloc.start()
    try:
        repeated_fraction(words(text) if items is None else items, n)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / (count - n + 1) < 120, f"{peak / (count - n + 1):.0f} bytes per {n}-gram"
