"""demo: the whole pipeline offline, on sample feeds and pages bundled with the package.

The files in data/demo/ are served on 127.0.0.1 by a small threaded HTTP server (with ETags, so a
second cycle sees 304s), one cycle runs into a demo database, and what was stored is printed.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .config import Config, FeedConfig, default_fetch
from .daemon import Monitor
from .rules import compile_rules, load_rules
from .store import Store
from .workers import Workers

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
def serve_demo():
    """Serve the demo files on 127.0.0.1 (a free port). Yields the base URL."""
    files = _files()

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


def _rules_folder() -> Path | None:
    for candidate in (Path.cwd() / "rules", Path(__file__).resolve().parents[1] / "rules"):
        if candidate.is_dir():
            return candidate
    return None


def run_demo(database: Path, console: Console) -> None:
    rules_dir = _rules_folder()
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
    install = escape("pip install -e '.[datasette]'")
    console.print(
        f"\nBrowse it: [bold]{install} && datasette {database}[/]\n"
        f"Or query it: sqlite3 {database} \"SELECT title FROM articles_fts WHERE articles_fts MATCH 'ceasefire'\""
    )


def _show(store: Store, console: Console) -> None:
    table = Table(title="articles stored")
    for column in ("feed", "lang", "source", "title", "rules", "words"):
        table.add_column(column, overflow="fold")
    rows = store.db.query(
        "SELECT a.feed, a.lang, a.text_source, a.title, length(a.text) - length(replace(a.text, ' ', '')) + 1 AS words, "
        "(SELECT group_concat(rule, ', ') FROM matches m WHERE m.article_id = a.id) AS rules "
        "FROM articles a ORDER BY a.feed, a.id"
    )
    for row in rows:
        table.add_row(row["feed"], row["lang"] or "", row["text_source"], row["title"], row["rules"] or "", str(row["words"]))
    console.print(table)
