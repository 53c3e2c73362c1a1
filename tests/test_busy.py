"""Another writer holds the archive: a real second SQLite connection holding the write lock
(what `monitor rematch`, `prune`, a backup or a sqlite-utils shell do), beside the daemon running
as a real process under a NOTIFY_SOCKET listener. Storing waits; polling, the watchdog and the feeds'
records do not; the work lands when the lock clears, and a SIGTERM is still a clean exit."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from conftest import Loopback, NotifyListener, feed_body, wait_for, write_config
from monitor.model import Article
from monitor.store import Store

pytestmark = pytest.mark.slow


def start_daemon(tmp_path, config, listener):
    env = dict(os.environ, PYTHONUNBUFFERED="1", NOTIFY_SOCKET=listener.path, WATCHDOG_USEC="3000000")
    env.pop("JOURNAL_STREAM", None)
    log = (tmp_path / "stderr.log").open("w+")
    return subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                            stdout=subprocess.DEVNULL, stderr=log, env=env)


def stop(process) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def test_a_held_lock_delays_storing_never_polling_or_the_watchdog(tmp_path):
    with Loopback() as server:
        server.add("/a.rss", feed_body("a", 3))
        config = write_config(tmp_path, [{"url": server.url("/a.rss"), "name": "a", "full_text": False}])
        listener = NotifyListener(str(tmp_path / "notify.sock"))
        process = start_daemon(tmp_path, config, listener)
        log = tmp_path / "stderr.log"
        other = sqlite3.connect(tmp_path / "archive.db", isolation_level=None)  # autocommit: BEGIN is ours
        count = lambda: other.execute("SELECT count(*) FROM articles").fetchone()[0]  # noqa: E731
        try:
            assert wait_for(lambda: any("polled 1 feeds" in m["STATUS"] for _t, m in listener.having("STATUS")), timeout=60)
            assert count() == 3

            def hold_the_lock(items: int) -> int:
                """Three more items, the feed due, then the lock taken and a tick asked for (SIGHUP,
                the same config): returns the feed's fetch count before."""
                server.add("/a.rss", feed_body("a", items))
                other.execute("UPDATE feeds SET next_poll = '2000-01-01T00:00:00Z'")
                fetched = server.hits["/a.rss"]
                other.execute("BEGIN IMMEDIATE")
                process.send_signal(signal.SIGHUP)
                return fetched

            cycles = log.read_text().count("cycle done")
            fetched = hold_the_lock(6)
            locked_at = time.monotonic()
            # the feed is polled although nothing can be stored ...
            assert wait_for(lambda: server.hits["/a.rss"] > fetched, timeout=60)
            # ... the archive's state is in the STATUS line and the log, once ...
            assert wait_for(lambda: any(m["STATUS"].startswith("ARCHIVE BUSY") for _t, m in listener.having("STATUS")), timeout=60)
            assert wait_for(lambda: "archive busy" in log.read_text(), timeout=30)
            # ... and WATCHDOG=1 keeps its pace (every second here, each within WatchdogSec = 3 s)
            pings = lambda: [t for t, _m in listener.having("WATCHDOG", "1") if t > locked_at]  # noqa: E731
            assert wait_for(lambda: len(pings()) >= 8, timeout=60)
            assert max(b - a for a, b in zip(pings(), pings()[1:])) < 3.0
            assert count() == 3 and process.poll() is None

            other.execute("COMMIT")  # the lock clears: the work that waited lands, once
            assert wait_for(lambda: count() == 6, timeout=60)
            assert wait_for(lambda: "archive free again" in log.read_text(), timeout=30)
            assert other.execute("SELECT error_count, last_error FROM feeds WHERE name='a'").fetchone() == (0, None)
            assert "tick skipped" not in log.read_text()
            assert other.execute("SELECT count(DISTINCT url_key) FROM articles").fetchone()[0] == 6
            # the cycle that waited ends (its checkpoint too): the next hold meets a daemon between cycles,
            # not one whose last write would wait behind the test's lock on a machine slow enough
            assert wait_for(lambda: log.read_text().count("cycle done") > cycles, timeout=60)

            # held again, and SIGTERM while the writes wait: a clean exit within 10 s
            fetched = hold_the_lock(9)
            assert wait_for(lambda: server.hits["/a.rss"] > fetched, timeout=60)
            process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            assert process.wait(timeout=30) == 0
            assert time.monotonic() - stopped_at < 10
            other.execute("COMMIT")
            assert count() == 6  # not stored, nothing half-written: the next start takes them
            assert other.execute("SELECT error_count, last_error FROM feeds WHERE name='a'").fetchone() == (0, None)
            assert other.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            stop(process)
            listener.close()
            other.close()

        # the next start stores what the stop left
        done = subprocess.run([sys.executable, "-m", "monitor", "--config", str(config), "run", "--once"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        with sqlite3.connect(tmp_path / "archive.db") as db:
            assert db.execute("SELECT count(*), count(DISTINCT url_key) FROM articles").fetchone() == (9, 9)


@pytest.mark.parametrize("then", ["commit", "sigterm"])
def test_a_lock_held_before_the_daemon_starts_is_waited_for(tmp_path, then):
    """A fresh archive whose lock another writer holds: the schema cannot be written, so the
    daemon waits at start (logged, in the STATUS line, systemd's start timeout stretched) instead of
    exiting into a restart loop; it starts the moment the lock clears, and a SIGTERM meanwhile is a
    clean exit."""
    with Loopback() as server:
        server.add("/a.rss", feed_body("a", 3))
        config = write_config(tmp_path, [{"url": server.url("/a.rss"), "name": "a", "full_text": False}])
        other = sqlite3.connect(tmp_path / "archive.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("CREATE TABLE notes (note TEXT)")  # a writer that got there first
        listener = NotifyListener(str(tmp_path / "notify.sock"))
        process = start_daemon(tmp_path, config, listener)
        log = tmp_path / "stderr.log"
        try:
            assert wait_for(lambda: "archive busy at start" in log.read_text(), timeout=60)
            assert wait_for(lambda: any(m["STATUS"].startswith("ARCHIVE BUSY at start") for _t, m in listener.having("STATUS")),
                            timeout=30)
            assert listener.having("EXTEND_TIMEOUT_USEC") and not listener.having("READY", "1")
            assert process.poll() is None and server.hits["/a.rss"] == 0
            if then == "sigterm":
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=30) == 0
                assert "stopped before start" in log.read_text()
                other.execute("COMMIT")
                assert other.execute("SELECT name FROM sqlite_master WHERE name = 'articles'").fetchone() is None
                return
            other.execute("COMMIT")
            assert wait_for(lambda: listener.having("READY", "1"), timeout=60)
            assert wait_for(lambda: any("polled 1 feeds" in m["STATUS"] for _t, m in listener.having("STATUS")), timeout=60)
            assert other.execute("SELECT count(*) FROM articles").fetchone()[0] == 3
            assert "archive ready again: starting" in log.read_text()
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            stop(process)
            listener.close()
            other.close()


def seed(path, count: int) -> None:
    """An archive of `count` articles stored untagged (no matches): what rematch must tag."""
    with Store(path) as store:
        articles = [Article(url=f"http://seed.example/{n}", link=f"http://seed.example/{n}", guid=f"s{n}", feed="seed",
                            title=f"Seed {n}: the offensive near Kharkiv",
                            text=f"Russian forces pressed the offensive near Kharkiv, report {n}.", lang="en")
                    for n in range(count)]
        for start in range(0, count, 500):
            store.save_articles(articles[start:start + 500], store_now())


def store_now():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)


PAGE = ("<html><head><title>{t}</title></head><body><article><h1>{t}</h1>"
        + "".join(f"<p>{{t}}, paragraph {i}: Russian forces pressed the offensive near Kharkiv overnight, "
                  f"officials said, and {i} crews worked to restore power.</p>" for i in range(12))
        + "</article></body></html>")


def test_rematch_beside_the_running_daemon_both_progress(tmp_path):
    """`monitor rematch` while the daemon stores a feed's batches: the rematch finishes and tags
    the whole archive, the daemon stores every article, and no feed records an error."""
    seed(tmp_path / "archive.db", 3000)
    go = threading.Event()  # the daemon's later pages wait until the rematch is under way
    with Loopback() as server:
        items = ""
        for n in range(150):
            body = PAGE.format(t=f"Story {n}").encode()
            if n < 50:
                server.add(f"/p/{n}.html", body, "text/html")
            else:
                server.routes[f"/p/{n}.html"] = lambda h, body=body: (go.wait(60), serve(h, body))
            items += f"<item><title>Story {n}</title><link>{server.base}/p/{n}.html</link><guid>b{n}</guid></item>"
        server.add("/b.rss", f'<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>{items}</channel></rss>'.encode())
        config = write_config(tmp_path, [{"url": server.url("/b.rss"), "name": "b", "max_items": 150}])
        listener = NotifyListener(str(tmp_path / "notify.sock"))
        process = start_daemon(tmp_path, config, listener)
        db = sqlite3.connect(tmp_path / "archive.db", isolation_level=None)
        stored = lambda: db.execute("SELECT count(*) FROM articles WHERE feed='b'").fetchone()[0]  # noqa: E731
        rematch = None
        try:
            assert wait_for(lambda: stored() >= 50, timeout=90)  # the first batch is in
            rematch = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "rematch", "--batch", "20"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            assert wait_for(lambda: (db.execute("SELECT done FROM jobs WHERE name='rematch'").fetchone() or [0])[0] > 0
                            or rematch.poll() is not None, timeout=90)
            go.set()  # the daemon's other 100 pages now come while the rematch writes its batches
            _out, err = rematch.communicate(timeout=180)
            assert rematch.returncode == 0, err
            assert "rematched" in err
            assert wait_for(lambda: stored() == 150, timeout=90)
            assert db.execute("SELECT count(*) FROM jobs").fetchone()[0] == 0  # the rematch finished its job
            tagged = db.execute("SELECT count(DISTINCT a.id) FROM articles a JOIN matches m ON m.article_id = a.id "
                                "WHERE a.feed='seed'").fetchone()[0]
            assert tagged == 3000
            assert db.execute("SELECT count(DISTINCT article_id) FROM matches m JOIN articles a ON a.id = m.article_id "
                              "WHERE a.feed='b'").fetchone()[0] == 150
            assert db.execute("SELECT error_count, last_error FROM feeds WHERE name='b'").fetchone() == (0, None)
            assert process.poll() is None
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            go.set()
            if rematch is not None and rematch.poll() is None:
                rematch.kill()
            stop(process)
            listener.close()
            db.close()


def serve(handler, body: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html; charset=utf-8")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
