"""Hostile payloads through every built-in text reward: wall time per row and peak memory.

    .venv/bin/python benchmarks/hostile.py [--limit 2.0] [--rows 2] [--modes inprocess,workers2,serve]
                                           [--classes power,answer_spaces,...] [--isolation-cost 2000]

Each payload class (issue 13's examples, and more) is scored by every built-in rule-based reward
(length.target, math.correct, xml.format, consistency.answer, consistency.arithmetic,
repetition.ngram), each with ``timeout = --limit``, in three ways, each in a fresh process:

- *inprocess*: ``score_rows`` one row at a time, as ``grpo-rewards score`` does;
- *workers2*: ``score_rows(..., workers=2)``, as ``grpo-rewards score --workers 2`` does;
- *serve*: one POST per row to ``serve-rewards`` (``make_server``) on loopback.

Each process first scores one ordinary row (the hard-limit workers start once per process, in
about a second; that start is not a row's cost). Printed per class and mode: *reward-row*, the slowest single reward on a single row (what the
limit bounds; for *workers2* each reward's time over its rows; for *serve* the request's time over
the rewards), *row*, the slowest row through all six rewards (*workers2*: the run's wall time over
its rows, pool start included), *health*, the slowest ``GET /health`` answered while a hostile
request was being scored (*serve*), the peak RSS of the scoring process and of the largest worker
process (hard-limit workers and pool workers, their ``/proc/<pid>/status`` VmHWM sampled every
50 ms), and whether every row came back with a value or a counted
None. Targets: <= 2 x the limit per row, <= 500 MB per worker process, every row accounted for.

``--isolation-cost N`` also prints the cost per row of the hard limit: a cheap reward over N rows
in-process against the same reward with ``isolation = "process"`` (both warm).

``--attacks all`` (or a comma-separated list) attacks ``serve-rewards`` itself on loopback, each
attack in a fresh process against a server with its default limits and a token (issue 20, 16-17):

- *unauth_10mb*: 20 connections without the token announce a 10 MB body and send none of it; how
  long an authorised ``GET /health`` takes to get a 200 (retrying a 503 every 0.1 s, as a client
  does). Target: within 3 s;
- *slow_headers*: 20 connections trickle their headers (a byte a second); the same ``/health``
  (target: within header_timeout + 3 s), and when the last of them was cut off, from its connect
  (seen within a second: target header_timeout + 1.5 s);
- *costly_rows*: one request of 8 rows that each run a hard-limited reward to its time limit
  (``--limit``; the test suite's ``hostile.isolated``), on a server with one scoring thread and a
  10 s request deadline; the request's answer time, its rows accounted for, and the slowest
  ``/health`` meanwhile (target: within 3 s);
- *async_64_clients*: 64 clients at once, each one request to an ``async def`` reward that awaits
  0.5 s (the test suite's ``hostile.waits``), default limits: how many got 200, how many 503 with
  ``Retry-After``, and anything else (target: every client an HTTP answer, 200 or 503);
- *async_64_places*: the same with 64 scoring places, each row awaiting 1 s: every client should get a
  200; how long all took, and the most threads the process ran meanwhile beyond the benchmark's own;
- *cheap_requests*: 200 requests of one cheap row in turn on one kept-alive connection: the server's
  own cost per request (median and 90th percentile);
- *async_costly_rows*: one request of 8 ``async def`` rows that await past ``--limit`` (cancelled
  there) and 2 that hold the reward's event loop with ``--limit`` seconds of sync work each, one
  scoring place, a 10 s request deadline: its answer time, its rows accounted for, and the slowest
  ``/health`` meanwhile (target: within 3 s);
- *framing*: requests whose framing a proxy may read differently (``Content-Length`` with
  ``Transfer-Encoding``, two lengths, a body on a ``GET``, ``Transfer-Encoding : chunked`` that
  Python's header parser drops with every header after it), each followed by a second request on
  the same connection: the statuses answered (target: one 4xx, then the close);
- *malformed*: bodies nested 100,000 deep, with a 5,000-digit integer, with NaN, as text/plain:
  the statuses (target: 4xx, never 500).

``--baseline DIR`` runs the same attacks against another ``server.py`` and ``protocol.py`` (for
instance main's, from ``git show``) and prints both side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("GRPO_REWARDS_PLUGINS", "")  # built-ins only

REWARDS = ["length.target", "math.correct", "xml.format", "consistency.answer", "consistency.arithmetic", "repetition.ngram"]
GOLD = "6"


def payloads() -> dict[str, Callable[[], str]]:
    """How to build one completion per class: only the class being run is ever in memory."""
    return {
        "power": lambda: "\\boxed{(\\sqrt{3}^{9999})^{9999}}",
        "power_tower": lambda: "\\boxed{9^{9^{9^{9}}}}",
        "answer_spaces": lambda: "answer" + " " * 40_000 + "x",
        "grouped_numbers": lambda: "So " + "1,000," * 30_000 + "0 = 1 + 1",
        "long_number": lambda: "9" * 100_000 + " + 1 = 1",
        "nested_braces": lambda: "\\boxed{" + "{" * 50_000 + "1" + "}" * 50_000 + "}",
        "entity_bomb": lambda: (
            '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><think>&b;</think><answer>6</answer>'
        ),
        "tag_flood": lambda: "<think>" * 30_000 + "</answer>" * 30_000,
        "repetition": lambda: "the cat sat " * 150_000,
        "huge_50mb": lambda: ("2 * 3 = 6. " * 5_000_001)[:50_000_000],
    }


def reward_set(limit: float):
    from grpo_rewards import parse_reward_set

    entries = []
    for name in REWARDS:
        entry = {"use": name, "timeout": limit}
        if name == "length.target":
            entry["params"] = {"target": 100}
        entries.append(entry)
    return parse_reward_set(entries)


def _vm_hwm_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class WorkerPeak:
    """Samples the VmHWM of this process's children and grandchildren every 50 ms (a killed worker
    is seen before it dies; rusage would count a child's pre-exec copy of this process instead)."""

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                if parent == me or _ancestor(parent, me):
                    self.peak = max(self.peak, _vm_hwm_mb(int(entry.name)))
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def _ancestor(pid: int, me: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return int(stat.rsplit(")", 1)[1].split()[1]) == me


def accounted(result_values: list, stats) -> bool:
    return stats.rows == len(result_values) and stats.nones == sum(v is None for v in result_values)


def run_one(name: str, mode: str, limit: float, copies: int) -> dict:
    """Score one class in one mode (in this fresh process) and measure it."""
    from grpo_rewards import Row, score_rows

    rs = reward_set(limit)
    # Warm: the hard-limit workers started and the plugins imported, as in any run after its first row.
    score_rows(rs, [Row("<think>2 * 3 = 6</think><answer>6</answer>", columns={"answer": GOLD})])
    sampler = WorkerPeak()
    text = payloads()[name]()
    rows = [Row(text, columns={"answer": GOLD}) for _ in range(copies)]
    ok = True
    slowest = 0.0  # the slowest single reward on a single row: what the limit bounds
    row_total = 0.0  # the slowest row through all rewards
    health = 0.0
    if mode == "inprocess":
        for row in rows:
            start = time.perf_counter()
            result = score_rows(rs, [row])
            row_total = max(row_total, time.perf_counter() - start)
            slowest = max([slowest] + [result.stats[n].seconds for n in result.names])
            ok &= all(accounted(result.values[n], result.stats[n]) for n in result.names)
    elif mode == "workers2":
        start = time.perf_counter()
        result = score_rows(rs, rows, workers=2)
        row_total = (time.perf_counter() - start) / len(rows)
        slowest = max(result.stats[n].seconds / len(rows) for n in result.names)
        ok &= all(accounted(result.values[n], result.stats[n]) and len(result.values[n]) == len(rows) for n in result.names)
    else:
        import http.client
        import threading

        from grpo_rewards.plugins.reward_model.server import make_server

        server = make_server(rs, max_body_bytes=64 * 1024 * 1024)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        host, port = server.server_address[:2]

        def health_probe(stop: threading.Event, seen: list[float]) -> None:
            while not stop.is_set():  # /health while the hostile request is being scored
                start = time.perf_counter()
                connection = http.client.HTTPConnection(host, port, timeout=120)
                connection.request("GET", "/health")
                connection.getresponse().read()
                connection.close()
                seen.append(time.perf_counter() - start)
                stop.wait(0.2)

        for _ in rows:
            body = json.dumps(
                {"prompts": [""], "completions": [text], "columns": {"answer": [GOLD]}, "per_reward": True}
            ).encode()
            stop, seen = threading.Event(), []
            probe = threading.Thread(target=health_probe, args=(stop, seen), daemon=True)
            start = time.perf_counter()
            probe.start()
            connection = http.client.HTTPConnection(host, port, timeout=120)
            connection.request("POST", "/score", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            data = json.loads(response.read())
            connection.close()
            row_total = max(row_total, time.perf_counter() - start)
            stop.set()
            probe.join()
            health = max([health] + seen)
            ok &= (
                response.status == 200
                and all(len(v) == 1 for v in data.get("rewards", {}).values())
                and len(data.get("rewards", {})) == len(REWARDS)
            )
        slowest = row_total / len(REWARDS)  # serve answers per request: the mean per reward
        server.shutdown()
        server.server_close()
    return {
        "class": name,
        "mode": mode,
        "slowest_row_s": round(slowest, 3),
        "row_total_s": round(row_total, 3),
        "health_s": round(health, 3),
        "peak_main_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_worker_mb": round(sampler.stop(), 1),
        "accounted": ok,
    }


TOKEN = "bench-token"
ATTACKERS = 20


def server_module(baseline: str | None):
    """This branch's serve-rewards, or the ``server.py`` + ``protocol.py`` in folder ``baseline``."""
    if not baseline:
        from grpo_rewards.plugins.reward_model import server

        return server
    import importlib
    import types

    package = types.ModuleType("baseline_reward_model")
    package.__path__ = [str(Path(baseline).resolve())]
    sys.modules[package.__name__] = package
    return importlib.import_module("baseline_reward_model.server")


def _health_until_200(address: tuple[str, int], cap: float) -> tuple[float, int | None]:
    """Seconds until an authorised GET /health got a 200 (503s and resets retried every 0.1 s)."""
    import http.client

    start, status = time.perf_counter(), None
    while time.perf_counter() - start < cap:
        connection = http.client.HTTPConnection(*address, timeout=max(0.5, cap - (time.perf_counter() - start)))
        try:
            connection.request("GET", "/health", headers={"Authorization": f"Bearer {TOKEN}"})
            status = connection.getresponse().status
        except OSError:
            status = None
        finally:
            connection.close()
        if status == 200:
            break
        time.sleep(0.1)
    return time.perf_counter() - start, status


def _exchange(address: tuple[str, int], data: bytes, wait: float = 5.0) -> list[int]:
    """Statuses answered to raw bytes, read until the server closes or ``wait`` passes."""
    import re
    import socket

    sock = socket.create_connection(address, timeout=wait)
    start, raw = time.monotonic(), b""
    try:
        sock.sendall(data)
        while time.monotonic() - start < wait:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    except OSError:
        pass
    finally:
        sock.close()
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", raw)]


def attack_unauth_10mb(address: tuple[str, int], server) -> dict:
    import socket

    head = b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n"
    attackers = [socket.create_connection(address) for _ in range(ATTACKERS)]
    for sock in attackers:
        sock.sendall(head)
    seconds, status = _health_until_200(address, 90.0)
    for sock in attackers:
        sock.close()
    return {"health_s": round(seconds, 2), "health_status": status}


def attack_slow_headers(address: tuple[str, int], server) -> dict:
    import socket
    import threading

    attackers = []
    for _ in range(ATTACKERS):
        sock = socket.create_connection(address)
        sock.sendall(b"GET /health HTTP/1.1\r\nX-Slow: ")
        attackers.append([sock, time.perf_counter(), None])
    cap = 90.0

    def trickle() -> None:  # a byte a second on each open connection, until the server closes it
        while any(a[2] is None for a in attackers) and time.perf_counter() - attackers[0][1] < cap:
            for attacker in attackers:
                if attacker[2] is not None:
                    continue
                sock = attacker[0]
                try:
                    sock.sendall(b"a")
                    if sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b"":
                        attacker[2] = time.perf_counter() - attacker[1]
                except BlockingIOError:
                    pass
                except OSError:
                    attacker[2] = time.perf_counter() - attacker[1]
            time.sleep(1.0)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    seconds, status = _health_until_200(address, cap)
    thread.join()
    for sock, _, _ in attackers:
        sock.close()
    cut = [a[2] for a in attackers]
    return {
        "health_s": round(seconds, 2),
        "health_status": status,
        "cut_off_max_s": None if None in cut else round(max(cut), 1),
        "header_timeout": server.header_timeout,
    }


def costly_reward_set(limit: float):
    """``hostile.isolated`` from the test suite's hostile plugin: the row ``ignore_alarm`` ignores
    SIGALRM and sleeps, so it runs to its limit and is killed (the built-in rewards no longer have
    a payload that costly)."""
    import shutil
    import tempfile

    from grpo_rewards.rewardset import load_reward_set

    folder = Path(tempfile.mkdtemp(prefix="hostile-bench-"))
    shutil.copy(Path(__file__).resolve().parent.parent / "tests" / "hostile_rewards.py", folder)
    config = folder / "costly.toml"
    config.write_text(f'plugins = ["hostile_rewards.py"]\n[[rewards]]\nuse = "hostile.isolated"\ntimeout = {limit}\n')
    return load_reward_set(config)


def attack_costly_rows(address: tuple[str, int], server) -> dict:
    import http.client
    import threading

    def post(completions: list[str]) -> tuple[int, dict]:
        connection = http.client.HTTPConnection(*address, timeout=300)
        body = json.dumps({"completions": completions})
        connection.request("POST", "/score", body=body, headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        data = json.loads(response.read())
        connection.close()
        return response.status, data

    post(["warm"])  # the hard-limit worker started
    costly = ["ignore_alarm"] * 8
    outcome: dict = {}

    def run() -> None:
        start = time.perf_counter()
        status, data = post(costly)
        scores = data.get("scores", [])
        outcome.update(
            request_s=round(time.perf_counter() - start, 2),
            status=status,
            accounted=len(scores) == len(costly) and all(v is None or isinstance(v, float) for v in scores),
            unfinished=data.get("unfinished", 0),
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    slowest = 0.0
    while thread.is_alive():
        seconds, _ = _health_until_200(address, 300.0)
        slowest = max(slowest, seconds)
        time.sleep(0.2)
    return {**outcome, "health_max_s": round(slowest, 2)}


def waits_reward_set(limit: float):
    """``hostile.waits`` (``async def``) from the test suite's hostile plugin, limited to ``limit``."""
    import shutil
    import tempfile

    from grpo_rewards.rewardset import load_reward_set

    folder = Path(tempfile.mkdtemp(prefix="hostile-bench-"))
    shutil.copy(Path(__file__).resolve().parent.parent / "tests" / "hostile_rewards.py", folder)
    config = folder / "waits.toml"
    config.write_text(f'plugins = ["hostile_rewards.py"]\n[[rewards]]\nuse = "hostile.waits"\ntimeout = {limit}\n')
    return load_reward_set(config)


def _post_json(address: tuple[str, int], completions: list[str], timeout: float = 300) -> tuple[int, dict[str, str], dict]:
    import http.client

    connection = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        body = json.dumps({"completions": completions})
        connection.request("POST", "/score", body=body, headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, json.loads(response.read())
    finally:
        connection.close()


def attack_async_64_clients(address: tuple[str, int], server, completion: str = "wait 0.5") -> dict:
    import threading

    clients = 64
    barrier, outcomes = threading.Barrier(clients), [None] * clients

    def one(i: int) -> None:
        barrier.wait()
        try:
            status, headers, _ = _post_json(address, [completion], timeout=120)
            outcomes[i] = "200" if status == 200 else ("503" if status == 503 and headers.get("retry-after") else str(status))
        except OSError as exc:
            outcomes[i] = type(exc).__name__

    start = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = {k: outcomes.count(k) for k in sorted(set(outcomes), key=str)}
    return {
        "answered_200": counts.pop("200", 0),
        "answered_503": counts.pop("503", 0),
        "other": " ".join(f"{k}x{v}" for k, v in counts.items()) or "none",
        "all_s": round(time.perf_counter() - start, 2),
    }


def attack_cheap_requests(address: tuple[str, int], server) -> dict:
    """200 requests of one cheap row, one after another on one kept-alive connection: the server's
    own cost per request (median and 90th percentile, milliseconds)."""
    import http.client
    import statistics

    connection = http.client.HTTPConnection(*address, timeout=60)
    body = json.dumps({"completions": ["ab"]})
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    seconds = []
    for _ in range(200):
        start = time.perf_counter()
        connection.request("POST", "/score", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        seconds.append(time.perf_counter() - start)
    connection.close()
    cuts = statistics.quantiles(seconds, n=10)
    return {"median_ms": round(1000 * statistics.median(seconds), 2), "p90_ms": round(1000 * cuts[-1], 2)}


def attack_async_64_places(address: tuple[str, int], server) -> dict:
    """64 clients at once on a server with 64 scoring places, each one row awaiting 1 s: how long
    until all are answered, and how many threads the server added meanwhile (at most)."""
    import threading

    before = threading.active_count()  # the main thread, the server's, and the pools started so far
    peak, stop = [before], threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], threading.active_count())
            stop.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = attack_async_64_clients(address, server, "wait 1.0")
    stop.set()
    sampler.join()
    return {**result, "server_threads_added": peak[0] - before - 1 - 64}  # not the sampler, not the 64 clients


def attack_async_costly_rows(address: tuple[str, int], server) -> dict:
    import threading

    limit = server.reward_set.rewards[0].timeout or 2.0
    _post_json(address, ["warm"])
    costly = ["wait 60"] * 8 + [f"block {limit:g}", f"block  {limit:g}"]  # distinct rows: none merged
    outcome: dict = {}

    def run() -> None:
        start = time.perf_counter()
        status, _, data = _post_json(address, costly)
        scores = data.get("scores", [])
        outcome.update(
            request_s=round(time.perf_counter() - start, 2),
            status=status,
            accounted=len(scores) == len(costly) and all(v is None or isinstance(v, float) for v in scores),
            unfinished=data.get("unfinished", 0),
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    slowest = 0.0
    while thread.is_alive():
        seconds, _ = _health_until_200(address, 300.0)
        slowest = max(slowest, seconds)
        time.sleep(0.2)
    return {**outcome, "health_max_s": round(slowest, 2)}


SECOND = f"GET /health HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
GOOD_BODY = b'{"completions": ["ab"]}'


def attack_framing(address: tuple[str, int], server) -> dict:
    auth = f"Authorization: Bearer {TOKEN}\r\n".encode()

    def then_second(headers: bytes) -> bytes:
        return b"POST /score HTTP/1.1\r\nHost: x\r\n" + auth + headers + b"\r\n" + GOOD_BODY + SECOND

    n = b"%d" % len(GOOD_BODY)
    cases = {
        "CL+TE": then_second(b"Content-Length: " + n + b"\r\nTransfer-Encoding: chunked\r\n"),
        "two CL": then_second(b"Content-Length: " + n + b"\r\nContent-Length: 0\r\n"),
        "CL 2_3": then_second(b"Content-Length: " + n[:1] + b"_" + n[1:] + b"\r\n"),
        "GET+body": b"GET /health HTTP/1.1\r\n" + auth + b"Content-Length: %d\r\n\r\n" % len(SECOND) + SECOND,
        "TE : chunked": b"GET /health HTTP/1.1\r\n" + auth + b"Transfer-Encoding : chunked\r\n\r\n" + SECOND,
    }
    return {name: _exchange(address, data) for name, data in cases.items()}


def attack_malformed(address: tuple[str, int], server) -> dict:
    import http.client

    cases = {
        "nested 1e5": (b'{"completions": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json"),
        "5000 digits": (b'{"completions": ["ab"], "columns": {"n": [' + b"9" * 5000 + b"]}}", "application/json"),
        "NaN": (b'{"completions": ["ab"], "columns": {"n": [NaN]}}', "application/json"),
        "text/plain": (GOOD_BODY, "text/plain"),
    }
    out = {}
    for name, (body, kind) in cases.items():
        connection = http.client.HTTPConnection(*address, timeout=60)
        connection.request("POST", "/score", body=body, headers={"Content-Type": kind, "Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        response.read()
        connection.close()
        out[name] = [response.status]
    return out


ATTACKS = {
    "unauth_10mb": attack_unauth_10mb,
    "slow_headers": attack_slow_headers,
    "costly_rows": attack_costly_rows,
    "async_64_clients": attack_async_64_clients,
    "cheap_requests": attack_cheap_requests,
    "async_64_places": attack_async_64_places,
    "async_costly_rows": attack_async_costly_rows,
    "framing": attack_framing,
    "malformed": attack_malformed,
}


def run_attack(name: str, baseline: str | None, limit: float) -> dict:
    """One attack against a fresh server (the baseline's or ours) in this process."""
    import inspect
    import threading

    from grpo_rewards import parse_reward_set

    module = server_module(baseline)
    if name == "costly_rows":
        reward_set = costly_reward_set(limit)
        options = {"threads": 1, "request_timeout": 10.0}
    elif name == "async_costly_rows":
        reward_set = waits_reward_set(limit)
        options = {"threads": 1, "request_timeout": 10.0}
    elif name == "async_64_clients":
        reward_set = waits_reward_set(limit)
        options = {}
    elif name == "async_64_places":
        reward_set = waits_reward_set(limit)
        options = {"threads": 64, "queue": 0}
    else:
        reward_set = parse_reward_set([{"use": "length.target", "params": {"target": 2}}])
        options = {}
    accepted = inspect.signature(module.RewardServer.__init__).parameters
    options = {k: v for k, v in {**options, "token": TOKEN}.items() if k in accepted}
    server = module.make_server(reward_set, **options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        return ATTACKS[name](server.server_address[:2], server)
    finally:
        server.shutdown()
        server.server_close()


def print_attacks(names: list[str], baseline: str | None, limit: float) -> int:
    """Each attack on the baseline (if any) and on this branch, side by side; returns the misses."""
    sides = ([("baseline", baseline)] if baseline else []) + [("this branch", None)]
    print(f"\nserve-rewards under attack ({ATTACKERS} attackers, a token set, default limits unless said)")
    header = f"{'attack':<13} {'measure':<26} " + " ".join(f"{label:>22}" for label, _ in sides) + "  target"
    print(header)
    print("-" * len(header))
    misses = 0
    for name in names:
        results = []
        for _, folder in sides:
            command = [sys.executable, __file__, "--attack-one", name, "--limit", str(limit)]
            if folder:
                command += ["--baseline", folder]
            proc = subprocess.run(command, capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                results.append({"failed": (proc.stderr.strip().splitlines() or ["?"])[-1][:60]})
            else:
                results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        for measure, target, met in _attack_rows(name, results[-1]):
            cells = " ".join(f"{_cell(r, measure):>22}" for r in results)
            print(f"{name:<13} {measure:<26} {cells}  {target}{'' if met else '  MISSED'}", flush=True)
            misses += not met
    return misses


def _cell(result: dict, measure: str) -> str:
    if "failed" in result:
        return "FAILED " + result["failed"][:14]
    value = result.get(measure)
    if isinstance(value, list):
        return " ".join(map(str, value)) or "(none)"
    return "n/a" if value is None else str(value)


def _attack_rows(name: str, r: dict) -> list[tuple[str, str, bool]]:
    """(measure, target, met on this branch) for one attack's result."""
    if "failed" in r:
        return [("failed", "runs", False)]
    if name == "unauth_10mb":
        return [("health_s", "<= 3 s", r["health_status"] == 200 and r["health_s"] <= 3), ("health_status", "200", True)]
    if name == "slow_headers":
        bound = r["header_timeout"]
        return [
            ("health_s", f"<= {bound + 3:g} s", r["health_status"] == 200 and r["health_s"] <= bound + 3),
            ("cut_off_max_s", f"<= {bound + 1.5:g} s", r["cut_off_max_s"] is not None and r["cut_off_max_s"] <= bound + 1.5),
        ]
    if name == "cheap_requests":
        return [("median_ms", "-", True), ("p90_ms", "-", True)]
    if name == "async_64_places":
        return [
            ("answered_200", "64", r["answered_200"] == 64),
            ("all_s", "-", True),
            ("server_threads_added", "-", True),
        ]
    if name == "async_64_clients":
        answered = r["answered_200"] + r["answered_503"]
        return [
            ("answered_200", ">= 1", r["answered_200"] >= 1),
            ("answered_503", "Retry-After", True),
            ("other", "none", r["other"] == "none" and answered == 64),
            ("all_s", "-", True),
        ]
    if name in ("costly_rows", "async_costly_rows"):
        return [
            ("request_s", "<= 11 s", r["request_s"] <= 11),
            ("accounted", "True", bool(r["accounted"])),
            ("unfinished", "counted", True),
            ("health_max_s", "<= 3 s", r["health_max_s"] <= 3),
        ]
    return [(case, "one 4xx", len(s) == 1 and 400 <= s[0] < 500) for case, s in r.items()]


def isolation_cost(rows: int) -> tuple[float, float]:
    """Microseconds per row of a cheap reward, in-process and hard-limited (both warm)."""
    from grpo_rewards import Row, parse_reward_set, score_rows

    out = []
    for isolation in ("inline", "process"):
        rs = parse_reward_set([{"use": "xml.format", "isolation": isolation}])
        score_rows(rs, [Row("warm")])  # the worker started, the module imported
        best = float("inf")
        for attempt in range(3):  # new texts each time: no parse cache hit, here or in the worker
            data = [Row(f"<think>{attempt} {i}</think><answer>{i}</answer>") for i in range(rows)]
            start = time.perf_counter()
            score_rows(rs, data)
            best = min(best, time.perf_counter() - start)
        out.append(1e6 * best / rows)
    return out[0], out[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=1, help="copies of each payload")
    parser.add_argument("--modes", default="inprocess,workers2,serve")
    parser.add_argument("--classes", default=",".join(payloads()), help="comma-separated, or 'none'")
    parser.add_argument("--isolation-cost", type=int, default=2000)
    parser.add_argument("--attacks", default="", help=f"'all' or some of {','.join(ATTACKS)}: attack serve-rewards")
    parser.add_argument("--baseline", default=None, help="a folder with another server.py and protocol.py to attack too")
    parser.add_argument("--one", nargs=2, metavar=("CLASS", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--attack-one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], args.one[1], args.limit, args.rows)))
        return
    if args.attack_one:
        print(json.dumps(run_attack(args.attack_one, args.baseline, args.limit)))
        return
    print(
        f"limit {args.limit:g} s per reward per row; target <= {2 * args.limit:g} s per row, <= 500 MB per "
        f"worker; {len(REWARDS)} rewards; {args.rows} rows per class; python {sys.version.split()[0]}"
    )
    header = (
        f"{'class':<16} {'mode':<10} {'reward-row s':>12} {'row s':>6} {'health s':>8} {'main MB':>8} "
        f"{'worker MB':>9}  accounted  target"
    )
    print(header)
    print("-" * len(header))
    failures = 0
    for name in [c for c in args.classes.split(",") if c and c != "none"]:
        for mode in args.modes.split(","):
            proc = subprocess.run(
                [sys.executable, __file__, "--one", name, mode, "--limit", str(args.limit), "--rows", str(args.rows)],
                capture_output=True,
                text=True,
                timeout=1800,
            )
            if proc.returncode != 0:
                failures += 1
                print(f"{name:<16} {mode:<10} FAILED: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            met = r["slowest_row_s"] <= 2 * args.limit and r["peak_worker_mb"] <= 500 and r["accounted"]
            failures += not met
            print(
                f"{name:<16} {mode:<10} {r['slowest_row_s']:>12.2f} {r['row_total_s']:>6.2f} "
                f"{r['health_s'] if mode == 'serve' else '':>8} {r['peak_main_mb']:>8.0f} "
                f"{r['peak_worker_mb']:>9.0f}  {'yes' if r['accounted'] else 'NO':<9}  {'met' if met else 'MISSED'}",
                flush=True,
            )
    if args.isolation_cost:
        inline, isolated = isolation_cost(args.isolation_cost)
        print(
            f"\ncost of the hard limit, xml.format over {args.isolation_cost} rows (warm, best of 3): "
            f"in-process {inline:.1f} us/row, in a worker process {isolated:.1f} us/row "
            f"(+{isolated - inline:.1f} us/row)"
        )
    if args.attacks:
        failures += print_attacks(list(ATTACKS) if args.attacks == "all" else args.attacks.split(","), args.baseline, args.limit)
    print(f"\n{'all within target' if not failures else f'{failures} result(s) missed the target'}")


if __name__ == "__main__":
    main()
