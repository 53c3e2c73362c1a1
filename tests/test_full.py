"""A full archive (SQLite's own SQLITE_FULL, from PRAGMA max_page_count on the daemon's connection):
an archive condition, not a crash and not the feeds' fault. Nothing is fetched that could not be
stored, the error says where and how much room is left, and polling resumes by itself."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from conftest import Loopback, write_config
from monitor import config as config_mod
from monitor.daemon import Monitor
from monitor.rules import load_rules
from monitor.store import Store
from monitor.workers import Workers

# long and unlike itself (an extractor drops repeated paragraphs): an article needs new pages
PAGE = ("<html><head><title>{t}</title></head><body><article><h1>{t}</h1>"
        + "".join(f"<p>{{t}}, paragraph {i}: shelling continued near the front line overnight, officials in "
                  f"Kharkiv said, and {i} crews worked to restore power.</p>" for i in range(200))
        + "</article></body></html>")


def publish(s: Loopback, count: int) -> None:
    items = ""
    for n in range(count):
        s.add(f"/p/{n}.html", PAGE.format(t=f"Story {n}").encode(), "text/html")
        items += (f"<item><title>Story {n}</title><link>{s.base}/p/{n}.html</link><guid>g{n}</guid>"
                  f"<description>Summary {n}</description></item>")
    s.add("/a.rss", f'<?xml version="1.0"?><rss version="2.0"><channel><title>A</title>{items}</channel></rss>'.encode())


class Records(logging.Handler):
    """The monitor logger's records, whatever an earlier test did to its propagation."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def clear(self) -> None:
        self.records.clear()


def test_a_full_archive_pauses_polling_and_resumes_by_itself(tmp_path):
    logger = logging.getLogger("monitor")
    records = Records()
    logger.addHandler(records)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        _full_archive(tmp_path, records)
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)


def _full_archive(tmp_path, records):
    with Loopback() as s:
        publish(s, 3)
        config = config_mod.load(write_config(tmp_path, [{"url": s.url("/a.rss"), "name": "a"}]))
        with Store(config.database) as store, Workers(2) as workers:
            monitor = Monitor(config, store, load_rules(config.rules), workers)
            first = asyncio.run(monitor.poll_due())
            assert first.articles == 3
            publish(s, 6)
            store.db.execute("UPDATE feeds SET next_poll = '2000-01-01T00:00:00+00:00'")  # due again
            store.db.conn.commit()
            store.db.execute("CREATE TABLE filler (b BLOB)")
            store.db.conn.commit()
            pages = store.db.execute("PRAGMA page_count").fetchone()[0]
            store.db.execute(f"PRAGMA max_page_count = {pages}")  # no new page can be written ...
            for size in (4096, 512, 64, 8, 0):  # ... and the room left in the pages there are is taken
                try:
                    while True:  # a commit each: SQLITE_FULL rolls back the whole transaction
                        store.db.execute(f"INSERT INTO filler VALUES (zeroblob({size}))")
                        store.db.conn.commit()
                except sqlite3.OperationalError as exc:
                    assert "full" in str(exc)

            asyncio.run(monitor.poll_due())  # the cycle meets SQLITE_FULL
            assert store.count("articles") == 3
            assert store.db.execute("SELECT error_count, last_error FROM feeds").fetchone() == (0, None)
            full = [r for r in records.records if r.getMessage().startswith("archive full")]
            assert full and full[-1].database == str(config.database) and full[-1].free_mib > 0
            assert monitor.status().startswith(f"ARCHIVE FULL: {config.database}")

            # while full, nothing is fetched: not the feed, not its pages
            hits = sum(s.hits.values())
            records.clear()
            again = asyncio.run(monitor.poll_due())
            assert again.feeds == 0 and sum(s.hits.values()) == hits
            assert sum(r.getMessage().startswith("archive full") for r in records.records) == 1  # one a tick

            # room again: the next tick polls and stores the rest, once
            store.db.execute("PRAGMA max_page_count = 1073741823")
            records.clear()
            resumed = asyncio.run(monitor.poll_due())
            assert any(r.getMessage().startswith("archive writable again") for r in records.records)
            assert resumed.articles == 3 and store.count("articles") == 6
            assert len({r[0] for r in store.db.execute("SELECT url_key FROM articles")}) == 6
            assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert not monitor.status().startswith("ARCHIVE FULL")
