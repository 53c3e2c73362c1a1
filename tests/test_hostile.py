"""Hostile servers and feeds: each ends as a recorded error or a correct parse on that feed, and the
other feeds of the same cycle succeed. One cycle runs over all of them (module fixture); each case is
then checked on its own row."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import tracemalloc
import zlib
from datetime import datetime, timezone
from email.utils import formatdate

import pytest

from conftest import Loopback, read_corpus, write_config
from monitor import config as config_mod
from monitor.daemon import Monitor
from monitor.errors import FetchError
from monitor.fetch import Fetcher, is_public_address
from monitor.rules import load_rules
from monitor.store import Store
from monitor.workers import Workers

pytestmark = pytest.mark.slow  # real processes and servers: `pytest -m "not slow"` leaves them out

GOOD_RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Good</title><link>http://good.example/</link>
<item><title>Russian offensive near Pokrovsk</title><link>http://good.example/a1</link><guid>good-1</guid>
<description>Troops advanced.</description></item>
<item><title>Ceasefire talks resume</title><link>http://good.example/a2</link><guid>good-2</guid>
<description>Delegations met.</description></item>
</channel></rss>"""


def _drip(h):
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    for _ in range(60):
        h.wfile.write(b" ")
        h.wfile.flush()
        time.sleep(1)


_BOMB: bytes | None = None


def gzip_bomb() -> bytes:
    """About 1 MiB of gzip that inflates to 1 GiB of zeros."""
    global _BOMB
    if _BOMB is None:
        z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        block = bytes(2**20)
        _BOMB = b"".join(z.compress(block) for _ in range(1024)) + z.flush()
    return _BOMB


def _bomb(h):
    body = gzip_bomb()
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def _huge(declared: bool):
    def route(h):
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        if declared:
            h.send_header("Content-Length", str(50 * 2**20))
        else:
            h.send_header("Connection", "close")
        h.end_headers()
        chunk = b"<!-- " + b"x" * (2**20 - 10) + b" -->\n"
        for _ in range(50):
            h.wfile.write(chunk)
        h.close_connection = True

    return route


def _status(code: int, retry_after: str | None = None, location: str | None = None):
    def route(h):
        h.send_response(code)
        if retry_after:
            h.send_header("Retry-After", retry_after)
        if location:
            h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return route


ENTITY_BOMB = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY big "' + b"A" * 500_000 + b'">\n]>\n'
    b'<rss version="2.0"><channel><title>Entities</title>'
    b"<item><title>expanded</title><link>http://e.example/1</link><description>"
    + b"&big;" * 2000
    + b"</description></item></channel></rss>"
)


def external_entity_feed(secret_path: str) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file://{secret_path}">\n]>\n'
        '<rss version="2.0"><channel><title>XXE</title>'
        "<item><title>leak &xxe; here</title><link>http://x.example/1</link>"
        "<description>&xxe;</description></item></channel></rss>"
    ).encode()


def cp1251_without_declaration() -> bytes:
    body = read_corpus("feeds", "real", "miniflux", "encoding_WINDOWS-1251.xml")
    # The same Russian feed with its XML declaration gone: nothing says windows-1251 any more.
    return body[body.index(b"?>") + 2 :].lstrip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    secret = tmp / "secret.txt"
    secret.write_text("TOP-SECRET-LINE-31337\n")
    gzip_bomb()  # built before the cycle, so building it does not count against the deadline
    with Loopback() as s:
        s.add("/good.rss", GOOD_RSS)
        s.add("/good2.rss", GOOD_RSS.replace(b"good", b"fine"))
        s.routes["/drip.rss"] = _drip
        s.routes["/bomb.rss"] = _bomb
        s.routes["/huge-declared.rss"] = _huge(True)
        s.routes["/huge-chunked.rss"] = _huge(False)
        s.routes["/loop.rss"] = _status(302, location="/loop.rss")
        s.routes["/404.rss"] = _status(404)
        s.routes["/410.rss"] = _status(410)
        s.routes["/429.rss"] = _status(429, retry_after="7200")
        s.routes["/503.rss"] = _status(503, retry_after=formatdate(time.time() + 3 * 3600, usegmt=True))
        s.add("/entities.rss", ENTITY_BOMB)
        s.add("/xxe.rss", external_entity_feed(str(secret)))
        s.add("/page.rss", b"<!DOCTYPE html><html><head><title>Shop</title></head><body><p>Not a feed</p></body></html>", "text/html")
        s.add("/empty.rss", b"", "application/rss+xml")
        s.add("/cp1251.rss", cp1251_without_declaration(), "application/xml")
        s.add("/secret.html", b"<html><body><article><p>internal admin page</p></article></body></html>", "text/html")
        s.add(
            "/public.rss",
            (
                '<?xml version="1.0"?><rss version="2.0"><channel><title>Public</title>'
                f"<item><title>Looks innocent</title><link>{s.base}/secret.html</link>"
                "<description>Summary kept instead.</description></item></channel></rss>"
            ).encode(),
        )
        refused = f"http://127.0.0.1:{free_port()}/feed.rss"
        feeds = [{"url": s.url(p), "name": p.strip("/").rsplit(".", 1)[0], "timeout": "3s", "max_feed_size": "10MiB"}
                 for p in ["/good.rss", "/drip.rss", "/bomb.rss", "/huge-declared.rss", "/huge-chunked.rss", "/loop.rss",
                           "/404.rss", "/410.rss", "/429.rss", "/503.rss", "/entities.rss", "/xxe.rss", "/page.rss",
                           "/empty.rss", "/cp1251.rss", "/good2.rss"]]
        feeds.append({"url": refused, "name": "refused", "timeout": "3s"})
        # A public feed (it is on loopback here, so the test says `deny` where auto would allow).
        feeds.append({"url": s.url("/public.rss"), "name": "public", "private_links": "deny"})
        for f in feeds:
            f.setdefault("full_text", False)
            f["type"] = "feed"  # declared: a feed URL that serves HTML is broken, not a section page
        feeds[-1]["full_text"] = True
        config = config_mod.load(write_config(tmp, feeds))
        with Store(config.database) as store, Workers(2) as workers:
            monitor = Monitor(config, store, load_rules(config.rules), workers)
            started = time.monotonic()
            stats = asyncio.run(monitor.run_once())
            elapsed = time.monotonic() - started
            rows = {r["name"]: r for r in store.db.query("SELECT * FROM feeds")}
            articles = {}
            for a in store.db.query("SELECT * FROM articles"):
                articles.setdefault(a["feed"], []).append(a)
            yield {"stats": stats, "rows": rows, "articles": articles, "elapsed": elapsed, "hits": dict(s.hits),
                   "secret": secret.read_text().strip(), "now": datetime.now(timezone.utc)}


def _error(cycle, name):
    return cycle["rows"][name]["last_error"] or ""


def test_other_feeds_succeed(cycle):
    for name in ("good", "good2"):
        assert cycle["rows"][name]["last_error"] is None
        assert len(cycle["articles"][name]) == 2
    assert cycle["stats"].feeds == 18


def test_slow_drip_deadline_holds(cycle):
    assert "deadline" in _error(cycle, "drip")
    assert _error(cycle, "drip").startswith("fetch: drip: ")
    # The drip lasts 60 s; the 3 s deadline must end it (the whole cycle, worker start-up included).
    assert cycle["elapsed"] < 30


def test_gzip_bomb_refused(cycle):
    assert "cap" in _error(cycle, "bomb") and "decoded" in _error(cycle, "bomb")


def test_gzip_bomb_memory_bounded(server):
    server.routes["/bomb.rss"] = _bomb

    async def fetch():
        async with Fetcher(config_mod.default_fetch()) as fetcher:
            with pytest.raises(FetchError, match="cap"):
                await fetcher.get(server.url("/bomb.rss"), feed="bomb", max_bytes=10 * 2**20, deadline=20)

    gzip_bomb()
    tracemalloc.start()
    try:
        asyncio.run(fetch())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20, f"peak {peak / 2**20:.0f} MiB while inflating a 1 GiB bomb with a 10 MiB cap"


@pytest.mark.parametrize("name", ["huge-declared", "huge-chunked"])
def test_50_mib_body_refused(cycle, name):
    assert "cap" in _error(cycle, name)


def test_redirect_loop(cycle):
    assert "redirects" in _error(cycle, "loop")


@pytest.mark.parametrize("name, status", [("404", 404), ("410", 410)])
def test_gone_feeds_back_off_to_the_longest_delay(cycle, name, status):
    row = cycle["rows"][name]
    assert row["status"] == status and f"{status} " in row["last_error"]
    next_poll = datetime.fromisoformat(row["next_poll"].replace("Z", "+00:00"))
    assert (next_poll - cycle["now"]).total_seconds() > 5 * 3600  # max_backoff is 6 h


@pytest.mark.parametrize("name, status, at_least", [("429", 429, 7200), ("503", 503, 3 * 3600)])
def test_retry_after_is_honoured(cycle, name, status, at_least):
    row = cycle["rows"][name]
    assert row["status"] == status and "Retry-After" in row["last_error"]
    next_poll = datetime.fromisoformat(row["next_poll"].replace("Z", "+00:00"))
    assert (next_poll - cycle["now"]).total_seconds() >= at_least - 120


def test_entity_expansion_feed_parses_small(cycle):
    assert cycle["rows"]["entities"]["last_error"] is None
    (article,) = cycle["articles"]["entities"]
    assert len(article["text"]) < 100_000  # the entity was never expanded (2,000 × 500 kB = 1 GB)


def test_external_entity_leaks_nothing(cycle):
    # The feed still parses (its one item is stored) and nothing of the file reaches the archive.
    assert cycle["rows"]["xxe"]["last_error"] is None
    (article,) = cycle["articles"]["xxe"]
    assert article["title"].startswith("leak") and cycle["secret"] not in article["title"] + article["text"]


def test_html_served_as_feed(cycle):
    assert _error(cycle, "page").startswith("parse: page: not a feed")


def test_empty_body(cycle):
    assert _error(cycle, "empty") == "parse: empty: empty body"


def test_connection_refused(cycle):
    assert _error(cycle, "refused").startswith("fetch: refused: ConnectError")
    assert cycle["rows"]["refused"]["status"] is None and cycle["rows"]["refused"]["error_count"] == 1


def test_windows_1251_feed_without_declaration(cycle):
    assert cycle["rows"]["cp1251"]["last_error"] is None
    titles = " ".join(a["title"] for a in cycle["articles"]["cp1251"])
    assert any("а" <= ch <= "я" for ch in titles), titles  # Cyrillic, not mojibake
    assert "Ð" not in titles and "Ã" not in titles


def test_public_feed_linking_to_loopback(cycle):
    assert cycle["rows"]["public"]["last_error"] is None
    (article,) = cycle["articles"]["public"]
    assert cycle["hits"].get("/secret.html", 0) == 0  # never fetched: refused at connect time
    assert article["text_source"] == "feed" and article["text"] == "Summary kept instead."
    assert "non-public address" in article["error"]


@pytest.mark.parametrize(
    "address, public",
    [
        ("127.0.0.1", False), ("127.8.9.10", False), ("10.1.2.3", False), ("192.168.1.1", False),
        ("172.16.0.1", False), ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False),
        ("::1", False), ("fe80::1", False), ("fc00::1", False), ("::ffff:127.0.0.1", False), ("224.0.0.1", False),
        ("8.8.8.8", True), ("2001:4860:4860::8888", True), ("::ffff:8.8.8.8", True), ("not-an-ip", False),
    ],
)
def test_is_public_address(address, public):
    assert is_public_address(address) is public


def test_redirect_to_loopback_is_refused_at_connect(server):
    """A public-only request that is redirected to loopback fails at connect, whatever the name."""
    server.add("/target.html", b"<html>secret</html>", "text/html")
    server.routes["/hop"] = _status(302, location=server.url("/target.html"))

    async def fetch():
        async with Fetcher(config_mod.default_fetch()) as fetcher:
            with pytest.raises(FetchError, match="non-public") as info:
                await fetcher.get(f"http://localhost:{server.base.rsplit(':', 1)[1]}/hop", feed="f",
                                  max_bytes=2**20, deadline=5, public_only=True)
            return info.value

    error = asyncio.run(fetch())
    assert error.permanent
    assert server.hits["/target.html"] == 0


def test_deflate_and_gzip_bodies_are_decoded(server):
    for encoding, body in (("gzip", gzip.compress(GOOD_RSS)), ("deflate", zlib.compress(GOOD_RSS)),
                           ("deflate", zlib.compress(GOOD_RSS)[2:-4])):
        def route(h, body=body, encoding=encoding):
            h.send_response(200)
            h.send_header("Content-Encoding", encoding)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)

        server.routes["/enc.rss"] = route

        async def fetch():
            async with Fetcher(config_mod.default_fetch()) as fetcher:
                return await fetcher.get(server.url("/enc.rss"), feed="f", max_bytes=2**20, deadline=5)

        assert asyncio.run(fetch()).body == GOOD_RSS


def _run_once(tmp_path, feeds):
    config = config_mod.load(write_config(tmp_path, feeds))
    with Store(config.database) as store, Workers(1) as workers:
        stats = asyncio.run(Monitor(config, store, load_rules(config.rules), workers).run_once())
        rows = {r["name"]: r for r in store.db.query("SELECT * FROM feeds")}
        articles = list(store.db.query("SELECT * FROM articles ORDER BY id"))
    return stats, rows, articles


def test_lone_surrogate_and_odd_links_harm_nothing_else(server, tmp_path):
    # A JSON Feed whose title escapes a lone surrogate, and an RSS feed with an IDNA-invalid link
    # beside a good one: each feed stores what it can, and the cycle goes on.
    server.add("/sur.json", b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "url": "http://s.example/1", '
                            b'"title": "bad \\ud800 title", "content_text": "text"}]}', "application/feed+json")
    server.add("/page.html", b"<html><body><article>" + b"<p>Shelling continued near the front line overnight, officials said.</p>" * 8
               + b"</article></body></html>", "text/html")
    server.add("/links.rss", (f'<?xml version="1.0"?><rss version="2.0"><channel><title>L</title>'
                              f'<item><title>good</title><link>{server.url("/page.html")}</link><guid>g</guid></item>'
                              f'<item><title>odd</title><link>http://xn--zz.com/x</link><guid>o</guid>'
                              f'<description>kept</description></item></channel></rss>').encode())
    server.add("/good.rss", GOOD_RSS)
    stats, rows, articles = _run_once(tmp_path, [
        {"url": server.url("/sur.json"), "name": "sur", "full_text": False},
        {"url": server.url("/links.rss"), "name": "links"},
        {"url": server.url("/good.rss"), "name": "good", "full_text": False},
    ])
    assert stats.failed == 0 and all(r["last_error"] is None for r in rows.values())
    by_title = {a["title"]: a for a in articles}
    assert by_title["bad \ufffd title"]["feed"] == "sur"
    assert by_title["good"]["text_source"] == "page"
    assert by_title["odd"]["text_source"] == "feed" and "invalid URL" in by_title["odd"]["error"]


def test_items_sharing_one_guid_are_all_stored(server, tmp_path):
    items = "".join(f'<item><title>Story {i}</title><link>http://n.example/{i}</link><guid isPermaLink="false">news-site</guid></item>'
                    for i in range(4))
    server.add("/same.rss", f'<?xml version="1.0"?><rss version="2.0"><channel><title>S</title>{items}</channel></rss>'.encode())
    _stats, _rows, articles = _run_once(tmp_path, [{"url": server.url("/same.rss"), "name": "same", "full_text": False}])
    assert [a["title"] for a in articles] == ["Story 0", "Story 1", "Story 2", "Story 3"]


@pytest.mark.parametrize("value, seconds", [("120", 120.0), ("²", None), (" 7 ", 7.0), ("soon", None)])
def test_retry_after_values(value, seconds):
    from monitor.fetch import retry_after_seconds

    assert retry_after_seconds(value) == seconds


@pytest.mark.parametrize(
    "address",
    ["64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:7f00:1::1", "::127.0.0.1", "fec0::1",
     "2001:0:4136:e378:8000:63bf:f5ff:fffe"],  # NAT64, 6to4, IPv4-compatible, site-local, Teredo to 10.0.0.1
)
def test_ipv6_forms_of_private_addresses_are_not_public(address):
    assert not is_public_address(address)
