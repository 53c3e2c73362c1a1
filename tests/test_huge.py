"""A feed of 50,000 items (a sitemap may list as many): taken `max_items` a poll, newest first, each
batch committed as it is built, without starving the other feeds; SIGTERM honoured within 10 s."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

import pytest

from conftest import Loopback, wait_for, write_config
from monitor import config as config_mod
from monitor.daemon import Monitor
from monitor.rules import load_rules
from monitor.store import Store
from monitor.workers import Workers

pytestmark = pytest.mark.slow
START = datetime(2026, 12, 1, tzinfo=timezone.utc)


def huge_feed(base: str, count: int, pages: bool = False) -> bytes:
    """count items, the oldest first (a newest-first reader must sort), one a minute."""
    items = "".join(
        f"<item><title>Story {n} from the front</title><link>{base}/{'p' if pages else 'x'}/{n}.html</link>"
        f"<guid isPermaLink='false'>big-{n}</guid><pubDate>{format_datetime(START + timedelta(minutes=n))}</pubDate>"
        f"<description>Summary {n}: shelling near Kharkiv overnight.</description></item>"
        for n in range(count)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'.encode()


def test_a_50000_item_feed_is_taken_a_hundred_a_poll_newest_first_beside_the_others(tmp_path):
    with Loopback() as s:
        s.add("/big.rss", huge_feed(s.base, 50_000))
        s.add("/small.rss", huge_feed(s.base + "/small", 3))
        config = config_mod.load(write_config(tmp_path, [{"url": s.url("/big.rss"), "name": "big", "full_text": False},
                                                         {"url": s.url("/small.rss"), "name": "small", "full_text": False}]))
        with Store(config.database) as store, Workers(2) as workers:
            monitor = Monitor(config, store, load_rules(config.rules), workers)
            first = asyncio.run(monitor.run_once())
            assert first.failed == 0 and first.articles == 100 + 3
            newest = {f"big-{n}" for n in range(49_900, 50_000)}
            assert {r[0] for r in store.db.execute("SELECT guid FROM articles WHERE feed='big'")} == newest
            # the rest is for the next polls: no validators kept, so the feed is read again, not 304'd
            assert store.db.execute("SELECT etag, last_modified, body_hash FROM feeds WHERE name='big'").fetchone() == (None, None, None)
            second = asyncio.run(monitor.run_once())
            assert second.articles == 100 and second.unchanged == 1  # the small feed: 304
            assert {r[0] for r in store.db.execute("SELECT guid FROM articles WHERE feed='big'")} == \
                newest | {f"big-{n}" for n in range(49_800, 49_900)}


def test_sigterm_on_a_huge_feed_is_honoured_within_10_s_with_the_finished_batches_stored(tmp_path):
    with Loopback() as s:
        s.page_delay = 0.02
        page = ("<html><head><title>Story</title></head><body><article><h1>Story</h1>"
                + "<p>Shelling continued near the front line overnight, officials said.</p>" * 12
                + "</article></body></html>").encode()
        for n in range(49_000, 50_000):
            s.add(f"/p/{n}.html", page, "text/html")
        s.add("/big.rss", huge_feed(s.base, 50_000, pages=True))
        config = write_config(tmp_path, [{"url": s.url("/big.rss"), "name": "big", "max_items": 1000}])
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        log = tmp_path / "stderr.log"
        process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"],
                                   stdout=subprocess.DEVNULL, stderr=log.open("w"), env=env)
        db = tmp_path / "archive.db"

        def stored() -> int:
            try:
                with sqlite3.connect(db) as conn:
                    return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
            except sqlite3.Error:
                return 0

        try:
            # the first batch is committed while the feed's other items are still being fetched
            assert wait_for(lambda: stored() > 0 or process.poll() is not None, timeout=240), log.read_text()[-2000:]
            assert process.poll() is None
            process.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            assert process.wait(timeout=60) == 0, log.read_text()[-2000:]
            assert time.monotonic() - stopped_at < 10
            kept = stored()
            assert 0 < kept < 1000  # what was finished is stored; the rest is left for the next start
            with sqlite3.connect(db) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                # the feed's row is not written: it is due again at the next start
                assert conn.execute("SELECT last_poll FROM feeds WHERE name='big'").fetchone()[0] is None
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
