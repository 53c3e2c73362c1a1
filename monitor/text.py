"""Pure text helpers shared by the stages: charsets, HTML to text, folding for search and matching."""

from __future__ import annotations

import bisect
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
# Dashes (– —) stay separators: "Київ–Харків" is two places, "cease‑fire" (a hyphen) one word.
_EXTRA_FOLDS = (("ґ", "г"), ("ʼ", "'"), ("’", "'"), ("‘", "'"), ("`", "'"), ("ʹ", "'"), ("´", "'"), ("′", "'"),
                ("ʻ", "'"), ("‐", "-"), ("‑", "-"))
# Invisible characters that split words where they stand: soft hyphen, zero-width space and joiners.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")


_COMBINING = re.compile("[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def fold(text: str) -> str:
    """Case- and diacritic-insensitive form of text: Київ → киів, ёлка → елка, Café → cafe; a Latin
    letter typed inside a Cyrillic word (Нiкополь) becomes the Cyrillic one it looks like, and back."""
    folded = _fold_letters(text)
    return unmix(folded) if not text.isascii() and _mixed(folded) else folded


def _fold_letters(text: str) -> str:
    """fold without unmix."""
    if text.isascii():
        return text.lower().replace("`", "'")
    if not _NOT_SIMPLE.search(text):
        return _fold_simple(text)
    return _fold_general(text)


def _fold_simple(text: str) -> str:
    """_fold_letters for Latin, Cyrillic and punctuation, which fold letter by letter: casefold, then
    the few letters that change (й → и, é → e, ’ → '). A 5 kB body folds in a third of the time of
    the two normalisations of _fold_general, which give the same (tests/test_stages.py checks)."""
    folded = text.casefold()
    for old in set(_CHANGES.findall(folded)):
        folded = folded.replace(old, _SIMPLE_FOLDS[old])
    return folded


def _fold_general(text: str) -> str:
    """_fold_letters for any text: Unicode's compatibility decomposition, accents dropped."""
    decomposed = unicodedata.normalize("NFKD", _INVISIBLE.sub("", text).casefold())
    folded = unicodedata.normalize("NFC", _COMBINING.sub("", decomposed))
    for old, new in _EXTRA_FOLDS:  # str.replace per letter: far quicker than str.translate on long text
        if old in folded:
            folded = folded.replace(old, new)
    return folded


# Blocks whose letters fold one by one, each on its own (no letter composes with its neighbour):
# Latin, modifier letters, Cyrillic, punctuation, currency and letter-like signs.
_SIMPLE_BLOCKS = ((0x0000, 0x024F), (0x02B0, 0x02FF), (0x0400, 0x052F), (0x2000, 0x206F), (0x20A0, 0x20CF),
                  (0x2100, 0x214F))


def _simple_folds() -> tuple[list[int], dict[str, str]]:
    """From _fold_general, letter by letter: the letters of the blocks that fold on their own (not a
    combining mark that stays), and what each casefolded letter folds to when it changes."""
    changes: dict[str, str] = {}
    simple = []
    for code in (c for lo, hi in _SIMPLE_BLOCKS for c in range(lo, hi + 1)):
        letter = chr(code)
        for part in letter.casefold():
            if part not in changes and _fold_general(part) != part:
                changes[part] = _fold_general(part)
        folded = "".join(changes.get(part, part) for part in letter.casefold())
        if folded == _fold_general(letter) and not any(unicodedata.combining(c) for c in folded):
            simple.append(code)
    return simple, changes


def _outside(codes: list[int]) -> re.Pattern:
    """A pattern for any character whose code is not one of codes (ascending)."""
    ranges, start = [], codes[0]
    for previous, code in zip(codes, codes[1:] + [None]):
        if code != previous + 1:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(previous))}")
            start = code
    return re.compile(f"[^{''.join(ranges)}]")


_SIMPLE, _SIMPLE_FOLDS = _simple_folds()
_NOT_SIMPLE = _outside(_SIMPLE)  # text with one of these takes _fold_general
_CHANGES = re.compile(f"[{''.join(map(re.escape, _SIMPLE_FOLDS))}]")


# Letters that look alike in the two scripts, folded (lower case): sources type Latin i, a, o, e, c,
# p, x inside Cyrillic words ("Нiкополь", "Хaрків") and, more rarely, the reverse. One letter for
# one, so offsets into folded text stay valid.
_LATIN_LOOKALIKES, _CYRILLIC_LOOKALIKES = "aceiopxykmhtb", "асеіорхукмнтв"
_TO_CYRILLIC = str.maketrans(_LATIN_LOOKALIKES, _CYRILLIC_LOOKALIKES)
_TO_LATIN = str.maketrans(_CYRILLIC_LOOKALIKES, _LATIN_LOOKALIKES)
_MIXED = re.compile("[a-z][\u0430-\u045f]|[\u0430-\u045f][a-z]")
_ANY_CYRILLIC, _ANY_LATIN = re.compile("[\u0430-\u045f]"), re.compile("[a-z]")
_MIXED_WORD = re.compile(r"\w*(?:[a-z][\u0430-\u045f]|[\u0430-\u045f][a-z])\w*")
_CYRILLIC_ONLY = re.compile(f"[^\\W\\da-z_{_CYRILLIC_LOOKALIKES}]")  # letters of other scripts count too
_LATIN_ONLY = re.compile(f"[{''.join(sorted(set('abcdefghijklmnopqrstuvwxyz') - set(_LATIN_LOOKALIKES)))}]")


def _mixed(folded: str) -> bool:
    # two plain scans first: the pair scan is six times slower and most texts hold one script
    return bool(_ANY_CYRILLIC.search(folded) and _ANY_LATIN.search(folded) and _MIXED.search(folded))


def unmix(folded: str) -> str:
    """Each folded word that mixes Latin and Cyrillic letters, written in one script (only lookalike
    letters change): the script of its letters that have no lookalike (д in "oдa", r in "kharkіv"),
    or, when all its letters have one ("paнoк"), the script most such letters of the text are in."""
    majority: list[str] = []

    def text_script() -> str:
        if not majority:
            cyrillic = len(_CYRILLIC_ONLY.findall(folded))
            majority.append("cyrillic" if cyrillic >= len(_LATIN_ONLY.findall(folded)) else "latin")
        return majority[0]

    def one_script(m: re.Match) -> str:
        word = m.group()
        if _CYRILLIC_ONLY.search(word):
            return word.translate(_TO_CYRILLIC)
        if _LATIN_ONLY.search(word):
            return word.translate(_TO_LATIN)
        return word.translate(_TO_CYRILLIC if text_script() == "cyrillic" else _TO_LATIN)

    return _MIXED_WORD.sub(one_script, folded)


# Characters whose fold is exactly one character: ASCII, Latin-1 letters but ß, Cyrillic, the common
# quotes, dashes and spaces. Text made only of these folds position for position.
_UNEVEN = re.compile("[^\x00-\x7f\u00a0\u00ab\u00bb\u00c0-\u00de\u00e0-\u00ff\u0400-\u04ff\u2010-\u2015\u2018-\u201f\u02bc\u02b9\u4e00-\u9fff\uac00-\ud7a3]")  # CJK ideographs and Hangul syllables fold one for one too


# Text of letters that fold one for one and letter by letter, none of them Cyrillic (so no word mixes
# scripts): most English text, curly quotes and dashes included. One scan says so, for the three of
# _UNEVEN, _NOT_SIMPLE and _mixed.
_NOT_PLAIN = _outside([c for c in _SIMPLE if not _UNEVEN.match(chr(c)) and not 0x0400 <= c <= 0x04FF])


def fold_mapped(text: str) -> tuple[str, list[tuple[int, int]] | None]:
    """fold(text), and where the folded text's characters come from, when it is not one for one.

    The map is a sorted list of (folded offset, original offset) at the start of each piece: a run of
    one-for-one characters, or one character whose fold is longer (… → ..., № → no, ß → ss) or empty
    (a combining accent, a soft hyphen). None when every character folds to exactly one.
    """
    if not _NOT_PLAIN.search(text):
        return _fold_simple(text), None
    if not _UNEVEN.search(text):
        return fold(text), None
    pieces: list[str] = []
    starts: list[tuple[int, int]] = []
    folded_length = position = 0
    for m in _UNEVEN.finditer(text):
        for start, end in ((position, m.start()), (m.start(), m.end())):
            if end > start:
                piece = _fold_letters(text[start:end])
                starts.append((folded_length, start))
                pieces.append(piece)
                folded_length += len(piece)
        position = m.end()
    if position < len(text):
        starts.append((folded_length, position))
        pieces.append(_fold_letters(text[position:]))
    joined = "".join(pieces)  # a word may span pieces: unmix the whole (one letter for one)
    return (unmix(joined) if _mixed(joined) else joined), starts


def original_offset(starts: list[tuple[int, int]] | None, folded_offset: int) -> int:
    """The offset in the original text of a character of the folded text (see fold_mapped)."""
    if starts is None:
        return folded_offset
    i = bisect.bisect_right(starts, (folded_offset, float("inf"))) - 1
    if i < 0:
        return 0
    folded_start, original_start = starts[i]
    following = starts[i + 1][1] if i + 1 < len(starts) else None
    offset = original_start + (folded_offset - folded_start)
    return min(offset, following - 1) if following is not None and following > original_start else offset


_WORD = re.compile(r"\w+", re.UNICODE)


def folded_variants(*texts: str) -> str:
    """The folded forms of the words whose folding differs from their lower case, once each.

    Stored beside the text in the full-text index, so a search typed without diacritics (елка,
    Kyiv written as Киів) finds text that has them, while the original words stay searchable too.
    """
    seen: dict[str, None] = {}
    for text in texts:
        if not text or text.isascii():
            continue
        lower, folded = _WORD.findall(text.lower()), _WORD.findall(fold(text))
        if len(lower) == len(folded):  # folded once, word for word (almost every text)
            pairs = zip(lower, folded)
        else:
            pairs = ((word, fold(word)) for word in lower)
        for word, folded_word in pairs:
            if folded_word != word:
                seen.setdefault(folded_word)
    return " ".join(seen)


# Every character fold() reads as an apostrophe, the ASCII one included: перемир'я, перемир’я and
# перемирʼя are one word to the matcher, so whatever shows a match must treat them alike too.
APOSTROPHES = "'" + "".join(a for a, b in _EXTRA_FOLDS if b == "'")


def plural(count: int, one: str, many: str) -> str:
    """"1 story", "2 stories": the count with the noun that agrees with it."""
    return f"{count} {one if count == 1 else many}"


_TILDE_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def tilde(name: str) -> str:
    """A name as Datasette writes it in a path (its tilde encoding: "war.db" is served as "war~2Edb"),
    for the digest's archive links and the workbench's Atom URL without importing Datasette."""
    return "".join(chr(b) if b in _TILDE_SAFE else "+" if b == 0x20 else f"~{b:02X}" for b in name.encode("utf-8"))
