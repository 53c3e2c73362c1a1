"""Plain data types that the stages pass to each other.

No library object (a feedparser dict, an httpx response) travels past the stage that made it: each
stage turns what its library gives it into one of these. Times travel as ISO 8601 UTC text
(`2026-11-25T08:05:00Z`), written by `iso` and read back by `from_iso`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone


def iso(when: datetime) -> str:
    """`when` as the archive and the records write a time: ISO 8601, UTC, to the second."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(text: str | None) -> datetime | None:
    """An ISO 8601 time (Z or an offset; UTC when it names no zone) as an aware datetime; None when
    blank or unreadable."""
    try:
        when = datetime.fromisoformat((text or "").strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class Request:
    """What fetch is asked for: one GET, its limits and its manners."""

    url: str
    feed: str  # whose request this is: named in every error
    max_bytes: int  # the body's cap, decoded
    deadline: float  # seconds for the whole answer, body included
    accept: str = ""  # the Accept header; "" asks as for a feed (fetch.FEED_ACCEPT)
    etag: str | None = None  # validators for a conditional GET
    last_modified: str | None = None
    public_only: bool = False  # connect to public addresses only (links found inside a feed)
    polite: bool = False  # a crawled site: obey its robots.txt and space requests by its crawl delay


@dataclass(slots=True)
class Response:
    """What fetch returns: the final URL after redirects, status, lower-cased headers and the decoded body."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""
    peer: str | None = None  # the IP address the answer came from

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


@dataclass(slots=True)
class Item:
    """One entry of a feed, as parse found it."""

    guid: str | None
    link: str | None
    title: str = ""
    summary: str = ""  # plain text
    published: str | None = None  # ISO 8601, UTC
    author: str | None = None


@dataclass(slots=True)
class ParsedFeed:
    format: str  # "rss20", "atom10", "json1.1", ...
    title: str = ""
    link: str = ""
    items: list[Item] = field(default_factory=list)
    # Why the feed was not clean (feedparser's bozo exception, a skipped item): kept on the feed's row.
    problems: list[str] = field(default_factory=list)
    # The publisher's own polling hint in seconds (RSS <ttl>, sy:updatePeriod/updateFrequency).
    ttl: float | None = None
    sitemaps: list[str] = field(default_factory=list)  # a sitemap index's sitemaps, newest first


@dataclass(slots=True)
class Extracted:
    """What extract found in an article page."""

    text: str
    title: str | None = None
    author: str | None = None
    date: str | None = None
    lang: str | None = None
    canonical: str | None = None  # the page's own URL for itself (rel=canonical, og:url)


@dataclass(slots=True)
class Match:
    rule: str
    field: str  # "title" or "text"
    terms: list[str]
    snippet: str


@dataclass(slots=True)
class Article:
    """One new article, ready to store."""

    url: str | None  # the link a reader is sent to: as the site gave it, tracking parameters removed
    link: str | None  # the URL as the feed gave it, which is what gets fetched
    guid: str
    feed: str
    title: str
    text: str
    summary: str = ""
    author: str | None = None
    published: str | None = None
    lang: str | None = None
    # "page" when the text was extracted from the article page, "feed" when the feed's own
    # summary or content had to stand in (full_text off, page refused, or nothing extracted).
    text_source: str = "page"
    error: str | None = None  # why the page could not be used
    matches: list[Match] = field(default_factory=list)
    places: list[str] = field(default_factory=list)  # ISO 3166-2 codes
    text_hash: str | None = None  # dedup: the normalised text's hash
    signature: bytes | None = None  # dedup: MinHash of the text's shingles
    # dedup: canonical URL (dedup.canonical_url), the identity of the article; never shown as a
    # link (it says https for every site). None: the store takes canonical_url(url).
    url_key: str | None = None


@dataclass(slots=True)
class FeedState:
    """What the store remembers of a feed between polls."""

    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    polls_since_full: int = 0
    error_count: int = 0
    next_poll: str | None = None
    hint: float | None = None  # the feed's own ttl/sy:updatePeriod, seconds
    kind: str | None = None  # feed, sitemap or page, once known


@dataclass(slots=True)
class PollResult:
    """The outcome of one poll of one feed: what the store writes in one transaction."""

    feed: str
    status: int | None  # HTTP status, None when no answer came
    error: str | None = None
    articles: list[Article] = field(default_factory=list)
    unchanged: bool = False  # 304, or the same body as last time
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    polls_since_full: int = 0
    next_poll: str = ""
    title: str | None = None
    problems: str | None = None  # what parsing had to work round, kept on the feed's row
    updates: list[tuple[int, Article]] = field(default_factory=list)  # stored articles with new text
    hint: float | None = None  # the feed's own polling hint (ttl, sy:updatePeriod), seconds
    failure: str | None = None  # with an error: "temporary" or "permanent"
    kind: str | None = None  # what the source turned out to be: feed, sitemap or page
    # Links of a sitemap or page that are not articles (too little text, gone, forbidden by
    # robots.txt): (guid, url) remembered as sightings, so they are not fetched again.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Articles of this poll already committed, in batches as they were built (a feed of thousands
    # of items is not held whole, and a kill loses a batch, not the feed): counted, not kept.
    stored: int = 0

    @property
    def new_articles(self) -> int:
        return self.stored + len(self.articles)
