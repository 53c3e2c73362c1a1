"""store.migrations: the archive's schema, one function per change, applied in order and counted in
`PRAGMA user_version`.

A migration, once released, is never edited: an archive that has applied it must open unchanged, and
a new archive must get the same schema by running the same list. A new change is a new function at
the end of MIGRATIONS.
"""

from __future__ import annotations

from pathlib import Path

import sqlite_utils

from .. import dedup
from ..errors import StoreError


def m1_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE feeds (
            name TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            title TEXT,
            type TEXT NOT NULL DEFAULT 'feed',
            tags TEXT NOT NULL DEFAULT '[]',
            active INTEGER NOT NULL DEFAULT 1,
            status INTEGER,                 -- last HTTP status; NULL when no answer came
            last_error TEXT,                -- "stage: feed: what happened", NULL after a success
            error_count INTEGER NOT NULL DEFAULT 0,   -- consecutive failures
            etag TEXT,
            last_modified TEXT,
            body_hash TEXT,                 -- sha256 of the last body parsed
            polls_since_full INTEGER NOT NULL DEFAULT 0,
            last_poll TEXT,
            last_success TEXT,
            next_poll TEXT,
            article_count INTEGER NOT NULL DEFAULT 0,
            problems TEXT                   -- what the last parse had to work round (not an error)
        );
        CREATE TABLE articles (
            id INTEGER PRIMARY KEY,
            url TEXT,                       -- canonical URL: tracking parameters and fragment gone
            link TEXT,                      -- the URL as the feed gave it
            guid TEXT NOT NULL,
            feed TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            author TEXT,
            text TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL DEFAULT '',
            published TEXT,
            fetched TEXT NOT NULL,
            lang TEXT,
            story_id INTEGER REFERENCES stories(id),
            text_source TEXT NOT NULL DEFAULT 'page',   -- 'page' or 'feed' (the feed's own text)
            error TEXT,                     -- why the page could not be used, when text_source='feed'
            search_folded TEXT NOT NULL DEFAULT ''      -- diacritic-free word forms, for full-text search
        );
        CREATE UNIQUE INDEX articles_url ON articles(url) WHERE url IS NOT NULL;
        CREATE UNIQUE INDEX articles_feed_guid ON articles(feed, guid);
        CREATE INDEX articles_published ON articles(published);
        CREATE INDEX articles_fetched ON articles(fetched);
        CREATE TABLE matches (
            article_id INTEGER NOT NULL REFERENCES articles(id),
            rule TEXT NOT NULL,
            field TEXT NOT NULL,
            terms TEXT NOT NULL,            -- JSON list of the terms that matched
            snippet TEXT NOT NULL,
            matched TEXT NOT NULL,
            PRIMARY KEY (article_id, rule)
        );
        CREATE INDEX matches_rule ON matches(rule);
        CREATE TABLE places (
            code TEXT PRIMARY KEY,          -- ISO 3166-2
            name_en TEXT NOT NULL,
            name_uk TEXT,
            name_ru TEXT,
            country TEXT NOT NULL
        );
        CREATE TABLE article_places (
            article_id INTEGER NOT NULL REFERENCES articles(id),
            place TEXT NOT NULL REFERENCES places(code),
            PRIMARY KEY (article_id, place)
        );
        CREATE INDEX article_places_place ON article_places(place);
        CREATE TABLE stories (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            first_seen TEXT NOT NULL,
            article_count INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE digests (
            id INTEGER PRIMARY KEY,
            created TEXT NOT NULL,
            period_start TEXT,
            period_end TEXT,
            recipients TEXT,
            status TEXT NOT NULL,
            sent TEXT
        );
        """
    )
    db["articles"].enable_fts(
        ["title", "text", "search_folded"], tokenize="unicode61 remove_diacritics 2", create_triggers=True
    )


def m2_jobs(db: sqlite_utils.Database) -> None:
    # Long jobs over the archive (rematch) record how far they got, so they can be resumed.
    db.executescript(
        """
        CREATE TABLE jobs (
            name TEXT PRIMARY KEY,
            args TEXT NOT NULL,
            last_id INTEGER NOT NULL DEFAULT 0,
            done INTEGER NOT NULL DEFAULT 0,
            total INTEGER NOT NULL DEFAULT 0,
            started TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        CREATE INDEX matches_article ON matches(article_id);
        """
    )


def m3_stories(db: sqlite_utils.Database) -> None:
    # Stories: one per event's article and its syndicated copies. The LSH band keys live in a table,
    # not in memory, so the index grows on disk and survives restarts without a rebuild.
    db.executescript(
        """
        ALTER TABLE articles ADD COLUMN text_hash TEXT;
        ALTER TABLE articles ADD COLUMN signature BLOB;
        CREATE INDEX articles_text_hash ON articles(text_hash);
        CREATE INDEX articles_story ON articles(story_id);
        ALTER TABLE stories ADD COLUMN representative_id INTEGER REFERENCES articles(id);
        ALTER TABLE stories ADD COLUMN last_seen TEXT;
        ALTER TABLE stories ADD COLUMN sources TEXT NOT NULL DEFAULT '[]';
        CREATE TABLE story_bands (
            band_key INTEGER NOT NULL,
            article_id INTEGER NOT NULL REFERENCES articles(id),
            seen TEXT NOT NULL
        );
        CREATE INDEX story_bands_key ON story_bands(band_key, seen);
        ALTER TABLE articles ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
        -- an item that turned out to be an article already stored (another feed's, or the same page
        -- under another link): remembered, so it is not fetched again, and shown as "also in"
        CREATE TABLE sightings (
            feed TEXT NOT NULL,
            guid TEXT NOT NULL,
            url TEXT,
            article_id INTEGER REFERENCES articles(id),
            seen TEXT NOT NULL,
            PRIMARY KEY (feed, guid)
        );
        CREATE INDEX sightings_url ON sightings(url);
        CREATE VIEW stories_overview AS
            SELECT s.id, s.title, s.first_seen, s.last_seen, s.article_count, s.sources,
                   a.url AS representative_url, a.feed AS first_feed
            FROM stories s LEFT JOIN articles a ON a.id = s.representative_id;
        """
    )


def m4_digests(db: sqlite_utils.Database) -> None:
    # A digest is written down before it is handed to the server ('sending') and marked 'sent' once
    # accepted: a row left 'sending' by a crash is taken as sent, so no period goes out twice.
    db.executescript(
        """
        ALTER TABLE digests ADD COLUMN message_id TEXT;
        ALTER TABLE digests ADD COLUMN error TEXT;
        ALTER TABLE digests ADD COLUMN stories INTEGER;
        CREATE INDEX digests_period ON digests(period_end);
        -- hits of `alert: immediate` rules mailed at once ('sending' before the server sees them)
        CREATE TABLE alerts (
            article_id INTEGER NOT NULL REFERENCES articles(id),
            rule TEXT NOT NULL,
            status TEXT NOT NULL,
            sent TEXT,
            PRIMARY KEY (article_id, rule)
        );
        CREATE INDEX matches_matched ON matches(matched);
        """
    )


def m5_schedule(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        -- seconds between polls the feed itself asks for (RSS ttl, sy:updatePeriod); kept because a
        -- 304 answer carries no body to read it from
        ALTER TABLE feeds ADD COLUMN hint REAL;
        -- the last failure's kind: 'temporary' (timeout, 5xx, 429) or 'permanent' (404, 410, not a feed)
        ALTER TABLE feeds ADD COLUMN failure TEXT;
        -- what the source turned out to be (feed, sitemap, page): sniffed once when `type` is auto
        ALTER TABLE feeds ADD COLUMN kind TEXT;
        """
    )


def m6_maintenance(db: sqlite_utils.Database) -> None:
    # Retention: when the last prune and VACUUM ran and what they did (key, JSON value, when).
    # sightings(article_id) is indexed because a prune unlinks the sightings of the articles it deletes.
    db.executescript(
        """
        CREATE TABLE maintenance (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        CREATE INDEX sightings_article ON sightings(article_id);
        """
    )


def m7_url_key(db: sqlite_utils.Database) -> None:
    # articles.url was the canonical key, which says https for every site: a site serving only http
    # was linked at an address it never served. The key moves to url_key (UNIQUE, what dedup looks
    # up); url becomes the link the site gave, tracking parameters removed (dedup.strip_tracking),
    # for old rows their stored feed link so cleaned (or the key, kept, when there is none).
    # sightings.url stays a key: the canonical URL of the sighted item's link, compared with url_key.
    # Plain execute, not executescript (which would commit): the migration is one transaction.
    db.execute("ALTER TABLE articles ADD COLUMN url_key TEXT")
    db.execute("UPDATE articles SET url_key = url")
    db.execute("DROP INDEX IF EXISTS articles_url")
    db.execute("CREATE UNIQUE INDEX articles_url_key ON articles(url_key) WHERE url_key IS NOT NULL")
    db.conn.create_function("monitor_strip_tracking", 1, dedup.strip_tracking, deterministic=True)
    # Only the rows whose url changes are written: each write rewrites the row's full-text entry too.
    db.execute(
        "UPDATE articles SET url = monitor_strip_tracking(link) "
        "WHERE monitor_strip_tracking(link) IS NOT NULL AND url IS NOT monitor_strip_tracking(link)"
    )


MIGRATIONS = [m1_initial, m2_jobs, m3_stories, m4_digests, m5_schedule, m6_maintenance, m7_url_key]


def migrate(db: sqlite_utils.Database, path: Path) -> int:
    """Apply the migrations this archive lacks, each in its own transaction with its version number;
    a database newer than the code is refused. Returns the schema version."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"store: {path}: schema version {version} is newer than this monitor knows ({len(MIGRATIONS)})"
        )
    for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.atomic():
            migration(db)
            db.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)
