"""extract: article page bytes → Extracted (main text, title, author, date, language). Pure.

The charset comes from the BOM, the HTTP header, the page's <meta>, or detection, in that order,
and a declaration that does not decode is ignored: a windows-1251 page comes out as Cyrillic even
when its server says nothing. trafilatura does the extraction; it is CPU-bound, so the daemon runs
`extract` in the worker pool (see workers.py).
"""

from __future__ import annotations

import re

import trafilatura

from .model import Extracted
from .text import decode_html

_HTML_LANG = re.compile(r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


def is_page(content_type: str) -> bool:
    """Whether a Content-Type can hold an article page (a PDF or an image cannot)."""
    return content_type.split(";", 1)[0].strip().lower() in _HTML_TYPES


def extract(body: bytes, *, url: str, content_type: str = "", fast: bool = True) -> Extracted:
    html, _charset = decode_html(body, content_type)
    doc = trafilatura.bare_extraction(
        html,
        url=url,
        fast=fast,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
    )
    if doc is None or not (doc.text or "").strip():
        return Extracted(text="")
    text = doc.text.strip()
    return Extracted(
        text=text,
        title=(doc.title or None),
        author=(doc.author or None),
        date=(doc.date or None),
        lang=language(text, html),
        canonical=doc.url or None,
    )


def language(text: str, html: str = "") -> str | None:
    """ISO 639-1 code of the text: detected when there is enough text, else the page's lang attribute."""
    if len(text) >= 40:
        import py3langid  # imported late: it loads a model, which only workers need

        code, _score = py3langid.classify(text[:1500])  # plenty to tell a language; cost grows with length
        return code
    m = _HTML_LANG.search(html[:4096])
    return m.group(1).lower() if m else None
