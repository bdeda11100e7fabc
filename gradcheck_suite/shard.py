"""Stable sharding, so a CI matrix of N jobs covers a library exactly once.

A case belongs to the shard of its name; an error of a file that could not be loaded
belongs to the shard of the file's path (``cases/x.yaml``, as named from the folder the
jobs run in), so one job of the matrix reports it — not every job.
"""
from __future__ import annotations

import hashlib
from pathlib import PurePath

__all__ = ["in_shard", "error_in_shard", "parse_shard"]


def in_shard(name: str, k: int, n: int) -> bool:
    """Is case ``name`` in shard ``k`` (1-based) of ``n``?  Depends on the name only."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1


def error_in_shard(file: str, k: int, n: int) -> bool:
    """Is the load error of ``file`` reported by shard ``k`` of ``n``?  By the file's path."""
    return in_shard("file:" + PurePath(str(file).replace("\\", "/")).as_posix(), k, n)


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` → ``(2, 4)``; ValueError with a usable message otherwise."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"a shard is K/N, e.g. 1/4; got {text!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"shard {text}: K must be between 1 and N")
    return k, n
