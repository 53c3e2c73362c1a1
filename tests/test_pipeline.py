"""The whole pipeline against a real HTTP server on 127.0.0.1 serving the corpus's real feeds and pages."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
from collections import Counter
from email.utils import formatdate

import pytest

from conftest import CORPUS, Loopback, corpus, write_config
from monitor import config as config_mod
from monitor.daemon import Monitor
from monitor.dedup import canonical_url
from monitor.parse import parse
from monitor.rules import load_rules
from monitor.store import Store
from monitor.workers import Workers

pytestmark = pytest.mark.slow  # real processes and servers: `pytest -m "not slow"` leaves them out


def readable_feeds() -> list[dict]:
    """Corpus feeds that feedparser (or, for JSON Feed, the spec) can read and that have items."""
    index = json.loads(corpus("feeds", "real", "INDEX.json").read_text())["feeds"]
    return [f for f in index if f.get("n_items") and re.match(r"(rss|atom|jsonfeed)", f.get("format", ""))]


def run_cycles(config, count: int = 1):
    with Store(config.database) as store, Workers(2) as workers:
        monitor = Monitor(config, store, load_rules(config.rules), workers)
        return [asyncio.run(monitor.run_once()) for _ in range(count)]


@pytest.fixture(scope="module")
def corpus_cycle(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("corpus")
    entries = readable_feeds()
    with Loopback() as s:
        feeds = []
        for entry in entries:
            s.add("/" + entry["file"], (CORPUS / "feeds" / "real" / entry["file"]).read_bytes())
            feeds.append({"url": s.url("/" + entry["file"]), "name": entry["file"], "full_text": False})
        config = config_mod.load(write_config(tmp, feeds))
        stats = run_cycles(config)[0]
        with Store(config.database) as store:
            rows = {r["name"]: r for r in store.db.query("SELECT * FROM feeds")}
            articles = list(store.db.query("SELECT id, url, url_key, guid, feed, title, text FROM articles"))
        yield {"entries": entries, "stats": stats, "rows": rows, "articles": articles, "base": s.base}


def test_corpus_has_the_feeds_the_issue_names(corpus_cycle):
    assert len(corpus_cycle["entries"]) >= 110


def test_every_readable_feed_is_polled_without_error(corpus_cycle):
    errors = {name: row["last_error"] for name, row in corpus_cycle["rows"].items() if row["last_error"]}
    assert errors == {}
    assert corpus_cycle["stats"].failed == 0


def test_every_item_of_every_readable_feed_is_in_articles(corpus_cycle):
    by_url = {a["url_key"] for a in corpus_cycle["articles"] if a["url_key"]}
    by_guid = {(a["feed"], a["guid"]) for a in corpus_cycle["articles"]}
    missing = []
    for entry in corpus_cycle["entries"]:
        body = (CORPUS / "feeds" / "real" / entry["file"]).read_bytes()
        url = f"{corpus_cycle['base']}/{entry['file']}"
        parsed = parse(body, url=url, content_type="")
        # Our parse sees every item feedparser counted (the index was made with feedparser).
        assert len(parsed.items) == entry["n_items"], entry["file"]
        for item in parsed.items:
            if (entry["file"], item.guid) not in by_guid and canonical_url(item.link) not in by_url:
                missing.append((entry["file"], item.guid))
    assert missing == []


def test_no_article_is_stored_twice(corpus_cycle):
    urls = Counter(a["url_key"] for a in corpus_cycle["articles"] if a["url_key"])
    assert [u for u, n in urls.items() if n > 1] == []


@pytest.mark.parametrize(
    "files, formats, count",
    [
        # DaringFireball.rss in the corpus is itself an Atom snapshot from 2016 (feedparser says atom10
        # too), so the 2017 Atom and JSON Feed files are the pair with the same content.
        (("rsparser/DaringFireball.atom", "rsparser/DaringFireball.json"), {"atom10", "json1"}, 48),
        (("miniflux/large_rss.xml", "miniflux/large_atom.xml"), {"rss20", "atom10"}, 25),
        (("rsparser/allthis.atom", "rsparser/allthis.json"), {"rss20", "json1"}, 12),
    ],
)
def test_rss_atom_and_json_feed_of_one_blog_give_the_same_items(files, formats, count):
    parsed = [parse(corpus("feeds", "real", *f.split("/")).read_bytes(), url="https://blog.example/feed") for f in files]
    assert {p.format for p in parsed} == formats
    keys = [[(canonical_url(i.link), i.title, i.published) for i in p.items] for p in parsed]
    assert len(keys[0]) == count
    assert keys[0] == keys[1]


def test_three_formats_of_one_blog_are_archived_once(corpus_cycle):
    feeds = ("rsparser/DaringFireball.atom", "rsparser/DaringFireball.json")
    df = [a for a in corpus_cycle["articles"] if a["feed"] in feeds]
    # 48 items, but two link posts point at the same page (https://mnml.af/): one article.
    links = {canonical_url(i.link) for i in parse(corpus("feeds", "real", "rsparser", "DaringFireball.json").read_bytes(), url="x").items}
    assert len(links) == 47
    assert {a["url_key"] for a in df} == links and len(df) == 47


def _page_feed(base: str, ids: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Article {i}</title><link>{base}/pages/{i}.html?utm_source=rss</link>"
        f"<guid isPermaLink='false'>aeb-{i}</guid><description>Summary of {i}</description></item>"
        for i in ids
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>AEB</title>{items}</channel></rss>'.encode()


def token_f1(got: str, want: str) -> float:
    a, b = Counter(got.split()), Counter(want.split())
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def test_pages_extracted_once_and_unchanged_feeds_never_parsed_again(tmp_path):
    truth = json.loads(corpus("articles", "scrapinghub-aeb", "ground-truth.json").read_text())
    ids = sorted(truth)[:12]
    with Loopback() as s:
        for i in ids:
            raw = gzip.decompress(corpus("articles", "scrapinghub-aeb", "html", f"{i}.html.gz").read_bytes())
            s.add(f"/pages/{i}.html", raw, "text/html")  # no charset: the page's own meta or detection decides
        s.add("/aeb.rss", _page_feed(s.base, ids[:10]))
        config = config_mod.load(write_config(tmp_path, [{"url": s.url("/aeb.rss"), "name": "aeb"}]))
        with Store(config.database) as store, Workers(2) as workers:
            monitor = Monitor(config, store, load_rules(config.rules), workers)
            first = asyncio.run(monitor.run_once())
            assert first.failed == 0 and first.articles == 10 and first.parsed == 1
            pages = {p: n for p, n in s.hits.items() if p.startswith("/pages/")}
            assert len(pages) == 10 and set(pages.values()) == {1}
            rows = list(store.db.query("SELECT guid, text, text_source, lang FROM articles"))
            assert {r["text_source"] for r in rows} == {"page"}
            scores = [token_f1(r["text"], truth[r["guid"][4:]]["articleBody"]) for r in rows]
            assert sum(scores) / len(scores) > 0.85, scores

            # Second cycle, server honouring validators: 304, nothing parsed, no page fetched.
            second = asyncio.run(monitor.run_once())
            assert (second.unchanged, second.parsed, second.articles) == (1, 0, 0)
            assert s.requests[-1][1].get("if-none-match")

            # Third cycle, server ignoring validators: same bytes, still nothing parsed.
            s.honour_validators = False
            third = asyncio.run(monitor.run_once())
            assert (third.unchanged, third.parsed, third.articles) == (1, 0, 0)

            # A changed feed with two new items: only those two pages are fetched.
            s.add("/aeb.rss", _page_feed(s.base, ids))
            fourth = asyncio.run(monitor.run_once())
            assert (fourth.parsed, fourth.articles) == (1, 2)
            assert {p: n for p, n in s.hits.items() if p.startswith("/pages/")} == {f"/pages/{i}.html": 1 for i in ids}
            assert store.count("articles") == 12


def test_unconditional_fetch_every_n_polls(tmp_path):
    with Loopback() as s:
        s.add("/f.rss", _page_feed(s.base, ["a"]))
        config = config_mod.load(write_config(
            tmp_path, [{"url": s.url("/f.rss"), "name": "f", "full_text": False, "revalidate_every": 3}]))
        run_cycles(config, 6)
        sent = [bool(h.get("if-none-match")) for p, h in s.requests if p == "/f.rss"]
        # First poll has nothing to send; then every third poll goes without validators.
        assert sent == [False, True, False, True, True, False]


def test_retry_after_date_and_last_modified(tmp_path):
    with Loopback() as s:
        s.add("/f.rss", _page_feed(s.base, ["a"]))
        config = config_mod.load(write_config(tmp_path, [{"url": s.url("/f.rss"), "name": "f", "full_text": False}]))
        run_cycles(config, 2)
        second = [h for p, h in s.requests if p == "/f.rss"][1]
        assert second.get("if-modified-since") == formatdate(1700000000, usegmt=True)


def test_a_page_two_feeds_list_in_one_cycle_is_fetched_once(tmp_path):
    """Two feeds list the same pages, one with utm_ tags, polled in one cycle (concurrently): each page
    is fetched once, stored once, and the other feed's item is a sighting of it."""
    ids = sorted(json.loads(corpus("articles", "scrapinghub-aeb", "ground-truth.json").read_text()))[:6]
    with Loopback() as s:
        for i in ids:
            raw = gzip.decompress(corpus("articles", "scrapinghub-aeb", "html", f"{i}.html.gz").read_bytes())
            s.add(f"/pages/{i}.html", raw, "text/html")
        s.add("/tagged.rss", _page_feed(s.base, ids))
        plain = "".join(f"<item><title>Article {i}</title><link>{s.base}/pages/{i}.html</link><guid>plain-{i}</guid>"
                        f"<description>Summary</description></item>" for i in ids)
        s.add("/plain.rss", f'<?xml version="1.0"?><rss version="2.0"><channel><title>P</title>{plain}</channel></rss>'.encode())
        config = config_mod.load(write_config(tmp_path, [{"url": s.url("/tagged.rss"), "name": "tagged"},
                                                         {"url": s.url("/plain.rss"), "name": "plain"}]))
        (stats,) = run_cycles(config)
        assert stats.failed == 0
        assert {p: n for p, n in s.hits.items() if p.startswith("/pages/")} == {f"/pages/{i}.html": 1 for i in ids}
        with Store(config.database) as store:
            assert store.count("articles") == len(ids)
            rows = list(store.db.query("SELECT feed, article_id FROM sightings"))
            assert len(rows) == len(ids) and all(r["article_id"] for r in rows)
            assert {r["feed"] for r in rows} | {r["feed"] for r in store.db.query("SELECT feed FROM articles")} == {"tagged", "plain"}


def test_a_page_with_nothing_to_follow_where_a_feed_was_configured_is_the_feeds_problem(tmp_path):
    """An HTML page with no feed, sitemap or article links is recorded on the feed, naming the feed
    its page announces, and backs off like any broken feed; the other feed goes on."""
    page = (b"<html><head><title>Welcome</title><link rel='alternate' type='application/rss+xml' href='/news.rss'>"
            b"</head><body><nav><a href='/about'>About</a></nav><p>Nothing here.</p></body></html>")
    with Loopback() as s:
        s.add("/", page, "text/html")
        s.add("/good.rss", b'<?xml version="1.0"?><rss version="2.0"><channel><title>G</title><item><title>One</title>'
                           b'<link>http://news.example/1</link><guid>g1</guid><description>Text</description></item>'
                           b'</channel></rss>')
        config = config_mod.load(write_config(tmp_path, [{"url": s.url("/"), "name": "home", "full_text": False},
                                                         {"url": s.url("/good.rss"), "name": "good", "full_text": False}]))
        (stats,) = run_cycles(config)
        assert stats.failed == 1 and stats.articles == 1
        with Store(config.database) as store:
            row = store.db.execute("SELECT last_error, failure, error_count, next_poll, last_poll FROM feeds "
                                   "WHERE name='home'").fetchone()
        error, failure, count, next_poll, last_poll = row
        assert "an HTML page with no feed, sitemap or article links" in error
        assert f"if the site has a feed, its address is {s.url('/news.rss')}" in error
        assert (failure, count) == ("permanent", 1)
        # backed off: × 4 its interval, not polled again at the next interval
        from datetime import datetime
        gap = datetime.fromisoformat(next_poll) - datetime.fromisoformat(last_poll)
        assert gap.total_seconds() >= 4 * config.feeds[0].interval


# ------------------------------------------------------------------ links as the site served them

_STORY_TEXT = ("<p>The ceasefire held overnight along the southern front, officials in Kherson said on Tuesday, "
               "and both sides reported no shelling near the river for the first time in weeks.</p>") * 6
_READ_TEXT = ("<p>Diplomats meeting in Istanbul discussed whether a ceasefire could extend to energy "
              "infrastructure, a proposal that has been raised and dropped several times this year.</p>") * 6


def _html(title: str, body: str) -> bytes:
    return f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article></body></html>".encode()


def _rss(items: list[tuple[str, str, str]]) -> bytes:
    entries = "".join(f"<item><title>{t}</title><link>{link.replace('&', '&amp;')}</link><guid>{g}</guid>"
                      f"<description>{t}</description></item>" for t, link, g in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{entries}</channel></rss>'.encode()


@pytest.fixture(scope="module")
def http_site(tmp_path_factory):
    """An http-only site (the loopback server) whose feeds link with utm_ tags, a trailing slash and
    parameters out of alphabetical order; two feeds list one of its pages, one of them with tags."""
    tmp = tmp_path_factory.mktemp("http-site")
    rules = tmp / "rules"
    rules.mkdir()
    (rules / "truce.yaml").write_text("name: truce\ndescription: Truces.\nquery: ceasefire\n")
    with Loopback() as s:
        s.add("/news/story-1/", _html("Ceasefire holds in the south", _STORY_TEXT), "text/html")
        s.add("/read", _html("Talks on an energy ceasefire", _READ_TEXT), "text/html")
        s.add("/tagged.rss", _rss([("Ceasefire holds in the south", s.url("/news/story-1/?utm_source=rss&utm_medium=feed"), "t1"),
                                   ("Talks on an energy ceasefire", s.url("/read?p=2&a=1&utm_campaign=x"), "t2")]))
        s.add("/plain.rss", _rss([("Ceasefire holds in the south", s.url("/news/story-1/"), "p1")]))
        config = config_mod.load(write_config(tmp, [{"url": s.url("/tagged.rss"), "name": "tagged"},
                                                    {"url": s.url("/plain.rss"), "name": "plain"}], rules=rules))
        (stats,) = run_cycles(config)
        assert stats.failed == 0, stats.errors
        yield {"config": config, "base": s.base, "hits": dict(s.hits),
               "story": s.url("/news/story-1/"), "read": s.url("/read?p=2&a=1")}


def test_an_http_only_site_is_linked_as_it_served_its_pages(http_site):
    """articles.url is the link the site gave, utm_ tags removed and nothing else changed (http, the
    trailing slash, the parameters' order); url_key is the canonical form, which says https."""
    story, read, base = http_site["story"], http_site["read"], http_site["base"]
    with Store(http_site["config"].database) as store:
        rows = {tuple(r) for r in store.db.execute("SELECT url, url_key FROM articles")}
        sightings = [tuple(r) for r in store.db.execute("SELECT feed, url, article_id FROM sightings")]
    key = base.replace("http://", "https://")
    assert rows == {(story, key + "/news/story-1"), (read, key + "/read?a=1&p=2")}
    assert all(url.startswith("http://127.0.0.1") and "utm_" not in url for url, _key in rows)
    # the page both feeds list (one with utm_ tags) is fetched once and stored once: the other feed's
    # item is a sighting of it, under the key
    assert http_site["hits"]["/news/story-1/"] == 1
    assert len(sightings) == 1 and sightings[0][1] == key + "/news/story-1" and sightings[0][2]


def test_the_digest_links_to_the_url_the_site_served(http_site):
    from datetime import datetime, timedelta, timezone

    from monitor.digest import collect, render

    config = http_site["config"]
    now = datetime.now(timezone.utc) + timedelta(minutes=1)
    with Store(config.database) as store:
        rows = store.digest_rows(now - timedelta(days=1), now)
    built = collect(rows, list(load_rules(config.rules).rules), [], now - timedelta(days=1), now)
    assert sorted(e.url for s in built.sections for e in s.entries) == sorted([http_site["story"], http_site["read"]])
    message = render(built, sender="monitor@example.org", recipients=["desk@example.org"], now=now)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"  {http_site['story']}\n" in text and f"  {http_site['read']}\n" in text
    assert f'href="{http_site["story"]}"' in html and f'href="{http_site["read"].replace("&", "&amp;")}"' in html
    assert "https://127.0.0.1" not in text + html and "utm_" not in text + html


def test_datasette_and_the_atom_feed_link_to_the_url_the_site_served(http_site):
    import datasette.app as datasette_app  # the test extra installs it: missing is a failure, not a skip
    import datasette_atom  # noqa: F401 - the .atom renderer below

    from monitor.serve import metadata

    path = http_site["config"].database
    ds = datasette_app.Datasette([str(path)], metadata=metadata(path.stem))
    links = {http_site["story"], http_site["read"]}

    def get(url):
        response = asyncio.run(ds.client.get(f"/{path.stem}/{url}"))
        assert response.status_code == 200, response.text
        return response

    assert {r["url"] for r in get("articles.json?_shape=array").json()} == links
    assert {r["atom_link"] for r in get("rule_feed.json?rule=truce&_shape=array").json()} == links
    assert {r["url"] for r in get("hits_today.json?_shape=array").json()} == links
    atom = get("rule_feed.atom?rule=truce").text
    assert f'href="{http_site["story"]}"' in atom and f'href="{http_site["read"].replace("&", "&amp;")}"' in atom
    assert "https://127.0.0.1" not in atom
