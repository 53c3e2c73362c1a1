"""Pure text helpers shared by the stages: charsets, HTML to text, folding for search and matching."""

from __future__ import annotations

import codecs
import html
import re
import unicodedata

import charset_normalizer

_CHARSET_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)


def charset_of(content_type: str) -> str | None:
    """The charset parameter of a Content-Type header, lower-cased, or None."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return _known(value.strip().strip("\"'")) or None
    return None


def _known(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError):
        return None


def meta_charset(head: bytes) -> str | None:
    """The charset a page declares in its first few KiB (<meta charset> or http-equiv)."""
    m = _CHARSET_META.search(head[:4096])
    return _known(m.group(1).decode("ascii", "ignore")) if m else None


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detect_charset(data: bytes) -> str:
    """Best guess for undeclared bytes: UTF-8 when valid, else charset-normalizer's verdict."""
    if is_utf8(data):
        return "utf-8"
    best = charset_normalizer.from_bytes(data[:200_000]).best()
    return _known(best.encoding) if best and best.encoding else "windows-1252"


def decode_html(body: bytes, content_type: str = "") -> tuple[str, str]:
    """Decode a web page: BOM, then the HTTP header, then <meta>, then detection.

    A declared charset that fails to decode is treated as absent (servers lie, and a page with a
    wrong header must still come out as readable text).
    """
    for bom, name in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if body.startswith(bom):
            return body[len(bom):].decode(name, "replace"), name
    for name in (charset_of(content_type), meta_charset(body)):
        if name:
            try:
                return body.decode(name), name
            except (UnicodeDecodeError, LookupError):
                continue
    name = detect_charset(body)
    return body.decode(name, "replace"), name


_DROP = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BREAK = re.compile(r"<\s*(br|/p|/div|/li|/h[1-6]|/tr|/blockquote|p|li|h[1-6])\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_LINES = re.compile(r"\s*\n\s*")


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment (a feed summary): tags dropped, entities decoded, blocks kept as lines."""
    if "<" not in markup and "&" not in markup:
        return _LINES.sub("\n", _SPACES.sub(" ", markup)).strip()
    text = _DROP.sub(" ", markup)
    text = _BREAK.sub("\n", text)
    text = html.unescape(_TAG.sub(" ", text))
    text = _SPACES.sub(" ", text)
    return _LINES.sub("\n", text).strip()


# Letters that Unicode does not decompose but that writers swap freely: Ukrainian ґ is often typed г.
_EXTRA_FOLDS = (("ґ", "г"), ("ʼ", "'"), ("’", "'"), ("‘", "'"), ("`", "'"), ("ʹ", "'"), ("‐", "-"), ("‑", "-"), ("–", "-"), ("—", "-"))


_COMBINING = re.compile("[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def fold(text: str) -> str:
    """Case- and diacritic-insensitive form of text: Київ → киів, ёлка → елка, Café → cafe."""
    if text.isascii():
        return text.lower().replace("`", "'")
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    folded = unicodedata.normalize("NFC", _COMBINING.sub("", decomposed))
    for old, new in _EXTRA_FOLDS:  # str.replace per letter: far quicker than str.translate on long text
        if old in folded:
            folded = folded.replace(old, new)
    return folded


_WORD = re.compile(r"\w+", re.UNICODE)


def folded_variants(*texts: str) -> str:
    """The folded forms of the words whose folding differs from their lower case, once each.

    Stored beside the text in the full-text index, so a search typed without diacritics (елка,
    Kyiv written as Киів) finds text that has them, while the original words stay searchable too.
    """
    seen: dict[str, None] = {}
    for text in texts:
        for word in _WORD.findall(text or ""):
            lower = word.lower()
            folded = fold(lower)
            if folded != lower:
                seen.setdefault(folded)
    return " ".join(seen)
