"""Stories: one per article and its copies; syndicated copies folded, other articles kept apart."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import pytest

from conftest import corpus
from monitor.dedup import canonical_url, signature, similarity, text_hash
from monitor.model import Article, PollResult
from monitor.store import Store

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
BOILERPLATE = ("Subscribe to our newsletter for the latest updates. Share this story on social media. "
               "© 2026 Regional Herald. All rights reserved.")


def bodies(minimum_words: int = 150) -> list[str]:
    truth = json.loads(corpus("articles", "scrapinghub-aeb", "ground-truth.json").read_text())
    return [v["articleBody"] for _, v in sorted(truth.items()) if len(v["articleBody"].split()) >= minimum_words]


def syndicated(text: str, rng: random.Random, how: str) -> str:
    paragraphs = [p for p in text.split("\n") if p.strip()]
    if how == "boilerplate":
        return "Wire report\n" + "\n".join(paragraphs) + "\n" + BOILERPLATE
    if how == "cut" and len(paragraphs) > 3:
        paragraphs.pop(rng.randrange(1, len(paragraphs)))
    if how == "headline":  # another site's headline in place of the first line
        paragraphs[0] = "Exclusive: " + " ".join(reversed(paragraphs[0].split()))
    if how == "added":
        paragraphs.insert(rng.randrange(len(paragraphs) + 1), "Our correspondent adds that the situation remains "
                          "tense and that more details are expected to emerge later in the day.")
    return "\n".join(paragraphs)


def test_url_groups_of_the_corpus_collapse():
    groups = json.loads(corpus("feeds", "entries", "rss-link-database-2022-02-to-04.duplicate-groups.json").read_text())
    same_url = [g for g in groups["groups"] if g["kind"] == "same_url_after_normalization"]
    assert len(same_url) == 36
    # The groups were made by dropping every query string; one of them is Hacker News items told
    # apart only by ?id=, which are different pages and must stay apart.
    apart = [g for g in same_url if g["key"] == "https://news.ycombinator.com/item"]
    assert len(apart) == 1 and len({canonical_url(link) for link in apart[0]["links"]}) == len(apart[0]["links"])
    for group in same_url:
        if group not in apart:
            assert len({canonical_url(link) for link in group["links"]}) == 1, group["links"]


@pytest.mark.parametrize("link, shown", [
    ("http://Old.Example:8080/news/1/?utm_source=rss&id=3&utm_medium=feed", "http://Old.Example:8080/news/1/?id=3"),
    ("https://x.example/a?p=2&a=1&fbclid=IwAR&gclid=x", "https://x.example/a?p=2&a=1"),
    ("https://x.example/a?q=a%20b&empty=#xtor=RSS-3", "https://x.example/a?q=a%20b&empty="),
    ("http://x.example/a/#section-2", "http://x.example/a/#section-2"),
    ("  http://x.example/?utm_campaign=x  ", "http://x.example/"),
    ("tag:x.example,2026:1", None), ("javascript:alert(1)", None), ("", None), (None, None),
])
def test_strip_tracking_keeps_the_link_as_served(link, shown):
    """The link shown (articles.url): tracking parameters gone, scheme, host case, port, slash and
    parameter order as served; its canonical form is the link's own (the key stays the same)."""
    from monitor.dedup import strip_tracking

    assert strip_tracking(link) == shown
    if shown:
        assert canonical_url(shown) == canonical_url(link)


def test_text_hash_ignores_spacing_case_and_punctuation():
    assert text_hash("Kyiv, 25 Nov — Drones  attacked\nthe city.") == text_hash("kyiv 25 nov drones attacked the city")
    assert text_hash("") is None


@pytest.mark.parametrize("how", ["boilerplate", "cut", "added", "headline"])
@pytest.mark.slow
def test_syndicated_copies_are_similar_and_other_articles_are_not(how):
    rng = random.Random(7)
    texts = bodies()
    for text in texts[:40]:
        assert similarity(signature(text), signature(syndicated(text, rng, how))) >= 0.4
    others = [similarity(signature(a), signature(b)) for a, b in zip(texts, texts[1:])]
    assert max(others) < 0.25


def _article(i: int, text: str, feed: str = "f", title: str | None = None) -> Article:
    sig = signature(text)
    return Article(url=f"https://{feed}.example/{i}", link=None, guid=str(i), feed=feed, title=title or f"T{i}", text=text,
                   text_hash=text_hash(text), signature=sig.tobytes() if sig is not None else None)


def test_store_folds_copies_into_one_story(tmp_path):
    rng = random.Random(3)
    texts = bodies()[:12]
    with Store(tmp_path / "a.db") as store:
        store.db.execute("INSERT INTO feeds (name, url) VALUES ('wire', 'x'), ('herald', 'y'), ('daily', 'z')")
        store.save_poll(PollResult(feed="wire", status=200, next_poll="x",
                                   articles=[_article(i, t, "wire") for i, t in enumerate(texts)]), NOW)
        copies = [_article(100 + i, syndicated(t, rng, "cut"), "herald") for i, t in enumerate(texts[:6])]
        exact = [_article(200 + i, t.upper(), "daily") for i, t in enumerate(texts[6:9])]  # same text, other URL
        store.save_poll(PollResult(feed="herald", status=200, next_poll="x", articles=copies), NOW + timedelta(hours=2))
        store.save_poll(PollResult(feed="daily", status=200, next_poll="x", articles=exact), NOW + timedelta(hours=3))
        stories = list(store.db.query("SELECT id, article_count, sources FROM stories ORDER BY id"))
        assert len(stories) == 12 and store.count("articles") == 21
        counts = [s["article_count"] for s in stories]
        assert counts == [2] * 9 + [1] * 3
        assert json.loads(stories[0]["sources"]) == ["wire", "herald"]
        assert json.loads(stories[6]["sources"]) == ["wire", "daily"]


def test_copies_outside_the_window_start_a_new_story(tmp_path):
    text = bodies()[0]
    with Store(tmp_path / "a.db", story_window=86400) as store:
        store.db.execute("INSERT INTO feeds (name, url) VALUES ('f', 'x')")
        store.save_poll(PollResult(feed="f", status=200, next_poll="x", articles=[_article(1, text)]), NOW)
        store.save_poll(PollResult(feed="f", status=200, next_poll="x", articles=[_article(2, text + " More.")]),
                        NOW + timedelta(days=3))
        assert store.count("stories") == 2
        store.checkpoint(NOW + timedelta(days=3, hours=1))  # band keys older than the window go
        assert [r[0] for r in store.db.execute("SELECT DISTINCT article_id FROM story_bands")] == [2]


@pytest.mark.slow
def test_successive_polls_update_the_article_in_place(tmp_path):
    """nodejs-feed1..3 are three real polls of one feed: one item whose text grew. One article,
    revision 3, the last text; no second article, no second story."""
    import asyncio

    from conftest import Loopback, write_config
    from monitor import config as config_mod
    from monitor.daemon import Monitor
    from monitor.rules import load_rules
    from monitor.workers import Workers

    with Loopback() as server:
        config = config_mod.load(write_config(tmp_path, [{"url": server.url("/feed.xml"), "name": "nodejs", "full_text": False}]))
        with Store(config.database) as store, Workers(1) as workers:
            monitor = Monitor(config, store, load_rules(config.rules), workers)
            for poll in (1, 2, 3):
                server.add("/feed.xml", corpus("feeds", "real", "rss2email", f"nodejs-feed{poll}.xml").read_bytes())
                stats = asyncio.run(monitor.run_once())
                assert (stats.articles, stats.updated) == ((1, 0) if poll == 1 else (0, 1))
            rows = list(store.db.query("SELECT revision, length(text) AS n, story_id FROM articles"))
            assert len(rows) == 1 and rows[0]["revision"] == 3 and rows[0]["n"] > 2000
            assert store.count("stories") == 1
            stats = asyncio.run(monitor.run_once())  # unchanged: nothing parsed, nothing updated
            assert (stats.parsed, stats.updated) == (0, 0)


@pytest.mark.slow
def test_the_pages_canonical_url_names_the_article(tmp_path):
    """Two feeds link one article through different redirect URLs; the page names itself (rel=canonical),
    so it is stored once."""
    import asyncio

    from conftest import Loopback, write_config
    from monitor import config as config_mod
    from monitor.daemon import Monitor
    from monitor.rules import load_rules
    from monitor.workers import Workers

    with Loopback() as server:
        page = (f'<html><head><title>T</title><link rel="canonical" href="{server.url("/news/real-article")}"></head>'
                "<body><article>" + "<p>Shelling continued near the front line overnight, officials said.</p>" * 8
                + "</article></body></html>").encode()
        server.add("/r1", page, "text/html")
        server.add("/r2", page, "text/html")
        for n in (1, 2):
            server.add(f"/f{n}.rss", (f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title><item><title>Shelling</title>'
                                      f'<link>{server.url(f"/r{n}")}</link><guid>g{n}</guid></item></channel></rss>').encode())
        config = config_mod.load(write_config(tmp_path, [{"url": server.url(f"/f{n}.rss"), "name": f"f{n}"} for n in (1, 2)]))
        with Store(config.database) as store, Workers(1) as workers:
            monitor = Monitor(config, store, load_rules(config.rules), workers)
            asyncio.run(monitor.run_once())
            urls = [tuple(r) for r in store.db.execute("SELECT url, url_key FROM articles")]
            sightings = [tuple(r) for r in store.db.execute("SELECT feed, guid, article_id FROM sightings")]
            # The feeds change (a new item elsewhere), so they are parsed again: the redirect links
            # already seen are not fetched again.
            server.honour_validators = False
            for n in (1, 2):
                body = server.files[f"/f{n}.rss"][0].replace(b"</channel>", b"<item><title>x</title><guid>new</guid></item></channel>")
                server.add(f"/f{n}.rss", body)
            asyncio.run(monitor.run_once())
    # the page's own URL as it gives it is the link; its canonical form (https) the key
    assert urls == [(server.url("/news/real-article"), server.url("/news/real-article").replace("http://", "https://"))]
    assert len(sightings) == 1 and sightings[0][2] == 1  # the other feed's item points at the stored article
    assert (server.hits["/r1"], server.hits["/r2"]) == (1, 1)
