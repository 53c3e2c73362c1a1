"""The SQLite archive on real files: migrations, the per-feed transaction, full-text search."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

from monitor.config import FeedConfig
from monitor.errors import StoreError
from monitor.model import Article, Match, PollResult
from monitor.store import MIGRATIONS, Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def article(n: int, feed: str = "f", **kw) -> Article:
    base = dict(url=f"https://n.example/{n}", link=f"https://n.example/{n}?utm_source=x", guid=f"g{n}", feed=feed,
                title=f"Title {n}", text=f"Text {n}")
    return Article(**(base | kw))


@pytest.fixture
def store(db_path):
    with Store(db_path) as s:
        s.sync_feeds([FeedConfig(url="https://n.example/feed", name="f"), FeedConfig(url="https://m.example/feed", name="g")], NOW)
        yield s


def test_migrations_are_recorded_and_a_newer_schema_is_refused(db_path):
    with Store(db_path) as s:
        assert s.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert s.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert {"feeds", "articles", "matches", "places", "article_places", "stories", "digests", "articles_fts"} <= set(s.db.table_names())
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(StoreError, match="newer"):
        Store(db_path)


def test_poll_is_one_transaction(store):
    bad = article(2)
    bad.matches = [Match("r", "text", ["x"], "s"), Match("r", "text", ["y"], "t")]  # same rule twice: replaced, fine
    store.save_poll(PollResult(feed="f", status=200, articles=[article(1), bad], etag='"e1"', next_poll="2026-11-25T12:15:00Z"), NOW)
    assert store.count("articles") == 2
    # A batch whose second article breaks a constraint leaves neither article nor the new validators.
    broken = article(4, published=object())  # cannot be bound: the insert fails half-way through the batch
    with pytest.raises(StoreError):
        store.save_poll(PollResult(feed="f", status=200, articles=[article(3), broken], etag='"e2"', next_poll="x"), NOW)
    assert store.count("articles") == 2
    assert store.feed_state("f").etag == '"e1"'


def test_same_article_from_two_feeds_is_stored_once(store):
    first = store.save_poll(PollResult(feed="f", status=200, articles=[article(1)], next_poll="x"), NOW)
    second = store.save_poll(PollResult(feed="g", status=200, articles=[article(1, feed="g")], next_poll="x"), NOW)
    assert len(first) == 1 and second == [] and store.count("articles") == 1
    guids, urls = store.known("g", ["g1"], ["https://n.example/1"])
    assert guids == {"g1"} and urls == {"https://n.example/1"}  # g's item is a sighting of f's article
    assert [tuple(r) for r in store.db.execute("SELECT feed, guid, article_id FROM sightings")] == [("g", "g1", first[0])]


def test_failures_count_and_success_resets(store):
    for _ in range(3):
        store.save_poll(PollResult(feed="f", status=503, error="fetch: f: 503", next_poll="later"), NOW)
    assert store.feed_state("f").error_count == 3
    store.save_poll(PollResult(feed="f", status=200, next_poll="soon"), NOW)
    row = next(r for r in store.health() if r["name"] == "f")
    assert row["error_count"] == 0 and row["last_error"] is None and row["status"] == 200


def test_removed_feeds_become_inactive_and_a_new_url_drops_validators(store):
    store.save_poll(PollResult(feed="f", status=200, etag='"e"', body_hash="h", next_poll="x"), NOW)
    store.sync_feeds([FeedConfig(url="https://n.example/other-feed", name="f")], NOW)
    state = store.feed_state("f")
    assert state.url == "https://n.example/other-feed" and state.etag is None and state.body_hash is None
    assert {r["name"]: r["active"] for r in store.health()} == {"f": 1, "g": 0}
    assert store.due(NOW) == ["f"]


@pytest.mark.parametrize(
    "query, found",
    [("харків", True), ("ХАРКІВ", True), ("Київ", True), ("киів", True), ("елка", True), ("ёлка", True),
     ("перемир'я", True), ("перемир*", True), ("мир", False), ("cafe", True), ("odesa", False)],
)
def test_full_text_search_folds_cyrillic(store, query, found):
    store.save_poll(PollResult(feed="f", status=200, next_poll="x", articles=[
        article(1, title="Удар по Харкову", text="Харків і Київ: ёлка на площі, перемир'я, café")]), NOW)
    rows = list(store.db.query("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [f'"{query}"' if "*" not in query else query]))
    assert bool(rows) is found


@pytest.mark.parametrize("message, busy", [("database is locked", True), ("database table is locked", True),
                                            ("disk I/O error", False), ("no such table: x", False)])
def test_sqlite_errors_become_store_errors_and_a_lock_is_busy(message, busy):
    from monitor.errors import StoreBusy, store_error

    error = store_error("store: a.db", sqlite3.OperationalError(message))
    assert isinstance(error, StoreError) and isinstance(error, StoreBusy) is busy
    assert str(error) == f"store: a.db: {message}"


@pytest.mark.slow
def test_migration_moves_the_key_to_url_key_and_links_as_the_site_did(db_path):
    """An archive of the schema before url_key (url was the canonical key, https for every site):
    url_key gets the key and its UNIQUE index, url the stored feed link less its tracking tags (the
    key stays where there is no http(s) link), and no row is lost."""
    import sqlite_utils

    from monitor.store.migrations import m7_url_key

    before = MIGRATIONS[: MIGRATIONS.index(m7_url_key)]
    old = sqlite_utils.Database(sqlite3.connect(db_path))
    for migration in before:
        migration(old)
    old.execute(f"PRAGMA user_version = {len(before)}")
    old.execute("INSERT INTO feeds (name, url) VALUES ('f', 'http://old.example/feed'), ('g', 'https://m.example/feed')")
    rows = [  # (url as the old code stored it: the canonical key, link as the feed gave it)
        ("https://old.example/news/1/?id=3", "http://old.example/news/1/?utm_source=rss&id=3&utm_medium=feed"),
        ("https://n.example/2", None),  # no link kept: the key stays the link
        (None, "tag:old.example,2026:3"),  # not an http(s) link: no key, nothing to link
        ("https://site.example/articles/4", "https://Site.example/r/4?fbclid=x"),  # the page's canonical was the key
    ]
    for n, (url, link) in enumerate(rows, 1):
        old.execute("INSERT INTO articles (url, link, guid, feed, title, text, fetched) VALUES (?, ?, ?, 'f', ?, ?, ?)",
                    [url, link, f"g{n}", f"Title {n}", f"Перемир'я {n}", "2026-11-20T00:00:00Z"])
    old.execute("INSERT INTO sightings (feed, guid, url, article_id, seen) VALUES ('g', 'x1', 'https://old.example/news/1/?id=3', 1, 'x')")
    old.conn.commit()
    old.close()

    with Store(db_path) as s:
        assert s.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        migrated = [tuple(r) for r in s.db.execute("SELECT id, guid, url, url_key, link FROM articles ORDER BY id")]
        assert migrated == [
            (1, "g1", "http://old.example/news/1/?id=3", "https://old.example/news/1/?id=3", rows[0][1]),
            (2, "g2", "https://n.example/2", "https://n.example/2", None),
            (3, "g3", None, None, "tag:old.example,2026:3"),
            (4, "g4", "https://Site.example/r/4", "https://site.example/articles/4", rows[3][1]),
        ]
        indexes = {r[1]: r[2] for r in s.db.execute("PRAGMA index_list(articles)")}
        assert indexes.get("articles_url_key") == 1 and "articles_url" not in indexes
        s.db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")  # raises if the index drifted
        assert s.db.execute("SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'перемир*'").fetchone()[0] == 4
        # the dedup look-ups read the key: of the articles, and of the sightings
        assert s.known("f", [], ["https://old.example/news/1/?id=3", "https://site.example/articles/4",
                                 "http://old.example/news/1/?id=3"])[1] == {"https://old.example/news/1/?id=3",
                                                                            "https://site.example/articles/4"}
        s.db.execute("UPDATE articles SET url_key = NULL WHERE id = 1")  # only the sighting knows it now
        assert s.known("f", [], ["https://old.example/news/1/?id=3"])[1] == {"https://old.example/news/1/?id=3"}
        s.db.execute("UPDATE articles SET url_key = 'https://old.example/news/1/?id=3' WHERE id = 1")
        # a new article under an old key (another feed, its link with other tags) is a sighting, not a copy
        again = article(9, feed="g", url="http://old.example/news/1/?id=3", link="http://old.example/news/1/?id=3&utm_source=tg",
                        url_key="https://old.example/news/1/?id=3")
        assert s.save_poll(PollResult(feed="g", status=200, articles=[again], next_poll="x"), NOW) == []
        assert s.count("articles") == 4
        assert s.db.execute("SELECT article_id FROM sightings WHERE feed = 'g' AND guid = 'g9'").fetchone()[0] == 1
