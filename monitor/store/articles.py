"""store.articles: the `articles` table with its full-text index (`articles_fts`, kept by
sqlite-utils' triggers; `search_folded` holds the diacritic-free forms unicode61 would miss), and
`sightings`, the items that turned out to be an article already stored. Together they answer
"known": an item whose GUID (in its feed) or canonical URL (anywhere) is here is not fetched again.

Uniqueness is the schema's: `articles(url_key)` where not null and `articles(feed, guid)`; inserts
are INSERT OR IGNORE, so two feeds racing with one article store it once."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

from .. import dedup
from ..model import Article
from ..text import folded_variants
from .connection import chunks, marks

if TYPE_CHECKING:
    from . import Store


class Articles:
    def __init__(self, store: Store):
        self.store = store
        self.db = store.db

    def known(self, feed: str, guids: Iterable[str], urls: Iterable[str]) -> tuple[set[str], set[str]]:
        """Which of these GUIDs (in this feed) and canonical URLs (in any feed: articles.url_key,
        sightings.url) are already stored."""
        found_guids: set[str] = set()
        found_urls: set[str] = set()
        for chunk in chunks(list(guids)):
            q = (f"SELECT guid FROM articles WHERE feed=? AND guid IN ({marks(chunk)}) "
                 f"UNION SELECT guid FROM sightings WHERE feed=? AND guid IN ({marks(chunk)})")
            found_guids.update(r[0] for r in self.db.execute(q, [feed, *chunk, feed, *chunk]))
        for chunk in chunks([u for u in urls if u]):
            q = (f"SELECT url_key FROM articles WHERE url_key IN ({marks(chunk)}) "
                 f"UNION SELECT url FROM sightings WHERE url IN ({marks(chunk)})")  # sightings.url is a key too
            found_urls.update(r[0] for r in self.db.execute(q, [*chunk, *chunk]))
        return found_guids, found_urls

    def changed(self, feed: str, items) -> list[tuple[int, object]]:
        """Items already stored for this feed whose title or text differ from what is stored."""
        by_guid = {item.guid: item for item in items}
        out = []
        for chunk in chunks(list(by_guid)):
            rows = self.db.execute(
                f"SELECT id, guid, title, summary FROM articles WHERE feed=? AND guid IN ({marks(chunk)})", [feed, *chunk]
            )
            for article_id, guid, title, summary in rows:
                item = by_guid[guid]
                if (item.title, item.summary) != (title, summary):
                    out.append((article_id, item))
        return out

    def add(self, article: Article, stamp: str) -> int | None:
        """A new article with its story and tags; None when it was stored already (by another feed,
        or under its page's canonical URL), which is then a sighting of that one."""
        article = _clean(article)
        if article.url_key is None:  # built without one (a bench, a test): the key of its link
            article.url_key = dedup.canonical_url(article.url)
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO articles (url, url_key, link, guid, feed, title, author, text, summary, published, "
            "fetched, lang, text_source, error, search_folded, text_hash, signature) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                article.url, article.url_key, article.link, article.guid, article.feed, article.title, article.author,
                article.text, article.summary, article.published, stamp, article.lang, article.text_source,
                article.error, folded_variants(article.title, article.text), article.text_hash, article.signature,
            ],
        )
        if cursor.rowcount == 0:
            row = self.db.execute(
                "SELECT id FROM articles WHERE url_key = ? OR (feed = ? AND guid = ?)", [article.url_key, article.feed, article.guid]
            ).fetchone()
            self.sighted(article.feed, article.guid, dedup.canonical_url(article.link), row[0] if row else None, stamp)
            return None
        article_id = cursor.lastrowid
        self.store.stories.join(article_id, article, stamp)
        self.store.tags.write(article_id, article.matches, article.places, stamp)
        return article_id

    def update(self, article_id: int, article: Article, stamp: str) -> None:
        """The same article with new text (a feed item whose title or text changed): updated in
        place, its revision counted, its tags replaced; it stays in its story."""
        article = _clean(article)
        self.db.execute(
            "UPDATE articles SET title=?, author=?, text=?, summary=?, published=coalesce(?, published), lang=?, "
            "text_source=?, error=?, search_folded=?, text_hash=?, signature=?, revision=revision+1, fetched=? WHERE id=?",
            [article.title, article.author, article.text, article.summary, article.published, article.lang,
             article.text_source, article.error, folded_variants(article.title, article.text), article.text_hash,
             article.signature, stamp, article_id],
        )
        self.store.tags.replace(article_id, article.matches, article.places, stamp)

    def sighted(self, feed: str, guid: str, url: str | None, article_id: int | None, stamp: str) -> None:
        """A feed's item remembered as known: a copy of `article_id`, or (None) an item with no
        article of its own (not an article, or pruned), so it is not fetched again."""
        self.db.execute("INSERT OR IGNORE INTO sightings (feed, guid, url, article_id, seen) VALUES (?, ?, ?, ?, ?)",
                        [feed, guid, url, article_id, stamp])  # raw, as tags.write says why

    def after(self, last_id: int, since: str | None, limit: int) -> list[dict]:
        """The next `limit` articles after `last_id` in id order (published, else fetched, since `since`)."""
        return list(self.db.query(
            "SELECT id, title, text, lang, feed FROM articles WHERE id > ? AND (? IS NULL OR coalesce(published, fetched) >= ?) "
            "ORDER BY id LIMIT ?", [last_id, since, since, limit]))

    def count_since(self, since: str | None) -> int:
        return self.db.execute(
            "SELECT count(*) FROM articles WHERE (? IS NULL OR coalesce(published, fetched) >= ?)", [since, since]
        ).fetchone()[0]


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value):
    """A string SQLite can store: a lone surrogate (a JSON feed's "\\ud800") becomes U+FFFD."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return _SURROGATE.sub("\ufffd", value)
    return value


def _clean(article: Article) -> Article:
    for name in ("url", "url_key", "link", "guid", "title", "text", "summary", "author", "published", "lang", "error"):
        setattr(article, name, _text(getattr(article, name)))
    for match in article.matches:
        match.snippet, match.terms = _text(match.snippet), [_text(t) for t in match.terms]
    return article
