"""feeds: the feed list as a user manages it: finding a site's feed, editing feeds.yaml, OPML.

feeds.yaml stays the source of truth and is edited as text. ruamel.yaml's round-trip loader says
where each entry starts and writes the new entries, but the lines around them are never emitted
again. A round-trip dump keeps the comments yet moves them: ruamel hangs a comment on the node
before it, so removing an entry moves the section header below it onto the entry above, and an
appended entry lands after the commented-out `digest:` block that ends the shipped file. Splicing
lines keeps every other line byte for byte; the result is loaded with config.load before it
replaces the file, so a splice can never leave a file the daemon refuses.

Discovery does not use trafilatura.feeds.determine_feed: it resolves a relative href against the
site's root instead of the page (`atom.xml` on /news/ becomes /atom.xml), takes only rel="alternate"
written exactly so, and rewrites the URLs it finds (courlan drops query parameters).
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import stat
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Sequence
from urllib.parse import urlsplit

import yaml
from lxml import etree
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.scalarstring import SingleQuotedScalarString

from . import config as config_mod
from . import crawl
from .config import FEED_KEYS, FEED_SETTINGS, FeedConfig, FetchConfig
from .errors import ConfigError, FetchError, ParseError
from .fetch import Fetcher, is_public_address
from .crawl import feed_links
from .model import ParsedFeed
from .parse import neutralise_doctype, parse

# ------------------------------------------------------------------------------------ discovery

COMMON_PATHS = ("/feed", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml")
# Where a site without a feed keeps its sitemaps, after those its robots.txt names.
SITEMAP_PATHS = ("/news-sitemap.xml", "/sitemap_news.xml", "/sitemap_index.xml", "/sitemap.xml")
MIN_SECTION_LINKS = 3  # a page with fewer article links is not worth following
# A page announcing a feed per tag or author must not become hundreds of requests.
MAX_LINKED = 10
# The URL typed may be the feed or a page announcing it: both are welcome.
DISCOVER_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, text/html;q=0.7, application/json;q=0.7, */*;q=0.5"
)


@dataclass(frozen=True)
class Found:
    """The feed discovery settled on."""

    url: str  # as it goes into feeds.yaml: the candidate's URL, before any redirect
    title: str
    format: str
    items: int
    tried: tuple[str, ...] = ()  # the URLs fetched before it, each with why it was not the feed
    type: str = "feed"  # feed, sitemap, or page (a section page whose article links are followed)


def common_paths(page_url: str) -> list[str]:
    """Where sites without a <link> usually keep their feed, on the page's host."""
    parts = urlsplit(page_url)
    return [f"{parts.scheme}://{parts.netloc}{path}" for path in COMMON_PATHS]


def _as_feed(body: bytes, content_type: str, url: str) -> tuple[ParsedFeed | None, str]:
    try:
        return parse(body, url=url, content_type=content_type, feed=url), ""
    except ParseError as exc:
        return None, exc.reason


async def _first_feed(fetcher: Fetcher, url: str, candidates: list[str], tried: list[str], *, trusted: bool,
                      host: str, deadline: float, max_bytes: int) -> tuple[Found | None, Found | None]:
    """The first candidate that is a feed with items, and the first that is a feed without any;
    every failure noted in `tried`."""
    empty = None
    for candidate in candidates:
        # The host the user typed is trusted whatever it resolves to: they chose it.
        own = trusted or (urlsplit(candidate).hostname or "").lower() == host
        try:
            answer = await fetcher.get(candidate, feed=url, max_bytes=max_bytes, deadline=deadline,
                                       accept=DISCOVER_ACCEPT, public_only=not own)
        except FetchError as exc:
            tried.append(f"{candidate} ({exc.reason})")
            continue
        parsed, why = _as_feed(answer.body, answer.content_type, answer.url)
        if parsed is not None and parsed.items:
            return Found(candidate, parsed.title, parsed.format, len(parsed.items), tuple(tried)), empty
        if parsed is not None and empty is None:
            empty = Found(candidate, parsed.title, parsed.format, 0)
        tried.append(f"{candidate} ({why or 'a feed with no items'})")
    return None, empty


async def discover(fetcher: Fetcher, url: str, *, deadline: float, max_bytes: int) -> Found:
    """The feed at URL, or the one its page announces, or one at a common path on its host.

    Raises ParseError("no feed found at URL: tried …") naming every URL tried and why it failed.
    """
    tried: list[str] = []
    typed_host = (urlsplit(url).hostname or "").lower()
    empty: Found | None = None  # a feed with no items yet: taken only when no candidate has items
    try:
        page = await fetcher.get(url, feed=url, max_bytes=max_bytes, deadline=deadline, accept=DISCOVER_ACCEPT)
    except FetchError as exc:
        if exc.status is None:  # nothing answered: the common paths are on the same host
            raise ParseError(url, f"no feed found at {url}: tried {url} ({exc.reason})", url=url) from None
        tried.append(f"{url} ({exc.reason})")
        candidates, site, page_private, page_answer = [], url, False, None
    else:
        page_answer = page
        parsed, why = _as_feed(page.body, page.content_type, page.url)
        if parsed is not None and (parsed.items or parsed.title):
            return Found(url, parsed.title, parsed.format, len(parsed.items))
        if parsed is not None:
            empty = Found(url, parsed.title, parsed.format, 0)
        tried.append(f"{url} ({why or 'a feed with no items'})")
        candidates, site = feed_links(page.body, page.url)[:MAX_LINKED], page.url
        # As the daemon does for a feed's links: a page on a private host may point at private
        # hosts; a public page may not send us into the LAN.
        page_private = page.peer is not None and not is_public_address(page.peer)
    candidates += [c for c in common_paths(site) if c not in candidates and c != url]
    found, first_empty = await _first_feed(fetcher, url, candidates, tried, trusted=page_private, host=typed_host,
                                           deadline=deadline, max_bytes=max_bytes)
    if found is not None:
        return found
    empty = empty or first_empty
    # No feed with items: a site without feeds. Its sitemaps (news ones first), then the page itself
    # as a section page when it links to enough articles.
    found = await _sitemap(fetcher, url, tried, deadline=deadline, max_bytes=max_bytes)
    if found is not None:
        return found
    if page_answer is not None:
        links = crawl.section_links(page_answer.body, url=page_answer.url, content_type=page_answer.content_type)
        if len(links.items) >= MIN_SECTION_LINKS:
            return Found(url, links.title, "page", len(links.items), tuple(tried), type="page")
        tried.append(f"{url} as a section page ({len(links.items)} article links)")
    if empty is not None:
        return replace(empty, tried=tuple(tried))
    raise ParseError(url, f"no feed found at {url}: tried {', '.join(tried)}", url=url)


async def _sitemap(fetcher: Fetcher, url: str, tried: list[str], *, deadline: float, max_bytes: int) -> Found | None:
    """The first sitemap of the site with URLs in it: those robots.txt names, then the usual paths;
    a news sitemap wins over an ordinary one found before it."""
    parts = urlsplit(url)
    site = f"{parts.scheme}://{parts.netloc}"
    rules = await fetcher.robots.rules(fetcher, url, feed=url, public_only=False)  # the host the user typed
    named = [u for u in (rules.sitemaps if rules is not None else ()) if u.startswith(("http://", "https://"))]
    ordinary: Found | None = None
    for candidate in list(dict.fromkeys(named[:MAX_LINKED] + [site + path for path in SITEMAP_PATHS])):
        same_host = (urlsplit(candidate).hostname or "") == parts.hostname
        try:
            answer = await fetcher.get(candidate, feed=url, max_bytes=max_bytes, deadline=deadline,
                                       accept="application/xml, text/xml;q=0.9, */*;q=0.5", public_only=not same_host)
            parsed = crawl.parse_sitemap(answer.body, url=answer.url, feed=url)
        except (FetchError, ParseError) as exc:
            tried.append(f"{candidate} ({exc.reason})")
            continue
        count = len(parsed.items) or len(parsed.sitemaps)
        if not count:
            tried.append(f"{candidate} (an empty sitemap)")
            continue
        found = Found(candidate, "", parsed.format, count, tuple(tried), type="sitemap")
        if parsed.format == "news-sitemap" or "news" in candidate.rsplit("/", 1)[-1].lower():
            return found
        ordinary = ordinary or found
    return ordinary


def find_feed(url: str, settings: FetchConfig) -> Found:
    """discover() with a Fetcher of its own, for a command that runs once."""
    deadline = FEED_SETTINGS["timeout"].default
    max_bytes = max(FEED_SETTINGS["max_feed_size"].default, FEED_SETTINGS["max_page_size"].default)

    async def run() -> Found:
        async with Fetcher(settings) as fetcher:
            return await discover(fetcher, url, deadline=deadline, max_bytes=max_bytes)

    return asyncio.run(run())


# ------------------------------------------------------------------------------ feeds.yaml edits


@dataclass(frozen=True)
class Entry:
    """A feed to write into feeds.yaml."""

    url: str
    name: str | None = None  # given by the user: refused when taken
    tags: tuple[str, ...] = ()
    interval: str | None = None  # as written ("30m"): the file stays in the user's units
    hint: str | None = None  # a name to derive from (a feed's or an OPML title) when none is given
    type: str | None = None  # written when given: discovery gives only sitemap or page
    # Other feed keys as they go into feeds.yaml (from OPML): checked values, durations and sizes
    # as written, so the file keeps the exporter's units.
    settings: tuple[tuple[str, Any], ...] = ()
    keep_hint: bool = False  # the hint is a feed name (monitor:name), taken as it is, not slugged


@dataclass(frozen=True)
class Added:
    name: str
    url: str


@dataclass(frozen=True)
class Skipped:
    url: str
    reason: str


def entry_found(found: Found, *, name: str | None, tags: tuple[str, ...], interval: str | None) -> Entry:
    """The entry `feeds add` makes of what discovery found: named by the title it found (made unique
    when added), `type:` only for what is not a feed."""
    return Entry(found.url, name=name, tags=tags, interval=interval, hint=found.title or None,
                 type=found.type if found.type != "feed" else None)


def url_key(url: str) -> str:
    """Two spellings of one URL that differ only in the case of scheme and host are one feed."""
    parts = urlsplit(url.strip())
    rest = url.strip()[len(parts.scheme) + 3 + len(parts.netloc):] if parts.netloc else url.strip()
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{rest}"


def slug(text: str) -> str:
    """A feed name from a title: kept when already one word of name characters, else lower-cased
    with every run of other characters a hyphen ("Kyiv Independent" → kyiv-independent)."""
    text = text.strip()
    if re.fullmatch(r"[\w.\-/]+", text):
        return text
    return re.sub(r"[^\w.\-/]+", "-", text.lower()).strip("-")


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    number = 2
    while f"{name}-{number}" in taken:
        number += 1
    return f"{name}-{number}"


def add_feeds(path: str | os.PathLike, entries: Sequence[Entry], *, skip_present: bool = False,
              dry_run: bool = False) -> tuple[list[Added], list[Skipped]]:
    """Append entries to feeds.yaml. A URL or a given name already there is a ConfigError naming
    the entry that has it, or with skip_present a Skipped. Writes nothing when nothing is added, or
    with dry_run (which checks for duplicates before a slow discovery)."""
    path = Path(path)
    config = config_mod.load(path)
    text = _read(path)
    names = {feed.name: feed for feed in config.feeds}
    urls = {url_key(feed.url): feed for feed in config.feeds}
    doc = _rt_load(text, path)
    where = {feed.name: (_feed_line(doc, index), f"feeds[{index}]") for index, feed in enumerate(config.feeds)}
    added: list[Added] = []
    skipped: list[Skipped] = []
    blocks: list[CommentedMap] = []
    for entry in entries:
        outcome = _admit(entry, path, names, urls, where, skip_present)
        if isinstance(outcome, Skipped):
            skipped.append(outcome)
            continue
        names[outcome.name] = urls[url_key(outcome.url)] = outcome
        added.append(outcome)
        blocks.append(_entry_map(outcome.name, outcome.url, entry.tags, entry.interval, entry.type, dict(entry.settings)))
    if added and not dry_run:
        try:
            after = _splice_add(text, doc, blocks)
        except ValueError as exc:
            raise ConfigError(f"{exc}; nothing added", file=str(path)) from None
        _replace(path, text, after, expect={a.name: a.url for a in added})
    return added, skipped


def _admit(entry: Entry, path: Path, names: dict, urls: dict, where: dict, skip_present: bool) -> Added | Skipped:
    """What becomes of one entry, given the feeds there and those added before it: Added under its
    name, Skipped with why, or a ConfigError naming the entry already there."""
    url = entry.url.strip()
    try:
        config_mod.check_url(url)
    except ValueError as exc:
        if not skip_present:
            raise ConfigError(f"{exc}; nothing added", file=str(path), key="url") from None
        return Skipped(url, str(exc))
    present = urls.get(url_key(url))
    if present is not None:
        if not skip_present:
            line, key = where.get(present.name, (None, "feeds"))
            raise ConfigError(f"{url} is already there, named {present.name!r}; nothing added", file=str(path),
                              line=line, key=key)
        if isinstance(present, Added):
            return Skipped(url, f"listed twice; added once as {present.name!r}")
        return Skipped(url, f"already in {path} as {present.name!r} (line {where[present.name][0]})")
    if entry.name:
        name = entry.name.strip()
        if name in names:
            line, key = where.get(name, (None, "feeds"))
            raise ConfigError(f"a feed named {name!r} is already there ({names[name].url}); nothing added",
                              file=str(path), line=line, key=key)
        return Added(name, url)
    hint = (entry.hint or "").strip() if entry.keep_hint else slug(entry.hint or "")
    return Added(_unique(hint or config_mod._default_name(url), set(names)), url)


def add_feed(path: str | os.PathLike, entry: Entry) -> Added:
    added, _ = add_feeds(path, [entry])
    return added[0]


def remove_feed(path: str | os.PathLike, name_or_url: str) -> FeedConfig:
    """Remove the feed with this name (or, failing that, this URL) from feeds.yaml. The comments
    above it stay: they may head the next entries too."""
    path = Path(path)
    config = config_mod.load(path)
    text = _read(path)
    wanted = name_or_url.strip()
    matches = [i for i, feed in enumerate(config.feeds) if feed.name == wanted]
    if not matches:
        matches = [i for i, feed in enumerate(config.feeds) if url_key(feed.url) == url_key(wanted)]
    if not matches:
        raise ConfigError(f"no feed named {wanted!r} or with that URL; nothing removed", file=str(path))
    if len(matches) > 1:
        names = ", ".join(config.feeds[i].name for i in matches)
        raise ConfigError(f"{len(matches)} feeds have the URL {wanted} ({names}): remove one by name", file=str(path))
    index = matches[0]
    doc = _rt_load(text, path)
    try:
        after = _splice_remove(text, doc, index)
    except ValueError as exc:
        raise ConfigError(f"{exc}; nothing removed", file=str(path)) from None
    _replace(path, text, after, gone=config.feeds[index].name)
    return config.feeds[index]


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot be read: {exc}", file=str(path)) from None


def _rt_load(text: str, path: Path):
    try:
        return YAML(typ="rt").load(text)
    except RuamelError as exc:  # config.load read it (YAML 1.1); ruamel reads 1.2, which is stricter here and there
        raise ConfigError(f"cannot be edited (ruamel.yaml: {exc}); edit it by hand", file=str(path)) from None


def _feed_line(doc, index: int) -> int:
    return doc["feeds"].lc.item(index)[0] + 1


def _plain_safe(value: str) -> bool:
    """Whether PyYAML, which config.load uses (YAML 1.1), reads the value back unquoted as the same
    string. ruamel writes YAML 1.2 and would leave yes, on or 1:30 plain, which 1.1 reads as a
    boolean or a number."""
    try:
        return yaml.safe_load(value) == value
    except yaml.YAMLError:
        return False


def _scalar(value: str):
    return value if _plain_safe(value) else SingleQuotedScalarString(value)


def _entry_map(name: str, url: str, tags: Iterable[str], interval: str | None, kind: str | None = None,
               settings: dict[str, Any] | None = None) -> CommentedMap:
    settings = settings or {}
    kind, interval = kind or settings.get("type"), interval or settings.get("interval")
    entry = CommentedMap()
    entry["url"] = _scalar(url)
    entry["name"] = _scalar(name)
    if kind:
        entry["type"] = _scalar(kind)
    tags = [t.strip() for t in tags if t.strip()]
    if tags:
        flow = CommentedSeq(_scalar(t) for t in dict.fromkeys(tags))
        flow.fa.set_flow_style()  # `tags: [en, news]`, as the shipped file writes them
        entry["tags"] = flow
    if interval:
        entry["interval"] = _scalar(interval)
    for key, value in settings.items():
        if key not in ("type", "interval"):
            entry[key] = _scalar(value) if isinstance(value, str) else value
    return entry


def _lines(text: str) -> list[str]:
    # Only \n ends a line in YAML; str.splitlines would also split at \x0c or U+2028 in a comment.
    return [line for line in re.split(r"(?<=\n)", text) if line]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _dash(lines: list[str], line: int, column: int) -> tuple[int, int]:
    """The line and column of the `-` that starts the item whose value begins at (line, column)."""
    m = re.match(r"^( *)-\s*$", lines[line][:column])
    if m:
        return line, len(m.group(1))
    for up in range(line - 1, -1, -1):  # "-" alone on its line, the value below it
        m = re.match(r"^( *)-\s*(#.*)?$", lines[up].rstrip("\r\n"))
        if m:
            return up, len(m.group(1))
    raise ValueError("no dash before a list item")


def _item_end(lines: list[str], start: int, dash: int) -> int:
    """The last line holding the item's content; comments and blank lines after it are not its."""
    last = start
    for number in range(start + 1, len(lines)):
        line = lines[number]
        if not _is_content(line):
            continue
        if _indent(line) <= dash:
            break
        last = number
    return last


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _render(entries: Sequence[CommentedMap], dash: int, key: int, newline: str) -> list[str]:
    writer = YAML(typ="rt")
    writer.width = 4096  # a long URL must stay on its line
    out: list[str] = []
    for entry in entries:
        buffer = io.StringIO()
        writer.dump(entry, buffer)
        body = buffer.getvalue().splitlines()
        out.append(" " * dash + "-" + " " * (key - dash - 1) + body[0] + newline)
        out.extend(" " * key + line + newline for line in body[1:])
    return out


def _feeds_key(doc) -> int | None:
    if not isinstance(doc, CommentedMap) or "feeds" not in doc:
        return None
    return doc.lc.key("feeds")[0]


def _splice_add(text: str, doc, entries: Sequence[CommentedMap]) -> str:
    lines, newline = _lines(text), _newline(text)
    feeds = doc.get("feeds") if isinstance(doc, CommentedMap) else None
    if isinstance(feeds, CommentedSeq) and len(feeds):
        if feeds.fa.flow_style():
            raise ValueError("`feeds:` is written as a flow list ([a, b]): write it one entry a line to edit it")
        last = len(feeds) - 1
        line, column = feeds.lc.item(last)
        start, dash = _dash(lines, line, column)
        key = column if isinstance(feeds[last], CommentedMap) and line == start else dash + 2
        at = _item_end(lines, start, dash) + 1
        if not lines[at - 1].endswith("\n"):
            lines[at - 1] += newline
        return "".join(lines[:at] + _render(entries, dash, key, newline) + lines[at:])
    block = _render(entries, 2, 4, newline)  # the shipped file's layout
    row = _feeds_key(doc)
    if row is None:  # no `feeds:` at all: it goes at the end
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += newline
        return "".join(lines + [f"feeds:{newline}"] + block)
    # `feeds:` with nothing or `[]`: the key's line is rewritten, its comment kept.
    m = re.match(r"^(feeds\s*:)\s*(?:\[\s*\]|~|null|Null|NULL)?\s*(#.*)?$", lines[row].rstrip("\r\n"))
    if not m:
        raise ValueError("`feeds:` is not written as `feeds:` or `feeds: []` at the start of a line")
    head = m.group(1) + (f" {m.group(2)}" if m.group(2) else "") + newline
    return "".join(lines[:row] + [head] + block + lines[row + 1:])


def _splice_remove(text: str, doc, index: int) -> str:
    lines, newline = _lines(text), _newline(text)
    feeds = doc["feeds"]
    if feeds.fa.flow_style():
        raise ValueError("`feeds:` is written as a flow list ([a, b]): write it one entry a line to edit it")
    line, column = feeds.lc.item(index)
    start, dash = _dash(lines, line, column)
    end = _item_end(lines, start, dash)
    kept = lines[:start] + lines[end + 1:]
    if len(feeds) == 1:  # a `feeds:` with no entries is null, which config.load refuses: say []
        row = doc.lc.key("feeds")[0]
        m = re.match(r"^(feeds\s*:)\s*(#.*)?$", kept[row].rstrip("\r\n"))
        if m:
            kept[row] = m.group(1) + " []" + (f"  {m.group(2)}" if m.group(2) else "") + newline
    return "".join(kept)


def _replace(path: Path, before: str, after: str, *, expect: dict[str, str] | None = None, gone: str | None = None) -> None:
    """Check the new text with config.load on a temporary file beside the real one, then put it in
    place with os.replace: a reader (the daemon on SIGHUP) sees the old file or the new, never half."""
    target = Path(os.path.realpath(path))  # a symlinked /etc/monitor/feeds.yaml stays a symlink
    file = str(path)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(after)
            out.flush()
            os.fsync(out.fileno())
        try:
            checked = config_mod.load(temp)
        except ConfigError as exc:
            # exc's line is in the edited text, which the user never sees: the key says which entry
            raise ConfigError(f"the edited file would not load ({exc.reason}); nothing changed", file=file,
                              key=exc.key) from None
        got = {feed.name: feed.url for feed in checked.feeds}
        if any(got.get(name) != url for name, url in (expect or {}).items()) or (gone and gone in got):
            raise ConfigError("the edited file does not read back as intended; nothing changed", file=file)
        info = os.stat(target)
        os.chmod(temp, stat.S_IMODE(info.st_mode))
        try:
            os.chown(temp, info.st_uid, info.st_gid)  # root editing /etc/monitor keeps the service's group
        except OSError:
            pass
        if _read(target) != before:
            raise ConfigError("changed by someone else while being edited; nothing written, run the command again", file=file)
        os.replace(temp, target)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


# ------------------------------------------------------------------------------------------ OPML

# Our own attributes on an outline carry every feed setting OPML has no word for, so an export
# imports back as it was; other readers ignore a namespace they do not know. Never change it: files
# written with it must keep importing.
OPML_NS = "https://github.com/monitor-project/monitor/opml"
OPML_PREFIX = "monitor"
# What OPML's own attributes carry: xmlUrl the url, text the name, category the tags.
_OPML_OWN = ("url", "name", "tags")


def read_opml(path: str | os.PathLike) -> list[Entry]:
    """The feeds of an OPML file (outlines with an xmlUrl), in document order. The outlines they sit
    in give their tags (their text, outermost first), then the feed's own `category` attribute."""
    path = Path(path)
    file = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror or exc}", file=file) from None
    if neutralise_doctype(data.lstrip()) != data.lstrip():
        # OPML declares no entities; a file that does is an entity bomb or reaches for local files.
        raise ConfigError("declares entities in its DOCTYPE, which OPML never needs; refused", file=file)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data.lstrip(), parser)
    except etree.XMLSyntaxError as exc:
        raise ConfigError(f"not well-formed OPML: {exc.msg}", file=file, line=exc.lineno or None) from None
    if not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        raise ConfigError(f"not OPML: the root element is <{root.tag}>, not <opml>", file=file)
    body = next((child for child in root if _local(child) == "body"), None)
    if body is None:
        raise ConfigError("not OPML: no <body>", file=file, line=root.sourceline)
    entries: list[Entry] = []
    _walk(body, (), entries, _Source(file, data.lstrip().decode("utf-8", "replace").split("\n")))
    return entries


@dataclass(frozen=True)
class _Source:
    file: str
    lines: list[str]

    def attribute(self, outline, localname: str) -> tuple[int | None, int | None, str | None]:
        """Line, column and text of the line where an attribute of ours is written. libxml2 gives
        the line where the start tag ends: the tag's lines are searched back from there, each from
        its end (an outline wraps its attributes, or several share a line)."""
        prefix = next((p for p, uri in outline.nsmap.items() if uri == OPML_NS and p), None)
        end = outline.sourceline
        if not prefix or not end or end > len(self.lines):
            return end, None, None
        pattern = re.compile(rf"(?<![\w:.-]){re.escape(prefix)}:{re.escape(localname)}\s*=")
        for number in range(end, 0, -1):
            text = self.lines[number - 1]
            found = list(pattern.finditer(text))
            if found:
                return number, found[-1].start() + 1, text
            if "<" in text:
                break
        return end, None, None


def _local(element) -> str:
    return etree.QName(element).localname.lower() if isinstance(element.tag, str) else ""


def _attr(element, name: str) -> str:
    """An attribute whatever its case: readers write xmlUrl, xmlurl and XMLURL."""
    for key, value in element.attrib.items():
        if key.lower() == name:
            return value.strip()
    return ""


def _walk(parent, tags: tuple[str, ...], out: list[Entry], source: _Source) -> None:
    for outline in parent:
        if _local(outline) != "outline":
            continue
        label = _attr(outline, "text") or _attr(outline, "title")
        url = _attr(outline, "xmlurl")
        if not url:
            _walk(outline, tags + ((label,) if label else ()), out, source)
            continue
        # category="/Europe/Ukraine,news": comma-separated, each a slash-delimited path
        own = [part.strip() for item in _attr(outline, "category").split(",") for part in item.strip("/ ").split("/")]
        settings = _settings_of(outline, source)
        name = settings.pop("name", None)
        out.append(Entry(url=url, tags=tuple(dict.fromkeys(t for t in (*tags, *own) if t)), hint=name or label or None,
                         keep_hint=bool(name), settings=tuple(settings.items())))


def _settings_of(outline, source: _Source) -> dict[str, Any]:
    """The monitor:* attributes of an outline, checked, as they go into feeds.yaml."""
    table = FEED_KEYS | FEED_SETTINGS
    out: dict[str, Any] = {}
    for key, raw in outline.attrib.items():
        qname = etree.QName(key)
        if qname.namespace != OPML_NS:
            continue
        name = qname.localname
        try:
            if name not in table or name in ("url", "tags"):
                known = ", ".join(f"{OPML_PREFIX}:{k}" for k in table if k not in ("url", "tags"))
                raise ValueError(f"unknown attribute (known: {known})")
            out[name] = _from_attribute(table[name].kind, raw.strip())
        except ValueError as exc:
            line, column, text = source.attribute(outline, name)
            raise ConfigError(str(exc), file=source.file, line=line, column=column, source=text,
                              key=f"{OPML_PREFIX}:{name}") from None
    return out


def _from_attribute(kind: str, raw: str) -> Any:
    """An attribute's text as feeds.yaml takes it: true/false and whole numbers typed, durations and
    sizes as written; ValueError, as config.load would say it, when the value is bad."""
    value: Any = raw
    if kind == "bool":
        value = {"true": True, "false": False}.get(raw.lower(), raw)
    elif kind == "int" and re.fullmatch(r"[+-]?\d+", raw):
        value = int(raw)
    config_mod.check_value(kind, value)
    return value


def _to_attribute(kind: str, value: Any) -> str:
    if kind == "bool":
        return "true" if value else "false"
    if kind == "duration":
        for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60)):
            if value % seconds == 0:
                return f"{int(value // seconds)}{unit}"
        return f"{int(value)}s" if float(value).is_integer() else f"{value!r}s"
    if kind == "size":
        for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if value % size == 0:
                return f"{value // size}{unit}"
    return str(value)


def write_opml(feeds: Sequence[FeedConfig], *, title: str) -> bytes:
    """OPML 2.0 of the feeds: one outline each, its name as text and title, tags as the category
    attribute, every other setting that is not its default as a monitor:* attribute (OPML_NS); the
    name too when the text would not import back as it."""
    root = etree.Element("opml", version="2.0", nsmap={OPML_PREFIX: OPML_NS})
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(root, "body")
    for feed in feeds:
        outline = etree.SubElement(body, "outline", type="rss", text=feed.name)
        outline.set("title", feed.name)
        outline.set("xmlUrl", feed.url)
        if feed.tags:
            outline.set("category", ",".join(feed.tags))
        if slug(feed.name) != feed.name:
            outline.set(f"{{{OPML_NS}}}name", feed.name)
        for key, setting in (FEED_KEYS | FEED_SETTINGS).items():
            value = getattr(feed, key)
            if key not in _OPML_OWN and value != setting.default and value is not None:
                outline.set(f"{{{OPML_NS}}}{key}", _to_attribute(setting.kind, value))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
