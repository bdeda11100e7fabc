"""Atomic writing: a report is either the old file or the complete new one, never half;
and the reports of a run are one set, never mixed with another run's.

:func:`write_atomic` writes one file to a temporary file in the same folder (same file
system), flushed to disk, then moved over the target with :func:`os.replace`, which is
atomic on POSIX and Windows.

:func:`write_set` writes every report of a run into a hidden staging folder inside the
output folder first; only when all of them are on disk (a full disk or Ctrl-C stops
before anything is replaced) are they renamed into place, one after the other, with
SIGINT and SIGTERM held back for those few renames, and the reports of the formats this
run did not write are removed, so that the folder never holds a set from two runs.  An
exclusive lock on the folder itself (``flock`` of the folder, so no lock file is left
behind) makes two runs into one folder take turns.  A run killed (SIGKILL) while writing leaves the old set and a staging folder,
which the next run removes.
"""
from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping

__all__ = ["write_atomic", "write_set", "append_text", "STAGING_PREFIX"]

#: hidden staging folders are named with this prefix
STAGING_PREFIX = ".gradcheck-staging-"


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        # KeyboardInterrupt included: never leave the temporary file behind
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def write_set(out_dir: str | os.PathLike, files: Mapping[str, str | bytes], stale: Iterable[str] = ()) -> list[Path]:
    """Write ``files`` (name → content) into ``out_dir`` as one set; remove the ``stale`` names.

    A name may lie in a folder (``answer-key/a.html``): the folder is then part of the set
    as a whole — the old folder is replaced by the new one, so none of its old files is
    left beside the new ones.  Returns the paths of the entries written (files, and such
    folders once).  Raises OSError (nothing replaced) when the files cannot all be written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    entries = list(dict.fromkeys(_entry(name) for name in files))
    with _locked(out):
        for old in out.glob(STAGING_PREFIX + "*"):  # left by a killed run (we hold the lock)
            _remove_tree(old)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
        try:
            _write_all(staging, files)
            with _signals_held():
                for entry in entries:
                    _replace(staging / entry, out / entry, staging / (".old-" + entry))
                for name in stale:
                    if name not in entries:
                        _remove(out / name)
        finally:
            _remove_tree(staging)  # with the old set moved aside into it
    return [out / entry for entry in entries]


def _entry(name: str) -> str:
    """The first part of a relative name (a file, or the folder it lies in); never leads out of the folder."""
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in name:
        raise ValueError(f"not a plain relative report name: {name!r}")
    return parts[0]


def _replace(new: Path, target: Path, aside: Path) -> None:
    """Move ``new`` (a file or a folder) over ``target``; a folder, or a file replaced by a folder,
    is first moved ``aside`` (into the staging folder, removed with it): rename cannot replace a
    folder that has files."""
    if (new.is_dir() or target.is_dir()) and os.path.lexists(target):
        os.replace(target, aside)
    os.replace(new, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        _remove_tree(path)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


#: threads that write a set's files and remove the old set's: each waits for the disk (an fsync, an
#: unlink that discards blocks: a few ms each, no CPU), so they overlap — the library's 550 answer-key
#: pages took 2.6 s to write and 2.0 s to remove one after the other, 0.3 s and 0.2 s in 8 threads
WRITE_THREADS = 8


def _remove_tree(path: Path) -> None:
    """Remove a folder and everything in it (errors ignored, as ``shutil.rmtree(ignore_errors=True)``);
    the files of its top two levels are unlinked side by side first."""
    files: list[str] = []
    try:
        for entry in os.scandir(path):
            if entry.is_dir(follow_symlinks=False):
                with os.scandir(entry.path) as inner:
                    files += [e.path for e in inner if not e.is_dir(follow_symlinks=False)]
            else:
                files.append(entry.path)
    except OSError:
        pass
    if len(files) > 1:
        with ThreadPoolExecutor(max_workers=min(WRITE_THREADS, len(files)),
                                thread_name_prefix="gradcheck-remove") as pool:
            list(pool.map(_unlink, files))
    shutil.rmtree(path, ignore_errors=True)


def _unlink(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def _write_all(staging: Path, files: Mapping[str, str | bytes]) -> None:
    """Every file into the staging folder, each on disk before this returns (or the first error)."""
    for name in files:
        if "/" in name:
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
    if len(files) <= 1:
        for name, data in files.items():
            _write_file(staging / name, data)
        return
    with ThreadPoolExecutor(max_workers=min(WRITE_THREADS, len(files)), thread_name_prefix="gradcheck-write") as pool:
        for _ in pool.map(lambda item: _write_file(staging / item[0], item[1]), files.items()):
            pass


def _write_file(path: Path, data: str | bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, 0o666 & ~_umask())


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on the folder ``path``; waits for another holder."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, the staging folder still keeps the set whole
        yield
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (main thread, POSIX) until the block is done."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def append_text(path: str | os.PathLike, text: str) -> Path:
    """Append ``text`` to ``path`` (for files others own, such as ``$GITHUB_STEP_SUMMARY``)."""
    path = Path(path)
    with open(path, "a", encoding="utf-8") as fh:
        if fh.tell() > 0:
            fh.write("\n")
        fh.write(text)
    return path
