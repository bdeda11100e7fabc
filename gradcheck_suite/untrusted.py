"""Text from case files and file systems, before it reaches a terminal, a report or a message.

A case file, its name and its folder are untrusted: they can hold escape sequences
(``ESC [ 2 J`` clears a terminal, ``ESC ] 8`` makes a link), carriage returns, invisible
characters (U+200B) and bidirectional controls (U+202E, U+200F, U+061C) that make a
text read differently from what it is, and lone surrogates that no UTF-8 stream can
carry.  :data:`UNSAFE_CHARACTERS` is the one list of them; a case file may not hold
them in an expression, a title, a description or a tag (a located error), and
:func:`visible` spells out any that reach output anyway (file names) as ``\\x1b``,
``\\u202e``…, so they are seen, not obeyed.
"""
from __future__ import annotations

import os
import re

__all__ = ["UNSAFE_CHARACTERS", "visible", "path_text", "excerpt", "markdown_text"]

#: C0/C1 controls but tab and newline, DEL, invisible and bidirectional formatting
#: characters, line/paragraph separators, the BOM, and lone surrogates
UNSAFE_CHARACTERS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"        # C0 (but \t \n), DEL, C1
    "\u061c\u180e"                         # Arabic letter mark, Mongolian vowel separator
    "\u200b-\u200f\u2028-\u202e"           # zero-width, LRM/RLM, separators, bidi embeddings/overrides
    "\u2060-\u2069\ufeff"                  # word joiner, invisible operators, bidi isolates, BOM
    "\ud800-\udfff]"                       # lone surrogates
)

_ANY_LINE_BREAK = re.compile("[\n\t]")


def _spell(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, one_line: bool = False) -> str:
    """``text`` with every unsafe character spelt out (``\\x1b``, ``\\u202e``); tabs and
    newlines kept unless ``one_line``."""
    text = UNSAFE_CHARACTERS.sub(_spell, text)
    if one_line:
        text = _ANY_LINE_BREAK.sub(_spell, text)
    return text


def path_text(path: str | os.PathLike) -> str:
    """How a path is shown: bytes that are not UTF-8 as ``\\xe9`` and controls spelt out."""
    raw = os.fsencode(path)
    return visible(raw.decode("utf-8", "backslashreplace"), one_line=True)


def excerpt(text: str, limit: int = 12) -> str:
    """At most ``limit`` characters of ``text``, unsafe ones spelt out, "…" when cut.

    For quoting a file that may not be a case file at all (a credentials file reached
    through a link): a message never carries more of it than this.
    """
    cut = text[:limit]
    return visible(cut, one_line=True) + ("…" if len(text) > limit else "")


_MARKDOWN_LIVE = re.compile(r"([\\`*_~$\[\]|])")


def markdown_text(text: str) -> str:
    """Plain text for a Markdown table cell or line: it can neither become a link, an image,
    HTML or a code span, nor break the table, nor ping anyone.

    Backslashes, backquotes, ``* _ ~ $`` (emphasis, maths: ``__dunder__`` stays text),
    brackets and ``|`` are backslash-escaped (no ``[x](url)`` nor ``![x](url)`` can form),
    ``< > &`` become entities (no inline HTML), and an ``@`` is
    followed by an empty HTML comment, which GitHub shows as nothing but which stops
    ``@org/team`` from being a mention (and ``https://`` or ``www.`` from being a bare
    link).  Newlines are folded; unsafe characters spelt out.
    """
    text = visible(" ".join(text.split()), one_line=True)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_LIVE.sub(r"\\\1", text).replace("@", "@<!-- -->")
    return text.replace("://", ":<!-- -->//").replace("www.", "www<!-- -->.")  # no bare autolinks
