#!/usr/bin/env python3
"""A 50,000-item feed on loopback: the real daemon's peak memory (its whole process tree), the items
it stores per second, and how long SIGTERM takes.

    python3 bench/huge.py [--items 50000] [--pages 2000]

Three runs of `python3 -m monitor run`, each with a fresh archive:

1. default settings, a feed-only (full_text: false) feed of --items items: the first poll, which
   stores the newest `max_items` (100); peak tree RSS while it parses and stores.
2. the same feed with `max_items: --items`: every item stored; items per second from the first
   article to the last, and the peak tree RSS.
3. full text (the items link to --pages real-looking pages served with a 20 ms delay,
   `max_items: --pages`): SIGTERM once the first batch is committed; seconds to exit (exit code
   shown) and the articles kept.

Memory is VmRSS from /proc, summed over the daemon and its children (extraction workers), sampled
every 0.1 s. Only loopback traffic.
"""

from __future__ import annotations

import argparse
import http.server
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 12, 1, tzinfo=timezone.utc)
PAGE = ("<html><head><title>Story</title></head><body><article><h1>Story</h1>"
        + "<p>Shelling continued near the front line overnight, officials in Kharkiv said on Monday.</p>" * 12
        + "</article></body></html>").encode()


def feed(base: str, count: int, pages: bool) -> bytes:
    items = "".join(
        f"<item><title>Story {n} from the front</title><link>{base}/{'p' if pages else 'x'}/{n}.html</link>"
        f"<guid isPermaLink='false'>big-{n}</guid><pubDate>{format_datetime(START + timedelta(minutes=n))}</pubDate>"
        f"<description>Summary {n}: shelling near Kharkiv overnight, the regional governor said.</description></item>"
        for n in range(count))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Big</title>{items}</channel></rss>'.encode()


class Server:
    def __init__(self, items: int):
        bodies: dict[str, tuple[bytes, str]] = {}
        self.bodies = bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body, ctype = bodies.get(self.path.split("?")[0], (b"", ""))
                if not body:
                    self.send_error(404)
                    return
                if ctype.startswith("text/html"):
                    time.sleep(0.02)
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def tree_rss(pid: int) -> int:
    """VmRSS of pid and its descendants, bytes."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in open(f"/proc/{current}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            todo.extend(int(c) for c in open(f"/proc/{current}/task/{current}/children").read().split())
        except OSError:
            continue
    return total


def count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    except sqlite3.Error:
        return 0


def daemon(tmp: Path, url: str, settings: dict) -> tuple[subprocess.Popen, Path]:
    db = tmp / "archive.db"
    config = tmp / "feeds.yaml"
    config.write_text(yaml.safe_dump({"database": str(db), "rules": str(ROOT / "rules"),
                                      "defaults": {"private_links": "allow"},
                                      "feeds": [{"url": url, "name": "big", **settings}]}))
    process = subprocess.Popen([sys.executable, "-m", "monitor", "--config", str(config), "run"], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=(tmp / "stderr.log").open("w"),
                               env=dict(os.environ, PYTHONUNBUFFERED="1"))
    return process, db


def watch(process, db: Path, until, timeout: float) -> tuple[int, float | None, float | None]:
    """Sample until until(stored) or timeout: peak RSS, time of the first and of the last new row."""
    peak, first, last, seen = 0, None, None, 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        peak = max(peak, tree_rss(process.pid))
        stored = count(db)
        if stored > seen:
            now = time.monotonic()
            first = first or now
            last, seen = now, stored
        if until(stored):
            break
        time.sleep(0.1)
    return peak, first, last


def stop(process) -> tuple[float, int]:
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = process.wait(timeout=120)
    return time.monotonic() - started, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--pages", type=int, default=2_000)
    args = parser.parse_args()
    server = Server(args.items)
    server.bodies["/feed.rss"] = (feed(server.base, args.items, pages=False), "application/rss+xml")
    server.bodies["/pages.rss"] = (feed(server.base, args.items, pages=True), "application/rss+xml")
    for n in range(args.items - args.pages, args.items):
        server.bodies[f"/p/{n}.html"] = (PAGE, "text/html; charset=utf-8")
    size = len(server.bodies["/feed.rss"][0]) / 2**20
    print(f"feed: {args.items:,} items, {size:.1f} MiB")

    with tempfile.TemporaryDirectory() as tmp:
        process, db = daemon(Path(tmp), server.base + "/feed.rss", {"full_text": False})
        peak, first, _last = watch(process, db, lambda n: n >= 100, 600)
        stored = count(db)
        seconds, code = stop(process)
        print(f"1. default settings (max_items 100): {stored} stored in the first poll; "
              f"peak tree RSS {peak / 2**20:.0f} MiB; SIGTERM {seconds:.1f} s, exit {code}")

    with tempfile.TemporaryDirectory() as tmp:
        process, db = daemon(Path(tmp), server.base + "/feed.rss", {"full_text": False, "max_items": args.items})
        peak, first, last = watch(process, db, lambda n: n >= args.items, 1800)
        stored = count(db)
        seconds, code = stop(process)
        rate = (stored - 1) / (last - first) if first and last and last > first else float("nan")
        print(f"2. max_items {args.items:,}: {stored:,} stored, {rate:,.0f} items/s (first to last row); "
              f"peak tree RSS {peak / 2**20:.0f} MiB; SIGTERM {seconds:.1f} s, exit {code}")

    with tempfile.TemporaryDirectory() as tmp:
        process, db = daemon(Path(tmp), server.base + "/pages.rss", {"max_items": args.pages})
        peak, first, _last = watch(process, db, lambda n: n > 0, 900)
        seconds, code = stop(process)
        stored = count(db)
        print(f"3. full text, {args.pages:,} pages at 20 ms: SIGTERM after the first batch: {seconds:.1f} s to exit "
              f"(exit {code}), {stored} articles kept; peak tree RSS {peak / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
