"""Reading report.html back: every tag with its attributes, and the page's text."""
from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["parse_page", "external_references"]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)


def parse_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


#: the other files of the set a report page may link to: the report, the answer key's index and its
#: pages (``answer-key/CASE.html``), from the report folder or from the answer key's folder (``../``)
SIBLING = re.compile(r"(\.\./)?(report\.html|answer-key\.html|answer-key/[A-Za-z0-9_.-]+\.html)(#[^/]*)?")


def external_references(html: str) -> list[str]:
    """Every src/href/xlink:href/action/srcset that is neither an in-page anchor nor a
    link to another file of the report set (:data:`SIBLING`)."""
    found = []
    for tag, attrs in parse_page(html).tags:
        for name in ("src", "href", "xlink:href", "action", "srcset", "data", "poster"):
            if name in attrs and not attrs[name].startswith("#") and not (
                    name == "href" and SIBLING.fullmatch(attrs[name])):
                found.append(f"<{tag} {name}={attrs[name]!r}>")
    return found
