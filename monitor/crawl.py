"""crawl: items from sources that are not feeds — sitemaps (news, ordinary, indexes) and section
pages — and the sniffing that tells a feed, a sitemap and a page apart.

Pure like parse: bytes in, ParsedFeed out. Each URL found becomes an Item whose GUID is the URL, so
it goes through the same new-item check, page fetch, extraction, matching and story folding as a
feed's item. Fetching (robots.txt, crawl delay, conditional GET) stays in fetch and the daemon.
"""

from __future__ import annotations

import io
import re
import zlib
from urllib.parse import urldefrag, urljoin, urlsplit

import courlan
import courlan.filters
from lxml import etree, html

from .errors import ParseError
from .model import Item, ParsedFeed
from .parse import parse as parse_feed, readable_date
from .text import decode_html, html_to_text

_SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
_NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True)
MAX_INFLATED = 50 * 2**20  # a sitemap may hold 50,000 URLs in at most 50 MB (sitemaps.org)
MAX_URLS = 50_000


def sniff(body: bytes, content_type: str = "") -> str:
    """'feed', 'sitemap' or 'page': what a URL without a `type` turned out to serve."""
    head = _inflate(body)[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"{", b"[")):
        return "feed"
    if b"<urlset" in head or b"<sitemapindex" in head:
        return "sitemap"
    if re.search(rb"<(rss|feed|rdf:rdf)\b", head):
        return "feed"
    if b"<html" in head or b"<!doctype html" in head or "html" in content_type.lower():
        return "page"
    return "feed"


def parse(body: bytes, *, kind: str, url: str, content_type: str = "", feed: str = "", follow: str | None = None) -> ParsedFeed:
    """Parse what a source of this kind ('auto' sniffs) served; ParsedFeed.format names the kind found."""
    if kind == "auto":
        kind = sniff(body, content_type)
    if kind == "sitemap":
        return parse_sitemap(body, url=url, feed=feed)
    if kind == "page":
        page = section_links(body, url=url, content_type=content_type, follow=follow, feed=feed)
        if not page.items:
            # A page with nothing to follow where a feed was configured would yield nothing for
            # ever, silently: it is the feed's problem, and it backs off like one.
            announced = feed_links(body, url)
            hint = f"; if the site has a feed, its address is {announced[0]}" if announced else ""
            raise ParseError(feed, f"an HTML page with no feed, sitemap or article links{hint}", url=url)
        return page
    return parse_feed(body, url=url, content_type=content_type, feed=feed)


# ------------------------------------------------------------------------------------- sitemaps


def _inflate(body: bytes) -> bytes:
    """Sitemaps are often served as .xml.gz files (gzip bytes, no Content-Encoding); bounded."""
    if not body.startswith(b"\x1f\x8b"):
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_INFLATED)
    except zlib.error:
        return body
    return data


def parse_sitemap(body: bytes, *, url: str, feed: str = "") -> ParsedFeed:
    """A urlset (with Google News entries or not) → items; a sitemapindex → its sitemaps, newest
    first (`ParsedFeed.sitemaps`). Items are in the order given; the daemon keeps the recent ones."""
    data = _inflate(body)
    try:
        root = etree.parse(io.BytesIO(data), _XML).getroot()
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ParseError(feed, f"not a sitemap: {exc}", url=url) from None
    if root is None:
        raise ParseError(feed, "not a sitemap: empty document", url=url)
    tag = etree.QName(root).localname if isinstance(root.tag, str) else ""
    ns = etree.QName(root).namespace or ""
    q = f"{{{ns}}}" if ns else ""
    if tag == "sitemapindex":
        children = []
        for node in root.iterfind(f"{q}sitemap"):
            loc = (node.findtext(f"{q}loc") or "").strip()
            if loc.startswith(("http://", "https://")) and _bare_host(loc) == _bare_host(url):
                children.append((readable_date(node.findtext(f"{q}lastmod")) or "", urljoin(url, loc)))
        # Newest first; undated ones after the dated, the last listed first (indexes usually grow
        # at the end: post-sitemap1, 2, … or one sitemap a month)
        dated = sorted((c for c in children if c[0]), key=lambda c: c[0], reverse=True)
        undated = [c for c in reversed(children) if not c[0]]
        return ParsedFeed(format="sitemapindex", link=url, sitemaps=[loc for _date, loc in dated + undated][:MAX_URLS])
    if tag != "urlset":
        raise ParseError(feed, f"not a sitemap: the root element is <{tag or '?'}>", url=url)
    items = []
    host = _bare_host(url)
    for node in root.iterfind(f"{q}url"):
        loc = (node.findtext(f"{q}loc") or "").strip()
        # sitemaps.org: a sitemap lists its own site's URLs; one pointing elsewhere is not followed
        if not loc.startswith(("http://", "https://")) or _bare_host(loc) != host:
            continue
        if len(items) >= MAX_URLS:
            break
        news = node.find(f"{_NEWS}news")
        title = html_to_text(news.findtext(f"{_NEWS}title") or "") if news is not None else ""
        published = readable_date(news.findtext(f"{_NEWS}publication_date")) if news is not None else None
        items.append(Item(guid=loc, link=loc, title=title,
                          published=published or readable_date(node.findtext(f"{q}lastmod"))))
    return ParsedFeed(format="news-sitemap" if root.find(f".//{_NEWS}news") is not None else "sitemap",
                      link=url, items=items)




def recent(items: list[Item], since: str, limit: int) -> list[Item]:
    """The items published at or after `since` (ISO 8601, UTC), newest first, at most `limit`.
    Undated items count as recent (a section page has no dates) but come after the dated ones."""
    dated = sorted((i for i in items if i.published and i.published >= since), key=lambda i: i.published, reverse=True)
    undated = [i for i in items if not i.published]
    return (dated + undated)[:limit]


# -------------------------------------------------------------------------------- section pages

# The last path segment of an article: a slug of several words, or an id or date of 4+ digits
# somewhere in the path. Navigation (/world, /about, /tag/x, /page/2) has neither.
_SLUG = re.compile(r"[^/]*[a-z\u0400-\u04ff0-9]+(?:[-_][a-z\u0400-\u04ff0-9]+){2,}[^/]*$", re.IGNORECASE)
_NUMBER = re.compile(r"(?:^|[/_.-])\d{4,}(?:$|[/_.-])")
_PAGINATION = re.compile(r"(?:[?&](?:page|p|start|offset)=\d+|/page/\d+/?$|/\d{1,3}/?$)", re.IGNORECASE)


def looks_like_article(url: str, section: str) -> bool:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if not path or url.rstrip("/") == section.rstrip("/") or _PAGINATION.search(url):
        return False
    if courlan.is_navigation_page(url) or courlan.is_not_crawlable(url):
        return False
    # files (.pdf, .jpg, …), feeds, media, login and share links; not check_url, which refuses
    # hosts without a known top-level domain (an intranet, 127.0.0.1)
    if not (courlan.filters.extension_filter(url) and courlan.filters.type_filter(url, strict=True)):
        return False
    last = path.rsplit("/", 1)[-1]
    return bool(_SLUG.fullmatch(last) or _NUMBER.search(path))


def section_links(body: bytes, *, url: str, content_type: str = "", follow: str | None = None, feed: str = "") -> ParsedFeed:
    """The article links of a section or listing page, in page order, once each: same host (or
    its www. twin), and matching `follow` (a regular expression searched in the URL) when given,
    else looking like an article by the heuristics above. The link's text is the item's title."""
    try:
        text, _charset = decode_html(body, content_type)
        tree = html.fromstring(text) if text.strip() else None
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(feed, f"not an HTML page: {exc}", url=url) from None
    if tree is None:
        raise ParseError(feed, "empty page", url=url)
    base = next((b.get("href") for b in tree.iterfind(".//base") if b.get("href")), None)
    base = urljoin(url, base) if base else url
    host = _bare_host(url)
    pattern = re.compile(follow) if follow else None
    items: dict[str, Item] = {}
    for anchor in tree.iterfind(".//a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "mailto:", "javascript:", "tel:")):
            continue
        link = urldefrag(urljoin(base, href))[0]
        if not link.startswith(("http://", "https://")) or _bare_host(link) != host:
            continue
        if any(parent.tag in ("nav", "header", "footer") for parent in anchor.iterancestors()) and pattern is None:
            continue  # site navigation, whatever its links look like
        if not (pattern.search(link) if pattern else looks_like_article(link, url)):
            continue
        title = " ".join(anchor.text_content().split())
        if link in items:
            if len(title) > len(items[link].title):  # an image link and a headline link to one article
                items[link].title = title
            continue
        items[link] = Item(guid=link, link=link, title=title)
    title = " ".join((tree.findtext(".//title") or "").split())
    return ParsedFeed(format="page", title=title, link=url, items=list(items.values()))


FEED_TYPES = frozenset({
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json", "application/json",
})


def feed_links(body: bytes, page_url: str) -> list[str]:
    """The feeds an HTML page announces (<link rel="alternate" type="application/rss+xml" …>), in
    the page's order, resolved against the page's URL (or its <base href>)."""
    try:
        root = html.document_fromstring(body, parser=html.HTMLParser(no_network=True))
    except (etree.ParserError, ValueError):
        return []
    base = page_url
    for element in root.iter("base"):
        if (element.get("href") or "").strip():
            base = urljoin(page_url, element.get("href").strip())
            break
    links: list[str] = []
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" not in rel or kind not in FEED_TYPES or not href:
            continue
        url = urldefrag(urljoin(base, href))[0]
        if urlsplit(url).scheme in ("http", "https") and url not in links:
            links.append(url)
    return links


def _bare_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host
