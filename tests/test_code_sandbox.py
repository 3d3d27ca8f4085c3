"""code.tests through the real local sandbox: canonical solutions pass, every hack probe scores 0.

Each probe runs under every isolation level this machine offers (bubblewrap where it works, and
always the rlimits level a machine without it falls back to).
"""

from __future__ import annotations

import glob
import json
import os
import socket
import tempfile
import threading

import pytest
from grpo_rewards.plugins.code import probes as code_probes
from grpo_rewards.plugins.code import sandbox
from grpo_rewards.plugins.code.testcases import outputs_match, parse_tests

from grpo_rewards.errors import RunError

from .code_support import code_tests, humaneval_rows, run_rows, score

LEVELS = ["rlimits"] + (["bwrap"] if sandbox.isolation("auto").level == "bwrap" else [])
ROWS = [0, 32, 38]  # a plain one; find_zero (its tests use the helper poly); decode_cyclic (uses encode_cyclic)
ESCAPES = ["/tmp/grpo-code-escape.txt", os.path.expanduser("~/grpo-code-escape.txt"), "/work/grpo-code-escape.txt"]


def _leftovers() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "grpo-code-*")))


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Runs' work directories go here, away from other processes' sandboxes on this machine."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("level", LEVELS)
def test_canonical_solutions_score_1(level):
    rows = [humaneval_rows()[i] for i in ROWS]
    fn = code_tests(isolation=level)
    assert score(fn, [r["solution"] for r in rows], rows) == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("probe", sorted(code_probes.CODE_PROBES))
def test_every_probe_scores_0(level, probe, monkeypatch, private_tmp):
    # A server on this machine the network probe tries to reach (it solves the task if it can).
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    monkeypatch.setattr(code_probes, "NETWORK_TARGETS", [server.getsockname()])
    before = _leftovers()
    row = humaneval_rows()[0]
    completion = code_probes.CODE_PROBES[probe].make(code_probes.context_for(row))
    fn = code_tests(isolation=level, test_timeout=1.0, cpu_seconds=3, memory_mb=512)
    try:
        run = run_rows(fn, [completion], [row])
        assert run.values == [0.0], run.stats.first_error
    finally:
        server.close()
    assert run.stats.errors == 0
    assert not any(os.path.exists(p) for p in ESCAPES)
    assert _leftovers() <= before  # every run's work directory is gone


def test_escape_probes_solve_the_task_once_the_escape_worked():
    # So a 0 above means the sandbox stopped the escape, not that the probe was wrong anyway.
    row = humaneval_rows()[0]
    reference = row["code_prompt"] + row["canonical_solution"]
    for name in ("code_read_tests", "code_edit_tests", "code_network", "code_write_outside"):
        text = code_probes.CODE_PROBES[name].make(code_probes.context_for(row))
        assert f"if escaped:\n    exec({reference!r})" in text


def test_partial_credit_counts_top_level_test_statements():
    row = {
        "test": "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(2) == 4\n"
        "    for x in range(3):\n        assert candidate(x) == 2 * x\n    assert candidate(5) == 11\n",
        "entry_point": "double",
    }
    program = "```python\ndef double(x):\n    return 2 * x\n```"
    assert score(code_tests(setup_column=None), [program], [row]) == [0.75]
    assert score(code_tests(setup_column=None, scoring="all"), [program], [row]) == [0.0]


def test_assert_style_tests_call_functions_by_name():
    row = {"test": "assert add(1, 2) == 3\nassert add('a', 'b') == 'ab'\nassert add(1, 1) == 3\n"}
    program = "```python\ndef add(a, b):\n    return a + b\n```"
    fn = code_tests(entry_point_column=None, setup_column=None)
    assert score(fn, [program], [row]) == [pytest.approx(2 / 3)]


def test_a_timeout_fails_that_test_and_the_ones_after():
    row = {
        "test": "def check(candidate):\n    assert candidate(1) == 1\n    assert candidate(0) == 0\n"
        "    assert candidate(2) == 2\n",
        "entry_point": "f",
    }
    program = "```python\ndef f(x):\n    while x == 0:\n        pass\n    return x\n```"
    assert score(code_tests(setup_column=None, test_timeout=0.5), [program], [row]) == [pytest.approx(1 / 3)]


def test_stdio_tests_whitespace_and_float_tolerance():
    tests = json.dumps([{"input": "1 2\n", "output": "3\n"}, {"input": "1 3\n", "output": "0.3333333\n"}])
    program = "```python\na, b = map(int, input().split())\nprint(a + b if b == 2 else a / b, end='  \\n\\n')\n```"
    rows = [{"test": tests}]
    assert score(code_tests(entry_point_column=None, setup_column=None), [program], rows) == [0.5]
    assert score(code_tests(entry_point_column=None, setup_column=None, float_tol=1e-6), [program], rows) == [1.0]


def test_stdio_tests_in_inputs_outputs_form_and_no_tests():
    assert parse_tests({"inputs": ["1\n"], "outputs": ["2\n"]}).style == "stdio"
    assert parse_tests("") is None and parse_tests(None) is None
    fn = code_tests(entry_point_column=None, setup_column=None)
    run = run_rows(fn, ["```python\nprint(1)\n```"], [{"test": ""}])
    assert run.values == [None]
    assert run.stats.errors == 0  # no tests: the reward does not apply, not a failure


def test_program_that_does_not_compile_scores_0_and_no_block_scores_0():
    row = humaneval_rows()[0]
    fn = code_tests()
    assert score(fn, ["```python\ndef has_close_elements(:\n```", "no code"], [row, row]) == [0.0, 0.0]


def test_outputs_match():
    assert outputs_match("1 2\n3\n", "1\n2 3")
    assert not outputs_match("1 2", "1 2 3")
    assert outputs_match("0.30000001", "0.3", 1e-6) and not outputs_match("0.31", "0.3", 1e-6)
    assert not outputs_match("nan", "nan1", 1.0)


def test_a_sandbox_that_cannot_start_is_a_counted_none(monkeypatch):
    monkeypatch.setattr(sandbox, "base_python", lambda: "/nonexistent/python3")
    row = humaneval_rows()[0]
    fn = code_tests(isolation="rlimits")
    fresh = row["solution"].replace("```python\n", "```python\n# not in the cache\n")
    run = run_rows(fn, [fresh], [row])
    assert run.values == [None]
    assert run.stats.errors == 1


def test_asking_for_bwrap_where_it_does_not_work_is_an_error(monkeypatch):
    monkeypatch.setitem(sandbox._detected, "bwrap", sandbox.Isolation("rlimits", "bubblewrap unavailable: test"))
    with pytest.raises(RunError, match="isolation 'bwrap'"):
        sandbox.isolation("bwrap")
    assert sandbox.isolation("auto").level == "rlimits"


def test_the_isolation_level_is_printed(capsys):
    sandbox._announced.clear()
    level = sandbox.isolation("auto")
    assert f"sandbox isolation: {level.level}" in capsys.readouterr().err


def test_cache_reuses_an_outcome_for_the_same_program_and_tests():
    from grpo_rewards.plugins.code.execute import CACHE

    row = humaneval_rows()[2]
    fn = code_tests()
    hits = CACHE.hits
    assert score(fn, [row["solution"]] * 2, [row, row]) == [1.0, 1.0]
    score(fn, [row["solution"]], [row])
    assert CACHE.hits > hits


def test_concurrent_callers_share_the_pool_safely():
    rows = [humaneval_rows()[i] for i in (3, 4)]
    fn = code_tests(workers=2)
    out: list = []
    threads = [threading.Thread(target=lambda: out.append(score(fn, [r["solution"] for r in rows], rows))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [[1.0, 1.0], [1.0, 1.0]]


@pytest.mark.parametrize("message", [b'{"sandbox_error": "fake"}', b'{"ready": ["f"]}\n{"ok": 3}', b"[" * 100000 + b"]" * 100000])
def test_messages_forged_on_the_channel_are_the_programs_failure_not_a_none(message):
    # The program writes to every descriptor it might share with the runner before its functions
    # are called: a fake sandbox failure must not turn its 0 into a None, nor a fake answer into a pass.
    row = {"test": "def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(5) == 10\n", "entry_point": "f"}
    program = (
        "```python\nimport os\nfor fd in range(3, 10):\n    try:\n"
        f"        os.write(fd, {message!r} + b'\\n')\n    except OSError:\n        pass\n"
        "def f(x):\n    return 3\n```"
    )
    fn = code_tests(setup_column=None)
    run = run_rows(fn, [program], [row])
    assert run.values == [0.0]
    assert run.stats.errors == 0


@pytest.mark.parametrize("probe", ["code_print_expected", "code_exit", "code_os_exit", "code_write_outside"])
def test_probes_on_a_stdin_stdout_row(probe):
    row = {"test": json.dumps([{"input": "2 3\n", "output": "5\n"}, {"input": "4 4\n", "output": "8\n"}])}
    completion = code_probes.CODE_PROBES[probe].make(code_probes.context_for(row))
    fn = code_tests(entry_point_column=None, setup_column=None)
    run = run_rows(fn, [completion], [row])
    assert run.values == [0.0]
    assert run.stats.errors == 0
