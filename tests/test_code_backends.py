"""code.tests on SandboxFusion and Piston, against a local stand-in server speaking each protocol.

The stand-in executes what it receives with the local interpreter (as the engines do in their
containers), so the runner, the candidate's process and the verdict channel are the real ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from grpo_rewards.plugins.code import probes as code_probes

from .code_support import code_tests, humaneval_rows, run_rows, score


def _execute(code: str, stdin: str, timeout: float) -> tuple[str, str, int | None, bool]:
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "main.py")
        with open(path, "w") as handle:
            handle.write(code)
        try:
            done = subprocess.run(
                [sys.executable, "-I", path], input=stdin.encode(), capture_output=True, timeout=timeout, cwd=work
            )
        except subprocess.TimeoutExpired:
            return "", "", None, True
        return done.stdout.decode(), done.stderr.decode(), done.returncode, False


class StandIn:
    """One server for both protocols; ``fail_first`` answers that many requests with HTTP 503."""

    def __init__(self, fail_first: int = 0, always_fail: bool = False) -> None:
        self.fail_first, self.always_fail = fail_first, always_fail
        self.requests: list[tuple[str, dict]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append((self.path, body))
                if owner.always_fail or len(owner.requests) <= owner.fail_first:
                    self._reply(503, {"message": "busy"})
                elif self.path == "/run_code":
                    out, err, code, timed_out = _execute(body["code"], body.get("stdin", ""), body["run_timeout"])
                    self._reply(
                        200,
                        {
                            "status": "Success" if code == 0 else "Failed",
                            "message": "",
                            "compile_result": None,
                            "run_result": {
                                "status": "TimeLimitExceeded" if timed_out else "Finished",
                                "execution_time": 0.1,
                                "return_code": code,
                                "stdout": out,
                                "stderr": err,
                            },
                            "files": {},
                        },
                    )
                elif self.path == "/api/v2/execute":
                    out, err, code, timed_out = _execute(
                        body["files"][0]["content"], body.get("stdin", ""), body["run_timeout"] / 1000
                    )
                    self._reply(
                        200,
                        {
                            "language": "python",
                            "version": "3.11.7",
                            "run": {
                                "stdout": out,
                                "stderr": err,
                                "code": code,
                                "signal": "SIGKILL" if timed_out else None,
                                "output": out + err,
                            },
                        },
                    )
                else:
                    self._reply(404, {"message": "no such route"})

            def _reply(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in():
    server = StandIn()
    yield server
    server.close()


BACKENDS = ["sandboxfusion", "piston"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_canonical_solutions_score_1_and_hacks_0(backend, stand_in):
    rows = [humaneval_rows()[i] for i in (0, 32)]
    fn = code_tests(backend=backend, url=stand_in.url)
    assert score(fn, [r["solution"] for r in rows], rows) == [1.0, 1.0]
    probes = ["code_exit", "code_os_exit", "code_lying_eq", "code_print_expected", "code_patch_builtins", "code_infinite_loop"]
    row = rows[0]
    completions = [code_probes.CODE_PROBES[p].make(code_probes.context_for(row)) for p in probes]
    fn = code_tests(backend=backend, url=stand_in.url, test_timeout=1.0)
    run = run_rows(fn, completions, [row] * len(probes))
    assert run.values == [0.0] * len(probes)
    assert run.stats.errors == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_tests_travel_on_stdin_never_in_the_program(backend, stand_in):
    row = humaneval_rows()[0]
    score(code_tests(backend=backend, url=stand_in.url), [row["solution"].replace("```python\n", "```python\n#\n")], [row])
    _, body = stand_in.requests[-1]
    program = body["code"] if backend == "sandboxfusion" else body["files"][0]["content"]
    assert "def check(candidate)" not in program and "def check(candidate)" in body["stdin"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_stdio_tests(backend, stand_in):
    row = {"test": json.dumps({"inputs": ["2 3\n", "5 5\n"], "outputs": ["5\n", "11\n"]})}
    fn = code_tests(backend=backend, url=stand_in.url, entry_point_column=None, setup_column=None)
    assert score(fn, ["```python\nprint(sum(map(int, input().split())))\n```"], [row]) == [0.5]
    assert stand_in.requests[-1][1]["stdin"] in ("2 3\n", "5 5\n")


@pytest.mark.parametrize("backend", BACKENDS)
def test_transient_503s_are_retried(backend):
    server = StandIn(fail_first=2)
    try:
        row = humaneval_rows()[1]
        fn = code_tests(backend=backend, url=server.url, retries=3)
        fresh = row["solution"].replace("```python\n", f"```python\n# {backend} retry\n")
        assert score(fn, [fresh], [row]) == [1.0]
        assert len(server.requests) == 3
    finally:
        server.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_engine_that_keeps_failing_gives_counted_nones(backend):
    server = StandIn(always_fail=True)
    try:
        rows = [humaneval_rows()[i] for i in (4, 5)]
        fn = code_tests(backend=backend, url=server.url, retries=1)
        fresh = [r["solution"].replace("```python\n", f"```python\n# {backend} down\n") for r in rows]
        run = run_rows(fn, fresh, rows)
        assert run.values == [None, None]
        assert run.stats.errors == 2 and "503" in run.stats.first_error
    finally:
        server.close()


def test_an_engine_that_is_not_there_gives_counted_nones():
    row = humaneval_rows()[6]
    fn = code_tests(backend="piston", url="http://127.0.0.1:9", retries=0, request_timeout=1.0)
    run = run_rows(fn, [row["solution"].replace("```python\n", "```python\n# nowhere\n")], [row])
    assert run.values == [None]
    assert run.stats.errors == 1
