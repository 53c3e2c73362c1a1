"""A full archive (SQLite's own SQLITE_FULL, from PRAGMA max_page_count on the daemon's connection):
an archive condition, not a crash and not the feeds' fault. Nothing is fetched that could not be
stored, the error says where and how much room is left, and polling resumes by itself."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys

import pytest

from conftest import Loopback, NotifyListener, feed_body, wait_for, write_config
from monitor import config as config_mod
from monitor.daemon import Monitor
from monitor.rules import load_rules
from monitor.store import Store
from monitor.workers import Workers

pytestmark = pytest.mark.slow  # real processes and servers: `pytest -m "not slow"` leaves them out

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


def fill(directory, leave: int) -> None:
    """A junk file that leaves about `leave` bytes free on `directory`'s filesystem."""
    free = shutil.disk_usage(directory).free
    with open(directory / "junk", "wb") as junk:
        junk.write(b"\0" * max(0, free - leave))


def test_a_real_full_filesystem_at_start_and_while_running(tmp_path):
    """A real 8 MiB tmpfs under the archive (CI runs as root, so the test mounts one; a machine
    where it cannot fails the test rather than skips it). A fresh archive on the full disk: the
    daemon waits at start instead of exiting into systemd's restart loop. Then full while running:
    one error, nothing fetched, and both times it carries on by itself once there is room."""
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(small)], capture_output=True, text=True)
    assert mounted.returncode == 0, f"this test mounts a small tmpfs and needs root (as in CI): {mounted.stderr}"
    process = None
    listener = NotifyListener(str(tmp_path / "notify.sock"))
    try:
        with Loopback() as server:
            server.add("/a.rss", feed_body("a", 3))
            config = write_config(tmp_path, [{"url": server.url("/a.rss"), "name": "a", "full_text": False}])
            database = small / "archive.db"
            config.write_text(config.read_text().replace(str(tmp_path / "archive.db"), str(database)))
            fill(small, 16 * 1024)
            env = dict(os.environ, PYTHONUNBUFFERED="1", NOTIFY_SOCKET=listener.path)
            env.pop("JOURNAL_STREAM", None)
            log = tmp_path / "stderr.log"
            with log.open("w") as err:
                process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                           stdout=subprocess.DEVNULL, stderr=err, env=env)
            assert wait_for(lambda: "archive full at start" in log.read_text(), timeout=60)
            assert process.poll() is None and not listener.having("READY", "1") and server.hits["/a.rss"] == 0
            (small / "junk").unlink()
            assert wait_for(lambda: listener.having("READY", "1"), timeout=60)
            assert wait_for(lambda: any("polled 1 feeds" in m["STATUS"] for _t, m in listener.having("STATUS")), timeout=60)
            count = lambda: sqlite3.connect(database).execute("SELECT count(*) FROM articles").fetchone()[0]  # noqa: E731
            assert count() == 3

            # full while running: the next poll is not made, the error says where and how little room
            fill(small, 0)
            # more than the WAL's pages already on the disk can take
            server.add("/a.rss", feed_body("a", 100).replace(b"</description>", b" " + b"Kharkiv shelling. " * 150 + b"</description>"))
            with sqlite3.connect(database) as db:
                db.execute("UPDATE feeds SET next_poll = '2000-01-01T00:00:00Z'")
            process.send_signal(signal.SIGHUP)
            errors = lambda: log.read_text().count("archive full: not polling")  # noqa: E731
            assert wait_for(lambda: errors() == 1, timeout=60)  # the poll whose batch found the disk full
            fetched = server.hits["/a.rss"]
            process.send_signal(signal.SIGHUP)  # another tick: one more error line, and no fetch
            assert wait_for(lambda: errors() == 2, timeout=60)
            assert server.hits["/a.rss"] == fetched and process.poll() is None
            assert any(m["STATUS"].startswith("ARCHIVE FULL") for _t, m in listener.having("STATUS"))
            (small / "junk").unlink()
            process.send_signal(signal.SIGHUP)  # the next tick, now rather than in a minute
            assert wait_for(lambda: count() == 100, timeout=60)
            assert "archive writable again" in log.read_text()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
            with sqlite3.connect(database) as db:
                assert db.execute("SELECT count(DISTINCT url_key), count(*) FROM articles").fetchone() == (100, 100)
                assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        listener.close()
        subprocess.run(["umount", "-l", str(small)], capture_output=True)
