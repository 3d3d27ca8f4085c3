"""The trusted test runner (standalone, stdlib only; ``_wire.py`` is prepended).

Reads a job (JSON) on stdin, starts the candidate's process (``_stub.py``, under the sandbox prefix
the job gives), runs the tests here, in a process the candidate cannot reach, calling the
candidate's functions through proxies that return plain values, and prints one line:
the job's secret followed by the verdict as JSON. The candidate never sees the tests, the secret or
this process (a separate pid namespace under bubblewrap; a different user and a non-dumpable
process without it), so neither its exit code nor anything it prints can become a verdict.

A *test* is a top-level statement (of ``check``'s body for HumanEval-style tests, of the module for
assert-style tests) that contains an ``assert``; it passes when it runs to the end. Each test has
its own time limit, and so has the program's top-level code; a candidate that overruns it is
killed and the tests after it fail. Helpers the tests use come from the trusted setup code, never
from the program (a program cannot redefine the yardstick); only the function under test, as
``candidate`` and by its name, and for assert-style tests the functions the program defines whose
names are neither built-ins nor the setup's, are the program's.

An exception the program raises never acts as control flow in the tests: a test in which a call to
the program raised fails, whatever the test did with the exception (``map`` or ``filter`` ending on
a StopIteration, ``getattr`` swallowing an AttributeError, ...), unless that test names a built-in
class of it in an ``except`` clause or a ``raises``-style call: then the test sees a fresh instance
of that built-in class and decides.
"""

import ast
import builtins
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time


def _nondumpable():
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4: no /proc/PID/{mem,fd,environ} for others
    except Exception:
        pass


class CandidateError(Exception):
    """The candidate's process did not answer a call (it exited, timed out or broke the protocol),
    or raised an exception the running test does not name."""


class TestTimeout(Exception):
    pass


# Never handed to a test, whatever it names: they are the protocols of iteration and of asserts.
_NEVER_FORWARDED = (StopIteration, StopAsyncIteration, AssertionError)
_RAISES_CALLS = frozenset({"raises", "assertRaises", "assertRaisesRegex", "suppress"})


def _exception_names(node):
    """Names of the exception classes ``node`` handles explicitly (``except`` clauses, ``raises``-style calls)."""
    names = set()

    def add(expr):
        if expr is None:
            names.add("BaseException")
        elif isinstance(expr, ast.Tuple):
            for item in expr.elts:
                add(item)
        elif isinstance(expr, ast.Name):
            names.add(expr.id)
        elif isinstance(expr, ast.Attribute):
            names.add(expr.attr)

    for sub in ast.walk(node):
        if isinstance(sub, ast.ExceptHandler):
            add(sub.type)
        elif isinstance(sub, ast.Call) and sub.args:
            func = sub.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called in _RAISES_CALLS:
                add(sub.args[0])
    return names


def _expected_classes(names):
    found = []
    for name in names:
        kind = getattr(builtins, name, None)
        if isinstance(kind, type) and issubclass(kind, BaseException):
            found.append(kind)
    return tuple(found)


class Stub:
    def __init__(self, argv, workdir, pass_fds=()):
        self.proc = subprocess.Popen(
            argv, cwd=workdir, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=pass_fds
        )
        self.buffer = b""
        self.alive = True
        self.deadline = 0.0
        self.expected = ()  # built-in exception classes the running test names
        self.spoil = lambda reason: None  # marks the running test failed

    def recv(self, deadline):
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                raise TestTimeout("time limit exceeded")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self.alive = False
                raise CandidateError(getattr(self, "ended_because", None) or "the program's process ended")
            self.buffer += chunk
            if len(self.buffer) > (1 << 24):
                self.kill()
                raise CandidateError("reply too large")
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except (ValueError, RecursionError):
            self.kill()
            raise CandidateError("malformed reply") from None

    def call(self, name, args, kwargs):
        try:
            return self._call(name, args, kwargs)
        except CandidateError as exc:
            self.spoil(str(exc))
            raise
        except TestTimeout:
            self.spoil("time limit exceeded")
            raise

    def _call(self, name, args, kwargs):
        if not self.alive:
            raise CandidateError("the program's process is gone")
        request = wire_dumps(
            {
                "call": name,
                "args": wire_encode(list(args)),  # noqa: F821
                "kwargs": wire_encode(dict(kwargs)),
            }
        )  # noqa: F821
        try:
            self.proc.stdin.write(request)
            self.proc.stdin.flush()
        except OSError:
            self.alive = False
            raise CandidateError("the program's process ended") from None
        reply = self.recv(self.deadline)
        if type(reply) is dict and "ok" in reply:
            try:
                return wire_decode(reply["ok"])  # noqa: F821
            except Exception as exc:  # ValueError, or TypeError for an unhashable member: never the test's to catch
                raise CandidateError("returned a value that is not plain data: " + str(exc)) from None
        if type(reply) is dict and type(reply.get("raised")) is str:
            text = reply["raised"]
            kind = getattr(builtins, text.split(":", 1)[0], None) if reply.get("builtin") is True else None
            if (
                isinstance(kind, type)
                and issubclass(kind, Exception)
                and not issubclass(kind, _NEVER_FORWARDED)
                and issubclass(kind, self.expected)
            ):
                try:
                    error = kind(text)
                except Exception:
                    error = None
                if type(error) is kind:
                    raise error
            raise CandidateError("the program raised " + text)
        raise CandidateError("malformed reply")

    def kill(self):
        self.alive = False
        try:
            self.proc.kill()
        except OSError:
            pass

    def stderr_excerpt(self):
        self.kill()
        try:
            self.proc.wait(2)
            return self.proc.stderr.read(2000).decode("utf-8", "replace").strip()
        except Exception:
            return ""


def _proxy(stub, name):
    def candidate(*args, **kwargs):
        return stub.call(name, args, kwargs)

    candidate.__name__ = name
    return candidate


def _has_assert(node):
    return any(isinstance(n, ast.Assert) for n in ast.walk(node))


def _instrument(body):
    """Wrap every top-level statement holding an assert; return (new body, the exception classes
    each test names)."""
    out, count, named = [], 0, []
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or not _has_assert(stmt):
            out.append(stmt)
            continue
        begin = ast.Expr(ast.Call(ast.Name("__grpo_begin__", ast.Load()), [ast.Constant(count)], []))
        failed = ast.Expr(
            ast.Call(ast.Name("__grpo_end__", ast.Load()), [ast.Constant(count), ast.Name("__grpo_exc__", ast.Load())], [])
        )
        passed = ast.Expr(ast.Call(ast.Name("__grpo_end__", ast.Load()), [ast.Constant(count), ast.Constant(None)], []))
        handler = ast.ExceptHandler(ast.Name("BaseException", ast.Load()), "__grpo_exc__", [failed])
        out += [begin, ast.Try([stmt], [handler], [passed], [])]
        named.append(_expected_classes(_exception_names(stmt)))
        count += 1
    return out, named


def _plan(test, style):
    """The instrumented tests, the exception classes each test names, and those named anywhere."""
    tree = ast.parse(test)
    anywhere = _expected_classes(_exception_names(tree))
    if style == "check":
        checks = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"]
        if not checks:
            raise ValueError("the test defines no check(candidate) function")
        checks[-1].body, named = _instrument(checks[-1].body)
    else:
        tree.body, named = _instrument(tree.body)
    return compile(ast.fix_missing_locations(tree), "<tests>", "exec"), named, anywhere


def run(job):
    per_test = float(job["per_test_timeout"])
    code, named, anywhere = _plan(job["test"], job["style"])
    total = len(named)
    verdict = {"passed": 0, "total": max(total, 1), "ready": False, "failure": None, "sandbox_error": None}
    own = not job.get("workdir")
    workdir = job.get("workdir") or tempfile.mkdtemp(prefix="grpo-code-")
    with open(os.path.join(workdir, "main.py"), "w", encoding="utf-8") as handle:
        handle.write(job["program"])
    with open(os.path.join(workdir, "stub.py"), "w", encoding="utf-8") as handle:
        handle.write(job["stub_source"])
    config = {"mode": "function", "limits": job["limits"], "drop_root": job.get("drop_root") or False}
    config.update({"uid": job.get("uid"), "chroot": bool(job.get("chroot"))})
    if config["drop_root"] and os.getuid() == 0:  # a remote engine's own directory: nobody's
        os.chown(workdir, 65534, 65534)
    python = job.get("python") or sys.executable
    prefix, pass_fds, info = list(job.get("prefix") or []), (), None
    if prefix and job.get("info_fd"):  # bubblewrap says which pid runs the sandbox: the quota is watched there
        info, info_w = os.pipe()
        prefix[1:1] = ["--info-fd", str(info_w)]
        pass_fds = (info_w,)
    stub = Stub(prefix + [python, "-I", "-S", "-B", "stub.py", json.dumps(config)], workdir, pass_fds)
    for fd in pass_fds:
        os.close(fd)
    quota = job.get("quota")
    watch = None
    if quota:

        def over_quota():
            stub.ended_because = watch.exceeded if watch else "disk quota exceeded"
            stub.kill()

        watch = DiskWatch(workdir, quota["bytes"], quota["files"], over_quota, info)  # noqa: F821 (_quota.py)
    elif info is not None:
        os.close(info)
    try:
        try:
            hello = stub.recv(time.monotonic() + float(job["start_timeout"]))
        except (TestTimeout, CandidateError) as exc:
            verdict["sandbox_error"] = "the sandbox did not start (" + str(exc) + "): " + stub.stderr_excerpt()
            return verdict
        if hello != {"hello": 1}:
            verdict["sandbox_error"] = "the sandbox did not start: unexpected greeting"
            return verdict
        try:
            armed = stub.recv(time.monotonic() + float(job["start_timeout"]))
        except (TestTimeout, CandidateError) as exc:
            verdict["sandbox_error"] = "the sandbox did not start (" + str(exc) + "): " + stub.stderr_excerpt()
            return verdict
        if armed != {"armed": 1}:
            verdict["sandbox_error"] = "the sandbox did not start: " + str(armed)[:300]
            return verdict
        try:
            ready = stub.recv(time.monotonic() + per_test)
        except (TestTimeout, CandidateError) as exc:
            verdict["failure"] = "the program's top-level code did not finish: " + str(exc)
            return verdict
        if type(ready) is not dict or type(ready.get("ready")) is not list:
            verdict["failure"] = str(ready.get("error") if type(ready) is dict else "malformed")[:300]
            return verdict
        verdict["ready"] = True
        results = {}
        spoiled = {}  # test index (None: outside any test) -> why a call to the program failed in it
        current = [None]

        def spoil(reason):
            spoiled.setdefault(current[0], reason)

        def begin(index):
            current[0] = index
            stub.deadline = time.monotonic() + per_test
            stub.expected = named[index]

        def end(index, exc):
            # A call that failed inside this test, or one outside any test before it, fails it even
            # when the test swallowed the exception.
            reason = spoiled.get(index) or spoiled.get(None)
            results[index] = exc is None and reason is None
            current[0], stub.expected = None, anywhere
            if not results[index] and verdict["failure"] is None:
                if exc is not None:
                    verdict["failure"] = (
                        "test " + str(index + 1) + ": " + type(exc).__name__ + (": " + str(exc)[:300] if str(exc) else "")
                    )
                else:
                    verdict["failure"] = "test " + str(index + 1) + ": " + reason[:300]

        stub.spoil, stub.expected = spoil, anywhere
        names = [n for n in ready["ready"] if type(n) is str]
        env = {"__name__": "__grpo_tests__", "__builtins__": builtins}
        if job.get("setup"):
            exec(compile(job["setup"], "<setup>", "exec"), env)
        entry = job.get("entry_point")
        if job["style"] == "assert":
            # The program's names never stand in for a built-in or for what the trusted setup defines.
            trusted = set(env) | set(dir(builtins))
            env.update({n: _proxy(stub, n) for n in names if n not in trusted or n == entry})
        elif entry in names:  # HumanEval tests also call the function by its name
            env[entry] = _proxy(stub, entry)
        env.update({"__grpo_begin__": begin, "__grpo_end__": end})
        stub.deadline = time.monotonic() + per_test
        try:
            exec(code, env)
            if job["style"] == "check":
                entry = job.get("entry_point") or ""
                if entry not in names:
                    verdict["failure"] = "the program defines no function " + repr(entry)
                    return verdict
                env["check"](_proxy(stub, entry))
        except BaseException as exc:  # a failure outside any test: the remaining tests fail
            if verdict["failure"] is None:
                verdict["failure"] = "outside a test: " + type(exc).__name__ + ": " + str(exc)[:300]
        verdict["passed"] = sum(1 for ok in results.values() if ok)
        if total == 0:
            verdict["passed"] = int(verdict["failure"] is None)
        return verdict
    finally:
        stub.kill()
        try:
            stub.proc.wait(5)
        except Exception:
            pass
        if watch is not None:
            watch.stop()
            if watch.exceeded:  # over the quota, if only at the end: nothing passes
                verdict["passed"] = 0
                verdict["failure"] = verdict["failure"] or watch.exceeded
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def main():
    _nondumpable()
    job = json.loads(sys.stdin.buffer.read())
    secret = job.pop("secret")
    try:
        verdict = run(job)
    except Exception as exc:
        verdict = {"runner_error": type(exc).__name__ + ": " + str(exc)[:300]}
    sys.stdout.write("\n" + secret + json.dumps(verdict) + "\n")
    sys.stdout.flush()
    os._exit(0)


main()
