"""Shared pieces of the reward_model tests: tiny classifiers built in code, and loopback servers.

The classifiers use the offline MiniLM tokenizer (a real WordPiece vocabulary) with random heads
and a wide initialisation, so that different texts get clearly different scores.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHAT_TEMPLATE = "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} <|end|> {% endfor %}"
LABELS = {0: "bad", 1: "good"}


def minilm_tokenizer():
    from grpo_rewards.plugins.reward_model.similarity import default_model
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(default_model())


def build_bert_classifier(folder: Path, max_positions: int = 64) -> Path:
    """A 2-layer BERT classifier with labels bad/good, saved with the MiniLM tokenizer (no chat template)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    tokenizer = minilm_tokenizer()
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_positions,
        num_labels=2,
        id2label=LABELS,
        label2id={v: k for k, v in LABELS.items()},
        initializer_range=0.5,
    )
    BertForSequenceClassification(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_llama_classifier(folder: Path) -> Path:
    """A 2-layer Llama reward model (one logit, no pad id in its config), whose tokenizer has a chat template."""
    import torch
    from transformers import LlamaConfig, LlamaForSequenceClassification

    tokenizer = minilm_tokenizer()
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        num_labels=1,
        initializer_range=0.5,
        pad_token_id=None,
    )
    LlamaForSequenceClassification(config).eval().save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


class StubServer(ThreadingHTTPServer):
    """A loopback HTTP server whose POST behaviour is a test-supplied function.

    ``respond(handler, body) -> (status, bytes) | None`` (None: drop the connection unanswered).
    ``release`` is set on exit so that handlers waiting on it (slow servers) end promptly.
    """

    daemon_threads = True

    def __init__(self, respond: Callable[[StubHandler, bytes], tuple[int, bytes] | None]) -> None:
        super().__init__(("127.0.0.1", 0), StubHandler)
        self.respond = respond
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/score"

    def handle_error(self, request, client_address) -> None:
        pass  # clients that gave up (timeouts under test) hang up on purpose


class StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StubServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.requests.append({"body": json.loads(body), "headers": dict(self.headers)})
            self.server.in_flight += 1
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
        try:
            answer = self.server.respond(self, body)
        finally:
            with self.server.lock:
                self.server.in_flight -= 1
        if answer is None:
            self.close_connection = True
            return
        status, payload = answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args) -> None:  # quiet
        pass


@contextmanager
def running(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """Serve in a daemon thread for the duration of the block, then stop and close."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        release = getattr(server, "release", None)
        if release is not None:
            release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def echo_lengths(handler: StubHandler, body: bytes) -> tuple[int, bytes]:
    """A well-behaved endpoint: the score of a row is the length of its completion's text."""
    from grpo_rewards import message_text

    request = json.loads(body)
    return 200, json.dumps({"scores": [float(len(message_text(c))) for c in request["completions"]]}).encode()


@contextmanager
def serve_rewards_process(config: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``grpo-rewards serve-rewards CONFIG --port 0`` in a child process: yields (score URL, process).

    A real process, so that a test can kill it the way a server dies (every connection with it).
    """
    import os
    import re
    import subprocess
    import sys

    env = {**os.environ, "GRPO_REWARDS_PLUGINS": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "grpo_rewards", "serve-rewards", str(config), "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        url = None
        lines = []
        for _ in range(50):  # bounded: the banner is among the first lines
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = re.search(r"POST (http://127\.0\.0\.1:\d+/score)", line)
            if match:
                url = match.group(1)
                break
        if url is None:
            raise RuntimeError("serve-rewards did not start:\n" + "".join(lines))
        yield url, process
    finally:
        process.kill()
        process.wait(10)
        process.stdout.close()
