"""A transformers causal LM answering chat completions, for the local judge server (:mod:`.local_server`).

Two ways to answer:

- free generation (greedy at temperature 0, sampled above it), with the log-probs of the tokens
  written when asked;
- a **choice**: the answer must be one of a given list of strings (vLLM's ``guided_choice``). The
  choices are tokenised into a prefix tree and decoded token by token, each step restricted to the
  tree's branches (the most likely one at temperature 0, sampled above it); runs of forced tokens
  (the verdict line's fixed head and nonce) go through the model in one forward pass. The log-probs
  reported are the model's own, and at a branching step ``top_logprobs`` lists every allowed branch,
  so ``P(yes) / (P(yes) + P(no))`` is the model's choice between the allowed verdicts.

torch and transformers are imported inside the functions only. One lock per model: requests are
answered one at a time (a 135M model on a CPU gains little from batching small requests).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpo_rewards.assets import ModelSourceError, builtin_gguf

# builtin name -> (package holding the file, GGUF file name); the same files trainer/model.py names.
DEFAULT_MODEL = "builtin:smollm2"
MAX_PROMPT_TOKENS = 8192  # longer prompts are refused, not truncated: a cut prompt loses the verdict format
MAX_CHOICES = 4096


class LocalModelError(ValueError):
    """A model name that names nothing loadable, or a request the model cannot answer."""


def locate(name: str) -> tuple[str, str | None]:
    """``(folder or hub id, gguf file name or None)`` for ``builtin:NAME``, a GGUF file, a folder or a hub id."""
    if name.startswith("builtin:"):
        try:
            path = builtin_gguf(name.split(":", 1)[1])
        except ModelSourceError as exc:
            raise LocalModelError(str(exc)) from None
        return str(path.parent), path.name
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return str(path.parent), path.name
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise LocalModelError(f"{path} is a folder without config.json: not a saved model")
        return str(path), None
    if name.endswith(".gguf") or name.startswith((".", "/", "~")) or name.count("/") != 1:
        raise LocalModelError(
            f"no such model file or folder: {name!r} (expected builtin:smollm2, a folder, a .gguf file or org/name)"
        )
    return name, None  # a hub id: loads only where the hub or its cache is reachable


@dataclass
class Answer:
    text: str
    prompt_tokens: int
    completion_tokens: int
    logprobs: list[dict[str, Any]] | None = None
    finish_reason: str = "stop"


@dataclass
class _Node:
    children: dict[int, _Node] = field(default_factory=dict)
    end: bool = False


class LocalModel:
    """One loaded model and tokenizer; :meth:`answer` is safe to call from several threads."""

    def __init__(self, name: str, device: str = "auto") -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder, gguf = locate(name)
        kwargs = {"gguf_file": gguf} if gguf else {}
        self.name = name
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        self.tokenizer = AutoTokenizer.from_pretrained(folder, **kwargs)
        self.model = AutoModelForCausalLM.from_pretrained(folder, **kwargs).to(self.device).eval()
        self.lock = threading.Lock()

    def _prompt_ids(self, messages: Sequence[Mapping[str, str]]) -> list[int]:
        ids = self.tokenizer.apply_chat_template([dict(m) for m in messages], add_generation_prompt=True, tokenize=True)
        if isinstance(ids, Mapping) or hasattr(ids, "keys"):  # a BatchEncoding in newer transformers
            ids = ids["input_ids"]
        ids = list(ids)
        if len(ids) > MAX_PROMPT_TOKENS:
            raise LocalModelError(f"the prompt has {len(ids)} tokens; this server takes at most {MAX_PROMPT_TOKENS}")
        return ids

    def answer(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        choices: Sequence[str] | None = None,
        top_logprobs: int | None = None,
        seed: int | None = None,
    ) -> Answer:
        """The completion of ``messages``; ``top_logprobs`` (0-20) asks for the tokens' log-probs."""
        import torch

        with self.lock, torch.inference_mode():
            generator = torch.Generator(device="cpu")
            generator.manual_seed(seed if seed is not None else int(torch.randint(0, 2**31 - 1, ()).item()))
            prompt = self._prompt_ids(messages)
            if choices:
                return self._choose(prompt, choices, temperature, top_logprobs, generator)
            return self._generate(prompt, max_tokens, temperature, top_logprobs, generator)

    # -- a choice ----------------------------------------------------------------------------------

    def _tree(self, choices: Sequence[str]) -> _Node:
        root = _Node()
        for choice in choices:
            node = root
            for token in self.tokenizer(choice, add_special_tokens=False)["input_ids"]:
                node = node.children.setdefault(int(token), _Node())
            node.end = True
        return root

    def _choose(self, prompt: list[int], choices: Sequence[str], temperature: float, top: int | None, generator: Any) -> Answer:
        import torch

        eos = self.tokenizer.eos_token_id
        node = self._tree(choices)
        chosen: list[int] = []
        entries: list[dict[str, Any]] = []
        past = None
        pending = list(prompt)
        while True:
            forced: list[int] = []  # follow single branches without asking the model which way
            while len(node.children) == 1 and not node.end:
                token, node = next(iter(node.children.items()))
                forced.append(token)
            out = self.model(torch.tensor([pending + forced], device=self.device), past_key_values=past, use_cache=True)
            past = out.past_key_values
            logprobs = torch.log_softmax(out.logits[0].float(), dim=-1)
            offset = len(pending) - 1  # logits at position i predict token i + 1
            for k, token in enumerate(forced):
                entries.append(self._entry(token, logprobs[offset + k], [token], top))
            chosen += forced
            options = list(node.children) + ([eos] if node.end and node.children else [])
            if not options:
                break
            step = logprobs[-1]
            scores = step[options]
            if temperature > 0:
                probs = torch.softmax(scores / temperature, dim=-1).cpu()
                pick = options[int(torch.multinomial(probs, 1, generator=generator).item())]
            else:
                pick = options[int(torch.argmax(scores).item())]
            entries.append(self._entry(pick, step, options, top))
            if pick == eos and node.end:
                break
            chosen.append(pick)
            node = node.children[pick]
            pending = [pick]
        text = self.tokenizer.decode(chosen, skip_special_tokens=True)
        return Answer(text, len(prompt), len(chosen), entries if top is not None else None)

    def _entry(self, token: int, logprobs: Any, allowed: Sequence[int], top: int | None) -> dict[str, Any]:
        """One token's log-prob; the alternatives are the allowed branches first, then the model's best."""
        entry: dict[str, Any] = {"token": self._piece(token), "logprob": _finite(logprobs[token])}
        if top:
            listed = sorted(allowed, key=lambda t: -float(logprobs[t]))
            best = [int(t) for t in logprobs.topk(top).indices.tolist() if int(t) not in listed]
            listed = (listed + best)[: max(top, len(allowed))]
            entry["top_logprobs"] = [{"token": self._piece(t), "logprob": _finite(logprobs[t])} for t in listed]
        return entry

    def _piece(self, token: int) -> str:
        return str(self.tokenizer.decode([token]))

    # -- free generation ---------------------------------------------------------------------------

    def _generate(self, prompt: list[int], max_tokens: int, temperature: float, top: int | None, generator: Any) -> Answer:
        import torch

        eos = self.tokenizer.eos_token_id
        past = None
        pending = list(prompt)
        written: list[int] = []
        entries: list[dict[str, Any]] = []
        finish = "length"
        for _ in range(max_tokens):
            out = self.model(torch.tensor([pending], device=self.device), past_key_values=past, use_cache=True)
            past = out.past_key_values
            step = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
            if temperature > 0:
                probs = torch.softmax(step / temperature, dim=-1).cpu()
                token = int(torch.multinomial(probs, 1, generator=generator).item())
            else:
                token = int(torch.argmax(step).item())
            if token == eos:
                finish = "stop"
                break
            entries.append(self._entry(token, step, [token], top))
            written.append(token)
            pending = [token]
        text = self.tokenizer.decode(written, skip_special_tokens=True)
        return Answer(text, len(prompt), len(written), entries if top is not None else None, finish)


def _finite(value: Any) -> float:
    number = float(value)
    return number if math.isfinite(number) else -9999.0
