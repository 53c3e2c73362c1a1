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


def test_quick_path_agrees_with_feedparser(monkeypatch):
    quick = 0
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
        assert (fast.format, fast.title) == (slow.format, slow.title), name
        assert identities(fast) == identities(slow), name
    assert quick >= 70  # most real feeds are plain RSS 2.0 or Atom


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
