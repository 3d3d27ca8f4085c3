"""The candidate's side of a sandboxed run (standalone, stdlib only; ``_wire.py`` is prepended).

Started as ``python -I -S -B stub.py CONFIG`` in the work directory, it first says hello (so that a
sandbox that failed to start is told apart from a program that failed), then limits itself
(rlimits; when started as root without bubblewrap, a chroot into the work directory and the run's own
unprivileged user: all irreversible), installs
the guard (an audit hook refusing sockets, new processes, native code, reads outside the work
directory and the standard library, and writes outside the work directory), and only then compiles and runs ``main.py``, the candidate's program:

- ``stdio`` mode: the program runs as ``__main__`` on the given stdin and stdout; the caller
  compares what it printed with the expected output, outside this process.
- ``function`` mode: the program's top-level code runs to the end (as module ``solution``), then
  the stub answers calls from the test runner over its stdin/stdout, one JSON line each, returning
  plain values only. The tests themselves never enter this process.
"""

import os
import sys


def _limit(limits):
    import resource

    table = {
        "cpu_seconds": resource.RLIMIT_CPU,
        "address_space": resource.RLIMIT_AS,
        "processes": resource.RLIMIT_NPROC,
        "file_size": resource.RLIMIT_FSIZE,
        "open_files": resource.RLIMIT_NOFILE,
    }
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in table.items():
        value = limits.get(key)
        if key == "file_size" and limits.get("disk_bytes"):  # no single file beyond the run's quota
            value = min(int(value or limits["disk_bytes"]), int(limits["disk_bytes"]))
        if value is not None:
            _, hard = resource.getrlimit(which)
            value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
            resource.setrlimit(which, (value, value))


# Imported before the chroot and the switch of user: after them the standard library is out of reach.
_PRELOAD = (
    "math",
    "cmath",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "re",
    "string",
    "random",
    "json",
    "fractions",
    "decimal",
    "statistics",
    "typing",
    "dataclasses",
    "operator",
    "copy",
    "datetime",
    "hashlib",
    "array",
    "time",
    "unicodedata",
    "textwrap",
    "enum",
    "numbers",
    "struct",
    "io",
    "abc",
    "types",
    "contextlib",
    "threading",
    "queue",
    "pprint",
    "calendar",
    "base64",
    "binascii",
    "zlib",
    "codecs",
    "locale",
    "traceback",
    "linecache",
    "warnings",
    "weakref",
    "collections.abc",
    "encodings.ascii",
    "encodings.latin_1",
    "encodings.utf_16",
    "encodings.utf_32",
    "encodings.cp1252",
)


def _drop_root(uid, jail):
    """Become ``uid`` (with no groups), after a chroot into the work directory when ``jail``."""
    if os.getuid() == 0:
        for name in _PRELOAD:
            try:
                __import__(name)
            except ImportError:
                pass
        if jail:
            os.chroot(".")
            os.chdir("/")
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


_BLOCKED_EVENTS = (
    "socket.",
    "os.fork",
    "os.forkpty",
    "os.posix_spawn",
    "os.spawn",
    "os.exec",
    "os.system",
    "subprocess.Popen",
    "os.kill",
    "os.killpg",
    "ctypes.",
    "pty.",
    "winreg.",
    "sys.remote_exec",
)
_PATH_EVENTS = (
    "os.remove",
    "os.rename",
    "os.rmdir",
    "os.mkdir",
    "os.symlink",
    "os.link",
    "os.truncate",
    "os.chmod",
    "os.chown",
    "os.utime",
    "shutil.",
)
_BLOCKED_IMPORTS = frozenset({"ctypes", "_ctypes", "_posixsubprocess", "_testcapi", "_testinternalcapi"})


def _guard(workdir):
    """An audit hook (irreversible) that refuses what a test program never needs: reading anything
    but the work directory and the standard library, writing outside the work directory, /proc,
    sockets, new processes and native code."""
    realpath, fspath, startswith = os.path.realpath, os.fspath, str.startswith
    root = realpath(workdir).rstrip(os.sep) + os.sep
    readable = tuple({root} | {realpath(p) + os.sep for p in sys.path if p and os.path.exists(p)})
    allowed = frozenset({"/dev/null", "/dev/zero", "/dev/urandom"})

    def resolve(path):
        try:
            path = fspath(path)
        except TypeError:
            return None
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        return realpath(path) if isinstance(path, str) else None

    def outside(path, roots=(root,)):
        full = resolve(path)
        return full is not None and full not in allowed and not startswith(full + os.sep, roots)

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            if isinstance(path, int):
                return
            writing = (mode is not None and any(c in str(mode) for c in "wax+")) or (
                flags is not None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND)
            )
            if writing and outside(path):
                raise PermissionError("sandbox guard: writing outside the work directory")
            if outside(path, readable):
                raise PermissionError("sandbox guard: reading outside the work directory and the standard library")
        elif event == "import":
            if args[0] in _BLOCKED_IMPORTS:
                raise ImportError("sandbox guard: module " + args[0] + " is blocked")
        elif startswith(event, _BLOCKED_EVENTS):
            raise PermissionError("sandbox guard: " + event + " is blocked")
        elif startswith(event, _PATH_EVENTS):
            if any(outside(a) for a in args if isinstance(a, (str, bytes))):
                raise PermissionError("sandbox guard: " + event + " outside the work directory")

    sys.addaudithook(hook)


def _send(fd, message):
    data = wire_dumps(message)  # noqa: F821 (from _wire.py, prepended)
    while data:
        data = data[os.write(fd, data) :]


def _describe(exc):
    try:
        text = str(exc)[:300]
    except BaseException:
        text = "?"
    return type(exc).__name__ + (": " + text if text else "")


def _is_builtin(exc):
    """Whether ``exc`` is of a built-in exception class itself (not a class of the program's that
    borrows its name)."""
    return type(exc) is getattr(__import__("builtins"), type(exc).__name__, None)


def _serve(chan_in, chan_out, namespace):
    reader = os.fdopen(chan_in, "rb", buffering=0)
    buffered = __import__("io").BufferedReader(reader, 1 << 16)
    while True:
        line = buffered.readline(1 << 24)
        if not line:
            return
        try:
            request = __import__("json").loads(line)
            fn = namespace.get(request["call"])
            if fn is None:
                raise NameError("name " + repr(request["call"]) + " is not defined by the program")
            args = wire_decode(request["args"])  # noqa: F821
            kwargs = wire_decode(request["kwargs"])  # noqa: F821
            result = fn(*args, **kwargs)
            reply = {"ok": wire_encode(result)}  # noqa: F821
        except BaseException as exc:  # the candidate's failure is the test's failure, reported
            reply = {"raised": _describe(exc), "builtin": _is_builtin(exc)}
        _send(chan_out, reply)


def main():
    import json

    config = json.loads(sys.argv[1])
    mode = config["mode"]
    workdir = os.getcwd()
    if mode == "function":
        chan_in, chan_out = os.dup(0), os.dup(1)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(null, 2)
        _send(chan_out, {"hello": 1})
    else:
        os.write(2, b"\x00grpo-stub-ready\n")
    try:
        _limit(config.get("limits", {}))
        if config.get("uid") is not None:  # the local rlimits level, started as root
            _drop_root(int(config["uid"]), bool(config.get("chroot")))
            workdir = os.getcwd()
        elif config.get("drop_root"):  # a remote engine: nobody where it allows the switch
            try:
                _drop_root(65534, False)
            except OSError:
                if config["drop_root"] != "try":
                    raise
        _guard(workdir)
    except Exception as exc:  # the sandbox, not the program, failed: reported as such
        if mode == "function":
            _send(chan_out, {"sandbox_error": _describe(exc)})
        else:
            os.write(2, b"\x00grpo-stub-failed: " + _describe(exc).encode() + b"\n")
        os._exit(5)
    if mode == "function":  # from here on the candidate may write anything: nothing after this is trusted
        _send(chan_out, {"armed": 1})
    else:
        os.write(2, b"\x00grpo-stub-armed\n")
    with open("main.py", encoding="utf-8", errors="replace") as handle:
        source = handle.read()
    try:
        code = compile(source, "main.py", "exec", dont_inherit=True)
    except BaseException as exc:
        if mode == "function":
            _send(chan_out, {"error": "does not compile: " + _describe(exc)})
        else:
            sys.stderr.write("does not compile: " + _describe(exc) + "\n")
        os._exit(3)
    namespace = {"__name__": "__main__" if mode == "stdio" else "solution", "__builtins__": __builtins__}
    if mode == "stdio":
        del json, config
        exec(code, namespace)
        return
    try:
        exec(code, namespace)
    except BaseException as exc:
        _send(chan_out, {"error": "the program raised " + _describe(exc)})
        os._exit(4)
    names = [k for k, v in list(namespace.items()) if type(k) is str and not k.startswith("__") and callable(v)]
    _send(chan_out, {"ready": names[:1000]})
    _serve(chan_in, chan_out, namespace)
    os._exit(0)


main()
