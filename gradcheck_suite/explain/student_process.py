"""A student's code in a process of its own: imported there, called there, timed, killed.

The grader never imports a submission.  :class:`StudentProcess` starts this file as a
script in a fresh interpreter (``python -I -B``: no user site, no current folder on
the path, no ``.pyc`` written into the student's folder), in a session of its own and
an empty working folder, with one BLAS thread, an address-space limit and a file-size
limit.  The child
imports the student's module (the student's folder first on ``sys.path``, so a
helper module beside it imports), then answers calls: ``{"call": "affine_backward",
"args": [...]}`` → the function's return value.

Only JSON crosses the pipe — arrays as ``{"dtype", "shape", "data"}`` — so nothing the
student's process sends can run code in the grader (no pickle).  Whatever the student
prints goes to a file (the grader's own output stays clean; the first lines are
reported).  The time limit covers the import and every call together; when it runs
out the whole process group is killed and every later call fails at once.

Messages the grader reads:

``{"ok": true, "functions": [...]}``       the module imported; its top-level callables
``{"ok": false, "kind": K, "error": T}``   it did not: K is ``unreadable`` (a syntax
                                           error, an import that fails) or ``crashed``
                                           (it raised or called ``sys.exit`` at import)
``{"result": R}`` / ``{"error": T}``      a call's return value / what it raised
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

__all__ = ["StudentProcess", "SubmissionStopped", "SubmissionRaised", "Handle", "DEFAULT_TIME_LIMIT",
           "MEMORY_LIMIT", "OUTPUT_LIMIT"]

#: seconds a submission may take in all (its import and every call), unless the assignment says otherwise
DEFAULT_TIME_LIMIT = 10.0
#: bytes of address space a submission's process may use
MEMORY_LIMIT = 2 * 1024 ** 3
#: bytes any one file the submission writes may reach (its printed output included)
OUTPUT_LIMIT = 64 * 1024 ** 2
_OUTPUT_SHOWN = 300  # characters of what a submission printed, quoted in its feedback


class SubmissionStopped(Exception):
    """The submission's process is gone (time limit, or it died): no call can be answered."""


class SubmissionRaised(Exception):
    """The student's function raised (``str`` is ``raised ValueError: … (file.py:12)``)."""


class Handle:
    """A ``cache`` a student's forward returned: it stays in the child, the grader holds its number."""

    def __init__(self, number: int) -> None:
        self.number = number


# ---- JSON encoding of the values that cross the pipe --------------------------------


def _encode(value: Any) -> Any:
    import numpy as np

    if value is None:
        return None
    if isinstance(value, Handle):
        return {"handle": value.number}
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{type(value).__name__} of dtype {array.dtype} is not an array of real numbers")
    return {"dtype": str(array.dtype) if array.dtype.kind == "f" else "float64", "shape": list(array.shape),
            "data": array.astype(np.float64).ravel().tolist()}


def _decode(item: Any, handles: dict[int, Any] | None = None) -> Any:
    import numpy as np

    if item is None:
        return None
    if "handle" in item:
        return handles[item["handle"]] if handles is not None else Handle(int(item["handle"]))
    return np.array(item["data"], dtype=np.float64).reshape(item["shape"]).astype(item["dtype"])


# ---- the parent's side --------------------------------------------------------------


class StudentProcess:
    """One submission's process; call its functions with :meth:`call`.

    ``state`` is ``"ready"``, ``"unreadable"``/``"crashed"`` (the import failed: ``error``
    says why), ``"timeout"`` or ``"died"`` (the process is gone: ``error`` says how).
    """

    def __init__(self, module: str, time_limit: float = DEFAULT_TIME_LIMIT) -> None:
        self.module, self.time_limit = os.path.abspath(module), float(time_limit)
        self.used = 0.0
        self.state, self.error, self.functions = "starting", "", []
        self._workdir = tempfile.TemporaryDirectory(prefix="gradcheck-submission-")
        self._output = os.path.join(self._workdir.name, ".output")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
        with open(self._output, "wb") as out:
            self._proc = subprocess.Popen([sys.executable, "-I", "-B", os.path.abspath(__file__), self.module],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=out,
                                          cwd=self._workdir.name, env=env, start_new_session=True)
        self._buffer = b""
        try:
            reply = self._receive()
        except SubmissionStopped:
            return
        if reply.get("ok"):
            self.state, self.functions = "ready", list(reply.get("functions", []))
        else:
            self.state, self.error = reply.get("kind", "crashed"), str(reply.get("error", ""))

    @property
    def alive(self) -> bool:
        return self.state == "ready"

    def call(self, function: str, *args: Any, cache: bool = False) -> Any:
        """``function(*args)`` in the child: its value (a tuple stays a tuple; a cache becomes a :class:`Handle`).

        Raises :class:`SubmissionRaised` (the function raised) or :class:`SubmissionStopped`.
        """
        if not self.alive:
            raise SubmissionStopped(self.error or f"the submission is {self.state}")
        try:
            message = json.dumps({"call": function, "args": [_encode(a) for a in args], "cache": cache})
        except TypeError as exc:  # the grader's own arguments: a bug here, not the student's
            raise RuntimeError(f"cannot send {function}'s arguments: {exc}") from None
        self._proc.stdin.write(message.encode() + b"\n")
        self._proc.stdin.flush()
        reply = self._receive()
        if "error" in reply:
            raise SubmissionRaised(str(reply["error"]))
        result = reply["result"]
        if result.get("tuple"):
            return tuple(_decode(i) for i in result["items"])
        return _decode(result["items"][0])

    def _receive(self) -> dict[str, Any]:
        import selectors

        fd = self._proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = self.time_limit - self.used
                t0 = time.monotonic()
                ready = sel.select(timeout=max(0.0, left)) if left > 0 else []
                self.used += time.monotonic() - t0
                if not ready:
                    self._stop("timeout", f"stopped after the time limit of {self.time_limit:g} s "
                                          "(an endless loop, or far too slow)")
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    code = self._proc.wait()
                    self._stop("died", f"the process ended by itself ({_how(code)}) — os._exit, a crash of the "
                                       "interpreter, or the memory limit")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            self._stop("died", "the process wrote something that is not the grader's protocol")
        raise AssertionError("unreachable")

    def _stop(self, state: str, error: str) -> None:
        self.state, self.error = state, error
        self.close()
        raise SubmissionStopped(error)

    def output(self) -> str:
        """The first characters the submission printed (standard output and error together)."""
        try:
            with open(self._output, "rb") as fh:
                data = fh.read(_OUTPUT_SHOWN + 1)
        except OSError:
            return ""
        text = data[:_OUTPUT_SHOWN].decode("utf-8", "replace")
        return text + ("…" if len(data) > _OUTPUT_SHOWN else "")

    def close(self) -> None:
        """End the process (and anything it started) now."""
        try:  # the whole session: whatever the submission started goes with it
            os.killpg(self._proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._proc.wait()
        for stream in (self._proc.stdin, self._proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def cleanup(self) -> None:
        """Close, and remove the process's working folder."""
        self.close()
        self._workdir.cleanup()

    def __enter__(self) -> "StudentProcess":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.cleanup()


def _how(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


# ---- the child's side (run as a script) ---------------------------------------------


def _where(exc: BaseException, module_file: str) -> str:
    """``file.py:12`` — the last line of the student's file in the traceback (or "")."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.abspath(f.filename) != __file__]
    mine = [f for f in frames if os.path.dirname(os.path.abspath(f.filename)) == os.path.dirname(module_file)]
    f = (mine or frames or [None])[-1]
    return f"{os.path.basename(f.filename)}:{f.lineno}" if f is not None else ""


def _raised(exc: BaseException, module_file: str) -> str:
    """``raised ValueError: … (file.py:12)`` or ``called sys.exit(3) (file.py:8)``."""
    if isinstance(exc, SystemExit):
        text = f"called sys.exit({exc.code!r})"
    else:
        first = str(exc).splitlines()[0] if str(exc) else ""
        text = "raised " + (f"{type(exc).__name__}: {first}" if first else type(exc).__name__)
    where = _where(exc, module_file)
    return f"{text} ({where})" if where else text


def _child(module_file: str) -> None:
    rpc_in = os.fdopen(os.dup(0), "rb")
    rpc_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # what the student prints joins stderr: the grader's output file
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, OUTPUT_LIMIT))  # what it prints, what it writes
    except (ImportError, ValueError, OSError):
        pass

    def send(message: dict[str, Any]) -> None:
        rpc_out.write(json.dumps(message).encode() + b"\n")
        rpc_out.flush()

    import importlib.util

    import numpy  # noqa: F401  (imported before the student's code, which cannot then shadow it)

    sys.path.insert(0, os.path.dirname(module_file))
    try:
        spec = importlib.util.spec_from_file_location("submission", module_file)
        module = importlib.util.module_from_spec(spec)
        sys.modules["submission"] = module
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        send({"ok": False, "kind": "unreadable", "error": f"syntax error at {os.path.basename(exc.filename or '')}:"
                                                          f"{exc.lineno}:{exc.offset}: {exc.msg}"})
        return
    except ImportError as exc:
        send({"ok": False, "kind": "unreadable", "error": "cannot be imported: it " + _raised(exc, module_file)})
        return
    except BaseException as exc:  # noqa: BLE001 — SystemExit and KeyboardInterrupt are the student's too
        send({"ok": False, "kind": "crashed", "error": "while being imported it " + _raised(exc, module_file)})
        return
    send({"ok": True, "functions": sorted(k for k, v in vars(module).items() if callable(v))})
    caches: dict[int, Any] = {}
    for line in rpc_in:
        request = json.loads(line)
        try:
            function = getattr(module, request["call"])
            args = [_decode(a, caches) for a in request["args"]]
            value = function(*args)
            if request.get("cache"):  # forward → (out, cache): the cache stays here
                if not isinstance(value, (tuple, list)) or len(value) != 2:
                    raise TypeError(f"{request['call']} must return (out, cache), not {type(value).__name__}")
                caches[len(caches)] = value[1]
                value = (value[0], Handle(len(caches) - 1))
            many = isinstance(value, (tuple, list))
            items = [_encode(v) for v in (value if many else [value])]
        except BaseException as exc:  # noqa: BLE001
            send({"error": _raised(exc, module_file)})
            continue
        send({"result": {"tuple": many, "items": items}})


if __name__ == "__main__":
    _child(os.path.abspath(sys.argv[1]))
