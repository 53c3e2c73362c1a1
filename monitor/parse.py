"""parse: feed bytes → ParsedFeed. Pure: bytes and headers in, values out.

RSS 0.9x/1.0/2.0 and Atom go through feedparser, always as a byte stream (given a string, feedparser
would open a local path or fetch a URL with no limits). JSON Feed 1 and 1.1 are parsed here, since
released feedparser has no JSON Feed.

Before feedparser sees the bytes:
- blank lines before `<?xml` are dropped (strict parsers reject them);
- the DOCTYPE's internal subset is cut out, so no entity is ever declared: a feed that declares one
  large entity and uses it thousands of times cannot blow up, and an external entity cannot read
  a local file;
- a charset that is missing or wrong (the bytes do not decode in it) is detected and the body is
  transcoded to UTF-8, so an undeclared windows-1251 feed comes out as Cyrillic.

feedparser's HTML sanitiser and relative-URI rewriting of content are switched off: they cost 2.5–3×
the parse time and we keep plain text only. Item links are still resolved against the feed's URL.
"""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import io
import json
import re
import warnings
from datetime import datetime, timezone
from urllib.parse import urljoin

import feedparser
from lxml import etree

from .errors import ParseError
from .model import Item, ParsedFeed, from_iso, iso
from .text import charset_of, detect_charset, html_to_text, is_utf8

_XML_DECL = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([-\w.:]+)[\"']", re.IGNORECASE)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ELEMENT = re.compile(rb"<[A-Za-z]")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def parse(body: bytes, *, url: str, content_type: str = "", feed: str = "") -> ParsedFeed:
    """Parse a feed. Raises ParseError when the body holds no feed at all."""
    if not body.strip():
        raise ParseError(feed, "empty body", url=url)
    head = body.lstrip()[:1]
    parsed = _parse_json(body, url, feed) if head in (b"{", b"[") else _parse_xml(body, url, content_type, feed)
    _distinct_guids(parsed.items)
    return parsed


def _distinct_guids(items: list[Item]) -> None:
    """Some CMSs give every item the same GUID. Where one GUID stands for items with different
    links, the link joins it, or all but the first item would be taken as already seen."""
    links: dict[str, set] = {}
    for item in items:
        links.setdefault(item.guid, set()).add(item.link)
    for item in items:
        if item.link and len(links[item.guid]) > 1:
            item.guid = f"{item.guid} {item.link}"


# ---------------------------------------------------------------------------------------------- XML


def neutralise_doctype(data: bytes) -> bytes:
    """Remove the internal subset of the DOCTYPE (where entities are declared), keep the rest.

    `<!DOCTYPE rss PUBLIC "-//Netscape…" "…dtd">` stays (feedparser reads the RSS version from it);
    `<!DOCTYPE x [ <!ENTITY a "…"> ]>` becomes `<!DOCTYPE x >`.
    """
    m = _DOCTYPE.search(data)
    if not m:
        return data
    first_element = _ELEMENT.search(data)
    if first_element and first_element.start() < m.start():
        return data  # a "<!DOCTYPE" inside the document's content, not its prolog
    i, n, quote = m.end(), len(data), 0
    while i < n:  # find "[" or ">" outside quotes
        c = data[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):
            quote = c
        elif c == 0x3E:  # ">": no internal subset
            return data
        elif c == 0x5B:  # "["
            break
        i += 1
    start = i
    i, quote = i + 1, 0
    while i < n:  # the matching "]", skipping quoted values and comments
        c = data[i]
        if quote:
            if c == quote:
                quote = 0
        elif c in (0x22, 0x27):
            quote = c
        elif data.startswith(b"<!--", i):
            end = data.find(b"-->", i + 4)
            i = n if end < 0 else end + 2
        elif c == 0x5D:  # "]"
            return data[:start] + data[i + 1:]
        i += 1
    # An unterminated subset: drop the whole DOCTYPE up to the first element.
    end = first_element.start() if first_element else n
    return data[: m.start()] + data[end:]


def _prepare_xml(body: bytes, content_type: str) -> tuple[bytes, str]:
    bom = next((b for b in _BOMS if body.startswith(b)), b"")
    data = bom + body[len(bom):].lstrip(b" \t\r\n")
    data = neutralise_doctype(data)
    if bom:
        return data, content_type
    declared = _XML_DECL.match(data)
    candidates = [charset_of(content_type), declared.group(1).decode("ascii").lower() if declared else None]
    for name in filter(None, candidates):
        try:
            data.decode(name)
            return data, content_type
        except (UnicodeDecodeError, LookupError):
            continue
    if is_utf8(data):
        return data, "application/xml; charset=utf-8"
    # Missing or wrong declaration: detect, transcode, and say so consistently in header and prolog.
    name = detect_charset(data)
    text = data.decode(name, "replace")
    text = re.sub(r"^(<\?xml[^>]*?encoding\s*=\s*[\"'])[-\w.:]+", r"\1utf-8", text, count=1)
    return text.encode("utf-8"), "application/xml; charset=utf-8"


def _parse_xml(body: bytes, url: str, content_type: str, feed: str) -> ParsedFeed:
    data, content_type = _prepare_xml(body, content_type)
    quick = _quick(data, url, content_type)
    if quick is not None:
        return quick
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = feedparser.parse(
            io.BytesIO(data),
            response_headers={"content-location": url, "content-type": content_type or "application/xml"},
            sanitize_html=False,
            resolve_relative_uris=False,
        )
        # feedparser warns when an entry's dates are read through its legacy fallbacks
        items = [_xml_item(entry, url) for entry in result.entries]
    problems = []
    if result.get("bozo"):
        exc = result.get("bozo_exception")
        problems.append(f"{type(exc).__name__}: {exc}")
    if not result.get("version") and not result.entries:
        looks = "an HTML page" if re.search(rb"<html\b", data[:4096], re.IGNORECASE) else "no RSS, Atom or JSON Feed"
        raise ParseError(feed, f"not a feed: {looks}" + (f" ({problems[0]})" if problems else ""), url=url)
    channel = result.get("feed", {})
    base = channel.get("link") or url
    return ParsedFeed(
        format=result.get("version") or "unknown",
        title=html_to_text(channel.get("title", "")),
        link=base,
        items=items,
        problems=problems,
        ttl=update_hint(channel.get("ttl"), channel.get("sy_updateperiod"), channel.get("sy_updatefrequency")),
    )


def _xml_item(entry, url: str) -> Item:
    link = entry.get("link") or _first_alternate(entry)
    guid = entry.get("id") or None
    content = ""
    for part in entry.get("content", ()) or ():
        if len(part.get("value", "")) > len(content):
            content = part["value"]
    summary = content if len(content) > len(entry.get("summary", "")) else entry.get("summary", "")
    parsed = entry.get("published_parsed") or entry.get("updated_parsed") or entry.get("created_parsed")
    published = iso(datetime.fromtimestamp(calendar.timegm(parsed), timezone.utc)) if parsed else None
    return _item(
        guid=guid,
        link=urljoin(url, link.strip()) if link else None,
        title=html_to_text(entry.get("title", "")),
        summary=html_to_text(summary),
        published=published,
        author=entry.get("author") or None,
    )


def _first_alternate(entry) -> str | None:
    for link in entry.get("links", ()) or ():
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return link["href"]
    return None


# ------------------------------------------------------------------------ the quick path (lxml)
#
# feedparser spends about 10 ms of CPU on a typical news feed, which made parsing the bottleneck of a
# first cycle. Most feeds are plain, well-formed RSS 2.0 or Atom 1.0: those are read here with lxml
# in a tenth of the time, giving the same items (tests/test_parse_paths.py checks it on every corpus
# feed). Anything else — not well-formed, another format, xml:base, an HTTP charset that contradicts
# the document, a date we cannot read — goes to feedparser, which knows every quirk.

_ATOM = "{http://www.w3.org/2005/Atom}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_DC = "{http://purl.org/dc/elements/1.1/}"
_SY = "{http://purl.org/rss/1.0/modules/syndication/}"
_QUICK_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False)


class _NotQuick(Exception):
    """This feed needs feedparser."""


def _quick(data: bytes, url: str, content_type: str) -> ParsedFeed | None:
    if b"xml:base" in data:
        return None
    declared = _XML_DECL.match(data)
    header = charset_of(content_type)
    if header and header != _codec(declared.group(1).decode("ascii") if declared else "utf-8"):
        return None
    try:
        root = etree.fromstring(data, parser=_QUICK_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    try:
        if root.tag == "rss" and root.get("version") == "2.0" and root.find("channel") is not None:
            return _quick_rss(root.find("channel"), url)
        if root.tag == _ATOM + "feed":
            return _quick_atom(root, url)
    except _NotQuick:
        return None
    return None


def _codec(name: str) -> str | None:
    return charset_of(f"x; charset={name}")


def _text(element) -> str:
    return "".join(element.itertext()) if element is not None else ""


def _quick_rss(channel, url: str) -> ParsedFeed:
    items = []
    for node in channel.iterfind("item"):
        guid_node = node.find("guid")
        guid = (guid_node.text or "").strip() if guid_node is not None else ""
        attributes = {k.lower(): v for k, v in guid_node.attrib.items()} if guid_node is not None else {}
        permalink = guid_node is not None and attributes.get("ispermalink", "true").strip().lower() == "true"
        if guid and permalink:
            guid = urljoin(url, guid)  # as feedparser: a permalink GUID is a URL, resolved like one
        link = (node.findtext("link") or "").strip() or next(
            (l.get("href", "").strip() for l in node.iterfind(_ATOM + "link") if l.get("rel", "alternate") == "alternate"), "")
        if not link and guid and permalink:
            link = guid  # as feedparser: a permalink GUID is the item's link
        summary = node.findtext("description") or ""
        content = node.findtext(_CONTENT) or ""
        items.append(_item(
            guid=guid or None,
            link=urljoin(url, link) if link else None,
            title=html_to_text(node.findtext("title") or ""),
            summary=html_to_text(content if len(content) > len(summary) else summary),
            published=_quick_date(node.findtext("pubDate") or node.findtext(_DC + "date")),
            author=(node.findtext("author") or node.findtext(_DC + "creator") or "").strip() or None,
        ))
    return ParsedFeed(format="rss20", title=html_to_text(channel.findtext("title") or ""),
                      link=(channel.findtext("link") or "").strip() or url, items=items,
                      ttl=update_hint(channel.findtext("ttl"), channel.findtext(_SY + "updatePeriod"),
                                      channel.findtext(_SY + "updateFrequency")))


def _atom_text(element) -> str:
    if element is None:
        return ""
    if element.get("type") == "xhtml":
        return html_to_text(" ".join(_text(child) for child in element))
    return html_to_text(element.text or "")


def _quick_atom(root, url: str) -> ParsedFeed:
    items = []
    for entry in root.iterfind(_ATOM + "entry"):
        link = None
        for candidate in entry.iterfind(_ATOM + "link"):
            if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
                link = urljoin(url, candidate.get("href").strip())
                break
        summary, content = _atom_text(entry.find(_ATOM + "summary")), _atom_text(entry.find(_ATOM + "content"))
        dates = [entry.findtext(_ATOM + name) for name in ("published", "updated")]
        author = entry.find(_ATOM + "author")
        items.append(_item(
            guid=(entry.findtext(_ATOM + "id") or "").strip() or None,
            link=link,
            title=_atom_text(entry.find(_ATOM + "title")),
            summary=content if len(content) > len(summary) else summary,
            published=_quick_date(next((d for d in dates if d and d.strip()), None)),
            author=((author.findtext(_ATOM + "name") or "").strip() or None) if author is not None else None,
        ))
    home = next((l.get("href") for l in root.iterfind(_ATOM + "link") if l.get("rel", "alternate") == "alternate"), None)
    return ParsedFeed(format="atom10", title=_atom_text(root.find(_ATOM + "title")), link=home or url, items=items,
                      ttl=update_hint(None, root.findtext(_SY + "updatePeriod"), root.findtext(_SY + "updateFrequency")))


_PERIODS = {"hourly": 3600.0, "daily": 86400.0, "weekly": 7 * 86400.0, "monthly": 30 * 86400.0, "yearly": 365 * 86400.0}


def update_hint(ttl: str | None, period: str | None, frequency: str | None) -> float | None:
    """Seconds between polls that the publisher asks for: RSS <ttl> (minutes), or sy:updatePeriod
    divided by sy:updateFrequency. When both are given, the shorter wins (fresher news); nonsense
    (negative, zero, not a number) is no hint at all."""
    hints = []
    try:
        minutes = float((ttl or "").strip())
        if 0 < minutes < 1e7:
            hints.append(minutes * 60)
    except ValueError:
        pass
    period, frequency = (period or "").strip().lower(), (frequency or "").strip()
    seconds = _PERIODS.get(period or "daily") if (period or frequency) else None  # daily: the module's default
    try:
        times = float(frequency or "1")
    except ValueError:
        times = 0.0
    if seconds is not None and 0 < times < 1e7:
        hints.append(seconds / times)
    return min(hints) if hints else None


def _quick_date(value: str | None) -> str | None:
    """RFC 822 (RSS) or ISO 8601 (Atom, dc:date). A date written any other way needs feedparser."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    when = from_iso(value)
    if when is None:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            raise _NotQuick from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return iso(when)


# --------------------------------------------------------------------------------------------- JSON


def _parse_json(body: bytes, url: str, feed: str) -> ParsedFeed:
    try:
        doc = json.loads(body.decode("utf-8-sig"), strict=False)  # raw control characters in strings are common
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(feed, f"not a feed: invalid JSON ({exc})", url=url) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise ParseError(feed, "not a feed: JSON without a JSON Feed `items` list", url=url)
    version = str(doc.get("version", ""))
    problems = []
    if not version.startswith("https://jsonfeed.org/version/"):
        problems.append(f"JSON Feed without a known version ({version or 'none'})")
    fmt = "json" + version.rsplit("/", 1)[-1] if version else "json"
    base = doc.get("feed_url") or url
    items = []
    for index, raw in enumerate(doc["items"]):
        if not isinstance(raw, dict):
            problems.append(f"item {index} is not an object")
            continue
        items.append(_json_item(raw, base, url))
    return ParsedFeed(format=fmt, title=_str(doc.get("title")), link=_str(doc.get("home_page_url")) or url, items=items, problems=problems)


def _json_item(raw: dict, base: str, url: str) -> Item:
    # A link-blog item's `url` is its own permalink and `external_url` the article it is about; Atom
    # puts that article in rel=alternate. Preferring external_url makes both formats name one article.
    link = _str(raw.get("external_url")) or _str(raw.get("url"))
    authors = raw.get("authors") if isinstance(raw.get("authors"), list) else [raw.get("author")]
    author = next((_str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name")), None)
    summary = html_to_text(_str(raw.get("content_html"))) or _str(raw.get("content_text")) or _str(raw.get("summary"))
    return _item(
        guid=_str(raw.get("id")) or None,
        link=urljoin(base, link) if link else None,
        title=html_to_text(_str(raw.get("title"))),
        summary=summary.strip(),
        published=_json_date(raw.get("date_published") or raw.get("date_modified")),
        author=author,
    )


def _str(value) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)


def readable_date(value: str | None) -> str | None:
    """An RFC 822 or ISO 8601 date (a W3C datetime too: 2026-11-25, 2026-11-25T10:00+02:00) as ISO 8601
    UTC; None when blank or written any other way."""
    try:
        return _quick_date(value)
    except (_NotQuick, OverflowError, ValueError):  # year 0001 in another zone overflows
        return None


def _json_date(value) -> str | None:
    when = from_iso(value) if isinstance(value, str) else None
    return iso(when) if when else None


# ----------------------------------------------------------------------------------------- common


def _item(*, guid, link, title, summary, published, author) -> Item:
    if not guid:
        # Neither RSS nor Atom forces an id. The link is the next best identity; with no link
        # either, the title and date are (not the summary, whose text depends on the parser).
        guid = link or "sha1:" + hashlib.sha1(f"{title}\n{published or ''}".encode()).hexdigest()
    return Item(guid=guid.strip(), link=link, title=title, summary=summary, published=published, author=author)
