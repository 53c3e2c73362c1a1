"""dedup: which items are the same article, and which articles are the same story.

Layers, cheapest first:
1. canonical URL (tracking parameters, fragment, trailing slash and http/https differences gone) and
   GUID: an item caught here is never fetched again (daemon._new_items). The canonical URL is a key
   (articles.url_key, sightings.url), never a link: the link shown is strip_tracking's (articles.url);
2. the hash of the normalised text: the same text under another URL is the same story;
3. MinHash over word shingles, with LSH bands: a syndicated copy (another headline, other
   boilerplate, a paragraph cut or added) lands in the story of the article it copies.

All of it is pure but StoryIndex, which keeps the bands in the archive's `story_bands` table, not in
memory, so the index grows on disk with the archive and a restart needs no rebuild; a window
(`stories.window`, 7 days) bounds the look-ups. The store (store.stories) decides the story with it.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import zlib
from typing import Iterable
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

import numpy as np
from courlan import normalize_url

from .text import fold

try:  # what normalize_url strips as a tracker, so that the link shown and the key drop the same
    from courlan.clean import TRACKERS_RE
except ImportError:  # a courlan that keeps it elsewhere: its list as of 1.4
    TRACKERS_RE = re.compile(
        r"^(?:dc|fbc|gc|twc|yc|ysc)lid|^(?:click|gbra|msclk|igsh|partner|wbra)id|"
        r"^(?:ads?|mc|ga|gs|itm|mkt|ml|mtm|oly|pk|utm|vero)_|"
        r"(?:\b|_)(?:aff|affi|affiliate|campaign|cl?id|eid|ga|gl|kwd|keyword|medium|ref|referr?er|session|source|uid|xtor)"
    )

PERMUTATIONS = 64
# 32 bands of 2 rows: a pair at Jaccard 0.4 meets in some band with p = 0.996; articles on the same
# event (Jaccard ≈ 0.1) meet with p = 0.27 and then fail the SAME_STORY check on the full signature.
BANDS, ROWS = 32, 2
SHINGLE = 4  # words per shingle
SAME_STORY = 0.4  # estimated Jaccard of shingles from which two texts are one story
_PRIME = (1 << 61) - 1
_rng = np.random.default_rng(20261125)  # fixed: signatures must be comparable across processes and runs
_A = _rng.integers(1, _PRIME, PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, PERMUTATIONS, dtype=np.uint64)
_WORDS = re.compile(r"\w+", re.UNICODE)


def _http_parts(url: str | None) -> SplitResult | None:
    """The parts of an http(s) URL with a host; None for anything else or what does not parse."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return parts if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def canonical_url(url: str | None) -> str | None:
    """The identity of a link: scheme and host normalised, fragment and trailing slash dropped,
    tracking parameters (utm_*, fbclid, gclid, yclid, mc_cid, …) stripped. http and https count as one.

    None for what is not an http(s) URL (a `tag:` GUID, a `javascript:` link).
    """
    parts = _http_parts(url)
    if parts is None:
        return None
    try:
        canonical = normalize_url(urlunsplit(parts._replace(fragment="")), strict=False, trailing_slash=False)
    except ValueError:
        return None
    return "https://" + canonical[len("http://"):] if canonical.startswith("http://") else canonical


def strip_tracking(url: str | None) -> str | None:
    """The link as the site gave it, less its tracking parameters: the address a reader is sent to
    (articles.url). Only the parameters canonical_url drops as trackers (courlan's list: utm_*,
    fbclid, gclid, mc_cid, xtor, …) go, from the query and from a `#k=v&…` fragment; scheme, host
    case, port, path, trailing slash, parameter order and encoding stay as served, since a site
    that serves only http, or only with the slash, is not reached at the canonical key.

    None for what is not an http(s) URL, like canonical_url.
    """
    parts = _http_parts(url)
    if parts is None:
        return None
    fragment = parts.fragment
    if "=" in fragment:  # "#xtor=RSS-3": tracking in the fragment; "#section-2" is left alone
        fragment = _untracked(fragment)
    return urlunsplit(parts._replace(query=_untracked(parts.query), fragment=fragment))


def _untracked(pairs: str) -> str:
    """`k=v&k=v` without the tracking keys, the others untouched (order, encoding, blank values)."""
    if not pairs:
        return pairs
    kept = [p for p in pairs.split("&") if p and not TRACKERS_RE.search(unquote_plus(p.split("=", 1)[0]).lower())]
    return "&".join(kept)


def words(text: str) -> list[str]:
    return _WORDS.findall(fold(text))


def text_hash(text: str) -> str | None:
    """The same words in the same order, whatever the spacing, case or punctuation; None for no text."""
    return _hash(words(text))


def _hash(tokens: list[str]) -> str | None:
    return hashlib.sha1(" ".join(tokens).encode()).hexdigest() if tokens else None


def fingerprint(text: str = "", *, folded: str | None = None) -> tuple[str | None, bytes | None]:
    """The text hash and the MinHash signature (as bytes) from one pass over the words. `folded`
    is the text already folded (the rules' tokeniser has done it), which saves folding it again."""
    tokens = _WORDS.findall(folded) if folded is not None else words(text)
    sig = _signature(tokens)
    return _hash(tokens), (sig.tobytes() if sig is not None else None)


_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5], dtype=np.uint64)


def _shingle_hashes(tokens: list[str]) -> np.ndarray:
    """A 61-bit hash of every distinct run of SHINGLE words: each distinct word is hashed once
    (blake2b: stable across processes, unlike hash()), the runs are mixed with numpy."""
    vocabulary: dict[str, int] = {}
    ids = [vocabulary.setdefault(t, len(vocabulary)) for t in tokens]
    # crc32 and adler32 side by side: 64 stable bits per word at C speed (blake2b per word cost
    # a third of the signature)
    word_hashes = np.fromiter(
        ((zlib.crc32(b) << 32) | zlib.adler32(b) for b in (w.encode() for w in vocabulary)),
        dtype=np.uint64, count=len(vocabulary),
    )
    h = word_hashes[np.asarray(ids, dtype=np.int64)]
    width = min(SHINGLE, len(h))
    runs = len(h) - width + 1
    mixed = np.zeros(runs, dtype=np.uint64)
    for k in range(width):  # uint64 arithmetic wraps: a cheap, order-sensitive mix
        mixed = (mixed ^ (h[k : k + runs] * _MIX[k])) * np.uint64(0xFF51AFD7ED558CCD)
    return np.unique(mixed & np.uint64(_PRIME))


def signature(text: str) -> np.ndarray | None:
    """MinHash signature (PERMUTATIONS uint32 values) of a text's word shingles; None for a text too
    short to say anything (under 20 words: a headline is no evidence of a copy)."""
    return _signature(words(text))


def _signature(tokens: list[str]) -> np.ndarray | None:
    if len(tokens) < 20:
        return None
    hashes = _shingle_hashes(tokens)
    # (a·h + b) mod p for every permutation and shingle; uint64 wraps, which keeps values spread.
    mixed = (np.outer(hashes, _A) + _B) % np.uint64(_PRIME)
    return (mixed.min(axis=0) & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def bands(sig: np.ndarray) -> list[int]:
    """One 63-bit key per band (band number mixed in), what the LSH table stores."""
    rows = sig[: BANDS * ROWS].reshape(BANDS, ROWS)
    return [
        int.from_bytes(hashlib.blake2b(bytes([b]) + rows[b].tobytes(), digest_size=8).digest(), "little") >> 1
        for b in range(BANDS)
    ]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets."""
    return float(np.count_nonzero(a == b)) / len(a)


class StoryIndex:
    """The near-copy index: every signed article's LSH band keys in the archive's `story_bands`
    table (band key, article, seen), indexed on (band key, seen), rather than datasketch's
    in-memory MinHashLSH (340 MB for 100,000 articles): a look-up is BANDS indexed probes within
    the window, a restart needs no rebuild, and keys older than the window are dropped.

    It works inside the caller's transaction (the store's) and never commits. Signatures are
    stored on the article (`articles.signature`, PERMUTATIONS × 4 bytes), which `nearest` reads."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    @staticmethod
    def keys(signature: bytes | None) -> list[int]:
        """A stored signature's band keys; none for an unsigned (short) text. Computed once per
        article for both the look-up and the add: the 32 digests are most of a look-up's cost."""
        return bands(np.frombuffer(signature, dtype=np.uint32)) if signature else []

    def nearest(self, signature: bytes, keys: list[int], since: str) -> int | None:
        """The story of the most similar article seen since `since` sharing a band with this
        signature, when their estimated Jaccard similarity reaches SAME_STORY."""
        if not keys:
            return None
        candidates = self.conn.execute(
            f"SELECT DISTINCT a.id, a.signature, a.story_id FROM story_bands b JOIN articles a ON a.id = b.article_id "
            f"WHERE b.band_key IN ({','.join('?' * len(keys))}) AND b.seen >= ? AND a.story_id IS NOT NULL",
            [*keys, since],
        ).fetchall()
        mine = np.frombuffer(signature, dtype=np.uint32)
        best = max(((similarity(mine, np.frombuffer(sig, dtype=np.uint32)), story) for _id, sig, story in candidates),
                   default=(0.0, None))
        return best[1] if best[0] >= SAME_STORY else None

    def add(self, article_id: int, keys: list[int], seen: str) -> None:
        self.conn.executemany(
            "INSERT INTO story_bands (band_key, article_id, seen) VALUES (?, ?, ?)", [(k, article_id, seen) for k in keys]
        )

    def forget(self, signed: Iterable[tuple[int, bytes]]) -> None:
        """Drop these (article id, signature) pairs' keys: found by key, since the table is indexed
        on the key, not the article."""
        self.conn.executemany(
            "DELETE FROM story_bands WHERE band_key = ? AND article_id = ?",
            [(key, article_id) for article_id, sig in signed for key in self.keys(sig)],
        )

    def expire(self, before: str) -> None:
        """Drop the keys seen before `before`: no copy looks further back, so the index stays the
        window's size."""
        self.conn.execute("DELETE FROM story_bands WHERE seen < ?", [before])
