"""``reward_model.classifier``: a sequence-classification reward model scoring prompt + completion.

Works with any ``AutoModelForSequenceClassification`` (hub id or local folder): single-logit reward
models (Skywork-Reward, the OpenAssistant DeBERTa ones), or multi-label classifiers where one
label's probability is the reward. Chat-style rows go through the reward model's own chat template,
as the model was trained; plain rows are concatenated (or passed as a text pair, for cross-encoders).
Rows are tokenized once, sorted by length and scored in batches under ``torch.inference_mode``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from grpo_rewards import Param, Sample, Scored, reward

from .loading import DEVICE_HELP, DTYPES, LoadedTokenizer, cached, padded_batches, resolve_device, resolve_dtype

TRANSFORMS = ["logit", "sigmoid", "softmax"]
CHAT_TEMPLATE_MODES = ["auto", "always", "never"]


def load_model(model: str, device: str, dtype: str) -> tuple[Any, str]:
    """The classifier on its device, loaded once per (model, device, dtype) in this process."""
    resolved = resolve_device(device)

    def load() -> Any:
        from transformers import AutoModelForSequenceClassification

        net = AutoModelForSequenceClassification.from_pretrained(model, dtype=resolve_dtype(dtype, resolved))
        return net.to(resolved).eval()

    return cached(("classifier", model, resolved, dtype), load), resolved


def load_tokenizer(model: str, truncation_side: str) -> LoadedTokenizer:
    """The model's tokenizer, right-padded (positions stay those of the unpadded text)."""

    def load() -> LoadedTokenizer:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model)
        tokenizer.padding_side = "right"
        tokenizer.truncation_side = truncation_side
        if tokenizer.pad_token is None:
            if tokenizer.eos_token is None:
                raise ValueError(f"the tokenizer of {model!r} has neither a pad nor an eos token to pad batches with")
            tokenizer.pad_token = tokenizer.eos_token
        return LoadedTokenizer(tokenizer)

    return cached(("tokenizer", model, truncation_side), load)


def label_index(config: Any, label: str | None, transform: str) -> int:
    """Which logit is the reward: a label name or index; the first logit (TRL's choice) by default."""
    count = int(config.num_labels)
    names = {str(k): int(v) for k, v in (getattr(config, "label2id", None) or {}).items()}
    if label is None:
        if transform == "softmax":
            raise ValueError(f"transform 'softmax' needs `label`: one of {sorted(names)} or an index 0..{count - 1}")
        return 0
    if label in names:
        index = names[label]
    elif re.fullmatch(r"\d+", label):
        index = int(label)
    else:
        raise ValueError(f"label {label!r} is neither one of the model's labels {sorted(names)} nor an index")
    if not 0 <= index < count:
        raise ValueError(f"label index {index} is out of range: the model has {count} label(s)")
    if transform == "softmax" and count < 2:
        raise ValueError("transform 'softmax' needs a model with at least 2 labels; use 'logit' or 'sigmoid'")
    return index


def model_texts(
    samples: Sequence[Sample], tokenizer: Any, chat_template: str, text_pair: bool
) -> list[tuple[str, str | None, bool]]:
    """What the reward model reads for each sample: (text, second text or None, add special tokens).

    A chat template already writes the model's special tokens, so those rows are tokenized without
    adding more; plain rows get the tokenizer's usual special tokens ([CLS]/[SEP], BOS).
    """
    has_template = bool(getattr(tokenizer, "chat_template", None))
    if chat_template == "always" and not has_template:
        raise ValueError("chat_template = 'always', but the reward model's tokenizer has no chat template")
    out: list[tuple[str, str | None, bool]] = []
    for sample in samples:
        messages = sample.messages
        if has_template and (chat_template == "always" or (chat_template == "auto" and messages is not None)):
            if messages is None:
                messages = ([{"role": "user", "content": sample.prompt}] if sample.prompt else []) + [
                    {"role": "assistant", "content": sample.completion}
                ]
            out.append((tokenizer.apply_chat_template(messages, tokenize=False), None, False))
        elif text_pair:
            out.append((sample.prompt, sample.completion, True))
        else:
            out.append((sample.prompt + sample.completion, None, True))
    return out


def encode(loaded: LoadedTokenizer, texts: list[tuple[str, str | None, bool]], max_length: int) -> list[dict[str, list[int]]]:
    """Token ids per row, truncated to ``max_length`` on the tokenizer's truncation side."""
    rows: list[dict[str, list[int]] | None] = [None] * len(texts)
    groups: dict[tuple[bool, bool], list[int]] = {}
    for i, (_, second, special) in enumerate(texts):
        groups.setdefault((second is not None, special), []).append(i)
    with loaded.lock:
        for (paired, special), indices in groups.items():
            encoded = loaded.tokenizer(
                [texts[i][0] for i in indices],
                [texts[i][1] for i in indices] if paired else None,
                add_special_tokens=special,
                truncation="longest_first",
                max_length=max_length,
            )
            for j, i in enumerate(indices):
                rows[i] = {key: values[j] for key, values in encoded.items()}
    return rows  # type: ignore[return-value]


def forward_scores(
    net: Any,
    loaded: LoadedTokenizer,
    features: list[dict[str, list[int]]],
    device: str,
    batch_size: int,
    transform: str,
    index: int,
) -> list[float]:
    """Scores of every row, in input order, batching rows of similar length together."""
    import torch

    scores: list[float] = [0.0] * len(features)
    for batch, inputs in padded_batches(loaded, features, batch_size, device):
        with torch.inference_mode():
            logits = net(**inputs).logits.float()
        if transform == "softmax":
            values = logits.softmax(dim=-1)[:, index]
        else:
            values = logits[:, index]
            if transform == "sigmoid":
                values = values.sigmoid()
        for i, value in zip(batch, values.cpu().tolist()):
            scores[i] = value
    return scores


@reward(
    "reward_model.classifier",
    kind="content",
    description=(
        "A sequence-classification reward model (any AutoModelForSequenceClassification: hub id or "
        "local folder) scoring prompt + completion. Chat rows use the model's chat template; plain "
        "rows are concatenated. transform: the raw logit, its sigmoid, or a label's softmax "
        "probability. Loaded once per process; batched; async under TRL."
    ),
    params=[
        Param("model", str, None, "hub id or local folder of the reward model", required=True),
        Param("batch_size", int, 16, "rows per forward pass", min=1),
        Param("max_length", int, 1024, "tokens per row; longer rows are truncated on `truncation_side`", min=2),
        Param(
            "truncation_side",
            str,
            "left",
            "'left' drops the start of the prompt (keeps the completion), 'right' drops the end",
            choices=["left", "right"],
        ),
        Param("device", str, "auto", DEVICE_HELP),
        Param(
            "dtype", str, "auto", "'auto' (bfloat16 on a GPU, float32 on CPU), 'float32', 'float16' or 'bfloat16'", choices=DTYPES
        ),
        Param(
            "transform",
            str,
            "logit",
            "'logit' (raw), 'sigmoid' (in [0, 1]) or 'softmax' (the probability of `label`)",
            choices=TRANSFORMS,
        ),
        Param(
            "label",
            str,
            None,
            "which output is the reward: a label name from the model's config or an "
            "index as a string (default: the first logit; required for 'softmax')",
            nullable=True,
        ),
        Param(
            "chat_template",
            str,
            "auto",
            "'auto': use the tokenizer's chat template for chat rows when it "
            "has one; 'always': also wrap plain rows as user/assistant; 'never': plain text",
            choices=CHAT_TEMPLATE_MODES,
        ),
        Param(
            "text_pair",
            bool,
            False,
            "plain rows: pass (prompt, completion) as a text pair (cross-encoders, "
            "e.g. OpenAssistant's DeBERTa reward models) instead of concatenating",
        ),
    ],
    batched=True,
    concurrent=True,
    timeout=None,  # a forward pass is bounded by max_length; set `timeout` in the config to cap it
)
def classifier_reward(
    samples: list[Sample],
    model: str,
    batch_size: int,
    max_length: int,
    truncation_side: str,
    device: str,
    dtype: str,
    transform: str,
    label: str | None,
    chat_template: str,
    text_pair: bool,
) -> list[Scored]:
    if not samples:
        return []
    net, resolved = load_model(model, device, dtype)
    loaded = load_tokenizer(model, truncation_side)
    if net.config.pad_token_id is None:  # batches of more than one row need it (e.g. Llama)
        net.config.pad_token_id = loaded.tokenizer.pad_token_id
    index = label_index(net.config, label, transform)
    texts = model_texts(samples, loaded.tokenizer, chat_template, text_pair)
    features = encode(loaded, texts, max_length)
    scores = forward_scores(net, loaded, features, resolved, batch_size, transform, index)
    return [
        Scored(value, read_details(text, feature, max_length, index, transform))
        for value, text, feature in zip(scores, texts, features)
    ]


def read_details(
    text: tuple[str, str | None, bool], feature: Mapping[str, list[int]], max_length: int, index: int, transform: str
) -> dict[str, Any]:
    """What explain shows beside a reward model's score: what it read (chat template, text pair or
    prompt + completion), how many tokens, whether they reached max_length (so may have been cut), which logit."""
    tokens = len(feature.get("input_ids", ()))
    read = "text pair" if text[1] is not None else ("chat template" if not text[2] else "prompt + completion")
    return {"read": read, "tokens": tokens, "at_max_length": tokens >= max_length, "logit": index, "transform": transform}
