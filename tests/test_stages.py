"""Pure stages as tables: text helpers, canonical URLs, parse details."""

from __future__ import annotations

import json
import random
import tracemalloc

import pytest

from conftest import read_corpus
from monitor.dedup import canonical_url
from monitor.errors import ParseError
from monitor.extract import extract, is_page
from monitor.parse import neutralise_doctype, parse
from monitor.text import (_NOT_PLAIN, _SIMPLE_BLOCKS, _fold_general, _fold_letters, decode_html, fold, fold_mapped, folded_variants,
                          html_to_text)


@pytest.mark.parametrize(
    "text, folded",
    [("Київ", "киів"), ("ЁЛКА", "елка"), ("Café", "cafe"), ("Ґанок", "ганок"), ("перемир’я", "перемир'я"),
     ("перемирʼя", "перемир'я"), ("cease‑fire", "cease-fire"), ("Харків", "харків"), ("Zürich", "zurich")],
)
def test_fold(text, folded):
    assert fold(text) == folded


SIMPLE_LETTERS = [chr(c) for lo, hi in _SIMPLE_BLOCKS for c in range(lo, hi + 1)]


def test_folding_letter_by_letter_gives_the_general_fold_for_every_letter_and_mix_of_them():
    # The quick path (casefold, then the letters that change) must fold exactly as the two Unicode
    # normalisations do: one letter, every pair of the letters the blocks fold to (none may compose
    # with its neighbour), and long random mixes with the combining marks and other scripts beside.
    for letter in SIMPLE_LETTERS:
        assert _fold_letters(letter) == _fold_general(letter), hex(ord(letter))
    alphabet = sorted({c for letter in SIMPLE_LETTERS for c in _fold_general(letter)})
    for a in alphabet:
        pairs = "".join(f"{a}{b} " for b in alphabet)
        assert _fold_letters(pairs) == _fold_general(pairs), hex(ord(a))
    # the plain letters (one scan of fold_mapped takes them) fold one for one and never to Cyrillic:
    # such text has no word mixing scripts to unmix
    plain = [letter for letter in SIMPLE_LETTERS if not _NOT_PLAIN.match(letter)]
    assert all(len(_fold_general(letter)) == 1 and not "\u0400" <= _fold_general(letter) <= "\u04ff" for letter in plain)
    rng = random.Random(13)
    others = ["\u0301", "\u0306", "\u0308", "\ufeff", "가", "ﬁ", "ß", "İ", "Σ", "ς"]
    for _ in range(300):
        text = "".join(rng.choice(SIMPLE_LETTERS + others) for _ in range(rng.randint(1, 40)))
        assert _fold_letters(text) == _fold_general(text), ascii(text)


def test_folding_the_corpus_letter_by_letter_changes_nothing():
    truth = json.loads(read_corpus("articles", "scrapinghub-aeb", "ground-truth.json"))
    texts = [article["articleBody"] for article in truth.values()]
    texts += [json.loads(line).get("description") or "" for line in
              read_corpus("feeds", "entries", "rss-link-database-2022-02-to-04.jsonl").decode().splitlines()[:2000]]
    for text in texts:
        assert _fold_letters(text) == _fold_general(text)
        assert fold_mapped(text)[0] == fold(text)


def test_folded_variants_keeps_only_words_that_change():
    assert folded_variants("Київ і Харків", "Ёлка ёлка, Kyiv") == "киів елка"


@pytest.mark.parametrize(
    "markup, text",
    [("<p>One</p><p>Two &amp; three</p>", "One\nTwo & three"), ("a<br>b", "a\nb"),
     ("<script>x()</script>Kept", "Kept"), ("plain  text", "plain text"), ("&lt;p&gt;escaped", "<p>escaped")],
)
def test_html_to_text(markup, text):
    assert html_to_text(markup) == text


CP1251_PAGE = "<html><head><meta charset='windows-1251'></head><body><p>Перемирие в Херсоне</p></body></html>"


@pytest.mark.parametrize(
    "body, ctype, charset",
    [
        (CP1251_PAGE.encode("cp1251"), "text/html", "cp1251"),  # <meta>
        (CP1251_PAGE.replace("windows-1251", "utf-8").encode("cp1251"), "text/html", "cp1251"),  # meta lies
        (CP1251_PAGE.encode("cp1251"), "text/html; charset=windows-1251", "cp1251"),  # header
        ("<p>Перемирие в Херсоне</p>".encode("cp1251") * 20, "text/html", "cp1251"),  # nothing: detection
        ("<p>Перемирие в Херсоне</p>".encode(), "text/html", "utf-8"),
        (b"\xef\xbb\xbf" + "<p>Перемирие в Херсоне</p>".encode(), "text/html; charset=latin-1", "utf-8"),  # BOM wins
    ],
)
def test_decode_html(body, ctype, charset):
    text, used = decode_html(body, ctype)
    assert "Перемирие в Херсоне" in text and used == charset


def test_windows_1251_page_extracts_as_cyrillic():
    paragraphs = "".join(f"<p>Абзац {i}: обстрел Херсона продолжался всю ночь, сообщили местные власти, "
                         "повреждены жилые дома и линии электропередачи.</p>" for i in range(8))
    page = f"<html><head><meta http-equiv='Content-Type' content='text/html; charset=windows-1251'><title>Херсон</title></head><body><article>{paragraphs}</article></body></html>"
    result = extract(page.encode("cp1251"), url="http://x.example/a")
    assert "обстрел Херсона" in result.text and result.lang == "ru"


@pytest.mark.parametrize("ctype, ok", [("text/html; charset=utf-8", True), ("application/xhtml+xml", True), ("", True),
                                       ("application/pdf", False), ("image/jpeg", False)])
def test_is_page(ctype, ok):
    assert is_page(ctype) is ok


@pytest.mark.parametrize(
    "url, canonical",
    [
        ("https://www.bbc.co.uk/news/world-europe-60506682?at_medium=RSS&at_campaign=KARANGA", "https://www.bbc.co.uk/news/world-europe-60506682"),
        ("http://www.bbc.co.uk/news/world-europe-60506682", "https://www.bbc.co.uk/news/world-europe-60506682"),
        ("HTTPS://Example.COM:443/a?utm_source=x&utm_medium=y&id=5#comments", "https://example.com/a?id=5"),
        ("https://example.com/a?fbclid=1&gclid=2&yclid=3&mc_cid=4&mc_eid=5", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("tag:example.com,2020:1", None),
        ("javascript:alert(1)", None),
        ("", None),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    "before, after",
    [
        (b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss/>',
         b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss/>'),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', b"<!DOCTYPE x ><x>&a;</x>"),
        (b'<!DOCTYPE x [<!ENTITY a "]>"><!-- ] -->]><x/>', b"<!DOCTYPE x ><x/>"),
        (b'<!DOCTYPE x SYSTEM "a[b" [<!ENTITY c SYSTEM "file:///etc/passwd">]><x/>', b'<!DOCTYPE x SYSTEM "a[b" ><x/>'),
        (b"<x><![CDATA[<!DOCTYPE y [<!ENTITY z 'q'>]>]]></x>", b"<x><![CDATA[<!DOCTYPE y [<!ENTITY z 'q'>]>]]></x>"),
        (b'<!DOCTYPE x [<!ENTITY a "never closed" <x/>', b"<x/>"),
    ],
)
def test_neutralise_doctype(before, after):
    assert neutralise_doctype(before) == after


@pytest.mark.slow
def test_entity_bomb_parse_stays_small():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "' + b"A" * 500_000 + b'">]>'
            b'<rss version="2.0"><channel><title>t</title><item><title>x</title><link>http://e.example/1</link>'
            b"<description>" + b"&big;" * 2000 + b"</description></item></channel></rss>")
    tracemalloc.start()
    try:
        parsed = parse(bomb, url="http://e.example/feed")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(parsed.items) == 1 and peak < 50 * 2**20


def test_relative_links_resolve_against_the_feed():
    body = read_corpus("feeds", "real", "feedjira", "SamRuby.xml")
    parsed = parse(body, url="http://intertwingly.net/blog/index.atom")
    assert parsed.items and all(i.link.startswith("http://intertwingly.net/") for i in parsed.items)


def test_blank_lines_before_the_declaration_and_windows_1251_declared():
    feedjira = parse(read_corpus("feeds", "real", "feedjira", "PaulDixExplainsNothing.xml"), url="http://p.example/")
    assert len(feedjira.items) == 5
    pravda = parse(read_corpus("feeds", "real", "ukrainian-news-2020", "pravda_rss.xml"), url="https://www.pravda.com.ua/rus/rss/")
    assert pravda.title == "Украинская правда" and len(pravda.items) == 20


def test_json_feed_fields():
    parsed = parse(read_corpus("feeds", "real", "rsparser", "authors.json"), url="https://j.example/feed.json")
    assert parsed.format == "json1.1" and len(parsed.items) == 4
    assert all(i.guid for i in parsed.items) and any(i.author for i in parsed.items)


@pytest.mark.parametrize("body, words", [(b"", "empty body"), (b"   \n", "empty body"), (b"{not json", "invalid JSON"),
                                         (b'{"version": "x"}', "items"), (b"<html><body>shop</body></html>", "HTML page"),
                                         (b"just some text", "not a feed")])
def test_not_feeds(body, words):
    with pytest.raises(ParseError, match=words):
        parse(body, url="http://x.example/f", feed="x")


@pytest.mark.parametrize("name", ["archive", "monitor-demo", "desk archive.2026", "war.db", "архів", "a~b/c"])
def test_tilde_is_datasettes_spelling_of_a_name(name):
    from datasette.utils import tilde_encode

    from monitor.text import tilde

    assert tilde(name) == tilde_encode(name)
