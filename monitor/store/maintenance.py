"""store.maintenance: retention's clock and the file's upkeep. `maintain`, called by the daemon
after a cycle, prunes at most once an hour and VACUUMs when `vacuum_every` has passed and
`vacuum_min_free` of the pages are free; when they last ran and what they did is kept in the
`maintenance` table (key, JSON value, when), which `stats` reports with the archive's counts."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import ArchiveConfig
from ..errors import StoreBusy, StoreError
from ..model import from_iso, iso
from .connection import busy_timeout, immediate, size

if TYPE_CHECKING:
    from . import Store

log = logging.getLogger("monitor")

# maintain() does at most PRUNE_PER_CALL articles per call and carries on after the next cycle.
PRUNE_PER_CALL = 20_000
PRUNE_EVERY = timedelta(hours=1)
VACUUM_RETRY = timedelta(hours=1)
MAINTENANCE_BUSY_MS = 2000  # maintenance gives way quickly: it can always run after the next cycle


class Maintenance:
    def __init__(self, store: Store):
        self.store = store
        self.db = store.db
        self.path = store.path
        self._vacuum_failed: datetime | None = None

    def maintain(self, now: datetime, archive: ArchiveConfig) -> dict:
        """Retention, for the daemon to call after each cycle: prune (at most once an hour, at most
        PRUNE_PER_CALL articles a call; an unfinished prune goes on at the next call), then VACUUM if
        it is due and worth it. Returns what was done: {"prune": {...}, "vacuum": {...}}, empty when
        nothing was. Another writer holding the lock makes it skip, never raise (StoreBusy is logged)."""
        done: dict = {}
        with busy_timeout(self.db, MAINTENANCE_BUSY_MS):
            if archive.keep_unmatched is not None and self._due("prune", now, PRUNE_EVERY):
                try:
                    with self.store.translated():
                        done["prune"] = self.store.retention.prune(now, archive.keep_unmatched, limit=PRUNE_PER_CALL)
                except StoreBusy as exc:
                    log.warning("prune skipped: the database is locked", extra={"error": str(exc)})
                    done["prune"] = {"skipped": str(exc)}
            unfinished = "prune" in done and (done["prune"].get("more") or "skipped" in done["prune"])
            if archive.vacuum_every is not None and not unfinished:
                vacuumed = self.vacuum_if_due(now, archive.vacuum_every, archive.vacuum_min_free)
                if vacuumed is not None:
                    done["vacuum"] = vacuumed
        return done

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
            with self.store.translated():
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
        with busy_timeout(self.db, MAINTENANCE_BUSY_MS):
            if self.db.conn.in_transaction:
                raise StoreError(f"store: {self.path}: VACUUM cannot run inside a transaction")
            with immediate(self.db):
                self.db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")
            self.db.execute("VACUUM")
            # A reader (Datasette) may keep the WAL from being truncated now; the next checkpoint does it.
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        done = {"bytes_before": before, "bytes_after": self._file_bytes(), "free_pages": free,
                "seconds": round(time.monotonic() - started, 3)}
        self.remember("vacuum", done, now)
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
            "file_bytes": size(self.path),
            "wal_bytes": size(Path(f"{self.path}-wal")),
            "page_size": one("PRAGMA page_size"),
            "pages": pages,
            "free_pages": free,
            "feeds_active": one("SELECT count(*) FROM feeds WHERE active = 1"),
            "feeds": self.db["feeds"].count,
            "articles": self.db["articles"].count,
            "articles_with_hits": one("SELECT count(DISTINCT article_id) FROM matches"),
            "matches": self.db["matches"].count,
            "stories": self.db["stories"].count,
            "place_tags": self.db["article_places"].count,
            "articles_with_places": one("SELECT count(DISTINCT article_id) FROM article_places"),
            "sightings": self.db["sightings"].count,
            "digests_sent": one("SELECT count(*) FROM digests WHERE status = 'sent'"),
            "oldest_article": oldest,
            "newest_article": newest,
            "last_prune": iso(pruned[1]) if pruned else None,
            "last_prune_articles": pruned[0].get("articles") if pruned else None,
            "last_vacuum": iso(vacuumed[1]) if vacuumed else None,
        }

    def _file_bytes(self) -> int:
        return size(self.path) + size(Path(f"{self.path}-wal"))

    def remember(self, key: str, value: dict, now: datetime) -> None:
        """What a prune or VACUUM did, and when (the clock `maintain` reads)."""
        with self.db.atomic():
            self.db["maintenance"].insert({"key": key, "value": json.dumps(value), "updated": iso(now)}, replace=True)

    def _remembered(self, key: str) -> tuple[dict, datetime] | None:
        row = self.db.execute("SELECT value, updated FROM maintenance WHERE key = ?", [key]).fetchone()
        return (json.loads(row[0]), from_iso(row[1])) if row else None

    def _due(self, key: str, now: datetime, every: timedelta) -> bool:
        last = self._remembered(key)
        return last is None or not timedelta(0) <= now - last[1] < every  # a clock set back counts as due
