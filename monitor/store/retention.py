"""store.retention: pruning the articles nobody needs (`archive.keep_unmatched`). A prune walks the
`fetched` index in (fetched, id) order, PRUNE_BATCH articles per BEGIN IMMEDIATE transaction (what
it checked cannot gain a match before it deletes), so the daemon's writes and Datasette's reads are
never held up for long. Hits, and every article of a story with a hit, are never deleted."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..model import iso
from .connection import immediate, marks

if TYPE_CHECKING:
    from . import Store

log = logging.getLogger("monitor")

PRUNE_BATCH = 1000

# An article retention may delete: fetched before :cutoff, no rule matched it, and no article of its
# story is a hit (the digest and the story query show a hit's copies beside it).
_PRUNABLE = (
    "a.fetched < :cutoff AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.article_id = a.id) "
    "AND (a.story_id IS NULL OR NOT EXISTS (SELECT 1 FROM articles b JOIN matches m ON m.article_id = b.id "
    "WHERE b.story_id = a.story_id))"
)
# The next prunable articles after (:lf, :lid), the last (fetched, id) a batch reached.
_AFTER = f"FROM articles a WHERE {_PRUNABLE} AND a.fetched >= :lf AND (a.fetched > :lf OR a.id > :lid)"


class Retention:
    def __init__(self, store: Store):
        self.store = store
        self.db = store.db

    def prune(self, now: datetime, keep_unmatched: float, *, dry_run: bool = False, batch: int = PRUNE_BATCH,
              limit: int | None = None) -> dict:
        """Delete the articles fetched more than `keep_unmatched` seconds ago that matched no rule and
        whose story has no hit, PRUNE_BATCH at a time, one transaction each; with them go their FTS
        rows (the delete trigger), places, alerts, LSH band keys and, when it was their last article,
        their story (otherwise the story's count and representative follow what is left). Each
        article's own feed item is kept in `sightings` with no article (and other feeds' sightings
        of it lose their link), so it is never fetched again as new. Hits are never deleted.

        Returns counts: articles, places, tombstones, stories_dropped, stories_updated, and `more`
        when `limit` articles were deleted and more are due. `dry_run` only counts."""
        cutoff = iso(now - timedelta(seconds=keep_unmatched))
        if dry_run:
            return self._preview(cutoff)
        started = time.monotonic()
        totals = {"cutoff": cutoff, "articles": 0, "places": 0, "tombstones": 0, "stories_dropped": 0,
                  "stories_updated": 0, "more": False}
        # Walk the fetched index in (fetched, id) order: each batch starts where the last one ended,
        # so the old hits that stay are read once per prune, not once per batch.
        last = ("", 0)
        while True:
            if limit is not None and totals["articles"] >= limit:
                totals["more"] = self._prunable_after(cutoff, last)
                break
            with immediate(self.db):
                rows = self.db.execute(
                    f"SELECT a.id, a.fetched {_AFTER} ORDER BY a.fetched, a.id LIMIT :n",
                    {"cutoff": cutoff, "lf": last[0], "lid": last[1],
                     "n": batch if limit is None else min(batch, limit - totals["articles"])},
                ).fetchall()
                if rows:
                    for key, value in self._delete([r[0] for r in rows], now).items():
                        totals[key] += value
            if not rows:
                break
            last = (rows[-1][1], rows[-1][0])
        totals["seconds"] = round(time.monotonic() - started, 3)
        if not totals["more"]:
            self.store.maintenance.remember("prune", totals, now)
        log.log(logging.INFO if totals["articles"] else logging.DEBUG, "archive pruned", extra=totals)
        return totals

    def _prunable_after(self, cutoff: str, last: tuple[str, int]) -> bool:
        return self.db.execute(
            f"SELECT 1 {_AFTER} LIMIT 1", {"cutoff": cutoff, "lf": last[0], "lid": last[1]}
        ).fetchone() is not None

    def _delete(self, ids: list[int], now: datetime) -> dict:
        """One batch's articles and everything that hangs on them, inside the batch's transaction."""
        counts = {}
        # The article's own item stays known (feed, GUID, URL key), so a feed that still lists it does not
        # bring it back as new; sightings of it from other feeds keep their GUID and URL too.
        counts["tombstones"] = self.db.execute(
            f"INSERT OR IGNORE INTO sightings (feed, guid, url, article_id, seen) "
            f"SELECT feed, guid, url_key, NULL, fetched FROM articles WHERE id IN ({marks(ids)})", ids
        ).rowcount
        self.db.execute(f"UPDATE sightings SET article_id = NULL WHERE article_id IN ({marks(ids)})", ids)
        counts["places"] = self.db.execute(f"DELETE FROM article_places WHERE article_id IN ({marks(ids)})", ids).rowcount
        self.db.execute(f"DELETE FROM alerts WHERE article_id IN ({marks(ids)})", ids)
        # Band keys exist only for articles seen within the story window (checkpoint drops the rest).
        self.store.stories.index.forget(self.db.execute(
            f"SELECT id, signature FROM articles WHERE id IN ({marks(ids)}) AND signature IS NOT NULL AND fetched >= ?",
            [*ids, self.store.stories.window_start(now)],
        ).fetchall())
        stories = [r[0] for r in self.db.execute(
            f"SELECT DISTINCT story_id FROM articles WHERE id IN ({marks(ids)}) AND story_id IS NOT NULL", ids)]
        per_feed = self.db.execute(f"SELECT feed, count(*) FROM articles WHERE id IN ({marks(ids)}) GROUP BY feed", ids).fetchall()
        counts["articles"] = self.db.execute(f"DELETE FROM articles WHERE id IN ({marks(ids)})", ids).rowcount  # FTS: trigger
        self.db.conn.executemany(
            "UPDATE feeds SET article_count = max(0, article_count - ?) WHERE name = ?", [(n, feed) for feed, n in per_feed]
        )
        counts["stories_dropped"], counts["stories_updated"] = self.store.stories.recount(stories)
        return counts

    def _preview(self, cutoff: str) -> dict:
        """What a prune would delete now, counted without deleting."""
        params = {"cutoff": cutoff}
        articles, places = self.db.execute(
            f"SELECT count(*), coalesce(sum((SELECT count(*) FROM article_places p WHERE p.article_id = a.id)), 0) "
            f"FROM articles a WHERE {_PRUNABLE}", params,
        ).fetchone()
        # In a story with no hit every article is prunable once it is old enough: the story goes when
        # none of its articles is newer than the cutoff.
        dropped, updated = self.db.execute(
            "SELECT coalesce(sum(NOT newer), 0), coalesce(sum(newer), 0) FROM (SELECT DISTINCT a.story_id, "
            "EXISTS (SELECT 1 FROM articles c WHERE c.story_id = a.story_id AND c.fetched >= :cutoff) AS newer "
            f"FROM articles a WHERE {_PRUNABLE} AND a.story_id IS NOT NULL)", params,
        ).fetchone()
        return {"cutoff": cutoff, "articles": articles, "places": places, "stories_dropped": dropped,
                "stories_updated": updated, "dry_run": True}
