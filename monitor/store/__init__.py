"""store: the SQLite archive (sqlite-utils on a file database, WAL).

One transaction per feed batch holds that feed's new articles, their matches, and the feed's new
validators (ETag, Last-Modified, body hash): a crash leaves nothing half-written, and an article
that was committed is never fetched again as new, since "known" is read from the same rows.

Schema changes go through MIGRATIONS, applied in order and counted in `PRAGMA user_version`.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import shutil
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

import numpy as np
import sqlite_utils

from .. import dedup
from ..config import ArchiveConfig, FeedConfig
from ..errors import StoreBusy, StoreError, StoreFull, store_error
from ..model import Article, FeedState, PollResult
from ..text import folded_variants
from .migrations import MIGRATIONS, migrate

BUSY_TIMEOUT_MS = 15_000

log = logging.getLogger("monitor")

# Retention (archive: in the config). Pruning deletes in batches, one short transaction each, so the
# daemon's writes and Datasette's reads are never held up for long; maintain() does at most
# PRUNE_PER_CALL articles per call and carries on after the next cycle.
PRUNE_BATCH = 1000
PRUNE_PER_CALL = 20_000
PRUNE_EVERY = timedelta(hours=1)
VACUUM_RETRY = timedelta(hours=1)
MAINTENANCE_BUSY_MS = 2000  # maintenance gives way quickly: it can always run after the next cycle
WAL_LIMIT = 64 * 2**20  # the WAL file is cut back to this after a checkpoint (a VACUUM writes the whole file to it)


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Below this much free space on the archive's filesystem it counts as full: SQLite needs room for
# the WAL and its temporary files before any write.
MIN_FREE_BYTES = 4 * 2**20

# An article retention may delete: fetched before :cutoff, no rule matched it, and no article of its
# story is a hit (the digest and the story query show a hit's copies beside it).
_PRUNABLE = (
    "a.fetched < :cutoff AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.article_id = a.id) "
    "AND (a.story_id IS NULL OR NOT EXISTS (SELECT 1 FROM articles b JOIN matches m ON m.article_id = b.id "
    "WHERE b.story_id = a.story_id))"
)


def _translated(method):
    """sqlite3 errors leave the store as StoreError ("database is locked", "disk I/O error")."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise self._error(f"store: {self.path}", exc) from None

    return wrapper


class Store:
    def __init__(self, path: str | Path, *, story_window: float = 7 * 86400.0, busy_ms: int = BUSY_TIMEOUT_MS):
        self.path = Path(path)
        self.story_window = story_window  # seconds: how far back a copy looks for its story
        self._vacuum_failed: datetime | None = None
        conn = None
        try:
            # check_same_thread off: the daemon opens it on the loop and hands it to a writer thread
            conn = sqlite3.connect(str(self.path), timeout=busy_ms / 1000, check_same_thread=False)
            self.db = sqlite_utils.Database(conn)
            self.db.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
            mode = self.db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"store: {self.path}: cannot use WAL journal mode (got {mode})")
            # NORMAL in WAL mode: a killed process loses nothing committed; a power cut may lose the
            # last transactions but never corrupts, and what was lost is fetched again, not doubled.
            self.db.execute("PRAGMA synchronous = NORMAL")
            self.db.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
            self.migrate()
        except sqlite3.DatabaseError as exc:
            if conn is not None:  # tried again at start while another writer holds the lock
                conn.close()
            raise self._error(f"store: {self.path}", exc) from None

    def close(self) -> None:
        try:  # a courtesy, not worth a wait: another writer's lock leaves the WAL for its next checkpoint
            self.db.execute("PRAGMA busy_timeout = 100")
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.DatabaseError:
            pass
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------- migrations

    def migrate(self) -> int:
        return migrate(self.db, self.path)

    def checkpoint(self, now: datetime | None = None) -> None:
        """After a cycle: drop LSH band keys older than the story window (no copy looks that far
        back, so the index stays the window's size), then fold the WAL back into the database file;
        PASSIVE never waits on readers (Datasette)."""
        try:
            if now is not None:
                with self.db.atomic():
                    self.db.execute("DELETE FROM story_bands WHERE seen < ?", [iso(now - timedelta(seconds=self.story_window))])
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            raise self._error("store: checkpoint", exc) from None

    def writable(self) -> bool:
        """Whether the archive can take new pages now: the disk has room for a few MiB and SQLite
        can allocate pages (max_page_count, a quota), tried in a transaction rolled back."""
        if shutil.disk_usage(self.path.parent).free < MIN_FREE_BYTES:
            return False
        conn = self.db.conn
        try:
            conn.execute("SAVEPOINT probe")
            try:
                conn.execute("CREATE TABLE probe_write (b BLOB)")
                conn.execute("INSERT INTO probe_write VALUES (zeroblob(?))", [4 * self.db.execute("PRAGMA page_size").fetchone()[0]])
            finally:
                conn.execute("ROLLBACK TO probe")
                conn.execute("RELEASE probe")
        except sqlite3.Error as exc:
            error = self._error("store: probe", exc)
            if isinstance(error, StoreFull):
                return False
            raise error from None
        return True

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.path.parent).free

    def _error(self, message: str, exc: Exception) -> StoreError:
        """store_error, knowing the disk: where writing the WAL or its index meets ENOSPC, SQLite
        says only "disk I/O error"; with the disk nearly full that is the full archive it is."""
        error = store_error(message, exc)
        if type(error) is StoreError and "disk I/O error" in str(exc):
            try:
                free = self.free_bytes()
            except OSError:
                return error
            if free < MIN_FREE_BYTES:
                return StoreFull(f"{message}: {exc} ({free / 2**20:.1f} MiB free)")
        return error

    # -------------------------------------------------------------------------------- retention

    def maintain(self, now: datetime, archive: ArchiveConfig) -> dict:
        """Retention, for the daemon to call after each cycle: prune (at most once an hour, at most
        PRUNE_PER_CALL articles a call; an unfinished prune goes on at the next call), then VACUUM if
        it is due and worth it. Returns what was done: {"prune": {...}, "vacuum": {...}}, empty when
        nothing was. Another writer holding the lock makes it skip, never raise (StoreBusy is logged)."""
        done: dict = {}
        with self._busy_timeout(MAINTENANCE_BUSY_MS):
            if archive.keep_unmatched is not None and self._due("prune", now, PRUNE_EVERY):
                try:
                    done["prune"] = self.prune(now, archive.keep_unmatched, limit=PRUNE_PER_CALL)
                except StoreBusy as exc:
                    log.warning("prune skipped: the database is locked", extra={"error": str(exc)})
                    done["prune"] = {"skipped": str(exc)}
            unfinished = "prune" in done and (done["prune"].get("more") or "skipped" in done["prune"])
            if archive.vacuum_every is not None and not unfinished:
                vacuumed = self.vacuum_if_due(now, archive.vacuum_every, archive.vacuum_min_free)
                if vacuumed is not None:
                    done["vacuum"] = vacuumed
        return done

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
            return self._prune_preview(cutoff)
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
            with self._immediate():
                rows = self.db.execute(
                    f"SELECT a.id, a.fetched FROM articles a WHERE {_PRUNABLE} AND a.fetched >= :lf "
                    "AND (a.fetched > :lf OR a.id > :lid) ORDER BY a.fetched, a.id LIMIT :n",
                    {"cutoff": cutoff, "lf": last[0], "lid": last[1],
                     "n": batch if limit is None else min(batch, limit - totals["articles"])},
                ).fetchall()
                if rows:
                    for key, value in self._prune_batch([r[0] for r in rows], now).items():
                        totals[key] += value
            if not rows:
                break
            last = (rows[-1][1], rows[-1][0])
        totals["seconds"] = round(time.monotonic() - started, 3)
        if not totals["more"]:
            self._remember("prune", totals, now)
        log.log(logging.INFO if totals["articles"] else logging.DEBUG, "archive pruned", extra=totals)
        return totals

    def _prunable_after(self, cutoff: str, last: tuple[str, int]) -> bool:
        return self.db.execute(
            f"SELECT 1 FROM articles a WHERE {_PRUNABLE} AND a.fetched >= :lf AND (a.fetched > :lf OR a.id > :lid) LIMIT 1",
            {"cutoff": cutoff, "lf": last[0], "lid": last[1]},
        ).fetchone() is not None

    def _prune_batch(self, ids: list[int], now: datetime) -> dict:
        marks = ",".join("?" * len(ids))
        counts = {}
        # The article's own item stays known (feed, GUID, URL key), so a feed that still lists it does not
        # bring it back as new; sightings of it from other feeds keep their GUID and URL too.
        counts["tombstones"] = self.db.execute(
            f"INSERT OR IGNORE INTO sightings (feed, guid, url, article_id, seen) "
            f"SELECT feed, guid, url_key, NULL, fetched FROM articles WHERE id IN ({marks})", ids
        ).rowcount
        self.db.execute(f"UPDATE sightings SET article_id = NULL WHERE article_id IN ({marks})", ids)
        counts["places"] = self.db.execute(f"DELETE FROM article_places WHERE article_id IN ({marks})", ids).rowcount
        self.db.execute(f"DELETE FROM alerts WHERE article_id IN ({marks})", ids)
        # Band keys exist only for articles seen within the story window (checkpoint drops the rest);
        # they are found by key, since story_bands is indexed on the key, not the article.
        window_start = iso(now - timedelta(seconds=self.story_window))
        signed = self.db.execute(
            f"SELECT id, signature FROM articles WHERE id IN ({marks}) AND signature IS NOT NULL AND fetched >= ?",
            [*ids, window_start],
        ).fetchall()
        self.db.conn.executemany(
            "DELETE FROM story_bands WHERE band_key = ? AND article_id = ?",
            [(key, article_id) for article_id, sig in signed for key in dedup.bands(np.frombuffer(sig, dtype=np.uint32))],
        )
        stories = [r[0] for r in self.db.execute(
            f"SELECT DISTINCT story_id FROM articles WHERE id IN ({marks}) AND story_id IS NOT NULL", ids)]
        per_feed = self.db.execute(f"SELECT feed, count(*) FROM articles WHERE id IN ({marks}) GROUP BY feed", ids).fetchall()
        counts["articles"] = self.db.execute(f"DELETE FROM articles WHERE id IN ({marks})", ids).rowcount  # FTS: trigger
        self.db.conn.executemany(
            "UPDATE feeds SET article_count = max(0, article_count - ?) WHERE name = ?", [(n, feed) for feed, n in per_feed]
        )
        counts["stories_dropped"] = counts["stories_updated"] = 0
        for story in stories:
            left, first = self.db.execute("SELECT count(*), min(id) FROM articles WHERE story_id = ?", [story]).fetchone()
            if left == 0:
                self.db.execute("DELETE FROM stories WHERE id = ?", [story])
                counts["stories_dropped"] += 1
            else:
                self.db.execute(
                    "UPDATE stories SET article_count = ?, representative_id = CASE WHEN EXISTS "
                    "(SELECT 1 FROM articles WHERE id = representative_id) THEN representative_id ELSE ? END WHERE id = ?",
                    [left, first, story],
                )
                counts["stories_updated"] += 1
        return counts

    def _prune_preview(self, cutoff: str) -> dict:
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

    def vacuum_if_due(self, now: datetime, every: float, min_free: float) -> dict | None:
        """VACUUM when the last one is more than `every` seconds old and at least `min_free` of the
        file's pages are free; None when it was not. A VACUUM that fails (another writer holds the
        lock, the disk is too full for the copy) is logged and tried again after VACUUM_RETRY (kept
        in memory: the failure may be that nothing can be written)."""
        if not self._due("vacuum", now, timedelta(seconds=every)):
            return None
        if self._vacuum_failed is not None and timedelta(0) <= now - self._vacuum_failed < VACUUM_RETRY:
            return None
        pages = self.db.execute("PRAGMA page_count").fetchone()[0]
        free = self.db.execute("PRAGMA freelist_count").fetchone()[0]
        if not pages or free / pages < min_free:
            return None
        try:
            return self.vacuum(now)
        except StoreError as exc:
            log.warning("vacuum skipped", extra={"error": str(exc), "free_pages": free, "pages": pages})
            self._vacuum_failed = now
            return {"skipped": str(exc)}

    def vacuum(self, now: datetime) -> dict:
        """Merge the full-text index into one segment, rewrite the file without its free pages, then
        fold the WAL in and truncate it. FTS5 only marks deleted rows in new segments, so without the
        merge a prune would leave the index as large as before. VACUUM cannot run inside a
        transaction and needs the write lock: StoreBusy after a short wait."""
        before = self._file_bytes()
        free = self.db.execute("PRAGMA freelist_count").fetchone()[0]
        started = time.monotonic()
        with self._busy_timeout(MAINTENANCE_BUSY_MS):
            if self.db.conn.in_transaction:
                raise StoreError(f"store: {self.path}: VACUUM cannot run inside a transaction")
            with self._immediate():
                self.db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")
            self.db.execute("VACUUM")
            # A reader (Datasette) may keep the WAL from being truncated now; the next checkpoint does it.
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        done = {"bytes_before": before, "bytes_after": self._file_bytes(), "free_pages": free,
                "seconds": round(time.monotonic() - started, 3)}
        self._remember("vacuum", done, now)
        log.info("database vacuumed", extra=done)
        return done

    def stats(self) -> dict:
        """Size and counts of the archive, for `monitor stats`."""
        def one(sql: str, params=()):
            return self.db.execute(sql, params).fetchone()[0]

        pages, free = one("PRAGMA page_count"), one("PRAGMA freelist_count")
        oldest, newest = self.db.execute("SELECT min(fetched), max(fetched) FROM articles").fetchone()
        pruned, vacuumed = self._remembered("prune"), self._remembered("vacuum")
        return {
            "database": str(self.path),
            "file_bytes": _size(self.path),
            "wal_bytes": _size(Path(f"{self.path}-wal")),
            "page_size": one("PRAGMA page_size"),
            "pages": pages,
            "free_pages": free,
            "feeds_active": one("SELECT count(*) FROM feeds WHERE active = 1"),
            "feeds": one("SELECT count(*) FROM feeds"),
            "articles": one("SELECT count(*) FROM articles"),
            "articles_with_hits": one("SELECT count(DISTINCT article_id) FROM matches"),
            "matches": one("SELECT count(*) FROM matches"),
            "stories": one("SELECT count(*) FROM stories"),
            "place_tags": one("SELECT count(*) FROM article_places"),
            "articles_with_places": one("SELECT count(DISTINCT article_id) FROM article_places"),
            "sightings": one("SELECT count(*) FROM sightings"),
            "digests_sent": one("SELECT count(*) FROM digests WHERE status = 'sent'"),
            "oldest_article": oldest,
            "newest_article": newest,
            "last_prune": iso(pruned[1]) if pruned else None,
            "last_prune_articles": pruned[0].get("articles") if pruned else None,
            "last_vacuum": iso(vacuumed[1]) if vacuumed else None,
        }

    def _file_bytes(self) -> int:
        return _size(self.path) + _size(Path(f"{self.path}-wal"))

    def _remember(self, key: str, value: dict, now: datetime) -> None:
        with self.db.atomic():
            self.db.execute("INSERT OR REPLACE INTO maintenance (key, value, updated) VALUES (?, ?, ?)",
                            [key, json.dumps(value), iso(now)])

    def _remembered(self, key: str) -> tuple[dict, datetime] | None:
        row = self.db.execute("SELECT value, updated FROM maintenance WHERE key = ?", [key]).fetchone()
        return (json.loads(row[0]), datetime.fromisoformat(row[1].replace("Z", "+00:00"))) if row else None

    def _due(self, key: str, now: datetime, every: timedelta) -> bool:
        last = self._remembered(key)
        return last is None or not timedelta(0) <= now - last[1] < every  # a clock set back counts as due

    @contextmanager
    def _immediate(self):
        """A write transaction that takes the lock at once: what it read cannot change before it writes."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    @contextmanager
    def _busy_timeout(self, ms: int):
        before = self.db.execute("PRAGMA busy_timeout").fetchone()[0]
        self.db.execute(f"PRAGMA busy_timeout = {min(int(ms), before)}")
        try:
            yield
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {before}")

    # ------------------------------------------------------------------------------------ feeds

    def sync_feeds(self, feeds: Iterable[FeedConfig], now: datetime) -> None:
        """Make the feeds table match the config: new feeds are due now, removed ones inactive."""
        feeds = list(feeds)
        with self.db.atomic():
            existing = {row["name"]: row for row in self.db.query("SELECT name, url FROM feeds")}
            for feed in feeds:
                tags = json.dumps(list(feed.tags), ensure_ascii=False)
                row = existing.get(feed.name)
                if row is None:
                    self.db.execute(
                        "INSERT INTO feeds (name, url, type, tags, active, next_poll) VALUES (?, ?, ?, ?, 1, ?)",
                        [feed.name, feed.url, feed.type, tags, iso(now)],
                    )
                elif row["url"] != feed.url:  # a new URL starts afresh: old validators mean nothing there
                    self.db.execute(
                        "UPDATE feeds SET url=?, type=?, tags=?, active=1, etag=NULL, last_modified=NULL, "
                        "body_hash=NULL, error_count=0, next_poll=?, hint=NULL, kind=NULL WHERE name=?",
                        [feed.url, feed.type, tags, iso(now), feed.name],
                    )
                else:
                    self.db.execute("UPDATE feeds SET type=?, tags=?, active=1 WHERE name=?", [feed.type, tags, feed.name])
            names = [f.name for f in feeds]
            self.db.execute(
                f"UPDATE feeds SET active=0 WHERE name NOT IN ({','.join('?' * len(names))})", names
            )

    def feed_state(self, name: str) -> FeedState:
        row = self.db.execute(
            "SELECT name, url, etag, last_modified, body_hash, polls_since_full, error_count, next_poll, hint, kind "
            "FROM feeds WHERE name=?",
            [name],
        ).fetchone()
        if row is None:
            raise StoreError(f"store: no feed named {name!r}")
        return FeedState(*row)

    def due(self, now: datetime) -> list[str]:
        rows = self.db.execute(
            "SELECT name FROM feeds WHERE active=1 AND (next_poll IS NULL OR next_poll <= ?) ORDER BY next_poll",
            [iso(now)],
        )
        return [r[0] for r in rows]

    def health(self) -> list[dict]:
        return list(
            self.db.query(
                "SELECT name, url, active, coalesce(kind, type) AS kind, status, last_error, failure, error_count, "
                "article_count, last_poll, last_success, next_poll FROM feeds ORDER BY active DESC, name"
            )
        )

    # --------------------------------------------------------------------------------- articles

    def known(self, feed: str, guids: Iterable[str], urls: Iterable[str]) -> tuple[set[str], set[str]]:
        """Which of these GUIDs (in this feed) and canonical URLs (in any feed: articles.url_key,
        sightings.url) are already stored."""
        found_guids: set[str] = set()
        found_urls: set[str] = set()
        for chunk in _chunks(list(guids)):
            marks = ",".join("?" * len(chunk))
            q = (f"SELECT guid FROM articles WHERE feed=? AND guid IN ({marks}) "
                 f"UNION SELECT guid FROM sightings WHERE feed=? AND guid IN ({marks})")
            found_guids.update(r[0] for r in self.db.execute(q, [feed, *chunk, feed, *chunk]))
        for chunk in _chunks([u for u in urls if u]):
            marks = ",".join("?" * len(chunk))
            q = (f"SELECT url_key FROM articles WHERE url_key IN ({marks}) "
                 f"UNION SELECT url FROM sightings WHERE url IN ({marks})")  # sightings.url is a key too
            found_urls.update(r[0] for r in self.db.execute(q, [*chunk, *chunk]))
        return found_guids, found_urls

    def save_articles(self, articles: list[Article], now: datetime) -> list[int]:
        """Write a batch of a poll's articles in one transaction (the feed's row is save_poll's)."""
        stamp = iso(now)
        try:
            with self.db.atomic():
                return [i for i in (self._insert_article(article, stamp) for article in articles) if i is not None]
        except sqlite3.Error as exc:
            raise self._error(f"store: {articles[0].feed if articles else ''}", exc) from None

    def save_poll(self, result: PollResult, now: datetime) -> list[int]:
        """Write one feed's poll in one transaction. Returns the ids of the articles added."""
        added: list[int] = []
        stamp = iso(now)
        try:
            with self.db.atomic():
                for article in result.articles:
                    article_id = self._insert_article(article, stamp)
                    if article_id is not None:
                        added.append(article_id)
                for article_id, article in result.updates:
                    self._update_article(article_id, article, stamp)
                for guid, url in result.skipped:
                    self.db.execute("INSERT OR IGNORE INTO sightings (feed, guid, url, article_id, seen) VALUES (?, ?, ?, NULL, ?)",
                                    [result.feed, guid, url, stamp])
                if result.error is None:
                    self.db.execute(
                        "UPDATE feeds SET status=?, last_error=NULL, failure=NULL, error_count=0, etag=?, "
                        "last_modified=?, body_hash=?, polls_since_full=?, last_poll=?, last_success=?, next_poll=?, "
                        "title=coalesce(?, title), article_count=article_count+?, problems=?, hint=?, "
                        "kind=coalesce(?, kind) WHERE name=?",
                        [
                            result.status, result.etag, result.last_modified, result.body_hash,
                            result.polls_since_full, stamp, stamp, result.next_poll, result.title,
                            len(added), result.problems, result.hint, result.kind, result.feed,
                        ],
                    )
                else:
                    self.db.execute(
                        "UPDATE feeds SET status=?, last_error=?, failure=?, error_count=error_count+1, last_poll=?, "
                        "next_poll=? WHERE name=?",
                        [result.status, result.error, result.failure, stamp, result.next_poll, result.feed],
                    )
        except sqlite3.Error as exc:
            raise self._error(f"store: {result.feed}", exc) from None
        return added

    def _insert_article(self, article: Article, stamp: str) -> int | None:
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
        if cursor.rowcount == 0:  # stored already: by another feed, or under its page's canonical URL
            row = self.db.execute(
                "SELECT id FROM articles WHERE url_key = ? OR (feed = ? AND guid = ?)", [article.url_key, article.feed, article.guid]
            ).fetchone()
            self.db.execute(
                "INSERT OR IGNORE INTO sightings (feed, guid, url, article_id, seen) VALUES (?, ?, ?, ?, ?)",
                [article.feed, article.guid, dedup.canonical_url(article.link), row[0] if row else None, stamp],
            )
            return None
        article_id = cursor.lastrowid
        self._join_story(article_id, article, stamp)
        self._write_tags(article_id, article.matches, article.places, stamp)
        return article_id

    def _update_article(self, article_id: int, article: Article, stamp: str) -> None:
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
        self.db.execute("DELETE FROM matches WHERE article_id=?", [article_id])
        self.db.execute("DELETE FROM article_places WHERE article_id=?", [article_id])
        self._write_tags(article_id, article.matches, article.places, stamp)

    def changed(self, feed: str, items) -> list[tuple[int, object]]:
        """Items already stored for this feed whose title or text differ from what is stored."""
        by_guid = {item.guid: item for item in items}
        out = []
        for chunk in _chunks(list(by_guid)):
            rows = self.db.execute(
                f"SELECT id, guid, title, summary FROM articles WHERE feed=? AND guid IN ({','.join('?' * len(chunk))})",
                [feed, *chunk],
            )
            for article_id, guid, title, summary in rows:
                item = by_guid[guid]
                if (item.title, item.summary) != (title, summary):
                    out.append((article_id, item))
        return out

    def _join_story(self, article_id: int, article: Article, stamp: str) -> None:
        """Put a new article in the story of an earlier one with the same text or a near copy of it
        (seen within the window), or start a story."""
        since = iso(datetime.fromisoformat(stamp.replace("Z", "+00:00")) - timedelta(seconds=self.story_window))
        story = None
        if article.text_hash:
            row = self.db.execute(
                "SELECT story_id FROM articles WHERE text_hash = ? AND id != ? AND story_id IS NOT NULL AND fetched >= ? LIMIT 1",
                [article.text_hash, article_id, since],
            ).fetchone()
            story = row[0] if row else None
        keys = dedup.bands(np.frombuffer(article.signature, dtype=np.uint32)) if article.signature else []
        if story is None and keys:
            candidates = self.db.execute(
                f"SELECT DISTINCT a.id, a.signature, a.story_id FROM story_bands b JOIN articles a ON a.id = b.article_id "
                f"WHERE b.band_key IN ({','.join('?' * len(keys))}) AND b.seen >= ? AND a.story_id IS NOT NULL",
                [*keys, since],
            ).fetchall()
            mine = np.frombuffer(article.signature, dtype=np.uint32)
            best = max(((dedup.similarity(mine, np.frombuffer(sig, dtype=np.uint32)), sid) for _id, sig, sid in candidates),
                       default=(0.0, None))
            story = best[1] if best[0] >= dedup.SAME_STORY else None
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
        self.db.conn.executemany(
            "INSERT INTO story_bands (band_key, article_id, seen) VALUES (?, ?, ?)", [(k, article_id, stamp) for k in keys]
        )

    def _write_tags(self, article_id: int, matches, places, stamp: str) -> None:
        for match in matches:
            self.db.execute(
                "INSERT OR REPLACE INTO matches (article_id, rule, field, terms, snippet, matched) VALUES (?,?,?,?,?,?)",
                [article_id, match.rule, match.field, json.dumps(match.terms, ensure_ascii=False), match.snippet, stamp],
            )
        for code in places:
            self.db.execute("INSERT OR IGNORE INTO article_places (article_id, place) VALUES (?, ?)", [article_id, code])

    # ---------------------------------------------------------------------------------- places

    def sync_places(self, places) -> None:
        """The `places` table lists the gazetteer's regions (names in en/uk/ru, country)."""
        with self.db.atomic():
            for p in places:
                self.db.execute(
                    "INSERT INTO places (code, name_en, name_uk, name_ru, country) VALUES (?,?,?,?,?) "
                    "ON CONFLICT(code) DO UPDATE SET name_en=excluded.name_en, name_uk=excluded.name_uk, "
                    "name_ru=excluded.name_ru, country=excluded.country",
                    [p.code, p.name_en, p.name_uk, p.name_ru, p.country],
                )

    # --------------------------------------------------------------------------------- rematch

    def job(self, name: str, args: str, total_after) -> dict:
        """The job's row: resumed when its args are the same, started afresh otherwise."""
        row = self.db.execute("SELECT args, last_id, done, total FROM jobs WHERE name=?", [name]).fetchone()
        if row and row[0] == args:
            return {"last_id": row[1], "done": row[2], "total": row[3], "resumed": True}
        total = total_after()
        stamp = iso(datetime.now(timezone.utc))
        with self.db.atomic():
            self.db.execute(
                "INSERT OR REPLACE INTO jobs (name, args, last_id, done, total, started, updated) VALUES (?,?,0,0,?,?,?)",
                [name, args, total, stamp, stamp],
            )
        return {"last_id": 0, "done": 0, "total": total, "resumed": False}

    def finish_job(self, name: str) -> None:
        with self.db.atomic():
            self.db.execute("DELETE FROM jobs WHERE name=?", [name])

    def articles_after(self, last_id: int, since: str | None, limit: int) -> list[dict]:
        return list(self.db.query(
            "SELECT id, title, text, lang, feed FROM articles WHERE id > ? AND (? IS NULL OR coalesce(published, fetched) >= ?) "
            "ORDER BY id LIMIT ?", [last_id, since, since, limit]))

    def count_since(self, since: str | None) -> int:
        return self.db.execute(
            "SELECT count(*) FROM articles WHERE (? IS NULL OR coalesce(published, fetched) >= ?)", [since, since]
        ).fetchone()[0]

    def retag(self, job: str, batch: list[tuple[int, list, list]], rule: str | None, now: datetime) -> None:
        """Replace the matches (of one rule, or all) and places of a batch, and move the job on: one transaction."""
        stamp = iso(now)
        with self.db.atomic():
            for article_id, matches, places in batch:
                if rule:
                    self.db.execute("DELETE FROM matches WHERE article_id=? AND rule=?", [article_id, rule])
                    matches = [m for m in matches if m.rule == rule]
                else:
                    self.db.execute("DELETE FROM matches WHERE article_id=?", [article_id])
                self.db.execute("DELETE FROM article_places WHERE article_id=?", [article_id])
                self._write_tags(article_id, matches, places, stamp)
            self.db.execute(
                "UPDATE jobs SET last_id=?, done=done+?, updated=? WHERE name=?", [batch[-1][0], len(batch), stamp, job]
            )

    def digest_rows(self, since: datetime, until: datetime) -> list[dict]:
        """Every match made in [since, until): the rule, the article, its story and its places."""
        return self._hit_rows("m.matched >= ? AND m.matched < ?", [iso(since), iso(until)])

    def _hit_rows(self, where: str, params: list) -> list[dict]:
        rows = self.db.query(
            "SELECT m.rule, m.snippet, m.terms, a.id AS article_id, a.story_id, a.title, a.url, a.link, a.feed, "
            "a.published, a.fetched, coalesce(s.sources, '[]') AS sources, "
            "(SELECT group_concat(place) FROM article_places p WHERE p.article_id = a.id) AS places "
            "FROM matches m JOIN articles a ON a.id = m.article_id LEFT JOIN stories s ON s.id = a.story_id "
            f"WHERE {where}",
            params,
        )
        return [dict(r, terms=json.loads(r["terms"]), sources=json.loads(r["sources"])) for r in rows]

    def place_names(self, language: str) -> dict[str, str]:
        """Each place code's name in `language` (en, uk, ru), English where that one is missing."""
        column = {"en": "name_en", "uk": "name_uk", "ru": "name_ru"}[language]
        return dict(self.db.execute(f"SELECT code, coalesce(nullif({column}, ''), name_en, code) FROM places").fetchall())

    def digest_period_start(self, default: datetime) -> datetime:
        """Where the next digest starts: the end of the last one sent (or being sent), else `default`."""
        last = self.last_digest_end()
        return last if last is not None else default

    def last_digest_end(self) -> datetime | None:
        """The end of the last period sent, being sent, or found empty."""
        row = self.db.execute(
            "SELECT max(period_end) FROM digests WHERE status IN ('sent', 'sending', 'empty')"
        ).fetchone()
        return datetime.fromisoformat(row[0].replace("Z", "+00:00")) if row and row[0] else None

    def digest_empty(self, start: datetime, end: datetime, now: datetime) -> None:
        """A period with nothing to send is recorded too, so the daemon does not look at it again."""
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO digests (created, period_start, period_end, status, stories) VALUES (?, ?, ?, 'empty', 0)",
                [iso(now), iso(start), iso(end)],
            )

    def digest_sending(self, start: datetime, end: datetime, recipients: list[str], message_id: str,
                       stories: int, now: datetime) -> int:
        with self.db.atomic():
            return self.db.execute(
                "INSERT INTO digests (created, period_start, period_end, recipients, status, message_id, stories) "
                "VALUES (?, ?, ?, ?, 'sending', ?, ?)",
                [iso(now), iso(start), iso(end), json.dumps(recipients), message_id, stories],
            ).lastrowid

    def digest_done(self, digest_id: int, now: datetime, error: str | None = None) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE digests SET status = ?, sent = ?, error = ? WHERE id = ?",
                ["failed" if error else "sent", None if error else iso(now), error, digest_id],
            )

    def unalerted(self, rules: list[str], since: datetime) -> list[dict]:
        """Hit rows (as digest_rows) of these rules, matched since `since`, not alerted yet."""
        if not rules:
            return []
        marks = ",".join("?" * len(rules))
        return self._hit_rows(
            f"m.rule IN ({marks}) AND m.matched >= ? "
            "AND NOT EXISTS (SELECT 1 FROM alerts x WHERE x.article_id = m.article_id AND x.rule = m.rule)",
            [*rules, iso(since)],
        )

    def mark_alerts(self, rows: list[dict], status: str | None, now: datetime) -> None:
        """'sending' before the mail goes, 'sent' once accepted; None forgets them (refused: retry)."""
        with self.db.atomic():
            for row in rows:
                if status is None:
                    self.db.execute("DELETE FROM alerts WHERE article_id=? AND rule=?", [row["article_id"], row["rule"]])
                else:
                    self.db.execute(
                        "INSERT OR REPLACE INTO alerts (article_id, rule, status, sent) VALUES (?, ?, ?, ?)",
                        [row["article_id"], row["rule"], status, iso(now) if status == "sent" else None],
                    )

    def spikes(self, now: datetime, window: float, factor: float, baseline: timedelta = timedelta(days=7)) -> list[tuple[str, int, float]]:
        """Rules whose hits in the last `window` seconds reach `factor` times their usual rate over the
        `baseline` before it (and at least 3): (rule, hits now, usual hits per window)."""
        recent_start = now - timedelta(seconds=window)
        first = self.db.execute("SELECT min(matched) FROM matches").fetchone()[0]
        if first is None or first > iso(recent_start - baseline / 2):
            return []  # under half the baseline of history: every rule would look like a spike
        rows = self.db.execute(
            "SELECT rule, sum(matched >= ?) AS recent, sum(matched < ?) AS before FROM matches "
            "WHERE matched >= ? AND matched < ? GROUP BY rule",
            [iso(recent_start), iso(recent_start), iso(recent_start - baseline), iso(now)],
        ).fetchall()
        windows = baseline.total_seconds() / window
        out = []
        for rule, recent, before in rows:
            usual = (before or 0) / windows
            if recent >= 3 and recent >= factor * max(usual, 1 / windows):
                out.append((rule, recent, usual))
        return sorted(out, key=lambda r: -r[1])

    def silent_feeds(self, now: datetime) -> list[tuple[str, str]]:
        """Feeds that answer but have brought nothing new for much longer than their usual rhythm:
        more than 5 times their average gap between new articles, and more than a day."""
        rows = self.db.execute(
            "SELECT f.name, count(a.id), min(a.fetched), max(a.fetched) FROM feeds f JOIN articles a ON a.feed = f.name "
            "WHERE f.active = 1 AND f.last_error IS NULL GROUP BY f.name HAVING count(a.id) >= 5"
        ).fetchall()
        out = []
        for name, count, first, last in rows:
            first_at, last_at = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (first, last))
            gap = (last_at - first_at) / (count - 1)
            if now - last_at > max(timedelta(days=1), 5 * gap):
                out.append((name, last))
        return out

    def failing_feeds(self, now: datetime, after: timedelta = timedelta(days=1)) -> list[tuple[str, str]]:
        """Active feeds whose last success (or, never successful, whose first poll) is older than `after`."""
        rows = self.db.execute(
            "SELECT name, last_error FROM feeds WHERE active = 1 AND error_count > 0 "
            "AND coalesce(last_success, '') < ? ORDER BY name",
            [iso(now - after)],
        )
        return [(name, error or "") for name, error in rows]

    def count(self, table: str) -> int:
        return self.db[table].count


for _name, _method in list(vars(Store).items()):
    if callable(_method) and not _name.startswith("_") and _name not in ("close",):
        setattr(Store, _name, _translated(_method))


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


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


__all__ = ["BUSY_TIMEOUT_MS", "MIGRATIONS", "MIN_FREE_BYTES", "Store", "iso"]
