"""store: the SQLite archive (sqlite-utils on a file database, WAL).

One transaction per feed batch holds that feed's new articles, their matches, and the feed's new
validators (ETag, Last-Modified, body hash): a crash leaves nothing half-written, and an article
that was committed is never fetched again as new, since "known" is read from the same rows.

`Store` is the facade: it owns the connection and the transactions that span tables, and gives
the rest of the monitor one surface. The work is done by one module per table family:

- connection: opening the file (WAL), transactions, sqlite3 errors as StoreError kinds, ISO times;
- migrations: the schema, one function per change, counted in `PRAGMA user_version`;
- feeds: `feeds` (config, validators, failures, the schedule) and the health read off it;
- articles: `articles` and its full-text index, `sightings`, "known" and "changed";
- stories: `stories`, with dedup.StoryIndex (`story_bands`) for near copies;
- tags: `matches`, `article_places` and `places`;
- digests: the hits a mail reads, `digests`, `alerts`, spikes;
- jobs: `jobs` (rematch's progress);
- retention and maintenance: pruning, VACUUM, the `maintenance` table and stats.

Every sqlite3 error leaves the facade as a StoreError (errors.store_error: StoreBusy for another
writer's lock, StoreFull for a full disk), translated once, here.
"""

from __future__ import annotations

import functools
import shutil
import sqlite3
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

from ..errors import StoreFull
from ..model import Article, PollResult, iso
from . import connection
from .articles import Articles
from .connection import BUSY_TIMEOUT_MS, MIN_FREE_BYTES
from .digests import Digests
from .feeds import Feeds
from .jobs import Jobs
from .maintenance import Maintenance
from .migrations import MIGRATIONS, migrate
from .retention import Retention
from .stories import Stories
from .tags import Tags


def _edge(method):
    """A facade method whose sqlite3 errors leave as StoreError ("database is locked", "disk I/O error")."""

    @functools.wraps(method)
    def translating(self, *args, **kwargs):
        with self.translated():
            return method(self, *args, **kwargs)

    return translating


def _forward(family: str, method):
    """The facade's name for a family's method (`feeds`, Feeds.sync): run on that family, at the edge."""

    @functools.wraps(method)
    def forward(self, *args, **kwargs):
        with self.translated():
            return method(getattr(self, family), *args, **kwargs)

    return forward


class Store:
    def __init__(self, path: str | Path, *, story_window: float = 7 * 86400.0, busy_ms: int = BUSY_TIMEOUT_MS):
        self.path = Path(path)
        self.story_window = story_window  # seconds: how far back a copy looks for its story
        with self.translated():
            self.db = connection.connect(self.path, busy_ms)
            try:
                migrate(self.db, self.path)
            except BaseException:
                self.db.close()
                raise
        self.feeds = Feeds(self)
        self.articles = Articles(self)
        self.stories = Stories(self)
        self.tags = Tags(self)
        self.digests = Digests(self)
        self.jobs = Jobs(self)
        self.retention = Retention(self)
        self.maintenance = Maintenance(self)

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

    @contextmanager
    def translated(self, message: str | None = None) -> Iterator[None]:
        """sqlite3 errors inside the block leave as StoreError, `message` (the path) first."""
        try:
            yield
        except sqlite3.Error as exc:
            raise connection.error(self.path, message or f"store: {self.path}", exc) from None

    # ----------------------------------------------------------- transactions across the families

    def save_poll(self, result: PollResult, now: datetime) -> list[int]:
        """Write one feed's poll in one transaction: its new and changed articles, the items it
        sighted, and the feed's row. Returns the ids of the articles added."""
        stamp = iso(now)
        with self.translated(f"store: {result.feed}"), self.db.atomic():
            added = [i for i in (self.articles.add(article, stamp) for article in result.articles) if i is not None]
            for article_id, article in result.updates:
                self.articles.update(article_id, article, stamp)
            for guid, url in result.skipped:
                self.articles.sighted(result.feed, guid, url, None, stamp)
            self.feeds.record(result, len(added), stamp)
        return added

    def save_articles(self, articles: list[Article], now: datetime) -> list[int]:
        """Write a batch of a poll's articles in one transaction (the feed's row is save_poll's)."""
        stamp = iso(now)
        with self.translated(f"store: {articles[0].feed if articles else ''}"), self.db.atomic():
            return [i for i in (self.articles.add(article, stamp) for article in articles) if i is not None]

    @_edge
    def retag(self, job: str, batch: list[tuple[int, list, list]], rule: str | None, now: datetime) -> None:
        """Replace the matches (of one rule, or all) and places of a batch, and move the job on: one transaction."""
        stamp = iso(now)
        with self.db.atomic():
            for article_id, matches, places in batch:
                self.tags.replace(article_id, matches, places, stamp, rule)
            self.jobs.advance(job, batch[-1][0], len(batch), stamp)

    # ------------------------------------------------------------------ the connection and the file

    @_edge
    def migrate(self) -> int:
        return migrate(self.db, self.path)

    def checkpoint(self, now: datetime | None = None) -> None:
        """After a cycle: drop LSH band keys older than the story window (no copy looks that far
        back, so the index stays the window's size), then fold the WAL back into the database file;
        PASSIVE never waits on readers (Datasette)."""
        with self.translated("store: checkpoint"):
            if now is not None:
                with self.db.atomic():
                    self.stories.index.expire(self.stories.window_start(now))
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")

    @_edge
    def writable(self) -> bool:
        """Whether the archive can take new pages now: the disk has room for a few MiB and SQLite
        can allocate pages (max_page_count, a quota), tried in a transaction rolled back."""
        if self.free_bytes() < MIN_FREE_BYTES:
            return False
        try:
            with self.translated("store: probe"):
                connection.probe(self.db)
        except StoreFull:
            return False
        return True

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.path.parent).free

    @_edge
    def count(self, table: str) -> int:
        return self.db[table].count

    # ------------------------------------------------------- the families' methods, by their old names

    sync_feeds = _forward("feeds", Feeds.sync)
    feed_state = _forward("feeds", Feeds.state)
    due = _forward("feeds", Feeds.due)
    health = _forward("feeds", Feeds.health)
    silent_feeds = _forward("feeds", Feeds.silent)
    failing_feeds = _forward("feeds", Feeds.failing)
    known = _forward("articles", Articles.known)
    changed = _forward("articles", Articles.changed)
    articles_after = _forward("articles", Articles.after)
    count_since = _forward("articles", Articles.count_since)
    sync_places = _forward("tags", Tags.sync_places)
    place_names = _forward("tags", Tags.place_names)
    digest_rows = _forward("digests", Digests.rows)
    digest_period_start = _forward("digests", Digests.period_start)
    last_digest_end = _forward("digests", Digests.last_end)
    digest_empty = _forward("digests", Digests.empty)
    digest_sending = _forward("digests", Digests.sending)
    digest_done = _forward("digests", Digests.done)
    unalerted = _forward("digests", Digests.unalerted)
    mark_alerts = _forward("digests", Digests.mark_alerts)
    spikes = _forward("digests", Digests.spikes)
    job = _forward("jobs", Jobs.start)
    finish_job = _forward("jobs", Jobs.finish)
    prune = _forward("retention", Retention.prune)
    maintain = _forward("maintenance", Maintenance.maintain)
    vacuum_if_due = _forward("maintenance", Maintenance.vacuum_if_due)
    vacuum = _forward("maintenance", Maintenance.vacuum)
    stats = _forward("maintenance", Maintenance.stats)


__all__ = ["BUSY_TIMEOUT_MS", "MIGRATIONS", "MIN_FREE_BYTES", "Store", "iso"]
