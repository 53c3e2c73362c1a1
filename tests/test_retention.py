"""Retention on real SQLite files: pruning unmatched articles (FTS, places, stories, sightings kept
consistent), VACUUM when due and worth it, a lock never raising out of maintain(), `monitor stats`
and `monitor prune`, and the `archive:` settings."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from conftest import REPO, write_config
from monitor import config as config_mod
from monitor.store import maintenance as store_mod
from monitor.cli import cli
from monitor.config import ArchiveConfig, FeedConfig
from monitor.dedup import fingerprint
from monitor.errors import ConfigError
from monitor.model import Article, Match, PollResult
from monitor.store import Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
DAY = 86400.0
KEEP = 90 * DAY
HIT = [Match("ceasefire", "text", ["truce"], "a truce")]


def article(n: int, feed: str = "f", **kw) -> Article:
    base = dict(url=f"https://n.example/{n}", link=f"https://n.example/{n}", guid=f"g{n}", feed=feed,
                title=f"Title {n}", text=f"Text of article {n} with its own word marker{n}x")
    return Article(**(base | kw))


def save(store: Store, when: datetime, *articles: Article, feed: str = "f") -> list[int]:
    return store.save_poll(PollResult(feed=feed, status=200, articles=list(articles), next_poll="x"), when)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def fts(store: Store, word: str) -> list[int]:
    return [r[0] for r in store.db.execute("SELECT rowid FROM articles_fts WHERE articles_fts MATCH ?", [word])]


def integrity(store: Store) -> None:
    """FTS5's own check of the index against the articles table: raises on any orphan or gap."""
    store.db.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")


def dangling(store: Store) -> dict[str, int]:
    """Rows that point at an article or story that is not there (0 everywhere when consistent)."""
    q = {
        "article_places": "SELECT count(*) FROM article_places p WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = p.article_id)",
        "matches": "SELECT count(*) FROM matches m WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = m.article_id)",
        "alerts": "SELECT count(*) FROM alerts x WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = x.article_id)",
        "sightings": "SELECT count(*) FROM sightings s WHERE s.article_id IS NOT NULL "
                     "AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = s.article_id)",
        "story_bands": "SELECT count(*) FROM story_bands b WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = b.article_id)",
        "articles.story_id": "SELECT count(*) FROM articles a WHERE a.story_id IS NOT NULL "
                             "AND NOT EXISTS (SELECT 1 FROM stories s WHERE s.id = a.story_id)",
        "empty stories": "SELECT count(*) FROM stories s WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.story_id = s.id)",
        "representatives": "SELECT count(*) FROM stories s WHERE NOT EXISTS (SELECT 1 FROM articles a "
                           "WHERE a.id = s.representative_id AND a.story_id = s.id)",
        "story counts": "SELECT count(*) FROM stories s WHERE s.article_count != "
                        "(SELECT count(*) FROM articles a WHERE a.story_id = s.id)",
    }
    return {name: store.db.execute(sql).fetchone()[0] for name, sql in q.items()}


@pytest.fixture
def store(db_path):
    with Store(db_path) as s:
        s.sync_feeds([FeedConfig(url="https://n.example/feed", name="f"), FeedConfig(url="https://m.example/feed", name="g")], ago(400))
        yield s


@pytest.fixture
def archive(store):
    """Articles of every kind the prune must tell apart; returns their ids by name."""
    ids = {}
    ids["old"] = save(store, ago(200), article(1, places=["UA-63"]))[0]
    ids["old_hit"] = save(store, ago(200), article(2, matches=HIT, text_hash="hot"))[0]
    ids["old_copy_of_hit"] = save(store, ago(199), article(3, text_hash="hot"))[0]  # same story as the hit
    ids["cold_a"], ids["cold_b"] = save(store, ago(150), article(4, text_hash="cold"), article(5, text_hash="cold"))
    ids["edge_old"] = save(store, ago(95), article(6, text_hash="edge"))[0]  # story spans the cutoff
    ids["edge_new"] = save(store, ago(89), article(7, text_hash="edge"))[0]
    ids["recent"] = save(store, ago(10), article(8))[0]
    ids["recent_hit"] = save(store, ago(10), article(9, matches=HIT))[0]
    # Feed g carried article 1 as well: a sighting that points at it.
    assert save(store, ago(199), article(1, feed="g", guid="g-copy"), feed="g") == []
    # An alert row for the old article (a rule removed by rematch leaves one without a match).
    store.db.execute("INSERT INTO alerts (article_id, rule, status) VALUES (?, 'gone', 'sent')", [ids["old"]])
    store.db.conn.commit()
    return ids


def stored(store: Store) -> set[int]:
    return {r[0] for r in store.db.execute("SELECT id FROM articles")}


def test_prune_deletes_old_unmatched_articles_and_keeps_hits_their_stories_and_recent_ones(store, archive):
    ids = archive
    stories_before = {name: store.db.execute("SELECT story_id FROM articles WHERE id=?", [i]).fetchone()[0] for name, i in ids.items()}
    assert fts(store, "marker1x") == [ids["old"]] and store.count("article_places") == 1

    result = store.prune(NOW, KEEP)

    gone = {ids[k] for k in ("old", "cold_a", "cold_b", "edge_old")}
    assert stored(store) == set(ids.values()) - gone
    assert result["articles"] == 4 and result["places"] == 1 and result["more"] is False
    assert result["stories_dropped"] == 2 and result["stories_updated"] == 1  # old's and cold's; edge keeps edge_new
    # FTS: the words of pruned articles find nothing, the kept ones still do, and FTS5 finds no orphan.
    for n in (1, 4, 5, 6):
        assert fts(store, f"marker{n}x") == []
    assert fts(store, "marker2x") == [ids["old_hit"]] and fts(store, "marker3x") == [ids["old_copy_of_hit"]]
    assert fts(store, "marker7x") == [ids["edge_new"]]
    integrity(store)
    assert dangling(store) == dict.fromkeys(dangling(store), 0)
    # The story spanning the cutoff now starts with the article left; the hit's story is untouched.
    edge = store.db.execute("SELECT representative_id, article_count FROM stories WHERE id=?", [stories_before["edge_new"]]).fetchone()
    assert tuple(edge) == (ids["edge_new"], 1)
    hot = store.db.execute("SELECT representative_id, article_count FROM stories WHERE id=?", [stories_before["old_hit"]]).fetchone()
    assert tuple(hot) == (ids["old_hit"], 2)
    assert store.db.execute("SELECT count(*) FROM stories_overview WHERE representative_url IS NULL").fetchone()[0] == 0
    # Pruned items stay known, so a feed still listing them does not bring them back as new.
    assert store.known("f", ["g1", "g4"], ["https://n.example/1", "https://n.example/6"]) == (
        {"g1", "g4"}, {"https://n.example/1", "https://n.example/6"})
    assert store.known("g", ["g-copy"], [])[0] == {"g-copy"}
    # feeds.article_count still counts what is stored.
    assert store.db.execute("SELECT article_count FROM feeds WHERE name='f'").fetchone()[0] == len(stored(store))

    again = store.prune(NOW, KEEP)
    assert again["articles"] == 0 and stored(store) == set(ids.values()) - gone


def test_dry_run_counts_what_prune_then_deletes(store, archive):
    before = stored(store)
    preview = store.prune(NOW, KEEP, dry_run=True)
    assert stored(store) == before
    done = store.prune(NOW, KEEP)
    assert {k: preview[k] for k in ("articles", "places", "stories_dropped", "stories_updated")} == {
        k: done[k] for k in ("articles", "places", "stories_dropped", "stories_updated")}


def test_integrity_check_does_catch_an_fts_orphan(store, archive):
    """The FTS check the prune tests rely on fails when rows leave articles without the trigger."""
    integrity(store)
    store.db.execute("DROP TRIGGER articles_ad")
    store.db.execute("DELETE FROM articles WHERE id = ?", [archive["recent"]])
    with pytest.raises(sqlite3.DatabaseError):
        integrity(store)


def test_small_batches_and_a_limit_give_the_same_result(store):
    for day in range(40):
        save(store, ago(100 + day), article(100 + day), article(200 + day, matches=HIT if day % 3 == 0 else []))
    keep = {i for i, in store.db.execute("SELECT article_id FROM matches")}
    first = store.prune(NOW, KEEP, batch=7, limit=20)
    assert first["articles"] == 20 and first["more"] is True
    assert store.db.execute("SELECT count(*) FROM maintenance WHERE key='prune'").fetchone()[0] == 0  # not finished
    rest = store.prune(NOW, KEEP, batch=7)
    assert rest["more"] is False and first["articles"] + rest["articles"] == 40 + 40 - len(keep)
    assert stored(store) == keep
    integrity(store)


def test_story_band_keys_of_pruned_articles_go_with_them(store):
    words, others = (" ".join(f"{w}{i}" for i in range(60)) for w in ("word", "other"))
    old = save(store, ago(2), article(1, text=words, **dict(zip(("text_hash", "signature"), fingerprint(words)))))[0]
    hit = save(store, ago(2), article(2, text=others, matches=HIT, **dict(zip(("text_hash", "signature"), fingerprint(others)))))[0]
    assert {r[0] for r in store.db.execute("SELECT DISTINCT article_id FROM story_bands")} == {old, hit}
    store.prune(NOW, DAY)  # a day is shorter than the story window: the band keys are still there
    assert stored(store) == {hit}
    assert {r[0] for r in store.db.execute("SELECT DISTINCT article_id FROM story_bands")} <= {hit}
    assert dangling(store)["story_bands"] == 0


def big_archive(store: Store, n: int = 1500) -> None:
    filler = " ".join(f"filler{i}" for i in range(400))
    for start in range(0, n, 500):
        save(store, ago(120), *[article(i, text=f"{filler} unique{i}") for i in range(start, start + 500)])
    save(store, ago(1), article(n + 1))
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.mark.slow
def test_vacuum_shrinks_the_file_after_a_large_prune_and_only_when_due(store, db_path):
    big_archive(store)
    full = db_path.stat().st_size
    archive = ArchiveConfig(keep_unmatched=KEEP, vacuum_every=7 * DAY, vacuum_min_free=0.2)
    done = store.maintain(NOW, archive)
    assert done["prune"]["articles"] == 1500
    assert done["vacuum"]["bytes_after"] < done["vacuum"]["bytes_before"] / 3
    assert db_path.stat().st_size < full / 3
    integrity(store)
    assert store.stats()["last_vacuum"] == "2026-11-25T12:00:00Z"
    # Within the hour nothing runs again; a week later the prune runs but the file has no free space to win.
    assert store.maintain(NOW + timedelta(minutes=30), archive) == {}
    later = store.maintain(NOW + timedelta(days=8), archive)
    assert later["prune"]["articles"] == 0 and "vacuum" not in later


@pytest.mark.slow
def test_vacuum_waits_for_its_interval_and_for_enough_free_pages(store):
    big_archive(store, 1000)
    store.prune(NOW, KEEP)
    store.maintenance.remember("vacuum", {}, NOW - timedelta(days=1))
    assert store.vacuum_if_due(NOW, 7 * DAY, 0.2) is None  # vacuumed a day ago
    assert store.vacuum_if_due(NOW, DAY / 2, 0.99) is None  # due, but not enough free pages
    assert store.vacuum_if_due(NOW, DAY / 2, 0.2)["bytes_after"] > 0


@pytest.mark.slow
def test_a_writer_holding_the_lock_makes_maintenance_skip_not_raise(store, db_path):
    big_archive(store, 500)
    store.db.execute("PRAGMA busy_timeout = 200")  # maintenance waits at most this (and at most 2 s)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        archive = ArchiveConfig(keep_unmatched=KEEP, vacuum_every=DAY, vacuum_min_free=0.0)
        done = store.maintain(NOW, archive)
        assert "locked" in done["prune"]["skipped"] and "vacuum" not in done
        # VACUUM on its own: skipped, remembered, and not tried again within the hour.
        assert "locked" in store.vacuum_if_due(NOW, DAY, 0.0)["skipped"]
        assert store.vacuum_if_due(NOW + timedelta(minutes=5), DAY, 0.0) is None
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 200  # restored
    done = store.maintain(NOW + timedelta(hours=2), archive)
    assert done["prune"]["articles"] == 500 and "bytes_after" in done["vacuum"]


@pytest.mark.slow
def test_a_reader_does_not_stop_maintenance(store, db_path):
    big_archive(store, 500)
    store.db.execute("PRAGMA busy_timeout = 200")
    reader = sqlite3.connect(db_path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM articles").fetchone()[0] == 501  # a Datasette query in flight
    try:
        done = store.maintain(NOW, ArchiveConfig(keep_unmatched=KEEP, vacuum_every=DAY, vacuum_min_free=0.2))
        assert done["prune"]["articles"] == 500 and "vacuum" in done
        assert reader.execute("SELECT count(*) FROM articles").fetchone()[0] == 501  # its snapshot holds
    finally:
        reader.execute("COMMIT")
        reader.close()
    store.checkpoint()
    integrity(store)


def test_never_keeps_everything(store, archive):
    before = stored(store)
    assert store.maintain(NOW, ArchiveConfig(keep_unmatched=None, vacuum_every=None)) == {}
    assert stored(store) == before


@pytest.mark.slow
def test_maintain_limits_one_call_and_finishes_on_the_next(store, monkeypatch):
    big_archive(store, 1000)
    monkeypatch.setattr(store_mod, "PRUNE_PER_CALL", 300)
    archive = ArchiveConfig(keep_unmatched=KEEP, vacuum_every=DAY, vacuum_min_free=0.2)
    first = store.maintain(NOW, archive)
    assert first["prune"]["articles"] == 300 and first["prune"]["more"] and "vacuum" not in first
    rest = [store.maintain(NOW + timedelta(minutes=m), archive) for m in (1, 2, 3)]
    assert sum(r["prune"]["articles"] for r in rest) == 700
    assert "vacuum" in rest[-1] and store.count("articles") == 1


def test_stats(store, archive, db_path):
    store.prune(NOW, KEEP)
    s = store.stats()
    assert s["file_bytes"] == db_path.stat().st_size and s["wal_bytes"] >= 0
    assert (s["articles"], s["articles_with_hits"], s["matches"], s["feeds_active"]) == (5, 2, 2, 2)
    assert s["oldest_article"] == "2026-05-09T12:00:00Z" and s["newest_article"] == "2026-11-15T12:00:00Z"
    assert s["last_prune"] == "2026-11-25T12:00:00Z" and s["last_prune_articles"] == 4 and s["last_vacuum"] is None
    assert s["free_pages"] <= s["pages"] and s["page_size"] > 0


# ------------------------------------------------------------------------------------------- CLI


def cli_archive(tmp_path, extra: str = "archive:\n  keep_unmatched: 30d\n"):
    config = write_config(tmp_path, [{"url": "https://n.example/feed", "name": "f"}], extra=extra)
    now = datetime.now(timezone.utc)
    with Store(tmp_path / "archive.db") as s:
        s.sync_feeds([FeedConfig(url="https://n.example/feed", name="f")], now)
        save(s, now - timedelta(days=60), article(1), article(2), article(3, matches=HIT))
        save(s, now - timedelta(days=1), article(4))
    return config


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.slow
def test_stats_command_table_and_json(tmp_path):
    config = cli_archive(tmp_path)
    table = invoke("--config", str(config), "stats")
    assert table.exit_code == 0, table.output
    assert "articles with hits" in table.output and "database file" in table.output and "never" in table.output
    data = json.loads(invoke("--config", str(config), "stats", "--json").output)
    assert data["articles"] == 4 and data["articles_with_hits"] == 1 and data["database"] == str(tmp_path / "archive.db")
    # As a script runs it: a real process, JSON on stdout.
    proc = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "stats", "--json"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["matches"] == 1


def test_stats_without_an_archive_says_so(tmp_path):
    config = write_config(tmp_path, [{"url": "https://n.example/feed"}])
    result = invoke("--config", str(config), "stats")
    assert result.exit_code == 1 and "no archive" in result.output
    assert not (tmp_path / "archive.db").exists()


def test_prune_command_dry_run_then_for_real(tmp_path):
    config = cli_archive(tmp_path)
    dry = invoke("--config", str(config), "prune", "--dry-run")
    assert dry.exit_code == 0 and "would delete 2 articles" in dry.output
    assert json.loads(invoke("--config", str(config), "stats", "--json").output)["articles"] == 4
    real = invoke("--config", str(config), "prune", "--vacuum")
    assert real.exit_code == 0 and "deleted 2 articles" in real.output and "vacuumed" in real.output
    data = json.loads(invoke("--config", str(config), "stats", "--json").output)
    assert data["articles"] == 2 and data["last_prune_articles"] == 2 and data["last_vacuum"]
    (tmp_path / "never").mkdir()
    never = cli_archive(tmp_path / "never", extra="archive:\n  keep_unmatched: never\n")
    assert "nothing is pruned" in invoke("--config", str(never), "prune").output
    assert json.loads(invoke("--config", str(never), "stats", "--json").output)["articles"] == 4


# ---------------------------------------------------------------------------------------- config


def test_archive_settings(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds: []\narchive:\n  keep_unmatched: 30d\n  vacuum_every: never\n  vacuum_min_free: 0.5\n")
    archive = config_mod.load(path).archive
    assert archive == ArchiveConfig(keep_unmatched=30 * DAY, vacuum_every=None, vacuum_min_free=0.5)
    path.write_text("feeds: []\n")
    assert config_mod.load(path).archive == ArchiveConfig(keep_unmatched=90 * DAY, vacuum_every=7 * DAY, vacuum_min_free=0.2)


@pytest.mark.parametrize("text, line, key, words", [
    ("feeds: []\narchive:\n  keep_unmatched: 90\n", 3, "archive.keep_unmatched", "a bare number is seconds"),
    ("feeds: []\narchive:\n  keep_unmatched: soon\n", 3, "archive.keep_unmatched", "90d or never"),
    ("feeds: []\narchive:\n  keep_unmatched: 40000d\n", 3, "archive.keep_unmatched", "36500d"),
    ("feeds: []\narchive:\n\n  vacuum_every: true\n", 4, "archive.vacuum_every", "90d or never"),
    ("feeds: []\narchive:\n  vacuum_min_free: 1.5\n", 3, "archive.vacuum_min_free", "from 0 to 1"),
    ("feeds: []\narchive:\n  keep: 30d\n", 3, "archive.keep", "unknown key"),
    ("feeds: []\narchive: 30d\n", 2, "archive", "mapping"),
])
def test_bad_archive_settings_name_file_line_and_key(tmp_path, text, line, key, words):
    path = tmp_path / "feeds.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(ConfigError) as info:
        config_mod.load(path)
    error = info.value
    assert (error.file, error.line, error.key) == (str(path), line, key) and words in str(error)
    assert str(error).startswith(f"{path}:{line}:{error.column}: {key}:")
