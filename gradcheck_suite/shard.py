"""Stable sharding of cases by name, so a CI matrix of N jobs covers a library exactly once."""
from __future__ import annotations

import hashlib

__all__ = ["in_shard", "parse_shard"]


def in_shard(name: str, k: int, n: int) -> bool:
    """Is case ``name`` in shard ``k`` (1-based) of ``n``?  Depends on the name only."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/4"`` → ``(2, 4)``; ValueError with a usable message otherwise."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"a shard is K/N, e.g. 1/4; got {text!r}") from None
    if not 1 <= k <= n:
        raise ValueError(f"shard {text}: K must be between 1 and N")
    return k, n
