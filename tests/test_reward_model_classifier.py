"""reward_model.classifier on tiny classifiers built in code: batching, truncation, chat templates,
transforms, device selection, the per-process cache and the metric name."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from grpo_rewards.plugins.reward_model import classifier as clf  # noqa: E402
from grpo_rewards.plugins.reward_model.loading import resolve_device  # noqa: E402

from grpo_rewards import Sample, parse_reward_set  # noqa: E402

from .reward_model_support import build_bert_classifier, build_llama_classifier  # noqa: E402

pytestmark = pytest.mark.train

DEFAULTS = {p.name: p.default for p in clf.classifier_reward.reward_spec.params}


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> str:
    return str(build_bert_classifier(tmp_path_factory.mktemp("bert")))


@pytest.fixture(scope="module")
def llama(tmp_path_factory) -> str:
    return str(build_llama_classifier(tmp_path_factory.mktemp("llama")))


def score(samples, **params):
    return [scored.value for scored in clf.classifier_reward(samples, **{**DEFAULTS, "device": "cpu", **params})]


def reward_fn(**params):
    return parse_reward_set([{"use": "reward_model.classifier", "params": {"device": "cpu", **params}}]).functions()[0]


SAMPLES = [Sample("word " * k + "end", f"prompt {k}: ") for k in (1, 7, 3, 20, 12, 2, 9)]


@pytest.mark.parametrize("which", ["bert", "llama"])
def test_batched_scores_equal_one_by_one(which, request):
    model = request.getfixturevalue(which)
    batched = score(SAMPLES, model=model, batch_size=3)
    single = [score([s], model=model, batch_size=1)[0] for s in SAMPLES]
    assert batched == pytest.approx(single, abs=1e-4)
    assert len(set(round(v, 3) for v in batched)) == len(SAMPLES)  # the texts really score differently


def test_left_truncation_keeps_the_completion_end(bert):
    tail = " ".join(f"w{i}" for i in range(80))  # longer than max_length on its own
    a, b = Sample(tail, "first prompt "), Sample(tail, "an entirely different prompt ")
    short_a, short_b = Sample("end", "first prompt "), Sample("end", "an entirely different prompt ")
    assert score([a, b], model=bert, max_length=32) == pytest.approx([score([a], model=bert, max_length=32)[0]] * 2)
    assert score([short_a], model=bert)[0] != pytest.approx(score([short_b], model=bert)[0])


def test_right_truncation_keeps_the_start(bert):
    head = " ".join(f"w{i}" for i in range(80))
    a, b = Sample(" one ending", head), Sample(" a quite different ending", head)
    left = score([a, b], model=bert, max_length=32, truncation_side="right")
    assert left[0] == pytest.approx(left[1])
    assert score([a], model=bert, max_length=32)[0] != pytest.approx(score([b], model=bert, max_length=32)[0])


def test_rows_longer_than_the_model_positions_are_truncated_not_fatal(bert):
    fn = reward_fn(model=bert, max_length=64)  # the tiny BERT has 64 positions
    run = fn.run_trl(prompts=["p"], completions=["word " * 500])
    values = run.values
    assert values[0] is not None and run.stats.errors == 0


def test_transforms_and_labels(bert):
    sample = [SAMPLES[1]]
    with torch.inference_mode():
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(bert)
        logits = AutoModelForSequenceClassification.from_pretrained(bert)(
            **tokenizer([sample[0].prompt + sample[0].completion], return_tensors="pt")
        ).logits[0]
    assert score(sample, model=bert)[0] == pytest.approx(float(logits[0]), abs=1e-5)
    assert score(sample, model=bert, label="good")[0] == pytest.approx(float(logits[1]), abs=1e-5)
    assert score(sample, model=bert, transform="sigmoid", label="1")[0] == pytest.approx(
        1 / (1 + math.exp(-float(logits[1]))), abs=1e-5
    )
    assert score(sample, model=bert, transform="softmax", label="good")[0] == pytest.approx(
        float(logits.softmax(-1)[1]), abs=1e-5
    )


@pytest.mark.parametrize(
    "params, message",
    [
        ({"transform": "softmax"}, "needs `label`"),
        ({"label": "excellent"}, "neither one of the model's labels ['bad', 'good']"),
        ({"label": "5"}, "out of range"),
        ({"device": "gpu"}, "device 'gpu' is not one of"),
    ],
)
def test_configuration_mistakes_are_counted_errors_with_a_clear_message(bert, params, message):
    fn = reward_fn(**{"model": bert, **params})
    run = fn.run_trl(prompts=["p", "q"], completions=["a", "b"])
    assert run.values == [None, None]
    assert run.stats.errors == 1 and message in run.stats.first_error


def test_a_missing_model_is_a_config_error_before_anything_loads(tmp_path):
    from grpo_rewards import ConfigError, load_reward_set

    config = tmp_path / "rm.toml"
    config.write_text('[[rewards]]\nuse = "reward_model.classifier"\n')
    with pytest.raises(ConfigError) as info:
        load_reward_set(config)
    assert str(info.value) == (
        f"{config}: rewards[0] (use = 'reward_model.classifier'): key 'params.model': required: hub id or local folder of the reward model"
    )


def test_chat_rows_use_the_reward_models_chat_template(llama):
    prompt = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}]
    completion = [{"role": "assistant", "content": "4"}]
    fn = reward_fn(model=llama)
    chat_score = fn.score(prompts=[prompt], completions=[completion])[0]

    tokenizer = clf.load_tokenizer(llama, "left").tokenizer
    text = tokenizer.apply_chat_template(prompt + completion, tokenize=False)
    assert text.startswith("<|system|> Be brief. <|end|>")
    net, _ = clf.load_model(llama, "cpu", "auto")
    with torch.inference_mode():
        expected = net(**tokenizer([text], add_special_tokens=False, return_tensors="pt")).logits[0, 0]
    assert chat_score == pytest.approx(float(expected), abs=1e-5)

    # plain rows are concatenated; 'never' treats chat rows as plain text (last user message + reply)
    plain = reward_fn(model=llama).score(prompts=["What is 2+2?"], completions=["4"])[0]
    never = reward_fn(model=llama, chat_template="never").score(prompts=[prompt], completions=[completion])[0]
    assert never == pytest.approx(plain) and chat_score != pytest.approx(plain)


def test_chat_template_always_wraps_plain_rows_and_needs_a_template(llama, bert):
    texts = clf.model_texts([Sample("4", "What is 2+2?")], clf.load_tokenizer(llama, "left").tokenizer, "always", False)
    assert texts == [("<|user|> What is 2+2? <|end|> <|assistant|> 4 <|end|> ", None, False)]
    fn = reward_fn(model=bert, chat_template="always")
    run = fn.run_trl(prompts=["q"], completions=["a"])
    assert run.values == [None]
    assert "has no chat template" in run.stats.first_error


def test_text_pair_passes_prompt_and_completion_as_two_segments(bert):
    tokenizer = clf.load_tokenizer(bert, "left")
    (features,) = clf.encode(tokenizer, clf.model_texts([Sample("answer", "question")], tokenizer.tokenizer, "auto", True), 64)
    assert tokenizer.tokenizer.decode(features["input_ids"]) == "[CLS] question [SEP] answer [SEP]"
    assert features["token_type_ids"] == [0, 0, 0, 1, 1]


def test_device_selection_on_cpu(bert):
    if not torch.cuda.is_available():
        assert resolve_device("auto") == "cpu"
        fn = reward_fn(model=bert, device="cuda")
        run = fn.run_trl(prompts=["p"], completions=["c"])
        assert run.values == [None]
        assert "torch sees no CUDA device" in run.stats.first_error
    net, device = clf.load_model(bert, "cpu", "auto")
    assert device == "cpu" and {p.device.type for p in net.parameters()} == {"cpu"}
    assert {p.dtype for p in net.parameters()} == {torch.float32}
    half, _ = clf.load_model(bert, "cpu", "bfloat16")
    assert {p.dtype for p in half.parameters()} == {torch.bfloat16}


def test_model_is_loaded_once_per_process_and_reused(bert):
    first, _ = clf.load_model(bert, "cpu", "auto")
    reward_fn(model=bert, batch_size=2).score(prompts=["p"], completions=["c"])
    reward_fn(model=bert, transform="sigmoid").score(prompts=["p"], completions=["c"])
    assert clf.load_model(bert, "cpu", "auto")[0] is first
    assert clf.load_model(bert, "cpu", "bfloat16")[0] is not first  # another dtype is another model


def test_metric_name_is_the_reward_set_entry_name(bert):
    from trl.trainer.utils import get_callable_name

    reward_set = parse_reward_set(
        [
            {"use": "reward_model.classifier", "name": "helpfulness", "params": {"model": bert}},
            {"use": "reward_model.classifier", "params": {"model": bert, "transform": "sigmoid"}},
        ]
    )
    functions, _ = reward_set.to_trl()
    assert [get_callable_name(f) for f in functions] == ["helpfulness", "reward_model.classifier"]
