"""The quick lxml path and feedparser give the same items on every corpus feed the quick path takes."""

from __future__ import annotations

import json

import pytest

import monitor.parse as parse_stage
from conftest import CORPUS, corpus
from monitor.dedup import canonical_url


def xml_feeds() -> list[str]:
    index = json.loads(corpus("feeds", "real", "INDEX.json").read_text())["feeds"]
    return [f["file"] for f in index if f.get("n_items") and not f["file"].endswith(".json")]


def identities(parsed):
    return [(i.guid, canonical_url(i.link), i.title, i.published) for i in parsed.items]


@pytest.mark.slow
def test_quick_path_agrees_with_feedparser(monkeypatch):
    quick = hints = 0
    for name in xml_feeds():
        body = (CORPUS / "feeds" / "real" / name).read_bytes()
        data, ctype = parse_stage._prepare_xml(body, "")
        fast = parse_stage._quick(data, "http://feeds.example/f", ctype)
        if fast is None:
            continue
        quick += 1
        with monkeypatch.context() as m:
            m.setattr(parse_stage, "_quick", lambda *args: None)
            slow = parse_stage.parse(body, url="http://feeds.example/f")
        assert (fast.format, fast.title, fast.ttl) == (slow.format, slow.title, slow.ttl), name
        assert identities(fast) == identities(slow), name
        hints += fast.ttl is not None
    assert quick >= 70  # most real feeds are plain RSS 2.0 or Atom
    assert hints >= 5  # ttl and sy:updatePeriod are common enough to be read from real feeds


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://a.example/"><entry><id>1</id><link href="x"/></entry></feed>',
        b'<?xml version="1.0"?><rss version="0.91"><channel><item><title>t</title><link>http://a.example/1</link></item></channel></rss>',
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>t &nbsp; u</title></item></channel></rss>',
        b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>t</title><pubDate>the 3rd of May</pubDate></item></channel></rss>',
    ],
    ids=["xml:base", "rss 0.91", "html entity", "odd date"],
)
def test_what_the_quick_path_leaves_to_feedparser(body):
    data, ctype = parse_stage._prepare_xml(body, "")
    assert parse_stage._quick(data, "http://a.example/f", ctype) is None
    assert parse_stage.parse(body, url="http://a.example/f").items  # feedparser reads it


@pytest.mark.parametrize(
    ("ttl", "period", "frequency", "seconds"),
    [
        ("60", None, None, 3600.0),
        (" 15 ", None, None, 900.0),
        (None, "hourly", None, 3600.0),
        (None, "hourly", "2", 1800.0),
        (None, "Daily", "4", 21600.0),
        (None, None, "2", 43200.0),  # sy:updateFrequency alone counts per day, the module's default
        ("120", "hourly", "1", 3600.0),  # both given: the fresher one
        ("0", None, None, None),
        ("-5", None, None, None),
        ("soon", "fortnightly", "x", None),
        (None, None, None, None),
    ],
)
def test_update_hint(ttl, period, frequency, seconds):
    assert parse_stage.update_hint(ttl, period, frequency) == seconds
