"""Finding and reading case files: the folder walk and the guarded read of one file.

The walk uses an explicit stack (a tree 1,100 folders deep is fine) and never silently
leaves anything out: a folder that cannot be read is an error; a symbolic link that leads
out of the folder being walked (unless asked to follow it), a FIFO, a device, a broken link
and a link loop are *skipped* with the reason.  A file is read only when it is a regular
file within the size limit (a FIFO never blocks, ``/dev/zero`` is never read) and UTF-8.
File names are shown with undecodable bytes and control characters spelt out.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import CaseError, LimitError, SkippedPath
from .untrusted import path_text

__all__ = ["case_files", "read_text", "DEFAULT_MAX_FILE_SIZE"]

#: the largest case file read, in bytes (``--max-file-size`` raises it)
DEFAULT_MAX_FILE_SIZE = 2**20

_CASE_SUFFIXES = (".yaml", ".yml")


def case_files(path: Path, *, follow_symlinks: bool = False
               ) -> tuple[list[tuple[str, str]], list[CaseError], list[SkippedPath]]:
    """(path to read, name to show) of every case file under ``path``, walked without recursion;
    the folders that could not be read (errors) and the paths left out, with why (skipped)."""
    errors: list[CaseError] = []
    skipped: list[SkippedPath] = []
    shown = path_text(path)
    try:
        info = path.stat()
    except OSError as exc:
        reason = "no such file or directory" if isinstance(exc, FileNotFoundError) else \
            f"cannot read it: {exc.strerror or exc}"
        return [], [CaseError(reason, file=shown)], []
    if not stat.S_ISDIR(info.st_mode):
        return [(str(path), shown)], [], []  # named by the user: read it (load_file refuses what is not a file)
    root = os.path.realpath(path)
    found: list[tuple[str, str]] = []
    seen = {(info.st_dev, info.st_ino)}
    stack = [str(path)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            errors.append(CaseError(f"cannot read this folder ({exc.strerror or exc}); the case files "
                                           "in it were not loaded", file=path_text(Path(folder))))
            continue
        folders = []
        for entry in entries:
            name = path_text(Path(entry.path))
            skip = _why_skip(entry, root, seen, follow_symlinks)
            if skip == "folder":
                folders.append(entry.path)
            elif skip == "file":
                found.append((entry.path, name))
            elif skip:
                skipped.append(SkippedPath(f"skipped: {skip}", file=name))
        stack.extend(reversed(folders))
    return sorted(found, key=lambda f: f[0]), errors, skipped


def _why_skip(entry: os.DirEntry, root: str, seen: set, follow_symlinks: bool) -> str:
    """"folder", "file", "" (not a case file: ignored) or why the entry is left out."""
    wanted = entry.name.endswith(_CASE_SUFFIXES)
    try:
        link = entry.is_symlink()
        if link:
            target = os.path.realpath(entry.path)
            if not follow_symlinks and os.path.commonpath([root, target]) != root:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                if not (wanted or is_dir):
                    return ""
                return ("a symbolic link to outside the folder being loaded (not followed; "
                        "--follow-symlinks follows it)")
        info = os.stat(entry.path)
    except OSError as exc:
        if not (wanted or entry.is_symlink()):
            return ""
        return f"cannot follow it ({exc.strerror or exc}: a broken link or a link loop)"
    if stat.S_ISDIR(info.st_mode):
        key = (info.st_dev, info.st_ino)
        if key in seen:
            return "a folder already loaded (a symbolic link loop)"
        seen.add(key)
        return "folder"
    if not wanted:
        return ""
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a FIFO, a device or a socket)"
    return "file"


def read_text(path: str | Path, file: str, max_file_size: int = DEFAULT_MAX_FILE_SIZE) -> str:
    """A file's text, refused when it is not a regular file, too large, or not UTF-8 (a CaseError)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO must not block us
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise CaseError("not a regular file (a folder, a FIFO, a device or a socket); not read", file=file)
            if info.st_size > max_file_size:
                raise LimitError(f"the file is {info.st_size:,} bytes; the limit is {max_file_size:,} "
                                 "(--max-file-size raises it)", file=file)
            with os.fdopen(os.dup(fd), "rb") as fh:
                data = fh.read(max_file_size + 1)
        finally:
            os.close(fd)
    except OSError as exc:
        raise CaseError(f"cannot read the file: {exc.strerror or exc}", file=file) from None
    if len(data) > max_file_size:  # it grew while we read it
        raise LimitError(f"the file is more than {max_file_size:,} bytes (--max-file-size raises the limit)",
                         file=file)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raw = exc.object[: exc.start]
        line, col = raw.count(b"\n") + 1, exc.start - (raw.rfind(b"\n") + 1) + 1
        raise CaseError(f"not UTF-8 text (byte {exc.start}): 0x{exc.object[exc.start]:02x} cannot be "
                        "decoded; save the file as UTF-8", file=file, line=line, col=col) from None
