"""Device and dtype resolution, and the per-process cache that loads each model once.

torch is imported inside these functions only, so that importing the plugin stays light. A model
is keyed by what it was loaded from and where it lives (model, resolved device, dtype): the reward
is rebuilt and called many times per training run, but the weights are read once.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

DTYPES = ["auto", "float32", "float16", "bfloat16"]
DEVICE_HELP = "'auto' (this process's CUDA device when there is one, else MPS, else CPU), 'cpu', 'cuda' or 'cuda:N'"
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

_cache: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


def resolve_device(device: str) -> str:
    """The concrete torch device for a ``device`` parameter; a clear error when it is not there."""
    import torch

    if not _DEVICE_PATTERN.match(device):
        raise ValueError(f"device {device!r} is not one of {DEVICE_HELP}")
    if device == "auto":
        if torch.cuda.is_available():
            # Under accelerate/torchrun every process scores on its own GPU.
            local_rank = os.environ.get("LOCAL_RANK")
            index = int(local_rank) if local_rank and local_rank.isdigit() else torch.cuda.current_device()
            return f"cuda:{index % torch.cuda.device_count()}"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device {device!r} was asked for, but torch sees no CUDA device "
                f"(torch {torch.__version__}); use device = 'auto' or 'cpu'"
            )
        index = int(device.split(":")[1]) if ":" in device else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise RuntimeError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) here")
        return f"cuda:{index}"
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError("device 'mps' was asked for, but MPS is not available")
    return device


def resolve_dtype(dtype: str, device: str) -> Any:
    """The torch dtype: 'auto' is bfloat16 on a GPU that supports it (float16 otherwise), float32 elsewhere."""
    import torch

    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if dtype == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return getattr(torch, dtype)


def cached(key: tuple[Any, ...], load: Callable[[], T]) -> T:
    """``load()`` once per key and process; concurrent first calls wait for one load."""
    value = _cache.get(key)
    if value is not None:
        return value
    with _lock:
        value = _cache.get(key)
        if value is None:
            value = load()
            _cache[key] = value
    return value


def clear_cache() -> None:
    """Forget every loaded model (frees the memory once nothing else holds them)."""
    with _lock:
        _cache.clear()


def length_sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Row indices in batches of similar length, longest first: least padding, and an
    out-of-memory error (if any) shows up on the first batch rather than the last."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@dataclass
class LoadedTokenizer:
    """A tokenizer with its own lock: a fast tokenizer's truncation settings are shared state."""

    tokenizer: Any
    lock: threading.Lock = field(default_factory=threading.Lock)


def padded_batches(
    loaded: LoadedTokenizer,
    features: list[dict[str, list[int]]],
    batch_size: int,
    device: str,
) -> Iterator[tuple[list[int], dict[str, Any]]]:
    """(row indices, padded model inputs on ``device``) for every length-sorted batch of encoded rows."""
    for batch in length_sorted_batches([len(f["input_ids"]) for f in features], batch_size):
        with loaded.lock:
            padded = loaded.tokenizer.pad([features[i] for i in batch], padding=True, return_tensors="pt")
        yield batch, {key: value.to(device) for key, value in padded.items()}
