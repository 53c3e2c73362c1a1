"""store.stories: the `stories` table, one row per event's article and its copies. A story is
made by its first article (title, representative); a later article with the same text hash, or
whose MinHash signature is near one seen within the window (dedup.StoryIndex), joins it, adding
to its count and its list of feeds. A prune recounts what it leaves."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..dedup import StoryIndex
from ..model import Article, from_iso, iso

if TYPE_CHECKING:
    from . import Store


class Stories:
    def __init__(self, store: Store):
        self.store = store
        self.db = store.db
        self.index = StoryIndex(store.db.conn)

    def join(self, article_id: int, article: Article, stamp: str) -> None:
        """Put a new article in the story of an earlier one with the same text or a near copy of it
        (seen within the window), or start a story."""
        since = self.window_start(from_iso(stamp))
        keys = self.index.keys(article.signature)
        story = self._same_text(article_id, article.text_hash, since)
        if story is None and keys:
            story = self.index.nearest(article.signature, keys, since)
        if story is None:
            story = self.db.execute(
                "INSERT INTO stories (title, first_seen, last_seen, article_count, representative_id, sources) "
                "VALUES (?, ?, ?, 0, ?, '[]')",
                [article.title, stamp, stamp, article_id],
            ).lastrowid
        self.db.execute("UPDATE articles SET story_id = ? WHERE id = ?", [story, article_id])
        self.db.execute(
            "UPDATE stories SET article_count = article_count + 1, last_seen = ?, sources = CASE "
            "WHEN EXISTS (SELECT 1 FROM json_each(sources) WHERE value = ?) THEN sources "
            "ELSE json_insert(sources, '$[#]', ?) END WHERE id = ?",
            [stamp, article.feed, article.feed, story],
        )
        self.index.add(article_id, keys, stamp)

    def window_start(self, when: datetime) -> str:
        """How far back from `when` a copy looks for its story."""
        return iso(when - timedelta(seconds=self.store.story_window))

    def _same_text(self, article_id: int, text_hash: str | None, since: str) -> int | None:
        if not text_hash:
            return None
        row = self.db.execute(
            "SELECT story_id FROM articles WHERE text_hash = ? AND id != ? AND story_id IS NOT NULL AND fetched >= ? LIMIT 1",
            [text_hash, article_id, since],
        ).fetchone()
        return row[0] if row else None

    def recount(self, stories: list[int]) -> tuple[int, int]:
        """After a prune: a story left empty is deleted; another gets its count and, when its
        representative went, its first surviving article. Returns (dropped, updated)."""
        dropped = updated = 0
        for story in stories:
            left, first = self.db.execute("SELECT count(*), min(id) FROM articles WHERE story_id = ?", [story]).fetchone()
            if left == 0:
                self.db.execute("DELETE FROM stories WHERE id = ?", [story])
                dropped += 1
            else:
                self.db.execute(
                    "UPDATE stories SET article_count = ?, representative_id = CASE WHEN EXISTS "
                    "(SELECT 1 FROM articles WHERE id = representative_id) THEN representative_id ELSE ? END WHERE id = ?",
                    [left, first, story],
                )
                updated += 1
        return dropped, updated
