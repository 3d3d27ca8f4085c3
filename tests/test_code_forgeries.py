"""code.tests attacked the way a policy would (issue 20, classes 9-13): forged verdicts, a wrong
program's 0 turned into None, escapes from the rlimits level, and no disk quota.

Each class has the case the issue named and instances it did not; every test runs at every
isolation level this machine offers. The escapes succeed only where the sandbox let them: a
program that escaped prints the right answer (or passes), so a 0 is the sandbox's doing.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile

import pytest
from grpo_rewards.plugins.code import sandbox

from .code_support import code_tests, run_rows, score

LEVELS = ["rlimits"] + (["bwrap"] if sandbox.isolation("auto").level == "bwrap" else [])


def fence(program: str) -> str:
    return f"```python\n{program}```"


def run_assert(level: str, tests: str, program: str, setup: str | None = None, **params) -> float | None:
    row = {"test": tests, **({"code_prompt": setup} if setup else {})}
    fn = code_tests(isolation=level, entry_point_column=None, setup_column="code_prompt" if setup else None, **params)
    run = run_rows(fn, [fence(program)], [row])
    assert run.stats.errors == 0, run.stats.first_error
    return run.values[0]


def stdio_row(pairs: list[tuple[str, str]]) -> dict:
    return {"test": json.dumps([{"input": i, "output": o} for i, o in pairs])}


def run_stdio(level: str, pairs: list[tuple[str, str]], program: str, **params) -> float | None:
    fn = code_tests(isolation=level, entry_point_column=None, setup_column=None, **params)
    run = run_rows(fn, [fence(program)], [stdio_row(pairs)])
    assert run.stats.errors == 0, run.stats.first_error
    return run.values[0]


# --- 9. the program's names never shadow builtins or the trusted setup --------------------------

MBPP_2 = (  # MBPP task 2, as MBPP writes its tests
    "assert set(similar_elements((3, 4, 5, 6),(5, 7, 4, 10))) == set((4, 5))\n"
    "assert set(similar_elements((1, 2, 3, 4),(5, 4, 3, 7))) == set((3, 4))\n"
    "assert set(similar_elements((11, 12, 14, 13),(17, 15, 14, 13))) == set((13, 14))\n"
)


@pytest.mark.parametrize("level", LEVELS)
def test_a_program_defining_set_does_not_pass_mbpp_2(level):
    program = "def similar_elements(a, b):\n    return 0\ndef set(x):\n    return 0\n"
    assert run_assert(level, MBPP_2, program) == 0.0
    honest = "def similar_elements(a, b):\n    return tuple(set(a) & set(b))\n"
    assert run_assert(level, MBPP_2, honest) == 1.0


@pytest.mark.parametrize("level", LEVELS)
def test_a_program_defining_abs_zip_or_range_does_not_pass(level):
    tests = (
        "assert abs(area(2) - 12.566) < 1e-3\n"
        "for r, want in zip(range(1, 3), [3.1416, 12.566]):\n    assert abs(area(r) - want) < 1e-3\n"
    )
    forged = (
        "def area(r):\n    return -1\ndef abs(x):\n    return 0\ndef zip(*a):\n    return []\ndef range(*a):\n    return []\n"
    )
    assert run_assert(level, tests, forged) == 0.0
    # A correct program may still use those names for itself.
    honest = "def abs(x):\n    return x if x > 0 else -x\ndef area(r):\n    return 3.14159265 * r * r\n"
    assert run_assert(level, tests, honest) == 1.0


@pytest.mark.parametrize("level", LEVELS)
def test_a_program_redefining_a_setup_helper_does_not_pass(level):
    setup = "def close(a, b):\n    return abs(a - b) < 1e-9\n"
    tests = "assert close(half(3), 1.5)\nassert close(half(-1), -0.5)\n"
    forged = "def close(a, b):\n    return True\ndef half(x):\n    return 0\n"
    assert run_assert(level, tests, forged, setup=setup) == 0.0
    assert run_assert(level, tests, "def half(x):\n    return x / 2\n", setup=setup) == 1.0


# --- 10. exceptions raised in the program are never control flow in the tests -----------------

DOUBLE = "def double(x):\n    raise StopIteration\n"


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    "tests",
    [
        "assert all(map(lambda x: double(x) == 2 * x, range(5)))\n",  # the case the issue named
        "for got, want in zip(map(double, [1, 2, 3]), [2, 4, 6]):\n    assert got == want\n",
        "assert list(filter(lambda x: double(x) != 2 * x, range(5))) == []\n",
    ],
)
def test_stop_iteration_from_the_program_does_not_end_a_test_early(level, tests):
    assert run_assert(level, tests, DOUBLE) == 0.0
    assert run_assert(level, tests, "def double(x):\n    return 2 * x\n") == 1.0


@pytest.mark.parametrize("level", LEVELS)
def test_an_attribute_error_from_the_program_is_not_a_missing_attribute(level):
    # getattr with a default swallows AttributeError: the program's must not reach it.
    tests = "class Box:\n    @property\n    def value(self):\n        return double(3)\nassert getattr(Box(), 'value', 6) == 6\n"
    assert run_assert(level, tests, "def double(x):\n    raise AttributeError('value')\n") == 0.0
    assert run_assert(level, tests, "def double(x):\n    return 2 * x\n") == 1.0


@pytest.mark.parametrize("level", LEVELS)
def test_an_exception_the_test_expects_by_name_still_passes(level):
    tests = "try:\n    root(-1)\nexcept ValueError:\n    pass\nelse:\n    assert False\nassert root(9) == 3\n"
    honest = "def root(x):\n    if x < 0:\n        raise ValueError('negative')\n    return int(x ** 0.5)\n"
    assert run_assert(level, tests, honest) == 1.0
    # ... but not an exception of the program's own making that borrows the name.
    own = "class ValueError(Exception):\n    pass\ndef root(x):\n    if x < 0:\n        raise ValueError('negative')\n    return 3\n"
    assert run_assert(level, tests, own) == 0.5


# --- 11. a wrong program can never turn its 0 into None --------------------------------------

WRONG = "import os, sys\nprint(0)\n"


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    "attack",
    [
        "open('stderr.txt', 'w').close()\n",  # the case the issue named: truncate a file of the harness
        "os.lseek(2, 0, 0)\nos.write(2, b'x' * 64)\n",  # overwrite what the harness wrote before the program
        "for name in os.listdir('.'):\n    try:\n        os.remove(name)\n    except OSError:\n        pass\n",
    ],
)
def test_a_wrong_stdio_program_cannot_make_itself_none(level, attack):
    assert run_stdio(level, [("1\n", "2\n")], WRONG + attack) == 0.0


@pytest.mark.parametrize("level", LEVELS)
def test_a_wrong_program_that_prints_without_end_scores_0(level):
    program = "import sys\nchunk = 'x' * (1 << 20)\nwhile True:\n    sys.stdout.write(chunk)\n    sys.stderr.write(chunk)\n"
    assert run_stdio(level, [("1\n", "2\n")], program, test_timeout=2.0) == 0.0


# --- 12. rlimits: files, directories and sibling runs out of reach -----------------------------

# Leaves the guard's view behind: the guard resolves a relative path against the current directory
# (here a folder eight levels down in the work directory), the kernel against dir_fd (the work directory).
ESCAPE = """import os
def outside(path, flags=os.O_RDONLY):
    here = os.getcwd()
    work = os.open('.', os.O_RDONLY)
    os.makedirs('d/d/d/d/d/d/d/d', exist_ok=True)
    os.chdir('d/d/d/d/d/d/d/d')
    try:
        return os.open(path, flags, 0o644, dir_fd=work)
    finally:
        os.chdir(here)
"""


@pytest.fixture
def secret_answer():
    # Like a user's input file: world-readable, in a world-readable folder, name not known in advance.
    folder = tempfile.mkdtemp(prefix=f"grpo-forgery-{secrets.token_hex(4)}-")
    os.chmod(folder, 0o755)
    answer = str(secrets.randbelow(10**9))
    with open(os.path.join(folder, "rows.jsonl"), "w") as handle:
        handle.write(answer + "\n")
    os.chmod(os.path.join(folder, "rows.jsonl"), 0o644)
    yield answer
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("level", LEVELS)
def test_a_program_cannot_read_a_world_readable_file_outside_its_work_directory(level, secret_answer):
    program = ESCAPE + (
        "found = '0'\n"
        "try:\n"
        "    for name in os.listdir('/tmp'):\n"
        "        if name.startswith('grpo-forgery-'):\n"
        "            fd = outside('../' + name + '/rows.jsonl')\n"
        "            found = os.read(fd, 100).decode().strip()\n"
        "except OSError:\n"
        "    pass\n"
        "print(found)\n"
    )
    assert run_stdio(level, [("\n", secret_answer + "\n")], program) == 0.0


@pytest.mark.parametrize("level", LEVELS)
def test_a_program_cannot_write_into_the_hosts_temp_folder(level):
    name = f"grpo-forgery-escape-{secrets.token_hex(4)}.txt"
    program = ESCAPE + (
        "escaped = False\ntry:\n"
        "    tmp = outside('..')\n"
        f"    fd = os.open({name!r}, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=tmp)\n"
        "    escaped = os.write(fd, b'escaped') == 7 and not os.path.samestat(os.fstat(tmp), os.stat('.'))\n"
        "except OSError:\n    pass\n"
        "print(2 if escaped else 0)\n"
    )
    try:
        assert run_stdio(level, [("1\n", "2\n")], program) == 0.0
        assert not os.path.exists(os.path.join(tempfile.gettempdir(), name))
    finally:
        if os.path.exists(os.path.join(tempfile.gettempdir(), name)):
            os.remove(os.path.join(tempfile.gettempdir(), name))


# A victim run marks itself with an unusual niceness so the attacker finds it (and only it: other
# sandboxes on this machine are left alone) among the processes it can see.
MARK = 13
FIND_VICTIM = (
    """import os, time
def victims():
    found = []
    for pid in os.listdir('/proc'):
        try:
            if pid.isdigit() and int(pid) != os.getpid() and os.getpriority(os.PRIO_PROCESS, int(pid)) == %d:
                found.append(int(pid))
        except OSError:
            pass
    return found
"""
    % MARK
)


def _victim(then: str) -> str:
    return f"import os, time\nos.nice({MARK})\ntime.sleep(1.2)\n{then}"


def _attacker(act: str) -> str:
    return (
        ESCAPE + FIND_VICTIM + "end = time.monotonic() + 1.5\nhit = False\n"
        "while time.monotonic() < end and not hit:\n    for pid in victims():\n"
        f"        try:\n            {act}\n            hit = True\n        except OSError:\n            pass\n"
        "    time.sleep(0.02)\nprint(0)\n"
    )


def _side_by_side(level: str, victim: str, attacker: str, expected: str) -> list[float | None]:
    rows = [stdio_row([("\n", expected + "\n")]), stdio_row([("\n", "1\n")])]
    fn = code_tests(isolation=level, entry_point_column=None, setup_column=None, workers=2, test_timeout=4.0)
    return score(fn, [fence(victim), fence(attacker)], rows)


@pytest.mark.parametrize("level", LEVELS)
def test_a_program_cannot_kill_a_sibling_run(level):
    act = "import _signal\n            _signal.pidfd_send_signal(os.pidfd_open(pid), 9)"
    assert _side_by_side(level, _victim("print(42)\n"), _attacker(act), "42") == [1.0, 0.0]


@pytest.mark.parametrize("level", LEVELS)
def test_a_program_cannot_lower_a_siblings_priority(level):
    act = "os.setpriority(os.PRIO_PROCESS, pid, 19)"
    victim = _victim("print(os.getpriority(os.PRIO_PROCESS, 0))\n")
    assert _side_by_side(level, victim, _attacker(act), str(MARK)) == [1.0, 0.0]


@pytest.mark.parametrize("level", LEVELS)
def test_a_program_cannot_read_a_siblings_program(level):
    # The victim's program holds its answer; the attacker looks for it in every work directory.
    marker = secrets.token_hex(8)
    victim = f"import time\ntime.sleep(1.2)\nprint(len({marker!r}))\n"
    attacker = ESCAPE + (
        "import time\nhit = False\nend = time.monotonic() + 1.5\n"
        "while time.monotonic() < end and not hit:\n"
        "    try:\n        names = os.listdir('/tmp')\n    except OSError:\n        names = []\n"
        "    for name in names:\n"
        "        try:\n"
        "            text = os.read(outside('../' + name + '/main.py'), 1 << 16)\n"
        f"            hit = hit or {marker[::-1]!r}[::-1].encode() in text\n"
        "        except OSError:\n            pass\n"
        "    time.sleep(0.02)\nprint(1 if hit else 0)\n"
    )
    assert _side_by_side(level, victim, attacker, "16") == [1.0, 0.0]


# --- 13. a disk quota per run ------------------------------------------------------------------


def _writes_then_passes(write: str) -> tuple[str, str]:
    program = write + "def f():\n    return 1\n"
    return "assert f() == 1\n", program


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize(
    "write",
    [
        # the case the issue named: far more than the quota, in files each under the file-size limit
        "chunk = b'x' * (1 << 20)\nfor i in range(24):\n    with open('f%d' % i, 'wb') as h:\n"
        "        for _ in range(12):\n            h.write(chunk)\n",
        # many small files
        "for i in range(30000):\n    open('s%d' % i, 'w').close()\n",
        # through a descriptor kept open, in a folder tree
        "import os\nos.makedirs('a/b/c')\nfd = os.open('a/b/c/big', os.O_WRONLY | os.O_CREAT)\n"
        "for i in range(20):\n    os.pwrite(fd, b'y' * (8 << 20), 0)\n    fd = os.open('a/b/c/big%d' % i, os.O_WRONLY | os.O_CREAT)\n",
    ],
)
def test_a_program_cannot_write_past_its_disk_quota(level, write):
    tests, program = _writes_then_passes(write)
    assert run_assert(level, tests, program, disk_mb=32, max_files=256, test_timeout=5.0) == 0.0


@pytest.mark.parametrize("level", LEVELS)
def test_a_program_cannot_fill_memory_backed_folders(level):
    write = ESCAPE + (
        "chunk = b'x' * (1 << 20)\n"
        "for place in ('dev/shm', 'dev', 'tmp', 'var/tmp'):\n"
        "    try:\n        for i in range(40):\n"
        "            fd = outside('../../../../../../' + place + '/fill%d' % i, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)\n"
        "            os.write(fd, chunk)\n            os.close(fd)\n        break\n"
        "    except OSError:\n        pass\nelse:\n    raise SystemExit\n"
    )
    tests, program = _writes_then_passes(write)
    assert run_assert(level, tests, program, disk_mb=32) == 0.0


@pytest.mark.parametrize("level", LEVELS)
def test_a_program_that_writes_within_its_quota_still_passes(level):
    tests, program = _writes_then_passes("with open('scratch', 'wb') as h:\n    h.write(b'x' * (4 << 20))\n")
    assert run_assert(level, tests, program, disk_mb=32) == 1.0


def test_the_start_up_line_says_which_promises_hold_only_under_bwrap():
    assert "each run as its own user, chrooted into its work directory" in sandbox.rlimits_detail(True, True)
    assert "only bwrap keeps them out" in sandbox.rlimits_detail(True, False)
    not_root = sandbox.rlimits_detail(False, False)
    assert "NOT root" in not_root and "only bwrap keeps them out" in not_root
    for detail in (sandbox.rlimits_detail(True, True), not_root):
        assert "the network is refused only by the guard" in detail
    if os.getuid() == 0:  # as CI runs: the line printed here is the strong one
        assert "chrooted" in sandbox.isolation("rlimits").detail
