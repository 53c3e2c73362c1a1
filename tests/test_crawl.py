"""Sites without feeds: sitemaps, section pages, sniffing and polite crawling.

Pure functions on tables; then a small news site on 127.0.0.1 — a section page with navigation
noise and pagination, a news sitemap behind a sitemap index, a robots.txt that forbids one path —
crawled twice by the real daemon.
"""

from __future__ import annotations

import asyncio
import gzip
from datetime import datetime, timedelta, timezone

import pytest

from conftest import Loopback, write_config
from monitor import config as config_mod
from monitor import crawl
from monitor.daemon import Monitor
from monitor.errors import ParseError
from monitor.model import Item
from monitor.rules import load_rules
from monitor.store import Store
from monitor.workers import Workers

NEWS_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'


def news_sitemap(entries: list[tuple[str, str, str]]) -> bytes:
    urls = "".join(
        f"<url><loc>{loc}</loc><news:news><news:publication><news:name>Site</news:name><news:language>en</news:language>"
        f"</news:publication><news:publication_date>{date}</news:publication_date><news:title>{title}</news:title></news:news></url>"
        for loc, date, title in entries
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset {NEWS_NS}>{urls}</urlset>'.encode()


# ------------------------------------------------------------------------------------ pure parts


@pytest.mark.parametrize(
    ("body", "ctype", "kind"),
    [
        (b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>', "", "feed"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"></feed>', "", "feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "application/json", "feed"),
        (b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>', "", "sitemap"),
        (b'\xef\xbb\xbf<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></sitemapindex>', "", "sitemap"),
        (gzip.compress(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>'), "application/x-gzip", "sitemap"),
        (b"<!DOCTYPE html><html><body><a href='/x'>x</a></body></html>", "text/html", "page"),
        (b"<div>fragment</div>", "text/html; charset=utf-8", "page"),
    ],
)
def test_sniff(body, ctype, kind):
    assert crawl.sniff(body, ctype) == kind


def test_news_sitemap_gives_titles_and_dates():
    body = news_sitemap([("https://s.example/a/1-offensive-near-kharkiv", "2026-11-25T08:00:00+02:00", "Offensive &amp; more"),
                         ("https://s.example/a/2-old-story-here", "2026-11-20", "Old story")])
    parsed = crawl.parse_sitemap(body, url="https://s.example/news.xml")
    assert parsed.format == "news-sitemap"
    assert [(i.link, i.title, i.published) for i in parsed.items] == [
        ("https://s.example/a/1-offensive-near-kharkiv", "Offensive & more", "2026-11-25T06:00:00Z"),
        ("https://s.example/a/2-old-story-here", "Old story", "2026-11-20T00:00:00Z"),
    ]
    assert all(i.guid == i.link for i in parsed.items)


def test_ordinary_sitemap_index_and_gzip():
    index = (b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"<sitemap><loc>https://s.example/2026-11-23.xml</loc><lastmod>2026-11-23</lastmod></sitemap>"
             b"<sitemap><loc>https://s.example/undated.xml</loc></sitemap>"
             b"<sitemap><loc>https://s.example/2026-11-25.xml</loc><lastmod>2026-11-25T10:00:00Z</lastmod></sitemap>"
             b"<sitemap><loc>javascript:alert(1)</loc></sitemap></sitemapindex>")
    parsed = crawl.parse_sitemap(gzip.compress(index), url="https://s.example/index.xml.gz")
    assert parsed.format == "sitemapindex" and parsed.items == []
    assert parsed.sitemaps == ["https://s.example/2026-11-25.xml", "https://s.example/2026-11-23.xml", "https://s.example/undated.xml"]
    plain = crawl.parse_sitemap(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://s.example/p</loc>'
                                b"<lastmod>2026-11-24</lastmod></url><url><loc>ftp://x/y</loc></url></urlset>", url="https://s.example/s.xml")
    assert plain.format == "sitemap" and [(i.link, i.published) for i in plain.items] == [("https://s.example/p", "2026-11-24T00:00:00Z")]


@pytest.mark.parametrize("body", [b"<html><body>no</body></html>", b"<rss version='2.0'/>", b"\x1f\x8bnot gzip", b""])
def test_what_is_not_a_sitemap(body):
    with pytest.raises(ParseError, match="not a sitemap"):
        crawl.parse_sitemap(body, url="https://s.example/s.xml", feed="s")


def test_entities_in_a_sitemap_are_not_expanded():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<url><loc>https://s.example/&c;</loc></url></urlset>")
    parsed = crawl.parse_sitemap(bomb, url="https://s.example/s.xml")
    assert all(len(i.link) < 200 for i in parsed.items)


def test_recent_keeps_the_newest_dated_then_undated():
    items = [Item(guid=str(n), link=f"https://s.example/{n}", published=date)
             for n, date in enumerate(["2026-11-25T01:00:00Z", "2026-11-20T00:00:00Z", None, "2026-11-25T03:00:00Z"])]
    kept = crawl.recent(items, since="2026-11-24T00:00:00Z", limit=3)
    assert [i.guid for i in kept] == ["3", "0", "2"]
    assert [i.guid for i in crawl.recent(items, since="2026-11-24T00:00:00Z", limit=1)] == ["3"]


@pytest.mark.parametrize(
    ("url", "article"),
    [
        ("https://s.example/news/2026/11/25/offensive-near-kharkiv", True),
        ("https://s.example/uk/news/2026/11/25/7488123/", True),
        ("https://s.example/world/europe/russia-ukraine-talks-resume-in-istanbul", True),
        ("https://s.example/article/123456", True),
        ("https://s.example/news/", False),  # the section itself
        ("https://s.example/about", False),
        ("https://s.example/privacy-policy", False),
        ("https://s.example/tag/ukraine-war-news", False),
        ("https://s.example/author/john-smith-jones", False),
        ("https://s.example/news/page/2", False),
        ("https://s.example/news?page=3", False),
        ("https://s.example/login", False),
        ("https://s.example/files/report-on-the-front-2026.pdf", False),
    ],
)
def test_looks_like_article(url, article):
    assert crawl.looks_like_article(url, "https://s.example/news/") is article


SECTION = """<!DOCTYPE html><html><head><title>News | Site</title></head><body>
<header><a href="/">Home</a><a href="/news/">News</a><a href="/news/2026/11/25/breaking-banner-link-in-header">Breaking</a></header>
<nav><a href="/tag/war">War</a><a href="/author/ivan-petrenko">Ivan</a><a href="/about">About</a></nav>
<main>
  <a href="/news/2026/11/25/offensive-near-kharkiv"><img src="/i.jpg"></a>
  <h2><a href="/news/2026/11/25/offensive-near-kharkiv">Russian offensive near Kharkiv stalls</a></h2>
  <h2><a href="https://www.s.example/news/2026/11/25/talks-resume-in-istanbul#comments">Talks resume in Istanbul</a></h2>
  <h2><a href="https://other.example/news/2026/11/25/someone-elses-story">Elsewhere</a></h2>
  <a href="/news/page/2">Older stories</a>
  <a href="mailto:desk@s.example">Write to us</a>
</main>
<footer><a href="/privacy-policy">Privacy</a><a href="/news/2026/11/24/footer-promoted-story-link">Promoted</a></footer>
</body></html>"""


def test_section_links_skip_navigation_pagination_and_other_sites():
    parsed = crawl.section_links(SECTION.encode(), url="https://s.example/news/", content_type="text/html")
    assert parsed.format == "page" and parsed.title == "News | Site"
    assert [(i.link, i.title) for i in parsed.items] == [
        ("https://s.example/news/2026/11/25/offensive-near-kharkiv", "Russian offensive near Kharkiv stalls"),
        ("https://www.s.example/news/2026/11/25/talks-resume-in-istanbul", "Talks resume in Istanbul"),
    ]


def test_follow_picks_the_links():
    parsed = crawl.section_links(SECTION.encode(), url="https://s.example/news/", follow=r"/news/2026/11/2[45]/")
    links = [i.link for i in parsed.items]
    assert "https://s.example/news/2026/11/24/footer-promoted-story-link" in links  # follow overrides the heuristics
    assert "https://s.example/news/2026/11/25/breaking-banner-link-in-header" in links
    assert "https://s.example/about" not in links and not any("other.example" in l for l in links)


# --------------------------------------------------------------------------------- a news site

PARAGRAPH = ("<p>{title}: shelling continued near the front line overnight, regional officials said on {day}, "
             "and repair crews worked to restore power and water to several districts of the city, {n}.</p>")


def article_page(title: str, n: int) -> bytes:
    body = "".join(PARAGRAPH.format(title=title, day="Tuesday", n=f"{n}.{i}") for i in range(8))
    return (f"<!DOCTYPE html><html><head><title>{title}</title></head><body><nav><a href='/'>Home</a></nav>"
            f"<article><h1>{title}</h1>{body}</article><footer>© Site</footer></body></html>").encode()


class NewsSite:
    """A news site with no feed: a section page, a sitemap index with a news sitemap, robots.txt."""

    def __init__(self, server: Loopback, now: datetime):
        self.server = server
        server.add("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
        self.section_links = [
            ("/news/2026/11/25/offensive-near-kharkiv", "Russian offensive near Kharkiv stalls"),
            ("/news/2026/11/25/ceasefire-talks-in-istanbul", "Ceasefire talks resume in Istanbul"),
            ("/private/2026/11/25/embargoed-report-on-losses", "Embargoed report"),
            ("/news/2026/11/25/live-blog-index-page-for-today", "Live: all updates"),  # too thin to be an article
        ]
        for n, (path, title) in enumerate(self.section_links):
            server.add(path, article_page(title, n) if "live-blog" not in path else
                       b"<html><body><article><p>Updates follow.</p></article></body></html>", "text/html")
        self.stamp = 0
        self.publish_section()
        day = now.strftime("%Y-%m-%d")
        server.add("/sitemap_index.xml", (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{server.url('/sitemap-old.xml')}</loc><lastmod>2020-01-01</lastmod></sitemap>"
            f"<sitemap><loc>{server.url('/sitemap-news.xml')}</loc><lastmod>{day}</lastmod></sitemap>"
            "</sitemapindex>").encode(), "application/xml")
        recent = (now - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
        server.add("/sitemap-news.xml", news_sitemap([
            (server.url("/world/2026/11/25/strike-on-energy-plant-in-odesa"), recent, "Strike on an energy plant in Odesa"),
            (server.url("/news/2026/11/25/offensive-near-kharkiv"), recent, "Russian offensive near Kharkiv stalls"),
            (server.url("/world/2026/11/01/old-story-from-early-november"), "2026-11-01T10:00:00Z", "An old story"),
        ]), "application/xml")
        server.add("/world/2026/11/25/strike-on-energy-plant-in-odesa", article_page("Strike on an energy plant in Odesa", 9), "text/html")
        server.add("/world/2026/11/01/old-story-from-early-november", article_page("An old story", 10), "text/html")
        server.add("/sitemap-old.xml", news_sitemap([]), "application/xml")

    def publish_section(self) -> None:
        """The section page; each call changes it a little (a clock in the header), as real ones do."""
        self.stamp += 1
        page = SECTION.replace("<main>", "<main>" + "".join(f'<h2><a href="{p}">{t}</a></h2>' for p, t in self.section_links))
        self.server.add("/news/", page.replace("<header>", f"<header><span>Updated {self.stamp}</span>").encode(), "text/html")


@pytest.fixture
def site(tmp_path):
    now = datetime.now(timezone.utc)
    with Loopback() as server:
        news = NewsSite(server, now)
        feeds = [
            {"url": server.url("/news/"), "name": "section"},  # no type: sniffed
            {"url": server.url("/sitemap_index.xml"), "name": "sitemap", "type": "sitemap"},
        ]
        config = config_mod.load(write_config(tmp_path, feeds, extra="fetch:\n  crawl_delay: 0.01s\n"))
        with Store(config.database) as store, Workers(1) as workers:
            monitor = Monitor(config, store, load_rules(config.rules), workers)
            yield news, server, store, monitor


@pytest.mark.slow
def test_a_news_site_without_feeds(site):
    news, server, store, monitor = site
    stats = asyncio.run(monitor.run_once())
    assert stats.failed == 0, stats.errors
    rows = {r["url"]: r for r in store.db.query("SELECT url, feed, title, text_source, length(text) AS size FROM articles")}
    base = server.base  # links as the site served them: http (url_key, the canonical form, says https)
    assert set(rows) == {
        base + "/news/2026/11/25/offensive-near-kharkiv",
        base + "/news/2026/11/25/ceasefire-talks-in-istanbul",
        base + "/world/2026/11/25/strike-on-energy-plant-in-odesa",
    }
    assert all(r["text_source"] == "page" and r["size"] > 500 for r in rows.values())
    assert rows[base + "/world/2026/11/25/strike-on-energy-plant-in-odesa"]["feed"] == "sitemap"
    assert rows[base + "/news/2026/11/25/offensive-near-kharkiv"]["title"] == "Russian offensive near Kharkiv stalls"
    kinds = dict(store.db.execute("SELECT name, kind FROM feeds").fetchall())
    assert kinds == {"section": "page", "sitemap": "sitemap"}

    hits = server.hits
    assert hits["/private/2026/11/25/embargoed-report-on-losses"] == 0  # robots.txt forbids it
    assert hits["/world/2026/11/01/old-story-from-early-november"] == 0  # not recent
    assert hits["/sitemap-old.xml"] == 1 and hits["/sitemap-news.xml"] == 1
    for nav in ("/about", "/tag/war", "/news/page/2", "/privacy-policy", "/author/ivan-petrenko", "/"):
        assert hits[nav] == 0, nav
    assert hits["/news/2026/11/25/offensive-near-kharkiv"] == 1  # on the page and in the sitemap: fetched once
    assert hits["/news/2026/11/25/live-blog-index-page-for-today"] == 1  # fetched, found thin, not stored
    assert hits["/robots.txt"] == 1

    # Second poll: the section page changed (its clock), the sitemaps did not. Nothing new is fetched.
    news.publish_section()
    before = dict(hits)
    second = asyncio.run(monitor.run_once())
    assert second.failed == 0 and second.articles == 0
    assert store.count("articles") == 3
    fetched = {path: n - before.get(path, 0) for path, n in hits.items() if n != before.get(path, 0)}
    # the listings only (robots.txt is kept); the index answers 304 and its sitemaps are read again
    assert fetched == {"/news/": 1, "/sitemap_index.xml": 1, "/sitemap-news.xml": 1, "/sitemap-old.xml": 1}, fetched
    sent = {path: headers for path, headers in server.requests[-4:]}
    assert sent["/sitemap_index.xml"].get("if-none-match")  # conditional GET on the sitemap index

    # Third poll: a new story in the news sitemap, the index unchanged (304): it is found.
    recent = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    server.add("/sitemap-news.xml", news_sitemap([(server.url("/world/2026/11/25/new-strike-on-kyiv-overnight"), recent, "New strike")]))
    server.add("/world/2026/11/25/new-strike-on-kyiv-overnight", article_page("New strike on Kyiv overnight", 11), "text/html")
    third = asyncio.run(monitor.run_once())
    assert third.articles == 1 and store.count("articles") == 4


@pytest.mark.slow
def test_robots_forbidding_the_listing_itself(tmp_path):
    with Loopback() as server:
        server.add("/robots.txt", b"User-agent: *\nDisallow: /\n", "text/plain")
        server.add("/sitemap.xml", news_sitemap([]), "application/xml")
        config = config_mod.load(write_config(tmp_path, [{"url": server.url("/sitemap.xml"), "name": "s", "type": "sitemap"}]))
        with Store(config.database) as store, Workers(1) as workers:
            asyncio.run(Monitor(config, store, load_rules(config.rules), workers).run_once())
            row = next(store.db.query("SELECT last_error, failure FROM feeds"))
        assert server.hits["/sitemap.xml"] == 0
        assert "robots.txt forbids" in row["last_error"] and row["failure"] == "permanent"


# ------------------------------------------------------------------ `monitor feeds add` on such a site


def _add(config, url):
    from click.testing import CliRunner

    from monitor.cli import cli

    return CliRunner().invoke(cli, ["--config", str(config), "feeds", "add", url], catch_exceptions=False)


@pytest.mark.slow
def test_feeds_add_offers_the_news_sitemap_named_in_robots_txt(tmp_path):
    with Loopback() as server:
        NewsSite(server, datetime.now(timezone.utc))
        server.add("/robots.txt", f"User-agent: *\nDisallow: /private/\nSitemap: {server.url('/sitemap-news.xml')}\n".encode(), "text/plain")
        config = write_config(tmp_path, [])
        result = _add(config, server.url("/news/"))
    assert result.exit_code == 0, result.output
    assert "(news-sitemap, 3 URLs)" in result.stderr and "added as `type: sitemap`" in result.stderr
    (feed,) = config_mod.load(config).feeds
    assert (feed.url, feed.type) == (server.url("/sitemap-news.xml"), "sitemap")


@pytest.mark.slow
def test_feeds_add_falls_back_to_the_section_page(tmp_path):
    with Loopback() as server:
        news = NewsSite(server, datetime.now(timezone.utc))
        for path in ("/sitemap_index.xml", "/sitemap-news.xml", "/sitemap-old.xml"):
            del server.files[path]
        config = write_config(tmp_path, [])
        result = _add(config, server.url("/news/"))
    assert result.exit_code == 0, result.output
    assert f"(page, {len(news.section_links)} article links)" in result.stderr
    (feed,) = config_mod.load(config).feeds
    assert (feed.url, feed.type) == (server.url("/news/"), "page")


@pytest.mark.slow
def test_an_unreadable_robots_txt_holds_the_site_back_but_loses_nothing(tmp_path):
    from monitor.fetch import Robots

    with Loopback() as server:
        NewsSite(server, datetime.now(timezone.utc))
        robots = server.files.pop("/robots.txt")
        server.routes["/robots.txt"] = lambda handler: handler.send_error(503)
        config = config_mod.load(write_config(tmp_path, [{"url": server.url("/news/"), "name": "section", "type": "page"}],
                                              extra="fetch:\n  crawl_delay: 0.01s\n"))
        with Store(config.database) as store, Workers(1) as workers:
            monitor = Monitor(config, store, load_rules(config.rules), workers)
            first = asyncio.run(monitor.run_once())
            row = next(store.db.query("SELECT last_error, failure FROM feeds"))
            assert first.failed == 1 and row["failure"] == "temporary" and "robots.txt could not be read" in row["last_error"]
            assert server.hits["/news/"] == 0 and store.count("sightings") == 0
            # robots.txt back (and its retry time over): the section is read as if nothing happened
            del server.routes["/robots.txt"]
            server.files["/robots.txt"] = robots
            monitor.robots = Robots()
            second = asyncio.run(monitor.run_once())
            assert second.failed == 0 and second.articles == 2


@pytest.mark.slow
def test_longest_robots_rule_wins(tmp_path):
    with Loopback() as server:
        NewsSite(server, datetime.now(timezone.utc))
        # urllib.robotparser would take the first rule (Allow: /) and fetch /private/
        server.add("/robots.txt", b"User-agent: *\nAllow: /\nDisallow: /private/\nDisallow: /*live-blog*\n", "text/plain")
        config = config_mod.load(write_config(tmp_path, [{"url": server.url("/news/"), "name": "section", "type": "page"}],
                                              extra="fetch:\n  crawl_delay: 0.01s\n"))
        with Store(config.database) as store, Workers(1) as workers:
            asyncio.run(Monitor(config, store, load_rules(config.rules), workers).run_once())
        assert server.hits["/private/2026/11/25/embargoed-report-on-losses"] == 0
        assert server.hits["/news/2026/11/25/live-blog-index-page-for-today"] == 0
        assert server.hits["/news/2026/11/25/offensive-near-kharkiv"] == 1


@pytest.mark.slow
def test_an_empty_first_answer_does_not_decide_the_kind(tmp_path):
    with Loopback() as server:
        server.add("/f", b"<html><body>Just a moment...</body></html>", "text/html")  # an interstitial
        config = config_mod.load(write_config(tmp_path, [{"url": server.url("/f"), "name": "f", "full_text": False}]))
        with Store(config.database) as store, Workers(1) as workers:
            monitor = Monitor(config, store, load_rules(config.rules), workers)
            asyncio.run(monitor.run_once())
            assert store.db.execute("SELECT kind FROM feeds").fetchone()[0] is None
            server.add("/f", b"<?xml version='1.0'?><rss version='2.0'><channel><title>F</title><item><title>x</title>"
                       b"<link>http://a.example/1</link><guid>1</guid></item></channel></rss>", "application/rss+xml")
            second = asyncio.run(monitor.run_once())
            assert second.articles == 1
            assert store.db.execute("SELECT kind FROM feeds").fetchone()[0] == "feed"


def test_odd_sitemap_dates_and_other_hosts():
    body = (b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            b"<url><loc>https://s.example/a-b-c</loc><lastmod>0001-01-01T00:00:00+01:00</lastmod></url>"
            b"<url><loc>https://elsewhere.example/x-y-z</loc></url></urlset>")
    parsed = crawl.parse_sitemap(body, url="https://www.s.example/sitemap.xml")
    assert [(i.link, i.published) for i in parsed.items] == [("https://s.example/a-b-c", None)]
