"""Where training runs: CUDA with bf16 (or fp16) when a GPU is there, the CPU in float32 otherwise.

TRL 1.16's GRPOConfig turns bf16 on by default, even on a CPU, and TrainingArguments dropped
``no_cuda`` for ``use_cpu``: both are settled here once, from what the machine actually has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DeviceChoice:
    """The precision and placement settings for TrainingArguments, and the weights' dtype."""

    use_cpu: bool
    bf16: bool
    fp16: bool
    dtype: str  # float32, bfloat16 or float16: what the model weights are loaded as
    description: str

    def training_kwargs(self) -> dict[str, Any]:
        return {"use_cpu": self.use_cpu, "bf16": self.bf16, "fp16": self.fp16}


def choose_device(requested_dtype: str = "auto", grpo: Mapping[str, Any] | None = None) -> DeviceChoice:
    """Pick CUDA + bf16 when available (fp16 on GPUs without bf16), else the CPU in float32.

    Explicit ``use_cpu``/``bf16``/``fp16`` in ``[grpo]`` win over the automatic choice.
    """
    import torch

    grpo = grpo or {}
    cuda = torch.cuda.is_available() and not grpo.get("use_cpu", False)
    if cuda:
        bf16_ok = torch.cuda.is_bf16_supported()
        bf16 = grpo.get("bf16", bf16_ok)
        fp16 = grpo.get("fp16", not bf16 and not bf16_ok)
        name = torch.cuda.get_device_name(0)
        count = torch.cuda.device_count()
        description = f"{count} x {name}" if count > 1 else name
    else:
        bf16 = bool(grpo.get("bf16", False))
        fp16 = bool(grpo.get("fp16", False))
        description = "CPU"
    if requested_dtype == "auto":
        dtype = "bfloat16" if cuda and bf16 else "float32"
    else:
        dtype = requested_dtype
    mode = "bf16" if bf16 else "fp16" if fp16 else "fp32"
    return DeviceChoice(
        use_cpu=not cuda,
        bf16=bool(bf16),
        fp16=bool(fp16),
        dtype=dtype,
        description=f"{description}, {mode} training, {dtype} weights",
    )
