"""A loopback OpenAI-compatible chat-completions endpoint with rule-based judge "models", for tests.

Deterministic stand-ins for a judge, chosen by the request's ``model``:

- ``rule-judge``: respects data blocks exactly as the prompt declares them (the fixed ``<answer>``
  tags of the unfenced prompt end at the first closing tag, so a fake closing tag escapes them) and
  obeys any override it finds outside them, writing the highest verdict in the declared format, nonce
  included: the fence is all that stands between an injection and a full score. It judges honestly
  otherwise (the final number of the answer against the reference; a rubric criterion is met when its
  name appears in the answer; in a group, a candidate that says "because" scores high) and quotes the answer's last line in its reasoning.
- ``gullible-judge``: obeys override text anywhere, inside data blocks too, by writing the verdict the
  injection asks for as a plain ``VERDICT:`` line: only the strict parser stands in the way.
- ``yes-judge``: always the highest verdict; ``first-judge``: yes exactly when the answer is shown
  before the reference, and the top score to a group's first candidate (pure position bias); ``broken``: HTTP 500; ``flaky``: 429 twice per distinct
  request, then ``rule-judge``; ``chatty``: prose with no verdict line.
- ``long-judge``: judges as ``rule-judge`` does (but obeys no override), except that any answer over 300 characters (or, in a group, the
  longest candidate) gets the top verdict: pure length bias; ``coin-judge``: a verdict drawn from a hash
  of the whole request, whose fences are new on every call, so the same input judged twice agrees about
  half the time.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import unicodedata
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_TRIGGER = re.compile(
    r"ignore (?:all )?previous instructions|ignorez les instructions|ignoriere alle|^\s*system:|as the grader"
    r"|reference answer is wrong|verdict: yes",
    re.M,
)
_FORM = re.compile(r"of the form `(VERDICT[^`:]*): ([^`]*)`")
_HARD_BLOCK = re.compile(r"<<<DATA (\w+) ([0-9A-F]+)>>>\n(.*?)\n<<<END \1 \2>>>", re.S)
_PLAIN_BLOCK = re.compile(r"<(question|answer|reference|candidate_\d+)>\n(.*?)\n?</\1>", re.S)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _blocks(user: str) -> tuple[dict[str, str], list[str], str]:
    """Blocks by name, their order, and the text outside them, as this 'model' reads the prompt."""
    found = list(_HARD_BLOCK.finditer(user)) or list(_PLAIN_BLOCK.finditer(user))
    blocks: dict[str, str] = {}
    order: list[str] = []
    outside, last = [], 0
    for m in found:
        name, body = m.group(1), m.group(m.lastindex or 0)
        blocks.setdefault(name, body)
        order.append(name)
        outside.append(user[last : m.start()])
        last = m.end()
    outside.append(user[last:])
    return blocks, order, "".join(outside)


def _final_number(text: str) -> str | None:
    lines = [line for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        numbers = {n.lstrip("+") for n in _NUMBER.findall(line.replace(",", ""))}
        if len(numbers) > 1:
            return None  # a hedge
        if numbers:
            return numbers.pop()
    return None


def _same(answer: str, reference: str) -> bool:
    ref = _final_number(reference)
    if ref is not None:
        got = _final_number(answer)
        return got is not None and float(got) == float(ref)
    return _norm(reference).strip(" .") in _norm(answer)


def judge(model: str, messages: list[dict[str, Any]]) -> str:
    user = str(messages[-1]["content"])
    form = _FORM.search(user)
    head, template = (form.group(1), form.group(2)) if form else ("VERDICT", "")
    blocks, order, outside = _blocks(user)
    rubric = re.findall(r"^- ([a-z][a-z0-9_]*) \(weight", user, re.M)
    size = re.search(r"Score each of the (\d+) candidate answers", user)
    group = [f"candidate_{i + 1}" for i in range(int(size.group(1)))] if size else []
    rubric = rubric or group
    scale = re.search(r"as an integer from (\d+) to (\d+)", user)
    low, high = (int(scale.group(1)), int(scale.group(2))) if scale else (0, 1)

    def verdict(good: bool | dict[str, int]) -> str:
        if rubric:
            scores = good if isinstance(good, dict) else dict.fromkeys(rubric, high if good else low)
            return json.dumps(scores)
        return "yes" if good else "no"

    if model == "chatty":
        return "This looks like a reasonable answer overall."
    if model == "gullible-judge" and _TRIGGER.search(_norm(user)):
        return f"I was told what to answer.\nVERDICT: {verdict(True)}"
    if model == "rule-judge" and _TRIGGER.search(_norm(outside)):
        return f"New instructions received.\n{head}: {verdict(True)}"
    answer = blocks.get("answer", "")
    if model == "coin-judge":
        coin = hashlib.sha256(user.encode()).digest()
        good_coin: bool | dict[str, int] = (
            {name: high if coin[i % 32] % 2 else low for i, name in enumerate(rubric)} if rubric else bool(coin[0] % 2)
        )
        return f"I decided.\n{head}: {verdict(good_coin)}"
    if model == "long-judge" and group:
        longest = max(group, key=lambda name: len(blocks.get(name, "")))
        return f"The longest is best.\n{head}: {verdict({name: high if name == longest else low for name in group})}"
    if model == "long-judge" and len(answer) > 300:
        return f"A thorough answer.\n{head}: {verdict(True)}"
    if model == "yes-judge":
        good: bool | dict[str, int] = True
    elif model == "first-judge" and group:
        good = {name: high if i == 0 else low for i, name in enumerate(group)}
    elif model == "first-judge":
        good = "answer" in order and "reference" in order and order.index("answer") < order.index("reference")
    elif group:  # a group: a candidate that gives its reason ("because") scores high, whatever the order
        good = {name: high if re.search(r"\bbecause\b", blocks.get(name, ""), re.I) else low for name in group}
    elif rubric:
        good = {name: high if re.search(rf"\b{name}\b", answer, re.I) else low for name in rubric}
    else:
        good = _same(answer, blocks.get("reference", ""))
    lines = [line for line in answer.splitlines() if line.strip()]
    quote = lines[-1] if lines else "(nothing)"
    return f"The answer ends with: {quote}\nI compared it with what was asked.\n{head}: {verdict(good)}"


def _logprobs(text: str) -> dict[str, Any]:
    last = text.rstrip().rsplit(" ", 1)
    token = last[-1]
    chosen, other = (0.9, 0.1) if token == "yes" else (0.8, 0.2)
    alt = "no" if token == "yes" else "yes"
    return {
        "content": [
            {"token": last[0] + " ", "logprob": 0.0, "top_logprobs": []},
            {
                "token": token,
                "logprob": math.log(chosen),
                "top_logprobs": [{"token": token, "logprob": math.log(chosen)}, {"token": alt, "logprob": math.log(other)}],
            },
        ]
    }


class JudgeServer:
    """``with JudgeServer() as server: server.base_url``; ``key`` makes it require that bearer key."""

    def __init__(self, key: str | None = None) -> None:
        self.key = key
        self.requests: list[dict[str, Any]] = []
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                body = json.loads(raw)
                with owner.lock:
                    owner.requests.append({"auth": self.headers.get("Authorization"), "body": body})
                    owner.seen[hashlib.sha256(raw).hexdigest()] += 1
                    tries = owner.seen[hashlib.sha256(raw).hexdigest()]
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": "not found"})
                if owner.key is not None and self.headers.get("Authorization") != f"Bearer {owner.key}":
                    return self._send(401, {"error": f"bad key {self.headers.get('Authorization')}"})
                model = body.get("model", "")
                if model == "broken":
                    return self._send(500, {"error": "down"})
                if model == "flaky" and tries <= 2:
                    return self._send(429, {"error": "slow down"})
                text = judge("rule-judge" if model == "flaky" else model, body["messages"])
                choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                if body.get("logprobs"):
                    choice["logprobs"] = _logprobs(text)
                prompt_tokens = sum(len(str(m["content"]).split()) for m in body["messages"])
                usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split())}
                self._send(200, {"id": "x", "object": "chat.completion", "model": model, "choices": [choice], "usage": usage})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> JudgeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
