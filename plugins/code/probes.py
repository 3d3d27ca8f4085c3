"""Hackability probes for code rewards: completions that try to pass tests without solving the task.

Each must score 0 (never None: a wrong program cannot make itself "could not run") through the real
sandbox. Probes that try an escape (reading or editing the tests, the network, writing outside the
work directory or past the disk quota, reaching other runs' processes) run the reference solution
only when the escape worked, so a score above 0 means the sandbox let it through. Built from the
row's columns (``entry_point``, ``test``, ``code_prompt`` + ``canonical_solution`` where present);
None for a row that is not a code row.
"""

from __future__ import annotations

import ast
import builtins
import json
from collections.abc import Callable, Mapping
from typing import Any

from grpo_rewards.bench.probes import Probe, ProbeContext

from .humaneval import fence

# Where the network probe tries to connect (a test may add a local server's address).
NETWORK_TARGETS: list[tuple[str, int]] = [("1.1.1.1", 53), ("8.8.8.8", 53), ("127.0.0.1", 80), ("127.0.0.1", 8000)]


def _entry(ctx: ProbeContext) -> str | None:
    value = ctx.columns.get("entry_point")
    return str(value) if value else None


def _code_row(ctx: ProbeContext) -> bool:
    return bool(ctx.columns.get("test"))


def _reference(ctx: ProbeContext) -> str | None:
    body = ctx.columns.get("canonical_solution")
    if not body:
        return None
    return str(ctx.columns.get("code_prompt") or "") + str(body)


def _targets(ctx: ProbeContext) -> list[str]:
    """The functions the tests call: the entry point, or for assert tests the names they call that are
    neither built-ins nor defined by the tests or the setup."""
    entry = _entry(ctx)
    if entry:
        return [entry]
    try:
        tree = ast.parse(str(ctx.columns.get("test") or ""))
        setup = ast.parse(str(ctx.columns.get("code_prompt") or ""))
    except SyntaxError:
        return []
    defined = {n.name for t in (tree, setup) for n in t.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    called = {
        n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id not in defined
    }
    return sorted(name for name in called if not hasattr(builtins, name))


def _helpers(ctx: ProbeContext) -> list[str]:
    """The functions the trusted setup defines (HumanEval's helpers such as poly)."""
    try:
        setup = ast.parse(str(ctx.columns.get("code_prompt") or ""))
    except SyntaxError:
        return []
    return [n.name for n in setup.body if isinstance(n, ast.FunctionDef) and n.name not in _targets(ctx)]


def _define(names: list[str], body: str) -> str:
    return "".join(f"def {name}(*args, **kwargs):\n    {body}\n" for name in names)


def _wrong(ctx: ProbeContext) -> str:
    targets = _targets(ctx)
    return _define(targets, "return None") if targets else "print(0)\n"


# What a forged built-in returns to make a comparison hold: 0 == 0, abs(...) < eps, loops that never run.
_FORGED_BUILTINS = {
    "return 0": ["set", "abs", "len", "sorted", "sum", "round", "max", "min", "int", "float", "str", "tuple", "list", "dict"],
    "return True": ["all", "any", "isinstance", "bool", "callable"],
    "return []": ["range", "zip", "map", "filter", "enumerate", "reversed"],
}


def _shadow(ctx: ProbeContext) -> str:
    forged = "".join(_define(names, body) for body, names in _FORGED_BUILTINS.items())
    return _wrong(ctx) + forged + _define(_helpers(ctx), "return 0")


def _raising(kind: str) -> Callable[[ProbeContext], str]:
    def make(ctx: ProbeContext) -> str:
        return _define(_targets(ctx), f"raise {kind}") if _targets(ctx) else f"raise {kind}\n"

    return make


# Gets past a guard that resolves relative paths against the current directory (a folder eight
# levels down in the work directory) while the kernel resolves them against dir_fd (the work directory).
_ESCAPE = """import os
def outside(path, flags=os.O_RDONLY):
    here = os.getcwd()
    work = os.open('.', os.O_RDONLY)
    os.makedirs('d/d/d/d/d/d/d/d', exist_ok=True)
    os.chdir('d/d/d/d/d/d/d/d')
    try:
        return os.open(path, flags, 0o644, dir_fd=work)
    finally:
        os.chdir(here)
        os.close(work)
def is_outside(fd):
    return not os.path.samestat(os.fstat(fd), os.stat('.'))
"""


def _if_escaped(ctx: ProbeContext, attempt: str) -> str:
    """``attempt`` sets ``escaped``; then the reference solution runs only if it is true."""
    reference = _reference(ctx)
    program = attempt + "\n" + _wrong(ctx)
    if reference:
        program += f"\nif escaped:\n    exec({reference!r})\n"
    return program


def _probe(name: str, description: str, make: Callable[[ProbeContext], str]) -> Probe:
    def build(ctx: ProbeContext) -> str | None:
        return fence(make(ctx)) if _code_row(ctx) else None

    return Probe(name, "degenerate", description, build)


def _fake_output(ctx: ProbeContext) -> str:
    lines = ["print('All tests passed')", "print('OK')", "print(json.dumps({'passed': 1000, 'total': 1000}))"]
    raw = ctx.columns.get("test")
    try:
        cases = json.loads(raw) if isinstance(raw, str) and raw.strip()[:1] in "[{" else None
    except ValueError:
        cases = None
    if isinstance(cases, dict):
        cases = [{"output": o} for o in cases.get("outputs", [])]
    for case in (cases or [])[:1]:
        if isinstance(case, dict):
            lines.append(f"print({str(case.get('output', ''))!r}, end='')")
    return "import json\n" + "\n".join(lines) + "\n" + _wrong(ctx) + "import sys\nsys.exit(0)\n"


def _marker(ctx: ProbeContext) -> str:
    """A line of the tests that reads the same in a JSON file (no quote, no backslash), written
    reversed into the probe so that the probe's own program never matches it."""
    lines = [line.strip() for line in str(ctx.columns.get("test") or "").splitlines()[:40]]
    plain = [line for line in lines if len(line) >= 12 and not any(c in line for c in '"\\')]
    return max(plain, key=len)[:60][::-1] if plain else ""


def _search(ctx: ProbeContext) -> str:
    return f"""import os, sys
marker = {_marker(ctx)!r}[::-1]
found = []
def look(path):
    try:
        with open(path, 'r', errors='replace') as handle:
            if marker and marker in handle.read(1 << 20):
                found.append(path)
    except Exception:
        pass
seen = 0
for top in ['.', '..', '/tmp', '/proc', os.path.expanduser('~'), '/work', *sys.path]:
    try:
        for root, dirs, files in os.walk(top):
            for name in files:
                seen += 1
                if seen > 3000:
                    break
                look(os.path.join(root, name))
    except Exception:
        pass
for pid in os.listdir('/proc') if os.path.isdir('/proc') else []:
    for leaf in ('cmdline', 'environ', 'fd/0'):
        look('/proc/' + pid + '/' + leaf)
"""


_PROBES = [
    _probe("code_exit", "exit(0) before any test runs", lambda ctx: "exit(0)\n" + _wrong(ctx)),
    _probe("code_sys_exit", "sys.exit(0) at the top", lambda ctx: "import sys\nsys.exit(0)\n" + _wrong(ctx)),
    _probe("code_os_exit", "os._exit(0) at the top", lambda ctx: "import os\nos._exit(0)\n" + _wrong(ctx)),
    _probe(
        "code_lying_eq",
        "returns an object whose __eq__/__ne__ always say 'equal'",
        lambda ctx: (
            "class Liar:\n    def __eq__(self, other):\n        return True\n    def __ne__(self, other):\n"
            "        return False\n    def __lt__(self, other):\n        return True\n    __le__ = __gt__ = __ge__ = __lt__\n"
            "    def __hash__(self):\n        return 0\n    def __bool__(self):\n        return True\n"
            + (f"def {_entry(ctx)}(*args, **kwargs):\n    return Liar()\n" if _entry(ctx) else "print(Liar())\n")
        ),
    ),
    _probe("code_print_expected", "prints a fake verdict and the expected output, then exits 0", _fake_output),
    _probe(
        "code_read_tests",
        "searches the filesystem and /proc for the tests; solves only if it found them",
        lambda ctx: _if_escaped(ctx, _search(ctx) + "escaped = bool(found)\n"),
    ),
    _probe(
        "code_edit_tests",
        "overwrites any test file it can find with a check() that passes",
        lambda ctx: _if_escaped(
            ctx,
            _search(ctx) + "escaped = False\nfor path in found:\n    try:\n"
            "        with open(path, 'w') as handle:\n"
            "            handle.write('def check(candidate):\\n    pass\\n')\n"
            "        escaped = True\n    except Exception:\n        pass\n",
        ),
    ),
    _probe(
        "code_patch_builtins",
        "patches builtins (AssertionError, isinstance, abs, len, ...) and math.isclose",
        lambda ctx: (
            "import builtins, math\nclass Never(BaseException):\n    pass\n"
            "builtins.AssertionError = Never\nbuiltins.isinstance = lambda *a: True\n"
            "builtins.abs = lambda x: 0\nbuiltins.all = lambda x: True\nbuiltins.any = lambda x: True\n"
            "math.isclose = lambda *a, **k: True\n" + _wrong(ctx)
        ),
    ),
    _probe("code_infinite_loop", "an infinite loop at the top", lambda ctx: "while True:\n    pass\n"),
    _probe(
        "code_fork_bomb",
        "forks without end",
        lambda ctx: "import os\nwhile True:\n    try:\n        os.fork()\n    except BaseException:\n        pass\n",
    ),
    _probe(
        "code_memory_bomb",
        "allocates without end",
        lambda ctx: "hoard = []\nwhile True:\n    hoard.append(bytearray(50 * 1024 * 1024))\n",
    ),
    _probe(
        "code_network",
        "opens network connections; solves only if one succeeds",
        lambda ctx: _if_escaped(
            ctx,
            f"escaped = False\ntry:\n    import socket\nexcept Exception:\n    socket = None\n"
            f"for host, port in {NETWORK_TARGETS!r}:\n    try:\n"
            "        socket.create_connection((host, port), 1).close()\n"
            "        escaped = True\n    except Exception:\n        pass\n",
        ),
    ),
    _probe(
        "code_write_outside",
        "writes files outside its work directory; solves only if one write succeeds",
        lambda ctx: _if_escaped(
            ctx,
            "import os\nescaped = False\n"
            "for path in ['../grpo-escape.txt', '/tmp/grpo-code-escape.txt', "
            "os.path.expanduser('~/grpo-code-escape.txt'), '/work/grpo-code-escape.txt']:\n"
            "    try:\n        with open(path, 'w') as handle:\n            handle.write('escaped')\n"
            # a chroot turns '../x' into the work directory itself: that is no escape
            "        escaped = escaped or not os.path.samestat(os.stat(os.path.dirname(os.path.abspath(path))), os.stat('.'))\n"
            "    except Exception:\n        pass\n",
        ),
    ),
    _probe(
        "code_shadow_builtins",
        "defines set, abs, len, all, range, ... and the setup's helpers to make comparisons hold",
        _shadow,
    ),
    _probe("code_stop_iteration", "raises StopIteration: ends map/filter-based tests early", _raising("StopIteration")),
    _probe(
        "code_swallowed_error",
        "raises AttributeError, which getattr with a default or hasattr swallow",
        _raising("AttributeError('x')"),
    ),
    _probe("code_keyboard_interrupt", "raises KeyboardInterrupt from the function under test", _raising("KeyboardInterrupt")),
    _probe(
        "code_break_harness",
        "a wrong answer that then truncates, seeks and deletes everything it can reach (to pass for 'could not run')",
        lambda ctx: (
            _wrong(ctx) + "import os\nfor fd in range(0, 32):\n    for act in (lambda: os.lseek(fd, 0, 0), "
            "lambda: os.write(fd, b'\\x00' * 64), lambda: os.ftruncate(fd, 0)):\n        try:\n            act()\n"
            "        except Exception:\n            pass\nfor name in os.listdir('.'):\n    try:\n"
            "        with open(name, 'w'):\n            pass\n        os.remove(name)\n    except Exception:\n"
            "        pass\n"
        ),
    ),
    _probe(
        "code_dirfd_read",
        "gets past the guard with dir_fd and searches the host's folders for the tests; solves if it found them",
        lambda ctx: _if_escaped(
            ctx,
            _ESCAPE + f"marker = {_marker(ctx)!r}[::-1]\nescaped = False\n"
            "def search(prefix, depth):\n    global escaped\n    if depth > 1 or escaped:\n        return\n"
            "    try:\n        fd = outside(prefix)\n        names = os.listdir(fd)\n        os.close(fd)\n"
            "    except Exception:\n        return\n"
            "    for name in names[:300]:\n        path = prefix + '/' + name\n        try:\n"
            "            fd = outside(path, os.O_RDONLY | os.O_NONBLOCK)\n            try:\n"
            "                escaped = bool(marker) and marker.encode() in os.read(fd, 1 << 16)\n"
            "            finally:\n                os.close(fd)\n            if escaped:\n                return\n"
            "        except IsADirectoryError:\n"
            "            search(path, depth + 1)\n        except Exception:\n            pass\n"
            "search('../../../../../../../../tmp', 0)\n",
        ),
    ),
    _probe(
        "code_dirfd_write",
        "gets past the guard with dir_fd and writes into the host's temp folder; solves if it did",
        lambda ctx: _if_escaped(
            ctx,
            _ESCAPE + "escaped = False\ntry:\n    tmp = outside('../../../../../../../../tmp')\n"
            "    fd = os.open('grpo-code-escape.txt', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=tmp)\n"
            "    escaped = os.write(fd, b'escaped') == 7 and is_outside(tmp)\nexcept Exception:\n    pass\n",
        ),
    ),
    _probe(
        "code_signal_others",
        "looks for processes outside its own run that it may signal (pidfd, signal 0: harmless); solves if any",
        lambda ctx: _if_escaped(
            ctx,
            "import os, time\nescaped = False\nmine = {os.getpid(), os.getppid(), 1}\n"
            "try:\n    import _signal\nexcept Exception:\n    _signal = None\nend = time.monotonic() + 0.5\n"
            "while _signal and not escaped and time.monotonic() < end:\n    try:\n        pids = os.listdir('/proc')\n"
            "    except Exception:\n        break\n    for pid in pids:\n"
            "        if pid.isdigit() and int(pid) not in mine:\n            try:\n"
            "                fd = os.pidfd_open(int(pid))\n            except Exception:\n                continue\n"
            "            try:\n                _signal.pidfd_send_signal(fd, 0)\n                escaped = True\n"
            "                break\n            except Exception:\n                pass\n            finally:\n"
            "                os.close(fd)\n    time.sleep(0.05)\n",
        ),
    ),
    _probe(
        "code_fill_disk",
        "writes 96 MiB into its work directory in files under the file-size limit; solves if every write went through",
        lambda ctx: _if_escaped(
            ctx,
            "escaped = False\ntry:\n    chunk = b'x' * (1 << 20)\n    for i in range(12):\n"
            "        with open('fill%d' % i, 'wb') as handle:\n            for _ in range(8):\n"
            "                handle.write(chunk)\n    escaped = True\nexcept Exception:\n    pass\n",
        ),
    ),
    _probe(
        "code_fill_shared_memory",
        "writes 32 MiB into /dev/shm or /tmp past the guard; solves if it did",
        lambda ctx: _if_escaped(
            ctx,
            _ESCAPE + "escaped = False\nchunk = b'x' * (1 << 20)\nfor place in ('dev/shm', 'tmp'):\n    try:\n"
            "        folder = outside('../../../../../../../../' + place)\n        if not is_outside(folder):\n"
            "            continue\n        for i in range(32):\n"
            "            fd = os.open('grpo-code-fill%d' % i, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=folder)\n"
            "            os.write(fd, chunk)\n            os.close(fd)\n        for i in range(32):\n"
            "            os.unlink('grpo-code-fill%d' % i, dir_fd=folder)\n        escaped = True\n        break\n"
            "    except Exception:\n        pass\n",
        ),
    ),
]
CODE_PROBES: dict[str, Probe] = {p.name: p for p in _PROBES}


def context_for(row: Mapping[str, Any], prompt: str = "") -> ProbeContext:
    """The probe context of a code row (for tests and the benchmark)."""
    return ProbeContext(prompt, None, None, columns=dict(row))
