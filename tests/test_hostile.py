"""The trust promises under attack: hostile completions, hostile rewards, hostile files and clients.

Each test is what an attacker or a careless user would try (the numbers refer to issue 13's list),
with sizes small enough for the suite; ``benchmarks/hostile.py`` runs the big payloads and measures.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from grpo_rewards import Row, Sample, score_rows
from grpo_rewards.cache import ByteBoundedCache
from grpo_rewards.cli import main
from grpo_rewards.config import ConfigError
from grpo_rewards.errors import InputError
from grpo_rewards.registry import get_registry
from grpo_rewards.rewardset import ALLOW_PLUGIN_PATHS_ENV, load_reward_set
from grpo_rewards.rows import read_rows, write_atomically

HERE = Path(__file__).parent
BUILTIN_TEXT_REWARDS = [
    "length.target",
    "math.correct",
    "xml.format",
    "consistency.answer",
    "consistency.arithmetic",
    "repetition.ngram",
]


@pytest.fixture
def hostile_set(tmp_path):
    """A reward-set folder holding the hostile plugin file, and a writer of configs in it."""
    shutil.copy(HERE / "hostile_rewards.py", tmp_path / "hostile_rewards.py")

    def write(use: str, extra: str = "") -> Path:
        config = tmp_path / f"{use.replace('.', '_')}.toml"
        config.write_text(
            f'plugins = ["hostile_rewards.py"]\n[[rewards]]\nuse = "{use}"\n{extra}'
            '[[rewards]]\nuse = "length.target"\nname = "len"\n[rewards.params]\ntarget = 5\n'
        )
        return config

    yield write
    get_registry(refresh=True)


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "grpo_rewards", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )


# ---- 1, 2: time limits that hold against C code -------------------------------------------------
def test_cpu_heavy_builtins_declare_a_hard_limit():
    registry = get_registry()
    for name in ("math.correct", "consistency.answer", "consistency.arithmetic"):
        assert registry.get(name).isolation == "process", name
    assert registry.get("length.target").isolation == "inline"


def test_a_reward_blocking_where_no_signal_lands_loses_only_its_row(hostile_set):
    reward_set = load_reward_set(hostile_set("hostile.isolated"))
    rows = [Row("ok"), Row("ignore_alarm"), Row("fine")]
    result = score_rows(reward_set, rows)
    assert result.values["hostile.isolated"] == [2.0, None, 4.0]
    stats = result.stats["hostile.isolated"]
    assert stats.timeouts == 1 and "killed" in stats.first_error
    assert result.values["len"] == [-3.0, -7.0, -1.0]  # the other reward scored every row


def test_any_reward_can_be_hard_limited_from_the_reward_set(hostile_set):
    reward_set = load_reward_set(hostile_set("hostile.act", 'isolation = "process"\n'))
    result = score_rows(reward_set, [Row("ignore_alarm"), Row("abc")])
    assert result.values["hostile.act"] == [None, 3.0]
    assert result.stats["hostile.act"].timeouts == 1


@pytest.mark.parametrize(
    "payload",
    [
        "the answer" + " " * 4000 + "x",  # the answer-phrase scan, quadratic before
        "So " + "1,000," * 2000 + "0 = 1 + 1",  # grouped numbers, quadratic before
        "\\boxed{(\\sqrt{3}^{99})^{99}}",
        "<think>" + "2 * 3 = 6. " * 2000 + "</think><answer>6</answer>",
    ],
)
def test_hostile_completions_leave_every_row_accounted_for(payload):
    registry = get_registry()
    rows = [Row(payload, columns={"answer": "6"}), Row("<think>2 * 3 = 6</think><answer>6</answer>", columns={"answer": "6"})]
    for name in BUILTIN_TEXT_REWARDS:
        params = {"target": 10} if name == "length.target" else {}
        fn = registry.get(name).build(params, timeout=2.0)
        run = fn.run([r.sample() for r in rows])
        values = run.values
        stats = run.stats
        assert len(values) == 2 and stats.rows == 2, name
        assert stats.nones == sum(v is None for v in values), name
        if name in ("math.correct", "xml.format", "consistency.arithmetic"):
            assert values[1] == 1.0, (name, stats.first_error)


# ---- 3: bounded memory -----------------------------------------------------------------------------
def test_the_parse_cache_is_bounded_by_bytes_and_keeps_no_rejected_input():
    from grpo_rewards.plugins import xml_format

    xml_format._cache.clear()
    for i in range(40):
        xml_format.parse_completion(f"{i}" + "x" * 300_000)  # over max_chars: rejected
    assert len(xml_format._cache) == 0
    for i in range(200):
        xml_format.parse_completion(f"<think>{i}</think>" + "y" * 100_000)
    assert 0 < xml_format._cache.bytes <= xml_format.CACHE_BYTES


def test_byte_bounded_cache_evicts_the_least_recently_used():
    cache: ByteBoundedCache[str] = ByteBoundedCache(100, max_item_bytes=60)
    cache.put("a", "A", 40)
    cache.put("b", "B", 40)
    assert cache.get("a") == "A"  # now b is the least recently used
    cache.put("c", "C", 40)
    assert cache.get("b") is None and cache.get("a") == "A" and cache.get("c") == "C"
    cache.put("big", "X", 61)
    assert cache.get("big") is None and cache.bytes == 80


def test_a_completion_over_the_input_cap_is_none_and_never_reaches_the_reward():
    calls = []

    def spy(sample, **params):
        calls.append(len(sample.completion))
        return 1.0

    from grpo_rewards.reward import RewardFunction

    fn = RewardFunction(spy, {}, "spy", max_input_chars=100)
    run = fn.run([Sample("x" * 101), Sample("x" * 100)])
    assert run.values == [None, 1.0]
    assert calls == [100] and run.stats.oversized == 1 and run.stats.errors == 0


def test_repetition_streams_words():
    from grpo_rewards.plugins.repetition import repeated_fraction, words

    assert repeated_fraction(words("a b a b a b"), 2) == pytest.approx(1 - 2 / 5)
    assert repeated_fraction(iter([]), 3) == 0.0
    assert list(words("Straße  SO\tso")) == ["strasse", "so", "so"]


# ---- 4: isolation of hostile rewards ---------------------------------------------------------------
@pytest.mark.parametrize(
    "command,expected",
    [
        ("system_exit", "SystemExit"),
        ("keyboard_interrupt", "KeyboardInterrupt"),
        ("base_exception", "BaseException"),
    ],
)
def test_base_exceptions_from_a_reward_are_counted_errors(hostile_set, command, expected):
    for use in ("hostile.act", "hostile.isolated"):
        reward_set = load_reward_set(hostile_set(use))
        result = score_rows(reward_set, [Row(command), Row("ok")])
        assert result.values[use] == [None, 2.0]
        assert result.stats[use].errors == 1 and expected in result.stats[use].first_error


def test_with_sigint_ignored_a_rewards_keyboard_interrupt_is_still_its_error(hostile_set):
    """A background job or nohup ignores SIGINT: no Ctrl-C can arrive, so the reward raised it."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result = score_rows(load_reward_set(hostile_set("hostile.act")), [Row("keyboard_interrupt"), Row("ok")])
    finally:
        signal.signal(signal.SIGINT, previous)
    assert result.values["hostile.act"] == [None, 2.0]
    assert result.stats["hostile.act"].errors == 1


def test_a_real_ctrl_c_during_a_reward_still_stops_the_run(hostile_set):
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        pytest.skip("SIGINT is ignored in this process (a background job): no Ctrl-C can arrive")
    reward_set = load_reward_set(hostile_set("hostile.act"))
    with pytest.raises(KeyboardInterrupt):
        score_rows(reward_set, [Row("real_ctrl_c")])


@pytest.mark.parametrize("command,death", [("os_exit", "exited with code 3"), ("segfault", "SIGSEGV")])
def test_a_worker_that_dies_is_replaced_and_its_row_counted(hostile_set, command, death):
    reward_set = load_reward_set(hostile_set("hostile.isolated"))
    result = score_rows(reward_set, [Row("ok"), Row(command), Row("later")])
    assert result.values["hostile.isolated"] == [2.0, None, 5.0]
    assert result.stats["hostile.isolated"].errors == 1 and death in result.stats["hostile.isolated"].first_error


def test_score_survives_every_hostile_reward_and_writes_every_row(hostile_set, tmp_path):
    commands = [
        "ok",
        "system_exit",
        "keyboard_interrupt",
        "base_exception",
        "fork",
        "os_exit",
        "segfault",
        "ignore_alarm",
        "done",
    ]
    rows = jsonl(tmp_path / "rows.jsonl", [{"completion": c} for c in commands])
    out = tmp_path / "scored.jsonl"
    proc = run_cli("score", str(hostile_set("hostile.isolated")), "-i", str(rows), "-o", str(out))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["completion"] for r in scored] == commands
    values = [r["rewards"]["hostile.isolated"] for r in scored]
    assert values[0] == 2.0 and values[4] == 0.5 and values[-1] == 4.0
    assert values[1:4] == [None] * 3 and values[5:8] == [None] * 3
    assert (proc.stdout + proc.stderr).count("wrote 9 scored rows") == 1  # a forked child never ran the rest
    assert "first error" in proc.stderr


def test_an_inline_fork_never_returns_into_our_code(hostile_set, tmp_path, monkeypatch):
    rows = jsonl(tmp_path / "rows.jsonl", [{"completion": "fork"}, {"completion": "ok"}])
    out = tmp_path / "scored.jsonl"
    pids = tmp_path / "forked.txt"
    monkeypatch.setenv("HOSTILE_FORK_PIDS", str(pids))
    proc = run_cli("score", str(hostile_set("hostile.act")), "-i", str(rows), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (proc.stdout + proc.stderr).count("wrote 2 scored rows") == 1
    assert [json.loads(line)["rewards"]["hostile.act"] for line in out.read_text().splitlines()] == [0.5, 2.0]
    [child] = [int(p) for p in pids.read_text().split()]
    for _ in range(100):  # the child ended at once (it must not hang on a lock another thread held)
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the forked child of a reward was still running")


def test_a_pool_worker_that_dies_costs_only_its_chunk(hostile_set, tmp_path):
    rows = jsonl(tmp_path / "rows.jsonl", [{"completion": c} for c in ["ok", "os_exit", "abc", "abcd"]])
    out = tmp_path / "scored.jsonl"
    proc = run_cli("score", str(hostile_set("hostile.act")), "-i", str(rows), "-o", str(out), "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    scored = [json.loads(line)["rewards"] for line in out.read_text().splitlines()]
    assert len(scored) == 4 and all(r["len"] is not None for r in scored)  # the other reward kept its scores
    assert "worker process died" in proc.stderr


# ---- 5: --workers with local plugin files -----------------------------------------------------------
def test_workers_load_local_plugin_files_by_path(hostile_set, tmp_path):
    rows = jsonl(tmp_path / "rows.jsonl", [{"completion": "x" * n} for n in range(1, 9)])
    out = tmp_path / "scored.jsonl"
    result = CliRunner().invoke(
        main, ["score", str(hostile_set("hostile.act")), "-i", str(rows), "-o", str(out), "--workers", "2"]
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["rewards"]["hostile.act"] for line in out.read_text().splitlines()] == [
        float(n) for n in range(1, 9)
    ]


def test_hard_limited_rewards_with_workers_keep_order_and_counts(hostile_set):
    reward_set = load_reward_set(hostile_set("hostile.isolated"))
    commands = ["a", "segfault", "abc", "system_exit", "abcde", "ab"]
    result = score_rows(reward_set, [Row(c) for c in commands], workers=2)
    assert result.values["hostile.isolated"] == [1.0, None, 3.0, None, 5.0, 2.0]
    assert result.stats["hostile.isolated"].errors == 2 and result.stats["hostile.isolated"].rows == 6
    assert result.values["len"] == [-4.0, -3.0, -2.0, -6.0, 0.0, -3.0]


# ---- 6: input problems, line-numbered, before any scoring -------------------------------------------
@pytest.mark.parametrize(
    "raw,message",
    [
        (b'{"completion": "ok"}\n{"completion": "caf\xe9"}\n', ":2: not UTF-8 text: byte 0xe9"),
        ('{"completion": "ok"}\n'.encode("utf-16"), ":1: the file is UTF-16"),
        (b'{"completion": "ok", "n": ' + b"9" * 5000 + b"}\n", ":1: not usable JSON"),
        (b'{"completion": ' + b"[" * 5000 + b"]" * 5000 + b"}\n", ":1: "),
        (b'{"completion": "ok"}\n{"completion": "\\ud800"}\n', ":2: holds a lone surrogate \\ud800"),
    ],
)
def test_unreadable_rows_are_reported_by_line(tmp_path, raw, message):
    path = tmp_path / "rows.jsonl"
    path.write_bytes(raw)
    with pytest.raises(InputError) as caught:
        read_rows(path)
    assert f"{path}{message}" in str(caught.value) and len(str(caught.value)) < 500


def test_bad_chat_parts_and_unreadable_rows_stop_score_before_scoring(registry, tmp_path):
    config = tmp_path / "set.toml"
    config.write_text('[[rewards]]\nuse = "length.target"\n')
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        '{"completion": "ok"}\n{"completion": [{"role": "assistant", "content": [{"type": "text", "text": null}]}]}\n'
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["score", str(config), "-i", str(rows), "-o", str(out)])
    assert result.exit_code == 2
    assert f"{rows}:2: 'completion'[0].content[0] must be an object whose 'text' is a string" in result.output
    assert not out.exists()


# ---- 7: config problems are short and name file, entry and key --------------------------------------
def test_a_yaml_alias_bomb_is_refused_with_a_short_message(registry, tmp_path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        lines.append(
            f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]"
        )
    lines.append("rewards:\n  - use: *i")
    config = tmp_path / "bomb.yaml"
    config.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as caught:
        load_reward_set(config)
    assert "more than 100000 values" in str(caught.value) and len(str(caught.value)) < 400


def test_a_bomb_inside_an_entry_is_echoed_briefly(registry, tmp_path):
    config = tmp_path / "set.yaml"
    config.write_text("rewards:\n  - use: [[[[1, 2, 3, 4, 5, 6]]]]\n    weight: 1e308\n")
    with pytest.raises(ConfigError) as caught:
        load_reward_set(config)
    text = str(caught.value)
    assert len(text) < 600 and "key 'use'" in text


@pytest.mark.parametrize(
    "text,message",
    [
        ("rewards:\n  - use: length.target\n    1: 2\n", "keys must be strings"),
        ("rewards:\n  - use: length.target\n    weight: 1.0e+308\n", "key 'weight': expected a weight between -1e+06 and 1e+06"),
    ],
)
def test_non_string_keys_and_huge_weights_are_config_errors(registry, tmp_path, text, message):
    config = tmp_path / "set.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_reward_set(config)
    assert message in str(caught.value) and str(config) in str(caught.value)


def test_include_cycles_are_detected(registry, tmp_path):
    (tmp_path / "self.toml").write_text('rewards = "self.toml"\n')
    (tmp_path / "a.toml").write_text('rewards = "b.toml"\n')
    (tmp_path / "b.toml").write_text('rewards = "a.toml"\n')
    for name in ("self.toml", "a.toml"):
        with pytest.raises(ConfigError) as caught:
            load_reward_set(tmp_path / name)
        assert "includes itself" in str(caught.value)


# ---- 8: output checked first, written whole, with the umask ----------------------------------------
def test_an_unwritable_output_fails_before_scoring(registry, tmp_path):
    config = tmp_path / "set.toml"
    config.write_text('[[rewards]]\nuse = "length.target"\n')
    rows = jsonl(tmp_path / "rows.jsonl", [{"completion": "ok"}])
    (tmp_path / "folder").mkdir()
    result = CliRunner().invoke(main, ["score", str(config), "-i", str(rows), "-o", str(tmp_path / "folder"), "--force"])
    assert result.exit_code == 2 and "is a folder" in result.output
    (tmp_path / "file").write_text("")
    result = CliRunner().invoke(main, ["score", str(config), "-i", str(rows), "-o", str(tmp_path / "file" / "out.jsonl")])
    assert result.exit_code == 2 and "cannot be written" in result.output


def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomically(tmp_path / "out.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o640


def test_sigterm_during_a_write_leaves_no_partial_file(tmp_path):
    script = (
        "import os, signal, sys; from grpo_rewards.rows import write_atomically\n"
        "def lines():\n    yield 'a\\n'\n    os.kill(os.getpid(), signal.SIGTERM)\n    yield 'b\\n'\n"
        f"write_atomically(__import__('pathlib').Path({str(tmp_path / 'out.jsonl')!r}), lines())\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


# ---- 9: plugin files stay inside the config's folder -----------------------------------------------
def test_plugin_paths_outside_the_config_folder_are_refused(registry, tmp_path, monkeypatch):
    outside = tmp_path / "outside.py"
    outside.write_text("raise SystemExit('this must never run')\n")
    folder = tmp_path / "configs"
    folder.mkdir()
    for path in ("../outside.py", str(outside)):
        config = folder / "set.toml"
        config.write_text(f'plugins = [{json.dumps(path)}]\n[[rewards]]\nuse = "length.target"\n')
        result = CliRunner().invoke(main, ["check", str(config)])
        assert result.exit_code == 2 and "lies outside the config's folder" in result.output
    monkeypatch.setenv(ALLOW_PLUGIN_PATHS_ENV, "1")
    (tmp_path / "fine.py").write_text("")
    config.write_text('plugins = ["../fine.py"]\n[[rewards]]\nuse = "length.target"\n')
    assert CliRunner().invoke(main, ["check", str(config)]).exit_code == 0


# ---- 10: serve-rewards that one client cannot stall ------------------------------------------------
@pytest.fixture
def small_server(registry):
    from grpo_rewards.plugins.reward_model.server import make_server

    from grpo_rewards import parse_reward_set

    from .reward_model_support import running

    reward_set = parse_reward_set([{"use": "length.target", "params": {"target": 2}}])
    with running(
        make_server(reward_set, threads=1, queue=1, header_timeout=0.5, body_timeout=2.0, max_body_bytes=1000, token="s3cret")
    ) as server:
        yield server


def _post(server, body: bytes, token: str | None = "s3cret") -> tuple[int, dict, dict]:
    connection = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    try:
        connection.request("POST", "/score", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        connection.close()


GOOD = json.dumps({"prompts": ["q"], "completions": ["ab"]}).encode()


def test_the_token_is_required(small_server):
    assert _post(small_server, GOOD)[0] == 200
    status, headers, body = _post(small_server, GOOD, token=None)
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    assert _post(small_server, GOOD, token="guess")[0] == 401


def test_an_oversized_body_gets_a_413_the_client_can_read(small_server):
    status, _, body = _post(small_server, b"x" * 3_000_000)
    assert status == 413 and "over this server's limit" in body["error"]


def test_a_full_server_answers_503_with_retry_after_and_a_trickle_is_cut_off(registry):
    from grpo_rewards.plugins.reward_model.server import make_server

    from grpo_rewards import parse_reward_set

    from .reward_model_support import running

    reward_set = parse_reward_set([{"use": "length.target", "params": {"target": 2}}])
    options = {"max_connections": 2, "header_timeout": 0.5, "body_timeout": 2.0, "token": "s3cret"}
    with running(make_server(reward_set, **options)) as small_server:
        _full_server_answers_503_and_cuts_a_trickle_off(small_server)


def _full_server_answers_503_and_cuts_a_trickle_off(small_server) -> None:
    assert small_server.request_queue_size == 2  # the listen backlog matches the connection threads
    address = small_server.server_address[:2]
    holder = socket.create_connection(address)
    holder.sendall(b"POST /score HTTP/1.1\r\n")  # takes a connection thread, then trickles
    waiting = socket.create_connection(address)  # takes the other one
    time.sleep(0.1)
    status, headers, _ = _post(small_server, GOOD)
    assert status == 503 and headers["Retry-After"] == "1"
    waiting.close()
    cut_off = False
    for _ in range(25):  # a byte every 0.2 s: each read is quick, the header deadline still ends it
        try:
            holder.sendall(b"X")
            time.sleep(0.2)
            if holder.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b"":
                cut_off = True
                break
        except BlockingIOError:
            continue
        except OSError:
            cut_off = True
            break
    holder.close()
    assert cut_off
    for _ in range(20):  # and the thread serves others again (a client retries a 503)
        if _post(small_server, GOOD)[0] == 200:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the server never recovered")


# ---- issue 20, 16: clients without the token hold nothing; deadlines from accept; a request deadline
AUTH = b"Authorization: Bearer s3cret\r\n"


@pytest.fixture
def guarded_server(registry):
    """Two scoring threads and four waiting places (the old pool and queue), a token, short deadlines."""
    from grpo_rewards.plugins.reward_model.server import make_server

    from grpo_rewards import parse_reward_set

    from .reward_model_support import running

    reward_set = parse_reward_set([{"use": "length.target", "params": {"target": 2}}])
    options = {"threads": 2, "queue": 4, "header_timeout": 1.0, "body_timeout": 4.0, "token": "s3cret"}
    with running(make_server(reward_set, **options)) as server:
        yield server


def _exchange(server, data: bytes, wait: float = 3.0) -> tuple[list[int], bytes, float]:
    """Send raw bytes, read until the server closes (or ``wait`` passes): the statuses, the bytes
    and the seconds until the close."""
    sock = socket.create_connection(server.server_address[:2], timeout=wait)
    start = time.monotonic()
    chunks = []
    try:
        sock.sendall(data)
        while time.monotonic() - start < wait:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:  # a timeout (the server kept it open) or a reset
        pass
    finally:
        elapsed = time.monotonic() - start
        sock.close()
    raw = b"".join(chunks)
    return [int(code) for code in re.findall(rb"HTTP/1\.[01] (\d{3}) ", raw)], raw, elapsed


def _health_within(server, seconds: float) -> tuple[int | None, float]:
    """GET /health with the token, retried (as reward_model.remote retries a 503) until a 200 or
    ``seconds``: the last status and when it came."""
    start, status = time.monotonic(), None
    while time.monotonic() - start < seconds:
        connection = http.client.HTTPConnection(
            *server.server_address[:2], timeout=max(0.2, seconds - (time.monotonic() - start))
        )
        try:
            connection.request("GET", "/health", headers={"Authorization": "Bearer s3cret"})
            status = connection.getresponse().status
        except OSError:
            status = None
        finally:
            connection.close()
        if status == 200:
            break
        time.sleep(0.05)
    return status, time.monotonic() - start


def _announce(length: int, extra: bytes = b"") -> bytes:
    return b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" % (length, extra)


@pytest.mark.parametrize(
    "request_head",
    [
        _announce(10 * 1024 * 1024),  # the case
        _announce(10 * 1024 * 1024, b"Expect: 100-continue\r\n"),  # no 100 Continue for a stranger
        _announce(10 * 1024 * 1024, b"Authorization: Bearer guess\r\n"),  # a wrong token
    ],
    ids=["no-token", "expect-100", "wrong-token"],
)
def test_a_401_comes_from_the_headers_and_closes_with_the_body_unread(guarded_server, request_head):
    statuses, raw, elapsed = _exchange(guarded_server, request_head)
    assert statuses == [401] and b"100 Continue" not in raw
    assert elapsed < 2.0  # closed at once, not after the 4 s body deadline spent reading 10 MB


def test_expect_continue_is_answered_once_the_request_is_accepted(guarded_server):
    sock = socket.create_connection(guarded_server.server_address[:2], timeout=5)
    try:
        sock.sendall(_announce(len(GOOD), b"Expect: 100-continue\r\n" + AUTH))
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(GOOD)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
    finally:
        sock.close()


def test_health_answers_while_20_unauthenticated_clients_announce_10_mb(guarded_server):
    attackers = [socket.create_connection(guarded_server.server_address[:2]) for _ in range(20)]
    try:
        for sock in attackers:
            sock.sendall(_announce(10 * 1024 * 1024))
        status, elapsed = _health_within(guarded_server, 3.0)
        assert status == 200, f"/health answered {status} after {elapsed:.1f} s"
    finally:
        for sock in attackers:
            sock.close()


def test_slow_header_clients_are_cut_off_counted_from_their_accept(guarded_server):
    """20 clients trickling their headers: each is cut off header_timeout after its accept (not
    after it leaves a queue), and an authorised /health answers meanwhile."""
    address = guarded_server.server_address[:2]
    attackers = []
    for _ in range(20):
        sock = socket.create_connection(address)
        sock.sendall(b"GET /health HTTP/1.1\r\nX-Slow: ")
        attackers.append((sock, time.monotonic()))
    status, elapsed = _health_within(guarded_server, guarded_server.header_timeout + 3.0)
    closed_after = []
    for sock, opened in attackers:
        sock.settimeout(0.3)
        while time.monotonic() - opened < 6.0:  # a byte every 0.3 s: each read is quick, the deadline ends it
            try:
                sock.sendall(b"a")
                if sock.recv(65536) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        closed_after.append(time.monotonic() - opened)
        sock.close()
    assert status == 200, f"/health answered {status} after {elapsed:.1f} s"
    assert max(closed_after) < guarded_server.header_timeout + 1.5, closed_after


def test_a_request_deadline_answers_what_was_scored_in_time(hostile_set):
    """Rows not scored by the request deadline are null and counted, by the server and as errors by
    reward_model.remote; /health is not held up meanwhile."""
    from grpo_rewards.plugins.reward_model.server import make_server

    from .reward_model_support import running

    # the blocking rows run to a 4 s limit: the scoring thread is surely still busy when the next
    # request has waited out its own 1.5 s deadline, however the rows are spread over workers
    reward_set = load_reward_set(hostile_set("hostile.isolated", "timeout = 4.0\n"))
    score_rows(reward_set, [Row("warm")])  # the hard-limit worker started
    completions = ["a", "ab", "abc", "ignore_alarm", "ignore_alarm 2"]  # chunks of 1, 2, then 4 rows (distinct: none merged)
    with running(make_server(reward_set, threads=1, queue=1, request_timeout=1.5)) as server:
        remote = get_registry().get("reward_model.remote").build({"url": server.url, "reward": "hostile.isolated", "retries": 0})
        start = time.monotonic()
        run = remote.run_trl(completions=completions)
        elapsed = time.monotonic() - start
        assert run.values == [1.0, 2.0, 3.0, None, None] and elapsed < 4.0  # two rows of 2 s each were still running
        stats = run.stats
        assert stats.errors == 2 and "request deadline passed" in stats.first_error
        assert server.unfinished == 2
        status, waited = _health_within(server, 1.0)
        assert status == 200, waited
        # The only scoring thread still ends its chunk: the next request waits for it until its own
        # deadline, then is told to come back.
        connection = http.client.HTTPConnection(*server.server_address[:2], timeout=10)
        connection.request("POST", "/score", body=json.dumps({"completions": ["a"]}))
        response = connection.getresponse()
        assert response.status == 503 and response.getheader("Retry-After") == "1"
        connection.close()


# ---- issue 20, 17: framing that a proxy could read differently, bodies that are not our JSON --------
SECOND = b"GET /health HTTP/1.1\r\nHost: x\r\n" + AUTH + b"\r\n"


def _score_then_second(headers: bytes) -> bytes:
    """A scoring request (its body valid JSON when read by Content-Length), then a second request."""
    head = b"POST /score HTTP/1.1\r\nHost: x\r\n" + AUTH + headers.replace(b"{N}", b"%d" % len(GOOD))
    return head + b"\r\n" + GOOD + SECOND


def _body_is_second(request_line: bytes) -> bytes:
    """A request with a body it should not have, that body being a whole second request."""
    return request_line + b"\r\nHost: x\r\n" + AUTH + b"Content-Length: %d\r\n\r\n" % len(SECOND) + SECOND


@pytest.mark.parametrize(
    "data, status",
    [
        (_score_then_second(b"Content-Length: {N}\r\nTransfer-Encoding: chunked\r\n"), 400),
        (_score_then_second(b"Transfer-Encoding: chunked\r\nContent-Length: {N}\r\n"), 400),
        (_score_then_second(b"Content-Length: {N}\r\nTransfer-Encoding: identity\r\n"), 400),
        (_score_then_second(b"Content-Length: {N}\r\nContent-Length: 0\r\n"), 400),
        (_body_is_second(b"GET /health HTTP/1.1"), 400),
        (_body_is_second(b"POST /nowhere HTTP/1.1"), 404),
        (b"GET /health HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Transfer-Encoding : chunked\r\n\r\n" + SECOND, 400),
        (b"GET /health HTTP/1.1\r\nHost: x\r\n" + AUTH + b"Transfer-Encoding\r\n : chunked\r\n\r\n" + SECOND, 400),
    ],
    ids=["CL+TE", "TE+CL", "CL+TE-identity", "two-CL", "GET-with-body", "404-with-body", "TE-space-colon", "TE-folded"],
)
def test_ambiguous_framing_is_refused_and_no_body_is_read_as_a_request(guarded_server, data, status):
    """Each request is followed by a second one that a proxy may have read as part of its body:
    one answer, then the connection closes."""
    statuses, raw, _ = _exchange(guarded_server, data)
    assert statuses == [status], raw[:300]


def test_length_notations_python_reads_but_http_does_not_are_refused(guarded_server):
    n = b"%d" % len(GOOD)
    for length, status in ((n[:1] + b"_" + n[1:], 400), (b"+" + n, 400), (b" " + n + b" ", 200)):  # int() reads each as n
        statuses, raw, _ = _exchange(
            guarded_server, b"POST /score HTTP/1.1\r\n" + AUTH + b"Content-Length: " + length + b"\r\n\r\n" + GOOD
        )
        assert statuses[:1] == [status], (length, raw[:200])


def test_headers_are_bounded_in_bytes_not_only_in_lines(guarded_server):
    many_long_lines = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 1000) for i in range(90))  # 90 KB, 90 lines
    statuses, raw, _ = _exchange(guarded_server, b"GET /health HTTP/1.1\r\n" + AUTH + many_long_lines + b"\r\n")
    assert statuses == [431] and raw.rstrip().endswith(b"}")  # a JSON error, then the close


@pytest.mark.parametrize(
    "body, content_type, status, message",
    [
        (b'{"completions": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json", 400, "nests more than 64"),
        (
            b'{"completions": ["ab"], "columns": {"n": [' + b"[" * 80 + b"]" * 80 + b"]}}",
            "application/json",
            400,
            "nests more than 64",
        ),
        (b'{"completions": ["ab"], "columns": {"n": [' + b"9" * 5000 + b"]}}", "application/json", 400, "5000 digits"),
        (b'{"completions": ["ab"], "columns": {"n": [NaN]}}', "application/json", 400, "NaN, which is not JSON"),
        (GOOD, "text/plain", 415, "is not JSON"),
        (GOOD, "application/x-www-form-urlencoded", 415, "is not JSON"),
    ],
)
def test_malformed_bodies_get_a_4xx_never_a_500(guarded_server, body, content_type, status, message):
    connection = http.client.HTTPConnection(*guarded_server.server_address[:2], timeout=10)
    try:
        connection.request("POST", "/score", body=body, headers={"Content-Type": content_type, "Authorization": "Bearer s3cret"})
        response = connection.getresponse()
        got = (response.status, json.loads(response.read())["error"])
    finally:
        connection.close()
    assert got[0] == status and message in got[1], got
