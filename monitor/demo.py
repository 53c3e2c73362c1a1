"""demo: the whole pipeline offline, on sample feeds and pages bundled with the package.

The files in data/demo/ are served on 127.0.0.1 by a small threaded HTTP server (with ETags, so a
second cycle sees 304s), one cycle runs into a demo database, and what was stored is printed.
Their dates are moved by whole days so that the newest item is a day old: the demo archive is this
week's news, as the canned queries' and the digest's periods (by publication time) expect.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import shlex
import re
import threading
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .config import Config, FeedConfig, default_fetch, found_rules
from .daemon import Monitor
from .rules import compile_rules, load_rules
from .store import Store
from .workers import Workers

NEWEST = date(2026, 11, 16)  # the newest item's day in data/demo
_ISO = re.compile(rb"\b(\d{4})-(\d{2})-(\d{2})(?=T\d{2}:\d{2})")  # a time's date, not an id's (guid 2026-11-13:…)
_RFC822 = re.compile(rb"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{1,2}) ([A-Z][a-z]{2}) (\d{4})\b")
_MONTHS = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"]
_DAYS = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"]


def shift_dates(body: bytes, days: int) -> bytes:
    """`body` with every ISO 8601 and RFC 822 date moved `days` days (ASCII, so any charset)."""
    def iso(m: re.Match) -> bytes:
        moved = date(int(m[1]), int(m[2]), int(m[3])) + timedelta(days=days)
        return moved.isoformat().encode()

    def rfc822(m: re.Match) -> bytes:
        moved = date(int(m[3]), _MONTHS.index(m[2]) + 1, int(m[1])) + timedelta(days=days)
        return b"%s, %02d %s %d" % (_DAYS[moved.weekday()], moved.day, _MONTHS[moved.month - 1], moved.year)

    return _RFC822.sub(rfc822, _ISO.sub(iso, body))


_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml", ".json": "application/feed+json"}


def _files() -> dict[str, tuple[bytes, str]]:
    root = resources.files("monitor") / "data" / "demo"
    files = {}
    for folder in ("feeds", "pages"):
        for entry in (root / folder).iterdir():
            suffix = Path(entry.name).suffix
            ctype = _TYPES.get(suffix, "text/html")
            if suffix == ".html":
                ctype = "text/html"  # the page's own <meta> names its charset
            files[f"/{folder}/{entry.name}"] = (entry.read_bytes(), ctype)
    return files


@contextmanager
def serve_demo(now: datetime | None = None):
    """Serve the demo files on 127.0.0.1 (a free port), their newest item a day before `now`. Yields the base URL."""
    today = (now or datetime.now(timezone.utc)).date()
    days = (today - timedelta(days=1) - NEWEST).days
    files = {path: (shift_dates(raw, days), ctype) for path, (raw, ctype) in _files().items()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            if path not in files:
                self.send_error(404)
                return
            raw, ctype = files[path]
            body = raw.replace(b"{base}", base.encode())
            etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()


def run_demo(database: Path, console: Console) -> None:
    rules_dir = found_rules()
    rules = load_rules(rules_dir) if rules_dir else compile_rules([])
    with serve_demo() as base:
        names = sorted(p.rsplit("/", 1)[1] for p in _files() if p.startswith("/feeds/"))
        feeds = tuple(FeedConfig(url=f"{base}/feeds/{name}", name=Path(name).stem) for name in names)
        config = Config(
            path=database.with_suffix(".yaml"),
            database=database,
            rules=rules_dir or Path("rules"),
            feeds=feeds,
            fetch=default_fetch(),
        )
        console.print(f"Serving {len(feeds)} sample feeds on {base}; archive: [bold]{database}[/]")
        with Store(database) as store, Workers(2) as workers, Monitor(config, store, rules, workers) as monitor:
            stats = asyncio.run(monitor.run_once())
            console.print(
                f"Cycle 1: {stats.feeds} feeds, {stats.articles} new articles, {stats.failed} failed, {stats.seconds:.1f} s"
            )
            again = asyncio.run(monitor.run_once())
            console.print(
                f"Cycle 2: {again.unchanged} of {again.feeds} feeds unchanged, {again.articles} new articles "
                "(nothing is fetched twice)"
            )
            _show(store, console)
    _next_steps(database, console)


def _next_steps(database: Path, console: Console) -> None:
    """The commands to go on with, exactly as they run here (the archive named by --database: no
    config file needed)."""
    db = shlex.quote(str(database))
    steps = [(f"monitor serve --database {db}", f"browse it in Datasette: http://127.0.0.1:8001/{database.stem}"),
             (f"monitor digest --dry-run --database {db}", "read the digest its hits make"),
             (f"monitor stats --database {db}", "its size and counts")]
    if importlib.util.find_spec("datasette") is None:
        steps.insert(0, ("pip install 'monitor[datasette]'", "once, for serve"))
    console.print("\nNext:")
    for command, what in steps:  # soft_wrap: a command is never broken, whatever the terminal's width
        console.print(f"  {escape(command)}\n      {escape(what)}", soft_wrap=True)


def _show(store: Store, console: Console) -> None:
    table = Table(title="articles stored")  # 80 columns: rules one a line, titles wrapped at words
    table.add_column("feed", overflow="fold", max_width=12)
    table.add_column("lang")
    table.add_column("text")
    table.add_column("rules", no_wrap=True)
    table.add_column("title", ratio=1)
    rows = store.db.query(
        "SELECT a.feed, a.lang, a.text_source, a.title, length(a.text) - length(replace(a.text, ' ', '')) + 1 AS words, "
        "(SELECT group_concat(rule, char(10)) FROM matches m WHERE m.article_id = a.id) AS rules "
        "FROM articles a ORDER BY a.feed, a.id"
    )
    for row in rows:
        table.add_row(row["feed"], row["lang"] or "", f"{row['words']} words\n{row['text_source']}",
                      row["rules"] or "", escape(row["title"] or ""), end_section=True)
    console.print(table)
